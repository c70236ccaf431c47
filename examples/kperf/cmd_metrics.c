/* kperf stat -M METRIC[,METRIC] [-e UNCORE_EVENT] [-I ms] [--bdf B] [--plan] [--sysfs ROOT]
 *            [-a] [-- cmd ...]
 * kperf list --metrics [--all] [--sysfs ROOT]
 * Device (uncore) metrics over the >>device section of kperf.h: DDR, L3, PCIe, SMMU and HHA
 * bandwidth, latency and traffic shares, measured system-wide on the CPUs of each uncore
 * PMU's cpumask. `--plan` prints the events behind the metrics without opening them. */
#include "kperf_cli.h"
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *mode_name(kperf_metric_mode m) {
    static const char *const names[] = {"total",       "per-core", "per-cluster", "per-numa",
                                        "per-channel", "per-bdf",  "per-port",    "per-pmu"};
    return (unsigned)m < sizeof names / sizeof names[0] ? names[m] : "?";
}

enum { MET_BDF = CLI_LONG_ONLY, MET_SYSFS, MET_PLAN };

static const cli_opt met_opts[] = {
    {'M', "metrics", "METRICS", "device metrics, comma list (see kperf list --metrics)"},
    {'e', "event", "EVENT", "raw uncore events (pmu/terms/; no instance number = every one)"},
    {'I', "interval-print", "MS", "print every MS milliseconds (>= 10)"},
    {MET_BDF, "bdf", "BDF", "the PCIe/SMMU device (default: every device)"},
    {MET_PLAN, "plan", NULL, "print the events behind the metrics; open nothing"},
    {MET_SYSFS, "sysfs", "ROOT", "read PMUs from ROOT/sys (fake trees, with --plan)"},
    {0, NULL, NULL, NULL}};

static const cli_cmd met_cmd = {
    "stat", "-M METRICS [options] [-- COMMAND [ARGS...]]",
    "Measures device metrics system-wide (DDR, L3, PCIe, SMMU, HHA), until the command exits\n"
    "or Ctrl-C (or -d SECS).",
    met_opts, CLI_ALL | CLI_CMD | CLI_DURATION, NULL};

typedef struct stat_opts {
    char metrics[1024], events[1024];
    const char *bdf, *root;
    long interval_ms;
    double duration;
    bool plan;
    char **cmd;
} stat_opts;

static void append(char *dst, size_t size, const char *s) {
    size_t l = strlen(dst);
    snprintf(dst + l, size - l, "%s%s", l ? "," : "", s);
}

static int met_opt(int key, const char *v, void *user) {
    stat_opts *o = (stat_opts *)user;
    switch (key) {
    case 'M': append(o->metrics, sizeof o->metrics, v); return 0;
    case 'e': append(o->events, sizeof o->events, v); return 0;
    case 'I': return cli_parse_long("stat", "-I/--interval-print", v, 10, 86400000, &o->interval_ms);
    case MET_BDF: o->bdf = v; return 0;
    case MET_SYSFS: o->root = v; return 0;
    case MET_PLAN: o->plan = true; return 0;
    }
    return 1;
}

/* Parses the options; returns -1 to go on, else an exit status. */
static int stat_parse(int argc, char **argv, stat_opts *o) {
    memset(o, 0, sizeof *o);
    cli_args ca;
    int prc = cli_parse(&met_cmd, argc, argv, &ca, met_opt, o);
    if (prc != CLI_OK) return prc == CLI_HELP ? 0 : 2;
    o->cmd = ca.rest, o->duration = ca.duration;
    cli_args_free(&ca);
    return -1;
}

/* The plan lines, in the format of the counting section's plan:
 * event=<spec> pmu=<name> type=<n> config=0x.. config1=0x.. config2=0x.. cpu=<n> pid=-1
 * leader=<spec>, after a "# ITEM: mode, unit" header for each metric. */
static void print_plan(const kperf_device *d) {
    for (size_t it = 0; it < kperf_device_nitems(d); it++) {
        const char *name, *unit;
        kperf_metric_mode mode;
        kperf_device_item(d, it, &name, &unit, &mode);
        printf("# %s: %s%s%s\n", name, mode_name(mode), *unit ? ", " : "", unit);
        for (size_t i = 0; i < kperf_device_nevents(d); i++) {
            const kperf_device_event *e = kperf_device_event_at(d, i);
            if (e->item != (int)it) continue;
            printf("event=%s pmu=%s type=%u config=0x%llx config1=0x%llx config2=0x%llx cpu=%d "
                   "pid=-1 leader=%s\n",
                   e->spec, e->pmu, e->type, (unsigned long long)e->config[0],
                   (unsigned long long)e->config[1], (unsigned long long)e->config[2], e->cpu,
                   kperf_device_event_at(d, (size_t)e->leader)->spec);
        }
    }
}

static void print_values(const kperf_metric_value *v, int n, double t) {
    for (int i = 0; i < n; i++) {
        char val[48], node[16] = "";
        if (!v[i].counted) snprintf(val, sizeof val, "<not counted>");
        else if (v[i].value != v[i].value) snprintf(val, sizeof val, "-");
        else snprintf(val, sizeof val, "%.2f", v[i].value);
        if (v[i].numa >= 0 && v[i].mode != KPERF_METRIC_PER_NUMA)
            snprintf(node, sizeof node, "node%d", v[i].numa);
        if (t >= 0) printf("%10.3f ", t);
        printf("%-18s %-32s %-7s %16s %s%s\n", v[i].name, v[i].where, node, val, v[i].unit,
               v[i].scaled ? "  (scaled)" : "");
    }
}

static volatile sig_atomic_t stop_flag;
static void on_signal(int sig) { (void)sig, stop_flag = 1; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Reads, subtracts the previous reading, computes and prints one report. */
static int report(kperf_device *d, kperf_device_count *prev, kperf_device_count *cur, double span,
                  double t) {
    size_t n = kperf_device_nevents(d);
    if (kperf_device_read(d, cur) < 0) return cli_fail("stat");
    kperf_device_count *delta = (kperf_device_count *)calloc(n ? n : 1, sizeof *delta);
    if (!delta) return 1;
    for (size_t i = 0; i < n; i++) {
        delta[i].value = cur[i].value - prev[i].value;
        delta[i].time_enabled = cur[i].time_enabled - prev[i].time_enabled;
        delta[i].time_running = cur[i].time_running - prev[i].time_running;
    }
    memcpy(prev, cur, n * sizeof *cur);
    uint64_t ns = span > 0 ? (uint64_t)(span * 1e9) : 1;
    int nv = kperf_device_compute(d, delta, ns, NULL, 0);
    kperf_metric_value *v = nv > 0 ? (kperf_metric_value *)calloc((size_t)nv, sizeof *v) : NULL;
    if (v) nv = kperf_device_compute(d, delta, ns, v, (size_t)nv);
    free(delta);
    if (nv < 0 || !v) return free(v), cli_fail("stat");
    print_values(v, nv, t);
    free(v);
    fflush(stdout);
    return 0;
}

/* The command, through the tool's one launcher; -1 (said once) when it cannot run. */
static pid_t start_command(char **cmd) {
    cli_child cc = {0, -1, -1, false};
    if (cli_spawn(cmd, &cc) < 0) return fprintf(stderr, "kperf stat: fork: %s\n", strerror(errno)), -1;
    int e = cli_spawn_go(&cc, true);
    if (!e) return cc.pid;
    waitpid(cc.pid, NULL, 0);
    cli_cannot_run("stat", cmd[0], e);
    return -1;
}

/* Counts until the command exits (or Ctrl-C), printing every interval or once at the end. */
static int stat_run(kperf_device *d, const stat_opts *o) {
    size_t n = kperf_device_nevents(d);
    kperf_device_count *prev = (kperf_device_count *)calloc(n ? n : 1, sizeof *prev);
    kperf_device_count *cur = (kperf_device_count *)calloc(n ? n : 1, sizeof *cur);
    if (!prev || !cur) return free(prev), free(cur), 1;
    cli_catch_stop(on_signal, true); /* a second Ctrl-C kills */
    int rc = kperf_device_start(d) < 0 ? cli_fail("stat") : 0, status = 0;
    double t0 = now_s(), last = t0;
    pid_t child = rc == 0 && o->cmd ? start_command(o->cmd) : -1;
    if (rc == 0 && o->cmd && child < 0) rc = 127, stop_flag = 1;
    while (rc == 0 && !stop_flag) {
        long ms = o->interval_ms ? o->interval_ms : 100;
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        if (child > 0 && waitpid(child, &status, WNOHANG) == child) child = -1, stop_flag = 1;
        if (o->duration > 0 && now_s() - t0 >= o->duration) stop_flag = 1; /* -d SECS */
        if (o->interval_ms && (now_s() - last) * 1000 >= (double)o->interval_ms * 0.999) {
            double t = now_s();
            rc = report(d, prev, cur, t - last, t - t0);
            last = t;
        }
    }
    if (child > 0) kill(child, SIGTERM), waitpid(child, &status, 0); /* -d or a signal */
    kperf_device_stop(d);
    if (rc == 0 && !o->interval_ms) {
        printf("# device metrics, system-wide, %.3f s\n", now_s() - t0);
        rc = report(d, prev, cur, now_s() - t0, -1);
    }
    free(prev), free(cur);
    if (rc == 0 && o->cmd && WIFEXITED(status)) rc = WEXITSTATUS(status);
    return rc;
}

int cmd_stat_metrics(int argc, char **argv) {
    stat_opts o;
    int st = stat_parse(argc, argv, &o);
    if (st >= 0) return st;
    if (!o.metrics[0] && !o.events[0]) return cli_usage_error("stat", "-M needs metrics");
    kperf_device_desc desc = {.metrics = o.metrics[0] ? o.metrics : NULL,
                              .events = o.events[0] ? o.events : NULL,
                              .bdf = o.bdf,
                              .root = o.root};
    kperf_device *d = NULL;
    int rc = o.plan ? kperf_device_plan(&d, &desc) : kperf_device_open(&d, &desc);
    if (rc < 0) return cli_fail("stat");
    if (o.plan) print_plan(d);
    else rc = stat_run(d, &o);
    kperf_device_close(d);
    return rc;
}

/* One line per metric: name, unit, grouping, PMU instances, description. */
static void list_metric(const kperf_pmus *pmus, const kperf_metric_info *m, bool all) {
    if (kperf_metric_check(pmus, m->name) < 0) {
        if (all) printf("%-18s %-7s %-12s not supported: %s\n", m->name, m->unit, "-", kperf_errmsg());
        return;
    }
    kperf_device_desc desc = {.metrics = m->name, .pmus = pmus};
    kperf_device *d = NULL;
    if (kperf_device_plan(&d, &desc) < 0) {
        printf("%-18s %-7s %-12s %s (%s)\n", m->name, m->unit, "-", m->brief, kperf_errmsg());
        return;
    }
    kperf_metric_mode mode;
    kperf_device_item(d, 0, NULL, NULL, &mode);
    size_t npmu = 0;
    const char *first = "";
    for (size_t i = 0; i < kperf_device_nevents(d); i++) {
        const kperf_device_event *e = kperf_device_event_at(d, i);
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) seen = !strcmp(kperf_device_event_at(d, j)->pmu, e->pmu);
        if (!seen && !npmu++) first = e->pmu;
    }
    char pmu[96];
    snprintf(pmu, sizeof pmu, "%s%s", first, npmu > 1 ? " ..." : "");
    printf("%-18s %-7s %-12s %-24s %zu PMU%s  %s\n", m->name, m->unit, mode_name(mode), pmu, npmu,
           npmu == 1 ? " " : "s", m->brief);
    kperf_device_close(d);
}

static void list_bdfs(const kperf_pmus *pmus, kperf_bdf_type type, const char *label) {
    char **l = NULL;
    int n = kperf_device_bdf_list(pmus, type, &l);
    printf("# %s devices (--bdf):", label);
    for (int i = 0; i < n; i++) printf(" %s", l[i]);
    printf("%s\n", n > 0 ? "" : " none");
    kperf_device_bdf_list_free(l);
}

int cmd_list_metrics(const char *root, bool all) {
    kperf_pmus *pmus = NULL;
    if (kperf_pmus_open(&pmus, root) < 0) return cli_fail("list");
    size_t supported = 0;
    for (size_t i = 0; i < kperf_metric_count(); i++) {
        supported += kperf_metric_check(pmus, kperf_metric_at(i)->name) == 0;
        list_metric(pmus, kperf_metric_at(i), all);
    }
    if (!supported)
        fprintf(stderr, "kperf list: no device metrics: no DDR, L3, PCIe, SMMU or HHA PMU under "
                        "%s/sys/bus/event_source/devices ('kperf list --metrics --all' says what "
                        "each metric needs)\n", root ? root : "");
    list_bdfs(pmus, KPERF_BDF_PCIE, "PCIe");
    list_bdfs(pmus, KPERF_BDF_SMMU, "SMMU");
    kperf_pmus_close(pmus);
    return 0;
}
