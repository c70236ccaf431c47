#!/usr/bin/env python3
"""Reads `go tool pprof -raw` output (stdin) and prints what tests/test_pprof.sh compares.

  pprof_raw.py folded [hex]   folded stacks (`comm;root;...;leaf COUNT`, sorted), named as
                              kperf's folded output names them: the outermost function of
                              each location's inline chain; a location without lines is
                              MODULE+0xOFFSET (report) or, with `hex`, the raw address
                              (record: return addresses were looked up as addr - 1)
  pprof_raw.py types          the sample types ("samples/count cpu/nanoseconds")
  pprof_raw.py totals         the sum of each value column
  pprof_raw.py inline FUNC    "ADDR MAPSTART MAPOFFSET MAPFILE f1:l1 f2:l2 ..." of the first
                              location whose first line is FUNC and has inline callers
  pprof_raw.py buildid FILE   the build-id of the mapping of FILE
"""
import re
import sys


def parse(text):
    sec, samples, locs, maps, types = None, [], {}, {}, ""
    cur_loc = None
    for line in text.splitlines():
        if line in ("Samples:", "Locations", "Mappings"):
            sec = line
            continue
        if sec == "Samples:":
            if not types:
                types = line.strip()
                continue
            m = re.match(r"^\s+([\d ]+):((?: \d+)*) ?$", line)
            if m and not line.strip().startswith(("comm:", "pid:")):
                vals = [int(v) for v in m.group(1).split()]
                ids = [int(v) for v in m.group(2).split()]
                samples.append({"vals": vals, "locs": ids, "labels": {}})
                continue
            m = re.match(r"^\s+(\w+):\[(.*)\]$", line)
            if m and samples:
                samples[-1]["labels"][m.group(1)] = m.group(2)
        elif sec == "Locations":
            m = re.match(r"^\s+(\d+): 0x([0-9a-f]+) (?:M=(\d+) )?(.*)$", line)
            if m:
                cur_loc = int(m.group(1))
                locs[cur_loc] = {"addr": int(m.group(2), 16), "map": int(m.group(3) or 0),
                                 "lines": []}
                rest = m.group(4).strip()
                if rest:
                    locs[cur_loc]["lines"].append(line_of(rest))
            elif line.strip() and cur_loc is not None:
                locs[cur_loc]["lines"].append(line_of(line.strip()))
        elif sec == "Mappings":
            m = re.match(r"^(\d+): 0x([0-9a-f]+)/0x([0-9a-f]+)/0x([0-9a-f]+) (\S+) ?(\S*)", line)
            if m:
                maps[int(m.group(1))] = {"start": int(m.group(2), 16), "limit": int(m.group(3), 16),
                                         "off": int(m.group(4), 16), "file": m.group(5),
                                         "bid": m.group(6) if not m.group(6).startswith("[") else ""}
    return types, samples, locs, maps


def line_of(text):
    """'func file:line s=0' -> (func, line); function names may hold spaces."""
    m = re.match(r"^(.*) (\S*):(\d+)(?::\d+)? s=\d+$", text)
    return (m.group(1), int(m.group(3))) if m else (text, 0)


def name(loc, maps, leaf, hexmode):
    if loc["lines"]:
        return loc["lines"][-1][0]
    if hexmode:
        return "0x%x" % (loc["addr"] if leaf else loc["addr"] + 1)
    mp = maps.get(loc["map"])
    if not mp:
        return "0x%x" % loc["addr"]
    return "%s+0x%x" % (mp["file"].rsplit("/", 1)[-1], loc["addr"] - mp["start"] + mp["off"])


def main():
    types, samples, locs, maps = parse(sys.stdin.read())
    what = sys.argv[1]
    if what == "types":
        print(types)
    elif what == "totals":
        n = len(types.split())
        print(" ".join(str(sum(s["vals"][i] for s in samples)) for i in range(n)))
    elif what == "folded":
        hexmode = len(sys.argv) > 2 and sys.argv[2] == "hex"
        out = {}
        for s in samples:
            frames = [name(locs[l], maps, i == 0, hexmode) for i, l in enumerate(s["locs"])]
            comm = s["labels"].get("comm")
            key = ";".join(([comm] if comm else []) +
                           [re.sub(r"[; \n]", "_", f) for f in reversed(frames)])
            out[key] = out.get(key, 0) + s["vals"][0]
        for k in sorted(out):
            print("%s %d" % (k, out[k]))
    elif what == "inline":
        for i in sorted(locs):
            l = locs[i]
            if len(l["lines"]) > 1 and l["lines"][0][0] == sys.argv[2]:
                mp = maps[l["map"]]
                print("%x %x %x %s %s" % (l["addr"], mp["start"], mp["off"], mp["file"],
                                          " ".join("%s:%d" % x for x in l["lines"])))
                break
    elif what == "buildid":
        for mp in maps.values():
            if mp["file"] == sys.argv[2]:
                print(mp["bid"])


main()
