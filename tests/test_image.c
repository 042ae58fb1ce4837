/*
 * test_image.c - the image layer: probing, decoding, EXIF, turning, scaling and cropping
 * (codec/, geom/).
 *
 * Fixtures in tests/fixtures/ come from tests/make_fixtures.py (see there for how each
 * expected .rgb was obtained). Bad inputs are built here, byte by byte.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec/codec.h"
#include "codec/exif.h"
#include "codec/format.h"

#include <libheif/heif.h>
#include "geom/image.h"
#include "geom/resize.h"

#ifndef FU_FIXTURES
#define FU_FIXTURES "tests/fixtures"
#endif
#ifndef FU_SAMPLES
#define FU_SAMPLES "samples"
#endif

#define LIMIT 100000000LL /* the handle's default FACEUP_PARAM_MAX_PIXELS */

/* ---- helpers ----------------------------------------------------------------------------- */

struct blob {
    uint8_t *data;
    size_t size;
};

static struct blob load(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    struct blob b = {NULL, 0};
    size_t cap = 0;
    for (;;) {
        if (b.size == cap) {
            cap = cap ? 2 * cap : 65536;
            b.data = realloc(b.data, cap);
            assert_non_null(b.data);
        }
        size_t got = fread(b.data + b.size, 1, cap - b.size, f);
        if (got == 0)
            break;
        b.size += got;
    }
    fclose(f);
    return b;
}

static struct blob fixture(const char *name) { return load(FU_FIXTURES, name); }

static int decode(struct blob b, int min_side, fu_image *img, fu_probe *info)
{
    char err[FU_ERRLEN];
    return fu_image_decode(NULL, b.data, b.size, LIMIT, min_side, img, info, err);
}

static int max_abs_diff(const fu_image *img, const uint8_t *want)
{
    int worst = 0;
    for (int y = 0; y < img->h; y++)
        for (int x = 0; x < 3 * img->w; x++) {
            int d = abs(img->px[(size_t)y * img->stride + x] - want[(size_t)y * 3 * img->w + x]);
            worst = d > worst ? d : worst;
        }
    return worst;
}

/* Decode `name` and compare with name's .rgb, allowing `tolerance` per sample. */
static void assert_decodes_to_expected(const char *name, int tolerance)
{
    char rgb[256];
    snprintf(rgb, sizeof rgb, "%.*s.rgb", (int)(strrchr(name, '.') - name), name);
    struct blob in = fixture(name), want = fixture(rgb);
    fu_image img = {0};
    char err[FU_ERRLEN];
    int rc = fu_image_decode(NULL, in.data, in.size, LIMIT, 0, &img, NULL, err);
    if (rc != FACEUP_OK)
        fail_msg("%s: status %d: %s", name, rc, err);
    assert_int_equal(img.stride, 3 * img.w);
    assert_int_equal((size_t)img.w * img.h * 3, want.size);
    int diff = max_abs_diff(&img, want.data);
    if (diff > tolerance)
        fail_msg("%s: differs from %s by %d (allowed %d)", name, rgb, diff, tolerance);
    fu_image_free(&img);
    free(in.data);
    free(want.data);
}

/* The upright pattern of make_fixtures.py: 6x4 blocks of 8x8 pixels, each its own colour. */
#define PW 48
#define PH 32
static void pattern_px(int x, int y, uint8_t rgb[3])
{
    int bx = x / 8, by = y / 8;
    rgb[0] = (uint8_t)(20 + 40 * bx);
    rgb[1] = (uint8_t)(30 + 60 * by);
    rgb[2] = (uint8_t)(10 * (bx + 6 * by) + 5);
}

static int pattern_diff(const fu_image *img)
{
    assert_int_equal(img->w, PW);
    assert_int_equal(img->h, PH);
    int worst = 0;
    for (int y = 0; y < PH; y++)
        for (int x = 0; x < PW; x++) {
            uint8_t want[3];
            pattern_px(x, y, want);
            for (int c = 0; c < 3; c++) {
                int d = abs(img->px[(size_t)y * img->stride + 3 * x + c] - want[c]);
                worst = d > worst ? d : worst;
            }
        }
    return worst;
}

/* A small image whose pixels are labels: pixel k is (k, k+1, k+2). */
static fu_image labelled(int w, int h, const int *labels, int pad)
{
    size_t bytes = (size_t)(3 * w + pad) * h;
    fu_image img = {malloc(bytes), w, h, 3 * w + pad, bytes};
    assert_non_null(img.px);
    memset(img.px, 0xee, (size_t)(3 * w + pad) * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                img.px[y * img.stride + 3 * x + c] = (uint8_t)(labels[y * w + x] + c);
    return img;
}

static void assert_labels(const fu_image *img, int w, int h, const int *labels)
{
    assert_int_equal(img->w, w);
    assert_int_equal(img->h, h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++)
                if (img->px[y * img->stride + 3 * x + c] != labels[y * w + x] + c)
                    fail_msg("pixel (%d,%d) is %d, want label %d", x, y,
                             img->px[y * img->stride + 3 * x], labels[y * w + x]);
}

static uint32_t crc32_png(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
    }
    return c ^ 0xffffffffu;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Signature + a valid IHDR of w x h, depth, colour type and interlace + IEND. */
static size_t png_header(uint8_t buf[64], uint32_t w, uint32_t h, int depth, int colour,
                         int interlace)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(buf, sig, 8);
    put32(buf + 8, 13);
    memcpy(buf + 12, "IHDR", 4);
    put32(buf + 16, w);
    put32(buf + 20, h);
    buf[24] = (uint8_t)depth, buf[25] = (uint8_t)colour, buf[26] = 0, buf[27] = 0;
    buf[28] = (uint8_t)interlace;
    put32(buf + 29, crc32_png(buf + 12, 17));
    put32(buf + 33, 0);
    memcpy(buf + 37, "IEND", 4);
    put32(buf + 41, crc32_png(buf + 37, 4));
    return 45;
}

/* The same for 8-bit RGB, not interlaced: a header and nothing to decode. */
static size_t png_header_only(uint8_t buf[64], uint32_t w, uint32_t h)
{
    return png_header(buf, w, h, 8, 2, 0);
}

/* ---- probe ------------------------------------------------------------------------------- */

static void probe_reports_format_size_and_lossiness(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        faceup_format format;
        int w, h, lossy;
    } cases[] = {
        {"orient_1.jpg", FACEUP_FORMAT_JPEG, 48, 32, 1},
        {"gray.jpg", FACEUP_FORMAT_JPEG, 40, 30, 1},
        {"rgb8.png", FACEUP_FORMAT_PNG, 13, 11, 0},
        {"wide.png", FACEUP_FORMAT_PNG, 1000001, 1, 0},
        {"webp_lossless.webp", FACEUP_FORMAT_WEBP, 48, 32, 0},
        {"webp_lossy.webp", FACEUP_FORMAT_WEBP, 40, 30, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct blob b = fixture(cases[i].name);
        fu_probe p;
        char err[FU_ERRLEN];
        int rc = fu_image_probe(b.data, b.size, LIMIT, &p, err);
        if (rc != FACEUP_OK)
            fail_msg("%s: %d %s", cases[i].name, rc, err);
        assert_int_equal(p.format, cases[i].format);
        assert_int_equal(p.width, cases[i].w);
        assert_int_equal(p.height, cases[i].h);
        assert_int_equal(p.lossy, cases[i].lossy);
        assert_int_equal(p.exif_orientation, cases[i].name[0] == 'o' ? 1 : 0);
        free(b.data);
    }
}

static void probe_reads_exif_orientation_of_every_format(void **state)
{
    (void)state;
    static const char *const ext[] = {"jpg", "png", "webp"};
    for (int o = 1; o <= 8; o++)
        for (int e = 0; e < 3; e++) {
            char name[64];
            snprintf(name, sizeof name, "orient_%d.%s", o, ext[e]);
            struct blob b = fixture(name);
            fu_probe p;
            char err[FU_ERRLEN];
            assert_int_equal(fu_image_probe(b.data, b.size, LIMIT, &p, err), FACEUP_OK);
            if (p.exif_orientation != o)
                fail_msg("%s: orientation %d", name, p.exif_orientation);
            /* stored turned a quarter for 5..8 */
            assert_int_equal(p.width, o >= 5 ? PH : PW);
            assert_int_equal(p.height, o >= 5 ? PW : PH);
            free(b.data);
        }
}

static void pixel_limit_is_inclusive_and_checked_by_probe_and_decode(void **state)
{
    (void)state;
    struct blob b = fixture("orient_1.png"); /* 48 x 32 = 1536 pixels */
    fu_probe p;
    fu_image img = {0};
    char err[FU_ERRLEN];
    assert_int_equal(fu_image_probe(b.data, b.size, 1536, &p, err), FACEUP_OK);
    assert_int_equal(fu_image_probe(b.data, b.size, 1535, &p, err), FACEUP_ERR_TOO_MANY_PIXELS);
    assert_int_equal(fu_image_decode(NULL, b.data, b.size, 1535, 0, &img, NULL, err),
                     FACEUP_ERR_TOO_MANY_PIXELS);
    assert_null(img.px);
    assert_int_equal(fu_image_decode(NULL, b.data, b.size, 1536, 0, &img, NULL, err), FACEUP_OK);
    fu_image_free(&img);
    assert_int_equal(fu_image_probe(b.data, b.size, 0, &p, err), FACEUP_ERR_ARGUMENT);
    free(b.data);
}

/* ---- decode ------------------------------------------------------------------------------ */

static void png_every_colour_type_and_depth_decodes_exactly(void **state)
{
    (void)state;
    static const char *const names[] = {
        "rgb8.png",  "rgb16.png",  "rgba8.png", "rgba16.png", "gray8.png",
        "gray16.png", "gray1.png", "gray4.png", "graya8.png", "pal8.png",
        "pal4_trns.png", "rgb8_trns.png", "rgb8_adam7.png", "rgba16_adam7.png",
        "pal4_trns_adam7.png",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        assert_decodes_to_expected(names[i], 0);
}

static void png_wider_than_libpng_default_limit_decodes(void **state)
{
    (void)state;
    struct blob b = fixture("wide.png");
    fu_image img = {0};
    assert_int_equal(decode(b, 0, &img, NULL), FACEUP_OK);
    assert_int_equal(img.w, 1000001);
    assert_int_equal(img.h, 1);
    for (int x = 0; x < img.w; x += 4999)
        assert_int_equal(img.px[3 * x + 1], x & 255);
    fu_image_free(&img);
    free(b.data);
}

static void webp_lossless_is_exact_and_lossy_is_close(void **state)
{
    (void)state;
    assert_decodes_to_expected("webp_lossless.webp", 0);
    assert_decodes_to_expected("webp_alpha.webp", 0); /* alpha over black */
    assert_decodes_to_expected("webp_lossy.webp", 3);
}

static void jpeg_colour_gray_progressive_and_cmyk_match_pillow(void **state)
{
    (void)state;
    assert_decodes_to_expected("rgb420.jpg", 2);
    assert_decodes_to_expected("progressive.jpg", 2);
    assert_decodes_to_expected("gray.jpg", 1);
    assert_decodes_to_expected("cmyk.jpg", 2); /* Adobe inverted CMYK */

    struct blob b = fixture("gray.jpg");
    fu_image img = {0};
    assert_int_equal(decode(b, 0, &img, NULL), FACEUP_OK);
    for (size_t i = 0; i < (size_t)img.w * img.h; i++) {
        assert_int_equal(img.px[3 * i], img.px[3 * i + 1]);
        assert_int_equal(img.px[3 * i], img.px[3 * i + 2]);
    }
    fu_image_free(&img);
    free(b.data);
}

static void jpeg_reduced_decode_picks_smallest_scale_keeping_min_side(void **state)
{
    (void)state;
    /* 48 x 32 scaled by 1/8, 1/4, 3/8, 1/2, 5/8, 3/4, 7/8, 1 */
    static const struct {
        int min_side, w, h;
    } cases[] = {
        {0, 48, 32},  {1, 6, 4},    {4, 6, 4},    {5, 12, 8},   {8, 12, 8},
        {9, 18, 12},  {12, 18, 12}, {13, 24, 16}, {16, 24, 16}, {17, 30, 20},
        {21, 36, 24}, {24, 36, 24}, {25, 42, 28}, {29, 48, 32}, {1000, 48, 32},
    };
    struct blob b = fixture("orient_1.jpg");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fu_image img = {0};
        fu_probe info;
        assert_int_equal(decode(b, cases[i].min_side, &img, &info), FACEUP_OK);
        if (img.w != cases[i].w || img.h != cases[i].h)
            fail_msg("min_side %d: got %dx%d, want %dx%d", cases[i].min_side, img.w, img.h,
                     cases[i].w, cases[i].h);
        assert_int_equal(info.width, 48); /* the probe reports the stored size */
        fu_image_free(&img);
    }
    /* At 1/8 each pixel is the DC of one 8x8 block: the block's colour. */
    fu_image img = {0};
    assert_int_equal(decode(b, 4, &img, NULL), FACEUP_OK);
    for (int by = 0; by < 4; by++)
        for (int bx = 0; bx < 6; bx++) {
            uint8_t want[3];
            pattern_px(8 * bx, 8 * by, want);
            for (int c = 0; c < 3; c++)
                assert_true(abs(img.px[by * img.stride + 3 * bx + c] - want[c]) <= 4);
        }
    fu_image_free(&img);
    free(b.data);

    b = load(FU_SAMPLES, "grace_hopper.jpg"); /* 512 x 600 */
    fu_probe info;
    assert_int_equal(decode(b, 160, &img, &info), FACEUP_OK);
    assert_int_equal(img.w, 192); /* 3/8; 1/4 would be 128 wide */
    assert_int_equal(img.h, 225);
    assert_int_equal(info.width, 512);
    assert_int_equal(info.height, 600);
    fu_image_free(&img);
    assert_int_equal(decode(b, 64, &img, NULL), FACEUP_OK);
    assert_int_equal(img.w, 64);
    assert_int_equal(img.h, 75);
    fu_image_free(&img);
    free(b.data);
}

/* The mean of the f x f block (cut at the edges) at (bx, by) of a w x h RGB reference. */
static void block_mean(const uint8_t *ref, int w, int h, int f, int bx, int by, int out[3])
{
    int n = 0, sum[3] = {0, 0, 0};
    for (int y = by * f; y < h && y < (by + 1) * f; y++)
        for (int x = bx * f; x < w && x < (bx + 1) * f; x++, n++)
            for (int k = 0; k < 3; k++)
                sum[k] += ref[(size_t)(y * w + x) * 3 + k];
    for (int k = 0; k < 3; k++)
        out[k] = (sum[k] + n / 2) / n;
}

/* PNG and WebP have no scaled decode of their own: with min_side they are reduced by the
 * largest whole factor f that keeps both sides >= min_side, each f x f block averaged (PNG
 * while reading its rows, WebP by libwebp's scaler), so a huge image is never held whole. */
static void decode_reduces_png_and_webp_by_whole_factors(void **state)
{
    (void)state;
    static const struct { const char *name; int tolerance; } cases[] = {
        {"rgb8.png", 0}, {"rgba16.png", 0}, {"gray4.png", 0}, {"pal8.png", 0},
        {"pal4_trns.png", 0}, {"rgb8_trns.png", 0}, {"webp_lossless.webp", 2},
        {"webp_alpha.webp", 2}, {"webp_lossy.webp", 255}, /* scaled in YUV 4:2:0: the size only */
    };
    /* PNG (13x11): f = 5, 3, 2, 1, with cut blocks at the edges. libwebp scales by exactly
     * w / ceil(w / f), so the WebP (48x32) factors divide both sides: f = 8, 4, 2, 1 */
    static const int png_sides[] = {2, 3, 5, 100}, webp_sides[] = {4, 8, 16, 100};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char rgb[256];
        snprintf(rgb, sizeof rgb, "%.*s.rgb", (int)(strrchr(cases[i].name, '.') - cases[i].name),
                 cases[i].name);
        struct blob b = fixture(cases[i].name), want = fixture(rgb);
        const int *min_sides = strstr(cases[i].name, ".webp") ? webp_sides : png_sides;
        for (size_t m = 0; m < sizeof png_sides / sizeof png_sides[0]; m++) {
            fu_image img = {0};
            fu_probe info;
            assert_int_equal(decode(b, min_sides[m], &img, &info), FACEUP_OK);
            int w = info.width, h = info.height, f = (w < h ? w : h) / min_sides[m];
            f = f < 1 ? 1 : f;
            assert_int_equal(img.w, (w + f - 1) / f);
            assert_int_equal(img.h, (h + f - 1) / f);
            assert_int_equal((size_t)w * h * 3, want.size);
            for (int y = 0; y < img.h; y++)
                for (int x = 0; x < img.w; x++) {
                    int mean[3];
                    block_mean(want.data, w, h, f, x, y, mean);
                    for (int k = 0; k < 3; k++)
                        if (abs(img.px[(size_t)y * img.stride + 3 * x + k] - mean[k]) >
                            cases[i].tolerance)
                            fail_msg("%s at min_side %d: (%d,%d) %d, block mean %d",
                                     cases[i].name, min_sides[m], x, y,
                                     img.px[(size_t)y * img.stride + 3 * x + k], mean[k]);
                }
            fu_image_free(&img);
        }
        free(b.data);
        free(want.data);
    }
    /* Adam7 fills rows in seven passes: decoded whole */
    struct blob b = fixture("rgb8_adam7.png");
    fu_image img = {0};
    fu_probe info;
    assert_int_equal(decode(b, 2, &img, &info), FACEUP_OK);
    assert_int_equal(img.w, info.width);
    assert_int_equal(img.h, info.height);
    fu_image_free(&img);
    free(b.data);
}

/* ---- EXIF and orientation ---------------------------------------------------------------- */

static void exif_orientation_turns_every_fixture_upright(void **state)
{
    (void)state;
    static const struct {
        const char *ext;
        int tolerance;
    } fmt[] = {{"png", 0}, {"webp", 0}, {"jpg", 8}};
    for (int o = 1; o <= 8; o++)
        for (int f = 0; f < 3; f++) {
            char name[64];
            snprintf(name, sizeof name, "orient_%d.%s", o, fmt[f].ext);
            struct blob b = fixture(name);
            fu_image stored = {0}, shown = {0};
            fu_probe info;
            assert_int_equal(decode(b, 0, &stored, &info), FACEUP_OK);
            assert_int_equal(fu_image_turn(&stored, fu_d4_from_exif(info.exif_orientation), &shown),
                             FACEUP_OK);
            int diff = pattern_diff(&shown);
            if (diff > fmt[f].tolerance)
                fail_msg("%s: displayed image differs from the upright pattern by %d", name, diff);
            fu_image_free(&stored);
            fu_image_free(&shown);
            free(b.data);
        }
}

/* The 3x2 image  a b c  turned and mirrored, label by label.
 *                d e f                                        */
enum { A = 10, B = 20, C = 30, D = 40, E = 50, F = 60 };
static const int ABC_DEF[] = {A, B, C, D, E, F};

static void turning_by_an_exif_orientation_follows_the_exif_specification(void **state)
{
    (void)state;
    static const struct {
        int orientation, w, h;
        int px[6];
    } cases[] = {
        {0, 3, 2, {A, B, C, D, E, F}}, /* no tag: as stored */
        {1, 3, 2, {A, B, C, D, E, F}},
        {2, 3, 2, {C, B, A, F, E, D}}, /* mirror left-right */
        {3, 3, 2, {F, E, D, C, B, A}}, /* 180 */
        {4, 3, 2, {D, E, F, A, B, C}}, /* mirror top-bottom */
        {5, 2, 3, {A, D, B, E, C, F}}, /* transpose */
        {6, 2, 3, {D, A, E, B, F, C}}, /* 90 clockwise: row 0 becomes the right column */
        {7, 2, 3, {F, C, E, B, D, A}}, /* transverse */
        {8, 2, 3, {C, F, B, E, A, D}}, /* 90 counter-clockwise */
        {9, 3, 2, {A, B, C, D, E, F}}, /* not an orientation: as stored */
    };
    for (int pad = 0; pad <= 5; pad += 5) { /* also with rows wider than 3*w */
        fu_image in = labelled(3, 2, ABC_DEF, pad), out = {0};
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            /* the same output image each time: it is reshaped, not reallocated */
            assert_int_equal(fu_image_turn(&in, fu_d4_from_exif(cases[i].orientation), &out),
                             FACEUP_OK);
            assert_labels(&out, cases[i].w, cases[i].h, cases[i].px);
        }
        assert_int_equal(fu_image_turn(&in, FU_D4_IDENTITY, &in), FACEUP_ERR_ARGUMENT);
        fu_image_free(&out);
        fu_image_free(&in);
    }
}

static void turning_clockwise_by_quarter_turns(void **state)
{
    (void)state;
    static const int r90[] = {D, A, E, B, F, C}, r180[] = {F, E, D, C, B, A},
                     r270[] = {C, F, B, E, A, D};
    fu_image in = labelled(3, 2, ABC_DEF, 0), out = {0}, back = {0};
    assert_int_equal(fu_image_turn(&in, fu_d4_turn_cw(0), &out), FACEUP_OK);
    assert_labels(&out, 3, 2, ABC_DEF);
    assert_int_equal(fu_image_turn(&in, fu_d4_turn_cw(90), &out), FACEUP_OK);
    assert_labels(&out, 2, 3, r90);
    assert_int_equal(fu_image_turn(&out, fu_d4_turn_cw(270), &back), FACEUP_OK);
    assert_labels(&back, 3, 2, ABC_DEF);
    assert_int_equal(fu_image_turn(&in, fu_d4_turn_cw(180), &out), FACEUP_OK);
    assert_labels(&out, 3, 2, r180);
    assert_int_equal(fu_image_turn(&in, fu_d4_turn_cw(270), &out), FACEUP_OK);
    assert_labels(&out, 2, 3, r270);
    assert_int_equal(fu_image_turn(&in, fu_d4_turn_cw(-90), &out), FACEUP_OK);
    assert_labels(&out, 2, 3, r270);
    assert_int_equal(fu_image_turn(NULL, fu_d4_turn_cw(90), &out), FACEUP_ERR_ARGUMENT);
    fu_image_free(&back);
    fu_image_free(&out);
    fu_image_free(&in);
}

static void a_reused_image_keeps_its_buffer_for_smaller_pictures(void **state)
{
    (void)state;
    fu_image img = {0};
    assert_int_equal(fu_image_reserve(&img, 40, 30, 3), FACEUP_OK);
    uint8_t *px = img.px;
    size_t cap = img.cap;
    assert_true(cap >= 40 * 30 * 3);
    assert_int_equal(fu_image_reserve(&img, 30, 40, 3), FACEUP_OK);
    assert_int_equal(fu_image_reserve(&img, 20, 20, 4), FACEUP_OK); /* a decoder's RGBA */
    assert_ptr_equal(img.px, px);
    assert_int_equal(img.cap, cap);
    assert_int_equal(img.stride, 80);
    assert_int_equal(fu_image_reserve(&img, 50, 30, 3), FACEUP_OK);  /* larger: grows */
    assert_true(img.cap >= 50 * 30 * 3);
    assert_int_equal(img.w, 50);
    assert_int_equal(img.stride, 150);
    assert_int_equal(fu_image_reserve(&img, 0, 30, 3), FACEUP_ERR_ARGUMENT);
    /* a view of another image's pixels is never grown or freed */
    fu_image view = {img.px, 10, 10, img.stride, 0};
    assert_int_equal(fu_image_reserve(&view, 100, 100, 3), FACEUP_ERR_ARGUMENT);
    fu_image_free(&view);
    assert_null(view.px);
    fu_image_free(&img);
    assert_null(img.px);
    assert_int_equal(img.cap, 0);
}

/* A minimal TIFF block: IFD0 with one entry, optionally an IFD1 with another. */
static size_t tiff(uint8_t *buf, int big_endian, int header, uint16_t tag, uint16_t type,
                   uint32_t count, uint16_t value, int in_ifd1)
{
    uint8_t *p = buf;
#define PUT16(v) (big_endian ? (*p++ = (uint8_t)((v) >> 8), *p++ = (uint8_t)(v)) \
                             : (*p++ = (uint8_t)(v), *p++ = (uint8_t)((v) >> 8)))
#define PUT32(v) (big_endian ? (PUT16((uint32_t)(v) >> 16), PUT16((v) & 0xffff)) \
                             : (PUT16((v) & 0xffff), PUT16((uint32_t)(v) >> 16)))
    if (header) {
        memcpy(p, "Exif\0\0", 6);
        p += 6;
    }
    memcpy(p, big_endian ? "MM\0*" : "II*\0", 4);
    p += 4;
    PUT32(8);                       /* IFD0 right after the header */
    PUT16(in_ifd1 ? 0 : 1);         /* entries */
    if (!in_ifd1) {
        PUT16(tag);
        PUT16(type);
        PUT32(count);
        PUT16(value);               /* a SHORT is left-justified in the 4-byte field */
        PUT16(0);
    }
    PUT32(in_ifd1 ? 14 : 0);        /* next IFD */
    if (in_ifd1) {
        PUT16(1);
        PUT16(tag);
        PUT16(type);
        PUT32(count);
        PUT16(value);
        PUT16(0);
        PUT32(0);
    }
#undef PUT16
#undef PUT32
    return (size_t)(p - buf);
}

static void exif_orientation_reads_both_byte_orders_with_or_without_header(void **state)
{
    (void)state;
    uint8_t buf[64];
    for (int be = 0; be <= 1; be++)
        for (int hdr = 0; hdr <= 1; hdr++)
            for (uint16_t v = 0; v <= 9; v++) {
                size_t n = tiff(buf, be, hdr, 0x0112, 3, 1, v, 0);
                int want = v >= 1 && v <= 8 ? v : 0;
                if (fu_exif_orientation(buf, n) != want)
                    fail_msg("be=%d header=%d value=%d: got %d", be, hdr, v,
                             fu_exif_orientation(buf, n));
            }
}

static void exif_orientation_is_zero_when_absent_or_malformed(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = tiff(buf, 1, 1, 0x010f /* Make */, 3, 1, 6, 0);
    assert_int_equal(fu_exif_orientation(buf, n), 0);
    n = tiff(buf, 1, 0, 0x0112, 3, 1, 6, 1); /* the thumbnail's orientation is not the image's */
    assert_int_equal(fu_exif_orientation(buf, n), 0);
    n = tiff(buf, 0, 1, 0x0112, 3, 1, 6, 0);
    buf[10] = 0xf0; /* IFD0 offset far past the end */
    assert_int_equal(fu_exif_orientation(buf, n), 0);
    n = tiff(buf, 1, 1, 0x0112, 3, 0x40000000u, 6, 0); /* count that would overflow */
    assert_int_equal(fu_exif_orientation(buf, n), 0);
    n = tiff(buf, 0, 1, 0x0112, 3, 2, 6, 0); /* two values: not one we could reset */
    assert_int_equal(fu_exif_orientation(buf, n), 0);
    n = tiff(buf, 0, 1, 0x0112, 7 /* UNDEFINED */, 1, 6, 0);
    assert_int_equal(fu_exif_orientation(buf, n), 0);
    assert_int_equal(fu_exif_orientation(NULL, 10), 0);
    assert_int_equal(fu_exif_orientation((const uint8_t *)"Exif\0\0", 6), 0);
    assert_int_equal(fu_exif_orientation((const uint8_t *)"not exif at all", 15), 0);

    /* every truncation of a valid block: no crash, and never a made-up value */
    n = tiff(buf, 0, 1, 0x0112, 3, 1, 6, 0);
    for (size_t cut = 0; cut < n; cut++) {
        int v = fu_exif_orientation(buf, cut);
        assert_true(v == 0 || v == 6);
    }
}

/* One IFD-0 entry {0x0112, type, count, value} written as its type says (a SHORT left-justified,
 * a LONG in all four bytes), in either byte order, after a Make entry. */
static size_t tiff_entry(uint8_t *b, int big, uint16_t type, uint32_t count, uint32_t value)
{
    size_t n = 0;
#define P16(v) (big ? (b[n++] = (uint8_t)((v) >> 8), b[n++] = (uint8_t)(v)) \
                    : (b[n++] = (uint8_t)(v), b[n++] = (uint8_t)((v) >> 8)))
#define P32(v) (big ? (P16((uint32_t)(v) >> 16), P16((v) & 0xffff)) \
                    : (P16((v) & 0xffff), P16((uint32_t)(v) >> 16)))
    memcpy(b, big ? "MM\0*" : "II*\0", 4);
    n = 4;
    P32(8);
    P16(2);
    P16(0x010F); P16(2); P32(4); P32(0x41424300u); /* Make, ASCII, inline */
    P16(0x0112); P16(type); P32(count);
    if (type == 3) {
        P16(value);
        P16(0);
    } else {
        P32(value);
    }
    P32(0);
#undef P16
#undef P32
    return n;
}

/* The reader (what the probe reports and the detector turns by) and the patcher (what
 * faceup_fix resets) are one walk: for every block they name the same Orientation. */
static void exif_reader_and_patcher_give_one_answer(void **state)
{
    (void)state;
    static const struct {
        uint16_t type;
        uint32_t count, value;
        int want;
    } cases[] = {
        {3, 1, 6, 6}, {4, 1, 6, 6},      /* SHORT and LONG alike */
        {3, 1, 1, 1}, {4, 1, 8, 8},
        {3, 1, 9, 0}, {4, 1, 0x10006, 0}, /* out of 1..8: no orientation */
        {3, 2, 6, 0}, {4, 2, 6, 0},      /* two values: not one we could reset */
        {7, 1, 6, 0}, {5, 1, 6, 0},      /* UNDEFINED, RATIONAL */
    };
    uint8_t buf[64];
    for (int big = 0; big <= 1; big++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            size_t n = tiff_entry(buf, big, cases[i].type, cases[i].count, cases[i].value);
            for (size_t cut = 0; cut <= n; cut++) { /* and every truncation */
                int read = fu_exif_orientation(buf, cut), found = -1;
                int rc = fu_exif_patch(buf, cut, 0, 0, &found);
                assert_int_equal(read, rc == 0 ? found : 0);
                if (cut == n && read != cases[i].want)
                    fail_msg("big=%d type=%u count=%u value=%u: read %d, want %d", big,
                             cases[i].type, cases[i].count, cases[i].value, read, cases[i].want);
            }
            /* what was read is what gets reset (every single SHORT or LONG Orientation is) */
            int found = -1, single = cases[i].count == 1 && (cases[i].type == 3 || cases[i].type == 4);
            assert_int_equal(fu_exif_patch(buf, n, 1, 0, &found), 0);
            assert_int_equal(found, cases[i].want);
            assert_int_equal(fu_exif_orientation(buf, n), single ? 1 : 0);
        }
}

/* ---- scaling ----------------------------------------------------------------------------- */

static fu_image gray_row_image(int w, int h, const uint8_t *v)
{
    fu_image img = {0};
    assert_int_equal(fu_image_alloc(&img, w, h), FACEUP_OK);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memset(img.px + y * img.stride + 3 * x, v[y * w + x], 3);
    return img;
}

static void resize_downscale_averages_areas_with_fractional_weights(void **state)
{
    (void)state;
    /* 4x4 -> 2x2: each output is the mean of a 2x2 block */
    static const uint8_t quad[16] = {0, 4, 100, 100, 8, 12, 100, 100, 200, 200, 1, 3, 200, 200, 5, 7};
    fu_image in = gray_row_image(4, 4, quad), out = {0};
    assert_int_equal(fu_image_resize(&in, 2, 2, &out, NULL), FACEUP_OK);
    assert_int_equal(out.px[0], 6);
    assert_int_equal(out.px[3], 100);
    assert_int_equal(out.px[out.stride], 200);
    assert_int_equal(out.px[out.stride + 3], 4);
    fu_image_free(&out);
    fu_image_free(&in);

    /* 3 -> 2: out0 = 2/3*p0 + 1/3*p1, out1 = 1/3*p1 + 2/3*p2 */
    static const uint8_t row[3] = {0, 90, 180};
    in = gray_row_image(3, 1, row);
    assert_int_equal(fu_image_resize(&in, 2, 1, &out, NULL), FACEUP_OK);
    assert_int_equal(out.px[0], 30);
    assert_int_equal(out.px[3], 150);
    fu_image_free(&out);
    /* 3 -> 1: the mean */
    assert_int_equal(fu_image_resize(&in, 1, 1, &out, NULL), FACEUP_OK);
    assert_int_equal(out.px[0], 90);
    fu_image_free(&out);
    fu_image_free(&in);
}

static void resize_upscale_is_bilinear_between_pixel_centres(void **state)
{
    (void)state;
    static const uint8_t row[2] = {0, 255};
    fu_image in = gray_row_image(2, 1, row), out = {0};
    assert_int_equal(fu_image_resize(&in, 4, 3, &out, NULL), FACEUP_OK);
    static const uint8_t want[4] = {0, 64, 191, 255}; /* at -0.25 (edge), 0.25, 0.75, 1.25 */
    for (int y = 0; y < 3; y++)
        for (int x = 0; x < 4; x++)
            assert_int_equal(out.px[y * out.stride + 3 * x], want[x]);
    fu_image_free(&out);
    fu_image_free(&in);
}

static void resize_keeps_flat_images_flat_and_same_size_unchanged(void **state)
{
    (void)state;
    fu_image in = {0};
    assert_int_equal(fu_image_alloc(&in, 37, 23), FACEUP_OK);
    for (size_t i = 0; i < (size_t)in.stride * in.h; i++)
        in.px[i] = (uint8_t)(i % 3 == 0 ? 123 : i % 3 == 1 ? 0 : 255);
    static const int sizes[][2] = {{10, 7}, {100, 50}, {1, 1}, {37, 5}, {3, 40}, {36, 22}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        fu_image out = {0};
        assert_int_equal(fu_image_resize(&in, sizes[s][0], sizes[s][1], &out, NULL), FACEUP_OK);
        for (int y = 0; y < out.h; y++)
            for (int x = 0; x < out.w; x++) {
                const uint8_t *p = out.px + y * out.stride + 3 * x;
                if (p[0] != 123 || p[1] != 0 || p[2] != 255)
                    fail_msg("%dx%d: (%d,%d) = %d %d %d", out.w, out.h, x, y, p[0], p[1], p[2]);
            }
        fu_image_free(&out);
    }
    fu_image_free(&in);

    struct blob b = fixture("orient_1.png");
    fu_image img = {0}, same = {0};
    assert_int_equal(decode(b, 0, &img, NULL), FACEUP_OK);
    assert_int_equal(fu_image_resize(&img, img.w, img.h, &same, NULL), FACEUP_OK);
    assert_memory_equal(same.px, img.px, (size_t)img.stride * img.h);
    fu_image_free(&same);
    assert_int_equal(fu_image_resize(&img, 6, 4, &same, NULL), FACEUP_OK); /* one pixel per block */
    for (int by = 0; by < 4; by++)
        for (int bx = 0; bx < 6; bx++) {
            uint8_t want[3];
            pattern_px(8 * bx, 8 * by, want);
            assert_memory_equal(same.px + by * same.stride + 3 * bx, want, 3);
        }
    fu_image_free(&same);
    assert_int_equal(fu_image_resize(&img, 0, 4, &same, NULL), FACEUP_ERR_ARGUMENT);
    fu_image_free(&img);
    free(b.data);
}

/* The crop as it was first written: copy the square (black outside the image) at full
 * resolution, then scale it. The crop that samples the source where it stands must give the
 * same bytes. */
static void crop_reference(const fu_image *in, float cx, float cy, float side, int out_side,
                           fu_image *out)
{
    int s = (int)lroundf(side), x0 = (int)lroundf(cx - side / 2), y0 = (int)lroundf(cy - side / 2);
    fu_image square = {0};
    assert_int_equal(fu_image_alloc(&square, s, s), FACEUP_OK);
    for (int y = 0; y < s; y++)
        for (int x = 0; x < s; x++) {
            int sx = x0 + x, sy = y0 + y;
            uint8_t *o = square.px + (size_t)y * square.stride + 3 * (size_t)x;
            if (sx < 0 || sy < 0 || sx >= in->w || sy >= in->h)
                memset(o, 0, 3);
            else
                memcpy(o, in->px + (size_t)sy * in->stride + 3 * (size_t)sx, 3);
        }
    assert_int_equal(fu_image_resize(&square, out_side, out_side, out, NULL), FACEUP_OK);
    fu_image_free(&square);
}

static void crop_reads_the_window_in_place_black_outside(void **state)
{
    (void)state;
    fu_image in = {0}, got = {0}, want = {0};
    fu_buf scratch = {0};
    assert_int_equal(fu_image_alloc(&in, 97, 61), FACEUP_OK);
    for (size_t i = 0; i < (size_t)in.stride * in.h; i++)
        in.px[i] = (uint8_t)(i * 2654435761u >> 13);
    static const float cases[][4] = {
        {48, 30, 20, 48},  {48, 30, 80, 48},   {5, 5, 30, 48},    {95, 60, 33.3f, 48},
        {-10, 30, 25, 48}, {48, 30, 200, 224}, {200, 200, 10, 48}, {48.7f, 30.2f, 7.6f, 224},
        {0, 0, 1, 1},      {96.5f, 60.5f, 61, 17},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const float *c = cases[i];
        crop_reference(&in, c[0], c[1], c[2], (int)c[3], &want);
        assert_int_equal(fu_image_crop_square(&in, c[0], c[1], c[2], (int)c[3], &got, &scratch),
                         FACEUP_OK);
        assert_int_equal(got.w, want.w);
        assert_int_equal(got.h, want.h);
        for (int y = 0; y < got.h; y++)
            if (memcmp(got.px + (size_t)y * got.stride, want.px + (size_t)y * want.stride,
                       (size_t)got.w * 3))
                fail_msg("crop %zu differs from the reference in row %d", i, y);
    }
    assert_int_equal(fu_image_crop_square(&in, 10, 10, 0.5f, 48, &got, &scratch),
                     FACEUP_ERR_ARGUMENT);
    fu_buf_free(&scratch);
    fu_image_free(&want);
    fu_image_free(&got);
    fu_image_free(&in);
}

/* ---- hostile input ----------------------------------------------------------------------- */

static void empty_and_foreign_bytes_are_not_an_image(void **state)
{
    (void)state;
    fu_image img = {0};
    fu_probe p;
    char err[FU_ERRLEN];
    assert_int_equal(fu_image_decode(NULL, (const uint8_t *)"", 0, LIMIT, 0, &img, NULL, err),
                     FACEUP_ERR_FORMAT);
    assert_string_equal(err, "empty input");
    assert_int_equal(fu_image_probe(NULL, 0, LIMIT, &p, err), FACEUP_ERR_FORMAT);
    static const char *const junk[] = {"hello, world", "GIF89a\1\0\1\0", "RIFF\0\0\0\0WAVEfmt ",
                                       "\xff\xd8", "\x89PNG"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        assert_int_equal(fu_image_decode(NULL, (const uint8_t *)junk[i], strlen(junk[i]), LIMIT, 0,
                                         &img, NULL, err),
                         FACEUP_ERR_FORMAT);
        assert_null(img.px);
    }
    assert_int_equal(fu_image_decode(NULL, NULL, 5, LIMIT, 0, &img, NULL, err), FACEUP_ERR_ARGUMENT);
    assert_int_equal(fu_image_decode(NULL, (const uint8_t *)"x", 1, LIMIT, -1, &img, NULL, err),
                     FACEUP_ERR_ARGUMENT);
}

static void truncated_files_are_decode_errors(void **state)
{
    (void)state;
    static const char *const names[] = {"orient_1.jpg", "progressive.jpg", "rgb8.png",
                                        "rgb8_adam7.png", "webp_lossy.webp", "webp_lossless.webp",
                                        "webp_alpha.webp"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct blob b = fixture(names[i]);
        size_t cuts[] = {b.size - 1, b.size * 3 / 4, b.size / 2, 40, 20, 14};
        for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
            /* a copy of exactly the cut length, so ASan sees any read past it */
            uint8_t *part = malloc(cuts[c]);
            memcpy(part, b.data, cuts[c]);
            fu_image img = {0};
            char err[FU_ERRLEN] = "";
            int rc = fu_image_decode(NULL, part, cuts[c], LIMIT, 0, &img, NULL, err);
            if (rc != FACEUP_ERR_DECODE)
                fail_msg("%s cut to %zu bytes: status %d (%s)", names[i], cuts[c], rc, err);
            assert_int_equal(img.w, 0); /* no picture, whatever the decoder had begun */
            assert_true(err[0] != '\0');
            fu_image_free(&img);
            free(part);
        }
        free(b.data);
    }
}

static void absurd_header_dimensions_are_refused_before_decoding(void **state)
{
    (void)state;
    fu_image img = {0};
    fu_probe p;
    char err[FU_ERRLEN];

    /* PNG: 100000 x 100000 would be 30 GB of RGB; under ASan an attempt to allocate it aborts. */
    uint8_t png[64];
    size_t n = png_header_only(png, 100000, 100000);
    assert_int_equal(fu_image_probe(png, n, LIMIT, &p, err), FACEUP_ERR_TOO_MANY_PIXELS);
    assert_int_equal(fu_image_decode(NULL, png, n, LIMIT, 0, &img, NULL, err), FACEUP_ERR_TOO_MANY_PIXELS);
    assert_null(img.px);
    assert_non_null(strstr(err, "100000x100000"));
    n = png_header_only(png, 0x80000000u, 1); /* over PNG's own 2^31-1 */
    assert_int_equal(fu_image_decode(NULL, png, n, LIMIT, 0, &img, NULL, err), FACEUP_ERR_DECODE);
    n = png_header_only(png, 40, 40); /* a fine header, then no IDAT */
    assert_int_equal(fu_image_decode(NULL, png, n, LIMIT, 0, &img, NULL, err), FACEUP_ERR_DECODE);
    png[29] ^= 1;                     /* IHDR CRC no longer matches */
    assert_int_equal(fu_image_decode(NULL, png, n, LIMIT, 0, &img, NULL, err), FACEUP_ERR_DECODE);

    /* JPEG: SOF0 patched to 65000 x 65000 */
    struct blob b = fixture("orient_1.jpg");
    size_t sof = 2;
    while (sof + 9 < b.size && !(b.data[sof] == 0xff && b.data[sof + 1] == 0xc0))
        sof++;
    assert_true(sof + 9 < b.size);
    b.data[sof + 5] = 0xfd, b.data[sof + 6] = 0xe8; /* height */
    b.data[sof + 7] = 0xfd, b.data[sof + 8] = 0xe8; /* width */
    assert_int_equal(fu_image_probe(b.data, b.size, LIMIT, &p, err), FACEUP_ERR_TOO_MANY_PIXELS);
    assert_int_equal(decode(b, 0, &img, NULL), FACEUP_ERR_TOO_MANY_PIXELS);
    assert_int_equal(decode(b, 200, &img, NULL), FACEUP_ERR_TOO_MANY_PIXELS);
    free(b.data);

    /* WebP: a VP8L header saying 16384 x 16384 */
    b = fixture("webp_lossless.webp");
    assert_memory_equal(b.data + 12, "VP8L", 4);
    assert_int_equal(b.data[20], 0x2f);
    b.data[21] = 0xff, b.data[22] = 0xff, b.data[23] = 0xff;
    b.data[24] = (uint8_t)((b.data[24] & 0xf0) | 0x0f);
    assert_int_equal(fu_image_probe(b.data, b.size, LIMIT, &p, err), FACEUP_ERR_TOO_MANY_PIXELS);
    assert_int_equal(p.width, 0);
    assert_int_equal(decode(b, 0, &img, NULL), FACEUP_ERR_TOO_MANY_PIXELS);
    free(b.data);
}

/* A JPEG fixture with the frame header (SOF0 or SOF2) patched to w x h. */
static struct blob jpeg_sized(const char *name, int sof, int w, int h)
{
    struct blob b = fixture(name);
    size_t at = 2;
    while (at + 9 < b.size && !(b.data[at] == 0xff && b.data[at + 1] == sof))
        at++;
    assert_true(at + 9 < b.size);
    b.data[at + 5] = (uint8_t)(h >> 8), b.data[at + 6] = (uint8_t)h;
    b.data[at + 7] = (uint8_t)(w >> 8), b.data[at + 8] = (uint8_t)w;
    return b;
}

/* What an image costs is read from its header: the pixels it decodes to and what the decoder
 * holds on the way, not the encoded bytes. */
static void costs_follow_decoded_pixels_not_encoded_bytes(void **state)
{
    (void)state;
    char err[FU_ERRLEN];
    fu_probe p;
    uint8_t png[64];
    const long long px = 6900LL * 6900;

    /* 16-bit RGBA PNG: detect reads its rows into 690x690, the fix holds 8 bytes a pixel once */
    size_t n = png_header(png, 6900, 6900, 16, 6, 0);
    assert_int_equal(fu_image_probe(png, n, LIMIT, &p, err), FACEUP_OK);
    assert_int_equal(p.channels, 4);
    assert_int_equal(p.depth, 16);
    assert_true(fu_decode_cost(&p, 640, 0) < 4 << 20);
    assert_true(fu_decode_cost(&p, 640, 1) - fu_decode_cost(&p, 640, 0) == 690LL * 690 * 3);
    assert_true(fu_decode_cost(&p, 0, 0) >= px * 4);
    long long fix = fu_fix_cost(&p, FACEUP_FORMAT_PNG);
    assert_true(fix >= px * 8 && fix < px * 8 + (4 << 20));
    assert_true(fu_fix_cost(&p, FACEUP_FORMAT_JPEG) >= px * (4 + 3)); /* decoded, turned */
    /* Adam7: decoded whole, as 8-bit RGBA */
    n = png_header(png, 6900, 6900, 16, 6, 1);
    assert_int_equal(fu_image_probe(png, n, LIMIT, &p, err), FACEUP_OK);
    assert_true(fu_decode_cost(&p, 640, 0) >= px * 4);

    /* progressive 4:2:0 JPEG of 10000x10000: libjpeg holds every coefficient, 128 bytes a
     * block: 1250x1250 luma blocks, 625x625 of each chroma */
    const long long coef = (1250LL * 1250 + 2 * 625LL * 625) * 128;
    struct blob b = jpeg_sized("progressive.jpg", 0xc2, 10000, 10000);
    assert_int_equal(fu_image_probe(b.data, b.size, LIMIT, &p, err), FACEUP_OK);
    assert_true(p.interlaced);
    assert_true(p.coef_bytes == coef);
    assert_true(fu_decode_cost(&p, 640, 0) >= coef);
    assert_true(fu_decode_cost(&p, 640, 0) < coef + (8 << 20));
    free(b.data);
    /* baseline 4:4:4: decoded at 1/8 without holding the coefficients; the turn holds them */
    b = jpeg_sized("orient_1.jpg", 0xc0, 10000, 10000);
    assert_int_equal(fu_image_probe(b.data, b.size, LIMIT, &p, err), FACEUP_OK);
    assert_false(p.interlaced);
    assert_true(p.coef_bytes == 1250LL * 1250 * 128 * 3);
    assert_true(fu_decode_cost(&p, 640, 0) < 8 << 20);
    assert_true(fu_fix_cost(&p, FACEUP_FORMAT_JPEG) >= p.coef_bytes);
    free(b.data);

    /* lossless WebP: libwebp holds the whole image as ARGB, whatever it is scaled to */
    b = fixture("webp_lossless.webp");
    b.data[21] = 0xff, b.data[22] = 0xff, b.data[23] = 0xff; /* 16384 x 16384 */
    b.data[24] = (uint8_t)((b.data[24] & 0xf0) | 0x0f);
    assert_int_equal(fu_image_probe(b.data, b.size, 4 * LIMIT, &p, err), FACEUP_OK);
    assert_true(fu_decode_cost(&p, 640, 0) >= 16384LL * 16384 * 4);
    free(b.data);
}

static void animated_webp_is_refused(void **state)
{
    (void)state;
    struct blob b = fixture("animated.webp");
    fu_image img = {0};
    assert_int_equal(decode(b, 0, &img, NULL), FACEUP_ERR_FORMAT);
    assert_null(img.px);
    free(b.data);
}

/* Flip a few bytes at a time, many times: every outcome must be a status, never a crash
 * (run under ASan/UBSan to mean something). A fixed seed keeps it reproducible. */
static void corrupted_files_never_crash(void **state)
{
    (void)state;
    static const char *const names[] = {
        "orient_6.jpg", "progressive.jpg", "cmyk.jpg", "gray.jpg", "orient_6.png",
        "pal4_trns_adam7.png", "rgba16.png", "orient_6.webp", "webp_lossy.webp", "webp_alpha.webp",
    };
    uint32_t seed = 12345;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct blob b = fixture(names[i]);
        for (int round = 0; round < 300; round++) {
            uint8_t *m = malloc(b.size);
            memcpy(m, b.data, b.size);
            size_t len = b.size;
            for (int k = 0; k < 1 + round % 4; k++) {
                seed = seed * 1664525u + 1013904223u;
                m[(seed >> 8) % len] ^= (uint8_t)(1u << (seed & 7));
            }
            if (round % 5 == 0) {
                seed = seed * 1664525u + 1013904223u;
                len = 1 + (seed >> 8) % len;
            }
            fu_image img = {0};
            char err[FU_ERRLEN];
            int rc = fu_image_decode(NULL, m, len, 4000000, round % 2 ? 0 : 16, &img, NULL, err);
            if (rc == FACEUP_OK) {
                unsigned sum = 0; /* touch every pixel */
                for (size_t j = 0; j < (size_t)img.stride * img.h; j++)
                    sum += img.px[j];
                (void)sum;
                assert_true(img.w > 0 && img.h > 0);
            } else {
                if (rc != FACEUP_ERR_FORMAT && rc != FACEUP_ERR_DECODE &&
                    rc != FACEUP_ERR_TOO_MANY_PIXELS)
                    fail_msg("%s round %d: status %d (%s)", names[i], round, rc, err);
                assert_int_equal(img.w, 0);
            }
            fu_image_free(&img);
            free(m);
        }
        free(b.data);
    }
}

static struct heif_error heif_to_buf(struct heif_context *ctx, const void *data, size_t size,
                                     void *buf)
{
    (void)ctx;
    assert_int_equal(fu_buf_put(buf, data, size), FACEUP_OK);
    return (struct heif_error){heif_error_Ok, heif_suberror_Unspecified, ""};
}

/* A HEIF of w x h synthetic pixels, encoded by libheif as `codec` with the nclx profile
 * (matrix, full range) set on the image, or none when matrix < 0. */
static void synthetic_heif(int w, int h, enum heif_compression_format codec, int matrix,
                           int full_range, fu_buf *out)
{
    struct heif_image *img = NULL;
    int stride;
    assert_int_equal(heif_image_create(w, h, heif_colorspace_RGB, heif_chroma_interleaved_RGB,
                                       &img).code, heif_error_Ok);
    assert_int_equal(heif_image_add_plane(img, heif_channel_interleaved, w, h, 8).code,
                     heif_error_Ok);
    uint8_t *px = heif_image_get_plane(img, heif_channel_interleaved, &stride);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *p = px + (size_t)y * stride + 3 * (size_t)x;
            p[0] = (uint8_t)(x / 9 + y / 17), p[1] = (uint8_t)(128 + 100 * sin(x / 40.0)),
            p[2] = (uint8_t)((x * y) >> 11);
        }
    struct heif_color_profile_nclx *nclx = heif_nclx_color_profile_alloc();
    nclx->matrix_coefficients = (enum heif_matrix_coefficients)matrix;
    nclx->full_range_flag = (uint8_t)full_range;
    if (matrix >= 0)
        heif_image_set_nclx_color_profile(img, nclx);
    struct heif_context *ctx = heif_context_alloc();
    struct heif_encoder *enc = NULL;
    assert_int_equal(heif_context_get_encoder_for_format(ctx, codec, &enc).code, heif_error_Ok);
    heif_encoder_set_lossy_quality(enc, 90);
    assert_int_equal(heif_context_encode_image(ctx, img, enc, NULL, NULL).code, heif_error_Ok);
    struct heif_writer writer = {1, heif_to_buf};
    memset(out, 0, sizeof *out);
    assert_int_equal(heif_context_write(ctx, &writer, out).code, heif_error_Ok);
    heif_nclx_color_profile_free(nclx);
    heif_encoder_release(enc);
    heif_image_release(img);
    heif_context_free(ctx);
}

/* A HEIF decoded for the detector at half size, straight from its 4:2:0 planes, against
 * libheif's own full-size conversion to RGB averaged over the same 2x2 blocks: the same colours
 * for each matrix the half size knows (BT.601, BT.709, BT.2020 NCL), full and limited range,
 * and without an nclx profile (libheif's default). Odd sides: the last row and column are
 * dropped. */
static void heif_half_size_decode_matches_libheifs_conversion(void **state)
{
    (void)state;
    static const struct { int codec, matrix, full_range; } cases[] = {
        {heif_compression_HEVC, -1, 1}, {heif_compression_AV1, 6, 1},
        {heif_compression_AV1, 1, 1},   {heif_compression_AV1, 6, 0},
        {heif_compression_AV1, 1, 0},   {heif_compression_AV1, 9, 1},
        {heif_compression_HEVC, 6, 0},
    };
    int w = 2201, h = 2087;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        fu_image full = {0}, half = {0};
        fu_buf heif = {0};
        char err[FU_ERRLEN];
        synthetic_heif(w, h, cases[k].codec, cases[k].matrix, cases[k].full_range, &heif);
        assert_int_equal(fu_image_decode(NULL, heif.p, heif.n, 1LL << 30, 0, &full, NULL, err),
                         FACEUP_OK);
        assert_int_equal(fu_image_decode(NULL, heif.p, heif.n, 1LL << 30, 1024, &half, NULL,
                                         err), FACEUP_OK);
        assert_int_equal(full.w, w);
        assert_int_equal(half.w, w / 2);
        assert_int_equal(half.h, h / 2);
        double sum = 0;
        int worst = 0;
        for (int y = 0; y < half.h; y++)
            for (int x = 0; x < half.w; x++)
                for (int c = 0; c < 3; c++) {
                    const uint8_t *f = full.px + (size_t)(2 * y) * full.stride + 6 * (size_t)x + c;
                    int mean = (f[0] + f[3] + f[full.stride] + f[full.stride + 3] + 2) / 4;
                    int d = abs(half.px[(size_t)y * half.stride + 3 * (size_t)x + c] - mean);
                    sum += d;
                    worst = d > worst ? d : worst;
                }
        double mean_diff = sum / (3.0 * half.w * half.h);
        printf("# matrix %d, full range %d: mean difference %.3f, worst %d\n", cases[k].matrix,
               cases[k].full_range, mean_diff, worst);
        assert_true(mean_diff < 0.6);
        assert_true(worst <= 4);
        /* no half size where a half would be under min_side: the full decode */
        assert_int_equal(fu_image_decode(NULL, heif.p, heif.n, 1LL << 30, 1200, &half, NULL,
                                         err), FACEUP_OK);
        assert_int_equal(half.w, w);
        fu_buf_free(&heif);
        fu_image_free(&full);
        fu_image_free(&half);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(probe_reports_format_size_and_lossiness),
        cmocka_unit_test(probe_reads_exif_orientation_of_every_format),
        cmocka_unit_test(pixel_limit_is_inclusive_and_checked_by_probe_and_decode),
        cmocka_unit_test(png_every_colour_type_and_depth_decodes_exactly),
        cmocka_unit_test(png_wider_than_libpng_default_limit_decodes),
        cmocka_unit_test(webp_lossless_is_exact_and_lossy_is_close),
        cmocka_unit_test(jpeg_colour_gray_progressive_and_cmyk_match_pillow),
        cmocka_unit_test(jpeg_reduced_decode_picks_smallest_scale_keeping_min_side),
        cmocka_unit_test(decode_reduces_png_and_webp_by_whole_factors),
        cmocka_unit_test(exif_orientation_turns_every_fixture_upright),
        cmocka_unit_test(turning_by_an_exif_orientation_follows_the_exif_specification),
        cmocka_unit_test(turning_clockwise_by_quarter_turns),
        cmocka_unit_test(a_reused_image_keeps_its_buffer_for_smaller_pictures),
        cmocka_unit_test(exif_orientation_reads_both_byte_orders_with_or_without_header),
        cmocka_unit_test(exif_orientation_is_zero_when_absent_or_malformed),
        cmocka_unit_test(exif_reader_and_patcher_give_one_answer),
        cmocka_unit_test(resize_downscale_averages_areas_with_fractional_weights),
        cmocka_unit_test(resize_upscale_is_bilinear_between_pixel_centres),
        cmocka_unit_test(resize_keeps_flat_images_flat_and_same_size_unchanged),
        cmocka_unit_test(crop_reads_the_window_in_place_black_outside),
        cmocka_unit_test(empty_and_foreign_bytes_are_not_an_image),
        cmocka_unit_test(truncated_files_are_decode_errors),
        cmocka_unit_test(absurd_header_dimensions_are_refused_before_decoding),
        cmocka_unit_test(costs_follow_decoded_pixels_not_encoded_bytes),
        cmocka_unit_test(animated_webp_is_refused),
        cmocka_unit_test(corrupted_files_never_crash),
        cmocka_unit_test(heif_half_size_decode_matches_libheifs_conversion),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
