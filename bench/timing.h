/*
 * timing.h - what the in-process benchmarks share (bench/latency.c, bench/heif_decode.c): their
 * command line (IMAGE [RUNS]), the image read whole, and a call timed RUNS times.
 */
#ifndef FACEUP_BENCH_TIMING_H
#define FACEUP_BENCH_TIMING_H

#include <stddef.h>

typedef struct bench_input {
    const char *path;
    unsigned char *data; /* the whole file; free() it */
    size_t size;
    int runs;
} bench_input;

/* argv as `NAME IMAGE [RUNS]` (RUNS default default_runs, at least 1), the image read. Returns
 * 0, or the exit status after saying why (2 usage, 1 unreadable). */
int bench_open(int argc, char **argv, const char *name, int default_runs, bench_input *in);

/* call(ctx, data, size) in->runs times, timed one by one: the median, 10th and 90th percentile
 * in ms into ms_stats[0..2]. Warming up is the caller's. Returns 0, or -1 out of memory. */
int bench_time(const bench_input *in, void (*call)(void *ctx, const unsigned char *, size_t),
               void *ctx, double ms_stats[3]);

#endif
