#!/usr/bin/env bash
# Dynamic probes through the uprobe PMU: `kperf stat -e 'uprobe:func@"FILE"'` counts every
# call of a function called exactly N times (uretprobe: every return), names resolved by
# kperf_symbols.h; USDT probes (usdt:provider:name@"FILE") with their semaphores; a
# missing symbol, probe or file is a clear error.
B=${1:-build}
K=$B/kperf
P=$B/progs/probe_calls
ok() { echo "ok - $1"; }
fail() { echo "FAIL - $1: $2"; }
skip() { echo "SKIP - $1: $2"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', expected '$3'"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ ! -r /sys/bus/event_source/devices/uprobe/type ]; then
    skip uprobe_counts "no uprobe PMU (/sys/bus/event_source/devices/uprobe)"
    exit 0
fi
val() { awk -F, -v e="$2" '$3 == e { print $1 }' "$1"; }
$K stat -x, -e "uprobe:probe_target@\"$P\",uretprobe:probe_target@\"$P\",uprobe:main@\"$P\"" \
    -- $P 1234 2>"$tmp/s.csv"
check uprobe_counts_calls "$(val "$tmp/s.csv" "uprobe:probe_target@\"$P\"")" 1234
check uretprobe_counts_returns "$(val "$tmp/s.csv" "uretprobe:probe_target@\"$P\"")" 1234
check uprobe_main_once "$(val "$tmp/s.csv" "uprobe:main@\"$P\"")" 1
# an offset written by hand: the symbol's file offset from nm/readelf equals ours
if command -v nm >/dev/null && command -v readelf >/dev/null; then
    addr=$(nm "$P" | awk '$3 == "probe_target" { print $1 }')
    a=$((16#$addr)); off=
    while read -r o v f; do
        if [ $a -ge $((v)) ] && [ $a -lt $((v + f)) ]; then off=$(printf '0x%x' $((a - v + o))); fi
    done < <(readelf -lW "$P" | awk '$1 == "LOAD" { print $2, $3, $5 }')
    $K stat -x, -e "uprobe:$off@\"$P\"" -- $P 77 2>"$tmp/o.csv"
    check uprobe_offset_form "$(val "$tmp/o.csv" "uprobe:$off@\"$P\"")" 77
else
    skip uprobe_offset_form "binutils (nm, readelf) not installed"
fi
$K stat -x, -e "uprobe:nosuch_fn@\"$P\"" -- $P 1 2>"$tmp/e1"; rc=$?
check uprobe_missing_symbol "$rc $(cat "$tmp/e1")" \
    "1 kperf stat: nosuch_fn: no function 'nosuch_fn' defined in $P (.symtab/.dynsym)"
$K stat -e 'uprobe:main@"/no/such/file"' -- true 2>"$tmp/e2"; rc=$?
check uprobe_missing_file "$rc $(cat "$tmp/e2")" \
    "1 kperf stat: uprobe:main@\"/no/such/file\": /no/such/file is not a regular file"
$K stat -e "uprobe:probe_target@\"$P\"//key=x/" -- true 2>"$tmp/e3"; rc=$?
check uprobe_field_attr_refused "$rc" 1
grep -q 'needs fields' "$tmp/e3" && ok uprobe_field_attr_message || fail uprobe_field_attr_message "$(cat "$tmp/e3")"

# USDT (<sys/sdt.h> probes, from .note.stapsdt): kperftest:tick fires exactly 1000 times;
# kperftest:guarded only while its semaphore is set, which the kernel does for the probe's
# uprobe (ref_ctr_offset): exactly 77 with kperf, and the program sees the semaphore at 1
U=$B/progs/usdt_probes
if ! "$U" 0 0 >/dev/null 2>&1; then
    skip usdt_counts "tests/progs/usdt_probes built without <sys/sdt.h> (systemtap-sdt-dev)"
else
    $K stat -x, -e "usdt:kperftest:tick@\"$U\"" -e "usdt:kperftest:guarded@\"$U\"" -- $U 1000 77 \
        >"$tmp/u.out" 2>"$tmp/u.csv"
    check usdt_counts "$(val "$tmp/u.csv" "usdt:kperftest:tick@\"$U\"") $(val "$tmp/u.csv" "usdt:kperftest:guarded@\"$U\"")" "1000 77"
    check usdt_semaphore "$(cat "$tmp/u.out") / $("$U" 0 0)" "guarded semaphore 1 / guarded semaphore 0"
    $K stat -e "usdt:kperftest:nope@\"$U\"" -- $U 1 1 2>"$tmp/e5" >/dev/null; rc=$?
    check usdt_missing_probe "$rc $(cat "$tmp/e5")" \
        "1 kperf stat: usdt:kperftest:nope@\"$U\": no probe kperftest:nope in $U (it has: kperftest:tick kperftest:guarded)"
    $K stat -e "usdt:kperftest:tick@\"tests/test_probes.sh\"" -- true 2>"$tmp/e6"; rc=$?
    check usdt_not_elf "$rc $(cat "$tmp/e6")" \
        "1 kperf stat: usdt:kperftest:tick@\"tests/test_probes.sh\": tests/test_probes.sh: not a 64-bit ELF file of this machine's byte order"
fi
