/*
 * det_dump.c - run the detector alone on an image file and print its faces as JSON (test tool).
 *
 * Usage: det_dump IMAGE [THRESHOLD]
 * No border, no turns, full resolution: the setting in which OpenCV's FaceDetectorYN runs, so
 * tests/test_network.py can compare the two. One line: [{"box":[x,y,w,h],"score":s,"lm":[...]}]
 */
#include <stdio.h>
#include <stdlib.h>

#include "codec/codec.h"
#include "decide/detector.h"

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: det_dump IMAGE [THRESHOLD]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 1;
    static unsigned char buf[64 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    fu_image img = {0};
    fu_probe probe;
    char err[FU_ERRLEN];
    if (fu_image_decode(NULL, buf, n, 100000000LL, 0, &img, &probe, err) != FACEUP_OK) {
        fprintf(stderr, "det_dump: %s\n", err);
        return 1;
    }
    fu_detector *d = fu_detector_create(1);
    fu_box boxes[256];
    int k = fu_detector_run(d, &img, 1.f, argc > 2 ? (float)atof(argv[2]) : 0.6f, boxes, 256);
    printf("[");
    for (int i = 0; i < k; i++) {
        const fu_box *b = &boxes[i];
        printf("%s{\"box\":[%.3f,%.3f,%.3f,%.3f],\"score\":%.5f,\"lm\":[", i ? "," : "", b->x, b->y,
               b->w, b->h, b->score);
        for (int j = 0; j < 10; j++)
            printf("%s%.3f", j ? "," : "", b->lm[j]);
        printf("]}");
    }
    printf("]\n");
    fu_detector_destroy(d);
    fu_image_free(&img);
    return k < 0;
}
