/*
 * http_parse.c - Content-Type, Content-Length, a confidence value, and multipart/form-data.
 *
 * Why our own multipart parser rather than libmicrohttpd's post processor: the server already
 * holds the whole body (it must, to hand the image to faceup in one piece, and its size is capped
 * while reading), so splitting it in place costs no copy and no allocation, and a pure function
 * over a buffer is easy to fuzz. The post processor streams field data through a callback in
 * pieces of its choosing, which we would only glue back together.
 *
 * The grammar follows RFC 7578 (form-data) on RFC 2046 (multipart) and RFC 9110 (media types):
 *
 *     body      = [preamble CRLF] "--" boundary *LWSP CRLF part
 *                 *( CRLF "--" boundary *LWSP CRLF part ) CRLF "--" boundary "--" [epilogue]
 *     part      = *( header CRLF ) CRLF content
 *
 * Work is linear in the body: a delimiter starts with CR and a boundary holds no CR, so each CR
 * of the body starts at most one comparison, which ends before the next CR.
 */
#include "http_parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

int srv_ascii_ieq(const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++)
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
    return 1;
}

/* A cursor over a header value that is not NUL-terminated. */
typedef struct cursor {
    const char *s;
    size_t len, pos;
} cursor;

static void skip_ows(cursor *c)
{
    while (c->pos < c->len && is_ows((unsigned char)c->s[c->pos]))
        c->pos++;
}

/* Read a token; returns its length (0 if none) and where it starts. */
static size_t read_token(cursor *c, const char **start)
{
    *start = c->s + c->pos;
    size_t n = 0;
    while (c->pos < c->len && is_tchar((unsigned char)c->s[c->pos])) {
        c->pos++;
        n++;
    }
    return n;
}

/* Read a parameter value, a token or a quoted-string, into out (NUL-terminated, truncated to
 * cap - 1 bytes; *truncated says so). Control characters other than HTAB are refused. */
static int read_value(cursor *c, char *out, size_t cap, int *truncated)
{
    size_t n = 0;
    *truncated = 0;
    if (c->pos < c->len && c->s[c->pos] == '"') {
        c->pos++;
        for (;;) {
            if (c->pos >= c->len)
                return -1; /* no closing quote */
            unsigned char ch = (unsigned char)c->s[c->pos++];
            if (ch == '"')
                break;
            if (ch == '\\') {
                if (c->pos >= c->len)
                    return -1;
                ch = (unsigned char)c->s[c->pos++];
            }
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
                return -1;
            if (n + 1 < cap)
                out[n++] = (char)ch;
            else
                *truncated = 1;
        }
    } else {
        const char *tok;
        size_t len = read_token(c, &tok);
        if (len == 0)
            return -1;
        for (size_t i = 0; i < len; i++) {
            if (n + 1 < cap)
                out[n++] = tok[i];
            else
                *truncated = 1;
        }
    }
    if (cap)
        out[n] = '\0';
    return 0;
}

/* The callback of parse_params: one parameter name and its value. Returns 0, or -1 to fail. */
typedef int (*param_fn)(void *ctx, const char *name, size_t name_len, const char *value,
                        int truncated, const char **why);

/* Parse *( OWS ";" OWS name "=" value ) to the end of the cursor. Values longer than 255 bytes
 * reach the callback truncated, with the flag set. */
static int parse_params(cursor *c, param_fn fn, void *ctx, const char **why)
{
    char value[SRV_FILENAME_MAX + 1];
    for (;;) {
        skip_ows(c);
        if (c->pos >= c->len)
            return 0;
        if (c->s[c->pos] != ';') {
            *why = "expected ';' between parameters";
            return -1;
        }
        c->pos++;
        skip_ows(c);
        if (c->pos >= c->len)
            return 0; /* a trailing ';' is common enough to forgive */
        const char *name;
        size_t name_len = read_token(c, &name);
        if (name_len == 0 || c->pos >= c->len || c->s[c->pos] != '=') {
            *why = "malformed parameter";
            return -1;
        }
        c->pos++;
        int truncated;
        if (read_value(c, value, sizeof value, &truncated) != 0) {
            *why = "malformed parameter value";
            return -1;
        }
        if (fn(ctx, name, name_len, value, truncated, why) != 0)
            return -1;
    }
}

static int valid_boundary(const char *b)
{
    size_t n = strlen(b);
    if (n < 1 || n > SRV_BOUNDARY_MAX || b[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)b[i];
        int ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                 (ch && strchr("'()+_,-./:=? ", ch));
        if (!ok)
            return 0;
    }
    return 1;
}

typedef struct ctype_params {
    srv_content_type *out;
    int seen_boundary;
} ctype_params;

static int ctype_param(void *ctx, const char *name, size_t name_len, const char *value,
                       int truncated, const char **why)
{
    ctype_params *p = ctx;
    if (!srv_ascii_ieq(name, name_len, "boundary"))
        return 0;
    if (p->seen_boundary++) {
        *why = "two boundary parameters";
        return -1;
    }
    if (truncated || strlen(value) > SRV_BOUNDARY_MAX || !valid_boundary(value)) {
        *why = "invalid multipart boundary";
        return -1;
    }
    memcpy(p->out->boundary, value, strlen(value) + 1);
    return 0;
}

int srv_parse_content_type(const char *value, srv_content_type *out, const char **why)
{
    static const char *const images[] = {"image/jpeg", "image/jpg", "image/pjpeg", "image/png",
                                          "image/webp", "image/heic", "image/heif",
                                          "image/avif", "application/octet-stream"};
    memset(out, 0, sizeof *out);
    out->kind = SRV_MEDIA_IMAGE;
    if (!value)
        return 0;
    cursor c = {value, strlen(value), 0};
    skip_ows(&c);
    const char *type = c.s + c.pos, *t, *sub;
    if (read_token(&c, &t) == 0 || c.pos >= c.len || c.s[c.pos] != '/') {
        *why = "malformed Content-Type";
        return -1;
    }
    c.pos++;
    if (read_token(&c, &sub) == 0) {
        *why = "malformed Content-Type";
        return -1;
    }
    size_t type_len = (size_t)(c.s + c.pos - type);
    ctype_params p = {out, 0};
    if (parse_params(&c, ctype_param, &p, why) != 0)
        return -1;
    if (srv_ascii_ieq(type, type_len, "multipart/form-data")) {
        if (!p.seen_boundary) {
            *why = "multipart/form-data without a boundary";
            return -1;
        }
        out->kind = SRV_MEDIA_MULTIPART;
        return 0;
    }
    out->kind = SRV_MEDIA_OTHER;
    for (size_t i = 0; i < sizeof images / sizeof *images; i++)
        if (srv_ascii_ieq(type, type_len, images[i]))
            out->kind = SRV_MEDIA_IMAGE;
    return 0;
}

void srv_framing_add(srv_framing *f, const char *name, const char *value)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < len; i++)
        if (!is_tchar((unsigned char)name[i]))
            f->bad_name = 1;
    if (len == 0)
        f->bad_name = 1;
    if (srv_ascii_ieq(name, len, "Content-Length")) {
        f->content_lengths++;
    } else if (srv_ascii_ieq(name, len, "Transfer-Encoding")) {
        f->transfer_encodings++;
        f->chunked = f->transfer_encodings == 1 && value &&
                     srv_ascii_ieq(value, strlen(value), "chunked");
    }
}

int srv_framing_check(const srv_framing *f, int http10, const char **why)
{
    if (f->bad_name)
        *why = "a header name that is not a token (whitespace before the colon?)";
    else if (f->content_lengths > 1)
        *why = "more than one Content-Length";
    else if (f->transfer_encodings && f->content_lengths)
        *why = "both Content-Length and Transfer-Encoding";
    else if (f->transfer_encodings && (!f->chunked || f->transfer_encodings > 1))
        *why = "Transfer-Encoding other than chunked";
    else if (f->transfer_encodings && http10)
        *why = "Transfer-Encoding in an HTTP/1.0 request";
    else
        return 0;
    return -1;
}

int srv_parse_content_length(const char *value, uint64_t *out)
{
    if (!value || !*value)
        return -1;
    uint64_t v = 0;
    for (const char *s = value; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int srv_parse_unit_interval(const char *value, double *out)
{
    /* strtod alone would take "nan", "inf", "0x1p-1" and leading spaces. */
    if (!value || !((*value >= '0' && *value <= '9') || *value == '.'))
        return -1;
    if (strlen(value) > 64)
        return -1;
    for (const char *s = value; *s; s++)
        if (!((*s >= '0' && *s <= '9') || *s == '.' || *s == 'e' || *s == 'E' || *s == '+' ||
              *s == '-'))
            return -1;
    char *end;
    errno = 0;
    double v = strtod(value, &end);
    if (*end || errno || !isfinite(v) || v < 0.0 || v > 1.0)
        return -1;
    *out = v;
    return 0;
}

int srv_parse_quarter_turn(const char *value, int *out)
{
    static const char *const turns[] = {"0", "90", "180", "270"};
    for (int i = 0; value && i < 4; i++)
        if (!strcmp(value, turns[i])) {
            *out = 90 * i;
            return 0;
        }
    return -1;
}

/* Where "\r\n--boundary" next starts at or after `from`, or `size` when it does not. */
static size_t find_delimiter(const unsigned char *body, size_t size, size_t from,
                             const unsigned char *delim, size_t dlen)
{
    size_t pos = from;
    while (pos < size && size - pos >= dlen) {
        const unsigned char *cr = memchr(body + pos, '\r', size - pos - dlen + 1);
        if (!cr)
            return size;
        pos = (size_t)(cr - body);
        if (memcmp(cr, delim, dlen) == 0)
            return pos;
        pos++;
    }
    return size;
}

typedef struct disposition {
    srv_part *part;
    int has_name;
} disposition;

static int disposition_param(void *ctx, const char *name, size_t name_len, const char *value,
                             int truncated, const char **why)
{
    disposition *d = ctx;
    (void)why;
    if (srv_ascii_ieq(name, name_len, "name")) {
        d->has_name = 1;
        d->part->is_file = !truncated && strcmp(value, "file") == 0;
    } else if (srv_ascii_ieq(name, name_len, "filename")) {
        /* read_value() refused control characters; it is only ever echoed back in JSON. */
        memcpy(d->part->filename, value, strlen(value) + 1);
    }
    return 0;
}

static int parse_disposition(const char *value, size_t len, srv_part *part, const char **why)
{
    cursor c = {value, len, 0};
    const char *kind;
    size_t kind_len = read_token(&c, &kind);
    if (!srv_ascii_ieq(kind, kind_len, "form-data")) {
        *why = "a part that is not form-data";
        return -1;
    }
    disposition d = {part, 0};
    if (parse_params(&c, disposition_param, &d, why) != 0)
        return -1;
    if (!d.has_name) {
        *why = "a form-data part without a name";
        return -1;
    }
    return 0;
}

/* Parse a part's header block starting at *pos; leaves *pos on the first content byte. */
static int parse_part_headers(const unsigned char *body, size_t size, size_t *pos, srv_part *part,
                              const char **why)
{
    size_t start = *pos, p = *pos;
    int has_disposition = 0;
    size_t limit = size - start < SRV_PART_HEADERS_MAX ? size : start + SRV_PART_HEADERS_MAX;
    for (;;) {
        size_t eol = p;
        while (eol + 1 < limit && !(body[eol] == '\r' && body[eol + 1] == '\n'))
            eol++;
        if (eol + 1 >= limit) {
            *why = limit < size ? "part headers too large" : "truncated part headers";
            return -1;
        }
        if (eol == p) {
            *pos = p + 2;
            break;
        }
        const char *line = (const char *)body + p;
        size_t len = eol - p, colon = 0;
        while (colon < len && is_tchar((unsigned char)line[colon]))
            colon++;
        if (colon == 0 || colon == len || line[colon] != ':') {
            *why = "malformed part header";
            return -1;
        }
        for (size_t i = colon + 1; i < len; i++) {
            unsigned char ch = (unsigned char)line[i];
            if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
                *why = "control character in a part header";
                return -1;
            }
        }
        size_t v = colon + 1;
        while (v < len && is_ows((unsigned char)line[v]))
            v++;
        if (srv_ascii_ieq(line, colon, "content-disposition")) {
            if (parse_disposition(line + v, len - v, part, why) != 0)
                return -1;
            has_disposition = 1;
        }
        p = eol + 2;
    }
    if (!has_disposition) {
        *why = "a part without Content-Disposition";
        return -1;
    }
    return 0;
}

int srv_multipart_parse(const unsigned char *body, size_t size, const char *boundary,
                       srv_part parts[SRV_PARTS_MAX], int *n, const char **why)
{
    unsigned char delim[4 + SRV_BOUNDARY_MAX];
    size_t blen = strlen(boundary);
    *n = 0;
    if (blen < 1 || blen > SRV_BOUNDARY_MAX) {
        *why = "invalid multipart boundary";
        return -1;
    }
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, blen);
    size_t dlen = 4 + blen;

    /* The first delimiter may open the body without the CRLF before it. */
    size_t pos;
    if (size >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
        pos = dlen - 2;
    } else {
        size_t at = find_delimiter(body, size, 0, delim, dlen);
        if (at == size) {
            *why = "no multipart boundary in the body";
            return -1;
        }
        pos = at + dlen;
    }
    for (;;) {
        /* Just after a delimiter: "--" closes the body, else padding and CRLF open a part. */
        if (size - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-')
            return 0;
        while (pos < size && is_ows(body[pos]))
            pos++;
        if (size - pos < 2 || body[pos] != '\r' || body[pos + 1] != '\n') {
            *why = pos >= size ? "truncated multipart body" : "malformed multipart delimiter";
            return -1;
        }
        pos += 2;
        if (*n == SRV_PARTS_MAX) {
            *why = "too many multipart parts";
            return -1;
        }
        srv_part *part = &parts[*n];
        memset(part, 0, sizeof *part);
        if (parse_part_headers(body, size, &pos, part, why) != 0)
            return -1;
        size_t end = find_delimiter(body, size, pos, delim, dlen);
        if (end == size) {
            *why = "truncated multipart body (no closing boundary)";
            return -1;
        }
        part->data = body + pos;
        part->size = end - pos;
        (*n)++;
        pos = end + dlen;
    }
}
