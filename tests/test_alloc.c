/*
 * test_alloc.c - the hot path owns its memory: after warm-up, faceup_detect on a 640x480 JPEG
 * makes at most FU_MAX_ALLOCS allocations (its result is one), counting every malloc, calloc,
 * realloc and aligned allocation in the process, libjpeg's included.
 *
 * Usage: test_alloc [IMAGE...]   (no argument: a 640x480 JPEG made from samples/grace_hopper.jpg)
 * Prints the allocations of the first call and of each measured call; exits 1 when a measured
 * call is over the limit or the answer is not the expected one.
 *
 * Counting: in a plain build this program defines malloc and its kin, which every library of
 * the process then calls, and forwards them to glibc's own (__libc_malloc...). Under
 * AddressSanitizer, whose allocator must stay in charge, the sanitizer's malloc hook counts.
 */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbojpeg.h>

#include "codec/codec.h"
#include "faceup.h"
#include "geom/resize.h"

#ifndef FU_SAMPLES
#define FU_SAMPLES "samples"
#endif
#define FU_MAX_ALLOCS 4
#define WARMUP 3
#define MEASURED 10

static atomic_int counting;
static atomic_long allocations;

static void count(void)
{
    if (atomic_load_explicit(&counting, memory_order_relaxed))
        atomic_fetch_add_explicit(&allocations, 1, memory_order_relaxed);
}

#if defined(__SANITIZE_ADDRESS__)
#define FU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FU_ASAN 1
#endif
#endif

#ifdef FU_ASAN
/* From the sanitizers' allocator_interface.h, which GCC does not install. */
int __sanitizer_install_malloc_and_free_hooks(void (*on_malloc)(const volatile void *, size_t),
                                              void (*on_free)(const volatile void *));

static void on_malloc(const volatile void *p, size_t n)
{
    (void)p;
    (void)n;
    count();
}

static void on_free(const volatile void *p)
{
    (void)p;
}

static void install_counter(void)
{
    __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}
#else
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

void *malloc(size_t n)
{
    count();
    return __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    count();
    return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    count();
    return __libc_realloc(p, n);
}

void *memalign(size_t align, size_t n)
{
    count();
    return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    count();
    return __libc_memalign(align, n);
}

int posix_memalign(void **p, size_t align, size_t n)
{
    count();
    *p = __libc_memalign(align, n);
    return *p ? 0 : 12; /* ENOMEM */
}

void free(void *p)
{
    __libc_free(p);
}

static void install_counter(void)
{
}
#endif

static unsigned char *read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

/* A 640x480 JPEG of a face: the sample scaled to 640 wide, its middle 480 rows, quality 90. */
static unsigned char *make_jpeg(size_t *size)
{
    size_t n;
    unsigned char *sample = read_file(FU_SAMPLES "/grace_hopper.jpg", &n);
    fu_image img = {0}, wide = {0};
    char err[FU_ERRLEN];
    if (!sample || fu_image_decode(NULL, sample, n, 1 << 30, 0, &img, NULL, err) != FACEUP_OK ||
        fu_image_resize(&img, 640, 640 * img.h / img.w, &wide, NULL) != FACEUP_OK)
        return NULL;
    const unsigned char *top = wide.px + (size_t)(wide.h - 480) / 2 * wide.stride;
    unsigned char *jpg = NULL;
    unsigned long jpg_n = 0;
    tjhandle tj = tjInitCompress();
    if (tjCompress2(tj, top, 640, wide.stride, 480, TJPF_RGB, &jpg, &jpg_n, TJSAMP_420, 90, 0))
        jpg = NULL;
    tjDestroy(tj);
    unsigned char *out = jpg ? malloc(jpg_n) : NULL;
    if (out)
        memcpy(out, jpg, jpg_n);
    tjFree(jpg);
    fu_image_free(&img);
    fu_image_free(&wide);
    free(sample);
    *size = jpg_n;
    return out;
}

/* Allocations made by one faceup_detect; *r gets its result. -1 when the call fails. */
static long detect_counted(faceup *h, const unsigned char *data, size_t size, faceup_result **r)
{
    atomic_store(&allocations, 0);
    atomic_store(&counting, 1);
    int rc = faceup_detect(h, data, size, r);
    atomic_store(&counting, 0);
    return rc == FACEUP_OK ? atomic_load(&allocations) : -1;
}

/* Warm up, then measure; 0 when every measured call is within the limit. */
static int check(faceup *h, const char *name, const unsigned char *data, size_t size)
{
    faceup_result *r = NULL;
    long first = detect_counted(h, data, size, &r);
    if (first < 0) {
        printf("%s: %s\n", name, faceup_errmsg(h));
        return 1;
    }
    int orientation = r->orientation, faces = r->n_faces, w = r->width, hh = r->height;
    faceup_result_free(r);
    for (int i = 1; i < WARMUP; i++) {
        detect_counted(h, data, size, &r);
        faceup_result_free(r);
    }
    long worst = 0;
    printf("%s: %dx%d, orientation %d, %d faces; allocations: first call %ld, then", name, w,
           hh, orientation, faces, first);
    for (int i = 0; i < MEASURED; i++) {
        long n = detect_counted(h, data, size, &r);
        if (n < 0 || r->orientation != orientation || r->n_faces != faces)
            return printf(" - call %d failed or changed its answer\n", i), 1;
        faceup_result_free(r);
        printf(" %ld", n);
        worst = n > worst ? n : worst;
    }
    printf(" (at most %d)\n", FU_MAX_ALLOCS);
    return worst > FU_MAX_ALLOCS;
}

int main(int argc, char **argv)
{
    install_counter();
    faceup *h = faceup_create();
    int failed = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            size_t n;
            unsigned char *data = read_file(argv[i], &n);
            failed |= !data || check(h, argv[i], data, n);
            free(data);
        }
    } else {
        size_t n;
        unsigned char *jpg = make_jpeg(&n);
        if (!jpg) {
            printf("cannot make the 640x480 JPEG from %s/grace_hopper.jpg\n", FU_SAMPLES);
            return 1;
        }
        faceup_result *r = NULL;
        failed = check(h, "grace_hopper 640x480.jpg", jpg, n);
        /* a face photo upright: the whole path (detector passes, reader, refinement) ran */
        if (!failed && (faceup_detect(h, jpg, n, &r) != FACEUP_OK || r->orientation != 0 ||
                        r->n_faces < 1)) {
            printf("the 640x480 JPEG was not decided upright with a face\n");
            failed = 1;
        }
        faceup_result_free(r);
        free(jpg);
    }
    faceup_destroy(h);
    return failed;
}
