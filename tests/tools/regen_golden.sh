#!/usr/bin/env bash
# regen_golden.sh [BUILD_DIR]: rewrites tests/tools/golden/ from the
# qmath-plan in BUILD_DIR (default build/tools), one .txt (table) and one
# .json per case of cases.tsv. Review `git diff tests/tools/golden` after it:
# every changed number should have a reason.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
build="${1:-$root/build/tools}"
tool="$build/tools/qmath-plan"
if [ ! -x "$tool" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DQMATH_BUILD_BENCH=OFF \
    -DQMATH_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$build" -j2 --target qmath-plan >/dev/null
fi
rm -f "$here"/golden/*.txt "$here"/golden/*.json
cd "$root"
# the environment tests/tools/CMakeLists.txt gives the golden tests: a stand-in
# nvidia-smi and a 16 GiB meminfo for `--device local`
export QMATH_PLAN_MEMINFO="$here/data/meminfo_16g" PATH="$here/data/bin:/usr/bin:/bin"
n=0
while IFS=$'\t' read -r name args; do
  case "$name" in ''|'#'*) continue ;; esac
  eval "bash \"$here/run_case.sh\" \"$tool\" $args" >"$here/golden/$name.txt"
  eval "bash \"$here/run_case.sh\" \"$tool\" $args --json" >"$here/golden/$name.json"
  n=$((n + 1))
done <"$here/cases.tsv"
echo "wrote $n cases to tests/tools/golden"
# the README's examples show these outputs
python3 "$here/readme_examples.py" "$root/README.md" --write
