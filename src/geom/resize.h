/*
 * resize.h - scaling and cropping (internal).
 */
#ifndef FU_RESIZE_H
#define FU_RESIZE_H

#include "base/buf.h"
#include "geom/image.h"

/* Scale `in` to w x h into `out` (out != in): area averaging when shrinking, bilinear when
 * enlarging. Temporary memory comes from `scratch` (which keeps it for the next call), or is
 * allocated and freed here when scratch is NULL. FACEUP_ERR_ARGUMENT or FACEUP_ERR_NOMEM. */
int fu_image_resize(const fu_image *in, int w, int h, fu_image *out, fu_buf *scratch);

/* The square of `side` pixels centred on (cx, cy), black where it leaves the image, scaled to
 * out_side x out_side. Its top-left corner is at (round(cx - side/2), round(cy - side/2)) and
 * its side is round(side). Pixels are read from `in` where they stand. */
int fu_image_crop_square(const fu_image *in, float cx, float cy, float side, int out_side,
                         fu_image *out, fu_buf *scratch);

#endif
