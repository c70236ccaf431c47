#!/usr/bin/env bash
# kperf spe-decode / spe-record from the command line: every SPE fixture decodes to its
# .records.txt and (with --packets) .expected.txt byte for byte; damage is reported.
B=${1:-build}
K=$B/kperf
F=tests/fixtures/spe
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
for bin in "$F"/*.bin; do
    name=$(basename "$bin" .bin)
    if "$K" spe-decode "$bin" >"$T/rec" 2>"$T/err" && cmp -s "$T/rec" "$F/$name.records.txt"; then
        echo "ok - spe_decode_records_$name"
    else
        echo "FAIL - spe_decode_records_$name: $(diff "$T/rec" "$F/$name.records.txt" | head -3 | tr '\n' ' ') $(cat "$T/err")"
    fi
    if "$K" spe-decode --packets "$bin" >"$T/pkt" 2>"$T/err" && cmp -s "$T/pkt" "$F/$name.expected.txt"; then
        echo "ok - spe_decode_packets_$name"
    else
        echo "FAIL - spe_decode_packets_$name: $(diff "$T/pkt" "$F/$name.expected.txt" | head -3 | tr '\n' ' ') $(cat "$T/err")"
    fi
done
# stdin works the same
if "$K" spe-decode - <"$F/wperf_b1_ts1.bin" | cmp -s - "$F/wperf_b1_ts1.records.txt"; then
    echo "ok - spe_decode_stdin"
else
    echo "FAIL - spe_decode_stdin: output differs from the file form"
fi
# an unknown byte inside a record, then a cut packet at the end
printf '\xb0\x00\x10\x00\x00\x00\x00\x00\x80\xff\x98\x03\x00\x01\xb2\x01\x02' >"$T/dmg.bin"
"$K" spe-decode "$T/dmg.bin" >"$T/out" 2>&1
want='# complete records (terminated by TS or END); perf-style kernel address fix-ups applied
# damaged record at 0x00000000 (cut by an unknown byte): pc pc_el pc_ns
rec0 lat_tot=3 end=END
# skipped 1 unknown bytes
# dropped 3 bytes of a packet cut by the end of the data'
if [ "$(cat "$T/out")" = "$want" ]; then echo "ok - spe_decode_damage_reported"; else echo "FAIL - spe_decode_damage_reported: got: $(tr '\n' '|' <"$T/out")"; fi
"$K" spe-decode --packets "$T/dmg.bin" >"$T/out" 2>&1
if grep -q '^00000009  ff  *BAD (unknown header byte)$' "$T/out" && grep -q '^0000000e  b2 01 02  *TRUNCATED (3 of 9 bytes)$' "$T/out"; then
    echo "ok - spe_decode_packets_bad_and_truncated"
else
    echo "FAIL - spe_decode_packets_bad_and_truncated: got: $(tr '\n' '|' <"$T/out")"
fi
# errors: a missing file names it; no file is a usage error
"$K" spe-decode "$T/nope.bin" >/dev/null 2>"$T/err"; rc=$?
if [ $rc = 1 ] && grep -q "nope.bin" "$T/err"; then echo "ok - spe_decode_missing_file"; else echo "FAIL - spe_decode_missing_file: rc=$rc $(cat "$T/err")"; fi
"$K" spe-decode >/dev/null 2>&1; rc=$?
if [ $rc = 2 ]; then echo "ok - spe_decode_usage"; else echo "FAIL - spe_decode_usage: rc=$rc"; fi
# time conversion option: ts * 3 / 2 + 1000 (shift 1, mult 3)
out=$("$K" spe-decode --time-zero 1000 --time-mult 3 --time-shift 1 "$F/wperf_b1_ts1.bin" | sed -n 2p)
want_t=$(( 3913207673451 / 2 * 3 + 1000 + (3913207673451 % 2) * 3 / 2 ))
case "$out" in *" time=$want_t") echo "ok - spe_decode_perf_time";; *) echo "FAIL - spe_decode_perf_time: $out (want time=$want_t)";; esac
# spe-record --plan over the fake trees: attr words derived by hand from format/
S=tests/fixtures/sysfs
out=$("$K" spe-record --plan --sysfs $S/kunpeng920 --filter all --event-filter retired,l1d-refill --min-latency 100 2>&1)
first=$(printf '%s\n' "$out" | head -1)
want='event=arm_spe_0/ts_enable=1,pa_enable=1,pct_enable=1,jitter=1,branch_filter=1,load_filter=1,store_filter=1,event_filter=0xa,min_latency=100/ pmu=arm_spe_0 type=9 config=0x700010007 config1=0xa config2=0x64 cpu=0 pid=-1 leader=arm_spe_0/ts_enable=1,pa_enable=1,pct_enable=1,jitter=1,branch_filter=1,load_filter=1,store_filter=1,event_filter=0xa,min_latency=100/'
if [ "$first" = "$want" ] && [ "$(printf '%s\n' "$out" | wc -l)" = 96 ]; then echo "ok - spe_record_plan_kunpeng920"; else echo "FAIL - spe_record_plan_kunpeng920: $first"; fi
out=$("$K" spe-record --plan --sysfs $S/kunpeng920b --inv-event-filter mispred --discard --filter load -C 5 2>&1)
want='event=arm_spe_0/load_filter=1,inv_event_filter=0x80,discard=1/ pmu=arm_spe_0 type=9 config=0xa00000000 config1=0x0 config2=0x0 cpu=5 pid=-1 leader=arm_spe_0/load_filter=1,inv_event_filter=0x80,discard=1/'
if [ "$out" = "$want" ]; then echo "ok - spe_record_plan_kunpeng920b"; else echo "FAIL - spe_record_plan_kunpeng920b: $out"; fi
out=$("$K" spe-record --plan --sysfs $S/kunpeng920 -p 4321 --data-filter 0x10000 2>&1)
case "$out" in *"config=0x10000 config1=0x0 config2=0x0 cpu=-1 pid=4321 "*) echo "ok - spe_record_plan_per_task";; *) echo "FAIL - spe_record_plan_per_task: $out";; esac
"$K" spe-record --plan --sysfs $S/kunpeng920 --inv-event-filter 2 >/dev/null 2>"$T/err"; rc=$?
if [ $rc = 1 ] && grep -q "arm_spe_0 has no format field 'inv_event_filter'" "$T/err"; then echo "ok - spe_record_missing_field_named"; else echo "FAIL - spe_record_missing_field_named: rc=$rc $(cat "$T/err")"; fi
if ls /sys/bus/event_source/devices/ 2>/dev/null | grep -q '^arm_spe_'; then
    echo "SKIP - spe_record_no_spe_here: this machine has SPE"
else
    "$K" spe-record --duration 0.1 >/dev/null 2>"$T/err"; rc=$?
    if [ $rc = 1 ] && grep -q "no arm_spe PMU on this machine" "$T/err"; then echo "ok - spe_record_no_spe_here"; else echo "FAIL - spe_record_no_spe_here: rc=$rc $(cat "$T/err")"; fi
fi
"$K" spe-record --sysfs $S/kunpeng920 --duration 0.1 >/dev/null 2>"$T/err"; rc=$?
if [ $rc = 1 ] && grep -q "fake sysfs tree" "$T/err"; then echo "ok - spe_record_fake_tree_not_opened"; else echo "FAIL - spe_record_fake_tree_not_opened: rc=$rc $(cat "$T/err")"; fi
# the plan is the counting section's: kperf stat --plan prints the same lines for the same spec
a=$("$K" spe-record --plan --sysfs $S/kunpeng920 --filter ts,pa --event-filter 0xa --min-latency 100 2>&1)
b=$("$K" stat --plan --sysfs $S/kunpeng920 -a -e 'arm_spe_0/ts_enable=1,pa_enable=1,event_filter=0xa,min_latency=100/' 2>&1)
if [ -n "$a" ] && [ "$a" = "$b" ]; then echo "ok - spe_record_plan_matches_stat_plan"; else echo "FAIL - spe_record_plan_matches_stat_plan: $(diff <(echo "$a") <(echo "$b") | head -3 | tr '\n' ' ')"; fi
