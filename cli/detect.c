/*
 * detect.c - `faceup detect [--json] [-j N] FILE...`
 *
 * Workers (one faceup handle each) decide the files in parallel and the answers are printed in
 * input order as they become ready (batch.c), so output is streamed, ordered and the same
 * whatever -j is. Exit 0 when every input was read, 1 when some could not be, 2 on usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "batch.h"
#include "cli.h"
#include "faceup.h"
#include "options.h"
#include "read_file.h"
#include "words.h"

typedef struct options {
    char **files;
    int json;
    long long jobs, max_bytes, max_pixels, max_memory, detail;
    double face_threshold;
    int any_failed;
} options;

static char *render_table_row(const char *file, const faceup_result *r, const char *error)
{
    char line[2048];
    if (!r) {
        snprintf(line, sizeof line, "%s: error: %s", file, error);
    } else {
        char orient[32], exif[8];
        cli_orientation_words(r->orientation, 1, orient, sizeof orient);
        snprintf(exif, sizeof exif, r->exif_orientation ? "%d" : "-", r->exif_orientation);
        snprintf(line, sizeof line, "%-40s  %-13s  %10.3f  %5d  %4s%s", file, orient,
                 r->confidence, r->n_faces, exif, r->faces_disagree ? "  (faces disagree)" : "");
    }
    return strdup(line);
}

static char *answer(faceup *h, const options *o, const char *file, int *failed)
{
    unsigned char *data = NULL;
    size_t size = 0;
    char err[512];
    faceup_result *r = NULL;
    *failed = 1;
    if (cli_read_file(file, o->max_bytes, &data, &size, NULL, err, sizeof err) == 0) {
        if (faceup_detect(h, data, size, &r) == FACEUP_OK)
            *failed = 0;
        else
            snprintf(err, sizeof err, "%s", fu_err_text(faceup_errmsg(h)));
    }
    free(data);
    char *s = o->json ? faceup_result_json(r, file, err) : render_table_row(file, r, err);
    faceup_result_free(r);
    return s;
}

static void *open_handle(void *ctx, int slot)
{
    const options *o = ctx;
    (void)slot;
    faceup *h = faceup_create();
    if (h) {
        faceup_set_param(h, FACEUP_PARAM_MAX_PIXELS, (double)o->max_pixels);
        faceup_set_param(h, FACEUP_PARAM_MAX_BYTES, (double)o->max_bytes);
        faceup_set_param(h, FACEUP_PARAM_MAX_MEMORY, (double)o->max_memory);
        faceup_set_param(h, FACEUP_PARAM_FACE_THRESHOLD, o->face_threshold);
        faceup_set_param(h, FACEUP_PARAM_DETAIL, (double)o->detail);
    }
    return h;
}

static void close_handle(void *h)
{
    faceup_destroy(h);
}

static char *run_one(void *ctx, void *h, int slot, int i, int *failed)
{
    const options *o = ctx;
    (void)slot;
    *failed = 1;
    return h ? answer(h, o, o->files[i], failed) : NULL;
}

static void emit(void *ctx, int i, char *line, int failed)
{
    options *o = ctx;
    (void)i;
    /* in the table, errors go to stderr: stdout holds only answers */
    FILE *to = (failed || !line) && !o->json ? stderr : stdout;
    fputs(line ? line : o->json ? "{\"file\":null,\"orientation\":null,\"error\":\"out of memory\"}"
                                : "error: out of memory", to);
    fputc('\n', to);
    fflush(to);
    o->any_failed |= failed || !line;
    free(line);
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: faceup detect [--json] [-j N] [--max-pixels N] [--max-bytes N] [--max-memory BYTES]\n"
            "                     [--face-threshold S] [--detail N] FILE...\n"
            "\n"
            "Report the orientation of each image: the clockwise angle (0/90/180/270) by which\n"
            "the upright picture was turned to give the image as displayed ('90 clockwise';\n"
            "'0 (upright)'), or 'undecided' (JSON null) when there is no face or the evidence is\n"
            "too weak. `faceup fix` rotates it back counter-clockwise by the same angle. The EXIF\n"
            "Orientation tag is applied first and reported. Errors go to stderr (to stdout, in\n"
            "the \"error\" field, with --json).\n"
            "\n"
            "  --json            one JSON object per input, one per line, in input order\n"
            "  -j, --jobs N      images decided in parallel (default: number of CPUs)\n"
            "  --max-pixels N    refuse images over N pixels, read from the header (default 100000000)\n"
            "  --max-bytes N     refuse files over N bytes (default 268435456)\n"
            "  --max-memory BYTES  refuse an image whose decode would hold more than BYTES for\n"
            "                    its pixels, estimated from the header, per job (default\n"
            "                    1073741824, at least 1048576)\n"
            "  --face-threshold S  lowest detector score listed as a face, 0..1 (default 0.5);\n"
            "                    it filters the list only, never the answer\n"
            "  --detail N        longest side in pixels of the finest face search, 192..16384\n"
            "                    (default 640); raise it to list faces of ~20 px in large photos\n"
            "  -h, --help        this help\n"
            "\n"
            "Exit status: 0 every input was read, 1 some could not be (each gets an error), 2 usage.\n");
}

/* The options, from the library's defaults and the command line. 0, or the exit status. */
static int parse_options(int argc, char **argv, options *o)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'J'},   {"jobs", required_argument, NULL, 'j'},
        {"max-pixels", required_argument, NULL, 'P'}, {"max-bytes", required_argument, NULL, 'B'},
        {"max-memory", required_argument, NULL, 'M'},
        {"face-threshold", required_argument, NULL, 'T'},
        {"detail", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},   {NULL, 0, NULL, 0},
    };
    const char *bad = NULL;
    optind = 1;
    int c;
    while (!bad && (c = getopt_long(argc, argv, "j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'J': o->json = 1; break;
        case 'j':
            if (cli_parse_int(optarg, 1, 256, &o->jobs))
                bad = "-j wants a number from 1 to 256";
            break;
        case 'P':
            if (cli_parse_int(optarg, 1, 4000000000000LL, &o->max_pixels))
                bad = "--max-pixels wants a positive number";
            break;
        case 'B':
            if (cli_parse_int(optarg, 1, 1000000000000000LL, &o->max_bytes))
                bad = "--max-bytes wants a positive number";
            break;
        case 'M':
            if (cli_parse_int(optarg, 1 << 20, 1000000000000000LL, &o->max_memory))
                bad = "--max-memory wants a number of bytes, at least 1048576";
            break;
        case 'T':
            if (cli_parse_unit(optarg, &o->face_threshold))
                bad = "--face-threshold wants a number from 0 to 1";
            break;
        case 'D':
            if (cli_parse_int(optarg, 192, 16384, &o->detail))
                bad = "--detail wants a number from 192 to 16384";
            break;
        case 'h': usage(stdout); return -1;
        default: usage(stderr); return 2;
        }
    }
    if (bad)
        return fprintf(stderr, "faceup detect: %s\n", bad), 2;
    if (optind >= argc)
        return fprintf(stderr, "faceup detect: no input files\n"), usage(stderr), 2;
    return 0;
}

int cli_detect(int argc, char **argv)
{
    cli_defaults d;
    if (cli_library_defaults("detect", &d) != 0)
        return 1;
    options o = {.jobs = cli_ncpu(), .max_pixels = d.max_pixels, .max_bytes = d.max_bytes,
                 .max_memory = d.max_memory, .face_threshold = d.face_threshold, .detail = d.detail};
    int rc = parse_options(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    o.files = argv + optind;
    if (!o.json)
        printf("%-40s  %-13s  %10s  %5s  %4s\n", "FILE", "ORIENTATION", "CONFIDENCE", "FACES",
               "EXIF");
    cli_batch b = {.n = argc - optind, .jobs = (int)o.jobs, .ctx = &o, .open = open_handle,
                   .close = close_handle, .run = run_one, .emit = emit};
    if (cli_batch_run(&b) < 0) {
        fprintf(stderr, "faceup detect: out of memory\n");
        return 1;
    }
    return o.any_failed ? 1 : 0;
}
