/*
 * pool.c - worker threads with one faceup handle each, and a bounded FIFO of jobs.
 *
 * One mutex guards the queue; it is held only to link or unlink a job, never while one runs, so
 * it costs nothing next to a detection. Jobs run in the order they were submitted.
 */
#include "pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct srv_pool {
    srv_pool_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t work;   /* a job was queued, or the pool is stopping */
    pthread_cond_t warmed; /* a worker finished warming up (or failed to) */
    srv_job *head, *tail;
    int depth, busy;
    int warm, failed;      /* workers warmed up, workers without a handle */
    int stopping;
    int started;
    pthread_t *threads;
};

/* One detection on a small generated picture: the first call sizes the handle's workspace and
 * touches the model weights, so the first real request does not pay for it. */
static int warm_up(faceup *h)
{
    enum { W = 96, H = 72 };
    uint8_t pixels[W * H * 3];   /* a smooth gradient: any content will do */
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *px = &pixels[(y * W + x) * 3];
            px[0] = (uint8_t)(x * 255 / W);
            px[1] = (uint8_t)(y * 255 / H);
            px[2] = 128;
        }
    faceup_result *r = NULL;
    int rc = faceup_detect_pixels(h, pixels, W, H, 0, FACEUP_PIXEL_RGB, &r);
    faceup_result_free(r);
    return rc;
}

static void *worker(void *arg)
{
    srv_pool *p = arg;
    faceup *h = faceup_create();
    int ok = h && faceup_set_param(h, FACEUP_PARAM_MAX_PIXELS, p->cfg.max_pixels) == FACEUP_OK &&
             faceup_set_param(h, FACEUP_PARAM_MAX_BYTES, p->cfg.max_bytes) == FACEUP_OK &&
             faceup_set_param(h, FACEUP_PARAM_MAX_MEMORY, p->cfg.max_memory) == FACEUP_OK &&
             warm_up(h) == FACEUP_OK;
    pthread_mutex_lock(&p->mu);
    if (ok)
        p->warm++;
    else
        p->failed++;
    pthread_cond_broadcast(&p->warmed);
    pthread_mutex_unlock(&p->mu);
    if (!ok) {
        fprintf(stderr, "faceup serve: a worker could not set up its handle: %s\n",
                h ? faceup_errmsg(h) : "out of memory");
        faceup_destroy(h);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->work, &p->mu);
        srv_job *job = p->head;
        if (!job) {     /* stopping, and nothing left to run */
            pthread_mutex_unlock(&p->mu);
            break;
        }
        p->head = job->next;
        if (!p->head)
            p->tail = NULL;
        p->depth--;
        p->busy++;
        pthread_mutex_unlock(&p->mu);

        job->next = NULL;
        job->run(job, h);

        pthread_mutex_lock(&p->mu);
        p->busy--;
        pthread_mutex_unlock(&p->mu);
    }
    faceup_destroy(h);
    return NULL;
}

srv_pool *srv_pool_create(const srv_pool_config *cfg)
{
    if (cfg->threads < 1 || cfg->capacity < 1)
        return NULL;
    srv_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cfg = *cfg;
    p->threads = calloc((size_t)cfg->threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->warmed, NULL);
    for (int i = 0; i < cfg->threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
            break;
        p->started++;
    }
    if (p->started == 0) {
        srv_pool_destroy(p);
        return NULL;
    }
    return p;
}

int srv_pool_wait_ready(srv_pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->warm + p->failed < p->started)
        pthread_cond_wait(&p->warmed, &p->mu);
    int rc = p->failed || p->started < p->cfg.threads ? -1 : 0;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

int srv_pool_ready(srv_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int ready = p->warm > 0 && p->warm == p->started;
    pthread_mutex_unlock(&p->mu);
    return ready;
}

int srv_pool_submit(srv_pool *p, srv_job *job)
{
    pthread_mutex_lock(&p->mu);
    /* With no live worker a job would wait forever: refuse it like a full queue. */
    if (p->stopping || p->depth >= p->cfg.capacity || p->failed == p->started) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    job->next = NULL;
    if (p->tail)
        p->tail->next = job;
    else
        p->head = job;
    p->tail = job;
    p->depth++;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

int srv_pool_depth(srv_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int d = p->depth;
    pthread_mutex_unlock(&p->mu);
    return d;
}

int srv_pool_busy(srv_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int b = p->busy;
    pthread_mutex_unlock(&p->mu);
    return b;
}

void srv_pool_stop(srv_pool *p)
{
    pthread_mutex_lock(&p->mu);
    int joined = p->stopping;
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    if (joined)
        return;
    for (int i = 0; i < p->started; i++)
        pthread_join(p->threads[i], NULL);
}

void srv_pool_destroy(srv_pool *p)
{
    if (!p)
        return;
    srv_pool_stop(p);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->warmed);
    free(p->threads);
    free(p);
}
