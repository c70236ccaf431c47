/* libkperf_count: the C example of libkperf's README as a libkperf program, with
 * libkperf's own include lines. It builds unchanged against kperf's drop-in:
 *
 *     cc examples/libkperf_count.c -Ilibkperf -Lbuild -lkperf
 *
 *     build/examples/libkperf_count PID [EVENT]     (EVENT defaults to "cycles")
 *
 * Counts EVENT in process PID for one second. On a machine without a hardware PMU (most
 * virtual machines) "cycles" fails with kperf's message; try "task-clock" or
 * "context-switches". */
#include "pcerrc.h"
#include "pmu.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PID [EVENT]\n", argv[0]);
        return 2;
    }
    int pid = atoi(argv[1]);
    /* ---- from here on: libkperf's README example ---- */
    int pidList[1];
    pidList[0] = pid;
    char *evtList[1];
    evtList[0] = argc > 2 ? argv[2] : "cycles";
    // Initialize event list and pid list in PmuAttr.
    // There is one event in list, named 'cycles'.
    PmuAttr attr = {0};
    attr.evtList = evtList;
    attr.numEvt = 1;
    attr.pidList = pidList;
    attr.numPid = 1;
    // Call PmuOpen and pmu descriptor <pd> is return.
    // <pd> is an identity for current task.
    int pd = PmuOpen(COUNTING, &attr);
    if (pd < 0) {   /* not in the README: report the library's message */
        fprintf(stderr, "PmuOpen: %s (error %d)\n", Perror(), Perrorno());
        return 1;
    }
    // Start collection.
    PmuEnable(pd);
    // Collect for one second.
    sleep(1);
    // Stop collection.
    PmuDisable(pd);
    PmuData *data = NULL;
    // Read pmu data. You can also read data before PmuDisable.
    int len = PmuRead(pd, &data);
    for (int i = 0; i < len; ++i) {
        printf("%s pid=%d tid=%d cpu=%d comm=%s count=%llu countPercent=%.2f\n", data[i].evt,
               (int)data[i].pid, data[i].tid, data[i].cpu, data[i].comm,
               (unsigned long long)data[i].count, data[i].countPercent);
    }
    // To free PmuData, call PmuDataFree.
    PmuDataFree(data);
    // Like fd, call PmuClose if pd will not be used.
    PmuClose(pd);
    return 0;
}
