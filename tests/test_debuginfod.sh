#!/usr/bin/env bash
# debuginfod: a stripped binary is named through a local `debuginfod` server (Debian's
# package) on 127.0.0.1 that serves its -g build, fetched by build-id with libdebuginfod
# (elfutils' client) and cached; with no server reachable, one warning and no hang.
# usage: tests/test_debuginfod.sh BUILD_DIR
B=${1:-build}
K=$(readlink -f "$B/kperf")
SRC=$B/progs/sample_busy
T=$(mktemp -d)
DP=""
BH=""
cleanup() { for p in $DP $BH; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
command -v debuginfod >/dev/null || { echo "SKIP - debuginfod: the debuginfod server is not installed"; exit 0; }
[ -x "$SRC" ] || { echo "SKIP - debuginfod: $SRC not built"; exit 0; }
check() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "FAIL - $2: $3"; fi; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p "$T/srv" "$T/bin"
cp "$SRC" "$T/srv/sample_busy"
strip --strip-all -o "$T/bin/sample_busy" "$T/srv/sample_busy"
BID=$(readelf -n "$T/bin/sample_busy" | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p')
PORT=$(freeport)
debuginfod -F "$T/srv" -p "$PORT" -d "$T/db.sqlite" >"$T/srv.log" 2>&1 &
DP=$!
ready=no
for _ in $(seq 150); do
    if python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
        "http://127.0.0.1:$PORT/buildid/$BID/debuginfo" 2>/dev/null; then ready=yes; break; fi
    sleep 0.2
done
[ $ready = yes ] || { echo "SKIP - debuginfod: the server did not serve $BID: $(tail -2 "$T/srv.log")"; exit 0; }
if ! "$K" record -F 2000 -g -o "$T/d.data" -- "$T/bin/sample_busy" 0.3 >"$T/rec.out" 2>&1; then
    echo "SKIP - debuginfod: kperf record failed here: $(tail -1 "$T/rec.out")"; exit 0
fi
top() { grep -v '^#' "$1" | head -1 | awk '{print $4}'; }
export DEBUGINFOD_CACHE_PATH=$T/cache
DEBUGINFOD_URLS= "$K" report -i "$T/d.data" -n 1 >"$T/off.out" 2>"$T/off.err"
DEBUGINFOD_URLS=http://127.0.0.1:$PORT "$K" report -i "$T/d.data" -n 1 >"$T/on.out" 2>"$T/on.err"
a=$(top "$T/off.out"); b=$(top "$T/on.out")
check "$(case "$a" in sample_busy+0x*) [ "$b" = sample_hot ] && [ ! -s "$T/on.err" ] ;; *) false ;; esac; echo $?)" \
    debuginfod_names_stripped_binary "without a server '$a', with it '$b' $(head -1 "$T/on.err")"
# file:line and inlines from the fetched DWARF equal addr2line on the -g build
addrs=$(nm "$T/srv/sample_busy" | awk '/ T (sample_hot|sample_caller|main)$/ {printf "0x%s ", $1}')
want=$(addr2line -f -i -e "$T/srv/sample_busy" $addrs)
got=$(DEBUGINFOD_URLS=http://127.0.0.1:$PORT "$K" symbolize -f -i -e "$T/bin/sample_busy" $addrs 2>&1)
check "$([ -n "$addrs" ] && [ "$got" = "$want" ]; echo $?)" debuginfod_lines_match_addr2line \
    "kperf '$(echo $got)' addr2line '$(echo $want)'"
[ -s "$T/cache/$BID/debuginfo" ]
check $? debuginfod_cached "no $T/cache/$BID/debuginfo"
kill "$DP"; wait "$DP" 2>/dev/null; DP=""
DEBUGINFOD_URLS=http://127.0.0.1:$PORT "$K" report -i "$T/d.data" -n 1 >"$T/cached.out" 2>"$T/cached.err"
b=$(top "$T/cached.out")
check "$([ "$b" = sample_hot ]; echo $?)" debuginfod_cache_serves_without_server "top '$b' $(head -1 "$T/cached.err")"
# nothing listening: one warning, names stay module+offset
export DEBUGINFOD_CACHE_PATH=$T/cache2
DEBUGINFOD_URLS=http://127.0.0.1:$PORT "$K" report -i "$T/d.data" -n 5 >"$T/ref.out" 2>"$T/ref.err"; rc=$?
n=$(grep -c 'warning: debuginfod: cannot fetch debug info from http://127.0.0.1:'"$PORT" "$T/ref.err")
a=$(top "$T/ref.out")
check "$([ $rc = 0 ] && [ "$n" = 1 ] && case "$a" in sample_busy+0x*) true ;; *) false ;; esac; echo $?)" \
    debuginfod_unreachable_warns_once "rc $rc, $n warnings, top '$a': $(cat "$T/ref.err")"
# a server that accepts and never answers: the fetch gives up (10 s), one warning
BPORT=$(freeport)
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); open(sys.argv[2], "w").close()
time.sleep(300)' "$BPORT" "$T/bh.ready" &
BH=$!
for _ in $(seq 100); do [ -e "$T/bh.ready" ] && break; sleep 0.1; done
export DEBUGINFOD_CACHE_PATH=$T/cache3
DEBUGINFOD_URLS=http://127.0.0.1:$BPORT timeout 120 "$K" report -i "$T/d.data" -n 1 >"$T/bh.out" 2>"$T/bh.err"; rc=$?
n=$(grep -c 'warning: debuginfod: .*no answer in time; not asking again' "$T/bh.err")
check "$([ $rc = 0 ] && [ "$n" = 1 ]; echo $?)" debuginfod_no_answer_bounded \
    "rc $rc (124 = still waiting after 120 s), $n warnings: $(cat "$T/bh.err")"
