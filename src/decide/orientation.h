/*
 * orientation.h - the orientation decision (internal).
 */
#ifndef FU_ORIENTATION_H
#define FU_ORIENTATION_H

#include <stddef.h>

#include "faceup.h"
#include "geom/box.h"
#include "geom/image.h"

/* The longest side the default passes look at, and where FACEUP_PARAM_DETAIL starts. */
#define FU_DECIDE_SIDE 640

/* JPEGs are decoded at least this large on their shorter side (when they are): the zoom looks
 * closer than the passes, where they saw something faint. */
#define FU_DECIDE_DECODE 1024

/* Faces classified and reported at most. */
#define FU_DECIDE_MAX_FACES 64

/* The detector, the orientation reader and the memory a decision works in, kept between decisions.
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

/* Decide how `displayed` is turned, with the detector and the orientation reader.
 * face_threshold: lowest best-turn score reported as a face. detail: longest side of the
 * finest search (FACEUP_PARAM_DETAIL). Returns a faceup_status. */
int fu_decide(fu_decider *d, const fu_image *displayed, float face_threshold, int detail,
              fu_decision *out);

/* Tools only (tools/evidence_dump.c): with a trace, every pass runs whatever the confidence,
 * and fn(ctx, pass, turn, box) sees every detection kept (score >= 0.3; box in displayed-image
 * coordinates; turn k: found with the image turned back by 90k; pass: 0, 1 the default passes,
 * FU_PASS_ZOOM, FU_PASS_DETAIL). fn NULL: no trace. */
#define FU_PASS_ZOOM 8
#define FU_PASS_DETAIL 9
typedef void (*fu_trace_fn)(void *ctx, int pass, int turn, const fu_box *b);
void fu_decider_trace(fu_decider *d, fu_trace_fn fn, void *ctx);

#endif
