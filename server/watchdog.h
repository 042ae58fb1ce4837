/*
 * watchdog.h - a deadline per connection, so that a slow client cannot hold one forever.
 *
 * libmicrohttpd's own connection timeout is an idle timeout: a client that sends one byte a
 * second is never idle and would keep its connection (and its buffer) as long as it likes. Here
 * every phase the client controls must end within --timeout seconds: the headers of a request
 * (counted from the connection's start or the previous response), its body (counted from the
 * headers), and the reading of the response. While an image waits for or runs on a worker the
 * deadline is off: that time is ours, not the client's.
 *
 * A connection past its deadline is shut down (shutdown(2), not close: the HTTP library still
 * owns the descriptor and closes it when it sees the socket end). One that was sending a body
 * is first told so: the watchdog writes the reply it was given (a 408), since the client is
 * waiting for an answer and the library, reading the body, writes nothing then.
 *
 * Near the connection cap, idle connections go first: when the open connections reach 7/8 of
 * max_connections, those that have waited at least IDLE_GRACE_S for a request's headers (idle
 * keep-alive connections, and connections that sent nothing) are shut down, longest waiting
 * first, until the count is below that mark, so that a new client is accepted instead of
 * queueing behind clients that are doing nothing. A connection sending a body, waiting for its
 * image or reading its answer is never closed this way.
 */
#ifndef SRV_WATCHDOG_H
#define SRV_WATCHDOG_H

#include "metrics.h"

typedef struct srv_watchdog srv_watchdog;
typedef struct srv_watch srv_watch;

/* What the client is doing, which sets its deadline and what it is told when it misses it. */
typedef enum srv_watch_phase {
    SRV_WATCH_HEADERS,   /* sending a request's headers, or idle between requests */
    SRV_WATCH_BODY,      /* sending a body: answered late_body_reply, then shut down */
    SRV_WATCH_REPLY      /* reading the answer */
} srv_watch_phase;

typedef struct srv_watchdog_config {
    double timeout_s;          /* the body and the reply */
    double header_timeout_s;   /* the headers */
    const char *late_body_reply;   /* the bytes of a complete HTTP response (copied) */
    size_t late_body_size;
    unsigned max_connections;  /* the cap whose nearness closes idle connections; 0: never */
} srv_watchdog_config;

/* Start the watchdog thread. Returns NULL when memory or threads are exhausted. */
srv_watchdog *srv_watchdog_create(const srv_watchdog_config *cfg, srv_metrics *metrics);

/* Watch a new connection's socket, its headers' deadline armed from now. NULL when out of memory (the
 * connection then has only the idle timeout). Every function below takes NULL as a no-op. */
srv_watch *srv_watchdog_add(srv_watchdog *wd, int fd);

/* Restart the deadline of a phase from now, or turn it off. */
void srv_watchdog_arm(srv_watchdog *wd, srv_watch *w, srv_watch_phase phase);
void srv_watchdog_disarm(srv_watchdog *wd, srv_watch *w);

/* 1 when the watchdog cut this connection off; *answered is then 1 when it wrote the late body
 * reply (whole) first. */
int srv_watchdog_expired(srv_watchdog *wd, srv_watch *w, int *answered);

/* Stop watching; call before the socket is closed. */
void srv_watchdog_remove(srv_watchdog *wd, srv_watch *w);

/* Stop the thread and free what is left. srv_watchdog_destroy(NULL) does nothing. */
void srv_watchdog_destroy(srv_watchdog *wd);

#endif
