/*
 * orientation.c - deciding how an image is turned: find the faces, ask each which way it points.
 *
 * Why not "the turn with the best detector score": YuNet also fires on turned faces (0.87 upside
 * down for a face that scores 0.94 upright) and its landmarks always come out eyes-above-mouth, so
 * on our dev set the score difference between turns was under 0.05 for many faces, and on small
 * centred crops it pointed the wrong way for 4% of them. So the detector only *finds* faces, and a
 * classifier of our own (orient_net.c) says how each one is turned:
 *
 *  1. The image is scaled to a working size and run through YuNet in each of the four turns, on a
 *     black canvas half again as large: a face that fills the frame is out of YuNet's training
 *     distribution and is missed or mis-scored; with a border it is a face in a scene again.
 *  2. Detections of all turns are mapped back to the working image and grouped into faces.
 *  3. Each face's crop is classified: P(turned 0/90/180/270), P(not a face).
 *  4. The faces' log-probabilities add up, each weighted by the probability that it is a face
 *     at all; the normalised result is the image's posterior over the four turns. Its top value is
 *     the confidence; under FU_MIN_DECIDE the answer is undecided.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "orientation.h"

#define FU_WORK_SIDE 640      /* longest side of the working image */
#define FU_BORDER 1.5f        /* canvas size relative to the image */
#define FU_DET_THRESHOLD 0.5f /* lowest detector score worth a look by the classifier */
#define FU_GROUP_IOU 0.4f     /* detections of different turns this close are the same face */
#define FU_MAX_DET 64         /* detections kept per turn */
#define FU_MAX_FACES 128      /* faces grouped */
#define FU_MAX_CLASSIFIED 16  /* faces classified, the highest-scoring first */
#define FU_MIN_DECIDE 0.5f    /* below this confidence the answer is undecided */
#define FU_FACE_MIN 0.5f      /* P(face) under which a detection is not reported as a face */

typedef struct face_group {
    float s[4];       /* best detector score in each turn */
    fu_box det[4];    /* that detection, in the coordinates of the turned working image */
    fu_box where;     /* where it is in working-image coordinates (from its best detection) */
    float top;        /* best of s[] */
    float prob[FU_ORIENT_CLASSES]; /* the classifier's answer; prob[4] = not a face */
    int classified;
} face_group;

/* Map point (x, y) of a frame w x h turned clockwise by `deg` into the turned frame. */
static void turn_point(int deg, float w, float h, float x, float y, float *ox, float *oy)
{
    switch (deg) {
    case 90: *ox = h - y; *oy = x; break;
    case 180: *ox = w - x; *oy = h - y; break;
    case 270: *ox = y; *oy = w - x; break;
    default: *ox = x; *oy = y; break;
    }
}

/* A box and its landmarks from frame w x h turned clockwise by `deg`. */
static fu_box turn_box(int deg, float w, float h, const fu_box *b)
{
    fu_box r = *b;
    float x0, y0, x1, y1;
    turn_point(deg, w, h, b->x, b->y, &x0, &y0);
    turn_point(deg, w, h, b->x + b->w, b->y + b->h, &x1, &y1);
    r.x = fminf(x0, x1);
    r.y = fminf(y0, y1);
    r.w = fabsf(x1 - x0);
    r.h = fabsf(y1 - y0);
    for (int k = 0; k < 5; k++)
        turn_point(deg, w, h, b->lm[2 * k], b->lm[2 * k + 1], &r.lm[2 * k], &r.lm[2 * k + 1]);
    return r;
}

static void add_detection(face_group *g, int *ng, int turn, const fu_box *in_turn, const fu_box *in_work)
{
    int best = -1;
    float best_iou = FU_GROUP_IOU;
    for (int i = 0; i < *ng; i++) {
        float iou = fu_box_iou(&g[i].where, in_work);
        if (iou >= best_iou) {
            best_iou = iou;
            best = i;
        }
    }
    if (best < 0) {
        if (*ng >= FU_MAX_FACES)
            return;
        best = (*ng)++;
        memset(&g[best], 0, sizeof g[best]);
        g[best].where = *in_work;
    }
    face_group *f = &g[best];
    if (in_turn->score > f->s[turn]) {
        f->s[turn] = in_turn->score;
        f->det[turn] = *in_turn;
        if (in_turn->score > f->top) {
            f->top = in_turn->score;
            f->where = *in_work;
        }
    }
}

static int by_top_desc(const void *pa, const void *pb)
{
    const face_group *a = pa, *b = pb;
    return a->top < b->top ? 1 : a->top > b->top ? -1 : 0;
}

static int argmax4(const float *p)
{
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (p[k] > p[best])
            best = k;
    return best;
}

/* Fill one reported face from its group, in displayed-image coordinates (scale = displayed/work). */
static void report_face(const face_group *f, int ww, int wh, float scale, faceup_face *out)
{
    int turn = argmax4(f->prob);
    /* landmarks are best where the face was upright: that turn's detection if it was found there */
    int from = f->s[turn] > 0.f ? turn : argmax4(f->s);
    const fu_box *d = &f->det[from];
    /* the turned image of turn k is the working image turned counter-clockwise by 90k: its frame
     * is w x h when k is even and h x w when odd; turning it clockwise by 90k returns */
    float tw = (from & 1) ? (float)wh : (float)ww, th = (from & 1) ? (float)ww : (float)wh;
    fu_box b = turn_box(90 * from, tw, th, d);
    out->x = b.x * scale;
    out->y = b.y * scale;
    out->w = b.w * scale;
    out->h = b.h * scale;
    out->score = f->top;
    for (int k = 0; k < 5; k++) {
        out->landmarks[k][0] = b.lm[2 * k] * scale;
        out->landmarks[k][1] = b.lm[2 * k + 1] * scale;
    }
    memcpy(out->turn_scores, f->s, sizeof f->s);
    out->confidence = f->prob[turn];   /* P(a face, turned this way) */
    out->orientation = out->confidence >= FU_MIN_DECIDE ? 90 * turn : FACEUP_UNDECIDED;
    /* roll from the eye line in the frame where the face was upright (or nearly) */
    float dx = d->lm[2] - d->lm[0], dy = d->lm[3] - d->lm[1];
    out->roll = atan2f(dy, dx) * (180.f / 3.14159265f);
}

int fu_orientation_decide(fu_detector *det, fu_orient_net *cls, const fu_image *displayed,
                          float face_threshold, faceup_result **result)
{
    *result = NULL;
    fu_image work = {0}, turned = {0};
    face_group *groups = calloc(FU_MAX_FACES, sizeof *groups);
    fu_box *boxes = malloc(FU_MAX_DET * sizeof *boxes);
    faceup_result *r = calloc(1, sizeof *r);
    int rc = FACEUP_ERR_NOMEM, ng = 0;
    if (!groups || !boxes || !r)
        goto fail;

    int longest = displayed->w > displayed->h ? displayed->w : displayed->h;
    float scale = 1.f;
    const fu_image *src = displayed;
    if (longest > FU_WORK_SIDE) {
        scale = (float)longest / FU_WORK_SIDE;
        int w = (int)lroundf(displayed->w / scale), h = (int)lroundf(displayed->h / scale);
        if ((rc = fu_image_resize(displayed, w < 1 ? 1 : w, h < 1 ? 1 : h, &work)) != FACEUP_OK)
            goto fail;
        scale = (float)displayed->w / work.w;
        src = &work;
    }

    for (int k = 0; k < 4; k++) {
        const fu_image *img = src;
        if (k > 0) {
            fu_image_free(&turned);
            if ((rc = fu_image_rotate(src, 360 - 90 * k, &turned)) != FACEUP_OK)
                goto fail;
            img = &turned;
        }
        int n = fu_detector_run(det, img, FU_BORDER, FU_DET_THRESHOLD, boxes, FU_MAX_DET);
        if (n < 0) {
            rc = n;
            goto fail;
        }
        for (int i = 0; i < n; i++) {
            fu_box in_work = turn_box(90 * k, (float)img->w, (float)img->h, &boxes[i]);
            add_detection(groups, &ng, k, &boxes[i], &in_work);
        }
    }
    qsort(groups, (size_t)ng, sizeof *groups, by_top_desc);

    /* each face's log-probabilities, weighted by how sure we are that it is a face */
    double logp[4] = {0}, evidence = 0;
    int n_faces = 0;
    for (int i = 0; i < ng && i < FU_MAX_CLASSIFIED; i++) {
        face_group *g = &groups[i];
        const fu_box *b = &g->where;
        if ((rc = fu_orient_net_classify(cls, fu_detector_kernels(det), src, b->x, b->y, b->w,
                                         b->h, g->prob)) != FACEUP_OK)
            goto fail;
        g->classified = 1;
        double p_face = 1.0 - g->prob[4];
        double norm = g->prob[0] + g->prob[1] + g->prob[2] + g->prob[3];
        for (int k = 0; k < 4; k++)
            logp[k] += p_face * log((g->prob[k] + 1e-6) / (norm + 4e-6));
        evidence += p_face;
        if (g->top >= face_threshold && p_face >= FU_FACE_MIN)
            groups[n_faces++] = *g;
    }
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (logp[k] > logp[best])
            best = k;
    double z = 0;
    for (int k = 0; k < 4; k++)
        z += exp(logp[k] - logp[best]);
    float conf = evidence > 0 ? (float)(1.0 / z) : 0.f;

    r->width = displayed->w;
    r->height = displayed->h;
    r->orientation = n_faces && conf >= FU_MIN_DECIDE ? 90 * best : FACEUP_UNDECIDED;
    r->confidence = r->orientation == FACEUP_UNDECIDED ? 0.f : conf;
    if (n_faces) {
        r->faces = calloc((size_t)n_faces, sizeof *r->faces);
        if (!r->faces)
            goto fail;
    }
    r->n_faces = n_faces;
    for (int i = 0; i < n_faces; i++) {
        report_face(&groups[i], src->w, src->h, scale, &r->faces[i]);
        if (r->faces[i].orientation != FACEUP_UNDECIDED && r->orientation != FACEUP_UNDECIDED
            && r->faces[i].orientation != r->orientation)
            r->faces_disagree = 1;
    }
    *result = r;
    r = NULL;
    rc = FACEUP_OK;
fail:
    faceup_result_free(r);
    fu_image_free(&work);
    fu_image_free(&turned);
    free(groups);
    free(boxes);
    return rc;
}
