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

/* Four neighbouring output pixels at once, so each weight load serves four FMAs. Same per-lane
 * order as conv3x3s2_px1 and the reference. */
static void conv3x3s2_px4(const fu_tensor *in, float *o, const float *w, const float *b, int y,
                          int x)
{
    __m256 a[4][2];
    for (int i = 0; i < 4; i++) {
        a[i][0] = _mm256_loadu_ps(b);
        a[i][1] = _mm256_loadu_ps(b + 8);
    }
    for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++) {
            const float *p = fu_tensor_at(in, 2 * y + ky - 1, 2 * x + kx - 1);
            const float *wk = w + (ky * 3 + kx) * 3 * 16;
            for (int ci = 0; ci < 3; ci++) {
                __m256 w0 = _mm256_loadu_ps(wk + ci * 16), w1 = _mm256_loadu_ps(wk + ci * 16 + 8);
                for (int i = 0; i < 4; i++) {
                    __m256 v = _mm256_broadcast_ss(p + i * 6 + ci);   /* stride 2 pixels of 3 */
                    a[i][0] = _mm256_fmadd_ps(v, w0, a[i][0]);
                    a[i][1] = _mm256_fmadd_ps(v, w1, a[i][1]);
                }
            }
        }
    const __m256 z = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
        _mm256_storeu_ps(o + i * 16, _mm256_max_ps(a[i][0], z));
        _mm256_storeu_ps(o + i * 16 + 8, _mm256_max_ps(a[i][1], z));
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
        for (; x + 4 <= out->w; x += 4)
            conv3x3s2_px4(in, fu_tensor_at(out, y, x), w, b, y, x);
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
    for (int c = 0; c < c_n; c += 8) {
        __m256 wk[9];
        for (int k = 0; k < 9; k++)
            wk[k] = _mm256_loadu_ps(w + k * c_n + c);
        const __m256 bias = _mm256_loadu_ps(b + c);
        for (int y = y0; y < y1; y++) {
            const float *p = fu_tensor_at(in, y - 1, -1) + c;
            float *o = fu_tensor_at(out, y, 0) + c;
            for (int x = 0; x < out->w; x++, p += c_n, o += c_n) {
                __m256 acc = bias;
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(p), wk[0], acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + c_n), wk[1], acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + 2 * c_n), wk[2], acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + row), wk[3], acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + row + c_n), wk[4], acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + row + 2 * c_n), wk[5], acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + 2 * row), wk[6], acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + 2 * row + c_n), wk[7], acc);
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(p + 2 * row + 2 * c_n), wk[8], acc);
                _mm256_storeu_ps(o, relu ? _mm256_max_ps(acc, zero) : acc);
            }
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
