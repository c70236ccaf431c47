// The implementation instantiated in a C++ translation unit (all three headers), then used:
// a software counter opened, run and read through the C++-compiled code.
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include "kperf_spe.h"
#include <cstdio>
#include <cstring>
#include <sys/mman.h>
// Touches one byte per page. Not instrumented: under ASan the checks would also fault in
// the shadow pages of the mapping and add to the count.
#if defined(__GNUC__)
__attribute__((no_sanitize_address))
#endif
static void touch(volatile char *pages, size_t len) {
    for (size_t i = 0; i < len; i += 4096) pages[i] = 1;
}

int main() {
    int ok = std::strcmp(kperf_strerror(-KPERF_EPARSE), "malformed specification") == 0;
    std::printf("%s - cxx_implementation_strerror\n", ok ? "ok" : "FAIL");
    kperf_counter_desc d;
    std::memset(&d, 0, sizeof d);
    d.events = "page-faults";
    kperf_counter *c = NULL;
    if (kperf_counter_open(&c, &d) < 0) {
        std::printf("SKIP - cxx_implementation_counts: %s\n", kperf_errmsg());
        return ok ? 0 : 1;
    }
    const size_t len = 64 * 4096; /* fresh anonymous pages: one fault each when touched */
    volatile char *pages = (volatile char *)mmap(NULL, len, PROT_READ | PROT_WRITE,
                                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    kperf_counter_start(c);
    touch(pages, len);
    kperf_counter_stop(c);
    munmap((void *)pages, len);
    kperf_counts n;
    int rc = kperf_counter_read(c, &n);
    bool counted = rc == 0 && n.nevents == 1 && n.events[0].v.value == 64;
    std::printf("%s - cxx_implementation_counts: %d page faults for 64 touched pages\n",
                counted ? "ok" : "FAIL", rc == 0 ? (int)n.events[0].v.value : rc);
    kperf_counter_close(c);
    return ok && counted ? 0 : 1;
}
