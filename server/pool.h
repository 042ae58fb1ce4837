/*
 * pool.h - a fixed set of worker threads, each with its own faceup handle, fed by a bounded queue.
 *
 * A faceup handle is single-threaded and owns a workspace sized once, so the server keeps exactly
 * one per worker and never creates one per request. The queue is bounded: when it is full,
 * srv_pool_submit() says so at once and the caller answers 503 rather than letting latency grow
 * without limit.
 */
#ifndef SRV_POOL_H
#define SRV_POOL_H

#include "faceup.h"

typedef struct srv_job srv_job;
struct srv_job {
    /* Runs on a worker thread with that worker's handle. It owns the job from then on. */
    void (*run)(srv_job *job, faceup *h);
    srv_job *next; /* the queue's link; the pool's business */
};

typedef struct srv_pool_config {
    int threads;         /* workers, >= 1 */
    int capacity;        /* jobs waiting for a worker, >= 1 */
    double max_pixels;   /* FACEUP_PARAM_MAX_PIXELS of every handle */
    double max_bytes;    /* FACEUP_PARAM_MAX_BYTES of every handle */
    double max_memory;   /* FACEUP_PARAM_MAX_MEMORY of every handle: the whole budget */
} srv_pool_config;

typedef struct srv_pool srv_pool;

/* Start the workers. Each creates its handle and warms it up (one detect on a small generated
 * image) before taking jobs. Returns NULL when memory or threads are exhausted. */
srv_pool *srv_pool_create(const srv_pool_config *cfg);

/* Block until every worker has warmed up. Returns 0, or -1 when one could not create its handle
 * (the pool then still runs jobs on the workers that could). */
int srv_pool_wait_ready(srv_pool *p);

/* 1 once every worker has warmed up. Thread-safe. */
int srv_pool_ready(srv_pool *p);

/* Queue a job. Returns 0, or -1 when the queue is full or the pool is stopping (the job is then
 * not taken). Thread-safe. */
int srv_pool_submit(srv_pool *p, srv_job *job);

/* Jobs waiting for a worker, and jobs being run. Thread-safe. */
int srv_pool_depth(srv_pool *p);
int srv_pool_busy(srv_pool *p);

/* Refuse new jobs, run every queued one and join the workers. The pool stays valid (submit
 * then fails), so a caller that may still submit can stop it before it is freed. */
void srv_pool_stop(srv_pool *p);

/* Stop (if not yet) and free the pool. srv_pool_destroy(NULL) does nothing. */
void srv_pool_destroy(srv_pool *p);

#endif
