/*
 * geom/ - pixels and the geometry on them: the ground floor of faceup above base/.
 *
 * Owns fu_image (8-bit RGB in memory), the D4 algebra of quarter turns and mirrors and the one
 * loop that applies a turn to pixels (d4.c), face boxes and their geometry (box.c), and scaling
 * and cropping (resize.c). Includes only base/ and faceup.h: geometry knows no file format and
 * no network.
 *
 * image.h - decoded pixels (internal).
 *
 * Everything inside faceup works on fu_image: 8-bit RGB, rows `stride` bytes apart. An image
 * that owns its pixels keeps its buffer when it is reused for a smaller or equal picture
 * (fu_image_reserve), so a workspace of images stops allocating once it has seen the largest
 * input; an image with cap 0 is a view of another one's pixels and is never freed.
 */
#ifndef FU_IMAGE_H
#define FU_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "faceup.h"
#include "geom/d4.h"

typedef struct fu_image {
    uint8_t *px;   /* RGB, 3 bytes a pixel */
    int w, h;
    int stride;    /* bytes between rows, >= 3*w */
    size_t cap;    /* bytes allocated at px (free with fu_image_free); 0: a view, not owned */
} fu_image;

/* Make img a w x h image with room for `bpp` bytes a pixel (3, or 4 for a decoder that packs
 * RGBA or CMYK down to RGB in place) and stride bpp*w, reusing its buffer when it is large
 * enough. The pixels are uninitialised. FACEUP_ERR_ARGUMENT (bad size) or FACEUP_ERR_NOMEM,
 * the image then unchanged. */
int fu_image_reserve(fu_image *img, int w, int h, int bpp);

/* A new w x h RGB image: fu_image_reserve() on an empty one. */
int fu_image_alloc(fu_image *img, int w, int h);

/* Free an image's pixels (not a view's) and empty it. NULL is a no-op. */
void fu_image_free(fu_image *img);

/* 1 when img has pixels and a plausible geometry. */
int fu_image_ok(const fu_image *img);

/* `out` becomes `in` with t applied (w and h exchanged when t swaps axes). out != in.
 * FACEUP_ERR_ARGUMENT or FACEUP_ERR_NOMEM. */
int fu_image_turn(const fu_image *in, fu_d4 t, fu_image *out);

/* An image decoded as RGBA or CMYK (reserved with bpp 4, packed 4 bytes a pixel) -> RGB in
 * place, its stride set to 3*w: alpha composited over black; CMYK as stored (`inverted`, the
 * Adobe convention of most writers) or plain. Each write lands at or before the bytes it
 * reads. */
void fu_image_rgba_over_black(fu_image *img);
void fu_image_cmyk_to_rgb(fu_image *img, int inverted);

#endif
