/* USDT notes (.note.stapsdt of an ELF file): kperf_usdt_notes over the input's bytes;
 * every probe it reports has NUL-terminated names and offsets inside the input. */
#include "fuzz.h"

static int fz_usdt_one(const kperf_usdt_note *n, void *user) {
    size_t size = *(const size_t *)user;
    if (strnlen(n->provider, sizeof n->provider) == sizeof n->provider ||
        strnlen(n->name, sizeof n->name) == sizeof n->name || n->offset >= size ||
        (n->semaphore && n->sem_offset >= size))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    kperf_usdt_notes(d, n, fz_usdt_one, &n);
    return 0;
}
