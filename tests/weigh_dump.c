/*
 * weigh_dump.c - the decision's model (src/decide/weigh.c) on evidence read from stdin (test tool).
 *
 * Input: for each case a line with the number of faces n, then n lines of ten numbers each:
 * YuNet's score in the four turns, its best score, and the reader's five log-probabilities.
 * Output: one line per case, the best turn, the confidence (%a, exact) and 1 if that is
 * decided (at least FU_MIN_DECIDE), else 0, so
 * tests/test_weigh_reference.py can hold them against tools/fit_decision.py's simulation.
 */
#include <stdio.h>

#include "decide/weigh.h"

#define MAX_FACES 64

int main(void)
{
    int n;
    static fu_evidence ev[MAX_FACES];
    double pf[MAX_FACES], pi[MAX_FACES][4];
    while (scanf("%d", &n) == 1) {
        if (n < 0 || n > MAX_FACES) {
            fprintf(stderr, "weigh_dump: %d faces: 0 to %d\n", n, MAX_FACES);
            return 2;
        }
        for (int i = 0; i < n; i++) {
            fu_evidence *e = &ev[i];
            if (scanf("%f %f %f %f %f %lf %lf %lf %lf %lf", &e->s[0], &e->s[1], &e->s[2], &e->s[3],
                      &e->top, &e->lp[0], &e->lp[1], &e->lp[2], &e->lp[3], &e->lp[4]) != 10) {
                fprintf(stderr, "weigh_dump: a face needs ten numbers\n");
                return 2;
            }
        }
        int best;
        float conf = fu_weigh(ev, n, &best, pf, pi);
        printf("%d %a %d\n", best, conf, conf >= FU_MIN_DECIDE);
    }
    return 0;
}
