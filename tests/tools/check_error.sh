#!/usr/bin/env bash
# check_error.sh TOOL ERRORS NAME: case NAME of ERRORS must exit 2 with
# nothing on stdout and exactly one line on stderr that contains the
# expected text.
set -u
tool="$1"; cases="$2"; name="$3"
cd "$(dirname "${BASH_SOURCE[0]}")/../.."   # the cases name files relative to the repository
expect=$(awk -F'\t' -v n="$name" '$1 == n { print $2; exit }' "$cases")
line=$(awk -F'\t' -v n="$name" '$1 == n { print $3; exit }' "$cases")
err_file="${TMPDIR:-/tmp}/qmath-plan-err.$$"
out=$(eval "\"$tool\" $line" 2>"$err_file"); rc=$?
err=$(cat "$err_file"); rm -f "$err_file"
status=0
[ "$rc" -eq 2 ] || { echo "exit code $rc, expected 2"; status=1; }
[ -z "$out" ] || { echo "stdout not empty:"; echo "$out" | head -5; status=1; }
[ "$(printf '%s\n' "$err" | wc -l)" -eq 1 ] || { echo "stderr is not one line:"; echo "$err"; status=1; }
case "$err" in
  *"$expect"*) ;;
  *) echo "stderr does not contain '$expect':"; echo "$err"; status=1 ;;
esac
[ $status -eq 0 ] && echo "ok: $err"
exit $status
