/* usdt_probes N M: fires the USDT probe kperftest:tick N times and kperftest:guarded M
 * times, the latter only while its semaphore is set (a tracer attached: the kernel
 * increments it for a uprobe with ref_ctr_offset). Prints the semaphore's value at the
 * start. Without <sys/sdt.h> (systemtap-sdt-dev) it says so and exits 2. */
#include <stdio.h>
#include <stdlib.h>
#if defined(__has_include)
#if __has_include(<sys/sdt.h>)
#define HAVE_SDT 1
#endif
#endif
#ifdef HAVE_SDT
#define _SDT_HAS_SEMAPHORES 1
__extension__ unsigned short kperftest_tick_semaphore __attribute__((unused, section(".probes")));
__extension__ unsigned short kperftest_guarded_semaphore __attribute__((unused, section(".probes")));
#include <sys/sdt.h>

__attribute__((noinline)) static void tick(long i) {
    DTRACE_PROBE1(kperftest, tick, i);
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 10, m = argc > 2 ? atol(argv[2]) : 10;
    printf("guarded semaphore %u\n", (unsigned)kperftest_guarded_semaphore);
    for (long i = 0; i < n; i++) tick(i);
    for (long i = 0; i < m; i++)
        if (kperftest_guarded_semaphore) DTRACE_PROBE1(kperftest, guarded, i);
    return 0;
}
#else
int main(void) {
    fprintf(stderr, "usdt_probes: built without <sys/sdt.h>\n");
    return 2;
}
#endif
