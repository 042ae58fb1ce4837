/*
 * d4.h - the eight ways to lay a rectangle of pixels down again (internal).
 *
 * Turning by quarter turns and mirroring form the dihedral group D4. The EXIF Orientation tag
 * names one of its eight elements (the transform that takes the stored pixels to the displayed
 * ones), the detector names another (a clockwise turn of the displayed image), and faceup_fix
 * applies their product once, so a picture is never resampled or re-encoded twice.
 *
 * An element is written as "mirror left-right if `mirror`, then turn clockwise by 90*`rot`
 * degrees". With that normal form the product is one line (see fu_d4_compose), and each element
 * splits into "transpose?, then mirror x?, then mirror y?" (fu_d4_parts), which is the form the
 * pixel loops and the JPEG block shuffle use.
 */
#ifndef FU_D4_H
#define FU_D4_H

#include <stddef.h>
#include <stdint.h>

typedef struct fu_d4 {
    unsigned char rot;    /* clockwise quarter turns, 0..3, applied after the mirror */
    unsigned char mirror; /* 1: mirror left-right first */
} fu_d4;

#define FU_D4_IDENTITY ((fu_d4){0, 0})

/* The transform named by an EXIF Orientation value (1..8); anything else is the identity. */
fu_d4 fu_d4_from_exif(int orientation);

/* The EXIF Orientation value (1..8) that names t. */
int fu_d4_to_exif(fu_d4 t);

/* A clockwise turn by `degrees` (any multiple of 90, negative turns counter-clockwise). */
fu_d4 fu_d4_turn_cw(int degrees);

/* `second` applied after `first`. */
fu_d4 fu_d4_compose(fu_d4 second, fu_d4 first);

fu_d4 fu_d4_inverse(fu_d4 t);
int fu_d4_is_identity(fu_d4 t);

/* 1 when t exchanges width and height (a quarter turn, a transpose or a transverse). */
int fu_d4_swaps_axes(fu_d4 t);

/* t as "transpose (x,y)->(y,x) if *transpose, then mirror the x axis if *flip_x, then the y axis
 * if *flip_y". */
void fu_d4_parts(fu_d4 t, int *transpose, int *flip_x, int *flip_y);

/* Where pixel (x, y) of a w x h image lands once t is applied. */
void fu_d4_map(fu_d4 t, int w, int h, int x, int y, int *ox, int *oy);

/* Write rows [y0, y0 + n) of t applied to the w x h image `src` of `bpp`-byte pixels (1..16)
 * into `dst`, `dst_stride` bytes apart. The output is (swaps_axes ? h x w : w x h). Any bytes
 * per pixel work, so packed 16-bit, palette indices and alpha are moved untouched. */
void fu_d4_rows(fu_d4 t, const uint8_t *src, int w, int h, size_t stride, int bpp, int y0, int n,
                uint8_t *dst, size_t dst_stride);

#endif
