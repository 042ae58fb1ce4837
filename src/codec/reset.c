/*
 * reset.c - the rule every fixer applies to its output, whatever the format: an output whose
 * EXIF Orientation could not be reset is refused, never written to be turned twice.
 */
#include "codec/format.h"

const char *fu_fix_check_reset(const fu_fix_plan *plan, int rc, int found)
{
    if (!plan->keep_metadata || !plan->reset_orientation || plan->exif_orientation <= 1)
        return NULL;
    if (rc < 0)
        return "the EXIF block is malformed: cannot reset its Orientation";
    if (found != plan->exif_orientation)
        return "the EXIF Orientation tag was not where it was read from: cannot reset it";
    return NULL;
}

int fu_fix_patch_output(const fu_format *f, const fu_fix_plan *plan, fu_buf *out, char *err)
{
    int found = 0;
    int rc = f->patch_exif(out->p, out->n, plan->reset_orientation, fu_d4_swaps_axes(plan->t),
                           &found);
    const char *why = fu_fix_check_reset(plan, rc, found);
    if (why) {
        fu_buf_free(out);
        return fu_err(err, FACEUP_ERR_DECODE, "%s", why);
    }
    return FACEUP_OK;
}

int fu_fix_copy_patched(const fu_format *f, const uint8_t *data, size_t size,
                        const fu_fix_plan *plan, fu_buf *out, char *err)
{
    int rc = fu_buf_put(out, data, size);
    return rc == FACEUP_OK ? fu_fix_patch_output(f, plan, out, err) : rc;
}
