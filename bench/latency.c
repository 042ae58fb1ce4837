/*
 * latency.c - time faceup_detect on one encoded image, in process (benchmark, not a test).
 *
 * Usage: bench_latency IMAGE [RUNS]   prints the median and the 10th/90th percentile in ms.
 * One handle, one thread: run it under `taskset -c 0` to hold it to one core.
 */
#include <stdio.h>
#include <stdlib.h>

#include "faceup.h"

#include "timing.h"

static void timed_detect(void *h, const unsigned char *data, size_t size)
{
    faceup_result *r = NULL;
    faceup_detect(h, data, size, &r);
    faceup_result_free(r);
}

int main(int argc, char **argv)
{
    bench_input in;
    int rc = bench_open(argc, argv, "bench_latency", 50, &in);
    if (rc)
        return rc;
    faceup *h = faceup_create();
    faceup_result *r = NULL;
    if (faceup_detect(h, in.data, in.size, &r) != FACEUP_OK) { /* warm-up, sizes the workspace */
        fprintf(stderr, "%s\n", faceup_errmsg(h));
        return 1;
    }
    int orientation = r->orientation;
    faceup_result_free(r);
    double ms[3];
    if (bench_time(&in, timed_detect, h, ms) != 0)
        return 1;
    printf("%s: orientation %d, median %.2f ms (p10 %.2f, p90 %.2f) over %d runs\n", in.path,
           orientation, ms[0], ms[1], ms[2], in.runs);
    faceup_destroy(h);
    free(in.data);
    return 0;
}
