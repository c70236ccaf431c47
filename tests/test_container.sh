#!/usr/bin/env bash
# A process in its own pid and mount namespaces (`unshare --pid --mount --fork`, a tmpfs on
# its /tmp that the host does not see) profiled from outside with `kperf record -p`: its
# binary (only in its /tmp) is resolved through /proc/PID/root, and its perf map and jitdump
# are found there under its in-namespace pid (1), not the host pid.
# usage: tests/test_container.sh BUILD_DIR
B=${1:-build}
K=$(readlink -f "$B/kperf")
J=$(readlink -f "$B/progs/jit_hot")
T=$(mktemp -d)
UP=""
cleanup() { [ -n "$UP" ] && kill -9 "$UP" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
[ "$(uname -m)" = x86_64 ] || { echo "SKIP - container: the JIT workload is x86-64"; exit 0; }
[ -x "$J" ] || { echo "SKIP - container: $J not built"; exit 0; }
[ "$(id -u)" = 0 ] && command -v unshare >/dev/null || { echo "SKIP - container: needs root and unshare"; exit 0; }
check() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "FAIL - $2: $3"; fi; }
APP=kperf_ns_app_$$

# runs jit_hot MODE inside new namespaces; sets HP (its host pid)
start() {
    rm -f "$T/ns.out"
    # the binary is opened before the tmpfs hides /tmp (the checkout itself may be under /tmp)
    unshare --pid --mount --fork sh -c "exec 3<'$J'; mount -t tmpfs none /tmp && cat <&3 >/tmp/$APP && exec 3<&- && chmod 755 /tmp/$APP && exec /tmp/$APP $1 4 /tmp" >"$T/ns.out" 2>&1 &
    UP=$!
    HP=""
    for _ in $(seq 100); do
        grep -q '^code' "$T/ns.out" 2>/dev/null && HP=$(cat /proc/$UP/task/$UP/children 2>/dev/null | awk '{print $1}') && break
        sleep 0.05
    done
}
stop() { kill -9 "$UP" "$HP" 2>/dev/null; wait "$UP" 2>/dev/null; UP=""; }

start dump
if [ -z "$HP" ]; then echo "SKIP - container: cannot start a namespaced process: $(head -2 "$T/ns.out")"; exit 0; fi
nspid=$(awk '/^NSpid:/ {print $NF}' /proc/$HP/status)
[ ! -e "/tmp/$APP" ] && [ ! -e "/tmp/jit-$nspid.dump" ] && [ ! -e "/tmp/jit-$HP.dump" ]
check $? container_files_hidden_from_host "host sees /tmp/$APP or a jitdump"
"$K" record -p "$HP" -g -F 1000 --folded "$T/d.folded" -- sleep 1 >"$T/rec.out" 2>&1
stop
# the JIT code's name from /tmp/jit-1.dump; its callers' names from /tmp/APP (the binary)
check "$([ "$nspid" = 1 ] && grep -q "^kperf_ns_app[^;]*;.*;main;jit_hot_from_dump [0-9]*$" "$T/d.folded"; echo $?)" \
    container_binary_and_jitdump_in_own_root "NSpid $nspid; $(sort -t' ' -k2 -n "$T/d.folded" | tail -2 | tr '\n' '|') $(tail -1 "$T/rec.out")"

start map
[ -n "$HP" ] || { echo "FAIL - container_perf_map_under_nspid: the process did not start"; exit 0; }
"$K" record -p "$HP" -g -F 1000 -o "$T/m.data" -- sleep 1 >"$T/rec.out" 2>&1
"$K" report -i "$T/m.data" -n 1 >"$T/m.report" 2>&1 # while it runs: /proc/PID/root is live
stop
t=$(grep -v '^#' "$T/m.report" | head -1 | awk '{print $4}')
check "$([ "$t" = jit_hot_from_map ] && [ ! -e /tmp/perf-1.map ]; echo $?)" container_perf_map_under_nspid \
    "top '$t' (expected jit_hot_from_map from /proc/$HP/root/tmp/perf-1.map)"
