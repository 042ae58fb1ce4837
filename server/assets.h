/*
 * assets.h - files served as they are, embedded at build time from server/page.html and
 * server/openapi.json (server/embed.cmake writes them as C arrays into the build folder).
 */
#ifndef SRV_ASSETS_H
#define SRV_ASSETS_H

#include <stddef.h>

extern const unsigned char srv_asset_page_html[];
extern const size_t srv_asset_page_html_size;
extern const unsigned char srv_asset_openapi_json[];
extern const size_t srv_asset_openapi_json_size;

#endif
