#!/usr/bin/env bash
# The README's first command: installs what is missing (Debian/Ubuntu),
# builds qmath-plan and runs it. Without arguments it answers the question
# its defaults describe: will Llama-3-8B (GGUF Q4_K_M, llama.cpp, 8k context)
# fit a 12 GB RTX 3060, with how much room, how long a context and how large
# a batch, and how fast. Any arguments are passed to qmath-plan (try --help).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=tests/deps.sh
. tests/deps.sh
qmath_install_build_deps
qmath_install_packages nlohmann-json3-dev   # qmath-plan reads and writes JSON
build="$root/build/quickstart"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DQMATH_BUILD_TESTS=OFF -DQMATH_BUILD_BENCH=OFF -DQMATH_BUILD_EXAMPLES=OFF -DQMATH_BUILD_TOOLS=ON >/dev/null
if [ ! -x "$build/tools/qmath-plan" ]; then echo "building qmath-plan (about a minute)..." >&2; fi
cmake --build "$build" --target qmath-plan >/dev/null
if [ ! -x "$build/tools/qmath-plan" ]; then
  echo "quickstart: qmath-plan was not built (it needs nlohmann_json: apt-get install nlohmann-json3-dev)" >&2
  exit 2
fi
exec "$build/tools/qmath-plan" "$@"
