/* kperf_symbolizer_unwind() on bad input: truncated stack copies, registers missing from
 * the mask, a mask that does not match the registers, garbage stack bytes and registers,
 * stacks built to loop, a 32-bit ABI word. Every call must return an error or a short
 * chain (never more than max entries, never a crash or an endless walk); a chain unwound
 * from a truncated copy or fewer registers is a prefix of the full one. Deterministic
 * (fixed seed); input: a snapshot of this process's own stack. */
#include "kperf.h"
#include "kperf_symbols.h"
#include <gelf.h>
#include "kt.h"
#include "test_unwind_common.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
    return rng_state;
}

#if defined(__x86_64__)
static self_snap snap, work;
static uint64_t full[256];
static int nfull;

static bool is_prefix(const uint64_t *ips, int n) {
    if (n < 1 || n > nfull) return false;
    return !memcmp(ips, full, (size_t)n * 8);
}
#endif

KT_TEST(fuzz_unwind) {
#if !defined(__x86_64__)
    KT_SKIP("the fuzz test captures x86-64 registers");
#else
    KT_UNUSED();
    self_a(&snap);
    kperf_symbolizer *sym;
    KT_CHECK(kperf_symbolizer_open(&sym, NULL) == 0);
    kperf_sample s;
    static uint64_t ips[4096]; /* not on the stack: the copy must reach main */
    uint64_t regs[24];
    self_sample(&snap, &s, regs);
    nfull = kperf_symbolizer_unwind(sym, &s, KPERF_UNWIND_REGS, full, 256);
    KT_CHECK(nfull >= 5, "full chain: %d", nfull);

    /* truncated stack copies: every length that is a multiple of 8 up to the first frames,
     * then random lengths; dyn_size larger than the copy is clamped */
    int trunc_bad = 0, shorter = 0;
    for (int k = 0; k < 600; k++) {
        uint64_t len = k < 200 ? (uint64_t)k * 8 : rng() % (snap.len + 1);
        s.stack_size = len, s.stack_dyn_size = (k & 1) ? len : len + 4096;
        int n = kperf_symbolizer_unwind(sym, &s, KPERF_UNWIND_REGS, ips, 256);
        if (!is_prefix(ips, n)) trunc_bad++;
        if (n > 0 && n < nfull) shorter++;
    }
    KT_CHECK(trunc_bad == 0, "%d truncated copies gave a chain that is not a prefix", trunc_bad);
    KT_CHECK(shorter > 0, "truncating the stack never shortened the chain");
    s.stack_size = s.stack_dyn_size = snap.len;
    s.stack = NULL; /* no copy at all: the ip alone at most */
    int n0 = kperf_symbolizer_unwind(sym, &s, KPERF_UNWIND_REGS, ips, 256);
    KT_CHECK(n0 >= 1 && n0 <= 2 && ips[0] == full[0], "no stack: %d", n0);
    s.stack = snap.stack;

    /* registers left out of the mask: -EINVAL without ip or sp, else a prefix */
    int reg_bad = 0, einval = 0;
    for (int k = 0; k < 300; k++) {
        uint64_t mask = KPERF_UNWIND_REGS & rng(), r2[24];
        uint32_t nr = 0;
        for (int bit = 0; bit < 24; bit++)
            if (mask >> bit & 1) r2[nr++] = snap.regs[bit];
        kperf_sample s2 = s;
        s2.regs = r2, s2.nregs = nr;
        int n = nr ? kperf_symbolizer_unwind(sym, &s2, mask, ips, 256) : -EINVAL;
        if (n == -EINVAL) einval++;
        else if (!is_prefix(ips, n)) reg_bad++;
    }
    KT_CHECK(reg_bad == 0, "%d register subsets gave a chain that is not a prefix", reg_bad);
    KT_CHECK(einval > 0 && einval < 300, "%d of 300 subsets rejected", einval);

    /* a mask that does not match the number of registers */
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, KPERF_UNWIND_REGS | (1ull << 9), ips, 256), -EINVAL);
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, 0x1c0, ips, 256), -EINVAL);

    /* garbage: random stack bytes, random registers, stacks of return addresses (a loop) */
    int over = 0, empty = 0;
    for (int k = 0; k < 400; k++) {
        work = snap;
        uint64_t *w = (uint64_t *)(void *)work.stack;
        size_t nw = work.len / 8;
        switch (k % 4) {
        case 0: for (size_t i = 0; i < nw; i++) w[i] = rng(); break;
        case 1: for (size_t i = 0; i < nw; i++) if (rng() % 4 == 0) w[i] = rng(); break;
        case 2: for (size_t i = 0; i < nw; i++) w[i] = full[1 + rng() % (size_t)(nfull - 1)]; break;
        case 3: for (int i = 0; i < 24; i++) if (rng() % 3 == 0) work.regs[i] = rng(); break;
        }
        kperf_sample s3;
        uint64_t r3[24];
        self_sample(&work, &s3, r3);
        if (k % 8 == 7) s3.regs_abi = 1; /* a 32-bit ABI word for a 64-bit process */
        size_t max = k % 5 == 0 ? 4096 : 64;
        int n = kperf_symbolizer_unwind(sym, &s3, KPERF_UNWIND_REGS, ips, max);
        if (n > (int)max || (n > 0 && (size_t)n > nw + 2)) over++;
        if (n == 0) empty++;
    }
    KT_CHECK(over == 0, "%d garbage stacks gave more frames than the copy holds", over);
    KT_CHECK(empty == 0, "%d calls returned 0 entries (expected the ip, or an error)", empty);
    printf("# full chain %d frames; %d truncations shortened it; %d of 300 register subsets "
           "rejected\n", nfull, shorter, einval);
    kperf_symbolizer_close(sym);
#endif
}

int main(void) {
    KT_RUN(fuzz_unwind);
    KT_EXIT();
}
