#!/usr/bin/env bash
# The README's first command: installs what is missing (Debian/Ubuntu), builds
# the qmath_plan example and runs it. Without arguments it answers the
# question the defaults describe (will Llama-3-8B fit an RTX 3060 12 GB at an
# 8k context, and what does each format cost in size and error); any
# arguments are passed to qmath_plan (try --help).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=tests/deps.sh
. tests/deps.sh
qmath_install_build_deps
cmake -S "$root" -B "$root/build/quickstart" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DQMATH_BUILD_TESTS=OFF -DQMATH_BUILD_BENCH=OFF -DQMATH_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$root/build/quickstart" --target qmath_plan >/dev/null
exec "$root/build/quickstart/examples/qmath_plan" "$@"
