/* kperf trace: print tracepoint events with their fields, one line each, like perf-prof's
 * trace:   COMM  PID [CPU] SECONDS.USEC: SYSTEM:NAME: field=value field=value ...
 *
 *   kperf trace -e 'sched:sched_wakeup/pid>1000 && prio<10/' -a -d 1
 *   kperf trace -e sched:sched_process_exec -- make
 *   kperf trace -e sched:sched_switch --fields          (the event's fields and types)
 *
 * Also home of the launcher shared with `kperf syscalls` (cli_spawn, cli_run_loop). */
#define _GNU_SOURCE 1
#include "kperf_cli.h"
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t cli_stop_flag;
static void cli_on_signal(int sig) { (void)sig, cli_stop_flag = 1; }

/* Forks @p argv[0] and holds it before exec until cli_spawn_go(). Returns 0 or -1. */
int cli_spawn(char **argv, cli_child *c) {
    int go[2], err[2];
    if (pipe2(go, O_CLOEXEC) < 0) return -1;
    if (pipe2(err, O_CLOEXEC) < 0) return close(go[0]), close(go[1]), -1;
    c->pid = fork();
    if (c->pid < 0) return -1;
    if (c->pid == 0) {
        char ch;
        close(go[1]), close(err[0]);
        if (read(go[0], &ch, 1) != 1) _exit(127); /* the tracer gave up */
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

/* Runs until the target exits (its exit status is returned when it is our @p own child;
 * a foreign -p target is watched with kill(pid, 0)), SIGINT/SIGTERM, or @p seconds pass
 * (> 0); calls @p drain whenever @p pollfd is readable and every 100 ms. Returns the
 * child's exit status (0 otherwise), or -1 when drain failed. */
int cli_run_loop(pid_t target, bool own, double seconds, int pollfd, int (*drain)(void *),
                 void *ctx) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cli_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int status = 0;
    for (;;) {
        if (own && waitpid(target, &status, WNOHANG) == target) break;
        if (!own && target > 0 && cli_gone(target)) break;
        clock_gettime(CLOCK_MONOTONIC, &now);
        double el = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
        if (cli_stop_flag || (seconds > 0 && el >= seconds)) {
            if (own) kill(target, SIGTERM), waitpid(target, &status, 0);
            break;
        }
        struct pollfd p = {pollfd, POLLIN, 0};
        poll(&p, pollfd >= 0 ? 1 : 0, 100);
        if (drain(ctx) < 0) return -1;
    }
    if (own) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return 0;
}

/* Parses a CPU list "0-3,6" with the library's parser (the array is freed with free(), the
 * tool's KPERF_FREE); returns the count or -1. */
int cli_parse_cpus(const char *s, int **out) {
    size_t n = 0;
    if (kperf_cpulist_parse(s, out, &n) < 0 || n == 0) return -1;
    return (int)n;
}

/* Parses a positive pid; returns it, or -1 (with a message) when the text is not one. */
pid_t cli_parse_pid(const char *cmd, const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v <= 0 || v > INT_MAX) {
        fprintf(stderr, "kperf %s: bad pid '%s': want a positive process id\n", cmd, s);
        return -1;
    }
    return (pid_t)v;
}

/* sched_switch's prev_state as letters, the way the kernel's print fmt (and perf script)
 * shows it: the `{ 0xBIT, "L" }` entries of the running kernel's __print_flags table,
 * joined by '|', "R" when no bit under the table is set, then "+" for the next bit up
 * (TASK_REPORT_MAX, "preempted"). Without a table in the format file, the kernel's
 * TASK_REPORT order since 4.14: S D T t X Z P I, preempted = 0x100. */
typedef struct trace_states {
    int n;              /* entries in bit/letter; -1 = not parsed yet */
    uint64_t bit[16], plus;
    char letter[16][4];
} trace_states;

static void trace_states_load(trace_states *ts, const kperf_tp_format *f) {
    static const char *dflt = "SDTtXZPI";
    const char *p = f->print_fmt ? strstr(f->print_fmt, "__print_flags(REC->prev_state") : NULL;
    ts->n = 0;
    while (p && (p = strstr(p, "{ 0x")) && ts->n < 16) {
        char *end;
        uint64_t v = strtoull(p + 2, &end, 16);
        const char *q = strchr(end, '"');
        const char *r = q ? strchr(q + 1, '"') : NULL;
        if (!v || !r || r - q - 1 < 1 || r - q - 1 > 3) break;
        ts->bit[ts->n] = v;
        snprintf(ts->letter[ts->n], sizeof ts->letter[0], "%.*s", (int)(r - q - 1), q + 1);
        ts->n++;
        p = r;
    }
    if (ts->n == 0)
        for (int i = 0; i < 8; i++) {
            ts->bit[i] = 1ull << i;
            snprintf(ts->letter[i], sizeof ts->letter[0], "%c", dflt[i]);
            ts->n++;
        }
    uint64_t top = 0;
    for (int i = 0; i < ts->n; i++)
        if (ts->bit[i] > top) top = ts->bit[i];
    ts->plus = top << 1;
}

/* Rewrites "prev_state=NUMBER" in @p line (capacity @p cap) as letters. */
static void trace_states_apply(const trace_states *ts, char *line, size_t cap) {
    char *a = strstr(line, " prev_state=");
    if (!a) return;
    a += 12;
    char *end;
    long long v = strtoll(a, &end, 0);
    if (end == a) return;
    char st[64] = "";
    size_t n = 0;
    for (int i = 0; i < ts->n; i++)
        if ((uint64_t)v & ts->bit[i])
            n += (size_t)snprintf(st + n, sizeof st - n, "%s%s", n ? "|" : "", ts->letter[i]);
    if (!n) n = (size_t)snprintf(st, sizeof st, "R");
    if ((uint64_t)v & ts->plus) snprintf(st + n, sizeof st - n, "+");
    size_t lst = strlen(st), rest = strlen(end);
    if ((size_t)(a - line) + lst + rest + 1 > cap) return; /* keep the number */
    memmove(a + lst, end, rest + 1);
    memcpy(a, st, lst);
}

typedef struct trace_comm {
    uint32_t tid;
    char comm[16];
} trace_comm;

typedef struct trace_ctx {
    trace_comm comms[1024]; /* /proc lookups for threads the sampler has no name for */
    kperf_sampler *s;
    kperf_tracefs *tfs;
    FILE *out;
    uint64_t printed, lost;
    char *line;
    size_t cap;
    trace_states states;
    cli_tjson *json; /* --trace-json */
    bool text;       /* the event lines too (-o, or no --trace-json) */
} trace_ctx;

/* --trace-json: one instant event per record, its non-common fields as args (integers as
 * numbers, pointers and the rest as text). */
static void trace_json_event(trace_ctx *t, const kperf_record *rec, const kperf_tp_format *f,
                             const char *comm) {
    char name[256], val[512];
    snprintf(name, sizeof name, "%s:%s", f->system, f->name);
    cli_tjson_thread(t->json, (int)rec->pid, (int)rec->tid, comm);
    FILE *o = cli_tjson_begin(t->json, name, f->system, rec->time, -1, (int)rec->pid,
                              (int)rec->tid, (int)rec->cpu);
    for (size_t i = 0; i < f->nfields; i++) {
        const kperf_tp_field *fd = &f->fields[i];
        if (fd->flags & KPERF_TP_FIELD_COMMON) continue;
        fputc(',', o);
        cli_tjson_str(o, fd->name);
        fputc(':', o);
        int64_t v;
        uint64_t u;
        bool scalar = fd->count == 1 && !(fd->flags & (KPERF_TP_FIELD_STRING | KPERF_TP_FIELD_POINTER));
        if (scalar && fd->is_signed && kperf_tp_field_int(fd, rec->sample.raw, rec->sample.raw_size, &v) == 0)
            fprintf(o, "%lld", (long long)v);
        else if (scalar && kperf_tp_field_uint(fd, rec->sample.raw, rec->sample.raw_size, &u) == 0)
            fprintf(o, "%llu", (unsigned long long)u);
        else if (kperf_tp_field_snprint(fd, rec->sample.raw, rec->sample.raw_size, val, sizeof val) >= 0)
            cli_tjson_str(o, val);
        else
            fputs("null", o);
    }
    cli_tjson_end(t->json);
}

static int trace_on_record(const kperf_record *rec, void *user) {
    trace_ctx *t = (trace_ctx *)user;
    if (rec->type == KPERF_RECORD_LOST) t->lost += rec->loss.lost;
    if (rec->type != KPERF_RECORD_SAMPLE || !rec->sample.raw || rec->sample.raw_size < 2)
        return 0;
    uint16_t id;
    memcpy(&id, rec->sample.raw, 2);
    const kperf_tp_format *f;
    int frc = kperf_tracefs_format_by_id(t->tfs, id, &f);
    if (frc == -KPERF_ENOEVENT) return 0; /* an id no event of this kernel has */
    if (frc < 0) return frc;              /* EMFILE, ENOMEM...: said, never silently dropped */
    for (;;) {
        int n = kperf_tp_format_snprint(f, rec->sample.raw, rec->sample.raw_size, t->line, t->cap);
        if (n < 0) return 0;
        if ((size_t)n < t->cap) break;
        char *nl = (char *)realloc(t->line, (size_t)n + 1);
        if (!nl) return -ENOMEM;
        t->line = nl, t->cap = (size_t)n + 1;
    }
    if (!strcmp(f->system, "sched") && !strcmp(f->name, "sched_switch")) {
        if (t->states.n < 0) trace_states_load(&t->states, f);
        if ((size_t)strlen(t->line) + 64 >= t->cap) { /* room for the letters */
            char *nl = (char *)realloc(t->line, t->cap + 64);
            if (!nl) return -ENOMEM;
            t->line = nl, t->cap += 64;
        }
        trace_states_apply(&t->states, t->line, t->cap);
    }
    const char *comm = kperf_sampler_comm(t->s, rec->pid);
    if (!comm) {
        trace_comm *c = &t->comms[rec->tid % 1024];
        if (c->tid != rec->tid || !rec->tid) {
            char path[64];
            snprintf(path, sizeof path, "/proc/%u/comm", rec->tid);
            FILE *fp = fopen(path, "r");
            c->tid = rec->tid;
            snprintf(c->comm, sizeof c->comm, "%s", rec->tid ? "<...>" : "swapper");
            if (fp && fgets(c->comm, sizeof c->comm, fp)) c->comm[strcspn(c->comm, "\n")] = 0;
            if (fp) fclose(fp);
        }
        comm = c->comm;
    }
    if (t->json) trace_json_event(t, rec, f, comm);
    if (t->text)
        fprintf(t->out, "%16s %6u [%03u] %llu.%06llu: %s:%s: %s\n", comm, rec->tid,
            rec->cpu, (unsigned long long)(rec->time / 1000000000ull),
            (unsigned long long)(rec->time % 1000000000ull / 1000), f->system, f->name, t->line);
    t->printed++;
    return 0;
}

static int trace_drain(void *ctx) {
    trace_ctx *t = (trace_ctx *)ctx;
    int rc = kperf_sampler_read(t->s, trace_on_record, t);
    if (rc < 0 && rc != -KPERF_ECORRUPT) {
        static bool said;
        if (!said) fprintf(stderr, "kperf trace: %s\n", kperf_errmsg());
        said = true;
        return rc;
    }
    return 0;
}

/* Prints every event's fields (perf-prof's `trace -e EV help`). */
static int trace_fields(kperf_tracefs *tfs, const char *spec) {
    kperf_evlist *list;
    if (kperf_evlist_parse(&list, spec, NULL) < 0) return cli_fail("trace");
    for (size_t i = 0; i < list->nevents; i++) {
        const kperf_event *ev = &list->events[i];
        const kperf_tp_format *f;
        if (ev->type != 2 /* PERF_TYPE_TRACEPOINT */ ||
            kperf_tracefs_format_by_id(tfs, (uint32_t)ev->config[0], &f) < 0) {
            fprintf(stderr, "kperf trace: %s is not a tracepoint\n", ev->name);
            continue;
        }
        printf("%s:%s (id %u)%s%s\n", f->system, f->name, f->id, ev->filter ? " filter: " : "",
               ev->filter ? ev->filter : "");
        for (size_t j = 0; j < f->nfields; j++) {
            const kperf_tp_field *fd = &f->fields[j];
            printf("    %-28s %-24s offset %3u size %3u %s%s\n", fd->name, fd->type, fd->offset,
                   fd->size, fd->is_signed ? "signed" : "unsigned",
                   fd->flags & KPERF_TP_FIELD_STRING ? " string" : "");
        }
    }
    kperf_evlist_free(list);
    return 0;
}

static int trace_usage(FILE *f) {
    fprintf(f,
            "usage: kperf trace -e EVENT[,EVENT...] [-e ...] [-p PID | -a | -C CPUS] [-d SECONDS]\n"
            "                   [--fields] [-o FILE] [-- COMMAND [ARGS...]]\n"
            "  EVENT     sys:name[/filter/], e.g. 'sched:sched_wakeup/pid>1000 && prio<10/'\n"
            "            (the filter runs in the kernel: ftrace syntax over the event's fields)\n"
            "  -p PID    trace the threads of a process     -a  every CPU (system-wide)\n"
            "  -C CPUS   trace these CPUs (0-3,6)           -d  stop after SECONDS\n"
            "  --fields  print each event's fields (name, type, offset, size) and exit\n"
            "  -o FILE   write the event lines to FILE instead of stdout\n"
            "  --trace-json FILE  write the events as Chrome/Perfetto trace-event JSON (then\n"
            "            no event lines unless -o is given)\n"
            "  -m PAGES  ring pages per CPU, a power of two (default 1024 = 4 MiB)\n");
    return f == stderr ? 2 : 0;
}

int cmd_trace(int argc, char **argv) {
    char spec[8192] = "";
    const char *outpath = NULL, *jsonpath = NULL;
    pid_t pid = 0;
    bool all = false, fields = false;
    int *cpus = NULL, ncpus = 0, i;
    double secs = 0;
    unsigned pages = 1024; /* 4 MiB per ring: syscalls come fast */
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return trace_usage(stdout);
        if (!strcmp(a, "-a")) all = true;
        else if (!strcmp(a, "--fields") || !strcmp(a, "help")) fields = true;
        else if (i + 1 < argc && !strcmp(a, "-e")) {
            size_t l = strlen(spec);
            if (l + strlen(argv[i + 1]) + 2 >= sizeof spec) return trace_usage(stderr);
            snprintf(spec + l, sizeof spec - l, "%s%s", l ? "," : "", argv[++i]);
        } else if (i + 1 < argc && !strcmp(a, "-p")) {
            if ((pid = cli_parse_pid("trace", argv[++i])) < 0) return 2;
        }
        else if (i + 1 < argc && !strcmp(a, "-d")) secs = atof(argv[++i]);
        else if (i + 1 < argc && !strcmp(a, "-m")) pages = (unsigned)atoi(argv[++i]);
        else if (i + 1 < argc && !strcmp(a, "-o")) outpath = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "--trace-json")) jsonpath = argv[++i];
        else if (i + 1 < argc && !strcmp(a, "-C")) {
            if ((ncpus = cli_parse_cpus(argv[++i], &cpus)) <= 0) return trace_usage(stderr);
        } else if (a[0] == '-') return trace_usage(stderr);
        else break;
    }
    char **cmd = i < argc ? argv + i : NULL;
    if (!spec[0]) return trace_usage(stderr);
    kperf_tracefs *tfs;
    if (kperf_tracefs_open(&tfs, NULL) < 0) return cli_fail("trace");
    if (fields) {
        int rc = trace_fields(tfs, spec);
        kperf_tracefs_close(tfs);
        return rc;
    }
    if (!cmd && !pid && !all && !ncpus) {
        kperf_tracefs_close(tfs);
        fprintf(stderr, "kperf trace: say what to trace: -p PID, -a, -C CPUS or -- COMMAND\n");
        return 2;
    }
    cli_child cc = {0, -1, -1, false};
    if (cmd && cli_spawn(cmd, &cc) < 0) return kperf_tracefs_close(tfs), perror("kperf trace: fork"), 1;
    pid_t child = cc.pid;
    pid_t target = child ? child : pid;
    kperf_sampler_desc d;
    memset(&d, 0, sizeof d);
    d.events = spec;
    d.period = 1;
    d.include_kernel = true;
    d.pids = target ? &target : NULL;
    d.npids = target ? 1 : 0;
    d.cpus = cpus, d.ncpus = (size_t)ncpus;
    d.all_cpus = all && !target;
    d.inherit = child != 0;
    d.enable_on_exec = child != 0;
    d.ring_pages = pages;
    static trace_ctx t;
    t.tfs = tfs;
    t.states.n = -1;
    int ofd = outpath ? kperf_file_create(outpath, 0666) : -1; /* no planted symlink followed */
    t.out = !outpath ? stdout : ofd >= 0 ? fdopen(ofd, "w") : NULL;
    if (!t.out) return fprintf(stderr, "kperf trace: %s\n", kperf_errmsg()), 1;
    t.text = outpath || !jsonpath;
    if (jsonpath && cli_tjson_open(&t.json, jsonpath) < 0) return 1;
    if (kperf_sampler_open(&t.s, &d) < 0) {
        if (child) cli_spawn_go(&cc, false);
        kperf_tracefs_close(tfs);
        return cli_fail("trace");
    }
    int status = 0;
    if (!child) kperf_sampler_start(t.s);
    if (child && (status = cli_spawn_go(&cc, true)) != 0) {
        fprintf(stderr, "kperf trace: cannot run %s: %s\n", cmd[0], strerror(status));
        waitpid(child, NULL, 0);
        status = 127;
    } else {
        status = cli_run_loop(target, child != 0, secs, kperf_sampler_fd(t.s), trace_drain, &t);
    }
    kperf_sampler_stop(t.s);
    trace_drain(&t);
    kperf_sampler_stats st;
    kperf_sampler_stats_read(t.s, &st);
    fprintf(stderr, "kperf trace: %llu events", (unsigned long long)t.printed);
    if (st.total.lost) fprintf(stderr, ", %llu lost (ring full: a filter or -C helps)",
                               (unsigned long long)st.total.lost);
    fprintf(stderr, "\n");
    if (outpath) fclose(t.out);
    if (cli_tjson_close(t.json, "kperf trace") < 0 && !status) status = 1;
    free(t.line);
    free(cpus);
    kperf_sampler_close(t.s);
    kperf_tracefs_close(tfs);
    return status < 0 ? 1 : status;
}
