#!/usr/bin/env bash
# Builds and runs every way of consuming qmath, each from a copy of this tree
# in a scratch directory (the tree itself is never written to):
#   manifests              ports/qmath/vcpkg.json and vcpkg.json parse; the
#                          port's version equals include/qmath/version.hpp
#   cmake_install          cmake --install, then find_package(qmath 0.1 CONFIG)
#                          (and without a version) in a separate project
#   cmake_version_mismatch find_package(qmath 1.0) and (qmath 0.2) must fail
#                          with CMake's "not compatible" message
#   cmake_subdirectory     add_subdirectory(qmath): qmath's tests stay off; also
#                          with QMATH_DISABLE_SIMD=ON (scalar kernels) and AVX2
#   cmake_needs_xsimd      add_subdirectory without xsimd fails at configure
#   cmake_fetchcontent     FetchContent from a file:// source archive
#   pkgconfig              c++ $(pkg-config --cflags qmath), also after the
#                          install prefix is moved (relocatable qmath.pc)
#   meson_subproject       dependency('qmath') from subprojects/qmath (symlink),
#                          also with -Dqmath:disable_simd=true
#   meson_pkgconfig        dependency('qmath') from the installed qmath.pc,
#                          and a version constraint it does not meet fails
#   meson_install          meson install of qmath: the same headers as CMake's
#                          install, and its qmath.pc compiles the consumer
#   conan                  conan create (xsimd from tests/consumers/conan/
#                          xsimd-system, no remote), test_package runs; a
#                          C++17 profile is refused
#   vcpkg_port             ports/qmath/portfile.cmake run by stand-ins for the
#                          vcpkg helpers; find_package and pkg-config consume it
# Every consumer compiles tests/consumers/common/consumer.cpp and runs it.
#
# Environment:
#   QMATH_CONSUMERS_WORK   scratch directory (default: a new one under /tmp,
#                          removed on success)
#   QMATH_CONSUMERS_SKIP   space-separated names to skip deliberately
#   QMATH_PYTHON           a python with conan installed (tests/run.sh's venv)
#   QMATH_MESON_TESTS=1    adds the step meson_tests: qmath's whole test suite
#                          through meson.build (slow: it compiles every test)
#   QMATH_OLD_CMAKE        a cmake older than 3.23 (e.g. pip install cmake==3.22.6):
#                          adds the step cmake_old_consumer
#   CXX                    the compiler (default c++)
# Prints one line per step and ends with "N passed, M failed"; exits non-zero
# on any failure. A missing tool (meson, conan, pkg-config) is a failure
# unless the step is listed in QMATH_CONSUMERS_SKIP.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
if [ -n "${QMATH_CONSUMERS_WORK:-}" ]; then
  work="$QMATH_CONSUMERS_WORK"
  keep_work=1
  # Reuse only a directory this script made (it leaves a marker) or an empty one.
  if [ -d "$work" ] && [ -n "$(ls -A "$work")" ] && [ ! -f "$work/.qmath-consumers" ]; then
    echo "QMATH_CONSUMERS_WORK=$work is not empty and was not made by run_all.sh"
    echo "0 passed, 1 failed"
    exit 1
  fi
  rm -rf "$work"
  mkdir -p "$work"
else
  work="$(mktemp -d /tmp/qmath-consumers.XXXXXX)"
  keep_work=0
fi
work="$(cd "$work" && pwd)"
touch "$work/.qmath-consumers"
cxx="${CXX:-c++}"
skip=" ${QMATH_CONSUMERS_SKIP:-} "
logs="$work/logs"
mkdir -p "$logs"

passed=0
failed=0
failed_names=()
skipped_names=()

# step NAME: runs the function step_NAME in a subshell with -e, its output in
# logs/NAME.log; prints PASS or FAIL with the log's tail.
step() {
  local name="$1" start=$SECONDS status
  if [[ "$skip" == *" $name "* ]]; then
    echo "SKIP $name (QMATH_CONSUMERS_SKIP)"
    skipped_names+=("$name")
    return
  fi
  (set -e; cd "$work"; "step_$name") >"$logs/$name.log" 2>&1
  status=$?
  if [ $status -eq 0 ]; then
    echo "PASS $name ($((SECONDS - start)) s)"
    passed=$((passed + 1))
  else
    echo "FAIL $name ($((SECONDS - start)) s), last lines of $logs/$name.log:"
    tail -n 25 "$logs/$name.log" | sed 's/^/    /'
    failed=$((failed + 1))
    failed_names+=("$name")
  fi
}

# need TOOL...: fails the step when a tool is missing.
need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing tool: $tool"; return 1; }
  done
}

# expect_failure REGEX COMMAND...: COMMAND must fail and print REGEX. The
# output is matched with its line breaks and runs of spaces folded to one
# space (CMake wraps its messages), and kept in $failure_output.
failure_output=""
expect_failure() {
  local regex="$1"
  shift
  if failure_output="$("$@" 2>&1)"; then
    echo "$failure_output"
    echo "expected a failure, but it succeeded: $*"
    return 1
  fi
  failure_output="$(tr -s ' \n' '  ' <<<"$failure_output")"
  if ! grep -Eq -- "$regex" <<<"$failure_output"; then
    echo "$failure_output"
    echo "failed, but without the expected message /$regex/: $*"
    return 1
  fi
  echo "failed as expected with /$regex/"
}

# The version every consumer must see.
qmath_version() {
  sed -nE 's/^#define QMATH_VERSION_(MAJOR|MINOR|PATCH) ([0-9]+).*/\2/p' "$root/include/qmath/version.hpp" | paste -sd.
}
version="$(qmath_version)"

cmake_configure() { cmake "$@" -G Ninja -DCMAKE_BUILD_TYPE=Release; }

# The source as a user gets it: this tree without build directories or git.
src="$work/src"
mkdir -p "$src"
tar -C "$root" --exclude='./build*' --exclude='./.git' --exclude='__pycache__' --exclude='.pytest_cache' \
  -cf - . | tar -C "$src" -xf -
tar -C "$work" -czf "$work/qmath-src.tar.gz" src
consumers="$src/tests/consumers"
prefix="$work/prefix"

step_manifests() {
  local python="${QMATH_PYTHON:-python3}"
  "$python" - "$src" "$version" <<'EOF'
import json, sys
root, version = sys.argv[1], sys.argv[2]
port = json.load(open(f"{root}/ports/qmath/vcpkg.json"))
manifest = json.load(open(f"{root}/vcpkg.json"))
assert port["name"] == "qmath", port
assert port["version"] == version, f"ports/qmath/vcpkg.json has {port['version']}, version.hpp has {version}"
names = [d if isinstance(d, str) else d["name"] for d in port["dependencies"]]
assert {"xsimd", "vcpkg-cmake", "vcpkg-cmake-config"} <= set(names), names
assert "xsimd" in manifest["dependencies"], manifest
features = {name: [d if isinstance(d, str) else d["name"] for d in f["dependencies"]]
            for name, f in manifest["features"].items()}
assert features == {"tests": ["catch2"], "bench": ["benchmark"], "json": ["nlohmann-json"]}, features
print("manifests agree with version", version)
EOF
}

step_cmake_install() {
  need cmake ninja
  cmake_configure -S "$src" -B qmath-build -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DQMATH_BUILD_TESTS=OFF -DQMATH_BUILD_BENCH=OFF -DQMATH_BUILD_EXAMPLES=OFF
  cmake --install qmath-build
  local request
  for request in "$version" 0.1 ""; do
    local dir="cmake-install-consumer${request:+-$request}"
    cmake_configure -S "$consumers/cmake_install" -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" \
      -DQMATH_REQUEST_VERSION="$request"
    cmake --build "$dir"
    "$dir/consumer"
  done
  # The consumer took the installed headers, not the source tree.
  grep -q -- "-isystem $prefix/include" cmake-install-consumer-0.1/build.ninja
}

step_cmake_version_mismatch() {
  need cmake ninja
  [ -f "$prefix/share/cmake/qmath/qmathConfigVersion.cmake" ] || { echo "run cmake_install first"; return 1; }
  local request
  for request in 1.0 0.2; do
    expect_failure "compatible with requested version \"$request\"" \
      cmake_configure -S "$consumers/cmake_install" -B "cmake-version-$request" -DCMAKE_PREFIX_PATH="$prefix" \
      -DQMATH_REQUEST_VERSION="$request"
    # CMake names the installed config it rejected and its version.
    grep -Eq "qmathConfig.cmake, version: $version" <<<"$failure_output"
  done
}

# Consumers on CMake < 3.23 ignore the exported FILE_SET: the installed target
# must carry its include directory as a plain usage requirement as well.
step_cmake_old_consumer() {
  need ninja
  [ -f "$prefix/share/cmake/qmath/qmathConfig.cmake" ] || { echo "run cmake_install first"; return 1; }
  "$QMATH_OLD_CMAKE" --version
  "$QMATH_OLD_CMAKE" -S "$consumers/cmake_install" -B cmake-old-consumer -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$prefix" -DQMATH_REQUEST_VERSION=0.1
  "$QMATH_OLD_CMAKE" --build cmake-old-consumer
  cmake-old-consumer/consumer
}

# Also with qmath's QMATH_DISABLE_SIMD option (it reaches the consumer through
# the target) and for AVX2: the consumer reports the kernels it compiled.
step_cmake_subdirectory() {
  need cmake ninja
  cmake_configure -S "$consumers/cmake_subdirectory" -B cmake-subdirectory -DQMATH_SOURCE_DIR="$src"
  cmake --build cmake-subdirectory
  cmake-subdirectory/consumer
  cmake_configure -S "$consumers/cmake_subdirectory" -B cmake-subdirectory-scalar -DQMATH_SOURCE_DIR="$src" \
    -DQMATH_DISABLE_SIMD=ON -DCMAKE_CXX_FLAGS=-march=native
  cmake --build cmake-subdirectory-scalar
  cmake-subdirectory-scalar/consumer | tee consumer-scalar.log
  grep -q "kernels for scalar" consumer-scalar.log
  if grep -q avx2 /proc/cpuinfo 2>/dev/null; then
    cmake_configure -S "$consumers/cmake_subdirectory" -B cmake-subdirectory-avx2 -DQMATH_SOURCE_DIR="$src" \
      -DCMAKE_CXX_FLAGS=-march=x86-64-v3
    cmake --build cmake-subdirectory-avx2
    cmake-subdirectory-avx2/consumer | tee consumer-avx2.log
    grep -q "kernels for .*avx2" consumer-avx2.log
  fi
}

step_cmake_needs_xsimd() {
  need cmake ninja
  expect_failure "xsimd" cmake_configure -S "$consumers/cmake_subdirectory" -B cmake-no-xsimd \
    -DQMATH_SOURCE_DIR="$src" -DCMAKE_DISABLE_FIND_PACKAGE_xsimd=ON
}

step_cmake_fetchcontent() {
  need cmake ninja
  cmake_configure -S "$consumers/cmake_fetchcontent" -B cmake-fetchcontent -DQMATH_URL="file://$work/qmath-src.tar.gz"
  cmake --build cmake-fetchcontent
  cmake-fetchcontent/consumer
  [ -f cmake-fetchcontent/_deps/qmath-src/include/qmath/version.hpp ]  # it used the archive
}

# pkgconfig_build DIR PREFIX: compiles and runs the consumer with pkg-config's flags.
pkgconfig_build() {
  local dir="$1" pc_prefix="$2" cflags modversion
  mkdir -p "$dir"
  cflags="$(PKG_CONFIG_PATH="$pc_prefix/share/pkgconfig" pkg-config --cflags qmath)"
  modversion="$(PKG_CONFIG_PATH="$pc_prefix/share/pkgconfig" pkg-config --modversion qmath)"
  echo "pkg-config --cflags qmath: $cflags"
  case "$cflags" in *"$src"*) echo "the flags point into the source tree"; return 1 ;; esac
  # shellcheck disable=SC2086
  "$cxx" -std=c++20 -Wall -Wextra -Werror $cflags -DQMATH_CONSUMER_EXPECTED_VERSION="\"$modversion\"" \
    "$consumers/common/consumer.cpp" -o "$dir/consumer"
  "$dir/consumer"
}

step_pkgconfig() {
  need pkg-config "$cxx"
  [ -f "$prefix/share/pkgconfig/qmath.pc" ] || { echo "run cmake_install first"; return 1; }
  pkgconfig_build pkgconfig "$prefix"
  cp -a "$prefix" moved-prefix
  pkgconfig_build pkgconfig-moved "$work/moved-prefix"
  case "$(PKG_CONFIG_PATH="$work/moved-prefix/share/pkgconfig" pkg-config --cflags qmath)" in
    *moved-prefix*) ;;
    *) echo "the moved qmath.pc still points at the old prefix"; return 1 ;;
  esac
}

meson_consumer_copy() {
  local dir="$1"
  mkdir -p "$dir"
  cp -r "$consumers/meson" "$dir/meson"
  cp -r "$consumers/common" "$dir/common"
}

step_meson_subproject() {
  need meson ninja
  meson_consumer_copy meson-subproject
  mkdir -p meson-subproject/meson/subprojects
  ln -s "$src" meson-subproject/meson/subprojects/qmath
  meson setup meson-subproject/build meson-subproject/meson --force-fallback-for=qmath | tee meson-subproject.log
  grep -q "Dependency qmath found: YES $version (overridden)" meson-subproject.log
  ninja -C meson-subproject/build
  meson-subproject/build/consumer
  # qmath's tests are off as a subproject: only the consumer was built.
  [ "$(find meson-subproject/build -name 'test_*' -type f -perm -u+x | wc -l)" -eq 0 ]
  # qmath's disable_simd option reaches the consumer through the dependency.
  meson setup meson-subproject/scalar meson-subproject/meson --force-fallback-for=qmath -Dqmath:disable_simd=true \
    -Dcpp_args=-march=native
  ninja -C meson-subproject/scalar
  meson-subproject/scalar/consumer | tee meson-scalar.log
  grep -q "kernels for scalar" meson-scalar.log
}

step_meson_pkgconfig() {
  need meson ninja pkg-config
  [ -f "$prefix/share/pkgconfig/qmath.pc" ] || { echo "run cmake_install first"; return 1; }
  meson_consumer_copy meson-pkgconfig
  PKG_CONFIG_PATH="$prefix/share/pkgconfig" meson setup meson-pkgconfig/build meson-pkgconfig/meson \
    --wrap-mode=nofallback | tee meson-pkgconfig.log
  grep -q "Run-time dependency qmath found: YES $version" meson-pkgconfig.log
  ninja -C meson-pkgconfig/build
  meson-pkgconfig/build/consumer
  expect_failure "Dependency 'qmath' is required but not found|found: NO" \
    env PKG_CONFIG_PATH="$prefix/share/pkgconfig" meson setup meson-pkgconfig/too-new meson-pkgconfig/meson \
    --wrap-mode=nofallback "-Dqmath_version=>=1.0"
}

step_meson_install() {
  need meson ninja pkg-config
  meson setup meson-qmath-build "$src" --prefix="$work/meson-prefix" \
    -Dtests=disabled -Dbench=disabled -Dexamples=disabled
  meson install -C meson-qmath-build
  # Both build systems install the same headers.
  [ -d "$prefix/include/qmath" ] || { echo "run cmake_install first"; return 1; }
  diff -r "$prefix/include/qmath" "$work/meson-prefix/include/qmath"
  pkgconfig_build meson-install-pkgconfig "$work/meson-prefix"
}

step_conan() {
  local conan=""
  if [ -n "${QMATH_PYTHON:-}" ] && [ -x "$(dirname "$QMATH_PYTHON")/conan" ]; then
    conan="$(dirname "$QMATH_PYTHON")/conan"
  elif command -v conan >/dev/null 2>&1; then
    conan="conan"
  else
    echo "missing tool: conan (pip install conan)"; return 1
  fi
  export CONAN_HOME="$work/conan-home"
  "$conan" --version
  "$conan" profile detect --force
  # Offline: xsimd from the system headers, nothing from a remote.
  "$conan" create "$consumers/conan/xsimd-system" --no-remote
  "$conan" create "$src" --no-remote --build=missing -s compiler.cppstd=20 2>&1 | tee conan-create.log
  grep -q "qmath $version, kernels for" conan-create.log
  grep -q "^OK$" conan-create.log
  expect_failure "qmath/$version.*(C\+\+|cppstd).*20" \
    "$conan" create "$src" --no-remote --build=missing -s compiler.cppstd=17
}

step_vcpkg_port() {
  need cmake ninja pkg-config
  cmake -DPACKAGES_DIR="$work/vcpkg-packages" -DBUILDTREES_DIR="$work/vcpkg-buildtrees" \
    -P "$consumers/vcpkg/run_portfile.cmake"
  cmake_configure -S "$consumers/cmake_install" -B vcpkg-consumer -DCMAKE_PREFIX_PATH="$work/vcpkg-packages" \
    -DQMATH_REQUEST_VERSION=0.1
  cmake --build vcpkg-consumer
  vcpkg-consumer/consumer
  grep -q "qmath_DIR:PATH=$work/vcpkg-packages/share/qmath" vcpkg-consumer/CMakeCache.txt
  pkgconfig_build vcpkg-pkgconfig "$work/vcpkg-packages"
}

# Opt-in (QMATH_MESON_TESTS=1): qmath's own test suite built by its meson.build
# and run by meson test. It compiles every test again, so CI leaves it off.
step_meson_tests() {
  need meson ninja
  meson setup meson-tests "$src" -Dbench=disabled -Dexamples=disabled
  ninja -C meson-tests -j "${QMATH_JOBS:-2}"
  meson test -C meson-tests --no-rebuild --num-processes "${QMATH_JOBS:-2}" --print-errorlogs
}

echo "qmath $version consumers, scratch directory $work"
step manifests
step cmake_install
step cmake_version_mismatch
if [ -n "${QMATH_OLD_CMAKE:-}" ]; then step cmake_old_consumer; fi
step cmake_subdirectory
step cmake_needs_xsimd
step cmake_fetchcontent
step pkgconfig
step meson_subproject
step meson_pkgconfig
step meson_install
step conan
step vcpkg_port
if [ "${QMATH_MESON_TESTS:-0}" = 1 ]; then step meson_tests; fi

[ "${#skipped_names[@]}" -eq 0 ] || echo "skipped: ${skipped_names[*]}"
[ "${#failed_names[@]}" -eq 0 ] || echo "failed: ${failed_names[*]}"
if [ "$failed" -eq 0 ] && [ "$keep_work" -eq 0 ]; then
  rm -rf "$work"
else
  echo "logs and builds kept in $work"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
