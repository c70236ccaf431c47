/* pingpong N [FILE]: a parent and a child pass one byte back and forth through two pipes N
 * times (rundelay and multi-trace tests: each blocking read ends in a wake-up). With FILE,
 * each process appends its count of involuntary context switches (preemptions, which a
 * busy machine adds to the switch-ins) to FILE, one line each. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static void note_preemptions(const char *path) {
    struct rusage ru;
    FILE *f;
    if (!path || getrusage(RUSAGE_SELF, &ru) != 0 || !(f = fopen(path, "a"))) return;
    fprintf(f, "%ld\n", ru.ru_nivcsw);
    fclose(f);
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 100;
    int a[2], b[2];
    char c = 0;
    if (pipe(a) || pipe(b)) return 1;
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        for (int i = 0; i < n; i++)
            if (read(a[0], &c, 1) != 1 || write(b[1], &c, 1) != 1) _exit(1);
        note_preemptions(argc > 2 ? argv[2] : NULL);
        _exit(0);
    }
    for (int i = 0; i < n; i++)
        if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1) return 1;
    int st;
    waitpid(pid, &st, 0);
    note_preemptions(argc > 2 ? argv[2] : NULL);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
