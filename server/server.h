/*
 * server/ - `faceup serve`, part of the faceup command: connections and the life of the process
 * (server.c, on libmicrohttpd), what each endpoint answers (api.c), the endpoints and routing
 * (endpoint.c), who may call (access.c: API keys, CORS origins), request parsing (http_parse.c, fuzzed on its own), the worker pool with one
 * faceup handle per worker (pool.c), per-connection deadlines (watchdog.c) and the Prometheus
 * counters (metrics.c). Includes only the public faceup.h and base/strbuf.h of the library;
 * within the folder, server.c is on top, then api.c and access.c, then endpoint.c, metrics.c,
 * pool.c and http_parse.c, which include nothing of the folder above them.
 *
 * server.h - `faceup serve`: the HTTP service on libmicrohttpd.
 */
#ifndef SRV_SERVER_H
#define SRV_SERVER_H

#include <stddef.h>
#include <stdint.h>

typedef struct srv_server_config {
    const char *bind;       /* address to listen on, numeric or a host name ("127.0.0.1") */
    int port;               /* 0 picks a free port */
    int threads;            /* workers, each with its own faceup handle */
    int queue;              /* images that may wait for a worker before 503 */
    int max_connections;
    int max_conn_per_ip;    /* open connections from one address; 0: no limit */
    int timeout;            /* seconds for the body and for reading the answer (watchdog.h) */
    int header_timeout;     /* seconds for a request's headers, and idle between requests */
    uint64_t max_body;      /* request body bytes */
    double max_pixels;      /* width x height of one image */
    double max_memory;      /* bytes the pixels of all images in hand may hold (api.h) */
    const char *api_keys;   /* the text of the key file (access.h), NULL: no key needed */
    size_t api_keys_size;
    const char *api_key_file;   /* its name, for messages */
    const char *const *cors_origins;   /* origins given Access-Control-Allow-Origin */
    int n_cors_origins;
} srv_server_config;

/* Defaults, then FACEUP_* environment variables are for the caller (cli/serve.c) to apply. */
void srv_server_defaults(srv_server_config *cfg, int ncpu);

/* Listen, print "listening on http://HOST:PORT" on stderr, serve until SIGTERM or SIGINT, then
 * stop accepting, finish the requests in flight and return 0. Returns 1 when the server could
 * not start (the reason printed on stderr). Call from the main thread before any other thread
 * is started: it blocks SIGTERM and SIGINT in every thread and waits for them itself. */
int srv_server_run(const srv_server_config *cfg);

#endif
