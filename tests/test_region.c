/* Region fast path: the rdpmc arithmetic on synthetic user pages with exact expected values,
 * and the read() fallback that runs on this machine. */
#define _GNU_SOURCE 1
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kt.h"
#include <sys/syscall.h>
#include <unistd.h>

static struct perf_event_mmap_page page(void) {
    struct perf_event_mmap_page pc;
    memset(&pc, 0, sizeof pc);
    pc.cap_user_rdpmc = 1;
    pc.index = 3; /* rdpmc(2) */
    pc.offset = 1000000;
    pc.pmc_width = 48;
    pc.time_enabled = 5000;
    pc.time_running = 4000;
    pc.cap_user_time = 1;
    pc.time_shift = 10;
    pc.time_mult = 1000;
    pc.time_offset = 500;
    return pc;
}

KT_TEST(math_bits_above_width_ignored_and_time_extended) {
    KT_UNUSED();
    struct perf_event_mmap_page pc = page();
    uint64_t n, e, r;
    KT_EQ_INT(kperf__mmap_compute(&pc, 0xABCD000000001234ull, 123456789, &n, &e, &r), 0);
    /* count = offset + 0x1234; delta = 500 + (cyc>>10)*1000 + ((cyc&1023)*1000 >> 10) */
    KT_EQ_INT(n, 1004660);
    KT_EQ_INT(e, 120568770);
    KT_EQ_INT(r, 120567770);
}

KT_TEST(math_sign_extension) {
    KT_UNUSED();
    struct perf_event_mmap_page pc = page();
    uint64_t n, e, r;
    /* 0xFFFFFFFFFFF0 is -16 in 48 bits */
    KT_EQ_INT(kperf__mmap_compute(&pc, 0xFFFFFFFFFFF0ull, 123456789, &n, &e, &r), 0);
    KT_EQ_INT(n, 999984);
    /* the largest positive 48-bit value stays positive */
    pc.offset = 0;
    KT_EQ_INT(kperf__mmap_compute(&pc, 0x7FFFFFFFFFFFull, 0, &n, &e, &r), 0);
    KT_EQ_INT(n, 0x7FFFFFFFFFFFll);
    /* width 64: no extension */
    pc.pmc_width = 64, pc.offset = 7;
    KT_EQ_INT(kperf__mmap_compute(&pc, 100, 0, &n, &e, &r), 0);
    KT_EQ_INT(n, 107);
}

KT_TEST(math_time_short) {
    KT_UNUSED();
    struct perf_event_mmap_page pc = page();
    pc.cap_user_time_short = 1;
    pc.time_cycles = 0x1000;
    pc.time_mask = 0xFFFF;
    uint64_t n, e, r;
    /* cyc becomes 0x1000 + ((0x12345678 - 0x1000) & 0xFFFF) = 0x5678 */
    KT_EQ_INT(kperf__mmap_compute(&pc, 0x7FFFFFFFFFFFull, 0x12345678, &n, &e, &r), 0);
    KT_EQ_INT(n, 140737489355327ll);
    KT_EQ_INT(e, 27117);
    KT_EQ_INT(r, 26117);
}

KT_TEST(math_without_user_time_keeps_page_times) {
    KT_UNUSED();
    struct perf_event_mmap_page pc = page();
    pc.cap_user_time = 0;
    uint64_t n, e, r;
    KT_EQ_INT(kperf__mmap_compute(&pc, 5, 999999, &n, &e, &r), 0);
    KT_EQ_INT(n, 1000005);
    KT_EQ_INT(e, 5000);
    KT_EQ_INT(r, 4000);
}

KT_TEST(math_falls_back_to_read) {
    KT_UNUSED();
    struct perf_event_mmap_page pc = page();
    uint64_t n = 42, e = 42, r = 42;
    pc.index = 0; /* not on a hardware counter (software events, or scheduled out) */
    KT_EQ_INT(kperf__mmap_compute(&pc, 1, 1, &n, &e, &r), -1);
    pc.index = 3, pc.cap_user_rdpmc = 0; /* user reads not allowed */
    KT_EQ_INT(kperf__mmap_compute(&pc, 1, 1, &n, &e, &r), -1);
    KT_EQ_INT(n, 42);
    /* the live reader gives up the same way on such a page */
    KT_EQ_INT(kperf__mmap_read(&pc, &n, &e, &r), -1);
}

/* The path that runs here: software events have index 0, so brackets use read(). */
KT_TEST(region_read_fallback_exact) {
    if (access("/sys/kernel/tracing/events/syscalls/sys_enter_getpid/id", R_OK) != 0)
        KT_SKIP("tracefs syscalls events not readable");
    kperf_region *r;
    int rc = kperf_region_open(
        &r, &(kperf_region_desc){.events = "syscalls:sys_enter_getpid,task-clock"});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    kperf_region_cost cost;
    kperf_region_cost_read(r, &cost);
    KT_CHECK(!cost.rdpmc, "software events never allow rdpmc");
    KT_EQ_INT(cost.nevents, 2);
    KT_CHECK(cost.per_event[0] == 0.0, "an empty bracket makes no getpid call: %f",
             cost.per_event[0]);
    KT_CHECK(cost.bracket_ns > 0);
    for (int i = 0; i < 100; i++) {
        KT_EQ_INT(kperf_region_start(r), 0);
        for (int j = 0; j < 10; j++) syscall(SYS_getpid);
        KT_EQ_INT(kperf_region_stop(r), 0);
        syscall(SYS_getpid); /* between brackets: not counted */
    }
    kperf_counts n;
    KT_EQ_INT(kperf_region_read(r, &n), 0);
    KT_EQ_INT(n.iterations, 100);
    KT_EQ_INT(n.nevents, 2);
    KT_EQ_STR(n.events[0].name, "syscalls:sys_enter_getpid");
    KT_EQ_INT(n.events[0].v.raw, 1000);
    KT_CHECK(n.events[0].v.value == 1000.0);
    KT_EQ_INT(n.events[0].v.accuracy, KPERF_COUNT_EXACT);
    KT_CHECK(n.events[1].v.value > 0);
    KT_EQ_INT(kperf_region_reset(r), 0);
    KT_EQ_INT(kperf_region_read(r, &n), 0);
    KT_EQ_INT(n.iterations, 0);
    KT_EQ_INT(n.events[0].v.raw, 0);
    KT_EQ_INT(kperf_region_stop(r), -KPERF_ESTATE);
    kperf_region_close(r);
}

KT_TEST(region_subtracts_calibrated_overhead) {
    KT_UNUSED();
    kperf_region *r;
    int rc = kperf_region_open(&r, &(kperf_region_desc){.events = "task-clock",
                                                        .subtract_overhead = true});
    if (rc < 0) KT_FAIL("open: %s", kperf_errmsg());
    kperf_region_cost cost;
    kperf_region_cost_read(r, &cost);
    KT_CHECK(cost.per_event[0] > 0, "an empty bracket still takes task-clock time");
    for (int i = 0; i < 50; i++) {
        KT_EQ_INT(kperf_region_start(r), 0);
        KT_EQ_INT(kperf_region_stop(r), 0);
    }
    kperf_counts n;
    KT_EQ_INT(kperf_region_read(r, &n), 0);
    /* raw holds what was measured; value has 50 calibrated empty brackets taken off */
    KT_CHECK(n.events[0].v.value < (double)n.events[0].v.raw);
    kperf_region_close(r);
}

KT_TEST(rdpmc_live) {
    kperf_region *r;
    if (kperf_region_open(&r, &(kperf_region_desc){.events = "instructions:u"}) < 0)
        KT_SKIP("no hardware PMU here: %s", kperf_errmsg());
    kperf_region_cost cost;
    kperf_region_cost_read(r, &cost);
    if (!cost.rdpmc) {
        kperf_region_close(r);
        KT_SKIP("the PMU does not allow user-space rdpmc");
    }
    KT_EQ_INT(kperf_region_start(r), 0);
    KT_EQ_INT(kperf_region_stop(r), 0);
    kperf_counts n;
    KT_EQ_INT(kperf_region_read(r, &n), 0);
    KT_CHECK(n.events[0].v.raw > 0 && n.events[0].v.raw < 100000);
    kperf_region_close(r);
}

int main(void) {
    KT_RUN(math_bits_above_width_ignored_and_time_extended);
    KT_RUN(math_sign_extension);
    KT_RUN(math_time_short);
    KT_RUN(math_without_user_time_keeps_page_times);
    KT_RUN(math_falls_back_to_read);
    KT_RUN(region_read_fallback_exact);
    KT_RUN(region_subtracts_calibrated_overhead);
    KT_RUN(rdpmc_live);
    KT_EXIT();
}
