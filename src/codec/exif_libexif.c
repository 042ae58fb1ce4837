/*
 * exif.c - the one EXIF tag faceup needs: Orientation (0x0112) in IFD0.
 *
 * libexif does the TIFF parsing (byte order, IFD chains, offsets that point anywhere). Two of
 * its habits need taming:
 *   - it only accepts a block that starts with the JPEG APP1 header "Exif\0\0" (or a JPEG
 *     stream), while PNG eXIf and some WebP EXIF chunks hold the bare TIFF structure, so a
 *     bare block gets the header put in front of it;
 *   - by default it "fixes" the data to follow the specification, which adds the mandatory
 *     tags that are missing with default values: an absent Orientation could come back as 1.
 *     That option is turned off, so what we report is what the file says.
 * Anything malformed, an Orientation that is not a SHORT or outside 1..8 included, reads as 0
 * ("no orientation"): a viewer would ignore it too.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <libexif/exif-data.h>

#include "geom/image.h"

static const uint8_t EXIF_HEADER[6] = {'E', 'x', 'i', 'f', 0, 0};

/* EXIF in a JPEG is at most 64 KiB; PNG and WebP allow more, but an Orientation tag lives in
 * IFD0, near the start. Anything bigger than this is not worth parsing. */
#define EXIF_MAX_BYTES ((size_t)16 << 20)

static int orientation_of(const uint8_t *block, size_t size)
{
    ExifData *ed = exif_data_new();
    if (!ed)
        return 0;
    exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
    exif_data_load_data(ed, block, (unsigned int)size);

    int value = 0;
    ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (e && e->format == EXIF_FORMAT_SHORT && e->components >= 1 && e->data && e->size >= 2) {
        ExifShort v = exif_get_short(e->data, exif_data_get_byte_order(ed));
        if (v >= 1 && v <= 8)
            value = v;
    }
    exif_data_unref(ed);
    return value;
}

int fu_exif_orientation(const uint8_t *exif, size_t size)
{
    if (!exif || size < 8 || size > EXIF_MAX_BYTES)
        return 0;
    if (size >= sizeof EXIF_HEADER && memcmp(exif, EXIF_HEADER, sizeof EXIF_HEADER) == 0)
        return orientation_of(exif, size);

    /* A bare TIFF structure: "II*\0" or "MM\0*". Anything else is not EXIF. */
    if (!(memcmp(exif, "II*\0", 4) == 0 || memcmp(exif, "MM\0*", 4) == 0))
        return 0;
    uint8_t *block = malloc(sizeof EXIF_HEADER + size);
    if (!block)
        return 0;
    memcpy(block, EXIF_HEADER, sizeof EXIF_HEADER);
    memcpy(block + sizeof EXIF_HEADER, exif, size);
    int value = orientation_of(block, sizeof EXIF_HEADER + size);
    free(block);
    return value;
}
