#!/usr/bin/env python3
"""The INDEX block at the top of each header: its public functions, one line each, grouped
by section, with the first sentence of each one's documentation.

usage: tests/header_index.py --write    rewrite the blocks in kperf.h, kperf_symbols.h, kperf_spe.h
       tests/header_index.py --check    print ok/FAIL lines (tests/run.sh runs this through
                                        tests/test_header_index.sh)
"""
import re
import sys

HEADERS = ["kperf.h", "kperf_symbols.h", "kperf_spe.h"]
BEGIN = " * INDEX (public functions by section; tests/header_index.py --write regenerates it)\n"
END = " * END INDEX\n"
WIDTH = 92


def brief(doc):
    text = re.sub(r"^\s*/\*\*<?|\*/\s*$", "", doc, flags=re.S)
    text = " ".join(l.strip().lstrip("*").strip() for l in text.splitlines())
    text = re.sub(r"[@\\](?:p|ref|c|a|e)\s+", "", text)  # inline markup, not a new paragraph
    m = re.search(r"@brief\s+(.*?)(?:\s@\w+|$)", text)
    text = m.group(1) if m else re.split(r"\s@\w+", text)[0]
    text = text.strip()
    m = re.match(r"(.+?[.:;])(\s|$)", text)
    if m:
        text = m.group(1)
    return text.rstrip(".:;")


def index_of(src):
    decl = src[: src.index("#ifdef KPERF_IMPLEMENTATION")]
    lines = []
    section = None
    doc = ""
    pending_doc = ""
    for m in re.finditer(r"(//\s*>>(\w+)[^\n]*\n)|(/\*\s*----\s*(.*?)\s*-*\s*\*/)|(/\*\*.*?\*/)|"
                         r"(KPERF_API\b[^;{]*?\b(kperf_\w+)\s*\()", decl, re.S):
        if m.group(1):
            section = m.group(2)
            lines.append(" *   >>%s\n" % section)
        elif m.group(3):
            lines.append(" *     -- %s\n" % m.group(4).strip(" -"))
        elif m.group(5):
            pending_doc = m.group(5)
        elif m.group(6):
            name = m.group(7)
            b = brief(pending_doc) if pending_doc else ""
            pending_doc = ""
            left = " *     %-30s " % name
            room = WIDTH - len(left)
            if len(b) > room:
                b = b[: room - 3].rstrip() + "..."
            lines.append((left + b).rstrip() + "\n")
    return "".join(lines)


def block(src):
    return BEGIN + index_of(src) + END


def current(src):
    if BEGIN not in src:
        return None
    a = src.index(BEGIN)
    return src[a : src.index(END, a) + len(END)]


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "--check"
    bad = 0
    for h in HEADERS:
        src = open(h).read()
        want = block(src)
        have = current(src)
        if mode == "--write":
            if have is None:  # first time: before the header comment's end
                end = src.index(" */\n")
                src = src[:end] + " *\n" + want + src[end:]
            else:
                src = src.replace(have, want)
            open(h, "w").write(src)
        else:
            if have == want:
                print("ok - header_index_current_%s" % h.replace(".", "_"))
            else:
                bad += 1
                print("FAIL - header_index_current_%s: the INDEX block is stale; run "
                      "tests/header_index.py --write" % h.replace(".", "_"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
