#!/usr/bin/env bash
# run_live.sh PYTHON SCRIPT COMMITTED FRESH TEST_PROGRAM
# Runs make_golden.py into FRESH, checks the committed golden files are
# byte-identical to the fresh ones (cases.txt aside: its first line names the
# versions), then runs TEST_PROGRAM on the fresh files. Exit 77 (SKIPPED) when
# PYTHON is missing or cannot import torch, bitsandbytes and numpy.
set -u
python=$1 script=$2 committed=$3 fresh=$4 program=$5
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
if ! diff -r -q -x cases.txt "$committed" "$fresh"; then
  echo "the committed golden files differ from what bitsandbytes writes now" >&2
  exit 1
fi
if ! diff <(tail -n +2 "$committed/cases.txt") <(tail -n +2 "$fresh/cases.txt"); then
  echo "cases.txt differs" >&2
  exit 1
fi
QMATH_BNB_GOLDEN_DIR="$fresh" "$program"
