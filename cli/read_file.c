/*
 * read_file.c - whole-file reads for the CLI, checked before anything is allocated.
 *
 * The file is opened with O_NONBLOCK so that a FIFO (or a terminal, a socket) given by mistake
 * is refused by the fstat below instead of blocking the run forever in open(2); on a regular
 * file O_NONBLOCK changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "read_file.h"

static int open_regular(const char *path, struct stat *st, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (fstat(fd, st) != 0) {
        snprintf(err, errlen, "cannot stat: %s", strerror(errno));
    } else if (S_ISDIR(st->st_mode)) {
        snprintf(err, errlen, "is a directory");
    } else if (!S_ISREG(st->st_mode)) {
        snprintf(err, errlen, "not a regular file (a FIFO, device or socket): not read");
    } else {
        return fd;
    }
    close(fd);
    return -1;
}

int cli_read_file(const char *path, long long max_bytes, unsigned char **data, size_t *size,
                  struct stat *st_out, char *err, size_t errlen)
{
    *data = NULL;
    *size = 0;
    struct stat st;
    int fd = open_regular(path, &st, err, errlen);
    if (fd < 0)
        return -1;
    if (st.st_size > max_bytes) {
        snprintf(err, errlen, "file is %lld bytes, over the limit of %lld", (long long)st.st_size,
                 max_bytes);
        close(fd);
        return -1;
    }
    size_t n = (size_t)st.st_size, got = 0;
    unsigned char *buf = malloc(n ? n : 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        close(fd);
        return -1;
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            snprintf(err, errlen, "read failed: %s", r < 0 ? strerror(errno) : "file shrank");
            free(buf);
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    *data = buf;
    *size = n;
    if (st_out)
        *st_out = st;
    return 0;
}
