/*
 * consumer.c - a program built against the installed libfaceup only, as a user would: with
 * `pkg-config --cflags --libs faceup` or CMake's find_package(faceup). tests/test_package.sh
 * builds and runs it.
 *
 * Usage: consumer IMAGE EXPECTED_ORIENTATION
 * Prints "faceup VERSION: IMAGE orientation O confidence C" and exits 0 when the library decides
 * EXPECTED_ORIENTATION (0, 90, 180, 270, or -1 for undecided), 1 when it decides otherwise or
 * fails, 2 on a usage error.
 */
#include <faceup.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    unsigned char *data = NULL;
    long n;
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (data = malloc((size_t)n)) != NULL && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    *size = data ? (size_t)n : 0;
    fclose(f);
    return data;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: consumer IMAGE EXPECTED_ORIENTATION\n");
        return 2;
    }
    int expected = atoi(argv[2]);
    size_t size;
    unsigned char *data = read_all(argv[1], &size);
    if (!data) {
        fprintf(stderr, "consumer: cannot read %s\n", argv[1]);
        return 1;
    }
    int rc = 1;
    faceup_result *r = NULL;
    faceup *h = faceup_create();
    if (!h) {
        fprintf(stderr, "consumer: faceup_create failed\n");
    } else if (faceup_detect(h, data, size, &r) != FACEUP_OK) {
        fprintf(stderr, "consumer: %s\n", faceup_errmsg(h));
    } else {
        printf("faceup %s: %s orientation %d confidence %.3f\n", faceup_version(), argv[1],
               r->orientation, r->confidence);
        rc = r->orientation == expected ? 0 : 1;
    }
    faceup_result_free(r);
    faceup_destroy(h);
    free(data);
    return rc;
}
