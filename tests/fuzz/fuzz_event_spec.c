/* Event specs and filters as a user or a config file writes them (`-e ...`), parsed against
 * a fixture PMU tree (tests/fixtures/sysfs/intel-skx-2s, or $KPERF_FUZZ_SYSFS). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    static kperf_pmus *pmus;
    if (!pmus) {
        const char *root = getenv("KPERF_FUZZ_SYSFS");
        if (kperf_pmus_open(&pmus, root ? root : "tests/fixtures/sysfs/intel-skx-2s") < 0) {
            fprintf(stderr, "fuzz_event_spec: %s (run from the repository root)\n", kperf_errmsg());
            abort();
        }
    }
    char *spec = fz_str(d, n);
    kperf_evlist *l = NULL;
    if (kperf_evlist_parse(&l, spec, pmus) == 0) kperf_evlist_free(l);
    free(spec);
    return 0;
}
