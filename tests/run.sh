#!/usr/bin/env bash
# Runs every test program of one build and counts ok/FAIL/SKIP lines.
# usage: tests/run.sh BUILD_DIR LABEL [PROGRAM[:TEST]]   (run from the repository root)
# With a third argument only that program runs (name with or without .sh/.py), and with
# :TEST only that test of a C program (KT_ONLY). Appends "passed failed skipped" to
# BUILD_DIR/totals.
set -u
B=$1
LABEL=${2:-plain}
ONLY=${3:-}
ONLY_PROG=${ONLY%%:*}
case "$ONLY" in *:*) export KT_ONLY=${ONLY#*:} ;; esac
pass=0 fail=0 skip=0
export KPERF_BUILD=$B
for t in "$B"/tests/test_* tests/test_*.sh tests/test_*.py; do
    [ -e "$t" ] || continue
    case "$t" in *.d|*.o) continue ;; esac
    # Python tests load the plain build's shared library through ctypes; an ASan library
    # cannot be loaded that way, so they run in the plain pass only.
    case "$LABEL:$t" in asan:*.py) continue ;; esac
    name=$(basename "$t")
    if [ -n "$ONLY_PROG" ] && [ "$name" != "$ONLY_PROG" ] && [ "${name%.*}" != "$ONLY_PROG" ]; then continue; fi
    log="$B/logs/$name.log"
    mkdir -p "$B/logs"
    case "$t" in
        *.sh) timeout 600 bash "$t" "$B" >"$log" 2>&1 ;;
        *.py) timeout 600 python3 "$t" "$B" >"$log" 2>&1 ;;
        *) timeout 600 "$t" >"$log" 2>&1 ;;
    esac
    rc=$?
    p=$(grep -c '^ok - ' "$log"); f=$(grep -c '^FAIL - ' "$log"); s=$(grep -c '^SKIP - ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL - $name: exited with status $rc without a FAIL line" >>"$log"
        f=$((f + 1))
    fi
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    printf '[%s] %-32s %3d ok %3d failed %3d skipped\n' "$LABEL" "$name" "$p" "$f" "$s"
    grep -E '^(FAIL|SKIP) - ' "$log" | sed 's/^/    /'
    if [ "$f" -ne 0 ]; then tail -n 20 "$log" | sed 's/^/    | /'; fi
done
[ -n "$ONLY" ] && [ $((pass + fail + skip)) -eq 0 ] && { echo "no test matches '$ONLY'"; exit 1; }
echo "$pass $fail $skip" >>"$B/totals"
