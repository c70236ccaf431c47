#!/usr/bin/env bash
# kperf stat: agreement with perf stat on a deterministic workload, targets, output formats,
# plan lines, and the error messages of the tool (including an unprivileged run).
B=${1:-build}
K=$B/kperf
P=$B/progs/count_getpid
GP=syscalls:sys_enter_getpid
ok() { echo "ok - $1"; }
fail() { echo "FAIL - $1: $2"; }
skip() { echo "SKIP - $1: $2"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', expected '$3'"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
have_tp=1
[ -r /sys/kernel/tracing/events/syscalls/sys_enter_getpid/id ] || have_tp=0

# field 1 of the CSV line whose field 3 is the event
csv_value() { awk -F, -v e="$2" '$3 == e { print $1 }' "$1"; }

if [ $have_tp = 0 ]; then
    skip stat_agrees_with_perf "tracefs syscalls events not readable"
elif ! command -v perf >/dev/null; then
    skip stat_agrees_with_perf "perf (linux-perf) not installed"
else
    $K stat -x, -e $GP,task-clock -- $P 1000 4 2>"$tmp/k.csv"
    perf stat -x, -e $GP,task-clock -- $P 1000 4 2>"$tmp/p.csv"
    k=$(csv_value "$tmp/k.csv" $GP); p=$(csv_value "$tmp/p.csv" $GP)
    if [ "$k" = 5000 ] && [ "$p" = 5000 ]; then ok stat_agrees_with_perf
    else fail stat_agrees_with_perf "kperf $k, perf $p, expected 5000 each"; fi
    # the CSV field order is perf's: value, unit, event, run time, percent running
    kl=$(grep ",task-clock," "$tmp/k.csv" | awk -F, '{print NF, $2, $3, ($4 > 0), $5}')
    pl=$(grep ",task-clock," "$tmp/p.csv" | awk -F, '{print NF, $2, $3, ($4 > 0), $5}')
    check stat_csv_fields_like_perf "$kl" "$pl"
fi

if [ $have_tp = 1 ]; then
    $K stat --per-thread -x, -e $GP -- $P 700 3 2>"$tmp/t.csv"
    # one line per exited thread (3 workers + the main thread) with 700 each
    n700=$(awk -F, '$2 == 700' "$tmp/t.csv" | wc -l)
    check stat_per_thread_split "$n700" 4

    # -p: attach to a running process; the command after -- releases it (a FIFO: its calls
    # start only once the counters are open, however slow a busy machine starts kperf),
    # then is the timer; the shell waiting on the FIFO execs the program (same pid)
    rm -f "$tmp/go" && mkfifo "$tmp/go"
    sh -c "read x <'$tmp/go'; exec $P 1200 0 0 0" & pid=$!
    $K stat -x, -p $pid -e $GP -- sh -c "echo >'$tmp/go'; sleep 1" 2>"$tmp/p1.csv"
    wait $pid
    check stat_pid_target "$(csv_value "$tmp/p1.csv" $GP)" 1200

    # -I: the interval deltas add up to the total
    $K stat -I 100 -x, -e $GP -- $P 500 0 250 250 2>"$tmp/i.csv"
    lines=$(wc -l <"$tmp/i.csv"); sum=$(awk -F, '{s += $2} END {print s}' "$tmp/i.csv")
    if [ "$lines" -ge 3 ] && [ "$sum" = 500 ]; then ok stat_interval
    else fail stat_interval "$lines lines summing to $sum"; fi

    # --json: perf's keys
    $K stat --json -e $GP -- $P 300 2>"$tmp/j.json"
    v=$(python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).readline()); print(d["event"], d["counter-value"], d["pcnt-running"])' "$tmp/j.json" 2>&1)
    check stat_json "$v" "$GP 300 100.0"

    if [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 0 ] || [ "$(id -u)" = 0 ]; then
        $K stat -a -x, -e $GP -- $P 800 2>"$tmp/a.csv"
        v=$(csv_value "$tmp/a.csv" $GP)
        if [ -n "$v" ] && [ "$v" -ge 800 ]; then ok stat_all_cpus; else fail stat_all_cpus "got '$v'"; fi
        if [ "$(nproc)" -ge 2 ]; then
            $K stat -C 1 -x, -e $GP -- taskset -c 1 $P 900 2>"$tmp/c.csv"
            v=$(csv_value "$tmp/c.csv" $GP)
            if [ -n "$v" ] && [ "$v" -ge 900 ]; then ok stat_cpu_list; else fail stat_cpu_list "got '$v'"; fi
        else skip stat_cpu_list "one CPU"; fi
    else
        skip stat_all_cpus "CPU-wide counting needs paranoid <= 0"
        skip stat_cpu_list "CPU-wide counting needs paranoid <= 0"
    fi
else
    for t in stat_per_thread_split stat_pid_target stat_interval stat_json stat_all_cpus stat_cpu_list; do
        skip $t "tracefs syscalls events not readable"; done
fi

# the derived columns (IPC, miss ratios) without a PMU: tracepoints counted under the
# names the ratios look for (name= of the tracepoint PMU), with exact counts: 300 getpid
# as instructions/branches/cache-references, 200 writes as cycles/branch-misses/cache-misses
if [ $have_tp = 1 ]; then
    tp() { echo "tracepoint/config=$(cat /sys/kernel/tracing/events/syscalls/$1/id),name=$2/"; }
    g=sys_enter_getpid w=sys_enter_write
    $K stat -x, -e "$(tp $g instructions),$(tp $w cycles),$(tp $g branches),$(tp $w branch-misses),$(tp $g cache-references),$(tp $w cache-misses)" \
        -- $B/progs/trace_getpid_write 300 200 2>"$tmp/dm.csv"
    check stat_derived_ratios "$(awk -F, '$6 != "" {printf "%s %s %s %s|", $1, $3, $6, $7}' "$tmp/dm.csv")" \
        "300 instructions 1.500 insn per cycle|200 branch-misses 66.667 of all branches|200 cache-misses 66.667 of all cache refs|"
else skip stat_derived_ratios "tracefs syscalls events not readable"; fi

# -I: the run-time column (CSV field 5) is per interval, as perf's: for task-clock it is
# the interval's task-clock itself (field 2, msec; both are the kernel's numbers for the
# same interval), so the run times add up to the total task-clock, not to a running sum
$K stat -I 50 -x, -e task-clock -- $B/progs/sample_busy 0.15 2>"$tmp/it.csv"
for pt in "" --per-thread; do
    [ "$pt" ] && $K stat --per-thread -I 50 -x, -e task-clock -- $B/progs/sample_busy 0.15 2>"$tmp/it.csv"
    f=$([ "$pt" ] && echo 1 || echo 0) # --per-thread adds the thread column
    r=$(awk -F, -v f=$f '$(4 + f) == "task-clock" { n++; run = $(5 + f); v = $(2 + f) * 1e6;
        d = run - v; if (d < 0) d = -d; if (d > 0.01 * v + 50000) bad++; sr += run; sv += v }
        END { printf "%d %d %.3f\n", (n >= 2), bad + 0, sv ? sr / sv : 0 }' "$tmp/it.csv")
    case "$r" in "1 0 "0.99*|"1 0 1.00"*) ok "stat_interval_run_time${pt:+_per_thread}" ;;
        *) fail "stat_interval_run_time${pt:+_per_thread}" "rows>=2, bad rows, sum(run)/sum(value): $r: $(head -3 "$tmp/it.csv" | tr '\n' '|')" ;; esac
done

# human output: perf's layout
$K stat -e task-clock,page-faults -- true 2>"$tmp/h.txt"
if grep -q "Performance counter stats for 'true':" "$tmp/h.txt" && grep -q " msec  *task-clock" "$tmp/h.txt" \
    && grep -q "seconds time elapsed" "$tmp/h.txt"; then ok stat_human_format
else fail stat_human_format "$(head -c 400 "$tmp/h.txt")"; fi

# the command's exit status comes back
$K stat -e task-clock -- sh -c 'exit 3' 2>/dev/null
check stat_exit_status $? 3

# --plan over a fake tree: one fd per line, exact
root=tests/fixtures/sysfs/intel-skx-2s
if [ -d $root ]; then
    $K stat --plan --sysfs $root -a -e '{uncore_imc_0/cas_count_read/,uncore_imc_0/cas_count_write/}' >"$tmp/plan.txt" 2>&1
    cat >"$tmp/want.txt" <<'PLAN'
event=uncore_imc_0/cas_count_read/ pmu=uncore_imc_0 type=13 config=0x304 config1=0x0 config2=0x0 cpu=0 pid=-1 leader=uncore_imc_0/cas_count_read/
event=uncore_imc_0/cas_count_write/ pmu=uncore_imc_0 type=13 config=0xc04 config1=0x0 config2=0x0 cpu=0 pid=-1 leader=uncore_imc_0/cas_count_read/
event=uncore_imc_0/cas_count_read/ pmu=uncore_imc_0 type=13 config=0x304 config1=0x0 config2=0x0 cpu=20 pid=-1 leader=uncore_imc_0/cas_count_read/
event=uncore_imc_0/cas_count_write/ pmu=uncore_imc_0 type=13 config=0xc04 config1=0x0 config2=0x0 cpu=20 pid=-1 leader=uncore_imc_0/cas_count_read/
PLAN
    if cmp -s "$tmp/plan.txt" "$tmp/want.txt"; then ok stat_plan_lines; else fail stat_plan_lines "$(diff "$tmp/want.txt" "$tmp/plan.txt" | head -5)"; fi
    n=$($K stat --plan --sysfs tests/fixtures/sysfs/kunpeng920 -a -e cycles | grep -c ' pmu=armv8_pmuv3_0 type=0 config=0x0 .* pid=-1 leader=cycles$')
    check stat_plan_all_cpus "$n" 96
else
    skip stat_plan_lines "fixtures not found"; skip stat_plan_all_cpus "fixtures not found"
fi

# errors: the message names the event and the fix; the exit status is 1
msg=$($K stat -e cycles -- true 2>&1); rc=$?
if [ $rc = 1 ] && [[ $msg == *"cycles: not supported here: no hardware PMU is exposed (virtual machine?)"* ]]; then
    ok stat_cycles_not_supported
elif ls /sys/bus/event_source/devices/ | grep -qE '^(cpu|cpu_core|armv8.*)$'; then
    skip stat_cycles_not_supported "this machine has a hardware PMU"
else fail stat_cycles_not_supported "rc $rc: $msg"; fi
msg=$($K stat -e task-clokc -- true 2>&1)
[[ $msg == *"did you mean task-clock?"* ]] && ok stat_unknown_event || fail stat_unknown_event "$msg"
msg=$($K stat -p 4999999 -e task-clock -- true 2>&1)
[[ $msg == *"pid 4999999 does not exist or exited"* ]] && ok stat_no_such_pid || fail stat_no_such_pid "$msg"

if [ "$(id -u)" != 0 ] || ! command -v setpriv >/dev/null; then
    skip stat_unprivileged "needs root and setpriv to switch to uid 65534"
elif [ "$(cat /proc/sys/kernel/perf_event_paranoid)" != 2 ]; then
    skip stat_unprivileged "perf_event_paranoid is not 2"
else
    nob="setpriv --reuid=65534 --regid=65534 --clear-groups"
    m1=$($nob $K stat -e task-clock -x, -- true 2>&1)
    m2=$($nob $K stat -a -e task-clock -- true 2>&1)
    m3=$($nob $K stat -e task-clock:k -- true 2>&1)
    m4=$($nob $K stat -p 1 -e task-clock -- true 2>&1)
    if [[ $m1 == *",msec,task-clock,"* ]] \
        && [[ $m2 == *"perf_event_paranoid is 2"*"needs 0 or lower: run \`sysctl kernel.perf_event_paranoid=0\`"* ]] \
        && [[ $m3 == *"counting kernel space (include_kernel or :k) needs 1 or lower"* ]] \
        && [[ $m4 == *"pid 1 belongs to uid 0"*"CAP_PERFMON"* ]]; then ok stat_unprivileged
    else fail stat_unprivileged "user: $m1 | -a: $m2 | :k: $m3 | -p 1: $m4"; fi
fi
