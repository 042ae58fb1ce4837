/*
 * access.h - who may call the server: API keys (Authorization: Bearer) and the browser origins
 * allowed by CORS. Used by server.c; includes only http_parse.h of the folder.
 *
 * Keys come from a file, one a line (blank lines and lines starting with '#' skipped, spaces
 * around a key trimmed); each must be a token68 (RFC 9110 11.2), as a Bearer credential is. A
 * presented key is compared with every key in constant time, so the time taken tells nothing
 * about how much of it matched. Keys are never copied anywhere but here, and never printed.
 */
#ifndef SRV_ACCESS_H
#define SRV_ACCESS_H

#include <stddef.h>

typedef struct srv_access srv_access;

/* From the text of a key file (NULL: no keys, every request allowed) and the allowed origins
 * (copied). Returns NULL with *why set when the text has no key, or a line that is not a token68
 * (*line says which, from 1), or memory ran out. */
srv_access *srv_access_create(const char *keys, size_t size, const char *const *origins,
                              int n_origins, const char **why, int *line);

/* srv_access_destroy(NULL) does nothing; the keys are wiped before they are freed. */
void srv_access_destroy(srv_access *a);

/* 1 when requests must carry a key. */
int srv_access_needs_key(const srv_access *a);

/* 1 when the Authorization header value (NULL when absent) is "Bearer KEY" with one of the keys,
 * the scheme in any case. Thread-safe. */
int srv_access_allows(const srv_access *a, const char *authorization);

/* The Origin header value when it is one of the allowed origins (exactly), else NULL. */
const char *srv_access_origin(const srv_access *a, const char *origin);

/* 1 when any origin is allowed (the answers then vary by Origin). */
int srv_access_has_origins(const srv_access *a);

#endif
