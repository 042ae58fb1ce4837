/*
 * server.c - connections, request bodies, workers and the life of the process.
 *
 * libmicrohttpd runs one internal thread (epoll) that does all the socket work and never blocks
 * on an image. A request goes:
 *
 *   headers in    on_request() first call: route, check the headers against the limits, and
 *                 answer at once when the request is wrong (404/405/411/413/415/400) or cheap
 *                 (GET endpoints).
 *   body          on_request() with data: append to a buffer, never past --max-body, and within
 *                 a budget for all requests together; a body that outgrows either is answered
 *                 413 (or 503 for the budget) at once and its connection closed.
 *   complete      on_request() with no data: split the form, suspend the connection and queue
 *                 a job; a full queue is answered 503 at once.
 *   worker        run_job(): decide (and turn) the image with the worker's own faceup handle,
 *                 then resume the connection, and libmicrohttpd calls on_request() again, which
 *                 sends the reply.
 *   completed     on_completed(): one log line, the metrics, free the request.
 *
 * Shutdown (SIGTERM/SIGINT): stop listening, wait for the requests in flight (answering them
 * with "Connection: close"), let the workers finish, then stop the daemon. Suspended connections
 * must all be resumed before MHD_stop_daemon(); draining first guarantees it.
 */
#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "access.h"
#include "api.h"
#include "metrics.h"
#include "pool.h"
#include "watchdog.h"

/* libmicrohttpd's memory per connection: the request line and headers must fit in it. */
#define CONNECTION_MEMORY (64u * 1024u)
/* A body buffer starts at this and doubles as data arrives (never past --max-body). */
#define BODY_START (64u * 1024u)

typedef struct server {
    srv_server_config cfg;
    struct MHD_Daemon *daemon;
    srv_pool *pool;
    srv_metrics *metrics;
    srv_watchdog *watchdog;
    srv_access *access;
    atomic_int in_flight;
    atomic_int stopping;
    /* Body bytes held by all requests, and the most we hold at once: max-body bounds one
     * request, this bounds max-connections of them uploading together. */
    atomic_size_t buffered;
    size_t budget;
    srv_memory memory;         /* what the images being decided hold */
    size_t late_body_size;   /* of the watchdog's 408 */
    atomic_int refused_body;   /* refuse_body() closed a connection on purpose */
} server;

typedef enum body_state { BODY_OK, BODY_TOO_LARGE, BODY_OVER_BUDGET } body_state;

typedef struct request {
    srv_job job;             /* first member: run_job() gets the request back from it */
    server *srv;
    struct MHD_Connection *conn;
    srv_watch *watch;
    srv_endpoint ep;
    char method[16], path[128];
    struct timespec t0;
    uint64_t bytes_in, bytes_out;
    unsigned char *body;
    size_t len, cap;
    body_state body_status;
    srv_image_request img;
    srv_reply reply;
    int reply_ready;        /* set by a worker before it resumes the connection */
    int must_close;         /* the connection cannot carry another request */
    const char *origin;     /* the request's Origin when CORS allows it, else NULL */
    int status;             /* the status queued, 0 until then */
    char decision[48];
} request;

static double seconds_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Copy for the log line: printable ASCII only, truncated. */
static void copy_printable(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; s && *s && n + 1 < cap; s++)
        out[n++] = (*s > 0x20 && *s < 0x7f) ? *s : '?';
    out[n] = '\0';
}

static void body_free(request *rq)
{
    if (rq->cap)
        atomic_fetch_sub(&rq->srv->buffered, rq->cap);
    free(rq->body);
    rq->body = NULL;
    rq->len = rq->cap = 0;
}

/* Append upload data; BODY_OK, or why it cannot be kept. */
static body_state body_append(request *rq, const char *data, size_t n)
{
    server *s = rq->srv;
    size_t max = (size_t)s->cfg.max_body;
    if (n > max - rq->len)
        return BODY_TOO_LARGE;
    size_t need = rq->len + n;
    if (need > rq->cap) {
        size_t cap = rq->cap ? rq->cap : BODY_START;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        if (cap > max)
            cap = max;
        size_t grow = cap - rq->cap;
        if (atomic_fetch_add(&s->buffered, grow) + grow > s->budget) {
            atomic_fetch_sub(&s->buffered, grow);
            return BODY_OVER_BUDGET;
        }
        unsigned char *p = realloc(rq->body, cap);
        if (!p) {
            atomic_fetch_sub(&s->buffered, grow);
            return BODY_OVER_BUDGET;
        }
        rq->body = p;
        rq->cap = cap;
    }
    memcpy(rq->body + rq->len, data, n);
    rq->len = need;
    return BODY_OK;
}

static void gauges(server *s, srv_gauges *g)
{
    g->queue_depth = srv_pool_depth(s->pool);
    g->queue_capacity = s->cfg.queue;
    g->in_flight = atomic_load(&s->in_flight);
    g->workers = s->cfg.threads;
    g->workers_busy = srv_pool_busy(s->pool);
    g->ready = srv_pool_ready(s->pool) && !atomic_load(&s->stopping);
}

/* Hand rq->reply to libmicrohttpd. */
static enum MHD_Result send_reply(request *rq)
{
    server *s = rq->srv;
    srv_reply *r = &rq->reply;
    struct MHD_Response *resp;
    if (r->release)
        resp = MHD_create_response_from_buffer_with_free_callback_cls(
            r->size, (void *)r->body, r->release, r->release_arg);
    else
        resp = MHD_create_response_from_buffer(r->size, (void *)r->body, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        srv_reply_free(r);
        return MHD_NO;
    }
    r->release = NULL;   /* the response owns the body now */
    if (r->content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    if (srv_access_has_origins(s->access))
        MHD_add_response_header(resp, "Vary", "Origin");
    if (rq->origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", rq->origin);
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "X-Faceup-Orientation, X-Faceup-Confidence, "
                                "X-Faceup-Rotated-Ccw, X-Faceup-Exif-Baked, X-Faceup-Method, "
                                "X-Faceup-Dropped, "
                                "X-Faceup-Faces, X-Faceup-Rotated, "
                                "X-Faceup-Path");
    }
    for (int i = 0; i < r->n_headers; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (rq->ep == SRV_EP_PAGE)
        MHD_add_response_header(resp, "Content-Security-Policy",
                                "default-src 'none'; script-src 'unsafe-inline'; "
                                "style-src 'unsafe-inline'; img-src 'self' blob: data:; "
                                "connect-src 'self'; form-action 'self'");
    else
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (atomic_load(&s->stopping) || rq->must_close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");

    body_free(rq);   /* the image is decided: its bytes are not needed any more */
    enum MHD_Result ret = MHD_queue_response(rq->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES) {
        rq->status = r->status;
        rq->bytes_out = r->size;
        if (r->decision[0])
            memcpy(rq->decision, r->decision, sizeof rq->decision);
        srv_watchdog_arm(s->watchdog, rq->watch, SRV_WATCH_REPLY);   /* the client reads it */
    }
    return ret;
}

static void run_job(srv_job *job, faceup *h)
{
    request *rq = (request *)job;
    srv_api_run(&rq->img, h, &rq->reply);
    rq->reply_ready = 1;
    /* Resuming hands the request back to the daemon thread (through a lock, which also
     * publishes the reply to it); on_request() then sends it. */
    MHD_resume_connection(rq->conn);
}

/* An answer decided from the headers alone. With no body to come it waits for libmicrohttpd's
 * next call, which keeps the connection alive; with a body on its way it goes at once, and the
 * library discards the body and closes the connection after it, as it must. */
static enum MHD_Result reply_early(request *rq)
{
    struct MHD_Connection *c = rq->conn;
    const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
    int body = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                           MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL ||
               (length && strcmp(length, "0") != 0);
    if (body)
        return send_reply(rq);
    rq->reply_ready = 1;
    return MHD_YES;
}

static enum MHD_Result add_framing(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    srv_framing_add(cls, key, value);
    return MHD_YES;
}

/* RFC 9112 section 6, what libmicrohttpd 0.9.75 lets through (two Content-Lengths, both
 * headers, "Transfer-Encoding: xchunked", "X-A : b"): where such a request ends is unknown, so
 * it is answered 400 at once and the connection closed, no byte after its headers read as a
 * request. Returns 0 when the framing is sound. */
static int refuse_framing(request *rq, const char *version, srv_framing *f)
{
    const char *why = "";
    MHD_get_connection_values(rq->conn, MHD_HEADER_KIND, add_framing, f);
    if (srv_framing_check(f, version && !strcmp(version, MHD_HTTP_VERSION_1_0), &why) == 0)
        return 0;
    srv_reply_error(&rq->reply, 400, "bad_request", "%s", why);
    rq->must_close = 1;
    return -1;
}

/* CORS preflight (OPTIONS from an allowed origin) and API keys: every endpoint but the probes
 * needs one when --api-key-file is set. Returns 1 when rq->reply is the answer. */
static int check_access(request *rq, const char *method, int route)
{
    struct MHD_Connection *c = rq->conn;
    srv_access *a = rq->srv->access;
    rq->origin = srv_access_origin(a, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"));
    if (route == 405 && rq->origin && !strcmp(method, "OPTIONS")) {
        rq->reply.status = 204;
        srv_reply_header(&rq->reply, "Access-Control-Allow-Methods", "%s, OPTIONS",
                        srv_endpoint_allow(rq->ep));
        srv_reply_header(&rq->reply, "Access-Control-Allow-Headers", "Authorization, Content-Type");
        srv_reply_header(&rq->reply, "Access-Control-Max-Age", "600");
        return 1;
    }
    if (rq->ep == SRV_EP_HEALTHZ || rq->ep == SRV_EP_READYZ ||
        srv_access_allows(a, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                         MHD_HTTP_HEADER_AUTHORIZATION)))
        return 0;
    srv_reply_error(&rq->reply, 401, "unauthorized", "send Authorization: Bearer and an API key");
    srv_reply_header(&rq->reply, "WWW-Authenticate", "Bearer");
    return 1;
}

static enum MHD_Result start_request(server *s, struct MHD_Connection *c, const char *url,
                                     const char *method, const char *version, void **con_cls)
{
    request *rq = calloc(1, sizeof *rq);
    if (!rq)
        return MHD_NO;   /* no memory even for the bookkeeping: drop the connection */
    *con_cls = rq;
    rq->srv = s;
    rq->conn = c;
    clock_gettime(CLOCK_MONOTONIC, &rq->t0);
    copy_printable(rq->method, sizeof rq->method, method);
    copy_printable(rq->path, sizeof rq->path, url);
    strcpy(rq->decision, "-");
    atomic_fetch_add(&s->in_flight, 1);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    rq->watch = ci ? ci->socket_context : NULL;
    srv_watchdog_arm(s->watchdog, rq->watch, SRV_WATCH_BODY);   /* a window of its own */

    srv_framing framing = {0};
    int st = srv_endpoint_route(method, url, &rq->ep);
    if (refuse_framing(rq, version, &framing) != 0)
        return send_reply(rq);
    if (check_access(rq, method, st))
        return reply_early(rq);
    if (st == 404) {
        srv_reply_error(&rq->reply, 404, "not_found", "no endpoint %s", rq->path);
        return reply_early(rq);
    }
    if (st == 405) {
        const char *allow = srv_endpoint_allow(rq->ep);
        srv_reply_error(&rq->reply, 405, "method_not_allowed", "%s takes %s", rq->path, allow);
        srv_reply_header(&rq->reply, "Allow", "%s", allow);
        return reply_early(rq);
    }
    if (!srv_endpoint_takes_image(rq->ep)) {
        srv_api_state state = {s->metrics, {0}};
        gauges(s, &state.gauges);
        srv_api_get(rq->ep, &state, &rq->reply);
        return reply_early(rq);
    }
    srv_request_head head = {
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH),
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "min_confidence"),
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "orientation"),
        MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "exif"),
        framing.chunked,
    };
    if (srv_api_check_head(&rq->img, rq->ep, &head, s->cfg.max_body, &rq->reply) != 0)
        return reply_early(rq);
    rq->img.metrics = s->metrics;
    rq->img.memory = &s->memory;
    return MHD_YES;
}

/* r as the bytes of an HTTP/1.1 response that closes its connection, into out. Returns their
 * size, or 0 when they do not fit. For the replies libmicrohttpd cannot send (below). */
static size_t format_reply(const srv_reply *r, char *out, size_t cap)
{
    int n = snprintf(out, cap, "HTTP/1.1 %d %s\r\nConnection: close\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nX-Content-Type-Options: nosniff\r\n"
                     "Cache-Control: no-store\r\n",
                     r->status, MHD_get_reason_phrase_for((unsigned)r->status), r->content_type,
                     r->size);
    for (int i = 0; i < r->n_headers && n > 0 && (size_t)n < cap; i++)
        n += snprintf(out + n, cap - (size_t)n, "%s: %s\r\n", r->headers[i].name,
                      r->headers[i].value);
    if (n <= 0 || (size_t)n + 2 + r->size > cap)
        return 0;
    memcpy(out + n, "\r\n", 2);
    memcpy(out + n + 2, r->body, r->size);
    return (size_t)n + 2 + r->size;
}

/* Write rq->reply straight to the socket, for the one case libmicrohttpd 0.9.75 has no way to
 * answer: in the middle of a body (MHD_queue_response() takes a response only before the body or
 * after it). The daemon thread is the caller, and the library writes nothing while it reads a
 * body, so nothing interleaves; the few hundred bytes fit the empty send buffer at once. The
 * caller then returns MHD_NO and the library closes the connection. */
static void send_reply_now(request *rq)
{
    char text[2048];
    size_t size = format_reply(&rq->reply, text, sizeof text);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci && size && send(ci->connect_fd, text, size, MSG_NOSIGNAL | MSG_DONTWAIT) > 0) {
        rq->status = rq->reply.status;
        rq->bytes_out = rq->reply.size;
        shutdown(ci->connect_fd, SHUT_WR);
    }
    srv_reply_free(&rq->reply);
}

/* A body that outgrew --max-body (413) or the budget of all bodies (503) is answered the moment
 * it does, and the connection closed: reading the rest would only spend our time on bytes we
 * throw away, and a chunked body has no end we could know. */
static enum MHD_Result refuse_body(request *rq)
{
    server *s = rq->srv;
    body_free(rq);
    if (rq->body_status == BODY_TOO_LARGE)
        srv_reply_error(&rq->reply, 413, "payload_too_large", "the body is over %llu bytes",
                       (unsigned long long)s->cfg.max_body);
    else
        srv_reply_error(&rq->reply, 503, "overloaded", "too many uploads at once");
    send_reply_now(rq);
    atomic_store(&s->refused_body, 1);
    return MHD_NO;
}

static enum MHD_Result take_upload(request *rq, const char *data, size_t n)
{
    rq->bytes_in += n;
    if (rq->status)
        return MHD_YES;   /* already answered */
    rq->body_status = body_append(rq, data, n);
    return rq->body_status == BODY_OK ? MHD_YES : refuse_body(rq);
}

static enum MHD_Result finish_upload(request *rq)
{
    server *s = rq->srv;
    if (srv_api_take_body(&rq->img, rq->body, rq->len, &rq->reply) != 0)
        return send_reply(rq);
    rq->job.run = run_job;
    srv_watchdog_disarm(s->watchdog, rq->watch);   /* from here the time is ours */
    MHD_suspend_connection(rq->conn);
    if (srv_pool_submit(s->pool, &rq->job) != 0) {
        if (atomic_load(&s->stopping))
            srv_reply_error(&rq->reply, 503, "overloaded", "the server is shutting down");
        else
            srv_reply_error(&rq->reply, 503, "overloaded", "%d images are already waiting",
                           s->cfg.queue);
        rq->reply_ready = 1;
        MHD_resume_connection(rq->conn);
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    request *rq = *con_cls;
    if (!rq)
        return start_request(cls, c, url, method, version, con_cls);
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        return take_upload(rq, upload_data, n);
    }
    if (rq->reply_ready)
        return send_reply(rq);
    return finish_upload(rq);
}

static void log_request(const request *rq, double ms, int cut)
{
    char status[8] = "-", line[512];
    if (rq->status)
        snprintf(status, sizeof status, "%d", rq->status);
    int n = snprintf(line, sizeof line, "%s %s %s %.1fms in=%llu out=%llu orientation=%s%s\n",
                     rq->method, rq->path, status, ms, (unsigned long long)rq->bytes_in,
                     (unsigned long long)rq->bytes_out, rq->decision,
                     cut ? " (timed out)" : rq->status ? "" : " (connection closed)");
    if (n > 0) {
        /* One write per line, so lines from different requests never interleave. */
        size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
        if (write(STDERR_FILENO, line, len) < 0)
            return;
    }
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    server *s = cls;
    request *rq = *con_cls;
    (void)c;
    if (!rq)
        return;
    *con_cls = NULL;
    double secs = seconds_since(&rq->t0);
    int answered = 0, cut = srv_watchdog_expired(s->watchdog, rq->watch, &answered);
    if (answered) {
        rq->status = 408;
        rq->bytes_out = s->late_body_size;
    }
    if (rq->status)
        srv_metrics_request(s->metrics, rq->ep, rq->status, secs, rq->bytes_in, rq->bytes_out);
    log_request(rq, secs * 1000.0, cut);
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        srv_watchdog_arm(s->watchdog, rq->watch, SRV_WATCH_HEADERS);   /* the next request */
    body_free(rq);
    srv_reply_free(&rq->reply);
    free(rq);
    atomic_fetch_sub(&s->in_flight, 1);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    server *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? srv_watchdog_add(s->watchdog, ci->connect_fd) : NULL;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        srv_watchdog_remove(s->watchdog, *socket_context);
        *socket_context = NULL;
    }
}

/* Resolve --bind into a socket address with the port set. */
static int resolve(const srv_server_config *cfg, struct sockaddr_storage *addr, socklen_t *len)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof port, "%d", cfg->port);
    int rc = getaddrinfo(cfg->bind, port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "faceup serve: --bind %s: %s\n", cfg->bind, gai_strerror(rc));
        return -1;
    }
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* libmicrohttpd's own messages (a malformed request it refused itself, a failed bind), one line
 * each, marked as its own. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    server *s = cls;
    char line[320];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        return;
    /* The MHD_NO of refuse_body() is no internal error: its 413 or 503 is in the request log. */
    if (!strncmp(line, "Application reported internal error", 35) &&
        atomic_exchange(&s->refused_body, 0))
        return;
    size_t len = strlen(line);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        line[--len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    fprintf(stderr, "libmicrohttpd: %s\n", line);
}

static struct MHD_Daemon *start_daemon(server *s)
{
    struct sockaddr_storage addr;
    socklen_t addr_len;
    if (resolve(&s->cfg, &addr, &addr_len) != 0)
        return NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    int idle = (s->cfg.timeout > s->cfg.header_timeout ? s->cfg.timeout : s->cfg.header_timeout) + 2;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)s->cfg.port, NULL, NULL, on_request, s,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,   /* first, to catch the messages of the rest */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        /* An idle timeout only, after the watchdog's deadlines, which come first. */
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)idle,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->cfg.max_connections,
        /* One address cannot take every connection (and starve the others by holding them). */
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->cfg.max_conn_per_ip,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 256u,
        MHD_OPTION_STRICT_FOR_CLIENT, 1,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "faceup serve: cannot listen on %s port %d\n", s->cfg.bind, s->cfg.port);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? info->port : s->cfg.port;
    char host[INET6_ADDRSTRLEN + 2];
    if (getnameinfo((struct sockaddr *)&addr, addr_len, host + 1, sizeof host - 2, NULL, 0,
                    NI_NUMERICHOST) != 0)
        snprintf(host + 1, sizeof host - 2, "%s", s->cfg.bind);
    if (addr.ss_family == AF_INET6) {
        host[0] = '[';
        strcat(host, "]");
        fprintf(stderr, "listening on http://%s:%d\n", host, port);
    } else {
        fprintf(stderr, "listening on http://%s:%d\n", host + 1, port);
    }
    return d;
}

void srv_server_defaults(srv_server_config *cfg, int ncpu)
{
    cfg->bind = "127.0.0.1";
    cfg->port = 8080;
    cfg->threads = ncpu;
    cfg->queue = 128;
    cfg->max_connections = 256;
    cfg->max_conn_per_ip = 64;
    cfg->timeout = 30;
    cfg->header_timeout = 10;
    cfg->max_body = 32u << 20;
    cfg->max_pixels = 50e6;
    cfg->max_memory = 1536.0 * (1 << 20); /* under faceup.service's MemoryMax=2G */
    cfg->api_keys = NULL;
    cfg->api_keys_size = 0;
    cfg->api_key_file = NULL;
    cfg->cors_origins = NULL;
    cfg->n_cors_origins = 0;
}

/* The watchdog, with the 408 it sends a client that is too slow to send its body. */
static srv_watchdog *start_watchdog(server *s)
{
    srv_reply late = {0};
    srv_reply_error(&late, 408, "request_timeout", "the body did not arrive within %d s",
                   s->cfg.timeout);
    char text[1024];
    s->late_body_size = late.size;
    srv_watchdog_config wc = {s->cfg.timeout, s->cfg.header_timeout, text,
                              format_reply(&late, text, sizeof text),
                              (unsigned)s->cfg.max_connections};
    srv_reply_free(&late);
    return srv_watchdog_create(&wc, s->metrics);
}

/* Wait until the requests in flight are answered, or `grace` seconds. */
static void drain(server *s, double grace)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (atomic_load(&s->in_flight) > 0 && seconds_since(&t0) < grace) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    int left = atomic_load(&s->in_flight);
    if (left > 0)
        fprintf(stderr, "faceup serve: %d requests still in flight after %.0f s; closing them\n",
                left, grace);
}

/* All bodies buffered together: eight of the largest, and at least 256 MiB. */
static size_t body_budget(uint64_t max_body)
{
    uint64_t budget = max_body > UINT64_MAX / 8 ? UINT64_MAX : max_body * 8;
    if (budget < (256u << 20))
        budget = 256u << 20;
    return budget > SIZE_MAX ? SIZE_MAX : (size_t)budget;
}

int srv_server_run(const srv_server_config *cfg)
{
    /* Every thread started from here on inherits this mask: the signals come to sigwait(). */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    server s = {0};
    s.cfg = *cfg;
    s.budget = body_budget(cfg->max_body);
    atomic_init(&s.in_flight, 0);
    atomic_init(&s.stopping, 0);
    atomic_init(&s.buffered, 0);
    atomic_init(&s.refused_body, 0);
    atomic_init(&s.memory.used, 0);
    s.memory.budget = (long long)cfg->max_memory;

    int rc = 1;
    srv_pool_config pc = {cfg->threads, cfg->queue, cfg->max_pixels, (double)cfg->max_body,
                          cfg->max_memory};
    s.metrics = srv_metrics_create();
    const char *why = "";
    int line = 0;
    s.access = srv_access_create(cfg->api_keys, cfg->api_keys_size, cfg->cors_origins,
                                 cfg->n_cors_origins, &why, &line);
    if (!s.access) {
        fprintf(stderr, "faceup serve: --api-key-file %s: %s", cfg->api_key_file, why);
        fprintf(stderr, line ? " (line %d)\n" : "\n", line);
        goto done;
    }
    s.watchdog = s.metrics ? start_watchdog(&s) : NULL;
    s.pool = s.watchdog ? srv_pool_create(&pc) : NULL;
    if (!s.pool) {
        fprintf(stderr, "faceup serve: out of memory or threads\n");
        goto done;
    }
    s.daemon = start_daemon(&s);
    if (!s.daemon)
        goto done;
    if (srv_pool_wait_ready(s.pool) != 0) {
        fprintf(stderr, "faceup serve: the workers could not load the model\n");
        goto done;
    }
    fprintf(stderr, "ready: %d workers, queue %d, max body %llu bytes, max pixels %.0f, "
                    "max memory %.0f bytes, timeout %d s, header timeout %d s, %d connections per address, API keys %s, "
            "%d CORS origins\n",
            cfg->threads, cfg->queue, (unsigned long long)cfg->max_body, cfg->max_pixels,
            cfg->max_memory, cfg->timeout, cfg->header_timeout, cfg->max_conn_per_ip,
            srv_access_needs_key(s.access) ? "required" : "off", cfg->n_cors_origins);

    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    fprintf(stderr, "faceup serve: %s: finishing the requests in flight\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = 0;

done:
    atomic_store(&s.stopping, 1);
    if (s.daemon) {
        MHD_socket listen_fd = MHD_quiesce_daemon(s.daemon);
        if (listen_fd != MHD_INVALID_SOCKET)
            close(listen_fd);
        drain(&s, (double)cfg->timeout + 5.0);
    }
    if (s.pool)
        srv_pool_stop(s.pool);   /* every queued image answered; later ones get 503 */
    if (s.daemon)
        MHD_stop_daemon(s.daemon);
    srv_pool_destroy(s.pool);
    srv_watchdog_destroy(s.watchdog);
    srv_metrics_destroy(s.metrics);
    srv_access_destroy(s.access);
    if (rc == 0)
        fprintf(stderr, "faceup serve: stopped\n");
    return rc;
}
