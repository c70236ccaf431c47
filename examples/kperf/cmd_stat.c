/* kperf stat: count events of a command, processes, threads or CPUs, like `perf stat`.
 *
 *   kperf stat [-e EVENTS] [-p PIDS | -t TIDS] [-C CPUS | -a] [-I MS] [-x SEP | --json]
 *              [--per-thread] [-i] [-o FILE] [--plan] [--sysfs ROOT] [-- command args...]
 *
 * Output follows perf stat: the human table on stderr (or -o FILE), `-x SEP` CSV with perf's
 * fields (value, unit, event, run time, percent running, metric value, metric unit),
 * `--json` one object per counter with perf's keys. `--plan` prints every fd that would be
 * opened, one per line, and opens nothing. */
#define _GNU_SOURCE 1
#include "kperf_cli.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct stat_opts {
    char events[4096];
    const char *sep;    /* -x */
    const char *out;    /* -o */
    const char *sysfs;  /* --sysfs */
    bool json, plan, all_cpus, no_inherit, per_thread;
    long interval_ms;
    int *cpus;
    size_t ncpus;
    pid_t *pids, *tids;
    size_t npids, ntids;
    char **cmd;         /* NULL-terminated, or NULL */
} stat_opts;

static volatile sig_atomic_t stat_stop;
static void stat_on_signal(int sig) { (void)sig, stat_stop = 1; }

static int stat_usage(FILE *f) {
    fprintf(f,
            "usage: kperf stat [options] [-- command [args...]]\n"
            "  -e, --event EVENTS     event spec as perf takes it (repeatable)\n"
            "  -p, --pid PIDS         count existing processes (every thread), comma list\n"
            "  -t, --tid TIDS         count existing threads, comma list\n"
            "  -C, --cpu CPUS         count these CPUs (cpulist: 0-3,8)\n"
            "  -a, --all-cpus         count every CPU\n"
            "  -I, --interval-print MS  print deltas every MS milliseconds\n"
            "  -x, --field-separator SEP  CSV: value,unit,event,run time,percent,metric,unit\n"
            "      --json             one JSON object per counter\n"
            "      --per-thread       one line per thread (new threads included as they exit)\n"
            "  -i, --no-inherit       do not count children of the command\n"
            "  -o, --output FILE      write the counts to FILE instead of stderr\n"
            "      --plan             print every perf_event_attr that would be opened; open "
            "nothing\n"
            "      --sysfs ROOT       read PMUs from ROOT/sys (fake trees, with --plan)\n"
            "  -M METRICS             metrics (kperf stat -M, see kperf list --metrics)\n");
    return f == stderr ? 2 : 0;
}

/* Parses "1,2,3" into a new pid array. */
static int stat_pids(const char *s, pid_t **out, size_t *n) {
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    pid_t *v = (pid_t *)calloc(cap, sizeof *v);
    if (!v) return -1;
    *n = 0;
    for (const char *p = s; *p;) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || x <= 0 || x > 0x7fffffff || (*end && *end != ',')) {
            fprintf(stderr, "kperf stat: bad pid list '%s' at position %d\n", s, (int)(p - s));
            free(v);
            return -1;
        }
        v[(*n)++] = (pid_t)x;
        p = *end ? end + 1 : end;
    }
    *out = v;
    return 0;
}

/* Option value: "-e X", "-eX", "--event X" or "--event=X". */
static const char *stat_arg(int argc, char **argv, int *i, const char *s, const char *l) {
    const char *a = argv[*i];
    size_t ll = strlen(l);
    if (!strcmp(a, s) || !strcmp(a, l)) return *i + 1 < argc ? argv[++*i] : NULL;
    if (!strncmp(a, l, ll) && a[ll] == '=') return a + ll + 1;
    if (s[0] && a[0] == '-' && a[1] == s[1] && a[1] != '-' && a[2]) return a + 2;
    return NULL;
}

static bool stat_is(const char *a, const char *s, const char *l) {
    return (s && !strcmp(a, s)) || (l && !strcmp(a, l));
}

static int stat_parse(int argc, char **argv, stat_opts *o) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (!strcmp(a, "--")) { if (i + 1 < argc) o->cmd = argv + i + 1; return 0; }
        if (a[0] != '-') { o->cmd = argv + i; return 0; }
        if (stat_is(a, "-h", "--help")) return stat_usage(stdout), 1;
        if (stat_is(a, "-a", "--all-cpus")) { o->all_cpus = true; continue; }
        if (stat_is(a, "-i", "--no-inherit")) { o->no_inherit = true; continue; }
        if (stat_is(a, NULL, "--json")) { o->json = true; continue; }
        if (stat_is(a, NULL, "--plan")) { o->plan = true; continue; }
        if (stat_is(a, NULL, "--per-thread")) { o->per_thread = true; continue; }
        if ((v = stat_arg(argc, argv, &i, "-e", "--event"))) {
            size_t len = strlen(o->events);
            if (len + strlen(v) + 2 > sizeof o->events) return fprintf(stderr, "kperf stat: event list too long\n"), -1;
            snprintf(o->events + len, sizeof o->events - len, "%s%s", len ? "," : "", v);
        } else if ((v = stat_arg(argc, argv, &i, "-p", "--pid"))) {
            if (stat_pids(v, &o->pids, &o->npids) < 0) return -1;
        } else if ((v = stat_arg(argc, argv, &i, "-t", "--tid"))) {
            if (stat_pids(v, &o->tids, &o->ntids) < 0) return -1;
        } else if ((v = stat_arg(argc, argv, &i, "-C", "--cpu"))) {
            if (kperf_cpulist_parse(v, &o->cpus, &o->ncpus) < 0 || !o->ncpus)
                return fprintf(stderr, "kperf stat: bad cpu list '%s': %s\n", v, kperf_errmsg()), -1;
        } else if ((v = stat_arg(argc, argv, &i, "-I", "--interval-print"))) {
            o->interval_ms = atol(v);
            if (o->interval_ms < 10) return fprintf(stderr, "kperf stat: -I needs at least 10 ms\n"), -1;
        } else if ((v = stat_arg(argc, argv, &i, "-x", "--field-separator"))) {
            o->sep = v;
        } else if ((v = stat_arg(argc, argv, &i, "-o", "--output"))) {
            o->out = v;
        } else if ((v = stat_arg(argc, argv, &i, "", "--sysfs"))) {
            o->sysfs = v;
        } else {
            fprintf(stderr, "kperf stat: unknown option '%s'\n", a);
            return stat_usage(stderr), -1;
        }
    }
    return 0;
}

/* perf stat's default events; hardware ones only where a core PMU exists. */
static void stat_default_events(stat_opts *o) {
    strcpy(o->events, "task-clock,context-switches,cpu-migrations,page-faults");
    kperf_pmus *pmus;
    if (kperf_pmus_open(&pmus, o->sysfs) < 0) return;
    for (size_t i = 0; i < kperf_pmus_count(pmus); i++)
        if (kperf_pmus_at(pmus, i)->is_core) {
            strcat(o->events, ",cycles,instructions,branches,branch-misses");
            break;
        }
    kperf_pmus_close(pmus);
}

static int stat_plan(const kperf_counter_desc *d) {
    kperf_plan *p;
    if (kperf_counter_plan(&p, d) < 0) return cli_fail("stat");
    char line[1024];
    for (size_t i = 0; i < p->nentries; i++) {
        kperf_plan_format(p, i, line, sizeof line);
        printf("%s\n", line);
    }
    kperf_plan_free(p);
    return 0;
}

static bool stat_is_clock(const char *name) {
    return !strncmp(name, "task-clock", 10) || !strncmp(name, "cpu-clock", 9);
}

/* The value as perf prints it: clocks in msec with two decimals, counts as integers. */
static void stat_value(const char *name, double v, const char *unit, char *buf, size_t size,
                       const char **u) {
    if (stat_is_clock(name)) {
        snprintf(buf, size, "%.2f", v / 1e6);
        *u = "msec";
    } else {
        snprintf(buf, size, unit && unit[0] ? "%.2f" : "%.0f", v);
        *u = unit ? unit : "";
    }
}

typedef struct stat_line {
    const char *name;
    const kperf_value *v;
    double value;       /* total or delta */
    char who[64];       /* --per-thread: comm-tid */
} stat_line;

static void stat_print_line(FILE *f, const stat_opts *o, const stat_line *l, const char *ts) {
    char val[64];
    const char *unit;
    bool nc = l->v->accuracy == KPERF_COUNT_NOT_COUNTED;
    stat_value(l->name, l->value, NULL, val, sizeof val, &unit);
    if (o->json) {
        fprintf(f, "{");
        if (ts[0]) fprintf(f, "\"interval\" : %s, ", ts);
        if (l->who[0]) fprintf(f, "\"thread\" : \"%s\", ", l->who);
        fprintf(f,
                "\"counter-value\" : \"%s\", \"unit\" : \"%s\", \"event\" : \"%s\", "
                "\"event-runtime\" : %llu, \"pcnt-running\" : %.2f}\n",
                nc ? "<not counted>" : val, unit, l->name, (unsigned long long)l->v->running,
                l->v->percent);
    } else if (o->sep) {
        const char *s = o->sep;
        if (ts[0]) fprintf(f, "%s%s", ts, s);
        if (l->who[0]) fprintf(f, "%s%s", l->who, s);
        fprintf(f, "%s%s%s%s%s%s%llu%s%.2f%s%s\n", nc ? "<not counted>" : val, s, unit, s, l->name,
                s, (unsigned long long)l->v->running, s, l->v->percent, s, s);
    } else {
        if (ts[0]) fprintf(f, "%16s ", ts);
        if (l->who[0]) fprintf(f, "%20s ", l->who);
        fprintf(f, "%18s %-8s %-32s", nc ? "<not counted>" : val, nc ? "" : unit, l->name);
        if (l->v->accuracy == KPERF_COUNT_SCALED) fprintf(f, " (%.2f%%)", l->v->percent);
        fprintf(f, "\n");
    }
}

static void stat_comm(pid_t pid, pid_t tid, char *buf, size_t size) {
    char path[64], comm[32] = "?";
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = 0;
        fclose(f);
    }
    snprintf(buf, size, "%s-%d", comm, (int)tid);
}

static void stat_print(FILE *f, const stat_opts *o, const kperf_counts *n, bool delta,
                       const char *ts) {
    if (!o->per_thread) {
        for (size_t i = 0; i < n->nevents; i++) {
            stat_line l = {n->events[i].name, &n->events[i].v,
                           delta ? n->events[i].v.delta : n->events[i].v.value, ""};
            stat_print_line(f, o, &l, ts);
        }
        return;
    }
    for (size_t r = 0; r < n->nrows; r++) {
        const kperf_count_row *row = &n->rows[r];
        stat_line l = {n->events[row->event].name, &row->v, delta ? row->v.delta : row->v.value, ""};
        if (row->tid > 0) stat_comm(row->pid, row->tid, l.who, sizeof l.who);
        else snprintf(l.who, sizeof l.who, "cpu%d", row->cpu);
        if (row->cpu >= 0 && row->tid > 0) {
            size_t len = strlen(l.who);
            snprintf(l.who + len, sizeof l.who - len, "/cpu%d", row->cpu);
        }
        stat_print_line(f, o, &l, ts);
    }
}

static double stat_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Forks the command stopped before exec; writing to *go lets it exec. */
static pid_t stat_fork(char **cmd, int *go) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        char x;
        close(p[1]);
        if (read(p[0], &x, 1) != 1) _exit(127); /* the parent gave up */
        execvp(cmd[0], cmd);
        fprintf(stderr, "kperf stat: cannot run '%s': %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    close(p[0]);
    *go = p[1];
    return pid;
}

/* True while something is left to wait for: the command, or attached targets alive. */
static bool stat_running(const stat_opts *o, pid_t child, int *status, struct rusage *ru) {
    if (stat_stop) return false;
    if (child > 0) return wait4(child, status, WNOHANG, ru) == 0;
    for (size_t i = 0; i < o->npids; i++)
        if (kill(o->pids[i], 0) == 0) return true;
    for (size_t i = 0; i < o->ntids; i++)
        if (kill(o->tids[i], 0) == 0) return true;
    return !o->npids && !o->ntids; /* -a / -C without a command: until Ctrl-C */
}

static void stat_header(FILE *f, const stat_opts *o) {
    if (o->sep || o->json) return;
    fprintf(f, "\n Performance counter stats for ");
    if (o->cmd) {
        fprintf(f, "'");
        for (char **a = o->cmd; *a; a++) fprintf(f, "%s%s", a == o->cmd ? "" : " ", *a);
        fprintf(f, "'");
    } else if (o->npids) {
        fprintf(f, "process id '%d%s'", (int)o->pids[0], o->npids > 1 ? ",..." : "");
    } else if (o->ntids) {
        fprintf(f, "thread id '%d%s'", (int)o->tids[0], o->ntids > 1 ? ",..." : "");
    } else {
        fprintf(f, "'%s'", o->all_cpus ? "system wide" : "CPU(s)");
    }
    fprintf(f, ":\n\n");
}

static int stat_run(stat_opts *o, kperf_counter_desc *d, FILE *f) {
    int go = -1, status = 0;
    pid_t child = -1;
    bool attach = o->npids || o->ntids || o->all_cpus || o->ncpus;
    if (o->cmd) {
        if ((child = stat_fork(o->cmd, &go)) < 0)
            return fprintf(stderr, "kperf stat: fork: %s\n", strerror(errno)), 1;
        if (!attach) d->pids = &child, d->npids = 1, d->enable_on_exec = true;
    }
    kperf_counter *c;
    if (kperf_counter_open(&c, d) < 0) {
        if (child > 0) close(go), waitpid(child, NULL, 0);
        return cli_fail("stat");
    }
    struct sigaction sa; /* no SA_RESTART (a blocked call returns); a second signal kills */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = stat_on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!d->enable_on_exec) kperf_counter_start(c);
    double t0 = stat_now(), next = t0 + (double)o->interval_ms / 1e3;
    if (child > 0 && write(go, "x", 1) != 1) kill(child, SIGKILL);
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    stat_header(f, o);
    kperf_counts n;
    while (stat_running(o, child, &status, &ru)) {
        usleep(o->interval_ms ? 1000 : 10000);
        if (o->interval_ms && stat_now() >= next) {
            char ts[32];
            snprintf(ts, sizeof ts, "%.9f", stat_now() - t0);
            if (kperf_counter_read(c, &n) == 0) stat_print(f, o, &n, true, ts);
            next += (double)o->interval_ms / 1e3;
        }
    }
    kperf_counter_stop(c);
    double elapsed = stat_now() - t0;
    int rc = kperf_counter_read(c, &n);
    if (rc == 0 && o->interval_ms) {
        char ts[32];
        snprintf(ts, sizeof ts, "%.9f", elapsed);
        stat_print(f, o, &n, true, ts);
    } else if (rc == 0) {
        stat_print(f, o, &n, false, "");
    }
    if (rc == 0 && !o->sep && !o->json) {
        fprintf(f, "\n %16.9f seconds time elapsed\n", elapsed);
        if (child > 0)
            fprintf(f, "\n %16.9f seconds user\n %16.9f seconds sys\n",
                    (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
                    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
        fprintf(f, "\n");
    }
    kperf_counter_close(c);
    if (go >= 0) close(go);
    if (rc < 0) return cli_fail("stat");
    if (child > 0) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return 0;
}

int cmd_stat(int argc, char **argv) {
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strncmp(argv[i], "-M", 2) || !strncmp(argv[i], "--metrics", 9))
            return cmd_stat_metrics(argc, argv);
    stat_opts o;
    memset(&o, 0, sizeof o);
    int rc = stat_parse(argc, argv, &o);
    if (rc) return rc < 0 ? 2 : 0;
    if (!o.events[0]) stat_default_events(&o);
    if (!o.cmd && !o.plan && !o.npids && !o.ntids && !o.all_cpus && !o.ncpus)
        return fprintf(stderr, "kperf stat: give a command, -p, -t, -a or -C\n"), stat_usage(stderr);
    kperf_perm pm;
    kperf_perm_read(&pm);
    kperf_counter_desc d;
    memset(&d, 0, sizeof d);
    d.events = o.events, d.sysfs_root = o.sysfs;
    d.pids = o.pids, d.npids = o.npids, d.tids = o.tids, d.ntids = o.ntids;
    d.cpus = o.cpus, d.ncpus = o.ncpus, d.all_cpus = o.all_cpus;
    d.inherit = !o.no_inherit, d.per_thread = o.per_thread;
    d.include_kernel = pm.kernel; /* like perf: kernel space too when allowed */
    if (o.plan) rc = stat_plan(&d);
    else {
        int ofd = o.out ? kperf_file_create(o.out, 0666) : -1; /* no planted symlink followed */
        FILE *f = !o.out ? stderr : ofd >= 0 ? fdopen(ofd, "w") : NULL;
        if (!f) return fprintf(stderr, "kperf stat: cannot write %s: %s\n", o.out, kperf_errmsg()), 1;
        rc = stat_run(&o, &d, f);
        if (o.out) fclose(f);
    }
    free(o.pids), free(o.tids);
    kperf_cpulist_free(o.cpus);
    return rc;
}
