/*
 * layer.c - shape the output, then run the kernel on the pool's threads, each on its rows.
 */
#include "nn/layer.h"

#include <stddef.h>

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
