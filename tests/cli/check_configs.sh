#!/usr/bin/env bash
# failsoft check: the shipped printers are valid, and each typical mistake
# is refused with its file:line and what is wrong.
# usage: check_configs.sh FAILSOFT_BINARY SOURCE_DIR
set -u
failsoft=$1
src=$(cd "$2" && pwd)
configs=$src/scenarios/configs
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
# Edited copies sit in the same layout as the originals: their relative
# [virtual_sdcard] path (../gcode) still names the shipped files.
tmp=$top/configs
mkdir "$tmp"
ln -s "$src/scenarios/gcode" "$top/gcode"
status=0

for cfg in "$configs"/*.cfg; do
  if ! out=$("$failsoft" check "$cfg" 2>&1); then
    echo "FAIL: $cfg should be valid: $out"; status=1
  fi
done

# expect_error NAME SED_EXPRESSION PATTERN: the mistake, and what the error must say.
expect_error() {
  local name=$1 edit=$2 pattern=$3
  sed "$edit" "$configs/demo_cartesian.cfg" > "$tmp/$name.cfg"
  out=$("$failsoft" check "$tmp/$name.cfg" 2>&1)
  rc=$?
  if [ $rc -ne 1 ]; then
    echo "FAIL: $name: exit $rc, expected 1 ($out)"; status=1
  elif ! grep -qE "$pattern" <<<"$out"; then
    echo "FAIL: $name: '$out' does not match '$pattern'"; status=1
  else
    echo "ok: $name: $out"
  fi
}

expect_error unknown_option 's/^nozzle_diameter:/nozle_diameter:/' \
  "unknown_option.cfg:[0-9]+: \[extruder\] (unknown option 'nozle_diameter'|missing required option 'nozzle_diameter')"
expect_error unknown_section 's/^\[heater_bed\]/[heater_bedd]/' \
  "unknown_section.cfg:[0-9]+: unknown section \[heater_bedd\]"
expect_error out_of_range 's/^max_accel: .*/max_accel: -5/' \
  "out_of_range.cfg:[0-9]+: \[printer\] max_accel: .*-5"
expect_error bad_pin_syntax 's/^step_pin: PB0$/step_pin: !!PB0/' \
  "bad_pin_syntax.cfg:[0-9]+: \[stepper_x\] step_pin"
expect_error missing_section '/^\[stepper_y\]/,/^$/d' \
  "stepper_y"
expect_error unknown_mcu 's/^heater_pin: toolboard:PA1/heater_pin: toolbord:PA1/' \
  "unknown_mcu.cfg:[0-9]+: \[extruder\] heater_pin: .*toolbord"
# Pin names belong to each MCU's dictionary, known once it is contacted:
# the simulated printer refuses an unknown one with its file:line.
sed 's/^step_pin: PB0$/step_pin: PZ99/' "$configs/demo_cartesian.cfg" > "$tmp/unknown_pin.cfg"
out=$("$failsoft" sim -c "$tmp/unknown_pin.cfg" "$src/scenarios/gcode/slic3r-cube20.gcode" 2>&1)
rc=$?
if [ $rc -ne 2 ] || ! grep -qE "unknown_pin.cfg:[0-9]+: \[stepper_x\].*unknown pin 'PZ99'" <<<"$out"; then
  echo "FAIL: unknown_pin: exit $rc: $out"; status=1
else
  echo "ok: unknown_pin: $out"
fi
exit $status
