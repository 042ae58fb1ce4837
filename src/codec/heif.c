/*
 * heif.c - HEIF: HEIC (HEVC coded) and AVIF (AV1 coded), read and written with libheif: the ftyp
 * sniff, the header probe, the decode to RGB, the turn by re-encoding, the metadata.
 *
 * What a HEIF shows is its primary item with the container's own transformations applied
 * (irot, imir, clap), which libheif does by default. So for a HEIF the "stored" picture of
 * codec.h is that displayed one: the probe gives its size after the transformations and
 * exif_orientation 0. The HEIF standard says the transformation properties alone say how the
 * picture is shown; an EXIF Orientation tag inside the file must not turn it again, so it is
 * ignored. Whenever the file's EXIF block goes along into an output (a fix, a change of format)
 * its Orientation says 1, or a JPEG made from an iPhone's HEIC would be turned twice by viewers.
 *
 * There is no lossless turn of a HEIF here. Rewriting the irot property would be one, but it
 * means rebuilding the meta box (ipco, ipma and every iloc offset after it), which libheif cannot
 * do for an existing file. So faceup fix decodes, turns and encodes anew (HEVC with x265, AV1
 * with libaom, at ENCODE_QUALITY, alpha kept, 8 bits a sample as decoded, no irot/imir in the
 * output): always FACEUP_FIX_REENCODED, refused under FACEUP_PARAM_LOSSLESS_ONLY. The EXIF
 * (Orientation 1), XMP and ICC of the source are written into the new file.
 *
 * The pixel limit: reading a file into a libheif context parses its boxes and decodes no pixel,
 * so the size is checked (by dispatch.c, after the probe) before any decode, and libheif's own
 * limit on a side is set from it too, for the grid tiles and auxiliary images it checks.
 */
#include "codec/format.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libheif/heif.h>

#define ENCODE_QUALITY 90 /* HEVC and AV1, libheif's 0..100 scale */

/* ---- the ftyp box ----------------------------------------------------------------------- */

/* The format a HEIF's brands name: its major brand when that names a codec, else the first
 * compatible brand that does; 0 for none (not a HEIF, or a HEIF of JPEG or other images). */
static faceup_format brand_format(const uint8_t *d, size_t n)
{
    static const char *const heic[] = {"heic", "heix", "heim", "heis", "hevc", "hevx"};
    if (n < 16 || memcmp(d + 4, "ftyp", 4) != 0)
        return 0;
    size_t end = fu_be32(d);
    if (end < 16 || end > n)
        end = n;
    for (size_t pos = 8; pos + 4 <= end; pos += pos == 8 ? 8 : 4) { /* skip minor_version */
        const uint8_t *b = d + pos;
        if (!memcmp(b, "avif", 4) || !memcmp(b, "avis", 4))
            return FACEUP_FORMAT_AVIF;
        for (size_t i = 0; i < sizeof heic / sizeof heic[0]; i++)
            if (!memcmp(b, heic[i], 4))
                return FACEUP_FORMAT_HEIC;
    }
    return 0;
}

static int sniff_heic(const uint8_t *d, size_t n)
{
    return brand_format(d, n) == FACEUP_FORMAT_HEIC;
}

static int sniff_avif(const uint8_t *d, size_t n)
{
    return brand_format(d, n) == FACEUP_FORMAT_AVIF;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* The longest side libheif may decode for a part of a small picture (see file_open). */
#define PART_SIDE 8192

/* Our status for a libheif error: out of memory, over a limit (libheif reports its security
 * limits as allocation errors), or `other`. */
static int heif_rc(struct heif_error e, int other)
{
    if (e.code == heif_error_Memory_allocation_error)
        return e.subcode == heif_suberror_Security_limit_exceeded ? FACEUP_ERR_TOO_MANY_PIXELS
                                                                   : FACEUP_ERR_NOMEM;
    return other;
}

typedef struct heif_file {
    struct heif_context *ctx;
    struct heif_image_handle *item; /* the primary image */
} heif_file;

static void file_close(heif_file *f)
{
    heif_image_handle_release(f->item);
    heif_context_free(f->ctx);
    f->item = NULL;
    f->ctx = NULL;
}

/* The boxes of the file parsed (no pixel decoded) and its primary image found; libheif refuses
 * a side over max_pixels (a picture with more pixels is refused by dispatch.c). */
static int file_open(const uint8_t *d, size_t n, long long max_pixels, heif_file *f, char *err)
{
    f->item = NULL;
    if (!(f->ctx = heif_context_alloc()))
        return fu_err(err, FACEUP_ERR_NOMEM, "out of memory for a HEIF context");
    heif_context_set_maximum_image_size_limit(f->ctx, max_pixels < INT_MAX ? (int)max_pixels
                                                                           : INT_MAX);
    struct heif_error e = heif_context_read_from_memory_without_copy(f->ctx, d, n, NULL);
    if (e.code == heif_error_Ok)
        e = heif_context_get_primary_image_handle(f->ctx, &f->item);
    if (e.code == heif_error_Ok) {
        /* The images decoded to make the primary one (a grid's tiles, an overlay's canvas and
         * layers) are checked by libheif against this limit on a side when they are decoded,
         * not when the boxes are read, and their sizes are not the primary's: a 1.4 KB grid
         * of an overlay with a huge canvas made libheif allocate gigabytes (found by
         * fuzz_heif). So it becomes the primary's own longer side, or PART_SIDE when that is
         * smaller (a tile may be larger than a small picture it is cropped to). */
        int side = heif_image_handle_get_width(f->item);
        if (heif_image_handle_get_height(f->item) > side)
            side = heif_image_handle_get_height(f->item);
        if (side < PART_SIDE)
            side = PART_SIDE;
        if (side < max_pixels)
            heif_context_set_maximum_image_size_limit(f->ctx, side);
        return FACEUP_OK;
    }
    /* e.message lives in the context: said before it is freed */
    int rc = fu_err(err, heif_rc(e, FACEUP_ERR_DECODE),
                    "damaged HEIF: %s", e.message);
    file_close(f);
    return rc;
}

static int probe(fu_codec *c, const uint8_t *d, size_t n, fu_probe *p, char *err)
{
    (void)c;
    heif_file f;
    int rc = file_open(d, n, INT_MAX, &f, err);
    if (rc != FACEUP_OK)
        return rc;
    p->width = heif_image_handle_get_width(f.item);
    p->height = heif_image_handle_get_height(f.item);
    p->lossy = 1;
    p->exif_orientation = 0; /* never applied in a HEIF: see the top of the file */
    p->channels = heif_image_handle_has_alpha_channel(f.item) ? 4 : 3;
    int bits = heif_image_handle_get_luma_bits_per_pixel(f.item);
    p->depth = bits > 8 ? 16 : 8; /* as libheif holds the samples */
    file_close(&f);
    if (p->width <= 0 || p->height <= 0)
        return fu_err(err, FACEUP_ERR_DECODE, "damaged HEIF: no image size");
    return FACEUP_OK;
}

/* The primary image decoded as 8-bit interleaved RGB, or RGBA when `alpha`, with its
 * transformations applied; checked to have the size the header said. */
static int decode_item(const heif_file *f, int alpha, struct heif_image **img, char *err)
{
    *img = NULL;
    struct heif_error e = heif_decode_image(f->item, img, heif_colorspace_RGB,
                                            alpha ? heif_chroma_interleaved_RGBA
                                                  : heif_chroma_interleaved_RGB, NULL);
    if (e.code != heif_error_Ok)
        return fu_err(err, heif_rc(e, FACEUP_ERR_DECODE),
                      "damaged HEIF data: %s", e.message);
    int w = heif_image_get_width(*img, heif_channel_interleaved),
        h = heif_image_get_height(*img, heif_channel_interleaved);
    if (w != heif_image_handle_get_width(f->item) || h != heif_image_handle_get_height(f->item) ||
        heif_image_get_bits_per_pixel_range(*img, heif_channel_interleaved) != 8) {
        heif_image_release(*img);
        *img = NULL;
        return fu_err(err, FACEUP_ERR_DECODE, "damaged HEIF: decoded size is not the header's");
    }
    return FACEUP_OK;
}

/* ---- the half-size decode ---------------------------------------------------------------- */

/* The Y'CbCr -> R'G'B' matrix of a decoded image in 16.16 fixed point (cr_r, cb_g, cr_g, cb_b),
 * and the range: 1 for the matrices whose constants are known here (BT.601, BT.709, BT.2020
 * NCL, or BT.601 full range without a profile, libheif's default); 0 for any other
 * (unspecified, identity...): those take libheif's own conversion. The profile is the decoded
 * image's, the one libheif's conversion uses: for AV1 it comes from the bitstream and can
 * differ from the file's colr box. */
typedef struct ycc_matrix {
    int32_t cr_r, cb_g, cr_g, cb_b;
    int full_range;
} ycc_matrix;

static int matrix_of(const struct heif_image *img, ycc_matrix *mx)
{
    struct heif_color_profile_nclx *nclx = NULL, bt601 = {
        .matrix_coefficients = heif_matrix_coefficients_ITU_R_BT_601_6, .full_range_flag = 1};
    struct heif_error e = heif_image_get_nclx_color_profile(img, &nclx);
    if (e.code != heif_error_Ok && nclx) { /* a profile libheif could not make sense of */
        heif_nclx_color_profile_free(nclx);
        return 0;
    }
    if (e.code != heif_error_Ok || !nclx)
        nclx = &bt601;
    double kr = 0, kb = 0;
    switch (nclx->matrix_coefficients) {
    case heif_matrix_coefficients_ITU_R_BT_709_5: kr = 0.2126, kb = 0.0722; break;
    case heif_matrix_coefficients_ITU_R_BT_470_6_System_B_G:
    case heif_matrix_coefficients_ITU_R_BT_601_6: kr = 0.299, kb = 0.114; break;
    case heif_matrix_coefficients_ITU_R_BT_2020_2_non_constant_luminance:
        kr = 0.2627, kb = 0.0593;
        break;
    default: break;
    }
    mx->full_range = nclx->full_range_flag != 0;
    if (nclx != &bt601)
        heif_nclx_color_profile_free(nclx);
    if (kr == 0)
        return 0;
    double kg = 1 - kr - kb, chroma = mx->full_range ? 1.0 : 255.0 / 224.0;
    mx->cr_r = (int32_t)(2 * (1 - kr) * chroma * 65536 + 0.5);
    mx->cb_b = (int32_t)(2 * (1 - kb) * chroma * 65536 + 0.5);
    mx->cb_g = (int32_t)(2 * kb * (1 - kb) / kg * chroma * 65536 + 0.5);
    mx->cr_g = (int32_t)(2 * kr * (1 - kr) / kg * chroma * 65536 + 0.5);
    return 1;
}

#define LIMITED_Y 19077 /* 255/219/4 in 16.16: a sum of 4 lumas of 16..235 to 0..255 */

static uint8_t clamp8(int32_t v)
{
    return (uint8_t)(v <= 0 ? 0 : v >= 255 << 16 ? 255 : (v + 32768) >> 16);
}

/* One output row: each pixel from a 2x2 block of luma (its mean) and the 4:2:0 chroma sample
 * that covers exactly that block. */
static void half_row(const uint8_t *y0, const uint8_t *y1, const uint8_t *cb, const uint8_t *cr,
                     int w, const ycc_matrix *mx, uint8_t *out)
{
    for (int x = 0; x < w; x++) {
        int32_t sum = y0[2 * x] + y0[2 * x + 1] + y1[2 * x] + y1[2 * x + 1];
        int32_t y = mx->full_range ? sum << 14 : (sum - 64) * LIMITED_Y; /* mean, stretched */
        int32_t u = cb[x] - 128, v = cr[x] - 128;
        out[3 * x] = clamp8(y + mx->cr_r * v);
        out[3 * x + 1] = clamp8(y - mx->cb_g * u - mx->cr_g * v);
        out[3 * x + 2] = clamp8(y + mx->cb_b * u);
    }
}

/* The image at half its size, straight from its decoded 4:2:0 planes: libheif's conversion to
 * RGB at full size (and its 36 MB for a 12 MP photo) is skipped. Taken when both halves are
 * still >= min_side, the samples have 8 bits, there is no alpha and the matrix is known;
 * returns 1 when it is not taken (nothing decoded). */
static int decode_half(const heif_file *f, int min_side, fu_image *out, char *err)
{
    ycc_matrix mx;
    int w = heif_image_handle_get_width(f->item) / 2, h = heif_image_handle_get_height(f->item) / 2;
    if (min_side <= 0 || w < min_side || h < min_side ||
        heif_image_handle_has_alpha_channel(f->item) ||
        heif_image_handle_get_luma_bits_per_pixel(f->item) != 8 ||
        heif_image_handle_get_chroma_bits_per_pixel(f->item) != 8)
        return 1;
    struct heif_image *img = NULL;
    struct heif_error e = heif_decode_image(f->item, &img, heif_colorspace_YCbCr, heif_chroma_420,
                                            NULL);
    if (e.code != heif_error_Ok)
        return fu_err(err, heif_rc(e, FACEUP_ERR_DECODE),
                      "damaged HEIF data: %s", e.message);
    if (!matrix_of(img, &mx)) { /* rare: decoded again, converted by libheif */
        heif_image_release(img);
        return 1;
    }
    int ys, cbs, crs, rc = FACEUP_OK;
    const uint8_t *py = heif_image_get_plane_readonly(img, heif_channel_Y, &ys),
                  *pcb = heif_image_get_plane_readonly(img, heif_channel_Cb, &cbs),
                  *pcr = heif_image_get_plane_readonly(img, heif_channel_Cr, &crs);
    if (!py || !pcb || !pcr || heif_image_get_width(img, heif_channel_Y) / 2 != w ||
        heif_image_get_height(img, heif_channel_Y) / 2 != h ||
        heif_image_get_bits_per_pixel_range(img, heif_channel_Y) != 8)
        rc = fu_err(err, FACEUP_ERR_DECODE, "damaged HEIF: decoded planes are not the header's");
    else if (fu_image_reserve(out, w, h, 3) != FACEUP_OK)
        rc = fu_err(err, FACEUP_ERR_NOMEM, "out of memory for a %dx%d image", w, h);
    for (int y = 0; rc == FACEUP_OK && y < h; y++)
        half_row(py + (size_t)(2 * y) * (size_t)ys, py + (size_t)(2 * y + 1) * (size_t)ys,
                 pcb + (size_t)y * (size_t)cbs, pcr + (size_t)y * (size_t)crs, w, &mx,
                 out->px + (size_t)y * (size_t)out->stride);
    heif_image_release(img);
    return rc;
}

/* 8-bit RGB; at half size when min_side allows (decode_half), else libheif's conversion. */
static int decode(fu_codec *c, const uint8_t *d, size_t n, long long max_pixels, int min_side,
                  fu_image *out, char *err)
{
    (void)c;
    heif_file f;
    struct heif_image *img = NULL;
    int rc = file_open(d, n, max_pixels, &f, err);
    if (rc == FACEUP_OK && (rc = decode_half(&f, min_side, out, err)) != 1) {
        file_close(&f);
        return rc;
    }
    rc = rc == 1 ? FACEUP_OK : rc; /* not taken: the full-size decode */
    int alpha = rc == FACEUP_OK && heif_image_handle_has_alpha_channel(f.item);
    if (rc == FACEUP_OK)
        rc = decode_item(&f, alpha, &img, err);
    if (rc == FACEUP_OK) {
        int w = heif_image_get_width(img, heif_channel_interleaved),
            h = heif_image_get_height(img, heif_channel_interleaved), stride;
        const uint8_t *px = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
        size_t row = (size_t)w * (alpha ? 4 : 3);
        if (fu_image_reserve(out, w, h, alpha ? 4 : 3) != FACEUP_OK)
            rc = fu_err(err, FACEUP_ERR_NOMEM, "out of memory for a %dx%d image", w, h);
        for (int y = 0; rc == FACEUP_OK && y < h; y++)
            memcpy(out->px + (size_t)y * (size_t)out->stride, px + (size_t)y * (size_t)stride,
                   row);
        if (rc == FACEUP_OK && alpha)
            fu_image_rgba_over_black(out);
    }
    heif_image_release(img);
    if (f.ctx)
        file_close(&f);
    return rc;
}

/* ---- metadata --------------------------------------------------------------------------- */

/* The first metadata block of the item of `type` (and content type, when not NULL) into b. */
static int read_block(const heif_file *f, const char *type, const char *content, fu_buf *b)
{
    int count = heif_image_handle_get_number_of_metadata_blocks(f->item, type);
    if (count <= 0)
        return FACEUP_OK;
    heif_item_id *ids = calloc((size_t)count, sizeof *ids);
    if (!ids)
        return FACEUP_ERR_NOMEM;
    count = heif_image_handle_get_list_of_metadata_block_IDs(f->item, type, ids, count);
    int rc = FACEUP_OK;
    for (int i = 0; i < count && !b->n && rc == FACEUP_OK; i++) {
        const char *ct = heif_image_handle_get_metadata_content_type(f->item, ids[i]);
        if (content && (!ct || strcmp(ct, content) != 0))
            continue;
        size_t size = heif_image_handle_get_metadata_size(f->item, ids[i]);
        if (size == 0 || (rc = fu_buf_reserve(b, size)) != FACEUP_OK)
            continue;
        if (heif_image_handle_get_metadata(f->item, ids[i], b->p).code == heif_error_Ok)
            b->n = size;
        else
            rc = FACEUP_ERR_DECODE;
    }
    free(ids);
    return rc;
}

/* A HEIF's Exif item is a 4-byte offset to the TIFF header, then the block: the TIFF part is
 * kept, with its Orientation set to 1 (it never applied). A block that does not hold together
 * is dropped rather than carried into a format where it would apply. */
static void exif_to_tiff(fu_buf *exif)
{
    size_t skip = exif->n >= 4 ? fu_be32(exif->p) : 0;
    if (exif->n < 4 || skip > exif->n - 4 ||
        fu_exif_patch(exif->p + 4 + skip, exif->n - 4 - skip, 1, 0, NULL) < 0) {
        exif->n = 0;
        return;
    }
    memmove(exif->p, exif->p + 4 + skip, exif->n - 4 - skip);
    exif->n -= 4 + skip;
}

static int meta_of(const heif_file *f, fu_meta *m)
{
    int rc = read_block(f, "Exif", NULL, &m->exif);
    if (rc == FACEUP_OK)
        rc = read_block(f, "mime", "application/rdf+xml", &m->xmp);
    exif_to_tiff(&m->exif);
    enum heif_color_profile_type t = heif_image_handle_get_color_profile_type(f->item);
    size_t n = heif_image_handle_get_raw_color_profile_size(f->item);
    if (rc == FACEUP_OK && n && (t == heif_color_profile_type_prof ||
                                 t == heif_color_profile_type_rICC) &&
        (rc = fu_buf_reserve(&m->icc, n)) == FACEUP_OK) {
        if (heif_image_handle_get_raw_color_profile(f->item, m->icc.p).code == heif_error_Ok)
            m->icc.n = n;
    }
    return rc;
}

static int read_meta(const uint8_t *d, size_t n, fu_meta *m)
{
    heif_file f;
    int rc = file_open(d, n, INT_MAX, &f, NULL);
    if (rc == FACEUP_OK) {
        rc = meta_of(&f, m);
        file_close(&f);
    }
    return rc;
}

/* ---- encoding --------------------------------------------------------------------------- */

static struct heif_error write_buf(struct heif_context *ctx, const void *data, size_t size,
                                   void *userdata)
{
    (void)ctx;
    struct heif_error e = {heif_error_Ok, heif_suberror_Unspecified, ""};
    if (fu_buf_put(userdata, data, size) != FACEUP_OK)
        e = (struct heif_error){heif_error_Memory_allocation_error, heif_suberror_Unspecified,
                                "out of memory"};
    return e;
}

/* A new heif_image of w x h pixels of `bpp` bytes (3: RGB, 4: RGBA), uninitialised at *px,
 * rows *stride apart, with the ICC profile of m when it has one. */
static int image_new(int w, int h, int bpp, const fu_meta *m, struct heif_image **img,
                     uint8_t **px, size_t *stride)
{
    enum heif_chroma chroma = bpp == 4 ? heif_chroma_interleaved_RGBA
                                       : heif_chroma_interleaved_RGB;
    if (heif_image_create(w, h, heif_colorspace_RGB, chroma, img).code != heif_error_Ok)
        return FACEUP_ERR_NOMEM;
    int dst_stride = 0;
    *px = NULL;
    if (heif_image_add_plane(*img, heif_channel_interleaved, w, h, 8).code == heif_error_Ok)
        *px = heif_image_get_plane(*img, heif_channel_interleaved, &dst_stride);
    *stride = (size_t)dst_stride;
    if (!*px || (m && m->icc.n && heif_image_set_raw_color_profile(*img, "prof", m->icc.p,
                                                                   m->icc.n).code)) {
        heif_image_release(*img);
        *img = NULL;
        return FACEUP_ERR_NOMEM;
    }
    return FACEUP_OK;
}

/* The encoded image with m's EXIF and XMP attached, written to out. */
static int encode_image(enum heif_compression_format codec, const struct heif_image *img,
                        const fu_meta *m, fu_buf *out, char *err)
{
    struct heif_context *ctx = heif_context_alloc();
    struct heif_encoder *enc = NULL;
    struct heif_image_handle *item = NULL;
    struct heif_error e = {heif_error_Memory_allocation_error, heif_suberror_Unspecified,
                           "out of memory"};
    if (ctx)
        e = heif_context_get_encoder_for_format(ctx, codec, &enc);
    if (e.code == heif_error_Ok)
        e = heif_encoder_set_lossy_quality(enc, ENCODE_QUALITY);
    if (e.code == heif_error_Ok)
        e = heif_context_encode_image(ctx, img, enc, NULL, &item);
    if (e.code == heif_error_Ok && m && m->exif.n)
        e = heif_context_add_exif_metadata(ctx, item, m->exif.p, (int)m->exif.n);
    if (e.code == heif_error_Ok && m && m->xmp.n)
        e = heif_context_add_XMP_metadata(ctx, item, m->xmp.p, (int)m->xmp.n);
    struct heif_writer writer = {1, write_buf};
    if (e.code == heif_error_Ok)
        e = heif_context_write(ctx, &writer, out);
    int rc = FACEUP_OK;
    if (e.code != heif_error_Ok) { /* e.message lives in the context or the encoder */
        fu_buf_free(out);
        rc = fu_err(err, heif_rc(e, FACEUP_ERR_ENCODE),
                    "HEIF encoder: %s", e.message);
    }
    heif_image_handle_release(item);
    if (enc)
        heif_encoder_release(enc);
    heif_context_free(ctx);
    return rc;
}

static int encode_as(enum heif_compression_format codec, const fu_image *img, fu_meta *m,
                     fu_buf *out, char *err)
{
    struct heif_image *hi = NULL;
    uint8_t *px;
    size_t stride;
    int rc = image_new(img->w, img->h, 3, m, &hi, &px, &stride);
    for (int y = 0; rc == FACEUP_OK && y < img->h; y++)
        memcpy(px + (size_t)y * stride, img->px + (size_t)y * (size_t)img->stride,
               (size_t)img->w * 3);
    if (rc == FACEUP_OK)
        rc = encode_image(codec, hi, m, out, err);
    heif_image_release(hi);
    return rc;
}

static int encode_heic(const fu_image *img, int lossless, fu_meta *m, fu_buf *out, char *err)
{
    (void)lossless;
    return encode_as(heif_compression_HEVC, img, m, out, err);
}

static int encode_avif(const fu_image *img, int lossless, fu_meta *m, fu_buf *out, char *err)
{
    (void)lossless;
    return encode_as(heif_compression_AV1, img, m, out, err);
}

/* ---- the turn --------------------------------------------------------------------------- */

/* The decoded image (RGBA when it has alpha) turned by t, encoded as `codec`. */
static int turn_item(const heif_file *f, enum heif_compression_format codec,
                     const fu_fix_plan *plan, const fu_meta *m, fu_buf *out, char *err)
{
    struct heif_image *img = NULL, *turned = NULL;
    int alpha = heif_image_handle_has_alpha_channel(f->item), bpp = alpha ? 4 : 3;
    int rc = decode_item(f, alpha, &img, err);
    if (rc != FACEUP_OK)
        return rc;
    int w = heif_image_get_width(img, heif_channel_interleaved),
        h = heif_image_get_height(img, heif_channel_interleaved), stride;
    const uint8_t *px = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
    int swap = fu_d4_swaps_axes(plan->t), ow = swap ? h : w, oh = swap ? w : h;
    uint8_t *dst;
    size_t dst_stride;
    if ((rc = image_new(ow, oh, bpp, m, &turned, &dst, &dst_stride)) != FACEUP_OK)
        fu_err(err, rc, "out of memory for a %dx%d image", ow, oh);
    else
        fu_d4_rows(plan->t, px, w, h, (size_t)stride, bpp, 0, oh, dst, dst_stride);
    heif_image_release(img); /* before the encoder allocates its own */
    if (rc == FACEUP_OK)
        rc = encode_image(codec, turned, m, out, err);
    heif_image_release(turned);
    return rc;
}

static int fix_as(enum heif_compression_format codec, const uint8_t *data, size_t size,
                  const fu_fix_plan *plan, fu_buf *out, faceup_fix_path *path, char *err)
{
    memset(out, 0, sizeof *out);
    *path = FACEUP_FIX_REENCODED;
    if (plan->lossless_only)
        return FACEUP_OK; /* the work would be thrown away */
    heif_file f;
    fu_meta m = {{0}, {0}, {0}};
    int rc = file_open(data, size, plan->max_pixels, &f, err);
    if (rc != FACEUP_OK)
        return rc;
    long long w = heif_image_handle_get_width(f.item), h = heif_image_handle_get_height(f.item);
    if (w * h > plan->max_pixels)
        rc = fu_err(err, FACEUP_ERR_TOO_MANY_PIXELS, "%lldx%lld is over the pixel limit", w, h);
    if (rc == FACEUP_OK && plan->keep_metadata && (rc = meta_of(&f, &m)) != FACEUP_OK)
        fu_err(err, rc, "damaged HEIF metadata");
    if (rc == FACEUP_OK)
        rc = turn_item(&f, codec, plan, &m, out, err);
    fu_buf_free(&m.exif);
    fu_buf_free(&m.icc);
    fu_buf_free(&m.xmp);
    file_close(&f);
    if (rc != FACEUP_OK)
        fu_buf_free(out);
    return rc;
}

int fu_fix_heic(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                faceup_fix_path *path, char err[FU_ERRLEN])
{
    return fix_as(heif_compression_HEVC, data, size, plan, out, path, err);
}

int fu_fix_avif(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                faceup_fix_path *path, char err[FU_ERRLEN])
{
    return fix_as(heif_compression_AV1, data, size, plan, out, path, err);
}

/* ---- costs ------------------------------------------------------------------------------ */

/* libheif's decoded planes: up to 4:4:4, at 1 or 2 bytes a sample, alpha its own plane. */
static long long planes_cost(const fu_probe *p)
{
    long long px = (long long)p->width * p->height;
    return px * (3 + (p->channels == 4)) * (p->depth > 8 ? 2 : 1);
}

/* The planes, and either the half-size RGB of decode_half (the caller counts it as the output)
 * or libheif's full-size interleaved conversion beside our copy of it. */
static long long decode_cost(const fu_probe *p, int min_side, int *out_w, int *out_h)
{
    long long px = (long long)p->width * p->height;
    int half = min_side > 0 && p->width / 2 >= min_side && p->height / 2 >= min_side &&
               p->depth == 8 && p->channels == 3;
    *out_w = half ? p->width / 2 : p->width;
    *out_h = half ? p->height / 2 : p->height;
    return planes_cost(p) + (half ? 0 : px * p->channels * (p->depth > 8 ? 2 : 1));
}

/* fu_fix_heic/avif: the decode at full size, the turned image handed to the encoder, and what
 * the encoder holds (x265 and aom keep several frames' worth: 227 MB for a 12 MP HEIC). */
#define HEIF_ENCODE_COST 8

static long long fix_cost(const fu_probe *p)
{
    int w, h;
    long long px = (long long)p->width * p->height;
    return decode_cost(p, 0, &w, &h) + px * p->channels * 2 + px * HEIF_ENCODE_COST;
}

/* A HEIF's EXIF never needs patching in place: a fix always writes a new file. */
static int patch_exif(uint8_t *d, size_t n, int reset, int swap_dims, int *found)
{
    (void)d, (void)n, (void)reset, (void)swap_dims;
    if (found)
        *found = 0;
    return 0;
}

const fu_format fu_format_heic = {
    .id = FACEUP_FORMAT_HEIC,
    .sniff = sniff_heic,
    .probe = probe,
    .decode = decode,
    .decode_cost = decode_cost,
    .fix_cost = fix_cost,
    .encode_cost = HEIF_ENCODE_COST,
    .fix = fu_fix_heic,
    .patch_exif = patch_exif,
    .read_meta = read_meta,
    .encode = encode_heic,
};

const fu_format fu_format_avif = {
    .id = FACEUP_FORMAT_AVIF,
    .sniff = sniff_avif,
    .probe = probe,
    .decode = decode,
    .decode_cost = decode_cost,
    .fix_cost = fix_cost,
    .encode_cost = HEIF_ENCODE_COST,
    .fix = fu_fix_avif,
    .patch_exif = patch_exif,
    .read_meta = read_meta,
    .encode = encode_avif,
};
