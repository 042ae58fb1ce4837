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
#include "server.h"

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
            "  --timeout S          seconds a client has for each of sending the body (then 408)\n"
            "                       and reading the answer (FACEUP_TIMEOUT, default 30)\n"
            "  --header-timeout S   seconds a client has to send a request's headers, and may be\n"
            "                       idle between requests (FACEUP_HEADER_TIMEOUT, default 10)\n"
            "  --max-connections N  open connections at once (FACEUP_MAX_CONNECTIONS, default 256)\n"
            "  --max-conn-per-ip N  open connections from one address, 0 for no limit\n"
            "                       (FACEUP_MAX_CONN_PER_IP, default 64)\n"
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
        {"--timeout", "FACEUP_TIMEOUT", 1, 86400, &cfg.timeout, NULL, NULL},
        {"--header-timeout", "FACEUP_HEADER_TIMEOUT", 1, 86400, &cfg.header_timeout, NULL, NULL},
        {"--max-connections", "FACEUP_MAX_CONNECTIONS", 1, 100000, &cfg.max_connections, NULL,
         NULL},
        {"--max-conn-per-ip", "FACEUP_MAX_CONN_PER_IP", 0, 100000, &cfg.max_conn_per_ip, NULL,
         NULL},
    };
    enum { N_NUMERIC = sizeof numeric / sizeof *numeric, OPT_BIND = 'b', OPT_HELP = 'h' };

    for (int i = 0; i < N_NUMERIC; i++) {
        const char *v = getenv(numeric[i].env);
        if (v && *v && parse_number(&numeric[i], numeric[i].env, v) != 0)
            return 2;
    }
    const char *bind = getenv("FACEUP_BIND");
    if (bind && *bind)
        cfg.bind = bind;

    struct option opts[N_NUMERIC + 3];
    for (int i = 0; i < N_NUMERIC; i++)
        opts[i] = (struct option){numeric[i].flag + 2, required_argument, NULL, 1000 + i};
    opts[N_NUMERIC] = (struct option){"bind", required_argument, NULL, OPT_BIND};
    opts[N_NUMERIC + 1] = (struct option){"help", no_argument, NULL, OPT_HELP};
    opts[N_NUMERIC + 2] = (struct option){NULL, 0, NULL, 0};

    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c >= 1000 && c < 1000 + N_NUMERIC) {
            if (parse_number(&numeric[c - 1000], numeric[c - 1000].flag, optarg) != 0)
                return 2;
        } else if (c == OPT_BIND) {
            cfg.bind = optarg;
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
    return srv_server_run(&cfg);
}
