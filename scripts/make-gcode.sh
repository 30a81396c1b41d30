#!/usr/bin/env bash
# Regenerates the print files in scenarios/gcode from the models in
# scenarios/models with the slicers of Debian 12 (bookworm), using the
# settings in scenarios/gcode/profiles (a printer profile matching
# scenarios/configs/demo_cartesian.cfg), then checks that every file's moves
# stay inside the printer (X 0..220, Y 0..220, Z 0..250) and prints each
# file's bounds, line count and size.
#
#   apt-get install prusa-slicer slic3r cura-engine
#   scripts/make-gcode.sh            # slice and check
#   scripts/make-gcode.sh --check    # only check the committed files
#
# CuraEngine needs Cura's machine definitions (fdmprinter.def.json), which
# Debian ships in the `cura` package, not in `cura-engine`. They are taken
# from $CURA_DEFINITIONS, else /usr/share/cura/resources/definitions, else
# the `cura` package is fetched with `apt-get download` and unpacked into a
# temporary folder (nothing is installed). The models are regenerated with
# scripts/make-models.py (python3), which is not needed for slicing.
#
# The slicers write the date into each file's first lines; apart from that,
# the same slicer versions give the same files.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
models=$root/scenarios/models
out=$root/scenarios/gcode
profiles=$out/profiles

# --- the bounds check -------------------------------------------------------
# Follows G90/G91, G92 and G28 (homing ends at 0 on every axis homed) and
# reports the extremes of X, Y and Z reached by G0/G1 moves, then those of
# the moves that extrude (E grows while X or Y changes; M82/M83 followed).
check_file() {
  awk -v name="$(basename "$1")" '
    BEGIN {
      rel = 0; erel = 0; x = y = z = e = 0
      minx = miny = minz = 1e9; maxx = maxy = maxz = -1e9
      pminx = pminy = pminz = 1e9; pmaxx = pmaxy = pmaxz = -1e9
    }
    {
      line = $0; sub(/;.*/, "", line); n = split(toupper(line), w, /[ \t]+/)
      c = ""; for (i = 1; i <= n; i++) if (w[i] != "") { c = w[i]; break }
      if (c == "G90") rel = 0
      else if (c == "G91") rel = 1
      else if (c == "M82") erel = 0
      else if (c == "M83") erel = 1
      else if (c == "G28") {
        all = 1
        for (i = 1; i <= n; i++) {
          if (w[i] ~ /^X/) { x = 0; all = 0 } if (w[i] ~ /^Y/) { y = 0; all = 0 }
          if (w[i] ~ /^Z/) { z = 0; all = 0 }
        }
        if (all) x = y = z = 0
      } else if (c == "G92") {
        for (i = 1; i <= n; i++) {
          v = substr(w[i], 2) + 0
          if (w[i] ~ /^X/) x = v; if (w[i] ~ /^Y/) y = v; if (w[i] ~ /^Z/) z = v
        }
      } else if (c == "G0" || c == "G1" || c == "G00" || c == "G01") {
        ox = x; oy = y; oe = e
        for (i = 1; i <= n; i++) {
          v = substr(w[i], 2) + 0
          if (w[i] ~ /^X/) x = rel ? x + v : v
          if (w[i] ~ /^Y/) y = rel ? y + v : v
          if (w[i] ~ /^Z/) z = rel ? z + v : v
          if (w[i] ~ /^E/) e = (rel || erel) ? e + v : v
        }
        if (e > oe && (x != ox || y != oy)) {
          if (ox < pminx) pminx = ox; if (ox > pmaxx) pmaxx = ox
          if (oy < pminy) pminy = oy; if (oy > pmaxy) pmaxy = oy
          if (x < pminx) pminx = x; if (x > pmaxx) pmaxx = x
          if (y < pminy) pminy = y; if (y > pmaxy) pmaxy = y
          if (z < pminz) pminz = z; if (z > pmaxz) pmaxz = z
        }
        if (x < minx) minx = x; if (x > maxx) maxx = x
        if (y < miny) miny = y; if (y > maxy) maxy = y
        if (z < minz) minz = z; if (z > maxz) maxz = z
      }
    }
    END {
      ok = minx >= 0 && maxx <= 220 && miny >= 0 && maxy <= 220 && minz >= 0 && maxz <= 250
      printf "%-28s X %7.3f..%7.3f  Y %7.3f..%7.3f  Z %6.3f..%7.3f  %s\n", name,
             minx, maxx, miny, maxy, minz, maxz, ok ? "inside" : "OUTSIDE THE PRINTER"
      printf "%-28s X %7.3f..%7.3f  Y %7.3f..%7.3f  Z %6.3f..%7.3f  (extruding moves)\n", "",
             pminx, pmaxx, pminy, pmaxy, pminz, pmaxz
      exit ok ? 0 : 1
    }' "$1"
}

check_all() {
  local status=0 f
  for f in "$out"/*.gcode; do
    check_file "$f" || status=1
    printf '%-28s %6d lines  %7d bytes\n' "" "$(wc -l <"$f")" "$(stat -c %s "$f")"
  done
  return $status
}

if [ "${1:-}" = "--check" ]; then
  check_all
  exit $?
fi

for tool in prusa-slicer slic3r CuraEngine; do
  command -v "$tool" >/dev/null || {
    echo "make-gcode: $tool not found (apt-get install prusa-slicer slic3r cura-engine)" >&2
    exit 1
  }
done

# --- PrusaSlicer --------------------------------------------------------------
for m in cube20 cylinder20 step; do
  prusa-slicer --export-gcode --load "$profiles/prusaslicer.ini" \
    --output "$out/prusaslicer-$m.gcode" "$models/$m.stl" >/dev/null 2>&1 ||
    { echo "make-gcode: prusa-slicer failed on $m.stl" >&2; exit 1; }
done

# --- Slic3r ---------------------------------------------------------------------
for m in cube20; do
  slic3r --load "$profiles/slic3r.ini" --output "$out/slic3r-$m.gcode" "$models/$m.stl" \
    >/dev/null 2>&1 || { echo "make-gcode: slic3r failed on $m.stl" >&2; exit 1; }
done

# --- CuraEngine -------------------------------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
defs=${CURA_DEFINITIONS:-/usr/share/cura/resources/definitions}
if [ ! -f "$defs/fdmprinter.def.json" ]; then
  echo "make-gcode: fetching Cura's machine definitions (apt-get download cura)"
  chmod a+rwx "$tmp" # so that apt's download user may write there
  (cd "$tmp" && apt-get download cura >/dev/null)
  dpkg-deb -x "$tmp"/cura_*.deb "$tmp/cura"
  defs=$tmp/cura/usr/share/cura/resources/definitions
fi
export CURA_ENGINE_SEARCH_PATH=$defs
global=() extruder=()
while IFS= read -r line; do
  case $line in '' | '#'*) continue ;; esac
  line=${line//\\n/$'\n'}
  if [[ $line == 'e0 '* ]]; then extruder+=(-s "${line#e0 }"); else global+=(-s "$line"); fi
done <"$profiles/curaengine.settings"
for m in cube20 cylinder20; do
  CuraEngine slice -j "$defs/fdmprinter.def.json" "${global[@]}" -e0 "${extruder[@]}" \
    -l "$models/$m.stl" -o "$out/curaengine-$m.gcode" >"$tmp/cura.log" 2>&1 ||
    { cat "$tmp/cura.log" >&2; echo "make-gcode: CuraEngine failed on $m.stl" >&2; exit 1; }
done

check_all
