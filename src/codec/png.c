/*
 * fix_png.c - turn a PNG in its own pixels and put every other chunk back as it was.
 *
 * PNG is lossless, so turning is exact by construction: the pixels are read at their own depth
 * (palette indices, 1/2/4-bit samples unpacked to a byte each, 16-bit samples as their two
 * big-endian bytes, alpha as it is), moved by fu_d4_rows as opaque pixels of 1 to 8 bytes, and
 * written back with the same bit depth, colour type, palette and interlacing.
 *
 * libpng would rewrite every chunk it understands (and recompress the text and ICC chunks), so
 * libpng only encodes the new IHDR and IDAT, into a scratch PNG. The output is then assembled
 * from the source's own chunk sequence, in its own order: IHDR and the IDAT run are replaced by
 * the new ones, every other chunk is copied byte for byte, except
 *   - eXIf: Orientation reset and pixel dimensions swapped in place (exif_patch.c), CRC redone;
 *   - pHYs: pixels per unit on x and y exchanged when the axes are;
 *   - unknown ancillary chunks marked unsafe-to-copy (lower-case 4th letter means safe): dropped,
 *     as the PNG specification asks of an editor that changes the image data;
 *   - with metadata stripped: iCCP, eXIf, tEXt, zTXt, iTXt, tIME and unknown chunks dropped.
 * An animated PNG (acTL) is refused: its frames would need turning too.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "codec/exif.h"
#include "codec/codec.h"

#define PNG_CHUNK_MAX ((png_alloc_size_t)8 << 20) /* see image_decode.c */

static const uint8_t png_signature[8] = {137, 'P', 'N', 'G', 13, 10, 26, 10};

/* ---- chunks ---------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
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
    uint32_t len = be32(chunk);
    put_be32(chunk + 8 + len, crc32_png(chunk + 4, 4 + (size_t)len));
}

typedef struct chunk {
    size_t off;    /* of the length field */
    uint32_t len;  /* of the data */
    char type[5];
} chunk;

/* The chunk at *pos: 1, and *pos moves past it; 0 at the end of the data; -1 when it runs past
 * the end or its length is over 2^31 - 1. */
static int next_chunk(const uint8_t *d, size_t size, size_t *pos, chunk *c)
{
    if (*pos == size)
        return 0;
    if (size - *pos < 12)
        return -1;
    c->off = *pos;
    c->len = be32(d + *pos);
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
    int rc = 0, first = -1;
    size_t pos = sizeof png_signature;
    chunk c;
    if (found)
        *found = 0;
    if (size < pos || memcmp(data, png_signature, pos))
        return FU_EXIF_MALFORMED;
    int more;
    while ((more = next_chunk(data, size, &pos, &c)) > 0 && !is(&c, "IEND")) {
        if (!is(&c, "eXIf"))
            continue;
        int o = 0;
        if (fu_exif_patch(data + c.off + 8, c.len, reset, swap_dims, &o) < 0) {
            rc = FU_EXIF_MALFORMED;
            o = 0;
        } else {
            redo_crc(data + c.off);
        }
        if (first < 0)
            first = o;
    }
    if (found)
        *found = first < 0 ? 0 : first;
    return more < 0 ? FU_EXIF_MALFORMED : rc;
}

/* ---- pixels through libpng ------------------------------------------------------------- */

typedef struct pngjob {
    char *err;
    const uint8_t *in;
    size_t in_size, in_pos;
    png_structp rp, wp;
    png_infop ri, wi;
    uint8_t *px, *turned;
    png_bytep *rows;
    fu_buf scratch; /* the PNG libpng writes: we keep its IHDR and IDAT */
    int status;
    png_uint_32 w, h;
    int depth, color, interlace, bpp;
    size_t stride;
} pngjob;

static void on_error(png_structp p, png_const_charp msg)
{
    pngjob *j = png_get_error_ptr(p);
    snprintf(j->err, FU_ERRLEN, "%s", msg);
    png_longjmp(p, 1);
}

static void on_warning(png_structp p, png_const_charp msg)
{
    (void)p; /* a library does not print */
    (void)msg;
}

static void read_cb(png_structp p, png_bytep out, png_size_t n)
{
    pngjob *j = png_get_io_ptr(p);
    if (n > j->in_size - j->in_pos)
        png_error(p, "truncated PNG");
    memcpy(out, j->in + j->in_pos, n);
    j->in_pos += n;
}

static void write_cb(png_structp p, png_bytep data, png_size_t n)
{
    pngjob *j = png_get_io_ptr(p);
    if (fu_buf_put(&j->scratch, data, n) != FACEUP_OK) {
        j->status = FACEUP_ERR_NOMEM;
        png_error(p, "out of memory");
    }
}

static void flush_cb(png_structp p)
{
    (void)p;
}

/* Read the pixels at their own depth into j->px. */
static int read_pixels(pngjob *j, const fu_fix_plan *plan)
{
    j->status = FACEUP_ERR_DECODE;
    j->rp = png_create_read_struct(PNG_LIBPNG_VER_STRING, j, on_error, on_warning);
    if (!j->rp || !(j->ri = png_create_info_struct(j->rp)))
        return FACEUP_ERR_NOMEM;
    if (setjmp(png_jmpbuf(j->rp)))
        return j->status;
    png_set_read_fn(j->rp, j, read_cb);
    png_set_chunk_malloc_max(j->rp, PNG_CHUNK_MAX);
    png_read_info(j->rp, j->ri);
    png_get_IHDR(j->rp, j->ri, &j->w, &j->h, &j->depth, &j->color, &j->interlace, NULL, NULL);
    if ((long long)j->w * j->h > plan->max_pixels) {
        snprintf(j->err, FU_ERRLEN, "%ux%u is over the pixel limit", (unsigned)j->w,
                 (unsigned)j->h);
        return FACEUP_ERR_TOO_MANY_PIXELS;
    }
    if (j->depth < 8)
        png_set_packing(j->rp); /* one byte a sample, values unscaled */
    png_set_interlace_handling(j->rp);
    png_read_update_info(j->rp, j->ri);
    j->bpp = png_get_channels(j->rp, j->ri) * (j->depth == 16 ? 2 : 1);
    j->stride = png_get_rowbytes(j->rp, j->ri);
    if (j->stride != (size_t)j->w * (size_t)j->bpp || j->h > SIZE_MAX / 2 / j->stride) {
        snprintf(j->err, FU_ERRLEN, "unexpected PNG row size");
        return FACEUP_ERR_INTERNAL;
    }
    j->status = FACEUP_ERR_NOMEM;
    j->px = malloc(j->stride * j->h);
    j->turned = malloc(j->stride * j->h);
    j->rows = malloc(sizeof(png_bytep) * (j->h > j->w ? j->h : j->w));
    if (!j->px || !j->turned || !j->rows)
        return FACEUP_ERR_NOMEM;
    j->status = FACEUP_ERR_DECODE;
    for (png_uint_32 y = 0; y < j->h; y++)
        j->rows[y] = j->px + (size_t)y * j->stride;
    png_read_image(j->rp, j->rows);
    png_read_end(j->rp, NULL);
    return FACEUP_OK;
}

/* Encode the turned pixels, same depth, colour type, palette and interlacing, into j->scratch:
 * we keep its IHDR and IDAT. */
static int write_pixels(pngjob *j, png_uint_32 ow, png_uint_32 oh)
{
    j->status = FACEUP_ERR_ENCODE;
    j->wp = png_create_write_struct(PNG_LIBPNG_VER_STRING, j, on_error, on_warning);
    if (!j->wp || !(j->wi = png_create_info_struct(j->wp)))
        return FACEUP_ERR_NOMEM;
    if (setjmp(png_jmpbuf(j->wp)))
        return j->status;
    png_set_write_fn(j->wp, j, write_cb, flush_cb);
    png_set_IHDR(j->wp, j->wi, ow, oh, j->depth, j->color, j->interlace,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_colorp palette;
    int n_palette;
    if (j->color == PNG_COLOR_TYPE_PALETTE && png_get_PLTE(j->rp, j->ri, &palette, &n_palette))
        png_set_PLTE(j->wp, j->wi, palette, n_palette); /* libpng insists; the copy is ours */
    png_write_info(j->wp, j->wi);
    if (j->depth < 8)
        png_set_packing(j->wp);
    png_set_interlace_handling(j->wp);
    size_t ostride = (size_t)ow * (size_t)j->bpp;
    for (png_uint_32 y = 0; y < oh; y++)
        j->rows[y] = j->turned + (size_t)y * ostride;
    png_write_image(j->wp, j->rows);
    png_write_end(j->wp, NULL);
    return FACEUP_OK;
}

static int turn_pixels(pngjob *j, const fu_fix_plan *plan)
{
    int rc = read_pixels(j, plan);
    if (rc != FACEUP_OK)
        return rc;
    int swap = fu_d4_swaps_axes(plan->t);
    png_uint_32 ow = swap ? j->h : j->w, oh = swap ? j->w : j->h;
    fu_d4_rows(plan->t, j->px, (int)j->w, (int)j->h, j->stride, j->bpp, 0, (int)oh, j->turned,
               (size_t)ow * (size_t)j->bpp);
    return write_pixels(j, ow, oh);
}

/* ---- assembling the output ------------------------------------------------------------- */

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

/* The source's chunks around the new IHDR and IDAT run of `scratch`. */
static int assemble(const uint8_t *in, size_t size, const fu_buf *scratch,
                    const fu_fix_plan *plan, fu_buf *out, int *exif_rc, int *exif_found)
{
    size_t spos = sizeof png_signature, pos = sizeof png_signature, at;
    chunk c, s;
    int rc = fu_buf_put(out, png_signature, sizeof png_signature), more, idat_done = 0;
    int swap = fu_d4_swaps_axes(plan->t);
    while (rc == FACEUP_OK && (more = next_chunk(in, size, &pos, &c)) > 0) {
        if (is(&c, "IHDR") || (is(&c, "IDAT") && !idat_done)) {
            /* the scratch PNG has IHDR, maybe PLTE, the IDAT run, IEND */
            spos = sizeof png_signature;
            int want_idat = is(&c, "IDAT");
            while (rc == FACEUP_OK && next_chunk(scratch->p, scratch->n, &spos, &s) > 0)
                if (want_idat ? is(&s, "IDAT") : is(&s, "IHDR"))
                    rc = put_chunk(out, scratch->p, &s, &at);
            idat_done |= want_idat;
        } else if (is(&c, "IDAT")) {
            continue;
        } else if (is(&c, "IEND")) {
            rc = put_chunk(out, in, &c, &at);
            break;
        } else if (listed(&c, structural)) {
            rc = put_chunk(out, in, &c, &at);
            if (rc == FACEUP_OK && swap && is(&c, "pHYs") && c.len == 9) {
                uint8_t *d = out->p + at + 8, tmp[4];
                memcpy(tmp, d, 4);
                memcpy(d, d + 4, 4);
                memcpy(d + 4, tmp, 4);
                redo_crc(out->p + at);
            }
        } else if (listed(&c, metadata) || (c.type[0] & 0x20)) {
            /* known metadata, or an unknown ancillary chunk (lower-case first letter) */
            int unknown = !listed(&c, metadata);
            if (!plan->keep_metadata || (unknown && !(c.type[3] & 0x20)))
                continue;
            rc = put_chunk(out, in, &c, &at);
            if (rc == FACEUP_OK && is(&c, "eXIf")) {
                int o = 0;
                if (fu_exif_patch(out->p + at + 8, c.len, plan->reset_orientation, swap, &o) < 0)
                    *exif_rc = FU_EXIF_MALFORMED;
                else
                    redo_crc(out->p + at);
                if (*exif_found < 0)
                    *exif_found = o;
            }
        } else {
            return FACEUP_ERR_DECODE; /* an unknown critical chunk: libpng refused it already */
        }
    }
    return rc;
}

int fu_fix_png(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
               faceup_fix_path *path, char err[FU_ERRLEN])
{
    memset(out, 0, sizeof *out);
    size_t pos = sizeof png_signature;
    chunk c;
    int more;
    if (size < pos || memcmp(data, png_signature, pos)) {
        snprintf(err, FU_ERRLEN, "not a PNG");
        return FACEUP_ERR_FORMAT;
    }
    while ((more = next_chunk(data, size, &pos, &c)) > 0 && !is(&c, "IEND"))
        if (is(&c, "acTL")) {
            snprintf(err, FU_ERRLEN, "animated PNG: not turned");
            return FACEUP_ERR_FORMAT;
        }
    if (more < 0) {
        snprintf(err, FU_ERRLEN, "damaged PNG chunk");
        return FACEUP_ERR_DECODE;
    }

    int exif_rc = 0, found = -1, rc;
    if (fu_d4_is_identity(plan->t) && plan->keep_metadata) {
        rc = fu_buf_put(out, data, size);
        if (rc == FACEUP_OK)
            exif_rc = fu_png_patch_exif(out->p, out->n, plan->reset_orientation, 0, &found);
    } else {
        pngjob *j = calloc(1, sizeof *j);
        if (!j)
            return FACEUP_ERR_NOMEM;
        j->err = err;
        j->in = data;
        j->in_size = size;
        rc = turn_pixels(j, plan);
        if (rc == FACEUP_OK)
            rc = assemble(data, size, &j->scratch, plan, out, &exif_rc, &found);
        png_destroy_read_struct(j->rp ? &j->rp : NULL, j->ri ? &j->ri : NULL, NULL);
        png_destroy_write_struct(j->wp ? &j->wp : NULL, j->wi ? &j->wi : NULL);
        free(j->px);
        free(j->turned);
        free(j->rows);
        fu_buf_free(&j->scratch);
        free(j);
    }
    const char *why = rc == FACEUP_OK ? fu_fix_check_reset(plan, exif_rc, found < 0 ? 0 : found) : NULL;
    if (why) {
        snprintf(err, FU_ERRLEN, "%s", why);
        rc = FACEUP_ERR_DECODE;
    }
    if (rc != FACEUP_OK) {
        fu_buf_free(out);
        return rc;
    }
    *path = FACEUP_FIX_LOSSLESS;
    return FACEUP_OK;
}
