/*
 * replay_main.c - run a fuzz target on files, without libFuzzer.
 *
 *     fuzz_image_replay fuzz/corpus/fuzz_image crash-1234 ...
 *
 * Each argument is a file, or a directory whose regular files are all run. Lets any compiler
 * build the targets, and lets ctest replay the seed corpus and past crashes under sanitizers.
 * Exit status 1 when an argument could not be read.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read the whole file into an exactly sized buffer, so a sanitizer sees reads past its end. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return 1;
    }
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = 0;
    if (fseek(f, 0, SEEK_END) == 0) {
        long end = ftell(f);
        if (end >= 0 && fseek(f, 0, SEEK_SET) == 0) {
            size = (size_t)end;
            data = malloc(size ? size : 1);
            if (!data || fread(data, 1, size, f) != size)
                rc = 1;
        } else {
            rc = 1;
        }
    } else {
        rc = 1;
    }
    fclose(f);
    if (rc == 0)
        LLVMFuzzerTestOneInput(data, size);
    else
        fprintf(stderr, "%s: cannot read\n", path);
    free(data);
    return rc;
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "%s: not found\n", path);
        return 1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "%s: cannot list\n", path);
        return 1;
    }
    int rc = 0, n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(path) + 1 + strlen(e->d_name) + 1;
        char *child = malloc(len);
        if (!child) {
            rc = 1;
            break;
        }
        snprintf(child, len, "%s/%s", path, e->d_name);
        if (stat(child, &st) == 0 && S_ISREG(st.st_mode)) {
            rc |= run_file(child);
            n++;
        }
        free(child);
    }
    closedir(dir);
    fprintf(stderr, "%s: %d inputs\n", path, n);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;
    for (int i = 1; i < argc; i++)
        rc |= run_path(argv[i]);
    return rc;
}
