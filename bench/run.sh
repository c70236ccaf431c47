#!/usr/bin/env bash
# Runs every benchmark of a build and writes docs/PERFORMANCE.md.
# usage: bench/run.sh BUILD_DIR        (`make bench` builds the benches and calls this)
#
# Adding a benchmark: write bench/bench_<area>.c (the Makefile builds every bench/bench_*.c
# into BUILD_DIR/bench/). It is run as `bench_<area> BUILD_DIR` from the repository root and
# prints one Markdown section, starting with a `## ` title, on stdout; this script puts the
# sections in name order under a common header. A bench that fails leaves a note instead.
set -u
B=${1:-build}
out=docs/PERFORMANCE.md
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.err"' EXIT
cpu=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null)
virt=$(systemd-detect-virt 2>/dev/null || true)
{
    echo "# kperf performance"
    echo
    echo "Reproduce with \`make bench\` (builds bench/bench_*.c, runs each, rewrites this file)."
    echo
    echo "Last run: $(date -u '+%Y-%m-%d %H:%M UTC') on ${cpu:-unknown CPU}, $(nproc) CPUs," \
         "Linux $(uname -r)${virt:+, virtualised ($virt)}, perf_event_paranoid" \
         "$(cat /proc/sys/kernel/perf_event_paranoid 2>/dev/null)."
    echo "Times on a shared virtual machine vary from run to run by 20% or more; syscall counts"
    echo "and the ratios between approaches measured in the same run are the stable part."
    echo
} >"$tmp"
n=0
for b in "$B"/bench/bench_*; do
    [ -x "$b" ] || continue
    case "$b" in *.d|*.o) continue ;; esac
    name=$(basename "$b")
    echo "bench: running $name" >&2
    if "$b" "$B" >>"$tmp" 2>"$tmp.err"; then
        n=$((n + 1))
    else
        rc=$?
        { echo "## $name"; echo; echo "Failed (exit $rc):"; echo; echo '```'
          tail -n 5 "$tmp.err"; echo '```'; echo; } >>"$tmp"
    fi
    echo >>"$tmp"
done
mv "$tmp" "$out"
trap - EXIT
rm -f "$tmp.err"
echo "bench: $n benchmark(s) ran; wrote $out" >&2
