/* fix_webp.c - being written. */
#include "fix.h"

int fu_fix_webp(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
               faceup_fix_path *path, char err[FU_ERRLEN])
{
    (void)data; (void)size; (void)plan; (void)out; (void)path; (void)err;
    return FACEUP_ERR_FORMAT;
}

int fu_webp_patch_exif(uint8_t *data, size_t size, int reset, int swap_dims, int *found)
{
    (void)data; (void)size; (void)reset; (void)swap_dims; *found = 0;
    return -1;
}
