#!/usr/bin/env bash
# The test against the real llama.cpp: fetches it (tests/peers/fetch_llama_cpp.sh),
# builds tests/llama/llama_dry_run.cpp against its headers and libllama.so,
# writes the sparse GGUF files, measures a few settings per model and checks
#   1. every measured row equals the committed golden row (tests/data/llama_cpp/dry_run.csv):
#      the golden file is what this llama.cpp allocates;
#   2. qmath's estimate equals every measured row (test_llama_cpp_golden on the live CSV).
# Usage: live_llama_cpp.sh CXX PYTHON WORK_DIR GOLDEN_TEST_BINARY
# Exit 77 (CTest SKIP_RETURN_CODE) with a line saying why when the peer or
# Python's gguf package cannot be had.
set -uo pipefail
cxx="$1" python="$2" work="$3" golden_test="$4"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mkdir -p "$work"

peer="$(bash "$root/tests/peers/fetch_llama_cpp.sh" "${QMATH_LLAMA_CPP_DIR:-$root/build/peers/llama.cpp}")"
status=$?
if [ "$status" -eq 3 ]; then
  echo "SKIPPED: the real llama.cpp could not be fetched (see the line above)"
  exit 77
elif [ "$status" -ne 0 ]; then
  echo "live_llama_cpp: fetch_llama_cpp.sh failed ($status)"; exit 1
fi
if ! "$python" -c "import gguf" 2>/dev/null; then
  echo "SKIPPED: $python has no gguf package (pip install gguf) to write the model files"
  exit 77
fi
echo "llama.cpp $(cat "$peer/VERSION" 2>/dev/null) from $peer"

harness="$work/llama_dry_run"
if ! "$cxx" -std=c++17 -O1 -o "$harness" "$here/llama_dry_run.cpp" \
      -I"$peer/src/include" -I"$peer/src/src" -I"$peer/src/ggml/include" -I"$peer/src/ggml/src" \
      -L"$peer/lib" -lllama -lggml-base -lggml -Wl,-rpath,"$peer/lib" 2>"$work/harness.log"; then
  echo "live_llama_cpp: the harness does not build against this llama.cpp:"; tail -n 20 "$work/harness.log"; exit 1
fi

live="$work/live.csv"
rm -rf "$work/gguf"
if ! "$python" "$here/measure_llama_cpp.py" --quick --harness "$harness" --lib-dir "$peer/lib" \
      --out "$live" --work "$work/gguf"; then
  echo "live_llama_cpp: measuring failed"; exit 1
fi
rm -rf "$work/gguf"

# 1. the live rows are the golden rows
"$python" - "$live" "$root/tests/data/llama_cpp/dry_run.csv" <<'PY' || exit 1
import csv, sys
key = lambda r: tuple(r[c] for c in ("model", "recipe", "n_ctx", "n_batch", "n_ubatch", "n_seq_max",
                                     "kv_unified", "type_k", "type_v", "flash_attn", "swa_full"))
golden = {key(r): r for r in csv.DictReader(open(sys.argv[2]))}
bad = 0
rows = list(csv.DictReader(open(sys.argv[1])))
for r in rows:
    g = golden.get(key(r))
    if g is None:
        print("not in the golden file:", key(r)); bad += 1
    elif g != r:
        print("differs from the golden file:", key(r), {c: (g[c], r[c]) for c in r if g[c] != r[c]}); bad += 1
print(f"live rows equal to the golden rows: {len(rows) - bad} of {len(rows)}")
sys.exit(1 if bad or not rows else 0)
PY

# 2. qmath equals the live rows
QMATH_LLAMA_CPP_CSV="$live" "$golden_test"
