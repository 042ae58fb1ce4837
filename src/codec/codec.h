/*
 * fix.h - the parts of faceup_fix(): the plan, the output buffer, one fixer per format (internal).
 *
 * fix.c decides what to do (the detector's turn folded with the EXIF Orientation into one fu_d4)
 * and hands a fu_fix_plan to the fixer of the input's format:
 *   fix_jpeg.c   DCT-domain turn, or a re-encode with the source's own tables when the turn
 *                would otherwise have to drop partial edge blocks;
 *   fix_png.c    pixels turned at their own bit depth, chunks copied around the new IDAT;
 *   fix_webp.c   lossless re-encoded lossless, lossy at the source's estimated quality.
 * Each one copies the metadata it can keep byte for byte and patches the EXIF block in place.
 */
#ifndef FU_FIX_H
#define FU_FIX_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "geom/d4.h"
#include "faceup.h"
#include "geom/image.h"

typedef struct fu_fix_plan {
    fu_d4 t;               /* applied to the stored pixels */
    int reset_orientation; /* write EXIF Orientation = 1 (the turn in it is part of t) */
    int exif_orientation;  /* what the probe found, 0..8: a block that holds one (> 1) but cannot
                              be patched is an error, never a picture turned twice */
    int keep_metadata;     /* 0: drop EXIF, ICC, XMP, comments and text */
    long long max_pixels;
} fu_fix_plan;

/* The fixers. The input has been probed as the fixer's format; on success *out holds a new
 * image and *path says how it was made. On failure: a faceup_status and a message in err. */
int fu_fix_jpeg(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                faceup_fix_path *path, char err[FU_ERRLEN]);
int fu_fix_png(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
               faceup_fix_path *path, char err[FU_ERRLEN]);
int fu_fix_webp(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                faceup_fix_path *path, char err[FU_ERRLEN]);

/* After the EXIF block of an output was patched (patch status rc, Orientation value found):
 * NULL when the output is safe, else why it is not. An output whose Orientation could not be
 * reset would be turned twice by viewers, so the fixers refuse it rather than write it. */
const char *fu_fix_check_reset(const fu_fix_plan *plan, int rc, int found);

/* Decode, apply plan->t, and encode in another format (the EXIF, ICC and XMP blocks of the
 * source go along when plan->keep_metadata). Always FACEUP_FIX_REENCODED. */
int fu_fix_convert(const uint8_t *data, size_t size, const fu_fix_plan *plan,
                   faceup_format target, fu_buf *out, char err[FU_ERRLEN]);

/* Patch the EXIF block(s) of an encoded image in place (see fu_exif_patch), leaving every other
 * byte as it is; the PNG one also rewrites the CRC of the eXIf chunk it patched. Returns 0, or
 * FU_EXIF_MALFORMED when the container is damaged before its end or a block that had to change
 * could not be read. *found is the Orientation value the first block held (0: none). */
int fu_jpeg_patch_exif(uint8_t *data, size_t size, int reset, int swap_dims, int *found);
int fu_png_patch_exif(uint8_t *data, size_t size, int reset, int swap_dims, int *found);
int fu_webp_patch_exif(uint8_t *data, size_t size, int reset, int swap_dims, int *found);

/* Iterate over the marker segments of a JPEG before its first scan: start with *pos = 0; each
 * call returns 1 with the marker (0xE0 = APP0 ...) and the offset and length of its payload,
 * 0 at SOS or EOI, -1 when the stream is damaged. */
int fu_jpeg_next_segment(const uint8_t *data, size_t size, size_t *pos, int *marker,
                         size_t *payload, size_t *len);

/* The quality (0..100) a lossy WebP frame was encoded at, estimated from the base quantiser in
 * its VP8 frame header (the payload of the "VP8 " chunk); -1 when the header is damaged. */
float fu_webp_estimate_quality(const uint8_t *vp8, size_t size);

/* faceup_fix() without the detector: apply a counter-clockwise turn of the displayed image
 * (0/90/180/270, folded with the EXIF Orientation the probe found), or, when rotate_ccw < 0,
 * leave the orientation as it is. Fills every field of *out but `result`. The handle supplies
 * the options and receives the error message. */
int fu_fix_apply(faceup *h, const uint8_t *data, size_t size, const fu_probe *probe,
                 int rotate_ccw, faceup_fixed *out);

#endif
