/*
 * image_transform.c - turn, mirror and scale fu_images.
 *
 * Turning and mirroring are one operation: every output pixel is read from the source at
 * position origin + x*step_x + y*step_y, where the steps are unit moves (possibly negative,
 * possibly along the other axis). The eight EXIF orientations and the four clockwise turns
 * are just eight choices of origin and steps, so there is one loop to get right.
 *
 * Scaling is separable (rows, then columns) with weights computed in exact integer arithmetic
 * and applied in fixed point, so the output is bit-identical whatever the compiler, its
 * floating-point contraction or the CPU.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "geom/image.h"

static int image_ok(const fu_image *img)
{
    return img && img->px && img->w > 0 && img->h > 0 && img->w <= INT_MAX / 3 &&
           img->stride >= 3 * img->w;
}

/* ---- orientation ------------------------------------------------------------------------- */

/* out(x, y) = in(sx, sy) with sx = x0 + x*xx + y*yx and sy = y0 + x*xy + y*yy. */
struct remap {
    int swap;            /* output is h x w */
    int x0, y0;          /* source pixel of output (0, 0), as 0 or "last" (-1) */
    int xx, xy, yx, yy;  /* source step per output x, per output y */
};

/* EXIF 0th-row/0th-column semantics, as what the viewer must do to the stored image:
 *   1 nothing            2 mirror left-right      3 turn 180        4 mirror top-bottom
 *   5 transpose          6 turn 90 clockwise      7 transverse      8 turn 90 counter-clockwise
 * (Orientation 6 means row 0 of the stored image is the right-hand column of the displayed one,
 * so the displayed top row is the stored left column read bottom to top.) */
static const struct remap EXIF_REMAP[9] = {
    [1] = {0, 0, 0, 1, 0, 0, 1},
    [2] = {0, -1, 0, -1, 0, 0, 1},
    [3] = {0, -1, -1, -1, 0, 0, -1},
    [4] = {0, 0, -1, 1, 0, 0, -1},
    [5] = {1, 0, 0, 0, 1, 1, 0},
    [6] = {1, 0, -1, 0, -1, 1, 0},
    [7] = {1, -1, -1, 0, -1, -1, 0},
    [8] = {1, -1, 0, 0, 1, -1, 0},
};

static int remap(const fu_image *in, const struct remap *r, fu_image *out)
{
    int ow = r->swap ? in->h : in->w, oh = r->swap ? in->w : in->h;
    int status = fu_image_alloc(out, ow, oh);
    if (status != FACEUP_OK)
        return status;

    /* Byte offsets in the source for one step of output x and of output y. */
    ptrdiff_t stride = in->stride;
    ptrdiff_t step_x = (ptrdiff_t)r->xx * 3 + (ptrdiff_t)r->xy * stride;
    ptrdiff_t step_y = (ptrdiff_t)r->yx * 3 + (ptrdiff_t)r->yy * stride;
    int sx0 = r->x0 < 0 ? in->w - 1 : 0, sy0 = r->y0 < 0 ? in->h - 1 : 0;
    const uint8_t *origin = in->px + (ptrdiff_t)sy0 * stride + (ptrdiff_t)sx0 * 3;

    for (int y = 0; y < oh; y++) {
        const uint8_t *s = origin + (ptrdiff_t)y * step_y;
        uint8_t *d = out->px + (size_t)y * (size_t)out->stride;
        for (int x = 0; x < ow; x++, s += step_x, d += 3) {
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
    }
    return FACEUP_OK;
}

int fu_image_apply_exif(const fu_image *in, int exif_orientation, fu_image *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!image_ok(in) || !out || out == in || exif_orientation < 0 || exif_orientation > 8)
        return FACEUP_ERR_ARGUMENT;
    /* 0 is what the probe reports when there is no tag: display as stored. */
    return remap(in, &EXIF_REMAP[exif_orientation ? exif_orientation : 1], out);
}

int fu_image_rotate(const fu_image *in, int degrees_cw, fu_image *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!image_ok(in) || !out || out == in)
        return FACEUP_ERR_ARGUMENT;
    switch (degrees_cw) {
    case 0: return remap(in, &EXIF_REMAP[1], out);
    case 90: return remap(in, &EXIF_REMAP[6], out);
    case 180: return remap(in, &EXIF_REMAP[3], out);
    case 270: return remap(in, &EXIF_REMAP[8], out);
    default: return FACEUP_ERR_ARGUMENT;
    }
}

/* ---- scaling ----------------------------------------------------------------------------- */

#define WBITS 14              /* weights are fractions of 1 << WBITS */
#define WONE (1 << WBITS)
#define MIDBITS 8             /* extra precision kept between the two passes */

/* For each output index i along one axis: the source span [start[i], start[i] + count[i]) and
 * its weights, weight[i * max_count + k], which add up to exactly WONE. */
struct taps {
    int *start, *count;
    int32_t *weight;
    int max_count;
};

static void taps_free(struct taps *t)
{
    free(t->start);
    free(t->count);
    free(t->weight);
}

/* Box weights: output pixel i covers the source interval [i*src/dst, (i+1)*src/dst). In units
 * of 1/dst of a source pixel every end point is an integer, so the overlaps are exact. Each
 * weight is the difference of two rounded running sums, so the weights are never negative and
 * add up to exactly WONE, however many taps there are. */
static void taps_area(struct taps *t, int src, int dst)
{
    for (int i = 0; i < dst; i++) {
        int64_t lo = (int64_t)i * src, hi = (int64_t)(i + 1) * src;
        int j0 = (int)(lo / dst), j1 = (int)((hi - 1) / dst);
        int32_t *w = t->weight + (size_t)i * (size_t)t->max_count;
        int64_t covered = 0;
        int32_t done = 0;
        for (int j = j0; j <= j1; j++) {
            int64_t a = (int64_t)j * dst, b = a + dst;
            covered += (hi < b ? hi : b) - (lo > a ? lo : a);
            int32_t upto = (int32_t)((covered * WONE + src / 2) / src);
            w[j - j0] = upto - done;
            done = upto;
        }
        t->start[i] = j0;
        t->count[i] = j1 - j0 + 1;
    }
}

/* Bilinear weights with pixel centres aligned: output i samples the source at
 * (i + 0.5) * src/dst - 0.5 = ((2i + 1) * src - dst) / (2 * dst), clamped to the edges. */
static void taps_bilinear(struct taps *t, int src, int dst)
{
    for (int i = 0; i < dst; i++) {
        int64_t num = (int64_t)(2 * (int64_t)i + 1) * src - dst, den = 2 * (int64_t)dst;
        int j = 0;
        int32_t frac = 0;
        if (num > 0) {
            j = (int)(num / den);
            frac = (int32_t)(((num % den) * WONE + den / 2) / den);
        }
        if (j >= src - 1) {
            j = src - 1;
            frac = 0;
        }
        int32_t *w = t->weight + (size_t)i * (size_t)t->max_count;
        t->start[i] = j;
        t->count[i] = frac ? 2 : 1;
        w[0] = WONE - frac;
        w[1] = frac;
    }
}

static int taps_make(struct taps *t, int src, int dst)
{
    memset(t, 0, sizeof *t);
    /* A box of src/dst source pixels touches at most ceil(src/dst) + 1 of them. */
    t->max_count = dst < src ? (int)(((int64_t)src + dst - 1) / dst + 1) : 2;
    t->start = malloc(sizeof *t->start * (size_t)dst);
    t->count = malloc(sizeof *t->count * (size_t)dst);
    t->weight = calloc((size_t)dst, sizeof *t->weight * (size_t)t->max_count);
    if (!t->start || !t->count || !t->weight) {
        taps_free(t);
        return FACEUP_ERR_NOMEM;
    }
    if (dst < src)
        taps_area(t, src, dst);
    else
        taps_bilinear(t, src, dst);
    return FACEUP_OK;
}

/* Rows: in (w x h, 8-bit) -> mid (dst_w x h, 16-bit with MIDBITS of fraction). */
static void resize_rows(const fu_image *in, const struct taps *tx, int dst_w, uint16_t *mid)
{
    for (int y = 0; y < in->h; y++) {
        const uint8_t *row = in->px + (size_t)y * (size_t)in->stride;
        uint16_t *m = mid + (size_t)y * (size_t)dst_w * 3;
        for (int x = 0; x < dst_w; x++) {
            const int32_t *w = tx->weight + (size_t)x * (size_t)tx->max_count;
            const uint8_t *s = row + (size_t)tx->start[x] * 3;
            int32_t r = 0, g = 0, b = 0;
            for (int k = 0; k < tx->count[x]; k++, s += 3) {
                r += s[0] * w[k];
                g += s[1] * w[k];
                b += s[2] * w[k];
            }
            const int shift = WBITS - MIDBITS, half = 1 << (shift - 1);
            m[3 * x] = (uint16_t)((r + half) >> shift);
            m[3 * x + 1] = (uint16_t)((g + half) >> shift);
            m[3 * x + 2] = (uint16_t)((b + half) >> shift);
        }
    }
}

/* Columns: mid (w x src_h) -> out (w x out->h). 255 << 8 times WONE stays under 2^31. */
static void resize_cols(const uint16_t *mid, const struct taps *ty, fu_image *out)
{
    size_t row = (size_t)out->w * 3;
    const int shift = WBITS + MIDBITS;
    for (int y = 0; y < out->h; y++) {
        const int32_t *w = ty->weight + (size_t)y * (size_t)ty->max_count;
        const uint16_t *s0 = mid + (size_t)ty->start[y] * row;
        uint8_t *d = out->px + (size_t)y * (size_t)out->stride;
        for (size_t c = 0; c < row; c++) {
            int32_t acc = 0;
            const uint16_t *s = s0 + c;
            for (int k = 0; k < ty->count[y]; k++, s += row)
                acc += *s * w[k];
            acc = (acc + (1 << (shift - 1))) >> shift;
            d[c] = (uint8_t)(acc > 255 ? 255 : acc);
        }
    }
}

int fu_image_resize(const fu_image *in, int w, int h, fu_image *out)
{
    if (out)
        memset(out, 0, sizeof *out);
    if (!image_ok(in) || !out || out == in || w <= 0 || h <= 0 || w > INT_MAX / 3)
        return FACEUP_ERR_ARGUMENT;

    struct taps tx, ty;
    uint16_t *mid = NULL;
    int status = taps_make(&tx, in->w, w);
    if (status != FACEUP_OK)
        return status;
    status = taps_make(&ty, in->h, h);
    if (status != FACEUP_OK) {
        taps_free(&tx);
        return status;
    }
    size_t mid_row = (size_t)w * 3;
    if ((size_t)in->h > SIZE_MAX / sizeof *mid / mid_row ||
        !(mid = malloc(sizeof *mid * mid_row * (size_t)in->h))) {
        status = FACEUP_ERR_NOMEM;
        goto done;
    }
    status = fu_image_alloc(out, w, h);
    if (status != FACEUP_OK)
        goto done;
    resize_rows(in, &tx, w, mid);
    resize_cols(mid, &ty, out);
done:
    free(mid);
    taps_free(&tx);
    taps_free(&ty);
    return status;
}

int fu_image_crop_square(const fu_image *in, float cx, float cy, float side, int out_side,
                         fu_image *out)
{
    if (!image_ok(in) || !(side >= 1.f) || side > 65536.f || out_side < 1)
        return FACEUP_ERR_ARGUMENT;
    int s = (int)lroundf(side), x0 = (int)lroundf(cx - side / 2), y0 = (int)lroundf(cy - side / 2);
    fu_image square;
    int rc = fu_image_alloc(&square, s, s);
    if (rc != FACEUP_OK)
        return rc;
    for (int r = 0; r < s; r++) {
        uint8_t *o = square.px + (size_t)r * square.stride;
        memset(o, 0, (size_t)s * 3);
        long sy = (long)y0 + r;
        if (sy < 0 || sy >= in->h)
            continue;
        long a = x0 < 0 ? -(long)x0 : 0, b = (long)x0 + s > in->w ? (long)in->w - x0 : s;
        if (a < b)
            memcpy(o + a * 3, in->px + (size_t)sy * in->stride + (size_t)(x0 + a) * 3, (size_t)(b - a) * 3);
    }
    rc = fu_image_resize(&square, out_side, out_side, out);
    fu_image_free(&square);
    return rc;
}
