/* A deterministic tracepoint workload for tests/test_perfdata_trace.sh: N getpid() calls,
 * N close() calls on the fds 1000..1000+N-1 (not open: each fails with EBADF, but the
 * sys_enter_close tracepoint fires with a known argument), then S short sleeps (each one a
 * sched_switch away from this task in state S).
 * usage: perfdata_trace N S */
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 10, sleeps = argc > 2 ? atoi(argv[2]) : 3;
    for (int i = 0; i < n; i++) syscall(SYS_getpid);
    for (int i = 0; i < n; i++) syscall(SYS_close, 1000 + i);
    for (int i = 0; i < sleeps; i++) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}
