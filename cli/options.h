/*
 * options.h - what the subcommands share in reading their command line (internal to cli/).
 */
#ifndef FACEUP_CLI_OPTIONS_H
#define FACEUP_CLI_OPTIONS_H

/* The library's defaults of the options the subcommands share (read from a new handle, so the
 * numbers live in one place). */
typedef struct cli_defaults {
    long long max_pixels, max_bytes, max_memory, detail;
    double face_threshold, min_confidence;
} cli_defaults;

/* 0, or -1 when out of memory (a message is printed for `cmd`). */
int cli_library_defaults(const char *cmd, cli_defaults *d);

/* Number of online CPUs, 1 to 256: the default of -j and --threads. */
int cli_ncpu(void);

/* A whole decimal number in [lo, hi], the whole of s: 0 and *out, or -1 (empty, junk after it,
 * out of range, or too large for a long long). */
int cli_parse_int(const char *s, long long lo, long long hi, long long *out);

/* A number in [0, 1], the whole of s: 0 and *out, or -1. */
int cli_parse_unit(const char *s, double *out);

#endif
