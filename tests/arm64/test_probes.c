/* kprobe:/kretprobe: events (issue 15's syntax) in the arm64 guest of tests/arm64/run.sh,
 * whose Debian kernel has both a kprobe PMU and tracefs kprobe_events (the x86 development
 * machine has neither). Both paths count a probe on arm64's getpid entry exactly N times
 * for N calls; a missing symbol is a clear error; kprobe_events holds no kperf probe after
 * the events are closed. The tracefs path is reached through KPERF_SYSFS_ROOT: a root whose
 * event_source/devices has every PMU but kprobe, and the real tracefs. */
#define _GNU_SOURCE 1
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kt.h"
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FUNC "__arm64_sys_getpid"
#define KPE "/sys/kernel/tracing/kprobe_events"
#define FAKE "/tmp/kperf-nokprobe"
#define N 300

static void getpids(int n) {
    for (int i = 0; i < n; i++) syscall(SYS_getpid);
}

/* Lines of kprobe_events that name a kperf probe ("p:kperf/..."), or -1. */
static int kperf_probes(void) {
    FILE *f = fopen(KPE, "r");
    if (!f) return -1;
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, f)) n += strstr(line, ":kperf/") != NULL;
    fclose(f);
    return n;
}

static bool have_symbol(const char *name) {
    FILE *f = fopen("/proc/kallsyms", "r");
    char line[512], sym[256];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f))
        found = sscanf(line, "%*s %*s %255s", sym) == 1 && !strcmp(sym, name);
    if (f) fclose(f);
    return found;
}

/* Counts @p spec over N getpid calls of this thread; the count, or -1 with the error. */
static long long count_getpids(const char *spec) {
    kperf_counter *c;
    if (kperf_counter_open(&c, &(kperf_counter_desc){.events = spec}) < 0) return -1;
    kperf_counter_start(c);
    getpids(N);
    kperf_counter_stop(c);
    getpids(7); /* stopped: not counted */
    kperf_counts n;
    long long v = kperf_counter_read(c, &n) == 0 && n.nevents == 1 ? (long long)n.events[0].v.raw
                                                                    : -2;
    kperf_counter_close(c);
    return v;
}

KT_TEST(kprobe_pmu_counts_exactly) {
    if (access("/sys/bus/event_source/devices/kprobe", F_OK)) KT_SKIP("no kprobe PMU");
    if (!have_symbol(FUNC)) KT_SKIP("no %s in /proc/kallsyms", FUNC);
    int before = kperf_probes();
    KT_EQ_INT(count_getpids("kprobe:" FUNC), N);
    KT_EQ_INT(count_getpids("kretprobe:" FUNC), N);
    /* both in one counter, plus the syscall tracepoint as the oracle */
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){
        .events = "kprobe:" FUNC ",kretprobe:" FUNC ",syscalls:sys_enter_getpid"});
    KT_CHECK(rc == 0, "%s", kperf_errmsg());
    if (rc == 0) {
        kperf_counter_start(c);
        getpids(N);
        kperf_counter_stop(c);
        kperf_counts n;
        KT_EQ_INT(kperf_counter_read(c, &n), 0);
        KT_EQ_INT(n.nevents, 3);
        for (size_t i = 0; i < n.nevents; i++) KT_EQ_INT(n.events[i].v.raw, N);
        KT_EQ_STR(n.events[0].name, "kprobe:" FUNC);
        kperf_counter_close(c);
    }
    KT_EQ_INT(kperf_probes(), before); /* the PMU path writes nothing to kprobe_events */
}

KT_TEST(kprobe_pmu_missing_symbol) {
    if (access("/sys/bus/event_source/devices/kprobe", F_OK)) KT_SKIP("no kprobe PMU");
    KT_EQ_INT(count_getpids("kprobe:kperf_no_such_function"), -1);
    printf("# kprobe PMU, missing symbol: %s\n", kperf_errmsg());
    KT_CHECK(strstr(kperf_errmsg(), "kperf_no_such_function") != NULL, "%s", kperf_errmsg());
}

/* A sysfs root without the kprobe PMU: kperf falls back to tracefs kprobe_events. */
static bool fake_root(void) {
    if (system("set -e; r=" FAKE "; rm -rf $r; mkdir -p $r/sys/bus/event_source/devices; "
               "for p in /sys/bus/event_source/devices/*; do [ ${p##*/} = kprobe ] || "
               "ln -s $p $r/sys/bus/event_source/devices/; done; "
               "ln -s /sys/kernel $r/sys/kernel; ln -s /sys/devices $r/sys/devices; "
               "ln -s /proc $r/proc") != 0)
        return false;
    setenv("KPERF_SYSFS_ROOT", FAKE, 1);
    return true;
}

KT_TEST(kprobe_tracefs_counts_and_cleans_up) {
    if (access(KPE, W_OK)) KT_SKIP("no writable %s", KPE);
    if (!have_symbol(FUNC)) KT_SKIP("no %s in /proc/kallsyms", FUNC);
    KT_CHECK(fake_root());
    KT_EQ_INT(kperf_probes(), 0);
    KT_EQ_INT(count_getpids("kprobe:" FUNC), N);
    KT_EQ_INT(kperf_probes(), 0); /* taken out again when the counter closed */
    KT_EQ_INT(count_getpids("kretprobe:" FUNC), N);
    KT_EQ_INT(kperf_probes(), 0);
    /* two counters on one probe: it stays while the second still uses it */
    kperf_counter *a, *b;
    KT_EQ_INT(kperf_counter_open(&a, &(kperf_counter_desc){.events = "kprobe:" FUNC}), 0);
    KT_EQ_INT(kperf_counter_open(&b, &(kperf_counter_desc){.events = "kprobe:" FUNC}), 0);
    KT_EQ_INT(kperf_probes(), 1);
    kperf_counter_start(a);
    kperf_counter_start(b);
    getpids(N);
    kperf_counter_close(a);
    KT_EQ_INT(kperf_probes(), 1);
    getpids(N);
    kperf_counter_stop(b);
    kperf_counts n;
    KT_EQ_INT(kperf_counter_read(b, &n), 0);
    KT_EQ_INT(n.events[0].v.raw, 2 * N);
    KT_EQ_STR(n.events[0].name, "kperf:" FUNC);
    kperf_counter_close(b);
    KT_EQ_INT(kperf_probes(), 0);
    /* a parsed list holds it until freed */
    kperf_evlist *l;
    KT_EQ_INT(kperf_evlist_parse(&l, "kretprobe:" FUNC, NULL), 0);
    KT_EQ_INT(kperf_probes(), 1);
    kperf_evlist_free(l);
    KT_EQ_INT(kperf_probes(), 0);
    unsetenv("KPERF_SYSFS_ROOT");
}

KT_TEST(kprobe_tracefs_missing_symbol) {
    if (access(KPE, W_OK)) KT_SKIP("no writable %s", KPE);
    KT_CHECK(fake_root());
    KT_EQ_INT(count_getpids("kprobe:kperf_no_such_function"), -1);
    printf("# tracefs kprobe, missing symbol: %s\n", kperf_errmsg());
    KT_CHECK(strstr(kperf_errmsg(), "refused the kprobe on 'kperf_no_such_function'") != NULL,
             "%s", kperf_errmsg());
    KT_EQ_INT(kperf_probes(), 0);
    unsetenv("KPERF_SYSFS_ROOT");
}

int main(void) {
    KT_RUN(kprobe_pmu_counts_exactly);
    KT_RUN(kprobe_pmu_missing_symbol);
    KT_RUN(kprobe_tracefs_counts_and_cleans_up);
    KT_RUN(kprobe_tracefs_missing_symbol);
    if (system("rm -rf " FAKE)) printf("# could not remove %s\n", FAKE);
    KT_EXIT();
}
