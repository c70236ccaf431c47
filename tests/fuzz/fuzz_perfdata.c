/* perf.data files (either layout), as `kperf report` reads them. */
#include "fuzz.h"

static int fz_on_record(const kperf_record *r, void *user) {
    (void)user;
    volatile uint64_t sink = r->type + r->time + r->size;
    (void)sink;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    const char *path = fz_put("perf.data", d, n);
    kperf_perfdata_events ev;
    kperf_perfdata_read(path, fz_on_record, NULL, &ev);
    return 0;
}
