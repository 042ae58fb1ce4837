/*
 * base/ - the ground floor, below every other folder of src/ and including none of them: growing
 * byte and string buffers (buf.c; strbuf.c, whose JSON string writer the library, the CLI and
 * the server share), error messages (err.c), a stable sort that allocates nothing (sort.c) and
 * an arena that keeps its block between images (arena.c).
 *
 * err.h - a status with its message: how every layer below the API reports a failure (internal).
 *
 * Functions that can fail return a faceup_status and, when the caller gave one, write a one-line
 * reason into a FU_ERRLEN buffer; the API layer prefixes it with the public function's name.
 */
#ifndef FU_ERR_H
#define FU_ERR_H

#define FU_ERRLEN 256

/* Write the message into err (FU_ERRLEN bytes; NULL: no message wanted) and return `status`. */
int fu_err(char *err, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif
