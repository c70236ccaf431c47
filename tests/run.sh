#!/usr/bin/env bash
# Runs every test program of one build and counts ok/FAIL/SKIP lines.
# usage: tests/run.sh BUILD_DIR LABEL [PROGRAM[:TEST]]   (run from the repository root)
# With a third argument only that program runs (name with or without .sh/.py), and with
# :TEST only that test of a C program (KT_ONLY). Appends "passed failed skipped" to
# BUILD_DIR/totals. KPERF_TEST_JOBS=N runs N programs at once (default 1): each program's
# summary is printed when it ends, the longest-running programs start first, and the
# totals do not depend on the order.
set -u
B=$1
LABEL=${2:-plain}
ONLY=${3:-}
ONLY_PROG=${ONLY%%:*}
JOBS=${KPERF_TEST_JOBS:-1}
case "$ONLY" in *:*) export KT_ONLY=${ONLY#*:} ;; esac
export KPERF_BUILD=$B
mkdir -p "$B/logs"

# Programs that take longest here start first, so that N workers end together.
SLOW="test_fuzz.sh test_compile_matrix.sh test_valgrind.sh test_symbols_oracle.sh
      test_debuginfod.sh test_python.py test_tool_data.sh test_profilers.sh test_install.sh
      test_hardening.sh test_pprof.sh test_perfdata.sh test_symbols test_symbols_tsan"

# run_one PATH: runs one program; writes its log, prints its summary and leaves
# "passed failed skipped" in $B/logs/NAME.res.
run_one() {
    local t=$1 name log rc p f s
    name=$(basename "$t")
    log="$B/logs/$name.log"
    local TIMEFORMAT="%R %U %S" # wall, user and system seconds (children included)
    {
        time case "$t" in
            *.sh) timeout 600 bash "$t" "$B" >"$log" 2>&1 ;;
            *.py) timeout 600 python3 "$t" "$B" >"$log" 2>&1 ;;
            *) timeout 600 "$t" >"$log" 2>&1 ;;
        esac
    } 2>"$B/logs/$name.time"
    rc=$?
    p=$(grep -c '^ok - ' "$log"); f=$(grep -c '^FAIL - ' "$log"); s=$(grep -c '^SKIP - ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "FAIL - $name: exited with status $rc without a FAIL line" >>"$log"
        f=$((f + 1))
    fi
    echo "$p $f $s" >"$B/logs/$name.res"
    {   # one write, so that workers do not interleave their lines
        read -r wall user sys <"$B/logs/$name.time"
        printf '[%s] %-32s %3d ok %3d failed %3d skipped  %5.1f s (%.1f s CPU)\n' "$LABEL" "$name" \
            "$p" "$f" "$s" "$wall" "$(echo "$user + $sys" | awk '{print $1 + $3}')"
        grep -E '^(FAIL|SKIP) - ' "$log" | sed 's/^/    /'
        if [ "$f" -ne 0 ]; then tail -n 20 "$log" | sed 's/^/    | /'; fi
    } | { out=$(cat); printf '%s\n' "$out"; }
}

progs=()
for t in "$B"/tests/test_* tests/test_*.sh tests/test_*.py; do
    [ -e "$t" ] || continue
    case "$t" in *.d|*.o) continue ;; esac
    # Python tests load the plain build's shared library through ctypes; an ASan library
    # cannot be loaded that way, so they run in the plain pass only.
    case "$LABEL:$t" in asan:*.py) continue ;; esac
    name=$(basename "$t")
    if [ -n "$ONLY_PROG" ] && [ "$name" != "$ONLY_PROG" ] && [ "${name%.*}" != "$ONLY_PROG" ]; then continue; fi
    progs+=("$t")
done
# slow ones first, then the rest in name order
ordered=()
for s in $SLOW; do for t in "${progs[@]}"; do [ "$(basename "$t")" = "$s" ] && ordered+=("$t"); done; done
for t in "${progs[@]}"; do case " $(echo $SLOW) " in *" $(basename "$t") "*) ;; *) ordered+=("$t") ;; esac; done

for t in "${ordered[@]}"; do rm -f "$B/logs/$(basename "$t").res"; done
for t in "${ordered[@]}"; do
    if [ "$JOBS" -le 1 ]; then run_one "$t"; continue; fi
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    run_one "$t" &
done
wait
pass=0 fail=0 skip=0
for t in "${ordered[@]}"; do
    read -r p f s <"$B/logs/$(basename "$t").res" || { p=0 f=1 s=0; echo "FAIL - $(basename "$t"): no result"; }
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
done
[ -n "$ONLY" ] && [ $((pass + fail + skip)) -eq 0 ] && { echo "no test matches '$ONLY'"; exit 1; }
echo "$pass $fail $skip" >>"$B/totals"
