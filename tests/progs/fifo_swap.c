/* fifo_swap DIR [SECONDS]: what a hostile profiled process can do to a profiler. Maps a copy of
 * itself, DIR/lib.so, executable (an MMAP2 record names DIR/lib.so), moves the file away and
 * puts a FIFO at DIR/lib.so, then burns SECONDS of CPU (default 0.3). A profiler that opens
 * DIR/lib.so blocking (to read its build-id or symbols) hangs forever. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

volatile unsigned long fifo_sink;

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2) return fprintf(stderr, "usage: fifo_swap DIR [SECONDS]\n"), 2;
    char lib[4096], moved[4200], buf[65536];
    snprintf(lib, sizeof lib, "%s/lib.so", argv[1]);
    snprintf(moved, sizeof moved, "%s/lib.so.moved", argv[1]);
    int in = open("/proc/self/exe", O_RDONLY), out = open(lib, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (in < 0 || out < 0) return perror("fifo_swap: copy"), 1;
    for (ssize_t n; (n = read(in, buf, sizeof buf)) > 0;)
        if (write(out, buf, (size_t)n) != n) return perror("fifo_swap: write"), 1;
    close(in);
    close(out);
    int fd = open(lib, O_RDONLY);
    void *p = fd >= 0 ? mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    if (p == MAP_FAILED) return perror("fifo_swap: mmap"), 1;
    close(fd);
    if (rename(lib, moved) || mkfifo(lib, 0644)) return perror("fifo_swap: fifo"), 1;
    double end = cpu_now() + (argc > 2 ? atof(argv[2]) : 0.3);
    do {
        for (unsigned long i = 0; i < 20000; i++) fifo_sink += i * i ^ (fifo_sink >> 3);
    } while (cpu_now() < end);
    return 0;
}
