/*
 * watchdog.c - one thread that wakes four times a second and shuts down overdue connections.
 *
 * The connections are a doubly linked list under one mutex. The HTTP library tells us a
 * connection is closing (srv_watchdog_remove) before it closes the descriptor, and removal takes
 * the same mutex the scan holds while it calls shutdown(), so the watchdog never touches a
 * descriptor that was closed and perhaps reused. A scan is linear in the open connections, which
 * --max-connections bounds.
 */
#include "watchdog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define TICK_NS 250000000L
#define IDLE_GRACE_S 1.0   /* a client sends its headers in far less; one that waited longer is idle */

struct srv_watch {
    int fd;
    int armed, expired, answered;
    srv_watch_phase phase;
    struct timespec deadline;
    srv_watch *prev, *next;
};

struct srv_watchdog {
    double timeout, header_timeout;
    unsigned open;                    /* connections watched */
    unsigned max_connections, high_water;   /* 0: idle ones are never closed early */
    char *late_body;
    size_t late_body_size;
    srv_metrics *metrics;
    pthread_mutex_t mu;
    pthread_cond_t stop_cv;
    int stopping;
    srv_watch *head;
    pthread_t thread;
};

static struct timespec plus(struct timespec t, double seconds)
{
    long long ns = (long long)(seconds * 1e9);
    t.tv_sec += (time_t)(ns / 1000000000LL);
    t.tv_nsec += (long)(ns % 1000000000LL);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    } else if (t.tv_nsec < 0) {
        t.tv_sec--;
        t.tv_nsec += 1000000000L;
    }
    return t;
}

static struct timespec after(double seconds)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return plus(t, seconds);
}

static int passed(const struct timespec *deadline, const struct timespec *now)
{
    return now->tv_sec > deadline->tv_sec ||
           (now->tv_sec == deadline->tv_sec && now->tv_nsec >= deadline->tv_nsec);
}

/* Cut w off (under wd->mu, so its descriptor is still open). */
static void cut(srv_watchdog *wd, srv_watch *w)
{
    w->armed = 0;
    w->expired = 1;
    if (w->phase == SRV_WATCH_BODY && wd->late_body_size)
        w->answered = send(w->fd, wd->late_body, wd->late_body_size, MSG_NOSIGNAL | MSG_DONTWAIT) ==
                      (ssize_t)wd->late_body_size;
    shutdown(w->fd, SHUT_RDWR);
    srv_metrics_timeout(wd->metrics);
    fprintf(stderr, "faceup serve: closed a connection that was slower than %g s %s\n",
            w->phase == SRV_WATCH_HEADERS ? wd->header_timeout : wd->timeout,
            w->phase == SRV_WATCH_HEADERS ? "to send its headers"
            : w->phase == SRV_WATCH_BODY  ? "to send its body"
                                          : "to read its answer");
}

/* Near the cap: shut down idle connections, longest waiting first, until fewer than
 * high_water are open (under wd->mu). Those waiting for headers all have the same timeout, so
 * the earliest deadline is the longest wait. */
static void make_room(srv_watchdog *wd, const struct timespec *now)
{
    if (!wd->high_water || wd->open < wd->high_water)
        return;
    /* a deadline for headers at or before this was armed at least IDLE_GRACE_S ago */
    struct timespec idle_by = plus(*now, wd->header_timeout - IDLE_GRACE_S);
    unsigned closed = 0;
    while (wd->open - closed >= wd->high_water) {
        srv_watch *oldest = NULL;
        for (srv_watch *w = wd->head; w; w = w->next)
            if (w->armed && w->phase == SRV_WATCH_HEADERS && passed(&w->deadline, &idle_by) &&
                (!oldest || passed(&w->deadline, &oldest->deadline)))
                oldest = w;
        if (!oldest)
            break;
        oldest->armed = 0;
        oldest->expired = 1;
        shutdown(oldest->fd, SHUT_RDWR);
        closed++;
    }
    if (closed) {
        srv_metrics_idle_closed(wd->metrics, closed);
        fprintf(stderr, "faceup serve: %u connections open, near the limit of %u: closed %u idle\n",
                wd->open, wd->max_connections, closed);
    }
}

static void *watch_loop(void *arg)
{
    srv_watchdog *wd = arg;
    pthread_mutex_lock(&wd->mu);
    while (!wd->stopping) {
        struct timespec wake = after(TICK_NS / 1e9);
        pthread_cond_timedwait(&wd->stop_cv, &wd->mu, &wake);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        for (srv_watch *w = wd->head; w; w = w->next)
            if (w->armed && passed(&w->deadline, &now))
                cut(wd, w);
        make_room(wd, &now);
    }
    pthread_mutex_unlock(&wd->mu);
    return NULL;
}

srv_watchdog *srv_watchdog_create(const srv_watchdog_config *cfg, srv_metrics *metrics)
{
    srv_watchdog *wd = calloc(1, sizeof *wd);
    if (!wd)
        return NULL;
    wd->timeout = cfg->timeout_s;
    wd->header_timeout = cfg->header_timeout_s;
    wd->metrics = metrics;
    wd->max_connections = cfg->max_connections;
    if (cfg->max_connections)
        wd->high_water = cfg->max_connections - cfg->max_connections / 8;
    if (cfg->late_body_size) {
        wd->late_body = malloc(cfg->late_body_size);
        if (!wd->late_body) {
            free(wd);
            return NULL;
        }
        memcpy(wd->late_body, cfg->late_body_reply, cfg->late_body_size);
        wd->late_body_size = cfg->late_body_size;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wd->stop_cv, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&wd->mu, NULL);
    if (pthread_create(&wd->thread, NULL, watch_loop, wd) != 0) {
        pthread_cond_destroy(&wd->stop_cv);
        pthread_mutex_destroy(&wd->mu);
        free(wd->late_body);
        free(wd);
        return NULL;
    }
    return wd;
}

srv_watch *srv_watchdog_add(srv_watchdog *wd, int fd)
{
    if (!wd)
        return NULL;
    srv_watch *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->fd = fd;
    w->armed = 1;
    w->phase = SRV_WATCH_HEADERS;
    w->deadline = after(wd->header_timeout);
    pthread_mutex_lock(&wd->mu);
    w->next = wd->head;
    if (wd->head)
        wd->head->prev = w;
    wd->head = w;
    wd->open++;
    pthread_mutex_unlock(&wd->mu);
    return w;
}

void srv_watchdog_arm(srv_watchdog *wd, srv_watch *w, srv_watch_phase phase)
{
    if (!wd || !w)
        return;
    struct timespec deadline = after(phase == SRV_WATCH_HEADERS ? wd->header_timeout : wd->timeout);
    pthread_mutex_lock(&wd->mu);
    if (!w->expired) {
        w->deadline = deadline;
        w->phase = phase;
        w->armed = 1;
    }
    pthread_mutex_unlock(&wd->mu);
}

void srv_watchdog_disarm(srv_watchdog *wd, srv_watch *w)
{
    if (!wd || !w)
        return;
    pthread_mutex_lock(&wd->mu);
    w->armed = 0;
    pthread_mutex_unlock(&wd->mu);
}

int srv_watchdog_expired(srv_watchdog *wd, srv_watch *w, int *answered)
{
    *answered = 0;
    if (!wd || !w)
        return 0;
    pthread_mutex_lock(&wd->mu);
    int e = w->expired;
    *answered = w->answered;
    pthread_mutex_unlock(&wd->mu);
    return e;
}

void srv_watchdog_remove(srv_watchdog *wd, srv_watch *w)
{
    if (!wd || !w)
        return;
    pthread_mutex_lock(&wd->mu);
    if (w->prev)
        w->prev->next = w->next;
    else
        wd->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    wd->open--;
    pthread_mutex_unlock(&wd->mu);
    free(w);
}

void srv_watchdog_destroy(srv_watchdog *wd)
{
    if (!wd)
        return;
    pthread_mutex_lock(&wd->mu);
    wd->stopping = 1;
    pthread_cond_signal(&wd->stop_cv);
    pthread_mutex_unlock(&wd->mu);
    pthread_join(wd->thread, NULL);
    while (wd->head) {
        srv_watch *w = wd->head;
        wd->head = w->next;
        free(w);
    }
    pthread_cond_destroy(&wd->stop_cv);
    pthread_mutex_destroy(&wd->mu);
    free(wd->late_body);
    free(wd);
}
