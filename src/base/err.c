/*
 * err.c - fu_err(): the message and the status in one statement.
 */
#include "base/err.h"

#include <stdarg.h>
#include <stdio.h>

int fu_err(char *err, int status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, FU_ERRLEN, fmt, ap);
        va_end(ap);
    }
    return status;
}
