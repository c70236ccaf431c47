#!/usr/bin/env bash
# Symbolization of arm64 binaries, checked on the host: (1) the host's kperf on the
# cross-built fixture build/arm64/x/progs/sym_fixture (gcc -O2 -g, inlines) against
# aarch64-linux-gnu-addr2line and llvm-symbolizer (tests/sym_oracle.py, 1000 random text
# addresses); (2) what the arm64 kperf printed in the guest for every 4th byte of the
# fixture's functions (out/sym.txt) is byte for byte what the host's kperf prints.
# usage: tests/arm64/host_symbolize.sh DIR   (DIR = build/arm64)
A=${1:-build/arm64}
S=$A/x/progs/sym_fixture
K=$(dirname "$A")/kperf
if [ ! -x "$K" ]; then echo "SKIP - host_symbolize: the host's kperf ($K) is not built (make tool)"; exit 0; fi
if ! command -v aarch64-linux-gnu-addr2line >/dev/null; then echo "SKIP - host_symbolize: aarch64-linux-gnu-addr2line missing (binutils-aarch64-linux-gnu)"; exit 0; fi
SYM_ORACLE_BINUTILS=aarch64-linux-gnu- python3 tests/sym_oracle.py "$K" "$S" arm64_sym_fixture 1000
if [ ! -s "$A/out/sym.txt" ]; then echo "FAIL - host_symbolize_guest: the guest wrote no out/sym.txt"; exit 0; fi
"$K" symbolize -e "$S" -a -f -i -C <"$S.addrs" >"$A/out/sym.host.txt" 2>&1
n=$(wc -l <"$S.addrs")
if cmp -s "$A/out/sym.txt" "$A/out/sym.host.txt"; then
    echo "# $n addresses: the guest's arm64 kperf and the host's kperf print the same $(wc -l <"$A/out/sym.txt") lines"
    echo "ok - host_symbolize_guest_same"
else
    echo "FAIL - host_symbolize_guest_same: the guest and the host differ on $S:"
    diff "$A/out/sym.txt" "$A/out/sym.host.txt" | head -20
fi
# the function names of the guest's answers against aarch64-linux-gnu-addr2line's
g=$(grep -c . "$A/out/sym.txt")
aarch64-linux-gnu-addr2line -e "$S" -a -f -i -C <"$S.addrs" >"$A/out/sym.a2l.txt" 2>&1
fn_k=$(awk '/^0x/ { getline f; print f }' "$A/out/sym.txt" | md5sum)
fn_g=$(awk '/^0x/ { getline f; print f }' "$A/out/sym.a2l.txt" | md5sum)
if [ "$fn_k" = "$fn_g" ] && [ "$g" -gt 0 ]; then
    echo "ok - host_symbolize_guest_functions"
else
    echo "FAIL - host_symbolize_guest_functions: innermost function names differ from aarch64-linux-gnu-addr2line:"
    diff <(awk '/^0x/ { a = $0; getline f; print a, f }' "$A/out/sym.txt") <(awk '/^0x/ { a = $0; getline f; print a, f }' "$A/out/sym.a2l.txt") | head -10
fi
