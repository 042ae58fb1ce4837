/*
 * layer.h - a network as a table of layers, and one call per op over it (internal).
 *
 * A model (models/) is a short forward function over its layer table: each conv layer names its
 * kind and weights (laid out for its kernel, see kernels.h), and the calls here give the output
 * tensor its shape and run the kernel, its rows split over a thread pool (NULL: the calling
 * thread). Splitting rows never changes a result (kernels.h), so neither does the pool.
 */
#ifndef FU_LAYER_H
#define FU_LAYER_H

#include "nn/kernels.h"
#include "nn/threadpool.h"

typedef enum fu_conv_kind {
    FU_CONV3X3S2 = 0, /* full 3x3 conv, stride 2, pad 1, relu: weights [ky][kx][ci][co] */
    FU_CONV_PW = 1,   /* 1x1 conv: weights [ci][co] */
    FU_CONV_DW = 2    /* depthwise 3x3, stride 1, pad 1: weights [ky*3+kx][c] */
} fu_conv_kind;

typedef struct fu_conv_weights {
    const char *name;
    fu_conv_kind kind;
    int cin, cout;
    const float *w;
    const float *b;   /* cout biases */
} fu_conv_weights;

/* out = L(in), with relu when `relu` (a 3x3 stride-2 conv always has it). out's capacity must
 * fit the result. */
void fu_layer_conv(const fu_kernels *k, fu_pool *pool, const fu_conv_weights *L,
                   const fu_tensor *in, fu_tensor *out, int relu);

/* out = dw(pw(in)): a 1x1 conv (linear) then a depthwise 3x3 (relu when `relu`), as one pass
 * that never holds pw(in) whole. Each thread does its output rows in strips of FU_DP_STRIP,
 * pw's rows for a strip (and the one above and below) in its share of `scratch`, so they are
 * still in cache when dw reads them; the results are those of the two fu_layer_conv calls.
 * in != out (a thread's first strip reads the row above its own). `scratch` holds at least
 * fu_layer_dp_scratch(w, pw->cout, fu_pool_size(pool)) floats for in's width w. */
#define FU_DP_STRIP 8
size_t fu_layer_dp_scratch(int w, int c, int nthreads);
void fu_layer_dp(const fu_kernels *k, fu_pool *pool, const fu_conv_weights *pw,
                 const fu_conv_weights *dw, const fu_tensor *in, fu_tensor *out, int relu,
                 float *scratch);

/* out = 2x2 max pool of in, stride 2. */
void fu_layer_maxpool(const fu_kernels *k, fu_pool *pool, const fu_tensor *in, fu_tensor *out);

/* out = skip + nearest 2x upsampling of small. */
void fu_layer_upsample_add(const fu_kernels *k, fu_pool *pool, const fu_tensor *small,
                           const fu_tensor *skip, fu_tensor *out);

/* out = a + b (one shape; out may be a or b). */
void fu_layer_add(const fu_kernels *k, fu_pool *pool, const fu_tensor *a, const fu_tensor *b,
                  fu_tensor *out);

#endif
