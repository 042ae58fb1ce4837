/*
 * decide/ - from pixels to the answer: YuNet as a face detector (detector.c: the canvas it is
 * given, boxes decoded from its outputs, NMS) and the orientation decision (orientation.c:
 * find the faces in four turns, read each one, weigh the evidence). Includes models/, nn/,
 * geom/ and base/; the API above it owns the memory the decision works in (fu_decider).
 *
 * detector.h - YuNet as a face detector: pre-processing, box decoding, NMS (internal).
 */
#ifndef FU_DETECTOR_H
#define FU_DETECTOR_H

#include "geom/box.h"
#include "geom/image.h"
#include "nn/kernels.h"

typedef struct fu_detector fu_detector;

/* A detector whose kernels are chosen for this CPU and that splits rows over `threads` threads. */
fu_detector *fu_detector_create(int threads);
void fu_detector_destroy(fu_detector *d);

/* Detect faces in `img` (boxes in its pixel coordinates) placed at the centre of a black canvas `border` times its size (1.0: no
 * border; the canvas is rounded up to a multiple of 32). Keeps detections scoring >= threshold
 * after NMS (IoU 0.3), best first, at most `max` of them in out[]. Returns the count, or a
 * negative faceup_status. The workspace grows to the largest canvas seen and is then reused. */
int fu_detector_run(fu_detector *d, const fu_image *img, float border, float threshold,
                    fu_box *out, int max);

/* The kernels this detector runs on (chosen for the CPU). */
const fu_kernels *fu_detector_kernels(const fu_detector *d);

#endif
