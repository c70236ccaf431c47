#!/usr/bin/env bash
# DWARF call graphs against perf as the oracle, on tests/progs/unwind_busy (main -> a -> b ->
# c without frame pointers):
#  - same_file: kperf report unwinds perf's own `perf record --call-graph dwarf` file; per
#    stack of the fixture's functions, kperf and `perf script` count the same samples (both
#    unwinders see identical registers and stacks), and the chains are equally deep;
#  - kperf_file: `kperf record --call-graph dwarf` + kperf report give the same set of
#    common stacks as perf record + perf script on a separate run;
#  - perf_reads_kperf: `perf script` on kperf's file unwinds it (regs, stack and data mmaps
#    are all in the file) to the same common stacks.
# usage: tests/test_unwind_perf.sh BUILD_DIR
B=${1:-build}
K=$B/kperf
P=$B/progs/unwind_busy
T=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"' EXIT
S=tests/unwind_stacks.py
[ -x "$K" ] && [ -x "$P" ] || { echo "FAIL - unwind_perf: $K or $P not built"; exit 1; }
command -v perf >/dev/null || { echo "SKIP - unwind_perf: perf missing (apt-get install linux-perf)"; exit 0; }
command -v python3 >/dev/null || { echo "SKIP - unwind_perf: python3 missing"; exit 0; }
if ! perf record -q -e cpu-clock -F 1000 --call-graph dwarf -o "$T/p.data" -- "$P" 0.5 >"$T/prec.log" 2>&1; then
    echo "SKIP - unwind_perf: perf record --call-graph dwarf failed: $(tail -1 "$T/prec.log")"; exit 0
fi
perf script -i "$T/p.data" -F ip,sym >"$T/p.script" 2>/dev/null
python3 $S perf "$T/p.script" >"$T/p.st"
"$K" report -i "$T/p.data" --folded >"$T/pk.folded" 2>"$T/pk.err"
python3 $S folded "$T/pk.folded" >"$T/pk.st"

# common: the stacks holding at least 5% of the samples, as a sorted list
common() { awk '/^total/ {t=$2} /^stack/ && $3 * 20 >= t {print $2}' "$1" | sort; }
main_stack() { awk '/^stack/ {print $2; exit}' "$1"; }
val() { awk -v k="$2" '$1 == k {print $2}' "$1"; }

# same_file: per-stack counts agree within 2% of the samples
bad=$(python3 - "$T/p.st" "$T/pk.st" <<'PY'
import sys
def load(p):
    d = {}
    for l in open(p):
        f = l.split()
        if f[0] == "stack": d[f[1]] = int(f[2])
        elif f[0] == "total": d["#total"] = int(f[1])
    return d
a, b = load(sys.argv[1]), load(sys.argv[2])
t = max(a.get("#total", 0), 1)
out = [k for k in set(a) | set(b) if k != "#total" and abs(a.get(k, 0) - b.get(k, 0)) * 50 > t]
print(" ".join("%s:perf=%d,kperf=%d" % (k, a.get(k, 0), b.get(k, 0)) for k in sorted(out)))
PY
)
ms=$(main_stack "$T/p.st")
if [ "$ms" != "main;a;b;c" ]; then
    echo "FAIL - unwind_perf_same_file: perf's own main stack is '$ms', not main;a;b;c"
elif [ "$(main_stack "$T/pk.st")" != "main;a;b;c" ]; then
    echo "FAIL - unwind_perf_same_file: kperf report's main stack is '$(main_stack "$T/pk.st")' ($(head -c 300 "$T/pk.err"))"
elif [ -n "$bad" ]; then
    echo "FAIL - unwind_perf_same_file: per-stack counts differ: $bad"
elif [ "$(val "$T/p.st" depth)" != "$(val "$T/pk.st" depth)" ]; then
    echo "FAIL - unwind_perf_same_file: chains through c are $(val "$T/p.st" depth) frames deep in perf, $(val "$T/pk.st" depth) in kperf"
else
    echo "ok - unwind_perf_same_file ($(val "$T/p.st" total) samples, depth $(val "$T/p.st" depth))"
fi

# kperf_file: kperf's own recording
if ! "$K" record -e cpu-clock -F 1000 --call-graph dwarf -o "$T/k.data" -- "$P" 0.5 >"$T/krec.log" 2>&1; then
    echo "FAIL - unwind_perf_kperf_file: kperf record --call-graph dwarf failed: $(tail -1 "$T/krec.log")"
    exit 0
fi
"$K" report -i "$T/k.data" --folded >"$T/k.folded" 2>/dev/null
python3 $S folded "$T/k.folded" >"$T/k.st"
if [ "$(common "$T/k.st")" != "$(common "$T/p.st")" ]; then
    echo "FAIL - unwind_perf_kperf_file: common stacks kperf {$(common "$T/k.st" | tr '\n' ' ')} vs perf {$(common "$T/p.st" | tr '\n' ' ')}"
elif [ "$(val "$T/k.st" depth)" != "$(val "$T/p.st" depth)" ]; then
    echo "FAIL - unwind_perf_kperf_file: chains through c are $(val "$T/k.st" depth) frames deep in kperf, $(val "$T/p.st" depth) in perf"
else
    echo "ok - unwind_perf_kperf_file ($(val "$T/k.st" total) samples)"
fi

# perf_reads_kperf: perf unwinds kperf's file
perf script -i "$T/k.data" -F ip,sym >"$T/kp.script" 2>/dev/null
python3 $S perf "$T/kp.script" >"$T/kp.st"
if [ "$(common "$T/kp.st")" != "$(common "$T/p.st")" ]; then
    echo "FAIL - unwind_perf_reads_kperf: perf script on kperf's file: {$(common "$T/kp.st" | tr '\n' ' ')} vs {$(common "$T/p.st" | tr '\n' ' ')}"
else
    echo "ok - unwind_perf_reads_kperf ($(val "$T/kp.st" total) samples)"
fi

# late_mmap: perf writes each CPU's buffer in turn, so a sample can precede, in the file, the
# MMAP2 of the code it sampled. The same kperf file with the MMAP2 records of the program
# and of libc moved after its last sample must report the same stacks of the program's
# loop (main;a;b;c): they are unwound once the maps are known, not cut to their leaf. With
# only libc's records moved, the leaf's map is known but not main's caller's: those
# samples must wait too, not stop at main. (Start-up samples are left out of both
# comparisons: ld.so remaps libc while they are taken, and once the file is read only the
# final maps are known.)
cat >"$T/move.py" <<'PY'
import struct, sys
d = open(sys.argv[1], "rb").read()
off, recs = 16, []
while off + 8 <= len(d):
    t, m, sz = struct.unpack_from("<IHH", d, off)
    if sz < 8: break
    recs.append((t, d[off:off + sz])); off += sz
mine = lambda r: r[0] == 10 and (b"unwind_busy" in r[1] or b"/libc.so" in r[1])
if len(sys.argv) > 3: mine = lambda r: r[0] == 10 and b"/libc.so" in r[1]
mm = [r for r in recs if mine(r)]
out, ns, total = [], 0, sum(1 for r in recs if r[0] == 9)
for r in recs:
    if mine(r): continue
    out.append(r)
    if r[0] == 9:
        ns += 1
        if ns == total: out.extend(mm)
open(sys.argv[2], "wb").write(d[:16] + b"".join(r[1] for r in out) + d[off:])
print(len(mm) if ns >= 20 else 0)
PY
moved=$(python3 "$T/move.py" "$T/k.data" "$T/late.data")
moved2=$(python3 "$T/move.py" "$T/k.data" "$T/late2.data" libc-only)
"$K" report -i "$T/late.data" --folded >"$T/late.folded" 2>"$T/late.err"
"$K" report -i "$T/late2.data" --folded >"$T/late2.folded" 2>"$T/late2.err"
loop() { grep ';main;' "$1" | sort; }
if [ "${moved:-0}" -lt 1 ] || [ "${moved2:-0}" -lt 1 ]; then
    echo "FAIL - unwind_perf_late_mmap: no MMAP2 of unwind_busy or libc, or fewer than 20 samples, in kperf's file"
elif [ -z "$(loop "$T/k.folded")" ]; then
    echo "FAIL - unwind_perf_late_mmap: no stack through main in kperf's own report"
elif ! cmp -s <(loop "$T/k.folded") <(loop "$T/late.folded"); then
    echo "FAIL - unwind_perf_late_mmap: $moved MMAP2 records moved after the last sample change the stacks: $(diff <(loop "$T/k.folded") <(loop "$T/late.folded") | head -4 | tr '\n' '|') $(head -c 200 "$T/late.err")"
elif ! cmp -s <(loop "$T/k.folded") <(loop "$T/late2.folded"); then
    echo "FAIL - unwind_perf_late_mmap: libc's $moved2 MMAP2 records moved after the last sample change the stacks: $(diff <(loop "$T/k.folded") <(loop "$T/late2.folded") | head -4 | tr '\n' '|') $(head -c 200 "$T/late2.err")"
else
    echo "ok - unwind_perf_late_mmap ($moved MMAP2 records moved after the last sample; libc's $moved2 alone)"
fi
