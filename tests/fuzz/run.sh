#!/usr/bin/env bash
# The long fuzzing runs of `make fuzz`: each harness for SECONDS, its new inputs kept in
# FUZZ_BUILD/corpus/NAME (the committed seeds in tests/fuzz/corpus/NAME are only read), crash
# inputs saved as FUZZ_BUILD/crash-NAME-*; a table of executions and coverage goes to
# FUZZ_BUILD/fuzz-summary.txt (docs/security.md quotes it).
# usage: tests/fuzz/run.sh FUZZ_BUILD SECONDS NAME...   (from the repository root)
B=$1 S=$2
shift 2
sum=$B/fuzz-summary.txt
fail=0
{
    echo "# make fuzz FUZZ_SECONDS=$S, $(date -u +%Y-%m-%d), $(nproc) CPUs, $(clang --version | head -1)"
    printf '%-12s %7s %10s %8s %6s %6s %7s  %s\n' harness seconds execs exec/s cov ft corpus result
} >"$sum"
for n in "$@"; do
    mkdir -p "$B/corpus/$n"
    log=$B/fuzz_$n.log
    "$B/fuzz_$n" -max_total_time="$S" -print_final_stats=1 -timeout=25 -rss_limit_mb=2048 \
        -max_len=65536 -artifact_prefix="$B/crash-$n-" "$B/corpus/$n" "tests/fuzz/corpus/$n" \
        >"$log" 2>&1
    rc=$?
    execs=$(awk '/stat::number_of_executed_units/ {print $2}' "$log")
    rate=$(awk '/stat::average_exec_per_sec/ {print $2}' "$log")
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(echo "$last" | grep -o 'cov: [0-9]*' | awk '{print $2}')
    ft=$(echo "$last" | grep -o 'ft: [0-9]*' | awk '{print $2}')
    corp=$(echo "$last" | grep -o 'corp: [0-9]*' | awk '{print $2}')
    if [ $rc -eq 0 ]; then res=ok; echo "ok - fuzz_$n: ${execs:-?} executions, cov ${cov:-?}"
    else res="FAIL (see $log)"; fail=1; echo "FAIL - fuzz_$n: exit $rc, $(grep -m1 -E 'ERROR|runtime error|timeout' "$log")"; fi
    printf '%-12s %7s %10s %8s %6s %6s %7s  %s\n' "$n" "$S" "${execs:-?}" "${rate:-?}" \
        "${cov:-?}" "${ft:-?}" "${corp:-?}" "$res" >>"$sum"
done
cat "$sum"
exit $fail
