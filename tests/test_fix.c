/*
 * test_fix.c - faceup_fix's parts: the D4 algebra, the in-place EXIF patcher, the JPEG, PNG and
 * WebP fixers, and the policy of fu_fix_apply (which is faceup_fix without the detector).
 *
 * Every image is made here (TurboJPEG, libpng, libwebp on synthetic pixels), so each test says
 * exactly what it starts from. tests/test_fix_cli.py checks the same against Pillow and jpegtran.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>
#include <jpeglib.h>
#include <png.h>
#include <turbojpeg.h>
#include <webp/decode.h>
#include <webp/encode.h>
#include <webp/mux.h>

#include "api/handle.h"
#include "codec/format.h"
#include "codec/jpeg_extras.h"
#include "faceup.h"
#include "geom/d4.h"
#include "geom/image.h"

/* ---- images made here ---------------------------------------------------------------------- */

/* A smooth picture (like a photo) with a little noise in every pixel, so that any wrong turn
 * shows. */
static uint8_t *pattern(int w, int h, int channels)
{
    uint8_t *p = malloc((size_t)w * h * channels);
    assert_non_null(p);
    uint32_t seed = 12345;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < channels; c++) {
                seed = seed * 1103515245u + 12345u;
                double v = 128 + 60 * sin(x * 0.21 + c) + 50 * cos(y * 0.13 - 2 * c) +
                           (double)(seed >> 29);
                p[((size_t)y * w + x) * channels + c] = (uint8_t)v;
            }
    return p;
}

static fu_buf make_jpeg_flags(int w, int h, int subsamp, int pf, int flags)
{
    int ch = tjPixelSize[pf];
    uint8_t *px = pattern(w, h, ch);
    tjhandle tj = tjInitCompress();
    unsigned char *jpg = NULL;
    unsigned long n = 0;
    assert_int_equal(tjCompress2(tj, px, w, 0, h, pf, &jpg, &n, subsamp, 90, flags), 0);
    fu_buf b = {0};
    assert_int_equal(fu_buf_put(&b, jpg, n), FACEUP_OK);
    tjFree(jpg);
    tjDestroy(tj);
    free(px);
    return b;
}

/* What the probe says of a baseline 8-bit colour JPEG of w x h. */
static fu_probe jpeg_probe(int w, int h, int exif)
{
    return (fu_probe){.format = FACEUP_FORMAT_JPEG, .width = w, .height = h,
                      .exif_orientation = exif, .lossy = 1, .channels = 3, .depth = 8};
}

static fu_buf make_jpeg(int w, int h, int subsamp, int pf)
{
    return make_jpeg_flags(w, h, subsamp, pf, 0);
}

/* Insert a marker segment right after SOI (so later calls come first). */
static void insert_segment(fu_buf *jpg, int marker, const void *payload, size_t n)
{
    fu_buf out = {0};
    uint8_t head[4] = {0xFF, (uint8_t)marker, (uint8_t)((n + 2) >> 8), (uint8_t)(n + 2)};
    assert_int_equal(fu_buf_put(&out, jpg->p, 2), FACEUP_OK);
    assert_int_equal(fu_buf_put(&out, head, 4), FACEUP_OK);
    assert_int_equal(fu_buf_put(&out, payload, n), FACEUP_OK);
    assert_int_equal(fu_buf_put(&out, jpg->p + 2, jpg->n - 2), FACEUP_OK);
    fu_buf_free(jpg);
    *jpg = out;
}

/* A TIFF block: IFD 0 {Make, Orientation, ExifIFD}, Exif IFD {PixelX (SHORT), PixelY (LONG)}. */
static size_t make_tiff(uint8_t *t, int big, int orientation, unsigned px, unsigned py)
{
    size_t n = 0;
#define P8(v) (t[n++] = (uint8_t)(v))
#define P16(v) (big ? (P8((v) >> 8), P8(v)) : (P8(v), P8((v) >> 8)))
#define P32(v) (big ? (P16((v) >> 16), P16((v) & 0xFFFF)) : (P16((v) & 0xFFFF), P16((v) >> 16)))
    P8(big ? 'M' : 'I'); P8(big ? 'M' : 'I'); P16(42); P32(8);
    P16(3);                                      /* IFD 0 at 8: 3 entries, ends at 50 */
    P16(0x010F); P16(2); P32(6); P32(62);        /* Make, ASCII, at 62 */
    P16(0x0112); P16(3); P32(1); P16(orientation); P16(0);
    P16(0x8769); P16(4); P32(1); P32(68);        /* Exif IFD at 68 */
    P32(0);                                      /* next IFD */
    memset(t + n, 0xEE, 62 - n); n = 62;
    memcpy(t + n, "Maker", 6); n += 6;           /* 68 */
    P16(2);
    P16(0xA002); P16(3); P32(1); P16(px); P16(0);
    P16(0xA003); P16(4); P32(1); P32(py);
    P32(0);
#undef P8
#undef P16
#undef P32
    return n;
}

static void add_metadata(fu_buf *jpg, int orientation, int w, int h)
{
    static const char xmp[] = "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>tiff:Orientation</x:xmpmeta>";
    static const char com[] = "a comment";
    uint8_t icc[12 + 2 + 300];
    memcpy(icc, "ICC_PROFILE", 12);
    icc[12] = 1;
    icc[13] = 1;
    for (int i = 0; i < 300; i++)
        icc[14 + i] = (uint8_t)(i * 7);
    uint8_t exif[6 + 128] = "Exif";
    size_t n = 6 + make_tiff(exif + 6, 0, orientation, (unsigned)w, (unsigned)h);
    insert_segment(jpg, 0xFE, com, sizeof com - 1);
    insert_segment(jpg, 0xE1, xmp, sizeof xmp - 1);
    insert_segment(jpg, 0xE2, icc, sizeof icc);
    insert_segment(jpg, 0xE1, exif, n);
}

/* An APP1 EXIF block (little-endian) whose IFD 0 links an IFD 1 with a 16x16 JPEG thumbnail. */
static void add_exif_with_thumbnail(fu_buf *jpg, int orientation, int w, int h)
{
    fu_buf thumb = make_jpeg(16, 16, TJSAMP_444, TJPF_RGB);
    size_t cap = 6 + 128 + 30 + thumb.n;
    uint8_t *exif = calloc(1, cap);
    assert_non_null(exif);
    memcpy(exif, "Exif", 5);
    uint8_t *t = exif + 6;
    size_t n = make_tiff(t, 0, orientation, (unsigned)w, (unsigned)h);
    size_t ifd1 = n, data = ifd1 + 2 + 2 * 12 + 4;
    const uint32_t link = (uint32_t)ifd1, at = (uint32_t)data, len = (uint32_t)thumb.n;
    memcpy(t + 46, &link, 4);                    /* IFD 0's next IFD: IFD 1 */
    uint8_t entries[2 + 24 + 4] = {2, 0, 0x01, 0x02, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0,
                                   0x02, 0x02, 4, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(entries + 10, &at, 4);                /* JPEGInterchangeFormat */
    memcpy(entries + 22, &len, 4);               /* JPEGInterchangeFormatLength */
    memcpy(t + ifd1, entries, sizeof entries);
    memcpy(t + data, thumb.p, thumb.n);
    insert_segment(jpg, 0xE1, exif, 6 + data + thumb.n);
    free(exif);
    fu_buf_free(&thumb);
}

/* The segments of a JPEG before its scan, in order, as (marker, payload) pairs. */
typedef struct seg {
    int marker;
    size_t at, len;
} seg;

static int segments(const fu_buf *b, seg *s, int max)
{
    size_t pos = 0;
    int n = 0;
    while (n < max && fu_jpeg_next_segment(b->p, b->n, &pos, &s[n].marker, &s[n].at, &s[n].len) > 0)
        n++;
    return n;
}

/* Decoded pixels, with box upsampling, which commutes with turns and mirrors. */
static uint8_t *decode_jpeg(const fu_buf *b, int pf, int *w, int *h)
{
    tjhandle tj = tjInitDecompress();
    int ss, cs;
    assert_int_equal(tjDecompressHeader3(tj, b->p, b->n, w, h, &ss, &cs), 0);
    uint8_t *px = malloc((size_t)*w * *h * tjPixelSize[pf]);
    assert_int_equal(tjDecompress2(tj, b->p, b->n, px, *w, 0, *h, pf, TJFLAG_FASTUPSAMPLE), 0);
    tjDestroy(tj);
    return px;
}

/* All quantised DCT coefficients, component after component, row after row. */
static JCOEF *coefficients(const fu_buf *b, size_t *n)
{
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr e;
    d.err = jpeg_std_error(&e);
    jpeg_create_decompress(&d);
    jpeg_mem_src(&d, b->p, b->n);
    jpeg_read_header(&d, TRUE);
    jvirt_barray_ptr *arrays = jpeg_read_coefficients(&d);
    size_t total = 0;
    for (int c = 0; c < d.num_components; c++)
        total += (size_t)d.comp_info[c].width_in_blocks * d.comp_info[c].height_in_blocks * 64;
    JCOEF *all = malloc(total * sizeof *all), *o = all;
    for (int c = 0; c < d.num_components; c++) {
        jpeg_component_info *ci = &d.comp_info[c];
        for (JDIMENSION y = 0; y < ci->height_in_blocks; y++) {
            JBLOCKARRAY row = d.mem->access_virt_barray((j_common_ptr)&d, arrays[c], y, 1, FALSE);
            memcpy(o, row[0], ci->width_in_blocks * sizeof(JBLOCK));
            o += ci->width_in_blocks * 64;
        }
    }
    jpeg_finish_decompress(&d);
    jpeg_destroy_decompress(&d);
    *n = total;
    return all;
}

static double psnr(const uint8_t *a, const uint8_t *b, size_t n)
{
    double se = 0;
    for (size_t k = 0; k < n; k++)
        se += (a[k] - b[k]) * (double)(a[k] - b[k]);
    return 10 * log10(255.0 * 255.0 / (se / (double)n + 1e-9));
}

static fu_fix_plan plan_of(fu_d4 t, int reset, int exif)
{
    return (fu_fix_plan){.t = t, .reset_orientation = reset, .exif_orientation = exif,
                         .keep_metadata = 1, .max_pixels = 100000000LL};
}

static fu_buf run_jpeg(const fu_buf *in, fu_fix_plan plan, faceup_fix_path *path)
{
    fu_buf out;
    char err[FU_ERRLEN] = "";
    int rc = fu_fix_jpeg(in->p, in->n, &plan, &out, path, err);
    if (rc != FACEUP_OK)
        fail_msg("fu_fix_jpeg: %d %s", rc, err);
    return out;
}

/* ---- D4 ---------------------------------------------------------------------------------- */

static fu_d4 element(int i) { return (fu_d4){(unsigned char)(i / 2), (unsigned char)(i % 2)}; }

static void d4_compose_is_applying_one_after_the_other(void **state)
{
    (void)state;
    const int w = 5, h = 3;
    for (int a = 0; a < 8; a++)
        for (int b = 0; b < 8; b++) {
            fu_d4 ab = fu_d4_compose(element(a), element(b));
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int x1, y1, x2, y2, x3, y3;
                    fu_d4_map(element(b), w, h, x, y, &x1, &y1);
                    int w1 = fu_d4_swaps_axes(element(b)) ? h : w, h1 = w + h - w1;
                    fu_d4_map(element(a), w1, h1, x1, y1, &x2, &y2);
                    fu_d4_map(ab, w, h, x, y, &x3, &y3);
                    assert_int_equal(x2, x3);
                    assert_int_equal(y2, y3);
                }
        }
}

static void d4_inverse_undoes_and_exif_values_round_trip(void **state)
{
    (void)state;
    for (int i = 0; i < 8; i++) {
        assert_true(fu_d4_is_identity(fu_d4_compose(fu_d4_inverse(element(i)), element(i))));
        assert_int_equal(fu_d4_to_exif(fu_d4_from_exif(i + 1)), i + 1);
    }
    assert_true(fu_d4_is_identity(fu_d4_from_exif(0)));
    assert_true(fu_d4_is_identity(fu_d4_from_exif(9)));
    /* four quarter turns are nothing; -90 is 270 */
    fu_d4 q = FU_D4_IDENTITY;
    for (int i = 0; i < 4; i++)
        q = fu_d4_compose(fu_d4_turn_cw(90), q);
    assert_true(fu_d4_is_identity(q));
    assert_int_equal(fu_d4_turn_cw(-90).rot, 3);
}

static void d4_exif_values_follow_the_specification(void **state)
{
    (void)state;
    /* where the stored top-left corner of a 4x2 image is displayed (EXIF 2.3, Orientation) */
    static const int corner[9][2] = {{0, 0}, {0, 0}, {3, 0}, {3, 1}, {0, 1},
                                     {0, 0}, {1, 0}, {1, 3}, {0, 3}};
    for (int e = 1; e <= 8; e++) {
        int x, y;
        fu_d4_map(fu_d4_from_exif(e), 4, 2, 0, 0, &x, &y);
        assert_int_equal(x, corner[e][0]);
        assert_int_equal(y, corner[e][1]);
    }
    /* Orientation 6 (display turned 90 clockwise) then the detector's turn of 90
     * counter-clockwise cancel: nothing moves */
    assert_true(fu_d4_is_identity(fu_d4_compose(fu_d4_turn_cw(-90), fu_d4_from_exif(6))));
}

static void d4_rows_case(int w, int h);

static void d4_rows_moves_whole_pixels_of_any_size(void **state)
{
    (void)state;
    /* small, and big enough for several of the bands a transpose is made in */
    d4_rows_case(7, 4);
    d4_rows_case(45, 70);
}

static void d4_rows_case(int w, int h)
{
    for (int bpp = 1; bpp <= 8; bpp++) {
        uint8_t *src = pattern(w, h, bpp), *dst = malloc((size_t)w * h * bpp);
        for (int i = 0; i < 8; i++) {
            fu_d4 t = element(i);
            int ow = fu_d4_swaps_axes(t) ? h : w, oh = w * h / ow;
            /* in two bands, to check y0 */
            fu_d4_rows(t, src, w, h, (size_t)w * bpp, bpp, 0, 1, dst, (size_t)ow * bpp);
            fu_d4_rows(t, src, w, h, (size_t)w * bpp, bpp, 1, oh - 1, dst + (size_t)ow * bpp,
                       (size_t)ow * bpp);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int ox, oy;
                    fu_d4_map(t, w, h, x, y, &ox, &oy);
                    assert_memory_equal(dst + ((size_t)oy * ow + ox) * bpp,
                                        src + ((size_t)y * w + x) * bpp, bpp);
                }
        }
        free(src);
        free(dst);
    }
}

/* ---- EXIF patch -------------------------------------------------------------------------- */

static void exif_patch_changes_only_orientation_and_dimensions(void **state)
{
    (void)state;
    for (int big = 0; big <= 1; big++) {
        uint8_t a[128], b[128];
        size_t n = make_tiff(a, big, 6, 640, 480);
        memcpy(b, a, n);
        int found = -1;
        assert_int_equal(fu_exif_patch(b, n, 1, 1, &found), 0);
        assert_int_equal(found, 6);
        uint8_t expect[128];
        size_t m = make_tiff(expect, big, 1, 0, 0);
        assert_int_equal(m, n);
        /* the dimension entries traded type, count and value, tags in place */
        fu_exif_patch(b, n, 0, 0, &found);
        assert_int_equal(found, 1);
        int diff = 0;
        for (size_t i = 0; i < n; i++)
            diff += a[i] != b[i];
        assert_true(diff > 0 && diff <= 2 + 2 * 10);
        assert_memory_equal(a, b, 22 + 8);     /* header and Make entry */
        assert_memory_equal(a + 32, b + 32, 70 - 32); /* ExifIFD entry .. Exif IFD count */
        /* PixelX now holds LONG 480, PixelY SHORT 640 */
        const uint8_t *px = b + 70, *py = b + 82;
        assert_int_equal(big ? px[3] : px[2], 4);
        assert_int_equal(big ? py[3] : py[2], 3);
        /* and with the prefix */
        uint8_t c[6 + 128] = "Exif";
        memcpy(c + 6, a, n);
        assert_int_equal(fu_exif_patch(c, n + 6, 1, 0, &found), 0);
        assert_int_equal(found, 6);
        assert_int_equal(fu_exif_patch(c, n + 6, 0, 0, &found), 0);
        assert_int_equal(found, 1);
    }
}

static void exif_patch_unlinks_the_thumbnail_only_when_asked(void **state)
{
    (void)state;
    uint8_t a[128], b[128];
    size_t n = make_tiff(a, 0, 6, 640, 480);
    assert_int_equal(fu_exif_has_thumbnail(a, n), 0);
    a[46] = 62; /* IFD 0's link to an IFD 1 */
    assert_int_equal(fu_exif_has_thumbnail(a, n), 1);
    memcpy(b, a, n);
    assert_int_equal(fu_exif_patch(b, n, FU_EXIF_RESET, 0, NULL), 0);
    assert_int_equal(fu_exif_has_thumbnail(b, n), 1); /* a tag reset alone keeps it */
    assert_int_equal(fu_exif_patch(b, n, FU_EXIF_RESET | FU_EXIF_DROP_THUMBNAIL, 1, NULL), 0);
    assert_int_equal(fu_exif_has_thumbnail(b, n), 0);
    assert_int_equal(fu_exif_orientation(b, n), 1);
    static const uint8_t zero[4] = {0};
    assert_memory_equal(b + 46, zero, 4);
    assert_memory_equal(a + 50, b + 50, 62 - 50); /* nothing else of IFD 0 moved */
    /* a link that does not fit is no thumbnail, and nothing is written there */
    assert_int_equal(fu_exif_has_thumbnail(a, 48), 0);
}

/* Turned pixels leave the EXIF thumbnail behind: it is unlinked and reported; a tag patched in
 * place keeps it; stripped metadata is no loss to report. */
static void apply_drops_the_exif_thumbnail_of_turned_pixels_and_says_so(void **state)
{
    (void)state;
    faceup *h = faceup_create();
    fu_buf in = make_jpeg(64, 48, TJSAMP_420, TJPF_RGB);
    add_exif_with_thumbnail(&in, 1, 64, 48);
    fu_probe pr;
    char err[FU_ERRLEN];
    assert_int_equal(fu_image_probe(in.p, in.n, 1 << 30, &pr, err), FACEUP_OK);
    assert_int_equal(pr.exif_thumbnail, 1);
    faceup_fixed f = {0};
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, 90, &f), FACEUP_OK);
    assert_int_equal(f.path, FACEUP_FIX_LOSSLESS);
    assert_int_equal(f.dropped, FACEUP_DROPPED_THUMBNAIL);
    fu_probe out;
    assert_int_equal(fu_image_probe(f.data, f.size, 1 << 30, &out, err), FACEUP_OK);
    assert_int_equal(out.exif_thumbnail, 0);
    assert_int_equal(out.exif_orientation, 1);
    free(f.data);
    fu_buf_free(&in);
    /* tag 6 and a detected 90 cancel: the pixels do not move, the thumbnail stays */
    in = make_jpeg(64, 48, TJSAMP_420, TJPF_RGB);
    add_exif_with_thumbnail(&in, 6, 64, 48);
    assert_int_equal(fu_image_probe(in.p, in.n, 1 << 30, &pr, err), FACEUP_OK);
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, 90, &f), FACEUP_OK);
    assert_int_equal(f.dropped, 0);
    assert_int_equal(fu_image_probe(f.data, f.size, 1 << 30, &out, err), FACEUP_OK);
    assert_int_equal(out.exif_thumbnail, 1);
    free(f.data);
    faceup_set_param(h, FACEUP_PARAM_KEEP_METADATA, 0);
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, 180, &f), FACEUP_OK);
    assert_int_equal(f.dropped, 0);
    free(f.data);
    assert_string_equal(faceup_dropped_str(FACEUP_DROPPED_THUMBNAIL), "exif_thumbnail");
    fu_buf_free(&in);
    faceup_destroy(h);
}

static void exif_patch_rejects_malformed_blocks_untouched(void **state)
{
    (void)state;
    uint8_t a[128], b[128];
    size_t n = make_tiff(a, 0, 6, 640, 480);
    int found;
    /* truncations: header, IFD 0 table, Exif IFD table */
    for (size_t cut = 0; cut < 50; cut++) {
        memcpy(b, a, n);
        assert_int_equal(fu_exif_patch(b, cut, 1, 1, &found), FU_EXIF_MALFORMED);
        assert_memory_equal(a, b, n);
    }
    for (size_t cut = 50; cut < 92; cut++) {
        memcpy(b, a, n);
        int rc = fu_exif_patch(b, cut, 1, 1, &found);
        if (rc == FU_EXIF_MALFORMED)
            assert_memory_equal(a, b, n);
    }
    /* not TIFF; IFD offset out of range; entry count too large */
    memcpy(b, a, n);
    b[0] = 'X';
    assert_int_equal(fu_exif_patch(b, n, 1, 1, &found), FU_EXIF_MALFORMED);
    memcpy(b, a, n);
    b[4] = 0xFF;
    assert_int_equal(fu_exif_patch(b, n, 1, 1, &found), FU_EXIF_MALFORMED);
    memcpy(b, a, n);
    b[9] = 0x40;
    assert_int_equal(fu_exif_patch(b, n, 1, 1, &found), FU_EXIF_MALFORMED);
    assert_int_equal(fu_exif_patch(NULL, 0, 1, 1, &found), FU_EXIF_MALFORMED);
    /* found by fuzz_metadata: IFD 0 at offset 5, inside the header, with no entries, so its link
     * to IFD 1 lay on the header's IFD offset: unlinking the thumbnail zeroed that offset and
     * left a block that no longer read as TIFF. An IFD inside the header is refused. */
    static const uint8_t overlap[] = {'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, '*', 0, 0, 0, 5,
                                      0, 1, 1, 0x12, 0, 3, 0, 0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0};
    memcpy(b, overlap, sizeof overlap);
    assert_int_equal(fu_exif_patch(b, sizeof overlap, FU_EXIF_RESET | FU_EXIF_DROP_THUMBNAIL, 1,
                                   &found), FU_EXIF_MALFORMED);
    assert_memory_equal(b, overlap, sizeof overlap);
    assert_int_equal(fu_exif_orientation(overlap, sizeof overlap), 0);
    /* an Exif IFD that overlaps IFD 0 (here it starts on IFD 0's link, at 46): exchanging its
     * dimensions could rewrite IFD 0, so the patcher that would exchange them refuses it; the
     * Orientation alone is still read and reset */
    memcpy(b, a, n);
    b[42] = 46;
    uint8_t keep[128];
    memcpy(keep, b, n);
    assert_int_equal(fu_exif_patch(b, n, 1, 1, &found), FU_EXIF_MALFORMED);
    assert_memory_equal(b, keep, n);
    assert_int_equal(fu_exif_patch(b, n, 1, 0, &found), 0);
    assert_int_equal(found, 6);
    assert_int_equal(fu_exif_orientation(b, n), 1);
    /* every single-byte corruption is either patched or refused, never out of bounds (ASan) */
    for (size_t i = 0; i < n; i++)
        for (int v = 0; v < 256; v += 51) {
            memcpy(b, a, n);
            b[i] = (uint8_t)v;
            fu_exif_patch(b, n, 1, 1, &found);
        }
}

/* ---- JPEG -------------------------------------------------------------------------------- */

static void jpeg_every_transform_is_lossless_when_mcus_are_whole(void **state)
{
    (void)state;
    static const int ss[] = {TJSAMP_444, TJSAMP_422, TJSAMP_420, TJSAMP_440, TJSAMP_GRAY};
    for (size_t s = 0; s < sizeof ss / sizeof *ss; s++) {
        fu_buf in = make_jpeg(64, 48, ss[s], ss[s] == TJSAMP_GRAY ? TJPF_GRAY : TJPF_RGB);
        int pf = ss[s] == TJSAMP_GRAY ? TJPF_GRAY : TJPF_RGB, w, h, ow, oh;
        uint8_t *src = decode_jpeg(&in, pf, &w, &h);
        for (int i = 0; i < 8; i++) {
            faceup_fix_path path;
            fu_buf out = run_jpeg(&in, plan_of(element(i), 1, 0), &path);
            assert_int_equal(path, FACEUP_FIX_LOSSLESS);
            uint8_t *got = decode_jpeg(&out, pf, &ow, &oh);
            uint8_t *want = malloc((size_t)w * h * tjPixelSize[pf]);
            fu_d4_rows(element(i), src, w, h, (size_t)w * tjPixelSize[pf], tjPixelSize[pf], 0, oh,
                       want, (size_t)ow * tjPixelSize[pf]);
            /* The coefficients are exact (see the four-turn test and test_fix_cli.py against
             * jpegtran), but the integer IDCT rounds rows before columns and is not symmetric
             * in sign, so a turned block may decode a few levels apart here and there. A wrong
             * turn would differ everywhere. */
            long off = 0;
            for (size_t k = 0; k < (size_t)w * h * tjPixelSize[pf]; k++) {
                assert_true(abs(got[k] - want[k]) <= 4);
                off += got[k] != want[k];
            }
            assert_true(off < (long)w * h * tjPixelSize[pf] / 10);
            free(got);
            free(want);
            fu_buf_free(&out);
        }
        free(src);
        fu_buf_free(&in);
    }
}

static void four_turns(int flags);

static void jpeg_four_quarter_turns_give_back_every_coefficient(void **state)
{
    (void)state;
    for (int progressive = 0; progressive <= 1; progressive++)
        four_turns(progressive ? TJFLAG_PROGRESSIVE : 0);
}

/* Big enough for several bands of block rows (fix_jpeg.c builds 16 at a time). */
static void four_turns(int flags)
{
    fu_buf in = make_jpeg_flags(336, 208, TJSAMP_420, TJPF_RGB, flags);
    fu_buf cur = {0};
    fu_buf_put(&cur, in.p, in.n);
    for (int k = 0; k < 4; k++) {
        faceup_fix_path path;
        fu_buf next = run_jpeg(&cur, plan_of(fu_d4_turn_cw(90), 1, 0), &path);
        assert_int_equal(path, FACEUP_FIX_LOSSLESS);
        fu_buf_free(&cur);
        cur = next;
    }
    size_t na, nb;
    JCOEF *a = coefficients(&in, &na), *b = coefficients(&cur, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    free(a);
    free(b);
    fu_buf_free(&cur);
    fu_buf_free(&in);
}

static void jpeg_output_is_byte_stable(void **state)
{
    (void)state;
    fu_buf in = make_jpeg(64, 48, TJSAMP_420, TJPF_RGB);
    faceup_fix_path p1, p2;
    fu_buf a = run_jpeg(&in, plan_of(fu_d4_turn_cw(270), 1, 0), &p1);
    fu_buf b = run_jpeg(&in, plan_of(fu_d4_turn_cw(270), 1, 0), &p2);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.p, b.p, a.n);
    fu_buf_free(&a);
    fu_buf_free(&b);
    fu_buf_free(&in);
}

static void reencode_case(int width, int height);

static void jpeg_partial_mcus_are_reencoded_never_dropped(void **state)
{
    (void)state;
    /* odd sides: the colour planes are resampled; even: turned as they are; wide and tall */
    for (int odd = 0; odd <= 1; odd++) {
        reencode_case(100 + odd, 74 + odd);
        reencode_case(74 + odd, 100 + odd);
    }
}

static void reencode_case(int width, int height)
{
    fu_buf in = make_jpeg(width, height, TJSAMP_420, TJPF_RGB);
    int w, h, ow, oh;
    uint8_t *src = decode_jpeg(&in, TJPF_RGB, &w, &h);
    faceup_fix_path path;
    /* a transpose keeps partial blocks on the right and bottom edges: still lossless */
    fu_buf t = run_jpeg(&in, plan_of(fu_d4_from_exif(5), 1, 0), &path);
    assert_int_equal(path, FACEUP_FIX_LOSSLESS);
    fu_buf_free(&t);
    fu_buf out = run_jpeg(&in, plan_of(fu_d4_turn_cw(90), 1, 0), &path);
    assert_int_equal(path, FACEUP_FIX_REENCODED);
    uint8_t *got = decode_jpeg(&out, TJPF_RGB, &ow, &oh);
    assert_int_equal(ow, height);
    assert_int_equal(oh, width);
    uint8_t *want = malloc((size_t)w * h * 3);
    fu_d4_rows(fu_d4_turn_cw(90), src, w, h, (size_t)w * 3, 3, 0, oh, want, (size_t)ow * 3);
    /* One more rounding through the DCT at the source's own tables: no worse than saving the
     * decoded, turned pixels again at the source's quality. */
    tjhandle tj = tjInitCompress();
    unsigned char *again = NULL;
    unsigned long again_n = 0;
    assert_int_equal(tjCompress2(tj, want, ow, 0, oh, TJPF_RGB, &again, &again_n, TJSAMP_420, 90,
                                 0), 0);
    fu_buf resaved = {again, again_n, again_n};
    uint8_t *ref = decode_jpeg(&resaved, TJPF_RGB, &ow, &oh);
    assert_true(psnr(got, want, (size_t)w * h * 3) > psnr(ref, want, (size_t)w * h * 3) - 0.5);
    tjFree(again);
    tjDestroy(tj);
    free(ref);
    free(src);
    free(got);
    free(want);
    fu_buf_free(&out);
    fu_buf_free(&in);
}

static void jpeg_cmyk_is_turned_too(void **state)
{
    (void)state;
    fu_buf in = make_jpeg(64, 32, TJSAMP_444, TJPF_CMYK);
    int w, h, ow, oh;
    uint8_t *src = decode_jpeg(&in, TJPF_CMYK, &w, &h);
    faceup_fix_path path;
    fu_buf out = run_jpeg(&in, plan_of(fu_d4_turn_cw(180), 1, 0), &path);
    assert_int_equal(path, FACEUP_FIX_LOSSLESS);
    uint8_t *got = decode_jpeg(&out, TJPF_CMYK, &ow, &oh);
    uint8_t *want = malloc((size_t)w * h * 4);
    fu_d4_rows(fu_d4_turn_cw(180), src, w, h, (size_t)w * 4, 4, 0, h, want, (size_t)w * 4);
    for (size_t k = 0; k < (size_t)w * h * 4; k++)
        assert_true(abs(got[k] - want[k]) <= 4); /* IDCT rounding: see above */
    free(src);
    free(got);
    free(want);
    fu_buf_free(&out);
    fu_buf_free(&in);
}

static void jpeg_metadata_is_kept_byte_for_byte_but_the_tag(void **state)
{
    (void)state;
    fu_buf in = make_jpeg(64, 48, TJSAMP_420, TJPF_RGB);
    add_metadata(&in, 6, 64, 48);
    for (int strip = 0; strip <= 1; strip++) {
        faceup_fix_path path;
        fu_fix_plan plan = plan_of(fu_d4_from_exif(6), 1, 6); /* upright once EXIF is applied */
        plan.keep_metadata = !strip;
        fu_buf out = run_jpeg(&in, plan, &path);
        seg a[16], b[16];
        int na = segments(&in, a, 16), nb = segments(&out, b, 16);
        int kept = 0;
        for (int i = 0; i < na; i++) {
            if (a[i].marker == 0xE0 || a[i].marker < 0xE0)
                continue; /* JFIF and tables: not metadata */
            int j = 0;
            while (j < nb && !(b[j].marker == a[i].marker && b[j].len == a[i].len &&
                               (b[j].len < 4 || !memcmp(in.p + a[i].at, out.p + b[j].at, 4))))
                j++;
            if (strip) {
                assert_true(j == nb);
                continue;
            }
            assert_true(j < nb);
            kept++;
            if (memcmp(in.p + a[i].at, "Exif", 4)) {
                assert_memory_equal(in.p + a[i].at, out.p + b[j].at, a[i].len);
            } else {
                const uint8_t *x = in.p + a[i].at, *y = out.p + b[j].at;
                int diff = 0;
                for (size_t k = 0; k < a[i].len; k++)
                    diff += x[k] != y[k];
                assert_true(diff >= 1 && diff <= 21);
                int o = -1;
                uint8_t copy[256];
                memcpy(copy, y, a[i].len);
                assert_int_equal(fu_exif_patch(copy, a[i].len, 0, 0, &o), 0);
                assert_int_equal(o, 1);
            }
        }
        if (!strip)
            assert_int_equal(kept, 4);
        fu_buf_free(&out);
    }
    fu_buf_free(&in);
}

static void jpeg_with_an_unpatchable_tag_is_refused(void **state)
{
    (void)state;
    fu_buf in = make_jpeg(32, 32, TJSAMP_420, TJPF_RGB);
    uint8_t bad[6 + 8] = "Exif\0\0II*\0\xFF\xFF\0\0"; /* IFD 0 out of the block */
    insert_segment(&in, 0xE1, bad, sizeof bad);
    fu_fix_plan plan = plan_of(fu_d4_turn_cw(90), 1, 6); /* as if a reader had seen 6 */
    fu_buf out;
    faceup_fix_path path;
    char err[FU_ERRLEN] = "";
    assert_int_equal(fu_fix_jpeg(in.p, in.n, &plan, &out, &path, err), FACEUP_ERR_DECODE);
    assert_non_null(strstr(err, "Orientation"));
    assert_null(out.p);
    fu_buf_free(&in);
}

static void jpeg_damaged_inputs_are_errors(void **state)
{
    (void)state;
    fu_buf in = make_jpeg(64, 48, TJSAMP_420, TJPF_RGB);
    fu_fix_plan plan = plan_of(fu_d4_turn_cw(90), 1, 0);
    char err[FU_ERRLEN];
    fu_buf out;
    faceup_fix_path path;
    /* truncated anywhere: an error, and nothing allocated is left behind (ASan) */
    for (size_t cut = 0; cut < in.n; cut += in.n / 40 + 1)
        assert_int_not_equal(fu_fix_jpeg(in.p, cut, &plan, &out, &path, err), FACEUP_OK);
    uint8_t junk[64];
    memset(junk, 0xFF, sizeof junk);
    assert_int_not_equal(fu_fix_jpeg(junk, sizeof junk, &plan, &out, &path, err), FACEUP_OK);
    fu_buf_free(&in);
}

/* ---- PNG and WebP ------------------------------------------------------------------------ */

static void png_write_cb(png_structp p, png_bytep d, png_size_t n)
{
    fu_buf_put(png_get_io_ptr(p), d, n);
}

static fu_buf make_png(int w, int h, int depth, int color, int interlace, const uint8_t *exif,
                       size_t exif_n)
{
    fu_buf b = {0};
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    png_set_write_fn(p, &b, png_write_cb, NULL);
    png_set_IHDR(p, info, w, h, depth, color, interlace, 0, 0);
    png_color pal[16];
    for (int i = 0; i < 16; i++)
        pal[i] = (png_color){(png_byte)(i * 16), (png_byte)(255 - i * 16), (png_byte)(i * 5)};
    if (color == PNG_COLOR_TYPE_PALETTE)
        png_set_PLTE(p, info, pal, 1 << depth);
    png_text text = {.compression = PNG_TEXT_COMPRESSION_NONE, .key = "Comment", .text = "hi"};
    png_set_text(p, info, &text, 1);
    if (exif)
        png_set_eXIf_1(p, info, (png_uint_32)exif_n, (png_bytep)exif);
    png_write_info(p, info);
    int channels = color == PNG_COLOR_TYPE_RGB_ALPHA ? 4 : color == PNG_COLOR_TYPE_RGB ? 3 : 1;
    int bytes = depth == 16 ? 2 : 1;
    uint8_t *px = pattern(w, h, channels * bytes);
    if (depth < 8)
        for (int i = 0; i < w * h; i++)
            px[i] &= (uint8_t)((1 << depth) - 1);
    if (depth < 8)
        png_set_packing(p);
    int passes = png_set_interlace_handling(p);
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < h; y++)
            png_write_row(p, px + (size_t)y * w * channels * bytes);
    png_write_end(p, info);
    png_destroy_write_struct(&p, &info);
    free(px);
    return b;
}

/* Pixels as the image layer decodes them (8-bit RGB): enough to see where each one went. */
static uint8_t *decode_png(const fu_buf *b, int *w, int *h)
{
    fu_probe pr;
    fu_image rgb = {0};
    char err[FU_ERRLEN];
    assert_int_equal(fu_image_decode(NULL, b->p, b->n, 1 << 30, 0, &rgb, &pr, err), FACEUP_OK);
    *w = rgb.w;
    *h = rgb.h;
    uint8_t *px = malloc((size_t)rgb.w * rgb.h * 3);
    for (int y = 0; y < rgb.h; y++)
        memcpy(px + (size_t)y * rgb.w * 3, rgb.px + (size_t)y * rgb.stride, (size_t)rgb.w * 3);
    fu_image_free(&rgb);
    return px;
}

static void png_every_kind_turns_exactly_and_keeps_its_header(void **state)
{
    (void)state;
    static const int kinds[][3] = {
        {8, PNG_COLOR_TYPE_RGB, 0},  {16, PNG_COLOR_TYPE_RGB, 0}, {8, PNG_COLOR_TYPE_RGB_ALPHA, 0},
        {4, PNG_COLOR_TYPE_PALETTE, 0}, {1, PNG_COLOR_TYPE_GRAY, 0}, {16, PNG_COLOR_TYPE_GRAY, 0},
        {8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_ADAM7},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        fu_buf in = make_png(13, 7, kinds[k][0], kinds[k][1], kinds[k][2], NULL, 0);
        int w, h, ow, oh;
        uint8_t *src = decode_png(&in, &w, &h);
        for (int i = 0; i < 8; i++) {
            fu_fix_plan plan = plan_of(element(i), 1, 0);
            fu_buf out;
            faceup_fix_path path;
            char err[FU_ERRLEN] = "";
            assert_int_equal(fu_fix_png(in.p, in.n, &plan, &out, &path, err), FACEUP_OK);
            assert_int_equal(path, FACEUP_FIX_LOSSLESS);
            /* same depth, colour type and interlacing: IHDR bytes 8.. after width/height */
            assert_memory_equal(out.p + 24, in.p + 24, 5);
            uint8_t *got = decode_png(&out, &ow, &oh);
            uint8_t *want = malloc((size_t)w * h * 3);
            fu_d4_rows(element(i), src, w, h, (size_t)w * 3, 3, 0, oh, want, (size_t)ow * 3);
            assert_memory_equal(got, want, (size_t)w * h * 3);
            free(got);
            free(want);
            fu_buf_free(&out);
        }
        free(src);
        fu_buf_free(&in);
    }
}

static void png_exif_is_patched_in_place_with_its_crc(void **state)
{
    (void)state;
    uint8_t tiff[128];
    size_t n = make_tiff(tiff, 1, 8, 13, 7);
    fu_buf in = make_png(13, 7, 8, PNG_COLOR_TYPE_RGB, 0, tiff, n);
    fu_fix_plan plan = plan_of(fu_d4_compose(fu_d4_turn_cw(-270), fu_d4_from_exif(8)), 1, 8);
    assert_true(fu_d4_is_identity(plan.t));
    fu_buf out;
    faceup_fix_path path;
    char err[FU_ERRLEN] = "";
    assert_int_equal(fu_fix_png(in.p, in.n, &plan, &out, &path, err), FACEUP_OK);
    assert_int_equal(out.n, in.n);
    int diff = 0;
    for (size_t i = 0; i < in.n; i++)
        diff += in.p[i] != out.p[i];
    /* the value and the chunk's CRC; libpng 1.6.39 writes the eXIf chunk twice (before and
     * after IDAT), and both are patched */
    assert_true(diff >= 1 && diff <= 2 * (1 + 4));
    int found;
    assert_int_equal(fu_png_patch_exif(out.p, out.n, 0, 0, &found), 0);
    assert_int_equal(found, 1);
    fu_probe pr;
    assert_int_equal(fu_image_probe(out.p, out.n, 1 << 30, &pr, err), FACEUP_OK); /* CRC ok */
    fu_buf_free(&out);
    fu_buf_free(&in);
}

static void png_damaged_or_animated_inputs_are_errors(void **state)
{
    (void)state;
    fu_buf in = make_png(16, 16, 8, PNG_COLOR_TYPE_RGB, 0, NULL, 0);
    fu_fix_plan plan = plan_of(fu_d4_turn_cw(90), 1, 0);
    fu_buf out;
    faceup_fix_path path;
    char err[FU_ERRLEN];
    for (size_t cut = 0; cut < in.n; cut += 7)
        assert_int_not_equal(fu_fix_png(in.p, cut, &plan, &out, &path, err), FACEUP_OK);
    /* an acTL chunk right after IHDR */
    fu_buf apng = {0};
    static const uint8_t actl[20] = {0, 0, 0, 8, 'a', 'c', 'T', 'L', 0, 0, 0, 1, 0, 0, 0, 0};
    fu_buf_put(&apng, in.p, 33);
    fu_buf_put(&apng, actl, sizeof actl);
    fu_buf_put(&apng, in.p + 33, in.n - 33);
    assert_int_equal(fu_fix_png(apng.p, apng.n, &plan, &out, &path, err), FACEUP_ERR_FORMAT);
    fu_buf_free(&apng);
    fu_buf_free(&in);
}

/* Lossless with a varying alpha; lossy without alpha (a plain "VP8 " chunk). */
static fu_buf make_webp(int w, int h, int lossless, float quality)
{
    uint8_t *px = pattern(w, h, 4);
    uint8_t *webp = NULL;
    size_t n = lossless ? WebPEncodeLosslessRGBA(px, w, h, w * 4, &webp)
                        : WebPEncodeRGB(px, w, h, w * 3, quality, &webp);
    assert_true(n > 0);
    fu_buf b = {0};
    fu_buf_put(&b, webp, n);
    WebPFree(webp);
    free(px);
    return b;
}

static void webp_lossless_turns_exactly(void **state)
{
    (void)state;
    fu_buf in = make_webp(21, 9, 1, 0);
    int w, h, ow, oh;
    uint8_t *src = WebPDecodeRGBA(in.p, in.n, &w, &h);
    for (int i = 0; i < 8; i++) {
        fu_fix_plan plan = plan_of(element(i), 1, 0);
        fu_buf out;
        faceup_fix_path path;
        char err[FU_ERRLEN] = "";
        assert_int_equal(fu_fix_webp(in.p, in.n, &plan, &out, &path, err), FACEUP_OK);
        assert_int_equal(path, FACEUP_FIX_LOSSLESS);
        uint8_t *got = WebPDecodeRGBA(out.p, out.n, &ow, &oh);
        uint8_t *want = malloc((size_t)w * h * 4);
        fu_d4_rows(element(i), src, w, h, (size_t)w * 4, 4, 0, oh, want, (size_t)ow * 4);
        assert_memory_equal(got, want, (size_t)w * h * 4);
        WebPFree(got);
        free(want);
        fu_buf_free(&out);
    }
    WebPFree(src);
    fu_buf_free(&in);
}

/* A chunk named "\0\0\0\0" (libwebp's mux asserts on it; found by fuzz_fix) or any other
 * name that is not text: the file is refused as damaged, nothing written. A chunk with an
 * unknown but proper name is kept. */
static void webp_chunk_names_must_be_text(void **state)
{
    (void)state;
    static const char *const names[] = {"\0\0\0\0", "AB\x01D", "\xff\xffXY", "ABCD"};
    for (int k = 0; k < 4; k++) {
        fu_buf in = make_webp(21, 9, 1, 0);
        uint8_t extra[10] = {0};
        memcpy(extra, names[k], 4);
        extra[4] = 2;   /* two bytes of payload */
        fu_buf_put(&in, extra, sizeof extra);
        uint32_t riff = (uint32_t)in.n - 8;
        for (int i = 0; i < 4; i++)
            in.p[4 + i] = (uint8_t)(riff >> (8 * i));
        fu_fix_plan plan = plan_of(element(1), 1, 0);
        fu_buf out;
        faceup_fix_path path;
        char err[FU_ERRLEN] = "";
        int rc = fu_fix_webp(in.p, in.n, &plan, &out, &path, err);
        if (k < 3) {
            assert_int_equal(rc, FACEUP_ERR_DECODE);
            assert_non_null(strstr(err, "name is not text"));
            assert_int_equal(out.n, 0);
        } else {
            assert_int_equal(rc, FACEUP_OK);
            int kept = 0;
            for (size_t i = 0; i + 4 <= out.n && !kept; i++)
                kept = memcmp(out.p + i, "ABCD", 4) == 0;
            assert_true(kept);
        }
        fu_buf_free(&out);
        fu_buf_free(&in);
    }
}

static void webp_lossy_quality_is_estimated_from_the_header(void **state)
{
    (void)state;
    static const float q[] = {20, 50, 75, 90, 100};
    for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
        fu_buf in = make_webp(64, 64, 0, q[i]);
        assert_memory_equal(in.p + 12, "VP8 ", 4);
        float est = fu_webp_estimate_quality(in.p + 20, in.n - 20);
        assert_true(fabsf(est - q[i]) < 15); /* see fu_webp_estimate_quality */
        fu_fix_plan plan = plan_of(fu_d4_turn_cw(90), 1, 0);
        fu_buf out;
        faceup_fix_path path;
        char err[FU_ERRLEN] = "";
        assert_int_equal(fu_fix_webp(in.p, in.n, &plan, &out, &path, err), FACEUP_OK);
        assert_int_equal(path, FACEUP_FIX_REENCODED);
        assert_memory_equal(out.p + 12, "VP8 ", 4);
        /* at the same quality, about the same size */
        assert_true(out.n < in.n * 3 / 2 && out.n > in.n * 2 / 3);
        fu_buf_free(&out);
        fu_buf_free(&in);
    }
    uint8_t junk[16] = {0};
    assert_true(fu_webp_estimate_quality(junk, 4) < 0);
}

/* ---- the policy (fu_fix_apply) ----------------------------------------------------------- */

static void apply_with_nothing_to_do_returns_the_input_bytes(void **state)
{
    (void)state;
    faceup *h = faceup_create();
    fu_buf in = make_jpeg(64, 48, TJSAMP_420, TJPF_RGB);
    add_metadata(&in, 1, 64, 48);
    fu_probe pr = jpeg_probe(64, 48, 1);
    faceup_fixed f = {0};
    /* decided upright, and undecided: the same bytes back */
    for (int ccw = -1; ccw <= 0; ccw++) {
        assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, ccw, &f), FACEUP_OK);
        assert_int_equal(f.path, FACEUP_FIX_UNCHANGED);
        assert_int_equal(f.size, in.n);
        assert_memory_equal(f.data, in.p, in.n);
        free(f.data);
    }
    /* undecided leaves an EXIF turn alone too */
    pr.exif_orientation = 6;
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, -1, &f), FACEUP_OK);
    assert_int_equal(f.path, FACEUP_FIX_UNCHANGED);
    assert_int_equal(f.rotated, 0);
    free(f.data);
    fu_buf_free(&in);
    faceup_destroy(h);
}

static void apply_folds_exif_and_the_turn_into_one_transform(void **state)
{
    (void)state;
    faceup *h = faceup_create();
    fu_buf in = make_jpeg(64, 48, TJSAMP_420, TJPF_RGB);
    add_metadata(&in, 6, 64, 48);
    fu_probe pr = jpeg_probe(64, 48, 6);
    faceup_fixed f = {0};
    /* EXIF 6 shows the picture turned 90 clockwise; the detector says the display is turned 90
     * clockwise: the stored pixels are upright already, only the tag changes */
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, 90, &f), FACEUP_OK);
    assert_int_equal(f.path, FACEUP_FIX_LOSSLESS);
    assert_int_equal(f.rotated, 270);
    assert_int_equal(f.exif_transform, 6);
    assert_int_equal(f.size, in.n);
    int diff = 0;
    for (size_t i = 0; i < in.n; i++)
        diff += f.data[i] != in.p[i];
    assert_int_equal(diff, 1);
    free(f.data);
    /* the display is upright (detector 0): by default (--exif keep) it is left as it is */
    assert_int_equal(faceup_get_param(h, FACEUP_PARAM_BAKE_EXIF), 0);
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, 0, &f), FACEUP_OK);
    assert_int_equal(f.path, FACEUP_FIX_UNCHANGED);
    assert_int_equal(f.exif_transform, 0);
    assert_int_equal(f.size, in.n);
    assert_memory_equal(f.data, in.p, in.n);
    free(f.data);
    /* --exif bake: the EXIF turn goes into the pixels, tag 1 */
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_BAKE_EXIF, 2), FACEUP_ERR_ARGUMENT);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_BAKE_EXIF, 1), FACEUP_OK);
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, 0, &f), FACEUP_OK);
    assert_int_equal(f.path, FACEUP_FIX_LOSSLESS);
    assert_int_equal(f.exif_transform, 6);
    assert_int_equal(f.rotated, 0);
    int w, hh, ss, cs;
    tjhandle tj = tjInitDecompress();
    assert_int_equal(tjDecompressHeader3(tj, f.data, f.size, &w, &hh, &ss, &cs), 0);
    tjDestroy(tj);
    assert_int_equal(w, 48);
    assert_int_equal(hh, 64);
    int found;
    assert_int_equal(fu_jpeg_patch_exif(f.data, f.size, 0, 0, &found), 0);
    assert_int_equal(found, 1);
    free(f.data);
    /* bad arguments */
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, 45, &f), FACEUP_ERR_ARGUMENT);
    faceup_set_param(h, FACEUP_PARAM_MAX_BYTES, 100);
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, 0, &f),
                     FACEUP_ERR_TOO_MANY_BYTES);
    fu_buf_free(&in);
    faceup_destroy(h);
}

/* Stripping the metadata drops the EXIF Orientation tag: an image whose tag is not baked in
 * (undecided, or upright under --exif keep) would then show turned. The tag is baked instead. */
static void apply_strip_metadata_bakes_a_tag_it_would_drop(void **state)
{
    (void)state;
    faceup *h = faceup_create();
    fu_buf in = make_jpeg(64, 48, TJSAMP_420, TJPF_RGB);
    add_metadata(&in, 6, 64, 48);
    fu_probe pr = jpeg_probe(64, 48, 6);
    faceup_set_param(h, FACEUP_PARAM_KEEP_METADATA, 0);
    for (int turn = -1; turn <= 0; turn++) { /* undecided; upright as displayed */
        faceup_fixed f = {0};
        assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, turn, &f), FACEUP_OK);
        assert_int_equal(f.path, FACEUP_FIX_LOSSLESS);
        assert_int_equal(f.exif_transform, 6);
        assert_int_equal(f.rotated, 0);
        fu_probe out;
        char err[FU_ERRLEN];
        assert_int_equal(fu_image_probe(f.data, f.size, 1 << 30, &out, err), FACEUP_OK);
        assert_int_equal(out.width, 48); /* stored as it was displayed */
        assert_int_equal(out.height, 64);
        assert_int_equal(out.exif_orientation, 0);
        free(f.data);
    }
    fu_buf_free(&in);
    faceup_destroy(h);
}

/* A multi-picture JPEG as phones write them: an APP2 "MPF" index, and a second JPEG (the gain
 * map, here a small one) after the first one's EOI. */
static fu_buf make_mpf_jpeg(int w, int h, int flags)
{
    static const uint8_t mpf[] = {'M', 'P', 'F', 0, 'I', 'I', 42, 0, 8, 0, 0, 0,
                                  1, 0, 0x00, 0xB0, 7, 0, 4, 0, 0, 0, '0', '1', '0', '0',
                                  0, 0, 0, 0};
    fu_buf jpg = make_jpeg_flags(w, h, TJSAMP_420, TJPF_RGB, flags);
    fu_buf second = make_jpeg(16, 16, TJSAMP_444, TJPF_RGB);
    insert_segment(&jpg, 0xE2, mpf, sizeof mpf);
    assert_int_equal(fu_buf_put(&jpg, second.p, second.n), FACEUP_OK);
    fu_buf_free(&second);
    return jpg;
}

static void jpeg_extras_finds_the_mpf_index_and_what_follows_the_picture(void **state)
{
    (void)state;
    fu_buf plain = make_jpeg(64, 48, TJSAMP_420, TJPF_RGB);
    assert_int_equal(fu_jpeg_extras(plain.p, plain.n), 0);
    static const uint8_t pad[] = {0, 0, 0xFF, 0xFF}; /* padding after EOI is nothing */
    assert_int_equal(fu_buf_put(&plain, pad, sizeof pad), FACEUP_OK);
    assert_int_equal(fu_jpeg_extras(plain.p, plain.n), 0);
    for (int progressive = 0; progressive < 2; progressive++) {
        fu_buf mpf = make_mpf_jpeg(64, 48, progressive ? TJFLAG_PROGRESSIVE : 0);
        assert_int_equal(fu_jpeg_extras(mpf.p, mpf.n), FACEUP_DROPPED_MPF | FACEUP_DROPPED_TRAILER);
        /* cut inside the first picture's scan: no end, so no trailer is claimed */
        assert_int_equal(fu_jpeg_extras(mpf.p, mpf.n / 2), FACEUP_DROPPED_MPF);
        fu_buf_free(&mpf);
    }
    static const uint8_t junk[] = "not a JPEG at all";
    assert_int_equal(fu_jpeg_extras(junk, sizeof junk), 0);
    assert_int_equal(fu_jpeg_extras(junk, 0), 0);
    fu_buf_free(&plain);
}

/* A turned picture cannot keep its secondary images consistently: they are dropped, and said
 * so; a tag patched in place keeps them byte for byte. */
static void apply_reports_the_mpf_images_it_drops(void **state)
{
    (void)state;
    faceup *h = faceup_create();
    fu_buf in = make_mpf_jpeg(64, 48, 0);
    fu_probe pr = jpeg_probe(64, 48, 0);
    faceup_fixed f = {0};
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, 90, &f), FACEUP_OK);
    assert_int_equal(f.path, FACEUP_FIX_LOSSLESS);
    assert_int_equal(f.dropped, FACEUP_DROPPED_MPF | FACEUP_DROPPED_TRAILER);
    assert_int_equal(fu_jpeg_extras(f.data, f.size), 0);
    free(f.data);
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, -1, &f), FACEUP_OK);
    assert_int_equal(f.path, FACEUP_FIX_UNCHANGED);
    assert_int_equal(f.dropped, 0);
    free(f.data);
    /* EXIF 6 and a detected 90 cancel: only the tag changes, everything else is kept */
    fu_buf_free(&in);
    in = make_mpf_jpeg(64, 48, 0);
    add_metadata(&in, 6, 64, 48);
    pr.exif_orientation = 6;
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, 90, &f), FACEUP_OK);
    assert_int_equal(f.path, FACEUP_FIX_LOSSLESS);
    assert_int_equal(f.dropped, 0);
    assert_int_equal(f.size, in.n);
    assert_int_equal(fu_jpeg_extras(f.data, f.size), FACEUP_DROPPED_MPF | FACEUP_DROPPED_TRAILER);
    free(f.data);
    /* a change of format keeps neither */
    faceup_set_param(h, FACEUP_PARAM_OUTPUT_FORMAT, FACEUP_FORMAT_PNG);
    assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, 90, &f), FACEUP_OK);
    assert_int_equal(f.dropped, FACEUP_DROPPED_MPF | FACEUP_DROPPED_TRAILER);
    free(f.data);
    assert_string_equal(faceup_dropped_str(FACEUP_DROPPED_MPF), "mpf");
    assert_string_equal(faceup_dropped_str(FACEUP_DROPPED_TRAILER), "trailing_data");
    assert_string_equal(faceup_dropped_str(3), "unknown");
    fu_buf_free(&in);
    faceup_destroy(h);
}

static void apply_converts_to_another_format_with_metadata(void **state)
{
    (void)state;
    faceup *h = faceup_create();
    fu_buf in = make_jpeg(64, 48, TJSAMP_420, TJPF_RGB);
    add_metadata(&in, 1, 64, 48);
    fu_probe pr = jpeg_probe(64, 48, 1);
    static const faceup_format targets[] = {FACEUP_FORMAT_PNG, FACEUP_FORMAT_WEBP};
    for (int i = 0; i < 2; i++) {
        faceup_set_param(h, FACEUP_PARAM_OUTPUT_FORMAT, targets[i]);
        faceup_fixed f = {0};
        assert_int_equal(fu_fix_apply(h, "faceup_fix", in.p, in.n, &pr, 90, &f), FACEUP_OK);
        assert_int_equal(f.format, targets[i]);
        assert_int_equal(f.path, FACEUP_FIX_REENCODED);
        fu_probe out;
        char err[FU_ERRLEN];
        assert_int_equal(fu_image_probe(f.data, f.size, 1 << 30, &out, err), FACEUP_OK);
        assert_int_equal(out.format, targets[i]);
        assert_int_equal(out.width, 48); /* turned counter-clockwise */
        assert_int_equal(out.exif_orientation, 1);
        free(f.data);
    }
    fu_buf_free(&in);
    faceup_destroy(h);
}

static void apply_lossless_only_hands_back_what_would_be_reencoded(void **state)
{
    (void)state;
    faceup *h = faceup_create();
    assert_int_equal(faceup_get_param(h, FACEUP_PARAM_LOSSLESS_ONLY), 0);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_LOSSLESS_ONLY, 2), FACEUP_ERR_ARGUMENT);
    fu_buf whole = make_jpeg(64, 48, TJSAMP_420, TJPF_RGB);   /* whole MCUs: lossless */
    fu_buf partial = make_jpeg(60, 44, TJSAMP_420, TJPF_RGB); /* a turn needs a re-encode */
    fu_probe pw = jpeg_probe(64, 48, 0), pp = jpeg_probe(60, 44, 0);
    faceup_fixed f = {0};
    assert_int_equal(fu_fix_apply(h, "faceup_fix", partial.p, partial.n, &pp, 90, &f), FACEUP_OK);
    assert_int_equal(f.path, FACEUP_FIX_REENCODED);
    assert_int_equal(f.reencode_refused, 0);
    free(f.data);

    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_LOSSLESS_ONLY, 1), FACEUP_OK);
    assert_int_equal(fu_fix_apply(h, "faceup_fix", partial.p, partial.n, &pp, 90, &f), FACEUP_OK);
    assert_int_equal(f.path, FACEUP_FIX_UNCHANGED);
    assert_int_equal(f.reencode_refused, 1);
    assert_int_equal(f.rotated, 0);
    assert_int_equal(f.size, partial.n);
    assert_memory_equal(f.data, partial.p, partial.n);
    free(f.data);
    /* what is lossless is still done */
    assert_int_equal(fu_fix_apply(h, "faceup_fix", whole.p, whole.n, &pw, 90, &f), FACEUP_OK);
    assert_int_equal(f.path, FACEUP_FIX_LOSSLESS);
    assert_int_equal(f.reencode_refused, 0);
    assert_int_equal(f.rotated, 270);
    free(f.data);
    /* a change of format is a re-encode */
    faceup_set_param(h, FACEUP_PARAM_OUTPUT_FORMAT, FACEUP_FORMAT_PNG);
    assert_int_equal(fu_fix_apply(h, "faceup_fix", whole.p, whole.n, &pw, 90, &f), FACEUP_OK);
    assert_int_equal(f.path, FACEUP_FIX_UNCHANGED);
    assert_int_equal(f.format, FACEUP_FORMAT_JPEG);
    assert_int_equal(f.reencode_refused, 1);
    assert_memory_equal(f.data, whole.p, whole.n);
    free(f.data);
    fu_buf_free(&whole);
    fu_buf_free(&partial);
    faceup_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(d4_compose_is_applying_one_after_the_other),
        cmocka_unit_test(d4_inverse_undoes_and_exif_values_round_trip),
        cmocka_unit_test(d4_exif_values_follow_the_specification),
        cmocka_unit_test(d4_rows_moves_whole_pixels_of_any_size),
        cmocka_unit_test(exif_patch_changes_only_orientation_and_dimensions),
        cmocka_unit_test(exif_patch_rejects_malformed_blocks_untouched),
        cmocka_unit_test(jpeg_every_transform_is_lossless_when_mcus_are_whole),
        cmocka_unit_test(jpeg_four_quarter_turns_give_back_every_coefficient),
        cmocka_unit_test(jpeg_output_is_byte_stable),
        cmocka_unit_test(jpeg_partial_mcus_are_reencoded_never_dropped),
        cmocka_unit_test(jpeg_cmyk_is_turned_too),
        cmocka_unit_test(jpeg_metadata_is_kept_byte_for_byte_but_the_tag),
        cmocka_unit_test(jpeg_with_an_unpatchable_tag_is_refused),
        cmocka_unit_test(jpeg_damaged_inputs_are_errors),
        cmocka_unit_test(png_every_kind_turns_exactly_and_keeps_its_header),
        cmocka_unit_test(png_exif_is_patched_in_place_with_its_crc),
        cmocka_unit_test(png_damaged_or_animated_inputs_are_errors),
        cmocka_unit_test(webp_lossless_turns_exactly),
        cmocka_unit_test(webp_chunk_names_must_be_text),
        cmocka_unit_test(webp_lossy_quality_is_estimated_from_the_header),
        cmocka_unit_test(apply_with_nothing_to_do_returns_the_input_bytes),
        cmocka_unit_test(apply_folds_exif_and_the_turn_into_one_transform),
        cmocka_unit_test(apply_converts_to_another_format_with_metadata),
        cmocka_unit_test(apply_lossless_only_hands_back_what_would_be_reencoded),
        cmocka_unit_test(apply_strip_metadata_bakes_a_tag_it_would_drop),
        cmocka_unit_test(jpeg_extras_finds_the_mpf_index_and_what_follows_the_picture),
        cmocka_unit_test(apply_reports_the_mpf_images_it_drops),
        cmocka_unit_test(exif_patch_unlinks_the_thumbnail_only_when_asked),
        cmocka_unit_test(apply_drops_the_exif_thumbnail_of_turned_pixels_and_says_so),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
