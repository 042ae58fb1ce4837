/*
 * test_weigh.c - the decision's model (src/decide/weigh.c) on constructed evidence: a false face
 * beside a real one, a non-face the reader alone would turn, faces that disagree, a face near 45
 * degrees, and the bound that makes one face's vote finite.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "decide/weigh.h"

/* A face as the reader and YuNet see it: the reader's P(face) split over the turns by share[],
 * YuNet's score per turn in s[]. */
static fu_evidence face(double p_face, const double share[4], const float s[4])
{
    fu_evidence e;
    memset(&e, 0, sizeof e);
    e.top = 0.f;
    for (int k = 0; k < 4; k++) {
        e.lp[k] = log(p_face * share[k] + 1e-12);
        e.s[k] = s[k];
        e.top = s[k] > e.top ? s[k] : e.top;
    }
    e.lp[4] = log(1 - p_face + 1e-12);
    return e;
}

static const double UP[4] = {1, 0, 0, 0}, RIGHT[4] = {0, 1, 0, 0}, DIAG[4] = {0.5, 0.5, 0, 0};
static const float SEEN_UP[4] = {0.92f, 0.f, 0.85f, 0.f}, SEEN_RIGHT[4] = {0.f, 0.76f, 0.f, 0.f};

static float decide(const fu_evidence *f, int n, int *best)
{
    double pf[8], pi[8][4];
    return fu_weigh(f, n, best, pf, pi);
}

static void test_false_face_beside_a_real_one_does_not_win(void **state)
{
    (void)state;
    /* the case: a background detection (score 0.76) the reader reads as "turned 90" with
     * certainty, beside a real upright face (0.92): the answer follows the real face */
    fu_evidence f[2] = {face(0.99, UP, SEEN_UP), face(0.80, RIGHT, SEEN_RIGHT)};
    int best;
    float conf = decide(f, 2, &best);
    assert_int_equal(best, 0);
    assert_true(conf >= FU_MIN_DECIDE);
    /* and the order of the faces changes nothing */
    fu_evidence g[2] = {f[1], f[0]};
    int best2;
    assert_true(fabsf(decide(g, 2, &best2) - conf) < 1e-6f);
    assert_int_equal(best2, 0);
}

static void test_non_face_the_reader_alone_would_turn_gives_no_answer(void **state)
{
    (void)state;
    /* the reader is sure of "turned 90" but not that it is a face: nothing is decided */
    fu_evidence f = face(0.35, RIGHT, SEEN_RIGHT);
    int best;
    assert_true(decide(&f, 1, &best) < FU_MIN_DECIDE);
    /* sure it is a face and of its turn, but YuNet barely found it: still no confident turn */
    const float faint[4] = {0.f, 0.52f, 0.f, 0.f};
    fu_evidence g = face(0.99, RIGHT, faint);
    assert_true(decide(&g, 1, &best) < FU_MIN_DECIDE);
}

static void test_one_face_is_no_surer_than_it_is_a_face(void **state)
{
    (void)state;
    for (double p = 0.55; p < 0.999; p += 0.05) {
        fu_evidence f = face(p, UP, SEEN_UP);
        double pf[1], pi[1][4];
        int best;
        float conf = fu_weigh(&f, 1, &best, pf, pi);
        assert_int_equal(best, 0);
        assert_true(conf <= pf[0] + (1 - pf[0]) / 4 + 1e-6);
        assert_true(fabsf(conf - fu_face_confidence(pf[0], pi[0][0])) < 1e-6f);
    }
}

static void test_faces_that_disagree_lower_the_confidence(void **state)
{
    (void)state;
    const float seen_right[4] = {0.f, 0.92f, 0.f, 0.85f};
    fu_evidence one = face(0.99, UP, SEEN_UP);
    fu_evidence two[2] = {one, face(0.99, RIGHT, seen_right)};
    int best;
    float alone = decide(&one, 1, &best), both = decide(two, 2, &best);
    assert_true(alone >= FU_MIN_DECIDE);
    assert_true(both < FU_MIN_DECIDE);
    /* a third face agreeing with the first settles it */
    fu_evidence three[3] = {two[0], two[1], one};
    assert_true(decide(three, 3, &best) > both);
    assert_int_equal(best, 0);
}

static void test_face_near_45_degrees_is_undecided(void **state)
{
    (void)state;
    /* the reader splits between 0 and 90, and YuNet sees it about equally in both turns */
    const float both[4] = {0.8f, 0.8f, 0.f, 0.f};
    fu_evidence f = face(0.99, DIAG, both);
    int best;
    float conf = decide(&f, 1, &best);
    assert_true(best == 0 || best == 1);
    assert_true(conf < FU_MIN_DECIDE);
}

static void test_no_face_no_answer(void **state)
{
    (void)state;
    int best = 3;
    assert_true(decide(NULL, 0, &best) == 0.f);
    assert_int_equal(best, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_false_face_beside_a_real_one_does_not_win),
        cmocka_unit_test(test_non_face_the_reader_alone_would_turn_gives_no_answer),
        cmocka_unit_test(test_one_face_is_no_surer_than_it_is_a_face),
        cmocka_unit_test(test_faces_that_disagree_lower_the_confidence),
        cmocka_unit_test(test_face_near_45_degrees_is_undecided),
        cmocka_unit_test(test_no_face_no_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
