#!/usr/bin/env bash
# check_golden.sh TOOL CASES NAME: runs case NAME of CASES (table and --json)
# and diffs both with golden/NAME.txt and golden/NAME.json.
set -u
tool="$1"; cases="$2"; name="$3"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/../.."   # the cases name files relative to the repository
line=$(awk -F'\t' -v n="$name" '$1 == n { print $2; exit }' "$cases")
status=0
for kind in txt json; do
  extra=()
  [ "$kind" = json ] && extra=(--json)
  actual=$(eval "bash \"$here/run_case.sh\" \"$tool\" $line \"\${extra[@]}\"")
  if ! diff -u "$here/golden/$name.$kind" <(printf '%s\n' "$actual"); then
    echo "qmath-plan $line ${extra[*]}: output differs from tests/tools/golden/$name.$kind"
    echo "(if the change is intended: bash tests/tools/regen_golden.sh BUILD_DIR, and review the diff)"
    status=1
  fi
done
exit $status
