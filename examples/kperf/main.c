/* kperf - command-line front end to kperf.h: stat, list, record, report, trace, syscalls,
 * symbolize, spe-decode, spe-record. */
#include "kperf_cli.h"
#include <string.h>

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *help;
} cmds[] = {
    {"stat", cmd_stat, "count events of a command, process, thread or CPUs (like perf stat)"},
    {"list", cmd_list, "list events and metrics by kind"},
    {"record", cmd_record, "sample a command or process into perf.data or folded stacks"},
    {"report", cmd_report, "top functions of a recorded file"},
    {"trace", cmd_trace, "print tracepoint events with their fields"},
    {"top", cmd_prof, "key/value tables of any events, refreshed every interval"},
    {"multi-trace", cmd_prof, "latency between two events joined by key, --than details"},
    {"rundelay", cmd_prof, "wake-up to run delay per task"},
    {"task-state", cmd_prof, "time per task in R, S, D, ... with -g the stacks where it slept"},
    {"profile", cmd_prof, "CPU sampling in memory: the hottest stacks every interval"},
    {"oncpu", cmd_prof, "which threads ran on which CPUs, and how long, per interval"},
    {"page-faults", cmd_prof, "page faults with addresses, functions and stacks"},
    {"sched-migrate", cmd_prof, "task migrations between CPUs, per task, with stacks"},
    {"kmemleak", cmd_prof, "allocations never freed, with sizes and stacks (malloc uprobes)"},
    {"percpu-stat", cmd_prof, "per-CPU counts of events, per interval"},
    {"hrtimer", cmd_prof, "periodic samples kept only when the events did not happen"},
    {"sql", cmd_prof, "events as SQLite tables, a query per interval"},
    {"syscalls", cmd_syscalls, "syscall counts and latency percentiles (like strace -c)"},
    {"symbolize", cmd_symbolize, "addresses to function (file:line), addr2line compatible"},
    {"spe-decode", cmd_spe_decode, "decode raw Arm SPE AUX bytes"},
    {"spe-record", cmd_spe_record, "record Arm SPE where the machine has it"},
};
#define NCMDS (sizeof cmds / sizeof cmds[0])

/* Warnings the library logs (a debuginfod server that does not answer, ...) go to stderr;
 * errors are reported by each command through cli_fail(). */
static void cli_log(int level, const char *msg, void *user) {
    (void)user;
    if (level == KPERF_LOG_WARN) fprintf(stderr, "kperf: warning: %s\n", msg);
}

static int usage(FILE *f) {
    fprintf(f, "usage: kperf <command> [options]   (kperf %s)\n\ncommands:\n",
            kperf_version_string());
    for (size_t i = 0; i < NCMDS; i++) fprintf(f, "  %-11s %s\n", cmds[i].name, cmds[i].help);
    fprintf(f, "\n'kperf help <command>' or 'kperf <command> --help' describes a command.\n");
    return f == stderr ? 2 : 0;
}

static int find(const char *name) {
    for (size_t i = 0; i < NCMDS; i++)
        if (!strcmp(name, cmds[i].name)) return (int)i;
    return -1;
}

static int unknown(const char *name) {
    const char *names[NCMDS];
    for (size_t i = 0; i < NCMDS; i++) names[i] = cmds[i].name;
    const char *s = cli_suggest(name, names, NCMDS);
    if (s) fprintf(stderr, "kperf: unknown command '%s' (did you mean '%s'?)\n", name, s);
    else fprintf(stderr, "kperf: unknown command '%s'\n", name);
    fprintf(stderr, "'kperf help' lists the commands.\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    kperf_set_log(cli_log, NULL);
    kperf_probe_resolver_set(kperf_probe_resolve_elf, NULL); /* uprobe:func@"file" */
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) return usage(stdout);
    if (!strcmp(argv[1], "help")) { /* kperf help [CMD] = kperf CMD --help */
        if (argc < 3) return usage(stdout);
        int i = find(argv[2]);
        if (i < 0) return unknown(argv[2]);
        char *hv[] = {argv[2], (char *)"--help", NULL};
        return cmds[i].fn(2, hv);
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version"))
        return printf("kperf %s\n", kperf_version_string()), 0;
    int i = find(argv[1]);
    if (i >= 0) return cmds[i].fn(argc - 1, argv + 1);
    return unknown(argv[1]);
}
