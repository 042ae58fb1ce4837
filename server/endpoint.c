/*
 * endpoint.c - the endpoints by path and method: routing, and their names as metric labels.
 */
#include "endpoint.h"

#include <string.h>

static const struct {
    const char *path;
    int is_post;
} routes[SRV_EP_COUNT] = {
    [SRV_EP_PAGE] = {"/", 0},
    [SRV_EP_FIX] = {"/v1/fix", 1},
    [SRV_EP_DETECT] = {"/v1/detect", 1},
    [SRV_EP_HEALTHZ] = {"/healthz", 0},
    [SRV_EP_READYZ] = {"/readyz", 0},
    [SRV_EP_METRICS] = {"/metrics", 0},
    [SRV_EP_OPENAPI] = {"/openapi.json", 0},
    [SRV_EP_OTHER] = {NULL, 0},
};

const char *srv_endpoint_name(int ep)
{
    return ep >= 0 && ep < SRV_EP_OTHER ? routes[ep].path : "other";
}

int srv_endpoint_route(const char *method, const char *path, srv_endpoint *ep)
{
    *ep = SRV_EP_OTHER;
    for (int e = 0; e < SRV_EP_OTHER; e++) {
        if (strcmp(path, routes[e].path) != 0)
            continue;
        *ep = (srv_endpoint)e;
        int ok = routes[e].is_post ? !strcmp(method, "POST")
                                   : !strcmp(method, "GET") || !strcmp(method, "HEAD");
        return ok ? 0 : 405;
    }
    return 404;
}

const char *srv_endpoint_allow(srv_endpoint ep)
{
    return ep < SRV_EP_OTHER && routes[ep].is_post ? "POST" : "GET, HEAD";
}

int srv_endpoint_takes_image(srv_endpoint ep)
{
    return ep < SRV_EP_OTHER && routes[ep].is_post;
}
