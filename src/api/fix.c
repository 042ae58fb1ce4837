/*
 * fix.c - faceup_fix(): the policy, from the detector's decision to one transform handed to the
 * codec of the input's format.
 *
 * The policy, in the order it is applied:
 *
 *  1. Decided with confidence >= FACEUP_PARAM_MIN_CONFIDENCE, at 90, 180 or 270: the displayed
 *     image is turned counter-clockwise by the detected angle. The stored pixels get ONE
 *     transform, T = turn_ccw(angle) . E, where E is what the EXIF Orientation tag did, and the
 *     tag is reset to 1. The output then looks upright in every viewer, whether or not it
 *     honours EXIF.
 *  2. Decided at 0: the photo already shows upright. With FACEUP_PARAM_BAKE_EXIF (`--exif
 *     bake`) it is handled as in 1, T = E: its tag is baked into the pixels, tag 1, the same
 *     picture on screen, which may cost a lossy re-encode (a JPEG of partial MCUs), and the
 *     path says so. By default (`--exif keep`) it is left as in 3: it is not broken, and
 *     rewriting it would only risk a loss.
 *  3. Undecided, or less confident than the threshold: the orientation is left exactly as it is:
 *     no turn, the tag kept. A viewer shows the output as it showed the input. But when the
 *     metadata is stripped the tag cannot be kept: it is baked in (T = E), so that the picture
 *     still shows as it did.
 *  4. When that leaves nothing to change (T is the identity, no tag to reset, same format,
 *     metadata kept) the output is the input, byte for byte: FACEUP_FIX_UNCHANGED.
 *  5. A tag to reset but no pixel to move (the EXIF turn and the detected one cancel): the input
 *     bytes with the tag patched in place.
 *  6. Otherwise the fixer of the format does the work (see fix.h), or, when an output format other
 *     than the input's is asked for, the image is decoded and encoded in it (fix_convert.c).
 *  7. With FACEUP_PARAM_LOSSLESS_ONLY, an output that needed a re-encode (a change of format is
 *     one, and so is any turn of a HEIC or AVIF) is dropped for the input bytes, and
 *     reencode_refused says so; the codecs that can only re-encode are told beforehand
 *     (fu_fix_plan.lossless_only) and skip the work.
 *  8. Nothing is lost without saying so: what the input carries beside its picture (an MPF
 *     index, the secondary images after its end, an EXIF thumbnail) and the output does not is
 *     listed in `dropped`. The thumbnail is unlinked whenever the pixels are turned
 *     (FU_EXIF_DROP_THUMBNAIL): it was not turned with them. The output is scanned, not the
 *     path guessed: a tag patched in place keeps them, byte for byte; a rewritten picture cannot keep them consistently.
 */
#include <stdlib.h>
#include <string.h>

#include "api/handle.h"
#include "codec/exif.h"
#include "codec/jpeg_extras.h"

/* What the input carried and the output does not (8): the MPF index and the data after the
 * picture of a JPEG, and the EXIF thumbnail of any format (unless the metadata was stripped on
 * purpose). The output is probed like any input. */
static unsigned dropped(const faceup *h, const uint8_t *data, size_t size, const fu_probe *in,
                        const fu_buf *out)
{
    unsigned lost = fu_jpeg_extras(data, size) & ~fu_jpeg_extras(out->p, out->n);
    fu_probe o;
    if (h->keep_metadata && in->exif_thumbnail &&
        (fu_image_probe(out->p, out->n, h->max_pixels, &o, NULL) != FACEUP_OK ||
         !o.exif_thumbnail))
        lost |= FACEUP_DROPPED_THUMBNAIL;
    return lost;
}

/* What the turn to `target` holds: its pixels, and the output, about the size of the input. */
static long long turn_cost(const fu_probe *probe, faceup_format target, size_t size)
{
    return fu_fix_cost(probe, target) + (long long)size;
}

int fu_fix_apply(faceup *h, const char *fn, const uint8_t *data, size_t size,
                 const fu_probe *probe, int rotate_ccw, faceup_fixed *out)
{
    if (rotate_ccw != -1 && rotate_ccw != 0 && rotate_ccw != 90 && rotate_ccw != 180 &&
        rotate_ccw != 270)
        return fu_fail(h, FACEUP_ERR_ARGUMENT, fn, "turn of %d degrees", rotate_ccw);
    if (fu_check_bytes(h, fn, size) != FACEUP_OK)
        return FACEUP_ERR_TOO_MANY_BYTES;

    int exif = probe->exif_orientation >= 1 && probe->exif_orientation <= 8
                   ? probe->exif_orientation : 0;
    if (rotate_ccw == 0 && !h->bake_exif)
        rotate_ccw = -1; /* upright as displayed: the tag is kept (2) */
    if (rotate_ccw < 0 && exif > 1 && !h->keep_metadata)
        rotate_ccw = 0;  /* a tag the stripped metadata would lose is baked in instead (3) */
    fu_fix_plan plan = {
        .t = FU_D4_IDENTITY,
        .exif_orientation = exif,
        .keep_metadata = h->keep_metadata,
        .lossless_only = h->lossless_only,
        .max_pixels = h->max_pixels,
    };
    out->rotated = 0;
    out->exif_transform = 0;
    if (rotate_ccw >= 0) {
        plan.t = fu_d4_compose(fu_d4_turn_cw(-rotate_ccw), fu_d4_from_exif(exif));
        plan.reset_orientation = fu_d4_is_identity(plan.t)
                                     ? FU_EXIF_RESET : FU_EXIF_RESET | FU_EXIF_DROP_THUMBNAIL;
        out->rotated = (360 - rotate_ccw) % 360;
        out->exif_transform = exif;
    }
    faceup_format target = h->output_format == FACEUP_FORMAT_SAME
                               ? probe->format : (faceup_format)h->output_format;
    out->format = target;
    out->reencode_refused = 0;
    out->dropped = 0;

    fu_buf buf = {0};
    char err[FU_ERRLEN] = "";
    int rc;
    int nothing_to_do = target == probe->format && fu_d4_is_identity(plan.t) &&
                        plan.keep_metadata && !(plan.reset_orientation && exif > 1);
    int pixels = target != probe->format ? !h->lossless_only
                                         : !(fu_d4_is_identity(plan.t) && plan.keep_metadata);
    if (pixels && fu_check_memory(h, fn, probe, turn_cost(probe, target, size)) != FACEUP_OK)
        return FACEUP_ERR_TOO_MANY_PIXELS;
    if (nothing_to_do) {
        rc = fu_buf_put(&buf, data, size);
        out->path = FACEUP_FIX_UNCHANGED;
    } else if (target != probe->format && h->lossless_only) {
        rc = FACEUP_OK; /* a change of format is a re-encode: refused below, before the work */
        out->path = FACEUP_FIX_REENCODED;
    } else if (target != probe->format) {
        rc = fu_codec_convert(data, size, probe, target, &plan, &buf, err);
        out->path = FACEUP_FIX_REENCODED;
    } else {
        rc = fu_codec_fix(data, size, probe, &plan, &buf, &out->path, err);
    }
    if (rc == FACEUP_OK && out->path == FACEUP_FIX_REENCODED && h->lossless_only) {
        fu_buf_free(&buf);
        rc = fu_buf_put(&buf, data, size);
        out->path = FACEUP_FIX_UNCHANGED;
        out->format = probe->format;
        out->rotated = 0;
        out->exif_transform = 0;
        out->reencode_refused = 1;
    }
    if (rc != FACEUP_OK) {
        fu_buf_free(&buf);
        return fu_fail(h, rc, fn, "%s", err[0] ? err : faceup_status_str(rc));
    }
    out->data = buf.p;
    out->size = buf.n;
    out->dropped = out->path == FACEUP_FIX_UNCHANGED ? 0 : dropped(h, data, size, probe, &buf);
    return FACEUP_OK;
}

int faceup_fix(faceup *h, const void *data, size_t size, faceup_fixed **fixed)
{
    static const char *fn = "faceup_fix";
    if (!fixed)
        return fu_fail(h, FACEUP_ERR_ARGUMENT, fn, "fixed is NULL");
    *fixed = NULL;
    if (!h || (!data && size))
        return fu_fail(h, FACEUP_ERR_ARGUMENT, fn, "NULL handle or data");
    h->errmsg[0] = 0;
    if (fu_check_bytes(h, fn, size) != FACEUP_OK)
        return FACEUP_ERR_TOO_MANY_BYTES;

    faceup_fixed *f = calloc(1, sizeof *f);
    if (!f)
        return fu_fail(h, FACEUP_ERR_NOMEM, fn, "out of memory");
    fu_probe probe;
    int rc = fu_detect_encoded(h, data, size, &f->result, &probe);
    if (rc == FACEUP_OK) {
        const faceup_result *r = f->result;
        int decided = r->orientation != FACEUP_UNDECIDED && r->confidence >= h->min_confidence;
        rc = fu_fix_apply(h, fn, data, size, &probe, decided ? r->orientation : -1, f);
    }
    if (rc != FACEUP_OK) {
        faceup_fixed_free(f);
        return rc;
    }
    *fixed = f;
    return FACEUP_OK;
}

/* What faceup_fix_orientation reports as its decision: the turn it was told, for sure, with
 * the image's EXIF Orientation and displayed size, and no faces. */
static faceup_result *given_result(const fu_probe *probe, int orientation)
{
    faceup_result *r = fu_result_new(0);
    if (r) {
        int swap = probe->exif_orientation >= 5 && probe->exif_orientation <= 8;
        r->orientation = orientation;
        r->confidence = 1.f;
        r->exif_orientation = probe->exif_orientation >= 1 && probe->exif_orientation <= 8
                                  ? probe->exif_orientation : 0;
        r->width = swap ? probe->height : probe->width;
        r->height = swap ? probe->width : probe->height;
    }
    return r;
}

int faceup_fix_orientation(faceup *h, const void *data, size_t size, int orientation,
                           faceup_fixed **fixed)
{
    static const char *fn = "faceup_fix_orientation";
    if (!fixed)
        return fu_fail(h, FACEUP_ERR_ARGUMENT, fn, "fixed is NULL");
    *fixed = NULL;
    if (!h || (!data && size))
        return fu_fail(h, FACEUP_ERR_ARGUMENT, fn, "NULL handle or data");
    h->errmsg[0] = 0;
    if (orientation != 0 && orientation != 90 && orientation != 180 && orientation != 270)
        return fu_fail(h, FACEUP_ERR_ARGUMENT, fn,
                       "orientation %d: must be 0, 90, 180 or 270", orientation);
    if (fu_check_bytes(h, fn, size) != FACEUP_OK)
        return FACEUP_ERR_TOO_MANY_BYTES;
    fu_probe probe;
    char err[FU_ERRLEN] = "";
    int rc = fu_image_probe(data, size, h->max_pixels, &probe, err);
    if (rc != FACEUP_OK)
        return fu_fail(h, rc, fn, "%s", err[0] ? err : faceup_status_str(rc));
    faceup_fixed *f = calloc(1, sizeof *f);
    if (!f || !(f->result = given_result(&probe, orientation))) {
        faceup_fixed_free(f);
        return fu_fail(h, FACEUP_ERR_NOMEM, fn, "out of memory");
    }
    if ((rc = fu_fix_apply(h, fn, data, size, &probe, orientation, f)) != FACEUP_OK) {
        faceup_fixed_free(f);
        return rc;
    }
    *fixed = f;
    return FACEUP_OK;
}

int faceup_memory_needed(faceup *h, const void *data, size_t size, int fix, double *bytes)
{
    static const char *fn = "faceup_memory_needed";
    if (!h || !bytes || (!data && size))
        return fu_fail(h, FACEUP_ERR_ARGUMENT, fn, "NULL handle, data or bytes");
    *bytes = 0;
    h->errmsg[0] = 0;
    if (fu_check_bytes(h, fn, size) != FACEUP_OK)
        return FACEUP_ERR_TOO_MANY_BYTES;
    fu_probe probe;
    char err[FU_ERRLEN] = "";
    int rc = fu_image_probe_with(h->codec, data, size, h->max_pixels, &probe, err);
    if (rc != FACEUP_OK)
        return fu_fail(h, rc, fn, "%s", err[0] ? err : faceup_status_str(rc));
    long long cost = fu_detect_cost(h, &probe);
    if (fix) {
        faceup_format target = h->output_format == FACEUP_FORMAT_SAME
                                   ? probe.format : (faceup_format)h->output_format;
        long long turn = turn_cost(&probe, target, size);
        cost = turn > cost ? turn : cost; /* the detect's workspace is given back before */
    }
    *bytes = (double)cost;
    return FACEUP_OK;
}

void faceup_fixed_free(faceup_fixed *fixed)
{
    if (!fixed)
        return;
    free(fixed->data);
    faceup_result_free(fixed->result);
    free(fixed);
}
