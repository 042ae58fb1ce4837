/*
 * yunet_weights.h - the YuNet weights embedded at build time (internal).
 *
 * tools/onnx_to_c.py writes yunet_weights.c from the ONNX file: exact values, const, in the layer
 * order src/yunet.c walks, each laid out for its kernel (see nn_kernels.h).
 */
#ifndef FU_YUNET_WEIGHTS_H
#define FU_YUNET_WEIGHTS_H

typedef enum fu_conv_kind {
    FU_CONV3X3S2 = 0, /* full 3x3 conv, stride 2, pad 1: weights [ky][kx][ci][co] */
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

extern const fu_conv_weights fu_yunet_layers[];
extern const int fu_yunet_layer_count;
extern const char fu_yunet_model_name[];
extern const char fu_yunet_model_sha256[];

#endif
