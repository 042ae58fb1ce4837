/*
 * jpeg.c - JPEG: the marker walk, the header probe, the decode, EXIF found and patched, and the
 * metadata and encoder of a change of format. The DCT-domain turn itself is jpeg_turn.c.
 *
 * Decoding. libjpeg, driven directly, with TurboJPEG's settings (RGB out, or CMYK converted
 * here; the accurate integer DCT; at most 500 scans; any warning an error, so a half-grey photo
 * is refused rather than handed to the detector). The decompressor is kept between images in
 * the caller's fu_codec, and its per-image memory pool is served from an arena that keeps its
 * block (libjpeg's memory manager methods for JPOOL_IMAGE point at it): after the first image
 * of a size, decoding one costs no malloc. A kept decompressor would also keep the quantisation
 * and Huffman tables of the last image, for an abbreviated stream to use; each image starts
 * without any, as with a new decompressor (the tables it defines live in the arena too). Large
 * photos are decoded at the smallest DCT scale
 * that keeps the detector's working size, so they are never decoded at full resolution.
 *
 * The header probe reads as tjDecompressHeader3() does: a stream that ends before its frame
 * header is "truncated", a warning while reading the header makes it "bad", and only the five
 * colour spaces libjpeg converts are accepted.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <turbojpeg.h>

#include "base/arena.h"
#include "codec/format.h"
#include "codec/jpeg_errors.h"
#include "codec/jpeg_turn.h"

#define ENCODE_QUALITY 92   /* a change of format to JPEG: 4:2:0 at this quality */

static const char xmp_id[] = "http://ns.adobe.com/xap/1.0/"; /* + its NUL: 29 bytes */
static const char icc_id[] = "ICC_PROFILE";                  /* + its NUL: 12 bytes */

/* ---- markers -------------------------------------------------------------------------- */

static int sniff(const uint8_t *d, size_t n)
{
    return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF;
}

/* Every step moves forward and every length is checked against the buffer, so any byte string
 * is safe. Markers without a length (TEM, RSTn, a stray SOI) are stepped over. */
int fu_jpeg_next_segment(const uint8_t *data, size_t size, size_t *pos, int *marker,
                         size_t *payload, size_t *len)
{
    if (*pos == 0) {
        if (size < 4 || data[0] != 0xFF || data[1] != 0xD8)
            return -1;
        *pos = 2;
    }
    for (;;) {
        if (*pos >= size || data[*pos] != 0xFF)
            return -1; /* lost sync: not a marker where one must be */
        while (*pos < size && data[*pos] == 0xFF) /* fill bytes */
            (*pos)++;
        if (*pos >= size)
            return -1;
        int m = data[(*pos)++];
        if (m == 0xDA || m == 0xD9) /* SOS, EOI: no more metadata segments */
            return 0;
        if (m == 0x00)
            return -1;
        if (m == 0x01 || m == 0xD8 || (m >= 0xD0 && m <= 0xD7)) /* no length */
            continue;
        if (size - *pos < 2)
            return -1;
        size_t n = (size_t)data[*pos] << 8 | data[*pos + 1]; /* includes its own two bytes */
        if (n < 2 || n > size - *pos)
            return -1;
        *marker = m;
        *payload = *pos + 2;
        *len = n - 2;
        *pos += n;
        return 1;
    }
}

/* The payload of the first segment `marker` before the scan whose payload starts with `sig`
 * (siglen bytes), or NULL. */
static const uint8_t *find_segment(const uint8_t *d, size_t n, int marker, const char *sig,
                                   size_t siglen, size_t *len)
{
    size_t pos = 0, at, l;
    int m;
    while (fu_jpeg_next_segment(d, n, &pos, &m, &at, &l) > 0)
        if (m == marker && l >= siglen && memcmp(d + at, sig, siglen) == 0) {
            *len = l;
            return d + at;
        }
    return NULL;
}

int fu_jpeg_patch_exif(uint8_t *data, size_t size, int reset, int swap_dims, int *found)
{
    int first = -1, rc = 0, more, marker;
    size_t pos = 0, at, len;
    while ((more = fu_jpeg_next_segment(data, size, &pos, &marker, &at, &len)) > 0)
        if (marker == 0xE1 && len >= 6 && !memcmp(data + at, "Exif\0", 6) &&
            fu_exif_patch_next(data + at, len, reset, swap_dims, &first) < 0)
            rc = FU_EXIF_MALFORMED;
    if (found)
        *found = first < 0 ? 0 : first;
    return more < 0 ? FU_EXIF_MALFORMED : rc;
}

/* ---- the reader: a decompressor kept between images ----------------------------------- */

struct fu_jpeg_reader {
    struct jpeg_decompress_struct d;
    fu_jpeg_err e;
    fu_arena arena;    /* JPOOL_IMAGE, given back at every free_pool(JPOOL_IMAGE) */
    int in_image;      /* between a header read and the end of that image: tables go to the arena */
    /* libjpeg's own methods: everything of JPOOL_PERMANENT still goes to them */
    void *(*small)(j_common_ptr, int, size_t);
    void *(*large)(j_common_ptr, int, size_t);
    JSAMPARRAY (*sarray)(j_common_ptr, int, JDIMENSION, JDIMENSION);
    JBLOCKARRAY (*barray)(j_common_ptr, int, JDIMENSION, JDIMENSION);
    void (*free_pool)(j_common_ptr, int);
};

static void *image_alloc(j_common_ptr c, size_t n)
{
    fu_jpeg_reader *r = c->client_data;
    void *p = fu_arena_alloc(&r->arena, n);
    if (!p)
        ERREXIT1(c, JERR_OUT_OF_MEMORY, 0);
    return p;
}

/* Whether a request is the image's: its own pool, or the tables it defines (libjpeg asks for
 * those in JPOOL_PERMANENT). */
static int for_image(j_common_ptr c, int pool)
{
    const fu_jpeg_reader *r = c->client_data;
    return pool == JPOOL_IMAGE || r->in_image;
}

static void *arena_small(j_common_ptr c, int pool, size_t n)
{
    fu_jpeg_reader *r = c->client_data;
    return for_image(c, pool) ? image_alloc(c, n) : r->small(c, pool, n);
}

static void *arena_large(j_common_ptr c, int pool, size_t n)
{
    fu_jpeg_reader *r = c->client_data;
    return for_image(c, pool) ? image_alloc(c, n) : r->large(c, pool, n);
}

/* Rows padded to 64 samples, as libjpeg-turbo's own allocator pads them: its SIMD code may
 * read and write up to there. */
static JSAMPARRAY arena_sarray(j_common_ptr c, int pool, JDIMENSION width, JDIMENSION rows)
{
    fu_jpeg_reader *r = c->client_data;
    if (!for_image(c, pool))
        return r->sarray(c, pool, width, rows);
    size_t row = ((size_t)width + 63) / 64 * 64;
    if (rows && row > SIZE_MAX / 4 / rows)
        ERREXIT1(c, JERR_OUT_OF_MEMORY, 0);
    JSAMPARRAY a = image_alloc(c, (size_t)rows * sizeof(JSAMPROW));
    JSAMPROW s = image_alloc(c, row * (size_t)rows);
    for (JDIMENSION i = 0; i < rows; i++)
        a[i] = s + (size_t)i * row;
    return a;
}

static JBLOCKARRAY arena_barray(j_common_ptr c, int pool, JDIMENSION width, JDIMENSION rows)
{
    fu_jpeg_reader *r = c->client_data;
    if (!for_image(c, pool))
        return r->barray(c, pool, width, rows);
    if (rows && width > SIZE_MAX / 4 / sizeof(JBLOCK) / rows)
        ERREXIT1(c, JERR_OUT_OF_MEMORY, 0);
    JBLOCKARRAY a = image_alloc(c, (size_t)rows * sizeof(JBLOCKROW));
    JBLOCKROW b = image_alloc(c, (size_t)width * rows * sizeof(JBLOCK));
    for (JDIMENSION i = 0; i < rows; i++)
        a[i] = b + (size_t)i * width;
    return a;
}

/* The end of an image: its memory back to the arena, and no table of it left behind. */
static void arena_free_pool(j_common_ptr c, int pool)
{
    fu_jpeg_reader *r = c->client_data;
    r->free_pool(c, pool);
    if (pool != JPOOL_IMAGE)
        return;
    fu_arena_reset(&r->arena);
    for (int i = 0; i < NUM_QUANT_TBLS; i++)
        r->d.quant_tbl_ptrs[i] = NULL;
    for (int i = 0; i < NUM_HUFF_TBLS; i++)
        r->d.dc_huff_tbl_ptrs[i] = r->d.ac_huff_tbl_ptrs[i] = NULL;
    r->in_image = 0;
}

/* A decompressor whose image pool is the arena. FACEUP_OK or FACEUP_ERR_NOMEM. */
static int reader_init(fu_jpeg_reader *r)
{
    memset(r, 0, sizeof *r);
    fu_jpeg_catch((j_common_ptr)&r->d, &r->e);
    r->d.client_data = r;
    if (setjmp(r->e.jmp))
        return FACEUP_ERR_NOMEM; /* jpeg_create_decompress failed: it holds nothing */
    jpeg_create_decompress(&r->d);
    r->d.progress = &r->e.progress;
    static const uint8_t soi[2] = {0xFF, 0xD8};
    jpeg_mem_src(&r->d, soi, sizeof soi); /* its source manager is permanent: made now */
    struct jpeg_memory_mgr *m = r->d.mem;
    r->small = m->alloc_small;
    r->large = m->alloc_large;
    r->sarray = m->alloc_sarray;
    r->barray = m->alloc_barray;
    r->free_pool = m->free_pool;
    m->alloc_small = arena_small;
    m->alloc_large = arena_large;
    m->alloc_sarray = arena_sarray;
    m->alloc_barray = arena_barray;
    m->free_pool = arena_free_pool;
    return FACEUP_OK;
}

static void reader_free(fu_jpeg_reader *r)
{
    jpeg_destroy_decompress(&r->d);
    fu_arena_free(&r->arena);
}

/* The codec's reader, made on first use; or, without a codec, `local` (reader_free it). */
static struct fu_jpeg_reader *reader_of(fu_codec *c, struct fu_jpeg_reader *local)
{
    if (!c)
        return reader_init(local) == FACEUP_OK ? local : NULL;
    if (!c->jpeg) {
        struct fu_jpeg_reader *r = malloc(sizeof *r);
        if (!r || reader_init(r) != FACEUP_OK) {
            free(r);
            return NULL;
        }
        c->jpeg = r;
    }
    return c->jpeg;
}

void fu_jpeg_reader_destroy(fu_jpeg_reader *r)
{
    if (!r)
        return;
    reader_free(r);
    free(r);
}

void fu_jpeg_reader_trim(fu_jpeg_reader *r, size_t keep)
{
    if (r && r->arena.cap > keep)
        fu_arena_free(&r->arena);
}

/* ---- the header ----------------------------------------------------------------------- */

/* Read the header of d into r->d, lenient about warnings as tjDecompressHeader3() is, and
 * judge it. FACEUP_OK leaves r->d ready to start decompressing. */
static int read_header(fu_jpeg_reader *r, const uint8_t *d, size_t n, char *err)
{
    if (n > ULONG_MAX)
        return fu_err(err, FACEUP_ERR_TOO_MANY_BYTES, "JPEG data too large");
    r->e.lenient = 1;
    r->e.warned = 0;
    if (setjmp(r->e.jmp)) {
        jpeg_abort_decompress(&r->d);
        r->e.lenient = 0;
        return fu_err(err, r->e.status, "bad JPEG header: %s", r->e.msg);
    }
    jpeg_mem_src(&r->d, d, (unsigned long)n);
    r->in_image = 1;
    /* a stream that ends before its frame header reads as "tables only" */
    if (jpeg_read_header(&r->d, FALSE) != JPEG_HEADER_OK || r->d.image_width == 0) {
        jpeg_abort_decompress(&r->d);
        r->e.lenient = 0;
        return fu_err(err, FACEUP_ERR_DECODE, "truncated JPEG data: no frame header");
    }
    int status = FACEUP_OK;
    J_COLOR_SPACE cs = r->d.jpeg_color_space;
    if (r->e.warned)
        status = fu_err(err, FACEUP_ERR_DECODE, "bad JPEG header: %s", r->e.msg);
    else if (cs != JCS_GRAYSCALE && cs != JCS_RGB && cs != JCS_YCbCr && cs != JCS_CMYK &&
             cs != JCS_YCCK)
        status = fu_err(err, FACEUP_ERR_DECODE, "bad JPEG header: unknown colour space");
    if (status != FACEUP_OK)
        jpeg_abort_decompress(&r->d);
    r->e.lenient = 0;
    return status;
}

/* What libjpeg's whole-image coefficient arrays take (a progressive decode holds them, and so
 * does jpeg_read_coefficients): each component's blocks, rounded up to whole MCUs, 128 bytes
 * a block. The block counts are set by jpeg_read_header. */
static long long coef_bytes(const struct jpeg_decompress_struct *d)
{
    long long total = 0;
    for (int ci = 0; ci < d->num_components; ci++) {
        const jpeg_component_info *c = &d->comp_info[ci];
        long long h = c->h_samp_factor, v = c->v_samp_factor;
        long long bw = (c->width_in_blocks + h - 1) / h * h, bh = (c->height_in_blocks + v - 1) / v * v;
        total += bw * bh * (long long)sizeof(JBLOCK);
    }
    return total;
}

static int probe_with(fu_codec *c, const uint8_t *d, size_t n, fu_probe *p, char *err)
{
    struct fu_jpeg_reader local, *r = reader_of(c, &local);
    if (!r)
        return fu_err(err, FACEUP_ERR_NOMEM, "cannot create a JPEG decoder");
    int status = read_header(r, d, n, err);
    if (status == FACEUP_OK) {
        p->width = (int)r->d.image_width;
        p->height = (int)r->d.image_height;
        p->lossy = 1;
        p->channels = r->d.num_components;
        p->depth = 8;
        p->interlaced = r->d.progressive_mode;
        p->coef_bytes = coef_bytes(&r->d);
        size_t len = 0;
        const uint8_t *app1 = find_segment(d, n, 0xE1, "Exif\0\0", 6, &len);
        p->exif_orientation = app1 ? fu_exif_orientation(app1, len) : 0;
        p->exif_thumbnail = app1 ? fu_exif_has_thumbnail(app1, len) : 0;
        jpeg_abort_decompress(&r->d);
    }
    if (r == &local)
        reader_free(r);
    return status;
}

/* ---- decoding ------------------------------------------------------------------------- */

/* The smallest DCT scaling factor (<= 1) whose output keeps both sides >= min_side; 1/1 when
 * min_side is 0 or no factor does. Of the factors that give that output size, the largest,
 * as tjDecompress2() picks it: for tiny images several factors give the same size. */
static tjscalingfactor pick_scale(int w, int h, int min_side)
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
    int bw = TJSCALED(w, best), bh = TJSCALED(h, best);
    for (int i = 0; i < n; i++)
        if (TJSCALED(w, sf[i]) <= bw && TJSCALED(h, sf[i]) <= bh)
            return sf[i];
    return best;
}

/* The output (4 bytes a pixel for CMYK, packed later), its row pointers, the coefficients of a
 * progressive image, and libjpeg's own buffers: a few MCU rows of every component, upsampled. */
static long long decode_cost(const fu_probe *p, int min_side, int *out_w, int *out_h)
{
    tjscalingfactor sf = pick_scale(p->width, p->height, min_side);
    *out_w = TJSCALED(p->width, sf);
    *out_h = TJSCALED(p->height, sf);
    long long cost = (long long)*out_w * *out_h * (p->channels == 4 ? 4 : 3) + *out_h * 8LL;
    return cost + (p->interlaced ? p->coef_bytes : 0) + (long long)p->width * 128;
}

/* jpeg_turn.c: the source's coefficients, and when whole MCUs cannot move (a partial edge), the
 * decoded planes and their turned copy before they are encoded again. */
static long long fix_cost(const fu_probe *p)
{
    long long px = (long long)p->width * p->height;
    return p->coef_bytes + 2 * px * p->channels + (long long)p->width * 256;
}

/* The scanlines of r->d (started) into img's rows. */
static void read_rows(fu_jpeg_reader *r, fu_image *img, int channels)
{
    JSAMPARRAY rows = image_alloc((j_common_ptr)&r->d, (size_t)img->h * sizeof(JSAMPROW));
    for (int y = 0; y < img->h; y++)
        rows[y] = img->px + (size_t)y * (size_t)img->w * (size_t)channels;
    while (r->d.output_scanline < r->d.output_height)
        jpeg_read_scanlines(&r->d, rows + r->d.output_scanline,
                            r->d.output_height - r->d.output_scanline);
}

/* The decode proper, after the header was read: r->d's errors and warnings come back here. */
static int decode_started(fu_jpeg_reader *r, const uint8_t *d, size_t n, int min_side,
                          fu_image *out, char *err)
{
    if (setjmp(r->e.jmp)) {
        jpeg_abort_decompress(&r->d);
        return fu_err(err, r->e.status, "damaged or truncated JPEG data: %s", r->e.msg);
    }
    int w = (int)r->d.image_width, h = (int)r->d.image_height;
    tjscalingfactor sf = pick_scale(w, h, min_side);
    int sw = TJSCALED(w, sf), sh = TJSCALED(h, sf);
    /* libjpeg converts YCbCr, RGB and grayscale to RGB itself, but CMYK/YCCK only to CMYK. */
    int cmyk = r->d.jpeg_color_space == JCS_CMYK || r->d.jpeg_color_space == JCS_YCCK;
    if (fu_image_reserve(out, sw, sh, cmyk ? 4 : 3) != FACEUP_OK) {
        jpeg_abort_decompress(&r->d);
        return fu_err(err, FACEUP_ERR_NOMEM, "out of memory for a %dx%d image", sw, sh);
    }
    r->d.scale_num = (unsigned)sf.num;
    r->d.scale_denom = (unsigned)sf.denom;
    r->d.out_color_space = cmyk ? JCS_CMYK : JCS_EXT_RGB;
    jpeg_start_decompress(&r->d);
    if ((int)r->d.output_width != sw || (int)r->d.output_height != sh)
        fu_jpeg_throw(&r->e, FACEUP_ERR_INTERNAL, "unexpected output size");
    read_rows(r, out, cmyk ? 4 : 3);
    jpeg_finish_decompress(&r->d);
    if (cmyk) {
        size_t len = 0;
        fu_image_cmyk_to_rgb(out, find_segment(d, n, 0xEE, "Adobe", 5, &len) != NULL);
    }
    return FACEUP_OK;
}

static int decode(fu_codec *c, const uint8_t *d, size_t n, long long max_pixels, int min_side,
                  fu_image *out, char *err)
{
    (void)max_pixels; /* the probe checked it: libjpeg reads the same header */
    struct fu_jpeg_reader local, *r = reader_of(c, &local);
    if (!r)
        return fu_err(err, FACEUP_ERR_NOMEM, "cannot create a JPEG decoder");
    int status = read_header(r, d, n, err);
    if (status == FACEUP_OK)
        status = decode_started(r, d, n, min_side, out, err);
    if (r == &local)
        reader_free(r);
    return status;
}

/* ---- a change of format: metadata out and in ------------------------------------------ */

/* ICC chunks carry their sequence number; they are almost always in order, and a profile whose
 * chunks are not is dropped rather than reassembled wrongly. */
static int read_meta(const uint8_t *d, size_t n, fu_meta *m)
{
    size_t pos = 0, at, len;
    int marker, rc = FACEUP_OK, icc_next = 1;
    while (rc == FACEUP_OK && fu_jpeg_next_segment(d, n, &pos, &marker, &at, &len) > 0) {
        const uint8_t *p = d + at;
        if (marker == 0xE1 && len > 6 && !memcmp(p, "Exif\0", 6) && !m->exif.n)
            rc = fu_buf_put(&m->exif, p + 6, len - 6);
        else if (marker == 0xE1 && len > sizeof xmp_id && !memcmp(p, xmp_id, sizeof xmp_id) &&
                 !m->xmp.n)
            rc = fu_buf_put(&m->xmp, p + sizeof xmp_id, len - sizeof xmp_id);
        else if (marker == 0xE2 && len > sizeof icc_id + 2 && !memcmp(p, icc_id, sizeof icc_id) &&
                 icc_next > 0) {
            if (p[sizeof icc_id] == icc_next) {
                rc = fu_buf_put(&m->icc, p + sizeof icc_id + 2, len - sizeof icc_id - 2);
                icc_next++;
            } else {
                fu_buf_free(&m->icc);
                icc_next = -1;
            }
        }
    }
    return rc;
}

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

/* The EXIF, ICC (in as many chunks as it takes) and XMP segments. */
static int put_meta(fu_buf *out, const fu_meta *m)
{
    int rc = FACEUP_OK;
    if (m->exif.n)
        rc = put_segment(out, 0xE1, "Exif\0", 6, m->exif.p, m->exif.n, NULL, 0);
    const size_t icc_max = 0xFFFF - 2 - sizeof icc_id - 2;
    size_t chunks = (m->icc.n + icc_max - 1) / icc_max;
    for (size_t i = 0; rc == FACEUP_OK && i < chunks && chunks < 256; i++) {
        uint8_t seq[2] = {(uint8_t)(i + 1), (uint8_t)chunks};
        size_t part = m->icc.n - i * icc_max < icc_max ? m->icc.n - i * icc_max : icc_max;
        rc = put_segment(out, 0xE2, icc_id, sizeof icc_id, seq, 2, m->icc.p + i * icc_max, part);
    }
    if (rc == FACEUP_OK && m->xmp.n)
        rc = put_segment(out, 0xE1, xmp_id, sizeof xmp_id, m->xmp.p, m->xmp.n, NULL, 0);
    return rc;
}

/* 4:2:0 at ENCODE_QUALITY (TurboJPEG); the metadata right after SOI and the JFIF APP0. */
static int encode(const fu_image *img, int lossless, fu_meta *m, fu_buf *out, char *err)
{
    (void)lossless; /* JPEG is lossy whatever the source was */
    tjhandle tj = tjInitCompress();
    unsigned char *jpg = NULL;
    unsigned long jpg_n = 0;
    if (!tj)
        return FACEUP_ERR_NOMEM;
    int rc = FACEUP_OK;
    if (tjCompress2(tj, img->px, img->w, img->stride, img->h, TJPF_RGB, &jpg, &jpg_n, TJSAMP_420,
                    ENCODE_QUALITY, TJFLAG_ACCURATEDCT) < 0) {
        rc = fu_err(err, FACEUP_ERR_ENCODE, "%s", tjGetErrorStr2(tj));
    } else {
        size_t head = 2;
        if (jpg_n > 6 && jpg[2] == 0xFF && jpg[3] == 0xE0)
            head = 4 + ((size_t)jpg[4] << 8 | jpg[5]);
        rc = fu_buf_put(out, jpg, head);
        if (rc == FACEUP_OK)
            rc = put_meta(out, m);
        if (rc == FACEUP_OK)
            rc = fu_buf_put(out, jpg + head, jpg_n - head);
    }
    tjFree(jpg);
    tjDestroy(tj);
    return rc;
}

int fu_fix_jpeg(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                faceup_fix_path *path, char err[FU_ERRLEN])
{
    memset(out, 0, sizeof *out);
    *path = FACEUP_FIX_LOSSLESS;
    /* Nothing moves: only the tag changes, and only its bytes do. */
    if (fu_d4_is_identity(plan->t) && plan->keep_metadata)
        return fu_fix_copy_patched(&fu_format_jpeg, data, size, plan, out, err);
    return fu_jpeg_turn(data, size, plan, out, path, err);
}

const fu_format fu_format_jpeg = {
    .id = FACEUP_FORMAT_JPEG,
    .sniff = sniff,
    .probe = probe_with,
    .decode = decode,
    .decode_cost = decode_cost,
    .fix_cost = fix_cost,
    .encode_cost = 4, /* tjCompress2's worst-case output buffer for 4:2:0 */
    .fix = fu_fix_jpeg,
    .patch_exif = fu_jpeg_patch_exif,
    .read_meta = read_meta,
    .encode = encode,
};
