/*
 * image.c - fu_image's memory, and turning one with the D4 loop.
 */
#include "geom/image.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int fu_image_reserve(fu_image *img, int w, int h, int bpp)
{
    if (!img || w <= 0 || h <= 0 || bpp < 3 || bpp > 4 || w > INT_MAX / bpp)
        return FACEUP_ERR_ARGUMENT;
    size_t stride = (size_t)w * (size_t)bpp;
    if ((size_t)h > SIZE_MAX / stride)
        return FACEUP_ERR_NOMEM;
    size_t need = stride * (size_t)h;
    if (need > img->cap) {
        if (img->px && !img->cap)
            return FACEUP_ERR_ARGUMENT; /* a view: not ours to grow */
        uint8_t *px = malloc(need);
        if (!px)
            return FACEUP_ERR_NOMEM;
        free(img->px);
        img->px = px;
        img->cap = need;
    }
    img->w = w;
    img->h = h;
    img->stride = (int)stride;
    return FACEUP_OK;
}

int fu_image_alloc(fu_image *img, int w, int h)
{
    if (!img)
        return FACEUP_ERR_ARGUMENT;
    memset(img, 0, sizeof *img);
    return fu_image_reserve(img, w, h, 3);
}

void fu_image_free(fu_image *img)
{
    if (!img)
        return;
    if (img->cap)
        free(img->px);
    memset(img, 0, sizeof *img);
}

int fu_image_ok(const fu_image *img)
{
    return img && img->px && img->w > 0 && img->h > 0 && img->w <= INT_MAX / 3 &&
           img->stride >= 3 * img->w;
}

int fu_image_turn(const fu_image *in, fu_d4 t, fu_image *out)
{
    if (!fu_image_ok(in) || !out || out == in)
        return FACEUP_ERR_ARGUMENT;
    int swap = fu_d4_swaps_axes(t);
    int rc = fu_image_reserve(out, swap ? in->h : in->w, swap ? in->w : in->h, 3);
    if (rc != FACEUP_OK)
        return rc;
    fu_d4_rows(t, in->px, in->w, in->h, (size_t)in->stride, 3, 0, out->h, out->px,
               (size_t)out->stride);
    return FACEUP_OK;
}

/* (c*a + 127) / 255 is c*a/255 rounded to nearest. */
void fu_image_rgba_over_black(fu_image *img)
{
    size_t n = (size_t)img->w * (size_t)img->h;
    uint8_t *px = img->px;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = px + 4 * i;
        unsigned a = s[3];
        uint8_t r = (uint8_t)((s[0] * a + 127) / 255);
        uint8_t g = (uint8_t)((s[1] * a + 127) / 255);
        uint8_t b = (uint8_t)((s[2] * a + 127) / 255);
        px[3 * i] = r;
        px[3 * i + 1] = g;
        px[3 * i + 2] = b;
    }
    img->stride = 3 * img->w;
}

/* R = (255-C)(255-K)/255. Photoshop, and every writer that puts an Adobe APP14 marker in a CMYK
 * JPEG (Pillow, libjpeg's default), stores the inks inverted, so the stored value already is
 * 255-C. */
void fu_image_cmyk_to_rgb(fu_image *img, int inverted)
{
    size_t n = (size_t)img->w * (size_t)img->h;
    uint8_t *px = img->px;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = px + 4 * i;
        unsigned c = s[0], m = s[1], y = s[2], k = s[3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        uint8_t r = (uint8_t)((c * k + 127) / 255);
        uint8_t g = (uint8_t)((m * k + 127) / 255);
        uint8_t b = (uint8_t)((y * k + 127) / 255);
        px[3 * i] = r;
        px[3 * i + 1] = g;
        px[3 * i + 2] = b;
    }
    img->stride = 3 * img->w;
}
