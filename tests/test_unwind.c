/* kperf_symbolizer_unwind(): DWARF unwinding of sampled user stacks. The fixture
 * tests/progs/unwind_busy (main -> a -> b -> c, -O2 -fomit-frame-pointer) is sampled with
 * registers and stack copies: the DWARF chains must hold c, b, a, main, and the kernel's
 * frame-pointer chains must not (so the test measures the unwinder). Also: a process that
 * unwinds itself, bad arguments, a process that exited, the per-process cache. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include "kt.h"
#include "test_unwind_common.h"

KT_TEST(fixture_dwarf_vs_fp) {
    if (!KPERF_UNWIND_REGS) KT_SKIP("no unwinding register table for this architecture");
    pid_t pid = unw_spawn("5");
    if (pid < 0) KT_SKIP("progs/unwind_busy not built");
    kperf_symbolizer *sym;
    KT_CHECK(kperf_symbolizer_open(&sym, NULL) == 0);
    KT_CHECK(kperf_symbolizer_add_pid(sym, pid) > 0);
    unw_set set = {NULL, 0, 0};
    int rc = unw_sample(pid, 200, &set);
    if (rc < 0) {
        unw_kill(pid);
        kperf_symbolizer_close(sym);
        KT_SKIP("cannot sample: %s", kperf_errmsg());
    }
    size_t in_c = 0, dwarf_ok = 0, fp_ok = 0, deeper = 0;
    for (size_t i = 0; i < set.n; i++) {
        const kperf_sample *s = &set.v[i].s;
        uint64_t ips[128];
        int n = kperf_symbolizer_unwind(sym, s, KPERF_UNWIND_REGS, ips, 128);
        KT_CHECK(n >= 1, "sample %zu: %s", i, n < 0 ? kperf_errmsg() : "no frames");
        if (n < 1) continue;
        KT_CHECK(ips[0] == s->ip, "the first entry is the sampled ip");
        const char *names[128], *fpn[128];
        size_t nn = unw_names(sym, pid, ips, (size_t)n, names, 128);
        if (strcmp(names[0], "c")) continue; /* in the vDSO or libc: clock_gettime */
        in_c++;
        if (unw_has_chain(names, nn)) dwarf_ok++;
        if (nn > 4) deeper++; /* through main into libc's start code */
        size_t nf = unw_names(sym, pid, s->ips, s->nips, fpn, 128);
        if (unw_has_chain(fpn, nf)) fp_ok++;
    }
    unw_kill(pid);
    kperf_symbolizer_close(sym);
    printf("# %zu samples, %zu in c: DWARF chain in %zu, past main in %zu, frame-pointer "
           "chain in %zu\n", set.n, in_c, dwarf_ok, deeper, fp_ok);
    unw_set_free(&set);
    KT_CHECK(in_c >= 20, "only %zu samples in c", in_c);
    KT_CHECK(dwarf_ok * 10 >= in_c * 9, "DWARF chains c;b;a;main in %zu of %zu samples",
             dwarf_ok, in_c);
    KT_CHECK(deeper * 10 >= in_c * 9, "chains past main in %zu of %zu samples", deeper, in_c);
    KT_CHECK(fp_ok * 10 <= in_c, "frame-pointer chains c;b;a;main in %zu of %zu samples: the "
             "fixture has frame pointers after all", fp_ok, in_c);
}

/* ---- self-unwinding: registers and stack of this very process ---------------------- */

#if defined(__x86_64__)
typedef struct self_snap {
    uint64_t regs[24]; /* perf order */
    unsigned char stack[16384];
    uint64_t len;
} self_snap;

static uint64_t stack_top(uint64_t sp) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    uint64_t top = sp;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && sp >= lo && sp < hi) top = hi;
    }
    if (f) fclose(f);
    return top;
}

/* Byte copy without ASan's checks: the stack holds other frames' redzones. */
__attribute__((no_sanitize_address, noinline)) static void raw_copy(unsigned char *d,
                                                                   const unsigned char *s,
                                                                   size_t n) {
    for (size_t i = 0; i < n; i++) ((volatile unsigned char *)d)[i] = s[i];
}

__attribute__((noinline, noclone)) static void self_capture(self_snap *o) {
    uint64_t *r = o->regs;
    __asm__ volatile("movq %%rax, 0(%0)\n\t"
                     "movq %%rbx, 8(%0)\n\t"
                     "movq %%rcx, 16(%0)\n\t"
                     "movq %%rdx, 24(%0)\n\t"
                     "movq %%rsi, 32(%0)\n\t"
                     "movq %%rdi, 40(%0)\n\t"
                     "movq %%rbp, 48(%0)\n\t"
                     "movq %%rsp, 56(%0)\n\t"
                     "leaq 0(%%rip), %%rax\n\t"
                     "movq %%rax, 64(%0)\n\t"
                     "movq %%r8, 128(%0)\n\t"
                     "movq %%r9, 136(%0)\n\t"
                     "movq %%r10, 144(%0)\n\t"
                     "movq %%r11, 152(%0)\n\t"
                     "movq %%r12, 160(%0)\n\t"
                     "movq %%r13, 168(%0)\n\t"
                     "movq %%r14, 176(%0)\n\t"
                     "movq %%r15, 184(%0)\n\t"
                     :
                     : "r"(r)
                     : "rax", "memory");
    uint64_t sp = r[7], top = stack_top(sp);
    o->len = top - sp < sizeof o->stack ? top - sp : sizeof o->stack;
    raw_copy(o->stack, (const unsigned char *)(uintptr_t)sp, o->len);
}

static volatile int self_sink;
__attribute__((noinline, noclone)) static void self_c(self_snap *o) { self_capture(o); self_sink++; }
__attribute__((noinline, noclone)) static void self_b(self_snap *o) { self_c(o); self_sink++; }
__attribute__((noinline, noclone)) static void self_a(self_snap *o) { self_b(o); self_sink++; }

/* A sample built from a snapshot: the registers of KPERF_UNWIND_REGS in mask order. */
static void self_sample(self_snap *o, kperf_sample *s, uint64_t *regs) {
    memset(s, 0, sizeof *s);
    uint32_t k = 0;
    for (int bit = 0; bit < 24; bit++)
        if (KPERF_UNWIND_REGS >> bit & 1) regs[k++] = o->regs[bit];
    s->pid = (uint32_t)getpid();
    s->ip = o->regs[8];
    s->regs_abi = 2, s->regs = regs, s->nregs = k;
    s->stack = o->stack, s->stack_size = s->stack_dyn_size = o->len;
}
#endif

KT_TEST(self_unwind) {
#if !defined(__x86_64__)
    KT_SKIP("the self-unwinding test captures x86-64 registers");
#else
    KT_UNUSED();
    static self_snap snap;
    self_a(&snap);
    kperf_sample s;
    uint64_t regs[24], ips[64];
    self_sample(&snap, &s, regs);
    kperf_symbolizer *sym;
    KT_CHECK(kperf_symbolizer_open(&sym, NULL) == 0);
    int n = kperf_symbolizer_unwind(sym, &s, KPERF_UNWIND_REGS, ips, 64);
    KT_CHECK(n >= 5, "%d frames: %s", n, n < 0 ? kperf_errmsg() : "");
    const char *names[64];
    size_t nn = n > 0 ? unw_names(sym, getpid(), ips, (size_t)n, names, 64) : 0;
    static const char *want[] = {"self_capture", "self_c", "self_b", "self_a",
                                 "kt_test_self_unwind"};
    for (size_t i = 0; i < 5 && i < nn; i++) /* a clone ("name.constprop.0") is the same */
        KT_CHECK(!strncmp(names[i], want[i], strlen(want[i])) &&
                     (!names[i][strlen(want[i])] || names[i][strlen(want[i])] == '.'),
                 "frame %zu is %s, expected %s", i, names[i], want[i]);
    KT_CHECK(nn >= 5, "%zu frames", nn);
    bool has_main = false;
    for (size_t i = 0; i < nn; i++) has_main |= !strcmp(names[i], "main");
    KT_CHECK(has_main, "the chain reaches main");
    /* a second unwind of the same sample uses the cached session and gives the same chain */
    uint64_t ips2[64];
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, KPERF_UNWIND_REGS, ips2, 64), n);
    KT_CHECK(n > 0 && !memcmp(ips, ips2, (size_t)n * 8));
    /* a short buffer is filled and not overrun */
    uint64_t few[3] = {0, 0, 0xdead};
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, KPERF_UNWIND_REGS, few, 2), 2);
    KT_CHECK(few[0] == ips[0] && few[1] == ips[1] && few[2] == 0xdead);
    /* ip and sp only: a prefix of the full chain (all of it for sp-based CFI; code built
     * with frame pointers stops where the CFA is rbp-based) */
    uint64_t r2[2] = {snap.regs[7], snap.regs[8]};
    kperf_sample s2 = s;
    s2.regs = r2, s2.nregs = 2;
    int n2 = kperf_symbolizer_unwind(sym, &s2, (1ull << 7) | (1ull << 8), ips2, 64);
    KT_CHECK(n2 >= 1 && n2 <= n && !memcmp(ips, ips2, (size_t)n2 * 8), "ip+sp only: %d", n2);
    kperf_symbolizer_close(sym);
#endif
}

KT_TEST(bad_arguments) {
    if (!KPERF_UNWIND_REGS) KT_SKIP("no unwinding register table for this architecture");
    kperf_symbolizer *sym;
    KT_CHECK(kperf_symbolizer_open(&sym, NULL) == 0);
    uint64_t ips[8], regs[24] = {0};
    kperf_sample s;
    memset(&s, 0, sizeof s);
    s.pid = (uint32_t)getpid();
    KT_EQ_INT(kperf_symbolizer_unwind(NULL, &s, 0, ips, 8), -EINVAL);
    KT_EQ_INT(kperf_symbolizer_unwind(sym, NULL, 0, ips, 8), -EINVAL);
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, 0, NULL, 8), -EINVAL);
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, 0, ips, 0), 0);
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, 0, ips, 8), -EINVAL); /* no registers */
    KT_CHECK(strstr(kperf_errmsg(), "no user registers") != NULL, "%s", kperf_errmsg());
    s.regs_abi = 2, s.regs = regs, s.nregs = 1;
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, 1ull << 6, ips, 8), -EINVAL); /* bp only */
    KT_CHECK(strstr(kperf_errmsg(), "lacks the ip") != NULL, "%s", kperf_errmsg());
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, 1ull << 8, ips, 8), -EINVAL); /* ip only */
    KT_CHECK(strstr(kperf_errmsg(), "lacks the sp") != NULL, "%s", kperf_errmsg());
    /* an exited process never added: an error naming it */
    pid_t gone = fork();
    if (gone == 0) _exit(0);
    waitpid(gone, NULL, 0);
    s.pid = (uint32_t)gone, s.nregs = 2;
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, (1ull << 7) | (1ull << 8), ips, 8),
              -KPERF_ENOTARGET);
    /* an address-space-less process (file_vaddr) */
    kperf_module_desc m = {.pid = 4242424, .path = "/proc/self/exe", .file_vaddr = true};
    KT_CHECK(kperf_symbolizer_add_module(sym, &m) == 0);
    s.pid = 4242424;
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, (1ull << 7) | (1ull << 8), ips, 8),
              -KPERF_ENOTSUP);
    kperf_symbolizer_close(sym);
}

int main(void) {
    KT_RUN(fixture_dwarf_vs_fp);
    KT_RUN(self_unwind);
    KT_RUN(bad_arguments);
    KT_EXIT();
}
