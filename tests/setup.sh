#!/usr/bin/env bash
# Makes a fresh Debian machine ready for a make target: installs missing packages when it
# can (root and apt-get present), otherwise stops with the exact command to run; mounts
# tracefs when it is missing and we are allowed to.
# usage: tests/setup.sh build|test|docs|bench|python
set -u
what=${1:-build}
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
want() { for p in "$@"; do have_pkg "$p" || need+=("$p"); done; }

command -v dpkg-query >/dev/null 2>&1 || { echo "setup: not a Debian system; install a C compiler, libelf, libdw by hand" >&2; exit 0; }
want gcc g++ make libc6-dev linux-libc-dev libelf-dev libdw-dev zlib1g-dev libzstd-dev pkg-config
case "$what" in
    test) want linux-perf strace binutils elfutils llvm clang valgrind python3 util-linux procps golang-go ;;
    docs) want doxygen ;;
    bench) want libpapi-dev linux-perf binutils elfutils llvm ;;
    python) want python3 ;;
esac
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}"; } >/tmp/kperf-setup.log 2>&1 \
            || { echo "setup: apt-get failed, see /tmp/kperf-setup.log" >&2; tail -5 /tmp/kperf-setup.log >&2; exit 1; }
    else
        echo "setup: missing packages; run: sudo apt-get install -y ${need[*]}" >&2
        exit 1
    fi
fi
if [ "$what" = test ] && [ ! -e /sys/kernel/tracing/events ] && [ ! -e /sys/kernel/debug/tracing/events ]; then
    if [ "$(id -u)" = 0 ]; then
        mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null \
            || echo "setup: could not mount tracefs; tracepoint tests will skip" >&2
    else
        echo "setup: tracefs is not mounted; tracepoint tests will skip (run: sudo mount -t tracefs nodev /sys/kernel/tracing)" >&2
    fi
fi
exit 0
