/*
 * yunet.c - YuNet's forward pass as a short walk over the layer table.
 *
 * The graph (from the ONNX file; layer numbers index fu_yunet_layers):
 *
 *   stride 2   body0 conv3x3s2 3->16 +relu; body1/2 pw+dw(relu)
 *   stride 4   maxpool; body3..10: four pw+dw(relu) pairs, 16->16->32->32->64
 *   stride 8   maxpool; body11..14 -> C3 (kept)
 *   stride 16  maxpool; body15..18 -> C4 (kept)
 *   stride 32  maxpool; body19..22; neck body23/24 -> P5
 *   stride 16  P5 upsampled + C4; body25/26 -> P4
 *   stride 8   P4 upsampled + C3; body27/28 -> P3
 *   heads      P3, P4, P5 each: 1x1 conv 64->16 then depthwise 3x3 (no relu); sigmoid on cls, obj
 *
 * Tensors are reused by stride: `a` and `b` ping-pong, `keep` holds C3/C4, `head` the outputs;
 * each pw+dw pair is one fused pass (fu_layer_dp), its 1x1 outputs never held whole.
 */
#include <math.h>
#include <stdlib.h>

#include "models/yunet.h"
#include "models/yunet_weights.h"
#include "nn/layer.h"

enum { S2, S4, S8, S16, S32, NSTRIDE };

struct fu_yunet {
    int max_h, max_w;
    fu_tensor input;
    fu_tensor a[NSTRIDE], b[NSTRIDE];
    fu_tensor keep[NSTRIDE];   /* C3 at S8, C4 at S16, P5 at S32 */
    fu_tensor p4;              /* P4 must survive while the S16 ping-pong is reused */
    fu_tensor head[FU_YUNET_LEVELS];
    float *scratch;            /* the fused pairs' (fu_layer_dp), grown to the pool's size */
    size_t scratch_n;
};

fu_yunet *fu_yunet_create(int max_h, int max_w)
{
    if (max_h < 32 || max_w < 32 || max_h % 32 || max_w % 32)
        return NULL;
    fu_yunet *net = calloc(1, sizeof *net);
    if (!net)
        return NULL;
    net->max_h = max_h;
    net->max_w = max_w;
    int ok = fu_tensor_alloc(&net->input, max_h, max_w, 3) == 0;
    static const int channels[NSTRIDE] = {16, 64, 64, 64, 64};
    for (int s = 0; s < NSTRIDE && ok; s++) {
        int h = max_h >> (s + 1), w = max_w >> (s + 1);
        ok = fu_tensor_alloc(&net->a[s], h, w, channels[s]) == 0
             && fu_tensor_alloc(&net->b[s], h, w, channels[s]) == 0
             && (s < S8 || fu_tensor_alloc(&net->keep[s], h, w, 64) == 0);
    }
    ok = ok && fu_tensor_alloc(&net->p4, max_h / 16, max_w / 16, 64) == 0;
    for (int l = 0; l < FU_YUNET_LEVELS && ok; l++)
        ok = fu_tensor_alloc(&net->head[l], max_h >> (3 + l), max_w >> (3 + l), 16) == 0;
    if (!ok) {
        fu_yunet_destroy(net);
        return NULL;
    }
    return net;
}

void fu_yunet_destroy(fu_yunet *net)
{
    if (!net)
        return;
    free(net->input.data);
    for (int s = 0; s < NSTRIDE; s++) {
        free(net->a[s].data);
        free(net->b[s].data);
        free(net->keep[s].data);
    }
    free(net->p4.data);
    free(net->scratch);
    for (int l = 0; l < FU_YUNET_LEVELS; l++)
        free(net->head[l].data);
    free(net);
}

fu_tensor *fu_yunet_input(fu_yunet *net, int h, int w)
{
    if (h > net->max_h || w > net->max_w || h % 32 || w % 32)
        return NULL;
    return fu_tensor_shape(&net->input, h, w, 3) == 0 ? &net->input : NULL;
}

typedef struct walk {
    const fu_kernels *k;
    fu_pool *pool;
    float *scratch;
} walk;

static void conv(const walk *w, int layer, const fu_tensor *in, fu_tensor *out, int relu)
{
    fu_layer_conv(w->k, w->pool, &fu_yunet_layers[layer], in, out, relu);
}

/* The ConvDPUnit of YuNet: 1x1 conv (linear), then depthwise 3x3 with relu; in != out. */
static void dp_unit(const walk *w, int layer, const fu_tensor *in, fu_tensor *out)
{
    fu_layer_dp(w->k, w->pool, &fu_yunet_layers[layer], &fu_yunet_layers[layer + 1], in, out, 1,
                w->scratch);
}

static void pool2(const walk *w, const fu_tensor *in, fu_tensor *out)
{
    fu_layer_maxpool(w->k, w->pool, in, out);
}

static void upsample_add(const walk *w, const fu_tensor *small, const fu_tensor *skip, fu_tensor *out)
{
    fu_layer_upsample_add(w->k, w->pool, small, skip, out);
}

static void head(const walk *w, int layer, const fu_tensor *in, fu_tensor *out)
{
    fu_layer_dp(w->k, w->pool, &fu_yunet_layers[layer], &fu_yunet_layers[layer + 1], in, out, 0,
                w->scratch);
    for (int y = 0; y < out->h; y++)
        for (int x = 0; x < out->w; x++) {
            float *v = fu_tensor_at(out, y, x);
            v[0] = 1.f / (1.f + expf(-v[0]));
            v[1] = 1.f / (1.f + expf(-v[1]));
        }
}

/* The fused pairs' scratch for `threads` threads: the widest row of pw outputs is at stride 4
 * (64 channels), or at stride 2 (16). */
static size_t scratch_floats(const fu_yunet *net, int threads)
{
    size_t s2 = fu_layer_dp_scratch(net->max_w / 2, 16, threads);
    size_t s4 = fu_layer_dp_scratch(net->max_w / 4, 64, threads);
    return s2 > s4 ? s2 : s4;
}

int fu_yunet_forward(fu_yunet *net, const fu_kernels *k, fu_pool *pool)
{
    size_t need = scratch_floats(net, fu_pool_size(pool));
    if (need > net->scratch_n) {
        float *more = malloc(need * sizeof *more);
        if (!more)
            return -1;
        free(net->scratch);
        net->scratch = more;
        net->scratch_n = need;
    }
    const walk w = {k, pool, net->scratch};
    fu_tensor *a = net->a, *b = net->b, *keep = net->keep;

    conv(&w, 0, &net->input, &a[S2], 1);
    dp_unit(&w, 1, &a[S2], &b[S2]);

    pool2(&w, &b[S2], &a[S4]);
    dp_unit(&w, 3, &a[S4], &b[S4]);
    dp_unit(&w, 5, &b[S4], &a[S4]);
    dp_unit(&w, 7, &a[S4], &b[S4]);
    dp_unit(&w, 9, &b[S4], &a[S4]);

    pool2(&w, &a[S4], &a[S8]);
    dp_unit(&w, 11, &a[S8], &b[S8]);
    dp_unit(&w, 13, &b[S8], &keep[S8]);                    /* C3 */

    pool2(&w, &keep[S8], &a[S16]);
    dp_unit(&w, 15, &a[S16], &b[S16]);
    dp_unit(&w, 17, &b[S16], &keep[S16]);                  /* C4 */

    pool2(&w, &keep[S16], &a[S32]);
    dp_unit(&w, 19, &a[S32], &b[S32]);
    dp_unit(&w, 21, &b[S32], &a[S32]);
    dp_unit(&w, 23, &a[S32], &keep[S32]);                  /* P5 */

    upsample_add(&w, &keep[S32], &keep[S16], &a[S16]);
    dp_unit(&w, 25, &a[S16], &net->p4);                    /* P4 */

    upsample_add(&w, &net->p4, &keep[S8], &a[S8]);
    fu_tensor *p3 = &b[S4];                                /* the S4 buffers are free by now */
    dp_unit(&w, 27, &a[S8], p3);                           /* P3 */

    head(&w, 29, p3, &net->head[0]);
    head(&w, 31, &net->p4, &net->head[1]);
    head(&w, 33, &keep[S32], &net->head[2]);
    return 0;
}

const fu_tensor *fu_yunet_output(const fu_yunet *net, int level)
{
    return &net->head[level];
}
