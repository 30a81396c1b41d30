#!/usr/bin/env bash
# The layer rules of DESIGN.md as a test: arrows only point down the table.
# Each rule is a set of folders and the includes they must never contain.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
status=0

forbid() { # forbid DIR PATTERN WHY
  local dir=$1 pattern=$2 why=$3
  local hits
  hits=$(grep -rnE "^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]($pattern)" \
         "$root/$dir" --include='*.c' --include='*.h' 2>/dev/null)
  if [ -n "$hits" ]; then
    echo "layer rule broken: $dir must not include $pattern ($why):"
    echo "$hits" | sed "s|$root/||"
    status=1
  fi
}

# The engine knows neither world nor any hardware or display library.
forbid engine 'sim_|fw_|plant_|hw_|SDL|libserialport|.*backends/|.*firmware/|.*viz/' \
  "the engine speaks only to transport and clock interfaces"
# The firmware core is freestanding: no allocation, no libc I/O, no host code.
forbid firmware/src 'stdio\.h|stdlib\.h|malloc\.h|unistd\.h|pthread\.h|time\.h|core/|mcu/|sim_|plant_|SDL' \
  "it runs on an MCU with no allocator or OS"
# Firmware ports may use the core and the platform, never the engine.
forbid firmware/ports 'core/|mcu/|SDL|libserialport' \
  "a port is firmware; the engine is the host"
# The hardware backend never reaches into firmware internals or the simulator.
forbid backends/hw 'sim_|fw_|plant_|SDL|sched\.h|command\.h|basecmd\.h' \
  "real hardware is reached only through the protocol"
# The simulator may not draw.
forbid backends/sim 'SDL|.*viz/' "pictures belong to viz/"
# Visualisation sees snapshots, not engine internals.
forbid viz 'mcu/|core/reactor|.*firmware/|sim_world_impl' "viz draws snapshots only"

[ $status -eq 0 ] && echo "layer rules hold"
exit $status
