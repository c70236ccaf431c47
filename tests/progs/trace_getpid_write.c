/* Calls getpid N times and write M times (one byte to /dev/null), nothing else in between:
 * the workload of the syscall-count tests.  usage: trace_getpid_write N M [DELAY_MS]
 * DELAY_MS (default 0) waits first, so that a tracer can attach with -p. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 100, m = argc > 2 ? atoi(argv[2]) : 50;
    long delay = argc > 3 ? atol(argv[3]) : 0;
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0) return 1;
    if (delay > 0) {
        struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < n; i++) syscall(SYS_getpid);
    for (int i = 0; i < m; i++)
        if (write(fd, "x", 1) != 1) return 1;
    return 0;
}
