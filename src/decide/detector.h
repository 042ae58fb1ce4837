/*
 * detector.h - YuNet as a face detector: pre-processing, box decoding, NMS (internal).
 */
#ifndef FU_DETECTOR_H
#define FU_DETECTOR_H

#include "geom/image.h"
#include "nn/kernels.h"
#include "nn/threadpool.h"

/* One detection, in the pixel coordinates of the image given to fu_detector_run(). */
typedef struct fu_box {
    float x, y, w, h;
    float score;
    float lm[10];   /* five landmarks (x, y): right eye, left eye, nose, right and left mouth corner */
} fu_box;

typedef struct fu_detector fu_detector;

/* A detector whose kernels are chosen for this CPU and that splits rows over `threads` threads. */
fu_detector *fu_detector_create(int threads);
void fu_detector_destroy(fu_detector *d);

/* Detect faces in `img` placed at the centre of a black canvas `border` times its size (1.0: no
 * border; the canvas is rounded up to a multiple of 32). Keeps detections scoring >= threshold
 * after NMS (IoU 0.3), best first, at most `max` of them in out[]. Returns the count, or a
 * negative faceup_status. The workspace grows to the largest canvas seen and is then reused. */
int fu_detector_run(fu_detector *d, const fu_image *img, float border, float threshold,
                    fu_box *out, int max);

/* The kernels this detector runs on (chosen for the CPU). */
const fu_kernels *fu_detector_kernels(const fu_detector *d);

/* Area common to two boxes. */
float fu_box_intersection(const fu_box *a, const fu_box *b);

/* Intersection over union of two boxes. */
float fu_box_iou(const fu_box *a, const fu_box *b);

#endif
