/*
 * fix_webp.c - turn a WebP: lossless stays exact, lossy is re-encoded at its own quality.
 *
 * WebP has no lossless transform of its bitstream, so the pixels are decoded, turned and encoded:
 *   - VP8L (lossless): decoded to RGBA and encoded lossless with `exact` set, so every value,
 *     including the colour under fully transparent pixels, comes back bit for bit.
 *   - VP8 (lossy): decoded to its own Y'CbCr 4:2:0 planes (plus alpha), which are turned as they
 *     are, so there is no round trip through RGB; then encoded lossy at the source's quality with
 *     lossless alpha. That quality is not stored anywhere; it is estimated from the frame header
 *     (see fu_webp_estimate_quality below).
 * The ICCP, EXIF (patched in place: Orientation 1, dimensions swapped), XMP and unknown chunks of
 * the source are put back around the new image with libwebpmux, which also rewrites VP8X.
 * An animated WebP is refused: its frames would need turning too.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include "codec/exif.h"
#include "codec/codec.h"

/* ---- RIFF chunks ----------------------------------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

typedef struct chunk {
    size_t payload;  /* offset of the data */
    uint32_t size;   /* of the data, without the pad byte */
    char fourcc[5];
} chunk;

/* RIFF size and signature; the end of the chunks (the RIFF size when it is inside the buffer). */
static int riff_end(const uint8_t *d, size_t n, size_t *end)
{
    if (n < 12 || memcmp(d, "RIFF", 4) || memcmp(d + 8, "WEBP", 4))
        return -1;
    uint32_t riff = le32(d + 4);
    *end = riff >= 4 && (size_t)riff <= n - 8 ? (size_t)riff + 8 : n;
    return 0;
}

/* 1 and the chunk at *pos (which moves past it and its pad byte), 0 at the end, -1 if damaged. */
static int next_chunk(const uint8_t *d, size_t end, size_t *pos, chunk *c)
{
    if (*pos >= end)
        return 0;
    if (end - *pos < 8)
        return -1;
    memcpy(c->fourcc, d + *pos, 4);
    c->fourcc[4] = 0;
    c->size = le32(d + *pos + 4);
    c->payload = *pos + 8;
    if (c->size > end - c->payload)
        return -1;
    *pos = c->payload + c->size + (c->size & 1);
    return 1;
}

static int is(const chunk *c, const char *fourcc)
{
    return memcmp(c->fourcc, fourcc, 4) == 0;
}

int fu_webp_patch_exif(uint8_t *data, size_t size, int reset, int swap_dims, int *found)
{
    size_t end, pos = 12;
    chunk c;
    int more, rc = 0, first = -1;
    if (found)
        *found = 0;
    if (riff_end(data, size, &end) < 0)
        return FU_EXIF_MALFORMED;
    while ((more = next_chunk(data, end, &pos, &c)) > 0) {
        if (!is(&c, "EXIF"))
            continue;
        int o = 0;
        if (fu_exif_patch(data + c.payload, c.size, reset, swap_dims, &o) < 0) {
            rc = FU_EXIF_MALFORMED;
            o = 0;
        }
        if (first < 0)
            first = o;
    }
    if (found)
        *found = first < 0 ? 0 : first;
    return more < 0 ? FU_EXIF_MALFORMED : rc;
}

/* ---- the quality of a lossy frame ------------------------------------------------------ */

/* The VP8 boolean decoder of RFC 6386, section 7: just enough to read the frame header. */
typedef struct boolread {
    const uint8_t *p, *end;
    uint32_t value, range;
    int bits;
} boolread;

static unsigned next_byte(boolread *b)
{
    return b->p < b->end ? *b->p++ : 0;
}

static int read_bool(boolread *b, unsigned prob)
{
    uint32_t split = 1 + (((b->range - 1) * prob) >> 8);
    int bit = b->value >= split << 8;
    if (bit) {
        b->range -= split;
        b->value -= split << 8;
    } else {
        b->range = split;
    }
    while (b->range < 128) {
        b->value <<= 1;
        b->range <<= 1;
        if (++b->bits == 8) {
            b->bits = 0;
            b->value |= next_byte(b);
        }
    }
    return bit;
}

static unsigned read_literal(boolread *b, int n)
{
    unsigned v = 0;
    while (n--)
        v = v << 1 | (unsigned)read_bool(b, 128);
    return v;
}

/* An optional signed value: a flag, n magnitude bits, a sign. */
static int read_delta(boolread *b, int n)
{
    if (!read_bool(b, 128))
        return 0;
    int v = (int)read_literal(b, n);
    return read_bool(b, 128) ? -v : v;
}

/* libwebp's encoder maps quality Q in [0, 1] to a compression level c = cbrt(l), where
 * l = 2Q/3 for Q < 0.75 and 2Q - 1 above, and a quantiser index 127 * (1 - c). It then splits the
 * picture into four segments by texture and moves each segment's quantiser away from that index,
 * some up, some down (the segment quantisers are in the header as absolute values or as deltas
 * from the base). So the estimate inverts the mapping at the mean segment quantiser, or at the
 * base one when there are no segments. Checked against libwebp at qualities 10 to 100 it comes
 * back within about 8 points on photos and 15 on synthetic pictures (how far the segments spread
 * depends on the content); for files from other encoders it is the quality whose quantiser
 * matches theirs, which is what "the same quality" can mean. Returns -1 if the header is not a
 * key frame's. */
float fu_webp_estimate_quality(const uint8_t *vp8, size_t n)
{
    if (n < 10 || (vp8[0] & 1) || vp8[3] != 0x9d || vp8[4] != 0x01 || vp8[5] != 0x2a)
        return -1;
    size_t first = (size_t)((vp8[0] | vp8[1] << 8 | vp8[2] << 16) >> 5);
    boolread b = {vp8 + 10, vp8 + 10 + (first < n - 10 ? first : n - 10), 0, 255, 0};
    b.value = next_byte(&b) << 8;
    b.value |= next_byte(&b);

    int segments = 0, absolute = 0, seg_q[4] = {0};
    read_literal(&b, 2); /* colour space, clamping */
    if (read_bool(&b, 128)) { /* segmentation */
        int update_map = read_bool(&b, 128);
        if (read_bool(&b, 128)) { /* segment data */
            segments = 1;
            absolute = read_bool(&b, 128);
            for (int i = 0; i < 4; i++)
                seg_q[i] = read_delta(&b, 7);
            for (int i = 0; i < 4; i++)
                read_delta(&b, 6);
        }
        if (update_map)
            for (int i = 0; i < 3; i++)
                if (read_bool(&b, 128))
                    read_literal(&b, 8);
    }
    read_literal(&b, 1 + 6 + 3); /* filter type, level, sharpness */
    if (read_bool(&b, 128) && read_bool(&b, 128)) /* loop filter deltas, updated */
        for (int i = 0; i < 8; i++)
            read_delta(&b, 6);
    read_literal(&b, 2); /* partitions */
    double q = read_literal(&b, 7);
    if (segments) {
        double sum = 0;
        for (int i = 0; i < 4; i++) {
            int qi = absolute ? seg_q[i] : (int)q + seg_q[i];
            sum += qi < 0 ? 0 : qi > 127 ? 127 : qi;
        }
        q = sum / 4;
    }

    double c = 1.0 - q / 127.0;
    double l = c * c * c;
    double quality = l < 0.5 ? l * 1.5 : (l + 1.0) / 2.0;
    return (float)(100.0 * quality);
}

/* ---- turning -------------------------------------------------------------------------- */

static int encode(WebPConfig *config, WebPPicture *pic, WebPMemoryWriter *w, char *err)
{
    pic->writer = WebPMemoryWrite;
    pic->custom_ptr = w;
    if (!WebPEncode(config, pic)) {
        snprintf(err, FU_ERRLEN, "WebP encoder error %d", (int)pic->error_code);
        return pic->error_code == VP8_ENC_ERROR_OUT_OF_MEMORY ? FACEUP_ERR_NOMEM
                                                              : FACEUP_ERR_ENCODE;
    }
    return FACEUP_OK;
}

static int turn_lossless(const uint8_t *data, size_t size, fu_d4 t, WebPMemoryWriter *w,
                         char *err)
{
    int width, height, rc = FACEUP_ERR_NOMEM;
    uint8_t *px = WebPDecodeRGBA(data, size, &width, &height);
    if (!px) {
        snprintf(err, FU_ERRLEN, "damaged lossless WebP");
        return FACEUP_ERR_DECODE;
    }
    int swap = fu_d4_swaps_axes(t), ow = swap ? height : width, oh = swap ? width : height;
    uint8_t *turned = malloc((size_t)ow * (size_t)oh * 4);
    WebPPicture pic;
    WebPConfig config;
    if (turned && WebPPictureInit(&pic) && WebPConfigInit(&config)) {
        fu_d4_rows(t, px, width, height, (size_t)width * 4, 4, 0, oh, turned, (size_t)ow * 4);
        config.lossless = 1;
        config.exact = 1; /* keep the RGB under alpha 0 too */
        pic.use_argb = 1;
        pic.width = ow;
        pic.height = oh;
        if (WebPPictureImportRGBA(&pic, turned, ow * 4))
            rc = encode(&config, &pic, w, err);
        WebPPictureFree(&pic);
    }
    free(turned);
    WebPFree(px);
    return rc;
}

static void turn_plane(fu_d4 t, const uint8_t *src, int w, int h, int stride, uint8_t *dst,
                       int dst_stride)
{
    int oh = fu_d4_swaps_axes(t) ? w : h;
    fu_d4_rows(t, src, w, h, (size_t)stride, 1, 0, oh, dst, (size_t)dst_stride);
}

static int turn_lossy(const uint8_t *data, size_t size, fu_d4 t, float quality, int alpha,
                      WebPMemoryWriter *w, char *err)
{
    WebPDecoderConfig dc;
    if (!WebPInitDecoderConfig(&dc))
        return FACEUP_ERR_INTERNAL;
    dc.output.colorspace = alpha ? MODE_YUVA : MODE_YUV;
    if (WebPDecode(data, size, &dc) != VP8_STATUS_OK) {
        snprintf(err, FU_ERRLEN, "damaged lossy WebP");
        return FACEUP_ERR_DECODE;
    }
    const WebPYUVABuffer *in = &dc.output.u.YUVA;
    int width = dc.output.width, height = dc.output.height;
    int swap = fu_d4_swaps_axes(t);
    WebPPicture pic;
    WebPConfig config;
    int rc = FACEUP_ERR_NOMEM;
    if (WebPPictureInit(&pic) && WebPConfigInit(&config)) {
        config.quality = quality;
        config.alpha_quality = 100;
        pic.use_argb = 0;
        pic.colorspace = alpha ? WEBP_YUV420A : WEBP_YUV420;
        pic.width = swap ? height : width;
        pic.height = swap ? width : height;
        if (WebPPictureAlloc(&pic)) {
            int cw = (width + 1) / 2, ch = (height + 1) / 2;
            turn_plane(t, in->y, width, height, in->y_stride, pic.y, pic.y_stride);
            turn_plane(t, in->u, cw, ch, in->u_stride, pic.u, pic.uv_stride);
            turn_plane(t, in->v, cw, ch, in->v_stride, pic.v, pic.uv_stride);
            if (alpha)
                turn_plane(t, in->a, width, height, in->a_stride, pic.a, pic.a_stride);
            rc = encode(&config, &pic, w, err);
        }
        WebPPictureFree(&pic);
    }
    WebPFreeDecBuffer(&dc.output);
    return rc;
}

/* ---- the fixer ------------------------------------------------------------------------- */

/* The new image plus the source's metadata chunks, through libwebpmux. */
static int assemble(const uint8_t *data, size_t end, const WebPMemoryWriter *img,
                    const fu_fix_plan *plan, fu_buf *out, int *exif_rc, int *found)
{
    WebPMux *mux = WebPMuxNew();
    WebPData image = {img->mem, img->size}, assembled = {NULL, 0};
    int rc = mux && WebPMuxSetImage(mux, &image, 1) == WEBP_MUX_OK ? FACEUP_OK
                                                                    : FACEUP_ERR_NOMEM;
    size_t pos = 12;
    chunk c;
    while (rc == FACEUP_OK && plan->keep_metadata && next_chunk(data, end, &pos, &c) > 0) {
        static const char *const image_chunks[] = {"VP8X", "VP8 ", "VP8L", "ALPH", NULL};
        int skip = 0;
        for (const char *const *k = image_chunks; *k; k++)
            skip |= is(&c, *k);
        if (skip)
            continue;
        WebPData payload = {data + c.payload, c.size};
        uint8_t *copy = NULL;
        if (is(&c, "EXIF")) {
            if (!(copy = malloc(c.size ? c.size : 1))) {
                rc = FACEUP_ERR_NOMEM;
                break;
            }
            memcpy(copy, data + c.payload, c.size);
            int o = 0;
            if (fu_exif_patch(copy, c.size, plan->reset_orientation,
                              fu_d4_swaps_axes(plan->t), &o) < 0)
                *exif_rc = FU_EXIF_MALFORMED;
            if (*found < 0)
                *found = o;
            payload.bytes = copy;
        }
        if (WebPMuxSetChunk(mux, c.fourcc, &payload, 1) != WEBP_MUX_OK)
            rc = FACEUP_ERR_ENCODE;
        free(copy);
    }
    if (rc == FACEUP_OK)
        rc = WebPMuxAssemble(mux, &assembled) == WEBP_MUX_OK
                 ? fu_buf_put(out, assembled.bytes, assembled.size) : FACEUP_ERR_ENCODE;
    WebPDataClear(&assembled);
    WebPMuxDelete(mux);
    return rc;
}

int fu_fix_webp(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                faceup_fix_path *path, char err[FU_ERRLEN])
{
    memset(out, 0, sizeof *out);
    size_t end, pos = 12;
    chunk c, frame = {0, 0, ""};
    int more, alpha = 0;
    if (riff_end(data, size, &end) < 0) {
        snprintf(err, FU_ERRLEN, "not a WebP");
        return FACEUP_ERR_FORMAT;
    }
    while ((more = next_chunk(data, end, &pos, &c)) > 0) {
        if (is(&c, "ANIM") || is(&c, "ANMF")) {
            snprintf(err, FU_ERRLEN, "animated WebP: not turned");
            return FACEUP_ERR_FORMAT;
        }
        if ((is(&c, "VP8 ") || is(&c, "VP8L")) && !frame.fourcc[0])
            frame = c;
        alpha |= is(&c, "ALPH");
    }
    if (more < 0 || !frame.fourcc[0]) {
        snprintf(err, FU_ERRLEN, "damaged WebP");
        return FACEUP_ERR_DECODE;
    }

    int exif_rc = 0, found = -1, rc;
    int lossless = is(&frame, "VP8L");
    if (fu_d4_is_identity(plan->t) && plan->keep_metadata) {
        rc = fu_buf_put(out, data, size);
        if (rc == FACEUP_OK)
            exif_rc = fu_webp_patch_exif(out->p, out->n, plan->reset_orientation, 0, &found);
        *path = FACEUP_FIX_LOSSLESS;
    } else {
        WebPBitstreamFeatures f;
        if (WebPGetFeatures(data, size, &f) != VP8_STATUS_OK) {
            snprintf(err, FU_ERRLEN, "damaged WebP header");
            return FACEUP_ERR_DECODE;
        }
        if ((long long)f.width * f.height > plan->max_pixels) {
            snprintf(err, FU_ERRLEN, "%dx%d is over the pixel limit", f.width, f.height);
            return FACEUP_ERR_TOO_MANY_PIXELS;
        }
        WebPMemoryWriter w;
        WebPMemoryWriterInit(&w);
        if (lossless) {
            rc = turn_lossless(data, size, plan->t, &w, err);
        } else {
            float q = fu_webp_estimate_quality(data + frame.payload, frame.size);
            rc = turn_lossy(data, size, plan->t, q < 0 ? 75.0f : q, alpha, &w, err);
        }
        if (rc == FACEUP_OK)
            rc = assemble(data, end, &w, plan, out, &exif_rc, &found);
        WebPMemoryWriterClear(&w);
        *path = lossless ? FACEUP_FIX_LOSSLESS : FACEUP_FIX_REENCODED;
    }
    const char *why = rc == FACEUP_OK ? fu_fix_check_reset(plan, exif_rc, found < 0 ? 0 : found) : NULL;
    if (why) {
        snprintf(err, FU_ERRLEN, "%s", why);
        rc = FACEUP_ERR_DECODE;
    }
    if (rc != FACEUP_OK)
        fu_buf_free(out);
    return rc;
}
