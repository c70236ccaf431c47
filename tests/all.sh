#!/usr/bin/env bash
# make test: every test, in three lanes that run at the same time on this 2-core machine.
#   plain  build/         built first (with the fuzz harnesses), then run, 2 programs at once
#   asan   build-asan/    ASan+UBSan: built while the plain tests run, then run
#   arm64  build/arm64/   cross-built, booted in QEMU with an emulated PMU (tests/arm64/run.sh)
# The plain lane prints as it goes; the other two print when they end. Each lane appends
# "passed failed skipped" to its totals file; the last line sums them and sets the status.
# KPERF_TEST_JOBS (default 2) is the programs run at once in each of plain and asan.
set -u
ASAN_OPT=${ASAN_OPT:?the ASan flags (set by the Makefile)}
export KPERF_TEST_JOBS=${KPERF_TEST_JOBS:-2}
MAKE=${MAKE:-make}
rm -f build/totals build-asan/totals build/arm64/totals
mkdir -p build build-asan
t0=$(date +%s)
stamp() { echo "# $1 at +$(( $(date +%s) - t0 )) s"; }
TIMEFORMAT="# %R s wall, %U s user + %S s system CPU"

# 1. The plain build (its tests run first, so it gets both cores alone).
time if ! $MAKE --no-print-directory -j2 tests fuzz-build B=build EX_OPT=-O0; then
    echo "0 1 0" >build/totals
    echo "FAIL - build: the plain build failed"
    exit 1
fi
stamp "plain build done"

# 2. ASan lane and arm64 lane in the background, the plain tests in the foreground.
# The programs the tests run as targets (tests/progs) are built without the build's flags:
# the ASan lane uses the plain build's.
rm -rf build-asan/progs && ln -s ../build/progs build-asan/progs
(
    time if $MAKE --no-print-directory -j2 tests B=build-asan OPT="$ASAN_OPT" EX_OPT=-O0; then
        stamp "asan build done"
        ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
            bash tests/run.sh build-asan asan
    else
        echo "FAIL - build_asan: the ASan build failed"; echo "0 1 0" >build-asan/totals
    fi
    stamp "asan lane done"
) >build/lane-asan.log 2>&1 &
asan=$!
(
    time bash tests/arm64/run.sh build/arm64
    stamp "arm64 lane done"
) >build/lane-arm64.log 2>&1 &
arm=$!

time bash tests/run.sh build plain
stamp "plain lane done"
wait $arm
echo "---- arm64 lane (build/lane-arm64.log) ----"
cat build/lane-arm64.log
wait $asan
echo "---- asan lane (build/lane-asan.log) ----"
cat build/lane-asan.log
stamp "all lanes done"
missing=0
for f in build/totals build-asan/totals build/arm64/totals; do
    [ -s "$f" ] || { echo "FAIL - $f: the lane wrote no totals"; missing=$((missing + 1)); }
done
cat build/totals build-asan/totals build/arm64/totals 2>/dev/null | awk -v f="$missing" \
    '{p+=$1; f+=$2; s+=$3} END {printf "%d passed, %d failed, %d skipped\n", p, f, s; exit (f > 0)}'
