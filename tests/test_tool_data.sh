#!/usr/bin/env bash
# kperf tool: the "wrong or lost data" defects of issue 13, each against an oracle:
# tracepoint filters when counting (perf stat), names of exited and forked processes
# (perf report on the same file), `record -o -` keeping the workload's stdout out of the
# data, and record's exit status.
B=${1:-build}
K=$(cd "$B" && pwd)/kperf
ok() { echo "ok - $1"; }
fail() { echo "FAIL - $1: $2"; }
skip() { echo "SKIP - $1: $2"; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else fail "$1" "got '$2', expected '$3'"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
csv_value() { awk -F, -v e="$2" '$3 == e { print $1 }' "$1"; }
WR=syscalls:sys_enter_write
have_tp=1
[ -r /sys/kernel/tracing/events/syscalls/sys_enter_write/id ] || have_tp=0
have_perf=1
command -v perf >/dev/null || have_perf=0

# --- tracepoint filters are applied when counting -------------------------------------
# trace_getpid_write 0 300: 300 one-byte writes to /dev/null and nothing else
P=$B/progs/trace_getpid_write
if [ $have_tp = 0 ]; then
    for t in stat_filter_counts stat_filter_like_perf stat_filter_rejected; do
        skip $t "tracefs syscalls events not readable"; done
else
    $K stat -x, -e "$WR/fd==99/" -- $P 0 300 2>"$tmp/f0.csv"
    $K stat -x, -e "$WR/count==1/" -- $P 0 300 2>"$tmp/f1.csv"
    $K stat -x, -e "$WR" -- $P 0 300 2>"$tmp/f2.csv"
    got="$(csv_value "$tmp/f0.csv" $WR) $(csv_value "$tmp/f1.csv" $WR) $(csv_value "$tmp/f2.csv" $WR)"
    check stat_filter_counts "$got" "0 300 300"
    if [ $have_perf = 1 ]; then
        perf stat -x, -e $WR --filter 'fd==99' -- $P 0 300 2>"$tmp/p0.csv"
        perf stat -x, -e $WR --filter 'count==1' -- $P 0 300 2>"$tmp/p1.csv"
        pgot="$(csv_value "$tmp/p0.csv" $WR) $(csv_value "$tmp/p1.csv" $WR)"
        check stat_filter_like_perf "$(echo "$got" | cut -d' ' -f1-2)" "$pgot"
    else skip stat_filter_like_perf "perf not installed"; fi
    msg=$($K stat -e "$WR/no_such_field==1/" -- $P 0 3 2>&1); rc=$?
    if [ $rc = 1 ] && [[ $msg == *"rejected filter 'no_such_field==1' on $WR"* ]] \
        && [[ $msg != *"Performance counter stats"* ]]; then ok stat_filter_rejected
    else fail stat_filter_rejected "rc $rc: $msg"; fi
fi

# --- names of a process that has exited: record -o - | report -i - ----------------------
# The report reads the MMAP2 records while sample_busy runs (0.5 s) and looks names up
# after it has exited: the module must be opened by its recorded path then.
S=$B/progs/sample_busy
$K record -g -o - -- $S 0.5 2>/dev/null | $K report -i - >"$tmp/pipe.txt" 2>&1
top=$(sed -n 3p "$tmp/pipe.txt" | awk '{print $4}')
check report_pipe_names_exited "$top" sample_hot
$K record -g --folded "$tmp/s.folded" -- $S 0.1 2>/dev/null
n=$(grep -c '^sample_busy;.*main;sample_caller;sample_hot' "$tmp/s.folded")
bad=$(grep -c 'sample_busy+0x' "$tmp/s.folded")
if [ "$n" -ge 1 ] && [ "$bad" = 0 ]; then ok record_folded_names_exited
else fail record_folded_names_exited "$n named stacks, $bad unnamed: $(head -3 "$tmp/s.folded")"; fi

# --- fork and threads inherit maps and comm, as perf report has them -------------------
F=$B/progs/fork_threads
$K record -g -o "$tmp/ft.data" -- $F 0.2 2>/dev/null
$K report -i "$tmp/ft.data" -n 100 >"$tmp/ft.txt"
if [ $have_perf = 1 ]; then
    # perf's self samples per symbol of the program and the vDSO against kperf's (libc's
    # aliases are named differently by the two: __open_nocancel, __GI___open64_nocancel)
    perf report -i "$tmp/ft.data" --stdio --no-children --sort dso,sym -n -g none 2>/dev/null \
        | awk '$4 == "[.]" && ($3 == "fork_threads" || $3 == "[vdso]") { print $5, $2 }' \
        | sort >"$tmp/p.rows"
    awk 'NR > 2 && $3 > 0 { print $4, $3 }' "$tmp/ft.txt" | sort | join - <(cut -d' ' -f1 "$tmp/p.rows") >"$tmp/k.rows"
    if [ -s "$tmp/p.rows" ] && cmp -s "$tmp/p.rows" "$tmp/k.rows"; then ok report_fork_like_perf
    else fail report_fork_like_perf "$(diff "$tmp/p.rows" "$tmp/k.rows" | head -6 | tr '\n' '|')"; fi
else skip report_fork_like_perf "perf not installed"; fi
child=$(awk '$4 == "work_child" { print $2 }' "$tmp/ft.txt")
if [ -n "$child" ] && [ "${child%%.*}" -ge 20 ]; then ok report_fork_child_named
else fail report_fork_child_named "work_child total '$child': $(head -5 "$tmp/ft.txt" | tr '\n' '|')"; fi
$K report -i "$tmp/ft.data" --folded >"$tmp/ft.folded"
a=$(grep -c '^fork_threads;__libc_start_call_main;main;work_child;burn' "$tmp/ft.folded")
b=$(grep -c '^fork_threads;start_thread;work_thread;burn' "$tmp/ft.folded")
c=$(grep -vc '^fork_threads;' "$tmp/ft.folded")
if [ "$a" -ge 1 ] && [ "$b" -ge 1 ] && [ "$c" = 0 ]; then ok report_folded_process_root
else fail report_folded_process_root "child $a, thread $b, rootless $c: $(grep -v '^fork_threads;' "$tmp/ft.folded" | head -2)"; fi

# --- record -o -: the workload's stdout goes to stderr, the data stays clean ------------
$K record -o - -- sh -c 'echo MARK$((40+2))' >"$tmp/o.data" 2>"$tmp/o.err"
rc=$?
if [ $rc = 0 ] && ! grep -q MARK42 "$tmp/o.data" && grep -q MARK42 "$tmp/o.err" \
    && $K report -i - <"$tmp/o.data" >/dev/null 2>&1; then ok record_stdout_pipe_clean
else fail record_stdout_pipe_clean "rc $rc; in data: $(grep -c MARK42 "$tmp/o.data"), in stderr: $(grep -c MARK42 "$tmp/o.err")"; fi

# --- record's exit status is the command's; a missing command leaves no file -----------
$K record -o "$tmp/x.data" -- sh -c 'exit 3' 2>/dev/null
check record_exit_status $? 3
msg=$(cd "$tmp" && $K record -- /no/such/program 2>&1); rc=$?
n=$(grep -c "cannot run '/no/such/program': No such file or directory" <<<"$msg")
if [ $rc = 127 ] && [ "$n" = 1 ] && [ ! -e "$tmp/perf.data" ]; then ok record_missing_command
else fail record_missing_command "rc $rc, message x$n, file: $(ls "$tmp")"; fi

# --- the option layer, the same on every command ------------------------------------
# every command the tool lists (new ones are checked as they are added)
cmds=$($K --help | awk '/^commands:/ {f = 1; next} f && /^  [a-z]/ {print $1}')
[ "$(wc -w <<<"$cmds")" -ge 9 ] && ok cli_command_list || fail cli_command_list "'$cmds'"
for c in $cmds; do
    h=$($K $c --help 2>&1); rc=$?
    h2=$($K help $c 2>&1)
    if [ $rc = 0 ] && [[ $h == "usage: kperf $c "* ]] && [ "$h" = "$h2" ] && [[ $h == *"-h, --help"* ]]
    then ok "cli_help_$c"; else fail "cli_help_$c" "rc $rc: $(head -2 <<<"$h")"; fi
    msg=$($K $c --no-such-option 2>&1); rc=$?
    check "cli_unknown_option_$c" "$rc:$msg" "2:kperf $c: unknown option '--no-such-option'; see 'kperf $c --help'"
done
# the shared target options mean the same thing in every command that takes them
for c in stat record trace syscalls spe-record; do
    msg=$($K $c -p 2>&1); rc=$?
    check "cli_missing_arg_$c" "$rc:$msg" "2:kperf $c: option -p/--pid needs a value (PIDS); see 'kperf $c --help'"
    msg=$($K $c -p 12x 2>&1); rc=$?
    check "cli_pid_list_$c" "$rc:$msg" "2:kperf $c: bad pid list '12x' at position 0: want positive pid numbers separated by commas"
    msg=$($K $c -C 1-x 2>&1); rc=$?
    [[ $rc = 2 && $msg == "kperf $c: bad CPU list '1-x'"* ]] && ok "cli_bad_cpus_$c" || fail "cli_bad_cpus_$c" "rc $rc: $msg"
    msg=$($K $c -d soon 2>&1); rc=$?
    check "cli_duration_$c" "$rc:$msg" "2:kperf $c: -d/--duration wants a number from 0.001 to 1e+09, not 'soon'"
done
for c in stat record trace syscalls; do
    msg=$($K $c --all-cpsu 2>&1); rc=$?
    check "cli_suggest_option_$c" "$rc:$msg" "2:kperf $c: unknown option '--all-cpsu' (did you mean --all-cpus?); see 'kperf $c --help'"
done
# -t TIDS: a thread list wherever -p takes a process list; spe-record says it has none
for c in stat record trace syscalls top multi-trace rundelay task-state kmemleak; do
    msg=$($K $c -t 12x 2>&1); rc=$?
    check "cli_tid_list_$c" "$rc:$msg" "2:kperf $c: bad tid list '12x' at position 0: want positive tid numbers separated by commas"
done
msg=$($K spe-record -t 1 2>&1); rc=$?
check cli_tid_spe_record "$rc:$msg" "2:kperf spe-record: -t is not supported: SPE follows processes (-p) or CPUs (-C); see 'kperf spe-record --help'"

# --- -t TIDS samples and traces only those threads, in every command -----------------
# tid_getpid 300 200: its worker thread calls getpid 300 times, the main thread 200
# times, between the tracer's command opening the FIFO go (the events are open by then)
# and reading the FIFO done (which ends the tracing).
TG=$B/progs/tid_getpid
G=syscalls:sys_enter_getpid
mkfifo "$tmp/go" "$tmp/done"
# tid_run CMD...: runs `kperf CMD -t TID -- (go, wait for done)`; $tid, $tgid are set
tid_run() {
    exec 3< <(exec $TG 300 200 "$tmp/go" "$tmp/done")
    tgid=$!
    read -r tid <&3
    local t=(-t $tid); [ "$1" = -p ] && { t=(-p $tgid); shift; }
    $K "$@" "${t[@]}" -- sh -c "echo >'$tmp/go'; cat '$tmp/done' >/dev/null"
    local rc=$?
    kill $tgid 2>/dev/null; exec 3<&-
    return $rc
}
if [ $have_tp = 1 ]; then
    tid_run record -e $G -o "$tmp/t.data" 2>"$tmp/t.err"
    $K report -i "$tmp/t.data" --sort pid | awk 'NR > 2 {print $1, $3, $4}' >"$tmp/t.rows"
    check record_tid_only "$(cat "$tmp/t.rows")" "100.00% 300 $tid:tid_getpid"
    if [ $have_perf = 1 ]; then # perf's pid key is the thread too
        p=$(perf report -i "$tmp/t.data" --stdio --sort pid 2>/dev/null | awk '/^ +[0-9.]+%/ {print $1, $2}')
        check record_tid_like_perf "$p" "100.00% $tid:tid_getpid"
    else skip record_tid_like_perf "perf not installed"; fi
    tid_run -p record -e $G -o "$tmp/p.data" 2>/dev/null
    $K report -i "$tmp/p.data" --sort pid | awk 'NR > 2 {print $3, $4}' | sort -n >"$tmp/p.rows"
    check record_pid_all_threads "$(tr '\n' ' ' <"$tmp/p.rows")" "200 $tgid:tid_getpid 300 $tid:tid_getpid "
    tid_run trace -e $G >"$tmp/t.trace" 2>/dev/null
    check trace_tid_only "$(awk '{print $1, $2}' "$tmp/t.trace" | sort | uniq -c | awk '{print $1, $2, $3}')" "300 tid_getpid $tid"
    tid_run syscalls -e getpid 2>"$tmp/t.sc"
    check syscalls_tid_only "$(awk '$NF == "getpid" {print $4}' "$tmp/t.sc")" 300
    tid_run top -e $G >"$tmp/t.top" 2>/dev/null
    check top_tid_only "$(awk 'NR > 1 {print $1, $2, $3}' "$tmp/t.top")" "$tid tid_getpid 300"
    tid_run stat -x, -e $G 2>"$tmp/t.csv"
    check stat_tid_only "$(csv_value "$tmp/t.csv" $G)" 300
else
    for t in record_tid_only record_tid_like_perf record_pid_all_threads trace_tid_only \
        syscalls_tid_only top_tid_only stat_tid_only; do skip $t "tracefs syscalls events not readable"; done
fi

# an option a command would not use is refused, never ignored
while IFS='|' read -r name args want; do
    msg=$(eval "$K $args" 2>&1 </dev/null); rc=$?
    check "cli_refused_$name" "$rc:$msg" "2:$want"
done <<'EOF2'
record_off_cpu_event|record --off-cpu -e cpu-clock --folded /dev/null -- true|kperf record: --off-cpu chooses its event, period and call chains itself: drop -e, -F, -c, -g and --call-graph; see 'kperf record --help'
record_freq_and_count|record -F 100 -c 1000 -- true|kperf record: -F (a frequency) and -c (a period) exclude each other; see 'kperf record --help'
syscalls_raw_named|syscalls --raw -e getpid -- true|kperf syscalls: --raw is for tracing every syscall; with -e the names are known; see 'kperf syscalls --help'
syscalls_list_target|syscalls --list -p 1|kperf syscalls: --list prints the names and exits: it takes no other option; see 'kperf syscalls --help'
trace_fields_target|trace --fields -e syscalls:sys_enter_getpid -a|kperf trace: --fields prints the events' fields and exits: it takes only -e; see 'kperf trace --help'
report_folded_top|report --folded -n 3|kperf report: -n and --sort KEYS shape the table; --folded and --svg print every stack; see 'kperf report --help'
report_svg_sort|report --svg x.svg --sort dso|kperf report: -n and --sort KEYS shape the table; --folded and --svg print every stack; see 'kperf report --help'
stat_json_csv|stat --json -x, -- true|kperf stat: -x and --json are two output formats: give one; see 'kperf stat --help'
stat_repeat_per_thread|stat -r 2 --per-thread -- true|kperf stat: -r repeats a command (and not with -I or --per-thread); see 'kperf stat --help'
top_than|top -e syscalls:sys_enter_getpid --than 1ms -- true|kperf top: --than is not used by this profiler; see 'kperf top --help'
list_two_kinds|list sw tracepoint|kperf list: one kind at a time; see 'kperf list --help'
list_all_no_metrics|list --all|kperf list: --all goes with --metrics; see 'kperf list --help'
top_g|top -g -e syscalls:sys_enter_getpid -- true|kperf top: -g is not used by top; see 'kperf top --help'
kmemleak_than|kmemleak --than 1ms -- true|kperf kmemleak: --than is not used by this profiler; see 'kperf kmemleak --help'
stat_all_and_pid|stat -a -p 1 -- true|kperf stat: -a (every task) and -p/-t (these tasks) exclude each other; see 'kperf stat --help'
record_all_and_tid|record -a -t 1 -- true|kperf record: -a (every task) and -p/-t (these tasks) exclude each other; see 'kperf record --help'
EOF2

msg=$($K report -n 2>&1); rc=$?
check cli_missing_arg_report "$rc:$msg" "2:kperf report: option -n/--top needs a value (N); see 'kperf report --help'"
# symbolize: -p is addr2line's pretty-print, never a pid
msg=$($K symbolize -e $B/progs/sample_busy -p -f 0 2>&1)
check symbolize_p_is_pretty "$msg" "?? ??:0"
msg=$($K symbolize -e $B/progs/sample_busy --demangle=java 0x10 2>&1); rc=$?
check symbolize_demangle_style "$rc:$msg" "2:kperf symbolize: --demangle=java: only C++ (Itanium ABI) names are demangled: auto or gnu-v3"
msg=$($K symbolize -e /etc/hostname 0x10 2>&1); rc=$?
check symbolize_not_elf "$rc:$msg" "1:kperf symbolize: /etc/hostname: not an ELF file"
msg=$($K staat 2>&1); rc=$?
[[ $rc = 2 && $msg == "kperf: unknown command 'staat' (did you mean 'stat'?)"* ]] && ok cli_suggest_command || fail cli_suggest_command "rc $rc: $msg"

# --- stat parity with perf ------------------------------------------------------------
G=syscalls:sys_enter_getpid
C=$B/progs/count_getpid
if [ $have_tp = 1 ]; then
    $K stat -r 3 -x, -e $G -- $C 200 2>"$tmp/r.csv"
    check stat_repeat_mean "$(awk -F, '$3 == "'$G'" {print $1, $4}' "$tmp/r.csv")" "200 0.00%"
    $K stat --per-thread -x, -e $G -- $C 150 2 2>"$tmp/pt.csv"
    rows=$(awk -F, '$2 == 150 && $1 ~ /^count_getpid-[0-9]+$/' "$tmp/pt.csv" | wc -l)
    check stat_per_thread_rows "$rows $(wc -l <"$tmp/pt.csv")" "3 3"
    $K stat -p $$ -e $G -d 0.2 2>"$tmp/hp.txt"
    grep -q "Performance counter stats for process id '$$':" "$tmp/hp.txt" && ok stat_header_pid || fail stat_header_pid "$(head -3 "$tmp/hp.txt")"
else
    for t in stat_repeat_mean stat_per_thread_rows stat_header_pid; do skip $t "tracefs syscalls events not readable"; done
fi
msg=$($K stat -- /no/such/program 2>&1); rc=$?
check stat_cannot_start "$rc:$msg" "127:kperf stat: cannot run '/no/such/program': No such file or directory"
$K stat -x, -e task-clock -- $C 100 2>"$tmp/tc.csv"
check stat_cpus_utilized "$(awk -F, '$3 == "task-clock" {print $7}' "$tmp/tc.csv")" "CPUs utilized"

# --- report parity with perf report ---------------------------------------------------
if [ $have_perf = 1 ] && [ $have_tp = 1 ]; then
    perf record -q -e cpu-clock,$G -o "$tmp/pm.data" -- $C 3000 2>/dev/null >/dev/null
    $K report -i "$tmp/pm.data" -n 3 >"$tmp/pm.txt" 2>&1
    h=$(head -1 "$tmp/pm.txt")
    [[ $h == *"samples of cpu-clock,$G in"* ]] && ok report_perf_event_names || fail report_perf_event_names "$h"
    # one table per event: the tracepoint's 3000 samples are 100% of their own table
    n=$(awk -v e="# event '$G': 3000 samples" '$0 == e {f = 1; next} f && /^  / {print $1, $3; exit}' "$tmp/pm.txt")
    check report_table_per_event "$n" "100.00% 3000"
    # --sort comm,dso: the same rows and percentages as perf report
    perf report -i "$tmp/ft.data" --stdio --sort comm,dso -g none 2>/dev/null \
        | awk '/^ +[0-9.]+%/ {print $1, $2, $3}' | sort >"$tmp/pcd"
    # (perf lists rows with self samples; kperf also lists callers-only rows, total > 0)
    $K report -i "$tmp/ft.data" --sort comm,dso | awk 'NR > 2 && $3 > 0 {print $1, $4, $5}' | sort >"$tmp/kcd"
    if [ -s "$tmp/pcd" ] && cmp -s "$tmp/pcd" "$tmp/kcd"; then ok report_sort_comm_dso_like_perf
    else fail report_sort_comm_dso_like_perf "$(diff "$tmp/pcd" "$tmp/kcd" | head -4 | tr '\n' '|')"; fi
else
    for t in report_perf_event_names report_table_per_event report_sort_comm_dso_like_perf; do
        skip $t "needs perf and tracefs"; done
fi
# C++ names: perf report's short form (no parameter list, no template instance's return
# type) unless --full-names; cxx_names has ten functions with mangled names, each sampled
cx_want='(anonymous namespace)::hidden|ns::Box<int>::operator long|ns::S::operator new|ns::S::operator()|ns::S::operator<|ns::get<int>|ns::hot<long>|ns::two<int>|ns::withlambda(int)::{lambda(int)#1}::operator()|operator<<|'
$K record -o "$tmp/cx.data" --folded "$tmp/cx.folded" -- $B/progs/cxx_names 0.2 2>/dev/null
cx_only() { grep -E '^(ns::|operator|\(anonymous)' | LC_ALL=C sort; } # not libc's or ld.so's
$K report -i "$tmp/cx.data" | awk 'NR > 2 {sub(/^ +[0-9.]+% +[0-9.]+% +[0-9]+  /, ""); print}' | cx_only >"$tmp/cx.k"
check report_cxx_short_names "$(tr '\n' '|' <"$tmp/cx.k")" "$cx_want"
if [ $have_perf = 1 ]; then
    perf report -i "$tmp/cx.data" --stdio --no-children --sort sym 2>/dev/null \
        | awk '/%/ {sub(/^ *[0-9.]+% +\[\.\] /, ""); print}' | cx_only >"$tmp/cx.p"
    check report_cxx_names_like_perf "$(tr '\n' '|' <"$tmp/cx.k")" "$(tr '\n' '|' <"$tmp/cx.p")"
else skip report_cxx_names_like_perf "perf not installed"; fi
# record --folded names them the same (a folded frame has '_' for ' ')
leaves=$(awk '{n = split($0, f, ";"); sub(/ [0-9]+$/, "", f[n]); print f[n]}' "$tmp/cx.folded" | tr _ ' ' | cx_only | uniq | tr '\n' '|')
check record_folded_cxx_short_names "$leaves" "$cx_want"
check report_cxx_full_names "$($K report -i "$tmp/cx.data" --full-names | grep -c ' long ns::hot<long>(ns::Box<long> const&, int)$')" 1

msg=$($K report --sort cpu 2>&1); rc=$?
[[ $rc = 2 && $msg == *"--sort takes self, total, or keys from comm, pid, dso, sym"* ]] && ok report_bad_sort || fail report_bad_sort "rc $rc: $msg"

# --- the flame graph carries its labels without JavaScript -----------------------------
$K report -i "$tmp/ft.data" --svg "$tmp/ft.svg" 2>/dev/null
r=$(python3 - "$tmp/ft.svg" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
labels, bad = {}, []
for g in root.iter("{http://www.w3.org/2000/svg}g"):
    if g.get("class") != "f": continue
    name, text = g.get("data-n"), g.find("s:text", ns).text or ""
    w = float(g.find("s:rect", ns).get("width"))
    m = int((w - 6) // 7)
    want = "" if m < 3 else name if len(name) <= m else name[:m - 2] + ".."
    if text != want: bad.append((name, text, want))
    labels[name] = text
print("bad" if bad else "ok", " ".join(labels.get(n, "-") for n in ("all", "main", "work_child", "work_thread", "burn")))
PY
)
check svg_labels_in_file "$r" "ok all main work_child work_thread burn"
if command -v rsvg-convert >/dev/null; then
    sed 's|<text x="\([0-9.]*\)" y="\([0-9]*\)">[^<]*</text></g>|<text x="\1" y="\2"></text></g>|' \
        "$tmp/ft.svg" >"$tmp/bare.svg"
    if rsvg-convert -o "$tmp/ft.png" "$tmp/ft.svg" 2>"$tmp/rsvg.err" \
        && rsvg-convert -o "$tmp/bare.png" "$tmp/bare.svg" 2>>"$tmp/rsvg.err" \
        && ! cmp -s "$tmp/ft.png" "$tmp/bare.png"; then ok svg_labels_render_without_js
    else fail svg_labels_render_without_js "the labels drew nothing: $(cat "$tmp/rsvg.err")"; fi
else skip svg_labels_render_without_js "rsvg-convert (librsvg2-bin) not installed"; fi

# --- man pages, from the tool's own help; make install puts them and the Python package --
bash docs/man/mkman.sh "$K" "$tmp/man" 2>"$tmp/man.err"
n=0; bad=""
for c in $cmds; do
    f="$tmp/man/kperf-$c.1"
    if [ -s "$f" ] && grep -q '^\.SH OPTIONS' "$f" && grep -q '^\.B "\\-h, \\-\\-help"' "$f"; then n=$((n + 1)); else bad="$bad $c"; fi
done
w=$(groff -man -ww -z "$tmp"/man/*.1 2>&1 | head -3)
if [ $n = "$(wc -w <<<"$cmds")" ] && [ -s "$tmp/man/kperf.1" ] && [ -z "$w" ] && [ ! -s "$tmp/man.err" ]; then ok man_pages
else fail man_pages "missing or bad:$bad; groff: $w; $(cat "$tmp/man.err")"; fi
if [ "$(basename "$B")" = build ] && command -v python3 >/dev/null; then
    inst="$tmp/inst"
    make -s install DESTDIR="$inst" PREFIX=/usr/local PYTHON_SITE=/usr/local/lib/kperf-py B="$B" >"$tmp/inst.log" 2>&1
    py=$(cd "$tmp" && PYTHONPATH="$inst/usr/local/lib/kperf-py" KPERF_LIBRARY="$inst/usr/local/lib/libkperf.so" \
        python3 -c 'import kperf, os; print(os.path.dirname(kperf.__file__))' 2>&1)
    if [ -s "$inst/usr/local/share/man/man1/kperf-stat.1" ] && [ -x "$inst/usr/local/bin/kperf" ] \
        && [ "$py" = "$inst/usr/local/lib/kperf-py/kperf" ]; then ok make_install_man_python
    else fail make_install_man_python "python: $py; $(tail -3 "$tmp/inst.log")"; fi
else skip make_install_man_python "plain build only"; fi
# perf's rate column: events per second of task-clock, from the same line's numbers
$K stat -x, -e task-clock,page-faults -- $C 10 2>"$tmp/rate.csv"
r=$(awk -F, '$3 == "task-clock" {tc = $1} $3 == "page-faults" {pf = $1; m = $6; u = $7}
    END {want = pf / (tc / 1e3); s = want >= 1e3 ? want / 1e3 : want;
         d = m - s; if (d < 0) d = -d; print (d < 0.01 * s + 0.002 ? "ok" : "bad " m " " s), u}' "$tmp/rate.csv")
case "$r" in "ok K/sec"|"ok /sec") ok stat_rate_column ;; *) fail stat_rate_column "$r: $(cat "$tmp/rate.csv")" ;; esac
# the header names the target as perf does
if [ "$(id -u)" = 0 ] || [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -le 0 ]; then
    h1=$($K stat -C 0 -e task-clock -d 0.05 2>&1 | grep "Performance counter stats")
    h2=$($K stat -a -e task-clock -d 0.05 2>&1 | grep "Performance counter stats")
    check stat_header_cpus_system "$h1|$h2" " Performance counter stats for 'CPU(s) 0':| Performance counter stats for 'system wide':"
else skip stat_header_cpus_system "CPU-wide counting needs root or perf_event_paranoid <= 0"; fi
