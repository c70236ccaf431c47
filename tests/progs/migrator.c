/* migrator K: pins itself to CPU 0, then K times alternately to CPU 1 and CPU 0 with
 * sched_setaffinity (each change away from the CPU it runs on forces one migration:
 * sched-migrate tests). Prints "pid P" on stderr. Needs CPUs 0 and 1. */
#define _GNU_SOURCE 1
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int pin(int cpu) {
    cpu_set_t s;
    CPU_ZERO(&s);
    CPU_SET(cpu, &s);
    if (sched_setaffinity(0, sizeof s, &s) != 0) return perror("sched_setaffinity"), -1;
    return sched_getcpu() == cpu ? 0 : -1;
}

int main(int argc, char **argv) {
    int k = argc > 1 ? atoi(argv[1]) : 10;
    fprintf(stderr, "pid %d\n", (int)getpid());
    if (pin(0) < 0) return 1;
    for (int i = 0; i < k; i++)
        if (pin(i % 2 ? 0 : 1) < 0) return 1;
    return 0;
}
