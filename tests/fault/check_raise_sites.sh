#!/usr/bin/env bash
# The catalogue and the code agree: every kind `failsoft faults --json`
# lists is raised somewhere (a literal fs_fault_raise(..., FS_FAULT_<KIND>,
# ...) in engine/, backends/ or cli/), and every kind raised there is in the
# catalogue. Prints each mismatch; exit 1 when there is one.
# usage: check_raise_sites.sh FAILSOFT_BINARY SOURCE_DIR
set -u
failsoft=$1
src=$(cd "$2" && pwd)

catalogue=$("$failsoft" faults --json) || { echo "FAIL: failsoft faults --json"; exit 1; }
# Without -c the JSON has no sources: every "name" is a kind's.
kinds=$(printf '%s\n' "$catalogue" | sed -n 's/^[[:space:]]*"name":[[:space:]]*"\([a-z_]*\)".*/\1/p' | sort -u)
if [ -z "$kinds" ]; then
  echo "FAIL: no kinds in failsoft faults --json"; exit 1
fi

# Raise sites may span lines: read each file whole and take the first
# FS_FAULT_ name inside each fs_fault_raise / fs_fault_vraise call (not
# crossing a brace: a definition is not a call). engine/fault itself is the
# receiver (FAULT_TEST raises whatever kind it is given), not a detector.
raised=$(find "$src/engine" "$src/backends" "$src/cli" -path "$src/engine/fault" -prune -o \
  -name '*.[ch]' -print0 |
  xargs -0 perl -0777 -ne 'while (/\bfs_fault_v?raise\s*\(([^;{}]*?)\bFS_FAULT_([A-Z_]+)\b/g) { print lc($2), "\n"; }' |
  sort -u)

status=0
for k in $kinds; do
  if ! printf '%s\n' "$raised" | grep -qx "$k"; then
    echo "MISMATCH: catalogue kind '$k' is raised nowhere in engine/, backends/ or cli/"
    status=1
  fi
done
for k in $raised; do
  if ! printf '%s\n' "$kinds" | grep -qx "$k"; then
    echo "MISMATCH: FS_FAULT_$(echo "$k" | tr a-z A-Z) is raised but not in the catalogue"
    status=1
  fi
done
[ $status -eq 0 ] && echo "every catalogue kind is raised and every raised kind is catalogued ($(printf '%s\n' $kinds | wc -l) kinds)"
exit $status
