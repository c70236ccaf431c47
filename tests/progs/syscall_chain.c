/* syscall_chain N: N rounds of getpid, getppid, gettid in this order, one thread
 * (multi-trace chains: N latencies per link). */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100;
    for (long i = 0; i < n; i++) {
        syscall(SYS_getpid);
        syscall(SYS_getppid);
        syscall(SYS_gettid);
    }
    return 0;
}
