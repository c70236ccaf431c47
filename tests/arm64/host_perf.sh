#!/usr/bin/env bash
# The host's perf reads the perf.data that kperf record wrote in the arm64 guest
# (tests/arm64/test_hw_cli.sh), symbols resolved against the arm64 binary in the initramfs.
# usage: tests/arm64/host_perf.sh DIR   (DIR = build/arm64: out/hw.data, initramfs/)
A=${1:-build/arm64}
f=$A/out/hw.data
if ! command -v perf >/dev/null 2>&1; then echo "SKIP - host_perf_report: perf (linux-perf) not installed"; exit 0; fi
if [ ! -s "$f" ]; then echo "FAIL - host_perf_report: the guest wrote no perf.data ($f)"; exit 0; fi
out=$(perf report -i "$f" --symfs="$A/initramfs" --stdio --no-children --sort sym -F overhead,sym 2>&1)
top=$(echo "$out" | grep -v '^#' | grep '%' | head -1)
if echo "$top" | grep -q 'spin_fp'; then
    echo "# perf report (host): $top"
    echo "ok - host_perf_report"
else
    echo "FAIL - host_perf_report: top is not spin_fp: $(echo "$out" | head -30)"
fi
# the frame-pointer chains: perf script shows spin_fp <- level_b <- level_a in every sample
s=$(perf script -i "$f" --symfs="$A/initramfs" -F ip,sym 2>&1)
n=$(echo "$s" | grep -c 'spin_fp')
chains=$(echo "$s" | awk '/spin_fp/ {a=1; next} a==1 && /level_b/ {a=2; next} a==2 && /level_a/ {c++} {a=0} END {print c+0}')
if [ "$n" -ge 95 ] && [ "$chains" -ge $((n - 1)) ]; then
    echo "# perf script (host): $n samples in spin_fp, $chains with level_b <- level_a"
    echo "ok - host_perf_script_chains"
else
    echo "FAIL - host_perf_script_chains: $n samples in spin_fp, $chains chains; $(echo "$s" | head -20)"
fi
