#!/usr/bin/env bash
# kperf list --metrics and kperf stat -M over the fake sysfs trees, and the "no PMU" error
# on this machine. usage: tests/test_device_cli.sh BUILD_DIR (from the repository root)
B=${1:-build}
K=$B/kperf
FX=tests/fixtures/sysfs
ok() { echo "ok - $1"; }
fail() { echo "FAIL - $1: $2"; }

# The metric names kperf list --metrics prints for a tree (first column, no '#' lines).
names() { "$K" list --metrics --sysfs "$FX/$1" 2>/dev/null | awk '!/^#/ {print $1}' | tr '\n' ' '; }

check_list() {
    local tree=$1 want=$2 got
    got=$(names "$tree")
    [ "$got" = "$want" ] && ok "list_metrics_$tree" || fail "list_metrics_$tree" "got '$got'"
}
check_list kunpeng920 "DDR_READ_BW DDR_WRITE_BW DDR_BW L3_TRAFFIC L3_MISS L3_REF SMMU_TRAN HHA_CROSS_NUMA HHA_CROSS_SOCKET "
check_list kunpeng920b "DDR_READ_BW DDR_WRITE_BW DDR_BW L3_TRAFFIC L3_MISS L3_REF L3_LAT PCIE_RX_MRD_BW PCIE_RX_MWR_BW PCIE_TX_MRD_BW PCIE_TX_MWR_BW PCIE_RX_MRD_LAT PCIE_RX_MWR_LAT PCIE_TX_MRD_LAT SMMU_TRAN HHA_CROSS_NUMA HHA_CROSS_SOCKET "
check_list intel-skx-2s "DDR_READ_BW DDR_WRITE_BW DDR_BW L3_TRAFFIC L3_MISS L3_REF "
check_list amd-zen3-2s "DDR_BW L3_TRAFFIC L3_MISS L3_REF "

out=$("$K" list --metrics --sysfs $FX/kunpeng920b 2>&1)
if grep -q '^# PCIe devices (--bdf): 0000:31:00.0$' <<<"$out" &&
    grep -q '^DDR_READ_BW  *MiB/s  *per-channel  *hisi_sccl1_ddrc0_0 \.\.\.  *8 PMUs' <<<"$out"; then
    ok list_metrics_details
else
    fail list_metrics_details "$(head -3 <<<"$out")"
fi

# --plan: the events behind PCIE_RX_MRD_BW on kunpeng920b, in the counting plan format.
# hisi_pcie0_core0 type 28 cpumask 0; endpoint 0000:31:00.0 -> bdf 0x3100 in config2:16-31.
want='# PCIE_RX_MRD_BW: per-bdf, B/ns
event=hisi_pcie0_core0/event=0x0804,bdf=0x3100/ pmu=hisi_pcie0_core0 type=28 config=0x804 config1=0x0 config2=0x31000000 cpu=0 pid=-1 leader=hisi_pcie0_core0/event=0x0804,bdf=0x3100/
event=hisi_pcie0_core0/event=0x10804,bdf=0x3100/ pmu=hisi_pcie0_core0 type=28 config=0x10804 config1=0x0 config2=0x31000000 cpu=0 pid=-1 leader=hisi_pcie0_core0/event=0x0804,bdf=0x3100/'
got=$("$K" stat -M PCIE_RX_MRD_BW --bdf 31:00.0 --plan --sysfs $FX/kunpeng920b 2>&1)
[ "$got" = "$want" ] && ok stat_plan_pcie || fail stat_plan_pcie "$got"

# -M with two metrics and an instance-less raw event: uncore_imc_0..5 x cpumask 0,20.
got=$("$K" stat -M DDR_READ_BW,DDR_WRITE_BW -e uncore_imc/cas_count_write/ --plan --sysfs $FX/intel-skx-2s 2>&1)
n_ev=$(grep -c '^event=' <<<"$got")
n_cpu20=$(grep -c ' cpu=20 pid=-1 ' <<<"$got")
if [ "$n_ev" = 36 ] && [ "$n_cpu20" = 18 ] &&
    grep -q '^event=uncore_imc_5/event=0x04,umask=0x0c/ pmu=uncore_imc_5 type=18 config=0xc04 config1=0x0 config2=0x0 cpu=20 pid=-1 ' <<<"$got" &&
    grep -q '^# uncore_imc/cas_count_write/: per-pmu, MiB$' <<<"$got"; then
    ok stat_plan_intel
else
    fail stat_plan_intel "$n_ev events, $n_cpu20 on cpu 20: $(head -3 <<<"$got")"
fi

# The AMD split event format through the CLI: 0x107 -> config bit 32.
got=$("$K" stat -MDDR_BW --plan --sysfs $FX/amd-zen3-2s 2>&1 | grep -c 'config=0x100003807 .* cpu=\(0\|64\) ')
[ "$got" = 2 ] && ok stat_plan_amd || fail stat_plan_amd "$got lines with config=0x100003807"

# Errors: unknown metric, no device, on a tree.
err=$("$K" stat -M NOPE --plan --sysfs $FX/kunpeng920 2>&1); rc=$?
[ $rc = 1 ] && grep -q "unknown metric 'NOPE'" <<<"$err" && ok stat_unknown_metric || fail stat_unknown_metric "rc=$rc $err"
err=$("$K" stat -M PCIE_RX_MRD_BW --bdf 0000:99:00.0 --plan --sysfs $FX/kunpeng920b 2>&1); rc=$?
[ $rc = 1 ] && grep -q "device 0000:99:00.0 is not behind" <<<"$err" && ok stat_bad_bdf || fail stat_bad_bdf "rc=$rc $err"
err=$("$K" stat -M L3_LAT --plan --sysfs $FX/intel-skx-2s 2>&1); rc=$?
[ $rc = 1 ] && grep -q "L3_LAT: no L3 cache PMU with latency events (hisi_sccl\*_l3c\* with tt_core) on the sysfs tree" <<<"$err" &&
    ok stat_no_pmu_tree || fail stat_no_pmu_tree "rc=$rc $err"

# This machine (a VM without uncore PMUs): every metric it has no PMU for fails with the
# clear "no PMU" error, through kperf stat -M.
missing=$("$K" list --metrics --all 2>/dev/null | awk '/ not supported: / {print $1}')
if [ -z "$missing" ]; then
    echo "SKIP - stat_no_pmu_here: this machine has a PMU for every metric"
else
    bad=""
    for m in $missing; do
        err=$("$K" stat -M "$m" -- true 2>&1); rc=$?
        if [ $rc != 1 ] || ! grep -q "^kperf stat: $m: no .*PMU.* on this machine" <<<"$err"; then
            bad="$bad $m(rc=$rc: $err)"
        fi
    done
    [ -z "$bad" ] && ok stat_no_pmu_here || fail stat_no_pmu_here "$bad"
fi
if ! "$K" list --metrics 2>/dev/null | grep -q '^[A-Z]'; then
    err=$("$K" list --metrics 2>&1 >/dev/null)
    grep -q "no device metrics" <<<"$err" && ok list_no_metrics_here || fail list_no_metrics_here "$err"
fi

# Live counting on a tree whose "DDRC" and "HHA" PMUs are the software PMU (type 1):
# DDR_WRITE_BW = cpu-clock on CPU 0 (the cpumask), HHA_CROSS_NUMA = page-faults / cpu-clock.
T=$(mktemp -d /tmp/kperf-device-cli-XXXXXX)
E=$T/sys/bus/event_source/devices S=$T/sys/devices/system
mkdir -p $E/hisi_sccl1_ddrc0/format $E/hisi_sccl1_hha0/format $S/cpu $S/node/node0
echo 1 >$E/hisi_sccl1_ddrc0/type; echo 0 >$E/hisi_sccl1_ddrc0/cpumask; echo config:0-4 >$E/hisi_sccl1_ddrc0/format/event
echo 1 >$E/hisi_sccl1_hha0/type; echo 0 >$E/hisi_sccl1_hha0/cpumask; echo config:0-7 >$E/hisi_sccl1_hha0/format/event
echo 0 >$S/cpu/online; echo 0 >$S/node/node0/cpulist
out=$("$K" stat -M DDR_WRITE_BW,HHA_CROSS_NUMA -I 100 --sysfs $T -- sleep 0.35 2>&1); rc=$?
if grep -q 'CAP_PERFMON\|perf_event_paranoid' <<<"$out"; then
    echo "SKIP - stat_live_interval: $out"
else
    n=$(grep -cE '^ +[0-9]+\.[0-9]{3} DDR_WRITE_BW +hisi_sccl1_ddrc0 +node0 +[0-9]+\.[0-9]{2} MiB/s$' <<<"$out")
    h=$(grep -cE '^ +[0-9]+\.[0-9]{3} HHA_CROSS_NUMA +node0 +([0-9]+\.[0-9]{2}|-) %$' <<<"$out")
    [ $rc = 0 ] && [ "$n" -ge 2 ] && [ "$n" = "$h" ] && ok stat_live_interval ||
        fail stat_live_interval "rc=$rc, $n DDR and $h HHA interval lines: $(head -4 <<<"$out")"
    out=$("$K" stat -M DDR_WRITE_BW --sysfs $T -- sh -c 'exit 3' 2>&1); rc=$?
    [ $rc = 3 ] && grep -q '^# device metrics, system-wide' <<<"$out" &&
        grep -qE '^DDR_WRITE_BW +total +[0-9]+\.[0-9]{2} MiB/s$' <<<"$out" &&
        ok stat_live_command || fail stat_live_command "rc=$rc: $out"
fi
rm -rf "$T"
