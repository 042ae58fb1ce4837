/*
 * jpeg_turn.h - a JPEG turned in its DCT coefficients, or re-encoded with its own tables when
 * the turn would have to drop partial edge blocks (internal to codec/; see jpeg_turn.c).
 */
#ifndef FU_JPEG_TURN_H
#define FU_JPEG_TURN_H

#include "codec/codec.h"

/* plan->t applied to a JPEG: *path FACEUP_FIX_LOSSLESS or FACEUP_FIX_REENCODED; the APPn and COM
 * segments copied, the EXIF block patched. A faceup_status, with a message in err. */
int fu_jpeg_turn(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                 faceup_fix_path *path, char err[FU_ERRLEN]);

#endif
