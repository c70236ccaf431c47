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

/* ---- records: PmuData/PmuTraceData arrays live in one kperf.h block (kperf__blk) ------ */

void PmuDataFree(PmuData *pmuData) { kperf__blk_free(kperf__blk_of(pmuData)); }

void PmuTraceDataFree(PmuTraceData *traceData) { kperf__blk_free(kperf__blk_of(traceData)); }

/* ---- the descriptor table: a pd names a kperf_task (or a device plan) ----------------- */

enum { KPERF__LK_TASK = 1, KPERF__LK_TRACE, KPERF__LK_DEVICE };

typedef struct kperf__lk_task {
    int kind;               /* KPERF__LK_TASK (PmuOpen), _TRACE (PmuTraceOpen), _DEVICE */
    kperf_task *task;       /* the task model does the work */
    kperf_symbolizer *sym;  /* SAMPLING/SPE: symbols (symbolMode), modules, DWARF unwinding */
    kperf_device *dev;      /* PmuDeviceOpen */
    kperf_device_count *dev_prev;
    uint64_t dev_t0;
    kperf_topology *topo;   /* device reads: where each uncore event's CPU sits */
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

/* The task of pd, or NULL with the error set. kind 0 accepts PmuOpen and device tasks. */
static kperf__lk_task *kperf__lk_get(int pd, int kind) {
    kperf__lk_task *t = NULL;
    pthread_mutex_lock(&kperf__lk_mu);
    if (pd > 0 && pd < KPERF__LK_MAX) t = kperf__lk_tasks[pd];
    pthread_mutex_unlock(&kperf__lk_mu);
    if (!t || (kind && t->kind != kind) || (!kind && t->kind == KPERF__LK_TRACE)) {
        if (t && !kind)
            KPERF__LK_FAIL(EBADF, "pd %d is a trace: use PmuTraceEnable/Disable/Read/Close", pd);
        else
            KPERF__LK_FAIL(EBADF, "pd %d is not an open %s descriptor", pd,
                           kind == KPERF__LK_TRACE ? "PmuTraceOpen" : "PmuOpen");
        return NULL;
    }
    return t;
}

static void kperf__lk_task_free(kperf__lk_task *t) {
    if (!t) return;
    kperf_task_close(t->task);
    kperf_symbolizer_close(t->sym);
    kperf_device_close(t->dev);
    kperf_topology_close(t->topo);
    KPERF_FREE(t->dev_prev);
    KPERF_FREE(t);
}

/* Removes pd from the table when it is of @p trace's family. */
static kperf__lk_task *kperf__lk_take(int pd, bool trace) {
    kperf__lk_task *t = NULL;
    pthread_mutex_lock(&kperf__lk_mu);
    if (pd > 0 && pd < KPERF__LK_MAX && kperf__lk_tasks[pd] &&
        (kperf__lk_tasks[pd]->kind == KPERF__LK_TRACE) == trace)
        t = kperf__lk_tasks[pd], kperf__lk_tasks[pd] = NULL;
    pthread_mutex_unlock(&kperf__lk_mu);
    return t;
}

/* ---- per read: topology, symbols ----------------------------------------------------- */

/* One slot of a read's symbol cache. */
typedef struct kperf__lk_symslot {
    uint64_t addr;
    pid_t pid;
    Symbol *sym;
} kperf__lk_symslot;

/* Per-read state of PmuRead. */
typedef struct kperf__lk_rd {
    kperf__lk_task *t;
    kperf__blk *b;
    const char *last_evt, *last_copy; /* consecutive records of one event share a copy */
    CpuTopology *topo[257];           /* by cpu + 1 (-1 = unknown) */
    kperf__lk_symslot *syms;          /* (pid, addr) -> symbol, open addressing */
    size_t nsyms, capsyms;
} kperf__lk_rd;

static CpuTopology *kperf__lk_topo(kperf__lk_rd *r, const kperf_task_data *x) {
    size_t slot = x->cpu >= -1 && x->cpu < 256 ? (size_t)(x->cpu + 1) : 257;
    if (slot < 257 && r->topo[slot]) return r->topo[slot];
    CpuTopology *ct = (CpuTopology *)kperf__blk_alloc(r->b, sizeof *ct);
    if (!ct) return NULL;
    ct->coreId = x->cpu >= 0 ? x->cpu : -1; /* libkperf reports the logical CPU */
    ct->numaId = x->topo.numa, ct->socketId = x->topo.socket;
    if (slot < 257) r->topo[slot] = ct;
    return ct;
}

static size_t kperf__lk_hash(uint64_t addr, pid_t pid) {
    uint64_t h = (addr ^ ((uint64_t)(uint32_t)pid << 40)) * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 20);
}

static Symbol *kperf__lk_symbol_make(kperf__lk_rd *r, pid_t pid, uint64_t addr, bool caller) {
    kperf__blk *b = r->b;
    Symbol *s = (Symbol *)kperf__blk_alloc(b, sizeof *s);
    if (!s) return NULL;
    s->addr = (unsigned long)addr;
    if (!r->t->sym) return s;
    kperf_frame fr[8];
    int n = kperf_symbolizer_lookup(r->t->sym, pid, caller && addr ? addr - 1 : addr, fr, 8);
    if (n <= 0) return s;
    const kperf_frame *f = &fr[0], *outer = &fr[n - 1];
    s->module = kperf__blk_strdup(b, f->module);
    s->symbolName = kperf__blk_strdup(b, f->function);
    s->mangleName = kperf__blk_strdup(b, f->mangled ? f->mangled : f->function);
    s->fileName = kperf__blk_strdup(b, f->file);
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

/* A task row as a PmuData: the record, its Stack list (every frame a Symbol), its SPE,
 * branch and tracepoint extras. */
static int kperf__lk_on_row(const kperf_task_data *x, void *user) {
    kperf__lk_rd *r = (kperf__lk_rd *)user;
    kperf__blk *b = r->b;
    PmuData *d = (PmuData *)kperf__blk_push(b, sizeof *d);
    if (!d) return -ENOMEM;
    if (x->event != r->last_evt || !r->last_copy)
        r->last_copy = kperf__blk_strdup(b, x->event), r->last_evt = x->event;
    d->evt = r->last_copy;
    d->ts = (int64_t)x->ts;
    d->pid = x->pid, d->tid = (int)x->tid, d->cpu = x->cpu;
    d->groupId = x->group;
    d->period = x->period;
    d->count = x->count;
    d->countPercent = x->percent / 100.0; /* libkperf: a ratio, 1.0 = exact */
    d->cpuTopo = kperf__lk_topo(r, x);
    d->comm = kperf__blk_strdup(b, x->comm);
    if (!d->evt || !d->cpuTopo || !d->comm) return -ENOMEM;
    Stack *prev = NULL;
    for (uint32_t i = 0; i < x->nips; i++) {
        Stack *st = (Stack *)kperf__blk_alloc(b, sizeof *st);
        pid_t spid = x->pid > 0 ? x->pid : 0;
        if (!st || !(st->symbol = kperf__lk_symbol(r, spid, x->ips[i], i > 0))) return -ENOMEM;
        st->count = 1;
        st->prev = prev;
        if (prev) prev->next = st; else d->stack = st;
        prev = st;
    }
    if (x->raw_size) {
        SampleRawData *raw = (SampleRawData *)kperf__blk_alloc(b, sizeof *raw);
        char *bytes = (char *)kperf__blk_alloc(b, x->raw_size + 1);
        if (!raw || !bytes) return -ENOMEM;
        memcpy(bytes, x->raw, x->raw_size);
        raw->data = bytes, raw->size = x->raw_size;
        d->rawData = raw;
    }
    if (x->nbranches || kperf_task_get_kind(r->t->task) == KPERF_TASK_SPE_SAMPLING) {
        PmuDataExt *ext = (PmuDataExt *)kperf__blk_alloc(b, sizeof *ext);
        if (!ext) return -ENOMEM;
        ext->pa = (unsigned long)x->phys_addr, ext->va = (unsigned long)x->addr;
        ext->event = (unsigned long)x->events;
        if (x->nbranches) {
            BranchSampleRecord *br = (BranchSampleRecord *)kperf__blk_alloc(
                b, x->nbranches * sizeof *br);
            if (!br) return -ENOMEM;
            for (uint32_t i = 0; i < x->nbranches; i++) {
                const kperf_branch *kb = &x->branches[i];
                br[i].fromAddr = (unsigned long)kb->from, br[i].toAddr = (unsigned long)kb->to;
                br[i].misPred = kb->flags & 1, br[i].predicted = (kb->flags >> 1) & 1;
                br[i].cycles = (unsigned long)((kb->flags >> 4) & 0xffff);
            }
            ext->branchRecords = br, ext->nr = x->nbranches;
        }
        d->ext = ext;
    }
    return 0;
}

/* ---- the task hooks: the symbolizer learns modules from side-band records and unwinds
 * DWARF call chains (kperf.h's task model knows neither) ------------------------------- */

static int kperf__lk_hook_record(const kperf_record *rec, void *user) {
    kperf__lk_task *t = (kperf__lk_task *)user;
    if ((rec->type != KPERF_RECORD_MMAP2 && rec->type != KPERF_RECORD_MMAP) || !t->sym) return 0;
    kperf_module_desc m;
    memset(&m, 0, sizeof m);
    m.pid = (pid_t)rec->mmap.pid, m.start = rec->mmap.addr, m.len = rec->mmap.len;
    m.pgoff = rec->mmap.pgoff, m.path = rec->mmap.filename;
    m.build_id = rec->mmap.build_id_size ? rec->mmap.build_id : NULL;
    m.build_id_size = rec->mmap.build_id_size;
    if (m.path && m.path[0] == '/') kperf_symbolizer_add_module(t->sym, &m);
    return 0;
}

static int kperf__lk_hook_unwind(void *user, const kperf_sample *smp, uint64_t regs_mask,
                                 uint64_t *ips, int max) {
    kperf__lk_task *t = (kperf__lk_task *)user;
    return t->sym ? kperf_symbolizer_unwind(t->sym, smp, regs_mask, ips, max) : 0;
}

/* ---- the task API -------------------------------------------------------------------- */

static int kperf__lk_read_device(kperf__lk_task *t, kperf__blk *b); /* ---- devices */

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
    for (unsigned i = 0; need_events && i < a->numEvt; i++)
        if (!a->evtList[i] || !a->evtList[i][0])
            return KPERF__LK_FAIL(KPERF_EPARSE, "PmuOpen: evtList[%u] is empty", i);
    return 0;
}

int PmuOpen(enum PmuTaskType collectType, PmuAttr *attr) {
    kperf__lk_ok();
    if ((unsigned)collectType >= (unsigned)MAX_TASK_TYPE)
        return KPERF__LK_FAIL(EINVAL, "PmuOpen: unknown task type %d (COUNTING, SAMPLING or "
                                      "SPE_SAMPLING)", (int)collectType);
    if (kperf__lk_check_attr(attr, collectType != SPE_SAMPLING) < 0) return -1;
    kperf__lk_task *t = (kperf__lk_task *)kperf__calloc(1, sizeof *t);
    int *groups = attr->evtAttr ? (int *)kperf__calloc(attr->numEvt + 1, sizeof *groups) : NULL;
    if (!t || (attr->evtAttr && !groups)) {
        KPERF_FREE(t), KPERF_FREE(groups);
        return KPERF__LK_FAIL(ENOMEM, "PmuOpen: out of memory");
    }
    t->kind = KPERF__LK_TASK;
    for (unsigned i = 0; groups && i < attr->numEvt; i++) groups[i] = attr->evtAttr[i].groupId;
    /* libkperf's PmuAttr as kperf's task attributes */
    kperf_task_attr a;
    memset(&a, 0, sizeof a);
    a.events = (const char *const *)attr->evtList, a.nevents = attr->numEvt;
    a.pids = (const pid_t *)attr->pidList, a.npids = attr->numPid;
    a.cpus = attr->cpuList, a.ncpus = attr->numCpu;
    a.groups = groups;
    a.no_user = attr->excludeUser != 0;
    a.include_kernel = !attr->excludeKernel;
    a.include_new_fork = attr->includeNewFork != 0;
    if (attr->useFreq)
        a.freq = attr->freq ? attr->freq : attr->period;
    else
        a.period = attr->period;
    a.callchain = (int)attr->callStack;
    a.branch_filter = attr->branchSampleFilter;
    a.spe_data_filter = attr->dataFilter, a.spe_event_filter = attr->evFilter;
    a.spe_min_latency = (uint32_t)attr->minLatency;
    a.on_record = kperf__lk_hook_record, a.unwind = kperf__lk_hook_unwind, a.hook_user = t;
    if (collectType == SPE_SAMPLING) a.source = kperf_spe_task_source(), a.period = attr->period;
    int rc = kperf_task_open(&t->task, collectType == COUNTING   ? KPERF_TASK_COUNTING
                                       : collectType == SAMPLING ? KPERF_TASK_SAMPLING
                                                                 : KPERF_TASK_SPE_SAMPLING, &a);
    /* samples get symbols: the symbolizer (symbolMode), or a bare one for unwinding; the
     * hooks see it from the first read on */
    if (rc == 0 && collectType != COUNTING &&
        (attr->symbolMode != NO_SYMBOL_RESOLVE || (collectType == SAMPLING && attr->callStack == 2))) {
        kperf_symbolizer_desc sd;
        memset(&sd, 0, sizeof sd);
        sd.mode = attr->symbolMode == RESOLVE_ELF ? KPERF_SYMBOL_ELF
                  : attr->symbolMode == RESOLVE_ELF_DWARF ? KPERF_SYMBOL_DWARF
                                                          : KPERF_SYMBOL_NONE;
        sd.include_kernel = !attr->excludeKernel;
        rc = kperf_symbolizer_open(&t->sym, &sd);
        /* processes already running map their modules before any MMAP record: read their
         * maps now (records of later mappings add to them) */
        if (rc == 0)
            for (unsigned i = 0; i < attr->numPid; i++)
                kperf_symbolizer_add_pid(t->sym, attr->pidList[i]);
    }
    KPERF_FREE(groups);
    int pd = rc < 0 ? kperf__lk_fail(rc) : kperf__lk_add(t);
    if (pd < 0) kperf__lk_task_free(t);
    return pd;
}

/* Enables (on) or disables a task; returns 0 or the positive error code. */
static int kperf__lk_switch(int pd, bool on, int kind) {
    kperf__lk_ok();
    kperf__lk_task *t = kperf__lk_get(pd, kind);
    if (!t) return Perrorno();
    int rc;
    if (t->kind == KPERF__LK_DEVICE) {
        if (on) {
            memset(t->dev_prev, 0, kperf_device_nevents(t->dev) * sizeof *t->dev_prev);
            t->dev_t0 = kperf__now_ns();
        }
        rc = on ? kperf_device_start(t->dev) : kperf_device_stop(t->dev);
    } else {
        rc = on ? kperf_task_start(t->task) : kperf_task_stop(t->task);
    }
    if (rc < 0) kperf__lk_fail(rc);
    return Perrorno();
}

int PmuEnable(int pd) { return kperf__lk_switch(pd, true, 0); }

int PmuDisable(int pd) { return kperf__lk_switch(pd, false, 0); }

int PmuRead(int pd, PmuData **pmuData) {
    kperf__lk_ok();
    if (!pmuData) return KPERF__LK_FAIL(EINVAL, "PmuRead: pmuData is NULL");
    *pmuData = NULL;
    kperf__lk_task *t = kperf__lk_get(pd, 0);
    if (!t) return -1;
    kperf__blk *b = kperf__blk_new(sizeof(PmuData), t->kind, pd);
    if (!b) return KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
    int rc;
    if (t->kind == KPERF__LK_DEVICE) {
        rc = kperf__lk_read_device(t, b);
    } else {
        kperf__lk_rd *r = (kperf__lk_rd *)kperf__calloc(1, sizeof *r);
        if (!r) return kperf__blk_free(b), KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
        r->t = t, r->b = b;
        rc = kperf_task_read_each(t->task, kperf__lk_on_row, r);
        KPERF_FREE(r->syms);
        KPERF_FREE(r);
        if (rc == -ENOMEM) rc = KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
        else if (rc < 0) rc = kperf__lk_fail(rc);
    }
    if (rc < 0) {
        kperf__blk_free(b);
        return -1;
    }
    return kperf__blk_finish(b, (void **)pmuData);
}

void PmuClose(int pd) {
    kperf__lk_ok();
    kperf__lk_task_free(kperf__lk_take(pd, false));
}

/* ---- TRACE_SYS_CALL: the task model's TRACING kind ------------------------------------ */

int PmuTraceOpen(enum PmuTraceType traceType, PmuTraceAttr *traceAttr) {
    kperf__lk_ok();
    if (traceType != TRACE_SYS_CALL)
        return KPERF__LK_FAIL(EINVAL, "PmuTraceOpen: unknown trace type %d (only "
                                      "TRACE_SYS_CALL)", (int)traceType);
    PmuTraceAttr none;
    memset(&none, 0, sizeof none);
    const PmuTraceAttr *ta = traceAttr ? traceAttr : &none;
    if ((ta->numFuncs && !ta->funcs) || (ta->numPid && !ta->pidList) ||
        (ta->numCpu && !ta->cpuList))
        return KPERF__LK_FAIL(EINVAL, "PmuTraceOpen: a count is set but its list is NULL");
    kperf__lk_task *t = (kperf__lk_task *)kperf__calloc(1, sizeof *t);
    if (!t) return KPERF__LK_FAIL(ENOMEM, "PmuTraceOpen: out of memory");
    t->kind = KPERF__LK_TRACE;
    kperf_task_attr a;
    memset(&a, 0, sizeof a);
    a.syscalls = ta->funcs, a.nsyscalls = ta->numFuncs;
    a.pids = (const pid_t *)ta->pidList, a.npids = ta->numPid;
    a.cpus = ta->cpuList, a.ncpus = ta->numCpu;
    int rc = kperf_task_open(&t->task, KPERF_TASK_TRACING, &a);
    int pd = rc < 0 ? kperf__lk_fail(rc) : kperf__lk_add(t);
    if (pd < 0) kperf__lk_task_free(t);
    return pd;
}

int PmuTraceEnable(int pd) { return kperf__lk_switch(pd, true, KPERF__LK_TRACE); }

int PmuTraceDisable(int pd) { return kperf__lk_switch(pd, false, KPERF__LK_TRACE); }

typedef struct kperf__lk_trd {
    kperf__blk *b;
    const char *last_name, *last_copy;  /* consecutive calls of one syscall share a copy */
} kperf__lk_trd;

static int kperf__lk_on_call(const kperf_task_data *x, void *user) {
    kperf__lk_trd *r = (kperf__lk_trd *)user;
    PmuTraceData *d = (PmuTraceData *)kperf__blk_push(r->b, sizeof *d);
    if (!d) return -ENOMEM;
    if (r->last_name != x->event || !r->last_copy)
        r->last_copy = kperf__blk_strdup(r->b, x->event);
    r->last_name = x->event;
    d->funcs = r->last_copy;
    d->elapsedTime = (double)x->duration / 1e6;
    d->startTs = (int64_t)x->ts;
    d->pid = x->pid, d->tid = (int)x->tid, d->cpu = x->cpu;
    d->comm = kperf__blk_strdup(r->b, x->comm);
    return d->funcs && d->comm ? 0 : -ENOMEM;
}

int PmuTraceRead(int pd, PmuTraceData **traceData) {
    kperf__lk_ok();
    if (!traceData) return KPERF__LK_FAIL(EINVAL, "PmuTraceRead: traceData is NULL");
    *traceData = NULL;
    kperf__lk_task *t = kperf__lk_get(pd, KPERF__LK_TRACE);
    if (!t) return -1;
    kperf__lk_trd r;
    memset(&r, 0, sizeof r);
    if (!(r.b = kperf__blk_new(sizeof(PmuTraceData), KPERF__LK_TRACE, pd)))
        return KPERF__LK_FAIL(ENOMEM, "PmuTraceRead: out of memory");
    int rc = kperf_task_read_each(t->task, kperf__lk_on_call, &r);
    if (rc < 0) {
        kperf__blk_free(r.b);
        return rc == -ENOMEM ? KPERF__LK_FAIL(ENOMEM, "PmuTraceRead: out of memory")
                             : kperf__lk_fail(rc);
    }
    return kperf__blk_finish(r.b, (void **)traceData);
}

void PmuTraceClose(int pd) {
    kperf__lk_ok();
    kperf__lk_task_free(kperf__lk_take(pd, true));
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
static int kperf__lk_read_device(kperf__lk_task *t, kperf__blk *b) {
    size_t n = kperf_device_nevents(t->dev);
    kperf_device_count *now = (kperf_device_count *)kperf__calloc(n + 1, sizeof *now);
    if (!now) return KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
    int rc = kperf_device_read(t->dev, now);
    if (rc < 0) return KPERF_FREE(now), kperf__lk_fail(rc);
    uint64_t t1 = kperf__now_ns();
    b->elapsed_ns = t->dev_t0 && t1 > t->dev_t0 ? t1 - t->dev_t0 : 1;
    t->dev_t0 = t1;
    kperf__lk_rd *r = (kperf__lk_rd *)kperf__calloc(1, sizeof *r);
    if (!r) return KPERF_FREE(now), KPERF__LK_FAIL(ENOMEM, "PmuRead: out of memory");
    r->t = t, r->b = b;
    if (!t->topo) kperf_topology_open(&t->topo, NULL);
    for (size_t i = 0; i < n; i++) {
        kperf_device_count delta = now[i];
        delta.value -= t->dev_prev[i].value;
        delta.time_enabled -= t->dev_prev[i].time_enabled;
        delta.time_running -= t->dev_prev[i].time_running;
        t->dev_prev[i] = now[i];
        now[i] = delta;
        const kperf_device_event *ev = kperf_device_event_at(t->dev, i);
        PmuData *d = (PmuData *)kperf__blk_push(b, sizeof *d);
        if (!d || !(d->evt = kperf__blk_strdup(b, ev->spec))) goto nomem;
        d->pid = d->tid = -1, d->cpu = ev->cpu, d->groupId = -1;
        d->ts = (int64_t)t1;
        d->count = delta.value;
        d->countPercent = delta.time_enabled ? (double)delta.time_running /
                                               (double)delta.time_enabled : 0.0;
        d->comm = "";
        kperf_task_data x;
        memset(&x, 0, sizeof x);
        x.cpu = ev->cpu;
        memset(&x.topo, 0xff, sizeof x.topo);
        if (x.cpu >= 0 && t->topo) kperf_topology_cpu(t->topo, x.cpu, &x.topo);
        if (!(d->cpuTopo = kperf__lk_topo(r, &x))) goto nomem;
    }
    KPERF_FREE(r);
    b->extra = now;
    return 0;
nomem:
    KPERF_FREE(r);
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
    kperf__blk *src = kperf__blk_of(pmuData);
    kperf__lk_task *t = src && src->kind == KPERF__LK_DEVICE ? kperf__lk_get(src->pd, 0) : NULL;
    if (!src || !src->extra || !t || t->kind != KPERF__LK_DEVICE || len != src->n)
        return KPERF__LK_FAIL(EINVAL, "PmuGetDevMetric: pmuData is not the whole result of "
                                      "PmuRead on an open PmuDeviceOpen descriptor");
    int nv = kperf_device_compute(t->dev, (const kperf_device_count *)src->extra,
                                  src->elapsed_ns, NULL, 0);
    if (nv < 0) return kperf__lk_fail(nv);
    kperf_metric_value *mv = (kperf_metric_value *)kperf__calloc((size_t)nv + 1, sizeof *mv);
    kperf__blk *b = kperf__blk_new(sizeof(PmuDeviceData), KPERF__LK_DEVICE, src->pd);
    if (!mv || !b) goto nomem;
    nv = kperf_device_compute(t->dev, (const kperf_device_count *)src->extra, src->elapsed_ns,
                              mv, (size_t)nv);
    for (int i = 0; i < nv; i++) {
        int m = kperf__lk_metric_of(mv[i].name);
        bool wanted = false;
        for (unsigned k = 0; k < attrLen && attr; k++) wanted |= (int)attr[k].metric == m;
        if (m < 0 || !wanted || mv[i].mode == KPERF_METRIC_TOTAL) continue;
        PmuDeviceData *d = (PmuDeviceData *)kperf__blk_push(b, sizeof *d);
        if (!d) goto nomem;
        d->metric = (enum PmuDeviceMetric)m;
        d->count = mv[i].value;
        switch (mv[i].mode) {
        case KPERF_METRIC_PER_CORE: d->mode = PMU_METRIC_CORE, d->coreId = (unsigned)mv[i].cpu; break;
        case KPERF_METRIC_PER_NUMA: d->mode = PMU_METRIC_NUMA, d->numaId = (unsigned)mv[i].numa; break;
        case KPERF_METRIC_PER_BDF:
        case KPERF_METRIC_PER_PORT:
            d->mode = PMU_METRIC_BDF;
            if (!(d->bdf = kperf__blk_strdup(b, mv[i].where))) goto nomem;
            break;
        case KPERF_METRIC_PER_CHANNEL:
            d->mode = PMU_METRIC_CHANNEL, d->channelId = (unsigned)mv[i].channel;
            d->ddrNumaId = (unsigned)mv[i].numa, d->socketId = (unsigned)mv[i].socket;
            break;
        default: d->mode = PMU_METRIC_NUMA, d->numaId = (unsigned)mv[i].numa; break;
        }
    }
    KPERF_FREE(mv);
    return kperf__blk_finish(b, (void **)data);
nomem:
    KPERF_FREE(mv);
    kperf__blk_free(b);
    return KPERF__LK_FAIL(ENOMEM, "PmuGetDevMetric: out of memory");
}

void DevDataFree(PmuDeviceData *data) { kperf__blk_free(kperf__blk_of(data)); }

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

