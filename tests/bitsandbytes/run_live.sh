#!/usr/bin/env bash
# run_live.sh PYTHON SCRIPT COMMITTED FRESH TEST_PROGRAM [DIR_VARIABLE]
# Runs the golden script into FRESH, checks the committed golden files are
# byte-identical to the fresh ones (the first line of cases.txt aside: it names
# the versions; and the script itself when it lives beside its files), then runs
# TEST_PROGRAM with DIR_VARIABLE (default QMATH_BNB_GOLDEN_DIR) set to FRESH.
# Exit 77 (SKIPPED) when PYTHON is missing or the script cannot import what it needs.
set -u
python=$1 script=$2 committed=$3 fresh=$4 program=$5 dir_variable=${6:-QMATH_BNB_GOLDEN_DIR}
if ! command -v "$python" > /dev/null 2>&1; then
  echo "SKIPPED: no Python at $python (configure with -DQMATH_TORCH_PYTHON=...)"
  exit 77
fi
rm -rf "$fresh"
"$python" "$script" --out "$fresh" 2> "$fresh.stderr"
status=$?
if [ $status -eq 77 ]; then exit 77; fi
if [ $status -ne 0 ]; then
  cat "$fresh.stderr" >&2
  echo "make_golden.py failed with exit code $status" >&2
  exit 1
fi
if ! diff -r -q -x cases.txt -x make_golden.py -x __pycache__ "$committed" "$fresh"; then
  echo "the committed golden files differ from what bitsandbytes writes now" >&2
  exit 1
fi
if ! diff <(tail -n +2 "$committed/cases.txt") <(tail -n +2 "$fresh/cases.txt"); then
  echo "cases.txt differs" >&2
  exit 1
fi
env "$dir_variable=$fresh" "$program"
