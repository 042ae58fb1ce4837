/*
 * sort.c - bottom-up merge sort between the array and the scratch buffer.
 */
#include "base/sort.h"

#include <string.h>

/* Merge the sorted runs [a, a + na) and [b, b + nb) into out. On ties the left run goes first,
 * which is what makes the sort stable. */
static void merge(const char *a, size_t na, const char *b, size_t nb, size_t size,
                  int (*cmp)(const void *, const void *), char *out)
{
    while (na && nb) {
        if (cmp(b, a) < 0) {
            memcpy(out, b, size);
            b += size;
            nb--;
        } else {
            memcpy(out, a, size);
            a += size;
            na--;
        }
        out += size;
    }
    memcpy(out, na ? a : b, (na ? na : nb) * size);
}

void fu_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
             void *scratch)
{
    char *from = base, *to = scratch;
    for (size_t run = 1; run < n; run *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * run) {
            size_t mid = lo + run < n ? lo + run : n, hi = lo + 2 * run < n ? lo + 2 * run : n;
            merge(from + lo * size, mid - lo, from + mid * size, hi - mid, size, cmp,
                  to + lo * size);
        }
        char *t = from;
        from = to;
        to = t;
    }
    if (from != base)
        memcpy(base, from, n * size);
}
