#!/usr/bin/env bash
# JIT code named from a jitdump (jit-PID.dump: CODE_LOAD + DEBUG_INFO records) or a perf map
# (/tmp/perf-PID.map): tests/progs/jit_hot generates x86-64 code at run time and runs hot in
# it; `kperf report` (from the recording) and `kperf record --folded` (live) name it, the
# jitdump with its source line; hostile files (a FIFO, a truncated dump) do not block or
# crash. usage: tests/test_jit.sh BUILD_DIR
B=${1:-build}
K=$B/kperf
J=$B/progs/jit_hot
T=$(mktemp -d)
pids=()
trap 'rm -rf "$T"; for p in "${pids[@]}"; do rm -f /tmp/perf-$p.map; done' EXIT
[ "$(uname -m)" = x86_64 ] || { echo "SKIP - jit: the generated code is x86-64"; exit 0; }
[ -x "$J" ] || { echo "SKIP - jit: $J not built"; exit 0; }
check() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "FAIL - $2: $3"; fi; }
rec() { # MODE NAME: records jit_hot MODE into $T/NAME.data, remembers its pid
    "$K" record -F 2000 -o "$T/$2.data" --folded "$T/$2.folded" -- "$J" "$1" 0.4 "$T" >"$T/$2.out" 2>"$T/$2.err" || return 1
    pids+=("$(ls "$T" | sed -n 's/^jit-\([0-9]*\)\.dump$/\1/p' | sort -n | tail -1)")
}
top() { "$K" report -i "$T/$1.data" -n 1 2>/dev/null | grep -v '^#' | head -1 | awk '{print $4}'; }
rec dump dump || { echo "SKIP - jit: kperf record failed here: $(tail -1 "$T/dump.err")"; exit 0; }
t=$(top dump)
check "$([ "$t" = jit_hot_from_dump ]; echo $?)" jit_report_names_from_jitdump "top '$t'"
grep -q '^jit_hot;.*jit_hot_from_dump [0-9]*$' "$T/dump.folded"
check $? jit_record_folded_names_from_jitdump "$(sort -k2 -n -t' ' "$T/dump.folded" | tail -1)"
# the source line: the loop's DEBUG_INFO entry (line 43) covers the hot code
if command -v go >/dev/null; then
    "$K" report -i "$T/dump.data" --pprof "$T/dump.pb.gz" >/dev/null
    HOME=$T GOCACHE=$T/gocache go tool pprof -symbolize=none -raw "$T/dump.pb.gz" >"$T/dump.raw" 2>&1
    grep -q 'jit_hot_from_dump jit_source.js:43 ' "$T/dump.raw"
    check $? jit_jitdump_source_line "$(grep -m1 jit_hot_from "$T/dump.raw")"
else
    echo "SKIP - jit_jitdump_source_line: go (golang-go) is not installed"
fi
rm -f "$T"/jit-*.dump
rec map map || exit 0
t=$(top map)
check "$([ "$t" = jit_hot_from_map ]; echo $?)" jit_report_names_from_perf_map "top '$t'"
rec both both || exit 0
t=$(top both)
check "$([ "$t" = jit_hot_from_dump ]; echo $?)" jit_jitdump_preferred_to_perf_map "top '$t'"
# hostile files named by data: the perf map replaced by a FIFO, the jitdump truncated
p=${pids[-1]}
rm -f "/tmp/perf-$p.map"; mkfifo "/tmp/perf-$p.map"
truncate -s 60 "$T/jit-$p.dump"
timeout 60 "$K" report -i "$T/both.data" -n 1 >"$T/hostile.out" 2>&1; rc=$?
t=$(grep -v '^#' "$T/hostile.out" | head -1 | awk '{print $4}')
check "$([ $rc = 0 ] && case "$t" in anon+0x*|0x*) true ;; *) false ;; esac; echo $?)" \
    jit_fifo_and_truncated_dump_harmless "rc $rc, top '$t'"
rm -f "/tmp/perf-$p.map"
# with neither file, the code is named as perf report names it: its address (0x%016x) in
# the dso "[JIT] tid PID", not "anon+0x..."
rm -f "$T/jit-$p.dump"
k=$("$K" report -i "$T/both.data" --sort dso,sym -n 1 2>/dev/null | awk 'NR == 3 {print $4, $5, $6, $7}')
case "$k" in "[JIT] tid $p 0x"????????????????) r=0 ;; *) r=1 ;; esac
check $r jit_anon_named_like_perf "'$k'"
if command -v perf >/dev/null; then
    pr=$(perf report -i "$T/both.data" --stdio --no-children --sort dso,sym -g none 2>/dev/null | awk '/%/ {print $2, $3, $4, $6; exit}')
    check "$([ "$pr" = "$k" ]; echo $?)" jit_anon_same_as_perf "kperf '$k', perf '$pr'"
else echo "SKIP - jit_anon_same_as_perf: perf not installed"; fi
