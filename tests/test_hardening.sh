#!/usr/bin/env bash
# Hardening regressions of the kperf tool (issue 18): what a hostile profiled process, a low
# descriptor limit, a killed writer or a planted symlink did to kperf before.
# usage: tests/test_hardening.sh BUILD_DIR   (root: plants files as the user nobody)
B=${1:-build}
K=$B/kperf
SWAP=$B/progs/fifo_swap
BUSY=$B/progs/sample_busy
T=$(mktemp -d /tmp/kperf_hardening.XXXXXX)
chmod 755 "$T"
trap 'rm -rf "$T"' EXIT
ok() { echo "ok - $1"; }
fail() { echo "FAIL - $1: $2"; }
skip() { echo "SKIP - $1: $2"; }
# a hang guard, not a timing assertion: the old code never returned
G="timeout -k 5 60"

for f in "$K" "$SWAP" "$BUSY"; do
    [ -x "$f" ] || { fail setup "$f not built"; exit 1; }
done

# 1. the profiled process puts a FIFO where it mapped a file: record's build-id reader and
#    report's symbolizer blocked in open() (and SIGTERM could not stop record)
mkdir -p "$T/swap"
$G "$K" record -o "$T/swap.data" -- "$SWAP" "$T/swap" >"$T/swap.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && [ -p "$T/swap/lib.so" ] && grep -q ' samples' "$T/swap.out"; then
    ok record_fifo_at_mapped_path
else
    fail record_fifo_at_mapped_path "rc=$rc $(tail -3 "$T/swap.out")"
fi
cp "$BUSY" "$T/busy"
"$K" record -o "$T/busy.data" -- "$T/busy" 0.3 >"$T/busy.out" 2>&1
mv "$T/busy" "$T/busy.real" && mkfifo "$T/busy"
$G "$K" report -i "$T/busy.data" >"$T/rep.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q 'samples of cpu-clock' "$T/rep.out"; then
    ok report_fifo_at_mapped_path
else
    fail report_fifo_at_mapped_path "rc=$rc $(tail -3 "$T/rep.out")"
fi

# 2. SIGTERM stops a long record promptly and leaves a file kperf (and perf) read
rm -f "$T/ready"
"$K" record -o "$T/term.data" -- sh -c "touch $T/ready; exec sleep 600" >"$T/term.out" 2>&1 &
kp=$!
for _ in $(seq 300); do [ -e "$T/ready" ] && break; sleep 0.1; done
kill -TERM $kp
timeout 60 tail --pid=$kp -f /dev/null # the hang guard (no subshell: it would run the trap)
kill -KILL $kp 2>/dev/null
wait $kp
rc=$?
# the command's status is record's: sleep ended by the SIGTERM record passed on is 143
if { [ $rc -eq 0 ] || [ $rc -eq 143 ]; } && $G "$K" report -i "$T/term.data" >"$T/term.rep" 2>&1 &&
   grep -q 'kperf report' "$T/term.rep"; then
    if command -v perf >/dev/null && ! perf report -i "$T/term.data" --stdio >/dev/null 2>&1; then
        fail record_sigterm_leaves_readable_file "perf report cannot read it"
    else
        ok record_sigterm_leaves_readable_file
    fi
else
    fail record_sigterm_leaves_readable_file "rc=$rc $(tail -n 3 "$T/term.out" "$T/term.rep" 2>&1)"
fi

# stat -a stops on SIGTERM too, prints what it counted and stops its command (it waited for
# it forever when the command ignored SIGINT, as background jobs do); status: the command's
rm -f "$T/ready"
"$K" stat -e task-clock -a -- sh -c "echo \$\$ > $T/ready.tmp; mv $T/ready.tmp $T/ready; exec sleep 600" >"$T/stat.out" 2>&1 &
kp=$!
for _ in $(seq 300); do [ -e "$T/ready" ] && break; sleep 0.1; done
kill -TERM $kp
timeout 60 tail --pid=$kp -f /dev/null
kill -KILL $kp 2>/dev/null
wait $kp
rc=$?
[ -s "$T/ready" ] && kill -KILL "$(cat "$T/ready")" 2>/dev/null # the command, if left running
if { [ $rc -eq 0 ] || [ $rc -eq 143 ]; } && grep -q task-clock "$T/stat.out"; then ok stat_sigterm_prints_counts
else fail stat_sigterm_prints_counts "rc=$rc $(tail -n 3 "$T/stat.out")"; fi

# 3. a low descriptor limit: record said nothing when pipe() failed and ran until a signal;
#    trace dropped every event and printed "0 events" with status 0
hit=0 bad=""
for n in 5 6 7 8 9 10 12; do
    (ulimit -n $n; exec $G "$K" record -a --folded "$T/f.folded" -- true) >"$T/lim.out" 2>&1
    rc=$?
    if [ $rc -ge 124 ]; then bad="$bad n=$n:hang"; continue; fi
    if [ $rc -ne 0 ] && ! grep -qE 'ulimit -n|Too many open files' "$T/lim.out"; then
        bad="$bad n=$n:'$(head -1 "$T/lim.out")'"
    fi
    grep -q 'cannot start true' "$T/lim.out" && hit=1
done
if [ -z "$bad" ] && [ $hit = 1 ]; then ok record_pipe_failure_reported
else fail record_pipe_failure_reported "${bad:-no limit reached the pipe of the launcher}"; fi
# the perf.data writer skipped /proc/N/task on EMFILE without a word
hit=0 bad=""
for n in 6 7 8 9 10 12; do
    (ulimit -n $n; exec $G "$K" record -a -o "$T/lim.data" -- true) >"$T/lim.out" 2>&1
    rc=$?
    if [ $rc -ge 124 ]; then bad="$bad n=$n:hang"; continue; fi
    if [ $rc -ne 0 ] && ! grep -qE 'ulimit -n|Too many open files' "$T/lim.out"; then
        bad="$bad n=$n:'$(head -1 "$T/lim.out")'"
    fi
    grep -q 'cannot read the threads and maps' "$T/lim.out" && hit=1
done
if [ -z "$bad" ] && [ $hit = 1 ]; then ok perfdata_proc_walk_emfile_reported
else fail perfdata_proc_walk_emfile_reported "${bad:-no limit reached the walk of /proc}"; fi
bad=""
for n in 5 6 7 8; do
    (ulimit -n $n; exec $G "$K" trace -e sched:sched_switch -a -d 0.2) >/dev/null 2>"$T/tr.err"
    rc=$?
    if [ $rc -eq 0 ] && grep -q ' 0 events' "$T/tr.err"; then bad="$bad n=$n:silent"; fi
    if [ $rc -ne 0 ] && ! grep -qE 'Too many open files|ulimit -n|RLIMIT_NOFILE' "$T/tr.err"; then
        bad="$bad n=$n:'$(head -1 "$T/tr.err")'"
    fi
done
if [ -z "$bad" ]; then ok trace_emfile_reported; else fail trace_emfile_reported "$bad"; fi

# 4. a truncated perf.data (killed writer, full disk): report what is there, with a warning
"$K" record -o "$T/trunc.data" -- "$BUSY" 0.3 >/dev/null 2>&1
size=$(stat -c %s "$T/trunc.data")
truncate -s $((size - 37)) "$T/trunc.data"
$G "$K" report -i "$T/trunc.data" >"$T/trunc.out" 2>"$T/trunc.err"
rc=$?
if [ $rc -eq 0 ] && grep -q 'warning' "$T/trunc.err" && grep -q sample_hot "$T/trunc.out"; then
    ok report_truncated_file
else
    fail report_truncated_file "rc=$rc $(cat "$T/trunc.err") $(head -3 "$T/trunc.out")"
fi

# 5. output files: a symlink planted by nobody in a sticky world-writable directory is not
#    followed (it clobbered a root-owned 0600 file)
if [ "$(id -u)" != 0 ]; then
    skip output_symlink_not_followed "needs root to plant a symlink as nobody"
else
    mkdir -m 1777 "$T/sticky"
    printf secret >"$T/victim" && chmod 600 "$T/victim"
    bad=""
    plant() { rm -f "$T/sticky/out"; ln -s "$T/victim" "$T/sticky/out"; chown -h 65534:65534 "$T/sticky/out"; }
    try() {
        local name=$1; shift
        plant
        "$@" >"$T/o.out" 2>&1
        rc=$?
        if [ $rc -eq 0 ] || [ "$(cat "$T/victim")" != secret ] || ! grep -q 'refusing' "$T/o.out"; then
            bad="$bad $name(rc=$rc: $(head -c 200 "$T/o.out"))"
            printf secret >"$T/victim"
        fi
    }
    try record-o "$K" record -o "$T/sticky/out" -- true
    try record-folded "$K" record --folded "$T/sticky/out" -- true
    try stat-o "$K" stat -o "$T/sticky/out" -e task-clock -- true
    try trace-o "$K" trace -o "$T/sticky/out" -e syscalls:sys_enter_getpid -- true
    try report-svg "$K" report -i "$T/busy.data" --svg "$T/sticky/out"
    try record-pprof "$K" record --pprof "$T/sticky/out" -- true
    try syscalls-o "$K" syscalls -o "$T/sticky/out" -- true
    try trace-json "$K" trace --trace-json "$T/sticky/out" -e syscalls:sys_enter_getpid -- true
    if [ -z "$bad" ]; then ok output_symlink_not_followed; else fail output_symlink_not_followed "$bad"; fi
fi

# 6. an unprivileged user asking for a tracepoint hears "permission denied", not "tracefs is
#    not mounted"
if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
    skip unprivileged_tracepoint_message "needs root and setpriv to drop privileges"
elif setpriv --reuid=65534 --regid=65534 --clear-groups test -r /sys/kernel/tracing/events/sched; then
    skip unprivileged_tracepoint_message "tracefs is readable by nobody here"
else
    bad=""
    for c in stat record; do
        out=$T/unpriv.data
        setpriv --reuid=65534 --regid=65534 --clear-groups "$K" $c -e sched:sched_switch \
            $([ $c = record ] && echo "-o /dev/null") -- true >"$T/up.out" 2>&1
        rc=$?
        if [ $rc -eq 0 ] || ! grep -q 'permission denied' "$T/up.out" || grep -q 'not mounted' "$T/up.out"; then
            bad="$bad $c(rc=$rc: $(head -1 "$T/up.out"))"
        fi
    done
    if [ -z "$bad" ]; then ok unprivileged_tracepoint_message; else fail unprivileged_tracepoint_message "$bad"; fi
fi
