# Cross-compiles qmath's tests for 64-bit Arm Linux with Debian's
# g++-aarch64-linux-gnu and runs them under qemu-aarch64 (qemu-user):
#
#   cmake -S . -B build/aarch64 -G Ninja -DCMAKE_BUILD_TYPE=Release \
#         -DCMAKE_TOOLCHAIN_FILE=tests/cross/aarch64-linux-gnu.cmake -DQMATH_TEST_FAST_SWEEPS=ON
#   cmake --build build/aarch64 && (cd build/aarch64 && ctest)
#
# ctest runs every test program through CMAKE_CROSSCOMPILING_EMULATOR; the
# Python cross-checks get it as QMATH_TOOL_EMULATOR. The headers qmath needs
# from the build machine (xsimd, Catch2, nlohmann_json, xtl) are
# architecture-independent; they are taken from a small prefix of links to
# them (build/<dir>/cross-prefix), never from the host's /usr/include as a
# whole, whose C library headers are the host's.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(QMATH_CROSS_TRIPLE aarch64-linux-gnu)

find_program(QMATH_CROSS_CXX NAMES ${QMATH_CROSS_TRIPLE}-g++ ${QMATH_CROSS_TRIPLE}-g++-12 REQUIRED)
set(CMAKE_CXX_COMPILER "${QMATH_CROSS_CXX}")
find_program(QMATH_CROSS_QEMU NAMES qemu-aarch64 qemu-aarch64-static)
if(QMATH_CROSS_QEMU)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${QMATH_CROSS_QEMU};-L;/usr/${QMATH_CROSS_TRIPLE}")
endif()

# Links to the build machine's architecture-independent header packages: the
# headers themselves and their CMake configs at the same depth below the
# prefix (the configs find their headers relative to themselves).
set(QMATH_CROSS_PREFIX "${CMAKE_BINARY_DIR}/cross-prefix")
if(NOT EXISTS "${QMATH_CROSS_PREFIX}/.done")
  foreach(_dir xsimd xtl catch2 nlohmann)
    if(EXISTS "/usr/include/${_dir}")
      file(MAKE_DIRECTORY "${QMATH_CROSS_PREFIX}/usr/include")
      file(CREATE_LINK "/usr/include/${_dir}" "${QMATH_CROSS_PREFIX}/usr/include/${_dir}" SYMBOLIC)
    endif()
  endforeach()
  foreach(_pkg xsimd xtl Catch2 nlohmann_json)
    foreach(_where "lib/${CMAKE_HOST_SYSTEM_PROCESSOR}-linux-gnu/cmake" "lib/cmake" "share/cmake")
      if(EXISTS "/usr/${_where}/${_pkg}")
        string(REPLACE "${CMAKE_HOST_SYSTEM_PROCESSOR}-linux-gnu" "${QMATH_CROSS_TRIPLE}" _to "${_where}")
        file(MAKE_DIRECTORY "${QMATH_CROSS_PREFIX}/usr/${_to}/${_pkg}")
        file(GLOB _files "/usr/${_where}/${_pkg}/*.cmake")
        foreach(_f IN LISTS _files)
          get_filename_component(_name "${_f}" NAME)
          file(CREATE_LINK "${_f}" "${QMATH_CROSS_PREFIX}/usr/${_to}/${_pkg}/${_name}" SYMBOLIC)
        endforeach()
        break()
      endif()
    endforeach()
  endforeach()
  # Debian's Catch2 v2 config checks that its (host) main library exists;
  # qmath's tests use the headers only and never link it.
  file(GLOB _catch_libs "/usr/lib/libCatch2*.a")
  foreach(_f IN LISTS _catch_libs)
    get_filename_component(_name "${_f}" NAME)
    file(CREATE_LINK "${_f}" "${QMATH_CROSS_PREFIX}/usr/lib/${_name}" SYMBOLIC)
  endforeach()
  file(TOUCH "${QMATH_CROSS_PREFIX}/.done")
endif()

# The target's own libraries and headers: the cross toolchain's sysroot, and
# the header packages above.
set(CMAKE_FIND_ROOT_PATH "/usr/${QMATH_CROSS_TRIPLE};${QMATH_CROSS_PREFIX}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# qmath's own default -march=native names the build machine: the Armv8-A
# baseline (which has NEON, xsimd's neon64) unless given.
set(QMATH_ARCH_FLAGS "" CACHE STRING "Instruction-set flags for qmath's own tests, benches and examples")
