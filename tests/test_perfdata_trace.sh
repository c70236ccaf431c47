#!/usr/bin/env bash
# Tracepoint samples in perf.data written by `kperf record`: `perf script` decodes and prints
# their fields exactly as it does for `perf record`'s file of the same workload; `perf report`
# stays silent; `kperf report` reads the file back. usage: tests/test_perfdata_trace.sh BUILD_DIR
B=${1:-build}
K=$B/kperf
W=$B/progs/perfdata_trace
T=$(mktemp -d /tmp/kperf_pdtrace.XXXXXX)
trap 'rm -rf "$T"' EXIT
ok() { echo "ok - $1"; }
fail() { echo "FAIL - $1: $2"; }
skip() { echo "SKIP - $1: $2"; }
no_warnings() { ! grep -qiE 'warn|error|fail|corrupt|unknown|unsupported|skipp|not found|cannot' "$1"; }

if [ ! -x "$K" ] || [ ! -x "$W" ]; then
    fail setup "$K or $W not built"
    exit 1
fi
if ! command -v perf >/dev/null 2>&1; then
    skip perf_script_tracepoints "perf is not installed"
    exit 0
fi
TFS=
for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
    [ -r "$d/events/sched/sched_switch/format" ] && TFS=$d && break
done
if [ -z "$TFS" ] || [ ! -r "$TFS/events/syscalls/sys_enter_getpid/format" ]; then
    skip perf_script_tracepoints "tracefs with sched and syscalls events is not readable (mount -t tracefs nodev /sys/kernel/tracing)"
    exit 0
fi

N=40  # getpid() and close() calls
S=4   # sleeps: each one a sched_switch with prev_state=S
EV=sched:sched_switch,syscalls:sys_enter_getpid,syscalls:sys_enter_close
if ! "$K" record -e "$EV" -o "$T/k.data" -- "$W" $N $S 2>"$T/krec.err"; then
    if grep -qiE 'permission|EACCES|EPERM|paranoid' "$T/krec.err"; then
        skip perf_script_tracepoints "kperf record cannot open tracepoints: $(head -1 "$T/krec.err")"
        exit 0
    fi
    fail kperf_record "$(cat "$T/krec.err")"
    exit 1
fi
if ! perf record -q -e sched:sched_switch -e syscalls:sys_enter_getpid -e syscalls:sys_enter_close \
        -o "$T/p.data" -- "$W" $N $S >/dev/null 2>"$T/prec.err"; then
    skip perf_script_tracepoints "perf record cannot open tracepoints: $(head -1 "$T/prec.err")"
    exit 0
fi

# the workload's syscall lines: "event: field text", in order
script_lines() {
    perf script -i "$1" -F trace:comm,event,trace 2>"$2" |
        awk '$1 == "perfdata_trace" && $2 ~ /^syscalls:/ { $1 = ""; sub(/^ +/, ""); print }'
}

# 1. N getpid lines and N close lines (fd 1000..), text identical to perf record's file
script_lines "$T/k.data" "$T/ks.err" >"$T/k.txt"
script_lines "$T/p.data" /dev/null >"$T/p.txt"
# (the dynamic loader closes a few low fds first: the workload's are 1000 and up)
for ((i = 0; i < N; i++)); do echo 'syscalls:sys_enter_getpid:'; done >"$T/want.txt"
for ((i = 0; i < N; i++)); do printf 'syscalls:sys_enter_close: fd: 0x%08x\n' $((1000 + i)); done >>"$T/want.txt"
grep -v 'fd: 0x000000' "$T/k.txt" >"$T/kw.txt"
ng=$(grep -c '^syscalls:sys_enter_getpid:' "$T/k.txt")
nc=$(grep -c '^syscalls:sys_enter_close:' "$T/kw.txt")
if [ "$ng" = $N ] && [ "$nc" = $N ] && cmp -s "$T/kw.txt" "$T/want.txt" && cmp -s "$T/k.txt" "$T/p.txt" &&
   no_warnings "$T/ks.err"; then
    ok perf_script_syscall_lines_match_perf
else
    fail perf_script_syscall_lines_match_perf "$ng getpid, $nc close lines (want $N each); diff: $(diff "$T/k.txt" "$T/p.txt" | head -4); stderr: $(head -2 "$T/ks.err")"
fi

# 2. every sched_switch sample decodes every field; the workload's sleeps are there
perf script -i "$T/k.data" -F trace:event,trace 2>"$T/sw.err" | grep 'sched:sched_switch:' >"$T/sw.txt"
perf script -i "$T/p.data" -F trace:event,trace 2>/dev/null | grep 'sched:sched_switch:' >"$T/psw.txt"
nsw=$(perf report -i "$T/k.data" --stdio 2>/dev/null | awk '/of event .sched:sched_switch./ {print $3}')
re='sched:sched_switch: prev_comm=.+ prev_pid=[0-9]+ prev_prio=[0-9]+ prev_state=[A-Z+|]+ ==> next_comm=.+ next_pid=[0-9]+ next_prio=[0-9]+$'
good=$(grep -cE "$re" "$T/sw.txt")
slept=$(grep -c "prev_comm=perfdata_trace prev_pid=[0-9]* prev_prio=[0-9]* prev_state=S " "$T/sw.txt")
# the same field names, in the same order, as perf's own file
shape() { sed -E 's/=[^ ]*/=/g' "$1" | sort -u; }
if [ "${nsw:-0}" -ge $S ] && [ "$(wc -l <"$T/sw.txt")" = "$nsw" ] && [ "$good" = "$nsw" ] &&
   [ "$slept" -ge $S ] && [ "$(shape "$T/sw.txt")" = "$(shape "$T/psw.txt")" ] && no_warnings "$T/sw.err"; then
    ok perf_script_sched_switch_fields
else
    fail perf_script_sched_switch_fields "$nsw samples, $(wc -l <"$T/sw.txt") lines, $good fully decoded, $slept sleeps (want >= $S): $(head -2 "$T/sw.txt") $(head -2 "$T/sw.err")"
fi

# 3. perf script's default output and -F with trace fields, no warnings
perf script -i "$T/k.data" >"$T/def.txt" 2>"$T/def.err"
perf script -i "$T/k.data" -F trace:comm,tid,cpu,time,event,trace >"$T/f.txt" 2>"$T/f.err"
nd=$(grep -c 'sys_enter_getpid' "$T/def.txt")
nf=$(grep -v 'fd: 0x000000' "$T/f.txt" | grep -cE '^ *perfdata_trace +[0-9]+ +\[[0-9]+\] +[0-9.]+: +syscalls:sys_enter_close: fd: 0x')
if [ "$nd" = $N ] && [ "$nf" = $N ] && no_warnings "$T/def.err" && no_warnings "$T/f.err"; then
    ok perf_script_fields
else
    fail perf_script_fields "$nd getpid lines by default, $nf close lines with -F: $(head -2 "$T/def.err") $(head -2 "$T/f.err")"
fi

# 4. perf report: the three events, silently
perf report -i "$T/k.data" --stdio >"$T/rep.txt" 2>"$T/rep.err"
ng=$(awk '/of event .syscalls:sys_enter_getpid./ {print $3}' "$T/rep.txt")
if [ "$ng" = $N ] && grep -q "of event 'sched:sched_switch'" "$T/rep.txt" && no_warnings "$T/rep.err"; then
    ok perf_report_tracepoints
else
    fail perf_report_tracepoints "$ng getpid samples: $(head -3 "$T/rep.err")"
fi

# 5. the file read from a pipe (tracing data inline in the stream)
np=$(cat "$T/k.data" | perf script -i - -F trace:event,trace 2>"$T/pipe.err" | grep -c 'sys_enter_close: fd: 0x00000[34]')
if [ "$np" = $N ] && no_warnings "$T/pipe.err"; then
    ok perf_script_from_pipe
else
    fail perf_script_from_pipe "$np close lines: $(head -2 "$T/pipe.err")"
fi

# 6. kperf report reads it back: every sample, no error
"$K" report -i "$T/k.data" >"$T/kr.txt" 2>"$T/kr.err"; rc=$?
tot=$(head -1 "$T/kr.txt" | awk '{print $4}')
want=$(awk '/^# Samples: / {s += $3} END {print s + 0}' "$T/rep.txt")
if [ $rc = 0 ] && [ "$tot" = "$want" ] && [ "$want" -ge $((2 * N + S)) ] && [ ! -s "$T/kr.err" ]; then
    ok kperf_report_reads_tracing_data
else
    fail kperf_report_reads_tracing_data "rc $rc, '$(head -1 "$T/kr.txt")' (want $want samples): $(head -2 "$T/kr.err")"
fi

# 7. a file without tracepoints carries no tracing data
"$K" record -e cpu-clock -o "$T/c.data" -- "$W" 1 0 2>/dev/null
nt=$(perf script -i "$T/c.data" -D 2>/dev/null | grep -c 'PERF_RECORD_TRACING_DATA')
nk=$(perf script -i "$T/k.data" -D 2>/dev/null | grep -c 'PERF_RECORD_TRACING_DATA')
if [ "$nt" = 0 ] && [ "$nk" = 1 ]; then
    ok tracing_data_only_with_tracepoints
else
    fail tracing_data_only_with_tracepoints "$nt TRACING_DATA records without tracepoints, $nk with"
fi
