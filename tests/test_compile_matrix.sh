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
# KPERF_NO_*: each compiles the three headers with the section out and leaves no reference
# to a compiled-out function; all of them together still count (a counting-only build).
for f in SAMPLING TRACEPOINT DEVICE REGION SYSCALLS TASK; do
    if gcc -std=gnu11 -DKPERF_NO_$f -Wall -Wextra -Werror -O0 -c -I"$root" "$tmp/first.c" -o "$tmp/no.o" >"$tmp/no.log" 2>&1; then
        undef=$(nm -u "$tmp/no.o" | awk '$2 ~ /^kperf_/ {print $2}' | tr '\n' ' ')
        if [ -z "$undef" ]; then echo "ok - no_${f,,}_compiles_out"; else echo "FAIL - no_${f,,}_compiles_out: references $undef"; fi
    else
        echo "FAIL - no_${f,,}_compiles_out: $(grep -m2 error "$tmp/no.log" | tr '\n' ' ')"
    fi
done
cat >"$tmp/count_only.c" <<'SRC'
#define KPERF_NO_SAMPLING
#define KPERF_NO_TRACEPOINT
#define KPERF_NO_DEVICE
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
int main(void) {
    kperf_counter *c;
    kperf_counter_desc d;
    memset(&d, 0, sizeof d);
    d.events = "page-faults";
    if (kperf_counter_open(&c, &d) < 0) return printf("%s\n", kperf_errmsg()), 2;
    volatile char *p = (volatile char *)mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    kperf_counter_start(c);
    for (int i = 0; i < 16; i++) p[i * 4096] = 1;
    kperf_counter_stop(c);
    kperf_counts n;
    kperf_counter_read(c, &n);
    printf("%llu\n", (unsigned long long)n.events[0].v.value);
    kperf_counter_close(c);
    /* a filter needs the tracepoint section: a clear error, not silence */
    d.events = "syscalls:sys_enter_getpid/common_pid==1/";
    int rc = kperf_counter_open(&c, &d);
    printf("%d %s\n", rc, rc < 0 ? kperf_errmsg() : "");
    return 0;
}
SRC
if gcc -std=gnu11 -O0 -Wall -Wextra -Werror -I"$root" -o "$tmp/count_only" "$tmp/count_only.c" >"$tmp/co.log" 2>&1; then
    out=$("$tmp/count_only")
    if [ "$(echo "$out" | head -1)" = 16 ]; then echo "ok - counting_only_build_counts"; else echo "FAIL - counting_only_build_counts: $out"; fi
    if echo "$out" | tail -1 | grep -q -- '^-[0-9]* syscalls:sys_enter_getpid: tracepoint filters are compiled out (KPERF_NO_TRACEPOINT)$'; then echo "ok - counting_only_build_filter_error"; else echo "FAIL - counting_only_build_filter_error: $(echo "$out" | tail -1)"; fi
else
    echo "FAIL - counting_only_build_counts: $(grep -m2 error "$tmp/co.log" | tr '\n' ' ')"
fi
