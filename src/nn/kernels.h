/*
 * nn_kernels.h - the convolution kernels YuNet needs (internal).
 *
 * Tensors are NHWC (one image), float, with a one-pixel ring of zeros around the interior so the
 * 3x3 kernels never branch on borders. Pixel (y, x) lives at data + ((y+1)*(w+2) + (x+1))*c.
 *
 * Every kernel computes output rows [y0, y1) only, so a thread pool can split rows (ggml's ith/nth
 * idea): each output value is computed by the same instructions whatever the split, hence results
 * never depend on the thread count.
 *
 * Each kernel has a scalar reference (nn_kernels.c), the specification, and an AVX2+FMA variant
 * (nn_kernels_avx2.c). Both accumulate in the same order with fused multiply-adds (fmaf in the
 * reference), so the two paths agree bit for bit, and so do the answers at every SIMD level.
 * Weight layouts are the ones tools/onnx_to_c.py writes (see yunet_weights.h).
 */
#ifndef FU_NN_KERNELS_H
#define FU_NN_KERNELS_H

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

typedef struct fu_kernels {
    const char *name;
    /* full 3x3 conv, stride 2, pad 1, in->c == 3; out = relu(conv(in) + b) */
    void (*conv3x3s2)(const fu_tensor *in, fu_tensor *out, const float *w, const float *b,
                      int y0, int y1);
    /* 1x1 conv: out = conv(in) + b, optionally relu */
    void (*pointwise)(const fu_tensor *in, fu_tensor *out, const float *w, const float *b,
                      int relu, int y0, int y1);
    /* depthwise 3x3, stride 1, pad 1: out = dwconv(in) + b, optionally relu */
    void (*depthwise)(const fu_tensor *in, fu_tensor *out, const float *w, const float *b,
                      int relu, int y0, int y1);
    /* 2x2 max pool, stride 2 */
    void (*maxpool2)(const fu_tensor *in, fu_tensor *out, int y0, int y1);
    /* out = skip + nearest 2x upsampling of small */
    void (*upsample2_add)(const fu_tensor *small, const fu_tensor *skip, fu_tensor *out,
                          int y0, int y1);
} fu_kernels;

extern const fu_kernels fu_kernels_ref;
extern const fu_kernels fu_kernels_avx2;

/* The kernels for this CPU: AVX2 when the CPU has AVX2 and FMA, unless the environment variable
 * FACEUP_FORCE_SCALAR is set to a non-empty value other than "0". Chosen once. */
const fu_kernels *fu_kernels_best(void);

#endif
