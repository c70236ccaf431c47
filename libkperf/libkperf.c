/* libkperf.c - the one translation unit of build/libkperf.so (`make`): libkperf's C API
 * (pmu.h, pcerrc.h, symbol.h in this folder) implemented on kperf's objects.
 * SPDX-License-Identifier: MIT
 *
 * It instantiates kperf.h, kperf_symbols.h and kperf_spe.h, so the library also exports
 * every kperf_* function; it links libelf/libdw (symbols, DWARF unwinding). Python's kperf
 * package (examples/python/kperf) loads this same library through ctypes. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_spe.h"
#include "kperf_symbols.h"

#include "pcerrc.h"
#include "pmu.h"
#include "symbol.h"

/* ---- error state: libkperf resets the error on every call ---------------------------- */

static KPERF__TLS int kperf__lk_err;

static void kperf__lk_ok(void) { kperf__lk_err = 0; }

/* Records a failure (rc: a negative kperf return value) and returns -1. */
static int kperf__lk_fail(int rc) {
    kperf__lk_err = rc < 0 ? -rc : (rc ? rc : EINVAL);
    return -1;
}

/* Sets a message and fails: for errors found by this section itself. */
#define KPERF__LK_FAIL(err, ...) kperf__lk_fail(kperf__fail((err), __VA_ARGS__))

const char *Perror(void) { return kperf__lk_err ? kperf_errmsg() : "success"; }

int Perrorno(void) { return kperf__lk_err; }

/* ---- arena: every record of one PmuRead lives in one block freed by PmuDataFree ------- */

typedef struct kperf__lk_chunk {
    struct kperf__lk_chunk *next;
    size_t used, cap;
} kperf__lk_chunk;

#define KPERF__LK_MAGIC 0x6b70657266646174ull /* "kperfdat" */

typedef struct kperf__lk_block {
    uint64_t magic;
    kperf__lk_chunk *chunks;
    size_t n, cap;          /* records used / allocated */
    void *data;             /* the record array (PmuData or PmuTraceData) */
    int kind;               /* the task kind that produced it */
    int pd;                 /* the descriptor that produced it */
    uint64_t elapsed_ns;    /* device reads: time the counts cover */
    void *extra;            /* device reads: kperf_device_count copies */
} kperf__lk_block;

static void *kperf__lk_alloc(kperf__lk_block *b, size_t size) {
    size = (size + 15) & ~(size_t)15;
    kperf__lk_chunk *c = b->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        c = (kperf__lk_chunk *)KPERF_MALLOC(sizeof(kperf__lk_chunk) + 16 + cap);
        if (!c) return NULL;
        c->next = b->chunks, c->used = 0, c->cap = cap;
        b->chunks = c;
    }
    char *base = (char *)(((uintptr_t)(c + 1) + 15) & ~(uintptr_t)15);
    void *p = base + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

static char *kperf__lk_strdup(kperf__lk_block *b, const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = (char *)kperf__lk_alloc(b, n);
    if (p) memcpy(p, s, n);
    return p;
}

static kperf__lk_block *kperf__lk_block_new(size_t elem, int kind, int pd) {
    kperf__lk_block *b = (kperf__lk_block *)KPERF_MALLOC(sizeof *b);
    if (!b) return NULL;
    memset(b, 0, sizeof *b);
    b->magic = KPERF__LK_MAGIC, b->kind = kind, b->pd = pd;
    b->cap = 64;
    b->data = KPERF_MALLOC(sizeof(kperf__lk_block *) * 2 + elem * b->cap);
    if (!b->data) return KPERF_FREE(b), (kperf__lk_block *)NULL;
    return b;
}

/* The record array is preceded by a pointer back to its block (two slots keep the array
 * 16-byte aligned). */
static void *kperf__lk_records(kperf__lk_block *b) { return (kperf__lk_block **)b->data + 2; }

static kperf__lk_block *kperf__lk_block_of(const void *records) {
    if (!records) return NULL;
    kperf__lk_block *b = ((kperf__lk_block *const *)records)[-2];
    return b && b->magic == KPERF__LK_MAGIC ? b : NULL;
}

/* Appends one zeroed record; NULL on out of memory. */
static void *kperf__lk_push(kperf__lk_block *b, size_t elem) {
    if (b->n == b->cap) {
        size_t cap = b->cap * 2;
        void *d = KPERF_REALLOC(b->data, sizeof(kperf__lk_block *) * 2 + elem * cap);
        if (!d) return NULL;
        b->data = d, b->cap = cap;
    }
    char *r = (char *)kperf__lk_records(b) + elem * b->n++;
    memset(r, 0, elem);
    return r;
}

static void kperf__lk_block_free(kperf__lk_block *b) {
    if (!b) return;
    for (kperf__lk_chunk *c = b->chunks, *nx; c; c = nx) nx = c->next, KPERF_FREE(c);
    KPERF_FREE(b->extra);
    b->magic = 0;
    KPERF_FREE(b->data);
    KPERF_FREE(b);
}

/* Hands the records to the caller: NULL when empty (the block is freed then). */
static int kperf__lk_block_finish(kperf__lk_block *b, void **out) {
    int n = (int)b->n;
    ((kperf__lk_block **)b->data)[0] = b;
    ((kperf__lk_block **)b->data)[1] = b;
    if (n == 0 && !b->extra) {
        kperf__lk_block_free(b);
        *out = NULL;
        return 0;
    }
    *out = kperf__lk_records(b);
    return n;
}

void PmuDataFree(PmuData *pmuData) { kperf__lk_block_free(kperf__lk_block_of(pmuData)); }

void PmuTraceDataFree(PmuTraceData *traceData) {
    kperf__lk_block_free(kperf__lk_block_of(traceData));
}

/* ---- the task table ------------------------------------------------------------------ */

enum { KPERF__LK_COUNTING = 1, KPERF__LK_SAMPLING, KPERF__LK_SPE, KPERF__LK_TRACE,
       KPERF__LK_DEVICE };

typedef struct kperf__lk_task {
    int kind;
    char **names;           /* per opened event: the record's evt name */
    int *groups;            /* per opened event: the EvtAttr groupId */
    size_t nnames;
    kperf_counter *counter;
    kperf_sampler *sampler;
    kperf_symbolizer *sym;
    enum SymbolMode symmode;
    bool callstack;
    kperf_topology *topo;
    kperf_spe *spe;
    kperf_syscalls *sys;
    kperf_device *dev;
    kperf_device_count *dev_prev;
    uint64_t dev_t0;
    PmuDeviceAttr *dev_attr;
    unsigned ndev_attr;
    pid_t comm_pid[8];      /* small pid -> comm cache */
    char comm[8][17];
    unsigned comm_next;
    double *debt;           /* COUNTING: per event, count drops not yet subtracted */
    size_t ndebt;
} kperf__lk_task;

#define KPERF__LK_MAX 1024
static kperf__lk_task *kperf__lk_tasks[KPERF__LK_MAX];
static pthread_mutex_t kperf__lk_mu = PTHREAD_MUTEX_INITIALIZER;

static int kperf__lk_add(kperf__lk_task *t) {
    pthread_mutex_lock(&kperf__lk_mu);
    int pd = -1;
    for (int i = 1; i < KPERF__LK_MAX; i++)
        if (!kperf__lk_tasks[i]) {
            kperf__lk_tasks[i] = t, pd = i;
            break;
        }
    pthread_mutex_unlock(&kperf__lk_mu);
    if (pd < 0)
        return KPERF__LK_FAIL(KPERF_ELIMIT, "PmuOpen: %d tasks are open; close some (PmuClose)",
                              KPERF__LK_MAX - 1);
    return pd;
}

/* The task of pd, or NULL with the error set. kind 0 accepts any kind. */
static kperf__lk_task *kperf__lk_get(int pd, int kind) {
    kperf__lk_task *t = NULL;
    pthread_mutex_lock(&kperf__lk_mu);
    if (pd > 0 && pd < KPERF__LK_MAX) t = kperf__lk_tasks[pd];
    pthread_mutex_unlock(&kperf__lk_mu);
    if (!t || (kind && t->kind != kind && !(kind == KPERF__LK_COUNTING &&
                                            t->kind == KPERF__LK_DEVICE))) {
        KPERF__LK_FAIL(EBADF, "pd %d is not an open %s descriptor", pd,
                       kind == KPERF__LK_TRACE ? "PmuTraceOpen" : "PmuOpen");
        return NULL;
    }
    return t;
}

static void kperf__lk_task_free(kperf__lk_task *t) {
    if (!t) return;
    kperf_counter_close(t->counter);
    kperf_sampler_close(t->sampler);
    kperf_symbolizer_close(t->sym);
    kperf_topology_close(t->topo);
    kperf_spe_close(t->spe);
    kperf_syscalls_close(t->sys);
    kperf_device_close(t->dev);
    KPERF_FREE(t->dev_prev);
    if (t->dev_attr)
        for (unsigned i = 0; i < t->ndev_attr; i++) KPERF_FREE(t->dev_attr[i].bdf);
    KPERF_FREE(t->dev_attr);
    for (size_t i = 0; i < t->nnames; i++) KPERF_FREE(t->names[i]);
    KPERF_FREE(t->names);
    KPERF_FREE(t->groups);
    KPERF_FREE(t->debt);
    KPERF_FREE(t);
}

static kperf__lk_task *kperf__lk_take(int pd) {
    kperf__lk_task *t = NULL;
    pthread_mutex_lock(&kperf__lk_mu);
    if (pd > 0 && pd < KPERF__LK_MAX) t = kperf__lk_tasks[pd], kperf__lk_tasks[pd] = NULL;
    pthread_mutex_unlock(&kperf__lk_mu);
    return t;
}

/* ---- event lists --------------------------------------------------------------------- */

/* Number of events one evtList entry expands to (a glob or a PMU without its suffix
 * becomes several), or a negative error. */
static int kperf__lk_expand(const char *spec) {
    kperf_evlist *l = NULL;
    int rc = kperf_evlist_parse(&l, spec, NULL);
    if (rc < 0) return rc;
    rc = (int)l->nevents;
    kperf_evlist_free(l);
    return rc;
}

static int kperf__lk_group(const PmuAttr *a, unsigned i) {
    return a->evtAttr ? a->evtAttr[i].groupId : -1;
}

/* Whether the spec carries its own modifier or is a tracepoint/PMU form (no ":k" added). */
static bool kperf__lk_has_mod(const char *s) { return strchr(s, ':') || strchr(s, '/'); }

/* Builds the event spec of a task: entries in evtList order, those sharing a groupId
 * >= 0 (COUNTING) inside one pair of braces, and records each opened event's name and
 * group. Returns the spec (free it) or NULL with the error set. */
static char *kperf__lk_spec(kperf__lk_task *t, const PmuAttr *a, bool groups, bool add_k) {
    size_t cap = 64;
    for (unsigned i = 0; i < a->numEvt; i++) cap += strlen(a->evtList[i]) + 8;
    char *spec = (char *)KPERF_MALLOC(cap);
    bool *done = (bool *)kperf__calloc(a->numEvt + 1, sizeof *done);
    if (!spec || !done) goto nomem;
    spec[0] = 0;
    for (unsigned i = 0; i < a->numEvt; i++) {
        if (done[i]) continue;
        int g = groups ? kperf__lk_group(a, i) : -1;
        if (spec[0]) strcat(spec, ",");
        if (g >= 0) strcat(spec, "{");
        bool first = true;
        for (unsigned j = i; j < a->numEvt; j++) {
            if (done[j] || (j != i && (g < 0 || kperf__lk_group(a, j) != g))) continue;
            const char *e = a->evtList[j];
            if (!e || !*e) {
                KPERF__LK_FAIL(KPERF_EPARSE, "PmuOpen: evtList[%u] is empty", j);
                goto fail;
            }
            int n = kperf__lk_expand(e);
            if (n < 0) {
                kperf__lk_fail(n);
                goto fail;
            }
            char **nm = (char **)KPERF_REALLOC(t->names, (t->nnames + (size_t)n) * sizeof *nm);
            if (nm) t->names = nm;
            int *gr = (int *)KPERF_REALLOC(t->groups, (t->nnames + (size_t)n) * sizeof *gr);
            if (gr) t->groups = gr;
            if (!nm || !gr) goto nomem;
            for (int k = 0; k < n; k++) {
                t->names[t->nnames] = n == 1 ? kperf__strdup(e) : NULL;
                t->groups[t->nnames++] = kperf__lk_group(a, j);
            }
            if (!first) strcat(spec, ",");
            strcat(spec, e);
            if (add_k && !kperf__lk_has_mod(e)) strcat(spec, ":k");
            done[j] = true, first = false;
        }
        if (g >= 0) strcat(spec, "}");
    }
    KPERF_FREE(done);
    return spec;
nomem:
    KPERF__LK_FAIL(ENOMEM, "PmuOpen: out of memory");
fail:
    KPERF_FREE(done);
    KPERF_FREE(spec);
    return NULL;
}

/* The name of opened event i: the user's spelling when the entry was one event. */
static const char *kperf__lk_evname(const kperf__lk_task *t, size_t i, const char *fallback) {
    return i < t->nnames && t->names[i] ? t->names[i] : (fallback ? fallback : "");
}

static int kperf__lk_check_attr(const PmuAttr *a, bool need_events) {
    if (!a) return KPERF__LK_FAIL(EINVAL, "PmuOpen: attr is NULL");
    if (need_events && (!a->evtList || a->numEvt == 0))
        return KPERF__LK_FAIL(EINVAL, "PmuOpen: evtList is empty: name at least one event "
                                      "(e.g. \"task-clock\"; PmuEventList lists them)");
    if ((a->numPid && !a->pidList) || (a->numCpu && !a->cpuList))
        return KPERF__LK_FAIL(EINVAL, "PmuOpen: numPid/numCpu set but pidList/cpuList NULL");
    for (unsigned i = 0; i < a->numPid; i++)
        if (a->pidList[i] <= 0)
            return KPERF__LK_FAIL(KPERF_ENOTARGET, "PmuOpen: pidList[%u] is %d: not a process",
                                  i, a->pidList[i]);
    return 0;
}

/* ---- topology per record ------------------------------------------------------------- */

static CpuTopology *kperf__lk_topo(kperf__lk_task *t, kperf__lk_block *b, int cpu,
                                   CpuTopology **cache, size_t ncache) {
    if (cpu >= 0 && (size_t)cpu < ncache && cache[cpu]) return cache[cpu];
    CpuTopology *ct = (CpuTopology *)kperf__lk_alloc(b, sizeof *ct);
    if (!ct) return NULL;
    ct->coreId = ct->numaId = ct->socketId = -1;
    kperf_cpu_topo tp;
    if (!t->topo) kperf_topology_open(&t->topo, NULL);
    if (cpu >= 0 && t->topo && kperf_topology_cpu(t->topo, cpu, &tp) == 0)
        ct->coreId = cpu, ct->numaId = tp.numa, ct->socketId = tp.socket;
    if (cpu >= 0 && (size_t)cpu < ncache) cache[cpu] = ct;
    return ct;
}

/* The name of a process, read from /proc once per task (a small cache), copied into the
 * read's block. */
static const char *kperf__lk_comm(kperf__lk_task *t, kperf__lk_block *b, pid_t pid) {
    if (pid <= 0) return "";
    for (unsigned i = 0; i < 8; i++)
        if (t->comm_pid[i] == pid) return kperf__lk_strdup(b, t->comm[i]);
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    if (kperf__read_file(path, buf, sizeof buf) <= 0) return "";
    buf[strcspn(buf, "\n")] = 0;
    unsigned k = t->comm_next++ % 8;
    t->comm_pid[k] = pid;
    buf[sizeof t->comm[k] - 1] = 0;
    memcpy(t->comm[k], buf, sizeof t->comm[k]);
    return kperf__lk_strdup(b, buf);
}

/* ---- COUNTING ------------------------------------------------------------------------ */

static int kperf__lk_open_counting(kperf__lk_task *t, const PmuAttr *a) {
    bool add_k = a->excludeUser && !a->excludeKernel;
    char *spec = kperf__lk_spec(t, a, true, add_k);
    if (!spec) return -1;
    kperf_counter_desc d;
    memset(&d, 0, sizeof d);
    d.events = spec;
    d.pids = (const pid_t *)a->pidList, d.npids = a->numPid;
    d.cpus = a->cpuList, d.ncpus = a->numCpu;
    d.all_cpus = a->numPid == 0 && a->numCpu == 0;
    d.include_kernel = !a->excludeKernel;
    d.inherit = d.per_thread = a->includeNewFork != 0;
    int rc = kperf_counter_open(&t->counter, &d);
    KPERF_FREE(spec);
    return rc < 0 ? kperf__lk_fail(rc) : 0;
}

static int kperf__lk_read_counting(kperf__lk_task *t, kperf__lk_block *b) {
    kperf_counts c;
    int rc = kperf_counter_read(t->counter, &c);
    if (rc < 0) return kperf__lk_fail(rc);
    CpuTopology *cache[256] = {0};
    const char **evn = (const char **)kperf__calloc(c.nevents + 1, sizeof *evn);
    if (!evn) return KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
    int64_t now = (int64_t)kperf__now_ns();
    /* A thread that exits between two reads can move its count from its parent's row to
     * its own exited row: the parent's delta is then negative. Such a drop is kept as a
     * per-event debt and taken from the event's positive deltas, so that the sum of an
     * event's counts over reads stays exact. */
    if (t->ndebt < c.nevents) {
        double *nd = (double *)KPERF_REALLOC(t->debt, (c.nevents + 1) * sizeof *nd);
        if (!nd) return KPERF_FREE(evn), KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
        for (size_t e = t->ndebt; e <= c.nevents; e++) nd[e] = 0;
        t->debt = nd, t->ndebt = c.nevents;
    }
    for (size_t i = 0; i < c.nrows; i++)
        if (c.rows[i].v.delta < 0 && (size_t)c.rows[i].event < c.nevents)
            t->debt[c.rows[i].event] -= c.rows[i].v.delta;
    for (size_t i = 0; i < c.nrows; i++) {
        const kperf_count_row *r = &c.rows[i];
        size_t e = (size_t)r->event;
        PmuData *d = (PmuData *)kperf__lk_push(b, sizeof *d);
        if (!d) goto nomem;
        if (e < c.nevents && !evn[e])
            evn[e] = kperf__lk_strdup(b, kperf__lk_evname(t, e, c.events[e].name));
        d->evt = e < c.nevents ? evn[e] : "";
        d->ts = now;
        d->pid = r->pid, d->tid = r->tid, d->cpu = r->cpu;
        d->groupId = e < t->nnames ? t->groups[e] : -1;
        d->cpuTopo = kperf__lk_topo(t, b, r->cpu, cache, 256);
        d->comm = r->pid > 0 ? kperf__lk_comm(t, b, r->pid) : "";
        double delta = r->v.delta > 0 ? r->v.delta : 0;
        if (delta > 0 && e < c.nevents && t->debt[e] > 0) {
            double pay = t->debt[e] < delta ? t->debt[e] : delta;
            delta -= pay, t->debt[e] -= pay;
        }
        d->count = (uint64_t)(delta + 0.5);
        d->countPercent = r->v.enabled ? (double)r->v.running / (double)r->v.enabled : 1.0;
        if (!d->evt || !d->cpuTopo || !d->comm) goto nomem;
    }
    KPERF_FREE(evn);
    return 0;
nomem:
    KPERF_FREE(evn);
    return KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
}

/* ---- SAMPLING ------------------------------------------------------------------------ */

static int kperf__lk_open_sampling(kperf__lk_task *t, const PmuAttr *a) {
    char *spec = kperf__lk_spec(t, a, false, false);
    if (!spec) return -1;
    kperf_sampler_desc d;
    memset(&d, 0, sizeof d);
    d.events = spec;
    if (a->useFreq)
        d.freq = a->freq ? a->freq : a->period;
    else
        d.period = a->period;
    d.callchain = a->callStack != 0;
    d.dwarf_callchain = a->callStack == 2;
    d.include_kernel = !a->excludeKernel;
    d.exclude_user = a->excludeUser != 0;
    d.branch_filter = a->branchSampleFilter;
    d.pids = (const pid_t *)a->pidList, d.npids = a->numPid;
    d.cpus = a->cpuList, d.ncpus = a->numCpu;
    d.all_cpus = a->numPid == 0 && a->numCpu == 0;
    d.inherit = a->numPid > 0;
    int rc = kperf_sampler_open(&t->sampler, &d);
    KPERF_FREE(spec);
    if (rc < 0) return kperf__lk_fail(rc);
    t->symmode = a->symbolMode;
    t->callstack = a->callStack != 0;
    if (a->symbolMode != NO_SYMBOL_RESOLVE) {
        kperf_symbolizer_desc sd;
        memset(&sd, 0, sizeof sd);
        sd.mode = a->symbolMode == RESOLVE_ELF ? KPERF_SYMBOL_ELF : KPERF_SYMBOL_DWARF;
        sd.include_kernel = !a->excludeKernel;
        rc = kperf_symbolizer_open(&t->sym, &sd);
        if (rc < 0) return kperf__lk_fail(rc);
    }
    if (a->callStack == 2) { /* unwinding needs the maps: of running processes too */
        if (!t->sym && (rc = kperf_symbolizer_open(&t->sym, &(kperf_symbolizer_desc){
                            .mode = KPERF_SYMBOL_NONE})) < 0)
            return kperf__lk_fail(rc);
        for (unsigned i = 0; i < a->numPid; i++) kperf_symbolizer_add_pid(t->sym, a->pidList[i]);
    }
    return 0;
}

/* One slot of a read's symbol cache. */
typedef struct kperf__lk_symslot {
    uint64_t addr;
    pid_t pid;
    Symbol *sym;
} kperf__lk_symslot;

/* Per-read state of the sampling callback. */
typedef struct kperf__lk_rd {
    kperf__lk_task *t;
    kperf__lk_block *b;
    const char **evn;       /* per event: its name copied into the block */
    size_t nev;
    CpuTopology *topo[256];
    kperf__lk_symslot *syms; /* (pid, addr) -> symbol, open addressing */
    size_t nsyms, capsyms;
    int err;
} kperf__lk_rd;

static size_t kperf__lk_hash(uint64_t addr, pid_t pid) {
    uint64_t h = (addr ^ ((uint64_t)(uint32_t)pid << 40)) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 20);
}

static Symbol *kperf__lk_symbol_make(kperf__lk_rd *r, pid_t pid, uint64_t addr, bool caller) {
    kperf__lk_block *b = r->b;
    Symbol *s = (Symbol *)kperf__lk_alloc(b, sizeof *s);
    if (!s) return NULL;
    s->addr = (unsigned long)addr;
    if (!r->t->sym) return s;
    kperf_frame fr[8];
    int n = kperf_symbolizer_lookup(r->t->sym, pid, caller && addr ? addr - 1 : addr, fr, 8);
    if (n <= 0) return s;
    const kperf_frame *f = &fr[0], *outer = &fr[n - 1];
    s->module = kperf__lk_strdup(b, f->module);
    s->symbolName = kperf__lk_strdup(b, f->function);
    s->mangleName = kperf__lk_strdup(b, f->mangled ? f->mangled : f->function);
    s->fileName = kperf__lk_strdup(b, f->file);
    s->lineNum = f->line;
    s->codeMapAddr = (unsigned long)f->module_addr;
    s->offset = outer->symbol_addr ? (unsigned long)(f->module_addr - outer->symbol_addr) : 0;
    s->codeMapEndAddr = (unsigned long)outer->symbol_addr;
    return s;
}

/* The symbol of (pid, addr) in this read, made once and shared by every frame. */
static Symbol *kperf__lk_symbol(kperf__lk_rd *r, pid_t pid, uint64_t addr, bool caller) {
    if (r->nsyms * 2 >= r->capsyms) {
        size_t cap = r->capsyms ? r->capsyms * 2 : 256;
        kperf__lk_symslot *ns = (kperf__lk_symslot *)kperf__calloc(cap, sizeof *ns);
        if (!ns) return NULL;
        kperf__lk_symslot *old = r->syms;
        size_t oldcap = r->capsyms;
        r->syms = ns, r->capsyms = cap;
        for (size_t i = 0; i < oldcap; i++) {
            kperf__lk_symslot *o = old + i;
            if (!o->sym) continue;
            size_t h = kperf__lk_hash(o->addr, o->pid) & (cap - 1);
            while (r->syms[h].sym) h = (h + 1) & (cap - 1);
            r->syms[h] = *o;
        }
        KPERF_FREE(old);
    }
    size_t h = kperf__lk_hash(addr, pid) & (r->capsyms - 1);
    while (r->syms[h].sym) {
        if (r->syms[h].addr == addr && r->syms[h].pid == pid) {
            r->syms[h].sym->count++;
            return r->syms[h].sym;
        }
        h = (h + 1) & (r->capsyms - 1);
    }
    Symbol *s = kperf__lk_symbol_make(r, pid, addr, caller);
    if (!s) return NULL;
    s->count = 1;
    r->syms[h].addr = addr, r->syms[h].pid = pid, r->syms[h].sym = s;
    r->nsyms++;
    return s;
}

/* Builds the Stack list of a sample: its ip, or its whole call chain (markers skipped). */
static int kperf__lk_stack(kperf__lk_rd *r, PmuData *d, const kperf_sample *smp) {
    Stack *prev = NULL;
    uint64_t one = smp->ip;
    const uint64_t *ips = &one;
    uint32_t n = 1;
    if (r->t->callstack && smp->nips) ips = smp->ips, n = smp->nips;
    uint64_t dw[256];
    if (r->t->callstack && smp->stack && smp->regs_abi && r->t->sym) { /* DWARF call chain */
        int k = kperf_symbolizer_unwind(r->t->sym, smp, r->t->sampler->layout.regs_user_mask,
                                        dw, 256);
        if (k > 0) ips = dw, n = (uint32_t)k;
    }
    bool caller = false;
    for (uint32_t i = 0; i < n; i++) {
        if (ips[i] >= KPERF_CONTEXT_MAX) continue;
        Stack *st = (Stack *)kperf__lk_alloc(r->b, sizeof *st);
        if (!st || !(st->symbol = kperf__lk_symbol(r, (pid_t)smp->pid, ips[i], caller)))
            return -ENOMEM;
        st->count = 1;
        st->prev = prev;
        if (prev) prev->next = st; else d->stack = st;
        prev = st, caller = true;
    }
    return 0;
}

static int kperf__lk_sample_extras(kperf__lk_rd *r, PmuData *d, const kperf_sample *smp) {
    if (smp->raw_size) {
        SampleRawData *raw = (SampleRawData *)kperf__lk_alloc(r->b, sizeof *raw);
        char *bytes = (char *)kperf__lk_alloc(r->b, smp->raw_size + 1);
        if (!raw || !bytes) return -ENOMEM;
        memcpy(bytes, smp->raw, smp->raw_size);
        raw->data = bytes, raw->size = smp->raw_size;
        d->rawData = raw;
    }
    if (smp->nbranches) {
        PmuDataExt *x = (PmuDataExt *)kperf__lk_alloc(r->b, sizeof *x);
        BranchSampleRecord *br = (BranchSampleRecord *)kperf__lk_alloc(
            r->b, smp->nbranches * sizeof *br);
        if (!x || !br) return -ENOMEM;
        for (uint32_t i = 0; i < smp->nbranches; i++) {
            const kperf_branch *kb = &smp->branches[i];
            br[i].fromAddr = (unsigned long)kb->from, br[i].toAddr = (unsigned long)kb->to;
            br[i].misPred = kb->flags & 1, br[i].predicted = (kb->flags >> 1) & 1;
            br[i].cycles = (unsigned long)((kb->flags >> 4) & 0xffff);
        }
        x->branchRecords = br, x->nr = smp->nbranches;
        d->ext = x;
    }
    return 0;
}

static int kperf__lk_on_record(const kperf_record *rec, void *user) {
    kperf__lk_rd *r = (kperf__lk_rd *)user;
    kperf__lk_task *t = r->t;
    if ((rec->type == KPERF_RECORD_MMAP2 || rec->type == KPERF_RECORD_MMAP) && t->sym) {
        kperf_module_desc m;
        memset(&m, 0, sizeof m);
        m.pid = (pid_t)rec->mmap.pid, m.start = rec->mmap.addr, m.len = rec->mmap.len;
        m.pgoff = rec->mmap.pgoff, m.path = rec->mmap.filename;
        m.build_id = rec->mmap.build_id_size ? rec->mmap.build_id : NULL;
        m.build_id_size = rec->mmap.build_id_size;
        if (m.path && m.path[0] == '/') kperf_symbolizer_add_module(t->sym, &m);
        return 0;
    }
    if (rec->type != KPERF_RECORD_SAMPLE) return 0;
    const kperf_sample *smp = &rec->sample;
    PmuData *d = (PmuData *)kperf__lk_push(r->b, sizeof *d);
    if (!d) return r->err = -ENOMEM;
    size_t e = rec->event >= 0 ? (size_t)rec->event : (size_t)-1;
    if (e < r->nev && !r->evn[e])
        r->evn[e] = kperf__lk_strdup(r->b, kperf__lk_evname(t, e,
                                     kperf_sampler_event_name(t->sampler, e)));
    d->evt = e < r->nev && r->evn[e] ? r->evn[e] : "";
    d->ts = (int64_t)smp->time;
    d->pid = (pid_t)smp->pid, d->tid = (int)smp->tid, d->cpu = (int)smp->cpu;
    d->groupId = e < t->nnames ? t->groups[e] : -1;
    d->period = smp->period;
    d->count = 1;
    d->countPercent = 1.0;
    d->cpuTopo = kperf__lk_topo(t, r->b, d->cpu, r->topo, 256);
    const char *comm = kperf_sampler_comm(t->sampler, smp->pid);
    d->comm = comm ? kperf__lk_strdup(r->b, comm) : kperf__lk_comm(t, r->b, (pid_t)smp->pid);
    if (!d->cpuTopo || !d->comm) return r->err = -ENOMEM;
    if (kperf__lk_stack(r, d, smp) < 0 || kperf__lk_sample_extras(r, d, smp) < 0)
        return r->err = -ENOMEM;
    return 0;
}

static int kperf__lk_read_sampling(kperf__lk_task *t, kperf__lk_block *b) {
    kperf__lk_rd r;
    memset(&r, 0, sizeof r);
    r.t = t, r.b = b;
    r.nev = kperf_sampler_nevents(t->sampler);
    r.evn = (const char **)kperf__calloc(r.nev + 1, sizeof *r.evn);
    if (!r.evn) return KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
    int rc = kperf_sampler_read(t->sampler, kperf__lk_on_record, &r);
    KPERF_FREE(r.evn);
    KPERF_FREE(r.syms);
    if (r.err) return KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
    return rc < 0 ? kperf__lk_fail(rc) : 0;
}

/* ---- SPE_SAMPLING -------------------------------------------------------------------- */

static int kperf__lk_open_spe(kperf__lk_task *t, const PmuAttr *a) {
    kperf_spe_desc d;
    memset(&d, 0, sizeof d);
    d.data_filter = a->dataFilter;
    d.event_filter = a->evFilter;
    d.min_latency = (uint32_t)a->minLatency;
    d.period = a->period;
    d.include_kernel = !a->excludeKernel;
    d.exclude_user = a->excludeUser != 0;
    d.cpus = a->cpuList, d.ncpus = a->numCpu;
    d.pids = (const pid_t *)a->pidList, d.npids = a->numPid;
    d.context_switch = true;
    int rc = kperf_spe_open(&t->spe, &d);
    if (rc < 0) return kperf__lk_fail(rc);
    t->symmode = a->symbolMode;
    if (a->symbolMode != NO_SYMBOL_RESOLVE) {
        kperf_symbolizer_desc sd;
        memset(&sd, 0, sizeof sd);
        sd.mode = a->symbolMode == RESOLVE_ELF ? KPERF_SYMBOL_ELF : KPERF_SYMBOL_DWARF;
        sd.include_kernel = !a->excludeKernel;
        rc = kperf_symbolizer_open(&t->sym, &sd);
        if (rc < 0) return kperf__lk_fail(rc);
    }
    return 0;
}

static int kperf__lk_on_spe(const kperf_spe_record *rec, void *user) {
    kperf__lk_rd *r = (kperf__lk_rd *)user;
    PmuData *d = (PmuData *)kperf__lk_push(r->b, sizeof *d);
    PmuDataExt *x = (PmuDataExt *)kperf__lk_alloc(r->b, sizeof *x);
    Stack *st = (Stack *)kperf__lk_alloc(r->b, sizeof *st);
    if (!d || !x || !st) return r->err = -ENOMEM;
    d->evt = "spe";
    d->ts = (int64_t)rec->time;
    d->pid = rec->pid, d->tid = rec->tid, d->cpu = -1;
    d->groupId = -1;
    d->count = 1, d->countPercent = 1.0;
    d->cpuTopo = kperf__lk_topo(r->t, r->b, -1, r->topo, 0);
    d->comm = kperf__lk_comm(r->t, r->b, rec->pid);
    x->pa = (unsigned long)rec->pa, x->va = (unsigned long)rec->va;
    x->event = (unsigned long)rec->events;
    d->ext = x;
    st->count = 1;
    if (!d->cpuTopo || !d->comm ||
        !(st->symbol = kperf__lk_symbol(r, rec->pid > 0 ? rec->pid : 0, rec->pc, false)))
        return r->err = -ENOMEM;
    d->stack = st;
    return 0;
}

static int kperf__lk_read_spe(kperf__lk_task *t, kperf__lk_block *b) {
    kperf__lk_rd r;
    memset(&r, 0, sizeof r);
    r.t = t, r.b = b;
    int rc = kperf_spe_read(t->spe, kperf__lk_on_spe, &r);
    KPERF_FREE(r.syms);
    if (r.err) return KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
    return rc < 0 ? kperf__lk_fail(rc) : 0;
}

/* ---- TRACE_SYS_CALL ------------------------------------------------------------------ */

int PmuTraceOpen(enum PmuTraceType traceType, PmuTraceAttr *traceAttr) {
    kperf__lk_ok();
    if (traceType != TRACE_SYS_CALL)
        return KPERF__LK_FAIL(EINVAL, "PmuTraceOpen: unknown trace type %d (only "
                                      "TRACE_SYS_CALL)", (int)traceType);
    PmuTraceAttr none;
    memset(&none, 0, sizeof none);
    const PmuTraceAttr *a = traceAttr ? traceAttr : &none;
    if ((a->numFuncs && !a->funcs) || (a->numPid && !a->pidList) || (a->numCpu && !a->cpuList))
        return KPERF__LK_FAIL(EINVAL, "PmuTraceOpen: a count is set but its list is NULL");
    kperf__lk_task *t = (kperf__lk_task *)kperf__calloc(1, sizeof *t);
    if (!t) return KPERF__LK_FAIL(ENOMEM, "PmuTraceOpen: out of memory");
    t->kind = KPERF__LK_TRACE;
    kperf_syscalls_desc d;
    memset(&d, 0, sizeof d);
    d.funcs = a->funcs, d.nfuncs = a->numFuncs;
    d.pids = (const pid_t *)a->pidList, d.npids = a->numPid;
    d.cpus = a->cpuList, d.ncpus = a->numCpu;
    d.all_cpus = a->numPid == 0 && a->numCpu == 0;
    d.inherit = a->numPid > 0;
    int rc = kperf_syscalls_open(&t->sys, &d);
    if (rc < 0) {
        kperf__lk_task_free(t);
        return kperf__lk_fail(rc);
    }
    int pd = kperf__lk_add(t);
    if (pd < 0) kperf__lk_task_free(t);
    return pd;
}

int PmuTraceEnable(int pd) {
    kperf__lk_ok();
    kperf__lk_task *t = kperf__lk_get(pd, KPERF__LK_TRACE);
    if (!t) return Perrorno();
    int rc = kperf_syscalls_start(t->sys);
    return rc < 0 ? (kperf__lk_fail(rc), Perrorno()) : 0;
}

int PmuTraceDisable(int pd) {
    kperf__lk_ok();
    kperf__lk_task *t = kperf__lk_get(pd, KPERF__LK_TRACE);
    if (!t) return Perrorno();
    int rc = kperf_syscalls_stop(t->sys);
    return rc < 0 ? (kperf__lk_fail(rc), Perrorno()) : 0;
}

typedef struct kperf__lk_trd {
    kperf__lk_block *b;
    const char *last_name, *last_copy;  /* consecutive calls of one syscall share a copy */
    int err;
} kperf__lk_trd;

static int kperf__lk_on_call(const kperf_syscall_call *c, void *user) {
    kperf__lk_trd *r = (kperf__lk_trd *)user;
    PmuTraceData *d = (PmuTraceData *)kperf__lk_push(r->b, sizeof *d);
    if (!d) return r->err = -ENOMEM;
    if (r->last_name != c->name || !r->last_copy)
        r->last_copy = kperf__lk_strdup(r->b, c->name ? c->name : "");
    r->last_name = c->name;
    d->funcs = r->last_copy;
    d->elapsedTime = (double)c->duration / 1e6;
    d->startTs = (int64_t)c->start;
    d->pid = c->pid, d->tid = c->tid, d->cpu = c->cpu;
    d->comm = kperf__lk_strdup(r->b, c->comm);
    if (!d->funcs || !d->comm) return r->err = -ENOMEM;
    return 0;
}

int PmuTraceRead(int pd, PmuTraceData **traceData) {
    kperf__lk_ok();
    if (!traceData) return KPERF__LK_FAIL(EINVAL, "PmuTraceRead: traceData is NULL");
    *traceData = NULL;
    kperf__lk_task *t = kperf__lk_get(pd, KPERF__LK_TRACE);
    if (!t) return -1;
    kperf__lk_block *b = kperf__lk_block_new(sizeof(PmuTraceData), KPERF__LK_TRACE, pd);
    if (!b) return KPERF__LK_FAIL(ENOMEM, "PmuTraceRead: out of memory");
    kperf__lk_trd r;
    memset(&r, 0, sizeof r);
    r.b = b;
    int rc = kperf_syscalls_read(t->sys, kperf__lk_on_call, &r);
    if (r.err || rc < 0) {
        kperf__lk_block_free(b);
        return r.err ? KPERF__LK_FAIL(ENOMEM, "PmuTraceRead: out of memory") : kperf__lk_fail(rc);
    }
    return kperf__lk_block_finish(b, (void **)traceData);
}

void PmuTraceClose(int pd) {
    kperf__lk_ok();
    kperf__lk_task *t = kperf__lk_take(pd);
    if (t && t->kind != KPERF__LK_TRACE) {   /* not ours: put it back */
        pthread_mutex_lock(&kperf__lk_mu);
        kperf__lk_tasks[pd] = t;
        pthread_mutex_unlock(&kperf__lk_mu);
        return;
    }
    kperf__lk_task_free(t);
}

/* ---- devices ------------------------------------------------------------------------- */

static const char *const kperf__lk_metric_names[] = {
    "DDR_READ_BW", "DDR_WRITE_BW", "L3_TRAFFIC", "L3_MISS", "L3_REF", "L3_LAT",
    "PCIE_RX_MRD_BW", "PCIE_RX_MWR_BW", "PCIE_TX_MRD_BW", "PCIE_TX_MWR_BW", "SMMU_TRAN"};

int PmuDeviceOpen(PmuDeviceAttr *attr, unsigned len) {
    kperf__lk_ok();
    if (!attr || !len) return KPERF__LK_FAIL(EINVAL, "PmuDeviceOpen: no metric requested");
    char metrics[512] = "";
    const char *bdf = NULL;
    for (unsigned i = 0; i < len; i++) {
        if ((unsigned)attr[i].metric >= (unsigned)PMU_METRIC_INVALID)
            return KPERF__LK_FAIL(EINVAL, "PmuDeviceOpen: attr[%u].metric %d is not a "
                                          "PmuDeviceMetric", i, (int)attr[i].metric);
        if (attr[i].bdf && bdf && strcmp(attr[i].bdf, bdf))
            return KPERF__LK_FAIL(EINVAL, "PmuDeviceOpen: one device per open (bdf %s and %s):"
                                          " open one descriptor per device", bdf, attr[i].bdf);
        if (attr[i].bdf) bdf = attr[i].bdf;
        if (metrics[0]) strcat(metrics, ",");
        strcat(metrics, kperf__lk_metric_names[attr[i].metric]);
    }
    kperf__lk_task *t = (kperf__lk_task *)kperf__calloc(1, sizeof *t);
    if (!t) return KPERF__LK_FAIL(ENOMEM, "PmuDeviceOpen: out of memory");
    t->kind = KPERF__LK_DEVICE;
    kperf_device_desc d;
    memset(&d, 0, sizeof d);
    d.metrics = metrics, d.bdf = bdf;
    int rc = kperf_device_open(&t->dev, &d);
    if (rc < 0) {
        kperf__lk_task_free(t);
        return kperf__lk_fail(rc);
    }
    size_t n = kperf_device_nevents(t->dev);
    t->dev_prev = (kperf_device_count *)kperf__calloc(n + 1, sizeof *t->dev_prev);
    if (!t->dev_prev) {
        kperf__lk_task_free(t);
        return KPERF__LK_FAIL(ENOMEM, "PmuDeviceOpen: out of memory");
    }
    int pd = kperf__lk_add(t);
    if (pd < 0) kperf__lk_task_free(t);
    return pd;
}

/* A device read: one record per uncore event (its increase since the previous read), and
 * the increases kept in the block for PmuGetDevMetric(). */
static int kperf__lk_read_device(kperf__lk_task *t, kperf__lk_block *b) {
    size_t n = kperf_device_nevents(t->dev);
    kperf_device_count *now = (kperf_device_count *)kperf__calloc(n + 1, sizeof *now);
    if (!now) return KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
    int rc = kperf_device_read(t->dev, now);
    if (rc < 0) return KPERF_FREE(now), kperf__lk_fail(rc);
    uint64_t t1 = kperf__now_ns();
    b->elapsed_ns = t->dev_t0 && t1 > t->dev_t0 ? t1 - t->dev_t0 : 1;
    t->dev_t0 = t1;
    CpuTopology *cache[256] = {0};
    for (size_t i = 0; i < n; i++) {
        kperf_device_count delta = now[i];
        delta.value -= t->dev_prev[i].value;
        delta.time_enabled -= t->dev_prev[i].time_enabled;
        delta.time_running -= t->dev_prev[i].time_running;
        t->dev_prev[i] = now[i];
        now[i] = delta;
        const kperf_device_event *ev = kperf_device_event_at(t->dev, i);
        PmuData *d = (PmuData *)kperf__lk_push(b, sizeof *d);
        if (!d || !(d->evt = kperf__lk_strdup(b, ev->spec))) goto nomem;
        d->pid = d->tid = -1, d->cpu = ev->cpu, d->groupId = -1;
        d->ts = (int64_t)t1;
        d->count = delta.value;
        d->countPercent = delta.time_enabled ? (double)delta.time_running /
                                               (double)delta.time_enabled : 0.0;
        d->comm = "";
        if (!(d->cpuTopo = kperf__lk_topo(t, b, ev->cpu, cache, 256))) goto nomem;
    }
    b->extra = now;
    return 0;
nomem:
    KPERF_FREE(now);
    return KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
}

static int kperf__lk_metric_of(const char *name) {
    for (int i = 0; i < (int)PMU_METRIC_INVALID; i++)
        if (!strcmp(kperf__lk_metric_names[i], name)) return i;
    return -1;
}

int PmuGetDevMetric(PmuData *pmuData, unsigned len, PmuDeviceAttr *attr,
                              unsigned attrLen, PmuDeviceData **data) {
    kperf__lk_ok();
    if (!data) return KPERF__LK_FAIL(EINVAL, "PmuGetDevMetric: data is NULL");
    *data = NULL;
    kperf__lk_block *src = kperf__lk_block_of(pmuData);
    kperf__lk_task *t = src && src->kind == KPERF__LK_DEVICE ? kperf__lk_get(src->pd, 0) : NULL;
    if (!src || !src->extra || !t || t->kind != KPERF__LK_DEVICE || len != src->n)
        return KPERF__LK_FAIL(EINVAL, "PmuGetDevMetric: pmuData is not the whole result of "
                                      "PmuRead on an open PmuDeviceOpen descriptor");
    int nv = kperf_device_compute(t->dev, (const kperf_device_count *)src->extra,
                                  src->elapsed_ns, NULL, 0);
    if (nv < 0) return kperf__lk_fail(nv);
    kperf_metric_value *mv = (kperf_metric_value *)kperf__calloc((size_t)nv + 1, sizeof *mv);
    kperf__lk_block *b = kperf__lk_block_new(sizeof(PmuDeviceData), KPERF__LK_DEVICE, src->pd);
    if (!mv || !b) goto nomem;
    nv = kperf_device_compute(t->dev, (const kperf_device_count *)src->extra, src->elapsed_ns,
                              mv, (size_t)nv);
    for (int i = 0; i < nv; i++) {
        int m = kperf__lk_metric_of(mv[i].name);
        bool wanted = false;
        for (unsigned k = 0; k < attrLen && attr; k++) wanted |= (int)attr[k].metric == m;
        if (m < 0 || !wanted || mv[i].mode == KPERF_METRIC_TOTAL) continue;
        PmuDeviceData *d = (PmuDeviceData *)kperf__lk_push(b, sizeof *d);
        if (!d) goto nomem;
        d->metric = (enum PmuDeviceMetric)m;
        d->count = mv[i].value;
        switch (mv[i].mode) {
        case KPERF_METRIC_PER_CORE: d->mode = PMU_METRIC_CORE, d->coreId = (unsigned)mv[i].cpu; break;
        case KPERF_METRIC_PER_NUMA: d->mode = PMU_METRIC_NUMA, d->numaId = (unsigned)mv[i].numa; break;
        case KPERF_METRIC_PER_BDF:
        case KPERF_METRIC_PER_PORT:
            d->mode = PMU_METRIC_BDF;
            if (!(d->bdf = kperf__lk_strdup(b, mv[i].where))) goto nomem;
            break;
        case KPERF_METRIC_PER_CHANNEL:
            d->mode = PMU_METRIC_CHANNEL, d->channelId = (unsigned)mv[i].channel;
            d->ddrNumaId = (unsigned)mv[i].numa, d->socketId = (unsigned)mv[i].socket;
            break;
        default: d->mode = PMU_METRIC_NUMA, d->numaId = (unsigned)mv[i].numa; break;
        }
    }
    KPERF_FREE(mv);
    return kperf__lk_block_finish(b, (void **)data);
nomem:
    KPERF_FREE(mv);
    kperf__lk_block_free(b);
    return KPERF__LK_FAIL(ENOMEM, "PmuGetDevMetric: out of memory");
}

void DevDataFree(PmuDeviceData *data) { kperf__lk_block_free(kperf__lk_block_of(data)); }

/* ---- process-lifetime lists (event names, syscall names, bdfs, core lists) ----------- */

typedef struct kperf__lk_list {
    struct kperf__lk_list *next;
    int kind, id;
    size_t n;
    void *items;
} kperf__lk_list;

static kperf__lk_list *kperf__lk_lists;
static pthread_mutex_t kperf__lk_list_mu = PTHREAD_MUTEX_INITIALIZER;

/* Caller holds kperf__lk_list_mu. */
static kperf__lk_list *kperf__lk_list_find(int kind, int id) {
    for (kperf__lk_list *l = kperf__lk_lists; l; l = l->next)
        if (l->kind == kind && l->id == id) return l;
    return NULL;
}

static kperf__lk_list *kperf__lk_list_add(int kind, int id, void *items, size_t n) {
    kperf__lk_list *l = (kperf__lk_list *)kperf__calloc(1, sizeof *l);
    if (!l) return NULL;
    l->kind = kind, l->id = id, l->items = items, l->n = n;
    l->next = kperf__lk_lists, kperf__lk_lists = l;
    return l;
}

enum { KPERF__LK_L_EVENTS = 1, KPERF__LK_L_SYSCALLS, KPERF__LK_L_BDF, KPERF__LK_L_CLUSTER,
       KPERF__LK_L_NUMA };

const char **PmuEventList(enum PmuEventType eventType, unsigned *numEvt) {
    static const enum kperf_event_kind kinds[] = {KPERF_EVENT_KIND_CORE, KPERF_EVENT_KIND_UNCORE,
                                                  KPERF_EVENT_KIND_TRACEPOINT,
                                                  KPERF_EVENT_KIND_ALL};
    kperf__lk_ok();
    if (numEvt) *numEvt = 0;
    if ((unsigned)eventType > (unsigned)ALL_EVENT) {
        KPERF__LK_FAIL(EINVAL, "PmuEventList: unknown event type %d", (int)eventType);
        return NULL;
    }
    pthread_mutex_lock(&kperf__lk_list_mu);
    kperf__lk_list *l = kperf__lk_list_find(KPERF__LK_L_EVENTS, (int)eventType);
    if (!l) {
        char **names = NULL;
        size_t n = 0;
        int rc = kperf_event_names(NULL, kinds[eventType], &names, &n);
        if (rc < 0) kperf__lk_fail(rc);
        else if (!(l = kperf__lk_list_add(KPERF__LK_L_EVENTS, (int)eventType, names, n)))
            kperf_event_names_free(names, n), KPERF__LK_FAIL(ENOMEM, "out of memory");
    }
    pthread_mutex_unlock(&kperf__lk_list_mu);
    if (!l) return NULL;
    if (numEvt) *numEvt = (unsigned)l->n;
    return (const char **)l->items;
}

/* The process-wide tracefs of PmuGetField and PmuSysCallFuncList; caller holds the list
 * mutex. */
static kperf_tracefs *kperf__lk_tfs;

static kperf_tracefs *kperf__lk_tracefs(void) {
    if (!kperf__lk_tfs) {
        int rc = kperf_tracefs_open(&kperf__lk_tfs, NULL);
        if (rc < 0) kperf__lk_fail(rc);
    }
    return kperf__lk_tfs;
}

const char **PmuSysCallFuncList(unsigned *numFunc) {
    kperf__lk_ok();
    if (numFunc) *numFunc = 0;
    pthread_mutex_lock(&kperf__lk_list_mu);
    const char *const *names = NULL;
    size_t n = 0;
    kperf_tracefs *tfs = kperf__lk_tracefs();
    int rc = tfs ? kperf_syscall_names(tfs, &names, &n) : -1;
    if (tfs && rc < 0) kperf__lk_fail(rc);
    pthread_mutex_unlock(&kperf__lk_list_mu);
    if (rc < 0) return NULL;
    if (numFunc) *numFunc = (unsigned)n;
    return (const char **)names;
}

/* The format of a raw tracepoint record (its common_type); caller holds the list mutex. */
static const kperf_tp_format *kperf__lk_raw_format(const SampleRawData *raw, const char *fn) {
    if (!raw || !raw->data || raw->size < 2) {
        KPERF__LK_FAIL(EINVAL, "%s: rawData is NULL or empty (not a tracepoint sample)", fn);
        return NULL;
    }
    uint16_t id;
    memcpy(&id, raw->data, 2);
    kperf_tracefs *tfs = kperf__lk_tracefs();
    const kperf_tp_format *fmt = NULL;
    int rc = tfs ? kperf_tracefs_format_by_id(tfs, id, &fmt) : -1;
    if (tfs && rc < 0) kperf__lk_fail(rc);
    return rc < 0 ? NULL : fmt;
}

int PmuGetField(SampleRawData *rawData, const char *fieldName, void *value,
                          uint32_t vSize) {
    kperf__lk_ok();
    if (!fieldName || !value) return KPERF__LK_FAIL(EINVAL, "PmuGetField: NULL argument"),
                                      Perrorno();
    pthread_mutex_lock(&kperf__lk_list_mu);
    const kperf_tp_format *fmt = kperf__lk_raw_format(rawData, "PmuGetField");
    int rc = fmt ? kperf_tp_get_field(fmt, rawData->data, rawData->size, fieldName, value,
                                      vSize) : 0;
    if (fmt && rc == -KPERF_ENOEVENT)
        KPERF__LK_FAIL(KPERF_ENOEVENT, "PmuGetField: %s:%s has no field \"%s\"", fmt->system,
                       fmt->name, fieldName);
    else if (fmt && rc == -ENOSPC)
        KPERF__LK_FAIL(ENOSPC, "PmuGetField: field \"%s\" of %s does not fit in %u bytes",
                       fieldName, fmt->name, (unsigned)vSize);
    else if (rc < 0)
        kperf__lk_fail(rc);
    pthread_mutex_unlock(&kperf__lk_list_mu);
    return Perrorno();
}

SampleRawField *PmuGetFieldExp(SampleRawData *rawData, const char *fieldName) {
    kperf__lk_ok();
    SampleRawField *out = NULL;
    if (!fieldName) return KPERF__LK_FAIL(EINVAL, "PmuGetFieldExp: fieldName is NULL"), out;
    pthread_mutex_lock(&kperf__lk_list_mu);
    const kperf_tp_format *fmt = kperf__lk_raw_format(rawData, "PmuGetFieldExp");
    const kperf_tp_field *f = fmt ? kperf_tp_format_field(fmt, fieldName) : NULL;
    if (fmt && !f)
        KPERF__LK_FAIL(KPERF_ENOEVENT, "PmuGetFieldExp: %s:%s has no field \"%s\"",
                       fmt->system, fmt->name, fieldName);
    /* One description per field, kept for the process's life (formats are never freed). */
    kperf__lk_list *l = f ? kperf__lk_lists : NULL;
    for (; l; l = l->next)
        if (l->kind == 0 && l->n == (size_t)(uintptr_t)f) break;
    if (f && !l) {
        SampleRawField *rf = (SampleRawField *)kperf__calloc(1, sizeof *rf);
        char decl[256];
        if (f->count > 1 || (f->flags & KPERF_TP_FIELD_ARRAY))
            snprintf(decl, sizeof decl, "%s %s[%u]", f->type, f->name, (unsigned)f->count);
        else
            snprintf(decl, sizeof decl, "%s %s", f->type, f->name);
        if (rf && (rf->fieldName = kperf__strdup(f->name)) && (rf->fieldStr = kperf__strdup(decl))) {
            rf->offset = f->offset, rf->size = f->size, rf->isSigned = f->is_signed;
            l = kperf__lk_list_add(0, 0, rf, (size_t)(uintptr_t)f);
        }
        if (!l) {
            if (rf) KPERF_FREE(rf->fieldName), KPERF_FREE(rf->fieldStr);
            KPERF_FREE(rf);
            KPERF__LK_FAIL(ENOMEM, "PmuGetFieldExp: out of memory");
        }
    }
    if (l) out = (SampleRawField *)l->items;
    pthread_mutex_unlock(&kperf__lk_list_mu);
    return out;
}

const char **PmuDeviceBdfList(enum PmuBdfType bdfType, unsigned *numBdf) {
    kperf__lk_ok();
    if (numBdf) *numBdf = 0;
    if (bdfType != PMU_BDF_TYPE_PCIE && bdfType != PMU_BDF_TYPE_SMMU) {
        KPERF__LK_FAIL(EINVAL, "PmuDeviceBdfList: unknown bdf type %d", (int)bdfType);
        return NULL;
    }
    pthread_mutex_lock(&kperf__lk_list_mu);
    kperf__lk_list *l = kperf__lk_list_find(KPERF__LK_L_BDF, (int)bdfType);
    if (!l) {
        char **list = NULL;
        int rc = kperf_device_bdf_list(NULL, bdfType == PMU_BDF_TYPE_PCIE ? KPERF_BDF_PCIE
                                                                          : KPERF_BDF_SMMU,
                                       &list);
        if (rc < 0) kperf__lk_fail(rc);
        else if (!(l = kperf__lk_list_add(KPERF__LK_L_BDF, (int)bdfType, list, (size_t)rc)))
            kperf_device_bdf_list_free(list), KPERF__LK_FAIL(ENOMEM, "out of memory");
    }
    pthread_mutex_unlock(&kperf__lk_list_mu);
    if (!l) return NULL;
    if (numBdf) *numBdf = (unsigned)l->n;
    return (const char **)l->items;
}

/* ---- topology ------------------------------------------------------------------------ */

static kperf_topology *kperf__lk_topology; /* guarded by kperf__lk_list_mu */

static kperf_topology *kperf__lk_topo_get(void) {
    if (!kperf__lk_topology) {
        int rc = kperf_topology_open(&kperf__lk_topology, NULL);
        if (rc < 0) kperf__lk_fail(rc);
    }
    return kperf__lk_topology;
}

int64_t PmuGetCpuFreq(unsigned core) {
    kperf__lk_ok();
    uint64_t khz = 0;
    kperf_cpu_topo tp;
    pthread_mutex_lock(&kperf__lk_list_mu);
    kperf_topology *t = kperf__lk_topo_get();
    int rc = t ? kperf_topology_cpu(t, (int)core, &tp) : -1;
    if (t && rc < 0)
        KPERF__LK_FAIL(ENOENT, "PmuGetCpuFreq: cpu %u is not online "
                               "(/sys/devices/system/cpu/online)", core);
    else if (t)
        rc = kperf_topology_freq(t, (int)core, &khz);
    if (t && rc < 0 && !kperf__lk_err) kperf__lk_fail(rc);
    pthread_mutex_unlock(&kperf__lk_list_mu);
    return rc < 0 ? -1 : (int64_t)khz * 1000;
}

static int kperf__lk_cores(int kind, unsigned id, unsigned **coreList) {
    kperf__lk_ok();
    if (!coreList) return KPERF__LK_FAIL(EINVAL, "coreList is NULL");
    *coreList = NULL;
    pthread_mutex_lock(&kperf__lk_list_mu);
    kperf__lk_list *l = kperf__lk_list_find(kind, (int)id);
    kperf_topology *t = l ? NULL : kperf__lk_topo_get();
    if (t) {
        const int *cpus = NULL;
        int *own = NULL;
        size_t n = 0;
        int rc = kind == KPERF__LK_L_NUMA ? kperf_topology_numa_cpus(t, (int)id, &cpus, &n)
                                          : kperf_topology_cluster_cpus(t, (int)id, &own, &n);
        if (own) cpus = own;
        unsigned *arr = rc < 0 ? NULL : (unsigned *)kperf__calloc(n + 1, sizeof *arr);
        for (size_t i = 0; arr && i < n; i++) arr[i] = (unsigned)cpus[i];
        kperf_cpulist_free(own);
        if (rc == -ENOENT)
            KPERF__LK_FAIL(ENOENT, "%s %u does not exist (or has no online CPU)",
                           kind == KPERF__LK_L_NUMA ? "NUMA node" : "cluster", id);
        else if (rc < 0)
            kperf__lk_fail(rc);
        else if (!arr || !(l = kperf__lk_list_add(kind, (int)id, arr, n)))
            KPERF_FREE(arr), KPERF__LK_FAIL(ENOMEM, "out of memory");
    }
    pthread_mutex_unlock(&kperf__lk_list_mu);
    if (!l) return -1;
    *coreList = (unsigned *)l->items;
    return (int)l->n;
}

int PmuGetClusterCore(unsigned clusterId, unsigned **coreList) {
    return kperf__lk_cores(KPERF__LK_L_CLUSTER, clusterId, coreList);
}

int PmuGetNumaCore(unsigned nodeId, unsigned **coreList) {
    return kperf__lk_cores(KPERF__LK_L_NUMA, nodeId, coreList);
}

/* ---- the task API -------------------------------------------------------------------- */

int PmuOpen(enum PmuTaskType collectType, PmuAttr *attr) {
    kperf__lk_ok();
    if ((unsigned)collectType >= (unsigned)MAX_TASK_TYPE)
        return KPERF__LK_FAIL(EINVAL, "PmuOpen: unknown task type %d (COUNTING, SAMPLING or "
                                      "SPE_SAMPLING)", (int)collectType);
    if (kperf__lk_check_attr(attr, collectType != SPE_SAMPLING) < 0) return -1;
    kperf__lk_task *t = (kperf__lk_task *)kperf__calloc(1, sizeof *t);
    if (!t) return KPERF__LK_FAIL(ENOMEM, "PmuOpen: out of memory");
    int rc;
    switch (collectType) {
    case COUNTING: t->kind = KPERF__LK_COUNTING, rc = kperf__lk_open_counting(t, attr); break;
    case SAMPLING: t->kind = KPERF__LK_SAMPLING, rc = kperf__lk_open_sampling(t, attr); break;
    default: t->kind = KPERF__LK_SPE, rc = kperf__lk_open_spe(t, attr); break;
    }
    int pd = rc < 0 ? -1 : kperf__lk_add(t);
    if (pd < 0) kperf__lk_task_free(t);
    return pd;
}

/* Enables (on) or disables a task; returns 0 or the positive error code. */
static int kperf__lk_switch(int pd, bool on) {
    kperf__lk_ok();
    kperf__lk_task *t = kperf__lk_get(pd, 0);
    if (!t) return Perrorno();
    int rc = 0;
    switch (t->kind) {
    case KPERF__LK_COUNTING:
        rc = on ? kperf_counter_start(t->counter) : kperf_counter_stop(t->counter);
        break;
    case KPERF__LK_SAMPLING:
        rc = on ? kperf_sampler_start(t->sampler) : kperf_sampler_stop(t->sampler);
        break;
    case KPERF__LK_SPE: rc = on ? kperf_spe_start(t->spe) : kperf_spe_stop(t->spe); break;
    case KPERF__LK_TRACE: rc = on ? kperf_syscalls_start(t->sys) : kperf_syscalls_stop(t->sys); break;
    case KPERF__LK_DEVICE:
        if (on) {
            memset(t->dev_prev, 0, kperf_device_nevents(t->dev) * sizeof *t->dev_prev);
            t->dev_t0 = kperf__now_ns();
        }
        rc = on ? kperf_device_start(t->dev) : kperf_device_stop(t->dev);
        break;
    }
    if (rc < 0) kperf__lk_fail(rc);
    return Perrorno();
}

int PmuEnable(int pd) { return kperf__lk_switch(pd, true); }

int PmuDisable(int pd) { return kperf__lk_switch(pd, false); }

int PmuRead(int pd, PmuData **pmuData) {
    kperf__lk_ok();
    if (!pmuData) return KPERF__LK_FAIL(EINVAL, "PmuRead: pmuData is NULL");
    *pmuData = NULL;
    kperf__lk_task *t = kperf__lk_get(pd, 0);
    if (!t) return -1;
    if (t->kind == KPERF__LK_TRACE)
        return KPERF__LK_FAIL(EBADF, "PmuRead: pd %d is a trace: read it with PmuTraceRead", pd);
    kperf__lk_block *b = kperf__lk_block_new(sizeof(PmuData), t->kind, pd);
    if (!b) return KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
    int rc;
    switch (t->kind) {
    case KPERF__LK_COUNTING: rc = kperf__lk_read_counting(t, b); break;
    case KPERF__LK_SAMPLING: rc = kperf__lk_read_sampling(t, b); break;
    case KPERF__LK_SPE: rc = kperf__lk_read_spe(t, b); break;
    default: rc = kperf__lk_read_device(t, b); break;
    }
    if (rc < 0) {
        kperf__lk_block_free(b);
        return -1;
    }
    return kperf__lk_block_finish(b, (void **)pmuData);
}

void PmuClose(int pd) {
    kperf__lk_ok();
    kperf__lk_task *t = kperf__lk_take(pd);
    if (t && t->kind == KPERF__LK_TRACE) {   /* PmuTraceClose's: put it back */
        pthread_mutex_lock(&kperf__lk_mu);
        kperf__lk_tasks[pd] = t;
        pthread_mutex_unlock(&kperf__lk_mu);
        return;
    }
    kperf__lk_task_free(t);
}

static void kperf__lk_dump_symbol(FILE *f, const Symbol *s, int dwf) {
    if (s->symbolName) fprintf(f, "%s", s->symbolName);
    else fprintf(f, "0x%lx", s->addr);
    if (s->module) fprintf(f, "@%s", s->module);
    if (dwf && s->fileName) fprintf(f, "(%s:%u)", s->fileName, s->lineNum);
}

int PmuDumpData(PmuData *pmuData, unsigned len, char *filepath, int dumpDwf) {
    kperf__lk_ok();
    if (!filepath || (len && !pmuData))
        return KPERF__LK_FAIL(EINVAL, "PmuDumpData: NULL data or path"), Perrorno();
    FILE *f = fopen(filepath, "a");
    if (!f) return KPERF__LK_FAIL(errno, "PmuDumpData: cannot open %s: %s", filepath,
                                  strerror(errno)), Perrorno();
    for (unsigned i = 0; i < len; i++) {
        const PmuData *d = &pmuData[i];
        fprintf(f, "evt=%s ts=%lld pid=%d tid=%d cpu=%d comm=%s period=%llu count=%llu "
                   "countPercent=%.4f", d->evt ? d->evt : "", (long long)d->ts, (int)d->pid,
                d->tid, d->cpu, d->comm ? d->comm : "", (unsigned long long)d->period,
                (unsigned long long)d->count, d->countPercent);
        if (d->ext) fprintf(f, " pa=0x%lx va=0x%lx event=0x%lx", d->ext->pa, d->ext->va,
                            d->ext->event);
        if (d->stack) fputs(" stack=", f);
        for (const Stack *s = d->stack; s; s = s->next) {
            if (s != d->stack) fputs(";", f);
            if (s->symbol) kperf__lk_dump_symbol(f, s->symbol, dumpDwf);
        }
        fputc('\n', f);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return KPERF__LK_FAIL(EIO, "PmuDumpData: writing %s failed", filepath), Perrorno();
    return 0;
}

