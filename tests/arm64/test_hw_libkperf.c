/* The libkperf C API (libkperf/pmu.h, kperf's drop-in) with real hardware events on arm64's
 * PMUv3, in the QEMU guest of tests/arm64/run.sh (-icount shift=0: exact counts).
 * Built like a libkperf program: -Ilibkperf, linked with libkperf/libkperf.c. */
#define _GNU_SOURCE 1
#include "kt.h"
#include "pcerrc.h"
#include "pmu.h"
#include "symbol.h"

#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#if !defined(__aarch64__)
#error "tests/arm64/test_hw_libkperf.c runs on arm64 only"
#endif

static void __attribute__((noinline)) fp_sink(void) { __asm__ volatile("" ::: "memory"); }

static void __attribute__((noinline)) spin_fp(unsigned long n) {
    __asm__ volatile("1: subs %0, %0, #1\n\tb.ne 1b\n" : "+r"(n) : : "cc", "memory");
    fp_sink(); /* a call, not a tail call: the function keeps its frame record */
    __asm__ volatile("" ::: "memory");
}

static void __attribute__((noinline)) level_b(unsigned long n) {
    spin_fp(n);
    __asm__ volatile("" ::: "memory");
}

static void __attribute__((noinline)) level_a(unsigned long n) {
    level_b(n);
    __asm__ volatile("" ::: "memory");
}

static bool have_pmu(void) {
    return access("/sys/bus/event_source/devices/armv8_pmuv3", F_OK) == 0;
}

/* instructions and cycles of this process (user space), one group, over level_a(n). */
static int count(unsigned long n, uint64_t *ins, uint64_t *cyc, double *pct) {
    int pid = getpid();
    char *evs[2] = {(char *)"instructions", (char *)"cycles"};
    EvtAttr groups[2] = {{0}, {0}};
    PmuAttr attr;
    memset(&attr, 0, sizeof attr);
    attr.evtList = evs, attr.numEvt = 2, attr.pidList = &pid, attr.numPid = 1;
    attr.evtAttr = groups, attr.excludeKernel = 1;
    int pd = PmuOpen(COUNTING, &attr);
    if (pd < 0) return -1;
    PmuEnable(pd);
    level_a(n);
    PmuDisable(pd);
    PmuData *d = NULL;
    int len = PmuRead(pd, &d);
    *ins = *cyc = 0, *pct = 0;
    for (int i = 0; i < len; i++) {
        if (!strcmp(d[i].evt, "instructions")) *ins += d[i].count, *pct = d[i].countPercent;
        if (!strcmp(d[i].evt, "cycles")) *cyc += d[i].count;
    }
    PmuDataFree(d);
    PmuClose(pd);
    return len;
}

KT_TEST(counting_instructions_cycles_exact) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    uint64_t i1, c1, i1b, c1b, i2, c2;
    double p;
    int len = count(1000000, &i1, &c1, &p);
    if (len < 0) KT_FAIL("PmuOpen: %s", Perror());
    KT_EQ_INT(len, 2);
    KT_CHECK(p == 1.0, "countPercent %f", p);
    KT_EQ_INT(count(1000000, &i1b, &c1b, &p), 2);
    KT_EQ_INT(count(3000000, &i2, &c2, &p), 2);
    printf("# PmuRead: level_a(1e6) %llu instructions %llu cycles; level_a(3e6) %llu %llu\n",
           (unsigned long long)i1, (unsigned long long)c1, (unsigned long long)i2,
           (unsigned long long)c2);
    KT_EQ_INT(i1b, i1);
    KT_EQ_INT(i2 - i1, 4000000);
    KT_EQ_INT(c1, i1); /* -icount shift=0: one instruction per cycle */
    KT_EQ_INT(c2, i2);
}

KT_TEST(sampling_cycles_symbols) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    int pid = getpid();
    char *evs[1] = {(char *)"cycles"};
    PmuAttr attr;
    memset(&attr, 0, sizeof attr);
    attr.evtList = evs, attr.numEvt = 1, attr.pidList = &pid, attr.numPid = 1;
    attr.excludeKernel = 1, attr.period = 100000, attr.callStack = 1;
    attr.symbolMode = RESOLVE_ELF;
    int pd = PmuOpen(SAMPLING, &attr);
    if (pd < 0) KT_FAIL("PmuOpen: %s", Perror());
    PmuEnable(pd);
    level_a(5000000); /* 10M instructions = 10M cycles: 100 samples */
    PmuDisable(pd);
    PmuData *d = NULL;
    int len = PmuRead(pd, &d);
    PmuClose(pd);
    int inspin = 0, chains = 0;
    for (int i = 0; i < len; i++) {
        KT_EQ_INT(d[i].period, 100000);
        Stack *s = d[i].stack;
        if (!s || !s->symbol || !s->symbol->symbolName || strcmp(s->symbol->symbolName, "spin_fp"))
            continue;
        inspin++;
        if (s->next && s->next->symbol && s->next->symbol->symbolName &&
            !strcmp(s->next->symbol->symbolName, "level_b") && s->next->next &&
            s->next->next->symbol && s->next->next->symbol->symbolName &&
            !strcmp(s->next->next->symbol->symbolName, "level_a"))
            chains++;
    }
    for (Stack *s = len > 0 ? d[len / 2].stack : NULL; s; s = s->next)
        printf("#   frame %#lx %s\n", s->symbol ? s->symbol->addr : 0,
               s->symbol && s->symbol->symbolName ? s->symbol->symbolName : "?");
    printf("# PmuRead: %d samples, %d in spin_fp, %d with level_b <- level_a\n", len, inspin,
           chains);
    KT_CHECK(len >= 99 && len <= 102, "%d samples", len);
    KT_CHECK(inspin >= len - 2, "%d of %d in spin_fp", inspin, len);
    KT_EQ_INT(chains, inspin);
    PmuDataFree(d);
}

/* The hardware event list: every core PMU event of sysfs, by libkperf's name. */
KT_TEST(event_list_core) {
    if (!have_pmu()) KT_SKIP("no armv8_pmuv3 PMU");
    unsigned n = 0;
    const char **l = PmuEventList(CORE_EVENT, &n);
    bool inst = false, cyc = false;
    for (unsigned i = 0; l && i < n; i++) {
        if (strstr(l[i], "inst_retired")) inst = true;
        if (strstr(l[i], "cpu_cycles")) cyc = true;
    }
    KT_CHECK(inst && cyc, "%u core events, inst_retired %d cpu_cycles %d", n, inst, cyc);
}

int main(void) {
    KT_RUN(counting_instructions_cycles_exact);
    KT_RUN(sampling_cycles_symbols);
    KT_RUN(event_list_core);
    KT_EXIT();
}
