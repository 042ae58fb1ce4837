/*
 * heif_make.c - test tool: HEIC and AVIF fixtures written with libheif's encoder, and what a
 * HEIF holds, for test_heif.py (which makes every HEIF it reads at test time).
 *
 *     heif_make IN.ppm OUT [--avif] [--quality Q] [--orientation 1..8] [--exif F] [--xmp F]
 *                          [--icc F] [--alpha]
 *     heif_make --dump FILE
 *
 * The first form encodes the binary PPM (P6, 8 bits) IN as HEVC, or AV1 with --avif, at quality
 * Q (default 90). --orientation N stores the pixels as they are and adds the irot/imir
 * properties that show them as EXIF Orientation N would (libheif writes them); --exif attaches
 * the bytes of F as the Exif item (a bare TIFF block, libheif adds the offset), --xmp and --icc
 * the XMP packet and ICC profile; --alpha adds an alpha plane (a ramp). The second form prints
 * {"width", "height" (as displayed), "ispe": [w, h], "bits" (luma bit depth), "exif", "xmp",
 * "icc"} with the
 * blocks in hex (the Exif item without its 4-byte offset) or null.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libheif/heif.h>

#include "read_file.h"

/* The whole file, or NULL (cli/read_file.c: the CLI's reader). */
static unsigned char *slurp(const char *path, size_t *n)
{
    unsigned char *d;
    char err[256];
    return cli_read_file(path, 1LL << 40, &d, n, NULL, err, sizeof err) == 0 ? d : NULL;
}

static int check(struct heif_error e, const char *what)
{
    if (e.code == heif_error_Ok)
        return 0;
    fprintf(stderr, "heif_make: %s: %s\n", what, e.message);
    return -1;
}

/* P6 with maxval 255, no comments: the pixels, their size in *w x *h. */
static const unsigned char *ppm_pixels(const unsigned char *d, size_t n, int *w, int *h)
{
    int maxval, used = 0;
    if (n < 2 || sscanf((const char *)d, "P6 %d %d %d%n", w, h, &maxval, &used) != 3 ||
        maxval != 255 || *w <= 0 || *h <= 0 || (size_t)used + 1 + (size_t)*w * *h * 3 > n)
        return NULL;
    return d + used + 1;
}

static void print_hex(const char *name, const unsigned char *p, size_t n)
{
    printf(",\"%s\":", name);
    if (!p) {
        printf("null");
        return;
    }
    putchar('"');
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    putchar('"');
}

static void dump_block(struct heif_image_handle *item, const char *type, const char *name)
{
    heif_item_id id;
    if (heif_image_handle_get_list_of_metadata_block_IDs(item, type, &id, 1) != 1) {
        print_hex(name, NULL, 0);
        return;
    }
    size_t n = heif_image_handle_get_metadata_size(item, id), skip = 0;
    unsigned char *p = malloc(n + 1);
    heif_image_handle_get_metadata(item, id, p);
    if (!strcmp(type, "Exif") && n >= 4)
        skip = 4 + ((size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]);
    print_hex(name, skip <= n ? p + skip : NULL, skip <= n ? n - skip : 0);
    free(p);
}

static int dump(const char *path)
{
    size_t n;
    unsigned char *d = slurp(path, &n);
    struct heif_context *ctx = heif_context_alloc();
    struct heif_image_handle *item = NULL;
    if (!d || check(heif_context_read_from_memory_without_copy(ctx, d, n, NULL), path) ||
        check(heif_context_get_primary_image_handle(ctx, &item), path))
        return 1;
    printf("{\"width\":%d,\"height\":%d,\"ispe\":[%d,%d],\"bits\":%d",
           heif_image_handle_get_width(item), heif_image_handle_get_height(item),
           heif_image_handle_get_ispe_width(item), heif_image_handle_get_ispe_height(item),
           heif_image_handle_get_luma_bits_per_pixel(item));
    dump_block(item, "Exif", "exif");
    dump_block(item, "mime", "xmp");
    size_t icc = heif_image_handle_get_raw_color_profile_size(item);
    unsigned char *p = icc ? malloc(icc) : NULL;
    if (p)
        heif_image_handle_get_raw_color_profile(item, p);
    print_hex("icc", p, icc);
    printf("}\n");
    free(p);
    heif_image_handle_release(item);
    heif_context_free(ctx);
    free(d);
    return 0;
}

typedef struct opts {
    int avif, quality, orientation, alpha;
    const char *exif, *xmp, *icc;
} opts;

static struct heif_image *image_of(const unsigned char *px, int w, int h, const opts *o)
{
    struct heif_image *img = NULL;
    int bpp = o->alpha ? 4 : 3, stride;
    if (check(heif_image_create(w, h, heif_colorspace_RGB, o->alpha ? heif_chroma_interleaved_RGBA
                                                                   : heif_chroma_interleaved_RGB,
                                &img), "image") ||
        check(heif_image_add_plane(img, heif_channel_interleaved, w, h, 8), "plane"))
        return NULL;
    unsigned char *dst = heif_image_get_plane(img, heif_channel_interleaved, &stride);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            memcpy(dst + (size_t)y * stride + (size_t)x * bpp, px + ((size_t)y * w + x) * 3, 3);
            if (o->alpha)
                dst[(size_t)y * stride + (size_t)x * 4 + 3] = (unsigned char)(255 * x / w);
        }
    size_t n;
    unsigned char *icc = o->icc ? slurp(o->icc, &n) : NULL;
    if (icc)
        check(heif_image_set_raw_color_profile(img, "prof", icc, n), "icc");
    free(icc);
    return img;
}

static int attach(struct heif_context *ctx, struct heif_image_handle *item, const opts *o)
{
    size_t n;
    unsigned char *d;
    int rc = 0;
    if (o->exif && (d = slurp(o->exif, &n))) {
        rc |= check(heif_context_add_exif_metadata(ctx, item, d, (int)n), "exif");
        free(d);
    }
    if (o->xmp && (d = slurp(o->xmp, &n))) {
        rc |= check(heif_context_add_XMP_metadata(ctx, item, d, (int)n), "xmp");
        free(d);
    }
    return rc;
}

static int make(const char *in, const char *out, const opts *o)
{
    size_t n;
    int w, h;
    unsigned char *d = slurp(in, &n);
    const unsigned char *px = d ? ppm_pixels(d, n, &w, &h) : NULL;
    if (!px)
        return fprintf(stderr, "heif_make: %s: not a P6 PPM\n", in), 1;
    struct heif_context *ctx = heif_context_alloc();
    struct heif_encoder *enc = NULL;
    struct heif_image_handle *item = NULL;
    struct heif_image *img = image_of(px, w, h, o);
    struct heif_encoding_options *eo = heif_encoding_options_alloc();
    eo->image_orientation = (enum heif_orientation)o->orientation;
    int rc = !img ||
             check(heif_context_get_encoder_for_format(
                       ctx, o->avif ? heif_compression_AV1 : heif_compression_HEVC, &enc),
                   "encoder") ||
             check(heif_encoder_set_lossy_quality(enc, o->quality), "quality") ||
             check(heif_context_encode_image(ctx, img, enc, eo, &item), "encode") ||
             attach(ctx, item, o) || check(heif_context_write_to_file(ctx, out), out);
    heif_encoding_options_free(eo);
    heif_image_handle_release(item);
    heif_image_release(img);
    if (enc)
        heif_encoder_release(enc);
    heif_context_free(ctx);
    free(d);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "--dump"))
        return dump(argv[2]);
    opts o = {0, 90, 1, 0, NULL, NULL, NULL};
    if (argc < 3)
        return fprintf(stderr, "usage: heif_make IN.ppm OUT [options] | --dump FILE\n"), 2;
    for (int i = 3; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--avif"))
            o.avif = 1;
        else if (!strcmp(a, "--alpha"))
            o.alpha = 1;
        else if (v && !strcmp(a, "--quality") && ++i)
            o.quality = atoi(v);
        else if (v && !strcmp(a, "--orientation") && ++i)
            o.orientation = atoi(v);
        else if (v && !strcmp(a, "--exif") && ++i)
            o.exif = v;
        else if (v && !strcmp(a, "--xmp") && ++i)
            o.xmp = v;
        else if (v && !strcmp(a, "--icc") && ++i)
            o.icc = v;
        else
            return fprintf(stderr, "heif_make: bad option %s\n", a), 2;
    }
    return make(argv[1], argv[2], &o);
}
