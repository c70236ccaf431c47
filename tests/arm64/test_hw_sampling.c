/* Overflow sampling on arm64's PMUv3 (QEMU guest, -icount shift=0: exact counts).
 *
 * A fixed period over spin loops of known length: the number of samples is the count
 * divided by the period (within one), and every sample taken in the loop has the
 * frame-pointer call chain the program's own return addresses predict
 * (__builtin_return_address at each level).
 *
 * `test_hw_sampling spin N` runs the same chain once (the workload of the kperf record test
 * in tests/arm64/test_hw_cli.sh). */
#define _GNU_SOURCE 1
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kt.h"
#include <unistd.h>

#if !defined(__aarch64__)
#error "tests/arm64/test_hw_sampling.c runs on arm64 only"
#endif

static volatile uint64_t ret_in_b, ret_in_a, ret_in_top;
static volatile uint64_t loop_lo, loop_hi;

static void __attribute__((noinline)) fp_sink(void) { __asm__ volatile("" ::: "memory"); }

/* The loop: two instructions per iteration; a call after it gives the function a frame
 * record, as any non-leaf function has. */
static void __attribute__((noinline)) spin_fp(uint64_t n) {
    uint64_t lo, hi;
    ret_in_b = (uint64_t)__builtin_return_address(0);
    __asm__ volatile("adr %1, 1f\n\t"
                     "adr %2, 2f\n\t"
                     "1: subs %0, %0, #1\n\t"
                     "b.ne 1b\n\t"
                     "2:\n"
                     : "+r"(n), "=&r"(lo), "=&r"(hi)
                     :
                     : "cc", "memory");
    loop_lo = lo, loop_hi = hi;
    fp_sink(); /* a call, not a tail call: the function keeps its frame record */
    __asm__ volatile("" ::: "memory");
}

static void __attribute__((noinline)) level_b(uint64_t n) {
    ret_in_a = (uint64_t)__builtin_return_address(0);
    spin_fp(n);
    __asm__ volatile("" ::: "memory"); /* no tail call: keep this frame */
}

static void __attribute__((noinline)) level_a(uint64_t n) {
    ret_in_top = (uint64_t)__builtin_return_address(0);
    level_b(n);
    __asm__ volatile("" ::: "memory");
}

static bool have_pmu(void) {
    return access("/sys/bus/event_source/devices/armv8_pmuv3", F_OK) == 0;
}

typedef struct tally {
    uint64_t samples, in_loop, chains_ok, bad_period, other;
    uint64_t period;
    char why[256];
} tally;

static int on_record(const kperf_record *r, void *user) {
    tally *t = (tally *)user;
    if (r->type != KPERF_RECORD_SAMPLE) return 0;
    t->samples++;
    if (r->sample.period != t->period) t->bad_period++;
    uint64_t ip = r->sample.ip;
    if (ip < loop_lo || ip > loop_hi) {
        t->other++;
        return 0;
    }
    t->in_loop++;
    /* the user chain: [PERF_CONTEXT_USER,] pc, then the return addresses of each frame */
    const uint64_t *ips = r->sample.ips;
    size_t n = r->sample.nips, i = 0;
    while (i < n && ips[i] >= KPERF_CONTEXT_MAX) i++;
    if (n - i >= 4 && ips[i] == ip && ips[i + 1] == ret_in_b && ips[i + 2] == ret_in_a &&
        ips[i + 3] == ret_in_top)
        t->chains_ok++;
    else if (!t->why[0]) {
        int o = snprintf(t->why, sizeof t->why, "chain of %zu:", n);
        for (size_t k = 0; k < n && k < 8 && o < 200; k++)
            o += snprintf(t->why + o, sizeof t->why - (size_t)o, " %llx",
                          (unsigned long long)ips[k]);
        snprintf(t->why + o, sizeof t->why - (size_t)o, " want %llx %llx %llx %llx",
                 (unsigned long long)ip, (unsigned long long)ret_in_b,
                 (unsigned long long)ret_in_a, (unsigned long long)ret_in_top);
    }
    return 0;
}

/* Samples @p event every @p period over level_a(n); @p total receives the count of a
 * counter of the same event enabled around the same window. */
static int sample_spin(const char *event, uint64_t n, uint64_t period, tally *t,
                       uint64_t *total) {
    memset(t, 0, sizeof *t);
    t->period = period;
    kperf_sampler *s;
    int rc = kperf_sampler_open(&s, &(kperf_sampler_desc){.events = event,
                                                          .period = period,
                                                          .callchain = true,
                                                          .no_sideband = true});
    if (rc < 0) return rc;
    kperf_counter *c;
    if ((rc = kperf_counter_open(&c, &(kperf_counter_desc){.events = event})) < 0) {
        kperf_sampler_close(s);
        return rc;
    }
    kperf_counts k;
    kperf_sampler_start(s);
    kperf_counter_start(c);
    level_a(n);
    kperf_counter_stop(c);
    kperf_sampler_stop(s);
    kperf_counter_read(c, &k);
    *total = k.events[0].v.raw;
    rc = kperf_sampler_read(s, on_record, t);
    kperf_sampler_stats st;
    kperf_sampler_stats_read(s, &st);
    printf("# sampler: %llu records, %llu samples, %llu lost, %llu throttled\n",
           (unsigned long long)st.total.records, (unsigned long long)st.total.samples,
           (unsigned long long)st.total.lost, (unsigned long long)st.total.throttled);
    kperf_counter_close(c);
    kperf_sampler_close(s);
    return rc < 0 ? rc : 0;
}

/* Samples = count / period (+-1): the cycle counter, which QEMU overflows on time (with
 * -icount shift=0 a cycle is an instruction: the loop's length is known). */
KT_TEST(period_sample_count) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    tally t, t2;
    uint64_t total = 0, total2 = 0;
    const uint64_t period = 100000;
    int rc = sample_spin("cycles:u", 5000000, period, &t, &total);
    if (rc < 0) KT_FAIL("sampling: %s", kperf_errmsg());
    printf("# cycles:u period %llu over %llu: %llu samples, %llu in the loop, %llu chains ok\n",
           (unsigned long long)period, (unsigned long long)total, (unsigned long long)t.samples,
           (unsigned long long)t.in_loop, (unsigned long long)t.chains_ok);
    int64_t want = (int64_t)(total / period);
    KT_CHECK((int64_t)t.samples >= want - 1 && (int64_t)t.samples <= want + 1,
             "%llu samples, want %lld +-1", (unsigned long long)t.samples, (long long)want);
    KT_CHECK(want >= 99, "only %llu cycles for 10M instructions", (unsigned long long)total);
    KT_EQ_INT(t.bad_period, 0);
    /* a loop four times as long: four times as many samples (+-1) */
    KT_EQ_INT(sample_spin("cycles:u", 20000000, period, &t2, &total2), 0);
    want = (int64_t)(total2 / period);
    KT_CHECK((int64_t)t2.samples >= want - 1 && (int64_t)t2.samples <= want + 1,
             "%llu samples, want %lld +-1", (unsigned long long)t2.samples, (long long)want);
    KT_CHECK(want >= 399, "only %llu cycles for 40M instructions", (unsigned long long)total2);
}

/* instructions:u samples carry the period and the right chains; QEMU 7.2 raises an event
 * counter's overflow interrupt only when it next looks at the PMU (a timer tick), so there
 * are fewer samples than count / period (docs/arm64.md): never more. */
KT_TEST(instructions_samples) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    tally t;
    uint64_t total = 0;
    const uint64_t period = 100000;
    int rc = sample_spin("instructions:u", 5000000, period, &t, &total);
    if (rc < 0) KT_FAIL("sampling: %s", kperf_errmsg());
    printf("# instructions:u period %llu over %llu: %llu samples (%llu expected on hardware)\n",
           (unsigned long long)period, (unsigned long long)total, (unsigned long long)t.samples,
           (unsigned long long)(total / period));
    KT_EQ_INT(total, 10000000 + (total - 10000000) % 1000); /* 2 x 5M, plus the edges */
    KT_CHECK(t.samples >= 1 && t.samples <= total / period + 1, "%llu samples",
             (unsigned long long)t.samples);
    KT_EQ_INT(t.bad_period, 0);
    KT_CHECK(t.chains_ok == t.in_loop, "%llu of %llu loop samples with the expected chain; %s",
             (unsigned long long)t.chains_ok, (unsigned long long)t.in_loop, t.why);
}

/* The instructions counter's own overflow, where QEMU raises it on time: beside cycles:u at
 * the same period QEMU looks at the PMU at every cycle overflow (with -icount shift=0 a cycle
 * is an instruction), so the instruction counter's overflows arrive when due too. That
 * proves kperf's side (the period programmed into the event counter, each sample given to
 * its event): instructions:u samples = count / period (+-1). */
typedef struct evtally {
    uint64_t n[2], bad_period, period;
} evtally;

static int on_event_record(const kperf_record *r, void *user) {
    evtally *t = (evtally *)user;
    if (r->type != KPERF_RECORD_SAMPLE) return 0;
    if (r->event >= 0 && r->event < 2) t->n[r->event]++;
    if (r->sample.period != t->period) t->bad_period++;
    return 0;
}

KT_TEST(instructions_samples_beside_cycles) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    evtally t;
    memset(&t, 0, sizeof t);
    t.period = 100000;
    kperf_sampler *s;
    if (kperf_sampler_open(&s, &(kperf_sampler_desc){.events = "cycles:u,instructions:u",
                                                      .period = t.period,
                                                      .no_sideband = true}) < 0)
        KT_FAIL("sampling: %s", kperf_errmsg());
    kperf_counter *c;
    if (kperf_counter_open(&c, &(kperf_counter_desc){.events = "instructions:u"}) < 0) {
        kperf_sampler_close(s);
        KT_FAIL("counting: %s", kperf_errmsg());
    }
    kperf_counts k;
    kperf_sampler_start(s);
    kperf_counter_start(c);
    level_a(5000000);
    kperf_counter_stop(c);
    kperf_sampler_stop(s);
    kperf_counter_read(c, &k);
    uint64_t total = k.events[0].v.raw;
    int rc = kperf_sampler_read(s, on_event_record, &t);
    kperf_counter_close(c);
    kperf_sampler_close(s);
    KT_CHECK(rc >= 0, "%s", kperf_errmsg());
    int64_t want = (int64_t)(total / t.period);
    printf("# cycles:u + instructions:u, period %llu, %llu instructions: %llu cycle and %llu "
           "instruction samples\n", (unsigned long long)t.period, (unsigned long long)total,
           (unsigned long long)t.n[0], (unsigned long long)t.n[1]);
    KT_CHECK(want >= 99, "only %llu instructions", (unsigned long long)total);
    KT_CHECK((int64_t)t.n[1] >= want - 1 && (int64_t)t.n[1] <= want + 1,
             "%llu instruction samples, want %lld +-1", (unsigned long long)t.n[1],
             (long long)want);
    KT_EQ_INT(t.bad_period, 0);
}

KT_TEST(frame_pointer_chains) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    tally t;
    uint64_t total = 0;
    KT_EQ_INT(sample_spin("cycles:u", 5000000, 99991, &t, &total), 0);
    /* every sample but the edges of the window lands in the loop */
    KT_CHECK(t.in_loop + 2 >= t.samples && t.in_loop >= 90, "%llu of %llu samples in the loop",
             (unsigned long long)t.in_loop, (unsigned long long)t.samples);
    KT_CHECK(t.chains_ok == t.in_loop, "%llu of %llu loop samples with the expected chain; %s",
             (unsigned long long)t.chains_ok, (unsigned long long)t.in_loop, t.why);
}

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "spin") == 0) {
        level_a(strtoull(argv[2], NULL, 10));
        return 0;
    }
    KT_RUN(period_sample_count);
    KT_RUN(instructions_samples);
    KT_RUN(instructions_samples_beside_cycles);
    KT_RUN(frame_pointer_chains);
    KT_EXIT();
}
