/*
 * format.h - what each format file of codec/ provides, and what they share (internal to codec/,
 * and to the tests and fuzzers that drive a format directly).
 *
 * A format is a table of functions (fu_format). dispatch.c finds the format of an input by asking
 * each table's sniff() in turn and sends every call to that table, so adding a format is one
 * file and one entry in dispatch.c's list. The files of the folder depend on each other one way:
 *     convert.c -> dispatch.c -> jpeg.c, png.c, webp.c, heif.c -> jpeg_turn.c -> jpeg_errors.c,
 *                                                          reset.c, exif.c
 */
#ifndef FU_FORMAT_H
#define FU_FORMAT_H

#include "codec/codec.h"
#include "codec/exif.h"

/* The metadata a change of format carries along, each a copy: EXIF as a TIFF block (no
 * "Exif\0\0"), the ICC profile, the XMP packet. */
typedef struct fu_meta {
    fu_buf exif, icc, xmp;
} fu_meta;


/* The decoders' state between images: only JPEG's decompressor needs keeping (jpeg.c). */
typedef struct fu_jpeg_reader fu_jpeg_reader;
void fu_jpeg_reader_destroy(fu_jpeg_reader *r);
void fu_jpeg_reader_trim(fu_jpeg_reader *r, size_t keep);

struct fu_codec {
    fu_jpeg_reader *jpeg;   /* made on the first JPEG */
};

typedef struct fu_format {
    faceup_format id;
    /* 1 when the bytes start like this format */
    int (*sniff)(const uint8_t *d, size_t n);
    /* width, height, lossy and exif_orientation from the header (c may be NULL) */
    int (*probe)(fu_codec *c, const uint8_t *d, size_t n, fu_probe *p, char *err);
    /* 8-bit RGB into out; min_side as fu_image_decode's */
    int (*decode)(fu_codec *c, const uint8_t *d, size_t n, long long max_pixels, int min_side,
                  fu_image *out, char *err);
    /* bytes held at the peak of decode(min_side), and the size it decodes to */
    long long (*decode_cost)(const fu_probe *p, int min_side, int *out_w, int *out_h);
    /* bytes held at the peak of fix() */
    long long (*fix_cost)(const fu_probe *p);
    /* bytes a pixel held by encode() beyond the image it is given */
    int encode_cost;
    /* plan->t applied in the format's own terms (see fu_codec_fix) */
    int (*fix)(const uint8_t *d, size_t n, const fu_fix_plan *plan, fu_buf *out,
               faceup_fix_path *path, char *err);
    /* the EXIF block(s) patched in place (see fu_exif_patch), every other byte left as it is;
     * 0, or FU_EXIF_MALFORMED when the container is damaged before its end or a block that had
     * to change could not be read. *found: the Orientation the first block held (0: none) */
    int (*patch_exif)(uint8_t *d, size_t n, int reset, int swap_dims, int *found);
    /* copies of the EXIF, ICC and XMP blocks */
    int (*read_meta)(const uint8_t *d, size_t n, fu_meta *m);
    /* img encoded with m's blocks in the format's own containers for them; `lossless` says
     * what the source was (a WebP target keeps it) */
    int (*encode)(const fu_image *img, int lossless, fu_meta *m, fu_buf *out, char *err);
} fu_format;

extern const fu_format fu_format_jpeg, fu_format_png, fu_format_webp, fu_format_heic,
    fu_format_avif;

/* The fixers and patchers under their own names, for the tests and fuzzers. */
int fu_fix_jpeg(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                faceup_fix_path *path, char err[FU_ERRLEN]);
int fu_fix_png(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
               faceup_fix_path *path, char err[FU_ERRLEN]);
int fu_fix_webp(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                faceup_fix_path *path, char err[FU_ERRLEN]);
int fu_fix_heic(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                faceup_fix_path *path, char err[FU_ERRLEN]);
int fu_fix_avif(const uint8_t *data, size_t size, const fu_fix_plan *plan, fu_buf *out,
                faceup_fix_path *path, char err[FU_ERRLEN]);
int fu_jpeg_patch_exif(uint8_t *data, size_t size, int reset, int swap_dims, int *found);
int fu_png_patch_exif(uint8_t *data, size_t size, int reset, int swap_dims, int *found);
int fu_webp_patch_exif(uint8_t *data, size_t size, int reset, int swap_dims, int *found);

/* After the EXIF block of an output was patched (patch status rc, Orientation value found):
 * NULL when the output is safe, else why it is not. An output whose Orientation could not be
 * reset would be turned twice by viewers, so the fixers refuse it rather than write it. */
const char *fu_fix_check_reset(const fu_fix_plan *plan, int rc, int found);

/* Patch the EXIF block(s) of a fixer's output for plan (Orientation reset when the plan says
 * so, pixel dimensions exchanged when t swaps the axes) and check it as above; on failure the
 * output is freed and the status is FACEUP_ERR_DECODE. */
int fu_fix_patch_output(const fu_format *f, const fu_fix_plan *plan, fu_buf *out, char *err);

/* The identity plan's output, common to every fixer: the input bytes, patched and checked. */
int fu_fix_copy_patched(const fu_format *f, const uint8_t *data, size_t size,
                        const fu_fix_plan *plan, fu_buf *out, char *err);

/* The largest whole factor f that keeps both sides of a w x h image, reduced to ceil(w/f) x
 * ceil(h/f) by averaging f x f blocks, >= min_side; 1 when min_side is 0 or the image small.
 * The reduced decode of the formats that have no scaling of their own (PNG, WebP). */
int fu_reduce_factor(int w, int h, int min_side);

/* The table of a format; NULL for none of ours. */
const fu_format *fu_format_of(faceup_format id);

/* Iterate over the marker segments of a JPEG before its first scan: start with *pos = 0; each
 * call returns 1 with the marker (0xE0 = APP0 ...) and the offset and length of its payload,
 * 0 at SOS or EOI, -1 when the stream is damaged. The one JPEG marker walker of faceup. */
int fu_jpeg_next_segment(const uint8_t *data, size_t size, size_t *pos, int *marker,
                         size_t *payload, size_t *len);

/* The quality (0..100) a lossy WebP frame was encoded at, estimated from the base quantiser in
 * its VP8 frame header (the payload of the "VP8 " chunk); -1 when the header is damaged. */
float fu_webp_estimate_quality(const uint8_t *vp8, size_t size);

/* Big- and little-endian reads and writes, for the container walkers. */
static inline uint32_t fu_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t fu_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
