/*
 * api.c - the endpoints: routing, the checks on an image request, the work, the answers.
 *
 * Statuses are chosen so that a client can tell its own mistakes from ours: anything about the
 * request is 4xx (400 malformed, 411/413 length, 415 not an image we read, 422 an image we cannot
 * decode or that has too many pixels), 503 means "try again later" (queue full, out of memory),
 * and 500 is left for what really is a bug in faceup.
 */
#include "api.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"
#include "base/strbuf.h"

/* --- replies ------------------------------------------------------------------------------- */

static void release_malloc(void *p)
{
    free(p);
}

static void set_body(srv_reply *r, char *text, size_t size)
{
    r->body = (const unsigned char *)text;
    r->size = size;
    r->release = release_malloc;
    r->release_arg = text;
}

static void set_static(srv_reply *r, int status, const char *type, const void *body, size_t size)
{
    r->status = status;
    r->content_type = type;
    r->body = body;
    r->size = size;
    r->release = NULL;
}

void srv_reply_header(srv_reply *r, const char *name, const char *fmt, ...)
{
    assert(r->n_headers < SRV_REPLY_HEADERS);
    if (r->n_headers >= SRV_REPLY_HEADERS)
        return;
    va_list ap;
    va_start(ap, fmt);
    r->headers[r->n_headers].name = name;
    vsnprintf(r->headers[r->n_headers].value, sizeof r->headers[0].value, fmt, ap);
    va_end(ap);
    r->n_headers++;
}

void srv_reply_free(srv_reply *r)
{
    if (r->release)
        r->release(r->release_arg);
    r->release = NULL;
    r->body = NULL;
    r->size = 0;
}

/* When even an error cannot be allocated, a static one still tells the truth. */
static const char oom_body[] =
    "{\"error\":{\"code\":\"overloaded\",\"message\":\"out of memory, try again later\"}}";

static void reply_oom(srv_reply *r)
{
    srv_reply_free(r);
    set_static(r, 503, "application/json", oom_body, sizeof oom_body - 1);
    r->n_headers = 0;
    srv_reply_header(r, "Retry-After", "1");
}

void srv_reply_error(srv_reply *r, int status, const char *code, const char *fmt, ...)
{
    char message[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);

    srv_reply_free(r);
    r->status = status;
    r->content_type = "application/json";
    fu_strbuf b = {0};
    fu_strbuf_printf(&b, "{\"error\":{\"code\":\"%s\",\"message\":", code);
    fu_strbuf_json_string(&b, message);
    fu_strbuf_printf(&b, "}}");
    size_t size = b.len;
    char *text = fu_strbuf_take(&b);
    if (!text) {
        reply_oom(r);
        return;
    }
    set_body(r, text, size);
    if (status == 503)
        srv_reply_header(r, "Retry-After", "1");
}

/* --- image requests ------------------------------------------------------------------------ */

int srv_api_check_head(srv_image_request *req, srv_endpoint ep, const srv_request_head *head,
                      uint64_t max_body, srv_reply *err)
{
    memset(req, 0, sizeof *req);
    req->ep = ep;
    const char *why = "";
    if (srv_parse_content_type(head->content_type, &req->ctype, &why) != 0) {
        srv_reply_error(err, 400, "bad_request", "Content-Type: %s", why);
        return -1;
    }
    if (req->ctype.kind == SRV_MEDIA_OTHER) {
        srv_reply_error(err, 415, "unsupported_media_type",
                       "send image/jpeg, image/png, image/webp, image/heic, image/heif, "
                       "image/avif, application/octet-stream or "
                       "multipart/form-data with a 'file' field");
        return -1;
    }
    if (head->min_confidence) {
        if (srv_parse_unit_interval(head->min_confidence, &req->min_confidence) != 0) {
            srv_reply_error(err, 400, "bad_request", "min_confidence must be a number from 0 to 1");
            return -1;
        }
        req->has_min_confidence = 1;
    }
    req->orientation = -1;
    if (head->orientation && (ep != SRV_EP_FIX ||
                              srv_parse_quarter_turn(head->orientation, &req->orientation) != 0)) {
        srv_reply_error(err, 400, "bad_request", ep != SRV_EP_FIX
                        ? "orientation is a parameter of /v1/fix"
                        : "orientation must be 0, 90, 180 or 270");
        return -1;
    }
    req->bake_exif = !head->exif ? -1 : !strcmp(head->exif, "bake") ? 1
                   : !strcmp(head->exif, "keep") ? 0 : -2;
    if (req->bake_exif == -2 || (head->exif && ep != SRV_EP_FIX)) {
        srv_reply_error(err, 400, "bad_request", ep != SRV_EP_FIX ? "exif is a parameter of /v1/fix"
                        : "exif must be keep or bake");
        return -1;
    }
    /* libmicrohttpd decodes chunked bodies; the framing was checked before (srv_framing_check). */
    if (!head->chunked) {
        uint64_t length;
        if (!head->content_length) {
            srv_reply_error(err, 411, "length_required",
                           "send Content-Length or Transfer-Encoding: chunked");
            return -1;
        }
        if (srv_parse_content_length(head->content_length, &length) != 0) {
            srv_reply_error(err, 400, "bad_request", "malformed Content-Length");
            return -1;
        }
        if (length > max_body) {
            srv_reply_error(err, 413, "payload_too_large", "the body is over %llu bytes",
                           (unsigned long long)max_body);
            return -1;
        }
    }
    return 0;
}

int srv_api_take_body(srv_image_request *req, const unsigned char *body, size_t size, srv_reply *err)
{
    if (req->ctype.kind != SRV_MEDIA_MULTIPART) {
        req->files[0].data = body;
        req->files[0].size = size;
        req->files[0].is_file = 1;
        req->n_files = 1;
    } else {
        int n = 0;
        const char *why = "";
        if (srv_multipart_parse(body, size, req->ctype.boundary, req->files, &n, &why) != 0) {
            srv_reply_error(err, 400, "bad_request", "multipart body: %s", why);
            return -1;
        }
        /* Keep the 'file' fields, in order; other fields are ignored. */
        req->n_files = 0;
        for (int i = 0; i < n; i++)
            if (req->files[i].is_file)
                req->files[req->n_files++] = req->files[i];
        if (req->n_files == 0) {
            srv_reply_error(err, 400, "bad_request", "no 'file' field in the form");
            return -1;
        }
    }
    if (req->ep == SRV_EP_FIX && req->n_files > 1) {
        srv_reply_error(err, 400, "bad_request", "/v1/fix takes one file, got %d", req->n_files);
        return -1;
    }
    for (int i = 0; i < req->n_files; i++)
        if (req->files[i].size == 0) {
            srv_reply_error(err, 400, "bad_request", "empty image");
            return -1;
        }
    return 0;
}

/* The status and error code of a failed faceup call. */
static void reply_faceup_error(srv_reply *r, int status, const char *message)
{
    switch (status) {
    case FACEUP_ERR_FORMAT:
        srv_reply_error(r, 415, "unsupported_media_type", "%s", message);
        break;
    case FACEUP_ERR_DECODE:
        srv_reply_error(r, 422, "undecodable_image", "%s", message);
        break;
    case FACEUP_ERR_TOO_MANY_PIXELS:
        srv_reply_error(r, 422, "too_many_pixels", "%s", message);
        break;
    case FACEUP_ERR_TOO_MANY_BYTES:
        srv_reply_error(r, 413, "payload_too_large", "%s", message);
        break;
    case FACEUP_ERR_NOMEM:
        srv_reply_error(r, 503, "overloaded", "%s", message);
        break;
    case FACEUP_ERR_ARGUMENT:
        srv_reply_error(r, 400, "bad_request", "%s", message);
        break;
    default:
        srv_reply_error(r, 500, "internal", "%s", message);
        break;
    }
}

static const char *media_type(faceup_format f)
{
    switch (f) {
    case FACEUP_FORMAT_PNG: return "image/png";
    case FACEUP_FORMAT_WEBP: return "image/webp";
    case FACEUP_FORMAT_HEIC: return "image/heic";
    case FACEUP_FORMAT_AVIF: return "image/avif";
    default: return "image/jpeg";
    }
}

static void decision_text(char *out, size_t cap, int orientation)
{
    if (orientation == FACEUP_UNDECIDED)
        snprintf(out, cap, "undecided");
    else
        snprintf(out, cap, "%d", orientation);
}

static void release_fixed(void *p)
{
    faceup_fixed_free(p);
}

/* Reserve from the budget what the call will hold for `file`'s pixels: 0 (*held set, 0 when
 * nothing was taken), or -1 with a 503 in *out. A header the call will refuse anyway, or an image
 * over the whole budget (each handle's FACEUP_PARAM_MAX_MEMORY, so 422), takes nothing. */
static int reserve(const srv_image_request *req, faceup *h, const srv_part *file,
                   long long *held, srv_reply *out)
{
    double need = 0;
    *held = 0;
    if (!req->memory ||
        faceup_memory_needed(h, file->data, file->size, req->ep == SRV_EP_FIX, &need) != FACEUP_OK ||
        need > (double)req->memory->budget)
        return 0;
    long long n = (long long)need;
    if (atomic_fetch_add(&req->memory->used, n) + n > req->memory->budget) {
        atomic_fetch_sub(&req->memory->used, n);
        srv_reply_error(out, 503, "overloaded",
                        "the images in hand hold the memory budget (%lld bytes); this one needs "
                        "%lld", req->memory->budget, n);
        return -1;
    }
    *held = n;
    return 0;
}

static void give_back(const srv_image_request *req, long long held)
{
    if (held)
        atomic_fetch_sub(&req->memory->used, held);
}

static void run_fix(const srv_image_request *req, faceup *h, srv_reply *out)
{
    const srv_part *file = &req->files[0];
    long long held;
    if (reserve(req, h, file, &held, out) != 0)
        return;
    double saved = faceup_get_param(h, FACEUP_PARAM_MIN_CONFIDENCE);
    double saved_bake = faceup_get_param(h, FACEUP_PARAM_BAKE_EXIF);
    if (req->has_min_confidence)
        faceup_set_param(h, FACEUP_PARAM_MIN_CONFIDENCE, req->min_confidence);
    if (req->bake_exif >= 0)
        faceup_set_param(h, FACEUP_PARAM_BAKE_EXIF, req->bake_exif);
    faceup_fixed *fixed = NULL;
    int rc = req->orientation >= 0
                 ? faceup_fix_orientation(h, file->data, file->size, req->orientation, &fixed)
                 : faceup_fix(h, file->data, file->size, &fixed);
    give_back(req, held);
    faceup_set_param(h, FACEUP_PARAM_MIN_CONFIDENCE, saved);  /* the next request starts clean */
    faceup_set_param(h, FACEUP_PARAM_BAKE_EXIF, saved_bake);
    if (rc != FACEUP_OK) {
        reply_faceup_error(out, rc, fu_err_text(faceup_errmsg(h)));
        return;
    }
    const faceup_result *r = fixed->result;
    out->status = 200;
    out->content_type = media_type(fixed->format);
    out->body = fixed->data;
    out->size = fixed->size;
    out->release = release_fixed;
    out->release_arg = fixed;
    decision_text(out->decision, sizeof out->decision, r->orientation);
    srv_reply_header(out, "X-Faceup-Orientation", "%s", out->decision);
    srv_reply_header(out, "X-Faceup-Confidence", "%.4f", r->confidence);
    srv_reply_header(out, "X-Faceup-Rotated-Ccw", "%d", (360 - fixed->rotated) % 360);
    if (fixed->exif_transform > 1)
        srv_reply_header(out, "X-Faceup-Exif-Baked", "%d", fixed->exif_transform);
    srv_reply_header(out, "X-Faceup-Method", "%s", faceup_fix_path_str(fixed->path));
    char dropped[64] = "";
    for (unsigned bit = 1, n = 0; bit <= FACEUP_DROPPED_THUMBNAIL; bit <<= 1)
        if (fixed->dropped & bit)
            n += (unsigned)snprintf(dropped + n, sizeof dropped - n, "%s%s", n ? ", " : "",
                                    faceup_dropped_str((int)bit));
    if (dropped[0])
        srv_reply_header(out, "X-Faceup-Dropped", "%s", dropped);
    srv_reply_header(out, "X-Faceup-Faces", "%d", r->n_faces);
    /* deprecated: the clockwise turn, and the method under its old name */
    srv_reply_header(out, "X-Faceup-Rotated", "%d", fixed->rotated);
    srv_reply_header(out, "X-Faceup-Path", "%s", fixed->path == FACEUP_FIX_REENCODED
                     ? "reencoded" : faceup_fix_path_str(fixed->path));
    srv_metrics_decision(req->metrics, r->orientation);
}

static void run_detect(const srv_image_request *req, faceup *h, srv_reply *out)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (!f) {
        reply_oom(out);
        return;
    }
    int many = req->n_files > 1, failed = 0;
    size_t used = 0;
    if (many)
        fputc('[', f);
    for (int i = 0; i < req->n_files && !failed; i++) {
        const srv_part *file = &req->files[i];
        faceup_result *r = NULL;
        long long held;
        if (reserve(req, h, file, &held, out) != 0) {
            fclose(f);
            free(text);
            return;
        }
        int rc = faceup_detect(h, file->data, file->size, &r);
        give_back(req, held);
        char one[16] = "error";
        if (rc == FACEUP_OK) {
            decision_text(one, sizeof one, r->orientation);
            srv_metrics_decision(req->metrics, r->orientation);
        } else if (!many) {
            /* One image: its failure is the request's, with the status that says why. */
            fclose(f);
            free(text);
            reply_faceup_error(out, rc, fu_err_text(faceup_errmsg(h)));
            return;
        }
        /* Several: each answer stands on its own, errors in their "error" field. */
        char *json = faceup_result_json(r, file->filename[0] ? file->filename : NULL,
                                        rc == FACEUP_OK ? NULL : fu_err_text(faceup_errmsg(h)));
        faceup_result_free(r);
        if (!json) {
            failed = 1;
            break;
        }
        if (i)
            fputc(',', f);
        fputs(json, f);
        free(json);
        int n = snprintf(out->decision + used, sizeof out->decision - used, "%s%s", i ? "," : "",
                         one);
        used = n < 0 || (size_t)n >= sizeof out->decision - used ? sizeof out->decision - 1
                                                                  : used + (size_t)n;
    }
    if (many)
        fputc(']', f);
    if (fclose(f) != 0 || failed) {
        free(text);
        reply_oom(out);
        return;
    }
    out->status = 200;
    out->content_type = "application/json";
    set_body(out, text, size);
}

void srv_api_run(const srv_image_request *req, faceup *h, srv_reply *out)
{
    if (req->ep == SRV_EP_FIX)
        run_fix(req, h, out);
    else
        run_detect(req, h, out);
}

/* --- the other endpoints ------------------------------------------------------------------- */

void srv_api_get(srv_endpoint ep, const srv_api_state *state, srv_reply *out)
{
    static const char ok[] = "{\"status\":\"ok\"}";
    static const char ready[] = "{\"status\":\"ready\"}";
    switch (ep) {
    case SRV_EP_PAGE:
        set_static(out, 200, "text/html; charset=utf-8", srv_asset_page_html,
                   srv_asset_page_html_size);
        break;
    case SRV_EP_OPENAPI:
        set_static(out, 200, "application/json", srv_asset_openapi_json,
                   srv_asset_openapi_json_size);
        break;
    case SRV_EP_HEALTHZ:
        set_static(out, 200, "application/json", ok, sizeof ok - 1);
        break;
    case SRV_EP_READYZ:
        if (state->gauges.ready)
            set_static(out, 200, "application/json", ready, sizeof ready - 1);
        else
            srv_reply_error(out, 503, "not_ready", "the model is warming up");
        break;
    case SRV_EP_METRICS: {
        size_t size = 0;
        char *text = srv_metrics_render(state->metrics, &state->gauges, &size);
        if (!text) {
            reply_oom(out);
            break;
        }
        out->status = 200;
        out->content_type = "text/plain; version=0.0.4; charset=utf-8";
        set_body(out, text, size);
        break;
    }
    default:
        srv_reply_error(out, 404, "not_found", "no such endpoint");
        break;
    }
}
