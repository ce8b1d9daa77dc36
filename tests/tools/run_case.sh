#!/usr/bin/env bash
# run_case.sh TOOL ARGS...: runs qmath-plan the way the goldens record it:
# stdout, then stderr and the exit code, in one text.
tool="$1"; shift
out=$("$tool" "$@" 2>"${TMPDIR:-/tmp}/qmath-plan-stderr.$$"); rc=$?
printf '%s\n' "$out"
if [ -s "${TMPDIR:-/tmp}/qmath-plan-stderr.$$" ]; then
  printf -- '--- stderr\n'
  cat "${TMPDIR:-/tmp}/qmath-plan-stderr.$$"
fi
rm -f "${TMPDIR:-/tmp}/qmath-plan-stderr.$$"
printf -- '--- exit %d\n' "$rc"
