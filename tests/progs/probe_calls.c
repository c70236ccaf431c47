/* probe_calls N: calls probe_target() exactly N times (uprobe/uretprobe counting tests). */
#include <stdlib.h>

volatile int probe_sink;

__attribute__((noinline)) int probe_target(int i) {
    probe_sink += i;
    __asm__ volatile("" ::: "memory");
    return probe_sink;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 10;
    for (int i = 0; i < n; i++) probe_target(i);
    return 0;
}
