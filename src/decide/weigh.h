/*
 * weigh.h - from the evidence about each face to the answer (internal).
 *
 * The decision's model, apart from the search that gathers its evidence (orientation.c), so it can
 * be tested on constructed cases and computed the same way by tools/fit_decision.py
 * (Tables.decide). Every constant here was fitted there, on faces-train sources the reader was
 * not trained on; the record is tools/fit_decision.record.md.
 */
#ifndef FU_WEIGH_H
#define FU_WEIGH_H

#include "models/reader_weights.h"

#define FU_DET_THRESHOLD 0.5f  /* a detection this good can be a face (fitted) */
#define FU_MIN_DECIDE 0.8f     /* below this confidence the answer is undecided (fitted) */
#define FU_MAX_CONFIDENCE 0.999f /* never claim certainty */

/* What the decision knows about one face. */
typedef struct fu_evidence {
    float s[4];        /* YuNet's best score in each turn of the image (0: not found there) */
    float top;         /* its best detection's score */
    double lp[FU_READER_CLASSES]; /* the reader's log P(turned 0/90/180/270), log P(not a face) */
} fu_evidence;

/* How one face points, pi[k] = P(turned 90k | a face), and the probability pf that it is a face
 * at all (returned; 0 when it is not taken for one). */
double fu_face_weight(const fu_evidence *e, double pi[4]);

/* The first of four turns with the largest value (as numpy's argmax, so the fit and C agree on
 * ties). */
int fu_argmax4(const double v[4]);

/* One face's confidence in its own best turn: pf * pi + (1 - pf) / 4, capped. */
float fu_face_confidence(double pf, double pi_best);

/* The posterior over the four turns from n faces: each multiplies the odds of turn k by
 * pf * 4 pi_k + (1 - pf) - at most 4 for a certain face, nothing for a certain non-face - so no
 * false detection outvotes a real face however sure it looks. Sets *best, and pf[i], pi[i] per
 * face; returns the confidence (the posterior's top value, capped; 0 without any face). */
float fu_weigh(const fu_evidence *faces, int n, int *best, double *pf, double (*pi)[4]);

#endif
