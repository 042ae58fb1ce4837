/*
 * metrics.c - request counts, a latency histogram, bytes and decisions, under one mutex.
 *
 * Labels come from fixed tables (the endpoints, the statuses the server sends, the four turns),
 * so no client can grow the number of series: an unknown path is counted as endpoint "other".
 */
#include "metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "faceup.h"

static const int statuses[] = {200, 400, 404, 405, 408, 411, 413, 415, 422, 500, 503};
#define N_STATUS (sizeof statuses / sizeof *statuses + 1) /* the last one: any other status */

static const double buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BUCKETS (sizeof buckets / sizeof *buckets)

static const char *const decision_names[] = {"0", "90", "180", "270", "undecided"};

typedef struct counters {
    uint64_t requests[SRV_EP_COUNT][N_STATUS];
    uint64_t latency[SRV_EP_COUNT][N_BUCKETS]; /* per bucket, made cumulative when rendered */
    uint64_t latency_count[SRV_EP_COUNT];
    double latency_sum[SRV_EP_COUNT];
    uint64_t bytes_in[SRV_EP_COUNT], bytes_out[SRV_EP_COUNT];
    uint64_t decisions[5];
    uint64_t timeouts, idle_closed;
} counters;

struct srv_metrics {
    pthread_mutex_t mu;
    counters c;
};

srv_metrics *srv_metrics_create(void)
{
    srv_metrics *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->mu, NULL);
    return m;
}

void srv_metrics_destroy(srv_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void srv_metrics_request(srv_metrics *m, srv_endpoint ep, int status, double seconds,
                        uint64_t bytes_in, uint64_t bytes_out)
{
    size_t s = N_STATUS - 1;
    for (size_t i = 0; i < N_STATUS - 1; i++)
        if (statuses[i] == status)
            s = i;
    size_t b = 0;
    while (b < N_BUCKETS && seconds > buckets[b])
        b++;
    pthread_mutex_lock(&m->mu);
    m->c.requests[ep][s]++;
    if (b < N_BUCKETS)
        m->c.latency[ep][b]++;
    m->c.latency_count[ep]++;
    m->c.latency_sum[ep] += seconds;
    m->c.bytes_in[ep] += bytes_in;
    m->c.bytes_out[ep] += bytes_out;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_decision(srv_metrics *m, int orientation)
{
    int i = orientation == 0 ? 0 : orientation == 90 ? 1 : orientation == 180 ? 2
          : orientation == 270 ? 3 : 4;
    pthread_mutex_lock(&m->mu);
    m->c.decisions[i]++;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_timeout(srv_metrics *m)
{
    pthread_mutex_lock(&m->mu);
    m->c.timeouts++;
    pthread_mutex_unlock(&m->mu);
}

void srv_metrics_idle_closed(srv_metrics *m, unsigned n)
{
    pthread_mutex_lock(&m->mu);
    m->c.idle_closed += n;
    pthread_mutex_unlock(&m->mu);
}

static void help(FILE *f, const char *name, const char *type, const char *text)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

static void render_requests(FILE *f, const counters *c)
{
    help(f, "faceup_http_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
    for (int e = 0; e < SRV_EP_COUNT; e++)
        for (size_t s = 0; s < N_STATUS; s++) {
            if (!c->requests[e][s])
                continue;
            if (s < N_STATUS - 1)
                fprintf(f, "faceup_http_requests_total{endpoint=\"%s\",status=\"%d\"} %llu\n",
                        srv_endpoint_name(e), statuses[s], (unsigned long long)c->requests[e][s]);
            else
                fprintf(f, "faceup_http_requests_total{endpoint=\"%s\",status=\"other\"} %llu\n",
                        srv_endpoint_name(e), (unsigned long long)c->requests[e][s]);
        }
}

static void render_latency(FILE *f, const counters *c)
{
    help(f, "faceup_http_request_duration_seconds", "histogram",
         "Time from the request headers received to the response sent.");
    for (int e = 0; e < SRV_EP_COUNT; e++) {
        if (!c->latency_count[e])
            continue;
        uint64_t cum = 0;
        for (size_t b = 0; b < N_BUCKETS; b++) {
            cum += c->latency[e][b];
            fprintf(f, "faceup_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%g\"} %llu\n",
                    srv_endpoint_name(e), buckets[b], (unsigned long long)cum);
        }
        fprintf(f, "faceup_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"+Inf\"} %llu\n",
                srv_endpoint_name(e), (unsigned long long)c->latency_count[e]);
        fprintf(f, "faceup_http_request_duration_seconds_sum{endpoint=\"%s\"} %.6f\n",
                srv_endpoint_name(e), c->latency_sum[e]);
        fprintf(f, "faceup_http_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
                srv_endpoint_name(e), (unsigned long long)c->latency_count[e]);
    }
}

/* A byte counter per endpoint that has answered anything. */
static void render_bytes(FILE *f, const counters *c, const char *name, const char *text,
                         const uint64_t *bytes)
{
    help(f, name, "counter", text);
    for (int e = 0; e < SRV_EP_COUNT; e++)
        if (c->latency_count[e])
            fprintf(f, "%s{endpoint=\"%s\"} %llu\n", name, srv_endpoint_name(e),
                    (unsigned long long)bytes[e]);
}

static void render_gauges(FILE *f, const srv_gauges *g)
{
    const struct {
        const char *name, *text;
        int value;
    } gauges[] = {
        {"faceup_queue_depth", "Images waiting for a worker.", g->queue_depth},
        {"faceup_queue_capacity", "Images that may wait before requests get 503.",
         g->queue_capacity},
        {"faceup_http_requests_in_flight", "Requests received and not yet answered.",
         g->in_flight},
        {"faceup_workers", "Worker threads, each with its own model workspace.", g->workers},
        {"faceup_workers_busy", "Workers running an image now.", g->workers_busy},
        {"faceup_ready", "1 once the model is loaded and every worker warmed up.", g->ready},
    };
    for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++) {
        help(f, gauges[i].name, "gauge", gauges[i].text);
        fprintf(f, "%s %d\n", gauges[i].name, gauges[i].value);
    }
}

char *srv_metrics_render(srv_metrics *m, const srv_gauges *g, size_t *len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, len);
    if (!f)
        return NULL;
    counters snap;
    pthread_mutex_lock(&m->mu);
    snap = m->c;   /* render from a copy: the lock is not held during the formatting */
    pthread_mutex_unlock(&m->mu);

    render_requests(f, &snap);
    render_latency(f, &snap);
    render_bytes(f, &snap, "faceup_http_request_bytes_total", "Request body bytes received.",
                 snap.bytes_in);
    render_bytes(f, &snap, "faceup_http_response_bytes_total", "Response body bytes sent.",
                 snap.bytes_out);
    help(f, "faceup_decisions_total", "counter",
         "Images decided, by the clockwise turn found (undecided: no face or weak evidence).");
    for (int i = 0; i < 5; i++)
        fprintf(f, "faceup_decisions_total{orientation=\"%s\"} %llu\n", decision_names[i],
                (unsigned long long)snap.decisions[i]);
    help(f, "faceup_http_timeouts_total", "counter",
         "Connections closed because the client was too slow (--timeout).");
    fprintf(f, "faceup_http_timeouts_total %llu\n", (unsigned long long)snap.timeouts);
    help(f, "faceup_http_idle_closed_total", "counter",
         "Idle connections closed early because the open connections neared --max-connections.");
    fprintf(f, "faceup_http_idle_closed_total %llu\n", (unsigned long long)snap.idle_closed);
    render_gauges(f, g);

    if (fclose(f) != 0) {
        free(text);
        return NULL;
    }
    return text;
}
