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

static int sc_usage(FILE *f) {
    fprintf(f,
            "usage: kperf syscalls [-e NAME,NAME...] [-p PID | -a | -C CPUS] [-d SECONDS]\n"
            "                      [--calls] [--raw] [-o FILE] [-- COMMAND [ARGS...]]\n"
            "       kperf syscalls --list\n"
            "  -e NAMES  only these syscalls (default: all)    --calls  one line per call\n"
            "  -p PID    trace a running process               -a       every CPU\n"
            "  -d SECS   stop after SECS                       --raw    numbers only (cheaper)\n"
            "  -o FILE   write the table to FILE               --list   syscall names\n"
            "  --trace-json FILE  every call as a Chrome/Perfetto trace event (ph X, dur)\n"
            "  -m PAGES  ring pages per CPU, a power of two (default 1024 = 4 MiB)\n");
    return f == stderr ? 2 : 0;
}

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

int cmd_syscalls(int argc, char **argv) {
    char *funcs[512];
    size_t nfuncs = 0;
    const char *outpath = NULL, *jsonpath = NULL;
    pid_t pid = 0;
    bool all = false, calls = false, raw = false;
    int *cpus = NULL, ncpus = 0, i;
    double secs = 0;
    unsigned pages = 1024; /* 4 MiB per ring: syscalls come fast */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return sc_usage(stdout);
        if (!strcmp(a, "--list")) return sc_list();
        if (!strcmp(a, "-a")) all = true;
        else if (!strcmp(a, "--calls")) calls = true;
        else if (!strcmp(a, "--raw")) raw = true;
        else if (i + 1 < argc && !strcmp(a, "-e"))
            nfuncs += sc_split(argv[++i], funcs + nfuncs, 512 - nfuncs);
        else if (i + 1 < argc && !strcmp(a, "-p")) {
            if ((pid = cli_parse_pid("syscalls", argv[++i])) < 0) return 2;
        }
        else if (i + 1 < argc && !strcmp(a, "-d")) secs = atof(argv[++i]);
        else if (i + 1 < argc && !strcmp(a, "-m")) pages = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(a, "-o")) outpath = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "--trace-json")) jsonpath = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "-C")) {
            if ((ncpus = cli_parse_cpus(argv[++i], &cpus)) <= 0) return sc_usage(stderr);
        } else if (a[0] == '-') return sc_usage(stderr);
        else break;
    }
    char **cmd = i < argc ? argv + i : NULL;
    if (!cmd && !pid && !all && !ncpus) {
        fprintf(stderr, "kperf syscalls: say what to trace: -p PID, -a, -C CPUS or -- COMMAND\n");
        return 2;
    }
    cli_child cc = {0, -1, -1, false};
    if (cmd && cli_spawn(cmd, &cc) < 0) return perror("kperf syscalls: fork"), 1;
    pid_t target = cc.pid ? cc.pid : pid;
    kperf_syscalls_desc d;
    memset(&d, 0, sizeof d);
    d.funcs = (const char *const *)funcs, d.nfuncs = nfuncs;
    d.pids = target ? &target : NULL, d.npids = target ? 1 : 0;
    d.cpus = cpus, d.ncpus = (size_t)ncpus;
    d.all_cpus = all && !target;
    d.inherit = cc.pid != 0;
    d.enable_on_exec = cc.pid != 0;
    d.ring_pages = pages;
    d.no_names = raw;
    sc_ctx x = {NULL, calls ? stderr : NULL, NULL};
    if (jsonpath && cli_tjson_open(&x.json, jsonpath) < 0) {
        if (cc.pid) cli_spawn_go(&cc, false);
        free(cpus);
        return 1;
    }
    if (kperf_syscalls_open(&x.s, &d) < 0) {
        if (cc.pid) cli_spawn_go(&cc, false);
        free(cpus);
        return cli_fail("syscalls");
    }
    if (kperf_syscalls_names_status(x.s)[0])
        fprintf(stderr, "kperf syscalls: %s\n", kperf_syscalls_names_status(x.s));
    int status = 0;
    if (!cc.pid) kperf_syscalls_start(x.s);
    if (cc.pid && (status = cli_spawn_go(&cc, true)) != 0) {
        fprintf(stderr, "kperf syscalls: cannot run %s: %s\n", cmd[0], strerror(status));
        waitpid(cc.pid, NULL, 0);
        status = 127;
    } else {
        status = cli_run_loop(target, cc.pid != 0, secs,
                              kperf_sampler_fd(kperf_syscalls_sampler(x.s)), sc_drain, &x);
    }
    kperf_syscalls_stop(x.s);
    sc_drain(&x);
    int ofd = outpath ? kperf_file_create(outpath, 0666) : -1; /* no planted symlink followed */
    FILE *out = !outpath ? stderr : ofd >= 0 ? fdopen(ofd, "w") : NULL;
    if (!out) fprintf(stderr, "kperf syscalls: %s\n", kperf_errmsg()), out = stderr;
    sc_table(out, x.s);
    kperf_syscall_counts c;
    uint64_t lost = 0;
    kperf_syscalls_counts(x.s, &c, &lost);
    if (lost) fprintf(stderr, "kperf syscalls: %llu records lost (ring full): counts are low; "
                      "-e NAMES traces fewer events\n", (unsigned long long)lost);
    if (out != stderr) fclose(out);
    if (cli_tjson_close(x.json, "kperf syscalls") < 0 && !status) status = 1;
    kperf_syscalls_close(x.s);
    free(cpus);
    return status < 0 ? 1 : status;
}
