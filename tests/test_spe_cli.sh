#!/usr/bin/env bash
# kperf spe-decode / spe-record from the command line: every SPE fixture decodes to its
# .records.txt and (with --packets) .expected.txt byte for byte; damage is reported.
B=${1:-build}
K=$B/kperf
F=../shared/fixtures/spe
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
