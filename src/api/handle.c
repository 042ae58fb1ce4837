/*
 * handle.c - the handle: its options, its errors, its workspace; the library's version.
 */
#include "api/handle.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/yunet_weights.h"

#ifndef FACEUP_VERSION_STRING
#define FACEUP_VERSION_STRING "0.0.0"
#endif

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

const char *faceup_fix_path_str(int path)
{
    switch (path) {
    case FACEUP_FIX_UNCHANGED: return "unchanged";
    case FACEUP_FIX_LOSSLESS: return "lossless";
    case FACEUP_FIX_REENCODED: return "reencoded_lossy";
    default: return "unknown";
    }
}

const char *faceup_dropped_str(int flag)
{
    switch (flag) {
    case FACEUP_DROPPED_MPF: return "mpf";
    case FACEUP_DROPPED_TRAILER: return "trailing_data";
    case FACEUP_DROPPED_THUMBNAIL: return "exif_thumbnail";
    default: return "unknown";
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
    if (!h || !(h->codec = fu_codec_create())) {
        free(h);
        return NULL;
    }
    h->threads = 1;
    h->max_pixels = 100000000LL;
    h->max_bytes = 256LL << 20;
    h->max_memory = 1LL << 30;
    h->min_confidence = 0.5;
    h->keep_metadata = 1;
    h->output_format = FACEUP_FORMAT_SAME;
    h->face_threshold = 0.5;
    h->detail = FU_DECIDE_SIDE;
    return h;
}

void faceup_destroy(faceup *h)
{
    if (!h)
        return;
    fu_decider_destroy(h->decider);
    fu_codec_destroy(h->codec);
    fu_image_free(&h->stored);
    fu_image_free(&h->displayed);
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
            fu_decider_destroy(h->decider);   /* rebuilt with the new pool on next use */
            h->decider = NULL;
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
    case FACEUP_PARAM_MAX_MEMORY:
        if (!(v >= (1 << 20) && v <= 1e15))
            break;
        h->max_memory = (long long)v;
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
        if (v < FACEUP_FORMAT_SAME || v > FACEUP_FORMAT_AVIF)
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
    case FACEUP_PARAM_LOSSLESS_ONLY:
        if (v != 0 && v != 1)
            break;
        h->lossless_only = (int)v;
        return FACEUP_OK;
    case FACEUP_PARAM_BAKE_EXIF:
        if (v != 0 && v != 1)
            break;
        h->bake_exif = (int)v;
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
    case FACEUP_PARAM_MAX_MEMORY: return (double)h->max_memory;
    case FACEUP_PARAM_MIN_CONFIDENCE: return h->min_confidence;
    case FACEUP_PARAM_KEEP_METADATA: return h->keep_metadata;
    case FACEUP_PARAM_OUTPUT_FORMAT: return h->output_format;
    case FACEUP_PARAM_FACE_THRESHOLD: return h->face_threshold;
    case FACEUP_PARAM_DETAIL: return h->detail;
    case FACEUP_PARAM_LOSSLESS_ONLY: return h->lossless_only;
    case FACEUP_PARAM_BAKE_EXIF: return h->bake_exif;
    }
    return -1;
}

int fu_check_memory(faceup *h, const char *fn, const fu_probe *probe, long long cost)
{
    if (cost <= h->max_memory)
        return FACEUP_OK;
    return fu_fail(h, FACEUP_ERR_TOO_MANY_PIXELS, fn,
                   "a %dx%d image needs about %lld MiB here, over the memory limit of %lld bytes "
                   "(max_memory)", probe->width, probe->height, (cost + (1 << 20) - 1) >> 20,
                   h->max_memory);
}

int fu_check_bytes(faceup *h, const char *fn, size_t size)
{
    if ((long long)size <= h->max_bytes)
        return FACEUP_OK;
    return fu_fail(h, FACEUP_ERR_TOO_MANY_BYTES, fn, "input is %zu bytes, over the limit of %lld",
                   size, h->max_bytes);
}

const char *faceup_errmsg(const faceup *h)
{
    return h ? h->errmsg : "faceup_errmsg(): NULL handle";
}

