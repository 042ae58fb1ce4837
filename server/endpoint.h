/*
 * endpoint.h - the fixed set of endpoints the server answers (endpoint.c): routing, and their
 * names as metric labels. Below both api.c and metrics.c, so neither needs the other.
 */
#ifndef SRV_ENDPOINT_H
#define SRV_ENDPOINT_H

typedef enum srv_endpoint {
    SRV_EP_PAGE,     /* GET /            the page to try it */
    SRV_EP_FIX,      /* POST /v1/fix     the image back upright */
    SRV_EP_DETECT,   /* POST /v1/detect  the decision as JSON */
    SRV_EP_HEALTHZ,  /* GET /healthz     alive */
    SRV_EP_READYZ,   /* GET /readyz      model loaded and warmed up */
    SRV_EP_METRICS,  /* GET /metrics     Prometheus text */
    SRV_EP_OPENAPI,  /* GET /openapi.json */
    SRV_EP_OTHER,    /* anything else: 404 */
    SRV_EP_COUNT
} srv_endpoint;

/* Its path ("/v1/fix"), or "other". Static. */
const char *srv_endpoint_name(int ep);

/* Which endpoint a method and path are for. Returns 0, or 404 (unknown path, *ep = SRV_EP_OTHER)
 * or 405 (known path, other method: *ep is set; srv_endpoint_allow() gives the Allow header). */
int srv_endpoint_route(const char *method, const char *path, srv_endpoint *ep);
const char *srv_endpoint_allow(srv_endpoint ep);

/* 1 for the endpoints that take an image body. */
int srv_endpoint_takes_image(srv_endpoint ep);

#endif
