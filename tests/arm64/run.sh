#!/usr/bin/env bash
# make test-arm64: runs kperf on arm64 with a real (emulated) PMU.
# Cross-builds the tool and the tests statically, packs them with busybox into an initramfs,
# boots the Debian arm64 kernel in QEMU (-icount shift=0: instruction counts are exact and
# repeatable) and counts the ok/FAIL/SKIP lines the guest prints, like tests/run.sh.
# usage: tests/arm64/run.sh [DIR]   (DIR default build/arm64; appends "passed failed skipped"
# to DIR/totals). A guest that does not come up is a failure, never a skip.
set -u
A=${1:-build/arm64}
X=$A/x                      # cross build tree (same layout as build/: kperf, tests/, progs/)
mkdir -p "$A"
rm -f "$A/totals"
fail_all() {   # fail_all NAME WHY: one FAIL line, totals, exit 1
    echo "FAIL - $1: $2"
    echo "0 1 0" >"$A/totals"
    echo "arm64: 0 passed, 1 failed, 0 skipped"
    exit 1
}
bash tests/setup.sh arm64 "$A" || fail_all arm64_setup "tests/setup.sh arm64 failed"

CROSS=aarch64-linux-gnu-
XLIBS="-static -lelf -ldw -lelf -lz -lzstd -llzma -lbz2 -lpthread -ldl -lm"
# The unit tests that run in the guest too (no x86, no host tools; fixtures from
# tests/fixtures); the hardware tests of tests/arm64/ are added below. Not here (see
# docs/arm64.md): the tests that run host tools (perf, addr2line, gcc, valgrind: test_symbols*,
# test_tracepoint_perf), ThreadSanitizer/fuzz builds, and test_libkperf_c (it links the shared
# libkperf.so; tests/arm64/test_hw_libkperf.c instead). test_spe_pmu, test_perfdata_trace and
# test_device pass here too (KPERF_ARM64_UNIT="... test_spe_pmu test_perfdata_trace
# test_device") but cost about 10 s of emulation together and test nothing arm64-specific.
UNIT_TESTS="${KPERF_ARM64_UNIT:-test_errors test_ringbuf test_syscalls test_region test_events test_pmu test_counting_plan test_spe_decode test_sampling test_counting test_task test_topology test_tracepoint test_unwind test_event_attrs test_analysis test_jitdump test_hardening}"
# Fixture programs the guest's tests run (build/progs/NAME), built statically with the
# Makefile's flags for them.
GUEST_PROGS="unwind_busy sample_busy sample_forkexec trace_getpid_write probe_calls"
# KPERF_ARM64_ONLY="name ..." runs only those programs (quick iterations while editing).
if [ -n "${KPERF_ARM64_ONLY:-}" ]; then
    keep=""
    for t in $UNIT_TESTS; do case " $KPERF_ARM64_ONLY " in *" $t "*) keep="$keep $t" ;; esac; done
    UNIT_TESTS=$keep
fi
targets="$X/kperf"
for t in $UNIT_TESTS; do targets="$targets $X/tests/$t"; done
echo "arm64: cross-building $(echo $targets | wc -w) programs"
# kperf sql stays out (SQLITE_LIBS empty: the Makefile asks the host's pkg-config, and there
# is no static arm64 SQLite); an object built with it before is rebuilt without it.
if [ -e "$X/obj/kperf/prof_sql.o" ] && ${CROSS}nm "$X/obj/kperf/prof_sql.o" 2>/dev/null | grep -q sqlite3_; then
    rm -f "$X/obj/kperf/prof_sql.o"
fi
make --no-print-directory -j2 B="$X" CC=${CROSS}gcc CXX=${CROSS}g++ LIBS="$XLIBS" SQLITE_LIBS= \
    $targets >"$A/build.log" 2>&1 || { tail -30 "$A/build.log"; fail_all arm64_build "cross build failed, see $A/build.log"; }
mkdir -p "$X/progs"
for p in $GUEST_PROGS; do
    src=tests/progs/$p.c
    [ "$X/progs/$p" -nt "$src" ] && continue
    flags="-O1 -g -fno-omit-frame-pointer"
    case "$p" in unwind_*) flags="-O2 -g -fomit-frame-pointer" ;; esac
    ${CROSS}gcc -static $flags -o "$X/progs/$p" "$src" -lpthread -lm -ldl >>"$A/build.log" 2>&1 \
        || { tail -30 "$A/build.log"; fail_all arm64_build "cross build of $src failed, see $A/build.log"; }
done
# The symbolizer fixture, -O2 -g (inlines), symbolized in the guest at every 4th byte of its
# own functions; tests/arm64/host_symbolize.sh checks the answers on the host.
SF=$X/progs/sym_fixture
if [ ! "$SF" -nt tests/progs/sym_fixture.c ]; then
    ${CROSS}gcc -O2 -g -o "$SF" tests/progs/sym_fixture.c >>"$A/build.log" 2>&1 \
        || { tail -30 "$A/build.log"; fail_all arm64_build "cross build of tests/progs/sym_fixture.c failed, see $A/build.log"; }
fi
${CROSS}nm -S --defined-only "$SF" | while read -r a n t _; do
    case "$t" in t|T) ;; *) continue ;; esac
    for ((o = 0; o < 16#$n; o += 4)); do printf '0x%x\n' $((16#$a + o)); done
done >"$SF.addrs"
hw=()
for src in tests/arm64/test_*.c; do
    [ -e "$src" ] || continue
    n=$(basename "$src" .c)
    extra=""   # libkperf programs: libkperf's headers and the drop-in source
    case "$n" in *libkperf*) extra="-Ilibkperf libkperf/libkperf.c" ;; esac
    if [ ! "$X/tests/$n" -nt "$src" ] || [ kperf.h -nt "$X/tests/$n" ] || [ libkperf/libkperf.c -nt "$X/tests/$n" ]; then
        mkdir -p "$X/tests"
        ${CROSS}gcc -O2 -g -fno-omit-frame-pointer -std=gnu11 -Wall -Wextra -Werror -I. -Itests \
            -o "$X/tests/$n" "$src" $extra $XLIBS >>"$A/build.log" 2>&1 \
            || { tail -30 "$A/build.log"; fail_all arm64_build "cross build of $src failed, see $A/build.log"; }
    fi
    hw+=("$n")
done

# The seeds' libkperf counting example, built unchanged as a libkperf program.
if [ ! "$X/examples/libkperf_count" -nt examples/libkperf_count.c ] || [ libkperf/libkperf.c -nt "$X/examples/libkperf_count" ]; then
    mkdir -p "$X/examples"
    ${CROSS}gcc -O2 -g -std=gnu11 -I. -Ilibkperf -o "$X/examples/libkperf_count" examples/libkperf_count.c \
        libkperf/libkperf.c $XLIBS >>"$A/build.log" 2>&1 \
        || { tail -30 "$A/build.log"; fail_all arm64_build "cross build of examples/libkperf_count.c failed, see $A/build.log"; }
fi

# initramfs: busybox, /init, the programs under /kperf/build (KPERF_BUILD in the guest).
R=$A/initramfs
rm -rf "$R"
mkdir -p "$R/bin" "$R/kperf/build/tests" "$R/kperf/bin"
cp "$A/root/bin/busybox" "$R/bin/busybox"
cp tests/arm64/init "$R/init"
cp "$X/kperf" "$R/kperf/build/kperf"
mkdir -p "$R/kperf/build/examples" && cp "$X/examples/libkperf_count" "$R/kperf/build/examples/"
mkdir -p "$R/kperf/tests" && cp tests/kt.h "$R/kperf/tests/" # a regular file test_event_attrs probes
mkdir -p "$R/kperf/build/progs" && for p in $GUEST_PROGS sym_fixture sym_fixture.addrs; do cp "$X/progs/$p" "$R/kperf/build/progs/"; done
ln -s ../build/kperf "$R/kperf/bin/kperf"
[ -d tests/fixtures ] && mkdir -p "$R/kperf/tests" && cp -r tests/fixtures "$R/kperf/tests/"
{
    for n in "${hw[@]}"; do
        cp "$X/tests/$n" "$R/kperf/build/tests/"
        if [ -n "${KPERF_ARM64_ONLY:-}" ]; then case " $KPERF_ARM64_ONLY " in *" $n "*) ;; *) continue ;; esac; fi
        echo "$n build/tests/$n"
    done
    for t in $UNIT_TESTS; do cp "$X/tests/$t" "$R/kperf/build/tests/"; echo "$t build/tests/$t"; done
    for sh in tests/arm64/test_*.sh; do
        n=$(basename "$sh" .sh)
        if [ -n "${KPERF_ARM64_ONLY:-}" ]; then case " $KPERF_ARM64_ONLY " in *" $n "*) ;; *) continue ;; esac; fi
        mkdir -p "$R/kperf/tests/arm64"; cp "$sh" "$R/kperf/tests/arm64/"
        echo "$n.sh sh tests/arm64/$n.sh build"
    done
    # KPERF_ARM64_EXTRA: more "name shell-command" lines (exploring the guest by hand)
    [ -n "${KPERF_ARM64_EXTRA:-}" ] && printf '%s\n' "$KPERF_ARM64_EXTRA"
} >"$R/kperf/tests.list"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) >"$A/initrd.gz" || fail_all arm64_initramfs "cpio failed"

kernel=$(ls "$A"/root/boot/vmlinuz-* | head -1)
echo "arm64: booting $(basename "$kernel") with $(du -h "$A/initrd.gz" | cut -f1) initramfs"
log=$A/console.log
# host wall time (seconds since QEMU started) on the marker lines, for the per-program
# times below; plain copy without python3
stamp() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -u -c '
import sys, time
t0 = time.monotonic()
for line in sys.stdin.buffer:
    if line.startswith((b"=== BEGIN ", b"=== END ", b"KPERF-GUEST-")):
        line = line.rstrip(b"\r\n") + (" wall=%.2f\n" % (time.monotonic() - t0)).encode()
    sys.stdout.buffer.write(line)'
    else
        cat
    fi
}
timeout ${KPERF_ARM64_TIMEOUT:-540} qemu-system-aarch64 -M virt -cpu ${KPERF_ARM64_CPU:-max,pauth=off} -smp 1 -m 512 \
    -icount ${KPERF_ARM64_ICOUNT:-shift=0} -nic none -nographic -no-reboot \
    -kernel "$kernel" -initrd "$A/initrd.gz" -append "console=ttyAMA0 quiet panic=-1" \
    </dev/null 2>&1 | stamp >"$log"
qrc=${PIPESTATUS[0]}
tr -d '\r' <"$log" >"$log.txt"
grep -q '^KPERF-GUEST-UP' "$log.txt" || { tail -20 "$log.txt"; fail_all arm64_guest_boot "the guest did not reach /init (qemu exit $qrc), see $log"; }
grep '^KPERF-GUEST-UP' "$log.txt" | sed 's/ wall=[0-9.]*$//'
up=$(sed -n 's/^KPERF-GUEST-UP.* wall=\([0-9.]*\)$/\1/p' "$log.txt")
done_at=$(sed -n 's/^KPERF-GUEST-DONE wall=\([0-9.]*\)$/\1/p' "$log.txt")
[ -n "$up" ] && [ -n "$done_at" ] && echo "arm64: guest wall time: boot ${up} s, programs $(awk -v a="$up" -v b="$done_at" 'BEGIN { printf "%.1f", b - a }') s"
# Split the console log per program and count its lines as tests/run.sh does.
rm -rf "$A/out"; mkdir -p "$A/out"
awk -v A="$A" '
    /^=== FILE /  { out = A "/out/" $3 ".b64"; printf "" > out; next }
    /^=== ENDFILE/ { close(out); out = ""; next }
    out != ""     { print > out; next }
    /^=== BEGIN / { name = $3; file = A "/logs/" name ".log"; printf "" > file
                    wb = $NF; if (!sub("^wall=", "", wb)) wb = ""; next }
    /^=== END /   { sub("rc=", "", $4); we = $NF; secs = "?"
                    if (sub("^wall=", "", we) && wb != "") secs = sprintf("%.1f", we - wb)
                    print name, $4, secs > (A "/logs/rc.txt"); close(file); name = ""; next }
    name != ""    { print > file }
' <(mkdir -p "$A/logs"; rm -f "$A/logs/rc.txt"; cat "$log.txt")
pass=0 fail=0 skip=0
while read -r name rc secs; do
    f=$A/logs/$name.log
    p=$(grep -c '^ok - ' "$f"); fl=$(grep -c '^FAIL - ' "$f"); s=$(grep -c '^SKIP - ' "$f")
    if [ "$rc" -ne 0 ] && [ "$fl" -eq 0 ]; then
        echo "FAIL - $name: exited with status $rc without a FAIL line" >>"$f"; fl=$((fl + 1))
    fi
    pass=$((pass + p)); fail=$((fail + fl)); skip=$((skip + s))
    printf '[arm64] %-32s %3d ok %3d failed %3d skipped %6ss\n' "$name" "$p" "$fl" "$s" "$secs"
    grep -E '^(FAIL|SKIP) - ' "$f" | sed 's/^/    /'
    if [ "$fl" -ne 0 ]; then tail -n 20 "$f" | sed 's/^/    | /'; fi
done <"$A/logs/rc.txt"
# Host-side checks of what the guest wrote out (perf.data for the host's perf report).
for f in "$A"/out/*.b64; do [ -e "$f" ] && base64 -d "$f" >"${f%.b64}"; done
for h in tests/arm64/host_*.sh; do
    [ -e "$h" ] || continue
    name=$(basename "$h")
    if [ -n "${KPERF_ARM64_ONLY:-}" ]; then case " $KPERF_ARM64_ONLY " in *" ${name%.sh} "*) ;; *) continue ;; esac; fi
    f=$A/logs/$name.log
    timeout 300 bash "$h" "$A" >"$f" 2>&1
    rc=$?
    p=$(grep -c '^ok - ' "$f"); fl=$(grep -c '^FAIL - ' "$f"); s=$(grep -c '^SKIP - ' "$f")
    if [ "$rc" -ne 0 ] && [ "$fl" -eq 0 ]; then
        echo "FAIL - $name: exited with status $rc without a FAIL line" >>"$f"; fl=$((fl + 1))
    fi
    pass=$((pass + p)); fail=$((fail + fl)); skip=$((skip + s))
    printf '[arm64] %-32s %3d ok %3d failed %3d skipped\n' "$name (host)" "$p" "$fl" "$s"
    grep -E '^(FAIL|SKIP) - ' "$f" | sed 's/^/    /'
    if [ "$fl" -ne 0 ]; then tail -n 20 "$f" | sed 's/^/    | /'; fi
done
ran=$(wc -l <"$A/logs/rc.txt")
want=$(grep -c . "$R/kperf/tests.list")
if ! grep -q '^KPERF-GUEST-DONE' "$log.txt" || [ "$ran" -ne "$want" ]; then
    echo "FAIL - arm64_guest_done: the guest ran $ran of $want programs and did not finish (qemu exit $qrc), see $log"
    tail -5 "$log.txt" | sed 's/^/    | /'
    fail=$((fail + 1))
fi
echo "$pass $fail $skip" >"$A/totals"
echo "arm64: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
