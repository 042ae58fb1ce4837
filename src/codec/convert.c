/*
 * fix_convert.c - faceup_fix with FACEUP_PARAM_OUTPUT_FORMAT: the upright image in another format.
 *
 * A format change is a re-encode whatever happens, so this path is simple and uniform: decode to
 * 8-bit RGB with the image layer (the same decoder the detector uses: alpha over black, 16 bits
 * reduced to 8, palette, grey and CMYK converted), turn with fu_d4_rows, encode:
 *   JPEG  quality 92, 4:2:0 (TurboJPEG);
 *   PNG   8-bit RGB;
 *   WebP  lossless when the source was lossless (PNG, VP8L), else lossy at quality 90.
 * When metadata is kept, the source's EXIF (patched as in the other paths), ICC profile and XMP
 * packet go along, each in the target format's own container for it.
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <turbojpeg.h>
#include <webp/demux.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include "codec/exif.h"
#include "codec/codec.h"

#define JPEG_QUALITY 92
#define WEBP_QUALITY 90

static const char xmp_jpeg_id[] = "http://ns.adobe.com/xap/1.0/"; /* + its NUL: 29 bytes */
static const char icc_jpeg_id[] = "ICC_PROFILE";                  /* + its NUL: 12 bytes */

/* The source's metadata, each a malloc'ed copy: EXIF as a TIFF block (no "Exif\0\0"). */
typedef struct meta {
    fu_buf exif, icc, xmp;
} meta;

static void meta_free(meta *m)
{
    fu_buf_free(&m->exif);
    fu_buf_free(&m->icc);
    fu_buf_free(&m->xmp);
}

/* ---- reading the metadata -------------------------------------------------------------- */

static int jpeg_meta(const uint8_t *d, size_t n, meta *m)
{
    size_t pos = 0, at, len;
    int marker, rc = FACEUP_OK;
    /* ICC chunks carry their sequence number; they are almost always in order, and a profile
     * whose chunks are not is dropped rather than reassembled wrongly. */
    int icc_next = 1;
    while (rc == FACEUP_OK && fu_jpeg_next_segment(d, n, &pos, &marker, &at, &len) > 0) {
        const uint8_t *p = d + at;
        if (marker == 0xE1 && len > 6 && !memcmp(p, "Exif\0", 6) && !m->exif.n)
            rc = fu_buf_put(&m->exif, p + 6, len - 6);
        else if (marker == 0xE1 && len > sizeof xmp_jpeg_id &&
                 !memcmp(p, xmp_jpeg_id, sizeof xmp_jpeg_id) && !m->xmp.n)
            rc = fu_buf_put(&m->xmp, p + sizeof xmp_jpeg_id, len - sizeof xmp_jpeg_id);
        else if (marker == 0xE2 && len > sizeof icc_jpeg_id + 2 &&
                 !memcmp(p, icc_jpeg_id, sizeof icc_jpeg_id) && icc_next > 0) {
            if (p[sizeof icc_jpeg_id] == icc_next) {
                rc = fu_buf_put(&m->icc, p + sizeof icc_jpeg_id + 2, len - sizeof icc_jpeg_id - 2);
                icc_next++;
            } else {
                fu_buf_free(&m->icc);
                icc_next = -1;
            }
        }
    }
    return rc;
}

typedef struct pngread {
    const uint8_t *d;
    size_t n, pos;
} pngread;

static void png_read_mem(png_structp p, png_bytep out, png_size_t n)
{
    pngread *r = png_get_io_ptr(p);
    if (n > r->n - r->pos)
        png_error(p, "truncated");
    memcpy(out, r->d + r->pos, n);
    r->pos += n;
}

static void png_quiet(png_structp p, png_const_charp msg)
{
    (void)p;
    (void)msg;
}

static void png_fail(png_structp p, png_const_charp msg)
{
    (void)msg;
    png_longjmp(p, 1);
}

/* Everything we read lives in `m` or in libpng's structs, so nothing here need be volatile. */
static int png_meta_read(png_structp p, png_infop info, pngread *r, meta *m)
{
    if (setjmp(png_jmpbuf(p)))
        return FACEUP_ERR_DECODE;
    png_set_read_fn(p, r, png_read_mem);
    png_set_chunk_malloc_max(p, (png_alloc_size_t)8 << 20);
    png_read_info(p, info);
    png_bytep exif;
    png_uint_32 exif_n;
    png_charp name;
    int compression;
    png_bytep icc;
    png_uint_32 icc_n;
    png_textp text;
    int n_text;
    int rc = FACEUP_OK;
    if (png_get_eXIf_1(p, info, &exif_n, &exif))
        rc = fu_buf_put(&m->exif, exif, exif_n);
    if (rc == FACEUP_OK && png_get_iCCP(p, info, &name, &compression, &icc, &icc_n))
        rc = fu_buf_put(&m->icc, icc, icc_n);
    if (rc == FACEUP_OK && png_get_text(p, info, &text, &n_text))
        for (int i = 0; i < n_text && rc == FACEUP_OK; i++)
            if (!strcmp(text[i].key, "XML:com.adobe.xmp") && !m->xmp.n)
                rc = fu_buf_put(&m->xmp, text[i].text,
                                text[i].compression >= 1 ? text[i].itxt_length
                                                         : text[i].text_length);
    return rc;
}

static int png_meta(const uint8_t *d, size_t n, meta *m)
{
    pngread r = {d, n, 0};
    png_structp p = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, png_fail, png_quiet);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    int rc = info ? png_meta_read(p, info, &r, m) : FACEUP_ERR_NOMEM;
    png_destroy_read_struct(p ? &p : NULL, info ? &info : NULL, NULL);
    return rc;
}

static int webp_meta(const uint8_t *d, size_t n, meta *m)
{
    WebPData data = {d, n};
    WebPDemuxer *demux = WebPDemux(&data);
    if (!demux)
        return FACEUP_ERR_DECODE;
    static const char *const ids[3] = {"EXIF", "ICCP", "XMP "};
    fu_buf *to[3] = {&m->exif, &m->icc, &m->xmp};
    int rc = FACEUP_OK;
    for (int i = 0; i < 3 && rc == FACEUP_OK; i++) {
        WebPChunkIterator it;
        if (WebPDemuxGetChunk(demux, ids[i], 1, &it))
            rc = fu_buf_put(to[i], it.chunk.bytes, it.chunk.size);
        WebPDemuxReleaseChunkIterator(&it);
    }
    WebPDemuxDelete(demux);
    /* EXIF in WebP is meant to be bare TIFF, but some writers keep the JPEG prefix */
    if (m->exif.n >= 6 && !memcmp(m->exif.p, "Exif\0", 6)) {
        memmove(m->exif.p, m->exif.p + 6, m->exif.n - 6);
        m->exif.n -= 6;
    }
    return rc;
}

/* ---- writing -------------------------------------------------------------------------- */

static int put_segment(fu_buf *out, int marker, const void *id, size_t id_n, const uint8_t *a,
                       size_t a_n, const uint8_t *b, size_t b_n)
{
    size_t len = 2 + id_n + a_n + b_n;
    if (len > 0xFFFF)
        return FACEUP_OK; /* does not fit one segment: left out */
    uint8_t head[4] = {0xFF, (uint8_t)marker, (uint8_t)(len >> 8), (uint8_t)len};
    int rc = fu_buf_put(out, head, 4);
    if (rc == FACEUP_OK)
        rc = fu_buf_put(out, id, id_n);
    if (rc == FACEUP_OK)
        rc = fu_buf_put(out, a, a_n);
    if (rc == FACEUP_OK)
        rc = fu_buf_put(out, b, b_n);
    return rc;
}

static int encode_jpeg(const fu_image *img, const meta *m, fu_buf *out, char *err)
{
    tjhandle tj = tjInitCompress();
    unsigned char *jpg = NULL;
    unsigned long jpg_n = 0;
    if (!tj)
        return FACEUP_ERR_NOMEM;
    if (tjCompress2(tj, img->px, img->w, img->stride, img->h, TJPF_RGB, &jpg, &jpg_n, TJSAMP_420,
                    JPEG_QUALITY, TJFLAG_ACCURATEDCT) < 0) {
        snprintf(err, FU_ERRLEN, "%s", tjGetErrorStr2(tj));
        tjFree(jpg);
        tjDestroy(tj);
        return FACEUP_ERR_ENCODE;
    }
    /* SOI and the JFIF APP0 first, then our segments, then the rest */
    size_t head = 2;
    if (jpg_n > 6 && jpg[2] == 0xFF && jpg[3] == 0xE0)
        head = 4 + ((size_t)jpg[4] << 8 | jpg[5]);
    int rc = fu_buf_put(out, jpg, head);
    if (rc == FACEUP_OK && m->exif.n)
        rc = put_segment(out, 0xE1, "Exif\0", 6, m->exif.p, m->exif.n, NULL, 0);
    const size_t icc_max = 0xFFFF - 2 - sizeof icc_jpeg_id - 2;
    size_t chunks = (m->icc.n + icc_max - 1) / icc_max;
    for (size_t i = 0; rc == FACEUP_OK && i < chunks && chunks < 256; i++) {
        uint8_t seq[2] = {(uint8_t)(i + 1), (uint8_t)chunks};
        size_t part = m->icc.n - i * icc_max < icc_max ? m->icc.n - i * icc_max : icc_max;
        rc = put_segment(out, 0xE2, icc_jpeg_id, sizeof icc_jpeg_id, seq, 2,
                         m->icc.p + i * icc_max, part);
    }
    if (rc == FACEUP_OK && m->xmp.n)
        rc = put_segment(out, 0xE1, xmp_jpeg_id, sizeof xmp_jpeg_id, m->xmp.p, m->xmp.n, NULL, 0);
    if (rc == FACEUP_OK)
        rc = fu_buf_put(out, jpg + head, jpg_n - head);
    tjFree(jpg);
    tjDestroy(tj);
    return rc;
}

static void png_write_mem(png_structp p, png_bytep data, png_size_t n)
{
    if (fu_buf_put(png_get_io_ptr(p), data, n) != FACEUP_OK)
        png_error(p, "out of memory");
}

static void png_flush_mem(png_structp p)
{
    (void)p;
}

static int png_write(png_structp p, png_infop info, const fu_image *img, const meta *m,
                     fu_buf *out)
{
    if (setjmp(png_jmpbuf(p)))
        return FACEUP_ERR_ENCODE;
    png_set_write_fn(p, out, png_write_mem, png_flush_mem);
    png_set_benign_errors(p, 1); /* an ICC profile libpng finds invalid is left out, not fatal */
    png_set_IHDR(p, info, (png_uint_32)img->w, (png_uint_32)img->h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (m->exif.n)
        png_set_eXIf_1(p, info, (png_uint_32)m->exif.n, m->exif.p);
    if (m->icc.n)
        png_set_iCCP(p, info, "ICC profile", PNG_COMPRESSION_TYPE_BASE, m->icc.p,
                     (png_uint_32)m->icc.n);
    png_text xmp = {0};
    if (m->xmp.n) {
        xmp.compression = PNG_ITXT_COMPRESSION_NONE;
        xmp.key = "XML:com.adobe.xmp";
        xmp.text = (char *)m->xmp.p; /* NUL-terminated by the caller */
        xmp.itxt_length = m->xmp.n;
        png_set_text(p, info, &xmp, 1);
    }
    png_write_info(p, info);
    for (int y = 0; y < img->h; y++)
        png_write_row(p, img->px + (size_t)y * (size_t)img->stride);
    png_write_end(p, info);
    return FACEUP_OK;
}

static int encode_png(const fu_image *img, meta *m, fu_buf *out)
{
    /* libpng wants the XMP packet as a C string */
    if (m->xmp.n && fu_buf_put(&m->xmp, "", 1) == FACEUP_OK)
        m->xmp.n--;
    else if (m->xmp.n)
        return FACEUP_ERR_NOMEM;
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, png_fail, png_quiet);
    png_infop info = p ? png_create_info_struct(p) : NULL;
    int rc = info ? png_write(p, info, img, m, out) : FACEUP_ERR_NOMEM;
    png_destroy_write_struct(p ? &p : NULL, info ? &info : NULL);
    return rc;
}

static int encode_webp(const fu_image *img, int lossless, const meta *m, fu_buf *out, char *err)
{
    WebPConfig config;
    WebPPicture pic;
    WebPMemoryWriter w;
    WebPMemoryWriterInit(&w);
    if (!WebPConfigInit(&config) || !WebPPictureInit(&pic))
        return FACEUP_ERR_INTERNAL;
    config.lossless = lossless;
    config.exact = lossless;
    config.quality = lossless ? 75 : WEBP_QUALITY;
    pic.use_argb = lossless;
    pic.width = img->w;
    pic.height = img->h;
    pic.writer = WebPMemoryWrite;
    pic.custom_ptr = &w;
    int rc = FACEUP_OK;
    if (!WebPPictureImportRGB(&pic, img->px, img->stride)) {
        rc = FACEUP_ERR_NOMEM;
    } else if (!WebPEncode(&config, &pic)) {
        snprintf(err, FU_ERRLEN, "WebP encoder error %d", (int)pic.error_code);
        rc = FACEUP_ERR_ENCODE;
    }
    WebPPictureFree(&pic);
    WebPMux *mux = rc == FACEUP_OK ? WebPMuxNew() : NULL;
    WebPData image = {w.mem, w.size}, assembled = {NULL, 0};
    if (rc == FACEUP_OK && (!mux || WebPMuxSetImage(mux, &image, 1) != WEBP_MUX_OK))
        rc = FACEUP_ERR_NOMEM;
    static const char *const ids[3] = {"EXIF", "ICCP", "XMP "};
    const fu_buf *from[3] = {&m->exif, &m->icc, &m->xmp};
    for (int i = 0; i < 3 && rc == FACEUP_OK; i++) {
        WebPData chunk = {from[i]->p, from[i]->n};
        if (chunk.size && WebPMuxSetChunk(mux, ids[i], &chunk, 1) != WEBP_MUX_OK)
            rc = FACEUP_ERR_ENCODE;
    }
    if (rc == FACEUP_OK)
        rc = WebPMuxAssemble(mux, &assembled) == WEBP_MUX_OK
                 ? fu_buf_put(out, assembled.bytes, assembled.size) : FACEUP_ERR_ENCODE;
    WebPDataClear(&assembled);
    WebPMuxDelete(mux);
    WebPMemoryWriterClear(&w);
    return rc;
}

/* ---- the converter --------------------------------------------------------------------- */

int fu_fix_convert(const uint8_t *data, size_t size, const fu_fix_plan *plan,
                   faceup_format target, fu_buf *out, char err[FU_ERRLEN])
{
    memset(out, 0, sizeof *out);
    fu_image img = {0}, turned = {0};
    fu_probe info;
    meta m = {{0}, {0}, {0}};
    int rc = fu_image_decode(data, size, plan->max_pixels, 0, &img, &info, err);
    if (rc == FACEUP_OK && plan->keep_metadata) {
        switch (info.format) {
        case FACEUP_FORMAT_JPEG: rc = jpeg_meta(data, size, &m); break;
        case FACEUP_FORMAT_PNG: rc = png_meta(data, size, &m); break;
        case FACEUP_FORMAT_WEBP: rc = webp_meta(data, size, &m); break;
        default: break;
        }
        int found = 0;
        if (rc == FACEUP_OK && m.exif.n &&
            fu_exif_patch(m.exif.p, m.exif.n, plan->reset_orientation, fu_d4_swaps_axes(plan->t),
                          &found) < 0 && plan->reset_orientation && plan->exif_orientation > 1) {
            snprintf(err, FU_ERRLEN, "the EXIF block is malformed: cannot reset its Orientation");
            rc = FACEUP_ERR_DECODE;
        }
    }
    const fu_image *src = &img;
    if (rc == FACEUP_OK && !fu_d4_is_identity(plan->t)) {
        int swap = fu_d4_swaps_axes(plan->t);
        rc = fu_image_alloc(&turned, swap ? img.h : img.w, swap ? img.w : img.h);
        if (rc == FACEUP_OK)
            fu_d4_rows(plan->t, img.px, img.w, img.h, (size_t)img.stride, 3, 0, turned.h,
                       turned.px, (size_t)turned.stride);
        src = &turned;
    }
    if (rc == FACEUP_OK) {
        switch (target) {
        case FACEUP_FORMAT_JPEG: rc = encode_jpeg(src, &m, out, err); break;
        case FACEUP_FORMAT_PNG: rc = encode_png(src, &m, out); break;
        case FACEUP_FORMAT_WEBP: rc = encode_webp(src, !info.lossy, &m, out, err); break;
        default: rc = FACEUP_ERR_ARGUMENT; break;
        }
    }
    meta_free(&m);
    fu_image_free(&img);
    fu_image_free(&turned);
    if (rc != FACEUP_OK)
        fu_buf_free(out);
    return rc;
}
