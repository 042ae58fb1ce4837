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
 * owns the descriptor and closes it when it sees the socket end).
 */
#ifndef SRV_WATCHDOG_H
#define SRV_WATCHDOG_H

#include "metrics.h"

typedef struct srv_watchdog srv_watchdog;
typedef struct srv_watch srv_watch;

/* Start the watchdog thread. Returns NULL when memory or threads are exhausted. */
srv_watchdog *srv_watchdog_create(double timeout_s, srv_metrics *metrics);

/* Watch a new connection's socket, its deadline armed from now. NULL when out of memory (the
 * connection then has only the idle timeout). Every function below takes NULL as a no-op. */
srv_watch *srv_watchdog_add(srv_watchdog *wd, int fd);

/* Restart the deadline from now, or turn it off. */
void srv_watchdog_arm(srv_watchdog *wd, srv_watch *w);
void srv_watchdog_disarm(srv_watchdog *wd, srv_watch *w);

/* 1 when the watchdog cut this connection off. */
int srv_watchdog_expired(srv_watchdog *wd, srv_watch *w);

/* Stop watching; call before the socket is closed. */
void srv_watchdog_remove(srv_watchdog *wd, srv_watch *w);

/* Stop the thread and free what is left. srv_watchdog_destroy(NULL) does nothing. */
void srv_watchdog_destroy(srv_watchdog *wd);

#endif
