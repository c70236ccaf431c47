/* kperf syscalls: syscall counts, errors and latency percentiles per syscall, like
 * `strace -c` but from the kernel's syscall tracepoints (no ptrace stops).
 *
 *   kperf syscalls -- make -j4            every syscall of a command and its children
 *   kperf syscalls -e read,write -p 1234 -d 5
 *   kperf syscalls --calls -- ls          also one line per call (libkperf trace_read)
 *   kperf syscalls --list                 the running kernel's syscall names */
#include "kperf_cli.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct sc_ctx {
    kperf_syscalls *s;
    FILE *calls;     /* per-call lines, or NULL */
    cli_tjson *json; /* --trace-json: one complete event per call */
} sc_ctx;

static int sc_on_call(const kperf_syscall_call *c, void *user) {
    sc_ctx *x = (sc_ctx *)user;
    if (x->json) {
        char name[64];
        if (!c->name) snprintf(name, sizeof name, "syscall_%d", (int)c->nr);
        cli_tjson_thread(x->json, c->pid, c->tid, c->comm);
        FILE *o = cli_tjson_begin(x->json, c->name ? c->name : name, "syscall", c->start,
                                  (int64_t)c->duration, c->pid, c->tid, c->cpu);
        fprintf(o, ",\"nr\":%d,\"ret\":%lld", (int)c->nr, (long long)c->ret);
        cli_tjson_end(x->json);
    }
    if (!x->calls) return 0;
    fprintf(x->calls, "%16s %6d/%-6d [%03d] %llu.%06llu: %s() = %lld <%llu.%06llu>\n",
            c->comm[0] ? c->comm : "<...>", c->pid, c->tid, c->cpu,
            (unsigned long long)(c->start / 1000000000ull),
            (unsigned long long)(c->start % 1000000000ull / 1000), c->name, (long long)c->ret,
            (unsigned long long)(c->duration / 1000000000ull),
            (unsigned long long)(c->duration % 1000000000ull / 1000));
    return 0;
}

static int sc_drain(void *ctx) {
    sc_ctx *x = (sc_ctx *)ctx;
    int rc = kperf_syscalls_read(x->s, x->calls || x->json ? sc_on_call : NULL, x);
    return rc < 0 && rc != -KPERF_ECORRUPT ? rc : 0;
}

static void sc_table(FILE *f, kperf_syscalls *s) {
    const kperf_syscall_stat *st;
    size_t n;
    if (kperf_syscalls_stats(s, &st, &n) < 0) return;
    uint64_t total = 0, calls = 0, errors = 0;
    for (size_t i = 0; i < n; i++) total += st[i].total, calls += st[i].count, errors += st[i].errors;
    fprintf(f, "%% time     seconds  usecs/call     calls    errors   p50(us)   p90(us)   "
               "p99(us)   max(us) syscall\n");
    fprintf(f, "------ ----------- ----------- --------- --------- --------- --------- "
               "--------- --------- ----------------\n");
    for (size_t i = 0; i < n; i++) {
        const kperf_syscall_stat *x = &st[i];
        if (!x->count && !x->unfinished) continue;
        char err[24] = ""; /* like strace: the errors column is blank when there are none */
        if (x->errors) snprintf(err, sizeof err, "%llu", (unsigned long long)x->errors);
        fprintf(f, "%6.2f %11.6f %11llu %9llu %9s %9.1f %9.1f %9.1f %9.1f %s%s\n",
                total ? 100.0 * (double)x->total / (double)total : 0.0, (double)x->total / 1e9,
                (unsigned long long)(x->mean / 1000), (unsigned long long)x->count, err,
                x->p50 / 1e3, x->p90 / 1e3, x->p99 / 1e3, x->max / 1e3, x->name,
                x->unfinished ? " (unfinished)" : "");
    }
    fprintf(f, "------ ----------- ----------- --------- --------- --------- --------- "
               "--------- --------- ----------------\n");
    fprintf(f, "100.00 %11.6f %11llu %9llu %9llu %49s total\n", (double)total / 1e9,
            (unsigned long long)(calls ? total / calls / 1000 : 0), (unsigned long long)calls,
            (unsigned long long)errors, "");
}

static const cli_opt sc_opts[] = {
    {'e', "event", "NAMES", "only these syscalls, comma list (repeatable; default: all)"},
    {'m', "mmap-pages", "PAGES", "ring pages per CPU, a power of two (default 1024 = 4 MiB)"},
    {CLI_LONG_ONLY, "calls", NULL, "also one line per call, on stderr"},
    {CLI_LONG_ONLY + 1, "raw", NULL, "numbers only, no syscall names (cheaper)"},
    {CLI_LONG_ONLY + 2, "list", NULL, "print the running kernel's syscall names and exit"},
    {CLI_LONG_ONLY + 3, "trace-json", "FILE", "every call as a Chrome/Perfetto trace event"},
    {0, NULL, NULL, NULL}};

static const cli_cmd sc_cmd = {
    "syscalls", "[options] [-- COMMAND [ARGS...]]",
    "Syscall counts, errors and latency percentiles per syscall, like `strace -c`, from the\n"
    "kernel's syscall tracepoints (no ptrace stops).",
    sc_opts, CLI_TARGETS | CLI_TID | CLI_DURATION | CLI_OUTPUT,
    "With -p/-a/-C, a command only sets the duration. -o FILE writes the table to FILE\n"
    "instead of stderr. Examples:\n"
    "  kperf syscalls -- make -j4\n"
    "  kperf syscalls -e read,write -p 1234 -d 5\n"};

typedef struct sc_opt_state {
    char names[8192]; /* the -e lists, comma-joined, split in place after parsing */
    char *funcs[512];
    size_t nfuncs;
    bool calls, raw, list;
    long pages;
    const char *json; /* --trace-json FILE */
} sc_opt_state;

static int sc_list(void) {
    kperf_tracefs *t;
    const char *const *names;
    size_t n;
    if (kperf_tracefs_open(&t, NULL) < 0 || kperf_syscall_names(t, &names, &n) < 0)
        return cli_fail("syscalls");
    for (size_t i = 0; i < n; i++) printf("%s\n", names[i]);
    kperf_tracefs_close(t);
    return 0;
}

/* Splits "a,b,c" in place into @p v (at most @p max names); returns the count. */
static size_t sc_split(char *s, char **v, size_t max) {
    size_t n = 0;
    for (char *save = NULL, *t = strtok_r(s, ",", &save); t && n < max; t = strtok_r(NULL, ",", &save))
        v[n++] = t;
    return n;
}

static int sc_opt(int key, const char *arg, void *user) {
    sc_opt_state *o = (sc_opt_state *)user;
    switch (key) {
    case 'e': return cli_append_list("syscalls", "syscall", o->names, sizeof o->names, arg);
    case 'm': return cli_parse_long("syscalls", "-m/--mmap-pages", arg, 1, 1 << 20, &o->pages);
    case CLI_LONG_ONLY: o->calls = true; return 0;
    case CLI_LONG_ONLY + 1: o->raw = true; return 0;
    case CLI_LONG_ONLY + 2: o->list = true; return 0;
    case CLI_LONG_ONLY + 3: o->json = arg; return 0;
    }
    return 1;
}

int cmd_syscalls(int argc, char **argv) {
    static sc_opt_state o;
    memset(&o, 0, sizeof o);
    o.pages = 1024; /* 4 MiB per ring: syscalls come fast */
    cli_args a;
    int prc = cli_parse(&sc_cmd, argc, argv, &a, sc_opt, &o);
    if (prc != CLI_OK) return prc == CLI_HELP ? 0 : 2;
    if (o.list && (o.names[0] || o.calls || o.raw || o.json || a.rest || a.output || a.npids ||
                   a.ntids || a.ncpus || a.all_cpus || a.duration > 0))
        return cli_args_free(&a), cli_usage_error("syscalls", "--list prints the names and "
                                                  "exits: it takes no other option");
    if (o.list) return cli_args_free(&a), sc_list();
    if (o.raw && o.names[0]) /* named syscalls have their own events: nothing to name */
        return cli_args_free(&a), cli_usage_error("syscalls", "--raw is for tracing every "
                                                  "syscall; with -e the names are known");
    o.nfuncs = sc_split(o.names, o.funcs, 512);
    cli_target tg;
    int trc = cli_target_begin("syscalls", &a, false, &tg);
    if (trc) return cli_args_free(&a), trc;
    kperf_syscalls_desc d;
    memset(&d, 0, sizeof d);
    d.funcs = (const char *const *)o.funcs, d.nfuncs = o.nfuncs;
    d.pids = tg.pids, d.npids = tg.npids, d.tids = tg.tids, d.ntids = tg.ntids;
    d.cpus = tg.cpus, d.ncpus = tg.ncpus, d.all_cpus = tg.all_cpus;
    d.inherit = tg.inherit, d.enable_on_exec = tg.enable_on_exec;
    d.ring_pages = (unsigned)o.pages;
    d.no_names = o.raw;
    sc_ctx x = {NULL, o.calls ? stderr : NULL, NULL};
    if (o.json && cli_tjson_open(&x.json, o.json) < 0) {
        cli_target_abort(&tg);
        cli_args_free(&a);
        return 1;
    }
    if (kperf_syscalls_open(&x.s, &d) < 0) {
        cli_target_abort(&tg);
        cli_args_free(&a);
        return cli_fail("syscalls");
    }
    if (kperf_syscalls_names_status(x.s)[0])
        fprintf(stderr, "kperf syscalls: %s\n", kperf_syscalls_names_status(x.s));
    int status = 0;
    if (!tg.follow) kperf_syscalls_start(x.s);
    int fd = kperf_sampler_fd(kperf_syscalls_sampler(x.s));
    status = cli_target_run("syscalls", &a, &tg, fd, sc_drain, &x);
    kperf_syscalls_stop(x.s);
    sc_drain(&x);
    if (!tg.not_run) { /* a command that never ran gets no empty table */
        FILE *out = cli_output("syscalls", a.output, stderr);
        if (!out) out = stderr, status = status ? status : 1; /* shown, but -o failed */
        sc_table(out, x.s);
        if (out != stderr) fclose(out);
    }
    kperf_syscall_counts c;
    uint64_t lost = 0;
    kperf_syscalls_counts(x.s, &c, &lost);
    if (lost) fprintf(stderr, "kperf syscalls: %llu records lost (ring full): counts are low; "
                      "-e NAMES traces fewer events\n", (unsigned long long)lost);
    if (cli_tjson_close(x.json, "kperf syscalls") < 0 && !status) status = 1;
    kperf_syscalls_close(x.s);
    cli_args_free(&a);
    return status < 0 ? 1 : status;
}
