/*
 * exif.c - the EXIF tags faceup reads and writes: Orientation (0x0112) in IFD 0, and the pixel
 * dimensions of the Exif IFD; and the link to the thumbnail's IFD 1.
 *
 * One bounded walk serves both the reader (what the probe reports, so what the detector turns
 * the picture by) and the patcher (what faceup_fix resets), so the two can never disagree about
 * where the tag is or what it says: an Orientation is one SHORT or LONG value in IFD 0, and a
 * value outside 1..8 is no orientation at all.
 *
 * The thumbnail. IFD 0's "next IFD" link names IFD 1, which describes a small JPEG of the same
 * picture, stored as the main image is and turned by the same Orientation tag. Once the pixels
 * are turned and the tag reset it would show turned, so the patcher can unlink it (the link
 * itself is the only thing read of IFD 1; it is never followed).
 *
 * TIFF layout: an 8-byte header ("II*\0" little-endian or "MM\0*" big-endian, then the offset of
 * IFD 0), then IFDs: a 2-byte entry count and 12-byte entries {tag, type, count, value-or-offset}.
 * Only two IFDs are visited (IFD 0 and the one its ExifIFD pointer names), each entry table is
 * checked to lie inside the block, after the header and apart from the other before it is read,
 * and nothing follows "next IFD" links, so a hostile block can neither loop nor make us read out
 * of bounds, nor make a patch rewrite the structure that locates what it patches. Every write
 * happens after the whole walk has succeeded: a malformed block is left exactly as it came.
 */
#include "codec/exif.h"

#include <string.h>

enum {
    TAG_ORIENTATION = 0x0112,
    TAG_EXIF_IFD = 0x8769,
    TAG_PIXEL_X = 0xA002,
    TAG_PIXEL_Y = 0xA003,
    TYPE_SHORT = 3,
    TYPE_LONG = 4,
    TYPE_IFD = 13,
};

typedef struct tiff {
    const uint8_t *p;   /* the TIFF header */
    size_t size;
    int big;      /* "MM": big-endian */
} tiff;

static unsigned get16(const tiff *t, size_t off)
{
    const uint8_t *b = t->p + off;
    return t->big ? (unsigned)(b[0] << 8 | b[1]) : (unsigned)(b[1] << 8 | b[0]);
}

static uint32_t get32(const tiff *t, size_t off)
{
    const uint8_t *b = t->p + off;
    return t->big ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]
                  : (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
}

/* The offset of the entry table of the IFD at `ifd` and its entry count, or -1 when the table
 * does not fit in the block or starts inside the 8-byte header (TIFF puts every IFD after it;
 * one that overlapped it would let a patch rewrite the header, and the block would no longer
 * read as the one patched). */
static int ifd_entries(const tiff *t, uint32_t ifd, size_t *first, unsigned *n)
{
    if (ifd < 8 || ifd > t->size || t->size - ifd < 2)
        return -1;
    *n = get16(t, ifd);
    if ((t->size - ifd - 2) / 12 < *n)
        return -1;
    *first = (size_t)ifd + 2;
    return 0;
}

/* The entry with `tag` in an IFD, or 0 (no entry starts at offset 0: the header is there). */
static size_t find_tag(const tiff *t, size_t first, unsigned n, unsigned tag)
{
    for (unsigned i = 0; i < n; i++)
        if (get16(t, first + 12 * (size_t)i) == tag)
            return first + 12 * (size_t)i;
    return 0;
}

/* An entry holding one SHORT or LONG value inline; everything else is not one we patch. */
static int single_value(const tiff *t, size_t entry)
{
    unsigned type = get16(t, entry + 2);
    return (type == TYPE_SHORT || type == TYPE_LONG) && get32(t, entry + 4) == 1;
}

/* What the walk found: IFD 0's entry table, the first Orientation value, and with `dims` the
 * PixelXDimension and PixelYDimension entries (0: absent). */
typedef struct walk {
    size_t first0;
    unsigned n0;
    size_t next0;       /* IFD 0's link to IFD 1, 0 when it does not fit in the block */
    int orientation;
    size_t px, py;
} walk;

/* The TIFF header at `exif` ("Exif\0\0" prefix allowed). Returns 0, or FU_EXIF_MALFORMED. */
static int open_tiff(const uint8_t *exif, size_t size, tiff *t)
{
    static const uint8_t prefix[6] = {'E', 'x', 'i', 'f', 0, 0};
    if (!exif)
        return FU_EXIF_MALFORMED;
    if (size >= sizeof prefix && memcmp(exif, prefix, sizeof prefix) == 0) {
        exif += sizeof prefix;
        size -= sizeof prefix;
    }
    if (size < 8)
        return FU_EXIF_MALFORMED;
    *t = (tiff){exif, size, 0};
    if (memcmp(exif, "MM\0*", 4) == 0)
        t->big = 1;
    else if (memcmp(exif, "II*\0", 4) != 0)
        return FU_EXIF_MALFORMED;
    return 0;
}

/* Walk IFD 0 and, with `dims`, the Exif IFD. Returns 0, or FU_EXIF_MALFORMED. */
static int walk_ifds(const tiff *t, int dims, walk *w)
{
    memset(w, 0, sizeof *w);
    if (ifd_entries(t, get32(t, 4), &w->first0, &w->n0) < 0)
        return FU_EXIF_MALFORMED;
    size_t link = w->first0 + 12 * (size_t)w->n0;
    w->next0 = t->size - link >= 4 ? link : 0;
    for (unsigned i = 0; i < w->n0 && !w->orientation; i++) {
        size_t e = w->first0 + 12 * (size_t)i;
        if (get16(t, e) != TAG_ORIENTATION || !single_value(t, e))
            continue;
        uint32_t v = get16(t, e + 2) == TYPE_SHORT ? get16(t, e + 8) : get32(t, e + 8);
        w->orientation = v >= 1 && v <= 8 ? (int)v : 0;
    }
    size_t exif_ifd = find_tag(t, w->first0, w->n0, TAG_EXIF_IFD);
    if (dims && exif_ifd) {
        size_t first1;
        unsigned n1, type = get16(t, exif_ifd + 2);
        if (type != TYPE_LONG && type != TYPE_IFD)
            return FU_EXIF_MALFORMED;
        uint32_t at = get32(t, exif_ifd + 8);
        if (ifd_entries(t, at, &first1, &n1) < 0)
            return FU_EXIF_MALFORMED;
        /* The Exif IFD must not overlap IFD 0 (its table and link), or exchanging the
         * dimensions could rewrite IFD 0's entries, and the other way round. */
        size_t end0 = w->first0 + 12 * (size_t)w->n0 + 4, end1 = first1 + 12 * (size_t)n1;
        if (at < end0 && w->first0 - 2 < end1)
            return FU_EXIF_MALFORMED;
        w->px = find_tag(t, first1, n1, TAG_PIXEL_X);
        w->py = find_tag(t, first1, n1, TAG_PIXEL_Y);
    }
    return 0;
}

int fu_exif_has_thumbnail(const uint8_t *exif, size_t size)
{
    tiff t;
    walk w;
    if (open_tiff(exif, size, &t) < 0 || walk_ifds(&t, 0, &w) < 0)
        return 0;
    return w.next0 && get32(&t, w.next0) != 0;
}

int fu_exif_orientation(const uint8_t *exif, size_t size)
{
    tiff t;
    walk w;
    if (open_tiff(exif, size, &t) < 0 || walk_ifds(&t, 0, &w) < 0)
        return 0;
    return w.orientation;
}

/* Reset every Orientation entry of IFD 0 to 1, not only the first: a reader that takes the last
 * of two duplicates must not see the old turn. A SHORT sits in the first two bytes of the value
 * field; a LONG holds the same small number, so in either byte order writing the value 1 in the
 * field's width is right. */
static void reset_orientation(uint8_t *p, const tiff *t, const walk *w)
{
    for (unsigned i = 0; i < w->n0; i++) {
        size_t e = w->first0 + 12 * (size_t)i;
        if (get16(t, e) != TAG_ORIENTATION || !single_value(t, e))
            continue;
        int width = get16(t, e + 2) == TYPE_SHORT ? 2 : 4;
        memset(p + e + 8, 0, (size_t)width);
        p[e + 8 + (t->big ? width - 1 : 0)] = 1;
    }
}

int fu_exif_patch(uint8_t *exif, size_t size, int reset, int swap_dims, int *orientation)
{
    tiff t;
    walk w;
    if (orientation)
        *orientation = 0;
    if (open_tiff(exif, size, &t) < 0 || walk_ifds(&t, swap_dims, &w) < 0)
        return FU_EXIF_MALFORMED;
    if (orientation)
        *orientation = w.orientation;
    /* The walk succeeded: now write, into the block the walk read (t.p is inside it). */
    uint8_t *p = exif + (t.p - exif);
    if (reset)
        reset_orientation(p, &t, &w);
    if ((reset & FU_EXIF_DROP_THUMBNAIL) && w.next0)
        memset(p + w.next0, 0, 4);
    if (w.px && w.py && single_value(&t, w.px) && single_value(&t, w.py)) {
        /* Exchange type, count and value, leaving the tag numbers (and so the required
         * ascending order of the entries) where they are; works for SHORT and LONG alike. */
        uint8_t tmp[10];
        memcpy(tmp, p + w.px + 2, 10);
        memcpy(p + w.px + 2, p + w.py + 2, 10);
        memcpy(p + w.py + 2, tmp, 10);
    }
    return 0;
}

int fu_exif_patch_next(uint8_t *exif, size_t size, int reset, int swap_dims, int *first)
{
    int o = 0;
    int rc = fu_exif_patch(exif, size, reset, swap_dims, &o);
    if (*first < 0)
        *first = rc == 0 ? o : 0;
    return rc;
}
