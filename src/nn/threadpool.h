/*
 * threadpool.h - a fixed set of threads that run one function split n ways (internal).
 */
#ifndef FU_THREADPOOL_H
#define FU_THREADPOOL_H

typedef struct fu_pool fu_pool;

/* A pool that runs jobs on `nthreads` threads: the caller's plus nthreads-1 workers. NULL when out
 * of memory or threads. */
fu_pool *fu_pool_create(int nthreads);
void fu_pool_destroy(fu_pool *pool);

/* Call fn(ctx, ith, nth) for ith = 0..nth-1 (nth = pool size) on the pool's threads, and return
 * when all calls have returned. pool == NULL runs fn(ctx, 0, 1) on the caller's thread. */
void fu_pool_run(fu_pool *pool, void (*fn)(void *ctx, int ith, int nth), void *ctx);

/* The nth that fu_pool_run passes: the pool's threads, 1 for NULL. */
int fu_pool_size(const fu_pool *pool);

#endif
