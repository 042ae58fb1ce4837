/*
 * buf.c - a growing byte buffer: doubling, with every size checked for overflow.
 */
#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

#include "faceup.h"

int fu_buf_reserve(fu_buf *b, size_t need)
{
    if (need <= b->cap)
        return FACEUP_OK;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(b->p, cap);
    if (!p)
        return FACEUP_ERR_NOMEM;
    b->p = p;
    b->cap = cap;
    return FACEUP_OK;
}

int fu_buf_put(fu_buf *b, const void *data, size_t n)
{
    if (n > SIZE_MAX - b->n || fu_buf_reserve(b, b->n + n) != FACEUP_OK)
        return FACEUP_ERR_NOMEM;
    if (n)
        memcpy(b->p + b->n, data, n);
    b->n += n;
    return FACEUP_OK;
}

void fu_buf_free(fu_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}
