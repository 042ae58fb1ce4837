/*
 * orientation.h - the orientation decision (internal).
 */
#ifndef FU_ORIENTATION_H
#define FU_ORIENTATION_H

#include <stddef.h>

#include "faceup.h"
#include "geom/image.h"

/* The longest side the default passes look at: JPEGs are decoded at least this large (when
 * they are), and FACEUP_PARAM_DETAIL starts here. */
#define FU_DECIDE_SIDE 640

/* Faces classified and reported at most. */
#define FU_DECIDE_MAX_FACES 64

/* The detector, the classifier and the memory a decision works in, kept between decisions.
 * One thread at a time. */
typedef struct fu_decider fu_decider;

/* A decider whose detector splits rows over `threads` threads. NULL when out of memory or
 * threads. fu_decider_destroy(NULL) is a no-op. */
fu_decider *fu_decider_create(int threads);
void fu_decider_destroy(fu_decider *d);

/* Give back the working images and scratch over `keep` bytes (a large image's copies). */
void fu_decider_trim(fu_decider *d, size_t keep);

typedef struct fu_decision {
    int orientation;           /* 0/90/180/270, or FACEUP_UNDECIDED */
    float confidence;          /* 0 when undecided */
    int faces_disagree;
    int n_faces;
    const faceup_face *faces;  /* in `displayed` coordinates; the decider's, valid until its
                                  next decision */
} fu_decision;

/* Decide how `displayed` is turned, with the detector and the orientation classifier.
 * face_threshold: lowest best-turn score reported as a face. detail: longest side of the
 * finest search (FACEUP_PARAM_DETAIL). Returns a faceup_status. */
int fu_decide(fu_decider *d, const fu_image *displayed, float face_threshold, int detail,
              fu_decision *out);

#endif
