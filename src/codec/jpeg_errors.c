/*
 * jpeg_errors.c - libjpeg's error_exit, emit_message, output_message and progress_monitor, ours.
 */
#include "codec/jpeg_errors.h"

#include <jerror.h>

void fu_jpeg_throw(fu_jpeg_err *e, int status, const char *msg)
{
    e->status = status;
    snprintf(e->msg, sizeof e->msg, "%s", msg);
    longjmp(e->jmp, 1);
}

static void on_error(j_common_ptr c)
{
    fu_jpeg_err *e = (fu_jpeg_err *)(void *)c->err;
    (*c->err->format_message)(c, e->msg);
    e->status = c->err->msg_code == JERR_OUT_OF_MEMORY ? FACEUP_ERR_NOMEM
              : c->is_decompressor ? FACEUP_ERR_DECODE : FACEUP_ERR_ENCODE;
    longjmp(e->jmp, 1);
}

static void on_message(j_common_ptr c, int level)
{
    fu_jpeg_err *e = (fu_jpeg_err *)(void *)c->err;
    if (level >= 0)
        return; /* trace messages */
    if (!e->lenient)
        on_error(c);
    if (!e->warned)
        (*c->err->format_message)(c, e->msg);
    e->warned = 1;
}

static void on_output(j_common_ptr c)
{
    (void)c; /* a library does not print */
}

static void on_progress(j_common_ptr c)
{
    if (c->is_decompressor && ((j_decompress_ptr)c)->input_scan_number > FU_JPEG_MAX_SCANS)
        fu_jpeg_throw((fu_jpeg_err *)(void *)c->err, FACEUP_ERR_DECODE,
                      "more than 500 scans: refused");
}

void fu_jpeg_catch(j_common_ptr c, fu_jpeg_err *e)
{
    c->err = jpeg_std_error(&e->mgr);
    e->mgr.error_exit = on_error;
    e->mgr.emit_message = on_message;
    e->mgr.output_message = on_output;
    e->progress.progress_monitor = on_progress;
    e->status = FACEUP_ERR_DECODE;
}

