#!/usr/bin/env python3
"""Checks a Chrome/Perfetto trace-event JSON file against the Trace Event Format's documented
fields and prints a summary for tests/test_trace_json.sh.

usage: trace_json_check.py FILE NAME PID
Prints "ok EVENTS TIDS RETS" (events named NAME, distinct tids of those events, how many of
them have args.ret == PID), or "bad: WHY"."""
import json
import sys

PHASES = set("BEXiIbneSTpFsftPNODMVvRcC()")


def check(path, name, pid):
    with open(path) as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return "bad: not the JSON object form with a traceEvents array"
    if doc.get("displayTimeUnit") not in (None, "ms", "ns"):
        return "bad: displayTimeUnit %r" % doc.get("displayTimeUnit")
    named, tids, rets, last, thread_named = 0, set(), 0, {}, set()
    for e in doc["traceEvents"]:
        ph = e.get("ph")
        if ph not in PHASES or not isinstance(e.get("name"), str):
            return "bad: event without a valid ph/name: %r" % e
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int):
            return "bad: pid/tid not integers: %r" % e
        if ph == "M":
            if e["name"] in ("thread_name", "process_name") and not isinstance(e.get("args", {}).get("name"), str):
                return "bad: metadata without args.name: %r" % e
            if e["name"] == "thread_name":
                thread_named.add(e["tid"])
            continue
        if not isinstance(e.get("ts"), (int, float)) or e["ts"] < 0 or not isinstance(e.get("cat"), str):
            return "bad: ts/cat: %r" % e
        if ph == "X" and (not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0):
            return "bad: complete event without dur: %r" % e
        if ph in "iI" and e.get("s", "t") not in ("g", "p", "t"):
            return "bad: instant event scope %r" % e.get("s")
        if "args" in e and not isinstance(e["args"], dict):
            return "bad: args not an object: %r" % e
        if e["ts"] < last.get(e["tid"], 0):
            return "bad: time goes back on tid %d" % e["tid"]
        last[e["tid"]] = e["ts"]
        if e["name"] == name:
            named += 1
            tids.add(e["tid"])
            if e["pid"] != pid:
                return "bad: pid %d, expected %d" % (e["pid"], pid)
            if e.get("args", {}).get("ret") == pid:
                rets += 1
    if not tids <= thread_named:
        return "bad: threads without thread_name metadata: %s" % sorted(tids - thread_named)
    return "ok %d %d %d" % (named, len(tids), rets)


try:
    print(check(sys.argv[1], sys.argv[2], int(sys.argv[3])))
except (OSError, ValueError) as err:
    print("bad: %s" % err)
