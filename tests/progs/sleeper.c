/* sleeper N MS [report]: sleeps N times for MS milliseconds each, in sleep_outer() ->
 * sleep_inner() -> nanosleep (task-state and off-CPU tests). With "report", prints on
 * stderr "sleep_us N": the CLOCK_MONOTONIC time spent in the sleep_outer calls (the sleeps
 * plus the waits for a CPU after them, which grow on a busy machine). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

__attribute__((noinline)) void sleep_inner(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void sleep_outer(long ms) {
    sleep_inner(ms);
    __asm__ volatile("" ::: "memory");
}

static long long now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 3;
    long ms = argc > 2 ? atol(argv[2]) : 20;
    long long total = 0;
    for (int i = 0; i < n; i++) {
        long long t0 = now_us();
        sleep_outer(ms);
        total += now_us() - t0;
    }
    if (argc > 3 && !strcmp(argv[3], "report")) fprintf(stderr, "sleep_us %lld\n", total);
    return 0;
}
