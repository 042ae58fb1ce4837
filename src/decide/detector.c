/*
 * detector.c - from pixels to face boxes with YuNet.
 *
 * Pre-processing follows OpenCV's FaceDetectorYN: BGR, 0..255, the image in a canvas whose sides
 * are multiples of 32. We add an optional black border around the image: YuNet was trained on
 * scenes, and a face that fills the whole frame scores poorly and inconsistently; with a border it
 * looks like a face in a scene again (see orientation.c for the measurements).
 *
 * Decoding: cell (row, col) of stride s is a prior at (col*s, row*s); score = sqrt(cls * obj);
 * centre = (col + dx, row + dy) * s; size = exp(log w, log h) * s; landmarks (col + lx, row + ly) * s.
 */
#include "decide/detector.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/sort.h"
#include "models/yunet.h"
#include "nn/threadpool.h"

struct fu_detector {
    fu_yunet *net;
    int cap_h, cap_w;
    fu_pool *pool;
    const fu_kernels *kernels;
    fu_box *cand, *sorted;   /* candidates before NMS, and the sort's scratch */
    int cand_cap;
};

fu_detector *fu_detector_create(int threads)
{
    fu_detector *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->kernels = fu_kernels_best();
    if (threads > 1 && !(d->pool = fu_pool_create(threads))) {
        free(d);
        return NULL;
    }
    return d;
}

void fu_detector_destroy(fu_detector *d)
{
    if (!d)
        return;
    fu_yunet_destroy(d->net);
    fu_pool_destroy(d->pool);
    free(d->cand);
    free(d->sorted);
    free(d);
}

static int round_up32(int v)
{
    return (v + 31) / 32 * 32;
}

/* Grow the network workspace and the candidate buffer to fit an h x w canvas. */
static int reserve(fu_detector *d, int h, int w)
{
    if (h <= d->cap_h && w <= d->cap_w)
        return FACEUP_OK;
    int nh = h > d->cap_h ? h : d->cap_h, nw = w > d->cap_w ? w : d->cap_w;
    fu_yunet *net = fu_yunet_create(nh, nw);
    int cells = (nh / 8) * (nw / 8) + (nh / 16) * (nw / 16) + (nh / 32) * (nw / 32);
    fu_box *cand = malloc((size_t)cells * sizeof *cand);
    fu_box *sorted = malloc((size_t)cells * sizeof *sorted);
    if (!net || !cand || !sorted) {
        fu_yunet_destroy(net);
        free(cand);
        free(sorted);
        return FACEUP_ERR_NOMEM;
    }
    fu_yunet_destroy(d->net);
    free(d->cand);
    free(d->sorted);
    d->net = net;
    d->cand = cand;
    d->sorted = sorted;
    d->cand_cap = cells;
    d->cap_h = nh;
    d->cap_w = nw;
    return FACEUP_OK;
}

/* The image at (ox, oy) on a black canvas; only the canvas outside the image is cleared. */
static void fill_input(fu_tensor *t, const fu_image *img, int ox, int oy)
{
    for (int y = 0; y < t->h; y++) {
        float *row = fu_tensor_at(t, y, 0);
        if (y < oy || y >= oy + img->h) {
            memset(row, 0, (size_t)t->w * 3 * sizeof(float));
            continue;
        }
        memset(row, 0, (size_t)ox * 3 * sizeof(float));
        memset(row + (size_t)(ox + img->w) * 3, 0, (size_t)(t->w - ox - img->w) * 3 * sizeof(float));
    }
    fu_tensor_put_bgr(t, oy, ox, img->px, img->w, img->h, (size_t)img->stride);
}

static float clamp01(float v)
{
    return v < 0.f ? 0.f : v > 1.f ? 1.f : v;
}

static int decode(const fu_yunet *net, float threshold, float ox, float oy, fu_box *cand, int cap)
{
    int n = 0;
    for (int l = 0; l < FU_YUNET_LEVELS; l++) {
        const fu_tensor *t = fu_yunet_output(net, l);
        const float s = (float)fu_yunet_stride(l);
        for (int row = 0; row < t->h; row++)
            for (int col = 0; col < t->w; col++) {
                const float *v = fu_tensor_at(t, row, col);
                float score = sqrtf(clamp01(v[0]) * clamp01(v[1]));
                if (score < threshold || n >= cap)
                    continue;
                fu_box *b = &cand[n++];
                float cx = (col + v[2]) * s, cy = (row + v[3]) * s;
                b->w = expf(v[4]) * s;
                b->h = expf(v[5]) * s;
                b->x = cx - b->w / 2 - ox;
                b->y = cy - b->h / 2 - oy;
                b->score = score;
                for (int k = 0; k < 5; k++) {
                    b->lm[2 * k] = (col + v[6 + 2 * k]) * s - ox;
                    b->lm[2 * k + 1] = (row + v[7 + 2 * k]) * s - oy;
                }
            }
    }
    return n;
}

const fu_kernels *fu_detector_kernels(const fu_detector *d)
{
    return d->kernels;
}

static int by_score_desc(const void *pa, const void *pb)
{
    const fu_box *a = pa, *b = pb;
    if (a->score != b->score)
        return a->score < b->score ? 1 : -1;
    /* a total order (and a stable sort), so the result depends on nothing else */
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    return a->x < b->x ? -1 : a->x > b->x;
}

/* Greedy NMS: keep the best box, drop those overlapping it by more than `iou`, repeat. */
static int nms(fu_box *cand, int n, fu_box *scratch, float iou, fu_box *out, int max)
{
    fu_sort(cand, (size_t)n, sizeof *cand, by_score_desc, scratch);
    int kept = 0;
    for (int i = 0; i < n && kept < max; i++) {
        int keep = 1;
        for (int j = 0; j < kept && keep; j++)
            keep = fu_box_iou(&cand[i], &out[j]) <= iou;
        if (keep)
            out[kept++] = cand[i];
    }
    return kept;
}

int fu_detector_run(fu_detector *d, const fu_image *img, float border, float threshold,
                    fu_box *out, int max)
{
    if (border < 1.f)
        border = 1.f;
    int ch = round_up32((int)ceilf(img->h * border)), cw = round_up32((int)ceilf(img->w * border));
    int rc = reserve(d, ch, cw);
    if (rc != FACEUP_OK)
        return rc;
    fu_tensor *in = fu_yunet_input(d->net, ch, cw);
    if (!in)
        return FACEUP_ERR_INTERNAL;
    /* no border: pad right and bottom like OpenCV, so results can be compared with it */
    int ox = border > 1.f ? (cw - img->w) / 2 : 0, oy = border > 1.f ? (ch - img->h) / 2 : 0;
    fill_input(in, img, ox, oy);
    if (fu_yunet_forward(d->net, d->kernels, d->pool) != 0)
        return FACEUP_ERR_NOMEM;
    int n = decode(d->net, threshold, (float)ox, (float)oy, d->cand, d->cand_cap);
    return nms(d->cand, n, d->sorted, 0.3f, out, max);
}
