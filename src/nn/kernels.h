/*
 * nn/ - the neural-network floor: tensors (tensor.h), the kernels with their scalar reference
 * and AVX2 variants chosen once by CPU detection (kernels.c, kernels_avx2.c, cpu.c), a layer
 * table and one call per op over it (layer.h), and the thread pool that splits rows
 * (threadpool.c). Includes only base/: nn/ knows no image, no model, no face.
 *
 * kernels.h - the convolution kernels the models need (internal).
 *
 * Every kernel computes output rows [y0, y1) only, so a thread pool can split rows (ggml's ith/nth
 * idea): each output value is computed by the same instructions whatever the split, hence results
 * never depend on the thread count.
 *
 * Each kernel has a scalar reference (kernels.c), the specification, and an AVX2+FMA variant
 * (kernels_avx2.c). Both accumulate in the same order with fused multiply-adds (fmaf in the
 * reference), so the two paths agree bit for bit, and so do the answers at every SIMD level.
 * Weight layouts are the ones tools/onnx_to_c.py writes (see layer.h).
 */
#ifndef FU_NN_KERNELS_H
#define FU_NN_KERNELS_H

#include "nn/tensor.h"

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
    /* out = a + b, all of one shape (out may be a or b): a residual connection */
    void (*add)(const fu_tensor *a, const fu_tensor *b, fu_tensor *out, int y0, int y1);
} fu_kernels;

extern const fu_kernels fu_kernels_ref;
extern const fu_kernels fu_kernels_avx2;

/* The kernels for this CPU: AVX2 when the CPU has AVX2 and FMA, unless the environment variable
 * FACEUP_FORCE_SCALAR is set to a non-empty value other than "0". Chosen once. */
const fu_kernels *fu_kernels_best(void);

#endif
