/*
 * detect.c - `faceup detect [--json] [-j N] FILE...`
 *
 * Workers (one faceup handle each) take the next file from a shared counter; the main thread
 * prints the answers in input order as they become ready, so output is streamed, ordered and the
 * same whatever -j is. Exit 0 when every input was read, 1 when some could not be, 2 on usage.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "faceup.h"
#include "read_file.h"

typedef struct job {
    char **files;
    int n;
    int json;
    long long max_bytes, max_pixels;
    double face_threshold;
    long long detail;
    int next;              /* next file to take */
    char **out;            /* rendered answer per file, NULL until ready */
    int *failed;
    pthread_mutex_t mu;
    pthread_cond_t ready;
} job;

static char *render_table_row(const char *file, const faceup_result *r, const char *error)
{
    char line[2048];
    if (!r) {
        snprintf(line, sizeof line, "%-40s  error: %s", file, error);
    } else {
        char orient[16], exif[8];
        snprintf(orient, sizeof orient, r->orientation < 0 ? "undecided" : "%d", r->orientation);
        snprintf(exif, sizeof exif, r->exif_orientation ? "%d" : "-", r->exif_orientation);
        snprintf(line, sizeof line, "%-40s  %-9s  %10.3f  %5d  %4s%s", file, orient, r->confidence,
                 r->n_faces, exif, r->faces_disagree ? "  (faces disagree)" : "");
    }
    return strdup(line);
}

static char *answer(faceup *h, const job *j, const char *file, int *failed)
{
    unsigned char *data = NULL;
    size_t size = 0;
    char err[512];
    faceup_result *r = NULL;
    *failed = 1;
    if (cli_read_file(file, j->max_bytes, &data, &size, err, sizeof err) == 0) {
        if (faceup_detect(h, data, size, &r) == FACEUP_OK)
            *failed = 0;
        else
            snprintf(err, sizeof err, "%s", faceup_errmsg(h));
    }
    free(data);
    char *s = j->json ? faceup_result_json(r, file, err) : render_table_row(file, r, err);
    faceup_result_free(r);
    return s;
}

static void *worker(void *p)
{
    job *j = p;
    faceup *h = faceup_create();
    if (h) {
        faceup_set_param(h, FACEUP_PARAM_MAX_PIXELS, (double)j->max_pixels);
        faceup_set_param(h, FACEUP_PARAM_MAX_BYTES, (double)j->max_bytes);
        faceup_set_param(h, FACEUP_PARAM_FACE_THRESHOLD, j->face_threshold);
        faceup_set_param(h, FACEUP_PARAM_DETAIL, (double)j->detail);
    }
    for (;;) {
        pthread_mutex_lock(&j->mu);
        int i = j->next < j->n ? j->next++ : -1;
        pthread_mutex_unlock(&j->mu);
        if (i < 0)
            break;
        int failed = 1;
        char *s = h ? answer(h, j, j->files[i], &failed) : NULL;
        if (!s)
            s = strdup(j->json ? "{\"file\":null,\"orientation\":null,\"error\":\"out of memory\"}"
                               : "error: out of memory");
        pthread_mutex_lock(&j->mu);
        j->out[i] = s;
        j->failed[i] = failed;
        pthread_cond_broadcast(&j->ready);
        pthread_mutex_unlock(&j->mu);
    }
    faceup_destroy(h);
    return NULL;
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: faceup detect [--json] [-j N] [--max-pixels N] [--max-bytes N] [--face-threshold S]\n"
            "                     [--detail N] FILE...\n"
            "\n"
            "Report how each image is turned: the clockwise angle (0/90/180/270) by which the\n"
            "upright picture was turned, or 'undecided' (JSON null) when there is no face or the\n"
            "evidence is too weak. EXIF orientation is applied first and reported.\n"
            "\n"
            "  --json            one JSON object per input, one per line, in input order\n"
            "  -j, --jobs N      images decided in parallel (default: number of CPUs)\n"
            "  --max-pixels N    refuse images over N pixels, read from the header (default 100000000)\n"
            "  --max-bytes N     refuse files over N bytes (default 268435456)\n"
            "  --face-threshold S  lowest detector score listed as a face, 0..1 (default 0.5)\n"
            "  --detail N        longest side in pixels of the finest face search, 192..16384\n"
            "                    (default 640); raise it to list faces of ~20 px in large photos\n"
            "  -h, --help        this help\n"
            "\n"
            "Exit status: 0 every input was read, 1 some could not be (each gets an error), 2 usage.\n");
}

static int parse_count(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

int cli_detect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'J'},   {"jobs", required_argument, NULL, 'j'},
        {"max-pixels", required_argument, NULL, 'P'}, {"max-bytes", required_argument, NULL, 'B'},
        {"face-threshold", required_argument, NULL, 'T'},
        {"detail", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},   {NULL, 0, NULL, 0},
    };
    job j = {0};
    long long jobs = cli_ncpu();
    j.max_pixels = 100000000LL;
    j.max_bytes = 256LL << 20;
    j.face_threshold = 0.5;
    j.detail = 640;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "j:h", opts, NULL)) != -1) {
        switch (c) {
        case 'J': j.json = 1; break;
        case 'j':
            if (parse_count(optarg, 1, 256, &jobs)) {
                fprintf(stderr, "faceup detect: -j wants a number from 1 to 256\n");
                return 2;
            }
            break;
        case 'P':
            if (parse_count(optarg, 1, 4000000000000LL, &j.max_pixels)) {
                fprintf(stderr, "faceup detect: --max-pixels wants a positive number\n");
                return 2;
            }
            break;
        case 'B':
            if (parse_count(optarg, 1, 1000000000000000LL, &j.max_bytes)) {
                fprintf(stderr, "faceup detect: --max-bytes wants a positive number\n");
                return 2;
            }
            break;
        case 'T': {
            char *end;
            j.face_threshold = strtod(optarg, &end);
            if (!*optarg || *end || !(j.face_threshold >= 0 && j.face_threshold <= 1)) {
                fprintf(stderr, "faceup detect: --face-threshold wants a number from 0 to 1\n");
                return 2;
            }
            break;
        }
        case 'D':
            if (parse_count(optarg, 192, 16384, &j.detail)) {
                fprintf(stderr, "faceup detect: --detail wants a number from 192 to 16384\n");
                return 2;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "faceup detect: no input files\n");
        usage(stderr);
        return 2;
    }
    j.files = argv + optind;
    j.n = argc - optind;
    j.out = calloc((size_t)j.n, sizeof *j.out);
    j.failed = calloc((size_t)j.n, sizeof *j.failed);
    if (!j.out || !j.failed) {
        fprintf(stderr, "faceup detect: out of memory\n");
        return 1;
    }
    pthread_mutex_init(&j.mu, NULL);
    pthread_cond_init(&j.ready, NULL);
    if (jobs > j.n)
        jobs = j.n;
    pthread_t *threads = calloc((size_t)jobs, sizeof *threads);
    int started = 0;
    for (int i = 0; threads && i < jobs; i++)
        started += pthread_create(&threads[i], NULL, worker, &j) == 0;
    if (started == 0)
        worker(&j);   /* no threads to be had: do the work here */

    if (!j.json)
        printf("%-40s  %-9s  %10s  %5s  %4s\n", "FILE", "TURNED", "CONFIDENCE", "FACES", "EXIF");
    int any_failed = 0;
    for (int i = 0; i < j.n; i++) {
        pthread_mutex_lock(&j.mu);
        while (!j.out[i])
            pthread_cond_wait(&j.ready, &j.mu);
        pthread_mutex_unlock(&j.mu);
        puts(j.out[i]);
        fflush(stdout);
        any_failed |= j.failed[i];
        free(j.out[i]);
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    free(j.out);
    free(j.failed);
    pthread_mutex_destroy(&j.mu);
    pthread_cond_destroy(&j.ready);
    return any_failed ? 1 : 0;
}
