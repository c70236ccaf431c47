#!/usr/bin/env bash
# Every libFuzzer harness of tests/fuzz/ (one per parser of untrusted input) replays its
# committed corpus, then runs a short fixed-seed mutation run, under ASan+UBSan; a crash, a
# sanitizer report, a leak or an input that runs 60 s fails the harness. The long runs are
# `make fuzz` (docs/security.md). usage: tests/test_fuzz.sh BUILD_DIR
B=${1:-build}
FB=${FUZZ_B:-build-fuzz}
# fixed-seed runs per harness: about a second or two each here (sysfs writes a tree per input
# and a mutated CPU list can name thousands of CPUs, so it gets fewer)
runs_of() { case "$1" in sysfs) echo 150 ;; perfdata|symbolizer) echo 400 ;; *) echo 1000 ;; esac; }
case "$B" in
    *asan*) echo "SKIP - fuzz_harnesses: they run once, in the plain pass (they carry ASan+UBSan themselves)"; exit 0 ;;
esac
names=$(ls tests/fuzz/fuzz_*.c | sed 's|tests/fuzz/fuzz_||; s|\.c$||')
probe=$(mktemp -d /tmp/kperf_fuzzprobe.XXXXXX)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return (int)(d && n) * 0; }' >"$probe/p.c"
if ! command -v clang >/dev/null || ! clang -fsanitize=fuzzer -o "$probe/p" "$probe/p.c" 2>/dev/null; then
    for n in $names; do echo "SKIP - fuzz_$n: clang with libFuzzer is missing (apt-get install clang libclang-rt-dev)"; done
    exit 0
fi
if ! make --no-print-directory -j2 fuzz-build FUZZ_B="$FB" >"$probe/build.log" 2>&1; then
    tail -20 "$probe/build.log"
    for n in $names; do echo "FAIL - fuzz_$n: the harnesses do not build"; done
    exit 1
fi
for n in $names; do
    work=$(mktemp -d "$probe/$n.XXXXXX")
    seeds=$(ls "tests/fuzz/corpus/$n" | wc -l)
    opts="-timeout=60 -rss_limit_mb=2048 -artifact_prefix=$probe/"
    if ! "$FB/fuzz_$n" $opts -runs=0 "tests/fuzz/corpus/$n" >"$probe/$n.replay" 2>&1; then
        echo "FAIL - fuzz_$n: replaying tests/fuzz/corpus/$n: $(grep -m1 -E 'ERROR|runtime error|timeout' "$probe/$n.replay")"
        tail -30 "$probe/$n.replay"
        continue
    fi
    RUNS=${FUZZ_TEST_RUNS:-$(runs_of "$n")}
    if ! "$FB/fuzz_$n" $opts -seed=1 -runs="$RUNS" -max_len=4096 "$work" "tests/fuzz/corpus/$n" \
        >"$probe/$n.run" 2>&1; then
        echo "FAIL - fuzz_$n: fixed-seed run (-seed=1 -runs=$RUNS): $(grep -m1 -E 'ERROR|runtime error|timeout' "$probe/$n.run")"
        tail -30 "$probe/$n.run"
        continue
    fi
    echo "ok - fuzz_$n: $seeds seeds replayed, $RUNS fixed-seed runs clean"
done
