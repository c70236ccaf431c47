#!/usr/bin/env bash
# pprof output (kperf_pprof_*, `kperf record --pprof`, `kperf report --pprof`) read back by
# the real reader, `go tool pprof` (Debian's golang-go): every file parses, its totals and
# stacks equal kperf's own folded output of the same recording exactly, sample types are
# right, inline chains and build-ids match addr2line and readelf.
# usage: tests/test_pprof.sh BUILD_DIR
B=${1:-build}
K=$B/kperf
PROG=$B/progs/pprof_inline
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
PY="python3 tests/pprof_raw.py"
command -v go >/dev/null || { echo "SKIP - pprof: go (golang-go) is not installed"; exit 0; }
[ -x "$PROG" ] || { echo "SKIP - pprof: $PROG not built"; exit 0; }
export GOCACHE=$T/gocache HOME=${HOME:-$T}
pp() { go tool pprof -symbolize=none "$@" 2>"$T/pprof.err"; }
check() { if [ "$1" = 0 ]; then echo "ok - $2"; else echo "FAIL - $2: $3"; fi; }

if ! "$K" record -F 2000 -g -o "$T/k.data" --pprof "$T/rec.pb.gz" --folded "$T/rec.folded" \
        -- "$PROG" 0.5 >"$T/rec.out" 2>&1; then
    echo "SKIP - pprof: kperf record failed here: $(tail -1 "$T/rec.out")"; exit 0
fi
"$K" report -i "$T/k.data" --folded >"$T/rep.folded"
"$K" report -i "$T/k.data" --pprof "$T/rep.pb.gz" >"$T/rep.table"
"$K" record -e page-faults -c 1 -g -o "$T/pf.data" --pprof "$T/pf.pb.gz" --folded "$T/pf.folded" \
    -- "$PROG" 0.01 >/dev/null 2>&1
"$K" report -i "$T/pf.data" --pprof "$T/pfrep.pb.gz" >/dev/null

# 1. every file reads with -raw and -top
bad=""
for f in rec rep pf pfrep; do
    pp -raw "$T/$f.pb.gz" >"$T/$f.raw" || bad="$bad $f.raw($(head -1 "$T/pprof.err"))"
    pp -top -sample_index=samples "$T/$f.pb.gz" >"$T/$f.top" || bad="$bad $f.top($(head -1 "$T/pprof.err"))"
done
check "$([ -z "$bad" ]; echo $?)" pprof_go_tool_reads_every_file "failed:$bad"

# 2. report --pprof equals report --folded exactly (every stack, every count)
$PY folded <"$T/rep.raw" >"$T/rep.conv"
check "$(cmp -s "$T/rep.folded" "$T/rep.conv"; echo $?)" pprof_report_equals_folded \
    "$(diff "$T/rep.folded" "$T/rep.conv" | head -5 | tr '\n' '|')"
# 3. record --pprof equals record --folded of the same run (unresolved frames as addresses)
$PY folded hex <"$T/rec.raw" >"$T/rec.conv"
check "$(cmp -s "$T/rec.folded" "$T/rec.conv"; echo $?)" pprof_record_equals_folded \
    "$(diff "$T/rec.folded" "$T/rec.conv" | head -5 | tr '\n' '|')"
# 4. totals: -top's total and the -raw sums equal the folded sample count
fsum=$(awk '{s+=$NF} END {print s+0}' "$T/rep.folded")
topsum=$(sed -n 's/.* of \([0-9]*\) total.*/\1/p' "$T/rep.top" | head -1)
rawsum=$($PY totals <"$T/rep.raw" | cut -d' ' -f1)
check "$([ "$fsum" -gt 100 ] && [ "$topsum" = "$fsum" ] && [ "$rawsum" = "$fsum" ]; echo $?)" \
    pprof_totals_equal_folded "folded $fsum, -top $topsum, -raw $rawsum"
# cpu-clock: the nanoseconds are the samples' periods (about 1e9/2000 each)
read -r n ns < <($PY totals <"$T/rep.raw")
check "$([ "$n" -gt 0 ] && [ $((ns / n)) -gt 250000 ] && [ $((ns / n)) -lt 1000000 ]; echo $?)" \
    pprof_cpu_nanoseconds "samples $n, cpu $ns ns"
# 5. sample types: cpu-clock -> samples/count cpu/nanoseconds; others -> EVENT/count
t1=$($PY types <"$T/rep.raw"); t2=$($PY types <"$T/pf.raw"); t3=$($PY types <"$T/pfrep.raw")
check "$([ "$t1" = "samples/count cpu/nanoseconds" ] && [ "$t2" = "samples/count page-faults/count" ] && [ "$t3" = "samples/count page-faults/count" ]; echo $?)" \
    pprof_sample_types "'$t1' / '$t2' / '$t3'"
grep -q '^PeriodType: cpu nanoseconds' "$T/rep.raw" && grep -q '^PeriodType: page-faults count' "$T/pf.raw"
check $? pprof_period_type "$(grep PeriodType "$T/rep.raw" "$T/pf.raw" | tr '\n' '|')"
# page-faults -c 1: every sample's value is its period, 1
pfs=$(awk '{s+=$NF} END {print s+0}' "$T/pf.folded"); read -r a b < <($PY totals <"$T/pf.raw")
check "$([ "$pfs" -gt 0 ] && [ "$a" = "$pfs" ] && [ "$b" = "$pfs" ]; echo $?)" pprof_event_counts \
    "folded $pfs, pprof samples $a, page-faults $b"
# 6. the hot function on top, named
top=$(awk '/flat%/ {getline; print $6; exit}' "$T/rep.top")
check "$([ "$top" = pp_leaf ]; echo $?)" pprof_top_function "top '$top', expected pp_leaf"
# 7. inline chain: one location, Lines pp_leaf then pp_outer, as addr2line -i says
read -r addr mstart moff mfile lines < <($PY inline pp_leaf <"$T/rec.raw")
if [ -z "${addr:-}" ]; then
    echo "FAIL - pprof_inline_lines: no location with pp_leaf inlined into a caller"
else
    vaddr=$(readelf -lW "$PROG" | python3 -c '
import sys
off = int(sys.argv[1])
for l in sys.stdin:
    f = l.split()
    if f and f[0] == "LOAD" and int(f[1], 16) <= off < int(f[1], 16) + int(f[4], 16):
        print(hex(off - int(f[1], 16) + int(f[2], 16))); break' $((0x$addr - 0x$mstart + 0x$moff)))
    want=$(addr2line -f -i -e "$PROG" "$vaddr" | paste - - | awk '{n = split($2, a, ":"); sub(/ .*/, "", a[n]); printf "%s%s:%s", (NR > 1 ? " " : ""), $1, a[n]}')
    check "$([ "$lines" = "$want" ] && [ "${mfile##*/}" = pprof_inline ]; echo $?)" \
        pprof_inline_lines "pprof '$lines', addr2line -i '$want' at $vaddr"
fi
# 8. the mapping carries the build-id readelf reports; the comment names the command
want=$(readelf -n "$PROG" | sed -n 's/.*Build ID: *\([0-9a-f]*\).*/\1/p')
mf=$(awk '/^Mappings/ {getline; print $3; exit}' "$T/rec.raw")
got=$($PY buildid "$mf" <"$T/rec.raw")
check "$([ -n "$want" ] && [ "$got" = "$want" ] && [ "${mf##*/}" = pprof_inline ]; echo $?)" \
    pprof_mapping_build_id "main mapping '$mf' build-id '$got', readelf '$want'"
grep -q "^Comment: kperf record .*pprof_inline 0.5" "$T/rec.raw"
check $? pprof_comment_names_command "$(grep Comment "$T/rec.raw")"
# 9. bad input: an unwritable path fails with a message, the tool exits non-zero
"$K" report -i "$T/k.data" --pprof /nonexistent/dir/x.pb.gz >/dev/null 2>"$T/err"; rc=$?
check "$([ $rc -ne 0 ] && grep -Eq 'cannot (write|create) /nonexistent/dir/x.pb.gz' "$T/err"; echo $?)" \
    pprof_unwritable_path "rc $rc: $(cat "$T/err")"
# 10. several events: one value column each, totals equal perf script's per-event sums
if command -v perf >/dev/null; then
    "$K" record -e cpu-clock,page-faults -F 1000 -g -o "$T/me.data" -- "$PROG" 0.3 >/dev/null 2>&1
    "$K" report -i "$T/me.data" --pprof "$T/me.pb.gz" >/dev/null
    pp -raw "$T/me.pb.gz" >"$T/me.raw"
    types=$($PY types <"$T/me.raw"); got=$($PY totals <"$T/me.raw")
    want=$(perf script -i "$T/me.data" -F period,event 2>/dev/null | python3 -c '
import re, sys
n, v = 0, {"cpu-clock": 0, "page-faults": 0}
for l in sys.stdin:
    m = re.match(r"^\s*(\d+)\s+([a-z-]+):", l)
    if m and m.group(2) in v:
        n += 1; v[m.group(2)] += int(m.group(1))
print(n, v["cpu-clock"], v["page-faults"])')
    check "$([ "$types" = "samples/count cpu/nanoseconds page-faults/count" ] && [ "$got" = "$want" ]; echo $?)" \
        pprof_events_columns_match_perf_script "types '$types', pprof '$got', perf script '$want'"
else
    echo "SKIP - pprof_events_columns_match_perf_script: perf is not installed"
fi
# 11. off-CPU time (record --off-cpu): samples/count and wall/nanoseconds, the same stacks
# and time as the folded output of the same run (which counts whole microseconds; a frame
# no symbol names, such as one in a stripped ld.so while it starts the program, is its raw
# address in both)
SL=$B/progs/sleeper
if [ -x "$SL" ] && "$K" record --off-cpu --folded "$T/off.folded" --pprof "$T/off.pb.gz" -- "$SL" 4 30 >/dev/null 2>&1; then
    pp -raw "$T/off.pb.gz" >"$T/off.raw"
    types=$($PY types <"$T/off.raw"); read -r n ns < <($PY totals <"$T/off.raw")
    us=$(awk '{s+=$NF} END {print s+0}' "$T/off.folded")
    $PY folded hex <"$T/off.raw" | sed 's/ [0-9]*$//' | sort >"$T/off.stacks"
    sed 's/ [0-9]*$//' "$T/off.folded" | sort >"$T/off.want"
    check "$([ "$types" = "samples/count wall/nanoseconds" ] && [ "$((ns / 1000))" -ge "$us" ] &&
             [ "$((ns / 1000))" -le "$((us + n))" ] && [ "$us" -ge 120000 ] &&
             cmp -s "$T/off.stacks" "$T/off.want"; echo $?)" pprof_off_cpu_wall_time \
        "types '$types', pprof $ns ns in $n samples, folded $us us; stacks $(diff "$T/off.want" "$T/off.stacks" | head -3 | tr '\n' '|')"
else
    echo "SKIP - pprof_off_cpu_wall_time: $SL not built or --off-cpu recording failed here"
fi
