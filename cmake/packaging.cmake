# packaging.cmake - `cpack -G DEB` in the build folder makes faceup_<version>_<arch>.deb.
#
# The package is the tree cmake/install.cmake installs, with the prefix the build was configured
# with; Debian wants /usr, so configure with -DCMAKE_INSTALL_PREFIX=/usr (cpack refuses another
# prefix, see cpack_checks.cmake). Its version is the project version, the one faceup_version()
# and `faceup --version` report; its dependencies come from dpkg-shlibdeps (dpkg-dev), which
# reads the libraries the ELF files link and gives the Debian packages with their minimum
# versions. Maintainer scripts and triggers are in packaging/.
set(FACEUP_DEB_MAINTAINER "faceup maintainers <maintainers@users.noreply.b-seed-16e43d6a.example>"
  CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME faceup)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_CONTACT "${FACEUP_DEB_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_STRIP_FILES ON)
set(CPACK_PROJECT_CONFIG_FILE "${CMAKE_CURRENT_LIST_DIR}/cpack_checks.cmake")

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION graphics)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "turns face photos upright, losslessly
faceup decides from the faces in a photo whether it is turned by 0, 90, 180
or 270 degrees, and hands it back upright: JPEG turned without loss, PNG and
lossless WebP exactly, EXIF and ICC metadata kept. The YuNet face detector
and faceup's own orientation classifier are built in; no network is used.

This package holds the faceup command (detect, fix, serve), the HTTP service
faceup.service (installed but not enabled), and the C library libfaceup with
its header, pkg-config file and CMake package.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")

# dpkg only treats files under /etc as configuration when DEBIAN/conffiles lists them.
file(CONFIGURE OUTPUT "${PROJECT_BINARY_DIR}/debian/conffiles" CONTENT "@FACEUP_DEFAULT_FILE@\n" @ONLY)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  "${PROJECT_SOURCE_DIR}/packaging/postinst"
  "${PROJECT_SOURCE_DIR}/packaging/prerm"
  "${PROJECT_SOURCE_DIR}/packaging/postrm"
  "${PROJECT_SOURCE_DIR}/packaging/triggers"
  "${PROJECT_BINARY_DIR}/debian/conffiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# The changelog's newest entry must name the version being packaged.
file(STRINGS "${PROJECT_SOURCE_DIR}/packaging/changelog" faceup_changelog_head LIMIT_COUNT 1)
if(NOT faceup_changelog_head MATCHES "^faceup \\(${PROJECT_VERSION}\\) ")
  message(WARNING "packaging/changelog starts with '${faceup_changelog_head}': add an entry for ${PROJECT_VERSION}")
endif()

include(CPack)
