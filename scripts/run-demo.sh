#!/usr/bin/env bash
# The quick start's first command: sets up the machine (scripts/setup.sh),
# builds (scripts/build.sh build) and runs the main job, the demo on the
# simulated printer, which prints a timeline and its outcome and draws the
# run to out/demo.png. Exits with the demo's status: 0 when the outcome is
# right. Extra arguments go to the demo (e.g. --seed 7).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" build

cd "$root"
rm -f out/demo.png # so that a picture left by an earlier run is never reported
status=0
build/cli/failsoft demo --png out/demo.png "$@" || status=$?
if [ -f out/demo.png ]; then
  echo "run-demo: the picture is $root/out/demo.png"
fi
exit $status
