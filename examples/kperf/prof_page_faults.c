/* kperf page-faults: page faults with their addresses and stacks (perf-prof's page-faults).
 * The software page-faults event with the data address (PERF_SAMPLE_ADDR) and call chains,
 * every fault by default (-c N: every N-th). Per interval and at the end: per process and
 * faulting function (the symbolized ip, user or kernel), the faults and the lowest and
 * highest address; --detail prints each fault (address, ip, function), -g with its stack. */
#include "prof.h"
#include <stdlib.h>
#include <string.h>

typedef struct pg_site {
    uint32_t pid;
    bool kernel;                /* the ip is kernel code (a fault in copy_to_user, ...) */
    uint64_t ip, n, lo, hi;
    char comm[16];
} pg_site;

typedef struct pg_state {
    pg_site *site;
    size_t n, cap;
    size_t *index;              /* open addressing: site number + 1 */
    size_t icap;
    uint64_t faults;
    long rows;
    bool detail, stacks;
} pg_state;

enum { PG_DETAIL = CLI_LONG_ONLY + 100 };

static int pg_opt(prof_env *e, int key, const char *arg) {
    pg_state *t = (pg_state *)e->priv;
    long v;
    if (key == 'c') {
        if (cli_parse_long("page-faults", "-c/--count", arg, 1, 1000000000L, &v) < 0) return -1;
        return e->period = (uint64_t)v, 0;
    }
    if (key == 'n') return cli_parse_long("page-faults", "-n/--rows", arg, 1, 1000000, &t->rows);
    if (key == PG_DETAIL) return t->detail = true, 0;
    return 1;
}

static int pg_init(prof_env *e) {
    pg_state *t = (pg_state *)e->priv;
    if (prof_refuse_than(e)) return 2;
    if (e->spec[0]) return cli_usage_error("page-faults", "page-faults has its own event; no -e");
    snprintf(e->spec, sizeof e->spec, "page-faults");
    e->spec_end[0] = strlen(e->spec);
    e->nspec_groups = 1;
    e->sample_fields |= KPERF_SAMPLE_ADDR;
    t->stacks = e->callchain;   /* -g: print the stacks with --detail */
    e->callchain = true;        /* the function of each fault comes from the symbolizer */
    if (!t->rows) t->rows = 20;
    return 0;
}

/* Whether the sample's ip is kernel code: the context marker before it. */
static bool pg_kernel(const kperf_sample *s) {
    for (uint32_t i = 0; i < s->nips; i++) {
        if (s->ips[i] < KPERF_CONTEXT_MAX) break;
        if (s->ips[i] == KPERF_CONTEXT_KERNEL) return true;
        if (s->ips[i] == KPERF_CONTEXT_USER) return false;
    }
    return false;
}

/* The function of @p ip ("func", "func_[k]" in the kernel, else "0x..."). */
static void pg_func(prof_env *e, uint32_t pid, bool kernel, uint64_t ip, char *buf, size_t size) {
    uint64_t ips[2] = {kernel ? KPERF_CONTEXT_KERNEL : KPERF_CONTEXT_USER, ip};
    prof_fold_stack(e, pid, ips, 2, buf, size);
}

static int pg_grow(pg_state *t) {
    size_t nc = t->icap ? t->icap * 2 : 256;
    size_t *ni = (size_t *)calloc(nc, sizeof *ni);
    if (!ni) return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = (size_t)((t->site[i].ip ^ t->site[i].pid) * 0x9E3779B97F4A7C15ull >> 20) & (nc - 1);
        while (ni[h]) h = (h + 1) & (nc - 1);
        ni[h] = i + 1;
    }
    free(t->index);
    t->index = ni, t->icap = nc;
    return 0;
}

static int pg_sample(prof_env *e, int ev, const kperf_record *rec) {
    pg_state *t = (pg_state *)e->priv;
    const kperf_sample *s = &rec->sample;
    (void)ev;
    bool k = pg_kernel(s);
    t->faults++;
    if (t->detail) {
        char fn[256];
        pg_func(e, s->pid, k, s->ip, fn, sizeof fn);
        fprintf(e->out, "%llu.%06llu %-16s %7u/%-7u cpu %-3u addr 0x%llx ip 0x%llx %s\n",
                (unsigned long long)(s->time / 1000000000ull),
                (unsigned long long)(s->time % 1000000000ull / 1000),
                prof_comm(e, s->pid, s->tid), s->pid, s->tid, s->cpu, (unsigned long long)s->addr,
                (unsigned long long)s->ip, fn);
        if (t->stacks && s->nips) prof_print_stack(e, s->pid, s->ips, s->nips);
    }
    if ((t->n + 1) * 2 > t->icap && pg_grow(t) < 0) return -1;
    size_t h = (size_t)((s->ip ^ s->pid) * 0x9E3779B97F4A7C15ull >> 20) & (t->icap - 1);
    for (; t->index[h]; h = (h + 1) & (t->icap - 1)) {
        pg_site *x = &t->site[t->index[h] - 1];
        if (x->ip == s->ip && x->pid == s->pid) {
            if (!x->n || s->addr < x->lo) x->lo = s->addr;
            if (!x->n || s->addr > x->hi) x->hi = s->addr;
            x->n++;
            return 0;
        }
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        pg_site *ns = (pg_site *)realloc(t->site, nc * sizeof *ns);
        if (!ns) return -1;
        t->site = ns, t->cap = nc;
    }
    pg_site *x = &t->site[t->n];
    memset(x, 0, sizeof *x);
    x->pid = s->pid, x->ip = s->ip, x->kernel = k, x->n = 1, x->lo = x->hi = s->addr;
    snprintf(x->comm, sizeof x->comm, "%s", prof_comm(e, s->pid, s->pid));
    t->index[h] = ++t->n;
    return 0;
}

typedef struct pg_row {
    char func[256];
    uint32_t pid;
    uint64_t n, lo, hi;
    const char *comm;
} pg_row;

static int pg_row_by_site(const void *a, const void *b) {
    const pg_row *x = (const pg_row *)a, *y = (const pg_row *)b;
    if (x->pid != y->pid) return x->pid < y->pid ? -1 : 1;
    return strcmp(x->func, y->func);
}

static int pg_row_by_count(const void *a, const void *b) {
    const pg_row *x = (const pg_row *)a, *y = (const pg_row *)b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return pg_row_by_site(a, b);
}

static void pg_interval(prof_env *e, bool final) {
    pg_state *t = (pg_state *)e->priv;
    pg_row *r = (pg_row *)calloc(t->n ? t->n : 1, sizeof *r);
    size_t m = 0;
    if (!r) return;
    for (size_t i = 0; i < t->n; i++) {
        const pg_site *x = &t->site[i];
        if (!x->n) continue;
        pg_func(e, x->pid, x->kernel, x->ip, r[m].func, sizeof r[m].func);
        r[m].pid = x->pid, r[m].n = x->n, r[m].lo = x->lo, r[m].hi = x->hi, r[m].comm = x->comm;
        m++;
    }
    /* one row per process and function (a function faults from several ips) */
    qsort(r, m, sizeof *r, pg_row_by_site);
    size_t w = 0;
    for (size_t i = 0; i < m; i++) {
        if (w && r[w - 1].pid == r[i].pid && !strcmp(r[w - 1].func, r[i].func)) {
            pg_row *y = &r[w - 1];
            y->n += r[i].n;
            if (r[i].lo < y->lo) y->lo = r[i].lo;
            if (r[i].hi > y->hi) y->hi = r[i].hi;
        } else if (w++ != i) r[w - 1] = r[i];
    }
    qsort(r, w, sizeof *r, pg_row_by_count);
    fprintf(e->out, "%s%llu page faults%s\n%8s %-16s %8s %18s %18s  %s\n", final ? "" : "\n",
            (unsigned long long)t->faults, e->period > 1 ? " sampled" : "", "FAULTS", "COMM", "PID",
            "LOWEST_ADDR", "HIGHEST_ADDR", "FUNCTION");
    for (size_t i = 0; i < w && (long)i < t->rows; i++)
        fprintf(e->out, "%8llu %-16s %8u %#18llx %#18llx  %s\n", (unsigned long long)r[i].n,
                r[i].comm, r[i].pid, (unsigned long long)r[i].lo, (unsigned long long)r[i].hi,
                r[i].func);
    free(r);
    if (final) return;
    for (size_t i = 0; i < t->n; i++) t->site[i].n = 0;
    t->faults = 0;
}

static void pg_deinit(prof_env *e) {
    pg_state *t = (pg_state *)e->priv;
    if (!t) return;
    free(t->site);
    free(t->index);
}

static const cli_opt pg_opts[] = {
    {'c', "count", "N", "sample every N-th fault (default 1: every fault)"},
    {'n', "rows", "N", "print the N sites with the most faults (default 20)"},
    {PG_DETAIL, "detail", NULL, "print each fault: address, ip, function (-g: its stack)"},
    {0, NULL, NULL, NULL}};

const profiler prof_page_faults = {
    "page-faults", "[options] [-- COMMAND [ARGS...]]",
    "Page faults with their addresses and stacks, from the software page-faults event with\n"
    "the data address and call chains: per process and faulting function, the faults and\n"
    "the lowest and highest address; --detail prints each fault, -g with its stack.",
    "Examples:\n"
    "  kperf page-faults -- ./prog                  which functions fault, where\n"
    "  kperf page-faults --detail -g -p 1234 -d 5   each fault of 1234 with its stack\n"
    "  kperf page-faults -a -c 100 -i 1000          every 100th fault of the machine\n",
    pg_opts, pg_opt, 0, false, false, sizeof(pg_state), pg_init, pg_sample, pg_interval,
    pg_deinit};
