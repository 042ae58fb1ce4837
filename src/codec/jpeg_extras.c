/*
 * jpeg_extras.c - find an MPF index and the bytes after the first image of a JPEG (see
 * jpeg_extras.h).
 *
 * The end of the first image is its EOI marker, which can only be found by walking the file:
 * the header segments (fu_jpeg_next_segment), then each scan's entropy-coded data up to the
 * next marker (an 0xFF not followed by 0x00, a restart marker or more fill), then whatever
 * segments come between scans (tables, the next SOS of a progressive JPEG), until EOI.
 */
#include "codec/jpeg_extras.h"

#include <string.h>

#include "codec/format.h"
#include "faceup.h"

/* From just after an SOS marker, past its header and entropy-coded data, to the 0xFF of the
 * next marker. Returns 0, or -1 when the data ends first. */
static int skip_scan(const uint8_t *d, size_t n, size_t *pos)
{
    if (n - *pos < 2)
        return -1;
    size_t header = (size_t)d[*pos] << 8 | d[*pos + 1];
    if (header < 2 || header > n - *pos)
        return -1;
    *pos += header;
    for (;;) {
        const uint8_t *ff = *pos < n ? memchr(d + *pos, 0xFF, n - *pos) : NULL;
        if (!ff || (size_t)(ff - d) + 1 >= n)
            return -1;
        *pos = (size_t)(ff - d);
        uint8_t next = d[*pos + 1];
        if (next == 0x00 || (next >= 0xD0 && next <= 0xD7))
            *pos += 2;       /* a stuffed 0xFF, or a restart marker: still the scan */
        else if (next == 0xFF)
            *pos += 1;       /* fill before a marker */
        else
            return 0;
    }
}

unsigned fu_jpeg_extras(const uint8_t *d, size_t n)
{
    unsigned found = 0;
    size_t pos = 0, at, len;
    int marker, more;
    if (n < 3 || d[0] != 0xFF || d[1] != 0xD8 || d[2] != 0xFF)
        return 0;
    for (;;) {
        while ((more = fu_jpeg_next_segment(d, n, &pos, &marker, &at, &len)) > 0)
            if (marker == 0xE2 && len >= 4 && !memcmp(d + at, "MPF\0", 4))
                found |= FACEUP_DROPPED_MPF;
        if (more < 0)
            return found;       /* lost: no end of image to measure from */
        if (d[pos - 1] == 0xD9)
            break;              /* EOI: pos is the end of the first image */
        if (skip_scan(d, n, &pos) != 0)
            return found;       /* a scan that never ends: truncated */
    }
    for (; pos < n; pos++)
        if (d[pos] != 0x00 && d[pos] != 0xFF)
            return found | FACEUP_DROPPED_TRAILER;
    return found;
}
