/*
 * reader.h - the face-orientation reader (internal).
 *
 * Given a face box, it looks at a square crop around it and says how the face in it is turned:
 * log-probabilities of "turned 0, 90, 180, 270 degrees clockwise" and of "not a face". Our own
 * network, trained on faces-train by tools/train_reader.py (record: tools/train_reader.record.md).
 */
#ifndef FU_READER_H
#define FU_READER_H

#include "geom/image.h"
#include "models/reader_weights.h"
#include "nn/kernels.h"

typedef struct fu_reader fu_reader;

/* A reader with its workspace (sized once). NULL when out of memory. fu_reader_destroy(NULL) is
 * a no-op. One thread at a time. */
fu_reader *fu_reader_create(void);
void fu_reader_destroy(fu_reader *r);

/* The network's logits (not divided by the temperature) for a FU_READER_SIZE square RGB image. */
void fu_reader_forward(fu_reader *r, const fu_kernels *k, const fu_image *crop,
                       float logits[FU_READER_CLASSES]);

/* Read the face whose box is (x, y, w, h) in `img`: the crop is a square of fu_reader_crop_scale
 * times the box's longer side around its centre, black outside the image. With turns == 4 the
 * crop is read in its four turns and the answers are averaged back into the crop's frame, so no
 * turn is favoured by the network's own bias; with turns == 1 it is read as it is.
 * logp[k] for k < 4: log P(the face is turned 90k clockwise); logp[4]: log P(not a face); the
 * temperature is applied. Returns a faceup_status. */
int fu_reader_read(fu_reader *r, const fu_kernels *k, const fu_image *img, float x, float y,
                   float w, float h, int turns, double logp[FU_READER_CLASSES]);

#endif
