# vcpkg overlay port for qmath (header-only): the same CMake configure and
# install that qmath's CI runs, then vcpkg's layout fixups.
#   vcpkg install qmath --overlay-ports=<qmath>/ports
# Inside a qmath checkout the port builds that tree; copied into a registry it
# fetches the release tag (fill in SHA512 when tagging a release).
if(EXISTS "${CMAKE_CURRENT_LIST_DIR}/../../include/qmath/version.hpp")
  get_filename_component(SOURCE_PATH "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
else()
  vcpkg_from_github(
    OUT_SOURCE_PATH SOURCE_PATH
    REPO qmath/qmath
    REF "v${VERSION}"
    SHA512 0
    HEAD_REF main)
endif()

# Headers only: one configuration is enough.
set(VCPKG_BUILD_TYPE release)

vcpkg_cmake_configure(
  SOURCE_PATH "${SOURCE_PATH}"
  OPTIONS
    -DQMATH_BUILD_TESTS=OFF
    -DQMATH_BUILD_BENCH=OFF
    -DQMATH_BUILD_EXAMPLES=OFF
    -DQMATH_BUILD_TOOLS=OFF   # the library port ships no programs
    -DQMATH_INSTALL=ON)
vcpkg_cmake_install()

# qmath installs its config to share/cmake/qmath; vcpkg wants share/qmath.
# The config compiles the runtime dispatch from qmath_dispatch.cpp beside it,
# a file the fixup need not carry along: it is moved by hand.
set(_dispatch_source "${CURRENT_PACKAGES_DIR}/qmath_dispatch.cpp")
file(RENAME "${CURRENT_PACKAGES_DIR}/share/cmake/qmath/qmath_dispatch.cpp" "${_dispatch_source}")
vcpkg_cmake_config_fixup(CONFIG_PATH share/cmake/qmath)
file(RENAME "${_dispatch_source}" "${CURRENT_PACKAGES_DIR}/share/${PORT}/qmath_dispatch.cpp")
vcpkg_fixup_pkgconfig()

# Nothing is compiled: no lib/ or bin/ to ship.
file(REMOVE_RECURSE "${CURRENT_PACKAGES_DIR}/lib" "${CURRENT_PACKAGES_DIR}/debug")

file(INSTALL "${CMAKE_CURRENT_LIST_DIR}/usage" DESTINATION "${CURRENT_PACKAGES_DIR}/share/${PORT}")
vcpkg_install_copyright(FILE_LIST "${SOURCE_PATH}/LICENSE")
