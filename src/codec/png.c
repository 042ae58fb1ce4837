/*
 * png.c - PNG: the chunk walk, the header probe, the decode to RGB, EXIF found and patched, the
 * turn in the image's own pixels, and the metadata and encoder of a change of format.
 *
 * libpng reports errors through a callback that longjmps back to the function that called
 * setjmp. Everything such a function allocates lives in a struct outside its frame (png_in,
 * png_out), so nothing has to be volatile and cleanup happens in one place after it returns.
 * One reader (png_in: libpng reading from memory) and one writer (png_out: into a fu_buf)
 * serve the decoder, the turn and the change of format alike.
 *
 * The turn. PNG is lossless, so turning is exact by construction: the pixels are read at their
 * own depth (palette indices, 1/2/4-bit samples unpacked to a byte each, 16-bit samples as their
 * two big-endian bytes, alpha as it is), moved by fu_d4_rows as opaque pixels of 1 to 8 bytes,
 * and written back with the same bit depth, colour type, palette and interlacing. libpng would
 * rewrite every chunk it understands (and recompress the text and ICC chunks), so it only
 * encodes the new IHDR and IDAT, into a scratch PNG. The output is then assembled from the
 * source's own chunk sequence, in its own order: IHDR and the IDAT run are replaced by the new
 * ones, every other chunk is copied byte for byte, except
 *   - eXIf: Orientation reset and pixel dimensions swapped in place (exif.c), CRC redone;
 *   - pHYs: pixels per unit on x and y exchanged when the axes are;
 *   - unknown ancillary chunks marked unsafe-to-copy (lower-case 4th letter means safe): dropped,
 *     as the PNG specification asks of an editor that changes the image data;
 *   - with metadata stripped: iCCP, eXIf, tEXt, zTXt, iTXt, tIME and unknown chunks dropped.
 * An animated PNG (acTL) is refused: its frames would need turning too.
 */
#include "codec/format.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

/* Ancillary chunks (text, ICC, eXIf) are buffered whole by libpng; none we care about is
 * anywhere near this big, and it keeps a forged chunk length from costing memory. */
#define PNG_CHUNK_MAX ((png_alloc_size_t)8 << 20)

static const uint8_t signature[8] = {137, 'P', 'N', 'G', 13, 10, 26, 10};

/* ---- chunks ----------------------------------------------------------------------------- */

static int sniff(const uint8_t *d, size_t n)
{
    return n >= sizeof signature && memcmp(d, signature, sizeof signature) == 0;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* CRC-32 of ISO 3309 / PNG, bitwise: the chunks we patch are small. */
static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return c ^ 0xFFFFFFFFu;
}

/* Recompute the CRC of the chunk starting at `chunk` (length, type, data, CRC). */
static void redo_crc(uint8_t *chunk)
{
    uint32_t len = fu_be32(chunk);
    put_be32(chunk + 8 + len, crc32_png(chunk + 4, 4 + (size_t)len));
}

typedef struct chunk {
    size_t off;    /* of the length field */
    uint32_t len;  /* of the data */
    char type[5];
} chunk;

/* The chunk at *pos: 1, and *pos moves past it; 0 at the end of the data; -1 when it runs past
 * the end or its length is over 2^31 - 1. The one PNG chunk walker of faceup. */
static int next_chunk(const uint8_t *d, size_t size, size_t *pos, chunk *c)
{
    if (*pos == size)
        return 0;
    if (size - *pos < 12)
        return -1;
    c->off = *pos;
    c->len = fu_be32(d + *pos);
    if (c->len > 0x7FFFFFFFu || c->len > size - *pos - 12)
        return -1;
    memcpy(c->type, d + *pos + 4, 4);
    c->type[4] = 0;
    *pos += 12 + (size_t)c->len;
    return 1;
}

static int is(const chunk *c, const char *type)
{
    return memcmp(c->type, type, 4) == 0;
}

int fu_png_patch_exif(uint8_t *data, size_t size, int reset, int swap_dims, int *found)
{
    int rc = 0, first = -1, more;
    size_t pos = sizeof signature;
    chunk c;
    if (found)
        *found = 0;
    if (!sniff(data, size))
        return FU_EXIF_MALFORMED;
    while ((more = next_chunk(data, size, &pos, &c)) > 0 && !is(&c, "IEND")) {
        if (!is(&c, "eXIf"))
            continue;
        if (fu_exif_patch_next(data + c.off + 8, c.len, reset, swap_dims, &first) < 0)
            rc = FU_EXIF_MALFORMED;
        else
            redo_crc(data + c.off);
    }
    if (found)
        *found = first < 0 ? 0 : first;
    return more < 0 ? FU_EXIF_MALFORMED : rc;
}

/* The eXIf chunk (PNG 1.5 extension), found by length so that one a writer put after the image
 * data counts too. */
static void read_exif(const uint8_t *d, size_t n, fu_probe *p)
{
    size_t pos = sizeof signature;
    chunk c;
    p->exif_orientation = p->exif_thumbnail = 0;
    while (next_chunk(d, n, &pos, &c) > 0 && !is(&c, "IEND"))
        if (is(&c, "eXIf")) {
            p->exif_orientation = fu_exif_orientation(d + c.off + 8, c.len);
            p->exif_thumbnail = fu_exif_has_thumbnail(d + c.off + 8, c.len);
            return;
        }
}

static int probe(fu_codec *codec, const uint8_t *d, size_t n, fu_probe *p, char *err)
{
    (void)codec;
    /* signature, then IHDR: length 13, type, width, height, depth, colour type, ... */
    if (n < 8 + 8 + 13 + 4)
        return fu_err(err, FACEUP_ERR_DECODE, "truncated PNG header");
    if (fu_be32(d + 8) != 13 || memcmp(d + 12, "IHDR", 4) != 0)
        return fu_err(err, FACEUP_ERR_DECODE, "PNG does not start with an IHDR chunk");
    uint32_t w = fu_be32(d + 16), h = fu_be32(d + 20);
    if (w == 0 || h == 0 || w > PNG_UINT_31_MAX || h > PNG_UINT_31_MAX)
        return fu_err(err, FACEUP_ERR_DECODE, "PNG header has invalid dimensions %lux%lu",
                      (unsigned long)w, (unsigned long)h);
    static const int channels[7] = {1, 0, 3, 1, 2, 0, 4}; /* by colour type */
    p->width = (int)w;
    p->height = (int)h;
    p->lossy = 0;
    p->depth = d[24];
    p->channels = d[25] < 7 && channels[d[25]] ? channels[d[25]] : 4;
    p->interlaced = d[28] != 0;
    read_exif(d, n, p);
    return FACEUP_OK;
}

/* ---- libpng on memory ------------------------------------------------------------------- */

typedef struct png_in {
    char msg[FU_ERRLEN];  /* first: libpng's last error, written by on_error */
    const uint8_t *data;
    size_t size, pos;
    png_structp png;
    png_infop info;
    png_bytep *rows;      /* whatever the caller reads the image into */
    uint8_t *row;         /* one row, for the decoders that go row by row */
    uint32_t *sums;       /* a row of block sums, for the reduced decode */
} png_in;

typedef struct png_out {
    char msg[FU_ERRLEN];  /* first, as in png_in */
    fu_buf *buf;
    int status;           /* FACEUP_ERR_NOMEM when the buffer could not grow */
    png_structp png;
    png_infop info;
} png_out;

static void on_error(png_structp p, png_const_charp msg)
{
    char *to = png_get_error_ptr(p);
    snprintf(to, FU_ERRLEN, "%s", msg ? msg : "unknown error");
    png_longjmp(p, 1);
}

static void on_warning(png_structp p, png_const_charp msg)
{
    (void)p; /* libpng would print; a library stays quiet */
    (void)msg;
}

static void read_mem(png_structp p, png_bytep dst, size_t n)
{
    png_in *in = png_get_io_ptr(p);
    if (n > in->size - in->pos)
        png_error(p, "truncated PNG data");
    memcpy(dst, in->data + in->pos, n);
    in->pos += n;
}

static void write_mem(png_structp p, png_bytep data, size_t n)
{
    png_out *o = png_get_io_ptr(p);
    if (fu_buf_put(o->buf, data, n) != FACEUP_OK) {
        o->status = FACEUP_ERR_NOMEM;
        png_error(p, "out of memory");
    }
}

static void flush_mem(png_structp p)
{
    (void)p;
}

/* A libpng reader over d. FACEUP_OK, or FACEUP_ERR_NOMEM; in_close() in either case. */
static int in_open(png_in *in, const uint8_t *d, size_t n)
{
    memset(in, 0, sizeof *in);
    in->data = d;
    in->size = n;
    in->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, in, on_error, on_warning);
    if (!in->png || !(in->info = png_create_info_struct(in->png)))
        return FACEUP_ERR_NOMEM;
    png_set_read_fn(in->png, in, read_mem);
    png_set_chunk_malloc_max(in->png, PNG_CHUNK_MAX);
    return FACEUP_OK;
}

static void in_close(png_in *in)
{
    png_destroy_read_struct(in->png ? &in->png : NULL, in->info ? &in->info : NULL, NULL);
    free(in->rows);
    free(in->row);
    free(in->sums);
    in->rows = NULL;
    in->row = NULL;
    in->sums = NULL;
}

/* Row pointers into `px`, rows `stride` bytes apart: h of them, in an array of `count`. */
static int in_rows(png_in *in, uint8_t *px, png_uint_32 h, size_t stride, png_uint_32 count)
{
    in->rows = malloc(sizeof *in->rows * (count ? count : 1));
    if (!in->rows)
        return FACEUP_ERR_NOMEM;
    for (png_uint_32 y = 0; y < h; y++)
        in->rows[y] = px + (size_t)y * stride;
    return FACEUP_OK;
}

static int out_open(png_out *o, fu_buf *buf)
{
    memset(o, 0, sizeof *o);
    o->buf = buf;
    o->status = FACEUP_ERR_ENCODE;
    o->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, o, on_error, on_warning);
    if (!o->png || !(o->info = png_create_info_struct(o->png)))
        return FACEUP_ERR_NOMEM;
    png_set_write_fn(o->png, o, write_mem, flush_mem);
    return FACEUP_OK;
}

static void out_close(png_out *o)
{
    png_destroy_write_struct(o->png ? &o->png : NULL, o->info ? &o->info : NULL);
}

/* ---- decoding --------------------------------------------------------------------------- */

/* Add one decoded RGB row to the block sums of its output row. */
static void add_row(const uint8_t *row, png_uint_32 w, int f, uint32_t *sums)
{
    for (png_uint_32 x = 0; x < w; x++)
        for (int k = 0; k < 3; k++)
            sums[x / (png_uint_32)f * 3 + k] += row[3 * x + k];
}

/* Output row `oy` from the sums of its `rows` source rows, and the sums cleared. */
static void put_row(fu_image *out, png_uint_32 w, int f, int oy, int rows, uint32_t *sums)
{
    uint8_t *o = out->px + (size_t)oy * (size_t)out->stride;
    for (int ox = 0; ox < out->w; ox++) {
        png_uint_32 cols = w - (png_uint_32)ox * (png_uint_32)f;
        uint32_t n = (cols < (png_uint_32)f ? cols : (png_uint_32)f) * (uint32_t)rows;
        for (int k = 0; k < 3; k++)
            o[3 * ox + k] = (uint8_t)((sums[3 * ox + k] + n / 2) / n);
    }
    memset(sums, 0, (size_t)out->w * 3 * sizeof *sums);
}

/* A non-interlaced image reduced by f while its rows are read, each f x f block averaged: only
 * the output and two rows are ever held, whatever the size of the image. */
static int read_reduced(png_in *in, png_uint_32 w, png_uint_32 h, int channels, int f,
                        fu_image *out)
{
    int ow = (int)((w + (png_uint_32)f - 1) / (png_uint_32)f);
    int oh = (int)((h + (png_uint_32)f - 1) / (png_uint_32)f);
    if (fu_image_reserve(out, ow, oh, 3) != FACEUP_OK ||
        !(in->row = malloc((size_t)w * (size_t)channels)) ||
        !(in->sums = calloc((size_t)ow * 3, sizeof *in->sums)))
        return FACEUP_ERR_NOMEM;
    for (png_uint_32 y = 0; y < h; y++) {
        png_read_row(in->png, in->row, NULL);
        if (channels == 4) {
            fu_image view = {in->row, (int)w, 1, (int)w * 4, 0};
            fu_image_rgba_over_black(&view);
        }
        add_row(in->row, w, f, in->sums);
        if ((y + 1) % (png_uint_32)f == 0 || y + 1 == h)
            put_row(out, w, f, (int)(y / (png_uint_32)f), (int)(y % (png_uint_32)f) + 1, in->sums);
    }
    return FACEUP_OK;
}

/* The only function of the decoder that calls setjmp; all it changes lives in *in and *out. */
static int decode_run(png_in *in, long long max_pixels, int min_side, fu_image *out, char *err)
{
    if (setjmp(png_jmpbuf(in->png)))
        return fu_err(err, FACEUP_ERR_DECODE, "damaged or truncated PNG: %s", in->msg);
    png_uint_32 limit = max_pixels < PNG_UINT_31_MAX ? (png_uint_32)max_pixels : PNG_UINT_31_MAX;
    png_set_user_limits(in->png, limit, limit);
    png_read_info(in->png, in->info);
    png_uint_32 w = png_get_image_width(in->png, in->info);
    png_uint_32 h = png_get_image_height(in->png, in->info);
    if ((long long)w * h > max_pixels) /* the probe said so already; libpng read it anew */
        return fu_err(err, FACEUP_ERR_TOO_MANY_PIXELS, "image is %lux%lu pixels, over the limit",
                      (unsigned long)w, (unsigned long)h);
    /* Adam7 needs all rows at once: each pass fills in pixels of rows it has seen before. */
    int f = png_get_interlace_type(in->png, in->info) == PNG_INTERLACE_NONE
                ? fu_reduce_factor((int)w, (int)h, min_side) : 1;
    /* Whatever the colour type and depth, ask for 8-bit RGB or RGBA. Gamma is ignored: the
     * detector wants the stored values, as other viewers of raw samples do. */
    png_set_expand(in->png);       /* palette -> RGB, gray < 8 bits -> 8, tRNS -> alpha */
    png_set_strip_16(in->png);     /* the high byte, as Pillow and most readers do */
    png_set_gray_to_rgb(in->png);
    png_set_interlace_handling(in->png);
    png_read_update_info(in->png, in->info);
    int channels = png_get_channels(in->png, in->info);
    if ((channels != 3 && channels != 4) || png_get_bit_depth(in->png, in->info) != 8 ||
        png_get_rowbytes(in->png, in->info) != (size_t)w * (size_t)channels)
        return fu_err(err, FACEUP_ERR_INTERNAL, "unexpected PNG layout after transforms");
    if (f > 1) {
        if (read_reduced(in, w, h, channels, f, out) != FACEUP_OK)
            return fu_err(err, FACEUP_ERR_NOMEM, "out of memory reducing a %lux%lu image",
                          (unsigned long)w, (unsigned long)h);
    } else {
        if (fu_image_reserve(out, (int)w, (int)h, channels) != FACEUP_OK ||
            in_rows(in, out->px, h, (size_t)out->stride, h) != FACEUP_OK)
            return fu_err(err, FACEUP_ERR_NOMEM, "out of memory for a %lux%lu image",
                          (unsigned long)w, (unsigned long)h);
        png_read_image(in->png, in->rows);
    }
    /* Up to IEND, so that a cut file is an error whichever byte it lost, as for JPEG. */
    png_read_end(in->png, NULL);
    if (channels == 4 && f == 1)
        fu_image_rgba_over_black(out);
    return FACEUP_OK;
}

static int decode(fu_codec *c, const uint8_t *d, size_t n, long long max_pixels, int min_side,
                  fu_image *out, char *err)
{
    (void)c;
    png_in in;
    int status = in_open(&in, d, n);
    if (status != FACEUP_OK)
        status = fu_err(err, status, "cannot create a PNG decoder");
    else
        status = decode_run(&in, max_pixels, min_side, out, err);
    in_close(&in);
    return status;
}

/* libpng's own rows: the current and previous at the file's depth, and one transformed. */
static long long libpng_rows(const fu_probe *p)
{
    return 2 * ((long long)p->width * p->channels * p->depth / 8 + 2) + (long long)p->width * 8;
}

/* Reduced: the output, a row and the sums. Whole: 8-bit RGBA (a tRNS chunk may add alpha to
 * any colour type) and its row pointers. */
static long long decode_cost(const fu_probe *p, int min_side, int *out_w, int *out_h)
{
    int f = p->interlaced ? 1 : fu_reduce_factor(p->width, p->height, min_side);
    *out_w = (p->width + f - 1) / f;
    *out_h = (p->height + f - 1) / f;
    if (f > 1)
        return (long long)*out_w * *out_h * 3 + (long long)p->width * 4 +
               (long long)*out_w * 3 * 4 + libpng_rows(p);
    return (long long)p->width * p->height * 4 + (long long)p->height * 8 + libpng_rows(p);
}

/* The turn: one copy of the pixels at their own depth (samples under 8 bits take a byte), row
 * pointers, one turned row, libpng's rows and zlib's windows. */
static long long fix_cost(const fu_probe *p)
{
    int bpp = p->channels * (p->depth == 16 ? 2 : 1);
    long long longer = p->width > p->height ? p->width : p->height;
    return (long long)p->width * p->height * bpp + p->height * 8LL + longer * bpp +
           libpng_rows(p) + (1 << 20);
}

/* ---- the turn --------------------------------------------------------------------------- */

/* The pixels at their own depth, and one row of the turned image. */
typedef struct pixels {
    uint8_t *px, *turned;
    png_uint_32 w, h;
    int depth, color, interlace, bpp;
    size_t stride;
} pixels;

/* Read the pixels at their own depth into p->px, with room for one turned row: the turned image
 * is made row by row as the encoder asks for it, so the image is held once, never widened. */
static int read_pixels(png_in *in, const fu_fix_plan *plan, pixels *p, char *err)
{
    int status = FACEUP_ERR_DECODE;
    if (setjmp(png_jmpbuf(in->png)))
        return fu_err(err, status, "%s", in->msg);
    png_read_info(in->png, in->info);
    png_get_IHDR(in->png, in->info, &p->w, &p->h, &p->depth, &p->color, &p->interlace, NULL,
                 NULL);
    if ((long long)p->w * p->h > plan->max_pixels)
        return fu_err(err, FACEUP_ERR_TOO_MANY_PIXELS, "%ux%u is over the pixel limit",
                      (unsigned)p->w, (unsigned)p->h);
    if (p->depth < 8)
        png_set_packing(in->png); /* one byte a sample, values unscaled */
    png_set_interlace_handling(in->png);
    png_read_update_info(in->png, in->info);
    p->bpp = png_get_channels(in->png, in->info) * (p->depth == 16 ? 2 : 1);
    p->stride = png_get_rowbytes(in->png, in->info);
    if (p->stride != (size_t)p->w * (size_t)p->bpp || p->h > SIZE_MAX / 2 / p->stride)
        return fu_err(err, FACEUP_ERR_INTERNAL, "unexpected PNG row size");
    png_uint_32 longer = p->h > p->w ? p->h : p->w;
    p->px = malloc(p->stride * p->h);
    p->turned = malloc((size_t)longer * (size_t)p->bpp);
    if (!p->px || !p->turned || in_rows(in, p->px, p->h, p->stride, p->h) != FACEUP_OK)
        return FACEUP_ERR_NOMEM;
    png_read_image(in->png, in->rows);
    png_read_end(in->png, NULL);
    return FACEUP_OK;
}

/* Encode the pixels turned by t, same depth, colour type, palette and interlacing, as a scratch
 * PNG whose IHDR and IDAT we keep. Each row is turned when libpng wants it (once a pass when
 * interlaced: a row costs a pass over a column of the source, not a second image). */
static int write_pixels(png_in *in, const pixels *p, fu_d4 t, png_uint_32 ow, png_uint_32 oh,
                        png_out *o, char *err)
{
    if (setjmp(png_jmpbuf(o->png)))
        return fu_err(err, o->status, "%s", o->msg);
    png_set_IHDR(o->png, o->info, ow, oh, p->depth, p->color, p->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_colorp palette;
    int n_palette;
    if (p->color == PNG_COLOR_TYPE_PALETTE && png_get_PLTE(in->png, in->info, &palette, &n_palette))
        png_set_PLTE(o->png, o->info, palette, n_palette); /* libpng insists; the copy is ours */
    png_write_info(o->png, o->info);
    if (p->depth < 8)
        png_set_packing(o->png);
    int passes = png_set_interlace_handling(o->png);
    size_t ostride = (size_t)ow * (size_t)p->bpp;
    for (int pass = 0; pass < passes; pass++)
        for (png_uint_32 y = 0; y < oh; y++) {
            fu_d4_rows(t, p->px, (int)p->w, (int)p->h, p->stride, p->bpp, (int)y, 1, p->turned,
                       ostride);
            png_write_row(o->png, p->turned);
        }
    png_write_end(o->png, NULL);
    return FACEUP_OK;
}

/* The scratch PNG of the turned pixels. */
static int turn_pixels(const uint8_t *data, size_t size, const fu_fix_plan *plan,
                       fu_buf *scratch, char *err)
{
    png_in in;
    png_out o;
    pixels p = {0};
    int rc = in_open(&in, data, size);
    if (rc == FACEUP_OK)
        rc = read_pixels(&in, plan, &p, err);
    if (rc == FACEUP_OK) {
        int swap = fu_d4_swaps_axes(plan->t);
        png_uint_32 ow = swap ? p.h : p.w, oh = swap ? p.w : p.h;
        rc = out_open(&o, scratch);
        if (rc == FACEUP_OK)
            rc = write_pixels(&in, &p, plan->t, ow, oh, &o, err);
        out_close(&o);
    }
    in_close(&in);
    free(p.px);
    free(p.turned);
    return rc;
}

static int listed(const chunk *c, const char *const *types)
{
    for (; *types; types++)
        if (is(c, *types))
            return 1;
    return 0;
}

/* Chunks that say how to read the pixels or the colours: always kept. */
static const char *const structural[] = {
    "PLTE", "tRNS", "gAMA", "cHRM", "sRGB", "cICP", "mDCv", "cLLi", "sBIT", "bKGD", "hIST",
    "sPLT", "pHYs", NULL,
};
/* Metadata we know, kept unless stripping. */
static const char *const metadata[] = {"iCCP", "eXIf", "tEXt", "zTXt", "iTXt", "tIME", NULL};

static int put_chunk(fu_buf *out, const uint8_t *d, const chunk *c, size_t *at)
{
    *at = out->n;
    return fu_buf_put(out, d + c->off, 12 + (size_t)c->len);
}

/* The scratch PNG's IHDR, or its IDAT run. */
static int put_new(fu_buf *out, const fu_buf *scratch, int want_idat)
{
    size_t spos = sizeof signature, at;
    chunk s;
    int rc = FACEUP_OK;
    while (rc == FACEUP_OK && next_chunk(scratch->p, scratch->n, &spos, &s) > 0)
        if (want_idat ? is(&s, "IDAT") : is(&s, "IHDR"))
            rc = put_chunk(out, scratch->p, &s, &at);
    return rc;
}

/* A source chunk other than IHDR, IDAT and IEND: copied, or dropped (see the top). */
static int put_other(fu_buf *out, const uint8_t *in, const chunk *c, const fu_fix_plan *plan)
{
    size_t at;
    if (listed(c, structural)) {
        int rc = put_chunk(out, in, c, &at);
        if (rc == FACEUP_OK && fu_d4_swaps_axes(plan->t) && is(c, "pHYs") && c->len == 9) {
            uint8_t *d = out->p + at + 8, tmp[4];
            memcpy(tmp, d, 4);
            memcpy(d, d + 4, 4);
            memcpy(d + 4, tmp, 4);
            redo_crc(out->p + at);
        }
        return rc;
    }
    if (listed(c, metadata) || (c->type[0] & 0x20)) {
        /* known metadata, or an unknown ancillary chunk (lower-case first letter) */
        int unknown = !listed(c, metadata);
        if (!plan->keep_metadata || (unknown && !(c->type[3] & 0x20)))
            return FACEUP_OK;
        return put_chunk(out, in, c, &at);
    }
    return FACEUP_ERR_DECODE; /* an unknown critical chunk: libpng refused it already */
}

/* The source's chunks around the new IHDR and IDAT run of `scratch`. */
static int assemble(const uint8_t *in, size_t size, const fu_buf *scratch,
                    const fu_fix_plan *plan, fu_buf *out)
{
    size_t pos = sizeof signature, at;
    chunk c;
    int rc = fu_buf_put(out, signature, sizeof signature), idat_done = 0;
    while (rc == FACEUP_OK && next_chunk(in, size, &pos, &c) > 0) {
        if (is(&c, "IHDR") || (is(&c, "IDAT") && !idat_done)) {
            int want_idat = is(&c, "IDAT");
            rc = put_new(out, scratch, want_idat);
            idat_done |= want_idat;
        } else if (is(&c, "IEND")) {
            return put_chunk(out, in, &c, &at);
        } else if (!is(&c, "IDAT")) {
            rc = put_other(out, in, &c, plan);
        }
    }
    return rc;
}

/* Refuse what cannot be turned: an animated PNG, damaged chunks. */
static int check_turnable(const uint8_t *data, size_t size, char *err)
{
    size_t pos = sizeof signature;
    chunk c;
    int more;
    if (!sniff(data, size))
        return fu_err(err, FACEUP_ERR_FORMAT, "not a PNG");
    while ((more = next_chunk(data, size, &pos, &c)) > 0 && !is(&c, "IEND"))
        if (is(&c, "acTL"))
            return fu_err(err, FACEUP_ERR_FORMAT, "animated PNG: not turned");
    if (more < 0)
        return fu_err(err, FACEUP_ERR_DECODE, "damaged PNG chunk");
    return FACEUP_OK;
}

int fu_fix_png(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
               faceup_fix_path *path, char err[FU_ERRLEN])
{
    memset(out, 0, sizeof *out);
    int rc = check_turnable(data, size, err);
    if (rc != FACEUP_OK)
        return rc;
    *path = FACEUP_FIX_LOSSLESS;
    if (fu_d4_is_identity(plan->t) && plan->keep_metadata)
        return fu_fix_copy_patched(&fu_format_png, data, size, plan, out, err);
    fu_buf scratch = {0};
    rc = turn_pixels(data, size, plan, &scratch, err);
    if (rc == FACEUP_OK)
        rc = assemble(data, size, &scratch, plan, out);
    fu_buf_free(&scratch);
    if (rc == FACEUP_OK)
        rc = fu_fix_patch_output(&fu_format_png, plan, out, err);
    if (rc != FACEUP_OK)
        fu_buf_free(out);
    return rc;
}

/* ---- a change of format: metadata out and in -------------------------------------------- */

/* Everything read lives in `m` or in libpng's structs, so nothing here need be volatile. */
static int meta_run(png_in *in, fu_meta *m)
{
    if (setjmp(png_jmpbuf(in->png)))
        return FACEUP_ERR_DECODE;
    png_read_info(in->png, in->info);
    png_bytep exif, icc;
    png_uint_32 exif_n, icc_n;
    png_charp name;
    int compression, n_text, rc = FACEUP_OK;
    png_textp text;
    if (png_get_eXIf_1(in->png, in->info, &exif_n, &exif))
        rc = fu_buf_put(&m->exif, exif, exif_n);
    if (rc == FACEUP_OK && png_get_iCCP(in->png, in->info, &name, &compression, &icc, &icc_n))
        rc = fu_buf_put(&m->icc, icc, icc_n);
    if (rc == FACEUP_OK && png_get_text(in->png, in->info, &text, &n_text))
        for (int i = 0; i < n_text && rc == FACEUP_OK; i++)
            if (!strcmp(text[i].key, "XML:com.adobe.xmp") && !m->xmp.n)
                rc = fu_buf_put(&m->xmp, text[i].text,
                                text[i].compression >= 1 ? text[i].itxt_length
                                                         : text[i].text_length);
    return rc;
}

static int read_meta(const uint8_t *d, size_t n, fu_meta *m)
{
    png_in in;
    int rc = in_open(&in, d, n);
    if (rc == FACEUP_OK)
        rc = meta_run(&in, m);
    in_close(&in);
    return rc;
}

static int encode_run(png_out *o, const fu_image *img, const fu_meta *m)
{
    if (setjmp(png_jmpbuf(o->png)))
        return FACEUP_ERR_ENCODE;
    png_set_benign_errors(o->png, 1); /* an ICC profile libpng finds invalid is left out */
    png_set_IHDR(o->png, o->info, (png_uint_32)img->w, (png_uint_32)img->h, 8,
                 PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (m->exif.n)
        png_set_eXIf_1(o->png, o->info, (png_uint_32)m->exif.n, m->exif.p);
    if (m->icc.n)
        png_set_iCCP(o->png, o->info, "ICC profile", PNG_COMPRESSION_TYPE_BASE, m->icc.p,
                     (png_uint_32)m->icc.n);
    png_text xmp = {0};
    if (m->xmp.n) {
        xmp.compression = PNG_ITXT_COMPRESSION_NONE;
        xmp.key = "XML:com.adobe.xmp";
        xmp.text = (char *)m->xmp.p; /* NUL-terminated by encode() */
        xmp.itxt_length = m->xmp.n;
        png_set_text(o->png, o->info, &xmp, 1);
    }
    png_write_info(o->png, o->info);
    for (int y = 0; y < img->h; y++)
        png_write_row(o->png, img->px + (size_t)y * (size_t)img->stride);
    png_write_end(o->png, o->info);
    return FACEUP_OK;
}

/* 8-bit RGB, the metadata in eXIf, iCCP and an iTXt XML:com.adobe.xmp. */
static int encode(const fu_image *img, int lossless, fu_meta *m, fu_buf *out, char *err)
{
    (void)lossless;
    (void)err;
    /* libpng wants the XMP packet as a C string */
    if (m->xmp.n && fu_buf_put(&m->xmp, "", 1) == FACEUP_OK)
        m->xmp.n--;
    else if (m->xmp.n)
        return FACEUP_ERR_NOMEM;
    png_out o;
    int rc = out_open(&o, out);
    if (rc == FACEUP_OK)
        rc = encode_run(&o, img, m);
    out_close(&o);
    return rc;
}

const fu_format fu_format_png = {
    .id = FACEUP_FORMAT_PNG,
    .sniff = sniff,
    .probe = probe,
    .decode = decode,
    .decode_cost = decode_cost,
    .fix_cost = fix_cost,
    .encode_cost = 0, /* row by row */
    .fix = fu_fix_png,
    .patch_exif = fu_png_patch_exif,
    .read_meta = read_meta,
    .encode = encode,
};
