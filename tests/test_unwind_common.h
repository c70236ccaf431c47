/* Shared by tests/test_unwind*.c: run the fixture tests/progs/unwind_busy (main -> a -> b ->
 * c, no frame pointers) under a sampler that records user registers and stack copies, and
 * keep copies of the samples. */
#pragma GCC diagnostic ignored "-Wunused-function" /* each test uses a part */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct unw_smp {
    kperf_sample s; /* pointers below point into this struct */
    uint64_t regs[64];
    uint64_t ips[128];
    unsigned char *stack;
} unw_smp;

typedef struct unw_set {
    unw_smp *v;
    size_t n, cap;
} unw_set;

static const char *unw_build_dir(void) {
    const char *b = getenv("KPERF_BUILD");
    return b && *b ? b : "build";
}

static int unw_keep(const kperf_record *rec, void *user) {
    unw_set *set = (unw_set *)user;
    if (rec->type != KPERF_RECORD_SAMPLE || set->n == set->cap) return 0;
    const kperf_sample *s = &rec->sample;
    unw_smp *o = &set->v[set->n];
    memset(o, 0, sizeof *o);
    o->s = *s;
    if (s->nregs > 64 || s->nips > 128) return 0;
    memcpy(o->regs, s->regs, s->nregs * 8);
    memcpy(o->ips, s->ips, s->nips * 8);
    o->s.regs = o->regs, o->s.ips = o->ips;
    if (s->stack && s->stack_size) {
        o->stack = (unsigned char *)malloc(s->stack_size);
        if (!o->stack) return 0;
        memcpy(o->stack, s->stack, s->stack_size);
        o->s.stack = o->stack;
    }
    set->n++;
    return 0;
}

static void unw_set_free(unw_set *set) {
    for (size_t i = 0; i < set->n; i++) free(set->v[i].stack);
    free(set->v);
    memset(set, 0, sizeof *set);
}

/* Starts the fixture and waits until it runs its own code; returns its pid or -1. */
static pid_t unw_spawn(const char *secs) {
    char bin[512];
    snprintf(bin, sizeof bin, "%s/progs/unwind_busy", unw_build_dir());
    if (access(bin, X_OK)) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        execl(bin, bin, secs, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 2500 && pid > 0; i++) { /* until the exec and ld.so are done */
        char p[64], exe[512], line[512];
        snprintf(p, sizeof p, "/proc/%d/exe", (int)pid);
        ssize_t n = readlink(p, exe, sizeof exe - 1);
        if (n > 0 && (exe[n] = 0, strstr(exe, "unwind_busy"))) {
            snprintf(p, sizeof p, "/proc/%d/maps", (int)pid);
            FILE *m = fopen(p, "r");
            /* a static build (the arm64 guest) maps no ld.so and no libc: ready once the
             * exec mapped the vDSO, which it does after any interpreter */
            bool libc = false, interp = false, vdso = false;
            while (m && !libc && fgets(line, sizeof line, m)) {
                libc = strstr(line, "/libc") != NULL;
                interp |= strstr(line, "/ld-") != NULL;
                vdso |= strstr(line, "[vdso]") != NULL;
            }
            if (m) fclose(m);
            if (libc || (vdso && !interp)) return pid;
        }
        usleep(2000);
    }
    return -1;
}

/* Samples process pid (regs + stack + frame-pointer chain) until want samples or ~3 s. */
static int unw_sample(pid_t pid, size_t want, unw_set *set) {
    set->cap = want, set->n = 0;
    set->v = (unw_smp *)calloc(want, sizeof *set->v);
    if (!set->v) return -ENOMEM;
    kperf_sampler *s;
    int rc = kperf_sampler_open(&s, &(kperf_sampler_desc){
        .freq = 1000, .callchain = true, .pids = &pid, .npids = 1,
        .fields = KPERF_SAMPLE_REGS_USER | KPERF_SAMPLE_STACK_USER,
        .regs_user_mask = KPERF_UNWIND_REGS, .stack_user_size = 8192});
    if (rc < 0) return rc;
    kperf_sampler_start(s);
    for (int i = 0; i < 300 && set->n < want; i++) {
        usleep(10000);
        kperf_sampler_read(s, unw_keep, set);
    }
    kperf_sampler_stop(s);
    kperf_sampler_read(s, unw_keep, set);
    kperf_sampler_close(s);
    return 0;
}

static void unw_kill(pid_t pid) {
    if (pid > 0) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
}

/* Function names of a chain (markers skipped; return addresses looked up as addr - 1). */
static size_t unw_names(kperf_symbolizer *sym, pid_t pid, const uint64_t *ips, size_t n,
                        const char **names, size_t max) {
    size_t k = 0;
    bool leaf = true;
    for (size_t i = 0; i < n && k < max; i++) {
        if (ips[i] >= KPERF_CONTEXT_MAX) continue;
        kperf_frame fr[8];
        int nf = kperf_symbolizer_lookup(sym, pid, leaf ? ips[i] : ips[i] - 1, fr, 8);
        names[k++] = nf > 0 && fr[nf - 1].function ? fr[nf - 1].function : "?";
        leaf = false;
    }
    return k;
}

/* True when names holds c, b, a, main consecutively. */
static bool unw_has_chain(const char **names, size_t n) {
    static const char *want[] = {"c", "b", "a", "main"};
    for (size_t i = 0; i + 4 <= n; i++) {
        size_t k = 0;
        while (k < 4 && !strcmp(names[i + k], want[k])) k++;
        if (k == 4) return true;
    }
    return false;
}

/* ---- self-unwinding: registers and stack of this very process ---------------------- */
/* self_a -> self_b -> self_c -> self_capture: a snapshot in perf register order. */

/* perf's register numbers (asm/perf_regs.h) of the frame pointer, sp and ip, and how many
 * registers a snapshot holds */
#if defined(__x86_64__)
#define SELF_REGS 1
#define UNW_BP 6
#define UNW_SP 7
#define UNW_IP 8
#define SELF_NREGS 24
#elif defined(__aarch64__)
#define SELF_REGS 1
#define UNW_BP 29
#define UNW_SP 31
#define UNW_IP 32
#define SELF_NREGS 33
#endif

#if defined(SELF_REGS)
typedef struct self_snap {
    uint64_t regs[SELF_NREGS]; /* perf order */
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
#if defined(__aarch64__)
    /* x0..x30, sp, pc (the adr): perf's arm64 order */
    __asm__ volatile("stp x0, x1, [%0, #0]\n\t"
                     "stp x2, x3, [%0, #16]\n\t"
                     "stp x4, x5, [%0, #32]\n\t"
                     "stp x6, x7, [%0, #48]\n\t"
                     "stp x8, x9, [%0, #64]\n\t"
                     "stp x10, x11, [%0, #80]\n\t"
                     "stp x12, x13, [%0, #96]\n\t"
                     "stp x14, x15, [%0, #112]\n\t"
                     "stp x16, x17, [%0, #128]\n\t"
                     "stp x18, x19, [%0, #144]\n\t"
                     "stp x20, x21, [%0, #160]\n\t"
                     "stp x22, x23, [%0, #176]\n\t"
                     "stp x24, x25, [%0, #192]\n\t"
                     "stp x26, x27, [%0, #208]\n\t"
                     "stp x28, x29, [%0, #224]\n\t"
                     "str x30, [%0, #240]\n\t"
                     "mov x9, sp\n\t"
                     "str x9, [%0, #248]\n\t"
                     "adr x9, .\n\t"
                     "str x9, [%0, #256]\n\t"
                     :
                     : "r"(r)
                     : "x9", "memory");
#else
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
#endif
    uint64_t sp = r[UNW_SP], top = stack_top(sp);
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
    for (int bit = 0; bit < SELF_NREGS; bit++)
        if (KPERF_UNWIND_REGS >> bit & 1) regs[k++] = o->regs[bit];
    s->pid = (uint32_t)getpid();
    s->ip = o->regs[UNW_IP];
    s->regs_abi = 2, s->regs = regs, s->nregs = k;
    s->stack = o->stack, s->stack_size = s->stack_dyn_size = o->len;
}
#endif

