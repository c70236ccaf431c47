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
#include <math.h>
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
    const char *sysfs;  /* --sysfs */
    bool json, plan, no_inherit, per_thread;
    long interval_ms, repeat;
    cli_args a;         /* -p -t -C -a -d -o, and the command */
} stat_opts;

static volatile sig_atomic_t stat_stop;
static void stat_on_signal(int sig) { (void)sig, stat_stop = 1; }

enum { STAT_JSON = CLI_LONG_ONLY, STAT_PLAN, STAT_PER_THREAD, STAT_SYSFS };

static const cli_opt stat_opt_table[] = {
    {'e', "event", "EVENTS", "event spec as perf takes it (repeatable)"},
    {'I', "interval-print", "MS", "print deltas every MS milliseconds (>= 10)"},
    {'x', "field-separator", "SEP", "CSV: value,unit,event,run time,percent,metric,unit"},
    {'r', "repeat", "N", "run the command N times; print means and their variation"},
    {'i', "no-inherit", NULL, "do not count children of the command"},
    {STAT_JSON, "json", NULL, "one JSON object per counter"},
    {STAT_PER_THREAD, "per-thread", NULL, "one line per thread, with its comm"},
    {STAT_PLAN, "plan", NULL, "print every perf_event_attr that would be opened; open nothing"},
    {STAT_SYSFS, "sysfs", "ROOT", "read PMUs from ROOT/sys (fake trees, with --plan)"},
    {'M', "metrics", "METRICS", "device metrics (see kperf list --metrics)"},
    {0, NULL, NULL, NULL}};

static const cli_cmd stat_cmd = {
    "stat", "[options] [-- COMMAND [ARGS...]]",
    "Counts events of a command, processes, threads or CPUs, like perf stat.",
    stat_opt_table, CLI_TARGETS | CLI_TID | CLI_DURATION | CLI_OUTPUT,
    "The table goes to stderr (or -o FILE). With -p/-t/-a/-C, a command only sets the\n"
    "duration; without one, Ctrl-C (or -d SECS) stops. `kperf stat -M METRICS` measures\n"
    "device metrics instead (`kperf stat -M x --help`).\n"};

static int stat_opt(int key, const char *v, void *user) {
    stat_opts *o = (stat_opts *)user;
    switch (key) {
    case 'e': {
        size_t len = strlen(o->events);
        if (len + strlen(v) + 2 > sizeof o->events)
            return fprintf(stderr, "kperf stat: event list too long\n"), -1;
        snprintf(o->events + len, sizeof o->events - len, "%s%s", len ? "," : "", v);
        return 0;
    }
    case 'I': return cli_parse_long("stat", "-I/--interval-print", v, 10, 86400000, &o->interval_ms);
    case 'r': return cli_parse_long("stat", "-r/--repeat", v, 1, 100000, &o->repeat);
    case 'x': o->sep = v; return 0;
    case 'i': o->no_inherit = true; return 0;
    case STAT_JSON: o->json = true; return 0;
    case STAT_PER_THREAD: o->per_thread = true; return 0;
    case STAT_PLAN: o->plan = true; return 0;
    case STAT_SYSFS: o->sysfs = v; return 0;
    }
    return 1;
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

static double stat_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
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
    uint64_t running;   /* ns on the PMU, in this interval with -I */
    char who[64];       /* --per-thread: comm-tid */
    double metric;      /* derived value (CPUs utilized, IPC, miss ratio), NaN when none */
    const char *metric_unit;
    double variance;    /* -r: relative standard error of the mean in %, or < 0 */
} stat_line;

static void stat_print_line(FILE *f, const stat_opts *o, const stat_line *l, const char *ts) {
    char val[64];
    const char *unit;
    bool nc = l->v->accuracy == KPERF_COUNT_NOT_COUNTED;
    bool m = l->metric == l->metric;
    stat_value(l->name, l->value, NULL, val, sizeof val, &unit);
    if (o->json) {
        fprintf(f, "{");
        if (ts[0]) fprintf(f, "\"interval\" : %s, ", ts);
        if (l->who[0]) fprintf(f, "\"thread\" : \"%s\", ", l->who);
        fprintf(f, "\"counter-value\" : \"%s\", \"unit\" : \"%s\", \"event\" : \"%s\", ",
                nc ? "<not counted>" : val, unit, l->name);
        if (l->variance >= 0) fprintf(f, "\"variance\" : %.2f, ", l->variance);
        fprintf(f, "\"event-runtime\" : %llu, \"pcnt-running\" : %.2f",
                (unsigned long long)l->running, l->v->percent);
        if (m) fprintf(f, ", \"metric-value\" : \"%f\", \"metric-unit\" : \"%s\"", l->metric,
                       l->metric_unit);
        fprintf(f, "}\n");
    } else if (o->sep) {
        const char *s = o->sep;
        if (ts[0]) fprintf(f, "%s%s", ts, s);
        if (l->who[0]) fprintf(f, "%s%s", l->who, s);
        fprintf(f, "%s%s%s%s%s", nc ? "<not counted>" : val, s, unit, s, l->name);
        if (l->variance >= 0) fprintf(f, "%s%.2f%%", s, l->variance);
        fprintf(f, "%s%llu%s%.2f%s", s, (unsigned long long)l->running, s, l->v->percent, s);
        if (m) fprintf(f, "%.3f%s%s", l->metric, s, l->metric_unit);
        else fprintf(f, "%s", s);
        fprintf(f, "\n");
    } else {
        if (ts[0]) fprintf(f, "%16s ", ts);
        if (l->who[0]) fprintf(f, "%20s ", l->who);
        fprintf(f, "%18s %-4s %-32s", nc ? "<not counted>" : val, nc ? "" : unit, l->name);
        if (m) fprintf(f, " # %8.3f %-18s", l->metric, l->metric_unit);
        if (l->variance >= 0) fprintf(f, " ( +- %5.2f%% )", l->variance);
        if (l->v->accuracy == KPERF_COUNT_SCALED) fprintf(f, " (%.2f%%)", l->v->percent);
        fprintf(f, "\n");
    }
}

/* The value of the first event named @p name, or NaN. */
static double stat_find(const char *const *names, const double *vals, size_t n,
                        const char *name) {
    size_t l = strlen(name);
    for (size_t i = 0; i < n; i++)
        if (!strncmp(names[i], name, l) && (!names[i][l] || names[i][l] == ':')) return vals[i];
    return NAN;
}

/* perf's derived column for event @p i: CPUs utilized for clocks (over @p wall_ns), insn
 * per cycle, branch and cache miss ratios when their base events are counted too. */
static void stat_derive(stat_line *l, const char *const *names, const double *vals, size_t n,
                        double wall_ns) {
    l->metric = NAN, l->metric_unit = "";
    double base;
    if (!strncmp(l->name, "task-clock", 10) && wall_ns > 0)
        l->metric = l->value / wall_ns, l->metric_unit = "CPUs utilized";
    else if (!strncmp(l->name, "instructions", 12) &&
             (base = stat_find(names, vals, n, "cycles")) > 0)
        l->metric = l->value / base, l->metric_unit = "insn per cycle";
    else if (!strncmp(l->name, "branch-misses", 13) &&
             (base = stat_find(names, vals, n, "branches")) > 0)
        l->metric = 100.0 * l->value / base, l->metric_unit = "of all branches";
    else if (!strncmp(l->name, "cache-misses", 12) &&
             (base = stat_find(names, vals, n, "cache-references")) > 0)
        l->metric = 100.0 * l->value / base, l->metric_unit = "of all cache refs";
    else if (!stat_is_clock(l->name) && (base = stat_find(names, vals, n, "task-clock")) > 0) {
        if (!strncmp(l->name, "cycles", 6) && (!l->name[6] || l->name[6] == ':')) {
            l->metric = l->value / base, l->metric_unit = "GHz"; /* per ns of task-clock */
            return;
        }
        double r = l->value / (base / 1e9); /* events per second of task-clock, as perf */
        l->metric = r >= 1e9 ? r / 1e9 : r >= 1e6 ? r / 1e6 : r >= 1e3 ? r / 1e3 : r;
        l->metric_unit = r >= 1e9 ? "G/sec" : r >= 1e6 ? "M/sec" : r >= 1e3 ? "K/sec" : "/sec";
    }
}

/* A thread's name: from /proc while the thread lives, else its process's (a zombie
 * command is not reaped before the table). */
static void stat_comm(pid_t pid, pid_t tid, char *buf, size_t size) {
    char path[64], comm[32] = "?";
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
        f = fopen(path, "r");
    }
    if (f) {
        if (fgets(comm, sizeof comm, f)) comm[strcspn(comm, "\n")] = 0;
        fclose(f);
    }
    snprintf(buf, size, "%s-%d", comm, (int)tid);
}

#define STAT_MAXEV 64
typedef struct stat_intervals {
    uint64_t running[STAT_MAXEV]; /* the previous read's running time, per event */
    uint64_t *row_running;        /* --per-thread: the previous read's, per row */
    size_t nrows;
} stat_intervals;

/* The running time of row @p r since the previous interval (all of it without -I). */
static uint64_t stat_row_running(stat_intervals *iv, size_t r, uint64_t running) {
    if (!iv || r >= iv->nrows) return running;
    uint64_t d = running - iv->row_running[r];
    iv->row_running[r] = running;
    return d;
}

/* --per-thread: one line per event and thread (a thread's per-CPU rows summed), or per
 * CPU for CPU-wide rows. */
static void stat_print_threads(FILE *f, const stat_opts *o, const kperf_counts *n,
                               stat_intervals *iv, const char *ts) {
    bool delta = iv != NULL;
    bool *done = (bool *)calloc(n->nrows + 1, sizeof *done);
    if (!done) return;
    if (iv && iv->nrows < n->nrows) { /* rows keep their index from one read to the next */
        uint64_t *nr = (uint64_t *)realloc(iv->row_running, n->nrows * sizeof *nr);
        if (!nr) return free(done);
        memset(nr + iv->nrows, 0, (n->nrows - iv->nrows) * sizeof *nr);
        iv->row_running = nr, iv->nrows = n->nrows;
    }
    for (size_t e = 0; e < n->nevents; e++)
        for (size_t r = 0; r < n->nrows; r++) {
            const kperf_count_row *row = &n->rows[r];
            if (done[r] || row->event != (int)e) continue;
            kperf_value v = row->v;
            double value = delta ? row->v.delta : row->v.value;
            uint64_t running = stat_row_running(iv, r, row->v.running);
            for (size_t q = r + 1; q < n->nrows; q++) {
                const kperf_count_row *x = &n->rows[q];
                bool same = x->event == row->event &&
                            (row->tid > 0 ? x->tid == row->tid : x->tid <= 0 && x->cpu == row->cpu);
                if (!same || done[q]) continue;
                done[q] = true;
                v.running += x->v.running, v.enabled += x->v.enabled, v.raw += x->v.raw;
                value += delta ? x->v.delta : x->v.value;
                /* each CPU's row of a thread has the thread's time as its run time (it
                 * is not multiplexed: kperf__fd_task_on_cpu), so the rows' largest is it */
                uint64_t rx = stat_row_running(iv, q, x->v.running);
                if (rx > running) running = rx;
            }
            stat_line l;
            memset(&l, 0, sizeof l);
            l.name = n->events[e].name, l.v = &v, l.value = value, l.running = running;
            l.metric = NAN, l.metric_unit = "", l.variance = -1;
            if (row->tid > 0) stat_comm(row->pid, row->tid, l.who, sizeof l.who);
            else snprintf(l.who, sizeof l.who, "cpu%d", row->cpu);
            stat_print_line(f, o, &l, ts);
        }
    free(done);
}

/* Prints a read: totals (@p iv NULL: values since the start, derived over @p wall_s) or
 * interval deltas (@p iv: run times per interval too). */
static void stat_print(FILE *f, const stat_opts *o, const kperf_counts *n, stat_intervals *iv,
                       const char *ts, double wall_s) {
    if (o->per_thread) return stat_print_threads(f, o, n, iv, ts);
    const char *names[STAT_MAXEV];
    double vals[STAT_MAXEV];
    size_t ne = n->nevents < STAT_MAXEV ? n->nevents : STAT_MAXEV;
    for (size_t i = 0; i < ne; i++)
        names[i] = n->events[i].name, vals[i] = iv ? n->events[i].v.delta : n->events[i].v.value;
    double wall_ns = iv ? (double)n->interval_ns : wall_s * 1e9;
    for (size_t i = 0; i < ne; i++) {
        stat_line l;
        memset(&l, 0, sizeof l);
        l.name = n->events[i].name, l.v = &n->events[i].v, l.value = vals[i];
        l.running = n->events[i].v.running;
        l.variance = -1;
        if (iv) l.running -= iv->running[i], iv->running[i] = n->events[i].v.running;
        stat_derive(&l, names, vals, ne, wall_ns);
        stat_print_line(f, o, &l, ts);
    }
}

/* -r: the runs' sums, per event (names copied: each run has its own counter). */
typedef struct stat_rep {
    char names[STAT_MAXEV][128];
    double sum[STAT_MAXEV], sq[STAT_MAXEV];
    uint64_t running[STAT_MAXEV];
    size_t nevents, runs;
    double el_sum, el_sq;
    kperf_accuracy acc[STAT_MAXEV];
} stat_rep;

static void stat_rep_add(stat_rep *r, const kperf_counts *n, double elapsed) {
    r->nevents = n->nevents < STAT_MAXEV ? n->nevents : STAT_MAXEV;
    for (size_t i = 0; i < r->nevents; i++) {
        snprintf(r->names[i], sizeof r->names[i], "%s", n->events[i].name);
        double v = n->events[i].v.value;
        r->sum[i] += v, r->sq[i] += v * v, r->running[i] += n->events[i].v.running;
        if (!r->runs || n->events[i].v.accuracy > r->acc[i]) r->acc[i] = n->events[i].v.accuracy;
    }
    r->el_sum += elapsed, r->el_sq += elapsed * elapsed;
    r->runs++;
}

/* Standard error of the mean of @p n values with sum @p sum and sum of squares @p sq. */
static double stat_sem(double sum, double sq, size_t n) {
    if (n < 2) return 0;
    double mean = sum / (double)n, var = (sq - (double)n * mean * mean) / (double)(n - 1);
    return var > 0 ? sqrt(var / (double)n) : 0;
}

static void stat_rep_print(FILE *f, const stat_opts *o, const stat_rep *r) {
    const char *names[STAT_MAXEV];
    double means[STAT_MAXEV];
    for (size_t i = 0; i < r->nevents; i++)
        names[i] = r->names[i], means[i] = r->sum[i] / (double)r->runs;
    double wall_ns = r->el_sum / (double)r->runs * 1e9;
    for (size_t i = 0; i < r->nevents; i++) {
        kperf_value v;
        memset(&v, 0, sizeof v);
        v.accuracy = r->acc[i], v.percent = r->acc[i] == KPERF_COUNT_NOT_COUNTED ? 0 : 100;
        stat_line l;
        memset(&l, 0, sizeof l);
        l.name = names[i], l.v = &v, l.value = means[i];
        l.running = r->running[i] / r->runs;
        double sem = stat_sem(r->sum[i], r->sq[i], r->runs);
        l.variance = means[i] > 0 ? 100.0 * sem / means[i] : 0;
        stat_derive(&l, names, means, r->nevents, wall_ns);
        stat_print_line(f, o, &l, "");
    }
}

/* True while something is left to wait for: the command, or attached targets alive. The
 * command is not reaped here (WNOWAIT): its threads' names stay readable for the table. */
static bool stat_running(const stat_opts *o, pid_t child, double t0) {
    if (stat_stop || (o->a.duration > 0 && stat_now() - t0 >= o->a.duration)) return false;
    if (child > 0) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        return waitid(P_PID, (id_t)child, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == 0;
    }
    for (size_t i = 0; i < o->a.npids; i++)
        if (kill(o->a.pids[i], 0) == 0) return true;
    for (size_t i = 0; i < o->a.ntids; i++)
        if (kill(o->a.tids[i], 0) == 0) return true;
    return !o->a.npids && !o->a.ntids; /* -a / -C without a command: until Ctrl-C or -d */
}

/* "0-3,8" from a CPU array. */
static void stat_cpulist(const int *c, size_t n, char *buf, size_t size) {
    size_t k = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && k + 24 < size;) {
        size_t j = i;
        while (j + 1 < n && c[j + 1] == c[j] + 1) j++;
        k += (size_t)snprintf(buf + k, size - k, j > i ? "%s%d-%d" : "%s%d", k ? "," : "", c[i],
                              c[j]);
        i = j + 1;
    }
}

/* perf's header: the target as perf names it. */
static void stat_header(FILE *f, const stat_opts *o) {
    if (o->sep || o->json) return;
    fprintf(f, "\n Performance counter stats for ");
    if (o->a.all_cpus) {
        fprintf(f, "'system wide'");
    } else if (o->a.ncpus) {
        char l[256];
        stat_cpulist(o->a.cpus, o->a.ncpus, l, sizeof l);
        fprintf(f, "'CPU(s) %s'", l);
    } else if (o->a.npids || o->a.ntids) {
        fprintf(f, "%s id '", o->a.npids ? "process" : "thread");
        const pid_t *v = o->a.npids ? o->a.pids : o->a.tids;
        size_t n = o->a.npids ? o->a.npids : o->a.ntids;
        for (size_t i = 0; i < n; i++) fprintf(f, "%s%d", i ? "," : "", (int)v[i]);
        fprintf(f, "'");
    } else if (o->a.rest) {
        fprintf(f, "'");
        for (char **a = o->a.rest; *a; a++) fprintf(f, "%s%s", a == o->a.rest ? "" : " ", *a);
        fprintf(f, "'");
    }
    if (o->repeat > 1) fprintf(f, " (%ld runs)", o->repeat);
    fprintf(f, ":\n\n");
}

/* One run: counts until the command (or the targets, or -d) ends. Returns the command's
 * exit status, 127 when it could not start (said once, no table), 1 on an error. With
 * @p rep (repeat), the run's totals are added there instead of being printed. */
static int stat_run(stat_opts *o, kperf_counter_desc *d, FILE *f, stat_rep *rep) {
    bool attach = o->a.npids || o->a.ntids || o->a.all_cpus || o->a.ncpus;
    cli_child cc = {0, -1, -1, false};
    if (o->a.rest) {
        if (cli_spawn(o->a.rest, &cc) < 0)
            return fprintf(stderr, "kperf stat: fork: %s\n", strerror(errno)), 1;
        if (!attach) d->pids = &cc.pid, d->npids = 1, d->enable_on_exec = true;
    }
    kperf_counter *c;
    if (kperf_counter_open(&c, d) < 0) {
        if (cc.pid > 0) cli_spawn_go(&cc, false);
        return cli_fail("stat");
    }
    cli_catch_stop(stat_on_signal, true); /* a second Ctrl-C kills */
    if (!d->enable_on_exec) kperf_counter_start(c);
    double t0 = stat_now(), next = t0 + (double)o->interval_ms / 1e3;
    if (cc.pid > 0) {
        int e = cli_spawn_go(&cc, true);
        if (e) {
            waitpid(cc.pid, NULL, 0);
            kperf_counter_close(c);
            return cli_cannot_run("stat", o->a.rest[0], e);
        }
    }
    if (!rep) stat_header(f, o);
    stat_intervals iv;
    memset(&iv, 0, sizeof iv);
    kperf_counts n;
    while (stat_running(o, cc.pid, t0)) {
        usleep(o->interval_ms ? 1000 : 10000);
        if (o->interval_ms && stat_now() >= next) {
            char ts[32];
            snprintf(ts, sizeof ts, "%.9f", stat_now() - t0);
            if (kperf_counter_read(c, &n) == 0) stat_print(f, o, &n, &iv, ts, 0);
            next += (double)o->interval_ms / 1e3;
        }
    }
    kperf_counter_stop(c);
    double elapsed = stat_now() - t0;
    int rc = kperf_counter_read(c, &n);
    if (rc == 0 && o->interval_ms) {
        char ts[32];
        snprintf(ts, sizeof ts, "%.9f", elapsed);
        stat_print(f, o, &n, &iv, ts, 0);
    } else if (rc == 0 && rep) {
        stat_rep_add(rep, &n, elapsed);
    } else if (rc == 0) {
        stat_print(f, o, &n, NULL, "", elapsed);
    }
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    int status = 0;
    if (cc.pid > 0) {
        if (!stat_stop || waitpid(cc.pid, &status, WNOHANG) != cc.pid) { /* reap it */
            if (stat_stop) kill(cc.pid, SIGTERM); /* SIGINT is ignored by background jobs */
            wait4(cc.pid, &status, 0, &ru);
        }
    }
    if (rc == 0 && !rep && !o->sep && !o->json) {
        fprintf(f, "\n %16.9f seconds time elapsed\n", elapsed);
        if (cc.pid > 0)
            fprintf(f, "\n %16.9f seconds user\n %16.9f seconds sys\n",
                    (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
                    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
        fprintf(f, "\n");
    }
    kperf_counter_close(c);
    free(iv.row_running);
    if (rc < 0) return cli_fail("stat");
    return cc.pid > 0 ? cli_exit_status(status) : 0;
}

/* -r N: runs the command N times, then prints each event's mean with the relative standard
 * error of that mean, as perf stat prints it: "( +-  1.23% )". */
static int stat_repeat(stat_opts *o, kperf_counter_desc *d, FILE *f) {
    stat_rep rep;
    memset(&rep, 0, sizeof rep);
    int rc = 0;
    for (long i = 0; i < o->repeat && !stat_stop; i++) {
        kperf_counter_desc di = *d;
        rc = stat_run(o, &di, f, &rep);
        if (rc == 127 || (rc == 1 && !rep.runs)) return rc;
    }
    if (!rep.runs) return rc;
    stat_header(f, o);
    stat_rep_print(f, o, &rep);
    if (!o->sep && !o->json) {
        double m = rep.el_sum / (double)rep.runs;
        fprintf(f, "\n %16.9f +- %.9f seconds time elapsed  ( +- %5.2f%% )\n\n", m,
                stat_sem(rep.el_sum, rep.el_sq, rep.runs), m > 0 ? 100.0 * stat_sem(rep.el_sum, rep.el_sq, rep.runs) / m : 0.0);
    }
    return rc;
}

int cmd_stat(int argc, char **argv) {
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strncmp(argv[i], "-M", 2) || !strncmp(argv[i], "--metrics", 9))
            return cmd_stat_metrics(argc, argv);
    static stat_opts o;
    memset(&o, 0, sizeof o);
    int rc = cli_parse(&stat_cmd, argc, argv, &o.a, stat_opt, &o);
    if (rc != CLI_OK) return rc == CLI_HELP ? 0 : 2;
    if (!o.events[0]) stat_default_events(&o);
    bool targets = o.a.npids || o.a.ntids || o.a.all_cpus || o.a.ncpus;
    if (!o.a.rest && !o.plan && !targets)
        return cli_args_free(&o.a), cli_usage_error("stat", "give a command, -p, -t, -a or -C");
    if (o.repeat > 1 && (!o.a.rest || o.interval_ms || o.per_thread))
        return cli_args_free(&o.a), cli_usage_error("stat", "-r repeats a command (and not with "
                                                    "-I or --per-thread)");
    if (o.json && o.sep)
        return cli_args_free(&o.a), cli_usage_error("stat", "-x and --json are two output "
                                                    "formats: give one");
    kperf_perm pm;
    kperf_perm_read(&pm);
    kperf_counter_desc d;
    memset(&d, 0, sizeof d);
    d.events = o.events, d.sysfs_root = o.sysfs;
    d.pids = o.a.pids, d.npids = o.a.npids, d.tids = o.a.tids, d.ntids = o.a.ntids;
    d.cpus = o.a.cpus, d.ncpus = o.a.ncpus, d.all_cpus = o.a.all_cpus;
    d.inherit = !o.no_inherit, d.per_thread = o.per_thread;
    d.include_kernel = pm.kernel; /* like perf: kernel space too when allowed */
    if (o.plan) rc = stat_plan(&d);
    else {
        FILE *f = cli_output("stat", o.a.output, stderr);
        if (!f) return cli_args_free(&o.a), 1;
        rc = o.repeat > 1 ? stat_repeat(&o, &d, f) : stat_run(&o, &d, f, NULL);
        if (o.a.output) fclose(f);
    }
    cli_args_free(&o.a);
    return rc;
}
