/*
 * image.h - decoded pixels and the operations on them (internal).
 *
 * Everything inside faceup works on fu_image: 8-bit RGB, rows `stride` bytes apart. Decoders
 * (image_decode.c) produce it, EXIF (exif.c) says how to display it, transforms (image_transform.c)
 * turn, mirror and scale it.
 */
#ifndef FU_IMAGE_H
#define FU_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "faceup.h"

#define FU_ERRLEN 256

typedef struct fu_image {
    uint8_t *px;   /* RGB, 3 bytes a pixel; owned (free with fu_image_free) */
    int w, h;
    int stride;    /* bytes between rows, >= 3*w */
} fu_image;

/* What the header of an encoded image says, before any pixel is decoded. */
typedef struct fu_probe {
    faceup_format format;
    int width, height;        /* as stored (before EXIF) */
    int exif_orientation;     /* 1..8, or 0 when the file has no EXIF Orientation tag */
    int lossy;                /* WebP: 1 for VP8 (lossy), 0 for VP8L; JPEG: 1; PNG: 0 */
} fu_probe;

/* Allocate an uninitialised w x h image (stride 3*w). FACEUP_ERR_NOMEM or _ARGUMENT on failure. */
int fu_image_alloc(fu_image *img, int w, int h);
void fu_image_free(fu_image *img);

/* Read format, stored dimensions and EXIF orientation from the header only. Checks
 * width*height <= max_pixels (which must be > 0). Returns a faceup_status; on error writes a
 * message to err (err may be NULL) and zeroes *out. Empty or foreign bytes: FACEUP_ERR_FORMAT;
 * a damaged or truncated header: FACEUP_ERR_DECODE. */
int fu_image_probe(const uint8_t *data, size_t size, long long max_pixels, fu_probe *out,
                   char err[FU_ERRLEN]);

/* Decode to RGB. For JPEG, when min_side > 0, the smallest DCT scaling factor is used whose
 * output still has both sides >= min_side (or the full size when none does), so large photos
 * are never decoded at full resolution. Alpha is composited over black; 16-bit is reduced to 8;
 * palette, grayscale and CMYK are converted. The pixel limit is checked before any decode.
 * Data that ends early or is corrupt anywhere (libjpeg warnings included) is FACEUP_ERR_DECODE;
 * animated WebP is FACEUP_ERR_FORMAT. info (may be NULL) gets what fu_image_probe says, so its
 * width/height are the stored size even when JPEG decoding was reduced. On failure *out is
 * zeroed. */
int fu_image_decode(const uint8_t *data, size_t size, long long max_pixels, int min_side,
                    fu_image *out, fu_probe *info, char err[FU_ERRLEN]);

/* The EXIF Orientation value (1..8) in a TIFF-structured EXIF block ("Exif\0\0" prefix allowed),
 * or 0 when there is none or the block is malformed. */
int fu_exif_orientation(const uint8_t *exif, size_t size);

/* Apply an EXIF orientation (1..8; 0, "no tag", is taken as 1) so the result is the image as a
 * viewer displays it. `out` is a new image (not `in`). FACEUP_ERR_ARGUMENT for other values. */
int fu_image_apply_exif(const fu_image *in, int exif_orientation, fu_image *out);

/* Turn clockwise by 0/90/180/270 degrees into a new image. */
int fu_image_rotate(const fu_image *in, int degrees_cw, fu_image *out);

/* Scale to w x h by area averaging (downscale) or bilinear (upscale). */
int fu_image_resize(const fu_image *in, int w, int h, fu_image *out);

/* The square of `side` pixels centred on (cx, cy), black where it leaves the image, scaled to
 * out_side x out_side. Its top-left corner is at (round(cx - side/2), round(cy - side/2)). */
int fu_image_crop_square(const fu_image *in, float cx, float cy, float side, int out_side,
                         fu_image *out);

#endif
