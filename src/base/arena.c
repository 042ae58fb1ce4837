/*
 * arena.c - one kept block, plus overflow chunks that live until the next reset.
 */
#include "base/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct fu_arena_chunk {
    fu_arena_chunk *next;
    _Alignas(FU_ARENA_ALIGN) unsigned char data[];
};

static size_t round_up(size_t n)
{
    return (n + FU_ARENA_ALIGN - 1) / FU_ARENA_ALIGN * FU_ARENA_ALIGN;
}

void *fu_arena_alloc(fu_arena *a, size_t n)
{
    if (n > SIZE_MAX / 2)
        return NULL;
    n = round_up(n ? n : 1);
    a->peak += n;
    if (a->block && a->cap - a->used >= n) {
        void *p = a->block + a->used;
        a->used += n;
        return p;
    }
    fu_arena_chunk *c = aligned_alloc(FU_ARENA_ALIGN, round_up(sizeof *c + n));
    if (!c)
        return NULL;
    c->next = a->extra;
    a->extra = c;
    return c->data;
}

static void free_extra(fu_arena *a)
{
    while (a->extra) {
        fu_arena_chunk *next = a->extra->next;
        free(a->extra);
        a->extra = next;
    }
}

void fu_arena_reset(fu_arena *a)
{
    if (a->extra) {
        free_extra(a);
        /* next time, everything this call took fits in the block */
        size_t cap = round_up(a->peak + a->peak / 8);
        unsigned char *block = aligned_alloc(FU_ARENA_ALIGN, cap);
        if (block) {
            free(a->block);
            a->block = block;
            a->cap = cap;
        }
    }
    a->used = 0;
    a->peak = 0;
}

void fu_arena_free(fu_arena *a)
{
    free_extra(a);
    free(a->block);
    memset(a, 0, sizeof *a);
}
