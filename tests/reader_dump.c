/*
 * reader_dump.c - the orientation reader's logits on image files (test tool).
 *
 * Usage: reader_dump CROP.png...   (each FU_READER_SIZE x FU_READER_SIZE)
 * One line per file: NAME L0 L90 L180 L270 LNOFACE, the network's logits before the temperature
 * in %a (exact), so tests/test_reader.py can hold them against the trained model's and the two
 * kernel paths against each other bit for bit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "models/reader.h"

int main(int argc, char **argv)
{
    fu_reader *r = fu_reader_create();
    if (argc < 2 || !r) {
        fprintf(stderr, "usage: reader_dump CROP.png...\n");
        return 2;
    }
    static unsigned char buf[1 << 20];
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
        if (f)
            fclose(f);
        fu_image img = {0};
        fu_probe probe;
        char err[FU_ERRLEN] = "";
        if (!n || fu_image_decode(NULL, buf, n, 1 << 20, 0, &img, &probe, err) != FACEUP_OK
            || img.w != FU_READER_SIZE || img.h != FU_READER_SIZE) {
            fprintf(stderr, "reader_dump: %s: not a %dx%d image %s\n", argv[i], FU_READER_SIZE,
                    FU_READER_SIZE, err);
            fu_image_free(&img);
            bad = 1;
            continue;
        }
        float logits[FU_READER_CLASSES];
        fu_reader_forward(r, fu_kernels_best(), &img, logits);
        const char *name = strrchr(argv[i], '/');
        printf("%s", name ? name + 1 : argv[i]);
        for (int k = 0; k < FU_READER_CLASSES; k++)
            printf(" %a", (double)logits[k]);
        printf("\n");
        fu_image_free(&img);
    }
    fu_reader_destroy(r);
    return bad;
}
