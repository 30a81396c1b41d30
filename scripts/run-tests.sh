#!/usr/bin/env bash
# Sets up the machine, then builds and runs the whole test suite twice: the
# normal build and the sanitizer build (ASan + UBSan).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"

"$root/scripts/build.sh" build
(cd "$root/build" && ctest --output-on-failure -j "$(nproc)")

"$root/scripts/build.sh" build-asan -DFS_SANITIZE=ON
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j "$(nproc)")

# The legacy analog-input format and a firmware without the heater guard
# (both like the reference firmware) are build options: build and run only
# the tests that exercise them.
cmake -S "$root" -B "$root/build-legacy-adc" -DFW_ADC_LEGACY=ON -DFW_HEATER_GUARD=OFF >/dev/null
cmake --build "$root/build-legacy-adc" -j "$(nproc)" --target test_fw_adccmd test_fw_heater_guard \
  test_thermal_faults
(cd "$root/build-legacy-adc" &&
   ctest --output-on-failure -R '^test_(fw_adccmd|fw_heater_guard|thermal_faults)$')
