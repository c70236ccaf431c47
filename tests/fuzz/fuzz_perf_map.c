/* perf-PID.map files (JIT symbol maps any process can write to /tmp), read for a process
 * that no longer exists; lookups at every start address the input names. */
#include "fuzz.h"

#define FZ_PID 4190001 /* above any pid a test machine hands out */

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    char rel[64];
    snprintf(rel, sizeof rel, "maps/perf-%d.map", FZ_PID);
    fz_put(rel, d, n);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/maps", fz_dir());
    kperf_symbolizer_desc sd;
    memset(&sd, 0, sizeof sd);
    sd.perf_map_dir = dir;
    kperf_symbolizer *s = NULL;
    if (kperf_symbolizer_open(&s, &sd) < 0) return 0;
    char *text = fz_str(d, n), *p = text;
    for (int i = 0; i < 16 && p && *p; i++) {
        uint64_t a = strtoull(p, NULL, 16);
        kperf_frame f[4];
        kperf_symbolizer_lookup(s, FZ_PID, a, f, 4);
        kperf_symbolizer_lookup(s, FZ_PID, a + 1, f, 4);
        p = strchr(p, '\n');
        if (p) p++;
    }
    free(text);
    kperf_symbolizer_close(s);
    return 0;
}
