#!/usr/bin/env bash
# The implementation of all three headers compiles, with no user-supplied defines and with
# -Wall -Wextra -Werror, under every common standard: gcc and clang with -std=c99, c11,
# gnu11 in a .c file; g++ and clang++ with -std=c++11/14/17/20 in a .cpp file; each with
# kperf.h included first and after <stdio.h>/<string.h>/<stdlib.h>/<time.h>. Strict ISO C
# after a POSIX header is the one mode that cannot work: it must stop with a #error that
# names the fix. gcc -std=c99 -O2 also compiles two TUs fully (flow warnings need -O2).
# Runs in the plain pass only (usage: tests/test_compile_matrix.sh BUILD_DIR).
B=${1:-build}
case "$B" in *asan*) exit 0 ;; esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$PWD
impl='#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include "kperf_spe.h"'
before='#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>'
printf '%s\nint main(void) { return kperf_version_string() == 0; }\n' "$impl" >"$tmp/first.c"
printf '%s\n%s\nint main(void) { return kperf_version_string() == 0; }\n' "$before" "$impl" >"$tmp/after.c"
cp "$tmp/first.c" "$tmp/first.cpp"
cp "$tmp/after.c" "$tmp/after.cpp"
jobs=()
for cc in gcc clang; do
    command -v $cc >/dev/null || { echo "SKIP - matrix_$cc: $cc is not installed"; continue; }
    for std in c99 c11 gnu11; do for f in first after; do jobs+=("$cc $std $f c"); done; done
done
for cxx in g++ clang++; do
    command -v $cxx >/dev/null || { echo "SKIP - matrix_$cxx: $cxx is not installed"; continue; }
    for std in c++11 c++14 c++17 c++20; do for f in first after; do jobs+=("$cxx $std $f cpp"); done; done
done
printf '%s\n' "${jobs[@]}" | xargs -P 2 -L 1 sh -c '
    name="matrix_$(echo "$0_$1_$2" | tr "+" "x")"
    if "$0" -std=$1 -Wall -Wextra -Werror -fsyntax-only -I"'"$root"'" "'"$tmp"'/$2.$3" >"'"$tmp"'/$name.log" 2>&1; then
        echo "ok - $name"
    else
        echo "FAIL - $name: $(grep -m2 error "'"$tmp"'/$name.log" | tr "\n" " ")"
    fi'
# Strict ISO C after a POSIX header: a #error that says what to do.
printf '#include <unistd.h>\n%s\nint main(void) { return 0; }\n' "$impl" >"$tmp/posix_first.c"
if gcc -std=c99 -fsyntax-only -I"$root" "$tmp/posix_first.c" >"$tmp/posix.log" 2>&1; then
    echo "FAIL - strict_c_after_posix_header_errors: it compiled (it cannot declare pread etc.)"
elif grep -q 'kperf: under strict ISO C.*include kperf.h before any POSIX header' "$tmp/posix.log"; then
    echo "ok - strict_c_after_posix_header_errors"
else
    echo "FAIL - strict_c_after_posix_header_errors: $(grep -m1 error "$tmp/posix.log")"
fi
# Full compile of two C99 TUs at -O2 (control-flow warnings), linked and run.
printf '%s\nint tu_b(void);\nint main(void) { return tu_b(); }\n' "$impl" >"$tmp/tu_a.c"
printf '#include "kperf.h"\n#include "kperf_symbols.h"\n#include "kperf_spe.h"\nint tu_b(void) { return kperf_strerror(-KPERF_EPARSE) == 0; }\n' >"$tmp/tu_b.c"
if gcc -std=c99 -O2 -Wall -Wextra -Werror -I"$root" -o "$tmp/two" "$tmp/tu_a.c" "$tmp/tu_b.c" -lelf -ldw -lz -lpthread -ldl -lm >"$tmp/two.log" 2>&1 && "$tmp/two"; then
    echo "ok - c99_O2_two_translation_units"
else
    echo "FAIL - c99_O2_two_translation_units: $(grep -m2 error "$tmp/two.log" | tr '\n' ' ')"
fi
