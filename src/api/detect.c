/*
 * detect.c - faceup_detect and faceup_detect_pixels: bytes or pixels to a displayed image in
 * the handle's workspace, the decision on it, and the result in the caller's coordinates.
 */
#include "api/handle.h"

#include <string.h>

/* Give back what one large image left in the workspace. */
static void trim(faceup *h)
{
    if (h->stored.cap > FU_WORKSPACE_KEEP)
        fu_image_free(&h->stored);
    if (h->displayed.cap > FU_WORKSPACE_KEEP)
        fu_image_free(&h->displayed);
    fu_codec_trim(h->codec, FU_WORKSPACE_KEEP);
    fu_decider_trim(h->decider, FU_WORKSPACE_KEEP);
}

/* Decide the orientation of an image already decoded and oriented for display (EXIF applied);
 * a new result with its faces in `displayed` coordinates. */
static int detect_image(faceup *h, const fu_image *displayed, int exif_orientation,
                        faceup_result **result)
{
    if (!h->decider && !(h->decider = fu_decider_create(h->threads)))
        return fu_fail(h, FACEUP_ERR_NOMEM, "faceup_detect", "cannot create the detector");
    fu_decision d;
    int rc = fu_decide(h->decider, displayed, (float)h->face_threshold, h->detail, &d);
    if (rc != FACEUP_OK)
        return fu_fail(h, rc, "faceup_detect", "%s", faceup_status_str(rc));
    faceup_result *r = fu_result_new(d.n_faces);
    if (!r)
        return fu_fail(h, FACEUP_ERR_NOMEM, "faceup_detect", "%s",
                       faceup_status_str(FACEUP_ERR_NOMEM));
    r->orientation = d.orientation;
    r->confidence = d.confidence;
    r->exif_orientation = exif_orientation;
    r->width = displayed->w;
    r->height = displayed->h;
    r->faces_disagree = d.faces_disagree;
    if (d.n_faces)
        memcpy(r->faces, d.faces, (size_t)d.n_faces * sizeof *r->faces);
    *result = r;
    return FACEUP_OK;
}

/* Report the displayed size of the full image, not of the reduced decode. */
static void scale_to_probe(faceup_result *r, const fu_probe *probe, const fu_image *shown)
{
    int swap = probe->exif_orientation >= 5;
    float sx = (float)(swap ? probe->height : probe->width) / (float)shown->w;
    float sy = (float)(swap ? probe->width : probe->height) / (float)shown->h;
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

/* The decode never needs more than the finest face search, nor less than the decision. */
static int decode_side(const faceup *h)
{
    return h->detail > FU_DECIDE_DECODE ? h->detail : FU_DECIDE_DECODE;
}

long long fu_detect_cost(const faceup *h, const fu_probe *probe)
{
    return fu_decode_cost(probe, decode_side(h), probe->exif_orientation > 1);
}

int fu_detect_encoded(faceup *h, const uint8_t *data, size_t size, faceup_result **result,
                      fu_probe *probe)
{
    char err[FU_ERRLEN] = "";
    if (fu_check_bytes(h, "faceup_detect", size) != FACEUP_OK)
        return FACEUP_ERR_TOO_MANY_BYTES;
    /* the header first: what the decode and the EXIF turn will hold, within the budget */
    int rc = fu_image_probe_with(h->codec, data, size, h->max_pixels, probe, err);
    if (rc == FACEUP_OK &&
        fu_check_memory(h, "faceup_detect", probe, fu_detect_cost(h, probe)) != FACEUP_OK)
        return FACEUP_ERR_TOO_MANY_PIXELS;
    if (rc == FACEUP_OK)
        rc = fu_image_decode(h->codec, data, size, h->max_pixels, decode_side(h), &h->stored,
                             probe, err);
    if (rc != FACEUP_OK) {
        trim(h);
        return fu_fail(h, rc, "faceup_detect", "%s", err[0] ? err : faceup_status_str(rc));
    }
    const fu_image *shown = &h->stored;
    if (probe->exif_orientation > 1) {
        rc = fu_image_turn(&h->stored, fu_d4_from_exif(probe->exif_orientation), &h->displayed);
        if (rc != FACEUP_OK) {
            trim(h);
            return fu_fail(h, rc, "faceup_detect", "%s", faceup_status_str(rc));
        }
        shown = &h->displayed;
    }
    rc = detect_image(h, shown, probe->exif_orientation, result);
    if (rc == FACEUP_OK)
        scale_to_probe(*result, probe, shown);
    trim(h);
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

/* The caller's pixels as RGB into img. */
static void copy_pixels(const uint8_t *pixels, int stride, int n, int swap, fu_image *img)
{
    for (int y = 0; y < img->h; y++) {
        const uint8_t *p = pixels + (size_t)y * (size_t)stride;
        uint8_t *o = img->px + (size_t)y * img->stride;
        for (int x = 0; x < img->w; x++, p += n, o += 3) {
            if (n == 1) {
                o[0] = o[1] = o[2] = p[0];
            } else {
                o[0] = p[swap ? 2 : 0];
                o[1] = p[1];
                o[2] = p[swap ? 0 : 2];
            }
        }
    }
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
    if (fu_image_reserve(&h->stored, width, height, 3) != FACEUP_OK)
        return fu_fail(h, FACEUP_ERR_NOMEM, "faceup_detect_pixels", "out of memory");
    copy_pixels(pixels, stride, n, format == FACEUP_PIXEL_BGR || format == FACEUP_PIXEL_BGRA,
                &h->stored);
    int rc = detect_image(h, &h->stored, 0, result);
    trim(h);
    return rc;
}
