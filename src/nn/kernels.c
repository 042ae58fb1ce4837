/*
 * kernels.c - scalar reference kernels: the specification the SIMD kernels must match.
 *
 * Accumulation order is part of the specification: bias first, then the taps in weight order,
 * each with one fused multiply-add (fmaf), exactly as the AVX2 kernels do lane by lane.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/kernels.h"

static inline float relu_if(float v, int relu)
{
    return (relu && !(v > 0.f)) ? 0.f : v;
}

static void conv3x3s2_ref(const fu_tensor *in, fu_tensor *out, const float *w, const float *b,
                          int y0, int y1)
{
    const int co_n = out->c;
    for (int y = y0; y < y1; y++) {
        for (int x = 0; x < out->w; x++) {
            float *o = fu_tensor_at(out, y, x);
            for (int co = 0; co < co_n; co++) {
                float acc = b[co];
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) {
                        const float *p = fu_tensor_at(in, 2 * y + ky - 1, 2 * x + kx - 1);
                        for (int ci = 0; ci < 3; ci++)
                            acc = fmaf(p[ci], w[((ky * 3 + kx) * 3 + ci) * co_n + co], acc);
                    }
                o[co] = relu_if(acc, 1);
            }
        }
    }
}

static void pointwise_ref(const fu_tensor *in, fu_tensor *out, const float *w, const float *b,
                          int relu, int y0, int y1)
{
    const int ci_n = in->c, co_n = out->c;
    for (int y = y0; y < y1; y++) {
        for (int x = 0; x < out->w; x++) {
            const float *p = fu_tensor_at(in, y, x);
            float *o = fu_tensor_at(out, y, x);
            for (int co = 0; co < co_n; co++) {
                float acc = b[co];
                for (int ci = 0; ci < ci_n; ci++)
                    acc = fmaf(p[ci], w[ci * co_n + co], acc);
                o[co] = relu_if(acc, relu);
            }
        }
    }
}

static void depthwise_ref(const fu_tensor *in, fu_tensor *out, const float *w, const float *b,
                          int relu, int y0, int y1)
{
    const int c_n = out->c;
    for (int y = y0; y < y1; y++) {
        for (int x = 0; x < out->w; x++) {
            float *o = fu_tensor_at(out, y, x);
            for (int c = 0; c < c_n; c++) {
                float acc = b[c];
                for (int k = 0; k < 9; k++)
                    acc = fmaf(fu_tensor_at(in, y + k / 3 - 1, x + k % 3 - 1)[c], w[k * c_n + c], acc);
                o[c] = relu_if(acc, relu);
            }
        }
    }
}

static inline float max2(float a, float b)
{
    return a > b ? a : b;
}

static void maxpool2_ref(const fu_tensor *in, fu_tensor *out, int y0, int y1)
{
    for (int y = y0; y < y1; y++) {
        for (int x = 0; x < out->w; x++) {
            const float *a = fu_tensor_at(in, 2 * y, 2 * x), *bb = fu_tensor_at(in, 2 * y, 2 * x + 1);
            const float *c = fu_tensor_at(in, 2 * y + 1, 2 * x), *d = fu_tensor_at(in, 2 * y + 1, 2 * x + 1);
            float *o = fu_tensor_at(out, y, x);
            for (int ch = 0; ch < out->c; ch++)
                o[ch] = max2(max2(a[ch], bb[ch]), max2(c[ch], d[ch]));
        }
    }
}

static void upsample2_add_ref(const fu_tensor *small, const fu_tensor *skip, fu_tensor *out,
                              int y0, int y1)
{
    for (int y = y0; y < y1; y++) {
        for (int x = 0; x < out->w; x++) {
            const float *s = fu_tensor_at(small, y / 2, x / 2), *k = fu_tensor_at(skip, y, x);
            float *o = fu_tensor_at(out, y, x);
            for (int ch = 0; ch < out->c; ch++)
                o[ch] = k[ch] + s[ch];
        }
    }
}

static void add_ref(const fu_tensor *a, const fu_tensor *b, fu_tensor *out, int y0, int y1)
{
    for (int y = y0; y < y1; y++) {
        const float *p = fu_tensor_at(a, y, 0), *q = fu_tensor_at(b, y, 0);
        float *o = fu_tensor_at(out, y, 0);
        for (int i = 0; i < out->w * out->c; i++)
            o[i] = p[i] + q[i];
    }
}

const fu_kernels fu_kernels_ref = {
    "scalar", conv3x3s2_ref, pointwise_ref, depthwise_ref, maxpool2_ref, upsample2_add_ref, add_ref,
};
