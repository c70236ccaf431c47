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

static int stat_usage(FILE *f) {
    fprintf(f,
            "usage: kperf stat -M METRIC[,METRIC] [-e UNCORE_EVENT] [-I ms] [--bdf B] [--plan]\n"
            "                  [--sysfs ROOT] [-a] [-- command [args]]\n"
            "Measures device metrics system-wide (see 'kperf list --metrics'), until the\n"
            "command exits or Ctrl-C. -e adds raw uncore events (pmu/terms/; a PMU name\n"
            "without its instance number means every instance). --bdf picks the PCIe/SMMU\n"
            "device (default: every device). --plan prints the events instead of counting.\n");
    return f == stderr ? 2 : 0;
}

typedef struct stat_opts {
    char metrics[1024], events[1024];
    const char *bdf, *root;
    long interval_ms;
    bool plan;
    char **cmd;
} stat_opts;

static void append(char *dst, size_t size, const char *s) {
    size_t l = strlen(dst);
    snprintf(dst + l, size - l, "%s%s", l ? "," : "", s);
}

/* Parses the options; returns -1 to go on, else an exit status. */
static int stat_parse(int argc, char **argv, stat_opts *o) {
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--")) return o->cmd = i + 1 < argc ? argv + i + 1 : NULL, -1;
        if (a[0] != '-') return o->cmd = argv + i, -1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return stat_usage(stdout);
        if (!strcmp(a, "-a") || !strcmp(a, "--all-cpus")) continue;
        if (!strcmp(a, "--plan")) { o->plan = true; continue; }
        if (!strncmp(a, "-M", 2) && a[2]) { append(o->metrics, sizeof o->metrics, a + 2); continue; }
        if (!v) {
            fprintf(stderr, "kperf stat: option %s needs a value\n", a);
            return stat_usage(stderr);
        }
        if (!strcmp(a, "-M") || !strcmp(a, "--metrics")) append(o->metrics, sizeof o->metrics, v);
        else if (!strcmp(a, "-e") || !strcmp(a, "--event")) append(o->events, sizeof o->events, v);
        else if (!strcmp(a, "--bdf")) o->bdf = v;
        else if (!strcmp(a, "--sysfs")) o->root = v;
        else if (!strcmp(a, "-I") || !strcmp(a, "--interval-print")) {
            char *end;
            o->interval_ms = strtol(v, &end, 10);
            if (*end || o->interval_ms < 10) {
                fprintf(stderr, "kperf stat: -I takes milliseconds >= 10, not '%s'\n", v);
                return 2;
            }
        } else {
            fprintf(stderr, "kperf stat: unknown option '%s'\n", a);
            return stat_usage(stderr);
        }
        i++;
    }
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

static pid_t start_command(char **cmd) {
    pid_t pid = fork();
    if (pid == 0) {
        execvp(cmd[0], cmd);
        fprintf(stderr, "kperf stat: cannot run '%s': %s\n", cmd[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

/* Counts until the command exits (or Ctrl-C), printing every interval or once at the end. */
static int stat_run(kperf_device *d, const stat_opts *o) {
    size_t n = kperf_device_nevents(d);
    kperf_device_count *prev = (kperf_device_count *)calloc(n ? n : 1, sizeof *prev);
    kperf_device_count *cur = (kperf_device_count *)calloc(n ? n : 1, sizeof *cur);
    if (!prev || !cur) return free(prev), free(cur), 1;
    struct sigaction sa; /* no SA_RESTART (a blocked call returns); a second signal kills */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = kperf_device_start(d) < 0 ? cli_fail("stat") : 0, status = 0;
    double t0 = now_s(), last = t0;
    pid_t child = rc == 0 && o->cmd ? start_command(o->cmd) : -1;
    while (rc == 0 && !stop_flag) {
        long ms = o->interval_ms ? o->interval_ms : 100;
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        if (child > 0 && waitpid(child, &status, WNOHANG) == child) child = -1, stop_flag = 1;
        if (o->interval_ms && (now_s() - last) * 1000 >= (double)o->interval_ms * 0.999) {
            double t = now_s();
            rc = report(d, prev, cur, t - last, t - t0);
            last = t;
        }
    }
    if (child > 0) waitpid(child, &status, 0);
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
    if (!o.metrics[0] && !o.events[0]) return stat_usage(stderr);
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

int cmd_list_metrics(int argc, char **argv) {
    const char *root = NULL;
    bool all = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--sysfs") && i + 1 < argc) root = argv[++i];
        else if (!strcmp(argv[i], "--all")) all = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return printf("usage: kperf list --metrics [--all] [--sysfs ROOT]\nLists the device "
                          "metrics this machine (or sysfs tree) supports; --all also lists the\n"
                          "others with what is missing.\n"), 0;
    }
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
