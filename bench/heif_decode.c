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

#include <libheif/heif.h>

#include "timing.h"

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

static void timed_decode(void *ctx, const unsigned char *data, size_t size)
{
    (void)ctx;
    decode_once(data, size);
}

int main(int argc, char **argv)
{
    bench_input in;
    int rc = bench_open(argc, argv, "bench_heif_decode", 20, &in);
    if (rc)
        return rc;
    double ms[3];
    if (decode_once(in.data, in.size) != 0 || /* warm-up */
        bench_time(&in, timed_decode, NULL, ms) != 0)
        return 1;
    printf("%s: median %.2f ms (p10 %.2f, p90 %.2f) over %d runs\n", in.path, ms[0], ms[1],
           ms[2], in.runs);
    free(in.data);
    return 0;
}
