#!/usr/bin/env bash
# examples/pprof_server.c: kperf_pprof_profile_self() behind /debug/pprof/profile?seconds=N,
# fetched by the real client (`go tool pprof` over HTTP) while the program burns CPU in
# pprof_hot(): the profile parses, names pprof_hot on top, says who made it; other paths
# get 404 and bad parameters 400, and the server keeps serving.
# usage: tests/test_pprof_server.sh BUILD_DIR
B=${1:-build}
SRV=$B/examples/pprof_server
T=$(mktemp -d)
command -v go >/dev/null || { echo "SKIP - pprof_server: go (golang-go) is not installed"; exit 0; }
[ -x "$SRV" ] || { echo "SKIP - pprof_server: $SRV not built"; exit 0; }
"$SRV" 0 120 >"$T/srv.out" 2>&1 &
SP=$!
trap 'kill $SP 2>/dev/null; wait $SP 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 50); do grep -q listening "$T/srv.out" && break; sleep 0.1; done
PORT=$(sed -n 's/listening on 127.0.0.1://p' "$T/srv.out")
[ -n "$PORT" ] || { echo "FAIL - pprof_server_listens: $(cat "$T/srv.out")"; exit 0; }
check() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "FAIL - $2: $3"; fi; }
URL="http://127.0.0.1:$PORT/debug/pprof/profile?seconds=1"
HOME=$T PPROF_TMPDIR=$T GOCACHE=$T/gocache timeout 120 go tool pprof -symbolize=none -raw "$URL" >"$T/raw" 2>"$T/err"
rc=$?
if [ $rc -ne 0 ] && grep -q "perf_event_paranoid\|permission" "$T/err"; then
    echo "SKIP - pprof_server: no perf_event access: $(tail -1 "$T/err")"; exit 0
fi
check "$rc" pprof_server_go_tool_reads "rc $rc: $(tail -2 "$T/err" | tr '\n' ' ')"
HOME=$T PPROF_TMPDIR=$T GOCACHE=$T/gocache timeout 120 go tool pprof -symbolize=none -top "$URL" >"$T/top" 2>"$T/err"
top=$(awk '/flat%/ {getline; print $6; exit}' "$T/top")
check "$([ "$top" = pprof_hot ]; echo $?)" pprof_server_hot_function_on_top "top '$top': $(head -12 "$T/top" | tr '\n' '|')"
read -r n ns < <(python3 tests/pprof_raw.py totals <"$T/raw")
# 100 Hz for one second of a busy thread: about 100 samples of 10 ms each on an idle
# machine; one second of wall time is less CPU time on a busy one (the CI machine runs
# three test lanes at once), so the floor is 10 (the thread had 10% of a CPU) and the exact
# check is the period: 10 ms of CPU per sample
check "$([ "${n:-0}" -ge 10 ] && [ "$ns" = $((n * 10000000)) ]; echo $?)" pprof_server_samples_and_period \
    "samples ${n:-?}, cpu ${ns:-?} ns (expected 10 ms each)"
grep -q "^Comment: kperf_pprof_profile_self: pid $SP, cpu-clock at 100 Hz for 1 s" "$T/raw" &&
    grep -q "^Duration: 1s" "$T/raw" && grep -q "^PeriodType: cpu nanoseconds" "$T/raw"
check $? pprof_server_profile_header "$(grep -E '^(Comment|Duration|PeriodType)' "$T/raw" | tr '\n' '|')"
code() { python3 -c 'import sys, urllib.request, urllib.error
try: print(urllib.request.urlopen(sys.argv[1], timeout=30).status)
except urllib.error.HTTPError as e: print(e.code)' "$1"; }
c404=$(code "http://127.0.0.1:$PORT/debug/pprof/heap")
c400=$(code "http://127.0.0.1:$PORT/debug/pprof/profile?seconds=-3")
c200=$(code "http://127.0.0.1:$PORT/debug/pprof/profile?seconds=0.2")
check "$([ "$c404" = 404 ] && [ "$c400" = 400 ] && [ "$c200" = 200 ]; echo $?)" pprof_server_status_codes \
    "heap $c404 (404), seconds=-3 $c400 (400), then a profile $c200 (200)"
