/*
 * jpeg_extras.h - what a JPEG file carries besides its one picture (internal).
 *
 * A multi-picture JPEG (CIPA DC-007, "MPF") holds an index in an APP2 "MPF" segment and its
 * secondary images after the EOI of the first one: a phone's HDR gain map, a depth map, a
 * second view. Other files carry other data after EOI. A JPEG that faceup re-writes keeps
 * neither (the secondary images would not be turned with the picture, and the index would point
 * at nothing), so faceup_fix compares what its input and its output carry and reports the
 * difference (faceup_fixed.dropped).
 */
#ifndef FU_JPEG_EXTRAS_H
#define FU_JPEG_EXTRAS_H

#include <stddef.h>
#include <stdint.h>

/* The faceup_dropped flags (faceup.h) of what `data` carries: FACEUP_DROPPED_MPF for an APP2
 * segment starting "MPF\0", FACEUP_DROPPED_TRAILER for bytes after the EOI of the first image
 * other than 0x00 and 0xFF padding. 0 for anything that is not a JPEG, and no trailer is
 * claimed for a JPEG whose first image does not end (damaged, truncated). Linear in size,
 * allocates nothing; any byte string is safe. */
unsigned fu_jpeg_extras(const uint8_t *data, size_t size);

#endif
