/*
 * test_api.c - the public API as a C user sees it: handles, options, errors, both entry points,
 * results and their JSON.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api/handle.h"
#include "base/strbuf.h"
#include "faceup.h"
#include "codec/codec.h"

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static void test_version_and_model_identity(void **state)
{
    (void)state;
    assert_string_equal(faceup_version(), FACEUP_VERSION_STRING);
    assert_string_equal(faceup_model_name(), "face_detection_yunet_2023mar.onnx");
    assert_int_equal(strlen(faceup_model_sha256()), 64);
    assert_string_equal(faceup_status_str(FACEUP_OK), "ok");
    assert_string_equal(faceup_status_str(FACEUP_ERR_TOO_MANY_PIXELS), "too many pixels");
    assert_string_equal(faceup_status_str(12345), "unknown status");
    /* the `method` of `faceup fix --json` and X-Faceup-Method: a lossy path is named so */
    assert_string_equal(faceup_fix_path_str(FACEUP_FIX_UNCHANGED), "unchanged");
    assert_string_equal(faceup_fix_path_str(FACEUP_FIX_LOSSLESS), "lossless");
    assert_string_equal(faceup_fix_path_str(FACEUP_FIX_REENCODED), "reencoded_lossy");
    assert_string_equal(faceup_fix_path_str(7), "unknown");
}

static void test_params_are_validated_and_kept(void **state)
{
    (void)state;
    faceup_destroy(NULL);   /* a no-op */
    faceup_result_free(NULL);
    faceup_fixed_free(NULL);
    faceup *h = faceup_create();
    assert_non_null(h);
    assert_int_equal(faceup_get_param(h, FACEUP_PARAM_THREADS), 1);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_THREADS, 3), FACEUP_OK);
    assert_int_equal(faceup_get_param(h, FACEUP_PARAM_THREADS), 3);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_THREADS, 0), FACEUP_ERR_ARGUMENT);
    assert_int_equal(faceup_get_param(h, FACEUP_PARAM_THREADS), 3);   /* old value kept */
    assert_non_null(strstr(faceup_errmsg(h), "faceup_set_param(): "));
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_MIN_CONFIDENCE, 1.5), FACEUP_ERR_ARGUMENT);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_KEEP_METADATA, 2), FACEUP_ERR_ARGUMENT);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_OUTPUT_FORMAT, 9), FACEUP_ERR_ARGUMENT);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_DETAIL, 100), FACEUP_ERR_ARGUMENT);
    assert_int_equal(faceup_set_param(h, (faceup_param)99, 1), FACEUP_ERR_ARGUMENT);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_FACE_THRESHOLD, 0.7), FACEUP_OK);
    assert_true(faceup_get_param(h, FACEUP_PARAM_FACE_THRESHOLD) == 0.7);
    assert_true(faceup_get_param(h, FACEUP_PARAM_MAX_MEMORY) == 1 << 30);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_MAX_MEMORY, 1 << 19), FACEUP_ERR_ARGUMENT);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_MAX_MEMORY, 1 << 20), FACEUP_OK);
    assert_true(faceup_get_param(h, FACEUP_PARAM_MAX_MEMORY) == 1 << 20);
    faceup_destroy(h);
}

static void test_detect_reports_errors_as_values(void **state)
{
    (void)state;
    faceup *h = faceup_create();
    faceup_result *r = (faceup_result *)1;
    assert_int_equal(faceup_detect(h, "", 0, &r), FACEUP_ERR_FORMAT);
    assert_null(r);
    assert_non_null(strstr(faceup_errmsg(h), "faceup_detect(): "));
    assert_int_equal(faceup_detect(h, "GIF89a..", 8, &r), FACEUP_ERR_FORMAT);
    assert_int_equal(faceup_detect(h, NULL, 10, &r), FACEUP_ERR_ARGUMENT);
    assert_int_equal(faceup_detect(h, "x", 1, NULL), FACEUP_ERR_ARGUMENT);
    size_t size;
    unsigned char *jpg = read_all(FU_SAMPLES "/grace_hopper.jpg", &size);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_MAX_BYTES, 1000), FACEUP_OK);
    assert_int_equal(faceup_detect(h, jpg, size, &r), FACEUP_ERR_TOO_MANY_BYTES);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_MAX_BYTES, 1e9), FACEUP_OK);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_MAX_PIXELS, 1000), FACEUP_OK);
    assert_int_equal(faceup_detect(h, jpg, size, &r), FACEUP_ERR_TOO_MANY_PIXELS);
    assert_int_equal(faceup_detect(h, jpg, size / 3, &r), FACEUP_ERR_TOO_MANY_PIXELS);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_MAX_PIXELS, 1e8), FACEUP_OK);
    /* 512x600 decoded whole for a fix to PNG: about 2 MB, over a 1 MiB budget */
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_MAX_MEMORY, 1 << 20), FACEUP_OK);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_OUTPUT_FORMAT, FACEUP_FORMAT_PNG), FACEUP_OK);
    faceup_fixed *fixed = NULL;
    assert_int_equal(faceup_fix(h, jpg, size, &fixed), FACEUP_ERR_TOO_MANY_PIXELS);
    assert_null(fixed);
    assert_non_null(strstr(faceup_errmsg(h), "512x600 image needs about"));
    assert_non_null(strstr(faceup_errmsg(h), "over the memory limit of 1048576 bytes (max_memory)"));
    /* faceup_memory_needed says the figure the calls check: at it they run, under it not */
    double detect_needs = 0, fix_needs = 0;
    assert_int_equal(faceup_memory_needed(h, jpg, size, 0, &detect_needs), FACEUP_OK);
    assert_int_equal(faceup_memory_needed(h, jpg, size, 1, &fix_needs), FACEUP_OK);
    assert_true(detect_needs >= 512 * 600 * 3 && fix_needs > detect_needs);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_MAX_MEMORY, fix_needs), FACEUP_OK);
    assert_int_equal(faceup_fix(h, jpg, size, &fixed), FACEUP_OK);
    faceup_fixed_free(fixed);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_MAX_MEMORY, fix_needs - 1), FACEUP_OK);
    assert_int_equal(faceup_fix(h, jpg, size, &fixed), FACEUP_ERR_TOO_MANY_PIXELS);
    assert_int_equal(faceup_memory_needed(h, "GIF89a..", 8, 0, &detect_needs), FACEUP_ERR_FORMAT);
    assert_true(detect_needs == 0);
    assert_int_equal(faceup_memory_needed(h, jpg, size, 0, NULL), FACEUP_ERR_ARGUMENT);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_MAX_MEMORY, 1 << 30), FACEUP_OK);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_OUTPUT_FORMAT, FACEUP_FORMAT_SAME), FACEUP_OK);
    assert_int_equal(faceup_detect(h, jpg, size / 3, &r), FACEUP_ERR_DECODE);   /* truncated */
    /* the handle is still good after errors */
    assert_int_equal(faceup_detect(h, jpg, size, &r), FACEUP_OK);
    assert_string_equal(faceup_errmsg(h), "");
    assert_int_equal(r->orientation, 0);
    faceup_result_free(r);
    free(jpg);
    faceup_destroy(h);
}

/* The same photo as encoded bytes and as raw pixels in every layout, turned by 90 degrees. */
static void test_pixels_entry_point_agrees_with_the_encoded_one(void **state)
{
    (void)state;
    size_t size;
    unsigned char *jpg = read_all(FU_SAMPLES "/hopper_turned_90.jpg", &size);
    faceup *h = faceup_create();
    faceup_result *enc = NULL;
    assert_int_equal(faceup_detect(h, jpg, size, &enc), FACEUP_OK);
    assert_int_equal(enc->orientation, 90);
    fu_image img = {0};
    fu_probe probe;
    char err[FU_ERRLEN];
    assert_int_equal(fu_image_decode(NULL, jpg, size, 100000000LL, 0, &img, &probe, err), FACEUP_OK);
    static const faceup_pixel_format formats[] = {FACEUP_PIXEL_RGB, FACEUP_PIXEL_BGR, FACEUP_PIXEL_RGBA,
                                                  FACEUP_PIXEL_BGRA, FACEUP_PIXEL_GRAY};
    static const int bpp[] = {3, 3, 4, 4, 1};
    for (int f = 0; f < 5; f++) {
        int stride = img.w * bpp[f] + 7;   /* padded rows */
        uint8_t *px = calloc((size_t)stride * img.h, 1);
        for (int y = 0; y < img.h; y++)
            for (int x = 0; x < img.w; x++) {
                const uint8_t *s = img.px + (size_t)y * img.stride + (size_t)x * 3;
                uint8_t *d = px + (size_t)y * stride + (size_t)x * bpp[f];
                int swap = formats[f] == FACEUP_PIXEL_BGR || formats[f] == FACEUP_PIXEL_BGRA;
                if (bpp[f] == 1) {
                    d[0] = (uint8_t)((s[0] * 77 + s[1] * 150 + s[2] * 29) >> 8);
                } else {
                    d[0] = s[swap ? 2 : 0];
                    d[1] = s[1];
                    d[2] = s[swap ? 0 : 2];
                    if (bpp[f] == 4)
                        d[3] = 255;
                }
            }
        faceup_result *r = NULL;
        assert_int_equal(faceup_detect_pixels(h, px, img.w, img.h, stride, formats[f], &r), FACEUP_OK);
        assert_int_equal(r->orientation, 90);
        assert_int_equal(r->exif_orientation, 0);
        assert_int_equal(r->n_faces, enc->n_faces);
        if (formats[f] == FACEUP_PIXEL_RGB) {   /* the same pixels give the same answer */
            assert_true(r->confidence == enc->confidence);
            assert_memory_equal(r->faces, enc->faces, sizeof *r->faces * (size_t)r->n_faces);
        }
        faceup_result_free(r);
        free(px);
    }
    faceup_result *r = (faceup_result *)1;
    assert_int_equal(faceup_detect_pixels(h, img.px, img.w, img.h, 2, FACEUP_PIXEL_RGB, &r),
                     FACEUP_ERR_ARGUMENT);   /* stride too small */
    assert_null(r);
    assert_int_equal(faceup_detect_pixels(h, img.px, 0, img.h, 0, FACEUP_PIXEL_RGB, &r), FACEUP_ERR_ARGUMENT);
    fu_image_free(&img);
    faceup_result_free(enc);
    free(jpg);
    faceup_destroy(h);
}

static void test_results_do_not_depend_on_threads(void **state)
{
    (void)state;
    size_t size;
    unsigned char *jpg = read_all(FU_SAMPLES "/astronaut_turned_180.jpg", &size);
    faceup_result *one = NULL, *four = NULL;
    faceup *h = faceup_create();
    assert_int_equal(faceup_detect(h, jpg, size, &one), FACEUP_OK);
    assert_int_equal(faceup_set_param(h, FACEUP_PARAM_THREADS, 4), FACEUP_OK);
    assert_int_equal(faceup_detect(h, jpg, size, &four), FACEUP_OK);
    assert_int_equal(one->orientation, 180);
    char *a = faceup_result_json(one, "x.jpg", NULL), *b = faceup_result_json(four, "x.jpg", NULL);
    assert_string_equal(a, b);
    free(a);
    free(b);
    faceup_result_free(one);
    faceup_result_free(four);
    free(jpg);
    faceup_destroy(h);
}

static void test_fix_orientation_turns_as_told_without_the_detector(void **state)
{
    (void)state;
    size_t n;
    unsigned char *data = read_all(FU_SAMPLES "/hopper_turned_90.jpg", &n);
    faceup *told = faceup_create(), *found = faceup_create();
    faceup_fixed *a = NULL, *b = NULL;
    assert_int_equal(faceup_fix_orientation(told, data, n, 90, &a), FACEUP_OK);
    assert_null(told->decider); /* the detector never ran */
    assert_int_equal(faceup_fix(found, data, n, &b), FACEUP_OK);
    assert_int_equal(b->result->orientation, 90);
    /* the same transform, path and bytes as the detector's answer gives */
    assert_int_equal(a->path, b->path);
    assert_int_equal(a->rotated, 270);
    assert_int_equal(a->rotated, b->rotated);
    assert_int_equal(a->format, b->format);
    assert_int_equal(a->size, b->size);
    assert_memory_equal(a->data, b->data, a->size);
    /* the report is the turn given */
    assert_int_equal(a->result->orientation, 90);
    assert_true(a->result->confidence == 1.f);
    assert_int_equal(a->result->n_faces, 0);
    assert_int_equal(a->result->width, b->result->width);
    assert_int_equal(a->result->height, b->result->height);
    faceup_fixed_free(a);
    faceup_fixed_free(b);
    /* 0 on an image without EXIF: nothing to do, the input back */
    assert_int_equal(faceup_fix_orientation(told, data, n, 0, &a), FACEUP_OK);
    assert_int_equal(a->path, FACEUP_FIX_UNCHANGED);
    assert_int_equal(a->size, n);
    faceup_fixed_free(a);
    /* what is not a quarter turn, or not an image */
    static const int bad[] = {-1, 45, 360, -90};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        a = (faceup_fixed *)1;
        assert_int_equal(faceup_fix_orientation(told, data, n, bad[i], &a), FACEUP_ERR_ARGUMENT);
        assert_null(a);
        assert_non_null(strstr(faceup_errmsg(told), "faceup_fix_orientation(): orientation"));
    }
    assert_int_equal(faceup_fix_orientation(told, "GIF89a..", 8, 90, &a), FACEUP_ERR_FORMAT);
    assert_int_equal(faceup_fix_orientation(told, data, n, 90, NULL), FACEUP_ERR_ARGUMENT);
    assert_int_equal(faceup_fix_orientation(NULL, data, n, 90, &a), FACEUP_ERR_ARGUMENT);
    free(data);
    faceup_destroy(told);
    faceup_destroy(found);
}

static void test_json_of_results_and_of_errors(void **state)
{
    (void)state;
    char *e = faceup_result_json(NULL, "we\"ird\n\xff.jpg", "cannot open: No such file");
    assert_string_equal(e, "{\"file\":\"we\\\"ird\\u000a\\ufffd.jpg\",\"orientation\":null,\"confidence\":0,"
                           "\"exif_orientation\":null,\"faces\":[],\"error\":\"cannot open: No such file\"}");
    free(e);
    faceup_face face = {.x = 1.25f, .y = 2, .w = 30, .h = 40, .score = 0.9f, .orientation = FACEUP_UNDECIDED,
                        .confidence = 0.5f, .roll = -3.04f};
    faceup_result r = {.orientation = 270, .confidence = 0.95f, .exif_orientation = 6, .width = 10,
                       .height = 20, .faces_disagree = 1, .n_faces = 1, .faces = &face};
    char *j = faceup_result_json(&r, NULL, NULL);
    assert_non_null(strstr(j, "{\"orientation\":270,\"confidence\":0.95,\"exif_orientation\":6,"
                              "\"width\":10,\"height\":20,\"faces_disagree\":true,\"faces\":[{\"box\":[1.2,2,30,40]"));
    assert_non_null(strstr(j, "\"orientation\":null,\"confidence\":0.5,\"roll\":-3,"));
    assert_non_null(strstr(j, "\"error\":null}"));
    assert_null(strstr(j, "\"file\""));
    free(j);
}

/* The one JSON string writer (results, `fix --json`, the server's errors): escapes what JSON
 * requires, copies well-formed UTF-8, and turns every byte that does not start a well-formed
 * sequence into U+FFFD, so the output is valid JSON and valid UTF-8 whatever the input. */
static void test_json_strings_are_valid_whatever_the_bytes(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"plain", "\"plain\""},
        {"q\"b\\", "\"q\\\"b\\\\\""},
        {"\x01\t\n\x1f\x7f", "\"\\u0001\\u0009\\u000a\\u001f\\u007f\""},
        {"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""}, /* é € 😀 */
        {"\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\""},  /* U+FFFF, U+10FFFF */
        {"\xff", "\"\\ufffd\""},
        {"\x80" "a", "\"\\ufffda\""},                          /* a stray continuation byte */
        {"\xc0\x80", "\"\\ufffd\\ufffd\""},                  /* overlong NUL */
        {"\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""},        /* overlong '/' */
        {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},        /* a surrogate */
        {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* past U+10FFFF */
        {"\xf5\x80", "\"\\ufffd\\ufffd\""},
        {"\xe2\x82", "\"\\ufffd\\ufffd\""},                  /* cut at the end */
        {"\xe2\x82x", "\"\\ufffd\\ufffdx\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fu_strbuf b = {0};
        fu_strbuf_json_string(&b, cases[i].in);
        char *got = fu_strbuf_take(&b);
        assert_non_null(got);
        if (strcmp(got, cases[i].want) != 0)
            fail_msg("case %zu: got %s, want %s", i, got, cases[i].want);
        free(got);
    }
}

/* The workspace keeps what a photo needs for the next one, and gives back what a huge image
 * left, so one large upload does not stay resident in every worker. */
static void test_workspace_keeps_small_buffers_and_gives_back_large_ones(void **state)
{
    (void)state;
    faceup *h = faceup_create();
    faceup_result *r = NULL;
    /* a long thin image: a large buffer, but a cheap decision (its passes are 640 x 64) */
    size_t small = 64 * 48, large = 8000 * 800;
    uint8_t *gray = calloc(large, 1);
    assert_non_null(gray);
    memset(gray, 128, large);
    assert_int_equal(faceup_detect_pixels(h, gray, 64, 48, 0, FACEUP_PIXEL_GRAY, &r), FACEUP_OK);
    faceup_result_free(r);
    assert_true(h->stored.cap >= small * 3);
    uint8_t *kept = h->stored.px;
    assert_int_equal(faceup_detect_pixels(h, gray, 48, 64, 0, FACEUP_PIXEL_GRAY, &r), FACEUP_OK);
    faceup_result_free(r);
    assert_ptr_equal(h->stored.px, kept); /* reused, not reallocated */
    assert_int_equal(faceup_detect_pixels(h, gray, 8000, 800, 0, FACEUP_PIXEL_GRAY, &r), FACEUP_OK);
    assert_int_equal(r->width, 8000);
    faceup_result_free(r);
    assert_true(large * 3 > FU_WORKSPACE_KEEP);
    assert_int_equal(h->stored.cap, 0);
    assert_null(h->stored.px);
    free(gray);
    faceup_destroy(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_model_identity),
        cmocka_unit_test(test_params_are_validated_and_kept),
        cmocka_unit_test(test_detect_reports_errors_as_values),
        cmocka_unit_test(test_pixels_entry_point_agrees_with_the_encoded_one),
        cmocka_unit_test(test_results_do_not_depend_on_threads),
        cmocka_unit_test(test_fix_orientation_turns_as_told_without_the_detector),
        cmocka_unit_test(test_json_of_results_and_of_errors),
        cmocka_unit_test(test_json_strings_are_valid_whatever_the_bytes),
        cmocka_unit_test(test_workspace_keeps_small_buffers_and_gives_back_large_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
