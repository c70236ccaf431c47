/* count_region - a microbenchmark harness: measure a region per iteration, the way
 * PerfEvent.hpp users do, with kperf's region counter.
 *
 * Open the events once, then bracket each iteration with kperf_region_start/stop; the
 * region sums the brackets and reports per-iteration values with an accuracy flag (exact,
 * scaled by multiplexing, not counted). Where the PMU allows user-space rdpmc a bracket
 * makes no syscall; elsewhere (software events, this VM) it makes one read() per group at
 * each end, and the calibrated cost of an empty bracket says how small a region may be.
 *
 *   make demo      (runs build/examples/count_region) */
#define _GNU_SOURCE 1
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef void (*workload_fn)(void);

static void touch_16_pages(void) {
    size_t psz = (size_t)sysconf(_SC_PAGESIZE);
    char *m = (char *)mmap(NULL, 16 * psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                           -1, 0);
    if (m == MAP_FAILED) return;
    for (size_t i = 0; i < 16; i++) m[i * psz] = (char)i;
    munmap(m, 16 * psz);
}

static void getpid_100(void) {
    for (int i = 0; i < 100; i++) syscall(SYS_getpid);
}

static int cmp_int(const void *a, const void *b) {
    return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b);
}

static void sort_4096(void) {
    static int v[4096];
    unsigned x = 12345;
    for (int i = 0; i < 4096; i++) v[i] = (int)(x = x * 1103515245u + 12345u);
    qsort(v, 4096, sizeof v[0], cmp_int);
}

static void sleep_100us(void) { usleep(100); }

/* Measures @p fn over @p iterations brackets and prints per-iteration values. */
static int measure(kperf_region *r, const char *what, workload_fn fn, uint64_t iterations) {
    kperf_region_reset(r);
    for (uint64_t i = 0; i < iterations; i++) {
        if (kperf_region_start(r) < 0) return -1;
        fn();
        if (kperf_region_stop(r) < 0) return -1;
    }
    kperf_counts n;
    if (kperf_region_read(r, &n) < 0) return -1;
    printf("\n%s\n", what);
    kperf_counts_print(stdout, &n, n.iterations);
    return 0;
}

int main(void) {
    kperf_perm perm;
    kperf_perm_read(&perm);
    /* context switches happen in the kernel: count kernel space when allowed, as perf does */
    const char *with_tp = "task-clock,page-faults,context-switches,syscalls:sys_enter_getpid";
    const char *without_tp = "task-clock,page-faults,context-switches";
    kperf_region *r;
    const char *events = with_tp;
    int rc = kperf_region_open(&r, &(kperf_region_desc){.events = events,
                                                        .include_kernel = perm.kernel});
    if (rc == -KPERF_ENOTRACEFS || rc == -KPERF_ENOEVENT || rc == -KPERF_EPARANOID ||
        rc == -KPERF_ENOCAP || rc == -EACCES) {
        printf("(tracepoint not available: %s)\n", kperf_errmsg());
        events = without_tp;
        rc = kperf_region_open(&r, &(kperf_region_desc){.events = events,
                                                        .include_kernel = perm.kernel});
    }
    if (rc < 0) {
        fprintf(stderr, "count_region: %s\n", kperf_errmsg());
        return 1;
    }
    kperf_region_cost cost;
    kperf_region_cost_read(r, &cost);
    printf("count_region: %s\n", events);
    printf("kernel space counted: %s (perf_event_paranoid %d)\n", perm.kernel ? "yes" : "no",
           perm.paranoid);
    printf("bracket: %s, empty start/stop costs %.0f ns; in an empty bracket:",
           cost.rdpmc ? "rdpmc (no syscall)" : "read() per group (no user rdpmc here)",
           cost.bracket_ns);
    kperf_counts n;
    kperf_region_read(r, &n);
    for (size_t i = 0; i < cost.nevents; i++)
        printf(" %s %.1f%s", n.events[i].name, cost.per_event[i],
               i + 1 < cost.nevents ? "," : "\n");

    int bad = 0;
    bad |= measure(r, "touch 16 fresh pages (mmap, write, munmap)", touch_16_pages, 200);
    bad |= measure(r, "100 getpid() system calls", getpid_100, 200);
    bad |= measure(r, "qsort of 4096 ints", sort_4096, 100);
    bad |= measure(r, "usleep(100): one voluntary context switch", sleep_100us, 50);
    kperf_region_close(r);
    if (bad) return fprintf(stderr, "count_region: %s\n", kperf_errmsg()), 1;

    /* Hardware events: on a machine without a PMU (most VMs) the error says so. */
    printf("\ncycles and instructions:\n");
    rc = kperf_region_open(&r, &(kperf_region_desc){.events = "cycles,instructions"});
    if (rc < 0) {
        printf("  %s (%s)\n", kperf_errmsg(), kperf_strerror(rc));
        return 0;
    }
    measure(r, "qsort of 4096 ints", sort_4096, 100);
    kperf_region_close(r);
    return 0;
}
