/*
 * faceup.h - decide how a face photo is turned, and hand it back upright.
 *
 * The whole public surface of libfaceup. One opaque handle carries the options, a workspace
 * sized once, and the message of the last error:
 *
 *     faceup *h = faceup_create();
 *     faceup_result *r = NULL;
 *     if (faceup_detect(h, bytes, size, &r) == FACEUP_OK)
 *         printf("%d %.3f\n", r->orientation, r->confidence);
 *     else
 *         fprintf(stderr, "%s\n", faceup_errmsg(h));
 *     faceup_result_free(r);
 *     faceup_destroy(h);
 *
 * Orientation convention: `orientation` is the clockwise angle (0, 90, 180 or 270) by which the
 * upright picture was turned to give the image as displayed (after any EXIF Orientation tag is
 * applied). FACEUP_UNDECIDED (-1) means faceup declines to decide: no face, or evidence too weak.
 * Turning the displayed image counter-clockwise by `orientation` makes it upright. In faceup's
 * output (CLI lines, JSON keys, X-Faceup-* headers) an image has "orientation 90 clockwise" and
 * faceup_fix "rotated 90 counter-clockwise" it: the same number, both ways round.
 *
 * Thread safety: a handle may be used by one thread at a time. Different handles are fully
 * independent and may be used concurrently from different threads (the embedded model weights
 * are shared, read-only). faceup_version(), faceup_status_str(), faceup_fix_path_str(),
 * faceup_dropped_str() and the *_free() functions are safe from any thread. A server keeps one
 * handle per worker thread.
 *
 * Errors: every function that can fail returns a faceup_status: 0 (FACEUP_OK) on success, a
 * negative code on failure; faceup_errmsg(h) then says "function(): what went wrong". The library
 * never prints, exits or aborts on bad input or on a failed allocation.
 */
#ifndef FACEUP_H
#define FACEUP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(FACEUP_STATIC_BUILD)
#define FACEUP_API __attribute__((visibility("default")))
#else
#define FACEUP_API
#endif

/* The handle: options, a workspace sized once and reused, and the last error message. */
typedef struct faceup faceup;

/* Status codes: 0 is success, every error is negative. */
typedef enum faceup_status {
    FACEUP_OK = 0,
    FACEUP_ERR_ARGUMENT = -1,    /* a NULL pointer, an unknown parameter or a value out of range */
    FACEUP_ERR_NOMEM = -2,       /* an allocation failed */
    FACEUP_ERR_FORMAT = -3,      /* not an image faceup reads (JPEG, PNG, WebP, HEIC, AVIF) */
    FACEUP_ERR_DECODE = -4,      /* a known format, but damaged or truncated */
    FACEUP_ERR_TOO_MANY_PIXELS = -5, /* width x height over FACEUP_PARAM_MAX_PIXELS, or the memory its
                                        decode or fix would take over FACEUP_PARAM_MAX_MEMORY (both
                                        read from the header, before any pixel is decoded) */
    FACEUP_ERR_TOO_MANY_BYTES = -6,  /* the encoded input is over FACEUP_PARAM_MAX_BYTES */
    FACEUP_ERR_ENCODE = -7,      /* writing the output image failed */
    FACEUP_ERR_INTERNAL = -8     /* a bug in faceup: please report it */
} faceup_status;

/* Integer and real options of a handle, set with faceup_set_param(). */
typedef enum faceup_param {
    FACEUP_PARAM_THREADS = 0,        /* threads used inside one call (default 1; results never depend on it) */
    FACEUP_PARAM_MAX_PIXELS = 1,     /* largest width*height accepted (default 100,000,000) */
    FACEUP_PARAM_MAX_BYTES = 2,      /* largest encoded input accepted in bytes (default 256 MiB) */
    FACEUP_PARAM_MIN_CONFIDENCE = 3, /* faceup_fix: turn only when confidence >= this (default 0.5) */
    FACEUP_PARAM_KEEP_METADATA = 4,  /* faceup_fix: 1 keeps EXIF/ICC/XMP/comments (default), 0 strips them */
    FACEUP_PARAM_OUTPUT_FORMAT = 5,  /* faceup_fix: a faceup_format, or FACEUP_FORMAT_SAME (default) */
    FACEUP_PARAM_FACE_THRESHOLD = 6, /* lowest detector score of a face listed in the result
                                        (default 0.5); it filters the list only: orientation,
                                        confidence and faces_disagree never depend on it */
    FACEUP_PARAM_DETAIL = 7,         /* longest side in pixels of the finest face search (default
                                        640, 192..16384). The decision never needs more; raise it
                                        to list faces of ~20 px in large photos: the image is then
                                        also searched at that size, in 640-px tiles (slower, and a
                                        JPEG is decoded at up to that size) */
    FACEUP_PARAM_LOSSLESS_ONLY = 8,  /* faceup_fix, faceup_fix_orientation: 1 never re-encodes an
                                        image; one that cannot be fixed without it is handed back
                                        unchanged, with reencode_refused set (default 0) */
    FACEUP_PARAM_MAX_MEMORY = 9,     /* largest memory in bytes one call may hold for an image's
                                        pixels (default 1 GiB, at least 1 MiB). Estimated from the
                                        header before decoding (width x height x bytes a pixel x
                                        copies held, the coefficients of a progressive JPEG);
                                        over it is FACEUP_ERR_TOO_MANY_PIXELS. The detector's
                                        networks (~30 MB at the default detail) come on top */
    FACEUP_PARAM_BAKE_EXIF = 10      /* faceup_fix, faceup_fix_orientation, for an image found (or
                                        told) upright as displayed that has an EXIF Orientation
                                        tag (2..8): 0 keeps it as it is, tag and all (default:
                                        it already shows upright, and baking could need a lossy
                                        re-encode); 1 bakes the tag's turn into the pixels and
                                        sets the tag to 1, so that viewers which ignore the tag
                                        show it upright too (exif_transform says so; `path` says
                                        when that was a re-encode). A turned image always has its
                                        tag baked into its one transform, and so has one whose
                                        tag FACEUP_PARAM_KEEP_METADATA 0 would drop */
} faceup_param;

typedef enum faceup_format {
    FACEUP_FORMAT_SAME = 0, /* as an output format: the input's own */
    FACEUP_FORMAT_JPEG = 1,
    FACEUP_FORMAT_PNG = 2,
    FACEUP_FORMAT_WEBP = 3,
    FACEUP_FORMAT_HEIC = 4, /* HEIF with HEVC (iPhone, many Android phones); read and written with
                               libheif. The container's rotation and mirror (irot, imir) are part
                               of the picture; an EXIF Orientation inside a HEIF is never applied */
    FACEUP_FORMAT_AVIF = 5  /* HEIF with AV1, the same rules */
} faceup_format;

/* Layout of raw pixels given to faceup_detect_pixels(): 8 bits per channel. */
typedef enum faceup_pixel_format {
    FACEUP_PIXEL_RGB = 0,
    FACEUP_PIXEL_BGR = 1,
    FACEUP_PIXEL_RGBA = 2,
    FACEUP_PIXEL_BGRA = 3,
    FACEUP_PIXEL_GRAY = 4
} faceup_pixel_format;

#define FACEUP_UNDECIDED (-1)

/* One face. Coordinates are pixels of the image as displayed (EXIF applied, before any turn). */
typedef struct faceup_face {
    float x, y, w, h;        /* bounding box, top-left corner and size */
    float score;             /* detector score in [0, 1] in the face's best turn */
    float landmarks[5][2];   /* right eye, left eye, nose tip, right mouth corner, left mouth corner
                                (the person's right and left), as (x, y) */
    int orientation;         /* this face's own turn (0/90/180/270) or FACEUP_UNDECIDED */
    float confidence;        /* this face's own confidence in [0, 1] */
    float roll;              /* residual roll in degrees of the eye line once the face is upright
                                (in its own best turn); positive is clockwise */
    float turn_scores[4];    /* evidence: its detector score in the image turned back by 0, 90, 180,
                                270 degrees (0 where it was not found in that turn) */
    float turn_probs[4];     /* evidence: the orientation reader's probability that this face
                                is turned 0, 90, 180, 270 degrees; 1 - their sum is the probability
                                that it is not a face at all */
} faceup_face;

/* What faceup_detect() decided. Allocated by faceup; free it with faceup_result_free(). Fields may
 * be added at the end in later versions; callers never allocate this struct themselves. */
typedef struct faceup_result {
    int orientation;          /* 0/90/180/270, or FACEUP_UNDECIDED */
    float confidence;         /* probability in [0, 1] that `orientation` is right; 0 when undecided.
                                 See README "What confidence means". */
    int exif_orientation;     /* the EXIF Orientation tag found (1..8), 0 when absent */
    int width, height;        /* the image as displayed (EXIF applied) */
    int faces_disagree;       /* 1 when decided faces point different ways (weighted majority
                                 kept); over every face found, listed or not */
    int n_faces;
    faceup_face *faces;       /* n_faces entries, most confident first */
} faceup_result;

/* What faceup_fix() produced. Free with faceup_fixed_free(). */
typedef enum faceup_fix_path {
    FACEUP_FIX_UNCHANGED = 0, /* nothing to do, or undecided / under FACEUP_PARAM_MIN_CONFIDENCE:
                                 `data` holds the input, byte for byte */
    FACEUP_FIX_LOSSLESS = 1,  /* JPEG turned in the DCT domain, PNG or lossless WebP turned exactly,
                                 or only the EXIF Orientation tag reset to 1 */
    FACEUP_FIX_REENCODED = 2  /* pixels turned and re-encoded, which is lossy: a JPEG whose size
                                 is not a whole number of MCUs (with the source's own quantisation
                                 tables and sampling, never dropping edge pixels), lossy WebP at
                                 its estimated source quality, HEIC and AVIF always (encoded anew at
                                 quality 90, without irot/imir), or any change of format */
} faceup_fix_path;

/* What a fix could not carry into its output, reported in faceup_fixed.dropped (bit flags). */
typedef enum faceup_dropped {
    FACEUP_DROPPED_MPF = 1,     /* the MPF index (APP2 "MPF") of a multi-picture JPEG */
    FACEUP_DROPPED_TRAILER = 2, /* data after the end of a JPEG's picture: the secondary images of
                                   an MPF file (an HDR gain map, a depth map), or anything else
                                   appended. Kept when the picture is not rewritten (the EXIF
                                   tag only patched); dropped when it is, for the secondary
                                   images would not be turned with it */
    FACEUP_DROPPED_THUMBNAIL = 4 /* the EXIF thumbnail: removed (unlinked) whenever the pixels are
                                   turned, for it would show unturned; kept when they are not */
} faceup_dropped;

typedef struct faceup_fixed {
    unsigned char *data;     /* the upright encoded image; owned by this struct */
    size_t size;
    faceup_format format;    /* format of `data` */
    faceup_result *result;   /* the decision, as faceup_detect() gives it; owned by this struct */
    int rotated;             /* the rotation applied to the displayed image as a CLOCKWISE angle,
                                0/90/180/270: (360 - result->orientation) % 360 when the image was
                                turned. The CLI, JSON and HTTP headers give it counter-clockwise,
                                (360 - rotated) % 360, which is the orientation itself
                                (`rotated_ccw`, X-Faceup-Rotated-Ccw) */
    int exif_transform;      /* the EXIF Orientation (1..8) folded into the same transform, 0 if none
                                ("baked in": `exif_baked`, X-Faceup-Exif-Baked, when > 1) */
    faceup_fix_path path;
    int reencode_refused;    /* 1: the fix needed a re-encode (FACEUP_FIX_REENCODED) and
                                FACEUP_PARAM_LOSSLESS_ONLY refused it: path is
                                FACEUP_FIX_UNCHANGED, `data` the input byte for byte, rotated 0,
                                and `result` says what the turn would have been */
    unsigned dropped;        /* faceup_dropped flags: what the input carried and `data` does not
                                (0: nothing lost). Metadata stripped on purpose
                                (FACEUP_PARAM_KEEP_METADATA 0, the EXIF thumbnail with it) is
                                not listed, but an MPF index and trailing data are, even then */
} faceup_fixed;

/* "MAJOR.MINOR.PATCH" of the library. Thread-safe; the string is static. */
FACEUP_API const char *faceup_version(void);

/* A short English name of a status code. Thread-safe; the string is static. */
FACEUP_API const char *faceup_status_str(int status);

/* The word for a faceup_fix_path in faceup's output (the `method` of `faceup fix --json`, the
 * X-Faceup-Method header): "unchanged", "lossless", "reencoded_lossy"; "unknown" for another
 * value. Thread-safe; the string is static. */
FACEUP_API const char *faceup_fix_path_str(int path);

/* The word for one faceup_dropped flag in faceup's output (`dropped` of `faceup fix --json`,
 * X-Faceup-Dropped): "mpf", "trailing_data", "exif_thumbnail"; "unknown" for another value. Thread-safe; the
 * string is static. */
FACEUP_API const char *faceup_dropped_str(int flag);

/* Create a handle with default options. Returns NULL only when memory is exhausted. */
FACEUP_API faceup *faceup_create(void);

/* Destroy a handle and everything it owns. faceup_destroy(NULL) does nothing. */
FACEUP_API void faceup_destroy(faceup *h);

/* Set or read an option. Returns FACEUP_OK, or FACEUP_ERR_ARGUMENT for an unknown parameter or a
 * value out of range (the option then keeps its old value). */
FACEUP_API int faceup_set_param(faceup *h, faceup_param param, double value);
FACEUP_API double faceup_get_param(const faceup *h, faceup_param param);

/* The message of the last error on this handle ("" after a success). Owned by the handle, valid
 * until the next call on it. */
FACEUP_API const char *faceup_errmsg(const faceup *h);

/* Decide the orientation of an encoded image (JPEG, PNG, WebP, HEIC or AVIF) held in memory. On success,
 * *result points to a new faceup_result the caller frees with faceup_result_free(); on failure
 * *result is NULL. */
FACEUP_API int faceup_detect(faceup *h, const void *data, size_t size, faceup_result **result);

/* The same on raw pixels: `stride` is the number of bytes between rows (0 means tightly packed).
 * There is no EXIF here: exif_orientation is 0. */
FACEUP_API int faceup_detect_pixels(faceup *h, const uint8_t *pixels, int width, int height,
                                    int stride, faceup_pixel_format format,
                                    faceup_result **result);

/* Free a result. faceup_result_free(NULL) does nothing. */
FACEUP_API void faceup_result_free(faceup_result *result);

/* Render a result as one JSON object on one line, the contract of `faceup detect --json`:
 *   {"file": "...", "orientation": 0|90|180|270|null, "confidence": 0..1,
 *    "exif_orientation": 1..8|null, "width": W, "height": H, "faces_disagree": false,
 *    "faces": [{"box": [x, y, w, h], "score": s, "landmarks": [[x, y] x5], "orientation": ...,
 *               "confidence": c, "roll": degrees, "turn_scores": [s0, s90, s180, s270],
 *               "turn_probs": [p0, p90, p180, p270]}],
 *    "error": null}
 * `file` may be NULL (the key is then left out). With result == NULL it renders the object of an
 * input that failed: orientation null, confidence 0, no faces, "error": error. Returns a
 * malloc'ed NUL-terminated string the caller frees with free(), or NULL when out of memory. */
FACEUP_API char *faceup_result_json(const faceup_result *result, const char *file,
                                    const char *error);

/* Hand an encoded image back upright. On success *fixed holds the output (free it with
 * faceup_fixed_free()); nothing is turned when the decision is undecided or its confidence is
 * under FACEUP_PARAM_MIN_CONFIDENCE. The input is never modified. */
FACEUP_API int faceup_fix(faceup *h, const void *data, size_t size, faceup_fixed **fixed);

/* faceup_fix() when the caller already knows the answer: `orientation` (0, 90, 180 or 270) is
 * the clockwise angle by which the displayed image (EXIF Orientation applied) is turned, as
 * faceup_detect() would report it, and the image is put upright by the same single transform,
 * the same lossless path and the same options (FACEUP_PARAM_MIN_CONFIDENCE aside) as faceup_fix;
 * the detector is not run. 0 changes nothing but, with FACEUP_PARAM_BAKE_EXIF, bakes the EXIF
 * Orientation into the pixels. fixed->result
 * reports the turn given: orientation as given, confidence 1, the EXIF Orientation and
 * displayed size of the image, no faces. Another orientation is FACEUP_ERR_ARGUMENT. */
FACEUP_API int faceup_fix_orientation(faceup *h, const void *data, size_t size, int orientation,
                                      faceup_fixed **fixed);

/* What faceup_detect (fix = 0), or faceup_fix and faceup_fix_orientation (fix = 1, assuming
 * the image gets turned), would hold for the pixels of these bytes at most, estimated from the
 * header alone with the handle's options: the figure those calls check against
 * FACEUP_PARAM_MAX_MEMORY, for a caller that shares one memory budget between handles (faceup
 * serve reserves it before each call). Sets *bytes and returns FACEUP_OK, or the error the call
 * would give on the header (FACEUP_ERR_FORMAT, _DECODE, _TOO_MANY_PIXELS, _TOO_MANY_BYTES),
 * *bytes then 0. Decodes nothing; one thread at a time on a handle, as every call. */
FACEUP_API int faceup_memory_needed(faceup *h, const void *data, size_t size, int fix,
                                    double *bytes);

/* Free a fix output. faceup_fixed_free(NULL) does nothing. */
FACEUP_API void faceup_fixed_free(faceup_fixed *fixed);

/* The embedded detector: its name (for example "face_detection_yunet_2023mar.onnx") and the
 * SHA-256 of the file its weights were converted from, as 64 lowercase hex digits. Static. */
FACEUP_API const char *faceup_model_name(void);
FACEUP_API const char *faceup_model_sha256(void);

#ifdef __cplusplus
}
#endif

#endif /* FACEUP_H */
