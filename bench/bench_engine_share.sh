#!/bin/sh
# Benchmark: the engine alone, without the firmware and the world's wire and
# plant cost. It prints one shipped file with bench_print twice: once as is,
# for the time (process CPU time of the print, steadier than wall time on a
# shared machine), and once under callgrind, which counts exactly the
# instructions executed in each source file (inlined code counts where it
# was written). The engine's share is the instructions in engine/ over all
# instructions of the run (the print is 99.8 % of them; configure and
# connect the rest). The engine's G-code lines per second are the file's
# lines over (CPU time x that share). Instructions stand in for time here
# (a division or a cache miss costs more than an add); `perf record` on the
# same print is the cross-check. libc/libm/zlib/cJSON count as "other",
# whoever called them.
# usage: bench_engine_share.sh BUILD_DIR [FILE_INDEX 1-6, default 4]
set -eu
build=${1:?usage: bench_engine_share.sh BUILD_DIR [FILE_INDEX]}
index=${2:-4}
bench="$build/bench/bench_print"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

"$bench" --file "$index" >"$out/plain.txt"
grep -q '^result: ok' "$out/plain.txt" || { cat "$out/plain.txt"; echo "result: FAILED"; exit 1; }
valgrind --tool=callgrind --callgrind-out-file="$out/cg.out" "$bench" --file "$index" \
    >"$out/cg.txt" 2>"$out/valgrind.txt"
grep -q '^result: ok' "$out/cg.txt" || { cat "$out/cg.txt"; echo "result: FAILED"; exit 1; }

callgrind_annotate --auto=no --threshold=100 "$out/cg.out" 2>/dev/null | awk '
    /^ *[0-9,]+ +\(/ && $0 ~ /:/ {
        ir = $1; gsub(",", "", ir); path = $0
        sub(/^ *[0-9,]+ +\([ 0-9.]+%\) +/, "", path)
        sub(/ \[[^]]*\]$/, "", path) # the object file, not the source
        if (path ~ /PROGRAM TOTALS/) next
        if (path ~ /(^|\/)engine\//) e += ir
        else if (path ~ /(^|\/)firmware\//) f += ir
        else if (path ~ /(^|\/)backends\/sim\//) w += ir
        else if (path ~ /(^|\/)(cli|bench)\//) c += ir
        else o += ir
    }
    END {
        t = e + f + w + c + o
        printf "instructions_total: %.0f\n", t
        printf "share_engine: %.3f\nshare_firmware: %.3f\nshare_world: %.3f\n", e / t, f / t, w / t
        printf "share_cli: %.3f\nshare_other: %.3f\n", c / t, o / t
    }' >"$out/share.txt"
cat "$out/share.txt"
awk '
    FILENAME ~ /share/ && /^share_engine:/ { share = $2 }
    FILENAME ~ /plain/ && /^print:/ { name = $2; sim = $4; wall = $6; cpu = $10 }
    FILENAME ~ /plain/ && /^gcode_lines:/ { lines = $2 }
    END {
        printf "file: %s\n", name
        printf "gcode_lines: %d\nsim_seconds: %.1f\n", lines, sim
        printf "wall_seconds: %.3f\ncpu_seconds: %.3f\n", wall, cpu
        printf "gcode_lines_per_cpu_second: %.0f\n", lines / cpu
        printf "engine_cpu_seconds: %.3f\n", cpu * share
        printf "engine_gcode_lines_per_second: %.0f\n", lines / (cpu * share)
        printf "engine_sim_seconds_per_second: %.1f\n", sim / (cpu * share)
        print "result: ok"
    }' "$out/share.txt" "$out/plain.txt"
