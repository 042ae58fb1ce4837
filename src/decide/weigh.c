/*
 * weigh.c - the decision's model: how a face points, how likely it is a face, and the posterior.
 *
 * A face's evidence for turn k is the reader's log-odds (floored) plus FU_BETA times YuNet's
 * score in that turn: two independent looks at it, YuNet's the more reliable between 0 and 90,
 * the reader's between 0 and 180. Their softmax is pi. Whether it is a face at all (pf) is a
 * logistic model of three looks at it: the reader's P(face), YuNet's best score, and whether the
 * two agree on the turn (a false detection's turns are the reader's and YuNet's guesses, which
 * seldom agree). The mixture "a face pointing by pi, or no evidence" bounds each face's vote
 * (see weigh.h).
 */
#include "decide/weigh.h"

#include <math.h>

#define FU_PFACE_MIN 0.3       /* a reader's P(face) under this: not a face (fitted) */
/* pf = sigmoid(FU_PF_B0 + FU_PF_BP logit P(face) + FU_PF_BD logit(score) + FU_PF_BA agree) (fitted) */
#define FU_PF_B0 -14.0
#define FU_PF_BP 0.75
#define FU_PF_BD 8.0
#define FU_PF_BA 3.0
#define FU_BETA 15.0           /* weight of YuNet's per-turn score beside the reader's log-odds (fitted) */
#define FU_TE 1.0              /* temperature of pi (fitted) */
#define FU_FLOOR -30.0         /* the reader's log-odds are floored here (fitted) */

static double logit(double p)
{
    p = p < 1e-6 ? 1e-6 : p > 1 - 1e-6 ? 1 - 1e-6 : p;
    return log(p / (1 - p));
}

int fu_argmax4(const double v[4])
{
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (v[k] > v[best])
            best = k;
    return best;
}

double fu_face_weight(const fu_evidence *e, double pi[4])
{
    double pface = 1.0 - exp(e->lp[4]);
    for (int k = 0; k < 4; k++)
        pi[k] = 0.25;
    if (!(pface >= FU_PFACE_MIN) || !(e->top >= FU_DET_THRESHOLD))
        return 0.0;
    double v[4], s[4], mx = -1e300, z = 0;
    for (int k = 0; k < 4; k++) {
        double lq = e->lp[k] - log(pface);
        v[k] = ((lq > FU_FLOOR ? lq : FU_FLOOR) + FU_BETA * e->s[k]) / FU_TE;
        mx = v[k] > mx ? v[k] : mx;
        s[k] = e->s[k];
    }
    for (int k = 0; k < 4; k++)
        z += exp(v[k] - mx);
    for (int k = 0; k < 4; k++)
        pi[k] = exp(v[k] - mx) / z;
    int agree = s[fu_argmax4(s)] > 0 && fu_argmax4(e->lp) == fu_argmax4(s);
    double t = FU_PF_B0 + FU_PF_BP * logit(pface) + FU_PF_BD * logit(e->top) + FU_PF_BA * agree;
    return 1.0 / (1.0 + exp(-t));
}

float fu_face_confidence(double pf, double pi_best)
{
    return fminf((float)(pf * pi_best + (1 - pf) / 4), FU_MAX_CONFIDENCE);
}

float fu_weigh(const fu_evidence *faces, int n, int *best, double *pf, double (*pi)[4])
{
    double L[4] = {0}, any = 0;
    for (int i = 0; i < n; i++) {
        pf[i] = fu_face_weight(&faces[i], pi[i]);
        for (int k = 0; k < 4; k++)
            L[k] += log(pf[i] * 4 * pi[i][k] + 1 - pf[i]);
        any += pf[i];
    }
    *best = 0;
    for (int k = 1; k < 4; k++)
        if (L[k] > L[*best])
            *best = k;
    double z = 0;
    for (int k = 0; k < 4; k++)
        z += exp(L[k] - L[*best]);
    return any > 0 ? fminf((float)(1.0 / z), FU_MAX_CONFIDENCE) : 0.f;
}
