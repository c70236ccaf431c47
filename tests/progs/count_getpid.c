/* Deterministic workload for the counting tests: N getpid calls in the main thread and in
 * each of T threads, after an optional delay, then an optional sleep.
 * usage: count_getpid N [T] [delay_ms] [sleep_ms] */
#include <pthread.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long n;

static void *work(void *arg) {
    (void)arg;
    for (long i = 0; i < n; i++) syscall(SYS_getpid);
    return NULL;
}

static void ms_sleep(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {}
}

int main(int argc, char **argv) {
    n = argc > 1 ? atol(argv[1]) : 1000;
    int t = argc > 2 ? atoi(argv[2]) : 0;
    if (argc > 3) ms_sleep(atol(argv[3]));
    pthread_t th[64];
    if (t > 64) t = 64;
    for (int i = 0; i < t; i++) pthread_create(&th[i], NULL, work, NULL);
    work(NULL);
    for (int i = 0; i < t; i++) pthread_join(th[i], NULL);
    if (argc > 4) ms_sleep(atol(argv[4]));
    return 0;
}
