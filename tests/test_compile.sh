#!/usr/bin/env bash
# Header form: C99 and C++11 declarations, C++11 implementation, two TUs, KPERF_STATIC,
# and no exported symbol outside kperf_* (STYLE.md rule 4).
B=${1:-build}
C=$B/tests/compile
for t in impl_cxx two_tu static; do "$C/$t" || echo "FAIL - $t: exited $?"; done
[ -f "$C/decl_c99.o" ] && echo "ok - c99_declarations" || echo "FAIL - c99_declarations: not built"
[ -f "$C/decl_cxx.o" ] && echo "ok - cxx11_declarations" || echo "FAIL - cxx11_declarations: not built"
# Every global symbol defined by an object built from the headers starts with kperf_.
obj=$(mktemp --suffix=.o)
cc -c -O0 -I. -x c - -o "$obj" <<'SRC'
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include "kperf_spe.h"
SRC
bad=$(nm --defined-only -g "$obj" | awk '{print $3}' | grep -v '^kperf_' || true)
if [ -z "$bad" ]; then echo "ok - exports_only_kperf_symbols"; else echo "FAIL - exports_only_kperf_symbols: $bad"; fi
# Under KPERF_STATIC nothing is exported at all.
cc -c -O0 -I. -DKPERF_STATIC -x c - -o "$obj" <<'SRC'
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include "kperf_spe.h"
SRC
bad=$(nm --defined-only -g "$obj" | awk '{print $3}')
if [ -z "$bad" ]; then echo "ok - static_exports_nothing"; else echo "FAIL - static_exports_nothing: $bad"; fi
rm -f "$obj"
