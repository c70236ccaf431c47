#!/usr/bin/env bash
# kperf report names frames with kperf_symbols.h (function names instead of module+offset)
# and draws a flame graph with --svg. usage: tests/test_symbols_report.sh BUILD_DIR
B=${1:-build}
K=$B/kperf
BUSY=$B/progs/sample_busy
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
[ -x "$BUSY" ] || { echo "SKIP - report_symbols: $BUSY not built"; exit 0; }
if ! "$K" record -F 2000 -g -o "$T/k.data" -- "$BUSY" >"$T/rec.out" 2>&1; then
    echo "SKIP - report_symbols: kperf record failed here: $(tail -1 "$T/rec.out")"; exit 0
fi
top=$("$K" report -i "$T/k.data" -n 1 | grep -v '^#' | head -1 | awk '{print $4}')
if [ "$top" = sample_hot ]; then echo "ok - report_top_function_named"; else echo "FAIL - report_top_function_named: top '$top', expected sample_hot"; fi
if "$K" report -i "$T/k.data" --folded | grep -q ';sample_hot [0-9]*$'; then echo "ok - report_folded_named"; else echo "FAIL - report_folded_named: no ';sample_hot N' line"; fi
if "$K" report -i "$T/k.data" --svg "$T/f.svg" && grep -q 'data-n="sample_hot"' "$T/f.svg" && grep -q '</svg>' "$T/f.svg" && [ ! -e "$T/f.svg.folded" ]; then
    echo "ok - report_svg_flamegraph"
else
    echo "FAIL - report_svg_flamegraph: no sample_hot frame in the SVG"
fi
