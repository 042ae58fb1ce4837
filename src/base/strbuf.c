/*
 * strbuf.c - a growing string; on allocation failure it stops growing and remembers it.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"

static int reserve(fu_strbuf *b, size_t extra)
{
    if (b->failed)
        return 0;
    if (b->len + extra + 1 <= b->cap)
        return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s) {
        b->failed = 1;
        return 0;
    }
    b->s = s;
    b->cap = cap;
    return 1;
}

void fu_strbuf_printf(fu_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 when it is not one (RFC 3629,
 * table 3-7 of Unicode: no overlong forms, no surrogates, nothing above U+10FFFF). The second
 * byte's range depends on the first; the others are always 80..BF. A NUL ends the check, as
 * it fails every continuation test. */
static int utf8_len(const unsigned char *s)
{
    unsigned lo = 0x80, hi = 0xBF;
    int n;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC2 && s[0] <= 0xDF)
        n = 2;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        n = 3;
    else if (s[0] >= 0xF0 && s[0] <= 0xF4)
        n = 4;
    else
        return 0;
    if (s[0] == 0xE0)
        lo = 0xA0;
    else if (s[0] == 0xED)
        hi = 0x9F;
    else if (s[0] == 0xF0)
        lo = 0x90;
    else if (s[0] == 0xF4)
        hi = 0x8F;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (int i = 2; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

void fu_strbuf_json_string(fu_strbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fu_strbuf_printf(b, "\"");
    while (*s) {
        int n = utf8_len(s);
        if (n == 0) {
            fu_strbuf_printf(b, "\\ufffd");
            s++;
        } else if (n > 1) {
            fu_strbuf_printf(b, "%.*s", n, (const char *)s);
            s += n;
        } else if (*s == '"' || *s == '\\') {
            fu_strbuf_printf(b, "\\%c", *s++);
        } else if (*s < 0x20 || *s == 0x7f) {
            fu_strbuf_printf(b, "\\u%04x", *s++);
        } else {
            fu_strbuf_printf(b, "%c", *s++);
        }
    }
    fu_strbuf_printf(b, "\"");
}

void fu_strbuf_json_float(fu_strbuf *b, double v, int digits)
{
    if (!isfinite(v))
        v = 0;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%.*f", digits, v);
    /* trim trailing zeros so 0.500 prints as 0.5, and -0 as 0 */
    char *dot = strchr(tmp, '.');
    if (dot) {
        char *end = tmp + strlen(tmp) - 1;
        while (end > dot && *end == '0')
            *end-- = 0;
        if (end == dot)
            *end = 0;
    }
    fu_strbuf_printf(b, "%s", strcmp(tmp, "-0") == 0 ? "0" : tmp);
}

char *fu_strbuf_take(fu_strbuf *b)
{
    char *s = b->failed ? NULL : b->s;
    if (b->failed)
        free(b->s);
    if (s == NULL && !b->failed)
        s = calloc(1, 1);
    b->s = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
    return s;
}

const char *fu_err_text(const char *msg)
{
    const char *s = msg;
    while (*s == '_' || isalnum((unsigned char)*s))
        s++;
    return s > msg && !strncmp(s, "(): ", 4) ? s + 4 : msg;
}
