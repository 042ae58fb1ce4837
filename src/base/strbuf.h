/*
 * strbuf.h - a growing string for building JSON and messages (internal).
 */
#ifndef FU_STRBUF_H
#define FU_STRBUF_H

#include <stddef.h>

typedef struct fu_strbuf {
    char *s;
    size_t len, cap;
    int failed;   /* an allocation failed: the contents are incomplete */
} fu_strbuf;

void fu_strbuf_printf(fu_strbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Append s as a JSON string literal, quotes included. Invalid UTF-8 bytes become U+FFFD. */
void fu_strbuf_json_string(fu_strbuf *b, const char *s);
/* Append a float with up to `digits` decimals, as JSON (no NaN/Inf: they become 0). */
void fu_strbuf_json_float(fu_strbuf *b, double v, int digits);
/* Take the string (NULL if any allocation failed) and reset the buffer. */
char *fu_strbuf_take(fu_strbuf *b);

#endif
