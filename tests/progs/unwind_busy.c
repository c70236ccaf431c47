/* Fixture for tests/test_unwind*: a known call chain main -> a -> b -> c, spinning in c.
 * Built with -O2 -fomit-frame-pointer -g (Makefile rule for progs/unwind_*): no frame
 * pointers, so only DWARF unwinding recovers the chain.
 *   unwind_busy [SECONDS]   spin for SECONDS of its own CPU time (default 10), then exit 0
 * (CPU time, not wall time: a sampled run gets the same number of samples on a busy
 * machine, so the start-up stacks stay the same small share of them) */
#include <stdlib.h>
#include <time.h>

static volatile unsigned long sink;

__attribute__((noinline, noclone)) static unsigned long c(double secs) {
    struct timespec t0, t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    unsigned long x = 0;
    for (;;) {
        for (int i = 0; i < 1000000; i++) x = x * 6364136223846793005ul + (unsigned long)i;
        sink = x;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) * 1e-9 >= secs) break;
    }
    return x;
}

/* each caller uses the result after the call, so the call is not a tail jump */
__attribute__((noinline, noclone)) static unsigned long b(double secs) {
    unsigned long r = c(secs);
    sink += r;
    return r + 1;
}

__attribute__((noinline, noclone)) static unsigned long a(double secs) {
    unsigned long r = b(secs);
    sink += r;
    return r + 2;
}

int main(int argc, char **argv) {
    double secs = argc > 1 ? atof(argv[1]) : 10.0;
    unsigned long r = a(secs);
    sink += r;
    return 0;
}
