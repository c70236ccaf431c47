#!/usr/bin/env bash
# kperf symbolize against GNU addr2line and llvm-symbolizer on fixtures built here in many
# shapes: C and C++, gcc and clang, -O0 and -O2 (inlining), PIE and non-PIE, a shared
# library, DWARF 4 and 5, stripped with a .gnu_debuglink, zlib- and zstd-compressed debug
# sections. 3000 random text addresses each (fixed seed); see tests/sym_oracle.py for the
# comparison and the explained binutils quirks.
# usage: tests/test_symbols_oracle.sh BUILD_DIR
B=${1:-build}
K=$B/kperf
F=$B/symfix
N=${SYM_ORACLE_N:-3000}
mkdir -p "$F"
[ -x "$K" ] || { echo "FAIL - oracle: $K not built"; exit 1; }
command -v addr2line >/dev/null || { echo "SKIP - oracle: addr2line missing (apt-get install binutils)"; exit 0; }
command -v python3 >/dev/null || { echo "SKIP - oracle: python3 missing"; exit 0; }
SRC=tests/progs/sym_fixture.c
CXXSRC=tests/progs/sym_fixture_cpp.cpp

build() { # name compiler flags... -- builds $F/name, prints SKIP when the toolchain refuses
    local name=$1 cc=$2; shift 2
    if ! command -v "$cc" >/dev/null; then echo "SKIP - oracle_$name: $cc not installed"; return 1; fi
    if ! "$cc" "$@" -o "$F/$name" >"$F/$name.log" 2>&1; then
        echo "SKIP - oracle_$name: $cc $* failed: $(tail -1 "$F/$name.log")"; return 1
    fi
}
# The fast path (line programs and DIE trees read by kperf, compile units indexed ahead on
# every CPU) must print byte for byte what the reference path prints (KPERF_SYMBOLS_REFERENCE=1:
# libdw's line decoder, each CU indexed lazily by the lookup that needs it): every 3rd
# .text address (at most 30000), all flags, one batch on stdin. KPERF_SYMBOLS_STRICT=1 makes
# the fast path say on stderr (captured with the output) when a CU fell back to libdw, so the
# comparison also proves that kperf's own readers read every unit.
same_as_reference() {
    local bin=$F/$1 out=$F/$1.ref
    readelf -SW "$bin" | python3 -c '
import re, sys
for l in sys.stdin:
    m = re.search(r"\.text\s+PROGBITS\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)", l)
    if m:
        lo, n = int(m.group(1), 16), int(m.group(2), 16)
        step = max(3, n // 30000)
        sys.stdout.write("".join("0x%x\n" % a for a in range(lo, lo + n, step)))' >"$out.in"
    KPERF_SYMBOLS_STRICT=1 "$K" symbolize -a -f -i -C -e "$bin" <"$out.in" >"$out.fast" 2>&1
    KPERF_SYMBOLS_REFERENCE=1 "$K" symbolize -a -f -i -C -e "$bin" <"$out.in" >"$out.slow" 2>&1
    local n; n=$(wc -l <"$out.in")
    if [ "$n" -gt 0 ] && cmp -s "$out.fast" "$out.slow"; then
        echo "ok - fast_path_same_$1: $n addresses, output identical to the reference path"
    else
        echo "FAIL - fast_path_same_$1: $n addresses, outputs differ: $(cmp "$out.fast" "$out.slow" 2>&1 | head -1)"
    fi
}
check() { python3 tests/sym_oracle.py "$K" "$F/$1" "$1" "$N" "${2:-12345}"; same_as_reference "$1"; }

build c_gcc_O0_dw5_default gcc -O0 -g "$SRC" && check c_gcc_O0_dw5_default
build c_gcc_O2_dw5_default gcc -O2 -g "$SRC" && check c_gcc_O2_dw5_default
build c_gcc_O2_dw4 gcc -O2 -gdwarf-4 "$SRC" && check c_gcc_O2_dw4
build c_gcc_O2_nopie_dw5 gcc -O2 -g -fno-pie -no-pie "$SRC" && check c_gcc_O2_nopie_dw5
build c_gcc_O3_dw4_nopie gcc -O3 -gdwarf-4 -fno-pie -no-pie "$SRC" && check c_gcc_O3_dw4_nopie
build c_clang_O2_dw5 clang -O2 -gdwarf-5 "$SRC" && check c_clang_O2_dw5
build c_clang_O2_dw4 clang -O2 -gdwarf-4 "$SRC" && check c_clang_O2_dw4
build cpp_gcc_O0_dw5_default g++ -O0 -g "$CXXSRC" && check cpp_gcc_O0_dw5_default
build cpp_gcc_O2_dw5_default g++ -O2 -g "$CXXSRC" && check cpp_gcc_O2_dw5_default
build cpp_gcc_O2_dw4 g++ -O2 -gdwarf-4 "$CXXSRC" && check cpp_gcc_O2_dw4
build cpp_clang_O2_dw5 clang++ -O2 -gdwarf-5 "$CXXSRC" && check cpp_clang_O2_dw5
build libsym_gcc_O2_dw5.so gcc -O2 -g -fPIC -shared -DSYM_AS_LIB "$SRC" && check libsym_gcc_O2_dw5.so
# two compile units: both gcc (the unit list comes from .debug_aranges, which names both),
# and gcc with a clang unit (no .debug_aranges from clang: the list is read unit by unit)
U2=tests/progs/sym_fixture_unit2.c
build two_units_gcc_O2_dw5 gcc -O2 -g "$SRC" "$U2" && check two_units_gcc_O2_dw5
if command -v clang >/dev/null && clang -O2 -gdwarf-5 -c "$U2" -o "$F/unit2_clang.o" 2>/dev/null; then
    build mixed_gcc_clang_O2_dw5 gcc -O2 -g "$SRC" "$F/unit2_clang.o" && check mixed_gcc_clang_O2_dw5
else
    echo "SKIP - oracle_mixed_gcc_clang_O2_dw5: clang not installed"
fi
# -gz: zlib-compressed sections written by the compiler/linker
build c_gcc_O2_gz_dw5 gcc -O2 -g -gz "$SRC" && check c_gcc_O2_gz_dw5

# stripped binary with a .gnu_debuglink to a separate debug file (CRC checked)
if build c_gcc_O2_full_dw5 gcc -O2 -g "$SRC"; then
    (cd "$F" && objcopy --only-keep-debug c_gcc_O2_full_dw5 c_gcc_O2_dbglink_dw5.debug &&
        objcopy --strip-debug --add-gnu-debuglink=c_gcc_O2_dbglink_dw5.debug c_gcc_O2_full_dw5 c_gcc_O2_dbglink_dw5) &&
        check c_gcc_O2_dbglink_dw5
    # zstd-compressed debug sections (libelf < 0.189 cannot inflate them; kperf does)
    if objcopy --compress-debug-sections=zstd "$F/c_gcc_O2_full_dw5" "$F/c_gcc_O2_zstd_dw5" 2>/dev/null &&
        readelf -t "$F/c_gcc_O2_zstd_dw5" 2>/dev/null | grep -qi zstd; then
        check c_gcc_O2_zstd_dw5
    else
        echo "SKIP - oracle_c_gcc_O2_zstd_dw5: this objcopy cannot write zstd sections"
    fi
    objcopy --compress-debug-sections=zlib "$F/c_gcc_O2_full_dw5" "$F/c_gcc_O2_zlib_dw5" && check c_gcc_O2_zlib_dw5
fi
# interactive use: each answer is printed before the next address is written, with stdin
# still open (answers wait for a batch only while more input is ready to read)
if [ -x "$F/c_gcc_O2_full_dw5" ]; then
    main=$(nm "$F/c_gcc_O2_full_dw5" | awk '$3 == "main" { print $1 }')
    coproc SYMQ { "$K" symbolize -f -e "$F/c_gcc_O2_full_dw5" 2>&1; }
    got=
    for i in 1 2 3; do
        echo "0x$main" >&"${SYMQ[1]}"
        fn= ln=
        read -t 10 -r fn <&"${SYMQ[0]}" && read -t 10 -r ln <&"${SYMQ[0]}"
        got="$got${fn:-timeout} ${ln##*/} "
    done
    want="$(addr2line -f -e "$F/c_gcc_O2_full_dw5" "0x$main" | sed 's|.*/||' | tr '\n' ' ')"
    eval "exec ${SYMQ[1]}>&-"
    wait "$SYMQ_PID" 2>/dev/null
    if [ "$got" = "$want$want$want" ]; then echo "ok - symbolize_interactive"
    else echo "FAIL - symbolize_interactive: got '$got', want 3 x '$want'"; fi
fi
exit 0
