/*
 * api/ - the library's public face (include/faceup.h): the handle with its parameters, errors
 * and workspace (handle.c), faceup_detect from bytes or pixels to a result (detect.c), the fix
 * policy (fix.c), results and their JSON (result.c). The top floor: includes decide/, codec/,
 * geom/ and base/; nothing includes it but the tests.
 *
 * handle.h - what a faceup handle holds (internal).
 *
 * The handle owns its options, the message of its last error, and the workspace of the hot
 * path: the decoder (codec), the decoded and the EXIF-turned image, and the decider with its
 * networks and working copies. Each keeps its capacity from one call to the next, so a detect
 * allocates only its result once the handle has seen an image of the size; buffers over
 * FU_WORKSPACE_KEEP bytes are given back after the call, so one huge image does not stay
 * resident in every worker.
 */
#ifndef FU_HANDLE_H
#define FU_HANDLE_H

#include "base/err.h"
#include "codec/codec.h"
#include "decide/orientation.h"
#include "faceup.h"
#include "geom/image.h"

#define FU_WORKSPACE_KEEP ((size_t)16 << 20)

struct faceup {
    /* options (faceup_set_param) */
    int threads;
    long long max_pixels;
    long long max_bytes;
    long long max_memory;
    double min_confidence;
    int keep_metadata;
    int output_format;
    int lossless_only;
    int bake_exif;        /* FACEUP_PARAM_BAKE_EXIF */
    double face_threshold;
    int detail;

    char errmsg[FU_ERRLEN];

    /* the workspace */
    fu_codec *codec;
    fu_image stored, displayed;   /* as decoded; with the EXIF Orientation applied */
    fu_decider *decider;          /* made on first use, for `threads` */
};

/* Record "func(): message" as the handle's last error and return `status`. */
int fu_fail(faceup *h, int status, const char *func, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* FACEUP_OK when `cost` bytes (fu_decode_cost, fu_fix_cost) are within FACEUP_PARAM_MAX_MEMORY,
 * else FACEUP_ERR_TOO_MANY_PIXELS with a message that names the limit, in the name of `fn`. */
int fu_check_memory(faceup *h, const char *fn, const fu_probe *probe, long long cost);

/* FACEUP_OK, or FACEUP_ERR_TOO_MANY_BYTES (the message in h, from fn) when an encoded input of
 * `size` bytes is over FACEUP_PARAM_MAX_BYTES. */
int fu_check_bytes(faceup *h, const char *fn, size_t size);

/* What fu_detect_encoded holds for an image probed as `probe` (the decode, and its EXIF turn). */
long long fu_detect_cost(const faceup *h, const fu_probe *probe);

/* faceup_detect() that also returns what the header said (for faceup_fix). */
int fu_detect_encoded(faceup *h, const uint8_t *data, size_t size, faceup_result **result,
                      fu_probe *probe);

/* A result for n_faces faces, zeroed, in one allocation (faceup_result_free() frees it). */
faceup_result *fu_result_new(int n_faces);

/* faceup_fix() without the detector: apply a counter-clockwise turn of the displayed image
 * (0/90/180/270, folded with the EXIF Orientation the probe found), or, when rotate_ccw < 0,
 * leave the orientation as it is. Fills every field of *out but `result`. The handle supplies
 * the options and receives the error message, in the name of the public function `fn`. */
int fu_fix_apply(faceup *h, const char *fn, const uint8_t *data, size_t size,
                 const fu_probe *probe, int rotate_ccw, faceup_fixed *out);

#endif
