#!/usr/bin/env bash
# `kperf list` by kind, on this machine and on the fake sysfs trees.
B=${1:-build}
K=$B/kperf
FX=tests/fixtures/sysfs
t() { if [ "$2" = 0 ]; then echo "ok - $1"; else echo "FAIL - $1: $3"; fi; }

out=$("$K" list sw 2>&1); rc=$?
echo "$out" | grep -q '^  task-clock  ' && echo "$out" | grep -q 'context-switches .*also cs'
t list_software $((rc || $?)) "rc=$rc: $(echo "$out" | head -3)"

n=$("$K" list sw | grep -c '^  ')
[ "$n" = 12 ]; t list_software_count $? "got $n lines, want 12"

out=$("$K" list uncore --sysfs "$FX/intel-skx-2s"); rc=$?
n=$(echo "$out" | grep -c '^  uncore_imc_[0-5]/')
[ "$rc" = 0 ] && [ "$n" = 18 ] && echo "$out" | grep -q 'uncore_imc_0/cas_count_read/ .*\[uncore: event=0x04,umask=0x03, scale 6.10352e-05 MiB\]'
t list_uncore_intel $? "rc=$rc n=$n"

n=$(KPERF_SYSFS_ROOT="$FX/kunpeng920" "$K" list uncore | grep -c '^  hisi_sccl')
# per SCCL: 4 ddrc x 8 + 2 hha x 26 + 6 l3c x 13 = 162; 4 SCCLs = 648
[ "$n" = 648 ]; t list_uncore_kunpeng_env $? "got $n hisi aliases, want 648"

n=$("$K" list core --sysfs "$FX/kunpeng920" | grep -c '^  ')
# 10 generic + 32 cache + 8 armv8_pmuv3_0 aliases
[ "$n" = 50 ]; t list_core_kunpeng $? "got $n, want 50"

out=$("$K" list core)
if ls /sys/bus/event_source/devices | grep -qE '^(cpu|cpu_core|armv8_)'; then
    echo "SKIP - list_core_vm_note: this machine has a core PMU"
else
    echo "$out" | grep -q 'no hardware PMU is exposed here (virtual machine?)'
    t list_core_vm_note $? "$out"
fi

if [ -r /sys/kernel/tracing/events/syscalls/sys_enter_getpid/id ]; then
    out=$("$K" list tracepoint)
    echo "$out" | grep -q '^  syscalls:sys_enter_getpid  *\[tracepoint\]'
    t list_tracepoints $? "sys_enter_getpid missing"
    want=$(ls -d /sys/kernel/tracing/events/*/*/ | while read d; do [ -e "$d/id" ] && echo; done | wc -l)
    n=$(echo "$out" | grep -c '^  ')
    [ "$n" = "$want" ]; t list_tracepoints_all $? "got $n, tracefs has $want"
else
    echo "SKIP - list_tracepoints: tracefs not readable"
fi

"$K" list bogus >/dev/null 2>&1
[ $? = 2 ]; t list_bad_kind_exit2 $? "exit status $?"
out=$("$K" list --sysfs /nonexistent 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "kperf list: cannot read the PMU list /nonexistent/sys/bus/event_source/devices"
t list_bad_root $? "rc=$rc $out"
