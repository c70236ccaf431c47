#!/usr/bin/env python3
"""Generates (and builds) a large C++ program with DWARF for bench/bench_symbols.c:
NFILES translation units of NFUNCS functions each; every function inlines small helpers,
template member functions and a template algorithm instantiated for several types, so the
binary has thousands of functions, deep inline chains and many template instances.

usage: gen_bigprog.py OUTDIR [NFILES] [NFUNCS] [--build]
With --build it compiles with `g++ -O2 -g` (two jobs) into OUTDIR/bigprog.
"""
import os
import subprocess
import sys

COMMON = r"""#pragma once
#include <cstddef>
#include <cstdint>
namespace big {
template <typename T> struct Box {
    T v;
    inline T twist(T x) const { return (T)((x + v) * 3 + 1); }
    inline T fold(T x) const { return twist(x) + twist(x + v); }
};
template <typename T> inline T accum(const T *p, int n) {
    T s = T();
    for (int i = 0; i < n; i++) s += Box<T>{p[i]}.fold((T)i);
    return s;
}
static inline int mix3(int a, int b, int c) { return (a ^ (b << 3)) + c * 7; }
static inline int clamp(int x) { return x < 0 ? -x : (x > 100000 ? x % 100000 : x); }
}
"""


def gen_file(k, nfuncs):
    out = ['#include "common.h"', "namespace big {", "namespace f%d {" % k]
    for j in range(nfuncs):
        out.append("static inline int h%d(int x) { return mix3(x, %d, x >> 2) + clamp(x - %d); }" % (j, j, j * 3))
    for j in range(nfuncs):
        t = ["int", "long", "double"][j % 3]
        callee = "fn%d(x & 7)" % (j - 1) if j > 0 and j % 4 == 0 else "0"
        out.append("__attribute__((noinline)) int fn%d(int x);" % j)
        out.append(
            "__attribute__((noinline)) int fn%d(int x) {\n"
            "    %s buf[8];\n"
            "    for (int i = 0; i < 8; i++) buf[i] = (%s)(x * i + %d);\n"
            "    int s = (int)accum(buf, (x & 7) + 1);\n"
            "    if (x > 1000) s += %s;\n"
            "    for (int i = 0; i < (x & 3); i++) s = h%d(s) ^ Box<int>{%d}.fold(i);\n"
            "    return s;\n"
            "}" % (j, t, t, j, callee, j, j))
    out.append("int entry(int x) {")
    out.append("    int s = 0;")
    for j in range(0, nfuncs, max(1, nfuncs // 8)):
        out.append("    s += fn%d(x + %d);" % (j, j))
    out.append("    return s;\n}")
    out.append("}  // namespace f%d\n}  // namespace big" % k)
    return "\n".join(out) + "\n"


def main():
    outdir = sys.argv[1]
    nfiles = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else 60
    nfuncs = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3].isdigit() else 120
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "common.h"), "w") as f:
        f.write(COMMON)
    srcs = []
    for k in range(nfiles):
        p = os.path.join(outdir, "f%d.cpp" % k)
        text = gen_file(k, nfuncs)
        if not os.path.exists(p) or open(p).read() != text:
            with open(p, "w") as f:
                f.write(text)
        srcs.append(p)
    main_src = ["namespace big { %s }" % " ".join("namespace f%d { int entry(int); }" % k for k in range(nfiles)),
                "#include <cstdio>", "int main(int argc, char **argv) {", "    (void)argv;", "    int s = 0;"]
    main_src += ["    s += big::f%d::entry(argc);" % k for k in range(nfiles)]
    main_src += ['    std::printf("%d\\n", s);', "    return 0;", "}"]
    with open(os.path.join(outdir, "main.cpp"), "w") as f:
        f.write("\n".join(main_src) + "\n")
    srcs.append(os.path.join(outdir, "main.cpp"))
    if "--build" in sys.argv:
        objs = []
        jobs = []
        for s in srcs:
            o = s[:-4] + ".o"
            objs.append(o)
            if not os.path.exists(o) or os.path.getmtime(o) < os.path.getmtime(s):
                jobs.append(["g++", "-O2", "-g", "-c", s, "-o", o])
        running = []
        for j in jobs:
            running.append(subprocess.Popen(j))
            if len(running) >= 2:
                if running.pop(0).wait() != 0:
                    sys.exit("gen_bigprog: compile failed")
        for p in running:
            if p.wait() != 0:
                sys.exit("gen_bigprog: compile failed")
        subprocess.check_call(["g++", "-O2", "-g", "-o", os.path.join(outdir, "bigprog")] + objs)
    print(os.path.join(outdir, "bigprog"))


if __name__ == "__main__":
    main()
