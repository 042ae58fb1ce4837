/*
 * orient_net.c - the face-orientation classifier: crop, four turns, a tiny CNN, softmax.
 *
 *   48x48x3 -> conv3x3s2 16 (relu) -> 24x24: pw 32, dw (relu) -> maxpool 12x12: pw 32, dw (relu)
 *   -> maxpool 6x6: pw 64, dw (relu); pw 64, dw (relu) -> maxpool 3x3x64 -> dense 576 -> 5
 *
 * The crop is the one tools/train_orient.py trains on: a square of side fu_orient_crop_scale x the
 * longer side of the box, centred on it, black outside the image, area-averaged (or bilinear when enlarging) to
 * 48x48, BGR 0..255 (the 1/255 of training is folded into the first layer).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "models/orient_net.h"

#include "geom/resize.h"
#include "nn/layer.h"

struct fu_orient_net {
    fu_tensor in, a24, b24, a12, b12, a6, b6, p3;
    fu_image small;  /* the face's square crop, 48x48 */
    fu_image turned;
    fu_buf scratch;  /* the crop's resampling */
};

fu_orient_net *fu_orient_net_create(void)
{
    fu_orient_net *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    if (fu_tensor_alloc(&n->in, 48, 48, 3) || fu_tensor_alloc(&n->a24, 24, 24, 32)
        || fu_tensor_alloc(&n->b24, 24, 24, 32) || fu_tensor_alloc(&n->a12, 12, 12, 32)
        || fu_tensor_alloc(&n->b12, 12, 12, 32) || fu_tensor_alloc(&n->a6, 6, 6, 64)
        || fu_tensor_alloc(&n->b6, 6, 6, 64) || fu_tensor_alloc(&n->p3, 3, 3, 64)) {
        fu_orient_net_destroy(n);
        return NULL;
    }
    return n;
}

void fu_orient_net_destroy(fu_orient_net *n)
{
    if (!n)
        return;
    fu_tensor *t[] = {&n->in, &n->a24, &n->b24, &n->a12, &n->b12, &n->a6, &n->b6, &n->p3};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        free(t[i]->data);
    fu_image_free(&n->small);
    fu_image_free(&n->turned);
    fu_buf_free(&n->scratch);
    free(n);
}

static void conv(const fu_kernels *k, int layer, const fu_tensor *in, fu_tensor *out, int relu)
{
    fu_layer_conv(k, NULL, &fu_orient_layers[layer], in, out, relu);
}

static void pool(const fu_kernels *k, const fu_tensor *in, fu_tensor *out)
{
    fu_layer_maxpool(k, NULL, in, out);
}

/* Logits of the network on a 48x48 RGB image. */
static void forward(fu_orient_net *n, const fu_kernels *k, const fu_image *img, float logits[5])
{
    fu_tensor_shape(&n->in, 48, 48, 3);
    fu_tensor_put_bgr(&n->in, 0, 0, img->px, 48, 48, (size_t)img->stride);
    conv(k, 0, &n->in, &n->a24, 1);
    conv(k, 1, &n->a24, &n->b24, 0);
    conv(k, 2, &n->b24, &n->a24, 1);
    pool(k, &n->a24, &n->a12);
    conv(k, 3, &n->a12, &n->b12, 0);
    conv(k, 4, &n->b12, &n->a12, 1);
    pool(k, &n->a12, &n->a6);
    conv(k, 5, &n->a6, &n->b6, 0);
    conv(k, 6, &n->b6, &n->a6, 1);
    conv(k, 7, &n->a6, &n->b6, 0);
    conv(k, 8, &n->b6, &n->a6, 1);
    pool(k, &n->a6, &n->p3);
    /* dense layer over the 3x3x64 features in NHWC order: 2,880 multiply-adds, scalar is plenty */
    for (int c = 0; c < FU_ORIENT_CLASSES; c++) {
        const float *w = fu_orient_fc_w + (size_t)c * FU_ORIENT_FEATURES;
        float acc = fu_orient_fc_b[c];
        int i = 0;
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++) {
                const float *f = fu_tensor_at(&n->p3, y, x);
                for (int ch = 0; ch < 64; ch++)
                    acc = fmaf(f[ch], w[i++], acc);
            }
        logits[c] = acc;
    }
}

int fu_orient_net_classify(fu_orient_net *n, const fu_kernels *k, const fu_image *img, float x,
                           float y, float w, float h, float prob[FU_ORIENT_CLASSES])
{
    int rc = fu_image_crop_square(img, x + w / 2, y + h / 2, fu_orient_crop_scale * (w > h ? w : h),
                                  FU_ORIENT_SIZE, &n->small, &n->scratch);
    if (rc != FACEUP_OK)
        return rc;
    double logp[FU_ORIENT_CLASSES] = {0};
    for (int r = 0; r < 4; r++) {
        const fu_image *src = &n->small;
        if (r > 0) {
            if ((rc = fu_image_turn(&n->small, fu_d4_turn_cw(90 * r), &n->turned)) != FACEUP_OK)
                return rc;
            src = &n->turned;
        }
        float logits[FU_ORIENT_CLASSES];
        forward(n, k, src, logits);
        double mx = -1e30, z = 0;
        for (int c = 0; c < FU_ORIENT_CLASSES; c++) {
            logits[c] /= fu_orient_temperature;
            mx = logits[c] > mx ? logits[c] : mx;
        }
        for (int c = 0; c < FU_ORIENT_CLASSES; c++)
            z += exp(logits[c] - mx);
        /* the crop turned by 90r shows a face turned by (k + r): credit turn k of the crop */
        for (int c = 0; c < 4; c++)
            logp[c] += logits[(c + r) % 4] - mx - log(z);
        logp[4] += logits[4] - mx - log(z);
    }
    double mx = -1e30, z = 0;
    for (int c = 0; c < FU_ORIENT_CLASSES; c++)
        mx = logp[c] / 4 > mx ? logp[c] / 4 : mx;
    for (int c = 0; c < FU_ORIENT_CLASSES; c++)
        z += exp(logp[c] / 4 - mx);
    for (int c = 0; c < FU_ORIENT_CLASSES; c++)
        prob[c] = (float)(exp(logp[c] / 4 - mx) / z);
    return FACEUP_OK;
}
