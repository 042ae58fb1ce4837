/*
 * heif_decode.c - libheif's own full decode of a HEIC or AVIF, timed (the reference of
 * bench/bench_heif.py; benchmark, not a test).
 *
 * Usage: bench_heif_decode IMAGE [RUNS]   prints the median and the 10th/90th percentile in ms
 * of: reading the file into a context, decoding its primary image to interleaved 8-bit RGB (the
 * transformations applied), releasing it; what faceup's decoder asks libheif for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <libheif/heif.h>

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

static int decode_once(const unsigned char *data, size_t size)
{
    struct heif_context *ctx = heif_context_alloc();
    struct heif_image_handle *item = NULL;
    struct heif_image *img = NULL;
    struct heif_error e = heif_context_read_from_memory_without_copy(ctx, data, size, NULL);
    if (e.code == heif_error_Ok)
        e = heif_context_get_primary_image_handle(ctx, &item);
    if (e.code == heif_error_Ok)
        e = heif_decode_image(item, &img, heif_colorspace_RGB, heif_chroma_interleaved_RGB, NULL);
    if (e.code != heif_error_Ok)
        fprintf(stderr, "%s\n", e.message);
    heif_image_release(img);
    heif_image_handle_release(item);
    heif_context_free(ctx);
    return e.code == heif_error_Ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_heif_decode IMAGE [RUNS]\n");
        return 2;
    }
    int runs = argc > 2 ? atoi(argv[2]) : 20;
    if (runs < 1)
        runs = 1;
    unsigned char *data;
    size_t size;
    char err[256];
    if (cli_read_file(argv[1], 1LL << 40, &data, &size, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", argv[1], err);
        return 1;
    }
    double *ms = malloc(sizeof(double) * (size_t)runs);
    if (decode_once(data, (size_t)size) != 0) /* warm-up */
        return 1;
    for (int i = 0; i < runs; i++) {
        double t0 = now_ms();
        decode_once(data, (size_t)size);
        ms[i] = now_ms() - t0;
    }
    qsort(ms, (size_t)runs, sizeof *ms, by_value);
    printf("%s: median %.2f ms (p10 %.2f, p90 %.2f) over %d runs\n", argv[1], ms[runs / 2],
           ms[runs / 10], ms[runs * 9 / 10], runs);
    free(ms);
    free(data);
    return 0;
}
