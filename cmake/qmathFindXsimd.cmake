# Finds xsimd for qmath, at build time and from the installed qmathConfig.cmake.
#
# No version in find_package: xsimd's version file rejects any other major
# version, and qmath supports Debian's 8.1 as well as the 13.x that Conan and
# vcpkg serve. The range is checked here instead.
#
# From qmathConfig.cmake, find_dependency reports a missing xsimd as "qmath not
# found" with the reason. From qmath's own CMakeLists.txt (add_subdirectory,
# FetchContent, a build of the tree) find_dependency would only return from
# this file and leave a target linking a plain `-lxsimd`, so it is REQUIRED.
include(CMakeFindDependencyMacro)
if(DEFINED CMAKE_FIND_PACKAGE_NAME)
  macro(_qmath_find_dependency)
    find_dependency(${ARGN})
  endmacro()
else()
  macro(_qmath_find_dependency)
    find_package(${ARGN} REQUIRED)
  endmacro()
endif()

if(NOT TARGET xsimd)
  _qmath_find_dependency(xsimd CONFIG)
endif()
if(DEFINED xsimd_VERSION AND xsimd_VERSION VERSION_LESS 8.1)
  message(FATAL_ERROR "qmath needs xsimd >= 8.1, found ${xsimd_VERSION}")
endif()
# Debian's 8.1.0 exports a link to `xtl` without finding it ("cannot find -lxtl").
if(TARGET xsimd AND NOT TARGET xtl)
  get_target_property(_qmath_xsimd_links xsimd INTERFACE_LINK_LIBRARIES)
  if(_qmath_xsimd_links MATCHES "(^|;)xtl(;|$)")
    _qmath_find_dependency(xtl CONFIG)
  endif()
endif()
