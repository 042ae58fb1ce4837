/*
 * orient_weights.h - weights of faceup's own face-orientation classifier (internal).
 *
 * Trained by tools/train_orient.py on faces-train (record: tools/train_orient.record.md) and
 * committed as src/models/orient_weights.c: batch-norm folded, exact hex floats, our kernels' layouts.
 */
#ifndef FU_ORIENT_WEIGHTS_H
#define FU_ORIENT_WEIGHTS_H

#include "nn/layer.h"   /* fu_conv_weights */

#define FU_ORIENT_LAYERS 9      /* conv0, then (pw, dw) x 4 */
#define FU_ORIENT_CLASSES 5     /* turned 0, 90, 180, 270 degrees clockwise; not a face */
#define FU_ORIENT_FEATURES (3 * 3 * 64)

extern const fu_conv_weights fu_orient_layers[FU_ORIENT_LAYERS];
extern const float fu_orient_fc_w[FU_ORIENT_CLASSES * FU_ORIENT_FEATURES];
extern const float fu_orient_fc_b[FU_ORIENT_CLASSES];
extern const float fu_orient_temperature;   /* softmax temperature fitted on held-out crops */
extern const float fu_orient_crop_scale;    /* crop side / longer side of the face box */

#endif
