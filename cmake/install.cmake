# install.cmake - what `cmake --install` puts where (included at the end of CMakeLists.txt).
#
#   bin/faceup                        the command line tool (libfaceup linked in statically)
#   lib/libfaceup.so.0.x.y, .so.0, .so  the shared library: SONAME libfaceup.so.0, symbols
#                                     versioned FACEUP_0 by cmake/libfaceup.map
#   lib/libfaceup.a                   the static library
#   include/faceup.h                  the one public header
#   lib/pkgconfig/faceup.pc           pkg-config (Requires.private for static linking)
#   lib/cmake/faceup/                 find_package(faceup) -> faceup::faceup
#   share/man/man1/faceup.1.gz, man3/libfaceup.3.gz
#   lib/systemd/system/faceup.service, libexec/faceup/faceup-wait-ready, SYSCONFDIR/default/faceup
#   share/doc/faceup/copyright, changelog.gz
#
# lib is lib/<multiarch> with prefix /usr. The Debian package (cmake/packaging.cmake) is exactly
# this tree, installed with prefix /usr.
include(CMakePackageConfigHelpers)

set(faceup_map "${CMAKE_CURRENT_LIST_DIR}/libfaceup.map")
target_link_options(faceup PRIVATE "LINKER:--version-script=${faceup_map}")
set_property(TARGET faceup APPEND PROPERTY LINK_DEPENDS "${faceup_map}")

install(TARGETS faceup EXPORT faceupTargets LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS faceup_static ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
# `cmake --install --strip` and cpack strip programs and shared libraries but not archives:
# the static library's debug sections would be most of its size.
install(CODE "if(CMAKE_INSTALL_DO_STRIP)
  execute_process(COMMAND \"${CMAKE_STRIP}\" --strip-debug
    \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/$<TARGET_FILE_NAME:faceup_static>\")
endif()")
install(TARGETS faceup_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES "${PROJECT_SOURCE_DIR}/include/faceup.h" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# pkg-config and CMake package files.
configure_file("${CMAKE_CURRENT_LIST_DIR}/faceup.pc.in" "${PROJECT_BINARY_DIR}/faceup.pc" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/faceup.pc" DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

set(faceup_cmakedir ${CMAKE_INSTALL_LIBDIR}/cmake/faceup)
install(EXPORT faceupTargets NAMESPACE faceup:: DESTINATION ${faceup_cmakedir})
configure_package_config_file("${CMAKE_CURRENT_LIST_DIR}/faceupConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/faceupConfig.cmake" INSTALL_DESTINATION ${faceup_cmakedir})
# The SOVERSION is the major version: the same major means the same ABI.
write_basic_package_version_file("${PROJECT_BINARY_DIR}/faceupConfigVersion.cmake"
  COMPATIBILITY SameMajorVersion)
install(FILES "${PROJECT_BINARY_DIR}/faceupConfig.cmake"
  "${PROJECT_BINARY_DIR}/faceupConfigVersion.cmake" DESTINATION ${faceup_cmakedir})

# Man pages and the changelog, compressed as Debian policy wants (gzip -n: no name or time
# stamp inside, so the package is reproducible).
find_program(FACEUP_GZIP gzip REQUIRED)
set(faceup_gz_files)
foreach(src IN ITEMS man/faceup.1 man/libfaceup.3 packaging/changelog)
  get_filename_component(name "${src}" NAME)
  set(gz "${PROJECT_BINARY_DIR}/doc/${name}.gz")
  add_custom_command(OUTPUT "${gz}"
    COMMAND "${CMAKE_COMMAND}" -E make_directory "${PROJECT_BINARY_DIR}/doc"
    COMMAND "${FACEUP_GZIP}" -9nc "${PROJECT_SOURCE_DIR}/${src}" > "${gz}"
    DEPENDS "${PROJECT_SOURCE_DIR}/${src}"
    COMMENT "Compressing ${src}")
  list(APPEND faceup_gz_files "${gz}")
endforeach()
add_custom_target(faceup_docs ALL DEPENDS ${faceup_gz_files})
install(FILES "${PROJECT_BINARY_DIR}/doc/faceup.1.gz" DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES "${PROJECT_BINARY_DIR}/doc/libfaceup.3.gz" DESTINATION ${CMAKE_INSTALL_MANDIR}/man3)
install(FILES "${PROJECT_BINARY_DIR}/doc/changelog.gz" "${PROJECT_SOURCE_DIR}/packaging/copyright"
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The service. Paths in the unit follow the install prefix; with prefix /usr, SYSCONFDIR is /etc.
set(FACEUP_SYSTEMD_UNITDIR "" CACHE PATH "Where faceup.service goes (default: PREFIX/lib/systemd/system)")
set(faceup_unitdir "${FACEUP_SYSTEMD_UNITDIR}")
if(NOT faceup_unitdir)
  set(faceup_unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
set(FACEUP_DEFAULT_FILE "${CMAKE_INSTALL_FULL_SYSCONFDIR}/default/faceup")
set(FACEUP_WAIT_READY "${CMAKE_INSTALL_FULL_LIBEXECDIR}/faceup/faceup-wait-ready")
configure_file("${PROJECT_SOURCE_DIR}/packaging/faceup.service.in"
  "${PROJECT_BINARY_DIR}/faceup.service" @ONLY)
install(FILES "${PROJECT_BINARY_DIR}/faceup.service" DESTINATION "${faceup_unitdir}")
install(PROGRAMS "${PROJECT_SOURCE_DIR}/packaging/faceup-wait-ready"
  DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/faceup)
install(FILES "${PROJECT_SOURCE_DIR}/packaging/faceup.default"
  DESTINATION "${CMAKE_INSTALL_FULL_SYSCONFDIR}/default" RENAME faceup)

include("${CMAKE_CURRENT_LIST_DIR}/packaging.cmake")
