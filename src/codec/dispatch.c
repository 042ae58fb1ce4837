/*
 * dispatch.c - the codec interface (codec.h): which format an input is, and the calls sent to
 * the format's table (format.h).
 */
#include "codec/format.h"

#include <stdlib.h>
#include <string.h>

static const fu_format *const formats[] = {&fu_format_jpeg, &fu_format_png, &fu_format_webp,
                                           &fu_format_heic, &fu_format_avif};

static const fu_format *sniff(const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (formats[i]->sniff(d, n))
            return formats[i];
    return NULL;
}

const fu_format *fu_format_of(faceup_format id)
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
        return fu_err(err, FACEUP_ERR_FORMAT, "not a JPEG, PNG, WebP, HEIC or AVIF image");
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

int fu_image_probe_with(fu_codec *c, const uint8_t *data, size_t size, long long max_pixels,
                        fu_probe *out, char err[FU_ERRLEN])
{
    return probe_with(c, data, size, max_pixels, out, NULL, err);
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

/* ---- costs -------------------------------------------------------------------------------- */

int fu_reduce_factor(int w, int h, int min_side)
{
    if (min_side <= 0)
        return 1;
    int f = (w < h ? w : h) / min_side;
    /* 4096: the sum of an f x f block of 8-bit samples stays within 32 bits */
    return f < 1 ? 1 : f > 4096 ? 4096 : f;
}

long long fu_decode_cost(const fu_probe *p, int min_side, int copies)
{
    const fu_format *f = fu_format_of(p->format);
    if (!f)
        return 0;
    int ow = 0, oh = 0;
    long long cost = f->decode_cost(p, min_side < 0 ? 0 : min_side, &ow, &oh);
    return cost + (long long)copies * 3 * ow * oh;
}

long long fu_fix_cost(const fu_probe *p, faceup_format target)
{
    const fu_format *from = fu_format_of(p->format), *to = fu_format_of(target);
    if (!from || !to)
        return 0;
    if (from == to)
        return from->fix_cost(p);
    /* convert.c: the full decode, its turned copy, and what the encoder holds */
    long long px = (long long)p->width * p->height;
    return fu_decode_cost(p, 0, 1) + px * to->encode_cost;
}

/* ---- turning ------------------------------------------------------------------------------ */

int fu_codec_fix(const uint8_t *data, size_t size, const fu_probe *probe,
                 const fu_fix_plan *plan, fu_buf *out, faceup_fix_path *path,
                 char err[FU_ERRLEN])
{
    const fu_format *f = fu_format_of(probe->format);
    if (!f)
        return fu_err(err, FACEUP_ERR_FORMAT, "not a JPEG, PNG, WebP, HEIC or AVIF image");
    return f->fix(data, size, plan, out, path, err);
}
