/* DWARF call chains through the libkperf layer: PmuAttr.callStack = 2 samples registers and
 * stack, and PmuRead's Stack lists are unwound with kperf_symbolizer_unwind(). On the
 * fixture (main -> a -> b -> c without frame pointers) they hold c, b, a, main; with
 * callStack = 1 (frame pointers) they do not. */
#include "kperf.h" /* declarations only: libkperf.so exports kperf_* too */
#include "kperf_symbols.h"
#include <gelf.h>
#include "kt.h"
#include "pmu.h"

#include <errno.h>
#include <string.h>
#include "test_unwind_common.h"

/* The CPU time the kernel has given the process so far, in ns (0 when unknown). */
static unsigned long long lk_cpu_ns(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/schedstat", (int)pid);
    unsigned long long ns = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%llu", &ns) != 1) ns = 0;
        fclose(f);
    }
    return ns;
}

/* Samples the fixture for 0.3 s of its CPU time with callStack = mode; counts the samples in c and those
 * whose Stack list reads c, b, a, main. -1 when sampling is not possible. */
static int lk_chains(int mode, int *in_c, int *full) {
    pid_t pid = unw_spawn("3");
    if (pid < 0) return -1;
    int p = pid;
    char *evts[] = {(char *)"cpu-clock"};
    PmuAttr attr;
    memset(&attr, 0, sizeof attr);
    attr.evtList = evts, attr.numEvt = 1, attr.pidList = &p, attr.numPid = 1;
    attr.useFreq = 1, attr.freq = 1000, attr.excludeKernel = 1;
    attr.symbolMode = RESOLVE_ELF, attr.callStack = (unsigned)mode;
    int pd = PmuOpen(SAMPLING, &attr);
    if (pd < 0) return unw_kill(pid), -1;
    /* until the fixture has had 300 ms of CPU (the kernel's count, /proc/PID/schedstat):
     * ~300 samples at 1 kHz on a busy machine too (at most 20 s) */
    unsigned long long t0 = lk_cpu_ns(pid);
    PmuEnable(pd);
    if (!t0) usleep(300000); /* no schedstat: 0.3 s of wall time */
    for (int k = 0; t0 && k < 2000 && lk_cpu_ns(pid) < t0 + 300000000ull; k++) usleep(10000);
    PmuDisable(pd);
    PmuData *data = NULL;
    int len = PmuRead(pd, &data);
    *in_c = *full = 0;
    for (int i = 0; i < len; i++) {
        const char *names[64];
        size_t n = 0;
        for (const Stack *st = data[i].stack; st && n < 64; st = st->next)
            names[n++] = st->symbol && st->symbol->symbolName ? st->symbol->symbolName : "?";
        if (!n || strcmp(names[0], "c")) continue;
        (*in_c)++;
        if (unw_has_chain(names, n)) (*full)++;
    }
    PmuDataFree(data);
    PmuClose(pd);
    unw_kill(pid);
    return len;
}

KT_TEST(libkperf_dwarf_callstack) {
    if (!KPERF_UNWIND_REGS) KT_SKIP("no unwinding register table for this architecture");
    int in_c, full;
    int len = lk_chains(2, &in_c, &full);
    if (len < 0) KT_SKIP("cannot sample the fixture: %s", Perror());
    printf("# callStack=2: %d samples, %d in c, %d with c;b;a;main\n", len, in_c, full);
    KT_CHECK(in_c >= 20, "only %d samples in c", in_c);
    KT_CHECK(full * 10 >= in_c * 9, "c;b;a;main in %d of %d samples", full, in_c);
    int fin_c, ffull;
    KT_CHECK(lk_chains(1, &fin_c, &ffull) >= 0);
    printf("# callStack=1: %d in c, %d with c;b;a;main\n", fin_c, ffull);
    KT_CHECK(fin_c >= 20 && ffull * 10 <= fin_c, "frame pointers: %d of %d", ffull, fin_c);
}

int main(void) {
    KT_RUN(libkperf_dwarf_callstack);
    KT_EXIT();
}
