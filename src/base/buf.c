/*
 * buf.c - a growing byte buffer: doubling, with every size checked for overflow.
 */
#include "base/buf.h"

#include <stdlib.h>
#include <string.h>

#include "faceup.h"

int fu_buf_put(fu_buf *b, const void *data, size_t n)
{
    if (n > SIZE_MAX - b->n)
        return FACEUP_ERR_NOMEM;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n)
            cap = cap > SIZE_MAX / 2 ? b->n + n : cap * 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return FACEUP_ERR_NOMEM;
        b->p = p;
        b->cap = cap;
    }
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
