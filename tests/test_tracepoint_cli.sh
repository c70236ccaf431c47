#!/usr/bin/env bash
# kperf trace: one line per event with its fields; the exec filename (__data_loc);
# in-kernel filters reduce what arrives; a malformed filter is a clear error.
# usage: tests/test_tracepoint_cli.sh BUILD
B=${1:-build}
K=$B/kperf
P=$B/progs/trace_getpid_write
T=$(mktemp -d /tmp/kperf-tr.XXXXXX)
trap 'rm -rf "$T"' EXIT
if ! { [ -r /sys/kernel/tracing/events ] || [ -r /sys/kernel/debug/tracing/events ]; }; then
    echo "SKIP - trace_cli: tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)"
    exit 0
fi
check() { if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "FAIL - $1: got '$2', want '$3'"; fi; }

# exec of a known path: the __data_loc filename field carries it
probe="$T/exec-probe-$$"
ln -s /bin/true "$probe"
if $K trace -e sched:sched_process_exec -- "$probe" >"$T/exec.txt" 2>"$T/exec.err"; then
    check trace_exec_filename "$(grep -c "sched:sched_process_exec: filename=$probe pid=" "$T/exec.txt")" 1
    check trace_exec_comm "$(awk '{print $1}' "$T/exec.txt" | head -1)" "$(echo "exec-probe-$$" | cut -c1-15)"
else
    echo "FAIL - trace_exec: $(cat "$T/exec.err")"
fi

# -p PID of a process that execs after kperf attached: lines after the exec carry the new
# name (the sampler renames on PERF_RECORD_COMM with the exec flag), lines before it the old
ln -s "$(cd "$(dirname "$P")" && pwd)/$(basename "$P")" "$T/execd-probe"
sh -c "sleep 2; exec $T/execd-probe 3 3 >/dev/null" & ep=$!
sleep 0.1 # kperf attaches within the shell's 2 s sleep (wait4) on a busy machine too
$K trace -p "$ep" -e syscalls:sys_enter_wait4,syscalls:sys_enter_getpid -d 5 >"$T/pexec.txt" 2>/dev/null
wait "$ep"
check trace_pid_exec_comm_after "$(grep -c '^ *execd-probe .*sys_enter_getpid' "$T/pexec.txt")" 3
check trace_pid_exec_comm_before "$(grep -c '^ *sh .*sys_enter_wait4' "$T/pexec.txt" | awk '{print ($1 > 0)}')" 1

# filters run in the kernel: count the events that arrive
n_all=$($K trace -e syscalls:sys_enter_write -- "$P" 10 25 2>/dev/null | grep -c 'sys_enter_write: ')
n_one=$($K trace -e 'syscalls:sys_enter_write/count == 1/' -- "$P" 10 25 2>/dev/null | grep -c 'count=1$')
n_two=$($K trace -e 'syscalls:sys_enter_write/count == 2/' -- "$P" 10 25 2>/dev/null | grep -c 'sys_enter_write: ')
n_pid=$($K trace -e 'syscalls:sys_enter_getpid/common_pid == 1/' -- "$P" 10 25 2>/dev/null | grep -c 'sys_enter_getpid: ')
n_gp=$($K trace -e 'syscalls:sys_enter_getpid/common_pid != 1/' -- "$P" 10 25 2>/dev/null | grep -c 'sys_enter_getpid: ')
check trace_filter_none 25 "$n_all"
check trace_filter_match "$n_one" 25
check trace_filter_reject "$n_two" 0
check trace_filter_getpid_zero "$n_pid" 0
check trace_filter_getpid_all "$n_gp" 10

# a malformed filter: non-zero exit and a message naming the filter and the event
if $K trace -e 'syscalls:sys_enter_write/cnt >>> 2/' -- "$P" 1 1 >/dev/null 2>"$T/bad.err"; then
    echo "FAIL - trace_bad_filter: accepted"
else
    grep -q 'cnt >>> 2' "$T/bad.err" && grep -q 'sys_enter_write' "$T/bad.err" \
        && echo "ok - trace_bad_filter" || echo "FAIL - trace_bad_filter: $(cat "$T/bad.err")"
fi
# ... and the kernel's own reason (read back from tracefs when its ftrace filter is unused)
if [ "$(cat /sys/kernel/tracing/events/syscalls/sys_enter_write/filter 2>/dev/null)" != none ]; then
    echo "SKIP - trace_bad_filter_reason: the ftrace filter of sys_enter_write is in use or unreadable"
elif grep -q 'parse_error: Field not found' "$T/bad.err"; then
    echo "ok - trace_bad_filter_reason"
else
    echo "FAIL - trace_bad_filter_reason: $(cat "$T/bad.err")"
fi

# fields of an event (perf-prof's `trace -e EV help`)
$K trace -e sched:sched_switch --fields >"$T/fields.txt" 2>&1
check trace_fields "$(grep -cE '^ +(prev_comm|next_comm|prev_state) ' "$T/fields.txt")" 3

# system-wide sched_switch lines decode: comm strings and prev_state as perf script's letters
# (S, D, R, R+, I, S|D ... from the kernel's __print_flags table), never a number
$K trace -e sched:sched_switch -a -d 0.3 >"$T/sw.txt" 2>/dev/null
bad=$(grep 'sched:sched_switch: ' "$T/sw.txt" | grep -cvE 'prev_comm=.+ prev_pid=[0-9]+ prev_prio=-?[0-9]+ prev_state=(R|[SDTtXZPI](\|[SDTtXZPI])*)\+? next_comm=.+ next_pid=[0-9]+ next_prio=-?[0-9]+$')
lines=$(grep -c 'sched:sched_switch: ' "$T/sw.txt")
[ "$lines" -gt 0 ] && check trace_switch_lines "$bad" 0 || echo "FAIL - trace_switch_lines: no sched_switch events in 0.3 s"
# the kperf process itself sleeps in poll while tracing, so a sleeping (S) switch-out is there
check trace_switch_state_sleep "$(grep -c 'prev_state=S ' "$T/sw.txt" | awk '{print ($1 > 0)}')" 1

# a pid that is not a number is refused with a message that says so, not read as pid 0
for c in trace syscalls; do
    if [ $c = trace ]; then args="-e syscalls:sys_enter_getpid -p 12x"; else args="-p 12x"; fi
    msg=$("$K" $c $args 2>&1 </dev/null); rc=$?
    case "$rc:$msg" in
        "2:kperf $c: bad pid list '12x' at position 0: want positive pid numbers separated by commas") echo "ok - ${c}_bad_pid" ;;
        *) echo "FAIL - ${c}_bad_pid: rc=$rc msg='$msg'" ;;
    esac
done
