/* bench_counting - what does one start/stop/read cycle of a 4-event group cost?
 *
 * Compares, in one run, on the same four software events:
 *   - kperf_counter: one kernel group; start and stop are one ioctl each, read is one read()
 *   - kperf_region: counters stay enabled; a bracket is a snapshot at each end (rdpmc where
 *     the PMU allows it, else one read() per group)
 *   - separate fds (the common hand-written approach): enable, disable and read each fd
 *   - PAPI (perf_event component, native perf:: events): PAPI_start + PAPI_stop
 * and reports ns per cycle (best of several runs), syscalls per cycle (counted with the
 * raw_syscalls:sys_enter tracepoint on this thread around the loop) and time ratios.
 * Prints a Markdown section on stdout (bench/run.sh collects it into docs/PERFORMANCE.md). */
#define _GNU_SOURCE 1
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<papi.h>) && !defined(KPERF_BENCH_NO_PAPI)
#include <papi.h>
#define HAVE_PAPI 1
#endif
#endif

#define EVENTS "task-clock,page-faults,context-switches,minor-faults"
enum { CYCLES = 20000, RUNS = 5 };

typedef struct approach {
    const char *name;
    int (*setup)(void);
    int (*cycle)(void); /* one start/stop/read; returns < 0 on error */
    void (*teardown)(void);
    double ns, syscalls;
    char err[1100];
} approach;

/* ---- kperf counter ------------------------------------------------------------------- */
static kperf_counter *g_counter;
static int kc_setup(void) {
    return kperf_counter_open(&g_counter, &(kperf_counter_desc){.events = "{" EVENTS "}"});
}
static int kc_cycle(void) {
    kperf_counts n;
    if (kperf_counter_start(g_counter) < 0 || kperf_counter_stop(g_counter) < 0) return -1;
    return kperf_counter_read(g_counter, &n);
}
static void kc_teardown(void) { kperf_counter_close(g_counter); }

/* ---- kperf region ---------------------------------------------------------------------- */
static kperf_region *g_region;
static int kr_setup(void) {
    return kperf_region_open(&g_region, &(kperf_region_desc){.events = "{" EVENTS "}"});
}
static int kr_cycle(void) {
    if (kperf_region_start(g_region) < 0) return -1;
    return kperf_region_stop(g_region);
}
static void kr_teardown(void) { kperf_region_close(g_region); }

/* ---- separate fds ---------------------------------------------------------------------- */
static int g_fds[4];
static uint64_t g_values[4];
static int sf_setup(void) {
    static const uint64_t cfg[4] = {PERF_COUNT_SW_TASK_CLOCK, PERF_COUNT_SW_PAGE_FAULTS,
                                    PERF_COUNT_SW_CONTEXT_SWITCHES, PERF_COUNT_SW_PAGE_FAULTS_MIN};
    for (int i = 0; i < 4; i++) {
        struct perf_event_attr a;
        memset(&a, 0, sizeof a);
        a.size = sizeof a, a.type = PERF_TYPE_SOFTWARE, a.config = cfg[i];
        a.disabled = 1, a.exclude_kernel = 1, a.exclude_hv = 1;
        g_fds[i] = (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
        if (g_fds[i] < 0) return -errno;
    }
    return 0;
}
static int sf_cycle(void) {
    for (int i = 0; i < 4; i++) ioctl(g_fds[i], PERF_EVENT_IOC_ENABLE, 0);
    for (int i = 0; i < 4; i++) ioctl(g_fds[i], PERF_EVENT_IOC_DISABLE, 0);
    for (int i = 0; i < 4; i++)
        if (read(g_fds[i], &g_values[i], sizeof g_values[i]) != sizeof g_values[i]) return -1;
    return 0;
}
static void sf_teardown(void) {
    for (int i = 0; i < 4; i++) close(g_fds[i]);
}

/* ---- PAPI ------------------------------------------------------------------------------ */
#ifdef HAVE_PAPI
static int g_papi_set = PAPI_NULL;
static long long g_papi_values[4];
static char g_papi_err[200];
static int pp_setup(void) {
    static const char *names[4] = {"perf::TASK-CLOCK", "perf::PAGE-FAULTS",
                                   "perf::CONTEXT-SWITCHES", "perf::MINOR-FAULTS"};
    int rc = PAPI_library_init(PAPI_VER_CURRENT);
    if (rc != PAPI_VER_CURRENT)
        return snprintf(g_papi_err, sizeof g_papi_err, "PAPI_library_init: %s",
                        rc > 0 ? "version mismatch" : PAPI_strerror(rc)), -1;
    if ((rc = PAPI_create_eventset(&g_papi_set)) != PAPI_OK)
        return snprintf(g_papi_err, sizeof g_papi_err, "PAPI_create_eventset: %s", PAPI_strerror(rc)), -1;
    for (int i = 0; i < 4; i++)
        if ((rc = PAPI_add_named_event(g_papi_set, names[i])) != PAPI_OK)
            return snprintf(g_papi_err, sizeof g_papi_err, "PAPI_add_named_event(%s): %s",
                            names[i], PAPI_strerror(rc)), -1;
    return 0;
}
static int pp_cycle(void) {
    if (PAPI_start(g_papi_set) != PAPI_OK) return -1;
    return PAPI_stop(g_papi_set, g_papi_values) == PAPI_OK ? 0 : -1;
}
static void pp_teardown(void) {
    PAPI_cleanup_eventset(g_papi_set);
    PAPI_destroy_eventset(&g_papi_set);
    PAPI_shutdown();
}
#endif

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Syscalls per cycle: raw_syscalls:sys_enter on this thread around CYCLES cycles, minus an
 * empty loop (which still holds the measuring counter's own disable ioctl). */
static double count_syscalls(int (*cycle)(void)) {
    kperf_counter *c;
    kperf_perm pm;
    kperf_perm_read(&pm);
    /* raw_syscalls:sys_enter fires with kernel registers: it counts only with kernel space */
    if (!pm.kernel ||
        kperf_counter_open(&c, &(kperf_counter_desc){.events = "raw_syscalls:sys_enter",
                                                     .include_kernel = true}) < 0)
        return -1;
    kperf_counts n;
    double base, total;
    kperf_counter_start(c);
    kperf_counter_stop(c);
    kperf_counter_read(c, &n);
    base = n.events[0].v.value;
    kperf_counter_reset(c);
    kperf_counter_start(c);
    for (int i = 0; i < CYCLES; i++) cycle();
    kperf_counter_stop(c);
    kperf_counter_read(c, &n);
    total = n.events[0].v.value;
    kperf_counter_close(c);
    return (total - base) / CYCLES;
}

static void run(approach *a) {
    int rc = a->setup();
    if (rc < 0) {
        snprintf(a->err, sizeof a->err, "%s", kperf_errmsg());
#ifdef HAVE_PAPI
        if (a->setup == pp_setup) snprintf(a->err, sizeof a->err, "%s", g_papi_err);
#endif
        a->ns = -1;
        return;
    }
    for (int i = 0; i < 1000; i++) a->cycle(); /* warm up */
    a->ns = 1e30;
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_ns();
        for (int i = 0; i < CYCLES; i++)
            if (a->cycle() < 0) {
                snprintf(a->err, sizeof a->err, "a cycle failed: %s", kperf_errmsg());
                a->ns = -1;
                a->teardown();
                return;
            }
        double ns = (now_ns() - t0) / CYCLES;
        if (ns < a->ns) a->ns = ns;
    }
    a->syscalls = count_syscalls(a->cycle);
    a->teardown();
}

int main(void) {
    approach all[] = {
        {"kperf_counter: one group (ioctl start, ioctl stop, one read)", kc_setup, kc_cycle,
         kc_teardown, 0, 0, ""},
        {"kperf_region: start/stop snapshots (rdpmc, else one read each)", kr_setup, kr_cycle,
         kr_teardown, 0, 0, ""},
        {"separate fds: enable, disable and read each of 4 fds", sf_setup, sf_cycle,
         sf_teardown, 0, 0, ""},
#ifdef HAVE_PAPI
        {"PAPI " "(perf_event component): PAPI_start + PAPI_stop", pp_setup, pp_cycle,
         pp_teardown, 0, 0, ""},
#endif
    };
    size_t n = sizeof all / sizeof all[0];
    for (size_t i = 0; i < n; i++) run(&all[i]);
    kperf_region *r;
    kperf_region_cost cost = {0};
    if (kperf_region_open(&r, &(kperf_region_desc){.events = "{" EVENTS "}"}) == 0) {
        kperf_region_cost_read(r, &cost);
        kperf_region_close(r);
    }

    printf("## Counting: one start/stop/read cycle of a 4-event group\n\n");
    printf("Events: `%s` (software events: this machine exposes no hardware PMU, so no rdpmc).\n",
           EVENTS);
    printf("%d cycles per run, best of %d runs; syscalls per cycle counted with the "
           "`raw_syscalls:sys_enter` tracepoint on the measuring thread.\n\n",
           CYCLES, RUNS);
    printf("| approach | ns per cycle | syscalls per cycle | time vs kperf_counter |\n");
    printf("|---|---:|---:|---:|\n");
    for (size_t i = 0; i < n; i++) {
        if (all[i].ns < 0) {
            printf("| %s | failed: %s | | |\n", all[i].name, all[i].err);
            continue;
        }
        char sc[32] = "n/a";
        if (all[i].syscalls >= 0) snprintf(sc, sizeof sc, "%.2f", all[i].syscalls);
        printf("| %s | %.0f | %s | %.2fx |\n", all[i].name, all[i].ns, sc,
               all[0].ns > 0 ? all[i].ns / all[0].ns : 0.0);
    }
#ifndef HAVE_PAPI
    printf("| PAPI | not built: papi.h missing (apt-get install libpapi-dev) | | |\n");
#endif
    printf("\nkperf_region calibration at open: an empty bracket costs %.0f ns (rdpmc: %s); "
           "kperf_region_cost_read() reports it so callers can subtract it.\n\n",
           cost.bracket_ns, cost.rdpmc ? "yes" : "no");
    return 0;
}
