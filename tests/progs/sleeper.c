/* sleeper N MS: sleeps N times for MS milliseconds each, in sleep_outer() -> sleep_inner()
 * -> nanosleep (task-state and off-CPU tests). */
#include <stdlib.h>
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

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 3;
    long ms = argc > 2 ? atol(argv[2]) : 20;
    for (int i = 0; i < n; i++) sleep_outer(ms);
    return 0;
}
