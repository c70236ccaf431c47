/* sample_forkexec PROG [ARGS...]: burns a little CPU, forks, the child execs PROG ARGS,
 * the parent waits for it. Exercises FORK, COMM(exec), MMAP2 and EXIT records. */
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long forkexec_sink;

static void burn(double secs) {
    struct timespec a, b;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    do {
        for (int i = 0; i < 10000; i++) forkexec_sink += (unsigned long)i * 7;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    } while ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9 < secs);
}

int main(int argc, char **argv) {
    if (argc < 2) return fprintf(stderr, "usage: sample_forkexec PROG [ARGS]\n"), 2;
    burn(0.05);
    pid_t pid = fork();
    if (pid == 0) {
        execv(argv[1], argv + 1);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}
