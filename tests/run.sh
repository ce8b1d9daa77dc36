#!/usr/bin/env bash
# qmath's whole test suite, as CI runs it: installs what is missing, then
# builds and tests these variants:
#   native      g++ -march=native: every test, header, static_assert, compile-fail
#               and Python cross-check; benches and examples must build
#   x86-64-v3   the AVX2 kernels (what a machine without AVX-512 runs)
#   scalar      QMATH_DISABLE_SIMD: the scalar references alone
#   sanitize    AddressSanitizer + UndefinedBehaviorSanitizer, sampled sweeps
#   clang       clang 19 with libstdc++, -march=native: every test and compile
#               check, benches (sampled sweeps); skipped without clang++-19
#   clang-libc++  clang 19 with libc++: the runtime tests
#   aarch64     g++-aarch64-linux-gnu (xsimd's neon64), every test and the Python
#               cross-checks run under qemu-aarch64, sampled sweeps
#   xsimd13     the kernel tests and every header against Debian's libxsimd-dev
#   xsimd14     13.2 and 14.3 (pinned copies unpacked into build/, next to the 8.1
#               the other variants use)
#   fuzz        every libFuzzer target for 45 s (fuzz/run.sh; clang-19)
#   consumers   CMake (install, add_subdirectory, FetchContent), meson,
#               pkg-config and Conan consumers of the installed headers
#
# QMATH_CI_VARIANTS="native clang" runs only those (in the order above); the
# default is every variant but aarch64, xsimd13 and xsimd14 (see below). QMATH_CI_FUZZ_SECONDS sets the fuzzing time per target.
# Ends with the time of each variant and one line "N passed, M failed, K skipped"
# (ctest tests and consumer checks; a variant that cannot run here, or a test
# that needs a missing tool, counts as skipped and says why).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=tests/deps.sh
. tests/deps.sh

all_variants="native x86-64-v3 scalar sanitize clang clang-libc++ aarch64 xsimd13 xsimd14 fuzz consumers"
# aarch64, xsimd13 and xsimd14 run when asked for (QMATH_CI_VARIANTS) until
# their whole suites have passed here once.
default_variants="native x86-64-v3 scalar sanitize clang clang-libc++ fuzz consumers"
variants="${QMATH_CI_VARIANTS:-$default_variants}"
variants="${variants//,/ }"
for v in $variants; do
  case " $all_variants " in *" $v "*) ;; *) echo "qmath: unknown variant '$v' (known: $all_variants)"; exit 2 ;; esac
done
wants() { case " $variants " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# shellcheck disable=SC2086
qmath_install_ci_deps $variants
python="$(qmath_python_env "$root/build/venv")"
jobs="$(nproc 2>/dev/null || echo 2)"
run_start=$SECONDS

passed=0
failed=0
skipped=0
failed_names=()
times=()

# run_ctest NAME BUILD_DIR [CTEST_ARGS...]: runs ctest there and adds its counts.
run_ctest() {
  local name="$1" dir="$2" log
  shift 2
  log="$dir/ctest.log"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 900 "$@") >"$log" 2>&1
  grep -E "tests passed|\(Failed|\(Skipped|\*\*\*" "$log" || true
  local line total bad skip
  line=$(grep -E "tests passed, [0-9]+ tests failed out of [0-9]+" "$log" | tail -n 1)
  if [ -z "$line" ]; then
    echo "qmath: $name: ctest did not run"
    tail -n 20 "$log"
    failed=$((failed + 1)); failed_names+=("$name:ctest"); return
  fi
  bad=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
  total=$(echo "$line" | sed -E 's/.* tests failed out of ([0-9]+).*/\1/')
  skip=$(grep -cE "^\s*[0-9]+ - .*\(Skipped\)" "$log" || true)
  passed=$((passed + total - bad - skip)); failed=$((failed + bad)); skipped=$((skipped + skip))
  if [ "$bad" -ne 0 ]; then
    failed_names+=("$name")
    echo "---- $name: output of the failed tests (full log: $log)"
    tail -n 120 "$log"
  fi
}

# skip_variant NAME REASON: a variant this machine cannot run, counted and said.
skip_variant() {
  echo "== $1: SKIPPED: $2"
  skipped=$((skipped + 1))
  times+=("$1 skipped")
}

# variant NAME [--targets "T..."] [--ctest "ARGS"] CMAKE_ARGS...: configure,
# build (everything, or only the targets) and test one build.
variant() {
  local name="$1"; shift
  local targets="" ctest_args=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --targets) targets="$2"; shift 2 ;;
      --ctest) ctest_args="$2"; shift 2 ;;
      *) break ;;
    esac
  done
  local dir="$root/build/ci-$name"
  echo "== $name"
  local start=$SECONDS
  local build_args=() configured=0
  if cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
       -DPython3_EXECUTABLE="$python" "$@" >"$dir.configure.log" 2>&1; then
    configured=1
    # the targets this configuration has (test_dispatch is not built without SIMD)
    if [ -n "$targets" ]; then
      local known t; known=" $(ninja -C "$dir" -t targets all 2>/dev/null | sed -E 's/: .*//' | tr '\n' ' ') "
      for t in $targets; do case "$known" in *" $t "*) build_args+=("$t") ;; esac; done
      build_args=(--target "${build_args[@]}")
    fi
  fi
  if [ "$configured" -eq 1 ] && cmake --build "$dir" -j "$jobs" "${build_args[@]}" >"$dir.build.log" 2>&1; then
    # shellcheck disable=SC2086
    run_ctest "$name" "$dir" $ctest_args
  else
    echo "qmath: $name: configure or build failed:"
    if [ -s "$dir.build.log" ]; then grep -E "error|Error" "$dir.build.log" | head -n 40; tail -n 5 "$dir.build.log"
    else tail -n 40 "$dir.configure.log"; fi
    failed=$((failed + 1)); failed_names+=("$name:build")
  fi
  echo "   ($name took $((SECONDS - start)) s)"
  times+=("$name $((SECONDS - start)) s")
}

# The test programs that include the kernels (and so xsimd): what the SIMD
# flags, QMATH_DISABLE_SIMD or an xsimd version can change. The estimators,
# readers and tools do not use them, so those variants skip them.
kernel_targets() {
  local names=""
  for f in "$root"/tests/runtime/*.cpp "$root"/tests/ggml/*.cpp "$root"/tests/dispatch/*.cpp; do
    if grep -qE '#include [<"]qmath/(quant\.hpp|qmath\.hpp|fp\.hpp|quality\.hpp|kernels/)' "$f"; then
      names="$names $(basename "$f" .cpp)"
    fi
  done
  echo "$names"
}

# variant_kernels NAME [--also "TARGETS"] CMAKE_ARGS...: builds the kernel
# tests (and TARGETS) alone and runs those tests (ctest adds the fixtures they
# need, such as ggml_fetch).
variant_kernels() {
  local name="$1"; shift
  local targets; targets="$(kernel_targets)"
  if [ "${1:-}" = --also ]; then targets="$targets $2"; shift 2; fi
  local regex; regex="^($(echo $targets | tr ' ' '|'))(\\.|\$)"
  variant "$name" --targets "$targets" --ctest "-R $regex" "$@"
}

# variant_xsimd NAME VERSION SUITE: the kernel tests against a pinned xsimd.
variant_xsimd() {
  local name="$1" version="$2" suite="$3" prefix
  if ! prefix=$(qmath_xsimd_prefix "$version" "$suite" "$root/build/xsimd-$version"); then
    skip_variant "$name" "libxsimd-dev $version (Debian $suite) cannot be fetched here"
    return
  fi
  variant_kernels "$name" --also qmath_header_tests \
    -DQMATH_ARCH_FLAGS=-march=native -Dxsimd_DIR="$prefix/share/cmake/xsimd" \
    -DQMATH_BUILD_BENCH=OFF -DQMATH_BUILD_EXAMPLES=OFF
  awk '/#define XSIMD_VERSION_(MAJOR|MINOR|PATCH) / { v = v (v == "" ? "" : ".") $3 } END { print "   (xsimd " v ")" }' \
    "$prefix/include/xsimd/config/xsimd_config.hpp"
}

mkdir -p "$root/build"
fast_ci="-DQMATH_TEST_COMPILE_CHECKS=OFF -DQMATH_BUILD_BENCH=OFF -DQMATH_BUILD_EXAMPLES=OFF"
# shellcheck disable=SC2086
{
wants native && variant native -DQMATH_ARCH_FLAGS=-march=native -DQMATH_BUILD_BENCH=ON -DQMATH_BUILD_EXAMPLES=ON
wants x86-64-v3 && variant_kernels x86-64-v3 -DQMATH_ARCH_FLAGS=-march=x86-64-v3 $fast_ci
wants scalar && variant_kernels scalar -DQMATH_DISABLE_SIMD=ON -DQMATH_ARCH_FLAGS=-march=native $fast_ci
wants sanitize && variant sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQMATH_ARCH_FLAGS=-march=native \
  "-DCMAKE_CXX_FLAGS=-O1 -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer" \
  -DQMATH_TEST_FAST_SWEEPS=ON $fast_ci
# clang: -march=native on a CPU newer than clang knows warns about its own
# feature set (avx10.1-256); the estimators' compile-time searches
# (static_plan.cpp) need more constexpr steps than clang's default 2^20.
clang_cxx="${QMATH_CLANG:-clang++-19}"
if wants clang || wants clang-libc++; then
  if command -v "$clang_cxx" >/dev/null 2>&1; then
    clang_args=(-DCMAKE_CXX_COMPILER="$clang_cxx" "-DQMATH_ARCH_FLAGS=-march=native -Wno-invalid-feature-combination"
                -DQMATH_TEST_FAST_SWEEPS=ON -DQMATH_BUILD_EXAMPLES=OFF)
    wants clang && variant clang "${clang_args[@]}" -DCMAKE_CXX_FLAGS=-fconstexpr-steps=33554432 -DQMATH_BUILD_BENCH=ON
    wants clang-libc++ && variant clang-libc++ "${clang_args[@]}" \
      "-DCMAKE_CXX_FLAGS=-stdlib=libc++ -fconstexpr-steps=33554432" -DQMATH_TEST_COMPILE_CHECKS=OFF -DQMATH_BUILD_BENCH=OFF
  else
    wants clang && skip_variant clang "$clang_cxx not found"
    wants clang-libc++ && skip_variant clang-libc++ "$clang_cxx not found"
  fi
fi
if wants aarch64; then
  if command -v aarch64-linux-gnu-g++ >/dev/null 2>&1 && command -v qemu-aarch64 >/dev/null 2>&1; then
    variant aarch64 -DCMAKE_TOOLCHAIN_FILE="$root/tests/cross/aarch64-linux-gnu.cmake" -DQMATH_TEST_FAST_SWEEPS=ON \
      -DQMATH_BUILD_BENCH=OFF -DQMATH_BUILD_EXAMPLES=OFF
  else
    skip_variant aarch64 "no aarch64-linux-gnu-g++ or qemu-aarch64"
  fi
fi
wants xsimd13 && variant_xsimd xsimd13 13.2.0-1 trixie
wants xsimd14 && variant_xsimd xsimd14 14.3.0-1 sid
}

if wants fuzz; then
  echo "== fuzz"
  start=$SECONDS
  QMATH_PYTHON="$python" bash fuzz/run.sh "${QMATH_CI_FUZZ_SECONDS:-45}" 2>&1 | tee "$root/build/ci-fuzz.log"
  status=${PIPESTATUS[0]}
  case $status in
    0) passed=$((passed + 1)) ;;
    77) skipped=$((skipped + 1)); echo "   (fuzz skipped: see the line above)" ;;
    *) failed=$((failed + 1)); failed_names+=("fuzz") ;;
  esac
  echo "   (fuzz took $((SECONDS - start)) s)"
  times+=("fuzz $((SECONDS - start)) s")
fi

if wants consumers && [ -f tests/consumers/run_all.sh ]; then
  echo "== consumers"
  start=$SECONDS
  out=$(QMATH_PYTHON="$python" bash tests/consumers/run_all.sh 2>&1); status=$?
  echo "$out" | tail -n 30
  line=$(echo "$out" | grep -E "^[0-9]+ passed, [0-9]+ failed" | tail -n 1)
  f=0
  if [ -n "$line" ]; then
    p=$(echo "$line" | sed -E 's/^([0-9]+) passed.*/\1/'); f=$(echo "$line" | sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/')
    s=$(echo "$line" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + ${s:-0}))
  fi
  if [ $status -ne 0 ] && { [ -z "$line" ] || [ "$f" -eq 0 ]; }; then failed=$((failed + 1)); fi
  [ $status -eq 0 ] || failed_names+=("consumers")
  echo "   (consumers took $((SECONDS - start)) s)"
  times+=("consumers $((SECONDS - start)) s")
fi

echo "== times"
for t in "${times[@]}"; do echo "   $t"; done
echo "   total $((SECONDS - run_start)) s"
[ "${#failed_names[@]}" -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "${#failed_names[@]}" -eq 0 ]
