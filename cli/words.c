/*
 * words.c - the words `detect` and `fix` print (see words.h).
 */
#include "words.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "faceup.h"

const char *cli_orientation_words(int orientation, int bare, char *buf, size_t cap)
{
    const char *word = bare ? "" : "orientation ";
    if (orientation == FACEUP_UNDECIDED)
        snprintf(buf, cap, "undecided");
    else if (orientation == 0)
        snprintf(buf, cap, "%s0 (upright)", word);
    else
        snprintf(buf, cap, "%s%d clockwise", word, orientation);
    return buf;
}

const char *cli_method_words(int path)
{
    return path == FACEUP_FIX_LOSSLESS ? "lossless"
         : path == FACEUP_FIX_REENCODED ? "re-encoded (lossy)" : "unchanged";
}

const char *cli_dropped_words(unsigned dropped, char *buf, size_t cap)
{
    static const char *const words[] = {
        "the MPF index", "the data after the picture (secondary images such as a gain map)",
        "the EXIF thumbnail"};
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < 3; i++)
        if (dropped & (1u << i) && n < cap)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", words[i]);
    return buf;
}
