/* sample_busy [SECONDS [report]]: burns CPU in sample_hot(), called from sample_caller(),
 * for SECONDS of its own CPU time (default 1); with "report", prints "cpu_ns N" (its
 * CLOCK_PROCESS_CPUTIME_ID, the kernel's run time of the process) on stderr at the end. Built with frame pointers; sample_hot is not a
 * leaf (it calls clock_gettime) so that a frame-pointer walk sees its caller. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

volatile unsigned long sample_sink;

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

__attribute__((noinline)) void sample_hot(double secs) {
    double end = cpu_now() + secs;
    do {
        for (unsigned long i = 0; i < 20000; i++) sample_sink += i * i ^ (sample_sink >> 3);
    } while (cpu_now() < end);
}

__attribute__((noinline)) void sample_caller(double secs) {
    sample_hot(secs);
    sample_sink++;
}

int main(int argc, char **argv) {
    sample_caller(argc > 1 ? atof(argv[1]) : 1.0);
    if (argc > 2) {
        struct timespec t;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
        fprintf(stderr, "cpu_ns %lld\n", (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
    }
    return 0;
}
