#!/usr/bin/env bash
# The libkperf drop-in: a libkperf C program (libkperf's include lines, not one line edited)
# builds with exactly `cc prog.c -Ilibkperf -Lbuild -lkperf` and runs on build/libkperf.so;
# the headers need only libc (C99 and C++11); `make install` installs headers, library and
# libkperf.pc; kperf.h alone links without libelf/libdw.
B=${1:-build}
ok() { echo "ok - $1"; }
fail() { echo "FAIL - $1: $2"; }
skip() { echo "SKIP - $1: $2"; }
tmp=$(mktemp -d)
spid=
trap '[ -n "$spid" ] && kill $spid 2>/dev/null; rm -rf "$tmp"' EXIT
[ -f "$B/libkperf.so" ] || make -s B="$B" "$B/libkperf.so" >/dev/null || exit 1

# 1. libkperf's README example as a libkperf program: its include lines are libkperf's.
EX=examples/libkperf_count.c
inc=$(grep '^#include "' $EX | tr '\n' ' ')
if [ "$inc" = '#include "pcerrc.h" #include "pmu.h" ' ] && ! grep -q 'kperf\.h\|KPERF_' $EX; then
    ok dropin_example_has_libkperf_includes
else
    fail dropin_example_has_libkperf_includes "include lines: $inc"
fi

# 2. It builds with the exact libkperf command line (no other flag).
if cc $EX -Ilibkperf -L"$B" -lkperf -o "$tmp/libkperf_count" 2>"$tmp/cc.log"; then
    ok dropin_builds_unchanged
else
    fail dropin_builds_unchanged "$(head -5 "$tmp/cc.log")"
fi

# 3. It runs on the drop-in library: counting a sleeping process's getpid calls gives one
# record, named as given, with the process's pid/tid and name, and a count of exactly 0.
if [ ! -r /sys/kernel/tracing/events/syscalls/sys_enter_getpid/id ]; then
    skip dropin_runs "tracefs syscalls events not readable"
elif [ ! -x "$tmp/libkperf_count" ]; then
    fail dropin_runs "not built"
else
    sleep 60 & spid=$!
    # an ASan-built library (build-asan) needs its runtime loaded first
    pre=$(ldd "$B/libkperf.so" | awk '$1 ~ /^libasan/ {print $3}')
    out=$(LD_PRELOAD="$pre" LD_LIBRARY_PATH="$B" "$tmp/libkperf_count" $spid \
          syscalls:sys_enter_getpid 2>&1)
    want="syscalls:sys_enter_getpid pid=$spid tid=$spid cpu=-1 comm=sleep count=0 countPercent=1.00"
    if [ "$out" = "$want" ]; then ok dropin_runs; else fail dropin_runs "got '$out', expected '$want'"; fi
    lib=$(LD_LIBRARY_PATH="$B" ldd "$tmp/libkperf_count" | awk '$1 == "libkperf.so" {print $3}')
    if [ "$(realpath "$lib")" = "$(realpath "$B/libkperf.so")" ]; then ok dropin_links_build_library
    else fail dropin_links_build_library "loads '$lib'"; fi
fi

# 4. The headers alone: C99 -pedantic and C++11, all warnings as errors, only libc.
printf '#include "pmu.h"\n#include "pcerrc.h"\n#include "symbol.h"\nint f(void);\nint f(void) { PmuAttr a; Stack s; a.numEvt = 0; s.symbol = 0; return (int)a.numEvt + (s.symbol != 0) + SUCCESS; }\n' >"$tmp/h.c"
cp "$tmp/h.c" "$tmp/h.cpp"
if cc -std=c99 -pedantic -Wall -Wextra -Werror -Ilibkperf -c "$tmp/h.c" -o "$tmp/h.o" 2>"$tmp/c99.log"; then
    ok dropin_headers_c99
else
    fail dropin_headers_c99 "$(head -3 "$tmp/c99.log")"
fi
if c++ -std=c++11 -Wall -Wextra -Werror -Ilibkperf -c "$tmp/h.cpp" -o "$tmp/hpp.o" 2>"$tmp/cxx.log"; then
    ok dropin_headers_cxx11
else
    fail dropin_headers_cxx11 "$(head -3 "$tmp/cxx.log")"
fi

# 5. kperf.h alone (implementation included) links with libc and pthread only.
printf '#define KPERF_IMPLEMENTATION\n#include "kperf.h"\n#include <stdio.h>\nint main(void) { puts(kperf_version_string()); return 0; }\n' >"$tmp/k.c"
if cc -I. "$tmp/k.c" -o "$tmp/k" -lpthread 2>"$tmp/k.log" && [ "$("$tmp/k")" = 0.1.0 ]; then
    ok kperf_h_needs_no_libelf
else
    fail kperf_h_needs_no_libelf "$(grep -c 'undefined reference' "$tmp/k.log") undefined references"
fi

# 6. make install: the drop-in headers and libkperf.so; the example builds from the
# installed copy with pkg-config alone.
D=$tmp/root
if make -s B="$B" DESTDIR="$D" PREFIX=/usr install-libkperf >"$tmp/inst.log" 2>&1 &&
   [ -f "$D/usr/include/kperf/libkperf/pmu.h" ] && [ -f "$D/usr/lib/libkperf.so" ]; then
    flags=$(PKG_CONFIG_PATH="$D/usr/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$D" \
            pkg-config --cflags --libs libkperf 2>&1)
    if cc $EX $flags -o "$tmp/installed" 2>"$tmp/icc.log"; then ok dropin_install_pkg_config
    else fail dropin_install_pkg_config "flags '$flags': $(head -3 "$tmp/icc.log")"; fi
else
    fail dropin_install_pkg_config "$(tail -3 "$tmp/inst.log")"
fi
