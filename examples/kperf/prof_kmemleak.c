/* kperf kmemleak: allocations never freed, with their sizes and stacks. With no -e it
 * checks a command's user-space heap through uprobes on libc's malloc, calloc, realloc
 * and free (no recompile, no preload, no BPF): the entry probe keeps the size (from the
 * argument registers) and the call chain, the return probe the pointer, free forgets it.
 * What is left when the command ends is printed per stack: count, bytes, sizes.
 * With --alloc/--free tracepoints it checks the kernel (`kmem:kmalloc//ptr=ptr/size=
 * bytes_alloc/stack/` and `kmem:kfree//ptr=ptr/`). */
#define _GNU_SOURCE 1
#include "prof.h"
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
/* perf_regs x86-64: AX 0, SI 4, DI 5: regs[] holds them in that order */
#define KL_MASK ((1ull << 0) | (1ull << 4) | (1ull << 5))
#define KL_RET 0
#define KL_ARG1 2
#define KL_ARG2 1
#elif defined(__aarch64__)
#define KL_MASK ((1ull << 0) | (1ull << 1)) /* x0, x1 */
#define KL_RET 0
#define KL_ARG1 0
#define KL_ARG2 1
#else
#define KL_MASK 0
#endif

enum { KL_MALLOC, KL_MALLOC_RET, KL_CALLOC, KL_CALLOC_RET, KL_REALLOC, KL_REALLOC_RET, KL_FREE };
enum { KL_LIBC = CLI_LONG_ONLY + 70, KL_ALLOC, KL_FREEOPT };

typedef struct kl_state {
    const char *libc;
    char libc_buf[4096];
    char alloc_spec[2048], free_spec[2048];
    bool kernel;
    kperf_pairer *calls;        /* (tid | level << 32) -> size, old ptr, stack */
    kperf_pairer *live;         /* ptr -> size, stack */
    const kperf_tp_field *kptr, *ksize, *kfptr;
    uint64_t allocs, frees;
    bool ready;
} kl_state;

static int kl_opt(prof_env *e, int key, const char *arg) {
    kl_state *k = (kl_state *)e->priv;
    if (key == KL_LIBC) return k->libc = arg, 0;
    if (key == KL_ALLOC) return snprintf(k->alloc_spec, sizeof k->alloc_spec, "%s", arg), 0;
    if (key == KL_FREEOPT) return snprintf(k->free_spec, sizeof k->free_spec, "%s", arg), 0;
    return 1;
}

/* The libc this tool runs with (the command's, as a rule): from /proc/self/maps. */
static const char *kl_find_libc(kl_state *k) {
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    while (f && fgets(line, sizeof line, f)) {
        char *p = strchr(line, '/');
        if (!p || !strstr(p, "/libc.so")) continue;
        p[strcspn(p, "\n")] = 0;
        snprintf(k->libc_buf, sizeof k->libc_buf, "%s", p);
        fclose(f);
        return k->libc_buf;
    }
    if (f) fclose(f);
    return NULL;
}

static int kl_init(prof_env *e) {
    kl_state *k = (kl_state *)e->priv;
    if (e->spec[0]) return cli_usage_error("kmemleak", "use --alloc and --free, not -e");
    if (prof_refuse_than(e)) return 2;
    if (k->alloc_spec[0] || k->free_spec[0]) {
        if (!k->alloc_spec[0] || !k->free_spec[0])
            return cli_usage_error("kmemleak", "--alloc and --free go together");
        snprintf(e->spec, sizeof e->spec, "%s,%s", k->alloc_spec, k->free_spec);
        e->spec_end[0] = strlen(k->alloc_spec), e->spec_end[1] = strlen(e->spec);
        e->nspec_groups = 2;
        k->kernel = true;
        return 0;
    }
    if (!KL_MASK) return fprintf(stderr, "kperf kmemleak: user-space mode needs x86-64 or arm64\n"), 1;
    if (!e->a.rest && !e->a.npids && !e->a.ntids)
        return cli_usage_error("kmemleak", "give the command (-- CMD), -p PID or -t TID to check");
    const char *L = k->libc ? k->libc : kl_find_libc(k);
    if (!L) return fprintf(stderr, "kperf kmemleak: cannot find libc.so; give --libc FILE\n"), 1;
    int n = snprintf(e->spec, sizeof e->spec,
                     "uprobe:malloc@\"%s\"//stack/,uretprobe:malloc@\"%s\","
                     "uprobe:calloc@\"%s\"//stack/,uretprobe:calloc@\"%s\","
                     "uprobe:realloc@\"%s\"//stack/,uretprobe:realloc@\"%s\",uprobe:free@\"%s\"",
                     L, L, L, L, L, L, L);
    if (n >= (int)sizeof e->spec) return fprintf(stderr, "kperf kmemleak: libc path too long\n"), 1;
    e->spec_end[0] = strlen(e->spec);
    e->nspec_groups = 1;
    e->sample_fields = KPERF_SAMPLE_REGS_USER | KPERF_SAMPLE_STACK_USER;
    e->stack_user = 8; /* the return address at the entry: frame pointers miss the caller */
    e->regs_mask = KL_MASK;
    e->callchain = true;
    return 0;
}

static int kl_setup(prof_env *e, kl_state *k) {
    kperf_pairer_desc pd = {127};
    if (kperf_pairer_new(&k->calls, &pd) < 0 || kperf_pairer_new(&k->live, &pd) < 0)
        return cli_fail("kmemleak"), -1;
    if (k->kernel) {
        for (size_t i = 0; i < e->list->nevents; i++) {
            const kperf_event_attrs *a = &e->list->events[i].attrs;
            if (e->ev_group[i] == 0 && !k->kptr) {
                k->kptr = prof_field(e, (int)i, a->ptr ? a->ptr : "ptr");
                k->ksize = prof_field(e, (int)i, a->size ? a->size : "bytes_alloc");
            }
            if (e->ev_group[i] == 1 && !k->kfptr) k->kfptr = prof_field(e, (int)i, a->ptr ? a->ptr : "ptr");
        }
        if (!k->kptr || !k->kfptr)
            return fprintf(stderr, "kperf kmemleak: the alloc/free events need ptr= fields\n"), -1;
    }
    k->ready = true;
    return 0;
}

static uint64_t kl_reg(const kperf_record *rec, int i) {
    return rec->sample.regs && (uint32_t)i < rec->sample.nregs ? rec->sample.regs[i] : 0;
}

/* The call chain at a function's entry: the frame-pointer walk starts from the caller's
 * frame, so the caller itself (the return address on top of the stack) is missing unless
 * the kernel adds it; put it after the first user frame. */
static uint32_t kl_entry_stack(const kperf_record *rec, uint64_t *ips, uint32_t cap) {
    const kperf_sample *s = &rec->sample;
    uint32_t n = 0, i = 0;
    uint64_t ret = 0;
    if (s->stack && s->stack_dyn_size >= 8) memcpy(&ret, s->stack, 8);
    for (; i < s->nips && n + 1 < cap; i++) {
        ips[n++] = s->ips[i];
        bool first_user = i > 0 && s->ips[i - 1] == KPERF_CONTEXT_USER;
        if (first_user && ret && (i + 1 >= s->nips || s->ips[i + 1] != ret)) ips[n++] = ret;
    }
    return n;
}

static void kl_alloc(kl_state *k, uint64_t ptr, uint64_t size, const kperf_pair_event *from,
                     uint64_t now) {
    kperf_pair_event a = {ptr, now, size, from->pid, from->tid, from->cpu, from->nips, from->ips};
    kperf_pairer_start(k->live, &a);
    k->allocs++;
}

static int kl_sample(prof_env *e, int ev, const kperf_record *rec) {
    kl_state *k = (kl_state *)e->priv;
    if (!k->ready && kl_setup(e, k) < 0) return -1;
    if (k->kernel) {
        if (e->ev_group[ev] == 0) {
            kperf_pair_event a = {prof_u64(k->kptr, rec), rec->sample.time, prof_u64(k->ksize, rec),
                                  rec->sample.pid, rec->sample.tid, rec->sample.cpu,
                                  rec->sample.nips, rec->sample.ips};
            k->allocs++;
            return kperf_pairer_start(k->live, &a) < 0 ? -1 : 0;
        }
        k->frees += kperf_pairer_end(k->live, prof_u64(k->kfptr, rec), NULL);
        return 0;
    }
    uint64_t tid = rec->sample.tid, level = 0;
    kperf_pair_event c;
    if (ev == KL_MALLOC || ev == KL_CALLOC || ev == KL_REALLOC) {
        while (kperf_pairer_peek(k->calls, tid | level << 32, NULL)) level++;
        uint64_t size = ev == KL_MALLOC ? kl_reg(rec, KL_ARG1)
                        : ev == KL_CALLOC ? kl_reg(rec, KL_ARG1) * kl_reg(rec, KL_ARG2)
                                          : kl_reg(rec, KL_ARG2);
        uint64_t ips[130];
        uint32_t n = kl_entry_stack(rec, ips, 130);
        kperf_pair_event in = {tid | level << 32, ev == KL_REALLOC ? kl_reg(rec, KL_ARG1) : 0,
                               size, rec->sample.pid, rec->sample.tid, rec->sample.cpu, n, ips};
        return kperf_pairer_start(k->calls, &in) < 0 ? -1 : 0;
    }
    if (ev == KL_FREE) {
        uint64_t ptr = kl_reg(rec, KL_ARG1);
        if (ptr) k->frees += kperf_pairer_end(k->live, ptr, NULL);
        return 0;
    }
    /* a return: the innermost pending call of this thread */
    while (kperf_pairer_peek(k->calls, tid | (level + 1) << 32, NULL)) level++;
    if (kperf_pairer_end(k->calls, tid | level << 32, &c) != 1) return 0;
    uint64_t ptr = kl_reg(rec, KL_RET);
    if (!ptr) return 0;
    if (ev == KL_REALLOC_RET && c.time && c.time != ptr) k->frees += kperf_pairer_end(k->live, c.time, NULL);
    if (ev == KL_REALLOC_RET && c.time == ptr) k->frees += kperf_pairer_end(k->live, ptr, NULL);
    kl_alloc(k, ptr, c.value, &c, rec->sample.time);
    return 0;
}

/* Leaks grouped by stack. */
typedef struct kl_group {
    uint64_t ips[128];
    uint32_t nips, pid;
    uint64_t count, bytes;
    uint64_t sizes[8], nsize[8];
    int nsizes;
} kl_group;

typedef struct kl_collect {
    kl_group *g;
    size_t n, cap;
    uint64_t count, bytes;
} kl_collect;

static int kl_collect_one(const kperf_pair_event *a, void *user) {
    kl_collect *c = (kl_collect *)user;
    c->count++, c->bytes += a->value;
    size_t i;
    for (i = 0; i < c->n; i++)
        if (c->g[i].nips == a->nips && !memcmp(c->g[i].ips, a->ips, a->nips * sizeof *a->ips)) break;
    if (i == c->n) {
        if (c->n == c->cap) {
            size_t nc = c->cap ? c->cap * 2 : 16;
            kl_group *ng = (kl_group *)realloc(c->g, nc * sizeof *ng);
            if (!ng) return -1;
            c->g = ng, c->cap = nc;
        }
        memset(&c->g[i], 0, sizeof c->g[i]);
        c->g[i].nips = a->nips < 128 ? a->nips : 128;
        if (a->nips) memcpy(c->g[i].ips, a->ips, c->g[i].nips * sizeof *a->ips);
        c->g[i].pid = a->pid;
        c->n++;
    }
    kl_group *g = &c->g[i];
    g->count++, g->bytes += a->value;
    int s;
    for (s = 0; s < g->nsizes && g->sizes[s] != a->value; s++) {}
    if (s == g->nsizes && s < 8) g->sizes[g->nsizes++] = a->value;
    if (s < 8) g->nsize[s]++;
    return 0;
}

static int kl_group_cmp(const void *a, const void *b) {
    const kl_group *x = (const kl_group *)a, *y = (const kl_group *)b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : 0;
}

static void kl_interval(prof_env *e, bool final) {
    kl_state *k = (kl_state *)e->priv;
    if (!k->ready && kl_setup(e, k) < 0) return;
    kl_collect c;
    memset(&c, 0, sizeof c);
    kperf_pairer_foreach(k->live, kl_collect_one, &c);
    if (c.n) qsort(c.g, c.n, sizeof *c.g, kl_group_cmp);
    fprintf(e->out, "%s%llu allocations, %llu freed, %llu not freed (%llu bytes) in %zu stacks\n",
            final ? "" : "\n", (unsigned long long)k->allocs, (unsigned long long)k->frees,
            (unsigned long long)c.count, (unsigned long long)c.bytes, c.n);
    for (size_t i = 0; i < c.n; i++) {
        kl_group *g = &c.g[i];
        fprintf(e->out, "\n%llu leaks, %llu bytes, sizes:", (unsigned long long)g->count,
                (unsigned long long)g->bytes);
        for (int s = 0; s < g->nsizes; s++)
            fprintf(e->out, " %llu x%llu", (unsigned long long)g->sizes[s],
                    (unsigned long long)g->nsize[s]);
        fputc('\n', e->out);
        prof_print_stack(e, g->pid, g->ips, g->nips);
    }
    free(c.g);
}

static void kl_deinit(prof_env *e) {
    kl_state *k = (kl_state *)e->priv;
    if (!k) return;
    kperf_pairer_free(k->calls);
    kperf_pairer_free(k->live);
}

static const cli_opt kl_opts[] = {
    {KL_LIBC, "libc", "FILE", "the libc to probe (default: the one kperf runs with)"},
    {KL_ALLOC, "alloc", "EVENTS", "kernel mode: allocation tracepoints (ptr=, size=, stack)"},
    {KL_FREEOPT, "free", "EVENTS", "kernel mode: free tracepoints (ptr=)"},
    {0, NULL, NULL, NULL}};

const profiler prof_kmemleak = {
    "kmemleak", "[options] -- COMMAND [ARGS...]",
    "Allocations never freed, with sizes and the stack that allocated them. With no\n"
    "--alloc/--free: the command's user-space heap, through uprobes on libc's malloc,\n"
    "calloc, realloc and free (no recompile, no LD_PRELOAD, no BPF).",
    "Examples:\n"
    "  kperf kmemleak -- ./server --once\n"
    "  kperf kmemleak --alloc 'kmem:kmalloc//ptr=ptr/size=bytes_alloc/stack/' \\\n"
    "                 --free 'kmem:kfree//ptr=ptr/' -a -d 10\n",
    kl_opts, kl_opt, KPERF_EA_PTR | KPERF_EA_SIZE | KPERF_EA_STACK | KPERF_EA_MAX_STACK |
    KPERF_EA_ALIAS, false, false, sizeof(kl_state), kl_init, kl_sample, kl_interval, kl_deinit};
