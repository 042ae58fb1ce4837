/*
 * box.c - intersections, and moving boxes between frames.
 */
#include "geom/box.h"

#include <math.h>

float fu_box_intersection(const fu_box *a, const fu_box *b)
{
    float x0 = fmaxf(a->x, b->x), y0 = fmaxf(a->y, b->y);
    float x1 = fminf(a->x + a->w, b->x + b->w), y1 = fminf(a->y + a->h, b->y + b->h);
    return fmaxf(0.f, x1 - x0) * fmaxf(0.f, y1 - y0);
}

float fu_box_iou(const fu_box *a, const fu_box *b)
{
    float inter = fu_box_intersection(a, b);
    float uni = a->w * a->h + b->w * b->h - inter;
    return uni > 0.f ? inter / uni : 0.f;
}

/* Point (x, y) of a frame w x h once t is applied: t's parts in order, transpose (the frame's
 * sides exchange), then the mirrors, each about the frame's own side. */
static void turn_point(int tr, int fx, int fy, float w, float h, float x, float y, float *ox,
                       float *oy)
{
    if (tr) {
        float s = x; x = y; y = s;
        s = w; w = h; h = s;
    }
    *ox = fx ? w - x : x;
    *oy = fy ? h - y : y;
}

fu_box fu_box_turn(fu_d4 t, float w, float h, const fu_box *b)
{
    int tr, fx, fy;
    fu_d4_parts(t, &tr, &fx, &fy);
    fu_box r = *b;
    float x0, y0, x1, y1;
    turn_point(tr, fx, fy, w, h, b->x, b->y, &x0, &y0);
    turn_point(tr, fx, fy, w, h, b->x + b->w, b->y + b->h, &x1, &y1);
    r.x = fminf(x0, x1);
    r.y = fminf(y0, y1);
    r.w = fabsf(x1 - x0);
    r.h = fabsf(y1 - y0);
    for (int k = 0; k < 5; k++)
        turn_point(tr, fx, fy, w, h, b->lm[2 * k], b->lm[2 * k + 1], &r.lm[2 * k],
                   &r.lm[2 * k + 1]);
    return r;
}

void fu_box_place(fu_box *b, float sx, float sy, float dx, float dy)
{
    b->x = dx + b->x * sx;
    b->y = dy + b->y * sy;
    b->w *= sx;
    b->h *= sy;
    for (int k = 0; k < 5; k++) {
        b->lm[2 * k] = dx + b->lm[2 * k] * sx;
        b->lm[2 * k + 1] = dy + b->lm[2 * k + 1] * sy;
    }
}
