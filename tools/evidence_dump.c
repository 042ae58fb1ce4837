/*
 * evidence_dump.c - every detection of every pass of the decision, for fitting it.
 *
 * Development tool (tools/fit_decision.py reads its output); not installed. For each image it
 * runs the decision (src/decide/orientation.c) with a trace, so every pass runs whatever the
 * confidence, on the image decoded and oriented as faceup_detect does it, and prints one JSON
 * line with every detection the decision keeps (score >= 0.3), in displayed-image coordinates:
 *
 *   {"file":F,"w":W,"h":H,"dets":[[pass,turn,x,y,w,h,score,lx0,ly0,...,lx4,ly4],...]}
 *
 * turn k: found with the image turned back (counter-clockwise) by 90k degrees, i.e. evidence for
 * "the image was turned clockwise by 90k"; pass: 0 and 1 the default passes, 8 the zoom, 9 the
 * detail pass (with --detail N).
 *
 * Usage: evidence_dump [--detail N] FILE...   (or - : paths on stdin)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "decide/orientation.h"

typedef struct trace {
    int first;
} trace;

static void print_det(void *ctx, int pass, int turn, const fu_box *b)
{
    trace *t = ctx;
    printf("%s[%d,%d,%.2f,%.2f,%.2f,%.2f,%.4f", t->first ? "" : ",", pass, turn, b->x, b->y, b->w,
           b->h, b->score);
    for (int j = 0; j < 10; j++)
        printf(",%.2f", b->lm[j]);
    printf("]");
    t->first = 0;
}

static int read_all(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 1 << 20, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t k; buf && (k = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += k;
        if (n == cap) {
            uint8_t *more = realloc(buf, cap *= 2);
            if (!more) {
                free(buf);
                buf = NULL;
            }
            buf = more;
        }
    }
    fclose(f);
    *data = buf;
    *size = n;
    return buf ? 0 : -1;
}

static void dump_one(fu_decider *d, fu_codec *codec, const char *path, int detail)
{
    uint8_t *data;
    size_t size;
    if (read_all(path, &data, &size) < 0) {
        printf("{\"file\":\"%s\",\"error\":\"read\"}\n", path);
        return;
    }
    fu_image stored = {0}, shown = {0};
    fu_probe probe;
    char err[FU_ERRLEN];
    int min_side = detail > FU_DECIDE_DECODE ? detail : FU_DECIDE_DECODE;
    int rc = fu_image_decode(codec, data, size, 400000000LL, min_side, &stored, &probe, err);
    free(data);
    const fu_image *disp = &stored;
    if (rc == FACEUP_OK && probe.exif_orientation > 1) {
        rc = fu_image_turn(&stored, fu_d4_from_exif(probe.exif_orientation), &shown);
        disp = &shown;
    }
    if (rc != FACEUP_OK) {
        printf("{\"file\":\"%s\",\"error\":\"decode\"}\n", path);
    } else {
        trace t = {1};
        fu_decision out;
        printf("{\"file\":\"%s\",\"w\":%d,\"h\":%d,\"dets\":[", path, disp->w, disp->h);
        fu_decider_trace(d, print_det, &t);
        rc = fu_decide(d, disp, 0.5f, detail, &out);
        printf("]%s}\n", rc == FACEUP_OK ? "" : ",\"error\":\"decide\"");
    }
    fflush(stdout);
    fu_image_free(&stored);
    fu_image_free(&shown);
}

int main(int argc, char **argv)
{
    int i = 1, detail = FU_DECIDE_SIDE;
    if (i + 1 < argc && !strcmp(argv[i], "--detail"))
        detail = atoi(argv[++i]), i++;
    if (i >= argc) {
        fprintf(stderr, "usage: evidence_dump [--detail N] FILE...|-\n");
        return 2;
    }
    fu_decider *d = fu_decider_create(1);
    fu_codec *codec = fu_codec_create();
    if (!d || !codec)
        return 1;
    if (!strcmp(argv[i], "-")) {
        char line[4096];
        while (fgets(line, sizeof line, stdin)) {
            line[strcspn(line, "\n")] = 0;
            if (line[0])
                dump_one(d, codec, line, detail);
        }
    } else {
        for (; i < argc; i++)
            dump_one(d, codec, argv[i], detail);
    }
    fu_decider_destroy(d);
    fu_codec_destroy(codec);
    return 0;
}
