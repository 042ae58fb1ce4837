/*
 * fuzz_http.c - the server's own request parsing (server/http_parse.c) on any bytes.
 *
 * The input is three lines and a body:
 *
 *     Content-Type value \n Content-Length value \n min_confidence value \n body...
 *
 * The first two lines are also one header field, name and value, for the framing checks; the
 * body is also a key file (server/access.c) and the third line an Authorization value for it.
 * Each line goes to its parser as a string of its own, exactly sized, so a sanitizer sees any
 * read past its end. The body is split as multipart/form-data on the boundary of the first line
 * when it has one, else on "b" (so that every input exercises the multipart parser). Each
 * parser's contract is checked: parts lie inside the body, in order, without overlapping.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line as a malloc'ed string (NULs inside end it early, as in a C header value). */
static char *take_line(const uint8_t **p, size_t *left)
{
    const uint8_t *nl = memchr(*p, '\n', *left);
    size_t len = nl ? (size_t)(nl - *p) : *left;
    char *s = malloc(len + 1);
    if (!s)
        abort();
    memcpy(s, *p, len);
    s[len] = '\0';
    *p += nl ? len + 1 : len;
    *left -= nl ? len + 1 : len;
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t left = size;
    char *ctype = take_line(&p, &left);
    char *length = take_line(&p, &left);
    char *confidence = take_line(&p, &left);

    srv_content_type ct;
    const char *why = NULL;
    if (srv_parse_content_type(ctype, &ct, &why) == 0) {
        if (ct.kind == SRV_MEDIA_MULTIPART) {
            size_t n = strlen(ct.boundary);
            if (n < 1 || n > SRV_BOUNDARY_MAX)
                abort();
        }
    } else if (!why) {
        abort();   /* a failure always says why */
    }

    uint64_t cl;
    if (srv_parse_content_length(length, &cl) == 0 && (!length[0] || length[0] < '0' || length[0] > '9'))
        abort();

    /* The first two lines as a header field name and value. */
    srv_framing f = {0};
    srv_framing_add(&f, ctype, length);
    why = NULL;
    if (srv_framing_check(&f, 0, &why) != 0 ? !why : (f.bad_name || f.content_lengths > 1))
        abort();

    double v;
    if (srv_parse_unit_interval(confidence, &v) == 0 && !(v >= 0.0 && v <= 1.0))
        abort();
    int turn; /* the same query line, read as ?orientation= */
    if (srv_parse_quarter_turn(confidence, &turn) == 0 && (turn < 0 || turn > 270 || turn % 90))
        abort();

    /* The body in its own exactly sized buffer. */
    uint8_t *body = malloc(left ? left : 1);
    if (!body)
        abort();
    memcpy(body, p, left);
    srv_part parts[SRV_PARTS_MAX];
    int n = -1;
    why = NULL;
    const char *boundary = ct.kind == SRV_MEDIA_MULTIPART ? ct.boundary : "b";
    if (srv_multipart_parse(body, left, boundary, parts, &n, &why) == 0) {
        if (n < 0 || n > SRV_PARTS_MAX)
            abort();
        const uint8_t *end = body;
        for (int i = 0; i < n; i++) {
            if (parts[i].data < end || parts[i].size > left ||
                parts[i].data + parts[i].size > body + left)
                abort();
            if (strlen(parts[i].filename) > SRV_FILENAME_MAX)
                abort();
            end = parts[i].data + parts[i].size;
        }
    } else if (!why) {
        abort();
    }

    const char *origin = "https://a.example";
    int line = 0;
    why = NULL;
    srv_access *a = srv_access_create((const char *)body, left, &origin, 1, &why, &line);
    if (a) {
        if (!srv_access_needs_key(a) || srv_access_allows(a, NULL))
            abort();   /* a key file that was taken has a key, and no header opens nothing */
        if ((srv_access_origin(a, confidence) != NULL) != (strcmp(confidence, origin) == 0))
            abort();
        srv_access_allows(a, confidence);
        srv_access_destroy(a);
    } else if (!why) {
        abort();
    }

    free(body);
    free(ctype);
    free(length);
    free(confidence);
    return 0;
}
