/*
 * fuzz_fix.c - the whole of faceup fix through the public API: bytes in, faceup_fix or
 * faceup_fix_orientation, bytes out. Where the other targets reach one parser each, this one
 * runs the probe, the memory estimate, the decode, the detector and reader networks, the decision,
 * the lossless turns, the re-encoders and the metadata copying in the order faceup fix runs them.
 *
 * The first byte is the plan, the rest the input:
 *   bits 0-1  the orientation handed to faceup_fix_orientation (x 90 degrees)
 *   bit 2     1: faceup_fix (the networks decide), 0: faceup_fix_orientation
 *   bit 3     FACEUP_PARAM_KEEP_METADATA off
 *   bits 4-5  FACEUP_PARAM_OUTPUT_FORMAT (same, JPEG, PNG, WebP)
 *   bit 6     FACEUP_PARAM_LOSSLESS_ONLY
 * Memory stays bounded: FACEUP_PARAM_MAX_PIXELS and FACEUP_PARAM_MAX_MEMORY are set small on the
 * handle and FACEUP_PARAM_DETAIL to its least, so a hostile header is refused before it costs.
 *
 * Contracts checked beyond "no crash, no leak, no hang":
 *   - a success hands back a non-empty output and a result;
 *   - FACEUP_FIX_UNCHANGED hands back the input byte for byte;
 *   - a turned output is itself an image faceup reads, upright already: fixing it again at 0
 *     succeeds, finds no EXIF Orientation but 1, and changes nothing.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faceup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One handle for the whole run, as a server keeps one per worker: its workspace is reused. */
static faceup *handle(void)
{
    static faceup *h;
    if (!h) {
        h = faceup_create();
        if (!h)
            abort();
        if (faceup_set_param(h, FACEUP_PARAM_MAX_PIXELS, 1 << 16) != FACEUP_OK ||
            faceup_set_param(h, FACEUP_PARAM_MAX_MEMORY, 8 << 20) != FACEUP_OK ||
            faceup_set_param(h, FACEUP_PARAM_DETAIL, 192) != FACEUP_OK)
            abort();
    }
    return h;
}

/* A turned output, fixed again at 0 with the metadata kept and in its own format: nothing left. */
static void check_upright(faceup *h, const faceup_fixed *f)
{
    faceup_fixed *again = NULL;
    faceup_set_param(h, FACEUP_PARAM_OUTPUT_FORMAT, FACEUP_FORMAT_SAME);
    faceup_set_param(h, FACEUP_PARAM_KEEP_METADATA, 1);
    faceup_set_param(h, FACEUP_PARAM_LOSSLESS_ONLY, 0);
    if (faceup_fix_orientation(h, f->data, f->size, 0, &again) != FACEUP_OK)
        abort();
    if (again->result->exif_orientation > 1 || again->path != FACEUP_FIX_UNCHANGED)
        abort();
    faceup_fixed_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t how = data[0];
    data++;
    size--;
    faceup *h = handle();
    faceup_set_param(h, FACEUP_PARAM_KEEP_METADATA, !((how >> 3) & 1));
    faceup_set_param(h, FACEUP_PARAM_OUTPUT_FORMAT, (how >> 4) & 3);
    faceup_set_param(h, FACEUP_PARAM_LOSSLESS_ONLY, (how >> 6) & 1);

    faceup_fixed *f = NULL;
    int rc = (how >> 2) & 1 ? faceup_fix(h, data, size, &f)
                            : faceup_fix_orientation(h, data, size, (how & 3) * 90, &f);
    if (rc != FACEUP_OK) {
        if (f)
            abort(); /* a failure hands back nothing */
        return 0;
    }
    if (!f || !f->data || !f->size || !f->result)
        abort();
    if (f->path == FACEUP_FIX_UNCHANGED && (f->size != size || memcmp(f->data, data, size)))
        abort();
    if (f->path != FACEUP_FIX_UNCHANGED)
        check_upright(h, f);
    faceup_fixed_free(f);
    return 0;
}
