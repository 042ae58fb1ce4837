/*
 * serve.c - `faceup serve [options]`: the options, from the environment then the flags, handed
 * to the server (server/server.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "options.h"
#include "read_file.h"
#include "server.h"

/* The most --cors-origin values, and the largest key file. */
#define MAX_ORIGINS 64
#define MAX_KEY_FILE (1 << 20)

/* One numeric option: its flag, its environment variable, its range and where it goes. */
typedef struct numeric_option {
    const char *flag, *env;
    long long lo, hi;
    int *as_int;
    uint64_t *as_u64;
    double *as_double;
} numeric_option;

static void usage(FILE *to)
{
    fprintf(to,
            "usage: faceup serve [options]\n"
            "\n"
            "Serve faceup over HTTP: POST /v1/fix and /v1/detect, GET / (a page to try it),\n"
            "/healthz, /readyz, /metrics and /openapi.json. Every option can also be set by the\n"
            "environment variable in brackets; a flag wins over the variable.\n"
            "\n"
            "  --port N             TCP port, 0 picks a free one (FACEUP_PORT, default 8080)\n"
            "  --bind ADDR          address to listen on (FACEUP_BIND, default 127.0.0.1)\n"
            "  --threads N          worker threads, one model workspace each\n"
            "                       (FACEUP_THREADS, default: number of CPUs)\n"
            "  --queue N            images that may wait for a worker; more get 503\n"
            "                       (FACEUP_QUEUE, default 128)\n"
            "  --max-body N         largest request body in bytes; more gets 413\n"
            "                       (FACEUP_MAX_BODY, default 33554432)\n"
            "  --max-pixels N       largest image, width x height; more gets 422\n"
            "                       (FACEUP_MAX_PIXELS, default 50000000)\n"
            "  --max-memory BYTES   what the pixels of all images being decided may hold at\n"
            "                       once, estimated from each header before decoding; an image\n"
            "                       that does not fit now gets 503, one over it all 422\n"
            "                       (FACEUP_MAX_MEMORY, default 1610612736: 1.5 GiB, under\n"
            "                       faceup.service's MemoryMax=2G)\n"
            "  --timeout S          seconds a client has for each of sending the body (then 408)\n"
            "                       and reading the answer (FACEUP_TIMEOUT, default 30)\n"
            "  --header-timeout S   seconds a client has to send a request's headers, and may be\n"
            "                       idle between requests (FACEUP_HEADER_TIMEOUT, default 10)\n"
            "  --max-connections N  open connections at once; from 7/8 of it on, connections idle\n"
            "                       for over a second are closed first, longest idle first\n"
            "                       (FACEUP_MAX_CONNECTIONS, default 256)\n"
            "  --max-conn-per-ip N  open connections from one address, 0 for no limit\n"
            "                       (FACEUP_MAX_CONN_PER_IP, default 64)\n"
            "  --api-key-file FILE  require \"Authorization: Bearer KEY\" on every endpoint but\n"
            "                       /healthz and /readyz, KEY one of the lines of FILE\n"
            "                       (FACEUP_API_KEY_FILE; default: no key needed)\n"
            "  --cors-origin ORIGIN let pages from ORIGIN (\"https://app.example\") call the\n"
            "                       server; repeatable (FACEUP_CORS_ORIGINS, space-separated;\n"
            "                       default none)\n"
            "  -h, --help           this help\n"
            "\n"
            "Prints \"listening on http://HOST:PORT\" on stderr when it accepts connections, then\n"
            "one line per request. SIGTERM or SIGINT: stop accepting, finish the requests in\n"
            "flight, exit 0. Exit 1 when it cannot start, 2 on a usage error.\n");
}

static int parse_number(const numeric_option *o, const char *from, const char *s)
{
    long long v;
    if (cli_parse_int(s, o->lo, o->hi, &v) != 0) {
        fprintf(stderr, "faceup serve: %s wants a whole number from %lld to %lld, not '%s'\n",
                from, o->lo, o->hi, s);
        return -1;
    }
    if (o->as_int)
        *o->as_int = (int)v;
    if (o->as_u64)
        *o->as_u64 = (uint64_t)v;
    if (o->as_double)
        *o->as_double = (double)v;
    return 0;
}

/* Add an origin to cfg, or fail with a message. */
static int add_origin(srv_server_config *cfg, const char **origins, const char *o)
{
    if (cfg->n_cors_origins == MAX_ORIGINS) {
        fprintf(stderr, "faceup serve: more than %d CORS origins\n", MAX_ORIGINS);
        return -1;
    }
    origins[cfg->n_cors_origins++] = o;
    return 0;
}

/* FACEUP_CORS_ORIGINS, split on spaces into *copy (freed by the caller). */
static int env_origins(srv_server_config *cfg, const char **origins, char **copy)
{
    const char *v = getenv("FACEUP_CORS_ORIGINS");
    if (!v || !*v)
        return 0;
    if (!(*copy = strdup(v)))
        return -1;
    for (char *save = NULL, *o = strtok_r(*copy, " \t", &save); o; o = strtok_r(NULL, " \t", &save))
        if (add_origin(cfg, origins, o) != 0)
            return -1;
    return 0;
}

/* Read the key file into cfg; its text is freed by the caller. */
static int read_keys(srv_server_config *cfg, const char *path)
{
    unsigned char *text = NULL;
    size_t size = 0;
    char err[256];
    if (cli_read_file(path, MAX_KEY_FILE, &text, &size, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "faceup serve: --api-key-file %s: %s\n", path, err);
        return -1;
    }
    cfg->api_keys = (const char *)text;
    cfg->api_keys_size = size;
    cfg->api_key_file = path;
    return 0;
}

/* The flags that are not numbers, as given (NULL / 0 when absent). */
typedef struct other_flags {
    const char *bind, *key_file;
    const char *origins[MAX_ORIGINS];
    int n_origins;
} other_flags;

enum { OPT_BIND = 'b', OPT_HELP = 'h', OPT_KEYS = 'k', OPT_CORS = 'c', OPT_NUMERIC = 1000 };

/* Returns -1 to go on, or the exit status (0 for --help, 2 on a usage error). */
static int parse_flags(int argc, char **argv, const numeric_option *numeric, int n_numeric,
                       other_flags *o)
{
    struct option opts[32];
    int n = 0;
    for (; n < n_numeric; n++)
        opts[n] = (struct option){numeric[n].flag + 2, required_argument, NULL, OPT_NUMERIC + n};
    opts[n++] = (struct option){"bind", required_argument, NULL, OPT_BIND};
    opts[n++] = (struct option){"api-key-file", required_argument, NULL, OPT_KEYS};
    opts[n++] = (struct option){"cors-origin", required_argument, NULL, OPT_CORS};
    opts[n++] = (struct option){"help", no_argument, NULL, OPT_HELP};
    opts[n] = (struct option){NULL, 0, NULL, 0};

    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c >= OPT_NUMERIC && c < OPT_NUMERIC + n_numeric) {
            if (parse_number(&numeric[c - OPT_NUMERIC], numeric[c - OPT_NUMERIC].flag, optarg) != 0)
                return 2;
        } else if (c == OPT_BIND) {
            o->bind = optarg;
        } else if (c == OPT_KEYS) {
            o->key_file = optarg;
        } else if (c == OPT_CORS && o->n_origins < MAX_ORIGINS) {
            o->origins[o->n_origins++] = optarg;
        } else if (c == OPT_HELP) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "faceup serve: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    return -1;
}

int cli_serve(int argc, char **argv)
{
    srv_server_config cfg;
    srv_server_defaults(&cfg, cli_ncpu());
    const numeric_option numeric[] = {
        {"--port", "FACEUP_PORT", 0, 65535, &cfg.port, NULL, NULL},
        {"--threads", "FACEUP_THREADS", 1, 256, &cfg.threads, NULL, NULL},
        {"--queue", "FACEUP_QUEUE", 1, 1000000, &cfg.queue, NULL, NULL},
        {"--max-body", "FACEUP_MAX_BODY", 1, 1LL << 40, NULL, &cfg.max_body, NULL},
        {"--max-pixels", "FACEUP_MAX_PIXELS", 1, 4000000000000LL, NULL, NULL, &cfg.max_pixels},
        {"--max-memory", "FACEUP_MAX_MEMORY", 1 << 20, 1000000000000000LL, NULL, NULL,
         &cfg.max_memory},
        {"--timeout", "FACEUP_TIMEOUT", 1, 86400, &cfg.timeout, NULL, NULL},
        {"--header-timeout", "FACEUP_HEADER_TIMEOUT", 1, 86400, &cfg.header_timeout, NULL, NULL},
        {"--max-connections", "FACEUP_MAX_CONNECTIONS", 1, 100000, &cfg.max_connections, NULL,
         NULL},
        {"--max-conn-per-ip", "FACEUP_MAX_CONN_PER_IP", 0, 100000, &cfg.max_conn_per_ip, NULL,
         NULL},
    };
    enum { N_NUMERIC = sizeof numeric / sizeof *numeric };

    for (int i = 0; i < N_NUMERIC; i++) {
        const char *v = getenv(numeric[i].env);
        if (v && *v && parse_number(&numeric[i], numeric[i].env, v) != 0)
            return 2;
    }
    other_flags flags = {getenv("FACEUP_BIND"), getenv("FACEUP_API_KEY_FILE"), {0}, 0};
    int rc = parse_flags(argc, argv, numeric, N_NUMERIC, &flags);
    if (rc >= 0)
        return rc;
    if (flags.bind && *flags.bind)
        cfg.bind = flags.bind;

    const char *origins[MAX_ORIGINS];
    char *env_copy = NULL;
    rc = 1;
    if (flags.n_origins) {   /* the flags win over FACEUP_CORS_ORIGINS */
        for (int i = 0; i < flags.n_origins; i++)
            add_origin(&cfg, origins, flags.origins[i]);
    } else if (env_origins(&cfg, origins, &env_copy) != 0) {
        goto done;
    }
    cfg.cors_origins = origins;
    if (flags.key_file && *flags.key_file && read_keys(&cfg, flags.key_file) != 0)
        goto done;
    rc = srv_server_run(&cfg);
done:
    if (cfg.api_keys) {   /* the server kept its own copy of the keys */
        volatile char *p = (volatile char *)cfg.api_keys;
        for (size_t i = 0; i < cfg.api_keys_size; i++)
            p[i] = 0;
    }
    free((void *)cfg.api_keys);
    free(env_copy);
    return rc;
}
