/*
 * faceup.c - the handle: options, errors, and the public detect entry points.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide/detector.h"
#include "api/handle.h"
#include "decide/orientation.h"
#include "models/yunet_weights.h"

#ifndef FACEUP_VERSION_STRING
#define FACEUP_VERSION_STRING "0.0.0"
#endif

/* The decision never needs more than this many pixels on the shorter side of a JPEG decode. */
#define FU_DECODE_MIN_SIDE 640

const char *faceup_version(void)
{
    return FACEUP_VERSION_STRING;
}

const char *faceup_model_name(void)
{
    return fu_yunet_model_name;
}

const char *faceup_model_sha256(void)
{
    return fu_yunet_model_sha256;
}

const char *faceup_status_str(int status)
{
    switch (status) {
    case FACEUP_OK: return "ok";
    case FACEUP_ERR_ARGUMENT: return "invalid argument";
    case FACEUP_ERR_NOMEM: return "out of memory";
    case FACEUP_ERR_FORMAT: return "unsupported format";
    case FACEUP_ERR_DECODE: return "cannot decode image";
    case FACEUP_ERR_TOO_MANY_PIXELS: return "too many pixels";
    case FACEUP_ERR_TOO_MANY_BYTES: return "input too large";
    case FACEUP_ERR_ENCODE: return "cannot encode image";
    case FACEUP_ERR_INTERNAL: return "internal error";
    default: return "unknown status";
    }
}

int fu_fail(faceup *h, int status, const char *func, const char *fmt, ...)
{
    if (!h)
        return status;
    int n = snprintf(h->errmsg, sizeof h->errmsg, "%s(): ", func);
    if (n < 0 || (size_t)n >= sizeof h->errmsg)
        return status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->errmsg + n, sizeof h->errmsg - (size_t)n, fmt, ap);
    va_end(ap);
    return status;
}

faceup *faceup_create(void)
{
    faceup *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->threads = 1;
    h->max_pixels = 100000000LL;
    h->max_bytes = 256LL << 20;
    h->min_confidence = 0.5;
    h->keep_metadata = 1;
    h->output_format = FACEUP_FORMAT_SAME;
    h->face_threshold = 0.5;
    h->detail = FU_DECODE_MIN_SIDE;
    return h;
}

void faceup_destroy(faceup *h)
{
    if (!h)
        return;
    fu_detector_destroy(h->det);
    fu_orient_net_destroy(h->cls);
    free(h);
}

int faceup_set_param(faceup *h, faceup_param param, double v)
{
    if (!h)
        return FACEUP_ERR_ARGUMENT;
    switch (param) {
    case FACEUP_PARAM_THREADS:
        if (!(v >= 1 && v <= 256))
            break;
        if ((int)v != h->threads) {
            fu_detector_destroy(h->det);   /* rebuilt with the new pool on next use */
            h->det = NULL;
        }
        h->threads = (int)v;
        return FACEUP_OK;
    case FACEUP_PARAM_MAX_PIXELS:
        if (!(v >= 1 && v <= 4e12))
            break;
        h->max_pixels = (long long)v;
        return FACEUP_OK;
    case FACEUP_PARAM_MAX_BYTES:
        if (!(v >= 1 && v <= 1e15))
            break;
        h->max_bytes = (long long)v;
        return FACEUP_OK;
    case FACEUP_PARAM_MIN_CONFIDENCE:
        if (!(v >= 0 && v <= 1))
            break;
        h->min_confidence = v;
        return FACEUP_OK;
    case FACEUP_PARAM_KEEP_METADATA:
        if (v != 0 && v != 1)
            break;
        h->keep_metadata = (int)v;
        return FACEUP_OK;
    case FACEUP_PARAM_OUTPUT_FORMAT:
        if (v != FACEUP_FORMAT_SAME && v != FACEUP_FORMAT_JPEG && v != FACEUP_FORMAT_PNG
            && v != FACEUP_FORMAT_WEBP)
            break;
        h->output_format = (int)v;
        return FACEUP_OK;
    case FACEUP_PARAM_FACE_THRESHOLD:
        if (!(v >= 0 && v <= 1))
            break;
        h->face_threshold = v;
        return FACEUP_OK;
    case FACEUP_PARAM_DETAIL:
        if (!(v >= 192 && v <= 16384))
            break;
        h->detail = (int)v;
        return FACEUP_OK;
    }
    return fu_fail(h, FACEUP_ERR_ARGUMENT, "faceup_set_param", "parameter %d: value %g out of range",
                   (int)param, v);
}

double faceup_get_param(const faceup *h, faceup_param param)
{
    if (!h)
        return -1;
    switch (param) {
    case FACEUP_PARAM_THREADS: return h->threads;
    case FACEUP_PARAM_MAX_PIXELS: return (double)h->max_pixels;
    case FACEUP_PARAM_MAX_BYTES: return (double)h->max_bytes;
    case FACEUP_PARAM_MIN_CONFIDENCE: return h->min_confidence;
    case FACEUP_PARAM_KEEP_METADATA: return h->keep_metadata;
    case FACEUP_PARAM_OUTPUT_FORMAT: return h->output_format;
    case FACEUP_PARAM_FACE_THRESHOLD: return h->face_threshold;
    case FACEUP_PARAM_DETAIL: return h->detail;
    }
    return -1;
}

const char *faceup_errmsg(const faceup *h)
{
    return h ? h->errmsg : "faceup_errmsg(): NULL handle";
}

void faceup_result_free(faceup_result *r)
{
    if (!r)
        return;
    free(r->faces);
    free(r);
}

int fu_detect_image(faceup *h, const fu_image *displayed, int exif_orientation,
                    faceup_result **result)
{
    if (!h->det && !(h->det = fu_detector_create(h->threads)))
        return fu_fail(h, FACEUP_ERR_NOMEM, "faceup_detect", "cannot create the detector");
    if (!h->cls && !(h->cls = fu_orient_net_create()))
        return fu_fail(h, FACEUP_ERR_NOMEM, "faceup_detect", "cannot create the classifier");
    int rc = fu_orientation_decide(h->det, h->cls, displayed, (float)h->face_threshold, h->detail,
                                   result);
    if (rc != FACEUP_OK)
        return fu_fail(h, rc, "faceup_detect", "%s", faceup_status_str(rc));
    (*result)->exif_orientation = exif_orientation;
    return FACEUP_OK;
}

int fu_detect_encoded(faceup *h, const uint8_t *data, size_t size, faceup_result **result,
                      fu_probe *probe)
{
    char err[FU_ERRLEN] = "";
    fu_image stored = {0}, displayed = {0};
    if ((long long)size > h->max_bytes)
        return fu_fail(h, FACEUP_ERR_TOO_MANY_BYTES, "faceup_detect",
                       "input is %zu bytes, over the limit of %lld", size, h->max_bytes);
    int min_side = h->detail > FU_DECODE_MIN_SIDE ? h->detail : FU_DECODE_MIN_SIDE;
    int rc = fu_image_decode(data, size, h->max_pixels, min_side, &stored, probe, err);
    if (rc != FACEUP_OK)
        return fu_fail(h, rc, "faceup_detect", "%s", err[0] ? err : faceup_status_str(rc));
    const fu_image *shown = &stored;
    if (probe->exif_orientation > 1) {
        rc = fu_image_apply_exif(&stored, probe->exif_orientation, &displayed);
        if (rc != FACEUP_OK) {
            fu_image_free(&stored);
            return fu_fail(h, rc, "faceup_detect", "%s", faceup_status_str(rc));
        }
        shown = &displayed;
    }
    rc = fu_detect_image(h, shown, probe->exif_orientation, result);
    if (rc == FACEUP_OK) {
        /* report the displayed size of the full image, not of the reduced decode */
        int swap = probe->exif_orientation >= 5;
        float sx = (float)(swap ? probe->height : probe->width) / (float)shown->w;
        float sy = (float)(swap ? probe->width : probe->height) / (float)shown->h;
        faceup_result *r = *result;
        r->width = swap ? probe->height : probe->width;
        r->height = swap ? probe->width : probe->height;
        for (int i = 0; i < r->n_faces; i++) {
            faceup_face *f = &r->faces[i];
            f->x *= sx; f->w *= sx; f->y *= sy; f->h *= sy;
            for (int k = 0; k < 5; k++) {
                f->landmarks[k][0] *= sx;
                f->landmarks[k][1] *= sy;
            }
        }
    }
    fu_image_free(&stored);
    fu_image_free(&displayed);
    return rc;
}

int faceup_detect(faceup *h, const void *data, size_t size, faceup_result **result)
{
    if (!result)
        return fu_fail(h, FACEUP_ERR_ARGUMENT, "faceup_detect", "result is NULL");
    *result = NULL;
    if (!h || (!data && size))
        return fu_fail(h, FACEUP_ERR_ARGUMENT, "faceup_detect", "NULL handle or data");
    h->errmsg[0] = 0;
    fu_probe probe;
    return fu_detect_encoded(h, data, size, result, &probe);
}

int faceup_detect_pixels(faceup *h, const uint8_t *pixels, int width, int height, int stride,
                         faceup_pixel_format format, faceup_result **result)
{
    static const int bpp[] = {3, 3, 4, 4, 1};
    if (!result)
        return fu_fail(h, FACEUP_ERR_ARGUMENT, "faceup_detect_pixels", "result is NULL");
    *result = NULL;
    if (!h || !pixels || width <= 0 || height <= 0 || (unsigned)format > FACEUP_PIXEL_GRAY)
        return fu_fail(h, FACEUP_ERR_ARGUMENT, "faceup_detect_pixels", "bad arguments");
    h->errmsg[0] = 0;
    if ((long long)width * height > h->max_pixels)
        return fu_fail(h, FACEUP_ERR_TOO_MANY_PIXELS, "faceup_detect_pixels",
                       "%dx%d is over the limit of %lld pixels", width, height, h->max_pixels);
    int n = bpp[format];
    if (stride == 0)
        stride = width * n;
    if (stride < width * n)
        return fu_fail(h, FACEUP_ERR_ARGUMENT, "faceup_detect_pixels", "stride %d < %d", stride,
                       width * n);
    fu_image img;
    if (fu_image_alloc(&img, width, height) != FACEUP_OK)
        return fu_fail(h, FACEUP_ERR_NOMEM, "faceup_detect_pixels", "out of memory");
    int swap = format == FACEUP_PIXEL_BGR || format == FACEUP_PIXEL_BGRA;
    for (int y = 0; y < height; y++) {
        const uint8_t *p = pixels + (size_t)y * (size_t)stride;
        uint8_t *o = img.px + (size_t)y * img.stride;
        for (int x = 0; x < width; x++, p += n, o += 3) {
            if (n == 1) {
                o[0] = o[1] = o[2] = p[0];
            } else {
                o[0] = p[swap ? 2 : 0];
                o[1] = p[1];
                o[2] = p[swap ? 0 : 2];
            }
        }
    }
    int rc = fu_detect_image(h, &img, 0, result);
    fu_image_free(&img);
    return rc;
}
