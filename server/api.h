/*
 * api.h - what each endpoint answers, independent of the HTTP library.
 *
 * server.c owns the connections: it reads the request, calls in here, and sends the srv_reply it
 * gets back. The image endpoints go in three steps, so that a bad request is refused as early
 * as possible and the expensive part runs on a worker:
 *
 *     srv_api_check_head()  headers only, before any body byte is read (411, 413, 415, 400)
 *     srv_api_take_body()   the whole body: split a multipart form into its files (400)
 *     srv_api_run()         on a worker thread with its own faceup handle (200, 415, 422, ...)
 */
#ifndef SRV_API_H
#define SRV_API_H

#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"
#include "faceup.h"
#include "http_parse.h"
#include <stdatomic.h>

#include "metrics.h"

#define SRV_REPLY_HEADERS 12

/* A response. The body is freed by srv_reply_free() (or handed to whoever sends it). */
typedef struct srv_reply {
    int status;
    const char *content_type;            /* static */
    const unsigned char *body;
    size_t size;
    void (*release)(void *arg);          /* frees the body; NULL for a static body */
    void *release_arg;
    int n_headers;
    struct {
        const char *name;                /* static */
        char value[32];
    } headers[SRV_REPLY_HEADERS];
    char decision[48];                   /* for the log line: "90", "undecided", "0,90", "-" */
} srv_reply;

/* The headers of a request that the API reads (NULL when absent). */
typedef struct srv_request_head {
    const char *content_type;
    const char *content_length;
    const char *min_confidence;          /* the query parameters, already URL-decoded */
    const char *orientation;
    const char *exif;
    int chunked;                         /* Transfer-Encoding: chunked (srv_framing_check passed) */
} srv_request_head;

/* An image request from its headers to its answer. */
/* The memory all images being decided at once may hold for their pixels (--max-memory): each
 * call reserves the library's estimate (faceup_memory_needed) before it decodes and gives it
 * back after; one that does not fit is answered 503 with Retry-After. */
typedef struct srv_memory {
    atomic_llong used;
    long long budget;
} srv_memory;

typedef struct srv_image_request {
    srv_endpoint ep;
    srv_content_type ctype;
    int has_min_confidence;
    double min_confidence;
    int orientation;                      /* /v1/fix?orientation=: the turn told; -1: detect */
    int bake_exif;                        /* /v1/fix?exif=: 1 bake, 0 keep, -1 the default */
    srv_part files[SRV_PARTS_MAX];         /* what to decide, in order; point into the body */
    int n_files;
    srv_metrics *metrics;                 /* decisions are counted here */
    srv_memory *memory;                   /* reserved from before each decode; NULL: none */
} srv_image_request;

/* What the GET endpoints report. */
typedef struct srv_api_state {
    srv_metrics *metrics;
    srv_gauges gauges;
} srv_api_state;

/* Check a POST's headers against the limits before reading its body. Returns 0 (req is set up),
 * or -1 with the error response in *err. */
int srv_api_check_head(srv_image_request *req, srv_endpoint ep, const srv_request_head *head,
                      uint64_t max_body, srv_reply *err);

/* Find the files in the complete body (which must outlive req). Returns 0, or -1 with *err. */
int srv_api_take_body(srv_image_request *req, const unsigned char *body, size_t size, srv_reply *err);

/* Decide (and for /v1/fix turn) every file with the worker's handle h; always fills *out. */
void srv_api_run(const srv_image_request *req, faceup *h, srv_reply *out);

/* Answer a GET endpoint. */
void srv_api_get(srv_endpoint ep, const srv_api_state *state, srv_reply *out);

/* An error response {"error":{"code":...,"message":...}}. Adds Retry-After to a 503. */
void srv_reply_error(srv_reply *r, int status, const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Add a header; silently dropped past SRV_REPLY_HEADERS (a bug, caught by an assert). */
void srv_reply_header(srv_reply *r, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Free the body. srv_reply_free() on a zeroed or freed reply does nothing. */
void srv_reply_free(srv_reply *r);

#endif
