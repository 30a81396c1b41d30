#!/usr/bin/env bash
# `failsoft faults` and `failsoft check` as a user runs them: the catalogue
# as text and JSON, the effective policy of a shipped printer's parts, and a
# configuration below a safety floor refused with the object, the kind, the
# floor and why.
# usage: check_faults_cli.sh FAILSOFT_BINARY SOURCE_DIR
set -u
failsoft=$1
src=$(cd "$2" && pwd)
configs=$src/scenarios/configs
top=$(mktemp -d)
trap 'rm -rf "$top"' EXIT
# Edited copies keep the shipped layout: relative paths in them still work.
mkdir "$top/configs"
ln -s "$src/scenarios/gcode" "$top/gcode"
status=0
fail() { echo "FAIL: $*"; status=1; }

out=$("$failsoft" faults) || fail "failsoft faults exited $?"
for want in "sensor_open" "uncommanded_heating on any part: shutdown (the heater output is not under control)" \
            "driver_error on driver when the driver's stepper moves X, Y or Z: halt (its position may be lost)"; do
  printf '%s\n' "$out" | grep -qF "$want" || fail "failsoft faults lacks '$want'"
done
json=$("$failsoft" faults --json) || fail "failsoft faults --json exited $?"
kinds=$(printf '%s\n' "$json" | grep -c '^[[:space:]]*"name":')
[ "$kinds" -ge 23 ] || fail "failsoft faults --json lists $kinds kinds"

out=$("$failsoft" faults -c "$configs/demo_cartesian.cfg") || fail "faults -c exited $?"
printf '%s\n' "$out" | grep -q "^Effective policy (profile failsoft):" || fail "no effective policy"
"$failsoft" faults --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "a bad option must exit 2"

# expect_refused NAME SED_EXPRESSION PATTERN
expect_refused() {
  sed "$2" "$configs/demo_cartesian.cfg" > "$top/configs/$1.cfg"
  out=$("$failsoft" check "$top/configs/$1.cfg" 2>&1)
  rc=$?
  [ $rc -eq 1 ] || fail "$1: check exited $rc: $out"
  printf '%s\n' "$out" | grep -qF "$3" || fail "$1: '$out' lacks '$3'"
  "$failsoft" faults -c "$top/configs/$1.cfg" >/dev/null 2>&1 && fail "$1: faults -c accepted it"
}
expect_refused sensor_open_warn 's/^\[extruder\]/[extruder]\non_sensor_open: warn/' \
  "[extruder] on_sensor_open: warn is below the safety floor for sensor_open on a heater: disable (a heater without a trustworthy reading can start a fire)"
expect_refused uncommanded_pause 's/^\[heater_bed\]/[heater_bed]\non_uncommanded_heating: pause/' \
  "[heater_bed] on_uncommanded_heating: pause is below the safety floor for uncommanded_heating on a heater: shutdown (the heater output is not under control)"
expect_refused runout_on_heater 's/^\[heater_bed\]/[heater_bed]\non_runout: pause/' \
  "[heater_bed] on_runout: a heater cannot raise runout"
exit $status
