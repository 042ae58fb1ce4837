/*
 * fix_plan.c - the rule every fixer applies to its output, whatever the format.
 */
#include <stddef.h>

#include "codec/codec.h"


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
