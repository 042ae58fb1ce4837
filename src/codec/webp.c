/*
 * webp.c - WebP: the RIFF chunk walk, the header probe, the decode to RGB, EXIF found and
 * patched, the turn, and the metadata and encoder of a change of format.
 *
 * WebP has no lossless transform of its bitstream, so the pixels are decoded, turned and encoded:
 *   - VP8L (lossless): decoded to RGBA and encoded lossless with `exact` set, so every value,
 *     including the colour under fully transparent pixels, comes back bit for bit.
 *   - VP8 (lossy): decoded to its own Y'CbCr 4:2:0 planes (plus alpha), which are turned as they
 *     are, so there is no round trip through RGB (chroma along an odd side that the turn flips is
 *     moved half a sample to stay in register: turn_chroma); then encoded lossy at the source's
 *     quality with lossless alpha. That quality is not stored anywhere; it is estimated from the frame header
 *     (see fu_webp_estimate_quality below).
 * The ICCP, EXIF (patched in place: Orientation 1, dimensions swapped), XMP and unknown chunks of
 * the source are put back around the new image with libwebpmux, which also rewrites VP8X.
 * An animated WebP is refused: its frames would need turning too.
 *
 * Metadata is found by our own chunk walk, for reading as for patching. Only the extended format
 * (a first chunk VP8X) carries metadata, and a file whose chunks are damaged anywhere has none:
 * what libwebp's demuxer would say.
 */
#include "codec/format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/encode.h>
#include <webp/mux.h>

#define ENCODE_QUALITY 90   /* a change of format to lossy WebP */

/* ---- RIFF chunks ------------------------------------------------------------------------ */

typedef struct chunk {
    size_t payload;  /* offset of the data */
    uint32_t size;   /* of the data, without the pad byte */
    char fourcc[5];
} chunk;

static int sniff(const uint8_t *d, size_t n)
{
    return n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0;
}

/* RIFF size and signature; the end of the chunks (the RIFF size when it is inside the buffer). */
static int riff_end(const uint8_t *d, size_t n, size_t *end)
{
    if (!sniff(d, n))
        return -1;
    uint32_t riff = fu_le32(d + 4);
    *end = riff >= 4 && (size_t)riff <= n - 8 ? (size_t)riff + 8 : n;
    return 0;
}

/* 1 and the chunk at *pos (which moves past it and its pad byte), 0 at the end, -1 if damaged.
 * The one RIFF chunk walker of faceup. */
static int next_chunk(const uint8_t *d, size_t end, size_t *pos, chunk *c)
{
    if (*pos >= end)
        return 0;
    if (end - *pos < 8)
        return -1;
    memcpy(c->fourcc, d + *pos, 4);
    c->fourcc[4] = 0;
    c->size = fu_le32(d + *pos + 4);
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

/* A FourCC is four printable ASCII characters. libwebp's mux takes "\0\0\0\0" for its own
 * "no chunk" tag and asserts when it is asked to write one (found by fuzz_fix). */
static int valid_fourcc(const chunk *c)
{
    for (int i = 0; i < 4; i++)
        if (c->fourcc[i] < 0x20 || c->fourcc[i] > 0x7E)
            return 0;
    return 1;
}

/* The first chunk `fourcc` of an extended-format file: 1 and *out; 0 when there is none (or
 * the file is in the simple format); -1 when the file's chunks are damaged anywhere. */
static int find_meta(const uint8_t *d, size_t n, const char *fourcc, chunk *out)
{
    size_t end, pos = 12;
    chunk c;
    int more, found = 0;
    if (riff_end(d, n, &end) < 0 || (more = next_chunk(d, end, &pos, &c)) < 0)
        return -1;
    if (!more || !is(&c, "VP8X"))
        return 0;
    while ((more = next_chunk(d, end, &pos, &c)) > 0)
        if (!found && is(&c, fourcc)) {
            *out = c;
            found = 1;
        }
    return more < 0 ? -1 : found;
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
        if (fu_exif_patch_next(data + c.payload, c.size, reset, swap_dims, &first) < 0)
            rc = FU_EXIF_MALFORMED;
    }
    if (found)
        *found = first < 0 ? 0 : first;
    return more < 0 ? FU_EXIF_MALFORMED : rc;
}

static int probe(fu_codec *codec, const uint8_t *d, size_t n, fu_probe *p, char *err)
{
    (void)codec;
    WebPBitstreamFeatures f;
    VP8StatusCode st = WebPGetFeatures(d, n, &f);
    if (st == VP8_STATUS_NOT_ENOUGH_DATA)
        return fu_err(err, FACEUP_ERR_DECODE, "truncated WebP header");
    if (st != VP8_STATUS_OK || f.width <= 0 || f.height <= 0)
        return fu_err(err, FACEUP_ERR_DECODE, "bad WebP header (status %d)", (int)st);
    p->width = f.width;
    p->height = f.height;
    p->lossy = f.format == 1;
    p->channels = f.has_alpha ? 4 : 3;
    p->depth = 8;
    chunk exif;
    int has_exif = find_meta(d, n, "EXIF", &exif) > 0;
    p->exif_orientation = has_exif ? fu_exif_orientation(d + exif.payload, exif.size) : 0;
    p->exif_thumbnail = has_exif ? fu_exif_has_thumbnail(d + exif.payload, exif.size) : 0;
    return FACEUP_OK;
}

/* ---- decoding --------------------------------------------------------------------------- */

static int decode(fu_codec *c, const uint8_t *d, size_t n, long long max_pixels, int min_side,
                  fu_image *out, char *err)
{
    (void)c;
    (void)max_pixels; /* the probe checked it on the same header */
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg))
        return fu_err(err, FACEUP_ERR_INTERNAL, "libwebp version mismatch");
    VP8StatusCode st = WebPGetFeatures(d, n, &cfg.input);
    if (st != VP8_STATUS_OK)
        return fu_err(err, FACEUP_ERR_DECODE, "bad WebP header (status %d)", (int)st);
    if (cfg.input.has_animation)
        return fu_err(err, FACEUP_ERR_FORMAT, "animated WebP is not supported");
    /* libwebp's scaler reduces while decoding, so a lossy image is never held at full size */
    int f = fu_reduce_factor(cfg.input.width, cfg.input.height, min_side);
    int w = (cfg.input.width + f - 1) / f, h = (cfg.input.height + f - 1) / f;
    if (f > 1) {
        cfg.options.use_scaling = 1;
        cfg.options.scaled_width = w;
        cfg.options.scaled_height = h;
    }
    int channels = cfg.input.has_alpha ? 4 : 3;
    if (fu_image_reserve(out, w, h, channels) != FACEUP_OK)
        return fu_err(err, FACEUP_ERR_NOMEM, "out of memory for a %dx%d image", w, h);
    cfg.output.colorspace = channels == 4 ? MODE_RGBA : MODE_RGB;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = out->px;
    cfg.output.u.RGBA.stride = out->stride;
    cfg.output.u.RGBA.size = (size_t)out->stride * (size_t)h;
    st = WebPDecode(d, n, &cfg);
    WebPFreeDecBuffer(&cfg.output); /* external memory: releases only libwebp's bookkeeping */
    if (st == VP8_STATUS_NOT_ENOUGH_DATA)
        return fu_err(err, FACEUP_ERR_DECODE, "truncated WebP data");
    if (st == VP8_STATUS_OUT_OF_MEMORY)
        return fu_err(err, FACEUP_ERR_NOMEM, "out of memory decoding WebP");
    if (st != VP8_STATUS_OK)
        return fu_err(err, FACEUP_ERR_DECODE, "damaged WebP data (status %d)", (int)st);
    if (channels == 4)
        fu_image_rgba_over_black(out);
    return FACEUP_OK;
}

/* libwebp's lossless decoder keeps the whole image as 32-bit ARGB whatever the output size
 * (backward references reach anywhere above), the lossy one a few macroblock rows of YUV and a
 * whole alpha plane; scaling adds rows of 32-bit accumulators. */
static long long decode_cost(const fu_probe *p, int min_side, int *out_w, int *out_h)
{
    int f = fu_reduce_factor(p->width, p->height, min_side);
    *out_w = (p->width + f - 1) / f;
    *out_h = (p->height + f - 1) / f;
    long long px = (long long)p->width * p->height, w = p->width;
    long long cost = (long long)*out_w * *out_h * p->channels;
    cost += p->lossy ? w * 48 + (p->channels == 4 ? px : 0) : px * 4 + w * 16 * 4;
    return cost + (f > 1 ? w * 4 * 8 : 0);
}

/* The fixer: decoded (RGBA, or YUV for lossy), turned into a second buffer, imported into a
 * WebPPicture and encoded; libwebp's lossless encoder holds about 20 bytes a pixel of its own
 * (hash chains, backward references, a transformed copy), the lossy one a few. */
static long long fix_cost(const fu_probe *p)
{
    long long px = (long long)p->width * p->height;
    if (!p->lossy)
        return px * (4 + 4 + 4 + 4 + 20);
    /* YUV(A) decoded and turned, 1.5 (2.5) bytes a pixel each, and the encoder's own */
    return px * (p->channels == 4 ? 5 + 12 : 3 + 4) + (long long)p->width * 64;
}

/* ---- the quality of a lossy frame ------------------------------------------------------- */

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

/* The segment header: 1 and the four segment quantisers (absolute or deltas) when present. */
static int read_segments(boolread *b, int *absolute, int seg_q[4])
{
    int segments = 0;
    if (read_bool(b, 128)) { /* segmentation */
        int update_map = read_bool(b, 128);
        if (read_bool(b, 128)) { /* segment data */
            segments = 1;
            *absolute = read_bool(b, 128);
            for (int i = 0; i < 4; i++)
                seg_q[i] = read_delta(b, 7);
            for (int i = 0; i < 4; i++)
                read_delta(b, 6);
        }
        if (update_map)
            for (int i = 0; i < 3; i++)
                if (read_bool(b, 128))
                    read_literal(b, 8);
    }
    return segments;
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

    int absolute = 0, seg_q[4] = {0};
    read_literal(&b, 2); /* colour space, clamping */
    int segments = read_segments(&b, &absolute, seg_q);
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

/* ---- encoding and muxing ---------------------------------------------------------------- */

static int encode_picture(WebPConfig *config, WebPPicture *pic, WebPMemoryWriter *w, char *err)
{
    pic->writer = WebPMemoryWrite;
    pic->custom_ptr = w;
    if (!WebPEncode(config, pic))
        return fu_err(err, pic->error_code == VP8_ENC_ERROR_OUT_OF_MEMORY ? FACEUP_ERR_NOMEM
                                                                          : FACEUP_ERR_ENCODE,
                      "WebP encoder error %d", (int)pic->error_code);
    return FACEUP_OK;
}

/* A mux holding the encoded image; NULL when out of memory. */
static WebPMux *mux_new(const WebPMemoryWriter *img)
{
    WebPMux *mux = WebPMuxNew();
    WebPData image = {img->mem, img->size};
    if (mux && WebPMuxSetImage(mux, &image, 1) != WEBP_MUX_OK) {
        WebPMuxDelete(mux);
        mux = NULL;
    }
    return mux;
}

static int mux_chunk(WebPMux *mux, const char *fourcc, const uint8_t *p, size_t n)
{
    WebPData chunk = {p, n};
    return WebPMuxSetChunk(mux, fourcc, &chunk, 1) == WEBP_MUX_OK ? FACEUP_OK
                                                                   : FACEUP_ERR_ENCODE;
}

/* The file the mux makes, appended to out when rc is still FACEUP_OK; the mux is deleted. */
static int mux_finish(WebPMux *mux, int rc, fu_buf *out)
{
    WebPData assembled = {NULL, 0};
    if (rc == FACEUP_OK)
        rc = WebPMuxAssemble(mux, &assembled) == WEBP_MUX_OK
                 ? fu_buf_put(out, assembled.bytes, assembled.size) : FACEUP_ERR_ENCODE;
    WebPDataClear(&assembled);
    WebPMuxDelete(mux);
    return rc;
}

/* ---- the turn --------------------------------------------------------------------------- */

static int turn_lossless(const uint8_t *data, size_t size, fu_d4 t, WebPMemoryWriter *w,
                         char *err)
{
    int width, height, rc = FACEUP_ERR_NOMEM;
    uint8_t *px = WebPDecodeRGBA(data, size, &width, &height);
    if (!px)
        return fu_err(err, FACEUP_ERR_DECODE, "damaged lossless WebP");
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
            rc = encode_picture(&config, &pic, w, err);
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

/* Resample n chroma samples, `step` bytes apart, half a sample towards their end: each becomes
 * the value halfway to the next one, by the cubic (-1 9 9 -1) / 16, the ends repeated.
 * `tmp` holds n bytes. */
static void shift_half_sample(uint8_t *p, int n, size_t step, uint8_t *tmp)
{
    for (int k = 0; k < n; k++)
        tmp[k] = p[(size_t)k * step];
    for (int k = 0; k < n; k++) {
        int a = tmp[k > 0 ? k - 1 : 0], b = tmp[k], c = tmp[k + 1 < n ? k + 1 : n - 1],
            d = tmp[k + 2 < n ? k + 2 : n - 1];
        int v = 9 * (b + c) - a - d + 8;
        p[(size_t)k * step] = (uint8_t)(v < 0 ? 0 : v > 255 * 16 ? 255 : v >> 4);
    }
}

/* A 4:2:0 chroma plane turned with the w x h picture it belongs to. Each sample covers the 2x2
 * luma pixels from its top-left corner (a single column or row at an odd right or bottom edge).
 * Along an odd side that t flips, the turned samples are out of register with the new picture:
 * the last one, which covered a single pixel, lands first, so sample k covers pixels 2k-1 and
 * 2k instead of 2k and 2k+1, and every colour would move by one pixel. Along such an axis the
 * turned samples are resampled half a sample onwards. `tmp` holds max(w, h) bytes. */
static void turn_chroma(fu_d4 t, const uint8_t *src, int stride, int w, int h, uint8_t *dst,
                        int dst_stride, uint8_t *tmp)
{
    int cw = (w + 1) / 2, ch = (h + 1) / 2, ox, oy;
    turn_plane(t, src, cw, ch, stride, dst, dst_stride);
    int swap = fu_d4_swaps_axes(t), ocw = swap ? ch : cw, och = swap ? cw : ch;
    fu_d4_map(t, w, h, 0, 0, &ox, &oy); /* where the first pixel went: an odd side flipped */
    if (ox > 0 && ox % 2 == 0)          /* puts it at an even place that is not 0 */
        for (int y = 0; y < och; y++)
            shift_half_sample(dst + (size_t)y * (size_t)dst_stride, ocw, 1, tmp);
    if (oy > 0 && oy % 2 == 0)
        for (int x = 0; x < ocw; x++)
            shift_half_sample(dst + x, och, (size_t)dst_stride, tmp);
}

static int turn_lossy(const uint8_t *data, size_t size, fu_d4 t, float quality, int alpha,
                      WebPMemoryWriter *w, char *err)
{
    WebPDecoderConfig dc;
    if (!WebPInitDecoderConfig(&dc))
        return FACEUP_ERR_INTERNAL;
    dc.output.colorspace = alpha ? MODE_YUVA : MODE_YUV;
    if (WebPDecode(data, size, &dc) != VP8_STATUS_OK)
        return fu_err(err, FACEUP_ERR_DECODE, "damaged lossy WebP");
    const WebPYUVABuffer *in = &dc.output.u.YUVA;
    int width = dc.output.width, height = dc.output.height;
    int swap = fu_d4_swaps_axes(t);
    WebPPicture pic;
    WebPConfig config;
    int rc = FACEUP_ERR_NOMEM;
    uint8_t *tmp = malloc((size_t)(width > height ? width : height));
    if (tmp && WebPPictureInit(&pic) && WebPConfigInit(&config)) {
        config.quality = quality;
        config.alpha_quality = 100;
        pic.use_argb = 0;
        pic.colorspace = alpha ? WEBP_YUV420A : WEBP_YUV420;
        pic.width = swap ? height : width;
        pic.height = swap ? width : height;
        if (WebPPictureAlloc(&pic)) {
            turn_plane(t, in->y, width, height, in->y_stride, pic.y, pic.y_stride);
            turn_chroma(t, in->u, in->u_stride, width, height, pic.u, pic.uv_stride, tmp);
            turn_chroma(t, in->v, in->v_stride, width, height, pic.v, pic.uv_stride, tmp);
            if (alpha)
                turn_plane(t, in->a, width, height, in->a_stride, pic.a, pic.a_stride);
            rc = encode_picture(&config, &pic, w, err);
        }
        WebPPictureFree(&pic);
    }
    free(tmp);
    WebPFreeDecBuffer(&dc.output);
    return rc;
}

/* The new image plus the source's chunks other than the image's own. */
static int assemble(const uint8_t *data, size_t end, const WebPMemoryWriter *img,
                    const fu_fix_plan *plan, fu_buf *out)
{
    static const char *const image_chunks[] = {"VP8X", "VP8 ", "VP8L", "ALPH", NULL};
    WebPMux *mux = mux_new(img);
    if (!mux)
        return FACEUP_ERR_NOMEM;
    int rc = FACEUP_OK;
    size_t pos = 12;
    chunk c;
    while (rc == FACEUP_OK && plan->keep_metadata && next_chunk(data, end, &pos, &c) > 0) {
        int skip = 0;
        for (const char *const *k = image_chunks; *k; k++)
            skip |= is(&c, *k);
        if (!skip)
            rc = mux_chunk(mux, c.fourcc, data + c.payload, c.size);
    }
    return mux_finish(mux, rc, out);
}

/* The first frame chunk and whether there is alpha; refuses animated and damaged files. */
static int find_frame(const uint8_t *data, size_t size, size_t *end, chunk *frame, int *alpha,
                      char *err)
{
    size_t pos = 12;
    chunk c;
    int more;
    frame->fourcc[0] = 0;
    *alpha = 0;
    if (riff_end(data, size, end) < 0)
        return fu_err(err, FACEUP_ERR_FORMAT, "not a WebP");
    while ((more = next_chunk(data, *end, &pos, &c)) > 0) {
        if (is(&c, "ANIM") || is(&c, "ANMF"))
            return fu_err(err, FACEUP_ERR_FORMAT, "animated WebP: not turned");
        if (!valid_fourcc(&c))
            return fu_err(err, FACEUP_ERR_DECODE, "damaged WebP: a chunk's name is not text");
        if ((is(&c, "VP8 ") || is(&c, "VP8L")) && !frame->fourcc[0])
            *frame = c;
        *alpha |= is(&c, "ALPH");
    }
    if (more < 0 || !frame->fourcc[0])
        return fu_err(err, FACEUP_ERR_DECODE, "damaged WebP");
    return FACEUP_OK;
}

/* The turned frame, encoded as the source was, in w. */
static int turn_frame(const uint8_t *data, size_t size, const chunk *frame, int alpha,
                      const fu_fix_plan *plan, WebPMemoryWriter *w, char *err)
{
    WebPBitstreamFeatures f;
    if (WebPGetFeatures(data, size, &f) != VP8_STATUS_OK)
        return fu_err(err, FACEUP_ERR_DECODE, "damaged WebP header");
    if ((long long)f.width * f.height > plan->max_pixels)
        return fu_err(err, FACEUP_ERR_TOO_MANY_PIXELS, "%dx%d is over the pixel limit", f.width,
                      f.height);
    if (is(frame, "VP8L"))
        return turn_lossless(data, size, plan->t, w, err);
    float q = fu_webp_estimate_quality(data + frame->payload, frame->size);
    return turn_lossy(data, size, plan->t, q < 0 ? 75.0f : q, alpha, w, err);
}

int fu_fix_webp(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                faceup_fix_path *path, char err[FU_ERRLEN])
{
    memset(out, 0, sizeof *out);
    size_t end;
    chunk frame;
    int alpha;
    int rc = find_frame(data, size, &end, &frame, &alpha, err);
    if (rc != FACEUP_OK)
        return rc;
    *path = FACEUP_FIX_LOSSLESS;
    if (fu_d4_is_identity(plan->t) && plan->keep_metadata)
        return fu_fix_copy_patched(&fu_format_webp, data, size, plan, out, err);
    WebPMemoryWriter w;
    WebPMemoryWriterInit(&w);
    rc = turn_frame(data, size, &frame, alpha, plan, &w, err);
    if (rc == FACEUP_OK)
        rc = assemble(data, end, &w, plan, out);
    WebPMemoryWriterClear(&w);
    if (rc == FACEUP_OK)
        rc = fu_fix_patch_output(&fu_format_webp, plan, out, err);
    *path = is(&frame, "VP8L") ? FACEUP_FIX_LOSSLESS : FACEUP_FIX_REENCODED;
    if (rc != FACEUP_OK)
        fu_buf_free(out);
    return rc;
}

/* ---- a change of format: metadata out and in -------------------------------------------- */

static int read_meta(const uint8_t *d, size_t n, fu_meta *m)
{
    static const char *const ids[3] = {"EXIF", "ICCP", "XMP "};
    fu_buf *to[3] = {&m->exif, &m->icc, &m->xmp};
    int rc = FACEUP_OK;
    chunk c;
    for (int i = 0; i < 3 && rc == FACEUP_OK; i++) {
        int found = find_meta(d, n, ids[i], &c);
        if (found < 0)
            rc = FACEUP_ERR_DECODE; /* damaged chunks: nothing is trusted */
        else if (found)
            rc = fu_buf_put(to[i], d + c.payload, c.size);
    }
    /* EXIF in WebP is meant to be bare TIFF, but some writers keep the JPEG prefix */
    if (m->exif.n >= 6 && !memcmp(m->exif.p, "Exif\0", 6)) {
        memmove(m->exif.p, m->exif.p + 6, m->exif.n - 6);
        m->exif.n -= 6;
    }
    return rc;
}

/* Lossless when the source was, else lossy at ENCODE_QUALITY; the metadata in its chunks. */
static int encode(const fu_image *img, int lossless, fu_meta *m, fu_buf *out, char *err)
{
    WebPConfig config;
    WebPPicture pic;
    WebPMemoryWriter w;
    WebPMemoryWriterInit(&w);
    if (!WebPConfigInit(&config) || !WebPPictureInit(&pic))
        return FACEUP_ERR_INTERNAL;
    config.lossless = lossless;
    config.exact = lossless;
    config.quality = lossless ? 75 : ENCODE_QUALITY;
    pic.use_argb = lossless;
    pic.width = img->w;
    pic.height = img->h;
    int rc = WebPPictureImportRGB(&pic, img->px, img->stride)
                 ? encode_picture(&config, &pic, &w, err) : FACEUP_ERR_NOMEM;
    WebPPictureFree(&pic);
    WebPMux *mux = rc == FACEUP_OK ? mux_new(&w) : NULL;
    if (rc == FACEUP_OK && !mux)
        rc = FACEUP_ERR_NOMEM;
    static const char *const ids[3] = {"EXIF", "ICCP", "XMP "};
    const fu_buf *from[3] = {&m->exif, &m->icc, &m->xmp};
    for (int i = 0; i < 3 && rc == FACEUP_OK; i++)
        if (from[i]->n)
            rc = mux_chunk(mux, ids[i], from[i]->p, from[i]->n);
    if (mux)
        rc = mux_finish(mux, rc, out);
    WebPMemoryWriterClear(&w);
    return rc;
}

const fu_format fu_format_webp = {
    .id = FACEUP_FORMAT_WEBP,
    .sniff = sniff,
    .probe = probe,
    .decode = decode,
    .decode_cost = decode_cost,
    .fix_cost = fix_cost,
    .encode_cost = 24, /* WebPPictureImportRGB's ARGB copy and the lossless encoder */
    .fix = fu_fix_webp,
    .patch_exif = fu_webp_patch_exif,
    .read_meta = read_meta,
    .encode = encode,
};
