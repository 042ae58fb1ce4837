/*
 * latency.c - time faceup_detect on one encoded image, in process (benchmark, not a test).
 *
 * Usage: bench_latency IMAGE [RUNS]   prints the median and the 10th/90th percentile in ms.
 * One handle, one thread: run it under `taskset -c 0` to hold it to one core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "faceup.h"

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

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_latency IMAGE [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 50;
    if (runs < 1)
        runs = 1;
    unsigned char *data;
    size_t size;
    char err[256];
    if (cli_read_file(argv[1], 1LL << 40, &data, &size, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        return 1;
    }
    faceup *h = faceup_create();
    double *ms = malloc(sizeof(double) * (size_t)runs);
    faceup_result *r = NULL;
    if (faceup_detect(h, data, (size_t)size, &r) != FACEUP_OK) {   /* warm-up, sizes the workspace */
        fprintf(stderr, "%s\n", faceup_errmsg(h));
        return 1;
    }
    int orientation = r->orientation;
    faceup_result_free(r);
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        faceup_detect(h, data, (size_t)size, &r);
        ms[i] = now_ms() - t0;
        faceup_result_free(r);
    }
    qsort(ms, (size_t)runs, sizeof *ms, by_value);
    printf("%s: orientation %d, median %.2f ms (p10 %.2f, p90 %.2f) over %d runs\n", argv[1],
           orientation, ms[runs / 2], ms[runs / 10], ms[runs * 9 / 10], runs);
    faceup_destroy(h);
    free(ms);
    free(data);
    return 0;
}
