/* spin_phases CALLS_MS QUIET_MS: spins CALLS_MS ms of CPU time making getpid calls
 * (spin_calls), then QUIET_MS ms of CPU time without any syscall (spin_quiet): kperf
 * hrtimer reports the quiet phase only. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long cpu_ns(void) { /* vDSO: no syscall */
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

__attribute__((noinline)) static void spin_calls(long ms) {
    long end = cpu_ns() + ms * 1000000L;
    while (cpu_ns() < end) syscall(SYS_getpid);
}

__attribute__((noinline)) static void spin_quiet(long ms) {
    long end = cpu_ns() + ms * 1000000L;
    volatile unsigned x = 0;
    while (cpu_ns() < end)
        for (int i = 0; i < 100000; i++) x += (unsigned)i;
}

int main(int argc, char **argv) {
    spin_calls(argc > 1 ? atol(argv[1]) : 50);
    spin_quiet(argc > 2 ? atol(argv[2]) : 50);
    return 0;
}
