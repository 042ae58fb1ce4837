/*
 * box.h - a face box with its five landmarks, and the geometry of boxes (internal).
 */
#ifndef FU_BOX_H
#define FU_BOX_H

#include "geom/d4.h"

/* One detection, in the pixel coordinates of the image it was found in. */
typedef struct fu_box {
    float x, y, w, h;
    float score;
    float lm[10];   /* five landmarks (x, y): right eye, left eye, nose, right and left mouth corner */
} fu_box;

/* Area common to two boxes. */
float fu_box_intersection(const fu_box *a, const fu_box *b);

/* Intersection over union of two boxes. */
float fu_box_iou(const fu_box *a, const fu_box *b);

/* The box and its landmarks in a frame w x h once t is applied to that frame. Coordinates are
 * continuous (a mirror takes x to w - x), so box edges stay on pixel edges. */
fu_box fu_box_turn(fu_d4 t, float w, float h, const fu_box *b);

/* Move a box and its landmarks into another frame: every x becomes dx + x * sx, every y
 * dy + y * sy. */
void fu_box_place(fu_box *b, float sx, float sy, float dx, float dy);

#endif
