#!/usr/bin/env bash
# `kperf trace --trace-json` and `kperf syscalls --trace-json`: Chrome/Perfetto trace-event
# JSON, checked against the format's documented fields (tests/trace_json_check.py), with
# exact counts: count_getpid 100 2 makes 300 getpid calls in 3 threads.
# usage: tests/test_trace_json.sh BUILD_DIR
B=${1:-build}
K=$B/kperf
P=$B/progs/count_getpid
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -x "$P" ] || { echo "SKIP - trace_json: $P not built"; exit 0; }
check() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "FAIL - $2: $3"; fi; }
"$K" trace -e syscalls:sys_enter_getpid --trace-json "$T/t.json" -- "$P" 100 2 >"$T/t.out" 2>"$T/t.err"
rc=$?
if [ $rc -ne 0 ] && ! [ -s "$T/t.json" ]; then echo "SKIP - trace_json: kperf trace failed here: $(tail -1 "$T/t.err")"; exit 0; fi
pid=$(python3 -c 'import json,sys; print([e["pid"] for e in json.load(open(sys.argv[1]))["traceEvents"] if e["ph"] != "M"][0])' "$T/t.json" 2>/dev/null)
r=$(python3 tests/trace_json_check.py "$T/t.json" syscalls:sys_enter_getpid "${pid:-0}")
check "$([ "$r" = "ok 300 3 0" ] && [ ! -s "$T/t.out" ]; echo $?)" trace_json_tracepoint_events \
    "$r (expected 300 instant events in 3 threads); stdout $(wc -c <"$T/t.out") bytes"
grep -q '"args":{"cpu":[0-9]*,"__syscall_nr":39}' "$T/t.json"
check $? trace_json_tracepoint_fields_as_args "$(sed -n 4p "$T/t.json")"
"$K" syscalls -e getpid --trace-json "$T/s.json" -- "$P" 100 2 >/dev/null 2>"$T/s.err"
pid=$(python3 -c 'import json,sys; print([e["pid"] for e in json.load(open(sys.argv[1]))["traceEvents"] if e["ph"] == "X"][0])' "$T/s.json" 2>/dev/null)
r=$(python3 tests/trace_json_check.py "$T/s.json" getpid "${pid:-0}")
check "$([ "$r" = "ok 300 3 300" ]; echo $?)" trace_json_syscalls_complete_events \
    "$r (expected 300 X events in 3 threads, each returning the pid)"
"$K" syscalls -e getpid --trace-json /nonexistent/x.json -- "$P" 1 >/dev/null 2>"$T/e.err"; rc=$?
check "$([ $rc -ne 0 ] && grep -Eq 'cannot (write|create) /nonexistent/x.json' "$T/e.err"; echo $?)" \
    trace_json_unwritable_path "rc $rc: $(cat "$T/e.err")"
