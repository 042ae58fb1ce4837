/*
 * fuzz_heif.c - the HEIF reader of faceup (src/codec/heif.c) on any bytes: the ftyp sniff, the
 * probe, the decode and the metadata read (EXIF item offset, XMP, ICC), through the HEIC and
 * AVIF tables whatever the brands say, so that libheif's box parser and our use of what it
 * returns see every input. Contracts checked beyond "no crash, no leak":
 *   - a HEIF that decodes has the size its probe said (or half of it, when the half-size
 *     decode for a min_side was allowed);
 *   - the EXIF block read out of a HEIF never says an Orientation other than 1 (it never
 *     applied: see heif.c).
 * The pixel limit is small so the fuzzer spends its time in parsers. The fixer is left out: it
 * re-encodes with x265 or libaom, too slow for a fuzzer and not a parser of the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "codec/format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fu_format *const tables[] = {&fu_format_heic, &fu_format_avif};
    char err[FU_ERRLEN];
    for (int i = 0; i < 2; i++) {
        const fu_format *f = tables[i];
        (void)f->sniff(data, size);
        fu_probe p = {.format = f->id};
        if (f->probe(NULL, data, size, &p, err) != FACEUP_OK)
            continue;
        fu_meta m = {{0}, {0}, {0}};
        if (f->read_meta(data, size, &m) == FACEUP_OK && m.exif.n &&
            fu_exif_orientation(m.exif.p, m.exif.n) > 1)
            abort();
        fu_buf_free(&m.exif);
        fu_buf_free(&m.icc);
        fu_buf_free(&m.xmp);
        /* the last byte picks the full-size decode or the half-size one (heif.c) */
        int min_side = size > 0 && data[size - 1] & 1 ? 8 : 0;
        fu_image img = {0};
        int half = min_side && p.width / 2 >= min_side && p.height / 2 >= min_side;
        if ((long long)p.width * p.height <= 1000000 &&
            f->decode(NULL, data, size, 1000000, min_side, &img, err) == FACEUP_OK &&
            !(img.w == p.width && img.h == p.height) &&
            !(half && img.w == p.width / 2 && img.h == p.height / 2))
            abort();
        fu_image_free(&img);
    }
    return 0;
}
