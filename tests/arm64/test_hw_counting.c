/* Hardware counting on arm64's PMUv3 (run in the QEMU guest of tests/arm64/run.sh, where
 * -icount shift=0 makes instruction counts exact and repeatable).
 *
 * The oracle is spin(n): a two-instruction loop (subs, b.ne) run n times, so instructions:u
 * over it is 2n plus a constant that does not depend on n. Every test asserts the exact
 * difference between two lengths, and that repeated runs give identical counts.
 *
 * `test_hw_counting spin N` only runs spin(N) (the workload of the `kperf stat` test). */
#define _GNU_SOURCE 1
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kt.h"
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#if !defined(__aarch64__)
#error "tests/arm64/test_hw_counting.c runs on arm64 only"
#endif

static void __attribute__((noinline)) spin(uint64_t n) {
    __asm__ volatile("1: subs %0, %0, #1\n\tb.ne 1b\n" : "+r"(n) : : "cc", "memory");
}

static bool have_pmu(void) { return access("/sys/bus/event_source/devices/armv8_pmuv3", F_OK) == 0; }

/* instructions:u over spin(n) through the counter API; exact accuracy required. */
static int counter_spin(const char *events, uint64_t n, uint64_t *out) {
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = events});
    if (rc < 0) return rc;
    kperf_counts k;
    if ((rc = kperf_counter_start(c)) == 0) {
        spin(n);
        rc = kperf_counter_stop(c);
    }
    if (rc == 0) rc = kperf_counter_read(c, &k);
    if (rc == 0) *out = k.events[0].v.accuracy == KPERF_COUNT_EXACT ? k.events[0].v.raw : 0;
    kperf_counter_close(c);
    return rc;
}

KT_TEST(counter_instructions_exact) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    uint64_t a = 0, b = 0, a2 = 0, c = 0;
    KT_EQ_INT(counter_spin("instructions:u", 1000000, &a), 0);
    KT_EQ_INT(counter_spin("instructions:u", 1000000, &a2), 0);
    KT_EQ_INT(counter_spin("instructions:u", 3000000, &b), 0);
    KT_EQ_INT(counter_spin("instructions:u", 1, &c), 0);
    printf("# instructions:u: spin(1) %llu, spin(1e6) %llu, spin(3e6) %llu\n",
           (unsigned long long)c, (unsigned long long)a, (unsigned long long)b);
    KT_EQ_INT(a2, a);               /* repeatable */
    KT_EQ_INT(b - a, 4000000);      /* exactly 2 instructions per iteration */
    KT_EQ_INT(a - c, 1999998);
    KT_CHECK(c >= 2 && c < 200, "spin(1) counted %llu", (unsigned long long)c);
}

/* A group is read with one read(): both members share the same times, and each is exact. */
KT_TEST(group_read) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){
                                        .events = "{instructions:u,cycles:u}"});
    if (rc < 0) printf("# %s\n", kperf_errmsg());
    KT_EQ_INT(rc, 0);
    KT_EQ_INT(kperf_counter_nfds(c), 2);
    kperf_counts k0, k1;
    uint64_t v0[2], v1[2];
    KT_EQ_INT(kperf_counter_start(c), 0);
    spin(1000000);
    KT_EQ_INT(kperf_counter_read(c, &k0), 0); /* while running: still one snapshot */
    for (int i = 0; i < 2; i++) v0[i] = k0.events[i].v.raw;
    uint64_t e0 = k0.events[0].v.enabled;
    for (int i = 1; i < 2; i++) {
        KT_EQ_INT(k0.events[i].v.enabled, e0);
        KT_EQ_INT(k0.events[i].v.running, k0.events[0].v.running);
    }
    spin(1000000);
    KT_EQ_INT(kperf_counter_stop(c), 0);
    KT_EQ_INT(kperf_counter_read(c, &k1), 0);
    for (int i = 0; i < 2; i++) {
        v1[i] = k1.events[i].v.raw;
        KT_EQ_INT(k1.events[i].v.accuracy, KPERF_COUNT_EXACT);
    }
    printf("# group: instructions %llu->%llu cycles %llu->%llu\n", (unsigned long long)v0[0],
           (unsigned long long)v1[0], (unsigned long long)v0[1], (unsigned long long)v1[1]);
    /* the second half: the same spin, the read's own user instructions in between */
    uint64_t d = v1[0] - v0[0];
    KT_CHECK(d >= 2000000 && d < 2000000 + 2000, "second half %llu", (unsigned long long)d);
    KT_CHECK(v1[1] > v0[1] && v0[1] > 0, "cycles did not advance");
    kperf_counter_close(c);
}

/* How many instructions:u events one group can hold: the largest group that opens. */
static int group_capacity(void) {
    char spec[1024];
    int n;
    for (n = 1; n < 40; n++) {
        strcpy(spec, "{");
        for (int i = 0; i < n; i++) strcat(spec, i ? ",instructions:u" : "instructions:u");
        strcat(spec, "}");
        kperf_counter *c;
        if (kperf_counter_open(&c, &(kperf_counter_desc){.events = spec}) < 0) break;
        kperf_counter_close(c);
    }
    return n - 1;
}

KT_TEST(group_too_big_names_counters) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    int cap = group_capacity();
    printf("# a group holds %d instructions:u events\n", cap);
    KT_CHECK(cap >= 1 && cap < 39, "capacity %d", cap);
    char spec[1024] = "{", want[64];
    for (int i = 0; i < cap; i++) strcat(spec, i ? ",instructions:u" : "instructions:u");
    strcat(spec, "}");
    /* the largest group is on the PMU all the time: every member exact and equal */
    kperf_counter *c = NULL;
    kperf_counts k;
    KT_EQ_INT(kperf_counter_open(&c, &(kperf_counter_desc){.events = spec}), 0);
    KT_EQ_INT(kperf_counter_start(c), 0);
    spin(100000);
    KT_EQ_INT(kperf_counter_stop(c), 0);
    KT_EQ_INT(kperf_counter_read(c, &k), 0);
    for (int i = 0; i < cap; i++) {
        KT_EQ_INT(k.events[i].v.accuracy, KPERF_COUNT_EXACT);
        KT_EQ_INT(k.events[i].v.raw, k.events[0].v.raw);
    }
    KT_CHECK(k.events[0].v.raw >= 200000, "%llu", (unsigned long long)k.events[0].v.raw);
    kperf_counter_close(c);
    c = NULL;
    spec[strlen(spec) - 1] = 0;
    strcat(spec, ",instructions:u}");
    int rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = spec});
    KT_CHECK(rc < 0 && c == NULL, "a group of %d opened", cap + 1);
    const char *m = kperf_errmsg();
    printf("# %s\n", m);
    snprintf(want, sizeof want, "%d counters", cap);
    KT_CHECK(strstr(m, want) != NULL, "message does not say '%s': %s", want, m);
    KT_CHECK(strstr(m, "armv8_pmuv3") != NULL, "message does not name the PMU: %s", m);
    /* cycles has its own counter: with cycles the group takes one more event */
    strcpy(spec, "{cycles:u");
    for (int i = 0; i < cap; i++) strcat(spec, ",instructions:u");
    strcat(spec, "}");
    KT_EQ_INT(kperf_counter_open(&c, &(kperf_counter_desc){.events = spec}), 0);
    KT_EQ_INT(kperf_counter_start(c), 0);
    spin(100000);
    KT_EQ_INT(kperf_counter_stop(c), 0);
    KT_EQ_INT(kperf_counter_read(c, &k), 0);
    for (int i = 0; i <= cap; i++) KT_EQ_INT(k.events[i].v.accuracy, KPERF_COUNT_EXACT);
    KT_EQ_INT(k.events[0].v.raw, k.events[1].v.raw); /* one instruction per cycle here */
    kperf_counter_close(c);
    /* the process stays healthy: a fitting group still opens */
    uint64_t v = 0;
    KT_EQ_INT(counter_spin("instructions:u", 10, &v), 0);
}

/* More separate events than counters: the kernel rotates them. */
KT_TEST(multiplexing_scaled) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    int cap = group_capacity();
    int nev = cap + 3;
    char spec[1024] = "";
    for (int i = 0; i < nev; i++) strcat(spec, i ? ",instructions:u" : "instructions:u");
    uint64_t base = 0;
    KT_EQ_INT(counter_spin("instructions:u", 20000000, &base), 0);
    kperf_counter *c;
    KT_EQ_INT(kperf_counter_open(&c, &(kperf_counter_desc){.events = spec}), 0);
    kperf_counts k;
    KT_EQ_INT(kperf_counter_start(c), 0);
    spin(20000000);
    KT_EQ_INT(kperf_counter_stop(c), 0);
    KT_EQ_INT(kperf_counter_read(c, &k), 0);
    int scaled = 0;
    double worst = 0;
    for (int i = 0; i < nev; i++) {
        const kperf_value *v = &k.events[i].v;
        if (v->accuracy == KPERF_COUNT_SCALED) scaled++;
        KT_CHECK(v->accuracy != KPERF_COUNT_NOT_COUNTED, "event %d never ran in 40M instructions",
                 i);
        KT_CHECK(v->running <= v->enabled, "running > enabled");
        double err = (v->value - (double)base) / (double)base;
        if (err < 0) err = -err;
        if (err > worst) worst = err;
        printf("# mux %2d: raw %llu value %.0f (%.1f%% running) err %.4f\n", i,
               (unsigned long long)v->raw, v->value, v->percent, err);
    }
    printf("# %d of %d scaled, worst error %.4f against %llu\n", scaled, nev, worst,
           (unsigned long long)base);
    KT_CHECK(scaled >= 3, "only %d of %d events scaled", scaled, nev);
    KT_CHECK(worst < 0.05, "a scaled value is %.2f%% off the true count", worst * 100);
    kperf_counter_close(c);
}

/* Enabled and stopped at once: the events beyond the PMU's counters never ran.  A
 * multiplexing rotation (every 4 ms of guest time) can fall between the enables and the
 * stop and let every event run a little; that attempt proves nothing about the
 * not-counted path, so the test tries again, up to eight times.  Each attempt checks that
 * the events read as not counted are exactly those the kernel never ran. */
KT_TEST(multiplexing_not_counted) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    int cap = group_capacity();
    int nev = cap + 3;
    char spec[1024] = "";
    for (int i = 0; i < nev; i++) strcat(spec, i ? ",instructions:u" : "instructions:u");
    kperf_counter *c;
    KT_EQ_INT(kperf_counter_open(&c, &(kperf_counter_desc){.events = spec}), 0);
    kperf_counts k;
    int nc = 0, attempt;
    for (attempt = 1; attempt <= 8; attempt++) {
        KT_EQ_INT(kperf_counter_reset(c), 0);
        KT_EQ_INT(kperf_counter_start(c), 0);
        KT_EQ_INT(kperf_counter_stop(c), 0);
        KT_EQ_INT(kperf_counter_read(c, &k), 0);
        nc = 0;
        for (int i = 0; i < nev; i++) {
            const kperf_value *v = &k.events[i].v;
            KT_CHECK((v->accuracy == KPERF_COUNT_NOT_COUNTED) == (v->running == 0),
                     "event %d: accuracy %d with %llu ns running", i, (int)v->accuracy,
                     (unsigned long long)v->running);
            if (v->accuracy == KPERF_COUNT_NOT_COUNTED) {
                nc++;
                KT_CHECK(v->value == 0, "not counted but value %f", v->value);
            }
        }
        printf("# attempt %d: %d of %d events not counted\n", attempt, nc, nev);
        if (nc >= 3) break;
    }
    KT_CHECK(nc >= 3, "only %d events not counted in %d attempts", nc, attempt - 1);
    char buf[8192] = "";
    FILE *f = fmemopen(buf, sizeof buf, "w");
    kperf_counts_print(f, &k, 0);
    fclose(f);
    KT_CHECK(strstr(buf, "<not counted>") != NULL, "print: %s", buf);
    kperf_counter_close(c);
}

static int set_user_access(int on) {
    int fd = open("/proc/sys/kernel/perf_user_access", O_WRONLY);
    if (fd < 0) return -1;
    int ok = write(fd, on ? "1\n" : "0\n", 2) == 2;
    close(fd);
    return ok ? 0 : -1;
}

/* Region over spin(n), @p brackets times; returns the summed raw count and the number of
 * system calls made by the brackets (raw_syscalls:sys_enter on this thread). */
static int region_spin(kperf_region *r, uint64_t n, int brackets, uint64_t *value,
                       uint64_t *syscalls) {
    kperf_counter *sc;
    int rc = kperf_counter_open(&sc, &(kperf_counter_desc){.events = "raw_syscalls:sys_enter",
                                                            .include_kernel = true});
    if (rc < 0) return rc;
    kperf_counts k;
    kperf_region_reset(r);
    kperf_counter_start(sc);
    for (int i = 0; i < brackets; i++) {
        kperf_region_start(r);
        spin(n);
        kperf_region_stop(r);
    }
    kperf_counter_stop(sc);
    kperf_counter_read(sc, &k);
    *syscalls = k.events[0].v.raw;
    kperf_counter_close(sc);
    kperf_counts rk;
    if ((rc = kperf_region_read(r, &rk)) < 0) return rc;
    *value = rk.events[0].v.raw;
    return rk.iterations == (uint64_t)brackets ? 0 : -1;
}

/* The region API with user access on (config1 rdpmc bit, perf_user_access=1) and off. */
static void region_case(const char *kt_name_, int *kt_bad_, int *kt_skip_, int access,
                        uint64_t *per_bracket, uint64_t *sys_per_bracket) {
    (void)kt_skip_;
    KT_EQ_INT(set_user_access(access), 0);
    kperf_region *r;
    KT_EQ_INT(kperf_region_open(&r, &(kperf_region_desc){.events = "instructions:u"}), 0);
    kperf_region_cost cost;
    kperf_region_cost_read(r, &cost);
    KT_EQ_INT(cost.rdpmc, access);
    uint64_t v0, s0, v1, s1, v2, s2;
    KT_EQ_INT(region_spin(r, 1000, 0, &v0, &s0), 0);
    KT_EQ_INT(region_spin(r, 1000, 100, &v1, &s1), 0);
    KT_EQ_INT(region_spin(r, 2000, 100, &v2, &s2), 0);
    printf("# user access %d: 100 x spin(1000) = %llu, 100 x spin(2000) = %llu, syscalls %llu "
           "(none: %llu), empty bracket %.0f instructions:u\n",
           access, (unsigned long long)v1, (unsigned long long)v2, (unsigned long long)s1,
           (unsigned long long)s0, cost.per_event[0]);
    KT_EQ_INT(v2 - v1, 100 * 2000);  /* exact: 2 instructions per iteration */
    KT_EQ_INT(v1 % 100, 0);          /* every bracket counted the same */
    KT_EQ_INT(v1 / 100 - 2000, (uint64_t)cost.per_event[0]);
    *per_bracket = v1 / 100;
    *sys_per_bracket = (s1 - s0) / 100;
    KT_EQ_INT((s1 - s0) % 100, 0);
    KT_EQ_INT(s2 - s0, s1 - s0);
    kperf_region_close(r);
}

KT_TEST(region_user_access_no_syscalls) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    if (access("/proc/sys/kernel/perf_user_access", W_OK) != 0)
        KT_SKIP("no writable /proc/sys/kernel/perf_user_access");
    uint64_t on = 0, off = 0, son = 1, soff = 0;
    int bad = 0;
    region_case(kt_name_, &bad, kt_skip_, 1, &on, &son);
    if (bad) { *kt_bad_ = 1; return; }
    region_case(kt_name_, &bad, kt_skip_, 0, &off, &soff);
    set_user_access(1); /* the guest's default (tests/arm64/init) */
    if (bad) { *kt_bad_ = 1; return; }
    KT_EQ_INT(son, 0);   /* the fast path makes no system call */
    KT_EQ_INT(soff, 2);  /* the fallback: one read() at each end */
    printf("# region bracket around spin(1000): %llu instructions:u with user access, %llu "
           "with read()\n", (unsigned long long)on, (unsigned long long)off);
    KT_CHECK(on > 2000 && off > 2000, "brackets counted less than the loop");
}

/* The cost of one empty bracket in all instructions (user + kernel), user access vs read(). */
KT_TEST(region_cost_in_instructions) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    if (access("/proc/sys/kernel/perf_user_access", W_OK) != 0)
        KT_SKIP("no writable /proc/sys/kernel/perf_user_access");
    double cost[2][2];
    for (int a = 0; a < 2; a++) {
        KT_EQ_INT(set_user_access(a), 0);
        for (int k = 0; k < 2; k++) {
            /* a separate counter measures the region's brackets: user and kernel */
            kperf_region *r;
            KT_EQ_INT(kperf_region_open(&r, &(kperf_region_desc){.events = "instructions:u"}), 0);
            kperf_counter *c;
            KT_EQ_INT(kperf_counter_open(&c, &(kperf_counter_desc){
                                                 .events = k ? "instructions:k" : "instructions:u"}),
                      0);
            int64_t x[2];
            for (int b = 0; b < 2; b++) {
                kperf_counts n;
                KT_EQ_INT(kperf_counter_reset(c), 0);
                KT_EQ_INT(kperf_counter_start(c), 0);
                for (int i = 0; i < b * 1000; i++) {
                    kperf_region_start(r);
                    kperf_region_stop(r);
                }
                KT_EQ_INT(kperf_counter_stop(c), 0);
                KT_EQ_INT(kperf_counter_read(c, &n), 0);
                x[b] = (int64_t)n.events[0].v.raw;
            }
            cost[a][k] = (double)(x[1] - x[0]) / 1000.0;
            kperf_counter_close(c);
            kperf_region_close(r);
        }
    }
    set_user_access(1);
    printf("# empty bracket (start + stop): user access %.1f user + %.1f kernel instructions; "
           "read() %.1f user + %.1f kernel instructions\n",
           cost[1][0], cost[1][1], cost[0][0], cost[0][1]);
    /* only a timer interrupt now and then: a system call costs thousands */
    KT_CHECK(cost[1][1] > -20 && cost[1][1] < 20, "user access bracket ran %.1f kernel instructions", cost[1][1]);
    KT_CHECK(cost[0][1] > 100, "read() bracket ran only %.1f kernel instructions", cost[0][1]);
    KT_CHECK(cost[1][0] + cost[1][1] < cost[0][0] + cost[0][1], "user access not cheaper");
}

/* kperf stat -e instructions:u -- this program spin N: 2 per iteration more for a longer N. */
static int stat_spin(const char *self, uint64_t n, uint64_t *out) {
    const char *b = getenv("KPERF_BUILD");
    char tool[512], arg[32], path[64], buf[4096];
    snprintf(tool, sizeof tool, "%s/kperf", b ? b : "build");
    snprintf(arg, sizeof arg, "%llu", (unsigned long long)n);
    snprintf(path, sizeof path, "/tmp/kperf-stat-%d.csv", (int)getpid());
    pid_t pid = fork();
    if (pid == 0) {
        execl(tool, "kperf", "stat", "-x", ",", "-o", path, "-e", "instructions:u", "--", self,
              "spin", arg, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f) return -2;
    int rc = -3;
    while (fgets(buf, sizeof buf, f))
        if (strstr(buf, ",instructions:u")) {
            *out = strtoull(buf, NULL, 10);
            rc = 0;
        }
    fclose(f);
    unlink(path);
    return rc;
}

static const char *self_path;

KT_TEST(kperf_stat_instructions_exact) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    uint64_t a = 0, a2 = 0, b = 0;
    KT_EQ_INT(stat_spin(self_path, 1000000, &a), 0);
    KT_EQ_INT(stat_spin(self_path, 1000000, &a2), 0);
    KT_EQ_INT(stat_spin(self_path, 4000000, &b), 0);
    printf("# kperf stat: spin 1e6 %llu, spin 4e6 %llu\n", (unsigned long long)a,
           (unsigned long long)b);
    KT_EQ_INT(a2, a);
    /* the program parses its argument: strtoull's instructions depend on the digits only,
     * which are as many for both */
    KT_EQ_INT(b - a, 6000000);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "spin") == 0) {
        spin(strtoull(argv[2], NULL, 10));
        return 0;
    }
    self_path = argv[0][0] == '/' ? argv[0] : realpath(argv[0], NULL);
    KT_RUN(counter_instructions_exact);
    KT_RUN(group_read);
    KT_RUN(group_too_big_names_counters);
    KT_RUN(multiplexing_scaled);
    KT_RUN(multiplexing_not_counted);
    KT_RUN(region_user_access_no_syscalls);
    KT_RUN(region_cost_in_instructions);
    KT_RUN(kperf_stat_instructions_exact);
    KT_EXIT();
}
