/*
 * fuzz_metadata.c - faceup fix's metadata handling on any bytes: the in-place EXIF patcher, the
 * JPEG marker, PNG chunk and WebP RIFF walkers that find the blocks to patch, and the fixers that
 * copy markers and chunks around a turned image.
 *
 * The first byte chooses what to do (which of the eight transforms, whether to reset the tag,
 * whether to keep metadata); the rest is the input, taken as a bare EXIF block and as a file of
 * each format. Contracts checked beyond "no crash, no leak":
 *   - the patcher leaves a block it calls malformed exactly as it was;
 *   - after a successful reset, no Orientation entry it can read says anything but 1, and
 *     no thumbnail is linked when it was asked to unlink it;
 *   - in-place patching never changes the size of a file;
 *   - a fixer that succeeds hands back a non-empty image;
 *   - the MPF / trailing-data scan (jpeg_extras.c) says only what it can say, of the input and
 *     of each fixer's output.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/format.h"
#include "codec/jpeg_extras.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void patcher(const uint8_t *d, size_t n, int swap)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return;
    memcpy(copy, d, n);
    int found = 0, again = 0;
    int reset = FU_EXIF_RESET | (swap ? FU_EXIF_DROP_THUMBNAIL : 0);
    if (fu_exif_patch(copy, n, reset, swap, &found) == FU_EXIF_MALFORMED) {
        if (memcmp(copy, d, n))
            abort();
    } else {
        if (found < 0 || found > 8 || fu_exif_patch(copy, n, 0, 0, &again) != 0)
            abort();
        if (swap && fu_exif_has_thumbnail(copy, n))
            abort();
        if (again != 0 && again != 1)
            abort();
    }
    free(copy);
}

typedef int (*patch_fn)(uint8_t *, size_t, int, int, int *);

static void container(patch_fn patch, const uint8_t *d, size_t n, int swap)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        return;
    memcpy(copy, d, n);
    int found = 0;
    patch(copy, n, 1, swap, &found);
    if (found < 0 || found > 8)
        abort();
    free(copy);
}

typedef int (*fix_fn)(const uint8_t *, size_t, const fu_fix_plan *, fu_buf *, faceup_fix_path *,
                      char *);

static void fixer(fix_fn fix, const uint8_t *d, size_t n, const fu_fix_plan *plan)
{
    fu_buf out;
    faceup_fix_path path;
    char err[FU_ERRLEN];
    if (fix(d, n, plan, &out, &path, err) == FACEUP_OK && n && (!out.p || !out.n))
        abort();
    if (fu_jpeg_extras(out.p, out.n) & ~(unsigned)(FACEUP_DROPPED_MPF | FACEUP_DROPPED_TRAILER))
        abort();
    fu_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t how = data[0];
    data++;
    size--;
    fu_fix_plan plan = {
        .t = {(unsigned char)(how & 3), (unsigned char)((how >> 2) & 1)},
        .reset_orientation = (how >> 3) & 1,
        .exif_orientation = (how >> 4) & 7,
        .keep_metadata = !((how >> 7) & 1),
        .max_pixels = 1 << 20, /* keep each run fast; the limit itself is tested elsewhere */
    };
    int swap = fu_d4_swaps_axes(plan.t);
    if (fu_jpeg_extras(data, size) & ~(unsigned)(FACEUP_DROPPED_MPF | FACEUP_DROPPED_TRAILER))
        abort();
    patcher(data, size, swap);
    container(fu_jpeg_patch_exif, data, size, swap);
    container(fu_png_patch_exif, data, size, swap);
    container(fu_webp_patch_exif, data, size, swap);
    fixer(fu_fix_jpeg, data, size, &plan);
    fixer(fu_fix_png, data, size, &plan);
    fixer(fu_fix_webp, data, size, &plan);
    return 0;
}
