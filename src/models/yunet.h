/*
 * models/ - the two networks faceup runs, each a layer table, its weights and a forward
 * function: YuNet 2023mar, the face detector (yunet.c; weights converted at build time by
 * tools/onnx_to_c.py), and our face-orientation reader (reader.c; weights in reader_weights.bin,
 * written by tools/train_reader.py, converted at build time by tools/reader_to_c.py). Includes nn/, geom/ and base/: a model
 * turns pixels into numbers and knows nothing of the decision made from them.
 *
 * yunet.h - the YuNet 2023mar network on our kernels (internal).
 *
 * Input: BGR, values 0..255 (no normalisation), height and width multiples of 32. Output: for
 * each stride 8, 16, 32 a (h/stride) x (w/stride) x 16 tensor whose channels are, per cell:
 *   0 cls, 1 obj (both after the sigmoid), 2..5 bbox (dx, dy, log w, log h), 6..15 five landmarks
 *   (dx, dy) - the ONNX outputs cls_N, obj_N, bbox_N, kps_N interleaved by cell.
 */
#ifndef FU_YUNET_H
#define FU_YUNET_H

#include "nn/kernels.h"
#include "nn/threadpool.h"

#define FU_YUNET_LEVELS 3
#define FU_YUNET_HEAD_CHANNELS 16

typedef struct fu_yunet fu_yunet;

/* A network whose workspace fits inputs up to max_h x max_w pixels. NULL when out of memory. */
fu_yunet *fu_yunet_create(int max_h, int max_w);
void fu_yunet_destroy(fu_yunet *net);

/* The input tensor for an h x w image (multiples of 32, within the maximum), border zeroed, for
 * the caller to fill; NULL when the shape does not fit. */
fu_tensor *fu_yunet_input(fu_yunet *net, int h, int w);

/* Run the network on the input tensor with the given kernels, splitting rows over the pool
 * (may be NULL). 0, or -1 when the scratch for a larger pool than before cannot be had. */
int fu_yunet_forward(fu_yunet *net, const fu_kernels *k, fu_pool *pool);

/* Output of level i (0: stride 8, 1: stride 16, 2: stride 32) after fu_yunet_forward. */
const fu_tensor *fu_yunet_output(const fu_yunet *net, int level);

static inline int fu_yunet_stride(int level)
{
    return 8 << level;
}

#endif
