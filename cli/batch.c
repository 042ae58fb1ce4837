/*
 * batch.c - workers on a shared counter, and the main thread printing in order.
 *
 * When no thread can be started, the main thread does the work itself first, then prints.
 */
#include "batch.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#define MAX_WORKERS 256

typedef struct done {
    char *line;
    int outcome, ready;
} done;

typedef struct run {
    const cli_batch *b;
    done *out;
    int next, n_done, slots;
    pthread_mutex_t mu;
    pthread_cond_t ready;
} run;

static int stopped(const run *r)
{
    return r->b->stop && *r->b->stop;
}

static void *worker(void *p)
{
    run *r = p;
    const cli_batch *b = r->b;
    pthread_mutex_lock(&r->mu);
    int slot = r->slots++;
    pthread_mutex_unlock(&r->mu);
    void *state = b->open(b->ctx, slot);
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int i = !stopped(r) && r->next < b->n ? r->next++ : -1;
        pthread_mutex_unlock(&r->mu);
        if (i < 0)
            break;
        int outcome = 0;
        char *line = b->run(b->ctx, state, slot, i, &outcome);
        pthread_mutex_lock(&r->mu);
        r->out[i] = (done){line, outcome, 1};
        r->n_done++;
        pthread_cond_broadcast(&r->ready);
        pthread_mutex_unlock(&r->mu);
    }
    if (state)
        b->close(state);
    pthread_mutex_lock(&r->mu);
    pthread_cond_broadcast(&r->ready); /* the main thread may be waiting for a stop */
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* Wait for the next change; with an idle callback or a stop flag, wake every 0.1 s too. */
static void wait_a_little(run *r)
{
    if (!r->b->idle && !r->b->stop) {
        pthread_cond_wait(&r->ready, &r->mu);
        return;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 100000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_cond_timedwait(&r->ready, &r->mu, &until);
}

/* Hand the lines to emit() in input order as they are ready. Returns how many were. */
static int report(run *r)
{
    const cli_batch *b = r->b;
    int i = 0;
    pthread_mutex_lock(&r->mu);
    while (i < b->n) {
        if (r->out[i].ready) {
            done d = r->out[i];
            pthread_mutex_unlock(&r->mu);
            b->emit(b->ctx, i, d.line, d.outcome);
            i++;
            pthread_mutex_lock(&r->mu);
            continue;
        }
        if (stopped(r) && r->next <= i)
            break; /* nobody will do this one */
        int n_done = r->n_done;
        if (b->idle) {
            pthread_mutex_unlock(&r->mu);
            b->idle(b->ctx, n_done, b->n);
            pthread_mutex_lock(&r->mu);
            if (r->out[i].ready)
                continue;
        }
        wait_a_little(r);
    }
    pthread_mutex_unlock(&r->mu);
    return i;
}

int cli_batch_run(const cli_batch *b)
{
    run r = {.b = b, .out = calloc((size_t)b->n + 1, sizeof(done))};
    if (!r.out)
        return -1;
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.ready, NULL);
    int jobs = b->jobs < b->n ? b->jobs : b->n;
    jobs = jobs < 1 ? 1 : jobs > MAX_WORKERS ? MAX_WORKERS : jobs;
    pthread_t threads[MAX_WORKERS];
    int started = 0;
    for (int i = 0; i < jobs; i++)
        started += pthread_create(&threads[started], NULL, worker, &r) == 0;
    if (started == 0)
        worker(&r); /* no threads to be had: work here, report after */
    int emitted = report(&r);
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    for (int i = emitted; i < b->n; i++)
        free(r.out[i].line); /* done after a stop, never emitted */
    free(r.out);
    pthread_mutex_destroy(&r.mu);
    pthread_cond_destroy(&r.ready);
    return emitted;
}
