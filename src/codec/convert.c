/*
 * convert.c - faceup_fix with FACEUP_PARAM_OUTPUT_FORMAT: the upright image in another format.
 *
 * A format change is a re-encode whatever happens, so this path is simple and uniform: decode to
 * 8-bit RGB (the decoder the detector uses: alpha over black, 16 bits reduced to 8, palette, grey
 * and CMYK converted), turn with the D4 loop, and encode with the target format's encoder:
 *   JPEG  quality 92, 4:2:0;
 *   PNG   8-bit RGB;
 *   WebP  lossless when the source was lossless (PNG, VP8L), else lossy at quality 90.
 * When metadata is kept, the source's EXIF (patched as in the other paths), ICC profile and XMP
 * packet go along, each in the target format's own container for it.
 */
#include "codec/format.h"

#include <string.h>

static void meta_free(fu_meta *m)
{
    fu_buf_free(&m->exif);
    fu_buf_free(&m->icc);
    fu_buf_free(&m->xmp);
}

/* The source's metadata, its EXIF block patched for the turn. */
static int take_meta(const uint8_t *data, size_t size, const fu_format *from,
                     const fu_fix_plan *plan, fu_meta *m, char *err)
{
    int rc = from->read_meta(data, size, m);
    int found = 0;
    if (rc == FACEUP_OK && m->exif.n &&
        fu_exif_patch(m->exif.p, m->exif.n, plan->reset_orientation, fu_d4_swaps_axes(plan->t),
                      &found) < 0 && plan->reset_orientation && plan->exif_orientation > 1)
        rc = fu_err(err, FACEUP_ERR_DECODE,
                    "the EXIF block is malformed: cannot reset its Orientation");
    return rc;
}

int fu_codec_convert(const uint8_t *data, size_t size, const fu_probe *probe,
                     faceup_format target, const fu_fix_plan *plan, fu_buf *out,
                     char err[FU_ERRLEN])
{
    memset(out, 0, sizeof *out);
    const fu_format *from = fu_format_of(probe->format), *to = fu_format_of(target);
    if (!from || !to)
        return fu_err(err, FACEUP_ERR_FORMAT, "not a JPEG, PNG, WebP, HEIC or AVIF image");
    fu_image img = {0}, turned = {0};
    fu_probe info;
    fu_meta m = {{0}, {0}, {0}};
    int rc = fu_image_decode(NULL, data, size, plan->max_pixels, 0, &img, &info, err);
    if (rc == FACEUP_OK && plan->keep_metadata)
        rc = take_meta(data, size, from, plan, &m, err);
    const fu_image *src = &img;
    if (rc == FACEUP_OK && !fu_d4_is_identity(plan->t)) {
        rc = fu_image_turn(&img, plan->t, &turned);
        src = &turned;
    }
    if (rc == FACEUP_OK)
        rc = to->encode(src, !info.lossy, &m, out, err);
    meta_free(&m);
    fu_image_free(&img);
    fu_image_free(&turned);
    if (rc != FACEUP_OK)
        fu_buf_free(out);
    return rc;
}
