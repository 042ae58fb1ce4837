/*
 * threadpool.c - workers that sleep on a condition variable between jobs.
 *
 * A job is published by bumping `generation`; each worker runs its share once per generation and
 * the last to finish wakes the caller. The caller takes share 0 itself, so a pool of one thread
 * has no workers at all.
 */
#include <pthread.h>
#include <stdlib.h>

#include "nn/threadpool.h"

struct fu_pool {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    int nthreads, nworkers_started;
    unsigned long generation;
    int remaining;
    int quit;
    void (*fn)(void *, int, int);
    void *ctx;
    pthread_t *workers;
};

typedef struct worker_arg {
    fu_pool *pool;
    int ith;
} worker_arg;

static void *worker_main(void *p)
{
    worker_arg arg = *(worker_arg *)p;
    free(p);
    fu_pool *pool = arg.pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->mu);
    for (;;) {
        while (!pool->quit && pool->generation == seen)
            pthread_cond_wait(&pool->wake, &pool->mu);
        if (pool->quit)
            break;
        seen = pool->generation;
        void (*fn)(void *, int, int) = pool->fn;
        void *ctx = pool->ctx;
        pthread_mutex_unlock(&pool->mu);
        fn(ctx, arg.ith, pool->nthreads);
        pthread_mutex_lock(&pool->mu);
        if (--pool->remaining == 0)
            pthread_cond_signal(&pool->done);
    }
    pthread_mutex_unlock(&pool->mu);
    return NULL;
}

fu_pool *fu_pool_create(int nthreads)
{
    if (nthreads < 1)
        nthreads = 1;
    fu_pool *pool = calloc(1, sizeof *pool);
    if (!pool)
        return NULL;
    pool->nthreads = nthreads;
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    if (nthreads > 1) {
        pool->workers = calloc((size_t)nthreads - 1, sizeof *pool->workers);
        if (!pool->workers)
            goto fail;
        for (int i = 1; i < nthreads; i++) {
            worker_arg *arg = malloc(sizeof *arg);
            if (!arg)
                goto fail;
            arg->pool = pool;
            arg->ith = i;
            if (pthread_create(&pool->workers[i - 1], NULL, worker_main, arg) != 0) {
                free(arg);
                goto fail;
            }
            pool->nworkers_started++;
        }
    }
    return pool;
fail:
    fu_pool_destroy(pool);
    return NULL;
}

void fu_pool_destroy(fu_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->mu);
    pool->quit = 1;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 0; i < pool->nworkers_started; i++)
        pthread_join(pool->workers[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->mu);
    free(pool->workers);
    free(pool);
}

int fu_pool_size(const fu_pool *pool)
{
    return pool ? pool->nthreads : 1;
}

void fu_pool_run(fu_pool *pool, void (*fn)(void *ctx, int ith, int nth), void *ctx)
{
    if (!pool || pool->nthreads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&pool->mu);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->remaining = pool->nthreads - 1;
    pool->generation++;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mu);
    fn(ctx, 0, pool->nthreads);
    pthread_mutex_lock(&pool->mu);
    while (pool->remaining > 0)
        pthread_cond_wait(&pool->done, &pool->mu);
    pthread_mutex_unlock(&pool->mu);
}
