#!/usr/bin/env bash
# Builds every libFuzzer target (fuzz/fuzz_*.cpp) with clang and
# -fsanitize=fuzzer,address,undefined, writes the seed corpora, replays the
# kept reproducers (fuzz/regressions/<target>/) and runs each target for
# SECONDS (default 60).
#
#   bash fuzz/run.sh [SECONDS]
#
# Environment:
#   QMATH_FUZZ_CXX        the clang++ to use (default: clang++-19, then clang++)
#   QMATH_FUZZ_TARGETS    space-separated target names to run (default: all)
#   QMATH_FUZZ_BUILD_DIR  build directory (default: build/fuzz); the corpora
#                         grow in its corpus/<target>/ from run to run
#   QMATH_FUZZ_ARCH       -march flags (default: -march=native)
#   QMATH_FUZZ_NICE       nice level of the fuzzing processes (default: 0)
#   QMATH_FUZZ_ARGS       more libFuzzer flags (e.g. "-jobs=2 -workers=2")
#
# Exit status: 0 when every target ran without a crash, 1 on a crash or a
# build failure, 77 when clang or its libFuzzer runtime is missing (skipped).
# A crash leaves its input in <build>/artifacts/<target>/; docs/fuzzing.md
# says how to replay and minimise it and keep it as a regression test.
set -uo pipefail
seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${QMATH_FUZZ_BUILD_DIR:-$root/build/fuzz}"
arch="${QMATH_FUZZ_ARCH:--march=native}"
nice_level="${QMATH_FUZZ_NICE:-0}"

cxx="${QMATH_FUZZ_CXX:-}"
if [ -z "$cxx" ]; then
  for c in clang++-19 clang++; do
    if command -v "$c" >/dev/null 2>&1; then cxx="$c"; break; fi
  done
fi
if [ -z "$cxx" ]; then
  echo "fuzz: SKIPPED: no clang++ (install clang-19 and libclang-rt-19-dev; tests/deps.sh does)"
  exit 77
fi
mkdir -p "$build"
probe="$build/probe"
if ! printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' |
     "$cxx" -x c++ - -fsanitize=fuzzer,address,undefined -o "$probe" >"$build/probe.log" 2>&1; then
  echo "fuzz: SKIPPED: $cxx cannot link -fsanitize=fuzzer (libclang-rt-19-dev missing?): $(head -n 1 "$build/probe.log")"
  exit 77
fi

echo "fuzz: building with $cxx ($arch)"
if ! cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" \
       -DQMATH_BUILD_FUZZ=ON -DQMATH_BUILD_TESTS=OFF -DQMATH_BUILD_BENCH=OFF -DQMATH_BUILD_EXAMPLES=OFF \
       -DQMATH_INSTALL=OFF "-DQMATH_ARCH_FLAGS=$arch" >"$build/configure.log" 2>&1; then
  echo "fuzz: configure failed:"; tail -n 30 "$build/configure.log"; exit 1
fi
all_targets=$(cd "$root/fuzz" && ls fuzz_*.cpp | sed 's/\.cpp$//')
targets="${QMATH_FUZZ_TARGETS:-$all_targets}"
# shellcheck disable=SC2086
if ! cmake --build "$build" -j "${QMATH_FUZZ_BUILD_JOBS:-2}" --target $targets >"$build/build.log" 2>&1; then
  echo "fuzz: build failed:"; grep -E "error|Error" "$build/build.log" | head -n 30; exit 1
fi

# Seed corpora (written by a script, so they follow the input layouts).
python="${QMATH_PYTHON:-python3}"
if command -v "$python" >/dev/null 2>&1; then
  "$python" "$root/fuzz/write_seeds.py" "$build/corpus" || echo "fuzz: warning: the seed script failed"
else
  echo "fuzz: no python3: the corpora start empty"
fi

crashed=0
for t in $targets; do
  bin="$build/fuzz/$t"
  corpus="$build/corpus/$t"
  artifacts="$build/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  log="$build/$t.log"
  # the kept reproducers first: each must run cleanly
  regressions="$root/fuzz/regressions/$t"
  if [ -d "$regressions" ] && [ -n "$(ls -A "$regressions" 2>/dev/null)" ]; then
    if ! "$bin" "$regressions"/* >"$build/$t.regressions.log" 2>&1; then
      echo "fuzz: $t: a kept reproducer fails again:"; tail -n 30 "$build/$t.regressions.log"
      crashed=$((crashed + 1)); continue
    fi
  fi
  start=$SECONDS
  # shellcheck disable=SC2086
  nice -n "$nice_level" "$bin" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" ${QMATH_FUZZ_ARGS:-} "$corpus" >"$log" 2>&1
  status=$?
  runs=$(grep -E "stat::number_of_executed_units" "$log" | tail -n 1 | awk '{print $2}')
  cov=$(grep -oE "cov: [0-9]+" "$log" | tail -n 1 | awk '{print $2}')
  ft=$(grep -oE "ft: [0-9]+" "$log" | tail -n 1 | awk '{print $2}')
  units=$(ls "$corpus" | wc -l)
  if [ $status -ne 0 ]; then
    crashed=$((crashed + 1))
    echo "fuzz: $t: CRASH after ${runs:-?} runs ($((SECONDS - start)) s); input in $artifacts/:"
    grep -E "ERROR|error|runtime error|fuzz_[a-z]+: |SUMMARY|Test unit written" "$log" | head -n 12
  else
    echo "fuzz: $t: ${runs:-?} runs, coverage ${cov:-?} edges, ${ft:-?} features, corpus $units, 0 crashes ($((SECONDS - start)) s)"
  fi
done
n=$(echo "$targets" | wc -w)
echo "fuzz: $n targets, $crashed crashed"
[ "$crashed" -eq 0 ]
