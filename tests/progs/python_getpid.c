/* python_getpid N [CHILDREN]: makes exactly N getpid system calls (raw syscall, no libc
 * caching), in the process itself and then in each of CHILDREN forked children. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void calls(long n) {
    for (long i = 0; i < n; i++) syscall(SYS_getpid);
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    int children = argc > 2 ? atoi(argv[2]) : 0;
    calls(n);
    for (int c = 0; c < children; c++) {
        pid_t pid = fork();
        if (pid == 0) {
            calls(n);
            _exit(0);
        }
        waitpid(pid, NULL, 0);
    }
    return 0;
}
