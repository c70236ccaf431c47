/* pprof writing from fuzzed samples: the input, line 1 the event name, then 16-byte sample
 * headers (pid, tid, period, number of frames) each followed by its frames (context markers
 * and all), goes through kperf_pprof_add and kperf_pprof_encode (symbolizer-less: addresses
 * and mappings only). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    const uint8_t *nl = (const uint8_t *)memchr(d, '\n', n < 64 ? n : 64);
    size_t el = nl ? (size_t)(nl - d) : 0;
    char *event = fz_str(d, el);
    kperf_pprof_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.event = el ? event : NULL;
    pd.period = n;
    pd.no_labels = n & 1;
    kperf_pprof *p = NULL;
    if (kperf_pprof_new(&p, &pd) < 0) return free(event), 0;
    size_t off = nl ? el + 1 : 0;
    uint64_t ips[64];
    while (off + 16 <= n) {
        kperf_sample s;
        memset(&s, 0, sizeof s);
        uint32_t h[4];
        memcpy(h, d + off, 16);
        off += 16;
        s.pid = h[0] % 8, s.tid = h[1] % 8, s.period = h[2];
        size_t k = h[3] % 64;
        if (k * 8 > n - off) k = (n - off) / 8;
        memcpy(ips, d + off, k * 8);
        off += k * 8;
        s.ips = ips, s.nips = (uint32_t)k, s.ip = k ? ips[0] : h[2];
        kperf_pprof_add(p, &s, (h[1] & 1) ? "comm" : NULL);
    }
    uint8_t *out = NULL;
    size_t len = 0;
    if (kperf_pprof_encode(p, &out, &len) == 0) kperf_pprof_buffer_free(out);
    kperf_pprof_free(p);
    free(event);
    return 0;
}
