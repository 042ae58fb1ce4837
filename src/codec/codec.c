/*
 * codec.c - the codec interface: which format an input is, and the calls sent to it; what every
 * format shares (the rule about resetting the Orientation tag, pixel conversions).
 */
#include "codec/format.h"

#include <stdlib.h>
#include <string.h>

static const fu_format *const formats[] = {&fu_format_jpeg, &fu_format_png, &fu_format_webp};

static const fu_format *sniff(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i]->sniff(d, n))
            return formats[i];
    return NULL;
}

static const fu_format *format_of(faceup_format id)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i]->id == id)
            return formats[i];
    return NULL;
}

fu_codec *fu_codec_create(void)
{
    return calloc(1, sizeof(fu_codec));
}

void fu_codec_destroy(fu_codec *c)
{
    if (!c)
        return;
    fu_jpeg_reader_destroy(c->jpeg);
    free(c);
}

void fu_codec_trim(fu_codec *c, size_t keep)
{
    if (c)
        fu_jpeg_reader_trim(c->jpeg, keep);
}

/* ---- reading ------------------------------------------------------------------------------ */

static int probe_with(fu_codec *c, const uint8_t *data, size_t size, long long max_pixels,
                      fu_probe *out, const fu_format **format, char *err)
{
    if (err)
        err[0] = '\0';
    if (!out || (!data && size > 0) || max_pixels <= 0)
        return fu_err(err, FACEUP_ERR_ARGUMENT, "invalid argument");
    memset(out, 0, sizeof *out);
    if (size == 0)
        return fu_err(err, FACEUP_ERR_FORMAT, "empty input");
    const fu_format *f = sniff(data, size);
    if (!f)
        return fu_err(err, FACEUP_ERR_FORMAT, "not a JPEG, PNG or WebP image");
    fu_probe p = {.format = f->id};
    int status = f->probe(c, data, size, &p, err);
    if (status != FACEUP_OK)
        return status;
    /* Both sides fit in 31 bits, so the product fits in a long long. */
    if ((long long)p.width * p.height > max_pixels)
        return fu_err(err, FACEUP_ERR_TOO_MANY_PIXELS,
                      "image is %dx%d pixels, over the limit of %lld", p.width, p.height,
                      max_pixels);
    *out = p;
    if (format)
        *format = f;
    return FACEUP_OK;
}

int fu_image_probe(const uint8_t *data, size_t size, long long max_pixels, fu_probe *out,
                   char err[FU_ERRLEN])
{
    return probe_with(NULL, data, size, max_pixels, out, NULL, err);
}

int fu_image_decode(fu_codec *c, const uint8_t *data, size_t size, long long max_pixels,
                    int min_side, fu_image *out, fu_probe *info, char err[FU_ERRLEN])
{
    if (info)
        memset(info, 0, sizeof *info);
    if (!out || min_side < 0)
        return fu_err(err, FACEUP_ERR_ARGUMENT, "invalid argument");
    fu_probe p;
    const fu_format *f = NULL;
    int status = probe_with(c, data, size, max_pixels, &p, &f, err);
    if (status == FACEUP_OK)
        status = f->decode(c, data, size, max_pixels, min_side, out, err);
    if (status == FACEUP_OK && info)
        *info = p;
    if (status != FACEUP_OK)
        out->w = out->h = out->stride = 0; /* no picture; the buffer stays for the next one */
    return status;
}

/* ---- turning ------------------------------------------------------------------------------ */

const char *fu_fix_check_reset(const fu_fix_plan *plan, int rc, int found)
{
    if (!plan->keep_metadata || !plan->reset_orientation || plan->exif_orientation <= 1)
        return NULL;
    if (rc < 0)
        return "the EXIF block is malformed: cannot reset its Orientation";
    if (found != plan->exif_orientation)
        return "the EXIF Orientation tag was not where it was read from: cannot reset it";
    return NULL;
}

int fu_fix_copy_patched(const fu_format *f, const uint8_t *data, size_t size,
                        const fu_fix_plan *plan, fu_buf *out, char *err)
{
    int found = 0;
    int rc = fu_buf_put(out, data, size);
    if (rc != FACEUP_OK)
        return rc;
    rc = f->patch_exif(out->p, out->n, plan->reset_orientation, 0, &found);
    const char *why = fu_fix_check_reset(plan, rc, found);
    if (why) {
        fu_buf_free(out);
        return fu_err(err, FACEUP_ERR_DECODE, "%s", why);
    }
    return FACEUP_OK;
}

int fu_codec_fix(const uint8_t *data, size_t size, const fu_probe *probe, faceup_format target,
                 const fu_fix_plan *plan, fu_buf *out, faceup_fix_path *path,
                 char err[FU_ERRLEN])
{
    const fu_format *from = format_of(probe->format), *to = format_of(target);
    if (!from || !to)
        return fu_err(err, FACEUP_ERR_FORMAT, "not a JPEG, PNG or WebP image");
    if (from == to)
        return from->fix(data, size, plan, out, path, err);
    *path = FACEUP_FIX_REENCODED;
    return fu_convert(data, size, from, to, plan, out, err);
}

/* ---- what the formats share --------------------------------------------------------------- */

void fu_meta_free(fu_meta *m)
{
    fu_buf_free(&m->exif);
    fu_buf_free(&m->icc);
    fu_buf_free(&m->xmp);
}

/* (c*a + 127) / 255 is c*a/255 rounded to nearest. */
void fu_rgba_over_black(fu_image *img)
{
    size_t n = (size_t)img->w * (size_t)img->h;
    uint8_t *px = img->px;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = px + 4 * i;
        unsigned a = s[3];
        uint8_t r = (uint8_t)((s[0] * a + 127) / 255);
        uint8_t g = (uint8_t)((s[1] * a + 127) / 255);
        uint8_t b = (uint8_t)((s[2] * a + 127) / 255);
        px[3 * i] = r;
        px[3 * i + 1] = g;
        px[3 * i + 2] = b;
    }
    img->stride = 3 * img->w;
}

/* R = (255-C)(255-K)/255. Photoshop, and every writer that puts an Adobe APP14 marker in a CMYK
 * JPEG (Pillow, libjpeg's default), stores the inks inverted, so the stored value already is
 * 255-C. */
void fu_cmyk_to_rgb(fu_image *img, int inverted)
{
    size_t n = (size_t)img->w * (size_t)img->h;
    uint8_t *px = img->px;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *s = px + 4 * i;
        unsigned c = s[0], m = s[1], y = s[2], k = s[3];
        if (!inverted) {
            c = 255 - c;
            m = 255 - m;
            y = 255 - y;
            k = 255 - k;
        }
        uint8_t r = (uint8_t)((c * k + 127) / 255);
        uint8_t g = (uint8_t)((m * k + 127) / 255);
        uint8_t b = (uint8_t)((y * k + 127) / 255);
        px[3 * i] = r;
        px[3 * i + 1] = g;
        px[3 * i + 2] = b;
    }
    img->stride = 3 * img->w;
}
