/*
 * codec/ - encoded images, one file per format: jpeg.c (and jpeg_turn.c, its DCT-domain turn),
 * png.c, webp.c, heif.c (HEIC and AVIF, through libheif). Each owns everything about its format: the magic bytes, the header probe, the
 * decode to 8-bit RGB (scaled where the format allows), finding and patching its EXIF block,
 * the turn in its own pixels or coefficients (lossless where the format allows), and reading and
 * writing the metadata a change of format carries along. exif.c is the TIFF walk they share,
 * reset.c the rule they all apply to the EXIF Orientation of an output; dispatch.c implements
 * this interface by sending each call to the input's format, and convert.c changes the format.
 * Includes base/ and geom/ only: a codec knows pixels, not faces.
 *
 * codec.h - the interface of the codecs (internal).
 *
 * Every input is hostile until its header says otherwise: the format is sniffed from its magic
 * bytes, the dimensions read from the header alone, and the image refused when width*height
 * is over the caller's pixel limit before anything is allocated for its pixels.
 */
#ifndef FU_CODEC_H
#define FU_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "faceup.h"
#include "geom/d4.h"
#include "geom/image.h"

/* What the header of an encoded image says, before any pixel is decoded. */
typedef struct fu_probe {
    faceup_format format;
    int width, height;        /* as stored (before EXIF) */
    int exif_orientation;     /* 1..8, or 0 when the file has no EXIF Orientation tag */
    int lossy;                /* WebP: 1 for VP8 (lossy), 0 for VP8L; JPEG: 1; PNG: 0 */
    /* what the pixels cost, for fu_decode_cost and fu_fix_cost */
    int channels;             /* samples a pixel as stored, alpha included (1..4) */
    int depth;                /* bits a sample as stored: PNG 1..16, else 8 */
    int interlaced;           /* PNG Adam7 or progressive JPEG: the decoder holds the whole image */
    long long coef_bytes;     /* JPEG: the DCT coefficients of the whole image, as libjpeg holds them */
    int exif_thumbnail;       /* 1 when its EXIF block links a thumbnail (IFD 1) */
} fu_probe;

/* A decoder's state kept from one image to the next (the JPEG decompressor and the memory it
 * decodes in), so that decoding allocates nothing once it has seen an image of the size. One
 * thread at a time. */
typedef struct fu_codec fu_codec;

/* NULL when out of memory. fu_codec_destroy(NULL) is a no-op. */
fu_codec *fu_codec_create(void);
void fu_codec_destroy(fu_codec *c);

/* Give back memory kept for images over `keep` bytes (the next large image allocates again). */
void fu_codec_trim(fu_codec *c, size_t keep);

/* Read format, stored dimensions and EXIF orientation from the header only. Checks
 * width*height <= max_pixels (which must be > 0). Returns a faceup_status; on error writes a
 * message to err (err may be NULL) and zeroes *out. Empty or foreign bytes: FACEUP_ERR_FORMAT;
 * a damaged or truncated header: FACEUP_ERR_DECODE. */
int fu_image_probe(const uint8_t *data, size_t size, long long max_pixels, fu_probe *out,
                   char err[FU_ERRLEN]);

/* The same with the decoder state `c` (may be NULL), so that probing allocates nothing. */
int fu_image_probe_with(fu_codec *c, const uint8_t *data, size_t size, long long max_pixels,
                        fu_probe *out, char err[FU_ERRLEN]);

/* Decode to RGB into `out`, whose buffer is reused when large enough (out must be an image or
 * zeroed). `c` keeps the decoder between calls; NULL decodes with a temporary one. For JPEG,
 * when min_side > 0, the smallest DCT scaling factor is used whose output still has both sides
 * >= min_side (or the full size when none does), so large photos are never decoded at full
 * resolution; for HEIC and AVIF (8-bit 4:2:0 without alpha, a known matrix), half the size when
 * both halves are >= min_side, straight from the Y'CbCr planes. Alpha is composited over
 * black; 16-bit is reduced to 8; palette, grayscale and CMYK are converted. The pixel limit is checked before any decode. Data that ends early or is
 * corrupt anywhere (libjpeg warnings included) is FACEUP_ERR_DECODE; animated WebP is
 * FACEUP_ERR_FORMAT. info (may be NULL) gets what fu_image_probe says, so its width/height are
 * the stored size even when JPEG decoding was reduced. On failure `out` holds no picture
 * (w = h = 0) but keeps its buffer. */
int fu_image_decode(fu_codec *c, const uint8_t *data, size_t size, long long max_pixels,
                    int min_side, fu_image *out, fu_probe *info, char err[FU_ERRLEN]);

/* ---- what an image costs --------------------------------------------------------------------
 *
 * Memory is budgeted by decoded pixels, not by encoded bytes: a 38-byte WebP can be 10000x10000.
 * So the cost of every decode and fix is computed from the header alone, before anything is
 * allocated, and the caller refuses what is over its budget. Each format knows what its decoder
 * holds at its peak (the output, the whole image for an interlaced PNG or a lossless WebP, the
 * coefficients of a progressive JPEG, and row buffers); the estimates round up, never down. */

/* Bytes held at the peak of fu_image_decode(min_side) of an image probed as p, plus `copies`
 * more RGB images of the decoded size (the caller's EXIF turn). */
long long fu_decode_cost(const fu_probe *p, int min_side, int copies);

/* Bytes held at the peak of fu_codec_fix (target == p->format) or fu_codec_convert (another
 * target), the output's encoded bytes not included. */
long long fu_fix_cost(const fu_probe *p, faceup_format target);

/* ---- turning the encoded image (faceup_fix) ----------------------------------------------- */

typedef struct fu_fix_plan {
    fu_d4 t;               /* applied to the stored pixels */
    int reset_orientation; /* write EXIF Orientation = 1 (the turn in it is part of t): a set of
                              FU_EXIF_RESET and, when t moves pixels, FU_EXIF_DROP_THUMBNAIL */
    int exif_orientation;  /* what the probe found, 0..8: a block that holds one (> 1) but cannot
                              be patched is an error, never a picture turned twice */
    int keep_metadata;     /* 0: drop EXIF, ICC, XMP, comments and text */
    int lossless_only;     /* 1: a fixer that can only re-encode (HEIF) does no work: it says
                              FACEUP_FIX_REENCODED with `out` empty, and faceup_fix hands back
                              the input */
    long long max_pixels;
} fu_fix_plan;

/* Apply plan->t to an image probed as `probe`, in its own format: the format's fixer copies
 * the metadata it can keep byte for byte and patches the EXIF block in place. On success *out
 * holds a new image and *path says how it was made; on failure a faceup_status and a message
 * in err. */
int fu_codec_fix(const uint8_t *data, size_t size, const fu_probe *probe,
                 const fu_fix_plan *plan, fu_buf *out, faceup_fix_path *path,
                 char err[FU_ERRLEN]);

/* The same in another format, `target`: decoded, turned and encoded (convert.c); the EXIF, ICC
 * and XMP blocks go along when plan->keep_metadata. Always FACEUP_FIX_REENCODED. */
int fu_codec_convert(const uint8_t *data, size_t size, const fu_probe *probe,
                     faceup_format target, const fu_fix_plan *plan, fu_buf *out,
                     char err[FU_ERRLEN]);

#endif
