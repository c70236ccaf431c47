#!/usr/bin/env bash
# perf.data written by `kperf record`, read by perf 6.1 (report, script, report -g) and by
# `kperf report`. usage: tests/test_perfdata.sh BUILD_DIR
B=${1:-build}
K=$B/kperf
BUSY=$B/progs/sample_busy
T=$(mktemp -d /tmp/kperf_perfdata.XXXXXX)
trap 'rm -rf "$T"' EXIT
ok() { echo "ok - $1"; }
fail() { echo "FAIL - $1: $2"; }
skip() { echo "SKIP - $1: $2"; }

if [ ! -x "$K" ] || [ ! -x "$BUSY" ]; then
    fail setup "$K or $BUSY not built"
    exit 1
fi
HAVE_PERF=1
command -v perf >/dev/null 2>&1 || HAVE_PERF=0

# the top symbol of `perf report` (first non-comment line's last field)
perf_top() { perf report -i "$1" --stdio --no-children --sort sym 2>"$2" | grep -v '^#' | grep -v '^$' | head -1 | awk '{print $NF}'; }
# the most frequent leaf symbol in `perf script` output
script_top() { perf script -i "$1" -F ip,sym -G 2>"$2" | awk 'NF >= 2 {print $2}' | sort | uniq -c | sort -rn | head -1 | awk '{print $2}'; }
no_warnings() { ! grep -qiE 'warn|error|fail|corrupt|unknown|unsupported|skipp' "$1"; }

# 1. record a command
if "$K" record -F 1000 -g -o "$T/k.data" -- "$BUSY" 0.5 2>"$T/rec.err"; then
    n=$(grep -o '[0-9]* samples' "$T/rec.err" | awk '{print $1}')
    if [ "${n:-0}" -ge 400 ] && [ -s "$T/k.data" ]; then ok record_command; else fail record_command "$(cat "$T/rec.err")"; fi
else
    fail record_command "$(cat "$T/rec.err")"
fi

if [ $HAVE_PERF = 1 ]; then
    # 2. perf report and perf script agree with perf record on the top function, silently
    perf record -q -e cpu-clock -F 1000 -g -o "$T/p.data" -- "$BUSY" 0.5 >/dev/null 2>&1
    ptop=$(perf_top "$T/p.data" /dev/null)
    ktop=$(perf_top "$T/k.data" "$T/rep.err")
    if [ "$ktop" = sample_hot ] && [ "$ktop" = "$ptop" ] && no_warnings "$T/rep.err"; then
        ok perf_report_top_function
    else
        fail perf_report_top_function "kperf file top '$ktop', perf record top '$ptop', stderr: $(head -3 "$T/rep.err")"
    fi
    stop=$(script_top "$T/k.data" "$T/script.err")
    pstop=$(script_top "$T/p.data" /dev/null)
    if [ "$stop" = sample_hot ] && [ "$stop" = "$pstop" ] && no_warnings "$T/script.err"; then
        ok perf_script_top_function
    else
        fail perf_script_top_function "kperf file '$stop', perf's '$pstop', stderr: $(head -3 "$T/script.err")"
    fi
    # 3. call graphs: the hot function's caller appears under it
    perf report -i "$T/k.data" --stdio -g 2>"$T/g.err" >"$T/g.out"
    if grep -q sample_caller "$T/g.out" && grep -q 'main' "$T/g.out" && no_warnings "$T/g.err"; then
        ok perf_report_callgraph
    else
        fail perf_report_callgraph "$(head -5 "$T/g.err")"
    fi
    # 4. the header: event name from EVENT_DESC, ids, sample_id_all
    perf report -i "$T/k.data" --header-only 2>/dev/null >"$T/h.out"
    if grep -q 'event : name = cpu-clock' "$T/h.out" && grep -q 'id = {' "$T/h.out"; then
        ok perf_header_event_desc
    else
        fail perf_header_event_desc "$(grep event "$T/h.out")"
    fi
    # 5. build id record of the binary matches its ELF note
    want=$(readelf -n "$BUSY" 2>/dev/null | awk '/Build ID/ {print $3}')
    got=$(perf script -i "$T/k.data" -D 2>/dev/null | grep -c 'PERF_RECORD_BUILD_ID')
    if [ -n "$want" ] && [ "$got" -ge 1 ] && perf script -i "$T/k.data" --show-mmap-events 2>/dev/null | grep -q sample_busy; then
        ok build_id_records
    else
        fail build_id_records "want $want, $got BUILD_ID records"
    fi
    # 6. an already-running process (-p): synthesized COMM and MMAP2 from /proc
    "$BUSY" 2 & bp=$!
    sleep 0.3
    "$K" record -g -p $bp -o "$T/pid.data" -- sleep 0.5 2>/dev/null
    kill $bp 2>/dev/null; wait $bp 2>/dev/null
    ptop=$(perf_top "$T/pid.data" "$T/pid.err")
    pcomm=$(perf report -i "$T/pid.data" --stdio --sort comm 2>/dev/null | grep -v '^#' | grep -v '^$' | head -1 | awk '{print $2}')
    if [ "$ptop" = sample_hot ] && [ "$pcomm" = sample_busy ] && no_warnings "$T/pid.err"; then
        ok record_running_pid
    else
        fail record_running_pid "top '$ptop' comm '$pcomm': $(head -3 "$T/pid.err")"
    fi
    # 6b. kperf report reads perf's own (seekable) perf.data too
    rtop=$("$K" report -i "$T/p.data" -n 1 2>"$T/rp.err" | grep -v '^#' | head -1 | awk '{print $4}')
    if [ "$rtop" = sample_hot ]; then ok kperf_report_reads_perf_file; else fail kperf_report_reads_perf_file "top '$rtop': $(cat "$T/rp.err")"; fi
else
    skip perf_tools "perf is not installed"
fi

# 7. kperf report reads it back: names from kperf_symbols.h, and with --addresses the hot
#    address lies inside sample_hot's range from nm
top=$("$K" report -i "$T/k.data" -n 1 | grep -v '^#' | head -1 | awk '{print $4}')
read lo size < <(nm -S "$BUSY" | awk '$4 == "sample_hot" {print $1, $2}')
atop=$("$K" report -i "$T/k.data" -n 1 --addresses | grep -v '^#' | head -1 | awk '{print $4}')
off=$(( 16#${atop##*+0x} ))
total=$("$K" report -i "$T/k.data" --sort total | awk '$4 == "sample_caller" {print $2}')
# sample_caller is on every stack of the busy loop; a sample or two may land in ld.so
# before main (perf report shows the same), hence >= 99% rather than exactly 100%
if [ "$top" = sample_hot ] && [[ "$atop" == sample_busy+0x* ]] && [ $off -ge $((16#$lo)) ] &&
   [ $off -lt $((16#$lo + 16#$size)) ] && awk -v t="${total%\%}" 'BEGIN { exit !(t >= 99) }'; then
    ok kperf_report_top
else
    fail kperf_report_top "top '$top', address '$atop' vs sample_hot at $lo+$size, caller total '$total'"
fi

# 8. folded stacks: one line per stack, counts add up to the samples
"$K" record -F 1000 -g --folded "$T/out.folded" -- "$BUSY" 0.3 2>"$T/f.err"
n=$(grep -o '[0-9]* samples' "$T/f.err" | awk '{print $1}')
sum=$(awk '{s += $NF} END {print s+0}' "$T/out.folded")
bad=$(grep -cvE '^[^ ]+ [0-9]+$' "$T/out.folded")
if [ -n "$n" ] && [ "$sum" = "$n" ] && [ "$bad" = 0 ] && grep -q '^sample_busy;.*main;sample_caller;sample_hot [0-9]' "$T/out.folded"; then
    ok folded_output
else
    fail folded_output "samples $n, folded sum $sum, $bad malformed lines"
fi

# 8b. a file of two events: the report header names both
"$K" record -e cpu-clock,task-clock -F 500 -o "$T/two.data" -- "$BUSY" 0.2 2>/dev/null
hdr=$("$K" report -i "$T/two.data" -n 1 2>&1 | head -1)
case "$hdr" in
*"samples of cpu-clock,task-clock in"*) ok report_header_every_event ;;
*) fail report_header_every_event "header: $hdr" ;;
esac

# 9. a corrupt file is an error, not a crash
head -c 700 "$T/k.data" > "$T/trunc.data"
printf '\x10\x00\x00\x00\x00\x00\x03\x00' >> "$T/trunc.data"
"$K" report -i "$T/trunc.data" >/dev/null 2>"$T/c.err"; rc=$?
if [ $rc = 1 ] && grep -q 'kperf report:' "$T/c.err"; then ok corrupt_file_error; else fail corrupt_file_error "rc $rc: $(cat "$T/c.err")"; fi

# 10. the self-profiling example names its own hot functions every second
if [ -x "$B/examples/self_profile" ]; then
    "$B/examples/self_profile" 2 >"$T/sp.out" 2>&1
    if grep -q '^second 2:' "$T/sp.out" && grep -q 'work_sqrt' "$T/sp.out" && grep -q 'work_hash' "$T/sp.out"; then
        ok self_profile_example
    else
        fail self_profile_example "$(head -8 "$T/sp.out")"
    fi
else
    fail self_profile_example "$B/examples/self_profile not built"
fi
