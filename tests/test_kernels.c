/*
 * test_kernels.c - every kernel against the scalar reference, and the reference against a plain
 * textbook convolution, on odd shapes; the fused 1x1 + depthwise pass against the two layers it
 * replaces; the network's outputs against thread counts.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "nn/kernels.h"
#include "nn/layer.h"
#include "nn/threadpool.h"
#include "models/yunet.h"
#include "models/yunet_weights.h"

static uint32_t rng_state = 12345;

static float frand(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)(rng_state >> 8) / (float)(1u << 24) * 2.f - 1.f;
}

static fu_tensor make(int h, int w, int c, int fill)
{
    fu_tensor t = {0};
    t.capacity = (size_t)(h + 2) * (size_t)(w + 2) * (size_t)c;
    t.data = calloc(t.capacity, sizeof(float));
    assert_non_null(t.data);
    assert_int_equal(fu_tensor_shape(&t, h, w, c), 0);
    if (fill)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int k = 0; k < c; k++)
                    fu_tensor_at(&t, y, x)[k] = frand();
    return t;
}

static float *randv(size_t n)
{
    float *v = malloc(n * sizeof(float));
    assert_non_null(v);
    for (size_t i = 0; i < n; i++)
        v[i] = frand();
    return v;
}

/* value of the padded input at (y, x), zero outside: the textbook definition of padding */
static double in_at(const fu_tensor *t, int y, int x, int c)
{
    return (y < 0 || x < 0 || y >= t->h || x >= t->w) ? 0.0 : fu_tensor_at(t, y, x)[c];
}

static void assert_same(const fu_tensor *a, const fu_tensor *b)
{
    assert_int_equal(a->h, b->h);
    assert_int_equal(a->w, b->w);
    assert_int_equal(a->c, b->c);
    for (int y = 0; y < a->h; y++)
        assert_memory_equal(fu_tensor_at(a, y, 0), fu_tensor_at(b, y, 0),
                            (size_t)a->w * (size_t)a->c * sizeof(float));
}

/* The AVX2 kernels can only be compared where the CPU runs them. */
static void require_avx2(void)
{
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return;
#endif
    skip();
}

static const int shapes[][2] = {{1, 1}, {1, 7}, {3, 5}, {4, 4}, {5, 9}, {7, 13}, {8, 3}, {3, 37}};

static void test_pointwise_matches_textbook_and_avx2(void **state)
{
    (void)state;
    require_avx2();
    static const int chans[][2] = {{16, 16}, {16, 32}, {32, 64}, {64, 16}, {3, 16}, {8, 8}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t c = 0; c < sizeof chans / sizeof chans[0]; c++)
            for (int relu = 0; relu < 2; relu++) {
                int h = shapes[s][0], w = shapes[s][1], ci = chans[c][0], co = chans[c][1];
                fu_tensor in = make(h, w, ci, 1), ref = make(h, w, co, 0), simd = make(h, w, co, 0);
                float *wt = randv((size_t)ci * co), *b = randv((size_t)co);
                fu_kernels_ref.pointwise(&in, &ref, wt, b, relu, 0, h);
                fu_kernels_avx2.pointwise(&in, &simd, wt, b, relu, 0, h);
                assert_same(&ref, &simd);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        for (int o = 0; o < co; o++) {
                            double acc = b[o];
                            for (int i = 0; i < ci; i++)
                                acc += in_at(&in, y, x, i) * wt[i * co + o];
                            if (relu && acc < 0)
                                acc = 0;
                            assert_true(fabs(acc - fu_tensor_at(&ref, y, x)[o]) < 1e-4);
                        }
                free(in.data); free(ref.data); free(simd.data); free(wt); free(b);
            }
}

static void test_depthwise_matches_textbook_and_avx2(void **state)
{
    (void)state;
    require_avx2();
    static const int chans[] = {8, 16, 64, 10};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t c = 0; c < sizeof chans / sizeof chans[0]; c++)
            for (int relu = 0; relu < 2; relu++) {
                int h = shapes[s][0], w = shapes[s][1], ch = chans[c];
                fu_tensor in = make(h, w, ch, 1), ref = make(h, w, ch, 0), simd = make(h, w, ch, 0);
                float *wt = randv((size_t)9 * ch), *b = randv((size_t)ch);
                fu_kernels_ref.depthwise(&in, &ref, wt, b, relu, 0, h);
                fu_kernels_avx2.depthwise(&in, &simd, wt, b, relu, 0, h);
                assert_same(&ref, &simd);
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        for (int k = 0; k < ch; k++) {
                            double acc = b[k];
                            for (int ky = 0; ky < 3; ky++)
                                for (int kx = 0; kx < 3; kx++)
                                    acc += in_at(&in, y + ky - 1, x + kx - 1, k) * wt[(ky * 3 + kx) * ch + k];
                            if (relu && acc < 0)
                                acc = 0;
                            assert_true(fabs(acc - fu_tensor_at(&ref, y, x)[k]) < 1e-4);
                        }
                free(in.data); free(ref.data); free(simd.data); free(wt); free(b);
            }
}

static void test_conv3x3s2_matches_textbook_and_avx2(void **state)
{
    (void)state;
    require_avx2();
    static const int hw[][2] = {{2, 2}, {2, 14}, {6, 10}, {8, 8}, {14, 6}};
    for (size_t s = 0; s < sizeof hw / sizeof hw[0]; s++) {
        int h = hw[s][0], w = hw[s][1], co = 16;
        fu_tensor in = make(h, w, 3, 1), ref = make(h / 2, w / 2, co, 0), simd = make(h / 2, w / 2, co, 0);
        float *wt = randv((size_t)27 * co), *b = randv((size_t)co);
        fu_kernels_ref.conv3x3s2(&in, &ref, wt, b, 0, h / 2);
        fu_kernels_avx2.conv3x3s2(&in, &simd, wt, b, 0, h / 2);
        assert_same(&ref, &simd);
        for (int y = 0; y < h / 2; y++)
            for (int x = 0; x < w / 2; x++)
                for (int o = 0; o < co; o++) {
                    double acc = b[o];
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++)
                            for (int i = 0; i < 3; i++)
                                acc += in_at(&in, 2 * y + ky - 1, 2 * x + kx - 1, i) * wt[((ky * 3 + kx) * 3 + i) * co + o];
                    assert_true(fabs((acc < 0 ? 0 : acc) - fu_tensor_at(&ref, y, x)[o]) < 1e-4);
                }
        free(in.data); free(ref.data); free(simd.data); free(wt); free(b);
    }
}

static void test_maxpool_and_upsample_add(void **state)
{
    (void)state;
    require_avx2();
    for (int ch = 8; ch <= 24; ch += 8) {
        fu_tensor in = make(6, 10, ch, 1), ref = make(3, 5, ch, 0), simd = make(3, 5, ch, 0);
        fu_kernels_ref.maxpool2(&in, &ref, 0, 3);
        fu_kernels_avx2.maxpool2(&in, &simd, 0, 3);
        assert_same(&ref, &simd);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 5; x++)
                for (int k = 0; k < ch; k++) {
                    float m = fmaxf(fmaxf(in_at(&in, 2 * y, 2 * x, k), in_at(&in, 2 * y, 2 * x + 1, k)),
                                    fmaxf(in_at(&in, 2 * y + 1, 2 * x, k), in_at(&in, 2 * y + 1, 2 * x + 1, k)));
                    assert_true(m == fu_tensor_at(&ref, y, x)[k]);
                }
        fu_tensor skip = make(6, 10, ch, 1), o1 = make(6, 10, ch, 0), o2 = make(6, 10, ch, 0);
        fu_kernels_ref.upsample2_add(&ref, &skip, &o1, 0, 6);
        fu_kernels_avx2.upsample2_add(&ref, &skip, &o2, 0, 6);
        assert_same(&o1, &o2);
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 10; x++)
                for (int k = 0; k < ch; k++)
                    assert_true(fu_tensor_at(&o1, y, x)[k] == fu_tensor_at(&skip, y, x)[k] + fu_tensor_at(&ref, y / 2, x / 2)[k]);
        free(in.data); free(ref.data); free(simd.data); free(skip.data); free(o1.data); free(o2.data);
    }
}

/* The residual connection: exactly a + b, in place too, on widths that are and are not a
 * multiple of the vector. */
static void test_add_matches_definition_and_avx2(void **state)
{
    (void)state;
    require_avx2();
    for (int ch = 3; ch <= 24; ch += 7) {
        fu_tensor a = make(5, 9, ch, 1), b = make(5, 9, ch, 1), o1 = make(5, 9, ch, 0), o2 = make(5, 9, ch, 0);
        fu_kernels_ref.add(&a, &b, &o1, 0, 5);
        fu_kernels_avx2.add(&a, &b, &o2, 0, 5);
        assert_same(&o1, &o2);
        for (int y = 0; y < 5; y++)
            for (int x = 0; x < 9; x++)
                for (int k = 0; k < ch; k++)
                    assert_true(fu_tensor_at(&o1, y, x)[k] == fu_tensor_at(&a, y, x)[k] + fu_tensor_at(&b, y, x)[k]);
        fu_kernels_avx2.add(&a, &b, &a, 0, 5);   /* in place */
        assert_same(&o1, &a);
        free(a.data); free(b.data); free(o1.data); free(o2.data);
    }
}

/* fu_layer_dp gives what the 1x1 layer and then the depthwise layer give, bit for bit: heights
 * of one strip, several and a part, split over threads, both kernel sets. */
static void test_fused_pair_equals_the_two_layers(void **state)
{
    (void)state;
    require_avx2();
    static const int dims[][2] = {{1, 5}, {2, 9}, {FU_DP_STRIP, 8}, {19, 21}, {40, 3}};
    static const int chans[][2] = {{16, 16}, {16, 64}, {64, 16}};
    const fu_kernels *ks[] = {&fu_kernels_ref, &fu_kernels_avx2};
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (size_t c = 0; c < sizeof chans / sizeof chans[0]; c++)
            for (int threads = 1; threads <= 3; threads += 2) {
                int h = dims[d][0], w = dims[d][1], ci = chans[c][0], co = chans[c][1];
                fu_conv_weights pw = {"pw", FU_CONV_PW, ci, co, randv((size_t)ci * co), randv((size_t)co)};
                fu_conv_weights dw = {"dw", FU_CONV_DW, co, co, randv((size_t)9 * co), randv((size_t)co)};
                fu_tensor in = make(h, w, ci, 1), tmp = make(h, w, co, 0);
                fu_tensor two = make(h, w, co, 0), fused = make(h, w, co, 0);
                fu_pool *pool = threads > 1 ? fu_pool_create(threads) : NULL;
                float *scratch = calloc(fu_layer_dp_scratch(w, co, threads), sizeof(float));
                assert_non_null(scratch);
                for (size_t ki = 0; ki < 2; ki++)
                    for (int relu = 0; relu < 2; relu++) {
                        fu_layer_conv(ks[ki], pool, &pw, &in, &tmp, 0);
                        fu_layer_conv(ks[ki], pool, &dw, &tmp, &two, relu);
                        memset(fused.data, 0xff, fused.capacity * sizeof(float));   /* NaN */
                        fu_layer_dp(ks[ki], pool, &pw, &dw, &in, &fused, relu, scratch);
                        assert_same(&two, &fused);
                    }
                fu_pool_destroy(pool);
                free(scratch); free(in.data); free(tmp.data); free(two.data); free(fused.data);
                free((void *)pw.w); free((void *)pw.b); free((void *)dw.w); free((void *)dw.b);
            }
}

static void test_tensor_shape_rejects_over_capacity(void **state)
{
    (void)state;
    fu_tensor t = make(4, 4, 8, 0);
    assert_int_equal(fu_tensor_shape(&t, 5, 4, 8), -1);
    assert_int_equal(fu_tensor_shape(&t, 2, 2, 16), 0);
    free(t.data);
}

/* The whole network, on every kernel set and 1, 2, 3 and 7 threads: identical bits. */
static void test_network_independent_of_threads_and_simd(void **state)
{
    (void)state;
    require_avx2();
    const int h = 96, w = 160;
    float *first[FU_YUNET_LEVELS] = {0};
    size_t size[FU_YUNET_LEVELS] = {0};
    const fu_kernels *ks[] = {&fu_kernels_ref, &fu_kernels_avx2};
    const int threads[] = {1, 2, 3, 7};
    fu_yunet *net = fu_yunet_create(h, w);
    assert_non_null(net);
    for (size_t ki = 0; ki < 2; ki++)
        for (size_t ti = 0; ti < 4; ti++) {
            fu_tensor *in = fu_yunet_input(net, h, w);
            assert_non_null(in);
            rng_state = 99;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    for (int c = 0; c < 3; c++)
                        fu_tensor_at(in, y, x)[c] = (frand() + 1.f) * 127.5f;
            fu_pool *pool = threads[ti] > 1 ? fu_pool_create(threads[ti]) : NULL;
            assert_int_equal(fu_yunet_forward(net, ks[ki], pool), 0);
            fu_pool_destroy(pool);
            for (int l = 0; l < FU_YUNET_LEVELS; l++) {
                const fu_tensor *o = fu_yunet_output(net, l);
                size_t n = (size_t)(o->h + 2) * (o->w + 2) * o->c;
                if (!first[l]) {
                    first[l] = malloc(n * sizeof(float));
                    memcpy(first[l], o->data, n * sizeof(float));
                    size[l] = n;
                } else {
                    assert_int_equal(n, size[l]);
                    assert_memory_equal(first[l], o->data, n * sizeof(float));
                }
            }
        }
    for (int l = 0; l < FU_YUNET_LEVELS; l++)
        free(first[l]);
    fu_yunet_destroy(net);
}

static void test_embedded_model_identity(void **state)
{
    (void)state;
    assert_string_equal(fu_yunet_model_name, "face_detection_yunet_2023mar.onnx");
    assert_string_equal(fu_yunet_model_sha256,
                        "8f2383e4dd3cfbb4553ea8718107fc0423210dc964f9f4280604804ed2552fa4");
    assert_int_equal(fu_yunet_layer_count, 35);
    /* YuNet 2023mar has 53,104 weights and biases in 53 convolutions (and 17 shape constants);
     * stacking the heads keeps every one */
    long params = 0;
    for (int i = 0; i < fu_yunet_layer_count; i++) {
        const fu_conv_weights *L = &fu_yunet_layers[i];
        long k = L->kind == FU_CONV_DW ? 9 : L->kind == FU_CONV_PW ? L->cin : 27;
        params += k * L->cout + L->cout;
    }
    assert_int_equal(params, 53104);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointwise_matches_textbook_and_avx2),
        cmocka_unit_test(test_depthwise_matches_textbook_and_avx2),
        cmocka_unit_test(test_conv3x3s2_matches_textbook_and_avx2),
        cmocka_unit_test(test_maxpool_and_upsample_add),
        cmocka_unit_test(test_add_matches_definition_and_avx2),
        cmocka_unit_test(test_fused_pair_equals_the_two_layers),
        cmocka_unit_test(test_tensor_shape_rejects_over_capacity),
        cmocka_unit_test(test_network_independent_of_threads_and_simd),
        cmocka_unit_test(test_embedded_model_identity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
