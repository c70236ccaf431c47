/* fork_threads [SECONDS]: forks a child that burns CPU in work_child(), and starts a thread
 * that burns CPU in work_thread(), each for SECONDS of its own CPU time (default 0.3). The
 * child never maps or names anything itself: its samples resolve only through the FORK
 * record (the parent's maps and comm), its thread's through the process it belongs to. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long fork_threads_sink;
static double secs = 0.3;

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

__attribute__((noinline)) void burn(void) {
    double end = cpu_now() + secs;
    do {
        for (unsigned long i = 0; i < 20000; i++) fork_threads_sink += i * i;
    } while (cpu_now() < end);
}

__attribute__((noinline)) void work_child(void) { burn(); }

__attribute__((noinline)) void *work_thread(void *arg) {
    (void)arg;
    burn();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) secs = atof(argv[1]);
    pid_t p = fork();
    if (p == 0) {
        work_child();
        _exit(0);
    }
    pthread_t t;
    if (pthread_create(&t, NULL, work_thread, NULL)) return 1;
    pthread_join(t, NULL);
    waitpid(p, NULL, 0);
    return 0;
}
