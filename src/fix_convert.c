/* fix_convert.c - being written. */
#include "fix.h"

int fu_fix_convert(const uint8_t *data, size_t size, const fu_fix_plan *plan,
                   faceup_format target, fu_buf *out, char err[FU_ERRLEN])
{
    (void)data; (void)size; (void)plan; (void)target; (void)out; (void)err;
    return FACEUP_ERR_FORMAT;
}
