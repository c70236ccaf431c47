/* jitdump files (jit-PID.dump: CODE_LOAD, CODE_MOVE, DEBUG_INFO records a JIT writes), read
 * for a process that no longer exists; lookups at every 8-byte word of the input's first
 * 512 bytes (code addresses of the records among them). */
#include "fuzz.h"

#define FZ_PID 4190002 /* above any pid a test machine hands out */

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    char rel[64];
    snprintf(rel, sizeof rel, "jit/jit-%d.dump", FZ_PID);
    fz_put(rel, d, n);
    char dir[128];
    snprintf(dir, sizeof dir, "%s/jit", fz_dir());
    kperf_symbolizer_desc sd;
    memset(&sd, 0, sizeof sd);
    sd.perf_map_dir = dir;
    kperf_symbolizer *s = NULL;
    if (kperf_symbolizer_open(&s, &sd) < 0) return 0;
    for (size_t off = 0; off + 8 <= n && off < 512; off += 8) {
        uint64_t a;
        memcpy(&a, d + off, 8);
        kperf_frame f[4];
        kperf_symbolizer_lookup(s, FZ_PID, a + 1, f, 4);
    }
    kperf_symbolizer_close(s);
    return 0;
}
