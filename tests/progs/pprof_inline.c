/* pprof_inline [SECONDS]: burns CPU in pp_leaf(), always inlined into pp_outer() (so that a
 * sample there symbolizes to an inline chain pp_leaf <- pp_outer), called from main, for
 * SECONDS of its own CPU time (default 1). Used by tests/test_pprof.sh. */
#include <stdlib.h>
#include <time.h>

volatile unsigned long pp_sink;

static double pp_cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static inline __attribute__((always_inline)) void pp_leaf(void) {
    for (unsigned long i = 0; i < 20000; i++) pp_sink += i * i ^ (pp_sink >> 3);
}

__attribute__((noinline)) void pp_outer(double secs) {
    double end = pp_cpu() + secs;
    do pp_leaf();
    while (pp_cpu() < end);
}

int main(int argc, char **argv) {
    pp_outer(argc > 1 ? atof(argv[1]) : 1.0);
    return 0;
}
