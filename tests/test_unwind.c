/* kperf_symbolizer_unwind(): DWARF unwinding of sampled user stacks. The fixture
 * tests/progs/unwind_busy (main -> a -> b -> c, -O2 -fomit-frame-pointer) is sampled with
 * registers and stack copies: the DWARF chains must hold c, b, a, main, and the kernel's
 * frame-pointer chains must not (so the test measures the unwinder). Also: a process that
 * unwinds itself, bad arguments, a process that exited, the per-process cache. */
#include "kperf.h"
#include "kperf_symbols.h"
#include <gelf.h>
#include "kt.h"
#include "test_unwind_common.h"
#include <dirent.h>
#include <pthread.h>

KT_TEST(fixture_dwarf_vs_fp) {
    if (!KPERF_UNWIND_REGS) KT_SKIP("no unwinding register table for this architecture");
    pid_t pid = unw_spawn("5");
    if (pid < 0) KT_SKIP("progs/unwind_busy not built");
    kperf_symbolizer *sym;
    KT_CHECK(kperf_symbolizer_open(&sym, NULL) == 0);
    KT_CHECK(kperf_symbolizer_add_pid(sym, pid) > 0, "%s", kperf_errmsg());
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

KT_TEST(self_unwind) {
#if !defined(SELF_REGS)
    KT_SKIP("the self-unwinding test captures x86-64 or arm64 registers");
#else
    KT_UNUSED();
    static self_snap snap;
    self_a(&snap);
    kperf_sample s;
    uint64_t regs[SELF_NREGS], ips[64];
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
    uint64_t r2[2] = {snap.regs[UNW_SP], snap.regs[UNW_IP]};
    kperf_sample s2 = s;
    s2.regs = r2, s2.nregs = 2;
    int n2 = kperf_symbolizer_unwind(sym, &s2, (1ull << UNW_SP) | (1ull << UNW_IP), ips2,
                                     64);
    KT_CHECK(n2 >= 1 && n2 <= n && !memcmp(ips, ips2, (size_t)n2 * 8), "ip+sp only: %d", n2);
    kperf_symbolizer_close(sym);
#endif
}

#if defined(SELF_REGS)
/* Adds this process's executable file mappings to the symbolizer as those of pid `as`:
 * those of libc only, or all but libc's. */
static int add_own_maps(kperf_symbolizer *sym, pid_t as, bool libc) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[1024];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long lo, hi, off;
        char perms[8], path[900] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %899s", &lo, &hi, perms, &off, path) < 4 ||
            !strchr(perms, 'x') || path[0] != '/' || !strstr(path, "/libc.so") != !libc)
            continue;
        kperf_module_desc m = {.pid = as, .start = lo, .len = hi - lo, .pgoff = off, .path = path};
        n += kperf_symbolizer_add_module(sym, &m) == 0;
    }
    if (f) fclose(f);
    return n;
}

static int count_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    while (d && readdir(d)) n++;
    if (d) closedir(d);
    return n;
}

typedef struct unw_thr {
    kperf_symbolizer *sym;
    const kperf_sample *s;
    const uint64_t *want;
    int nwant, bad;
} unw_thr;

static void *unw_thread(void *arg) {
    unw_thr *t = (unw_thr *)arg;
    for (int i = 0; i < 200; i++) {
        uint64_t ips[64];
        int n = kperf_symbolizer_unwind(t->sym, t->s, KPERF_UNWIND_REGS, ips, 64);
        if (n != t->nwant || memcmp(ips, t->want, (size_t)n * 8)) t->bad++;
    }
    return NULL;
}
#endif

/* The per-process session follows the maps: without libc's mapping the chain stops in libc,
 * once it is added the whole chain comes back; threads share a symbolizer. */
KT_TEST(session_cache_and_threads) {
#if !defined(SELF_REGS)
    KT_SKIP("the test captures x86-64 or arm64 registers");
#else
    KT_UNUSED();
    FILE *mf = fopen("/proc/self/maps", "r");
    char ml[1024];
    bool shared_libc = false;
    while (mf && !shared_libc && fgets(ml, sizeof ml, mf)) shared_libc = strstr(ml, "/libc.so");
    if (mf) fclose(mf);
    if (!shared_libc) KT_SKIP("statically linked (the arm64 guest): no libc mapping to leave out");
    static self_snap snap;
    self_a(&snap);
    kperf_sample s;
    uint64_t regs[SELF_NREGS], ips[64], ips2[64];
    self_sample(&snap, &s, regs);
    kperf_symbolizer *sym;
    KT_CHECK(kperf_symbolizer_open(&sym, NULL) == 0);
    int n = kperf_symbolizer_unwind(sym, &s, KPERF_UNWIND_REGS, ips, 64);
    KT_CHECK(n >= 5, "%d", n);
    /* an exited process known only by its mappings (as in a report), libc's missing: the
     * chain stops at the first frame in libc */
    pid_t fake = 999999999;
    KT_CHECK(add_own_maps(sym, fake, false) >= 1);
    s.pid = (uint32_t)fake;
    int n1 = kperf_symbolizer_unwind(sym, &s, KPERF_UNWIND_REGS, ips2, 64);
    KT_CHECK(n1 >= 5 && n1 < n && !memcmp(ips, ips2, (size_t)n1 * 8), "%d of %d", n1, n);
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, KPERF_UNWIND_REGS, ips2, 64), n1); /* cached */
    /* libc added: the maps changed, the session is rebuilt, the whole chain is back */
    KT_CHECK(add_own_maps(sym, fake, true) >= 1);
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, KPERF_UNWIND_REGS, ips2, 64), n);
    KT_CHECK(!memcmp(ips, ips2, (size_t)n * 8));
    /* four threads unwinding at once, alternating processes: every answer the same */
    kperf_sample s2 = s;
    s2.pid = (uint32_t)getpid();
    unw_thr th[4];
    pthread_t tid[4];
    for (int i = 0; i < 4; i++) {
        th[i] = (unw_thr){sym, i & 1 ? &s : &s2, ips, n, 0};
        pthread_create(&tid[i], NULL, unw_thread, &th[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(tid[i], NULL);
        KT_CHECK(th[i].bad == 0, "thread %d: %d of 200 unwinds differ", i, th[i].bad);
    }
    /* a rebuild per unwind (the maps change each time) leaks no descriptor */
    int fds = 0;
    for (int i = 0; i < 40; i++) {
        if (i == 5) fds = count_fds();
        kperf_module_desc m = {.pid = fake, .start = 0x100000000ull + (uint64_t)(i % 3) * 0x10000,
                               .len = 4096, .path = "/bin/true"};
        KT_CHECK(kperf_symbolizer_add_module(sym, &m) == 0);
        KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, KPERF_UNWIND_REGS, ips2, 64), n);
    }
    KT_EQ_INT(count_fds(), fds);
    kperf_symbolizer_close(sym);
#endif
}

KT_TEST(bad_arguments) {
    if (!KPERF_UNWIND_REGS) KT_SKIP("no unwinding register table for this architecture");
    kperf_symbolizer *sym;
    KT_CHECK(kperf_symbolizer_open(&sym, NULL) == 0);
    uint64_t ips[8], regs[40] = {0};
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
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, 1ull << UNW_BP, ips, 8), -EINVAL); /* bp only */
    KT_CHECK(strstr(kperf_errmsg(), "lacks the ip") != NULL, "%s", kperf_errmsg());
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, 1ull << UNW_IP, ips, 8), -EINVAL); /* ip only */
    KT_CHECK(strstr(kperf_errmsg(), "lacks the sp") != NULL, "%s", kperf_errmsg());
    /* an exited process never added: an error naming it */
    pid_t gone = fork();
    if (gone == 0) _exit(0);
    waitpid(gone, NULL, 0);
    s.pid = (uint32_t)gone, s.nregs = 2;
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, (1ull << UNW_SP) | (1ull << UNW_IP), ips, 8),
              -KPERF_ENOTARGET);
    /* an address-space-less process (file_vaddr) */
    kperf_module_desc m = {.pid = 4242424, .path = "/proc/self/exe", .file_vaddr = true};
    KT_CHECK(kperf_symbolizer_add_module(sym, &m) == 0);
    s.pid = 4242424;
    KT_EQ_INT(kperf_symbolizer_unwind(sym, &s, (1ull << UNW_SP) | (1ull << UNW_IP), ips, 8),
              -KPERF_ENOTSUP);
    kperf_symbolizer_close(sym);
}

int main(void) {
    KT_RUN(fixture_dwarf_vs_fp);
    KT_RUN(self_unwind);
    KT_RUN(session_cache_and_threads);
    KT_RUN(bad_arguments);
    KT_EXIT();
}
