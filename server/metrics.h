/*
 * metrics.h - counters of the service, rendered in the Prometheus text format for GET /metrics.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "endpoint.h"

typedef struct srv_metrics srv_metrics;

/* Point-in-time values read when /metrics is rendered. */
typedef struct srv_gauges {
    int queue_depth, queue_capacity;
    int in_flight;        /* requests received and not yet answered */
    int workers, workers_busy;
    int ready;
} srv_gauges;

/* Returns NULL when out of memory. srv_metrics_destroy(NULL) does nothing. */
srv_metrics *srv_metrics_create(void);
void srv_metrics_destroy(srv_metrics *m);

/* One answered request: its endpoint, status, seconds from headers received to the response
 * sent, and body bytes in and out. Thread-safe, like every function here. */
void srv_metrics_request(srv_metrics *m, srv_endpoint ep, int status, double seconds,
                        uint64_t bytes_in, uint64_t bytes_out);

/* One image decided: 0/90/180/270, or FACEUP_UNDECIDED. */
void srv_metrics_decision(srv_metrics *m, int orientation);

/* One connection cut off by the per-connection deadline. */
void srv_metrics_timeout(srv_metrics *m);

/* n idle connections closed early to make room (the watchdog, near --max-connections). */
void srv_metrics_idle_closed(srv_metrics *m, unsigned n);

/* Render everything. Returns a malloc'ed text (its length in *len), or NULL out of memory. */
char *srv_metrics_render(srv_metrics *m, const srv_gauges *g, size_t *len);

#endif
