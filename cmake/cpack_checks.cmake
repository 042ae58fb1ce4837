# cpack_checks.cmake - run by cpack for each generator, before it builds a package.
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr")
  message(FATAL_ERROR "a Debian package installs under /usr, this build under "
                      "'${CPACK_PACKAGING_INSTALL_PREFIX}': configure with -DCMAKE_INSTALL_PREFIX=/usr")
endif()
