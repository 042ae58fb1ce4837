/*
 * sort.h - a stable sort that allocates nothing (internal).
 *
 * qsort() may call malloc (glibc's does for arrays over 1 KiB), and the hot path must not; and
 * results must not depend on how a library orders equal elements. So: a merge sort, stable
 * by construction, into caller-owned scratch memory.
 */
#ifndef FU_SORT_H
#define FU_SORT_H

#include <stddef.h>

/* Sort n elements of `size` bytes at base by cmp (as qsort's), keeping equal elements in their
 * order. scratch holds at least n * size bytes. */
void fu_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *),
             void *scratch);

#endif
