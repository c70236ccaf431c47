#!/usr/bin/env bash
# The deterministic test programs (parsers, decoders, registries, counting) once more under
# valgrind memcheck: no invalid access, no uninitialised read, no definite leak.
# Runs in the plain pass only (ASan and valgrind do not mix).
# Programs that assert exact syscall counts (counting, task, libkperf) see valgrind's own
# getpid calls and fail those checks, returning early without closing; for them only
# invalid accesses count here, and leaks are left to the ASan pass (LeakSanitizer).
B=${1:-build}
case "$B" in *asan*) exit 0 ;; esac
if ! command -v valgrind >/dev/null; then echo "SKIP - valgrind: not installed (apt-get install valgrind)"; exit 0; fi
for t in test_pmu test_events test_topology test_ringbuf test_spe test_spe_decode test_tracepoint \
         test_tracepoint_format test_device test_counting test_errors test_region test_task \
         test_symbols_fuzz test_symbols_unit test_libkperf_c; do
    bin=$B/tests/$t
    [ -x "$bin" ] || continue
    log=$B/logs/valgrind_$t.log
    mkdir -p "$B/logs"
    leaks=definite
    case $t in test_counting|test_task|test_libkperf_c) leaks=none ;; esac
    KPERF_UNDER_VALGRIND=1 timeout 900 valgrind -q --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=$leaks --show-leak-kinds=definite "$bin" >"$log" 2>&1
    rc=$?
    if [ $rc -eq 99 ]; then
        echo "FAIL - valgrind_$t: memcheck errors, see $log"; grep -m5 '==[0-9]*==' "$log"
    elif [ $rc -eq 124 ]; then
        echo "FAIL - valgrind_$t: timed out under valgrind"
    else
        echo "ok - valgrind_$t"
    fi
done
