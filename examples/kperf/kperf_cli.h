/* kperf_cli.h - shared declarations of the `kperf` command-line tool.
 * Each subcommand lives in its own cmd_*.c file; impl.c instantiates the headers. */
#ifndef KPERF_CLI_H
#define KPERF_CLI_H
#include "kperf.h"
#include "kperf_spe.h"
#include "kperf_symbols.h"
#include <stdio.h>

/* Every subcommand: argv[0] is the subcommand name. Returns the process exit status. */
int cmd_stat(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_record(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_syscalls(int argc, char **argv);
int cmd_symbolize(int argc, char **argv);
int cmd_spe_decode(int argc, char **argv);
int cmd_spe_record(int argc, char **argv);

/* `kperf stat -M ...` and `kperf list --metrics` (the >>device section's commands, in
 * cmd_metrics.c); cmd_stat and cmd_list hand over to them. */
int cmd_stat_metrics(int argc, char **argv);
int cmd_list_metrics(int argc, char **argv);

/* Launcher shared by `kperf trace` and `kperf syscalls` (in cmd_trace.c): cli_spawn forks
 * COMMAND held before exec; open the events on c->pid (enable_on_exec), then cli_spawn_go
 * lets it exec (run) or makes it exit (!run); cli_run_loop drains until the target exits
 * (own: our child), a signal, or SECONDS; cli_parse_cpus reads "0-3,6". */
typedef struct cli_child {
    pid_t pid;
    int go, err;
    bool stdout_to_stderr; /* set before cli_spawn: our stdout carries data (-o -) */
} cli_child;
int cli_spawn(char **argv, cli_child *c);
int cli_spawn_go(cli_child *c, bool run);
int cli_run_loop(pid_t target, bool own, double seconds, int pollfd, int (*drain)(void *),
                 void *ctx);
int cli_parse_cpus(const char *s, int **out);
pid_t cli_parse_pid(const char *cmd, const char *s);

/* --trace-json (trace_json.c): Chrome/Perfetto trace-event JSON. open writes the head;
 * thread names a thread (metadata) once; begin starts an event (dur_ns < 0: instant) whose
 * args the caller may extend with ",\"key\":value" members before end; close writes the
 * tail and returns 0 or -1. */
typedef struct cli_tjson cli_tjson;
int cli_tjson_open(cli_tjson **out, const char *path);
void cli_tjson_thread(cli_tjson *j, int pid, int tid, const char *comm);
FILE *cli_tjson_begin(cli_tjson *j, const char *name, const char *cat, uint64_t ts_ns,
                      int64_t dur_ns, int pid, int tid, int cpu);
void cli_tjson_end(cli_tjson *j);
void cli_tjson_str(FILE *f, const char *s);
int cli_tjson_close(cli_tjson *j, const char *tool);

/* Prints "kperf <cmd>: <kperf_errmsg()>" to stderr and returns 1. */
int cli_fail(const char *cmd);
#endif
