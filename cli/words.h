/*
 * words.h - the words `detect` and `fix` print (internal to cli/), so that both say the same
 * thing the same way, and the same as the JSON keys, the X-Faceup-* headers and the man page:
 *
 *   orientation N clockwise   how the photo as displayed was turned from upright (detect's
 *                             answer; the `orientation` key); "orientation 0 (upright)", or
 *                             "undecided"
 *   rotated N counter-clockwise
 *                             what fix did to the displayed image to put it upright: the same
 *                             N (the `rotated_ccw` key, X-Faceup-Rotated-Ccw)
 *   EXIF Orientation T baked in
 *                             the turn of the tag moved into the pixels and the tag reset to 1
 *                             (`exif_baked`, X-Faceup-Exif-Baked)
 *   lossless / re-encoded (lossy)
 *                             how the output was made (`method`, X-Faceup-Method)
 *   dropped: the MPF index, the data after the picture, the EXIF thumbnail
 *                             what the input carried and the output does not (`dropped`,
 *                             X-Faceup-Dropped)
 */
#ifndef FACEUP_CLI_WORDS_H
#define FACEUP_CLI_WORDS_H

#include <stddef.h>

/* "orientation 90 clockwise", "orientation 0 (upright)" or "undecided" (FACEUP_UNDECIDED),
 * written to buf; returns buf. With bare = 1, without the word "orientation" (a table column). */
const char *cli_orientation_words(int orientation, int bare, char *buf, size_t cap);

/* How a fix output was made, in words: "unchanged", "lossless", "re-encoded (lossy)". */
const char *cli_method_words(int path);

/* "the MPF index, the data after the picture (...), the EXIF thumbnail": faceup_fixed.dropped
 * in words, "" for none. */
const char *cli_dropped_words(unsigned dropped, char *buf, size_t cap);

#endif
