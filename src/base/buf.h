/*
 * buf.h - a growing byte buffer (internal): what encoders write their output into, and scratch
 * memory that keeps its capacity from one call to the next.
 */
#ifndef FU_BUF_H
#define FU_BUF_H

#include <stddef.h>
#include <stdint.h>

/* p is malloc'ed (an output's bytes become faceup_fixed.data); n bytes used of cap. {0} is an
 * empty buffer. */
typedef struct fu_buf {
    uint8_t *p;
    size_t n, cap;
} fu_buf;

/* Make room for at least `cap` bytes in all (the contents are kept). FACEUP_OK, or
 * FACEUP_ERR_NOMEM (the buffer then keeps what it had). */
int fu_buf_reserve(fu_buf *b, size_t cap);

/* Append n bytes. FACEUP_OK, or FACEUP_ERR_NOMEM (the buffer then keeps what it had). */
int fu_buf_put(fu_buf *b, const void *data, size_t n);

/* Free the bytes and empty the buffer. */
void fu_buf_free(fu_buf *b);

#endif
