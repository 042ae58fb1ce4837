/*
 * fix_apply.c - test tool: faceup_fix without the detector (fu_fix_apply), for test_fix_cli.py.
 *
 *     fix_apply IN OUT TURN [--strip] [--lossless-only] [--format jpeg|png|webp|heic|avif]
 *                           [--exif keep|bake]
 *
 * TURN is the detector's answer to pretend: 0/90/180/270 (the displayed image is turned that
 * much clockwise), or -1 for undecided. Prints {"path": ..., "rotated": ..., "format": ...} and
 * writes OUT; exit 1 with the error message on failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/handle.h"
#include "read_file.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: fix_apply IN OUT TURN [--strip] [--lossless-only] "
                "[--format FORMAT] [--exif keep|bake]\n");
        return 2;
    }
    static const char *const formats[] = {"same", "jpeg", "png", "webp", "heic", "avif"};
    faceup *h = faceup_create();
    for (int i = 4; i < argc; i++) {
        if (!strcmp(argv[i], "--strip"))
            faceup_set_param(h, FACEUP_PARAM_KEEP_METADATA, 0);
        else if (!strcmp(argv[i], "--exif") && i + 1 < argc)
            faceup_set_param(h, FACEUP_PARAM_BAKE_EXIF, !strcmp(argv[++i], "bake"));
        else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            const char *f = argv[++i];
            for (int k = 1; k < 6; k++)
                if (!strcmp(f, formats[k]))
                    faceup_set_param(h, FACEUP_PARAM_OUTPUT_FORMAT, k);
        } else if (!strcmp(argv[i], "--lossless-only")) {
            faceup_set_param(h, FACEUP_PARAM_LOSSLESS_ONLY, 1);
        }
    }
    size_t n;
    unsigned char *data;
    char err[FU_ERRLEN] = "";
    if (cli_read_file(argv[1], 1LL << 40, &data, &n, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "cannot read %s: %s\n", argv[1], err);
        return 1;
    }
    fu_probe probe;
    int rc = fu_image_probe(data, n, 100000000LL, &probe, err);
    faceup_fixed f = {0};
    if (rc == FACEUP_OK)
        rc = fu_fix_apply(h, "fix_apply", data, n, &probe, atoi(argv[3]), &f);
    else
        fprintf(stderr, "%s\n", err);
    if (rc != FACEUP_OK) { /* freed, so that a run under LeakSanitizer fails on leaks only */
        fprintf(stderr, "%s\n", faceup_errmsg(h));
        free(data);
        faceup_destroy(h);
        return 1;
    }
    FILE *o = fopen(argv[2], "wb");
    if (!o || fwrite(f.data, 1, f.size, o) != f.size || fclose(o)) {
        fprintf(stderr, "cannot write %s\n", argv[2]);
        return 1;
    }
    static const char *const paths[] = {"unchanged", "lossless", "reencoded"};
    printf("{\"path\": \"%s\", \"rotated\": %d, \"format\": \"%s\", \"exif_transform\": %d, "
           "\"reencode_refused\": %d}\n",
           paths[f.path], f.rotated, formats[f.format], f.exif_transform, f.reencode_refused);
    free(f.data);
    free(data);
    faceup_destroy(h);
    return 0;
}
