/*
 * orientation.c - deciding how an image is turned: find the faces, ask each which way it points.
 *
 * Why not "the turn with the best detector score": YuNet also fires on turned faces (0.87 upside
 * down for a face that scores 0.94 upright) and its landmarks always come out eyes-above-mouth.
 * On faces-dev that rule was 0.899 accurate and turned 2.9% of images the wrong way. So the
 * detector only *finds* faces, and a classifier of our own (models/orient_net.c) reads each one:
 *
 *  1. Find. YuNet runs on the image in its four turns, coarse to fine (PASSES): at 192 px on a
 *     black canvas 1.3 times as large (a face that fills the frame is out of YuNet's training
 *     distribution; with a border it is a face in a scene again; 1.3 measured better than 1.5 and
 *     1.2 on faces-dev, and costs less than 1.5), then, only while unsure, at up
 *     to 640 px without border, and for small photos enlarged twice (faces of 10-20 px).
 *     Detections of all turns and passes are grouped per face, in displayed-image coordinates.
 *  2. Read. Each face's crop is classified: P(turned 0/90/180/270), P(not a face).
 *  3. Weigh. Per face and turn, the evidence is the classifier's log-probability plus
 *     FU_DETECTOR_BETA times YuNet's score in that turn (independent of the classifier: on
 *     faces-dev it halved the undecided answers at the same error rate). Faces add up, each
 *     weighted by the probability that it is a face and by its detector score (face_weight);
 *     normalised, this is the posterior over the four turns. Its top value is the confidence;
 *     under FU_MIN_DECIDE the answer is undecided: weak or contradictory evidence gives no answer.
 *  4. Refine. Each reported face is detected once more on its own, upright (refine_face).
 *
 * The constants were chosen by measuring on faces-dev (bench/dev_eval.py); the classifier was
 * trained on faces-train only. Each variant tried is in the commit history with its numbers.
 *
 * Memory: everything a decision works in (the scaled and turned copies, the crops, the groups,
 * the detections, the reported faces) lives in the fu_decider and keeps its capacity from one
 * image to the next, so a decision allocates nothing once it has seen an image of the size.
 */
#include "decide/orientation.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/sort.h"
#include "decide/detector.h"
#include "geom/resize.h"
#include "models/orient_net.h"

#define FU_COARSE_SIDE 192     /* longest side of the working image in the first pass */
#define FU_FINE_SIDE FU_DECIDE_SIDE /* ... and at most in the later ones */
#define FU_SURE 0.97f          /* a confidence that needs no finer pass */
#define FU_DET_THRESHOLD 0.5f  /* lowest detector score worth a look (0.35 measured worse) */
#define FU_WEIGHT_RAMP 0.35f   /* see face_weight() */
#define FU_DETECTOR_BETA 10.0  /* weight of YuNet's per-turn score beside the classifier's log-odds */
#define FU_MIN_DECIDE 0.85f    /* below this confidence the answer is undecided */
#define FU_MAX_CONFIDENCE 0.999f /* never claim certainty: on faces-dev 0.15% of answers above 0.9
                                    were wrong, most of them with posteriors near 1 */
#define FU_FACE_MIN 0.5f       /* P(face) under which a detection is not reported as a face */
#define FU_TILE FU_DECIDE_SIDE /* largest canvas side the detector is given at once: no more
                                  memory than the finest default pass takes */
#define FU_TILE_OVERLAP 96     /* tiles overlap this much, so faces up to it are whole in one */
#define FU_GROUP_IOU 0.4f      /* detections of different turns this close are the same face */
#define FU_MAX_DET 256         /* detections kept per turn (tiles add up) */
#define FU_MAX_FACES 256       /* faces grouped */
#define FU_MAX_CLASSIFIED FU_DECIDE_MAX_FACES /* faces classified and listed, the best first */
#define FU_REFINE_SIDE 224     /* the landmark refinement looks at a square this big ... */
#define FU_REFINE_CONTEXT 1.4f /* ... this many times the face: faces under ~130 px get level eyes */
#define FU_REFINE_MAX 4        /* faces refined, the most confident first (each costs ~1.5 ms) */

typedef struct face_group {
    float s[4];       /* best detector score in each turn */
    fu_box det[4];    /* that detection, in displayed-image coordinates */
    fu_box where;     /* the group's box: its best detection */
    float top;        /* best of s[] */
    float prob[FU_ORIENT_CLASSES]; /* the classifier's answer; prob[4] = not a face */
    int classified;
} face_group;

/* The detector passes, coarse to fine; a pass runs only while the answer is not yet sure. */
typedef struct pass {
    int side;         /* longest side of the working image ... */
    float enlarge;    /* ... but at most this many times the image's own */
    float border;     /* canvas size relative to the image */
} pass;

static const pass PASSES[] = {
    {FU_COARSE_SIDE, 1.f, 1.3f}, /* faces that fill the frame need the border; big faces no detail */
    {FU_FINE_SIDE, 1.f, 1.0f},   /* small faces in larger photos: more detail, no border to pay for */
    {FU_FINE_SIDE, 2.f, 1.0f},   /* faces of 10-20 px in small photos: YuNet finds them enlarged */
};

/* Longest side of the working image of pass p for an image whose longest side is `longest`. */
static int pass_side(const pass *p, int longest)
{
    float most = p->enlarge * (float)longest;
    return most < (float)p->side ? (int)most : p->side;
}

/* Everything a decision needs, kept between decisions (see the top of the file). */
struct fu_decider {
    fu_detector *det;
    fu_orient_net *cls;
    fu_image work, turned;  /* the scaled image or a crop; its turned copy */
    fu_buf scratch;         /* resampling */
    face_group groups[FU_MAX_FACES], sorted[FU_MAX_FACES];
    fu_box boxes[FU_MAX_DET];
    faceup_face faces[FU_MAX_CLASSIFIED];
    /* the decision under way */
    const fu_image *displayed;
    int ng;
    int tiling;       /* the detail pass is running (see add_detection) */
    double logp[4];
    int best;
    float conf;
};

fu_decider *fu_decider_create(int threads)
{
    fu_decider *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->det = fu_detector_create(threads);
    d->cls = fu_orient_net_create();
    if (!d->det || !d->cls) {
        fu_decider_destroy(d);
        return NULL;
    }
    return d;
}

void fu_decider_destroy(fu_decider *d)
{
    if (!d)
        return;
    fu_detector_destroy(d->det);
    fu_orient_net_destroy(d->cls);
    fu_image_free(&d->work);
    fu_image_free(&d->turned);
    fu_buf_free(&d->scratch);
    free(d);
}

void fu_decider_trim(fu_decider *d, size_t keep)
{
    if (!d)
        return;
    if (d->work.cap > keep)
        fu_image_free(&d->work);
    if (d->turned.cap > keep)
        fu_image_free(&d->turned);
    if (d->scratch.cap > keep)
        fu_buf_free(&d->scratch);
}

/* The share of box a that lies inside box b. */
static float inside(const fu_box *a, const fu_box *b)
{
    float area = a->w * a->h;
    return area > 0.f ? fu_box_intersection(a, b) / area : 0.f;
}

static void add_detection(fu_decider *d, int turn, const fu_box *b)
{
    face_group *g = d->groups;
    /* in tiles at high detail, YuNet also finds parts of a large face (an eye and a cheek) as
     * small faces: a small box mostly inside a face already found is that face, not another */
    if (d->tiling)
        for (int i = 0; i < d->ng; i++)
            if (g[i].where.w > 2.f * b->w && inside(b, &g[i].where) > 0.5f)
                return;
    int best = -1;
    float best_iou = FU_GROUP_IOU;
    for (int i = 0; i < d->ng; i++) {
        float iou = fu_box_iou(&g[i].where, b);
        if (iou >= best_iou) {
            best_iou = iou;
            best = i;
        }
    }
    if (best < 0) {
        if (d->ng >= FU_MAX_FACES)
            return;
        best = d->ng++;
        memset(&g[best], 0, sizeof g[best]);
        g[best].where = *b;
    }
    face_group *f = &g[best];
    if (b->score > f->s[turn]) {
        f->s[turn] = b->score;
        f->det[turn] = *b;
        if (b->score > f->top) {
            f->top = b->score;
            f->where = *b;
        }
    }
}

/* How much a face counts, from its detector score: nothing at FU_DET_THRESHOLD, fully from
 * FU_DET_THRESHOLD + FU_WEIGHT_RAMP. Faint detections are where both networks are least sure. */
static double face_weight(float top)
{
    double w = (top - FU_DET_THRESHOLD) / FU_WEIGHT_RAMP;
    return w < 0 ? 0 : w > 1 ? 1 : w;
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

/* Fill one reported face from its group (all in displayed-image coordinates). */
static void report_face(const face_group *f, faceup_face *out)
{
    int turn = argmax4(f->prob);
    /* landmarks are best where the face was upright: that turn's detection if it was found there */
    int from = f->s[turn] > 0.f ? turn : argmax4(f->s);
    const fu_box *b = &f->det[from];
    out->x = b->x;
    out->y = b->y;
    out->w = b->w;
    out->h = b->h;
    out->score = f->top;
    for (int k = 0; k < 5; k++) {
        out->landmarks[k][0] = b->lm[2 * k];
        out->landmarks[k][1] = b->lm[2 * k + 1];
    }
    memcpy(out->turn_scores, f->s, sizeof f->s);
    memcpy(out->turn_probs, f->prob, sizeof out->turn_probs);
    out->confidence = fminf(f->prob[turn], FU_MAX_CONFIDENCE);   /* P(a face, turned this way) */
    out->orientation = out->confidence >= FU_MIN_DECIDE ? 90 * turn : FACEUP_UNDECIDED;
    /* roll of the eye line once the face is turned upright (counter-clockwise by 90 * from) */
    float dx = b->lm[2] - b->lm[0], dy = b->lm[3] - b->lm[1];
    for (int k = 0; k < from; k++) {
        float t = dx;
        dx = dy;
        dy = -t;
    }
    out->roll = atan2f(dy, dx) * (180.f / 3.14159265f);
}

/* YuNet's landmarks drift toward a level, upright face when the face is small or tilted (at the
 * coarse pass, a face tilted by 20 degrees came out with its eye line at 1 degree). So each
 * reported face gets one more detector run on its own square, turned upright and scaled so the
 * face is about half of it, and its box, landmarks and roll come from that run. */
static int refine_face(fu_decider *d, faceup_face *f)
{
    int turn = argmax4(f->turn_probs);
    float side = FU_REFINE_CONTEXT * fmaxf(f->w, f->h), cx = f->x + f->w / 2, cy = f->y + f->h / 2;
    if (!(side >= 1.f))
        return FACEUP_OK;
    int rc = fu_image_crop_square(d->displayed, cx, cy, side, FU_REFINE_SIDE, &d->work,
                                  &d->scratch);
    if (rc == FACEUP_OK)
        rc = fu_image_turn(&d->work, fu_d4_turn_cw(-90 * turn), &d->turned);
    if (rc != FACEUP_OK)
        return rc;
    int n = fu_detector_run(d->det, &d->turned, 1.f, FU_DET_THRESHOLD, d->boxes, FU_MAX_DET);
    if (n < 0)
        return n;
    /* the face is the detection nearest the centre, if one is near it at about the right size */
    const float mid = FU_REFINE_SIDE / 2.f, expect = FU_REFINE_SIDE / FU_REFINE_CONTEXT;
    int pick = -1;
    float pick_dist = 0.25f * expect;
    for (int i = 0; i < n; i++) {
        const fu_box *b = &d->boxes[i];
        float dist = hypotf(b->x + b->w / 2 - mid, b->y + b->h / 2 - mid);
        float size = fmaxf(b->w, b->h) / expect;
        if (dist < pick_dist && size > 0.6f && size < 1.6f) {
            pick = i;
            pick_dist = dist;
        }
    }
    if (pick < 0)
        return FACEUP_OK;
    const fu_box *up = &d->boxes[pick];
    f->roll = atan2f(up->lm[3] - up->lm[1], up->lm[2] - up->lm[0]) * (180.f / 3.14159265f);
    fu_box b = fu_box_turn(fu_d4_turn_cw(90 * turn), FU_REFINE_SIDE, FU_REFINE_SIDE, up);
    float scale = (float)lroundf(side) / FU_REFINE_SIDE;
    fu_box_place(&b, scale, scale, (float)lroundf(cx - side / 2), (float)lroundf(cy - side / 2));
    f->x = b.x;
    f->y = b.y;
    f->w = b.w;
    f->h = b.h;
    for (int k = 0; k < 5; k++) {
        f->landmarks[k][0] = b.lm[2 * k];
        f->landmarks[k][1] = b.lm[2 * k + 1];
    }
    return FACEUP_OK;
}

/* Detect in `img` (a turned working image) in tiles of at most FU_TILE x FU_TILE pixels that
 * overlap by FU_TILE_OVERLAP, so memory stays bounded however much detail is asked for. A face
 * cut by a tile edge is found whole in the neighbouring tile or, when larger than the overlap,
 * in a coarser pass (so tiles keep only faces up to the overlap). Returns the number of
 * detections in d->boxes (image coordinates). */
static int detect_tiled(fu_decider *d, const fu_image *img, float border)
{
    if (img->w <= FU_TILE && img->h <= FU_TILE)
        return fu_detector_run(d->det, img, border, FU_DET_THRESHOLD, d->boxes, FU_MAX_DET);
    int n = 0;
    const int step = FU_TILE - FU_TILE_OVERLAP;
    for (int y0 = 0; y0 < img->h; y0 += step) {
        for (int x0 = 0; x0 < img->w; x0 += step) {
            fu_image tile = {img->px + (size_t)y0 * img->stride + (size_t)x0 * 3,
                             img->w - x0 < FU_TILE ? img->w - x0 : FU_TILE,
                             img->h - y0 < FU_TILE ? img->h - y0 : FU_TILE, img->stride, 0};
            int k = fu_detector_run(d->det, &tile, 1.f, FU_DET_THRESHOLD, d->boxes + n, FU_MAX_DET - n);
            if (k < 0)
                return k;
            /* a face larger than the overlap may be cut by the tile's edge: coarser passes see it */
            int kept = 0;
            for (int i = n; i < n + k; i++)
                if (fmaxf(d->boxes[i].w, d->boxes[i].h) <= FU_TILE_OVERLAP)
                    d->boxes[n + kept++] = d->boxes[i];
            k = kept;
            for (int i = n; i < n + k; i++)
                fu_box_place(&d->boxes[i], 1.f, 1.f, (float)x0, (float)y0);
            n += k;
            if (x0 + FU_TILE >= img->w)
                break;
        }
        if (y0 + FU_TILE >= img->h)
            break;
    }
    return n;
}

/* Run the detector on the displayed image scaled so its longest side is `side`, in the four
 * turns, and add what it finds (in displayed-image coordinates) to the groups. */
static int detect_pass(fu_decider *d, int side, float border)
{
    const fu_image *disp = d->displayed, *src = disp;
    int longest = disp->w > disp->h ? disp->w : disp->h;
    if (side != longest) {
        float f = (float)side / (float)longest;
        int w = (int)lroundf(disp->w * f), h = (int)lroundf(disp->h * f);
        int rc = fu_image_resize(disp, w < 1 ? 1 : w, h < 1 ? 1 : h, &d->work, &d->scratch);
        if (rc != FACEUP_OK)
            return rc;
        src = &d->work;
    }
    float sx = (float)disp->w / (float)src->w, sy = (float)disp->h / (float)src->h;
    for (int k = 0; k < 4; k++) {
        const fu_image *img = src;
        if (k > 0) {
            int rc = fu_image_turn(src, fu_d4_turn_cw(-90 * k), &d->turned);
            if (rc != FACEUP_OK)
                return rc;
            img = &d->turned;
        }
        int n = detect_tiled(d, img, border);
        if (n < 0)
            return n;
        for (int i = 0; i < n; i++) {
            fu_box b = fu_box_turn(fu_d4_turn_cw(90 * k), (float)img->w, (float)img->h,
                                   &d->boxes[i]);
            fu_box_place(&b, sx, sy, 0.f, 0.f);
            add_detection(d, k, &b);
        }
    }
    return FACEUP_OK;
}

/* Classify the faces not yet classified (the FU_MAX_CLASSIFIED best), then weigh all evidence. */
static int weigh(fu_decider *d)
{
    fu_sort(d->groups, (size_t)d->ng, sizeof *d->groups, by_top_desc, d->sorted);
    double evidence = 0;
    memset(d->logp, 0, sizeof d->logp);
    for (int i = 0; i < d->ng && i < FU_MAX_CLASSIFIED; i++) {
        face_group *g = &d->groups[i];
        if (!g->classified) {
            const fu_box *b = &g->where;
            int rc = fu_orient_net_classify(d->cls, fu_detector_kernels(d->det), d->displayed, b->x,
                                            b->y, b->w, b->h, g->prob);
            if (rc != FACEUP_OK)
                return rc;
            g->classified = 1;
        }
        double p_face = 1.0 - g->prob[4];
        double w = p_face * face_weight(g->top);
        for (int k = 0; k < 4; k++)
            d->logp[k] += w * (log((g->prob[k] + 1e-6) / (p_face + 4e-6)) + FU_DETECTOR_BETA * g->s[k]);
        evidence += w;
    }
    d->best = 0;
    for (int k = 1; k < 4; k++)
        if (d->logp[k] > d->logp[d->best])
            d->best = k;
    double z = 0;
    for (int k = 0; k < 4; k++)
        z += exp(d->logp[k] - d->logp[d->best]);
    d->conf = evidence > 0 ? fminf((float)(1.0 / z), FU_MAX_CONFIDENCE) : 0.f;
    return FACEUP_OK;
}

/* Find the faces: the passes, coarse to fine while unsure, then the detail pass when asked. */
static int find_faces(fu_decider *d, int detail)
{
    const fu_image *disp = d->displayed;
    int longest = disp->w > disp->h ? disp->w : disp->h, seen = 0, rc;
    for (size_t i = 0; i < sizeof PASSES / sizeof PASSES[0] && d->conf < FU_SURE; i++) {
        /* a finer pass only where it sees the image bigger than the passes before */
        int side = pass_side(&PASSES[i], longest);
        if (side <= seen)
            continue;
        seen = side;
        if ((rc = detect_pass(d, side, PASSES[i].border)) != FACEUP_OK || (rc = weigh(d)) != FACEUP_OK)
            return rc;
    }
    /* more detail than the passes use, when asked for: tiles at up to `detail` px, to list faces
     * down to ~20 px in large photos; it runs even when the answer is already sure */
    int fine = longest < detail ? longest : detail;
    if (fine > seen && fine > FU_FINE_SIDE) {
        d->tiling = 1;
        if ((rc = detect_pass(d, fine, 1.f)) != FACEUP_OK || (rc = weigh(d)) != FACEUP_OK)
            return rc;
    }
    return FACEUP_OK;
}

/* The faces worth reporting, best first, and the answer they give. */
static int report(fu_decider *d, float face_threshold, fu_decision *out)
{
    int n_faces = 0, rc;
    for (int i = 0; i < d->ng && i < FU_MAX_CLASSIFIED; i++) {
        const face_group *g = &d->groups[i];
        if (g->top >= face_threshold && 1.f - g->prob[4] >= FU_FACE_MIN)
            d->groups[n_faces++] = *g;
    }
    out->orientation = n_faces && d->conf >= FU_MIN_DECIDE ? 90 * d->best : FACEUP_UNDECIDED;
    out->confidence = out->orientation == FACEUP_UNDECIDED ? 0.f : d->conf;
    out->faces_disagree = 0;
    out->n_faces = n_faces;
    out->faces = d->faces;
    for (int i = 0; i < n_faces; i++) {
        faceup_face *f = &d->faces[i];
        memset(f, 0, sizeof *f);
        report_face(&d->groups[i], f);
        if (i < FU_REFINE_MAX && (rc = refine_face(d, f)) != FACEUP_OK)
            return rc;
        if (f->orientation != FACEUP_UNDECIDED && out->orientation != FACEUP_UNDECIDED
            && f->orientation != out->orientation)
            out->faces_disagree = 1;
    }
    return FACEUP_OK;
}

int fu_decide(fu_decider *d, const fu_image *displayed, float face_threshold, int detail,
              fu_decision *out)
{
    memset(out, 0, sizeof *out);
    d->displayed = displayed;
    d->ng = 0;
    d->tiling = 0;
    memset(d->logp, 0, sizeof d->logp);
    d->best = 0;
    d->conf = 0.f;
    int rc = find_faces(d, detail);
    if (rc == FACEUP_OK)
        rc = report(d, face_threshold, out);
    d->displayed = NULL;
    return rc;
}
