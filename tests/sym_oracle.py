#!/usr/bin/env python3
"""Compares `kperf symbolize` with GNU addr2line (first oracle) and llvm-symbolizer (second
oracle) on random text addresses of one ELF file, for tests/test_symbols_oracle.sh.

usage: sym_oracle.py KPERF BIN NAME [N] [SEED]
$SYM_ORACLE_BINUTILS is the binutils prefix for another architecture's files
(aarch64-linux-gnu- for tests/arm64/host_symbolize.sh); $SYM_ORACLE_ADDRS=FILE also writes
the addresses, one per line in hex, for a second symbolizer to answer.
Prints `ok - NAME ...` or `FAIL - NAME: ...` plus the disagreements, each with its category.

An address where kperf and addr2line print different blocks counts as a failure unless it
falls in one of these explained categories, each confirmed by llvm-symbolizer agreeing with
kperf on function, file and line:
  bfd-dwarf5-file    binutils 2.40 takes the wrong entry of a DWARF 5 line table's file
                     list (it resolves a file index as if it were DWARF 4, 1-based), so it
                     prints another file name for the same line number.
  bfd-clang-inline   binutils 2.40 cannot read the inlined-subroutine ranges clang emits
                     (DW_FORM_rnglistx / DW_AT_ranges in DWARF 5 via .debug_rnglists base), and
                     drops or misplaces inline frames that kperf and llvm-symbolizer print.
  bfd-order          BFD caches a function name the first time it looks a function up; later
                     lookups of another address then print the cached (ELF symbol) name.
The agreement on all other addresses must be at least 99.9%.
llvm-symbolizer itself differs from both on purpose in known ways, normalised before the
second comparison: it names outer frames after ELF symbols (`foo.cold`, `foo.constprop.0`,
`foo() [clone .cold]`), its demangler drops the space in `operator< <char>`, prints `0x1234` instead of `0x0000000000001234`, and `??:0` where
addr2line prints `??:?`.
"""
import os
import random
import re
import subprocess
import sys


BINUTILS = os.environ.get("SYM_ORACLE_BINUTILS", "")


def exec_ranges(path):
    out = subprocess.run([BINUTILS + "readelf", "-SW", path], capture_output=True, text=True).stdout
    ranges = []
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*)", line)
        if not m:
            continue
        name, typ, addr, size, flags = m.groups()
        if "X" in flags and "A" in flags and typ != "NOBITS" and int(size, 16) > 0:
            ranges.append((int(addr, 16), int(size, 16), name))
    return ranges


def blocks(text, addrs):
    """Splits -a output into one block (list of lines) per address."""
    lines = text.splitlines()
    res, cur = [], None
    for ln in lines:
        if re.match(r"^0x[0-9a-f]+$", ln):
            if cur is not None:
                res.append(cur)
            cur = []
        elif cur is not None:
            cur.append(ln)
    if cur is not None:
        res.append(cur)
    if len(res) != len(addrs):
        raise SystemExit("FAIL - parse: %d blocks for %d addresses" % (len(res), len(addrs)))
    return res


def run(cmd, addrs):
    inp = "".join("0x%x\n" % a for a in addrs)
    p = subprocess.run(cmd, input=inp, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit("FAIL - run: %s exited %d: %s" % (cmd[0], p.returncode, p.stderr[-400:]))
    return blocks(p.stdout, addrs)


def frames(block):
    """[(function, file, line)] from a -f -i block (pairs of lines)."""
    fr = []
    for i in range(0, len(block) - 1, 2):
        fn = block[i]
        m = re.match(r"^(.*):(\d+|\?)(?: \(discriminator \d+\))?$", block[i + 1])
        f, ln = (m.group(1), m.group(2)) if m else (block[i + 1], "?")
        fr.append((fn, f, "0" if ln == "?" else ln))
    return fr


def norm_fn(fn):
    fn = fn.replace(" ", "")  # LLVM's demangler writes `operator<<char>`, GNU `operator< <char>`
    fn = re.sub(r"\[clone[^\]]*\]", "", fn)
    fn = re.sub(r"\.(cold|constprop|isra|part|lto_priv|localalias)(\.\d+)*$", "", fn)
    fn = re.sub(r"\.(cold|constprop|isra|part|lto_priv|localalias)(\.\d+)*(?=\()", "", fn)
    return fn


def same_as_llvm(kf, lf):
    if len(kf) != len(lf):
        return False
    for (a, b) in zip(kf, lf):
        if norm_fn(a[0]) != norm_fn(b[0]) or a[2] != b[2]:
            return False
        if a[1] != b[1] and not (a[1] == "??" and b[1] == "??"):
            return False
    return True


def categorize(kf, gf, lf, name):
    """Why addr2line (gf) differs from kperf (kf); None when unexplained."""
    if not same_as_llvm(kf, lf):
        return None
    if len(kf) == len(gf) and all(a[0] == b[0] and a[2] == b[2] for a, b in zip(kf, gf)):
        if "dw5" in name or "dwarf5" in name or "default" in name:
            return "bfd-dwarf5-file"
    if len(kf) != len(gf) and "clang" in name:
        return "bfd-clang-inline"
    if "clang" in name and [f[0] for f in kf] != [f[0] for f in gf]:
        return "bfd-clang-inline"
    if len(kf) == len(gf) and all(a[1:] == b[1:] for a, b in zip(kf, gf)):
        return "bfd-order"
    return None


def main():
    kperf, binary, name = sys.argv[1], sys.argv[2], sys.argv[3]
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 3000
    seed = int(sys.argv[5]) if len(sys.argv) > 5 else 12345
    rng = random.Random(seed)
    ranges = exec_ranges(binary)
    if not ranges:
        print("FAIL - %s: no executable sections in %s" % (name, binary))
        return 1
    total = sum(r[1] for r in ranges)
    addrs = []
    for _ in range(n):
        k = rng.randrange(total)
        for a, s, _n in ranges:
            if k < s:
                addrs.append(a + k)
                break
            k -= s
    kb = run([kperf, "symbolize", "-e", binary, "-a", "-f", "-i", "-C"], addrs)
    if os.environ.get("SYM_ORACLE_ADDRS"):
        with open(os.environ["SYM_ORACLE_ADDRS"], "w") as f:
            f.write("".join("0x%x\n" % a for a in addrs))
    gb = run([BINUTILS + "addr2line", "-e", binary, "-a", "-f", "-i", "-C"], addrs)
    try:
        lb = run(["llvm-symbolizer", "--obj=" + binary, "--output-style=GNU", "-a", "-f", "-i", "-C"], addrs)
    except (OSError, SystemExit):
        lb = None
    agree, quirks, bad = 0, {}, []
    resolved = 0
    for i, a in enumerate(addrs):
        if kb[i] == gb[i]:
            agree += 1
            resolved += kb[i][0] != "??"
            continue
        kf, gf = frames(kb[i]), frames(gb[i])
        cat = categorize(kf, gf, frames(lb[i]), name) if lb else None
        if cat:
            quirks.setdefault(cat, []).append((a, kb[i], gb[i]))
        else:
            bad.append((a, kb[i], gb[i], lb[i] if lb else None))
    considered = n - sum(len(v) for v in quirks.values())
    rate = agree / considered if considered else 1.0
    qs = ", ".join("%s %d" % (k, len(v)) for k, v in sorted(quirks.items())) or "none"
    summary = "%d addresses, %d identical to addr2line, quirks: %s, unexplained %d (%.3f%% agreement)" % (
        n, agree, qs, len(bad), 100 * rate)
    for a, k, g, l in bad[:8]:
        print("# 0x%x\n#   kperf:     %s\n#   addr2line: %s\n#   llvm:      %s" % (
            a, " | ".join(k), " | ".join(g), " | ".join(l) if l else "-"))
    for cat, v in sorted(quirks.items()):
        a, k, g = v[0]
        print("# quirk %s e.g. 0x%x\n#   kperf:     %s\n#   addr2line: %s" % (cat, a, " | ".join(k), " | ".join(g)))
    if rate >= 0.999 and agree > n // 2:
        print("ok - oracle_%s: %s" % (name, summary))
        return 0
    print("FAIL - oracle_%s: %s" % (name, summary))
    return 1


if __name__ == "__main__":
    sys.exit(main())
