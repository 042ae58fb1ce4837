/*
 * batch.h - the work of `faceup detect` and `faceup fix`: items done in parallel, their lines
 * printed in input order as soon as they are ready.
 *
 * Workers, each with its own state (a faceup handle), take the next item from a shared counter;
 * the main thread hands each finished line to emit() in input order, so output is streamed,
 * ordered and the same whatever the number of workers.
 */
#ifndef FACEUP_CLI_BATCH_H
#define FACEUP_CLI_BATCH_H

#include <signal.h>

typedef struct cli_batch {
    int n;      /* items */
    int jobs;   /* workers wanted (1..256; at most n are started) */
    void *ctx;  /* passed to every callback */
    /* A worker's state, made on its own thread; NULL when it cannot be made (run() then gets
     * NULL and should say why in its line). `slot` numbers the workers from 0. */
    void *(*open)(void *ctx, int slot);
    void (*close)(void *state);
    /* Item i: its line (malloc'ed, or NULL when out of memory) and its outcome. */
    char *(*run)(void *ctx, void *state, int slot, int i, int *outcome);
    /* On the main thread, in input order: the line (owned by emit) of item i. */
    void (*emit)(void *ctx, int i, char *line, int outcome);
    /* Optional, on the main thread about every 0.1 s while it waits: how many items are done. */
    void (*idle)(void *ctx, int done, int total);
    /* Optional: once it is nonzero no more items are handed out. */
    volatile sig_atomic_t *stop;
} cli_batch;

/* Run the batch. Returns how many items were emitted (n, or fewer after a stop), or -1 when
 * out of memory before any work began. */
int cli_batch_run(const cli_batch *b);

#endif
