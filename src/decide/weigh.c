/*
 * weigh.c - the decision's model: how a face points, how likely it is a face, and the posterior.
 *
 * A face's evidence for turn k is the reader's log-odds (floored) plus FU_BETA times YuNet's
 * score in that turn: two independent looks at it, YuNet's the more reliable between 0 and 90,
 * the reader's between 0 and 180. Their softmax is pi. Whether it is a face at all (pf) is the
 * reader's P(face) to the power FU_PFACE_POW times a ramp on the detector score. The mixture
 * "a face pointing by pi, or no evidence" bounds each face's vote (see weigh.h).
 */
#include "decide/weigh.h"

#include <math.h>

#define FU_RAMP 0.35f          /* pf ramps up over this much detector score above FU_DET_THRESHOLD (fitted) */
#define FU_PFACE_MIN 0.3       /* a reader's P(face) under this: not a face (fitted) */
#define FU_PFACE_POW 0.5       /* pf = P(face)^FU_PFACE_POW x ramp (fitted) */
#define FU_BETA 15.0           /* weight of YuNet's per-turn score beside the reader's log-odds (fitted) */
#define FU_TE 1.0              /* temperature of pi (fitted) */
#define FU_FLOOR -30.0         /* the reader's log-odds are floored here (fitted) */

double fu_face_weight(const fu_evidence *e, double pi[4])
{
    double pface = 1.0 - exp(e->lp[4]);
    for (int k = 0; k < 4; k++)
        pi[k] = 0.25;
    if (!(pface >= FU_PFACE_MIN))
        return 0.0;
    double v[4], mx = -1e300, z = 0;
    for (int k = 0; k < 4; k++) {
        double lq = e->lp[k] - log(pface);
        v[k] = ((lq > FU_FLOOR ? lq : FU_FLOOR) + FU_BETA * e->s[k]) / FU_TE;
        mx = v[k] > mx ? v[k] : mx;
    }
    for (int k = 0; k < 4; k++)
        z += exp(v[k] - mx);
    for (int k = 0; k < 4; k++)
        pi[k] = exp(v[k] - mx) / z;
    double ramp = (e->top - FU_DET_THRESHOLD) / FU_RAMP;
    ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
    return pow(pface, FU_PFACE_POW) * ramp;
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
