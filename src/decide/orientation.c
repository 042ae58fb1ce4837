/*
 * orientation.c - deciding how an image is turned: find the faces, read each, weigh the evidence.
 *
 * Why not "the turn with the best detector score": YuNet also fires on turned faces (0.87 upside
 * down for a face that scores 0.94 upright), and on things that are not faces at all. So:
 *
 *  1. Find. YuNet runs on the image in its four turns, coarse to fine (PASSES), a finer pass only
 *     while the answer is not yet sure: 192 px on a black canvas 1.3 times as large (a face that
 *     fills the frame looks like a face in a scene again), then up to 640 px (small photos
 *     enlarged twice: faces of 10-20 px), then, for large photos, the detail pass: tiles of 640 px
 *     at up to FACEUP_PARAM_DETAIL px. Every detection is kept (in displayed-image coordinates,
 *     with the turn it was found in); after each pass they are grouped into faces afresh:
 *     best score first, a detection joins the first face whose best box it overlaps.
 *  2. Read. The reader (models/reader.c) looks at each face's crop: log P(turned 0/90/180/270)
 *     and log P(not a face).
 *  3. Weigh. A face points by pi = softmax(reader's log-odds + FU_BETA x YuNet's score per turn)
 *     - the two are independent looks at it - and is a face with probability pf, a logistic
 *     model of the reader's P(face), its detector score and whether the reader and YuNet agree on
 *     its turn. Then a face multiplies the odds of turn k by
 *     pf * 4 pi_k + (1 - pf): at most 4 for a certain face, nothing for a certain non-face, so a
 *     false detection cannot outvote a real face however sure it looks, and the confidence of a
 *     one-face photo is at most that face's pf. The normalised product over faces is the
 *     posterior; its top value is the confidence; under FU_MIN_DECIDE the answer is null.
 *  4. Refine. The most confident faces are detected once more on their own, upright, for their
 *     box, landmarks and roll (refine_face).
 *
 * Every constant marked "fitted" was chosen by tools/fit_decision.py on faces-train sources the
 * reader was not trained on (its record is tools/fit_decision.record.md); faces-dev is only the
 * final check. tools/fit_decision.py computes this decision the same way (Tables.decide).
 *
 * Memory: everything a decision works in (the scaled and turned copies, the crops, the
 * detections, the faces) lives in the fu_decider and keeps its capacity from one image to the
 * next, so a decision allocates nothing once it has seen an image of the size.
 */
#include "decide/orientation.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/sort.h"
#include "decide/detector.h"
#include "decide/weigh.h"
#include "geom/resize.h"
#include "models/reader.h"

#define FU_DET_FAINT 0.3f      /* detections kept as evidence of a turn (not of a face) */
#define FU_TTA 1               /* 1: the reader reads each crop in its four turns (fitted) */
#define FU_SURE 0.95f          /* a confidence that needs no finer pass (fitted) */
#define FU_FACE_MIN 0.5f       /* P(face) under which a detection is not listed as a face */
#define FU_TILE FU_DECIDE_SIDE /* largest canvas side the detector is given at once */
#define FU_ZOOM_HINTS 4        /* places the zoom looks at, at most */
#define FU_ZOOM_MAX_BOX 64.f   /* a detection this large (displayed px) is no small face */
#define FU_ZOOM_CONTEXT 4.f    /* the zoom's square, relative to the detection */
#define FU_ZOOM_MIN_SIDE 96.f  /* ... and at least this large (displayed px) */
#define FU_ZOOM_SIDE 192       /* the square is scaled to this for the detector */
#define FU_TILE_OVERLAP 96     /* tiles overlap this much, so faces up to it are whole in one */
#define FU_GROUP_IOU 0.4f      /* detections this close are the same face */
#define FU_MAX_DET 256         /* detections of one detector run */
#define FU_MAX_ALL 2048        /* detections kept over all passes and turns */
#define FU_MAX_GROUPS 256      /* faces grouped */
#define FU_MAX_READ 16         /* faces read for the decision, the best detector scores first */
#define FU_MAX_LISTED FU_DECIDE_MAX_FACES /* faces listed */
#define FU_REFINE_SIDE 224     /* the landmark refinement looks at a square this big ... */
#define FU_REFINE_CONTEXT 1.4f /* ... this many times the face: faces under ~130 px get level eyes */
#define FU_REFINE_MAX 4        /* faces refined, the most confident first (each costs ~1.5 ms) */

/* One detection with the turn of the image it was found in, in displayed-image coordinates. */
typedef struct det {
    fu_box b;
    int turn;
} det;

/* A detection's place in the order of scores. */
typedef struct ranked {
    float score;
    int i;
} ranked;

typedef struct face_group {
    int best;          /* its best detection (index into the decider's detections) */
    int in_turn[4];    /* its best detection in each turn, or -1 */
    int read;          /* ev.lp is set */
    fu_evidence ev;    /* scores per turn, best score, the reader's answer */
} face_group;

/* The detector passes, coarse to fine; a pass runs only while the answer is not yet sure. */
typedef struct pass {
    int side;         /* longest side of the working image (0: the detail, FACEUP_PARAM_DETAIL) */
    float enlarge;    /* ... but at most this many times the image's own */
    float border;     /* canvas size relative to the image */
} pass;

static const pass PASSES[] = {
    {192, 1.f, 1.3f},           /* faces that fill the frame need the border */
    {FU_DECIDE_SIDE, 2.f, 1.f}, /* smaller faces; small photos enlarged twice */
};

struct fu_decider {
    fu_detector *det;
    fu_reader *reader;
    fu_image work, turned;   /* the scaled image or a crop; its turned copy */
    fu_buf scratch;          /* resampling */
    fu_box boxes[FU_MAX_DET];
    det dets[FU_MAX_ALL];
    ranked order[FU_MAX_ALL], order_tmp[FU_MAX_ALL];
    face_group groups[FU_MAX_GROUPS], prev[FU_MAX_GROUPS], sorted[FU_MAX_GROUPS];
    faceup_face faces[FU_MAX_LISTED];
    fu_trace_fn trace;       /* see fu_decider_trace */
    void *trace_ctx;
    /* the decision under way */
    const fu_image *displayed;
    int pass;                /* the pass running: an index of PASSES, or FU_PASS_* */
    int nd, ng, nprev;
    int best;
    float conf;
    fu_evidence ev[FU_MAX_READ];
    double pf[FU_MAX_READ], pi[FU_MAX_READ][4];
};

fu_decider *fu_decider_create(int threads)
{
    fu_decider *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->det = fu_detector_create(threads);
    d->reader = fu_reader_create();
    if (!d->det || !d->reader) {
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
    fu_reader_destroy(d->reader);
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

/* ---- finding ------------------------------------------------------------------------------ */

/* The share of box a that lies inside box b. */
static float inside(const fu_box *a, const fu_box *b)
{
    float area = a->w * a->h;
    return area > 0.f ? fu_box_intersection(a, b) / area : 0.f;
}

static void keep_detection(fu_decider *d, int turn, const fu_box *b, int tiled)
{
    /* in tiles at high detail, YuNet also finds parts of a large face (an eye and a cheek) as
     * small faces: a small box mostly inside a face already found is that face, not another */
    if (tiled)
        for (int i = 0; i < d->ng; i++) {
            const fu_box *f = &d->dets[d->groups[i].best].b;
            if (f->w > 2.f * b->w && inside(b, f) > 0.5f)
                return;
        }
    if (d->nd < FU_MAX_ALL)
        d->dets[d->nd++] = (det){*b, turn};
    if (d->trace)
        d->trace(d->trace_ctx, d->pass, turn, b);
}

/* Detect in `img` (a turned working image) in tiles of at most FU_TILE x FU_TILE pixels that
 * overlap by FU_TILE_OVERLAP, so memory stays bounded however much detail is asked for. A face
 * cut by a tile edge is found whole in the neighbouring tile or, when larger than the overlap,
 * in a coarser pass (so tiles keep only faces up to the overlap). Returns the number of
 * detections in d->boxes (image coordinates). */
static int detect_tiled(fu_decider *d, const fu_image *img, float border)
{
    if (img->w <= FU_TILE && img->h <= FU_TILE)
        return fu_detector_run(d->det, img, border, FU_DET_FAINT, d->boxes, FU_MAX_DET);
    int n = 0;
    const int step = FU_TILE - FU_TILE_OVERLAP;
    for (int y0 = 0; y0 < img->h; y0 += step) {
        for (int x0 = 0; x0 < img->w; x0 += step) {
            fu_image tile = {img->px + (size_t)y0 * img->stride + (size_t)x0 * 3,
                             img->w - x0 < FU_TILE ? img->w - x0 : FU_TILE,
                             img->h - y0 < FU_TILE ? img->h - y0 : FU_TILE, img->stride, 0};
            int k = fu_detector_run(d->det, &tile, 1.f, FU_DET_FAINT, d->boxes + n, FU_MAX_DET - n);
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

/* Run the detector on `src` in its four turns and keep what it finds, placed into
 * displayed-image coordinates by x -> dx + x * sx, y -> dy + y * sy. */
static int detect_turns(fu_decider *d, const fu_image *src, float border, float sx, float sy,
                        float dx, float dy)
{
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
            fu_box_place(&b, sx, sy, dx, dy);
            keep_detection(d, k, &b, img->w > FU_TILE || img->h > FU_TILE);
        }
    }
    return FACEUP_OK;
}

/* The displayed image scaled so its longest side is `side`, in its four turns. */
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
    return detect_turns(d, src, border, (float)disp->w / (float)src->w,
                        (float)disp->h / (float)src->h, 0.f, 0.f);
}

/* The zoom: a closer look, in the image's full detail, around the faint small detections of the
 * passes so far (at most FU_ZOOM_HINTS, the best first, one per place): each one's square of
 * FU_ZOOM_CONTEXT times its size, scaled to FU_ZOOM_SIDE px, in four turns. A face of 15 px that
 * YuNet only suspected at 640 px is found there at 50 px. */
static int zoom(fu_decider *d)
{
    fu_box hints[FU_ZOOM_HINTS];
    int nh = 0, nd = d->nd;
    for (int pick = 0; pick < FU_ZOOM_HINTS; pick++) {
        const fu_box *best = NULL;
        for (int i = 0; i < nd; i++) {
            const fu_box *b = &d->dets[i].b;
            int taken = fmaxf(b->w, b->h) > FU_ZOOM_MAX_BOX;
            for (int j = 0; j < nh && !taken; j++)
                taken = fu_box_iou(b, &hints[j]) > 0.f;
            if (!taken && (!best || b->score > best->score))
                best = b;
        }
        if (!best)
            break;
        hints[nh++] = *best;
    }
    for (int i = 0; i < nh; i++) {
        const fu_box *h = &hints[i];
        float side = fmaxf(FU_ZOOM_CONTEXT * fmaxf(h->w, h->h), FU_ZOOM_MIN_SIDE);
        float cx = h->x + h->w / 2, cy = h->y + h->h / 2;
        int rc = fu_image_crop_square(d->displayed, cx, cy, side, FU_ZOOM_SIDE, &d->work,
                                      &d->scratch);
        if (rc != FACEUP_OK)
            return rc;
        float s = (float)lroundf(side) / FU_ZOOM_SIDE;
        rc = detect_turns(d, &d->work, 1.f, s, s, (float)lroundf(cx - side / 2),
                          (float)lroundf(cy - side / 2));
        if (rc != FACEUP_OK)
            return rc;
    }
    return FACEUP_OK;
}

/* ---- grouping ----------------------------------------------------------------------------- */

static int by_score_desc(const void *pa, const void *pb)
{
    float a = ((const ranked *)pa)->score, b = ((const ranked *)pb)->score;
    return a < b ? 1 : a > b ? -1 : 0;
}

/* The faces, from every detection so far: best score first, a detection joins the first face
 * whose best box it overlaps by FU_GROUP_IOU; each face's score per turn counts the faint
 * detections overlapping its best box too. A face read before keeps its reading. */
static void group(fu_decider *d)
{
    int n = 0;
    for (int i = 0; i < d->nd; i++)
        if (d->dets[i].b.score >= FU_DET_THRESHOLD)
            d->order[n++] = (ranked){d->dets[i].b.score, i};
    fu_sort(d->order, (size_t)n, sizeof *d->order, by_score_desc, d->order_tmp);
    memcpy(d->prev, d->groups, (size_t)d->ng * sizeof *d->groups);
    d->nprev = d->ng;
    d->ng = 0;
    for (int i = 0; i < n; i++) {
        const det *e = &d->dets[d->order[i].i];
        face_group *g = NULL;
        for (int j = 0; j < d->ng && !g; j++)
            if (fu_box_iou(&d->dets[d->groups[j].best].b, &e->b) >= FU_GROUP_IOU)
                g = &d->groups[j];
        if (!g) {
            if (d->ng == FU_MAX_GROUPS)
                continue;
            g = &d->groups[d->ng++];
            memset(g, 0, sizeof *g);
            g->best = d->order[i].i;
            g->ev.top = e->b.score;
            for (int k = 0; k < 4; k++)
                g->in_turn[k] = -1;
        }
        if (g->in_turn[e->turn] < 0)
            g->in_turn[e->turn] = d->order[i].i;
    }
    for (int j = 0; j < d->ng; j++) {
        face_group *g = &d->groups[j];
        const fu_box *b = &d->dets[g->best].b;
        for (int i = 0; i < d->nd; i++) {
            const det *e = &d->dets[i];
            if (e->b.score > g->ev.s[e->turn] && fu_box_iou(&e->b, b) >= FU_GROUP_IOU)
                g->ev.s[e->turn] = e->b.score;
        }
        for (int p = 0; p < d->nprev; p++)
            if (d->prev[p].read && !memcmp(&d->dets[d->prev[p].best].b, b, sizeof *b)) {
                g->read = 1;
                memcpy(g->ev.lp, d->prev[p].ev.lp, sizeof g->ev.lp);
                break;
            }
    }
}

/* ---- reading and weighing ----------------------------------------------------------------- */

static int read_group(fu_decider *d, face_group *g, int turns)
{
    if (g->read)
        return FACEUP_OK;
    const fu_box *b = &d->dets[g->best].b;
    int rc = fu_reader_read(d->reader, fu_detector_kernels(d->det), d->displayed, b->x, b->y, b->w,
                            b->h, turns, g->ev.lp);
    g->read = rc == FACEUP_OK;
    return rc;
}

/* Read the best faces, then weigh them (decide/weigh.c). */
static int weigh(fu_decider *d)
{
    int n = d->ng < FU_MAX_READ ? d->ng : FU_MAX_READ;
    for (int i = 0; i < n; i++) {
        int rc = read_group(d, &d->groups[i], FU_TTA ? 4 : 1);
        if (rc != FACEUP_OK)
            return rc;
        d->ev[i] = d->groups[i].ev;
    }
    d->conf = fu_weigh(d->ev, n, &d->best, d->pf, d->pi);
    return FACEUP_OK;
}

/* ---- reporting ---------------------------------------------------------------------------- */

/* Fill one listed face from its group (all in displayed-image coordinates). */
static void report_face(const fu_decider *d, const face_group *g, double pf, const double pi[4],
                        faceup_face *out)
{
    int turn = fu_argmax4(pi);
    /* landmarks are best where the face was upright: that turn's detection if it was found there */
    int from = g->in_turn[turn] >= 0 ? turn : d->dets[g->best].turn;
    const fu_box *b = &d->dets[g->in_turn[turn] >= 0 ? g->in_turn[turn] : g->best].b;
    out->x = b->x;
    out->y = b->y;
    out->w = b->w;
    out->h = b->h;
    out->score = g->ev.top;
    for (int k = 0; k < 5; k++) {
        out->landmarks[k][0] = b->lm[2 * k];
        out->landmarks[k][1] = b->lm[2 * k + 1];
    }
    for (int k = 0; k < 4; k++) {
        out->turn_scores[k] = g->ev.s[k];
        out->turn_probs[k] = (float)exp(g->ev.lp[k]);
    }
    out->confidence = fu_face_confidence(pf, pi[turn]);
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
static int refine_face(fu_decider *d, faceup_face *f, int turn)
{
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

/* The faces worth listing, best detector score first: every face scoring at least
 * face_threshold that the reader takes for a face (faces past the FU_MAX_READ weighed are read
 * once, for the list only). The listing never changes the answer: faces_disagree is found over
 * the faces listed at the lowest threshold, whatever face_threshold filters out. */
static int report(fu_decider *d, float face_threshold, fu_decision *out)
{
    out->orientation = d->conf >= FU_MIN_DECIDE ? 90 * d->best : FACEUP_UNDECIDED;
    out->confidence = out->orientation == FACEUP_UNDECIDED ? 0.f : d->conf;
    out->faces_disagree = 0;
    out->faces = d->faces;
    int n = 0, seen = 0, rc;
    for (int i = 0; i < d->ng && seen < FU_MAX_LISTED; i++) {
        face_group *g = &d->groups[i];
        if ((rc = read_group(d, g, 1)) != FACEUP_OK)
            return rc;
        double pi_own[4], *pi = i < FU_MAX_READ ? d->pi[i] : pi_own;
        double pf = i < FU_MAX_READ ? d->pf[i] : fu_face_weight(&g->ev, pi_own);
        if (1.0 - exp(g->ev.lp[4]) < FU_FACE_MIN)
            continue;
        seen++;
        faceup_face *f = &d->faces[n]; /* kept only when listed */
        memset(f, 0, sizeof *f);
        report_face(d, g, pf, pi, f);
        if (f->orientation != FACEUP_UNDECIDED && out->orientation != FACEUP_UNDECIDED
            && f->orientation != out->orientation)
            out->faces_disagree = 1;
        if (g->ev.top < face_threshold)
            continue;
        if (n < FU_REFINE_MAX && (rc = refine_face(d, f, fu_argmax4(pi))) != FACEUP_OK)
            return rc;
        n++;
    }
    out->n_faces = n;
    return FACEUP_OK;
}

/* ---- the decision ------------------------------------------------------------------------- */

/* Longest side of the working image of pass p for an image whose longest side is `longest`. */
static int pass_side(const pass *p, int longest)
{
    float most = p->enlarge * (float)longest;
    return most < (float)p->side ? (int)most : p->side;
}

static int pass_and_weigh(fu_decider *d, int side, float border)
{
    int rc = detect_pass(d, side, border);
    if (rc != FACEUP_OK)
        return rc;
    group(d);
    return weigh(d);
}

/* Find and weigh, coarse to fine, until sure: a finer pass only where it sees the image bigger
 * than the passes before; then the zoom, where the image has more detail than the passes used.
 * Then, when asked for (FACEUP_PARAM_DETAIL over FU_DECIDE_SIDE), the detail pass in tiles, to
 * list faces of ~20 px in large photos, sure or not. With a trace, every pass runs. */
static int find_faces(fu_decider *d, int detail)
{
    const fu_image *disp = d->displayed;
    int longest = disp->w > disp->h ? disp->w : disp->h, seen = 0, rc;
    for (size_t i = 0; i < sizeof PASSES / sizeof PASSES[0]; i++) {
        int side = pass_side(&PASSES[i], longest);
        if (side <= seen || (d->conf >= FU_SURE && !d->trace))
            continue;
        seen = side;
        d->pass = (int)i;
        if ((rc = pass_and_weigh(d, side, PASSES[i].border)) != FACEUP_OK)
            return rc;
    }
    if (longest > seen && (d->conf < FU_SURE || d->trace)) {
        d->pass = FU_PASS_ZOOM;
        if ((rc = zoom(d)) != FACEUP_OK)
            return rc;
        group(d);
        if ((rc = weigh(d)) != FACEUP_OK)
            return rc;
    }
    int fine = longest < detail ? longest : detail;
    d->pass = FU_PASS_DETAIL;
    if (fine > seen && fine > FU_DECIDE_SIDE && (rc = pass_and_weigh(d, fine, 1.f)) != FACEUP_OK)
        return rc;
    return FACEUP_OK;
}

void fu_decider_trace(fu_decider *d, fu_trace_fn fn, void *ctx)
{
    d->trace = fn;
    d->trace_ctx = ctx;
}

int fu_decide(fu_decider *d, const fu_image *displayed, float face_threshold, int detail,
              fu_decision *out)
{
    memset(out, 0, sizeof *out);
    d->displayed = displayed;
    d->nd = d->ng = d->nprev = 0;
    d->best = 0;
    d->conf = 0.f;
    int rc = find_faces(d, detail);
    if (rc == FACEUP_OK)
        rc = report(d, face_threshold, out);
    d->displayed = NULL;
    return rc;
}
