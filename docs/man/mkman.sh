#!/usr/bin/env bash
# Writes the man pages of the kperf tool from its own help, so that they never disagree:
# kperf.1 from `kperf --help`, kperf-CMD.1 from `kperf CMD --help` (the option layer prints
# every command's help in one layout: usage line, summary, option lines, notes).
# usage: docs/man/mkman.sh KPERF OUTDIR
set -eu
K=$1
out=$2
mkdir -p "$out"
ver=$("$K" --version | awk '{print $2}')

# troff-safe text: backslashes, hyphens, and a leading dot or quote
esc() { sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }

page() { # page NAME SECTION-TITLE SUMMARY; the body on stdin
    local name=$1 upper
    upper=$(tr '[:lower:]' '[:upper:]' <<<"$name")
    {
        printf '.TH %s 1 "" "kperf %s" "kperf manual"\n' "$upper" "$ver"
        printf '.SH NAME\n%s \\- %s\n' "$name" "$(esc <<<"$3")"
        cat
    } >"$out/$name.1"
}

# kperf.1: the command list
"$K" --help | awk 'NR > 3 && /^  [a-z]/ {print}' >"$out/.cmds"
{
    printf '.SH SYNOPSIS\n.B kperf\n.I command\n[options]\n.SH DESCRIPTION\n'
    printf 'kperf counts, samples, traces and symbolizes with the Linux perf_event interface.\n'
    printf 'Every command takes the same target options (\\-p, \\-t, \\-C, \\-a, \\-d, \\-o, \\-\\- COMMAND)\n'
    printf 'where it takes them, and describes itself with \\fBkperf help\\fR \\fIcommand\\fR.\n'
    printf '.SH COMMANDS\n'
    while read -r c rest; do
        printf '.TP\n.B %s\n%s\n' "$c" "$(esc <<<"$rest")"
    done <"$out/.cmds"
    printf '.SH SEE ALSO\n'
    sep=""
    while read -r c rest; do
        printf '%s\\fBkperf\\-%s\\fR(1)' "$sep" "$(sed 's/-/\\-/g' <<<"$c")"
        sep=", "
    done <"$out/.cmds"
    printf '\n'
} | page kperf "" "count, sample, trace and symbolize with perf_event"

while read -r c rest; do
    "$K" "$c" --help >"$out/.help"
    usage=$(sed -n '1s/^usage: kperf [^ ]* //p' "$out/.help")
    {
        printf '.SH SYNOPSIS\n.B kperf %s\n%s\n' "$c" "$(esc <<<"$usage")"
        printf '.SH DESCRIPTION\n'
        awk 'NR > 2 && (/^  -/ || /^      --/) {exit} NR > 2' "$out/.help" | esc | sed 's/^$/.PP/'
        printf '.SH OPTIONS\n'
        awk '
            /^  -/ || /^      --/ {
                opts = 1; left = substr($0, 3, 26); help = substr($0, 30)
                if (length($0) > 28 && substr($0, 29, 1) != " ") { left = substr($0, 3); help = "" }
                sub(/ +$/, "", left); sub(/^ +/, "", left)
                print ".TP"; print ".B \"" left "\""; if (help != "") print help; next }
            opts && /^$/ { exit }
            opts { sub(/^ +/, ""); print }
        ' "$out/.help" | sed -e 's/\\/\\e/g' -e 's/-/\\-/g'
        notes=$(awk 'done; /^  -/ || /^      --/ {opts = 1} opts && /^$/ {done = 1}' "$out/.help")
        if [ -n "$notes" ]; then
            printf '.SH NOTES\n.nf\n'
            esc <<<"$notes"
            printf '.fi\n'
        fi
        printf '.SH SEE ALSO\n\\fBkperf\\fR(1)\n'
    } | page "kperf-$c" "" "$rest"
done <"$out/.cmds"
rm -f "$out/.cmds" "$out/.help"
