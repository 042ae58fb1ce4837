/*
 * handle.h - what a faceup handle holds (internal).
 *
 * The handle owns its options, the message of its last error, and the detector's workspace, which
 * is sized for the largest input seen so far and then reused: the hot path does not allocate.
 */
#ifndef FU_HANDLE_H
#define FU_HANDLE_H

#include "faceup.h"
#include "geom/image.h"

struct fu_detector;
struct fu_orient_net;

struct faceup {
    /* options (faceup_set_param) */
    int threads;
    long long max_pixels;
    long long max_bytes;
    double min_confidence;
    int keep_metadata;
    int output_format;
    double face_threshold;
    int detail;

    char errmsg[FU_ERRLEN];
    struct fu_detector *det;   /* network workspace + thread pool, created lazily */
    struct fu_orient_net *cls; /* the orientation classifier's workspace, created lazily */
};

/* Record "func(): message" as the handle's last error and return `status`. */
int fu_fail(faceup *h, int status, const char *func, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Decide the orientation of an image already decoded and oriented for display (EXIF applied).
 * `exif_orientation` is copied into the result. */
int fu_detect_image(faceup *h, const fu_image *displayed, int exif_orientation,
                    faceup_result **result);

/* faceup_detect() that also returns what the header said (for faceup_fix). */
int fu_detect_encoded(faceup *h, const uint8_t *data, size_t size, faceup_result **result,
                      fu_probe *probe);

#endif
