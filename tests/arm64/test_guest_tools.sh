#!/bin/sh
# The kperf tool on what only the arm64 guest has (run by tests/arm64/run.sh, busybox sh):
# derived stat columns over real cycles/instructions counts, kprobe:/kretprobe: events
# through the kprobe PMU and through tracefs kprobe_events, syscall names on arm64's
# table, and `kperf record --call-graph dwarf` with arm64 registers.
# usage: sh tests/arm64/test_guest_tools.sh BUILD
B=${1:-build}
K=$B/kperf
W=$B/tests/test_hw_sampling
P=$B/progs/trace_getpid_write
U=$B/progs/unwind_busy
T=/tmp/kperf-tools.$$
mkdir -p "$T"
ok() { echo "ok - $1"; }
fail() { echo "FAIL - $1: $2"; }
KPE=/sys/kernel/tracing/kprobe_events
F=__arm64_sys_getpid

# IPC: "insn per cycle" is instructions:u over cycles (user and kernel cycles, so the ratio
# is not QEMU's 1.000) as printed; in both the CSV and the table form.
if [ -d /sys/bus/event_source/devices/armv8_pmuv3 ]; then
    "$K" stat -x , -e cycles,instructions:u -- "$W" spin 1000000 >"$T/ipc.csv" 2>&1
    cy=$(grep ',cycles,' "$T/ipc.csv" | cut -d, -f1)
    in=$(grep ',instructions:u,' "$T/ipc.csv" | cut -d, -f1)
    m=$(grep ',instructions:u,' "$T/ipc.csv" | cut -d, -f6,7)
    want=$(awk -v a="$in" -v b="$cy" 'BEGIN { if (b > 0) printf "%.3f,insn per cycle", a / b }')
    if [ -n "$cy" ] && [ -n "$in" ] && [ "$m" = "$want" ] && [ "$m" != "1.000,insn per cycle" ]; then
        echo "# kperf stat: $in instructions:u, $cy cycles: $m"
        ok stat_ipc_csv
    else
        fail stat_ipc_csv "metric '$m', want '$want' from $in / $cy: $(cat "$T/ipc.csv")"
    fi
    "$K" stat -e cycles,instructions:u -- "$W" spin 1000000 >"$T/ipc.txt" 2>&1
    cy=$(awk '$2 == "cycles" { gsub(",", "", $1); print $1 }' "$T/ipc.txt")
    in=$(awk '$2 == "instructions:u" { gsub(",", "", $1); print $1 }' "$T/ipc.txt")
    m=$(awk '$2 == "instructions:u" && $3 == "#" { print $4, $5, $6, $7 }' "$T/ipc.txt")
    want=$(awk -v a="$in" -v b="$cy" 'BEGIN { if (b > 0) printf "%.3f insn per cycle", a / b }')
    if [ -n "$cy" ] && [ "$m" = "$want" ]; then ok stat_ipc_table; else fail stat_ipc_table "'$m', want '$want': $(cat "$T/ipc.txt")"; fi
    # miss ratios need branches/branch-misses or cache-references/cache-misses: QEMU's PMU
    # implements neither pair (docs/arm64.md), so this is a skip unless they open
    if "$K" stat -x , -e branches:u,branch-misses:u -- "$W" spin 1000 >"$T/br.csv" 2>&1; then
        br=$(grep ',branches:u,' "$T/br.csv" | cut -d, -f1)
        bm=$(grep ',branch-misses:u,' "$T/br.csv" | cut -d, -f1)
        m=$(grep ',branch-misses:u,' "$T/br.csv" | cut -d, -f6)
        want=$(awk -v a="$bm" -v b="$br" 'BEGIN { if (b > 0) printf "%.3f", 100 * a / b }')
        if [ "$m" = "$want" ]; then ok stat_branch_miss_ratio; else fail stat_branch_miss_ratio "'$m' want '$want'"; fi
    else
        echo "SKIP - stat_branch_miss_ratio: the emulated PMU has no branches/branch-misses: $(head -1 "$T/br.csv")"
    fi
else
    echo "SKIP - stat_ipc: no armv8_pmuv3 PMU"
fi

# kprobe:/kretprobe: in kperf stat, through the kprobe PMU and then through kprobe_events
# (a sysfs root without the kprobe PMU): exact counts, nothing left in kprobe_events.
N=250
if [ -d /sys/bus/event_source/devices/kprobe ] && grep -q " $F\$" /proc/kallsyms; then
    "$K" stat -x , -e "kprobe:$F,kretprobe:$F" -- "$P" $N 3 >"$T/kp.csv" 2>&1
    a=$(grep ",kprobe:$F," "$T/kp.csv" | cut -d, -f1)
    r=$(grep ",kretprobe:$F," "$T/kp.csv" | cut -d, -f1)
    if [ "$a" = $N ] && [ "$r" = $N ]; then ok stat_kprobe_pmu; else fail stat_kprobe_pmu "$(cat "$T/kp.csv")"; fi
else
    echo "SKIP - stat_kprobe_pmu: no kprobe PMU or no $F"
fi
if [ -w "$KPE" ] && grep -q " $F\$" /proc/kallsyms; then
    R=$T/root
    mkdir -p "$R/sys/bus/event_source/devices"
    for p in /sys/bus/event_source/devices/*; do [ "${p##*/}" = kprobe ] || ln -s "$p" "$R/sys/bus/event_source/devices/"; done
    ln -s /sys/kernel "$R/sys/kernel"; ln -s /sys/devices "$R/sys/devices"; ln -s /proc "$R/proc"
    KPERF_SYSFS_ROOT=$R "$K" stat -x , -e "kprobe:$F,kretprobe:$F" -- "$P" $N 3 >"$T/kt.csv" 2>&1
    a=$(grep ",kperf:$F," "$T/kt.csv" | cut -d, -f1)
    r=$(grep ",kperf:${F}__return," "$T/kt.csv" | cut -d, -f1)
    left=$(grep -c 'kperf/' "$KPE")
    if [ "$a" = $N ] && [ "$r" = $N ] && [ "$left" = 0 ]; then ok stat_kprobe_tracefs; else fail stat_kprobe_tracefs "left in kprobe_events: $left; $(cat "$T/kt.csv")"; fi
    if KPERF_SYSFS_ROOT=$R "$K" stat -e kprobe:kperf_no_such_function -- true >"$T/km.txt" 2>&1; then
        fail stat_kprobe_missing "accepted: $(cat "$T/km.txt")"
    elif grep -q "refused the kprobe on 'kperf_no_such_function'" "$T/km.txt" && [ "$(grep -c 'kperf/' "$KPE")" = 0 ]; then
        ok stat_kprobe_missing
    else
        fail stat_kprobe_missing "$(cat "$T/km.txt")"
    fi
else
    echo "SKIP - stat_kprobe_tracefs: no writable $KPE or no $F"
fi

# syscall names on arm64's table: getpid is 172, write 64, openat 56 here (not x86's 39, 1,
# 257); every call of the program named, in both modes.
calls_of() { awk -v s="$2" '$NF == s { print $4; f = 1 } END { if (!f) print "none" }' "$1"; }
if [ -d /sys/kernel/tracing/events/syscalls ]; then
    for mode in all named; do
        if [ $mode = all ]; then set --; else set -- -e getpid,write,openat; fi
        "$K" syscalls "$@" -o "$T/sc.txt" -- "$P" 1234 567 >"$T/sc.err" 2>&1
        g=$(calls_of "$T/sc.txt" getpid) w=$(calls_of "$T/sc.txt" write) o=$(calls_of "$T/sc.txt" openat)
        if [ "$g" = 1234 ] && [ "$w" = 567 ] && [ "$o" = 1 ] && ! grep -q 'syscall_[0-9]' "$T/sc.txt"; then
            ok "syscalls_names_$mode"
        else
            fail "syscalls_names_$mode" "getpid $g write $w openat $o: $(cat "$T/sc.txt" "$T/sc.err" | head -c 900)"
        fi
    done
    # the numbers themselves (--raw): arm64's, so the names above were mapped from them
    "$K" syscalls --raw -o "$T/raw.txt" -- "$P" 1234 567 >"$T/raw.err" 2>&1
    g=$(calls_of "$T/raw.txt" syscall_172) w=$(calls_of "$T/raw.txt" syscall_64) o=$(calls_of "$T/raw.txt" syscall_56)
    if [ "$g" = 1234 ] && [ "$w" = 567 ] && [ "$o" = 1 ]; then
        ok syscalls_arm64_numbers
    else
        fail syscalls_arm64_numbers "172: $g, 64: $w, 56: $o: $(cat "$T/raw.txt" "$T/raw.err" | head -c 900)"
    fi
else
    echo "SKIP - syscalls_names: no syscall tracepoints"
fi

# --call-graph dwarf: arm64 user registers (x0..x30, sp, pc) and stack copies of a program
# built without frame pointers; every sample in c unwinds to main -> a -> b -> c.
if "$K" record -e cycles:u -c 1000000 --call-graph dwarf,8192 -o "$T/dw.data" -- "$U" 0.05 >"$T/dw.out" 2>&1 &&
   "$K" report -i "$T/dw.data" --folded >"$T/dw.folded" 2>&1; then
    inc=$(awk '$1 ~ /;c$/ { n += $NF } END { print n + 0 }' "$T/dw.folded")
    full=$(awk '$1 ~ /;main;a;b;c$/ { n += $NF } END { print n + 0 }' "$T/dw.folded")
    if [ "$inc" -ge 10 ] && [ "$full" = "$inc" ]; then
        echo "# --call-graph dwarf: $full of $inc samples in c unwound to main;a;b;c"
        ok record_dwarf_chains
    else
        fail record_dwarf_chains "$full of $inc samples in c unwound: $(head -c 600 "$T/dw.folded")"
    fi
else
    fail record_dwarf_chains "$(cat "$T/dw.out" "$T/dw.folded" 2>/dev/null | head -c 600)"
fi
# symbolization of an arm64 binary by the arm64 kperf: every 4th byte of the fixture's own
# functions (the list run.sh made with nm), handed to the host, which checks it against the
# host's kperf and aarch64-linux-gnu-addr2line (tests/arm64/host_symbolize.sh).
S=$B/progs/sym_fixture
if [ -s "$S.addrs" ] && "$K" symbolize -e "$S" -a -f -i -C <"$S.addrs" >"$T/sym.txt" 2>&1; then
    echo "# kperf symbolize: $(wc -l <"$S.addrs") addresses of $S"
    echo "=== FILE sym.txt"
    base64 "$T/sym.txt"
    echo "=== ENDFILE"
    ok guest_symbolize_ran
else
    fail guest_symbolize_ran "$(head -c 300 "$T/sym.txt" 2>/dev/null)"
fi
rm -rf "$T"
