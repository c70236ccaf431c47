/* bench_unwind: how fast does kperf_symbolizer_unwind() turn sampled registers and stack
 * copies into call chains, against perf's own DWARF unwinding (perf report / perf script
 * on the same file)?
 *
 * usage: bench_unwind [BUILD_DIR]          (markdown on stdout)
 * Builds tests/progs/unwind_busy.c (main -> a -> b -> c, -O2 -fomit-frame-pointer), records it with
 * `perf record --call-graph dwarf` at 4 kHz for 2 s, then on that one file measures
 *  - in-process unwinding: samples/s of kperf_symbolizer_unwind() alone, the first pass
 *    (which builds the process's libdwfl session) and warm passes;
 *  - end to end: `kperf report --folded`, `perf report -g --stdio` and `perf script`
 *    (read, unwind, symbolize, print), samples per second of wall time. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include <stdio.h>
#include <sys/wait.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct bsmp {
    kperf_sample s;
    uint64_t regs[64];
    unsigned char *stack;
} bsmp;

typedef struct bctx {
    kperf_symbolizer *sym;
    kperf_perfdata_events ev;
    bsmp *v;
    size_t n, cap;
    uint64_t mask;
} bctx;

static int on_record(const kperf_record *rec, void *user) {
    bctx *c = (bctx *)user;
    if (rec->type == KPERF_RECORD_MMAP2 || rec->type == KPERF_RECORD_MMAP) {
        if (rec->mmap.pid == UINT32_MAX) return 0;
        kperf_module_desc md = {.pid = (pid_t)rec->mmap.pid, .start = rec->mmap.addr,
                                .len = rec->mmap.len, .pgoff = rec->mmap.pgoff,
                                .path = rec->mmap.filename};
        kperf_symbolizer_add_module(c->sym, &md);
        return 0;
    }
    const kperf_sample *s = &rec->sample;
    if (rec->type != KPERF_RECORD_SAMPLE || !s->stack || !s->regs_abi || s->nregs > 64) return 0;
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->v = (bsmp *)realloc(c->v, c->cap * sizeof *c->v);
        if (!c->v) return -ENOMEM;
    }
    bsmp *o = &c->v[c->n++];
    o->s = *s;
    memcpy(o->regs, s->regs, s->nregs * 8);
    o->stack = (unsigned char *)malloc(s->stack_size);
    if (!o->stack) return -ENOMEM;
    memcpy(o->stack, s->stack, s->stack_size);
    o->s.regs = NULL, o->s.stack = o->stack; /* regs: set once c->v stops moving */
    o->s.ips = NULL, o->s.nips = 0; /* user frames only: what is measured */
    return 0;
}

/* Wall time of a shell command, or -1 when it fails. */
static double timed(const char *cmd) {
    double t0 = now();
    int rc = system(cmd);
    return rc == 0 ? now() - t0 : -1;
}

int main(int argc, char **argv) {
    const char *B = argc > 1 ? argv[1] : "build";
    char dir[] = "/tmp/kperf-bench-unwind-XXXXXX", cmd[2048];
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    snprintf(cmd, sizeof cmd, "cc -O2 -g -fomit-frame-pointer -o %s/unwind_busy "
             "tests/progs/unwind_busy.c && perf record -q -e cpu-clock -F 4000 --call-graph dwarf "
             "-o %s/p.data -- %s/unwind_busy 2 >/dev/null 2>&1", dir, dir, dir);
    if (system(cmd) != 0) return fprintf(stderr, "bench_unwind: %s failed\n", cmd), 1;
    bctx c;
    memset(&c, 0, sizeof c);
    kperf_symbolizer_open(&c.sym, &(kperf_symbolizer_desc){.mode = KPERF_SYMBOL_DELAYED});
    snprintf(cmd, sizeof cmd, "%s/p.data", dir);
    if (kperf_perfdata_read(cmd, on_record, &c, &c.ev) < 0 || c.n < 100)
        return fprintf(stderr, "bench_unwind: %zu samples: %s\n", c.n, kperf_errmsg()), 1;
    for (size_t i = 0; i < c.n; i++) c.v[i].s.regs = c.v[i].regs;
    uint64_t ips[256], frames = 0;
    double t0 = now();
    for (size_t i = 0; i < c.n; i++) {
        int k = kperf_symbolizer_unwind(c.sym, &c.v[i].s, c.ev.regs_user_mask[0], ips, 256);
        frames += k > 0 ? (uint64_t)k : 0;
    }
    double first = now() - t0;
    int passes = 0;
    t0 = now();
    do {
        for (size_t i = 0; i < c.n; i++) kperf_symbolizer_unwind(c.sym, &c.v[i].s, 0, ips, 256);
        passes++;
    } while (now() - t0 < 1.0);
    double warm = (now() - t0) / passes;
    double tk, tpr, tps, tpg;
    snprintf(cmd, sizeof cmd, "%s/kperf report -i %s/p.data --folded >/dev/null 2>&1", B, dir);
    tk = timed(cmd);
    snprintf(cmd, sizeof cmd, "perf report -i %s/p.data -g --stdio >/dev/null 2>&1", dir);
    tpr = timed(cmd);
    snprintf(cmd, sizeof cmd, "perf script -i %s/p.data -F ip,sym >/dev/null 2>&1", dir);
    tps = timed(cmd);
    snprintf(cmd, sizeof cmd, "perf script -G -i %s/p.data -F ip,sym >/dev/null 2>&1", dir);
    tpg = timed(cmd);
    printf("## DWARF unwinding (bench_unwind)\n\n");
    printf("One `perf record --call-graph dwarf` file of `progs/unwind_busy` (no frame pointers; "
           "%zu samples with 8 KiB stack copies, %.1f frames each on average).\n\n", c.n,
           (double)frames / (double)c.n);
    printf("| what | time | samples/s |\n|---|---|---|\n");
    printf("| kperf_symbolizer_unwind, first pass (builds the libdwfl session) | %.1f ms | %.0f |\n",
           first * 1e3, (double)c.n / first);
    printf("| kperf_symbolizer_unwind, warm (cached session) | %.2f µs/sample | %.0f |\n",
           warm * 1e6 / (double)c.n, (double)c.n / warm);
    if (tk > 0) printf("| `kperf report --folded` end to end | %.0f ms | %.0f |\n", tk * 1e3, (double)c.n / tk);
    if (tpr > 0) printf("| `perf report -g --stdio` end to end | %.0f ms | %.0f |\n", tpr * 1e3, (double)c.n / tpr);
    if (tps > 0) printf("| `perf script -F ip,sym` end to end | %.0f ms | %.0f |\n", tps * 1e3, (double)c.n / tps);
    if (tps > 0 && tpg > 0) {
        printf("| `perf script -G` (no call chains: the same work without unwinding) | %.0f ms | %.0f |\n",
               tpg * 1e3, (double)c.n / tpg);
        if (tps > tpg)
            printf("| perf's unwinding alone (the difference of the two) | %.2f µs/sample | %.0f |\n",
                   (tps - tpg) * 1e6 / (double)c.n, (double)c.n / (tps - tpg));
    }
    printf("\nEnd-to-end rows include reading the file, symbolizing and printing.\n");
    for (size_t i = 0; i < c.n; i++) free(c.v[i].stack);
    free(c.v);
    kperf_symbolizer_close(c.sym);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : 1;
}
