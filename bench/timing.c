/*
 * timing.c - see timing.h.
 */
#include "timing.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "read_file.h"

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int bench_open(int argc, char **argv, const char *name, int default_runs, bench_input *in)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s IMAGE [RUNS]\n", name);
        return 2;
    }
    in->path = argv[1];
    in->runs = argc > 2 ? atoi(argv[2]) : default_runs;
    if (in->runs < 1)
        in->runs = 1;
    char err[256];
    if (cli_read_file(in->path, 1LL << 40, &in->data, &in->size, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", in->path, err);
        return 1;
    }
    return 0;
}

int bench_time(const bench_input *in, void (*call)(void *ctx, const unsigned char *, size_t),
               void *ctx, double ms_stats[3])
{
    int n = in->runs;
    double *ms = malloc(sizeof(double) * (size_t)n);
    if (!ms)
        return -1;
    for (int i = 0; i < n; i++) {
        double t0 = now_ms();
        call(ctx, in->data, in->size);
        ms[i] = now_ms() - t0;
    }
    qsort(ms, (size_t)n, sizeof *ms, by_value);
    ms_stats[0] = ms[n / 2];
    ms_stats[1] = ms[n / 10];
    ms_stats[2] = ms[n * 9 / 10];
    free(ms);
    return 0;
}
