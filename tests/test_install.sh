#!/usr/bin/env bash
# `make install` into a DESTDIR, then programs that use each header (and the libkperf
# drop-in) build from that copy with `pkg-config --cflags --libs` alone and run; a program
# that uses only kperf.h does not depend on libelf/libdw. Plain pass only.
B=${1:-build}
case "$B" in *asan*) exit 0 ;; esac
command -v pkg-config >/dev/null || { echo "SKIP - pkg_config_builds: pkg-config is not installed"; exit 0; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! make -s --no-print-directory install B="$B" DESTDIR="$tmp/root" PREFIX=/usr/local >"$tmp/install.log" 2>&1; then
    echo "FAIL - make_install_destdir: $(tail -3 "$tmp/install.log" | tr '\n' ' ')"
    exit 0
fi
echo "ok - make_install_destdir"
export PKG_CONFIG_PATH="$tmp/root/usr/local/lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$tmp/root"
export PKG_CONFIG_LIBDIR="$tmp/root/usr/local/lib/pkgconfig:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/lib/pkgconfig:/usr/share/pkgconfig"
for f in kperf.h kperf_symbols.h kperf_spe.h kperf/libkperf/pmu.h; do
    [ -f "$tmp/root/usr/local/include/$f" ] || echo "FAIL - installed_headers: $f missing"
done

cat >"$tmp/core.c" <<'SRC'
#define KPERF_IMPLEMENTATION
#include <kperf.h>
#include <stdio.h>
int main(void) {
    kperf_counter *c;
    kperf_counter_desc d = {0};
    d.events = "task-clock";
    if (kperf_counter_open(&c, &d) < 0) return puts(kperf_errmsg()), 1;
    kperf_counter_close(c);
    return 0;
}
SRC
cat >"$tmp/symbols.c" <<'SRC'
#define KPERF_IMPLEMENTATION
#include <kperf.h>
#include <kperf_symbols.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(void) {
    kperf_symbolizer *s;
    if (kperf_symbolizer_open(&s, NULL) < 0 || kperf_symbolizer_add_pid(s, getpid()) <= 0) return 1;
    kperf_frame f[8];
    int n = kperf_symbolizer_lookup(s, getpid(), (uint64_t)(uintptr_t)&main, f, 8);
    int ok = n > 0 && f[n - 1].function && !strcmp(f[n - 1].function, "main");
    kperf_symbolizer_close(s);
    return ok ? 0 : 2;
}
SRC
cat >"$tmp/spe.c" <<'SRC'
#define KPERF_IMPLEMENTATION
#include <kperf.h>
#include <kperf_spe.h>
int main(void) {
    const unsigned char end[1] = {0x01}; /* an END packet */
    kperf_spe_packet p;
    return kperf_spe_packet_parse(end, 1, &p) == 1 && p.type == KPERF_SPE_PKT_END ? 0 : 1;
}
SRC
cat >"$tmp/lk.c" <<'SRC'
#include "pmu.h"
#include "pcerrc.h"
#include <stdio.h>
int main(void) {
    char *evts[] = {"task-clock"};
    struct PmuAttr a = {0};
    a.evtList = evts, a.numEvt = 1;
    int pd = PmuOpen(COUNTING, &a);
    if (pd < 0) return puts(Perror()), 1;
    PmuClose(pd);
    return 0;
}
SRC
build() { # name pkg
    if ! cc -O0 -o "$tmp/$1" "$tmp/$1.c" $(pkg-config --cflags --libs "$2") >"$tmp/$1.log" 2>&1; then
        echo "FAIL - pkg_config_builds_$1: $(grep -m3 -E 'error|undefined' "$tmp/$1.log" | tr '\n' ' ')"
        return 1
    fi
    if ! LD_LIBRARY_PATH="$tmp/root/usr/local/lib" "$tmp/$1" >"$tmp/$1.out" 2>&1; then
        echo "FAIL - pkg_config_builds_$1: the program failed: $(head -2 "$tmp/$1.out")"
        return 1
    fi
    echo "ok - pkg_config_builds_$1"
}
build core kperf && {
    if readelf -d "$tmp/core" | grep -qE 'libelf|libdw'; then
        echo "FAIL - core_needs_no_libelf: $(readelf -d "$tmp/core" | grep -E 'libelf|libdw' | tr '\n' ' ')"
    else
        echo "ok - core_needs_no_libelf"
    fi
}
build symbols kperf
build spe kperf
build lk libkperf
