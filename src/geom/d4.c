/*
 * d4.c - the algebra of quarter turns and mirrors, and the pixel loop that applies one.
 */
#include "geom/d4.h"

#include <assert.h>
#include <string.h>

/* EXIF Orientation 1..8 in the normal form {rot, mirror}. From the TIFF 6.0 / EXIF 2.3
 * definitions: 2 mirrors, 3 turns 180, 4 flips top-bottom (= mirror, then 180), 5 transposes
 * (= mirror, then 270), 6 turns 90 clockwise, 7 transverses (= mirror, then 90), 8 turns 270. */
static const fu_d4 exif_table[9] = {
    {0, 0}, {0, 0}, {0, 1}, {2, 0}, {2, 1}, {3, 1}, {1, 0}, {1, 1}, {3, 0},
};

fu_d4 fu_d4_from_exif(int orientation)
{
    if (orientation < 1 || orientation > 8)
        return FU_D4_IDENTITY;
    return exif_table[orientation];
}

int fu_d4_to_exif(fu_d4 t)
{
    for (int e = 1; e <= 8; e++)
        if (exif_table[e].rot == t.rot && exif_table[e].mirror == t.mirror)
            return e;
    assert(!"fu_d4 out of range");
    return 1;
}

fu_d4 fu_d4_turn_cw(int degrees)
{
    int q = (degrees / 90) % 4;
    return (fu_d4){(unsigned char)(q < 0 ? q + 4 : q), 0};
}

/* A mirror moves past a turn by reversing it: M R(a) = R(-a) M. So
 * R(a) M^m . R(b) M^n = R(a) R(+-b) M^m M^n = R(a + (m ? -b : b)) M^(m xor n). */
fu_d4 fu_d4_compose(fu_d4 second, fu_d4 first)
{
    int b = second.mirror ? 4 - first.rot : first.rot;
    return (fu_d4){(unsigned char)((second.rot + b) % 4),
                   (unsigned char)(second.mirror ^ first.mirror)};
}

/* A mirror is its own inverse, so a mirrored element is too; a pure turn inverts its angle. */
fu_d4 fu_d4_inverse(fu_d4 t)
{
    if (t.mirror)
        return t;
    return (fu_d4){(unsigned char)((4 - t.rot) % 4), 0};
}

int fu_d4_is_identity(fu_d4 t)
{
    return t.rot == 0 && !t.mirror;
}

int fu_d4_swaps_axes(fu_d4 t)
{
    return t.rot & 1;
}

void fu_d4_parts(fu_d4 t, int *transpose, int *flip_x, int *flip_y)
{
    /* indexed by rot*2 + mirror: {transpose, flip_x, flip_y}. A quarter turn clockwise is a
     * transpose followed by a left-right mirror; the rest follow by composing. */
    static const unsigned char parts[8][3] = {
        {0, 0, 0}, {0, 1, 0}, /* identity, mirror */
        {1, 1, 0}, {1, 1, 1}, /* 90, transverse */
        {0, 1, 1}, {0, 0, 1}, /* 180, flip top-bottom */
        {1, 0, 1}, {1, 0, 0}, /* 270, transpose */
    };
    const unsigned char *p = parts[(t.rot & 3) * 2 + (t.mirror & 1)];
    *transpose = p[0];
    *flip_x = p[1];
    *flip_y = p[2];
}

void fu_d4_map(fu_d4 t, int w, int h, int x, int y, int *ox, int *oy)
{
    int tr, fx, fy;
    fu_d4_parts(t, &tr, &fx, &fy);
    if (tr) {
        int s = x; x = y; y = s;
        s = w; w = h; h = s;
    }
    *ox = fx ? w - 1 - x : x;
    *oy = fy ? h - 1 - y : y;
}

/* The loops below are written once and instantiated for the common pixel sizes, so that each
 * copy is a fixed-size move the compiler can inline rather than a call to memcpy. */

/* Without a transpose, an output row is a source row, walked forwards or backwards. */
#define STRAIGHT_ROW(BPP)                                                                         \
    for (int x = 0; x < w; x++, s -= (BPP), d += (BPP))                                           \
        memcpy(d, s, (size_t)(BPP))

static void rows_straight(int fx, int fy, const uint8_t *src, int w, int h, size_t stride,
                          int bpp, int y0, int n, uint8_t *dst, size_t dst_stride)
{
    for (int oy = y0; oy < y0 + n; oy++) {
        const uint8_t *s = src + (size_t)(fy ? h - 1 - oy : oy) * stride;
        uint8_t *d = dst + (size_t)(oy - y0) * dst_stride;
        if (!fx) {
            memcpy(d, s, (size_t)w * (size_t)bpp);
            continue;
        }
        s += (size_t)(w - 1) * (size_t)bpp;
        switch (bpp) {
        case 1: STRAIGHT_ROW(1); break;
        case 3: STRAIGHT_ROW(3); break;
        case 4: STRAIGHT_ROW(4); break;
        default: STRAIGHT_ROW(bpp); break;
        }
    }
}

/* With a transpose, an output row is a source column. Walking one column per row would touch a
 * new cache line (and, on big images, a new page) for every pixel, so the output is made in bands
 * of BAND rows, source row by source row: BAND neighbouring pixels of a source row go to the same
 * column of the band's rows. */
#define BAND 64

#define TRANSPOSED_BAND(BPP)                                                                      \
    for (int ox = 0; ox < ow; ox++) {                                                             \
        const uint8_t *s = src + (size_t)(fx ? ow - 1 - ox : ox) * stride + first;                \
        uint8_t *d = out + (size_t)ox * (size_t)(BPP);                                            \
        for (int k = 0; k < nb; k++, d += dst_stride, s += step)                                  \
            memcpy(d, s, (size_t)(BPP));                                                          \
    }

static void rows_transposed(int fx, int fy, const uint8_t *src, int w, int h, size_t stride,
                            int bpp, int y0, int n, uint8_t *dst, size_t dst_stride)
{
    int ow = h, oh = w;
    ptrdiff_t step = fy ? -bpp : bpp; /* along a source row, from one band row to the next */
    for (int b = y0; b < y0 + n; b += BAND) {
        int nb = y0 + n - b < BAND ? y0 + n - b : BAND;
        size_t first = (size_t)(fy ? oh - 1 - b : b) * (size_t)bpp; /* source column of row b */
        uint8_t *out = dst + (size_t)(b - y0) * dst_stride;
        switch (bpp) {
        case 1: TRANSPOSED_BAND(1); break;
        case 3: TRANSPOSED_BAND(3); break;
        case 4: TRANSPOSED_BAND(4); break;
        default: TRANSPOSED_BAND(bpp); break;
        }
    }
}

void fu_d4_rows(fu_d4 t, const uint8_t *src, int w, int h, size_t stride, int bpp, int y0, int n,
                uint8_t *dst, size_t dst_stride)
{
    int tr, fx, fy;
    fu_d4_parts(t, &tr, &fx, &fy);
    assert(bpp >= 1 && bpp <= 16);
    if (tr)
        rows_transposed(fx, fy, src, w, h, stride, bpp, y0, n, dst, dst_stride);
    else
        rows_straight(fx, fy, src, w, h, stride, bpp, y0, n, dst, dst_stride);
}
