/*
 * endpoint.h - the fixed set of endpoints the server answers, used for routing and as a label.
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

#endif
