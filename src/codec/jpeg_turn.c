/*
 * jpeg_turn.c - turn a JPEG without decoding it, or with the least loss when that is impossible.
 *
 * The lossless path. A quarter turn or mirror of a JPEG can be done on the quantised DCT
 * coefficients: move each 8x8 block to its new place, transpose it when the axes swap, and negate
 * the odd horizontal (vertical) frequencies when x (y) is mirrored. The quantisation tables and
 * every coefficient are kept, so the decoded pixels are exactly the turned pixels of the source.
 *
 * Why not tjTransform()? It does the same (libjpeg's transupp), but it keeps two full copies of
 * the coefficients, source and destination: about 73 MB for a 12-megapixel 4:2:0 photo, where
 * our budget is 64 MB. Here the source coefficients are read once (jpeg_read_coefficients), and
 * the destination is never stored: the compressor reads its coefficients through the memory
 * manager's access_virt_barray method, which we point at a function that builds the requested
 * block rows from the source on demand. The compressor never sees the difference, and peak memory
 * is one set of coefficients (3 bytes a pixel for 4:2:0) plus a few block rows.
 *
 * The imperfect case. Blocks can only move as whole MCUs (8x8 up to 32x32 pixels, depending on
 * chroma subsampling). A partial MCU on the right or bottom edge has nowhere to go when a turn
 * would move it to the left or top edge; jpegtran then trims those pixels (-trim) or leaves the
 * edge unturned. We do neither: the image is decoded without colour conversion and encoded
 * again with the source's own quantisation tables and sampling factors (both transposed with the
 * axes), and the path is reported as FACEUP_FIX_REENCODED. Usually the decode stops at the raw,
 * still-subsampled planes, which are turned sample by sample: the only loss is one more rounding
 * through the DCT. That is exact only when each mirrored side is a whole number of chroma
 * samples; a mirrored odd side (4:2:0, 101 pixels) would shift the colour by a pixel, so then
 * the planes are upsampled to full size, turned, and subsampled again by the encoder.
 *
 * Markers. APPn and COM segments are copied in their original order, byte for byte (JFIF and
 * Adobe included: the encoder is told not to write its own), except the EXIF Orientation and
 * pixel dimensions, patched in place (exif.c), and an MPF index (APP2 "MPF"), dropped
 * because the images it points to, appended after EOI, are not carried over (they would not
 * be turned); faceup_fix reports both as dropped (jpeg_extras.c). Stripping metadata
 * keeps only JFIF and Adobe, which say how to read the colours.
 *
 * libjpeg's errors longjmp back to run() (jpeg.h). Everything that has to survive the jump lives
 * in the heap-allocated `job`, never in a local, and cleanup happens in one place. Warnings
 * (corrupt or truncated data) are errors here, as in the decoder the detector uses: a damaged
 * input is refused, not "fixed" into a damaged output.
 */
#include "codec/jpeg_turn.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "codec/exif.h"
#include "codec/format.h"
#include "codec/jpeg_errors.h"

typedef JBLOCKARRAY (*access_fn)(j_common_ptr, jvirt_barray_ptr, JDIMENSION, JDIMENSION,
                                 boolean);

/* One destination component, built on demand, a band of block rows at a time. */
#define BAND_ROWS 16 /* a multiple of every sampling factor (1..4) */

typedef struct strip {
    JBLOCKARRAY rows;   /* BAND_ROWS rows */
    JDIMENSION width;   /* of a row, in blocks */
    JDIMENSION first;   /* destination row of rows[0] */
    int built;
} strip;

typedef struct job {
    fu_jpeg_err e;    /* libjpeg's errors, and ours, come back to run() through it */

    const fu_fix_plan *plan;
    int tr, fx, fy;   /* plan->t as transpose, mirror x, mirror y */
    int exif_found;   /* Orientation in the first EXIF block; -1 before one is seen */

    struct jpeg_decompress_struct src;
    struct jpeg_compress_struct dst;
    int have_src, have_dst;
    struct jpeg_destination_mgr dest;
    fu_buf out;
    size_t out_hint; /* first allocation: the output is about as large as the input */

    /* lossless path */
    JBLOCKROW *src_rows[MAX_COMPONENTS];   /* every block row of each source component */
    jvirt_barray_ptr fake[MAX_COMPONENTS]; /* what the compressor believes are its arrays */
    strip strips[MAX_COMPONENTS];
    access_fn real_access;
    JCOEF sign[DCTSIZE2];                  /* of output coefficient k */

    /* re-encode path */
    JSAMPLE *plane[MAX_COMPONENTS];        /* source components, whole, still subsampled */
    size_t plane_w[MAX_COMPONENTS], plane_h[MAX_COMPONENTS];
    JSAMPARRAY rowptr[MAX_COMPONENTS];
    JSAMPLE *scratch;                      /* target of rows past the end of a plane */
    JSAMPLE *band[MAX_COMPONENTS];         /* one iMCU row of a destination component */
    JSAMPLE *full;                         /* or the whole image, components interleaved */
} job;

static void job_fail(job *j, int status, const char *msg)
{
    fu_jpeg_throw(&j->e, status, msg);
}

/* The compressed output goes to a fu_buf. (jpeg_mem_dest would do, but after it has grown its
 * buffer once, an error leaves the caller's pointer dangling.) */
static void dest_init(j_compress_ptr c)
{
    job *j = c->client_data;
    size_t cap = j->out_hint > 65536 ? j->out_hint : 65536;
    j->out.p = malloc(cap);
    if (!j->out.p)
        job_fail(j, FACEUP_ERR_NOMEM, "out of memory");
    j->out.cap = cap;
    j->out.n = 0;
    j->dest.next_output_byte = j->out.p;
    j->dest.free_in_buffer = cap;
}

static boolean dest_grow(j_compress_ptr c)
{
    job *j = c->client_data;
    size_t cap = j->out.cap;
    uint8_t *p = cap <= SIZE_MAX / 2 ? realloc(j->out.p, cap * 2) : NULL;
    if (!p)
        job_fail(j, FACEUP_ERR_NOMEM, "out of memory");
    j->out.p = p;
    j->out.cap = cap * 2;
    j->dest.next_output_byte = p + cap; /* libjpeg calls this only when the buffer is full */
    j->dest.free_in_buffer = cap;
    return TRUE;
}

static void dest_term(j_compress_ptr c)
{
    job *j = c->client_data;
    j->out.n = j->out.cap - j->dest.free_in_buffer;
}

/* ---- markers --------------------------------------------------------------------------- */

static int is_app(const jpeg_saved_marker_ptr m, int n, const char *id, unsigned idlen)
{
    return m->marker == JPEG_APP0 + n && m->data_length >= idlen && !memcmp(m->data, id, idlen);
}

static void copy_markers(job *j)
{
    int rc = 0;
    for (jpeg_saved_marker_ptr m = j->src.marker_list; m; m = m->next) {
        int structural = is_app(m, 0, "JFIF", 5) || is_app(m, 14, "Adobe", 5);
        if (!j->plan->keep_metadata && !structural)
            continue;
        if (is_app(m, 2, "MPF", 4))
            continue;
        if (is_app(m, 1, "Exif\0", 6) &&
            fu_exif_patch_next(m->data, m->data_length, j->plan->reset_orientation, j->tr,
                               &j->exif_found) < 0)
            rc = FU_EXIF_MALFORMED;
        jpeg_write_marker(&j->dst, m->marker, m->data, m->data_length);
    }
    /* (stripped metadata cannot turn anything twice) */
    const char *why = fu_fix_check_reset(j->plan, rc, j->exif_found < 0 ? 0 : j->exif_found);
    if (j->plan->keep_metadata && why)
        job_fail(j, FACEUP_ERR_DECODE, why);
}

/* ---- the lossless path ----------------------------------------------------------------- */

/* Partial edge MCUs can stay where they are, or move along their own edge, but cannot move to
 * the left or top. So every axis the transform mirrors must be a whole number of MCUs in the
 * source. (A single-component image has 8x8 MCUs whatever its sampling factors say.) */
static int is_perfect(const struct jpeg_decompress_struct *s, int tr, int fx, int fy)
{
    JDIMENSION mw = DCTSIZE, mh = DCTSIZE;
    if (s->num_components > 1) {
        mw *= (JDIMENSION)s->max_h_samp_factor;
        mh *= (JDIMENSION)s->max_v_samp_factor;
    }
    int x_whole = s->image_width % mw == 0, y_whole = s->image_height % mh == 0;
    if (fx && !(tr ? y_whole : x_whole))
        return 0;
    if (fy && !(tr ? x_whole : y_whole))
        return 0;
    return 1;
}

/* How an 8x8 block of coefficients turns: coefficient (v, u) (row v = vertical frequency)
 * comes from (u, v) when transposed, and a mirror of x negates the odd horizontal frequencies
 * because cos((2(7-x)+1)u*pi/16) = (-1)^u cos((2x+1)u*pi/16); likewise y and v. */
static void block_table(job *j)
{
    for (int v = 0; v < DCTSIZE; v++)
        for (int u = 0; u < DCTSIZE; u++) {
            int neg = ((j->fx && (u & 1)) ^ (j->fy && (v & 1)));
            j->sign[v * DCTSIZE + u] = (JCOEF)(neg ? -1 : 1);
        }
}

/* Two loops with fixed index patterns rather than one through a permutation table: the
 * compiler vectorises the straight one, and this is the hot loop of the lossless path. */
static void turn_block(const JCOEF *restrict s, JCOEF *restrict d, const JCOEF *restrict sign,
                       int transpose)
{
    if (transpose) {
        for (int v = 0; v < DCTSIZE; v++)
            for (int u = 0; u < DCTSIZE; u++)
                d[v * DCTSIZE + u] = (JCOEF)(s[u * DCTSIZE + v] * sign[v * DCTSIZE + u]);
    } else {
        for (int k = 0; k < DCTSIZE2; k++)
            d[k] = (JCOEF)(s[k] * sign[k]);
    }
}

/* Destination block rows [first, first + BAND_ROWS) of component ci, from the source blocks.
 * When the axes swap, a destination row is a source column, and filling rows one at a time would
 * take one block from every source row, each on a different page. A band is filled source row by
 * source row instead: BAND_ROWS neighbouring blocks of a source row land in the band's rows. */
static void build_band(job *j, int ci, strip *st)
{
    const jpeg_component_info *dc = &j->dst.comp_info[ci];
    JDIMENSION obw = dc->width_in_blocks, obh = dc->height_in_blocks;
    for (int r = 0; r < BAND_ROWS; r++)
        memset(st->rows[r], 0, (size_t)st->width * sizeof(JBLOCK));
    JDIMENSION end = st->first + BAND_ROWS < obh ? st->first + BAND_ROWS : obh;
    for (JDIMENSION obx = 0; obx < obw; obx++) {
        JDIMENSION x1 = j->fx ? obw - 1 - obx : obx;
        for (JDIMENSION oby = st->first; oby < end; oby++) {
            JDIMENSION y1 = j->fy ? obh - 1 - oby : oby;
            const JCOEF *s = j->tr ? j->src_rows[ci][x1][y1] : j->src_rows[ci][y1][x1];
            turn_block(s, st->rows[oby - st->first][obx], j->sign, j->tr);
        }
    }
    st->built = 1;
}

/* The compressor's view of its coefficient arrays (see the top of the file). */
static JBLOCKARRAY strip_access(j_common_ptr c, jvirt_barray_ptr ptr, JDIMENSION start,
                                JDIMENSION n, boolean writable)
{
    job *j = c->client_data;
    int ci = 0;
    while (ci < j->dst.num_components && j->fake[ci] != ptr)
        ci++;
    if (ci == j->dst.num_components)
        return j->real_access(c, ptr, start, n, writable);

    const jpeg_component_info *dc = &j->dst.comp_info[ci];
    const jpeg_component_info *sc = &j->src.comp_info[ci];
    if (dc->width_in_blocks != (j->tr ? sc->height_in_blocks : sc->width_in_blocks) ||
        dc->height_in_blocks != (j->tr ? sc->width_in_blocks : sc->height_in_blocks))
        job_fail(j, FACEUP_ERR_INTERNAL, "turned JPEG component has the wrong size");
    strip *s = &j->strips[ci];
    if (!s->rows) {
        s->width = dc->width_in_blocks + (JDIMENSION)dc->h_samp_factor;
        s->rows = (*c->mem->alloc_barray)(c, JPOOL_IMAGE, s->width, BAND_ROWS);
    }
    /* requests are v_samp_factor rows at a multiple of it, so they never straddle two bands */
    JDIMENSION first = start - start % BAND_ROWS;
    if (n > BAND_ROWS || start + n > first + BAND_ROWS)
        job_fail(j, FACEUP_ERR_INTERNAL, "unexpected coefficient request");
    if (!s->built || s->first != first) {
        s->first = first;
        build_band(j, ci, s);
    }
    return s->rows + (start - first);
}

static void start_dst(job *j)
{
    j->dst.err = &j->e.mgr;
    jpeg_create_compress(&j->dst);
    j->have_dst = 1;
    j->dst.client_data = j;
    j->dest.init_destination = dest_init;
    j->dest.empty_output_buffer = dest_grow;
    j->dest.term_destination = dest_term;
    j->dst.dest = &j->dest;
    jpeg_copy_critical_parameters(&j->src, &j->dst);
    if (j->tr) {
        JDIMENSION w = j->dst.image_width;
        j->dst.image_width = j->dst.image_height;
        j->dst.image_height = w;
        for (int ci = 0; ci < j->dst.num_components; ci++) {
            jpeg_component_info *c = &j->dst.comp_info[ci];
            int h = c->h_samp_factor;
            c->h_samp_factor = c->v_samp_factor;
            c->v_samp_factor = h;
        }
        /* A transposed coefficient must keep its divisor: transpose the tables too. */
        for (int t = 0; t < NUM_QUANT_TBLS; t++) {
            JQUANT_TBL *q = j->dst.quant_tbl_ptrs[t];
            for (int v = 0; q && v < DCTSIZE; v++)
                for (int u = v + 1; u < DCTSIZE; u++) {
                    UINT16 x = q->quantval[v * DCTSIZE + u];
                    q->quantval[v * DCTSIZE + u] = q->quantval[u * DCTSIZE + v];
                    q->quantval[u * DCTSIZE + v] = x;
                }
        }
    }
    /* the source's own APP0/APP14 are copied verbatim instead */
    j->dst.write_JFIF_header = FALSE;
    j->dst.write_Adobe_marker = FALSE;
    /* Standard Huffman tables, as jpegtran: optimised ones save ~2% but cost a second pass over
     * every coefficient (+60% time on a 12 MP photo). Progressive output optimises anyway. */
    j->dst.optimize_coding = FALSE;
    if (j->src.progressive_mode)
        jpeg_simple_progression(&j->dst);
}

static void transcode(job *j)
{
    jvirt_barray_ptr *coefs = jpeg_read_coefficients(&j->src);
    for (int ci = 0; ci < j->src.num_components; ci++) {
        const jpeg_component_info *sc = &j->src.comp_info[ci];
        JDIMENSION rows = sc->height_in_blocks, v = (JDIMENSION)sc->v_samp_factor;
        j->src_rows[ci] = malloc((size_t)rows * sizeof(JBLOCKROW));
        if (!j->src_rows[ci])
            job_fail(j, FACEUP_ERR_NOMEM, "out of memory");
        /* The arrays are whole in memory (no backing store), so the row pointers stay valid. */
        for (JDIMENSION r = 0; r < rows; r += v) {
            JBLOCKARRAY a = (*j->src.mem->access_virt_barray)((j_common_ptr)&j->src, coefs[ci],
                                                              r, v, FALSE);
            for (JDIMENSION k = 0; k < v && r + k < rows; k++)
                j->src_rows[ci][r + k] = a[k];
        }
    }
    start_dst(j);
    block_table(j);
    for (int ci = 0; ci < j->dst.num_components; ci++)
        j->fake[ci] = (jvirt_barray_ptr)(void *)&j->strips[ci];
    j->real_access = j->dst.mem->access_virt_barray;
    j->dst.mem->access_virt_barray = strip_access;
    jpeg_write_coefficients(&j->dst, j->fake);
    copy_markers(j);
    jpeg_finish_compress(&j->dst);
}

/* ---- the re-encode path ---------------------------------------------------------------- */

static void *job_alloc(job *j, size_t a, size_t b)
{
    if (b && a > SIZE_MAX / b)
        job_fail(j, FACEUP_ERR_NOMEM, "image too large");
    size_t n = a * b;
    void *p = malloc(n ? n : 1);
    if (!p)
        job_fail(j, FACEUP_ERR_NOMEM, "out of memory");
    return p;
}

static void read_planes(job *j)
{
    struct jpeg_decompress_struct *s = &j->src;
    s->raw_data_out = TRUE;
    s->dct_method = JDCT_ISLOW;
    jpeg_start_decompress(s);
    size_t widest = 0;
    for (int ci = 0; ci < s->num_components; ci++) {
        const jpeg_component_info *c = &s->comp_info[ci];
        j->plane_w[ci] = (size_t)c->width_in_blocks * DCTSIZE;
        j->plane_h[ci] = (size_t)c->height_in_blocks * DCTSIZE;
        j->plane[ci] = job_alloc(j, j->plane_w[ci], j->plane_h[ci]);
        j->rowptr[ci] = job_alloc(j, (size_t)c->v_samp_factor * DCTSIZE, sizeof(JSAMPROW));
        if (j->plane_w[ci] > widest)
            widest = j->plane_w[ci];
    }
    j->scratch = job_alloc(j, widest, 1);
    size_t band = (size_t)s->max_v_samp_factor * DCTSIZE;
    while (s->output_scanline < s->output_height) {
        size_t imcu = s->output_scanline / band;
        for (int ci = 0; ci < s->num_components; ci++) {
            size_t rows = (size_t)s->comp_info[ci].v_samp_factor * DCTSIZE;
            for (size_t r = 0; r < rows; r++) {
                size_t y = imcu * rows + r;
                j->rowptr[ci][r] = y < j->plane_h[ci] ? j->plane[ci] + y * j->plane_w[ci]
                                                      : j->scratch;
            }
        }
        if (jpeg_read_raw_data(s, j->rowptr, (JDIMENSION)band) == 0)
            job_fail(j, FACEUP_ERR_DECODE, "truncated JPEG");
    }
}

/* Destination rows [y0, y0 + n) of component ci into `out`, rows `padded` samples apart: the
 * turned source samples, then the right edge repeated up to the block boundary (what an encoder
 * does to partial blocks); rows below the image repeat its last row. */
static void turned_rows(job *j, int ci, size_t y0, size_t n, JSAMPLE *out, size_t padded)
{
    const jpeg_component_info *sc = &j->src.comp_info[ci], *dc = &j->dst.comp_info[ci];
    size_t w = dc->downsampled_width, h = dc->downsampled_height;
    size_t real = y0 >= h ? 0 : h - y0 < n ? h - y0 : n;
    if (real)
        fu_d4_rows(j->plan->t, j->plane[ci], (int)sc->downsampled_width,
                   (int)sc->downsampled_height, j->plane_w[ci], 1, (int)y0, (int)real, out,
                   padded);
    else /* a band wholly below the image: start from its last row */
        fu_d4_rows(j->plan->t, j->plane[ci], (int)sc->downsampled_width,
                   (int)sc->downsampled_height, j->plane_w[ci], 1, (int)h - 1, 1, out, padded);
    for (size_t r = 0; r < n; r++) {
        JSAMPLE *row = out + r * padded;
        if (r >= real && r > 0)
            memcpy(row, row - padded, w);
        memset(row + w, row[w - 1], padded - w);
    }
}

/* A zero divisor decodes (everything at that frequency is 0) but cannot be encoded with: the
 * forward DCT divides by it. Such a file breaks the standard; it is refused, not re-encoded. */
static void check_tables(job *j)
{
    for (int ci = 0; ci < j->dst.num_components; ci++) {
        const JQUANT_TBL *q = j->dst.quant_tbl_ptrs[j->dst.comp_info[ci].quant_tbl_no];
        for (int k = 0; q && k < DCTSIZE2; k++)
            if (q->quantval[k] == 0)
                job_fail(j, FACEUP_ERR_DECODE, "a quantisation table has a zero entry");
    }
}

/* Can the subsampled planes be turned as they are? (See the top of the file.) */
static int planes_align(const struct jpeg_decompress_struct *s, int tr, int fx, int fy)
{
    for (int ci = 0; ci < s->num_components; ci++) {
        const jpeg_component_info *c = &s->comp_info[ci];
        JDIMENSION rx = (JDIMENSION)(s->max_h_samp_factor / c->h_samp_factor);
        JDIMENSION ry = (JDIMENSION)(s->max_v_samp_factor / c->v_samp_factor);
        int x_whole = s->image_width % rx == 0, y_whole = s->image_height % ry == 0;
        if ((fx && !(tr ? y_whole : x_whole)) || (fy && !(tr ? x_whole : y_whole)))
            return 0;
    }
    return 1;
}

/* Full size, still in the JPEG's colour space (YCbCr, grey, CMYK, YCCK): turned whole, and
 * subsampled again by the encoder. */
static void reencode_full(job *j)
{
    struct jpeg_decompress_struct *s = &j->src;
    s->out_color_space = s->jpeg_color_space;
    s->dct_method = JDCT_ISLOW;
    jpeg_start_decompress(s);
    size_t nc = (size_t)s->output_components, w = s->output_width, h = s->output_height;
    size_t stride = w * nc;
    j->full = job_alloc(j, stride, h);
    while (s->output_scanline < h) {
        JSAMPROW row = j->full + (size_t)s->output_scanline * stride;
        jpeg_read_scanlines(s, &row, 1);
    }
    start_dst(j);
    check_tables(j);
    struct jpeg_compress_struct *d = &j->dst;
    d->dct_method = JDCT_ISLOW;
    jpeg_start_compress(d, TRUE);
    copy_markers(j);
    size_t out_stride = (size_t)d->image_width * nc, band = 32;
    j->band[0] = job_alloc(j, out_stride, band);
    j->rowptr[0] = job_alloc(j, band, sizeof(JSAMPROW));
    for (size_t r = 0; r < band; r++)
        j->rowptr[0][r] = j->band[0] + r * out_stride;
    while (d->next_scanline < d->image_height) {
        JDIMENSION n = d->image_height - d->next_scanline;
        n = n < band ? n : (JDIMENSION)band;
        fu_d4_rows(j->plan->t, j->full, (int)w, (int)h, stride, (int)nc,
                   (int)d->next_scanline, (int)n, j->band[0], out_stride);
        for (JDIMENSION done = 0; done < n;)
            done += jpeg_write_scanlines(d, j->rowptr[0] + done, n - done);
    }
    jpeg_finish_compress(d);
}

/* iMCU rows turned at a time: enough rows that a turn reads whole cache lines of the source. */
#define IMCU_BATCH 4

static void reencode(job *j)
{
    if (!planes_align(&j->src, j->tr, j->fx, j->fy)) {
        reencode_full(j);
        return;
    }
    read_planes(j);
    start_dst(j);
    check_tables(j);
    struct jpeg_compress_struct *d = &j->dst;
    d->raw_data_in = TRUE;
    d->dct_method = JDCT_ISLOW;
    jpeg_start_compress(d, TRUE);
    copy_markers(j);
    for (int ci = 0; ci < d->num_components; ci++) {
        const jpeg_component_info *sc = &j->src.comp_info[ci], *dc = &d->comp_info[ci];
        if (dc->downsampled_width != (j->tr ? sc->downsampled_height : sc->downsampled_width) ||
            dc->downsampled_height != (j->tr ? sc->downsampled_width : sc->downsampled_height))
            job_fail(j, FACEUP_ERR_INTERNAL, "turned JPEG component has the wrong size");
        size_t rows = (size_t)dc->v_samp_factor * DCTSIZE;
        j->band[ci] = job_alloc(j, rows * IMCU_BATCH, (size_t)dc->width_in_blocks * DCTSIZE);
        free(j->rowptr[ci]);
        j->rowptr[ci] = NULL;
        j->rowptr[ci] = job_alloc(j, rows, sizeof(JSAMPROW));
    }
    size_t band = (size_t)d->max_v_samp_factor * DCTSIZE;
    for (JDIMENSION imcu = 0; imcu < d->total_iMCU_rows; imcu++) {
        for (int ci = 0; ci < d->num_components; ci++) {
            const jpeg_component_info *dc = &d->comp_info[ci];
            size_t rows = (size_t)dc->v_samp_factor * DCTSIZE;
            size_t padded = (size_t)dc->width_in_blocks * DCTSIZE;
            size_t k = imcu % IMCU_BATCH;
            if (k == 0)
                turned_rows(j, ci, imcu * rows, rows * IMCU_BATCH, j->band[ci], padded);
            for (size_t r = 0; r < rows; r++)
                j->rowptr[ci][r] = j->band[ci] + (k * rows + r) * padded;
        }
        jpeg_write_raw_data(d, j->rowptr, (JDIMENSION)band);
    }
    jpeg_finish_compress(d);
}

/* ---- the fixer ------------------------------------------------------------------------- */

static int run(job *j, const uint8_t *data, size_t size, faceup_fix_path *path)
{
    if (setjmp(j->e.jmp))
        return j->e.status;
    fu_jpeg_catch((j_common_ptr)&j->src, &j->e);
    jpeg_create_decompress(&j->src);
    j->have_src = 1;
    j->src.client_data = j;
    j->src.progress = &j->e.progress;
    if (size > ULONG_MAX)
        job_fail(j, FACEUP_ERR_TOO_MANY_BYTES, "input too large");
    jpeg_mem_src(&j->src, data, (unsigned long)size);
    for (int m = 0; m < 16; m++)
        jpeg_save_markers(&j->src, JPEG_APP0 + m, 0xFFFF);
    jpeg_save_markers(&j->src, JPEG_COM, 0xFFFF);
    if (jpeg_read_header(&j->src, TRUE) != JPEG_HEADER_OK)
        job_fail(j, FACEUP_ERR_DECODE, "no image in this JPEG");
    if ((long long)j->src.image_width * j->src.image_height > j->plan->max_pixels)
        job_fail(j, FACEUP_ERR_TOO_MANY_PIXELS, "image over the pixel limit");
    if (is_perfect(&j->src, j->tr, j->fx, j->fy)) {
        transcode(j);
        *path = FACEUP_FIX_LOSSLESS;
    } else {
        reencode(j);
        *path = FACEUP_FIX_REENCODED;
    }
    return FACEUP_OK;
}

static void job_free(job *j)
{
    if (j->have_dst)
        jpeg_destroy_compress(&j->dst);
    if (j->have_src)
        jpeg_destroy_decompress(&j->src);
    for (int ci = 0; ci < MAX_COMPONENTS; ci++) {
        free(j->src_rows[ci]);
        free(j->plane[ci]);
        free(j->rowptr[ci]);
        free(j->band[ci]);
    }
    free(j->scratch);
    free(j->full);
    fu_buf_free(&j->out);
    free(j);
}

int fu_jpeg_turn(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                 faceup_fix_path *path, char err[FU_ERRLEN])
{
    memset(out, 0, sizeof *out);
    job *j = calloc(1, sizeof *j);
    if (!j)
        return FACEUP_ERR_NOMEM;
    j->plan = plan;
    j->exif_found = -1;
    j->out_hint = size;
    fu_d4_parts(plan->t, &j->tr, &j->fx, &j->fy);
    int rc = run(j, data, size, path);
    if (rc == FACEUP_OK) {
        *out = j->out;
        memset(&j->out, 0, sizeof j->out);
    } else {
        fu_err(err, rc, "%s", j->e.msg);
    }
    job_free(j);
    return rc;
}
