/*
 * kernels_avx2.c - AVX2+FMA versions of kernels.c, same names, same results.
 *
 * Compiled with -mavx2 -mfma and called only after cpu.c has checked the CPU. Each lane does the
 * reference's arithmetic in the reference's order, so outputs are bit-identical. Channel counts
 * are multiples of 8 in YuNet (16, 32, 64); a shape that is not falls back to the reference.
 */
#include <immintrin.h>

#include "nn/kernels.h"

/* One output pixel, sixteen output channels: 27 taps, each a broadcast and two FMAs. */
static void conv3x3s2_px1(const fu_tensor *in, float *o, const float *w, const float *b, int y,
                          int x)
{
    __m256 a0 = _mm256_loadu_ps(b), a1 = _mm256_loadu_ps(b + 8);
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++) {
            const float *p = fu_tensor_at(in, 2 * y + ky - 1, 2 * x + kx - 1);
            const float *wk = w + (ky * 3 + kx) * 3 * 16;
            for (int ci = 0; ci < 3; ci++) {
                __m256 v = _mm256_broadcast_ss(p + ci);
                a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(wk + ci * 16), a0);
                a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(wk + ci * 16 + 8), a1);
            }
        }
    const __m256 z = _mm256_setzero_ps();
    _mm256_storeu_ps(o, _mm256_max_ps(a0, z));
    _mm256_storeu_ps(o + 8, _mm256_max_ps(a1, z));
}

/* CONV_RUN neighbouring output pixels at once, so each weight load serves CONV_RUN FMAs; the
 * loops over the run are unrolled so the accumulators stay in registers. Same per-lane order
 * as conv3x3s2_px1 and the reference. */
#define CONV_RUN 6
static void conv3x3s2_run(const fu_tensor *in, float *o, const float *w, const float *b, int y,
                          int x)
{
    __m256 a0[CONV_RUN], a1[CONV_RUN];
#pragma GCC unroll 6
    for (int i = 0; i < CONV_RUN; i++) {
        a0[i] = _mm256_loadu_ps(b);
        a1[i] = _mm256_loadu_ps(b + 8);
    }
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++) {
            const float *p = fu_tensor_at(in, 2 * y + ky - 1, 2 * x + kx - 1);
            const float *wk = w + (ky * 3 + kx) * 3 * 16;
#pragma GCC unroll 3
            for (int ci = 0; ci < 3; ci++) {
                __m256 w0 = _mm256_loadu_ps(wk + ci * 16), w1 = _mm256_loadu_ps(wk + ci * 16 + 8);
#pragma GCC unroll 6
                for (int i = 0; i < CONV_RUN; i++) {
                    __m256 v = _mm256_broadcast_ss(p + i * 6 + ci);   /* stride 2 pixels of 3 */
                    a0[i] = _mm256_fmadd_ps(v, w0, a0[i]);
                    a1[i] = _mm256_fmadd_ps(v, w1, a1[i]);
                }
            }
        }
    const __m256 z = _mm256_setzero_ps();
#pragma GCC unroll 6
    for (int i = 0; i < CONV_RUN; i++) {
        _mm256_storeu_ps(o + i * 16, _mm256_max_ps(a0[i], z));
        _mm256_storeu_ps(o + i * 16 + 8, _mm256_max_ps(a1[i], z));
    }
}

static void conv3x3s2_avx2(const fu_tensor *in, fu_tensor *out, const float *w, const float *b,
                           int y0, int y1)
{
    if (out->c != 16 || in->c != 3) {
        fu_kernels_ref.conv3x3s2(in, out, w, b, y0, y1);
        return;
    }
    for (int y = y0; y < y1; y++) {
        int x = 0;
        for (; x + CONV_RUN <= out->w; x += CONV_RUN)
            conv3x3s2_run(in, fu_tensor_at(out, y, x), w, b, y, x);
        for (; x < out->w; x++)
            conv3x3s2_px1(in, fu_tensor_at(out, y, x), w, b, y, x);
    }
}

/* Four pixels by sixteen output channels at a time: 8 accumulators, the weights streamed from L1. */
static void pointwise_row4(const float *p, float *o, const float *w, const float *b, int ci_n,
                           int co_n, int co, int relu)
{
    __m256 a00 = _mm256_loadu_ps(b + co), a01 = _mm256_loadu_ps(b + co + 8);
    __m256 a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
    const float *p1 = p + ci_n, *p2 = p + 2 * ci_n, *p3 = p + 3 * ci_n;
    for (int ci = 0; ci < ci_n; ci++) {
        __m256 w0 = _mm256_loadu_ps(w + ci * co_n + co), w1 = _mm256_loadu_ps(w + ci * co_n + co + 8);
        __m256 v;
        v = _mm256_broadcast_ss(p + ci);
        a00 = _mm256_fmadd_ps(v, w0, a00); a01 = _mm256_fmadd_ps(v, w1, a01);
        v = _mm256_broadcast_ss(p1 + ci);
        a10 = _mm256_fmadd_ps(v, w0, a10); a11 = _mm256_fmadd_ps(v, w1, a11);
        v = _mm256_broadcast_ss(p2 + ci);
        a20 = _mm256_fmadd_ps(v, w0, a20); a21 = _mm256_fmadd_ps(v, w1, a21);
        v = _mm256_broadcast_ss(p3 + ci);
        a30 = _mm256_fmadd_ps(v, w0, a30); a31 = _mm256_fmadd_ps(v, w1, a31);
    }
    if (relu) {
        const __m256 z = _mm256_setzero_ps();
        a00 = _mm256_max_ps(a00, z); a01 = _mm256_max_ps(a01, z);
        a10 = _mm256_max_ps(a10, z); a11 = _mm256_max_ps(a11, z);
        a20 = _mm256_max_ps(a20, z); a21 = _mm256_max_ps(a21, z);
        a30 = _mm256_max_ps(a30, z); a31 = _mm256_max_ps(a31, z);
    }
    float *o1 = o + co_n, *o2 = o + 2 * co_n, *o3 = o + 3 * co_n;
    _mm256_storeu_ps(o + co, a00); _mm256_storeu_ps(o + co + 8, a01);
    _mm256_storeu_ps(o1 + co, a10); _mm256_storeu_ps(o1 + co + 8, a11);
    _mm256_storeu_ps(o2 + co, a20); _mm256_storeu_ps(o2 + co + 8, a21);
    _mm256_storeu_ps(o3 + co, a30); _mm256_storeu_ps(o3 + co + 8, a31);
}

static void pointwise_row1(const float *p, float *o, const float *w, const float *b, int ci_n,
                           int co_n, int co, int relu)
{
    __m256 a0 = _mm256_loadu_ps(b + co), a1 = _mm256_loadu_ps(b + co + 8);
    for (int ci = 0; ci < ci_n; ci++) {
        __m256 v = _mm256_broadcast_ss(p + ci);
        a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w + ci * co_n + co), a0);
        a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(w + ci * co_n + co + 8), a1);
    }
    if (relu) {
        a0 = _mm256_max_ps(a0, _mm256_setzero_ps());
        a1 = _mm256_max_ps(a1, _mm256_setzero_ps());
    }
    _mm256_storeu_ps(o + co, a0);
    _mm256_storeu_ps(o + co + 8, a1);
}

static void pointwise_avx2(const fu_tensor *in, fu_tensor *out, const float *w, const float *b,
                           int relu, int y0, int y1)
{
    const int ci_n = in->c, co_n = out->c;
    if (co_n % 16) {
        fu_kernels_ref.pointwise(in, out, w, b, relu, y0, y1);
        return;
    }
    for (int y = y0; y < y1; y++) {
        const float *p = fu_tensor_at(in, y, 0);
        float *o = fu_tensor_at(out, y, 0);
        int x = 0;
        for (; x + 4 <= out->w; x += 4)
            for (int co = 0; co < co_n; co += 16)
                pointwise_row4(p + x * ci_n, o + x * co_n, w, b, ci_n, co_n, co, relu);
        for (; x < out->w; x++)
            for (int co = 0; co < co_n; co += 16)
                pointwise_row1(p + x * ci_n, o + x * co_n, w, b, ci_n, co_n, co, relu);
    }
}

/* One output pixel, eight channels: the nine taps in the reference's order. */
static inline __m256 depthwise_px1(const float *p, int c_n, int row, const __m256 *wk, __m256 acc)
{
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
            acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + ky * row + kx * c_n), wk[3 * ky + kx], acc);
    return acc;
}

/* DW_RUN neighbouring output pixels, eight channels, taps w (of channel 0 of the block): each
 * input vector of a kernel row is loaded once and serves the (up to three) outputs it is a tap
 * of. Streaming the input columns left to right gives every output its taps in the
 * reference's order (kx 0, 1, 2 within a row, the rows top to bottom). */
#define DW_RUN 8
static inline void depthwise_run(const float *p, float *o, int c_n, int row, const float *w,
                                 __m256 bias, int relu)
{
    __m256 a[DW_RUN];
#pragma GCC unroll 8
    for (int i = 0; i < DW_RUN; i++)
        a[i] = bias;
    for (int ky = 0; ky < 3; ky++, p += row) {
        const __m256 w0 = _mm256_loadu_ps(w + 3 * ky * c_n);
        const __m256 w1 = _mm256_loadu_ps(w + (3 * ky + 1) * c_n);
        const __m256 w2 = _mm256_loadu_ps(w + (3 * ky + 2) * c_n);
#pragma GCC unroll 10
        for (int j = 0; j < DW_RUN + 2; j++) {
            const __m256 v = _mm256_loadu_ps(p + j * c_n);
            if (j >= 2)
                a[j - 2] = _mm256_fmadd_ps(v, w2, a[j - 2]);
            if (j >= 1 && j - 1 < DW_RUN)
                a[j - 1] = _mm256_fmadd_ps(v, w1, a[j - 1]);
            if (j < DW_RUN)
                a[j] = _mm256_fmadd_ps(v, w0, a[j]);
        }
    }
#pragma GCC unroll 8
    for (int i = 0; i < DW_RUN; i++)
        _mm256_storeu_ps(o + i * c_n, relu ? _mm256_max_ps(a[i], _mm256_setzero_ps()) : a[i]);
}

static void depthwise_avx2(const fu_tensor *in, fu_tensor *out, const float *w, const float *b,
                           int relu, int y0, int y1)
{
    const int c_n = out->c;
    if (c_n % 8) {
        fu_kernels_ref.depthwise(in, out, w, b, relu, y0, y1);
        return;
    }
    const __m256 zero = _mm256_setzero_ps();
    const int row = (in->w + 2) * c_n;
    /* DW_RUN pixels at a time, all channel blocks of them before the next run: the input
     * lines they read are fetched into L1 once and used whole; the taps are reloaded from L1 */
    for (int y = y0; y < y1; y++) {
        const float *p = fu_tensor_at(in, y - 1, -1);
        float *o = fu_tensor_at(out, y, 0);
        int x = 0;
        for (; x + DW_RUN <= out->w; x += DW_RUN, p += DW_RUN * c_n, o += DW_RUN * c_n)
            for (int c = 0; c < c_n; c += 8)
                depthwise_run(p + c, o + c, c_n, row, w + c, _mm256_loadu_ps(b + c), relu);
        for (; x < out->w; x++, p += c_n, o += c_n)
            for (int c = 0; c < c_n; c += 8) {
                __m256 wk[9];
                for (int k = 0; k < 9; k++)
                    wk[k] = _mm256_loadu_ps(w + k * c_n + c);
                __m256 acc = depthwise_px1(p + c, c_n, row, wk, _mm256_loadu_ps(b + c));
                _mm256_storeu_ps(o + c, relu ? _mm256_max_ps(acc, zero) : acc);
            }
    }
}

static void maxpool2_avx2(const fu_tensor *in, fu_tensor *out, int y0, int y1)
{
    const int c_n = out->c;
    if (c_n % 8) {
        fu_kernels_ref.maxpool2(in, out, y0, y1);
        return;
    }
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < out->w; x++) {
            const float *a = fu_tensor_at(in, 2 * y, 2 * x), *c = fu_tensor_at(in, 2 * y + 1, 2 * x);
            float *o = fu_tensor_at(out, y, x);
            for (int ch = 0; ch < c_n; ch += 8) {
                __m256 top = _mm256_max_ps(_mm256_loadu_ps(a + ch), _mm256_loadu_ps(a + c_n + ch));
                __m256 bot = _mm256_max_ps(_mm256_loadu_ps(c + ch), _mm256_loadu_ps(c + c_n + ch));
                _mm256_storeu_ps(o + ch, _mm256_max_ps(top, bot));
            }
        }
}

static void upsample2_add_avx2(const fu_tensor *small, const fu_tensor *skip, fu_tensor *out,
                               int y0, int y1)
{
    const int c_n = out->c;
    if (c_n % 8) {
        fu_kernels_ref.upsample2_add(small, skip, out, y0, y1);
        return;
    }
    for (int y = y0; y < y1; y++)
        for (int x = 0; x < out->w; x++) {
            const float *s = fu_tensor_at(small, y / 2, x / 2), *k = fu_tensor_at(skip, y, x);
            float *o = fu_tensor_at(out, y, x);
            for (int ch = 0; ch < c_n; ch += 8)
                _mm256_storeu_ps(o + ch, _mm256_add_ps(_mm256_loadu_ps(k + ch), _mm256_loadu_ps(s + ch)));
        }
}

static void add_avx2(const fu_tensor *a, const fu_tensor *b, fu_tensor *out, int y0, int y1)
{
    const int n = out->w * out->c;
    for (int y = y0; y < y1; y++) {
        const float *p = fu_tensor_at(a, y, 0), *q = fu_tensor_at(b, y, 0);
        float *o = fu_tensor_at(out, y, 0);
        int i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(o + i, _mm256_add_ps(_mm256_loadu_ps(p + i), _mm256_loadu_ps(q + i)));
        for (; i < n; i++)
            o[i] = p[i] + q[i];
    }
}

const fu_kernels fu_kernels_avx2 = {
    "avx2", conv3x3s2_avx2, pointwise_avx2, depthwise_avx2, maxpool2_avx2, upsample2_add_avx2,
    add_avx2,
};
