/*
 * nn_dump.c - run the network on a raw input and dump every output tensor (test tool).
 *
 * Usage: nn_dump H W INPUT.f32 OUTPUT.f32 [THREADS]
 * INPUT holds 1x3xHxW float32 (NCHW, BGR, 0..255), as ONNX Runtime takes it. OUTPUT receives the
 * twelve ONNX outputs in graph order (cls_8, cls_16, cls_32, obj_*, bbox_*, kps_*), each as
 * float32 in the ONNX layout [cells][channels]. tests/test_network.py compares them with ORT.
 * FACEUP_FORCE_SCALAR=1 selects the reference kernels.
 */
#include <stdio.h>
#include <stdlib.h>

#include "models/yunet.h"

static const struct { int first, count; } PARTS[4] = {{0, 1}, {1, 1}, {2, 4}, {6, 10}};

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: nn_dump H W INPUT.f32 OUTPUT.f32 [THREADS]\n");
        return 2;
    }
    int h = atoi(argv[1]), w = atoi(argv[2]), threads = argc > 5 ? atoi(argv[5]) : 1;
    fu_yunet *net = fu_yunet_create(h, w);
    fu_tensor *in = net ? fu_yunet_input(net, h, w) : NULL;
    if (!in) {
        fprintf(stderr, "nn_dump: bad shape %dx%d\n", h, w);
        return 2;
    }
    size_t n = (size_t)3 * h * w;
    float *planar = malloc(n * sizeof(float));
    FILE *f = fopen(argv[3], "rb");
    if (!planar || !f || fread(planar, sizeof(float), n, f) != n) {
        fprintf(stderr, "nn_dump: cannot read %s\n", argv[3]);
        return 1;
    }
    fclose(f);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                fu_tensor_at(in, y, x)[c] = planar[((size_t)c * h + y) * w + x];
    fu_pool *pool = threads > 1 ? fu_pool_create(threads) : NULL;
    if (fu_yunet_forward(net, fu_kernels_best(), pool) != 0) {
        fprintf(stderr, "nn_dump: out of memory\n");
        return 1;
    }
    FILE *o = fopen(argv[4], "wb");
    if (!o)
        return 1;
    for (int part = 0; part < 4; part++)
        for (int l = 0; l < FU_YUNET_LEVELS; l++) {
            const fu_tensor *t = fu_yunet_output(net, l);
            for (int y = 0; y < t->h; y++)
                for (int x = 0; x < t->w; x++)
                    fwrite(fu_tensor_at(t, y, x) + PARTS[part].first, sizeof(float),
                           (size_t)PARTS[part].count, o);
        }
    fclose(o);
    fprintf(stderr, "nn_dump: kernels %s, threads %d\n", fu_kernels_best()->name, threads);
    fu_pool_destroy(pool);
    fu_yunet_destroy(net);
    free(planar);
    return 0;
}
