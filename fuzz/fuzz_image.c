/*
 * fuzz_image.c - every decoder behind fu_image_decode, and the transforms after it.
 *
 * The pixel limit is small so the fuzzer spends its time in parsers, not in memset-sized
 * allocations; the last input byte picks the reduced JPEG size so both decode paths are hit.
 */
#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"
#include "geom/resize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[FU_ERRLEN];
    fu_probe probe;
    fu_image img = {0}, shown = {0}, small = {0};

    /* 4: PNG and WebP fixtures (whose last byte picks it) go through the reduced decode */
    static const int sides[4] = {0, 48, 4, 144};
    int min_side = size > 0 ? sides[data[size - 1] % 4] : 0;
    if (fu_image_probe(data, size, 4000000, &probe, err) == FACEUP_OK &&
        (fu_decode_cost(&probe, min_side, 1) < 0 || fu_fix_cost(&probe, probe.format) < 0))
        __builtin_trap(); /* a cost from a hostile header that overflowed */
    if (fu_image_decode(NULL, data, size, 4000000, min_side, &img, &probe, err) == FACEUP_OK &&
        fu_image_turn(&img, fu_d4_from_exif(probe.exif_orientation), &shown) == FACEUP_OK)
        fu_image_resize(&shown, 33, 17, &small, NULL);
    fu_image_free(&small);
    fu_image_free(&shown);
    fu_image_free(&img); /* a failed decode may keep a buffer */
    return 0;
}
