/* The libkperf drop-in (libkperf/pmu.h over build/libkperf.so): exact counts, fields,
 * symbols, lists, errors, ownership. Built like a libkperf program (-Ilibkperf -lkperf);
 * kperf.h only names the error codes Perrorno() returns. `test_libkperf_c --layout` prints struct sizes and offsets for
 * tests/test_python.py, which checks the ctypes mirrors against them. */
#include "kperf.h" /* KPERF_E* codes */
#include "kt.h"
#include "pcerrc.h"
#include "pmu.h"
#include "symbol.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void getpid_calls(int n) {
    for (int i = 0; i < n; i++) syscall(SYS_getpid);
}

static bool has_hw_pmu(void) {
    return access("/sys/bus/event_source/devices/cpu/events", F_OK) == 0 ||
           access("/sys/bus/event_source/devices/armv8_pmuv3_0", F_OK) == 0 ||
           access("/sys/bus/event_source/devices/armv8_pmuv3", F_OK) == 0;
}

static char *getpid_evt[] = {"syscalls:sys_enter_getpid"};

KT_TEST(counting_getpid_exact) {
    KT_UNUSED();
    int pid = getpid();
    PmuAttr attr = {0};
    attr.evtList = getpid_evt, attr.numEvt = 1;
    attr.pidList = &pid, attr.numPid = 1;
    int pd = PmuOpen(COUNTING, &attr);
    KT_CHECK(pd > 0, "%s", Perror());
    KT_EQ_INT(Perrorno(), 0);
    KT_EQ_STR(Perror(), "success");
    KT_EQ_INT(PmuEnable(pd), 0);
    getpid_calls(1000);
    PmuData *data = NULL;
    int len = PmuRead(pd, &data);
    KT_CHECK(len >= 1, "%s", Perror());
    uint64_t total = 0;
    for (int i = 0; i < len; i++) total += data[i].count;
    KT_EQ_INT(total, 1000);
    KT_EQ_STR(data[0].evt, "syscalls:sys_enter_getpid");
    KT_EQ_INT(data[0].pid, pid);
    KT_CHECK(data[0].cpuTopo != NULL);
    KT_CHECK(data[0].countPercent > 0.99 && data[0].countPercent <= 1.0);
    getpid_calls(250);
    KT_EQ_INT(PmuDisable(pd), 0);
    getpid_calls(100); /* disabled: not counted */
    PmuData *data2 = NULL;
    len = PmuRead(pd, &data2);
    total = 0;
    for (int i = 0; i < len; i++) total += data2[i].count;
    KT_EQ_INT(total, 250); /* the increase since the previous read */
    PmuClose(pd);
    KT_EQ_STR(data[0].evt, "syscalls:sys_enter_getpid"); /* valid after close */
    PmuDataFree(data);
    PmuDataFree(data2);
    PmuDataFree(NULL);
}

KT_TEST(counting_groups) {
    KT_UNUSED();
    char *evts[] = {"task-clock", "page-faults", "context-switches"};
    EvtAttr groups[] = {{7}, {7}, {-1}};
    int pid = getpid();
    PmuAttr attr = {0};
    attr.evtList = evts, attr.numEvt = 3, attr.evtAttr = groups;
    attr.pidList = &pid, attr.numPid = 1;
    int pd = PmuOpen(COUNTING, &attr);
    KT_CHECK(pd > 0, "%s", Perror());
    PmuEnable(pd);
    for (int i = 0; i < 64; i++) {
        volatile char *p = (volatile char *)malloc(1 << 16);
        for (int k = 0; k < (1 << 16); k += 4096) p[k] = 1;
        free((void *)p);
    }
    PmuDisable(pd);
    PmuData *data = NULL;
    int len = PmuRead(pd, &data);
    KT_EQ_INT(len, 3);
    for (int i = 0; i < len; i++) {
        int want = strcmp(data[i].evt, "context-switches") ? 7 : -1;
        KT_EQ_INT(data[i].groupId, want);
        if (!strcmp(data[i].evt, "task-clock")) KT_CHECK(data[i].count > 0);
    }
    PmuDataFree(data);
    PmuClose(pd);
}

KT_TEST(hardware_event_error) {
    KT_UNUSED();
    if (has_hw_pmu()) KT_SKIP("this machine has a hardware PMU");
    char *evts[] = {"cycles"};
    int pid = getpid();
    PmuAttr attr = {0};
    attr.evtList = evts, attr.numEvt = 1, attr.pidList = &pid, attr.numPid = 1;
    KT_EQ_INT(PmuOpen(COUNTING, &attr), -1);
    KT_EQ_INT(Perrorno(), KPERF_ENOTSUP);
    KT_CHECK(strstr(Perror(), "cycles") && strstr(Perror(), "no hardware PMU"), "%s", Perror());
}

KT_TEST(argument_errors) {
    KT_UNUSED();
    PmuAttr attr = {0};
    KT_EQ_INT(PmuOpen(COUNTING, &attr), -1);
    KT_CHECK(strstr(Perror(), "evtList is empty"), "%s", Perror());
    KT_EQ_INT(PmuOpen(COUNTING, NULL), -1);
    KT_EQ_INT(PmuOpen((enum PmuTaskType)9, &attr), -1);
    KT_CHECK(strstr(Perror(), "unknown task type"), "%s", Perror());
    PmuData *d = (PmuData *)&attr;
    KT_EQ_INT(PmuRead(4242, &d), -1);
    KT_CHECK(d == NULL);
    KT_EQ_INT(Perrorno(), EBADF);
    KT_EQ_INT(PmuEnable(4242), EBADF);
    PmuClose(4242);
    PmuClose(-1);
    int bad = 0;
    char *evts[] = {"task-clock"};
    attr.evtList = evts, attr.numEvt = 1, attr.pidList = &bad, attr.numPid = 1;
    KT_EQ_INT(PmuOpen(COUNTING, &attr), -1);
    KT_EQ_INT(Perrorno(), KPERF_ENOTARGET);
}

KT_TEST(sampling_getpid_fields_symbols) {
    KT_UNUSED();
    int pid = getpid();
    PmuAttr attr = {0};
    attr.evtList = getpid_evt, attr.numEvt = 1, attr.pidList = &pid, attr.numPid = 1;
    attr.symbolMode = RESOLVE_ELF;
    int pd = PmuOpen(SAMPLING, &attr);
    KT_CHECK(pd > 0, "%s", Perror());
    PmuEnable(pd);
    getpid_calls(100);
    PmuDisable(pd);
    PmuData *data = NULL;
    int len = PmuRead(pd, &data);
    PmuClose(pd);
    KT_EQ_INT(len, 100);
    for (int i = 0; i < len; i++) {
        KT_EQ_INT(data[i].pid, pid);
        KT_EQ_INT(data[i].tid, pid);
        KT_EQ_INT(data[i].period, 1);
        KT_CHECK(data[i].rawData && data[i].rawData->size >= 16);
        int nr = -1;
        KT_EQ_INT(PmuGetField(data[i].rawData, "__syscall_nr", &nr, sizeof nr), 0);
        KT_EQ_INT(nr, SYS_getpid);
        KT_CHECK(i == 0 || data[i].ts >= data[i - 1].ts);
        KT_CHECK(data[i].stack && data[i].stack->symbol);
        KT_EQ_STR(data[i].stack->symbol->symbolName, "syscall");
        KT_CHECK(strstr(data[i].stack->symbol->module, "libc"), "%s",
                 data[i].stack->symbol->module);
    }
    /* one Symbol per address per read, shared by every frame */
    KT_CHECK(data[0].stack->symbol == data[len - 1].stack->symbol);
    KT_EQ_INT(data[0].stack->symbol->count, 100);
    SampleRawField *f = PmuGetFieldExp(data[0].rawData, "__syscall_nr");
    KT_CHECK(f != NULL, "%s", Perror());
    KT_EQ_STR(f->fieldName, "__syscall_nr");
    KT_EQ_STR(f->fieldStr, "int __syscall_nr");
    KT_EQ_INT(f->size, 4);
    KT_EQ_INT(f->isSigned, 1);
    KT_CHECK(PmuGetFieldExp(data[0].rawData, "__syscall_nr") == f);
    KT_CHECK(PmuGetFieldExp(data[0].rawData, "nope") == NULL);
    KT_CHECK(strstr(Perror(), "nope"), "%s", Perror());
    char small[2];
    KT_EQ_INT(PmuGetField(data[0].rawData, "__syscall_nr", small, sizeof small), ENOSPC);
    KT_EQ_INT(PmuGetField(NULL, "__syscall_nr", small, sizeof small), EINVAL);
    char path[] = "/tmp/kperf-libkperf-dump-XXXXXX";
    int fd = mkstemp(path);
    KT_CHECK(fd >= 0);
    close(fd);
    KT_EQ_INT(PmuDumpData(data, (unsigned)len, path, 1), 0);
    FILE *fp = fopen(path, "r");
    char line[1024];
    int lines = 0;
    while (fp && fgets(line, sizeof line, fp)) {
        if (lines++ == 0) KT_CHECK(strncmp(line, "evt=syscalls:sys_enter_getpid ", 30) == 0, "%s", line);
    }
    if (fp) fclose(fp);
    unlink(path);
    KT_EQ_INT(lines, 100);
    PmuDataFree(data);
}

KT_TEST(lists_and_topology) {
    KT_UNUSED();
    unsigned n = 0;
    const char **trace = PmuEventList(TRACE_EVENT, &n);
    KT_CHECK(trace && n > 100, "%s", Perror());
    bool found = false;
    for (unsigned i = 0; i < n; i++) found |= !strcmp(trace[i], "syscalls:sys_enter_getpid");
    KT_CHECK(found);
    KT_CHECK(PmuEventList(TRACE_EVENT, &n) == trace); /* cached, process lifetime */
    const char **all = PmuEventList(ALL_EVENT, &n);
    found = false;
    for (unsigned i = 0; all && i < n; i++) found |= !strcmp(all[i], "task-clock");
    KT_CHECK(found);
    unsigned *cores = NULL;
    int nc = PmuGetNumaCore(0, &cores);
    KT_CHECK(nc >= 1 && cores, "%s", Perror());
    KT_EQ_INT(PmuGetNumaCore(999, &cores), -1);
    KT_CHECK(strstr(Perror(), "999"), "%s", Perror());
    KT_CHECK(PmuGetCpuFreq(0) > 100000000LL, "%s", Perror());
    KT_EQ_INT(PmuGetCpuFreq(100000), -1);
    unsigned nf = 0;
    const char **funcs = PmuSysCallFuncList(&nf);
    found = false;
    for (unsigned i = 0; funcs && i < nf; i++) found |= !strcmp(funcs[i], "getpid");
    KT_CHECK(found, "%s", Perror());
    unsigned nb = 99;
    const char **bdf = PmuDeviceBdfList(PMU_BDF_TYPE_PCIE, &nb);
    KT_CHECK(bdf != NULL || nb == 0, "%s", Perror());
}

KT_TEST(device_error) {
    KT_UNUSED();
    PmuDeviceAttr a = {PMU_L3_TRAFFIC, NULL};
    int pd = PmuDeviceOpen(&a, 1);
    if (pd > 0) {
        PmuClose(pd);
        KT_SKIP("this machine has an L3 PMU");
    }
    KT_CHECK(strstr(Perror(), "L3_TRAFFIC"), "%s", Perror());
    PmuDeviceData *dd = NULL;
    KT_EQ_INT(PmuGetDevMetric(NULL, 0, &a, 1, &dd), -1);
    DevDataFree(NULL);
}

KT_TEST(trace_getpid_exact) {
    KT_UNUSED();
    const char *funcs[] = {"getpid"};
    int pid = getpid();
    PmuTraceAttr ta = {0};
    ta.funcs = funcs, ta.numFuncs = 1, ta.pidList = &pid, ta.numPid = 1;
    int pd = PmuTraceOpen(TRACE_SYS_CALL, &ta);
    if (pd < 0 && strstr(Perror(), "not built in")) KT_SKIP("%s", Perror());
    KT_CHECK(pd > 0, "%s", Perror());
    KT_EQ_INT(PmuTraceEnable(pd), 0);
    getpid_calls(300);
    KT_EQ_INT(PmuTraceDisable(pd), 0);
    PmuTraceData *td = NULL;
    int len = PmuTraceRead(pd, &td);
    PmuTraceClose(pd);
    KT_EQ_INT(len, 300);
    for (int i = 0; i < len; i++) {
        KT_EQ_STR(td[i].funcs, "getpid");
        KT_EQ_INT(td[i].pid, pid);
        KT_CHECK(td[i].elapsedTime >= 0 && td[i].elapsedTime < 1000.0);
    }
    PmuTraceDataFree(td);
}

KT_TEST(many_reads) {
    KT_UNUSED();
    char *evts[] = {"task-clock"};
    int pid = getpid();
    PmuAttr attr = {0};
    attr.evtList = evts, attr.numEvt = 1, attr.pidList = &pid, attr.numPid = 1;
    int pd = PmuOpen(COUNTING, &attr);
    KT_CHECK(pd > 0, "%s", Perror());
    PmuEnable(pd);
    for (int i = 0; i < 20000; i++) {
        PmuData *d = NULL;
        int len = PmuRead(pd, &d);
        if (len != 1) KT_FAIL("read %d: %d records: %s", i, len, Perror());
        PmuDataFree(d);
    }
    PmuClose(pd);
}

#define L(T) printf("layout %s %zu\n", #T, sizeof(T))
#define O(T, f) printf("layout %s.%s %zu\n", #T, #f, offsetof(T, f))

int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--layout")) {
        L(PmuAttr); O(PmuAttr, evtAttr); O(PmuAttr, symbolMode); O(PmuAttr, dataFilter);
        O(PmuAttr, minLatency); O(PmuAttr, branchSampleFilter);
        L(PmuData); O(PmuData, ts); O(PmuData, cpuTopo); O(PmuData, countPercent);
        O(PmuData, rawData);
        L(Symbol); O(Symbol, lineNum); O(Symbol, count);
        L(Stack); L(CpuTopology); L(PmuDataExt); L(BranchSampleRecord); L(SampleRawData);
        L(SampleRawField); L(PmuTraceAttr); L(PmuTraceData); O(PmuTraceData, comm);
        L(PmuDeviceAttr); L(PmuDeviceData); O(PmuDeviceData, bdf); L(EvtAttr);
        return 0;
    }
    KT_RUN(counting_getpid_exact);
    KT_RUN(counting_groups);
    KT_RUN(hardware_event_error);
    KT_RUN(argument_errors);
    KT_RUN(sampling_getpid_fields_symbols);
    KT_RUN(lists_and_topology);
    KT_RUN(device_error);
    KT_RUN(trace_getpid_exact);
    KT_RUN(many_reads);
    KT_EXIT();
}
