/*
 * layer.c - shape the output, then run the kernel on the pool's threads, each on its rows.
 */
#include "nn/layer.h"

#include <stddef.h>
#include <string.h>

enum { OP_CONV, OP_POOL, OP_UPADD, OP_ADD };

/* One layer call, split by output rows over the pool. */
typedef struct layer_job {
    const fu_kernels *k;
    const fu_conv_weights *L;
    const fu_tensor *in, *in2;
    fu_tensor *out;
    int op, relu;
} layer_job;

static void layer_rows(void *p, int ith, int nth)
{
    const layer_job *j = p;
    int y0 = (int)((long)j->out->h * ith / nth), y1 = (int)((long)j->out->h * (ith + 1) / nth);
    if (y0 >= y1)
        return;
    if (j->op == OP_POOL) {
        j->k->maxpool2(j->in, j->out, y0, y1);
    } else if (j->op == OP_UPADD) {
        j->k->upsample2_add(j->in, j->in2, j->out, y0, y1);
    } else if (j->op == OP_ADD) {
        j->k->add(j->in, j->in2, j->out, y0, y1);
    } else if (j->L->kind == FU_CONV3X3S2) {
        j->k->conv3x3s2(j->in, j->out, j->L->w, j->L->b, y0, y1);
    } else if (j->L->kind == FU_CONV_PW) {
        j->k->pointwise(j->in, j->out, j->L->w, j->L->b, j->relu, y0, y1);
    } else {
        j->k->depthwise(j->in, j->out, j->L->w, j->L->b, j->relu, y0, y1);
    }
}

void fu_layer_conv(const fu_kernels *k, fu_pool *pool, const fu_conv_weights *L,
                   const fu_tensor *in, fu_tensor *out, int relu)
{
    int half = L->kind == FU_CONV3X3S2;
    fu_tensor_shape(out, half ? in->h / 2 : in->h, half ? in->w / 2 : in->w, L->cout);
    layer_job j = {k, L, in, NULL, out, OP_CONV, relu};
    fu_pool_run(pool, layer_rows, &j);
}

void fu_layer_maxpool(const fu_kernels *k, fu_pool *pool, const fu_tensor *in, fu_tensor *out)
{
    fu_tensor_shape(out, in->h / 2, in->w / 2, in->c);
    layer_job j = {k, NULL, in, NULL, out, OP_POOL, 0};
    fu_pool_run(pool, layer_rows, &j);
}

void fu_layer_upsample_add(const fu_kernels *k, fu_pool *pool, const fu_tensor *small,
                           const fu_tensor *skip, fu_tensor *out)
{
    fu_tensor_shape(out, skip->h, skip->w, skip->c);
    layer_job j = {k, NULL, small, skip, out, OP_UPADD, 0};
    fu_pool_run(pool, layer_rows, &j);
}

void fu_layer_add(const fu_kernels *k, fu_pool *pool, const fu_tensor *a, const fu_tensor *b,
                  fu_tensor *out)
{
    fu_tensor_shape(out, a->h, a->w, a->c);
    layer_job j = {k, NULL, a, b, out, OP_ADD, 0};
    fu_pool_run(pool, layer_rows, &j);
}

/* ---- the fused 1x1 + depthwise pair ------------------------------------------------------- */

typedef struct dp_job {
    const fu_kernels *k;
    const fu_conv_weights *pw, *dw;
    const fu_tensor *in;
    fu_tensor *out;
    int relu;
    float *scratch;
    size_t per_thread;
} dp_job;

size_t fu_layer_dp_scratch(int w, int c, int nthreads)
{
    return (size_t)(FU_DP_STRIP + 4) * (size_t)(w + 2) * (size_t)c * (size_t)nthreads;
}

/* rows [y, y + n) of t as a tensor of its own (its row -1 and row n are t's rows y - 1, y + n) */
static fu_tensor rows_of(const fu_tensor *t, int y, int n)
{
    fu_tensor v = *t;
    v.data = t->data + (size_t)y * (size_t)(t->w + 2) * (size_t)t->c;
    v.h = n;
    return v;
}

/* tmp's rows r = 0 .. n + 1 are pw's image rows ys - 1 + r (zero outside the image); dw reads
 * them for the output rows ys .. ys + n - 1. The next strip keeps the last two. */
static void dp_rows(void *p, int ith, int nth)
{
    const dp_job *j = p;
    const int h = j->in->h, w = j->in->w, c = j->pw->cout;
    int y0 = (int)((long)h * ith / nth), y1 = (int)((long)h * (ith + 1) / nth);
    if (y0 >= y1)
        return;
    fu_tensor tmp = {j->scratch + (size_t)ith * j->per_thread, 0, 0, 0, j->per_thread};
    fu_tensor_shape(&tmp, FU_DP_STRIP + 2, w, c);
    const size_t row = (size_t)(w + 2) * (size_t)c;
    for (int ys = y0; ys < y1; ys += FU_DP_STRIP) {
        int n = y1 - ys < FU_DP_STRIP ? y1 - ys : FU_DP_STRIP, r = 0;
        if (ys > y0) {   /* rows ys - 1 and ys: the last two of the strip before */
            memcpy(fu_tensor_at(&tmp, 0, -1), fu_tensor_at(&tmp, FU_DP_STRIP, -1),
                   2 * row * sizeof(float));
            r = 2;
        }
        for (; r < n + 2 && ys - 1 + r < 0; r++)
            memset(fu_tensor_at(&tmp, r, -1), 0, row * sizeof(float));
        int last = n + 2;
        while (last > r && ys - 1 + last - 1 >= h)
            memset(fu_tensor_at(&tmp, --last, -1), 0, row * sizeof(float));
        if (last > r) {
            fu_tensor src = rows_of(j->in, ys - 1 + r, last - r), dst = rows_of(&tmp, r, last - r);
            j->k->pointwise(&src, &dst, j->pw->w, j->pw->b, 0, 0, last - r);
        }
        fu_tensor from = rows_of(&tmp, 1, n + 2), to = rows_of(j->out, ys, n);
        j->k->depthwise(&from, &to, j->dw->w, j->dw->b, j->relu, 0, n);
    }
}

void fu_layer_dp(const fu_kernels *k, fu_pool *pool, const fu_conv_weights *pw,
                 const fu_conv_weights *dw, const fu_tensor *in, fu_tensor *out, int relu,
                 float *scratch)
{
    fu_tensor_shape(out, in->h, in->w, dw->cout);
    dp_job j = {k, pw, dw, in, out, relu, scratch, fu_layer_dp_scratch(in->w, pw->cout, 1)};
    fu_pool_run(pool, dp_rows, &j);
}
