/*
 * strbuf.h - a growing string for building JSON and messages (internal).
 *
 * The one JSON string writer of faceup: the library's results, the CLI's `fix --json` lines and
 * the server's error bodies all go through fu_strbuf_json_string(), so every output escapes
 * the same bytes the same way and is valid JSON whatever bytes a file name holds.
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
/* Append s as a JSON string literal, quotes included: '"' and '\\' escaped, control characters
 * and DEL as \u00XX, well-formed UTF-8 copied as it is, and every byte that does not start a
 * well-formed UTF-8 sequence (overlong forms, surrogates, code points past U+10FFFF, stray
 * continuation bytes, cut sequences) replaced by \ufffd. */
void fu_strbuf_json_string(fu_strbuf *b, const char *s);
/* Append a float with up to `digits` decimals, as JSON (no NaN/Inf: they become 0). */
void fu_strbuf_json_float(fu_strbuf *b, double v, int digits);
/* Take the string (NULL if any allocation failed) and reset the buffer. */
char *fu_strbuf_take(fu_strbuf *b);

/* A library message (faceup_errmsg) as a user reads it: without the "function(): " the API layer starts it with (the
 * CLI's lines and the server's JSON errors; the public faceup_errmsg keeps it). */
const char *fu_err_text(const char *msg);

#endif
