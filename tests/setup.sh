#!/usr/bin/env bash
# Makes a fresh Debian machine ready for a make target: installs missing packages when it
# can (root and apt-get present), otherwise stops with the exact command to run; mounts
# tracefs when it is missing and we are allowed to.
# usage: tests/setup.sh build|test|docs|bench|python|arm64 [DIR]
#   arm64: the cross compiler, arm64 static libraries (dpkg --add-architecture arm64), QEMU,
#   and, unpacked under DIR (default build/arm64), the Debian arm64 kernel and busybox.
set -u
what=${1:-build}
arm64_dir=${2:-build/arm64}
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
want() { for p in "$@"; do have_pkg "$p" || need+=("$p"); done; }

command -v dpkg-query >/dev/null 2>&1 || { echo "setup: not a Debian system; install a C compiler, libelf, libdw by hand" >&2; exit 0; }
want gcc g++ make libc6-dev linux-libc-dev libelf-dev libdw-dev zlib1g-dev libzstd-dev pkg-config
case "$what" in
    test) want libsqlite3-dev systemtap-sdt-dev linux-perf strace binutils elfutils llvm clang libclang-rt-dev valgrind python3 util-linux procps golang-go debuginfod libtsan2 libc6-dbg librsvg2-bin chromium ;;
    fuzz) want clang libclang-rt-dev ;;
    docs) want doxygen ;;
    bench) want libpapi-dev linux-perf binutils elfutils llvm ;;
    python) want python3 ;;
    arm64)
        want qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross cpio gzip linux-perf
        if ! dpkg --print-foreign-architectures | grep -qx arm64; then
            if [ "$(id -u)" = 0 ]; then
                dpkg --add-architecture arm64 || { echo "setup: dpkg --add-architecture arm64 failed" >&2; exit 1; }
            else
                echo "setup: run: sudo dpkg --add-architecture arm64 && sudo apt-get update" >&2
                exit 1
            fi
        fi
        want libelf-dev:arm64 libdw-dev:arm64 zlib1g-dev:arm64 libzstd-dev:arm64 liblzma-dev:arm64 libbz2-dev:arm64
        ;;
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
if [ "$what" = arm64 ]; then
    # The guest: the Debian arm64 cloud kernel (it has the PMUv3 driver built in) and a
    # static busybox, downloaded as .deb files and unpacked once; reruns find them in DIR.
    mkdir -p "$arm64_dir/debs"
    fetch() {   # fetch PACKAGE: download (once) and unpack into DIR/root
        local f
        f=$(ls "$arm64_dir/debs/$1"_*_arm64.deb 2>/dev/null | head -1)
        if [ -z "$f" ]; then
            (cd "$arm64_dir/debs" && apt-get download "$1:arm64" >/dev/null 2>>/tmp/kperf-setup.log) \
                || { [ "$(id -u)" = 0 ] && apt-get update -qq >/dev/null 2>&1 && (cd "$arm64_dir/debs" && apt-get download "$1:arm64" >/dev/null 2>>/tmp/kperf-setup.log); } \
                || { echo "setup: apt-get download $1:arm64 failed, see /tmp/kperf-setup.log" >&2; exit 1; }
            f=$(ls "$arm64_dir/debs/$1"_*_arm64.deb | head -1)
        fi
        if [ ! -e "$arm64_dir/root/.$1" ]; then
            dpkg-deb -x "$f" "$arm64_dir/root" || { echo "setup: dpkg-deb -x $f failed" >&2; exit 1; }
            touch "$arm64_dir/root/.$1"
        fi
    }
    # linux-image-cloud-arm64 is a metapackage: its first dependency names the kernel.
    kpkg=$(apt-cache depends linux-image-cloud-arm64:arm64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {sub(":arm64", "", $2); print $2; exit}')
    [ -n "$kpkg" ] || { echo "setup: no arm64 kernel package found (apt-cache depends linux-image-cloud-arm64:arm64)" >&2; exit 1; }
    fetch "$kpkg"
    fetch busybox-static
    ls "$arm64_dir"/root/boot/vmlinuz-* >/dev/null 2>&1 || { echo "setup: $kpkg has no /boot/vmlinuz" >&2; exit 1; }
    [ -x "$arm64_dir/root/bin/busybox" ] || { echo "setup: busybox-static:arm64 has no /bin/busybox" >&2; exit 1; }
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
