#!/bin/sh
# The kperf tool on arm64's PMUv3, run in the QEMU guest by tests/arm64/run.sh (busybox sh).
# usage: sh tests/arm64/test_hw_cli.sh BUILD   (BUILD holds kperf and tests/test_hw_sampling)
# Prints ok/FAIL/SKIP lines; the recorded perf.data goes to the console in base64 between
# "=== FILE hw.data" and "=== ENDFILE" for the host's `perf report` (tests/arm64/host_perf.sh).
B=${1:-build}
K=$B/kperf
W=$B/tests/test_hw_sampling
P=/sys/bus/event_source/devices/armv8_pmuv3
T=/tmp/kperf-cli.$$
mkdir -p "$T"
ok() { echo "ok - $1"; }
fail() { echo "FAIL - $1: $2"; }
if [ ! -d "$P" ]; then
    for t in list_sysfs_events generic_names stat_cycles_equal_instructions record_report libkperf_count_example; do
        echo "SKIP - $t: no armv8_pmuv3 PMU"
    done
    exit 0
fi

# kperf list: every event of the PMU's sysfs events/ directory, with its encoding.
"$K" list >"$T/list" 2>&1
bad=""
n=0
for f in "$P"/events/*; do
    e=$(basename "$f")
    v=$(cat "$f")
    n=$((n + 1))
    grep -q "^  armv8_pmuv3/$e/ .*\[core: $v\]" "$T/list" || bad="$bad $e($v)"
done
if [ -z "$bad" ] && [ "$n" -gt 0 ]; then ok list_sysfs_events; else fail list_sysfs_events "missing:$bad (of $n)"; fi

# The generic names: cycles and instructions count; the others open exactly when the PMU
# implements the architected event they map to (PMCEID, shown as sysfs events), and are
# refused with the kernel's reason otherwise (QEMU implements few events).
bad=""
for pair in cycles:cpu_cycles instructions:inst_retired branch-misses:br_mis_pred \
            cache-misses:l1d_cache_refill L1-dcache-loads:l1d_cache; do
    g=${pair%%:*} arch=${pair#*:}
    "$K" stat -x , -e "$g:u" -- "$W" spin 1000 >"$T/g.out" 2>&1
    rc=$?
    if [ -e "$P/events/$arch" ]; then
        [ $rc -eq 0 ] && grep -q "^[0-9][0-9]*,,$g:u" "$T/g.out" || bad="$bad $g(rc $rc: $(head -c 200 "$T/g.out"))"
    else
        [ $rc -ne 0 ] && grep -q "does not know this event on PMU armv8_pmuv3" "$T/g.out" \
            || bad="$bad $g(not implemented here, but rc $rc: $(head -c 200 "$T/g.out"))"
    fi
done
if [ -z "$bad" ]; then ok generic_names; else fail generic_names "$bad"; fi

# kperf stat with a group: with -icount shift=0 the emulated CPU retires one instruction per
# cycle, so both counts are equal; 2 instructions per loop iteration.
c1=$("$K" stat -x , -e '{cycles:u,instructions:u}' -- "$W" spin 1000000 2>&1)
c2=$("$K" stat -x , -e '{cycles:u,instructions:u}' -- "$W" spin 3000000 2>&1)
cy1=$(echo "$c1" | grep ',cycles:u' | cut -d, -f1) in1=$(echo "$c1" | grep ',instructions:u' | cut -d, -f1)
cy2=$(echo "$c2" | grep ',cycles:u' | cut -d, -f1) in2=$(echo "$c2" | grep ',instructions:u' | cut -d, -f1)
if [ -n "$in1" ] && [ -n "$in2" ] && [ "$cy1" = "$in1" ] && [ "$cy2" = "$in2" ] && [ $((${in2:-0} - ${in1:-0})) -eq 4000000 ]; then
    echo "# kperf stat spin 1e6: $in1 instructions, $cy1 cycles; spin 3e6: $in2, $cy2"
    ok stat_cycles_equal_instructions
else
    fail stat_cycles_equal_instructions "spin 1e6: '$c1'; spin 3e6: '$c2'"
fi

# kperf record on the cycle counter (period 100000, frame-pointer chains) over 10M
# instructions: 100 samples (+-1), kperf report puts spin_fp on top with its callers.
if "$K" record -e cycles:u -c 100000 -g -o "$T/hw.data" -- "$W" spin 5000000 >"$T/rec.out" 2>&1 &&
   "$K" report -i "$T/hw.data" --sort self >"$T/rep.out" 2>&1; then
    ns=$(sed -n 's/^# kperf report: \([0-9]*\) samples.*/\1/p' "$T/rep.out")
    top=$(grep '%' "$T/rep.out" | grep -v '^#' | head -1)
    total_b=$("$K" report -i "$T/hw.data" --sort total 2>&1 | grep -E ' (level_a|level_b|spin_fp)$' | wc -l)
    if [ -n "$ns" ] && [ "$ns" -ge 99 ] && [ "$ns" -le 101 ] && echo "$top" | grep -q 'spin_fp$' && [ "$total_b" -eq 3 ]; then
        echo "# kperf report: $ns samples, top: $top"
        ok record_report
    else
        fail record_report "samples '$ns', top '$top', callers $total_b; $(head -c 600 "$T/rep.out")"
    fi
    echo "=== FILE hw.data"
    base64 "$T/hw.data"
    echo "=== ENDFILE"
else
    fail record_report "$(cat "$T/rec.out" "$T/rep.out" 2>/dev/null | head -c 600)"
fi
# The seeds' libkperf example (examples/libkperf_count.c, unchanged) counts a running
# process's instructions for one second of (virtual) time: exact, not multiplexed.
"$W" spin 100000000000 &
child=$!
out=$("$B/examples/libkperf_count" "$child" instructions 2>&1)
kill "$child" 2>/dev/null; wait "$child" 2>/dev/null
c=$(echo "$out" | sed -n "s/^instructions pid=$child tid=$child .*count=\([0-9]*\) countPercent=1.00$/\1/p")
if [ -n "$c" ] && [ "$c" -gt 100000000 ]; then
    echo "# libkperf_count: $out"
    ok libkperf_count_example
else
    fail libkperf_count_example "$out"
fi
rm -rf "$T"
