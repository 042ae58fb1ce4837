/*
 * tensor.h - the one tensor layout of the networks (internal).
 *
 * Tensors are NHWC (one image), float, with a one-pixel ring of zeros around the interior so the
 * 3x3 kernels never branch on borders. Pixel (y, x) lives at data + ((y+1)*(w+2) + (x+1))*c.
 * A tensor is allocated once for the largest shape it will hold and then reshaped in place.
 */
#ifndef FU_TENSOR_H
#define FU_TENSOR_H

#include <stddef.h>

typedef struct fu_tensor {
    float *data;     /* (h+2)*(w+2)*c floats, border ring zero */
    int h, w, c;
    size_t capacity; /* floats allocated */
} fu_tensor;

static inline float *fu_tensor_at(const fu_tensor *t, int y, int x)
{
    return t->data + ((size_t)(y + 1) * (size_t)(t->w + 2) + (size_t)(x + 1)) * (size_t)t->c;
}

/* Allocate t for shapes up to h x w x c (zeroed; free t->data with free()). 0, or -1 when out of
 * memory. */
int fu_tensor_alloc(fu_tensor *t, int h, int w, int c);

/* Give t the shape h x w x c within its capacity and zero its border ring. Returns 0, or -1 when
 * the capacity is too small. */
int fu_tensor_shape(fu_tensor *t, int h, int w, int c);

/* Put a w x h block of 8-bit RGB pixels (rows `stride` bytes apart) into t at (oy, ox), as the
 * networks want it: BGR, values 0..255. */
void fu_tensor_put_bgr(fu_tensor *t, int oy, int ox, const unsigned char *rgb, int w, int h,
                       size_t stride);

#endif
