/*
 * orient_net.h - the face-orientation classifier (internal).
 *
 * Given a face box, it looks at a square crop around it and says how the face is turned:
 * probabilities of 0, 90, 180, 270 degrees clockwise and of "not a face".
 */
#ifndef FU_ORIENT_NET_H
#define FU_ORIENT_NET_H

#include "geom/image.h"
#include "nn/kernels.h"
#include "models/orient_weights.h"

#define FU_ORIENT_SIZE 48        /* the classifier's input side */

typedef struct fu_orient_net fu_orient_net;

fu_orient_net *fu_orient_net_create(void);
void fu_orient_net_destroy(fu_orient_net *net);

/* Classify the face whose box is (x, y, w, h) in `img`. The crop is classified in its four turns
 * and the answers are averaged back into the crop's frame, so no turn is favoured by the
 * network's own bias. prob[k] for k < 4: the face is turned 90k clockwise; prob[4]: not a face.
 * Returns a faceup_status. */
int fu_orient_net_classify(fu_orient_net *net, const fu_kernels *k, const fu_image *img, float x,
                           float y, float w, float h, float prob[FU_ORIENT_CLASSES]);

#endif
