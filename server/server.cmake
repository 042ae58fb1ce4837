# server.cmake - `faceup serve`: the server sources and the embedded page and OpenAPI document,
# added to the faceup_cli target (included from the top-level CMakeLists.txt after it).
set(srv_server_dir "${CMAKE_CURRENT_LIST_DIR}")
set(srv_assets_c "${CMAKE_BINARY_DIR}/server_assets.c")
add_custom_command(
  OUTPUT "${srv_assets_c}"
  COMMAND "${CMAKE_COMMAND}" "-DOUT=${srv_assets_c}"
          "-DINPUTS=${srv_server_dir}/page.html=srv_asset_page_html$<SEMICOLON>${srv_server_dir}/openapi.json=srv_asset_openapi_json"
          -P "${srv_server_dir}/embed.cmake"
  DEPENDS "${srv_server_dir}/page.html" "${srv_server_dir}/openapi.json" "${srv_server_dir}/embed.cmake"
  COMMENT "Embedding server/page.html and server/openapi.json"
  VERBATIM)

target_sources(faceup_cli PRIVATE
  "${srv_server_dir}/server.c"
  "${srv_server_dir}/api.c"
  "${srv_server_dir}/access.c"
  "${srv_server_dir}/endpoint.c"
  "${srv_server_dir}/http_parse.c"
  "${srv_server_dir}/pool.c"
  "${srv_server_dir}/metrics.c"
  "${srv_server_dir}/watchdog.c"
  "${srv_assets_c}"
)
target_include_directories(faceup_cli PRIVATE "${srv_server_dir}")
target_link_libraries(faceup_cli PRIVATE PkgConfig::MHD)
