#!/usr/bin/env bash
# check_gguf.sh TOOL: qmath-plan on data/tiny.gguf (written by the gguf
# package's GGUFWriter, data/make_tiny_gguf.py) reports the tensor bytes and
# parameter count gguf's own GGUFReader read back (data/tiny.gguf.expected).
set -u
tool="$1"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
json=$("$tool" --model "$here/data/tiny.gguf" --device cpu_4gb --json) || { echo "qmath-plan failed"; exit 1; }
want_bytes=$(awk '$1 == "tensor_bytes" { print $2 }' "$here/data/tiny.gguf.expected")
want_params=$(awk '$1 == "parameters" { print $2 }' "$here/data/tiny.gguf.expected")
got_bytes=$(printf '%s\n' "$json" | sed -n 's/^ *"file_weight_bytes": \([0-9]*\),*$/\1/p' | head -1)
got_params=$(printf '%s\n' "$json" | sed -n 's/^ *"params": \([0-9]*\),*$/\1/p' | head -1)
got_priced=$(printf '%s\n' "$json" | sed -n 's/^ *"weights": \([0-9]*\),*$/\1/p' | head -1)
status=0
[ "$got_bytes" = "$want_bytes" ] || { echo "tensor bytes: qmath-plan $got_bytes, gguf $want_bytes"; status=1; }
[ "$got_params" = "$want_params" ] || { echo "parameters: qmath-plan $got_params, gguf $want_params"; status=1; }
# the Q8_0 file-type estimate prices the same bytes the file holds
[ "$got_priced" = "$want_bytes" ] || { echo "priced weights: $got_priced, file $want_bytes"; status=1; }
[ $status -eq 0 ] && echo "ok: $got_bytes bytes, $got_params parameters, as gguf reads them"
exit $status
