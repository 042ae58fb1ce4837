/*
 * reader.c - the face-orientation reader: crop, a small residual CNN, log-softmax.
 *
 *   64x64x3 -> conv3x3 s2 16 (relu) -> 32x32
 *   stage 0 @32: pw 32, dw (relu)                      -> maxpool 16x16
 *   stage 1 @16: pw 64, dw (relu); 1 residual block    -> maxpool 8x8
 *   stage 2 @8:  pw 128, dw (relu); 2 residual blocks  -> maxpool 4x4
 *   stage 3 @4:  pw 256, dw (relu); 1 residual block   -> global average -> dense 256 -> 5
 *
 * A residual block is x + relu(dw(pw(x))). The shapes come from the layer table (written by
 * tools/train_reader.py export into reader_weights.bin, made C by tools/reader_to_c.py at build
 * time), so this file only knows the pattern. The crop is the one training cuts: a square of fu_reader_crop_scale x the box's longer
 * side around its centre, black outside the image, area-averaged (bilinear when enlarging) to
 * FU_READER_SIZE, BGR 0..255 (the 1/255 of training is folded into the first layer).
 */
#include "models/reader.h"

#include <math.h>
#include <stdlib.h>

#include "base/buf.h"
#include "geom/d4.h"
#include "geom/resize.h"
#include "nn/layer.h"

struct fu_reader {
    fu_tensor in, t[3];
    fu_image crop, turned;
    fu_buf scratch;   /* the crop's resampling */
};

/* Floats the largest activation of the network needs, border ring included. */
static size_t largest_activation(void)
{
    size_t most = 0;
    int s = FU_READER_SIZE / 2;
    for (int i = 0; i < FU_READER_LAYERS; i++) {
        size_t n = (size_t)(s + 2) * (size_t)(s + 2) * (size_t)fu_reader_layers[i].cout;
        most = n > most ? n : most;
    }
    return most;
}

fu_reader *fu_reader_create(void)
{
    fu_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    int s = FU_READER_SIZE / 2;
    int c = (int)((largest_activation() + (size_t)(s + 2) * (s + 2) - 1) / ((size_t)(s + 2) * (s + 2)));
    int bad = fu_tensor_alloc(&r->in, FU_READER_SIZE, FU_READER_SIZE, 3);
    for (int i = 0; i < 3; i++)
        bad |= fu_tensor_alloc(&r->t[i], s, s, c);
    if (bad) {
        fu_reader_destroy(r);
        return NULL;
    }
    return r;
}

void fu_reader_destroy(fu_reader *r)
{
    if (!r)
        return;
    free(r->in.data);
    for (int i = 0; i < 3; i++)
        free(r->t[i].data);
    fu_image_free(&r->crop);
    fu_image_free(&r->turned);
    fu_buf_free(&r->scratch);
    free(r);
}

/* Global average over the feature map, then the dense layer (5 x 256 multiply-adds: scalar). */
static void head(const fu_tensor *f, float logits[FU_READER_CLASSES])
{
    float mean[FU_READER_FEATURES] = {0};
    for (int y = 0; y < f->h; y++)
        for (int x = 0; x < f->w; x++) {
            const float *p = fu_tensor_at(f, y, x);
            for (int c = 0; c < FU_READER_FEATURES; c++)
                mean[c] += p[c];
        }
    const float n = (float)(f->h * f->w);
    for (int c = 0; c < FU_READER_FEATURES; c++)
        mean[c] /= n;
    for (int k = 0; k < FU_READER_CLASSES; k++) {
        const float *w = fu_reader_fc_w + (size_t)k * FU_READER_FEATURES;
        float acc = fu_reader_fc_b[k];
        for (int c = 0; c < FU_READER_FEATURES; c++)
            acc = fmaf(mean[c], w[c], acc);
        logits[k] = acc;
    }
}

void fu_reader_forward(fu_reader *r, const fu_kernels *k, const fu_image *crop,
                       float logits[FU_READER_CLASSES])
{
    const fu_conv_weights *L = fu_reader_layers;
    fu_tensor *x = &r->t[0], *a = &r->t[1], *b = &r->t[2];
    fu_tensor_shape(&r->in, FU_READER_SIZE, FU_READER_SIZE, 3);
    fu_tensor_put_bgr(&r->in, 0, 0, crop->px, FU_READER_SIZE, FU_READER_SIZE, (size_t)crop->stride);
    fu_layer_conv(k, NULL, L++, &r->in, x, 1);
    for (int s = 0; s < FU_READER_STAGES; s++) {
        /* the stage's first pair changes the width: x = relu(dw(pw(x))) */
        fu_layer_conv(k, NULL, L++, x, a, 0);
        fu_layer_conv(k, NULL, L++, a, x, 1);
        for (int blk = 1; blk < fu_reader_stage_blocks[s]; blk++) {
            fu_layer_conv(k, NULL, L++, x, a, 0);
            fu_layer_conv(k, NULL, L++, a, b, 1);
            fu_layer_add(k, NULL, x, b, x);
        }
        if (s + 1 < FU_READER_STAGES) {
            fu_layer_maxpool(k, NULL, x, a);
            fu_tensor *t = x;
            x = a;
            a = t;
        }
    }
    head(x, logits);
}

/* log_softmax(logits / temperature) into lp. */
static void log_softmax(const float logits[FU_READER_CLASSES], double lp[FU_READER_CLASSES])
{
    double mx = -1e300, z = 0;
    for (int c = 0; c < FU_READER_CLASSES; c++) {
        lp[c] = (double)logits[c] / fu_reader_temperature;
        mx = lp[c] > mx ? lp[c] : mx;
    }
    for (int c = 0; c < FU_READER_CLASSES; c++)
        z += exp(lp[c] - mx);
    for (int c = 0; c < FU_READER_CLASSES; c++)
        lp[c] -= mx + log(z);
}

int fu_reader_read(fu_reader *r, const fu_kernels *k, const fu_image *img, float x, float y,
                   float w, float h, int turns, double logp[FU_READER_CLASSES])
{
    int rc = fu_image_crop_square(img, x + w / 2, y + h / 2, fu_reader_crop_scale * (w > h ? w : h),
                                  FU_READER_SIZE, &r->crop, &r->scratch);
    if (rc != FACEUP_OK)
        return rc;
    double acc[FU_READER_CLASSES] = {0};
    for (int t = 0; t < turns; t++) {
        const fu_image *src = &r->crop;
        if (t > 0) {
            if ((rc = fu_image_turn(&r->crop, fu_d4_turn_cw(90 * t), &r->turned)) != FACEUP_OK)
                return rc;
            src = &r->turned;
        }
        float logits[FU_READER_CLASSES];
        double lp[FU_READER_CLASSES];
        fu_reader_forward(r, k, src, logits);
        log_softmax(logits, lp);
        /* the crop turned by 90t shows a face turned by (c + t): credit turn c of the crop */
        for (int c = 0; c < 4; c++)
            acc[c] += lp[(c + t) % 4];
        acc[4] += lp[4];
    }
    /* the mean of the log-probabilities, normalised again */
    double mx = -1e300, z = 0;
    for (int c = 0; c < FU_READER_CLASSES; c++) {
        acc[c] /= turns;
        mx = acc[c] > mx ? acc[c] : mx;
    }
    for (int c = 0; c < FU_READER_CLASSES; c++)
        z += exp(acc[c] - mx);
    for (int c = 0; c < FU_READER_CLASSES; c++)
        logp[c] = acc[c] - mx - log(z);
    return FACEUP_OK;
}
