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

/* Prints "kperf <cmd>: <kperf_errmsg()>" to stderr and returns 1. */
int cli_fail(const char *cmd);
#endif
