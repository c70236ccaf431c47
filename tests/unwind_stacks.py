#!/usr/bin/env python3
"""Helper of tests/test_unwind_perf.sh: reads `perf script -F ip,sym`
output or folded stacks, keeps the frames named in KEEP, and prints `stack count` lines,
root first, with the total and the depth of the deepest-frame-count stack.
usage: unwind_stacks.py perf|folded FILE"""
import collections
import sys

KEEP = {"main", "a", "b", "c"}


def perf_samples(path):
    """Per sample: the function per address, leaf first (inline lines of one address fold
    into the last one, the real function)."""
    cur = None
    for line in open(path, errors="replace"):
        if not line.strip():
            if cur is not None:
                yield cur
            cur = None
            continue
        if not line[0].isspace():  # sample header (comm ...)
            if cur is not None:
                yield cur
            cur = []
            continue
        parts = line.split(None, 1)
        if len(parts) < 2:
            continue
        if cur is None:  # -F ip,sym: no header line, samples end at blank lines
            cur = []
        addr, name = parts[0], parts[1].strip()
        if name.endswith("(inlined)"):
            name = name[: -len("(inlined)")].strip()
        if cur and cur[-1][0] == addr:
            cur[-1] = (addr, name)
        else:
            cur.append((addr, name))
    if cur is not None:
        yield cur


def main():
    kind, path = sys.argv[1], sys.argv[2]
    stacks = collections.Counter()
    depth = collections.Counter()
    if kind == "perf":
        for frames in perf_samples(path):
            names = [n.split("+")[0] for _, n in frames]
            kept = [n for n in reversed(names) if n in KEEP]
            stacks[";".join(kept)] += 1
            if names and names[0] == "c":
                depth[len(names)] += 1
    else:
        for line in open(path):
            line = line.rstrip("\n")
            if not line:
                continue
            st, cnt = line.rsplit(" ", 1)
            names = st.split(";")[1:]  # the root is the process name
            kept = [n for n in names if n in KEEP]
            stacks[";".join(kept)] += int(cnt)
            if names and names[-1] == "c":
                depth[len(names)] += int(cnt)
    total = sum(stacks.values())
    print("total %d" % total)
    print("depth %d" % (depth.most_common(1)[0][0] if depth else 0))
    for st, cnt in stacks.most_common():
        print("stack %s %d" % (st or "-", cnt))


main()
