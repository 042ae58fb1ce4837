/*
 * read_file.h - read a whole file into memory, refusing what is not a regular file or too large.
 */
#ifndef FACEUP_CLI_READ_FILE_H
#define FACEUP_CLI_READ_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Returns 0 and a malloc'ed buffer in *data, or -1 with a message in err. A FIFO, device or
 * socket is refused without waiting on it. When st is not NULL it receives the fstat(2) of the
 * file that was read (what was read is what it describes). */
int cli_read_file(const char *path, long long max_bytes, unsigned char **data, size_t *size,
                  struct stat *st, char *err, size_t errlen);

#endif
