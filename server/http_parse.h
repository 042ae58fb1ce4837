/*
 * http_parse.h - the parts of an HTTP request that faceup reads itself (internal to the server).
 *
 * libmicrohttpd parses the request line, the headers and chunked bodies. What it hands over as
 * strings and bytes is parsed here: how the body is framed (the checks of RFC 9112 that the
 * library leaves to us), Content-Type (and its multipart boundary), Content-Length, the
 * min_confidence query value, and multipart/form-data bodies. Everything here is pure: no
 * allocation, no I/O, bounded work, so fuzz/fuzz_http.c can drive it with any bytes.
 */
#ifndef SRV_HTTP_PARSE_H
#define SRV_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* RFC 2046: a boundary is 1 to 70 characters. */
#define SRV_BOUNDARY_MAX 70
/* Parts in one multipart body; more is a malformed request (400). */
#define SRV_PARTS_MAX 32
/* Bytes of one part's header block; more is a malformed request. */
#define SRV_PART_HEADERS_MAX 8192
#define SRV_FILENAME_MAX 255

typedef enum srv_media_kind {
    SRV_MEDIA_IMAGE,     /* image/jpeg|png|webp, application/octet-stream, or no Content-Type */
    SRV_MEDIA_MULTIPART, /* multipart/form-data with a valid boundary */
    SRV_MEDIA_OTHER      /* a well-formed type we do not take (415) */
} srv_media_kind;

typedef struct srv_content_type {
    srv_media_kind kind;
    char boundary[SRV_BOUNDARY_MAX + 1]; /* for SRV_MEDIA_MULTIPART */
} srv_content_type;

/* One part of a multipart body. `data` points into the parsed body (no copy). */
typedef struct srv_part {
    const unsigned char *data;
    size_t size;
    int is_file;                        /* its name is "file" */
    char filename[SRV_FILENAME_MAX + 1]; /* "" when the part has none; truncated if longer */
} srv_part;

/* How a request says where its body ends (RFC 9112 section 6), from its header fields. */
typedef struct srv_framing {
    int content_lengths;      /* Content-Length fields */
    int transfer_encodings;   /* Transfer-Encoding fields */
    int chunked;              /* one Transfer-Encoding, exactly "chunked" (any case) */
    int bad_name;             /* a field name that is not a token: whitespace before the colon */
} srv_framing;

/* Count one header field into f (zeroed before the first). */
void srv_framing_add(srv_framing *f, const char *name, const char *value);

/* Returns 0 when the framing is unambiguous, or -1 with *why set: Content-Length together with
 * Transfer-Encoding, more than one Content-Length (even equal), a Transfer-Encoding other than
 * exactly "chunked" or in an HTTP/1.0 request (http10), a field name that is not a token. Such a
 * request must be answered 400 and its connection closed, since where it ends is unknown. */
int srv_framing_check(const srv_framing *f, int http10, const char **why);

/* Parse a Content-Type header value; NULL means the header was absent (taken as
 * application/octet-stream). Returns 0, or -1 with *why set when the value is malformed,
 * including multipart/form-data without a usable boundary. */
int srv_parse_content_type(const char *value, srv_content_type *out, const char **why);

/* Parse a Content-Length value: 1*DIGIT, no sign, no spaces inside, at most UINT64_MAX.
 * Returns 0, or -1 for anything else. */
int srv_parse_content_length(const char *value, uint64_t *out);

/* Parse a number in [0, 1] written in plain decimal ("0.7", "1", ".5", "5e-1"); no hex, no
 * inf/nan, no leading or trailing garbage. Returns 0, or -1. */
int srv_parse_unit_interval(const char *value, double *out);

/* Parse a quarter turn: exactly "0", "90", "180" or "270". Returns 0, or -1. */
int srv_parse_quarter_turn(const char *value, int *out);

/* Split a multipart/form-data body on `boundary` (as from srv_parse_content_type). Fills up to
 * SRV_PARTS_MAX parts in order and sets *n. Returns 0, or -1 with *why set when the body is
 * malformed: no opening boundary, a part without its closing boundary (truncated), a bad part
 * header, a part that is not form-data or has no name, too many parts. */
int srv_multipart_parse(const unsigned char *body, size_t size, const char *boundary,
                       srv_part parts[SRV_PARTS_MAX], int *n, const char **why);

/* Case-insensitive ASCII comparison of a and the first n bytes of b being all of b. */
int srv_ascii_ieq(const char *a, size_t alen, const char *b);

#endif
