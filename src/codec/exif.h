/*
 * exif.h - read the EXIF Orientation, and reset it in place (internal).
 *
 * The reader and the patcher are one walk over the TIFF structure (exif.c), so whatever
 * orientation faceup reads is the one it can reset, and the other way round. Once faceup_fix has turned the stored pixels, the Orientation tag must say 1, or a viewer would
 * turn the picture a second time; and when width and height were exchanged, so must be the
 * PixelXDimension and PixelYDimension tags. Rebuilding the EXIF block with a library would
 * rewrite every other field too (offsets, maker notes, padding), so these few values are
 * overwritten where they stand and every other byte of the block stays as it was.
 */
#ifndef FU_EXIF_H
#define FU_EXIF_H

#include <stddef.h>
#include <stdint.h>

#define FU_EXIF_MALFORMED (-1)

/* The `reset_orientation` argument of fu_exif_patch is a set of these (fu_fix_plan's too). */
#define FU_EXIF_RESET 1           /* Orientation := 1 */
#define FU_EXIF_DROP_THUMBNAIL 2  /* unlink IFD 1, the thumbnail's: the pixels were turned and the
                                     thumbnail was not, so with the tag reset it would show turned */

/* The EXIF Orientation value (1..8) in a TIFF-structured EXIF block ("Exif\0\0" prefix
 * allowed): the first entry of IFD 0 with tag 0x0112 holding one SHORT or LONG value in 1..8.
 * 0 when there is none or the block is malformed (exactly when fu_exif_patch would find none). */
int fu_exif_orientation(const uint8_t *exif, size_t size);

/* 1 when the block links IFD 0 to an IFD 1 (the thumbnail's), 0 when not or malformed. */
int fu_exif_has_thumbnail(const uint8_t *exif, size_t size);

/* Patch a TIFF-structured EXIF block ("Exif\0\0" prefix allowed) in place: the Orientation of
 * IFD 0 becomes 1 when `reset_orientation` (any non-zero set of FU_EXIF_*); PixelXDimension and
 * PixelYDimension of the Exif IFD are exchanged when `swap_dims` (only when both are present).
 * With FU_EXIF_DROP_THUMBNAIL, IFD 0's link to IFD 1 is set to 0: readers then find no
 * thumbnail (its bytes stay, unreferenced, so the block keeps its size). Otherwise IFD 1 is
 * left alone.
 *
 * Returns 0 (also when a tag is absent: nothing to patch) and, when `orientation` is not NULL,
 * the Orientation value found before patching (0 when absent); FU_EXIF_MALFORMED, with the block
 * untouched, when the TIFF header or an IFD it needs runs outside the block. Never reads or writes
 * outside [exif, exif + size). */
int fu_exif_patch(uint8_t *exif, size_t size, int reset_orientation, int swap_dims,
                  int *orientation);

/* fu_exif_patch() on one of a container's EXIF blocks, keeping in *first (start it at -1) the
 * Orientation the first block held: 0 when that block was malformed or had none. */
int fu_exif_patch_next(uint8_t *exif, size_t size, int reset, int swap_dims, int *first);

#endif
