/* Runs one counter request and prints "<code> <kperf_strerror> | <kperf_errmsg>" or "ok".
 * tests/test_errors.c runs it as an unprivileged user (setpriv) to see the permission
 * diagnosis. usage: count_unpriv user|kernel|allcpus|pid PID */
#define KPERF_IMPLEMENTATION
#include "../../kperf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    kperf_counter_desc d;
    memset(&d, 0, sizeof d);
    d.events = "task-clock";
    pid_t pid = 0;
    if (!strcmp(argv[1], "kernel")) d.include_kernel = true;
    else if (!strcmp(argv[1], "allcpus")) d.all_cpus = true;
    else if (!strcmp(argv[1], "pid") && argc > 2) pid = atoi(argv[2]), d.pids = &pid, d.npids = 1;
    kperf_counter *c;
    int rc = kperf_counter_open(&c, &d);
    if (rc < 0) {
        printf("%d %s | %s\n", rc, kperf_strerror(rc), kperf_errmsg());
        return 1;
    }
    printf("ok\n");
    kperf_counter_close(c);
    return 0;
}
