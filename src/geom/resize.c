/*
 * resize.c - scale a window of an image: the whole image (resize) or a square around a face
 * (crop), black where the window leaves the image.
 *
 * Scaling is separable (rows, then columns) with weights computed in exact integer arithmetic
 * and applied in fixed point, so the output is bit-identical whatever the compiler, its
 * floating-point contraction or the CPU. A window is sampled from the source where it stands:
 * a tap that falls outside the image reads black, which adds nothing to an integer sum, so a
 * crop costs what its output costs, not a full-resolution copy of the square first. All
 * temporary memory (taps, the intermediate rows) comes from the caller's scratch buffer.
 */
#include "geom/resize.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

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

/* A box of src/dst source pixels touches at most ceil(src/dst) + 1 of them. */
static int taps_width(int src, int dst)
{
    return dst < src ? (int)(((int64_t)src + dst - 1) / dst + 1) : 2;
}

static size_t taps_bytes(int src, int dst)
{
    return (size_t)dst * (2 * sizeof(int) + (size_t)taps_width(src, dst) * sizeof(int32_t));
}

/* Lay the taps for src -> dst out at `mem` (taps_bytes(src, dst) bytes) and compute them. */
static void taps_make(struct taps *t, int src, int dst, unsigned char *mem)
{
    t->max_count = taps_width(src, dst);
    t->weight = (int32_t *)(void *)mem;
    t->start = (int *)(void *)(mem + (size_t)dst * (size_t)t->max_count * sizeof(int32_t));
    t->count = t->start + dst;
    memset(t->weight, 0, (size_t)dst * (size_t)t->max_count * sizeof(int32_t));
    if (dst < src)
        taps_area(t, src, dst);
    else
        taps_bilinear(t, src, dst);
}

/* One output pixel of the rows pass: n taps with weights w, read from s on, 3 bytes apart. */
static inline void tap_row(const uint8_t *s, const int32_t *w, int n, uint16_t *m)
{
    const int shift = WBITS - MIDBITS, half = 1 << (shift - 1);
    int32_t red = 0, green = 0, blue = 0;
    for (int k = 0; k < n; k++, s += 3) {
        red += s[0] * w[k];
        green += s[1] * w[k];
        blue += s[2] * w[k];
    }
    m[0] = (uint16_t)((red + half) >> shift);
    m[1] = (uint16_t)((green + half) >> shift);
    m[2] = (uint16_t)((blue + half) >> shift);
}

/* Rows: the window's rows of `in` (the window starts at column x0, row y0, and is sh rows
 * high) -> mid (dst_w x sh, 16-bit with MIDBITS of fraction). Taps outside the image are
 * black: they are left out of the sums, and rows outside it are zero. */
static void resize_rows(const fu_image *in, long x0, long y0, int sh, const struct taps *tx,
                        int dst_w, uint16_t *mid)
{
    long last = x0 + tx->start[dst_w - 1] + tx->count[dst_w - 1];
    int inside = x0 + tx->start[0] >= 0 && last <= in->w; /* no tap of any row leaves it */
    for (int r = 0; r < sh; r++) {
        uint16_t *m = mid + (size_t)r * (size_t)dst_w * 3;
        long sy = y0 + r;
        if (sy < 0 || sy >= in->h) {
            memset(m, 0, (size_t)dst_w * 3 * sizeof *m);
            continue;
        }
        const uint8_t *row = in->px + (size_t)sy * (size_t)in->stride;
        for (int x = 0; x < dst_w; x++) {
            const int32_t *w = tx->weight + (size_t)x * (size_t)tx->max_count;
            long c0 = x0 + tx->start[x];
            int k0 = 0, k1 = tx->count[x];
            if (!inside) {
                k0 = c0 < 0 ? (int)-c0 : 0;
                if (c0 + k1 > in->w)
                    k1 = (int)(in->w - c0);
                if (k0 >= k1) {
                    m[3 * x] = m[3 * x + 1] = m[3 * x + 2] = 0;
                    continue;
                }
            }
            tap_row(row + (size_t)(c0 + k0) * 3, w + k0, k1 - k0, m + 3 * x);
        }
    }
}

/* Columns: mid (w x src_h) -> out (w x out->h). 255 << 8 times WONE stays under 2^31. A row is
 * done in runs of COL_RUN values, tap by tap over the run, so the compiler can vectorise it
 * (16-bit values times 16-bit weights into 32-bit sums); the sums are those of the taps in any
 * order, integers. */
#define COL_RUN 192
static void resize_cols(const uint16_t *mid, const struct taps *ty, fu_image *out)
{
    size_t row = (size_t)out->w * 3;
    const int shift = WBITS + MIDBITS;
    const uint32_t half = 1u << (shift - 1);
    uint32_t acc[COL_RUN];
    for (int y = 0; y < out->h; y++) {
        const int32_t *w = ty->weight + (size_t)y * (size_t)ty->max_count;
        const uint16_t *s0 = mid + (size_t)ty->start[y] * row;
        uint8_t *d = out->px + (size_t)y * (size_t)out->stride;
        for (size_t c0 = 0; c0 < row; c0 += COL_RUN) {
            size_t n = row - c0 < COL_RUN ? row - c0 : COL_RUN;
            for (size_t j = 0; j < n; j++)
                acc[j] = half;
            for (int k = 0; k < ty->count[y]; k++) {
                const uint16_t *s = s0 + (size_t)k * row + c0, wk = (uint16_t)w[k];
                for (size_t j = 0; j < n; j++)
                    acc[j] += (uint32_t)s[j] * wk;
            }
            for (size_t j = 0; j < n; j++) {
                uint32_t v = acc[j] >> shift;
                d[c0 + j] = (uint8_t)(v > 255 ? 255 : v);
            }
        }
    }
}

/* The window [x0, x0 + sw) x [y0, y0 + sh) of `in`, scaled to out's w x h. */
static int resize_window(const fu_image *in, long x0, long y0, int sw, int sh, int w, int h,
                         fu_image *out, fu_buf *scratch)
{
    size_t tx_n = taps_bytes(sw, w), ty_n = taps_bytes(sh, h);
    size_t mid_row = (size_t)w * 3 * sizeof(uint16_t);
    if ((size_t)sh > (SIZE_MAX / 2 - tx_n - ty_n) / mid_row)
        return FACEUP_ERR_NOMEM;
    size_t need = tx_n + ty_n + mid_row * (size_t)sh;
    fu_buf local = {0};
    fu_buf *mem = scratch ? scratch : &local;
    int rc = fu_buf_reserve(mem, need);
    if (rc == FACEUP_OK)
        rc = fu_image_reserve(out, w, h, 3);
    if (rc == FACEUP_OK) {
        struct taps tx, ty;
        taps_make(&tx, sw, w, mem->p);
        taps_make(&ty, sh, h, mem->p + tx_n);
        uint16_t *mid = (uint16_t *)(void *)(mem->p + tx_n + ty_n);
        resize_rows(in, x0, y0, sh, &tx, w, mid);
        resize_cols(mid, &ty, out);
    }
    fu_buf_free(&local);
    return rc;
}

int fu_image_resize(const fu_image *in, int w, int h, fu_image *out, fu_buf *scratch)
{
    if (!fu_image_ok(in) || !out || out == in || w <= 0 || h <= 0 || w > INT_MAX / 3)
        return FACEUP_ERR_ARGUMENT;
    return resize_window(in, 0, 0, in->w, in->h, w, h, out, scratch);
}

int fu_image_crop_square(const fu_image *in, float cx, float cy, float side, int out_side,
                         fu_image *out, fu_buf *scratch)
{
    if (!fu_image_ok(in) || !out || out == in || !(side >= 1.f) || side > 65536.f ||
        out_side < 1 || out_side > 65536)
        return FACEUP_ERR_ARGUMENT;
    int s = (int)lroundf(side);
    long x0 = lroundf(cx - side / 2), y0 = lroundf(cy - side / 2);
    return resize_window(in, x0, y0, s, s, out_side, out_side, out, scratch);
}
