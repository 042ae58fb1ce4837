/*
 * arena.h - memory handed out by bumping a pointer, all given back at once (internal).
 *
 * For a library that allocates many small and large pieces per image and frees them together
 * (libjpeg's image pool): after one call has shown how much it takes, the next ones are served
 * from a single block that is kept, so they cost no malloc at all.
 */
#ifndef FU_ARENA_H
#define FU_ARENA_H

#include <stddef.h>

#define FU_ARENA_ALIGN 64   /* every piece starts on a cache line (and a SIMD register) */

typedef struct fu_arena_chunk fu_arena_chunk;

typedef struct fu_arena {
    unsigned char *block;   /* the kept block */
    size_t cap, used;
    size_t peak;            /* bytes asked for since the last reset, padding included */
    fu_arena_chunk *extra;  /* what did not fit in the block, until the next reset */
} fu_arena;

/* n bytes aligned to FU_ARENA_ALIGN, valid until fu_arena_reset(); NULL when out of memory. */
void *fu_arena_alloc(fu_arena *a, size_t n);

/* Give everything back. After a call that did not fit, the block grows to what that call
 * needed, so the same work fits next time. */
void fu_arena_reset(fu_arena *a);

/* Free the memory; the arena is empty and usable again. */
void fu_arena_free(fu_arena *a);

#endif
