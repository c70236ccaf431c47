/* ELF and DWARF through the symbolizer: the input is a module file (any binary a profiled
 * process maps); byte 0 of it also picks the mode (DWARF, ELF symbols, GNU addr2line
 * compatibility). Lookups at the entry point and at addresses taken from the input's tail
 * read symbol tables, line tables, inline chains and debug links; then the build-id reader. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (n < 1) return 0;
    const char *path = fz_put("mod.so", d, n);
    kperf_symbolizer_desc sd;
    memset(&sd, 0, sizeof sd);
    sd.mode = (d[0] & 1) ? KPERF_SYMBOL_ELF : KPERF_SYMBOL_DWARF;
    sd.gnu_compat = (d[0] & 2) != 0;
    sd.debug_dir = fz_dir(); /* debug links resolve inside the scratch directory only */
    kperf_symbolizer *s = NULL;
    if (kperf_symbolizer_open(&s, &sd) < 0) return 0;
    kperf_module_desc m;
    memset(&m, 0, sizeof m);
    m.path = path, m.file_vaddr = true;
    if (kperf_symbolizer_add_module(s, &m) == 0) {
        uint64_t addrs[10] = {0};
        if (n >= 32) memcpy(&addrs[0], d + 24, 8); /* e_entry of a 64-bit ELF */
        for (int i = 1; i < 10 && n >= 8 * (size_t)i; i++) memcpy(&addrs[i], d + n - 8 * (size_t)i, 8);
        for (int i = 0; i < 10; i++) {
            kperf_frame f[8];
            kperf_symbolizer_lookup(s, 0, addrs[i], f, 8);
            kperf_symbolizer_lookup(s, 0, addrs[i] & 0xffffff, f, 8);
        }
    }
    kperf_symbolizer_close(s);
    uint8_t id[20];
    kperf_build_id_read(path, id);
    return 0;
}
