/*
 * image_decode.c - JPEG, PNG and WebP bytes to fu_image (8-bit RGB).
 *
 * Every input is hostile until its header says otherwise. The order is always the same:
 * sniff the format from its magic bytes, read the dimensions from the header alone, refuse the
 * image when width*height is over the caller's pixel limit, and only then allocate and decode.
 * Decoders never get to allocate for dimensions we have not checked.
 *
 * Each codec library reports errors its own way; they all end here as a faceup_status and a
 * one-line message:
 *   - TurboJPEG: a return of -1 and tjGetErrorStr2(). Warnings (truncated or corrupt entropy
 *     data) stop the decode too, with TJFLAG_STOPONWARNING: a half-grey photo would otherwise
 *     come back as a success and mislead the detector.
 *   - libpng: an error callback that longjmps back to the one function that called setjmp.
 *     Everything that function allocates lives in a struct outside its frame, so nothing has to
 *     be volatile and cleanup happens in one place after it returns.
 *   - libwebp: a VP8StatusCode.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/demux.h>

#include "geom/image.h"

/* PNG ancillary chunks (text, ICC, eXIf) are buffered whole by libpng; none we care about is
 * anywhere near this big, and it keeps a forged chunk length from costing memory. */
#define PNG_CHUNK_MAX ((png_alloc_size_t)8 << 20)

static int fail(char *err, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(char *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, FU_ERRLEN, fmt, ap);
        va_end(ap);
    }
    return status;
}

int fu_image_alloc(fu_image *img, int w, int h)
{
    if (!img)
        return FACEUP_ERR_ARGUMENT;
    memset(img, 0, sizeof *img);
    if (w <= 0 || h <= 0 || w > INT_MAX / 3)
        return FACEUP_ERR_ARGUMENT;
    size_t stride = (size_t)w * 3;
    if ((size_t)h > SIZE_MAX / stride)
        return FACEUP_ERR_NOMEM;
    img->px = malloc(stride * (size_t)h);
    if (!img->px)
        return FACEUP_ERR_NOMEM;
    img->w = w;
    img->h = h;
    img->stride = (int)stride;
    return FACEUP_OK;
}

void fu_image_free(fu_image *img)
{
    if (!img)
        return;
    free(img->px);
    memset(img, 0, sizeof *img);
}

/* ---- sniffing and headers ---------------------------------------------------------------- */

static const uint8_t PNG_MAGIC[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static faceup_format sniff(const uint8_t *d, size_t n)
{
    if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
        return FACEUP_FORMAT_JPEG;
    if (n >= 8 && memcmp(d, PNG_MAGIC, 8) == 0)
        return FACEUP_FORMAT_PNG;
    if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
        return FACEUP_FORMAT_WEBP;
    return FACEUP_FORMAT_SAME; /* "none of ours" */
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The payload of the first JPEG APPn segment (marker 0xE0..0xEF) whose payload starts with
 * `sig`, or NULL. Walks the marker segments before the first scan; every step moves forward
 * and every length is checked against the buffer, so any byte string is safe. */
static const uint8_t *jpeg_find_app(const uint8_t *d, size_t n, int marker, const char *sig,
                                    size_t siglen, size_t *len_out)
{
    size_t pos = 2; /* after SOI */
    while (n - pos >= 4) {
        if (d[pos] != 0xff)
            return NULL; /* lost sync: not a marker where one must be */
        int m = d[pos + 1];
        if (m == 0xff) { /* fill byte before a marker */
            pos++;
            continue;
        }
        if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) { /* no length field */
            pos += 2;
            continue;
        }
        if (m == 0xda || m == 0xd9 || m == 0x00)
            return NULL; /* scan data or end of image: metadata is over */
        size_t len = (size_t)d[pos + 2] << 8 | d[pos + 3]; /* includes its own two bytes */
        if (len < 2 || len > n - pos - 2)
            return NULL;
        if (m == marker && len - 2 >= siglen && memcmp(d + pos + 4, sig, siglen) == 0) {
            *len_out = len - 2;
            return d + pos + 4;
        }
        pos += 2 + len;
    }
    return NULL;
}

static int jpeg_exif_orientation(const uint8_t *d, size_t n)
{
    size_t len = 0;
    const uint8_t *app1 = jpeg_find_app(d, n, 0xe1, "Exif\0\0", 6, &len);
    return app1 ? fu_exif_orientation(app1, len) : 0;
}

/* The eXIf chunk (PNG 1.5 extension). Chunk lengths are checked against the buffer and IDAT is
 * skipped by length, so an eXIf a writer put after the image data is found too. */
static int png_exif_orientation(const uint8_t *d, size_t n)
{
    size_t pos = 8;
    while (n - pos >= 12) {
        uint32_t len = be32(d + pos);
        if (len > n - pos - 12)
            return 0;
        const uint8_t *type = d + pos + 4;
        if (memcmp(type, "eXIf", 4) == 0)
            return fu_exif_orientation(d + pos + 8, len);
        if (memcmp(type, "IEND", 4) == 0)
            return 0;
        pos += 12 + (size_t)len;
    }
    return 0;
}

/* The EXIF chunk of a WebP, through the demuxer (which validates the RIFF structure). A file
 * the demuxer rejects, truncated ones included, simply has no orientation. */
static int webp_exif_orientation(const uint8_t *d, size_t n)
{
    WebPData wd = {d, n};
    WebPDemuxer *dmx = WebPDemux(&wd);
    if (!dmx)
        return 0;
    int orientation = 0;
    WebPChunkIterator it;
    if (WebPDemuxGetChunk(dmx, "EXIF", 1, &it)) {
        orientation = fu_exif_orientation(it.chunk.bytes, it.chunk.size);
        WebPDemuxReleaseChunkIterator(&it);
    }
    WebPDemuxDelete(dmx);
    return orientation;
}

/* Size and colour space from the frame header. tjDecompressHeader3() returns success without
 * touching its outputs when the data ends before a frame header (libjpeg takes the stream for
 * a "tables-only" one), so zero sizes are checked here. */
static int jpeg_header(tjhandle tj, const uint8_t *d, size_t n, int *w, int *h, int *colorspace,
                       char *err)
{
    int subsamp = -1, cs = -1;
    *w = *h = 0;
    if (tjDecompressHeader3(tj, d, (unsigned long)n, w, h, &subsamp, &cs) != 0)
        return fail(err, FACEUP_ERR_DECODE, "bad JPEG header: %s", tjGetErrorStr2(tj));
    if (*w <= 0 || *h <= 0)
        return fail(err, FACEUP_ERR_DECODE, "truncated JPEG data: no frame header");
    if (colorspace)
        *colorspace = cs;
    return FACEUP_OK;
}

static int probe_jpeg(const uint8_t *d, size_t n, fu_probe *p, char *err)
{
    if (n > ULONG_MAX)
        return fail(err, FACEUP_ERR_TOO_MANY_BYTES, "JPEG data too large");
    tjhandle tj = tjInitDecompress();
    if (!tj)
        return fail(err, FACEUP_ERR_NOMEM, "cannot create a JPEG decoder");
    int w = 0, h = 0;
    int status = jpeg_header(tj, d, n, &w, &h, NULL, err);
    tjDestroy(tj);
    if (status != FACEUP_OK)
        return status;
    p->width = w;
    p->height = h;
    p->lossy = 1;
    p->exif_orientation = jpeg_exif_orientation(d, n);
    return FACEUP_OK;
}

static int probe_png(const uint8_t *d, size_t n, fu_probe *p, char *err)
{
    /* signature, then IHDR: length 13, type, width, height, depth, colour type, ... */
    if (n < 8 + 8 + 13 + 4)
        return fail(err, FACEUP_ERR_DECODE, "truncated PNG header");
    if (be32(d + 8) != 13 || memcmp(d + 12, "IHDR", 4) != 0)
        return fail(err, FACEUP_ERR_DECODE, "PNG does not start with an IHDR chunk");
    uint32_t w = be32(d + 16), h = be32(d + 20);
    if (w == 0 || h == 0 || w > PNG_UINT_31_MAX || h > PNG_UINT_31_MAX)
        return fail(err, FACEUP_ERR_DECODE, "PNG header has invalid dimensions %lux%lu",
                    (unsigned long)w, (unsigned long)h);
    p->width = (int)w;
    p->height = (int)h;
    p->lossy = 0;
    p->exif_orientation = png_exif_orientation(d, n);
    return FACEUP_OK;
}

static int probe_webp(const uint8_t *d, size_t n, fu_probe *p, char *err)
{
    WebPBitstreamFeatures f;
    VP8StatusCode st = WebPGetFeatures(d, n, &f);
    if (st == VP8_STATUS_NOT_ENOUGH_DATA)
        return fail(err, FACEUP_ERR_DECODE, "truncated WebP header");
    if (st != VP8_STATUS_OK || f.width <= 0 || f.height <= 0)
        return fail(err, FACEUP_ERR_DECODE, "bad WebP header (status %d)", (int)st);
    p->width = f.width;
    p->height = f.height;
    p->lossy = f.format == 1;
    p->exif_orientation = webp_exif_orientation(d, n);
    return FACEUP_OK;
}

int fu_image_probe(const uint8_t *data, size_t size, long long max_pixels, fu_probe *out,
                   char err[FU_ERRLEN])
{
    if (err)
        err[0] = '\0';
    if (!out || (!data && size > 0) || max_pixels <= 0)
        return fail(err, FACEUP_ERR_ARGUMENT, "invalid argument");
    memset(out, 0, sizeof *out);
    if (size == 0)
        return fail(err, FACEUP_ERR_FORMAT, "empty input");

    fu_probe p = {0};
    p.format = sniff(data, size);
    int status;
    switch (p.format) {
    case FACEUP_FORMAT_JPEG: status = probe_jpeg(data, size, &p, err); break;
    case FACEUP_FORMAT_PNG: status = probe_png(data, size, &p, err); break;
    case FACEUP_FORMAT_WEBP: status = probe_webp(data, size, &p, err); break;
    default: return fail(err, FACEUP_ERR_FORMAT, "not a JPEG, PNG or WebP image");
    }
    if (status != FACEUP_OK)
        return status;
    /* Both sides fit in 31 bits, so the product fits in a long long. */
    if ((long long)p.width * p.height > max_pixels)
        return fail(err, FACEUP_ERR_TOO_MANY_PIXELS, "image is %dx%d pixels, over the limit of %lld",
                    p.width, p.height, max_pixels);
    *out = p;
    return FACEUP_OK;
}

/* ---- pixel helpers ----------------------------------------------------------------------- */

/* A w x h buffer of `channels` bytes a pixel, or NULL when the size overflows or malloc fails. */
static uint8_t *alloc_pixels(int w, int h, int channels)
{
    size_t row = (size_t)w * (size_t)channels;
    if (w <= 0 || h <= 0 || row / (size_t)channels != (size_t)w || (size_t)h > SIZE_MAX / row)
        return NULL;
    return malloc(row * (size_t)h);
}

/* RGBA -> RGB over black, in place (each write lands at or before the bytes it reads).
 * (c*a + 127) / 255 is c*a/255 rounded to nearest. */
static void rgba_over_black(uint8_t *px, size_t n)
{
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
}

/* CMYK -> RGB in place: R = (255-C)(255-K)/255. Photoshop, and every writer that puts an Adobe
 * APP14 marker in a CMYK JPEG (Pillow, libjpeg's default), stores the inks inverted, so the
 * stored value already is 255-C. */
static void cmyk_to_rgb(uint8_t *px, size_t n, int inverted)
{
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
}

/* Hand a tightly packed RGB buffer over to `out`, giving back what a 4-byte layout had extra. */
static void adopt_rgb(fu_image *out, uint8_t *px, int w, int h, int was_channels)
{
    size_t bytes = (size_t)w * 3 * (size_t)h;
    if (was_channels != 3) {
        uint8_t *shrunk = realloc(px, bytes);
        if (shrunk)
            px = shrunk;
    }
    out->px = px;
    out->w = w;
    out->h = h;
    out->stride = w * 3;
}

/* ---- JPEG -------------------------------------------------------------------------------- */

/* The smallest DCT scaling factor (<= 1) whose output keeps both sides >= min_side; 1/1 when
 * min_side is 0 or no factor does. */
static tjscalingfactor jpeg_pick_scale(int w, int h, int min_side)
{
    tjscalingfactor best = {1, 1};
    int n = 0;
    tjscalingfactor *sf = tjGetScalingFactors(&n);
    if (min_side <= 0 || !sf)
        return best;
    long long best_px = (long long)w * h;
    for (int i = 0; i < n; i++) {
        if (sf[i].num > sf[i].denom)
            continue; /* never upscale */
        int sw = TJSCALED(w, sf[i]), sh = TJSCALED(h, sf[i]);
        if (sw >= min_side && sh >= min_side && (long long)sw * sh < best_px) {
            best = sf[i];
            best_px = (long long)sw * sh;
        }
    }
    return best;
}

static int decode_jpeg(tjhandle tj, const uint8_t *d, size_t n, int min_side, fu_image *out,
                       char *err)
{
    int w, h, colorspace;
    int status = jpeg_header(tj, d, n, &w, &h, &colorspace, err);
    if (status != FACEUP_OK)
        return status;
    tjscalingfactor sf = jpeg_pick_scale(w, h, min_side);
    int sw = TJSCALED(w, sf), sh = TJSCALED(h, sf);

    /* libjpeg converts YCbCr, RGB and grayscale to RGB itself, but CMYK/YCCK only to CMYK. */
    int cmyk = colorspace == TJCS_CMYK || colorspace == TJCS_YCCK;
    int channels = cmyk ? 4 : 3;
    uint8_t *px = alloc_pixels(sw, sh, channels);
    if (!px)
        return fail(err, FACEUP_ERR_NOMEM, "out of memory for a %dx%d image", sw, sh);
    int flags = TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS | TJFLAG_ACCURATEDCT;
    if (tjDecompress2(tj, d, (unsigned long)n, px, sw, sw * channels, sh,
                      cmyk ? TJPF_CMYK : TJPF_RGB, flags) != 0) {
        free(px);
        return fail(err, FACEUP_ERR_DECODE, "damaged or truncated JPEG data: %s",
                    tjGetErrorStr2(tj));
    }
    if (cmyk) {
        size_t len = 0;
        int adobe = jpeg_find_app(d, n, 0xee, "Adobe", 5, &len) != NULL;
        cmyk_to_rgb(px, (size_t)sw * (size_t)sh, adobe);
    }
    adopt_rgb(out, px, sw, sh, channels);
    return FACEUP_OK;
}

/* ---- PNG --------------------------------------------------------------------------------- */

/* State shared with libpng's callbacks and with the code after a longjmp. */
struct png_job {
    const uint8_t *data;
    size_t size, pos;
    char msg[FU_ERRLEN];  /* libpng's last error */
    uint8_t *px;          /* decoded pixels, freed by the caller unless handed out */
    png_bytep *rows;
    int w, h, channels;
};

static void png_on_error(png_structp png, png_const_charp msg)
{
    struct png_job *job = png_get_error_ptr(png);
    snprintf(job->msg, sizeof job->msg, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg)
{
    (void)png; /* libpng would print; a library stays quiet */
    (void)msg;
}

static void png_read_mem(png_structp png, png_bytep dst, size_t n)
{
    struct png_job *job = png_get_io_ptr(png);
    if (n > job->size - job->pos)
        png_error(png, "truncated PNG data");
    memcpy(dst, job->data + job->pos, n);
    job->pos += n;
}

/* The only function that calls setjmp. It changes no local variable after setjmp that it
 * reads after a longjmp: all state lives in *job. */
static int png_run(png_structp png, png_infop info, struct png_job *job, long long max_pixels,
                   char *err)
{
    if (setjmp(png_jmpbuf(png)))
        return fail(err, FACEUP_ERR_DECODE, "damaged or truncated PNG: %s", job->msg);

    png_uint_32 limit = max_pixels < PNG_UINT_31_MAX ? (png_uint_32)max_pixels : PNG_UINT_31_MAX;
    png_set_user_limits(png, limit, limit);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MAX);
    png_set_read_fn(png, job, png_read_mem);
    png_read_info(png, info);

    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    if ((long long)w * h > max_pixels) /* the probe said so already; libpng read it anew */
        return fail(err, FACEUP_ERR_TOO_MANY_PIXELS, "image is %lux%lu pixels, over the limit",
                    (unsigned long)w, (unsigned long)h);

    /* Whatever the colour type and depth, ask for 8-bit RGB or RGBA. Gamma is ignored: the
     * detector wants the stored values, as other viewers of raw samples do. */
    png_set_expand(png);       /* palette -> RGB, gray < 8 bits -> 8, tRNS -> alpha */
    png_set_strip_16(png);     /* the high byte, as Pillow and most readers do */
    png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    if ((channels != 3 && channels != 4) || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)w * (size_t)channels)
        return fail(err, FACEUP_ERR_INTERNAL, "unexpected PNG layout after transforms");

    job->w = (int)w;
    job->h = (int)h;
    job->channels = channels;
    job->px = alloc_pixels(job->w, job->h, channels);
    job->rows = malloc(sizeof *job->rows * (size_t)h);
    if (!job->px || !job->rows)
        return fail(err, FACEUP_ERR_NOMEM, "out of memory for a %dx%d image", job->w, job->h);
    for (png_uint_32 y = 0; y < h; y++)
        job->rows[y] = job->px + (size_t)y * w * (size_t)channels;
    /* Adam7 needs all rows at once: each pass fills in pixels of rows it has seen before. */
    png_read_image(png, job->rows);
    /* Up to IEND, so that a cut file is an error whichever byte it lost, as for JPEG. */
    png_read_end(png, NULL);
    return FACEUP_OK;
}

static int decode_png(const uint8_t *d, size_t n, long long max_pixels, fu_image *out, char *err)
{
    struct png_job job;
    memset(&job, 0, sizeof job);
    job.data = d;
    job.size = n;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &job, png_on_error,
                                             png_on_warning);
    if (!png)
        return fail(err, FACEUP_ERR_NOMEM, "cannot create a PNG decoder");
    png_infop info = png_create_info_struct(png);
    int status = info ? png_run(png, info, &job, max_pixels, err)
                      : fail(err, FACEUP_ERR_NOMEM, "cannot create a PNG decoder");
    png_destroy_read_struct(&png, info ? &info : NULL, NULL);
    free(job.rows);
    if (status != FACEUP_OK) {
        free(job.px);
        return status;
    }
    if (job.channels == 4)
        rgba_over_black(job.px, (size_t)job.w * (size_t)job.h);
    adopt_rgb(out, job.px, job.w, job.h, job.channels);
    return FACEUP_OK;
}

/* ---- WebP -------------------------------------------------------------------------------- */

static int decode_webp(const uint8_t *d, size_t n, fu_image *out, char *err)
{
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg))
        return fail(err, FACEUP_ERR_INTERNAL, "libwebp version mismatch");
    VP8StatusCode st = WebPGetFeatures(d, n, &cfg.input);
    if (st != VP8_STATUS_OK)
        return fail(err, FACEUP_ERR_DECODE, "bad WebP header (status %d)", (int)st);
    if (cfg.input.has_animation)
        return fail(err, FACEUP_ERR_FORMAT, "animated WebP is not supported");

    int w = cfg.input.width, h = cfg.input.height;
    int channels = cfg.input.has_alpha ? 4 : 3;
    uint8_t *px = alloc_pixels(w, h, channels);
    if (!px)
        return fail(err, FACEUP_ERR_NOMEM, "out of memory for a %dx%d image", w, h);
    cfg.output.colorspace = channels == 4 ? MODE_RGBA : MODE_RGB;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = px;
    cfg.output.u.RGBA.stride = w * channels;
    cfg.output.u.RGBA.size = (size_t)w * (size_t)channels * (size_t)h;
    st = WebPDecode(d, n, &cfg);
    WebPFreeDecBuffer(&cfg.output); /* external memory: releases only libwebp's bookkeeping */
    if (st != VP8_STATUS_OK) {
        free(px);
        if (st == VP8_STATUS_NOT_ENOUGH_DATA)
            return fail(err, FACEUP_ERR_DECODE, "truncated WebP data");
        if (st == VP8_STATUS_OUT_OF_MEMORY)
            return fail(err, FACEUP_ERR_NOMEM, "out of memory decoding WebP");
        return fail(err, FACEUP_ERR_DECODE, "damaged WebP data (status %d)", (int)st);
    }
    if (channels == 4)
        rgba_over_black(px, (size_t)w * (size_t)h);
    adopt_rgb(out, px, w, h, channels);
    return FACEUP_OK;
}

/* ---- entry point ------------------------------------------------------------------------- */

int fu_image_decode(const uint8_t *data, size_t size, long long max_pixels, int min_side,
                    fu_image *out, fu_probe *info, char err[FU_ERRLEN])
{
    if (out)
        memset(out, 0, sizeof *out);
    if (info)
        memset(info, 0, sizeof *info);
    if (!out || min_side < 0)
        return fail(err, FACEUP_ERR_ARGUMENT, "invalid argument");

    fu_probe p;
    int status = fu_image_probe(data, size, max_pixels, &p, err);
    if (status != FACEUP_OK)
        return status;

    switch (p.format) {
    case FACEUP_FORMAT_JPEG: {
        tjhandle tj = tjInitDecompress();
        if (!tj)
            return fail(err, FACEUP_ERR_NOMEM, "cannot create a JPEG decoder");
        status = decode_jpeg(tj, data, size, min_side, out, err);
        tjDestroy(tj);
        break;
    }
    case FACEUP_FORMAT_PNG: status = decode_png(data, size, max_pixels, out, err); break;
    case FACEUP_FORMAT_WEBP: status = decode_webp(data, size, out, err); break;
    default: status = fail(err, FACEUP_ERR_INTERNAL, "probe returned an unknown format"); break;
    }
    if (status == FACEUP_OK && info)
        *info = p;
    return status;
}
