/*
 * options.c - numbers from the command line and the environment, checked the one way.
 */
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "faceup.h"

int cli_library_defaults(const char *cmd, cli_defaults *d)
{
    faceup *h = faceup_create();
    if (!h) {
        fprintf(stderr, "faceup %s: out of memory\n", cmd);
        return -1;
    }
    d->max_pixels = (long long)faceup_get_param(h, FACEUP_PARAM_MAX_PIXELS);
    d->max_bytes = (long long)faceup_get_param(h, FACEUP_PARAM_MAX_BYTES);
    d->max_memory = (long long)faceup_get_param(h, FACEUP_PARAM_MAX_MEMORY);
    d->detail = (long long)faceup_get_param(h, FACEUP_PARAM_DETAIL);
    d->face_threshold = faceup_get_param(h, FACEUP_PARAM_FACE_THRESHOLD);
    d->min_confidence = faceup_get_param(h, FACEUP_PARAM_MIN_CONFIDENCE);
    faceup_destroy(h);
    return 0;
}

int cli_ncpu(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

int cli_parse_int(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_unit(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (!*s || *end || !(v >= 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}
