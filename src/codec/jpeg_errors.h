/*
 * jpeg_errors.h - how libjpeg's errors, warnings and progress reach the decoder (jpeg.c) and
 * the DCT-domain turn (jpeg_turn.c) alike (internal to codec/).
 *
 * libjpeg reports an error by calling error_exit, which must not return; ours longjmps back to
 * the one function that called setjmp on fu_jpeg_err.jmp, with a status and libjpeg's own
 * message. Warnings (corrupt or truncated data) are errors too, unless the error manager is
 * lenient: then the first one is kept and reading goes on (what a header probe wants). A
 * progressive JPEG with more than FU_JPEG_MAX_SCANS scans is refused: it is an attack
 * (libjpeg-turbo's own limit). Nothing is ever printed.
 */
#ifndef FU_JPEG_ERRORS_H
#define FU_JPEG_ERRORS_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jpeglib.h>

#include "faceup.h"

#define FU_JPEG_MAX_SCANS 500

typedef struct fu_jpeg_err {
    struct jpeg_error_mgr mgr;          /* first: libjpeg's err pointer is ours */
    struct jpeg_progress_mgr progress;  /* point the decompressor's progress at it */
    jmp_buf jmp;
    int status;       /* what a longjmp means: a faceup_status */
    int lenient;      /* 1: warnings are recorded in msg (the first one) and reading goes on */
    int warned;       /* a warning was seen since lenient was set */
    char msg[JMSG_LENGTH_MAX];
} fu_jpeg_err;

/* Route c's errors and warnings through e (call before jpeg_create_*); e->status then says
 * FACEUP_ERR_NOMEM for libjpeg's out-of-memory, else FACEUP_ERR_DECODE for a decompressor and
 * FACEUP_ERR_ENCODE for a compressor. */
void fu_jpeg_catch(j_common_ptr c, fu_jpeg_err *e);

/* Stop the work under e's setjmp with a status and a message of our own. */
#if defined(__GNUC__)
__attribute__((noreturn))
#endif
void fu_jpeg_throw(fu_jpeg_err *e, int status, const char *msg);

#endif
