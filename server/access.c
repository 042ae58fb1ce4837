/*
 * access.c - API keys and CORS origins (see access.h).
 */
#include "access.h"

#include <stdlib.h>
#include <string.h>

#include "http_parse.h"

struct srv_access {
    char **keys;
    size_t *key_len;
    int n_keys;
    char **origins;
    int n_origins;
};

static int is_token68(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("-._~+/=", c) != NULL);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static char *copy(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Add the key s[0..n) unless the line is blank or a comment. Returns 0, or -1 with *why. */
static int add_key(srv_access *a, const char *s, size_t n, const char **why)
{
    while (n && is_space(*s))
        s++, n--;
    while (n && is_space(s[n - 1]))
        n--;
    if (n == 0 || *s == '#')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_token68((unsigned char)s[i])) {
            *why = "a key that is not a token68 (letters, digits, -._~+/ and = at its end)";
            return -1;
        }
    char **keys = realloc(a->keys, (size_t)(a->n_keys + 1) * sizeof *keys);
    size_t *lens = keys ? realloc(a->key_len, (size_t)(a->n_keys + 1) * sizeof *lens) : NULL;
    if (keys)
        a->keys = keys;
    if (lens)
        a->key_len = lens;
    char *key = lens ? copy(s, n) : NULL;
    if (!key) {
        *why = "out of memory";
        return -1;
    }
    a->keys[a->n_keys] = key;
    a->key_len[a->n_keys++] = n;
    return 0;
}

static int add_keys(srv_access *a, const char *text, size_t size, const char **why, int *line)
{
    size_t start = 0;
    for (*line = 1; start < size; ++*line) {
        const char *nl = memchr(text + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - text) : size;
        if (memchr(text + start, '\0', end - start)) {
            *why = "a NUL byte";
            return -1;
        }
        if (add_key(a, text + start, end - start, why) != 0)
            return -1;
        start = end + 1;
    }
    *line = 0;
    if (a->n_keys == 0) {
        *why = "no key in the file";
        return -1;
    }
    return 0;
}

srv_access *srv_access_create(const char *keys, size_t size, const char *const *origins,
                              int n_origins, const char **why, int *line)
{
    *line = 0;
    srv_access *a = calloc(1, sizeof *a);
    if (!a || (n_origins && !(a->origins = calloc((size_t)n_origins, sizeof *a->origins)))) {
        *why = "out of memory";
        goto fail;
    }
    for (; a->n_origins < n_origins; a->n_origins++)
        if (!(a->origins[a->n_origins] = copy(origins[a->n_origins],
                                              strlen(origins[a->n_origins])))) {
            *why = "out of memory";
            goto fail;
        }
    if (keys && add_keys(a, keys, size, why, line) != 0)
        goto fail;
    return a;
fail:
    srv_access_destroy(a);
    return NULL;
}

void srv_access_destroy(srv_access *a)
{
    if (!a)
        return;
    for (int i = 0; i < a->n_keys; i++) {
        volatile char *p = a->keys[i];
        for (size_t j = 0; j < a->key_len[i]; j++)
            p[j] = 0;
        free(a->keys[i]);
    }
    for (int i = 0; i < a->n_origins; i++)
        free(a->origins[i]);
    free(a->keys);
    free(a->key_len);
    free(a->origins);
    free(a);
}

int srv_access_needs_key(const srv_access *a)
{
    return a && a->n_keys > 0;
}

/* 1 when given[0..n) is key, in time that depends on the key's length only. */
static int same_key(const char *given, size_t n, const char *key, size_t len)
{
    unsigned char diff = n != len;
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(key[i] ^ (n ? given[i % n] : 0));
    return diff == 0;
}

int srv_access_allows(const srv_access *a, const char *authorization)
{
    if (!srv_access_needs_key(a))
        return 1;
    if (!authorization || strlen(authorization) < 7 || authorization[6] != ' ' ||
        !srv_ascii_ieq(authorization, 6, "Bearer"))
        return 0;
    const char *given = authorization + 7;
    while (*given == ' ')
        given++;
    size_t n = strlen(given);
    int ok = 0;
    for (int i = 0; i < a->n_keys; i++)   /* every key, no early exit */
        ok |= same_key(given, n, a->keys[i], a->key_len[i]);
    return ok;
}

const char *srv_access_origin(const srv_access *a, const char *origin)
{
    if (!a || !origin)
        return NULL;
    for (int i = 0; i < a->n_origins; i++)
        if (!strcmp(origin, a->origins[i]))
            return a->origins[i];
    return NULL;
}

int srv_access_has_origins(const srv_access *a)
{
    return a && a->n_origins > 0;
}
