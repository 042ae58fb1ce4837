/*
 * orientation.h - the orientation decision (internal).
 */
#ifndef FU_ORIENTATION_H
#define FU_ORIENTATION_H

#include "decide/detector.h"
#include "faceup.h"
#include "geom/image.h"
#include "models/orient_net.h"

/* Decide how `displayed` is turned, with the detector and the orientation classifier. Fills a new result (faces in `displayed` coordinates) that the
 * caller frees with faceup_result_free(). face_threshold: lowest best-turn score reported as a
 * face. detail: longest side of the finest search (FACEUP_PARAM_DETAIL). Returns a
 * faceup_status. */
int fu_orientation_decide(fu_detector *det, fu_orient_net *cls, const fu_image *displayed,
                          float face_threshold, int detail, faceup_result **result);

#endif
