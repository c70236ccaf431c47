/* Two threads that call getpid, started by a tracer: the workload of the -t tests.
 *   usage: tid_getpid N M GO DONE
 * Prints the worker thread's tid on stdout, then waits for a line on the FIFO GO (the
 * tracer's command writes it once its events are open); the worker calls getpid N times
 * and the main thread M times; then one line is written to the FIFO DONE (the tracer's
 * command reads it and exits, which ends the tracing) before both threads exit. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static long n;
static pthread_barrier_t go;

static void *worker(void *arg) {
    (void)arg;
    printf("%ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    pthread_barrier_wait(&go);
    for (long i = 0; i < n; i++) syscall(SYS_getpid);
    pthread_barrier_wait(&go);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5) return fprintf(stderr, "usage: tid_getpid N M GO DONE\n"), 2;
    n = atol(argv[1]);
    long m = atol(argv[2]);
    pthread_t th;
    pthread_barrier_init(&go, NULL, 2);
    if (pthread_create(&th, NULL, worker, NULL)) return 1;
    char line[16];
    FILE *f = fopen(argv[3], "r"); /* blocks until the tracer's command opens it */
    if (!f || !fgets(line, sizeof line, f)) return 1;
    fclose(f);
    pthread_barrier_wait(&go);
    for (long i = 0; i < m; i++) syscall(SYS_getpid);
    pthread_barrier_wait(&go); /* both threads are done calling */
    f = fopen(argv[4], "w");
    if (!f) return 1;
    fputs("done\n", f);
    fclose(f);
    pthread_join(th, NULL);
    return 0;
}
