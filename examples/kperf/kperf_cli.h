/* kperf_cli.h - shared declarations of the `kperf` command-line tool.
 * Each subcommand lives in its own cmd_*.c file; impl.c instantiates the headers; cli.c is
 * the option layer and the launcher every command uses.
 *
 * The option layer
 * ----------------
 * A command describes itself with a cli_cmd: its name, a usage line, a one-line summary,
 * the table of its own options (cli_opt) and the set of shared options it takes (CLI_*
 * bits). cli_parse() runs getopt_long over that description, so that the same option means
 * the same thing in every command:
 *
 *   -p, --pid PIDS        processes, a comma list (every thread of each)       CLI_PID
 *   -t, --tid TIDS        threads, a comma list                                 CLI_TID
 *   -C, --cpu CPUS        CPUs, a kernel cpulist "0-3,8" (kperf_cpulist_parse)  CLI_CPU
 *   -a, --all-cpus        every CPU (system-wide)                               CLI_ALL
 *   -d, --duration SECS   stop after SECS seconds                               CLI_DURATION
 *   -o, --output FILE     where the command writes its result                   CLI_OUTPUT
 *   -- COMMAND [ARGS]     run COMMAND as the target (CLI_CMD); options stop at the first
 *                         word that is not one, as with perf
 *   -h, --help            every command
 *
 * -a and -p/-t exclude each other (a usage error: neither is silently ignored). -p/-t
 * also fill a.procs (each tid's process: /proc maps, symbols) and a.watch (the tasks to
 * wait for); -t means those threads only, not threads they start later (as perf).
 *
 * Operands (CLI_OPERANDS, e.g. symbolize's addresses) may mix with options, as getopt
 * permutes them. The shared values land in a cli_args; the command's own options are
 * handed to its callback one by one, in order, with their argument. Errors (an unknown
 * option, with a suggestion when one is close; a missing argument; a bad list or number)
 * are printed once as "kperf CMD: ..." and cli_parse returns CLI_USAGE_ERROR (exit 2).
 *
 * Writing a command on it:
 *
 *   static const cli_opt my_opts[] = {{'e', "event", "EVENTS", "events to count"}, {0}};
 *   static const cli_cmd my_cmd = {"mine", "[options] [-- command]", "what it does",
 *                                  my_opts, CLI_PID | CLI_CPU | CLI_ALL | CLI_CMD, NULL};
 *   static int my_opt(int key, const char *arg, void *user) { ... return 0 or -1; }
 *   int cmd_mine(int argc, char **argv) {
 *       cli_args a;
 *       int rc = cli_parse(&my_cmd, argc, argv, &a, my_opt, &state);
 *       if (rc != CLI_OK) return rc == CLI_HELP ? 0 : 2;
 *       ... a.pids, a.cpus, a.rest (the command) ...
 *       cli_args_free(&a);
 *   }
 *
 * Own options with only a long name take keys from CLI_LONG_ONLY up; an argument named
 * "[=ARG]" is optional (long form only). The callback returns 0, or -1 after saying why
 * its argument is bad (cli_parse_long/cli_parse_double/cli_parse_ids say it for you).
 * Then add the command to the table in main.c: `kperf help CMD`, the suggestion for a
 * mistyped name and the man page (make man: docs/man/mkman.sh reads `kperf CMD --help`)
 * follow from it. Conventions every command keeps: with a command and no -p/-t/-a/-C the
 * command is the target (children included); with them, the command only sets the
 * duration; -d SECS stops early; -o FILE goes through cli_output() (no symlink followed);
 * the exit status is the command's, 127 when it cannot run, 2 for a usage error, 1 for
 * any other error.
 *
 * The launcher: cli_spawn() forks a.rest held before exec; the caller opens its events on
 * the child (enable_on_exec), then cli_spawn_go() lets it exec and reports exec's errno
 * (a command that cannot start is said once, by the caller, with cli_cannot_run()).
 * cli_run_loop() then drains a ring until the targets end, a signal, or -d. */
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
/* The profilers (prof.c, prof_*.c): top, multi-trace, rundelay, task-state, kmemleak. */
int cmd_prof(int argc, char **argv);

/* `kperf stat -M ...` and `kperf list --metrics` (the >>device section's commands, in
 * cmd_metrics.c); cmd_stat and cmd_list hand over to them. */
int cmd_stat_metrics(int argc, char **argv);
int cmd_list_metrics(const char *root, bool all);

/* ---- option layer (cli.c) ------------------------------------------------------------ */

/* One option of a command. key: the short letter, or a value >= CLI_LONG_ONLY for an
 * option that has only a long name; name: the long name, or NULL for a short-only option.
 * arg: the argument's name in the help ("EVENTS"), NULL for a flag, "[=ARG]" for an
 * optional argument (--name=ARG only). A table ends with an all-zero entry. */
typedef struct cli_opt {
    int key;
    const char *name;
    const char *arg;
    const char *help;
} cli_opt;
#define CLI_LONG_ONLY 256

/* The shared options a command takes (cli_cmd.shared). */
enum {
    CLI_PID = 1u << 0,      /* -p, --pid PIDS */
    CLI_TID = 1u << 1,      /* -t, --tid TIDS */
    CLI_CPU = 1u << 2,      /* -C, --cpu CPUS */
    CLI_ALL = 1u << 3,      /* -a, --all-cpus */
    CLI_DURATION = 1u << 4, /* -d, --duration SECONDS */
    CLI_OUTPUT = 1u << 5,   /* -o, --output FILE */
    CLI_CMD = 1u << 6,      /* [--] COMMAND [ARGS...] after the options */
    CLI_OPERANDS = 1u << 7, /* operands may mix with options (getopt permutes) */
    CLI_TARGETS = CLI_PID | CLI_CPU | CLI_ALL | CLI_CMD /* the usual target set */
};

/* A command: name, usage line (after "kperf NAME "), one-line summary, own options, shared
 * options (CLI_* bits), text printed after the options (examples, notes) or NULL. */
typedef struct cli_cmd {
    const char *name;
    const char *usage;
    const char *about;
    const cli_opt *opts;
    unsigned shared;
    const char *more;
} cli_cmd;

/* What the shared options and the operands said. Arrays are owned; cli_args_free(). */
typedef struct cli_args {
    pid_t *pids;        /* -p */
    size_t npids;
    pid_t *tids;        /* -t */
    size_t ntids;
    int *cpus;          /* -C, ascending, from kperf_cpulist_parse */
    size_t ncpus;
    bool all_cpus;      /* -a */
    double duration;    /* -d; 0 = until the target ends or Ctrl-C */
    const char *output; /* -o; NULL when not given */
    char **rest;        /* the command (CLI_CMD) or operands, NULL-terminated; NULL if none */
    int nrest;
    pid_t *procs;       /* the processes of -p and -t: the pids, then each tid's process
                           (for /proc maps, comms and symbols); NULL without -p/-t */
    size_t nprocs;
    pid_t *watch;       /* -p and -t together: the tasks cli_run_loop waits for */
    size_t nwatch;
} cli_args;

enum { CLI_OK = 0, CLI_HELP = 1, CLI_USAGE_ERROR = -1 };

/* A command's own option: return 0, or -1 after printing why @p arg is bad. */
typedef int (*cli_opt_fn)(int key, const char *arg, void *user);

/* Parses argv (argv[0] is the command name) as described above. Returns CLI_OK, CLI_HELP
 * (the help was printed on stdout: exit 0) or CLI_USAGE_ERROR (a message was printed on
 * stderr: exit 2). @p a is zeroed first and must be freed with cli_args_free() after
 * CLI_OK. */
int cli_parse(const cli_cmd *c, int argc, char **argv, cli_args *a, cli_opt_fn fn,
              void *user);
void cli_args_free(cli_args *a);

/* Prints the command's help (usage, summary, options, notes) to @p f. */
void cli_usage(const cli_cmd *c, FILE *f);

/* Says "kperf CMD: MSG; see 'kperf CMD --help'" on stderr; returns 2, the exit status of a
 * usage error. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The one list parser for ids (pids, tids): "12,34" into a new array (free()); ids must
 * be positive. Returns 0, or -1 after printing "kperf CMD: bad WHAT list ...". CPU lists
 * go through kperf_cpulist_parse (cli_parse does it for -C). */
int cli_parse_ids(const char *cmd, const char *what, const char *s, pid_t **out, size_t *n);

/* Strict numbers: the whole text, within [min, max]; -1 after printing what was wanted. */
int cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long max,
                   long *out);
int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max,
                     double *out);

/* A repeatable list option (-e EVENTS): appends @p arg to the comma list in @p buf (of
 * @p size bytes). Returns 0, or -1 after printing "kperf CMD: WHAT list too long". */
int cli_append_list(const char *cmd, const char *what, char *buf, size_t size, const char *arg);

/* The closest of @p n words to @p w (an edit distance of at most 2, or a prefix), or NULL:
 * "did you mean ...?" for commands and options. */
const char *cli_suggest(const char *w, const char *const *words, size_t n);

/* perf's short form of a demangled C++ name, as perf report and perf script print names
 * unless -v: without the last parameter list (and the qualifiers after it) and without a
 * template instance's return type ("long ns::hot<long>(ns::Box<long> const&, int)" is
 * "ns::hot<long>"). A name without a parameter list (C) is copied. */
void cli_short_name(const char *full, char *out, size_t n);

/* ---- launcher (cli.c) ---------------------------------------------------------------- */

/* cli_spawn forks COMMAND held before exec; open the events on c->pid (enable_on_exec),
 * then cli_spawn_go lets it exec (run) or makes it exit (!run); cli_run_loop drains until
 * the target exits (own: our child), a signal, or SECONDS. */
typedef struct cli_child {
    pid_t pid;
    int go, err;
    bool stdout_to_stderr; /* set before cli_spawn: our stdout carries data (-o -) */
} cli_child;
int cli_spawn(char **argv, cli_child *c);
/* Ctrl-C and SIGTERM call @p fn (which sets the command's stop flag): no SA_RESTART, so a
 * blocked call returns EINTR and the loop sees the flag; with @p once, a second signal
 * terminates (SA_RESETHAND). */
void cli_catch_stop(void (*fn)(int), bool once);
int cli_spawn_go(cli_child *c, bool run);
int cli_run_loop(const pid_t *pids, size_t npids, bool own, double seconds, int pollfd,
                 int (*drain)(void *), void *ctx);
/* The target of a command that samples or traces (trace, syscalls, the profilers): after
 * cli_parse, cli_target_begin checks that there is one (-p/-t/-a/-C or a command; with
 * @p any, none means every CPU), forks the command held before exec, and fills what every
 * sampler-like desc takes: with a command and no -p/-t/-a/-C the command is followed
 * (children included, from its exec); else -p/-t/-C/-a as given (-a only without -p/-t).
 * It returns 0, or the exit status after saying why (2: no target; 1: fork failed).
 * cli_target_run lets the command exec and runs cli_run_loop until the command (or the
 * -p/-t tasks) end, -d or Ctrl-C; it returns the exit status (127 when the command cannot
 * run, said once). cli_target_abort makes a held command exit without running. */
typedef struct cli_target {
    cli_child cc;
    bool follow;             /* the command is the target */
    const pid_t *pids, *tids;
    size_t npids, ntids;
    const int *cpus;
    size_t ncpus;
    bool all_cpus, inherit, enable_on_exec;
    bool not_run;            /* cli_target_run: the command could not start (said) */
} cli_target;
int cli_target_begin(const char *cmd, const cli_args *a, bool any, cli_target *t);
int cli_target_run(const char *cmd, const cli_args *a, cli_target *t, int pollfd,
                   int (*drain)(void *), void *ctx);
void cli_target_abort(cli_target *t);

/* "kperf CMD: cannot run 'PROG': REASON" once; returns 127 (what a shell returns). */
int cli_cannot_run(const char *cmd, const char *prog, int err);
/* The exit status of a waitpid() status, as a shell reports it. */
int cli_exit_status(int status);

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

/* The -o FILE of a command: @p dflt when @p path is NULL, else the file created with
 * kperf_file_create (no planted symlink followed); NULL after saying why. */
FILE *cli_output(const char *cmd, const char *path, FILE *dflt);

/* Prints "kperf <cmd>: <kperf_errmsg()>" to stderr and returns 1. */
int cli_fail(const char *cmd);
#endif
