/* kperf profile: in-memory CPU sampling (perf-prof's profile). Samples hardware cycles
 * where the machine counts them, else cpu-clock (a VM without a PMU), at -F HZ with call
 * chains, and prints the hottest stacks every -i MS (and at the end): the share of the
 * samples, the count, and the stack folded "comm;outermost;...;leaf". The stacks are kept
 * in memory as addresses and symbolized when printed (kperf_symbols.h); --folded FILE
 * writes every stack of the whole run for a flame graph. */
#define _GNU_SOURCE 1
#include "prof.h"
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct pf_stack {
    uint64_t hash;
    int ev;
    uint32_t pid, nips;
    uint64_t *ips;
    uint64_t n_iv, n_total;     /* samples this interval, and since the start */
    char comm[16];
} pf_stack;

typedef struct pf_state {
    pf_stack *st;
    size_t n, cap;
    size_t *index;              /* open addressing: stack number + 1, 0 = empty */
    size_t icap;
    uint64_t samples_iv;
    long rows;                  /* -n */
    bool freq_set;
    const char *folded_path;
} pf_state;

enum { PF_FOLDED = CLI_LONG_ONLY + 80, PF_EXCL_KERNEL, PF_EXCL_USER };

static int pf_opt(prof_env *e, int key, const char *arg) {
    pf_state *t = (pf_state *)e->priv;
    long v;
    if (key == 'F') {
        if (cli_parse_long("profile", "-F/--freq", arg, 1, 100000, &v) < 0) return -1;
        return e->freq = (uint64_t)v, t->freq_set = true, 0;
    }
    if (key == 'c') {
        if (cli_parse_long("profile", "-c/--count", arg, 1, 1000000000L, &v) < 0) return -1;
        return e->period = (uint64_t)v, 0;
    }
    if (key == 'n') return cli_parse_long("profile", "-n/--rows", arg, 1, 1000000, &t->rows);
    if (key == PF_FOLDED) return t->folded_path = arg, 0;
    if (key == PF_EXCL_KERNEL) return e->exclude_kernel = true, 0;
    if (key == PF_EXCL_USER) return e->exclude_user = true, 0;
    return 1;
}

/* Whether this machine counts CPU cycles (a VM often has no PMU). */
static bool pf_have_cycles(void) {
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_HARDWARE;
    a.config = PERF_COUNT_HW_CPU_CYCLES;
    a.disabled = 1;
    a.exclude_kernel = 1;
    a.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    if (fd < 0) return false;
    close((int)fd);
    return true;
}

/* Whether every -e event is a tracepoint or probe (sampled at each hit, not at -F). */
static bool pf_all_records(prof_env *e) {
    kperf_evlist *l = NULL;
    if (!e->spec[0] || kperf_evlist_parse(&l, e->spec, NULL) < 0) return kperf_evlist_free(l), false;
    bool all = l->nevents > 0;
    for (size_t i = 0; i < l->nevents; i++) {
        const kperf_event *x = &l->events[i];
        all = all && (x->type == 2 /* PERF_TYPE_TRACEPOINT */ ||
                      (x->pmu && (strstr(x->pmu, "probe"))));
    }
    kperf_evlist_free(l);
    return all;
}

static int pf_init(prof_env *e) {
    pf_state *t = (pf_state *)e->priv;
    if (prof_refuse_than(e)) return 2;
    if (t->freq_set && e->period)
        return cli_usage_error("profile", "give -F (samples per second) or -c (events per "
                               "sample), not both");
    if (e->exclude_kernel && e->exclude_user)
        return cli_usage_error("profile", "--exclude-kernel and --exclude-user leave nothing");
    if (!e->period && !e->freq) e->freq = pf_all_records(e) ? 0 : 997; /* 0: period 1 */
    if (!t->rows) t->rows = 10;
    e->callchain = true;
    if (!e->spec[0]) {
        snprintf(e->spec, sizeof e->spec, "%s", pf_have_cycles() ? "cycles" : "cpu-clock");
        e->spec_end[0] = strlen(e->spec);
        e->nspec_groups = 1;
    }
    return 0;
}

static uint64_t pf_hash(int ev, uint32_t pid, const uint64_t *ips, uint32_t n) {
    uint64_t h = 1469598103934665603ull ^ ((uint64_t)(unsigned)ev << 32 | pid);
    for (uint32_t i = 0; i < n; i++) h = (h ^ ips[i]) * 1099511628211ull;
    return h ^ n;
}

static int pf_grow(pf_state *t) {
    size_t nc = t->icap ? t->icap * 2 : 1024;
    size_t *ni = (size_t *)calloc(nc, sizeof *ni);
    if (!ni) return -1;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = (size_t)t->st[i].hash & (nc - 1);
        while (ni[h]) h = (h + 1) & (nc - 1);
        ni[h] = i + 1;
    }
    free(t->index);
    t->index = ni, t->icap = nc;
    return 0;
}

static int pf_sample(prof_env *e, int ev, const kperf_record *rec) {
    pf_state *t = (pf_state *)e->priv;
    const kperf_sample *s = &rec->sample;
    uint64_t leaf[1] = {s->ip};
    const uint64_t *ips = s->nips ? s->ips : leaf;
    uint32_t nips = s->nips ? s->nips : 1;
    uint64_t h = pf_hash(ev, s->pid, ips, nips);
    if ((t->n + 1) * 2 > t->icap && pf_grow(t) < 0) return -1;
    size_t i = (size_t)h & (t->icap - 1);
    for (; t->index[i]; i = (i + 1) & (t->icap - 1)) {
        pf_stack *x = &t->st[t->index[i] - 1];
        if (x->hash == h && x->ev == ev && x->pid == s->pid && x->nips == nips &&
            !memcmp(x->ips, ips, nips * sizeof *ips)) {
            x->n_iv++, x->n_total++, t->samples_iv++;
            return 0;
        }
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        pf_stack *ns = (pf_stack *)realloc(t->st, nc * sizeof *ns);
        if (!ns) return -1;
        t->st = ns, t->cap = nc;
    }
    pf_stack *x = &t->st[t->n];
    memset(x, 0, sizeof *x);
    if (!(x->ips = (uint64_t *)malloc(nips * sizeof *ips))) return -1;
    memcpy(x->ips, ips, nips * sizeof *ips);
    x->hash = h, x->ev = ev, x->pid = s->pid, x->nips = nips, x->n_iv = x->n_total = 1;
    snprintf(x->comm, sizeof x->comm, "%s", prof_comm(e, s->pid, s->pid));
    t->index[i] = ++t->n;
    t->samples_iv++;
    return 0;
}

typedef struct pf_row {
    char *folded;
    uint64_t n;
} pf_row;

static int pf_row_by_text(const void *a, const void *b) {
    return strcmp(((const pf_row *)a)->folded, ((const pf_row *)b)->folded);
}

static int pf_row_by_count(const void *a, const void *b) {
    const pf_row *x = (const pf_row *)a, *y = (const pf_row *)b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return strcmp(x->folded, y->folded);
}

/* "comm;root;...;leaf" of stack @p x (with the event's name first when there are several). */
static void pf_fold(prof_env *e, const pf_stack *x, char *buf, size_t size) {
    int n = e->list->nevents > 1 ? snprintf(buf, size, "%s;%s;", prof_evname(e, x->ev), x->comm)
                                 : snprintf(buf, size, "%s;", x->comm);
    if (n < 0 || (size_t)n >= size) return;
    prof_fold_stack(e, x->pid, x->ips, x->nips, buf + n, size - (size_t)n);
}

/* The stacks symbolized and folded, the ones that fold the same merged (different leaf
 * addresses in one function), most samples first: of this interval, or of the run. */
static pf_row *pf_rows(prof_env *e, pf_state *t, bool run, size_t *m) {
    pf_row *r = (pf_row *)calloc(t->n ? t->n : 1, sizeof *r);
    char buf[8192];
    *m = 0;
    if (!r) return NULL;
    for (size_t i = 0; i < t->n; i++) {
        uint64_t n = run ? t->st[i].n_total : t->st[i].n_iv;
        if (!n) continue;
        pf_fold(e, &t->st[i], buf, sizeof buf);
        if (!(r[*m].folded = strdup(buf))) break;
        r[(*m)++].n = n;
    }
    qsort(r, *m, sizeof *r, pf_row_by_text);
    size_t w = 0;
    for (size_t i = 0; i < *m; i++) {
        if (w && !strcmp(r[w - 1].folded, r[i].folded)) {
            r[w - 1].n += r[i].n;
            free(r[i].folded);
        } else r[w++] = r[i];
    }
    *m = w;
    qsort(r, *m, sizeof *r, pf_row_by_count);
    return r;
}

static void pf_free_rows(pf_row *r, size_t m) {
    for (size_t i = 0; r && i < m; i++) free(r[i].folded);
    free(r);
}

static void pf_interval(prof_env *e, bool final) {
    pf_state *t = (pf_state *)e->priv;
    size_t m;
    pf_row *r = pf_rows(e, t, false, &m);
    fprintf(e->out, "%s%llu samples of %s, %zu stacks\n%7s %8s  %s\n", final ? "" : "\n",
            (unsigned long long)t->samples_iv, e->list->nevents > 1 ? "the events" : e->spec, m,
            "SHARE", "SAMPLES", "STACK (comm;outermost;...;leaf)");
    for (size_t k = 0; r && k < m && (long)k < t->rows; k++)
        fprintf(e->out, "%6.2f%% %8llu  %s\n", 100.0 * (double)r[k].n / (double)t->samples_iv,
                (unsigned long long)r[k].n, r[k].folded);
    pf_free_rows(r, m);
    if (!final) {
        for (size_t i = 0; i < t->n; i++) t->st[i].n_iv = 0;
        t->samples_iv = 0;
        return;
    }
    if (!t->folded_path) return;
    FILE *f = cli_output("profile", t->folded_path, stdout);
    if (!f) return;
    r = pf_rows(e, t, true, &m);
    for (size_t k = 0; r && k < m; k++)
        fprintf(f, "%s %llu\n", r[k].folded, (unsigned long long)r[k].n);
    pf_free_rows(r, m);
    if (f != stdout) fclose(f);
}

static void pf_deinit(prof_env *e) {
    pf_state *t = (pf_state *)e->priv;
    if (!t) return;
    for (size_t i = 0; i < t->n; i++) free(t->st[i].ips);
    free(t->st);
    free(t->index);
}

static const cli_opt pf_opts[] = {
    {'F', "freq", "HZ", "samples per second (default 997; -e tracepoints: every hit)"},
    {'c', "count", "N", "a sample every N events instead of -F"},
    {'n', "rows", "N", "print the N hottest stacks (default 10)"},
    {PF_FOLDED, "folded", "FILE", "write every stack of the run, folded, for a flame graph"},
    {PF_EXCL_KERNEL, "exclude-kernel", NULL, "sample user code only"},
    {PF_EXCL_USER, "exclude-user", NULL, "sample kernel code only"},
    {0, NULL, NULL, NULL}};

const profiler prof_profile = {
    "profile", "[options] [-- COMMAND [ARGS...]]",
    "CPU sampling in memory: cycles where the machine counts them, else cpu-clock (or the\n"
    "events of -e; tracepoints and probes at every hit), at -F HZ with call chains; every\n"
    "-i MS and at the end, the hottest stacks with their share of the samples, folded\n"
    "comm;outermost;...;leaf.",
    "Examples:\n"
    "  kperf profile -- ./prog                       where the command spends its CPU\n"
    "  kperf profile -a -F 997 -i 1000 -n 5          the 5 hottest stacks every second\n"
    "  kperf profile --folded cpu.folded -p 1234 -d 10  flame graph input\n"
    "  kperf profile --exclude-kernel -C 0-3 -d 5 -n 3   user code of CPUs 0-3\n"
    "  kperf profile -e syscalls:sys_enter_write -- ./prog  the stacks of each write\n",
    pf_opts, pf_opt, KPERF_EA_STACK | KPERF_EA_MAX_STACK | KPERF_EA_ALIAS, false, false,
    sizeof(pf_state), pf_init, pf_sample, pf_interval, pf_deinit};
