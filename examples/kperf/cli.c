/* cli.c - the option layer and the launcher of the kperf tool (see kperf_cli.h). */
#define _GNU_SOURCE 1
#include "kperf_cli.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int cli_fail(const char *cmd) {
    fprintf(stderr, "kperf %s: %s\n", cmd, kperf_errmsg());
    return 1;
}

FILE *cli_output(const char *cmd, const char *path, FILE *dflt) {
    if (!path) return dflt;
    int fd = kperf_file_create(path, 0666);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (fd >= 0 && !f) close(fd);
    if (!f) fprintf(stderr, "kperf %s: %s\n", cmd, fd >= 0 ? strerror(errno) : kperf_errmsg());
    return f;
}

/* ---- option layer -------------------------------------------------------------------- */

/* The shared options, in the order the help lists them. */
static const struct {
    unsigned bit;
    cli_opt opt;
} cli_shared[] = {
    {CLI_PID, {'p', "pid", "PIDS", "processes (every thread of each), comma list"}},
    {CLI_TID, {'t', "tid", "TIDS", "threads, comma list"}},
    {CLI_CPU, {'C', "cpu", "CPUS", "these CPUs, a cpulist such as 0-3,8"}},
    {CLI_ALL, {'a', "all-cpus", NULL, "every CPU (system-wide)"}},
    {CLI_DURATION, {'d', "duration", "SECS", "stop after SECS seconds"}},
    {CLI_OUTPUT, {'o', "output", "FILE", "write the result to FILE"}},
};
#define CLI_NSHARED (sizeof cli_shared / sizeof cli_shared[0])
#define CLI_MAXOPTS 96

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "kperf %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "; see 'kperf %s --help'\n", cmd);
    va_end(ap);
    return 2; /* the exit status of a usage error */
}

static void cli_opt_line(FILE *f, const cli_opt *o) {
    char left[64];
    int n = o->key < CLI_LONG_ONLY ? snprintf(left, sizeof left, "-%c%s", o->key, o->name ? ", " : "")
                                   : snprintf(left, sizeof left, "    ");
    if (o->name) n += snprintf(left + n, sizeof left - (size_t)n, "--%s", o->name);
    if (o->arg) snprintf(left + n, sizeof left - (size_t)n, o->arg[0] == '[' ? "%s" : " %s", o->arg);
    if (strlen(left) > 26) fprintf(f, "  %s\n  %-26s ", left, "");
    else fprintf(f, "  %-26s ", left);
    /* the help column wraps at 100 columns, continuation lines under it */
    const char *h = o->help;
    for (int col = 29; *h;) {
        size_t w = strcspn(h, " ");
        if (col > 29 && col + 1 + (int)w > 100) fprintf(f, "\n%29s", ""), col = 29;
        else if (col > 29) fputc(' ', f), col++;
        fprintf(f, "%.*s", (int)w, h);
        col += (int)w;
        h += w;
        while (*h == ' ') h++;
    }
    fputc('\n', f);
}

void cli_usage(const cli_cmd *c, FILE *f) {
    fprintf(f, "usage: kperf %s %s\n\n%s\n\n", c->name, c->usage, c->about);
    for (const cli_opt *o = c->opts; o && o->key; o++) cli_opt_line(f, o);
    for (size_t i = 0; i < CLI_NSHARED; i++)
        if (c->shared & cli_shared[i].bit) cli_opt_line(f, &cli_shared[i].opt);
    if (c->shared & CLI_CMD)
        fprintf(f, "  %-26s %s\n", "-- COMMAND [ARGS]", "run COMMAND and measure it");
    cli_opt_line(f, &(cli_opt){'h', "help", NULL, "this help"});
    if (c->more) fprintf(f, "\n%s", c->more);
}

/* Levenshtein distance, capped (words are short). */
static size_t cli_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b), row[64];
    if (la >= 63 || lb >= 63) return 99;
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best) best = up + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best, diag = up;
        }
    }
    return row[lb];
}

const char *cli_suggest(const char *w, const char *const *words, size_t n) {
    const char *best = NULL;
    size_t bd = 3, lw = strlen(w);
    for (size_t i = 0; i < n; i++) {
        if (!words[i]) continue;
        size_t d = lw >= 2 && !strncmp(words[i], w, lw) ? 1 : cli_distance(w, words[i]);
        if (d < bd) bd = d, best = words[i];
    }
    return best;
}

/* The option table of one command: its own options, then the shared ones it takes. */
typedef struct cli_table {
    cli_opt o[CLI_MAXOPTS];
    struct option lo[CLI_MAXOPTS + 1];
    char shorts[3 * CLI_MAXOPTS + 4];
    size_t n, nlong;
} cli_table;

static void cli_table_add(cli_table *t, const cli_opt *o) {
    if (t->n >= CLI_MAXOPTS) return;
    t->o[t->n] = *o;
    if (o->name) /* a short-only option has no long entry (a NULL name ends the array) */
        t->lo[t->nlong++] = (struct option){o->name, !o->arg ? no_argument
                                                     : o->arg[0] == '[' ? optional_argument
                                                                        : required_argument,
                                            NULL, o->key};
    size_t k = strlen(t->shorts);
    if (o->key < CLI_LONG_ONLY) {
        t->shorts[k++] = (char)o->key;
        if (o->arg && o->arg[0] != '[') t->shorts[k++] = ':'; /* "[=ARG]": long form only */
        t->shorts[k] = 0;
    }
    t->n++;
}

static void cli_table_build(cli_table *t, const cli_cmd *c) {
    memset(t, 0, sizeof *t);
    strcpy(t->shorts, c->shared & CLI_OPERANDS ? ":" : "+:");
    for (const cli_opt *o = c->opts; o && o->key; o++) cli_table_add(t, o);
    for (size_t i = 0; i < CLI_NSHARED; i++)
        if (c->shared & cli_shared[i].bit) cli_table_add(t, &cli_shared[i].opt);
    cli_table_add(t, &(cli_opt){'h', "help", NULL, "this help"});
}

static const cli_opt *cli_table_find(const cli_table *t, int key) {
    for (size_t i = 0; i < t->n; i++)
        if (t->o[i].key == key) return &t->o[i];
    return NULL;
}

/* "-e/--event" for messages. */
static const char *cli_opt_name(const cli_opt *o, char *buf, size_t n) {
    if (!o) return "?";
    if (o->key < CLI_LONG_ONLY && o->name) snprintf(buf, n, "-%c/--%s", o->key, o->name);
    else if (o->name) snprintf(buf, n, "--%s", o->name);
    else snprintf(buf, n, "-%c", o->key);
    return buf;
}

static int cli_unknown(const cli_cmd *c, const cli_table *t, const char *arg, int optopt_) {
    if (optopt_ && optopt_ < CLI_LONG_ONLY && (!arg || arg[1] != '-'))
        return cli_usage_error(c->name, "unknown option '-%c'", optopt_), CLI_USAGE_ERROR;
    char word[128];
    snprintf(word, sizeof word, "%s", arg ? arg : "?");
    word[strcspn(word, "=")] = 0;
    const char *names[CLI_MAXOPTS]; /* NULL for short-only options: skipped */
    for (size_t i = 0; i < t->n; i++) names[i] = t->o[i].name;
    const char *s = strncmp(word, "--", 2) ? NULL : cli_suggest(word + 2, names, t->n);
    if (s) cli_usage_error(c->name, "unknown option '%s' (did you mean --%s?)", word, s);
    else cli_usage_error(c->name, "unknown option '%s'", word);
    return CLI_USAGE_ERROR;
}

static int cli_shared_opt(const cli_cmd *c, int key, const char *v, cli_args *a) {
    switch (key) {
    case 'p': return cli_parse_ids(c->name, "pid", v, &a->pids, &a->npids);
    case 't': return cli_parse_ids(c->name, "tid", v, &a->tids, &a->ntids);
    case 'C':
        kperf_cpulist_free(a->cpus), a->cpus = NULL;
        if (kperf_cpulist_parse(v, &a->cpus, &a->ncpus) < 0 || !a->ncpus) {
            fprintf(stderr, "kperf %s: bad CPU list '%s': %s\n", c->name, v,
                    a->ncpus ? kperf_errmsg() : "no CPU in it");
            return -1;
        }
        return 0;
    case 'a': a->all_cpus = true; return 0;
    case 'd': return cli_parse_double(c->name, "-d/--duration", v, 0.001, 1e9, &a->duration);
    case 'o': a->output = v; return 0;
    }
    return 1; /* not a shared option */
}

/* The process a thread belongs to (Tgid), or -1 when the thread does not exist. */
static pid_t cli_tgid(pid_t tid) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strstr(buf, "\nTgid:");
    return p ? (pid_t)atoi(p + 6) : -1;
}

static void cli_add_id(pid_t *v, size_t *n, pid_t id) {
    for (size_t i = 0; i < *n; i++)
        if (v[i] == id) return;
    v[(*n)++] = id;
}

/* a->procs (pids, then each tid's process) and a->watch (pids and tids). A tid that does
 * not exist has no process: opening its events says so. */
static int cli_targets(const char *cmd, cli_args *a) {
    size_t n = a->npids + a->ntids;
    a->procs = (pid_t *)calloc(n, sizeof *a->procs);
    a->watch = (pid_t *)calloc(n, sizeof *a->watch);
    if (!a->procs || !a->watch) return fprintf(stderr, "kperf %s: out of memory\n", cmd), -1;
    for (size_t i = 0; i < a->npids; i++)
        cli_add_id(a->procs, &a->nprocs, a->pids[i]), cli_add_id(a->watch, &a->nwatch, a->pids[i]);
    for (size_t i = 0; i < a->ntids; i++) {
        pid_t tgid = cli_tgid(a->tids[i]);
        if (tgid > 0) cli_add_id(a->procs, &a->nprocs, tgid);
        cli_add_id(a->watch, &a->nwatch, a->tids[i]);
    }
    return 0;
}

int cli_parse(const cli_cmd *c, int argc, char **argv, cli_args *a, cli_opt_fn fn,
              void *user) {
    static cli_table t; /* one command parses once per process */
    memset(a, 0, sizeof *a);
    cli_table_build(&t, c);
    optind = 0; /* GNU: full reinitialisation */
    opterr = 0;
    int key, idx;
    while ((key = getopt_long(argc, argv, t.shorts, t.lo, &idx)) != -1) {
        char nb[64];
        if (key == '?') {
            int rc = cli_unknown(c, &t, argv[optind - 1], optopt);
            return cli_args_free(a), rc;
        }
        if (key == ':') {
            const cli_opt *o = cli_table_find(&t, optopt);
            cli_usage_error(c->name, "option %s needs a value (%s)", cli_opt_name(o, nb, sizeof nb),
                            o && o->arg ? o->arg : "?");
            return cli_args_free(a), CLI_USAGE_ERROR;
        }
        if (key == 'h') return cli_usage(c, stdout), cli_args_free(a), CLI_HELP;
        const cli_opt *o = cli_table_find(&t, key);
        bool own = false;
        for (const cli_opt *m = c->opts; m && m->key; m++) own |= m->key == key;
        int rc = own ? (fn ? fn(key, optarg, user) : 1) : cli_shared_opt(c, key, optarg, a);
        if (rc > 0)
            rc = cli_usage_error(c->name, "option %s is not handled", cli_opt_name(o, nb, sizeof nb)),
            rc = -1;
        if (rc < 0) return cli_args_free(a), CLI_USAGE_ERROR;
    }
    if (a->all_cpus && (a->npids || a->ntids)) /* perf lets -p win; here neither is ignored */
        return cli_args_free(a), cli_usage_error(c->name, "-a (every task) and -p/-t (these tasks) "
                                                          "exclude each other"), CLI_USAGE_ERROR;
    if ((a->npids || a->ntids) && cli_targets(c->name, a) < 0) return cli_args_free(a), CLI_USAGE_ERROR;
    if (optind < argc) {
        if (!(c->shared & (CLI_CMD | CLI_OPERANDS)))
            return cli_args_free(a), cli_usage_error(c->name, "unexpected argument '%s'", argv[optind]),
                   CLI_USAGE_ERROR;
        a->rest = argv + optind, a->nrest = argc - optind;
    }
    return CLI_OK;
}

void cli_args_free(cli_args *a) {
    free(a->pids), free(a->tids), free(a->procs), free(a->watch);
    kperf_cpulist_free(a->cpus);
    a->pids = a->tids = a->procs = a->watch = NULL, a->cpus = NULL;
    a->npids = a->ntids = a->nprocs = a->nwatch = a->ncpus = 0;
}

int cli_parse_ids(const char *cmd, const char *what, const char *s, pid_t **out, size_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    pid_t *v = (pid_t *)calloc(cap, sizeof *v);
    if (!v) return fprintf(stderr, "kperf %s: out of memory\n", cmd), -1;
    size_t k = 0;
    for (const char *p = s;;) {
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x <= 0 || x > INT_MAX || (*end && *end != ',')) {
            fprintf(stderr, "kperf %s: bad %s list '%s' at position %d: want positive %s "
                            "numbers separated by commas\n", cmd, what, s, (int)(p - s), what);
            free(v);
            return -1;
        }
        v[k++] = (pid_t)x;
        if (!*end) break;
        p = end + 1;
    }
    free(*out);
    *out = v, *n = k;
    return 0;
}

int cli_append_list(const char *cmd, const char *what, char *buf, size_t size, const char *arg) {
    size_t l = strlen(buf);
    if (l + strlen(arg) + 2 >= size)
        return fprintf(stderr, "kperf %s: %s list too long\n", cmd, what), -1;
    snprintf(buf + l, size - l, "%s%s", l ? "," : "", arg);
    return 0;
}

int cli_parse_long(const char *cmd, const char *opt, const char *s, long min, long max,
                   long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (end == s || *end || errno || v < min || v > max) {
        fprintf(stderr, "kperf %s: %s wants a whole number from %ld to %ld, not '%s'\n", cmd,
                opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double min, double max,
                     double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= min && v <= max)) {
        fprintf(stderr, "kperf %s: %s wants a number from %g to %g, not '%s'\n", cmd, opt, min,
                max, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* perf's short form of a demangled C++ name: without the last parameter list (and the
 * qualifiers after it) and without a template instance's return type, as perf report
 * prints names unless -v: "long ns::hot<long>(ns::Box<long> const&, int)" is
 * "ns::hot<long>"; "ns::f(int)::{lambda(int)#1}::operator()(int) const" is
 * "ns::f(int)::{lambda(int)#1}::operator()". A name without one (C) is copied. */
void cli_short_name(const char *full, char *out, size_t n) {
    size_t len = strlen(full), end = len, suffix = len;
    const char *clone = strstr(full, " [clone ");
    if (clone) suffix = end = (size_t)(clone - full); /* kept: perf shows it too */
    /* the last ')' before the suffix closes the parameter list when only qualifiers
     * follow it */
    size_t close = end;
    while (close > 0 && full[close - 1] != ')') close--;
    bool cut = false;
    if (close > 0) {
        const char *q = full + close;
        bool quals = true;
        while (q < full + end && quals) {
            if (*q == ' ' || *q == '&') q++;
            else if (!strncmp(q, "const", 5)) q += 5;
            else if (!strncmp(q, "volatile", 8)) q += 8;
            else if (!strncmp(q, "noexcept", 8)) q += 8;
            else quals = false;
        }
        int depth = 0;
        size_t open = close; /* the '(' that matches full[close - 1] */
        while (quals && open-- > 0) {
            if (full[open] == ')') depth++;
            else if (full[open] == '(' && --depth == 0) break;
        }
        if (quals && depth == 0 && open < close && open > 0 &&
            strncmp(full + open, "(anonymous namespace)", 21))
            end = open, cut = true;
    }
    /* the return type: up to the last space outside <>, (), {} before the name; a space
     * after "operator" belongs to the name (operator new, operator long) */
    size_t start = 0;
    if (cut) {
        int angle = 0, paren = 0, brace = 0;
        bool op = false;
        for (size_t i = 0; i < end; i++) {
            char c = full[i];
            if (!strncmp(full + i, "operator", 8) && (i == 0 || full[i - 1] == ':' || full[i - 1] == ' ')) {
                i += 7, op = true;
                size_t k = i + 1; /* the operator's symbol is not nesting: (), <, <<, ->, [] */
                if (full[k] == '(' && full[k + 1] == ')') k += 2;
                else while (k < end && strchr("<>=!+-*/%^&|~,[]", full[k])) k++;
                i = k - 1;
                continue;
            }
            if (c == '<') angle++;
            else if (c == '>' && angle) angle--;
            else if (c == '(') paren++;
            else if (c == ')' && paren) paren--;
            else if (c == '{') brace++;
            else if (c == '}' && brace) brace--;
            else if (c == ' ' && !angle && !paren && !brace && !op) start = i + 1;
            if (c == ':' && !angle && !paren && !brace) op = false; /* a later component */
        }
    }
    snprintf(out, n, "%.*s%s", (int)(end - start), full + start, full + suffix);
}

/* ---- launcher ------------------------------------------------------------------------ */

static volatile sig_atomic_t cli_stop_flag;
static void cli_on_signal(int sig) { (void)sig, cli_stop_flag = 1; }

void cli_catch_stop(void (*fn)(int), bool once) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = once ? SA_RESETHAND : 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Forks @p argv[0] and holds it before exec until cli_spawn_go(). Returns 0 or -1. */
int cli_spawn(char **argv, cli_child *c) {
    int go[2], err[2];
    if (pipe2(go, O_CLOEXEC) < 0) return -1;
    if (pipe2(err, O_CLOEXEC) < 0) return close(go[0]), close(go[1]), -1;
    c->pid = fork();
    if (c->pid < 0) return close(go[0]), close(go[1]), close(err[0]), close(err[1]), -1;
    if (c->pid == 0) {
        char ch;
        close(go[1]), close(err[0]);
        if (read(go[0], &ch, 1) != 1) _exit(127); /* the tool gave up */
        if (c->stdout_to_stderr && dup2(2, 1) < 0) _exit(127);
        execvp(argv[0], argv);
        int e = errno;
        if (write(err[1], &e, sizeof e) < 0) { /* nothing more to do */ }
        _exit(127);
    }
    close(go[0]), close(err[1]);
    c->go = go[1], c->err = err[0];
    return 0;
}

/* Lets the child exec (or, with @p run false, makes it exit); returns 0 or exec's errno. */
int cli_spawn_go(cli_child *c, bool run) {
    int e = 0;
    if (run && write(c->go, "g", 1) != 1) e = errno;
    close(c->go);
    if (run && !e && read(c->err, &e, sizeof e) != (ssize_t)sizeof e) e = 0; /* EOF: exec'd */
    close(c->err);
    c->go = c->err = -1;
    if (!run) waitpid(c->pid, NULL, 0);
    return e;
}

int cli_cannot_run(const char *cmd, const char *prog, int err) {
    fprintf(stderr, "kperf %s: cannot run '%s': %s\n", cmd, prog, strerror(err));
    return 127;
}

int cli_exit_status(int status) {
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A foreign process has ended: it no longer exists, or it is a zombie nobody reaped. */
static bool cli_gone(pid_t pid) {
    char path[64], buf[512];
    if (kill(pid, 0) < 0 && errno == ESRCH) return true;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return true;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *rp = strrchr(buf, ')'); /* the state follows "(comm) " */
    return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

/* Runs until the targets end (own: @p pids[0] is our child, whose exit status is
 * returned; foreign -p targets are watched until every one is gone), SIGINT/SIGTERM, or
 * @p seconds pass (> 0); calls @p drain whenever @p pollfd is readable and every 100 ms.
 * Returns the child's exit status (0 otherwise), or -1 when drain failed. */
int cli_run_loop(const pid_t *pids, size_t npids, bool own, double seconds, int pollfd,
                 int (*drain)(void *), void *ctx) {
    cli_catch_stop(cli_on_signal, false);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = 0;
    for (;;) {
        if (own && waitpid(pids[0], &status, WNOHANG) == pids[0]) break;
        bool alive = own || !npids;
        for (size_t i = 0; !alive && i < npids; i++) alive = !cli_gone(pids[i]);
        if (!alive) break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if (cli_stop_flag || (seconds > 0 && el >= seconds)) {
            if (own) kill(pids[0], SIGTERM), waitpid(pids[0], &status, 0);
            break;
        }
        struct pollfd p = {pollfd, POLLIN, 0};
        poll(&p, pollfd >= 0 ? 1 : 0, 100);
        if (drain(ctx) < 0) return -1;
    }
    if (own) return cli_exit_status(status);
    return 0;
}

int cli_target_begin(const char *cmd, const cli_args *a, bool any, cli_target *t) {
    memset(t, 0, sizeof *t);
    t->cc.go = t->cc.err = -1;
    bool tasks = a->npids || a->ntids, targets = tasks || a->ncpus || a->all_cpus;
    if (!a->rest && !targets && !any)
        return cli_usage_error(cmd, "say what to trace: -p PIDS, -t TIDS, -a, -C CPUS or -- COMMAND");
    if (a->rest && cli_spawn(a->rest, &t->cc) < 0) {
        fprintf(stderr, "kperf %s: cannot start %s: %s\n", cmd, a->rest[0], strerror(errno));
        return 1;
    }
    t->follow = t->cc.pid && !targets;
    t->pids = t->follow ? &t->cc.pid : a->pids;
    t->npids = t->follow ? 1 : a->npids;
    t->tids = t->follow ? NULL : a->tids;
    t->ntids = t->follow ? 0 : a->ntids;
    t->cpus = a->cpus, t->ncpus = a->ncpus;
    t->all_cpus = a->all_cpus && !tasks;
    t->inherit = t->follow || a->npids; /* -t: those threads only, as perf */
    t->enable_on_exec = t->follow;
    return 0;
}

void cli_target_abort(cli_target *t) {
    if (t->cc.pid > 0) cli_spawn_go(&t->cc, false);
    t->cc.pid = 0;
}

int cli_target_run(const char *cmd, const cli_args *a, cli_target *t, int pollfd,
                   int (*drain)(void *), void *ctx) {
    if (t->cc.pid > 0) {
        int e = cli_spawn_go(&t->cc, true);
        if (e) {
            waitpid(t->cc.pid, NULL, 0);
            t->not_run = true;
            return cli_cannot_run(cmd, a->rest[0], e);
        }
        return cli_run_loop(&t->cc.pid, 1, true, a->duration, pollfd, drain, ctx);
    }
    return cli_run_loop(a->watch, a->nwatch, false, a->duration, pollfd, drain, ctx);
}
