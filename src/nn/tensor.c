/*
 * tensor.c - allocating a tensor once, and reshaping it within its capacity.
 */
#include "nn/tensor.h"

#include <stdlib.h>
#include <string.h>

int fu_tensor_alloc(fu_tensor *t, int h, int w, int c)
{
    t->capacity = (size_t)(h + 2) * (size_t)(w + 2) * (size_t)c;
    t->data = calloc(t->capacity, sizeof(float));
    return t->data ? 0 : -1;
}

int fu_tensor_shape(fu_tensor *t, int h, int w, int c)
{
    size_t row = (size_t)(w + 2) * (size_t)c;
    if (h <= 0 || w <= 0 || c <= 0 || (size_t)(h + 2) * row > t->capacity)
        return -1;
    t->h = h;
    t->w = w;
    t->c = c;
    memset(t->data, 0, row * sizeof(float));
    memset(t->data + (size_t)(h + 1) * row, 0, row * sizeof(float));
    for (int y = 1; y <= h; y++) {   /* a few floats each side: stores, not calls */
        float *left = t->data + (size_t)y * row, *right = left + (size_t)(w + 1) * c;
        for (int k = 0; k < c; k++)
            left[k] = right[k] = 0.f;
    }
    return 0;
}

void fu_tensor_put_bgr(fu_tensor *t, int oy, int ox, const unsigned char *rgb, int w, int h,
                       size_t stride)
{
    for (int y = 0; y < h; y++) {
        const unsigned char *restrict p = rgb + (size_t)y * stride;
        float *restrict o = fu_tensor_at(t, y + oy, ox);
        for (int x = 0; x < 3 * w; x += 3) {
            o[x] = (float)p[x + 2];
            o[x + 1] = (float)p[x + 1];
            o[x + 2] = (float)p[x];
        }
    }
}
