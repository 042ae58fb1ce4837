/*
 * yunet_weights.h - the YuNet weights embedded at build time (internal).
 *
 * tools/onnx_to_c.py writes yunet_weights.c from the ONNX file: exact values, const, in the layer
 * order models/yunet.c walks, each laid out for its kernel (see nn/kernels.h).
 */
#ifndef FU_YUNET_WEIGHTS_H
#define FU_YUNET_WEIGHTS_H

#include "nn/layer.h"   /* fu_conv_weights */

extern const fu_conv_weights fu_yunet_layers[];
extern const int fu_yunet_layer_count;
extern const char fu_yunet_model_name[];
extern const char fu_yunet_model_sha256[];

#endif
