/*
 * fuzz_exif.c - the EXIF block parser, on any bytes: it gets JPEG APP1 payloads (with the
 * "Exif\0\0" header) and PNG eXIf / WebP EXIF chunks (usually without) straight from files.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "codec/exif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int v = fu_exif_orientation(data, size);
    /* The contract: 0, or a real orientation. */
    if (v < 0 || v > 8)
        abort();
    return 0;
}
