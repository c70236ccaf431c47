/* kperf report: top functions of a recorded file, by self and total samples.
 *
 *   kperf report [-i FILE] [-n N] [--sort self|total] [--folded] [--svg FILE] [--addresses]
 *                [--pprof FILE]
 *
 * Names come from kperf_symbols.h: the file's MMAP2 records say which file is mapped where
 * (so processes that have exited still resolve); --addresses prints module+offset. Samples
 * with user registers and a stack copy (`record --call-graph dwarf`, or perf's) are unwound
 * with DWARF CFI by kperf_symbolizer_unwind() as they are read, while the maps are those of
 * the sample's time. --pprof also writes the samples as a pprof profile (kperf_pprof_*). */
#include "kperf_cli.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

typedef struct rep_map {
    uint32_t pid;
    uint64_t start, len, pgoff;
    char *file;
} rep_map;

typedef struct rep_sample {
    uint32_t pid, tid;
    uint32_t first, n; /* frames in rep.frames, leaf first */
    bool kernel_leaf;
    int event; /* index in the file's events; 0 when the file does not say */
    uint32_t comm; /* 1 + index in rep.comms of its name when it was taken; 0 = unknown */
    uint64_t period;
} rep_sample;

typedef struct rep_mapix rep_mapix;

/* A function name (or module+offset) and its counts; names are interned, one row each. */
typedef struct rep_row {
    char *name;
    uint64_t self, total, seen; /* seen: last sample index counted in total */
} rep_row;

/* Everything is hashed so that a report is linear in the samples: (pid, address) -> row,
 * name -> row, tid -> latest comm, pid -> its mappings. */
typedef struct rep {
    bool full_names; /* --full-names: C++ names with return type and parameters */
    rep_map *maps;
    size_t nmaps, capmaps;
    struct rep_mapix {
        uint32_t pid, idx;
    } *maporder; /* the mappings sorted by (pid, index), built after reading */
    rep_sample *samples;
    size_t nsamples, capsamples;
    uint64_t *frames; /* addresses; bit 63 of kernel frames kept as is */
    size_t nframes, capframes;
    struct rep_chain {
        uint64_t h;
        uint32_t pid, first, n; /* n 0: empty slot */
    } *chains; /* distinct call chains, open addressing: samples of one chain share frames */
    size_t nchains, capchains;
    struct {
        uint32_t tid;
        char comm[16];
    } *comms;
    size_t ncomms, capcomms;
    uint32_t *commix; /* tid -> 1 + index of its latest comm, open addressing */
    size_t ncommix, capcommix;
    uint64_t lost;
    struct rep_late { /* a DWARF sample read before a map it needs (see rep_unwind_late) */
        size_t sample;
        kperf_sample smp; /* its pointers own copies */
        uint64_t mask;
    } *late;
    size_t nlate, caplate, late_bytes; /* late_bytes: their stacks' */
    kperf_symbolizer *sym; /* names; NULL = module+offset */
    const kperf_perfdata_events *ev; /* the file's events (register masks for unwinding) */
    struct rep_name_ent {
        uint64_t key_addr;
        uint32_t key_pid;
        uint32_t row; /* 1 + index in rows; 0 = empty slot */
    } *names; /* cache of (pid, addr) -> row, open addressing */
    size_t nnames, capnames;
    rep_row *rows;
    size_t nrows, caprows;
    uint32_t *rowix; /* name -> 1 + row index, open addressing */
    size_t caprowix;
} rep;

#define REP_GROW(arr, n, cap)                                                                  \
    do {                                                                                       \
        if ((n) == (cap)) {                                                                    \
            size_t c_ = (cap) ? (cap) * 2 : 256;                                               \
            void *p_ = realloc((arr), c_ * sizeof *(arr));                                     \
            if (!p_) return -12;                                                               \
            (arr) = p_, (cap) = c_;                                                            \
        }                                                                                      \
    } while (0)

static uint64_t rep_hash_str(const char *p) { /* FNV-1a */
    uint64_t h = 1469598103934665603ull;
    for (; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

static size_t rep_hash_u64(uint64_t a, uint32_t b) {
    uint64_t h = (a ^ ((uint64_t)b << 32 | b)) * 0x9E3779B97F4A7C15ull;
    return (size_t)(h ^ h >> 29);
}

/* A sample's chain was just appended to frames: when the same process already has that
 * chain, the sample points at it and the copy is dropped (a profile repeats a few thousand
 * chains; a million 32-frame copies are 256 MB to fault in and to read again). */
static int rep_share_chain(rep *r, rep_sample *s) {
    if (!s->n) return 0;
    const uint64_t *f = &r->frames[s->first];
    uint64_t h = s->pid;
    for (uint32_t k = 0; k < s->n; k++) h = (h << 7 | h >> 57) ^ f[k]; /* a short dependency */
    h *= 0x9E3779B97F4A7C15ull, h ^= h >> 31;
    if ((r->nchains + 1) * 2 > r->capchains) {
        size_t cap = r->capchains ? r->capchains * 2 : 1024;
        struct rep_chain *t = (struct rep_chain *)calloc(cap, sizeof *t);
        if (!t) return -12;
        for (size_t i = 0; i < r->capchains; i++) {
            if (!r->chains[i].n) continue;
            size_t j = r->chains[i].h & (cap - 1);
            while (t[j].n) j = (j + 1) & (cap - 1);
            t[j] = r->chains[i];
        }
        free(r->chains);
        r->chains = t, r->capchains = cap;
    }
    size_t j = h & (r->capchains - 1);
    for (; r->chains[j].n; j = (j + 1) & (r->capchains - 1)) {
        const struct rep_chain *c = &r->chains[j];
        if (c->h == h && c->pid == s->pid && c->n == s->n &&
            !memcmp(&r->frames[c->first], f, s->n * sizeof *f)) {
            r->nframes = s->first; /* drop the copy */
            s->first = c->first;
            return 0;
        }
    }
    r->chains[j].h = h, r->chains[j].pid = s->pid, r->chains[j].first = s->first, r->chains[j].n = s->n;
    r->nchains++;
    return 0;
}

/* Appends sample s's frames (markers and chain ends left out; the ip alone when the chain
 * is empty) at the end of frames, then shares the chain with an earlier sample's. */
static int rep_add_chain(rep *r, rep_sample *s, const uint64_t *ips, uint32_t n, uint64_t ip) {
    if (!n) ips = &ip, n = 1;
    for (uint32_t i = 0; i < n; i++) {
        if (ips[i] >= KPERF_CONTEXT_MAX || ips[i] < 4096) continue; /* markers, chain ends */
        REP_GROW(r->frames, r->nframes, r->capframes);
        r->frames[r->nframes++] = ips[i];
        s->n++;
    }
    return rep_share_chain(r, s);
}

/* tid -> its latest COMM record (the last one read wins). */
static int rep_comm_put(rep *r, uint32_t tid, size_t idx) {
    if ((r->ncommix + 1) * 2 > r->capcommix) {
        size_t cap = r->capcommix ? r->capcommix * 2 : 256;
        uint32_t *t = (uint32_t *)calloc(cap, sizeof *t);
        if (!t) return -12;
        for (size_t i = 0; i < r->capcommix; i++) {
            if (!r->commix[i]) continue;
            size_t j = rep_hash_u64(r->comms[r->commix[i] - 1].tid, 0) & (cap - 1);
            while (t[j]) j = (j + 1) & (cap - 1);
            t[j] = r->commix[i];
        }
        free(r->commix);
        r->commix = t, r->capcommix = cap;
    }
    size_t j = rep_hash_u64(tid, 0) & (r->capcommix - 1);
    while (r->commix[j] && r->comms[r->commix[j] - 1].tid != tid) j = (j + 1) & (r->capcommix - 1);
    if (!r->commix[j]) r->ncommix++;
    r->commix[j] = (uint32_t)idx + 1;
    return 0;
}

static uint32_t rep_comm_idx(const rep *r, uint32_t tid) {
    if (!r->capcommix) return 0;
    size_t j = rep_hash_u64(tid, 0) & (r->capcommix - 1);
    while (r->commix[j] && r->comms[r->commix[j] - 1].tid != tid) j = (j + 1) & (r->capcommix - 1);
    return r->commix[j];
}

static const char *rep_comm(const rep *r, uint32_t tid) {
    uint32_t i = rep_comm_idx(r, tid);
    return i ? r->comms[i - 1].comm : NULL;
}

/* A sample's thread name as it was when the sample was taken (perf's comm column): a
 * process that forks and execs names its samples before the exec by the parent's name. */
static const char *rep_sample_comm(const rep *r, const struct rep_sample *s) {
    return s->comm ? r->comms[s->comm - 1].comm : NULL;
}

/* A FORK record: the new thread or process starts with its parent's name (perf does the
 * same), and a new process with its parent's mappings, until its own COMM and MMAP2
 * records (an exec) say otherwise. */
static int rep_fork(rep *r, const kperf_task_rec *t) {
    const char *pc = rep_comm(r, t->ptid);
    if (!pc) pc = rep_comm(r, t->ppid);
    if (pc) {
        char name[16];
        memcpy(name, pc, sizeof name); /* pc points into the array REP_GROW may move */
        REP_GROW(r->comms, r->ncomms, r->capcomms);
        r->comms[r->ncomms].tid = t->tid;
        memcpy(r->comms[r->ncomms].comm, name, sizeof name);
        if (rep_comm_put(r, t->tid, r->ncomms++)) return -12;
    }
    if (t->pid == t->ppid) return 0; /* a thread: the process's maps are its maps */
    size_t n = r->nmaps;
    for (size_t i = 0; i < n; i++) {
        if (r->maps[i].pid != t->ppid) continue;
        REP_GROW(r->maps, r->nmaps, r->capmaps);
        rep_map *m = &r->maps[r->nmaps++];
        *m = r->maps[i];
        m->pid = t->pid;
        if (!(m->file = strdup(m->file))) return -12;
    }
    if (r->sym) kperf_symbolizer_add_fork(r->sym, (pid_t)t->ppid, (pid_t)t->pid);
    return 0;
}

/* perf writes each CPU's buffer in turn, so a sample can come before the MMAP2 of the code
 * it sampled (written from another CPU's buffer, earlier in time). Such a DWARF sample is
 * kept (registers and stack copied) and unwound once the whole file is read. */
static int rep_defer(rep *r, size_t sample, const kperf_sample *smp, uint64_t mask) {
    REP_GROW(r->late, r->nlate, r->caplate);
    struct rep_late *l = &r->late[r->nlate];
    memset(l, 0, sizeof *l);
    l->sample = sample, l->mask = mask, l->smp = *smp;
    l->smp.ips = NULL, l->smp.nips = 0, l->smp.raw = NULL, l->smp.raw_size = 0;
    l->smp.branches = NULL, l->smp.nbranches = 0, l->smp.intr_regs = NULL, l->smp.nintr_regs = 0;
    size_t ss = smp->stack_size;
    uint64_t *regs = (uint64_t *)malloc((smp->nregs + 1) * sizeof *regs);
    uint64_t *ips = (uint64_t *)malloc((smp->nips + 1) * sizeof *ips);
    void *stack = malloc(ss + 1);
    if (!regs || !ips || !stack) return free(regs), free(ips), free(stack), -12;
    if (smp->nregs) memcpy(regs, smp->regs, smp->nregs * sizeof *regs);
    if (smp->nips) memcpy(ips, smp->ips, smp->nips * sizeof *ips);
    if (ss) memcpy(stack, smp->stack, ss);
    l->smp.regs = regs, l->smp.ips = ips, l->smp.nips = smp->nips, l->smp.stack = stack;
    r->nlate++;
    r->late_bytes += ss;
    return 0;
}

/* The deferred samples, unwound with every map of the file known; their frames go to the
 * end of r->frames. */
static int rep_unwind_late(rep *r) {
    int rc = 0;
    for (size_t i = 0; i < r->nlate && rc == 0; i++) {
        struct rep_late *l = &r->late[i];
        rep_sample *s = &r->samples[l->sample];
        uint64_t dw[512];
        int k = kperf_symbolizer_unwind(r->sym, &l->smp, l->mask, dw, 512);
        s->first = (uint32_t)r->nframes, s->n = 0;
        rc = k > 0 ? rep_add_chain(r, s, dw, (uint32_t)k, l->smp.ip)
                   : rep_add_chain(r, s, l->smp.ips, l->smp.nips, l->smp.ip);
    }
    for (size_t i = 0; i < r->nlate; i++)
        free((void *)r->late[i].smp.regs), free((void *)r->late[i].smp.ips),
            free((void *)r->late[i].smp.stack);
    free(r->late);
    r->late = NULL, r->nlate = r->caplate = 0, r->late_bytes = 0;
    return rc;
}

static int rep_record(const kperf_record *rec, void *user) {
    rep *r = (rep *)user;
    if (rec->type == KPERF_RECORD_MMAP || rec->type == KPERF_RECORD_MMAP2) {
        REP_GROW(r->maps, r->nmaps, r->capmaps);
        rep_map *m = &r->maps[r->nmaps++];
        m->pid = rec->mmap.pid, m->start = rec->mmap.addr, m->len = rec->mmap.len;
        m->pgoff = rec->mmap.pgoff;
        m->file = strdup(rec->mmap.filename);
        if (r->sym && m->pid != UINT32_MAX) {
            kperf_module_desc md = {.pid = (pid_t)m->pid, .start = m->start, .len = m->len,
                                    .pgoff = m->pgoff, .path = m->file,
                                    .build_id = rec->mmap.build_id,
                                    .build_id_size = rec->mmap.build_id_size};
            kperf_symbolizer_add_module(r->sym, &md); /* unreadable files keep module+off */
        }
    } else if (rec->type == KPERF_RECORD_COMM) {
        REP_GROW(r->comms, r->ncomms, r->capcomms);
        r->comms[r->ncomms].tid = rec->comm.tid;
        snprintf(r->comms[r->ncomms].comm, 16, "%s", rec->comm.comm);
        if (rep_comm_put(r, rec->comm.tid, r->ncomms++)) return -12;
    } else if (rec->type == KPERF_RECORD_FORK) {
        return rep_fork(r, &rec->task);
    } else if (rec->type == KPERF_RECORD_LOST) {
        r->lost += rec->loss.lost;
    } else if (rec->type == KPERF_RECORD_SAMPLE) {
        REP_GROW(r->samples, r->nsamples, r->capsamples);
        rep_sample *s = &r->samples[r->nsamples++];
        s->pid = rec->sample.pid, s->tid = rec->sample.tid;
        s->first = (uint32_t)r->nframes, s->n = 0;
        s->kernel_leaf = (rec->misc & 7) == 1;
        s->period = rec->sample.period;
        s->event = rec->event >= 0 && rec->event < 16 ? rec->event : 0;
        s->comm = rep_comm_idx(r, rec->sample.tid);
        uint32_t n = rec->sample.nips;
        const uint64_t *ips = rec->sample.ips;
        uint64_t dw[512];
        if (r->sym && rec->sample.stack && rec->sample.regs_abi) { /* DWARF call graph */
            int e = rec->event >= 0 ? rec->event : r->ev->n == 1 ? 0 : -1;
            uint64_t mask = e >= 0 && e < 16 ? r->ev->regs_user_mask[e] : 0; /* 0: guessed */
            int k = kperf_symbolizer_unwind(r->sym, &rec->sample, mask, dw, 512);
            if (k > 0) ips = dw, n = (uint32_t)k;
            /* a user address no map covers yet: the ip (nothing unwound), or the frame where
             * unwinding stopped (the ip was in a known map, the vDSO say, but a caller's
             * module was not mapped yet); at most 256 MiB of stacks are kept for later */
            if ((rec->misc & 7) != 1 && r->late_bytes < ((size_t)256 << 20)) {
                uint64_t at[2] = {rec->sample.ip, k > 0 ? dw[k - 1] : rec->sample.ip};
                for (int q = k < 3 ? 0 : 1; q < 2; q++) {
                    kperf_frame fr[1];
                    int nf = kperf_symbolizer_lookup(r->sym, (pid_t)rec->sample.pid, at[q], fr, 1);
                    if (nf <= 0 || !fr[0].module) return rep_defer(r, r->nsamples - 1, &rec->sample, mask);
                }
            }
        }
        return rep_add_chain(r, s, ips, n, rec->sample.ip);
    }
    return 0;
}

static int rep_map_cmp(const void *x, const void *y) {
    const rep_mapix *i = (const rep_mapix *)x, *j = (const rep_mapix *)y;
    if (i->pid != j->pid) return i->pid < j->pid ? -1 : 1;
    return i->idx < j->idx ? -1 : i->idx > j->idx;
}

/* Sorts the mappings by (pid, order read) once all are read: a lookup scans only its pid's. */
static int rep_index_maps(rep *r) {
    free(r->maporder);
    r->maporder = (rep_mapix *)malloc((r->nmaps + 1) * sizeof *r->maporder);
    if (!r->maporder) return -12;
    for (size_t i = 0; i < r->nmaps; i++)
        r->maporder[i].pid = r->maps[i].pid, r->maporder[i].idx = (uint32_t)i;
    qsort(r->maporder, r->nmaps, sizeof *r->maporder, rep_map_cmp);
    return 0;
}

/* The latest mapping of pid that holds addr (index + 1), 0 for none. */
static size_t rep_find_in(const rep *r, uint32_t pid, uint64_t addr) {
    size_t lo = 0, hi = r->nmaps;
    while (lo < hi) { /* one past the last mapping of pid */
        size_t mid = lo + (hi - lo) / 2;
        if (r->maporder[mid].pid <= pid) lo = mid + 1;
        else hi = mid;
    }
    for (size_t k = lo; k-- > 0 && r->maporder[k].pid == pid;) {
        const rep_map *m = &r->maps[r->maporder[k].idx];
        if (addr >= m->start && addr - m->start < m->len) return r->maporder[k].idx + 1;
    }
    return 0;
}

/* The mapping of addr in pid (the latest one wins), or the kernel's. */
static const rep_map *rep_find(const rep *r, uint32_t pid, uint64_t addr) {
    size_t a = rep_find_in(r, pid, addr), k = rep_find_in(r, UINT32_MAX, addr);
    size_t best = a > k ? a : k;
    return best ? &r->maps[best - 1] : NULL;
}

/* Anonymous memory, as perf tells it (JIT code without a perf map or jitdump). */
static bool rep_anon(const char *file) {
    return !strcmp(file, "//anon") || !strncmp(file, "/dev/zero", 9) ||
           !strncmp(file, "/anon_hugepage", 14);
}

/* "module+0xoffset" (the file offset), "0xaddr" outside every mapping, or in anonymous
 * memory the address as perf report prints it there ("0x00007f..."). */
static void rep_addr_name(const rep *r, uint32_t pid, uint64_t a, char *buf, size_t n) {
    const rep_map *m = rep_find(r, pid, a);
    if (!m || rep_anon(m->file)) {
        snprintf(buf, n, m ? "0x%016llx" : "0x%llx", (unsigned long long)a);
        return;
    }
    const char *base = strrchr(m->file, '/');
    base = base ? base + 1 : m->file;
    if (m->pid == UINT32_MAX) snprintf(buf, n, "[kernel]+0x%llx", (unsigned long long)(a - m->start));
    else snprintf(buf, n, "%s+0x%llx", base, (unsigned long long)(a - m->start + m->pgoff));
}

/* The row of a name, created with zero counts on first sight (index + 1; 0 = no memory). */
static uint32_t rep_row_of(rep *r, const char *name) {
    if ((r->nrows + 1) * 2 > r->caprowix) {
        size_t cap = r->caprowix ? r->caprowix * 2 : 1024;
        uint32_t *t = (uint32_t *)calloc(cap, sizeof *t);
        if (!t) return 0;
        for (size_t i = 0; i < r->caprowix; i++) {
            if (!r->rowix[i]) continue;
            size_t j = rep_hash_str(r->rows[r->rowix[i] - 1].name) & (cap - 1);
            while (t[j]) j = (j + 1) & (cap - 1);
            t[j] = r->rowix[i];
        }
        free(r->rowix);
        r->rowix = t, r->caprowix = cap;
    }
    size_t j = rep_hash_str(name) & (r->caprowix - 1);
    while (r->rowix[j] && strcmp(r->rows[r->rowix[j] - 1].name, name))
        j = (j + 1) & (r->caprowix - 1);
    if (r->rowix[j]) return r->rowix[j];
    if (r->nrows == r->caprows) {
        size_t c = r->caprows ? r->caprows * 2 : 256;
        rep_row *p = (rep_row *)realloc(r->rows, c * sizeof *p);
        if (!p) return 0;
        r->rows = p, r->caprows = c;
    }
    rep_row *row = &r->rows[r->nrows];
    if (!(row->name = strdup(name))) return 0;
    row->self = row->total = 0;
    row->seen = UINT64_MAX;
    r->rowix[j] = (uint32_t)++r->nrows;
    return r->rowix[j];
}

/* The name of an address (for a symbolizer: the function, the outermost frame of its inline
 * chain), as a row, cached by (pid, address); 0 when out of memory. A non-leaf frame is a
 * return address: look up addr - 1 so that a call at a function's end stays in it. */
static uint32_t rep_name_row(rep *r, uint32_t pid, uint64_t addr, bool leaf) {
    uint64_t a = leaf ? addr : addr - 1;
    if ((r->nnames + 1) * 2 > r->capnames) {
        size_t cap = r->capnames ? r->capnames * 2 : 1024;
        struct rep_name_ent *t = (struct rep_name_ent *)calloc(cap, sizeof *t);
        if (!t) return 0;
        for (size_t i = 0; i < r->capnames; i++) {
            if (!r->names[i].row) continue;
            size_t j = rep_hash_u64(r->names[i].key_addr, r->names[i].key_pid) & (cap - 1);
            while (t[j].row) j = (j + 1) & (cap - 1);
            t[j] = r->names[i];
        }
        free(r->names);
        r->names = t, r->capnames = cap;
    }
    size_t j = rep_hash_u64(a, pid) & (r->capnames - 1);
    while (r->names[j].row && (r->names[j].key_addr != a || r->names[j].key_pid != pid))
        j = (j + 1) & (r->capnames - 1);
    if (!r->names[j].row) {
        char tmp[512];
        kperf_frame fr[16];
        int nf = r->sym ? kperf_symbolizer_lookup(r->sym, (pid_t)pid, a, fr, 16) : 0;
        if (nf > 0 && fr[nf - 1].function && r->full_names) snprintf(tmp, sizeof tmp, "%s", fr[nf - 1].function);
        else if (nf > 0 && fr[nf - 1].function) cli_short_name(fr[nf - 1].function, tmp, sizeof tmp);
        else rep_addr_name(r, pid, a, tmp, sizeof tmp);
        uint32_t row = rep_row_of(r, tmp);
        if (!row) return 0;
        r->names[j].key_addr = a, r->names[j].key_pid = pid, r->names[j].row = row;
        r->nnames++;
    }
    return r->names[j].row;
}

static int rep_sort_by_total;
static int rep_cmp(const void *a, const void *b) {
    const rep_row *x = (const rep_row *)a, *y = (const rep_row *)b;
    uint64_t kx = rep_sort_by_total ? x->total : x->self, ky = rep_sort_by_total ? y->total : y->self;
    if (kx != ky) return kx < ky ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* Indexes ahead, on every CPU, the debug info the frames will need (the addresses looked
 * up: a return address minus one); consecutive samples of one process go in one call. */
static void rep_preload(rep *r) {
    enum { CHUNK = 1 << 16, SEEN = 1 << 16 };
    uint64_t *a = r->sym ? (uint64_t *)malloc((CHUNK + SEEN) * sizeof *a) : NULL;
    uint64_t *seen = a ? a + CHUNK : NULL; /* a direct-mapped filter of recent addresses */
    uint8_t *given = a ? (uint8_t *)calloc(r->nframes + 1, 1) : NULL; /* by a chain's first frame */
    size_t n = 0;
    uint32_t pid = 0;
    if (seen) memset(seen, 0, SEEN * sizeof *seen);
    for (size_t i = 0; a && i <= r->nsamples; i++) {
        const rep_sample *s = i < r->nsamples ? &r->samples[i] : NULL;
        if (n && (!s || s->pid != pid || n + s->n > CHUNK)) {
            kperf_symbolizer_preload(r->sym, (pid_t)pid, a, n); /* only faster: no errors */
            n = 0;
        }
        if (!s || s->n > CHUNK) continue;
        if (s->pid != pid) memset(seen, 0, SEEN * sizeof *seen);
        pid = s->pid;
        if (s->n && given && given[s->first]) continue; /* a shared chain, given already */
        if (given) given[s->first] = 1;
        for (uint32_t k = 0; k < s->n; k++) {
            uint64_t x = r->frames[s->first + k] - (k != 0);
            uint64_t *slot = &seen[(x * 0x9E3779B97F4A7C15ull) >> 48];
            if (*slot != x) *slot = a[n++] = x;
        }
    }
    free(given);
    free(a);
}

/* Folded stacks, as kperf_folded_add()/kperf_folded_write() print them: each sample is a
 * key of row ids (comm, then frames root first) counted in a hash table; strings are made
 * once per distinct key, sorted, and equal strings (names that differ only in the
 * characters folding replaces) merged. */
typedef struct rep_fold {
    uint32_t *ids; /* every key's ids, back to back */
    size_t nids, capids;
    struct rep_stack {
        size_t first;
        uint32_t n;
        uint64_t count, hash;
        char *text;
    } *st;
    size_t nst, capst;
    uint32_t *ix; /* 1 + index in st, open addressing */
    size_t capix;
} rep_fold;

static int rep_fold_cmp(const void *x, const void *y) {
    return strcmp((*(const struct rep_stack *const *)x)->text,
                  (*(const struct rep_stack *const *)y)->text);
}

static int rep_fold_add(rep_fold *f, const uint32_t *key, uint32_t n, uint32_t *idx) {
    uint64_t h = 1469598103934665603ull;
    for (uint32_t i = 0; i < n; i++) h = (h ^ key[i]) * 1099511628211ull;
    if ((f->nst + 1) * 2 > f->capix) {
        size_t cap = f->capix ? f->capix * 2 : 1024;
        uint32_t *t = (uint32_t *)calloc(cap, sizeof *t);
        if (!t) return -1;
        for (size_t i = 0; i < f->capix; i++) {
            if (!f->ix[i]) continue;
            size_t j = f->st[f->ix[i] - 1].hash & (cap - 1);
            while (t[j]) j = (j + 1) & (cap - 1);
            t[j] = f->ix[i];
        }
        free(f->ix);
        f->ix = t, f->capix = cap;
    }
    size_t j = h & (f->capix - 1);
    for (; f->ix[j]; j = (j + 1) & (f->capix - 1)) {
        struct rep_stack *e = &f->st[f->ix[j] - 1];
        if (e->hash == h && e->n == n && !memcmp(f->ids + e->first, key, n * sizeof *key))
            return *idx = f->ix[j], e->count++, 0;
    }
    if (f->nst == f->capst) {
        size_t c = f->capst ? f->capst * 2 : 1024;
        struct rep_stack *p = (struct rep_stack *)realloc(f->st, c * sizeof *p);
        if (!p) return -1;
        f->st = p, f->capst = c;
    }
    while (f->nids + n > f->capids) {
        size_t c = f->capids ? f->capids * 2 : 4096;
        uint32_t *p = (uint32_t *)realloc(f->ids, c * sizeof *p);
        if (!p) return -1;
        f->ids = p, f->capids = c;
    }
    memcpy(f->ids + f->nids, key, n * sizeof *key);
    f->st[f->nst] = (struct rep_stack){f->nids, n, 1, h, NULL};
    f->nids += n;
    f->ix[j] = (uint32_t)++f->nst;
    *idx = f->ix[j];
    return 0;
}

/* The text of a key: names joined by ';', ';' '\n' ' ' in names replaced by '_'. */
static char *rep_fold_text(const rep *r, const uint32_t *key, uint32_t n) {
    size_t len = 1;
    for (uint32_t i = 0; i < n; i++) len += strlen(r->rows[key[i] - 1].name) + 1;
    char *t = (char *)malloc(len), *p = t;
    for (uint32_t i = 0; t && i < n; i++) {
        if (i) *p++ = ';';
        for (const char *c = r->rows[key[i] - 1].name; *c; c++)
            *p++ = *c == ';' || *c == '\n' || *c == ' ' ? '_' : *c;
    }
    if (t) *p = 0;
    return t;
}

static int rep_fold_write(rep *r, rep_fold *f, const char *out) {
    struct rep_stack **v = (struct rep_stack **)malloc((f->nst + 1) * sizeof *v);
    if (!v) return -1;
    size_t n = 0;
    for (size_t i = 0; i < f->nst; i++) {
        f->st[i].text = rep_fold_text(r, f->ids + f->st[i].first, f->st[i].n);
        if (!f->st[i].text) return free(v), -1;
        if (f->st[i].text[0]) v[n++] = &f->st[i]; /* an empty stack prints nothing */
    }
    qsort(v, n, sizeof *v, rep_fold_cmp);
    FILE *o = strcmp(out, "-") ? fopen(out, "w") : stdout;
    if (!o) return free(v), -1;
    for (size_t i = 0; i < n; i++) {
        uint64_t c = v[i]->count;
        while (i + 1 < n && !strcmp(v[i + 1]->text, v[i]->text)) c += v[++i]->count;
        fprintf(o, "%s %llu\n", v[i]->text, (unsigned long long)c);
    }
    free(v);
    int bad = ferror(o);
    if (o != stdout) bad |= fclose(o);
    else fflush(o);
    return bad ? -1 : 0;
}

static int rep_folded(rep *r, const char *out) {
    rep_fold f;
    memset(&f, 0, sizeof f);
    uint32_t *key = NULL;
    size_t capkey = 0;
    int rc = 0;
    /* per stored chain (shared by the samples of one process with it): its frames' rows,
     * and the stack it made with the last comm seen with it */
    uint32_t *rows = (uint32_t *)calloc(r->nframes + 1, sizeof *rows);
    struct rep_fold_memo {
        uint32_t comm, st;
    } *memo = (struct rep_fold_memo *)calloc(r->nframes + 1, sizeof *memo);
    for (size_t i = 0; i < r->nsamples && !rc; i++) {
        const rep_sample *s = &r->samples[i];
        if (s->n + 2 > capkey) {
            capkey = s->n + 64;
            free(key);
            if (!(key = (uint32_t *)malloc(capkey * sizeof *key))) rc = -1;
            if (rc) break;
        }
        uint32_t n = 0, idx = 0;
        const char *comm = rep_sample_comm(r, s);
        if (comm && *comm && !(key[n++] = rep_row_of(r, comm))) rc = -1;
        uint32_t crow = n ? key[0] : 0;
        if (!rc && s->n && memo && memo[s->first].st && memo[s->first].comm == crow) {
            f.st[memo[s->first].st - 1].count++;
            continue;
        }
        if (!s->n && !(key[n++] = rep_name_row(r, s->pid, 0, true))) rc = -1; /* no frames */
        for (uint32_t k = s->n; k-- > 0 && !rc;) { /* root first */
            uint32_t row = rows ? rows[s->first + k] : 0;
            if (!row) {
                row = rep_name_row(r, s->pid, r->frames[s->first + k], k == 0);
                if (rows) rows[s->first + k] = row;
                if (!row) rc = -1;
            }
            key[n++] = row;
        }
        if (!rc) rc = rep_fold_add(&f, key, n, &idx);
        if (!rc && s->n && memo) memo[s->first].comm = crow, memo[s->first].st = idx;
    }
    free(rows);
    free(memo);
    if (!rc) rc = rep_fold_write(r, &f, out);
    for (size_t i = 0; i < f.nst; i++) free(f.st[i].text);
    free(f.st);
    free(f.ids);
    free(f.ix);
    free(key);
    return rc;
}

/* --pprof: the samples as kperf_folded_add() sees them, into a pprof profile. */
static int rep_pprof(rep *r, const char *in, const char *out) {
    kperf_pprof *p;
    char comment[4200];
    snprintf(comment, sizeof comment, "kperf report -i %s", in);
    const char *evs[16]; /* one value column per event of the file */
    size_t nev = r->ev->n < 16 ? r->ev->n : 16;
    for (size_t e = 0; e < nev; e++) evs[e] = r->ev->names[e][0] ? r->ev->names[e] : "events";
    kperf_pprof_desc d = {.symbolizer = r->sym, .event = nev ? evs[0] : NULL, .events = evs,
                          .nevents = nev, .comment = comment};
    if (kperf_pprof_new(&p, &d) < 0) return -1;
    kperf_sample smp;
    memset(&smp, 0, sizeof smp);
    for (size_t i = 0; i < r->nsamples; i++) {
        const rep_sample *s = &r->samples[i];
        smp.pid = s->pid, smp.tid = s->tid, smp.period = s->period;
        smp.ips = r->frames + s->first, smp.nips = s->n;
        int e = nev > 1 && s->event < (int)nev ? s->event : 0;
        if (kperf_pprof_add_event(p, &smp, rep_sample_comm(r, s), e) < 0)
            return kperf_pprof_free(p), -1;
    }
    int n = kperf_pprof_write(p, out);
    kperf_pprof_free(p);
    return n < 0 ? -1 : 0;
}

/* --sort: perf's keys, in the order given. */
enum { REP_COMM = 1, REP_PID = 2, REP_DSO = 4, REP_SYM = 8 };
typedef struct rep_sort {
    int keys[4], nkeys;
    unsigned set;
} rep_sort;

/* The module of an address, as perf's dso column names it. */
static const char *rep_dso(const rep *r, uint32_t pid, uint64_t addr) {
    static char jit[32];
    const rep_map *m = rep_find(r, pid, addr);
    if (!m) return addr >= KPERF_CONTEXT_MAX / 2 ? "[kernel.kallsyms]" : "[unknown]";
    if (m->pid == UINT32_MAX) return "[kernel.kallsyms]";
    if (rep_anon(m->file)) /* perf's name: the code of a JIT, /tmp/perf-PID.map or not */
        return snprintf(jit, sizeof jit, "[JIT] tid %u", m->pid), jit;
    const char *b = strrchr(m->file, '/');
    return b ? b + 1 : m->file;
}

/* The row of frame @p k of sample @p s under the sort keys (0 when out of memory). */
static uint32_t rep_key_row(rep *r, const rep_sort *so, const rep_sample *s, uint32_t k) {
    uint64_t addr = r->frames[s->first + k];
    if (so->set == REP_SYM) return rep_name_row(r, s->pid, addr, k == 0);
    char key[1024];
    size_t n = 0;
    for (int i = 0; i < so->nkeys && n < sizeof key - 1; i++) {
        char f[600];
        const char *comm = rep_sample_comm(r, s);
        uint32_t row;
        switch (so->keys[i]) {
        case REP_COMM: /* a thread never named in the file: ":TID", as perf shows it */
            if (comm) snprintf(f, sizeof f, "%-16s", comm);
            else snprintf(f, sizeof f, ":%-15u", s->tid);
            break;
        case REP_PID: /* perf's pid key: the thread, as TID:COMM */
            snprintf(f, sizeof f, "%7u:%-16s", s->tid, comm ? comm : "");
            break;
        case REP_DSO: snprintf(f, sizeof f, "%-24s", rep_dso(r, s->pid, addr)); break;
        default:
            row = rep_name_row(r, s->pid, addr, k == 0);
            snprintf(f, sizeof f, "%s", row ? r->rows[row - 1].name : "?");
        }
        n += (size_t)snprintf(key + n, sizeof key - n, "%s%s", i ? "  " : "", f);
    }
    return rep_row_of(r, key);
}

/* One table per event: percentages never mix a clock's samples with a tracepoint's. */
static void rep_table(rep *r, const char *path, const kperf_perfdata_events *ev, int top,
                      const rep_sort *so) {
    size_t nev = ev->n ? ev->n : 1, per[16] = {0};
    for (size_t i = 0; i < r->nsamples; i++) per[r->samples[i].event < (int)nev ? r->samples[i].event : 0]++;
    char evs[512] = "";
    for (size_t i = 0; i < ev->n; i++) /* every event of the file, as named there */
        snprintf(evs + strlen(evs), sizeof evs - strlen(evs), "%s%s", i ? "," : "",
                 ev->names[i][0] ? ev->names[i] : "?");
    printf("# kperf report: %zu samples of %s in %s, %llu lost\n", r->nsamples,
           evs[0] ? evs : "?", path, (unsigned long long)r->lost);
    bool frames = so->set & (REP_SYM | REP_DSO); /* comm/pid only: one row per sample */
    char head[256] = "";
    for (int i = 0; i < so->nkeys; i++) {
        static const char *const w[] = {"", "%-16s", "%-24s", "", "%-24s", "", "", "", "%s"};
        static const char *const nm[] = {"", "comm", "tid:comm", "", "dso", "", "", "", "function"};
        size_t l = strlen(head);
        if (i) snprintf(head + l, sizeof head - l, "  "), l += 2;
        snprintf(head + l, sizeof head - l, w[so->keys[i]], nm[so->keys[i]]);
    }
    /* by function alone, a frame's row depends only on its chain (shared by the samples of
     * one process with that chain) and position: found once per stored frame */
    uint32_t *memo = so->set == REP_SYM ? (uint32_t *)calloc(r->nframes + 1, sizeof *memo) : NULL;
    for (size_t e = 0; e < nev; e++) {
        if (nev > 1 && !per[e]) continue;
        for (size_t i = 0; i < r->nrows; i++) r->rows[i].self = r->rows[i].total = 0, r->rows[i].seen = UINT64_MAX;
        for (size_t i = 0; i < r->nsamples; i++) {
            const rep_sample *s = &r->samples[i];
            if ((size_t)s->event != e && !(s->event >= (int)nev && e == 0)) continue;
            for (uint32_t k = 0; k < (frames ? s->n : (s->n ? 1u : 0u)); k++) {
                uint32_t id = memo ? memo[s->first + k] : 0;
                if (!id) id = rep_key_row(r, so, s, k);
                if (!id) break;
                if (memo) memo[s->first + k] = id;
                rep_row *row = &r->rows[id - 1];
                if (k == 0) row->self++;
                if (row->seen != i) row->total++, row->seen = i; /* recursion counts once */
            }
        }
        /* the rows are sorted in a copy: the name index keeps pointing at the originals */
        rep_row *t = (rep_row *)malloc((r->nrows + 1) * sizeof(rep_row));
        if (!t) {
            free(memo);
            return;
        }
        size_t n = 0;
        for (size_t i = 0; i < r->nrows; i++)
            if (r->rows[i].self || r->rows[i].total) t[n++] = r->rows[i];
        qsort(t, n, sizeof *t, rep_cmp);
        if (nev > 1)
            printf("#\n# event '%s': %zu samples\n", ev->names[e][0] ? ev->names[e] : "?", per[e]);
        printf("# %7s %7s %9s  %s\n", "self", "total", "samples", head);
        double all = per[e] ? (double)per[e] : 1.0;
        for (size_t i = 0; i < n && (int)i < top; i++)
            printf("  %6.2f%% %6.2f%% %9llu  %s\n", 100.0 * (double)t[i].self / all,
                   100.0 * (double)t[i].total / all, (unsigned long long)t[i].self, t[i].name);
        free(t);
    }
    free(memo);
}

/* --sort: "self" or "total" (the order), or perf's keys comm,pid,dso,sym (the columns). */
static int rep_parse_sort(const char *v, rep_sort *so) {
    if (!strcmp(v, "self") || !strcmp(v, "total")) return rep_sort_by_total = v[0] == 't', 0;
    so->nkeys = 0, so->set = 0;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        int k = !strcmp(w, "comm") ? REP_COMM : !strcmp(w, "pid") ? REP_PID
              : !strcmp(w, "dso") ? REP_DSO : !strcmp(w, "sym") ? REP_SYM : 0;
        if (!k || (so->set & (unsigned)k) || so->nkeys == 4)
            return fprintf(stderr, "kperf report: --sort takes self, total, or keys from comm, "
                                   "pid, dso, sym (each once), not '%s'\n", v), -1;
        so->keys[so->nkeys++] = k, so->set |= (unsigned)k;
    }
    return so->nkeys ? 0 : -1;
}

enum { REP_FOLDED = CLI_LONG_ONLY, REP_ADDRESSES, REP_SVG, REP_PPROF, REP_FULL };

static const cli_opt rep_opts[] = {
    {'i', "input", "FILE", "the perf.data file (default perf.data; '-' = stdin)"},
    {'n', "top", "N", "rows per table (default 20)"},
    {'s', "sort", "KEYS", "comm,pid,dso,sym (perf's keys; default sym), or self|total"},
    {REP_FOLDED, "folded", NULL, "print folded stacks instead of the table"},
    {REP_SVG, "svg", "FILE", "write a flame graph (SVG, labels in the file)"},
    {REP_PPROF, "pprof", "FILE", "write a pprof profile (gzip'd profile.proto)"},
    {REP_ADDRESSES, "addresses", NULL, "module+offset instead of function names"},
    {REP_FULL, "full-names", NULL, "C++ names with return type and parameters (perf report -v)"},
    {0, NULL, NULL, NULL}};

static const cli_cmd rep_cmd = {
    "report", "[options]",
    "Top functions of a recorded file (kperf's or perf's), by self and total samples, one\n"
    "table per event.",
    rep_opts, 0,
    "Names come from the files the MMAP2 records name (by build-id when the process is\n"
    "gone); children and threads inherit their parent's maps and name (FORK records).\n"
    "C++ names are perf's short form (ns::hot<long>, no parameters or return type) unless\n"
    "--full-names; code in anonymous memory without a perf map or jitdump is its address\n"
    "in the dso '[JIT] tid PID', as perf report shows it.\n"};

typedef struct rep_opt_state {
    const char *path, *svg, *pprof;
    long top;
    bool folded, addresses, full;
    rep_sort sort;
    bool top_set, sort_set; /* -n, --sort KEYS given (they shape the table only) */
} rep_opt_state;

static int rep_opt(int key, const char *v, void *user) {
    rep_opt_state *o = (rep_opt_state *)user;
    switch (key) {
    case 'i': o->path = v; return 0;
    case 'n': return o->top_set = true, cli_parse_long("report", "-n/--top", v, 1, 1000000000, &o->top);
    case 's':
        o->sort_set |= strcmp(v, "self") && strcmp(v, "total");
        return rep_parse_sort(v, &o->sort);
    case REP_FOLDED: o->folded = true; return 0;
    case REP_SVG: o->svg = v; return 0;
    case REP_PPROF: o->pprof = v; return 0;
    case REP_ADDRESSES: o->addresses = true; return 0;
    case REP_FULL: o->full = true; return 0;
    }
    return 1;
}

int cmd_report(int argc, char **argv) {
    rep_opt_state o = {"perf.data", NULL, NULL, 20, false, false, false,
                       {{REP_SYM, 0, 0, 0}, 1, REP_SYM}, false, false};
    rep_sort_by_total = 0;
    cli_args ca;
    int prc = cli_parse(&rep_cmd, argc, argv, &ca, rep_opt, &o);
    if (prc != CLI_OK) return prc == CLI_HELP ? 0 : 2;
    cli_args_free(&ca);
    if ((o.folded || o.svg) && (o.top_set || o.sort_set))
        return cli_usage_error("report", "-n and --sort KEYS shape the table; --folded and "
                                         "--svg print every stack");
    const char *path = o.path, *svg = o.svg, *pprof = o.pprof;
    int top = (int)o.top;
    bool folded = o.folded, addresses = o.addresses;
    rep r;
    memset(&r, 0, sizeof r);
    r.full_names = o.full;
    kperf_perfdata_events ev;
    memset(&ev, 0, sizeof ev);
    r.ev = &ev;
    if (!addresses)
        kperf_symbolizer_open(&r.sym, &(kperf_symbolizer_desc){.mode = KPERF_SYMBOL_DELAYED,
                                                               .include_kernel = true});
    int rc = kperf_perfdata_read(path, rep_record, &r, &ev);
    if (rc == -KPERF_ECORRUPT && ev.records) { /* a killed writer or a full disk: show the rest */
        fprintf(stderr, "kperf report: warning: %s; reporting the %llu records before it\n",
                kperf_errmsg(), (unsigned long long)ev.records);
        rc = 0;
    }
    if (r.nlate && rep_unwind_late(&r) < 0 && rc >= 0) rc = -1; /* frees them in any case */
    if (rc >= 0 && rep_index_maps(&r) < 0) rc = -1;
    if (rc >= 0) rep_preload(&r);
    if (rc >= 0 && pprof) rc = rep_pprof(&r, path, pprof);
    if (rc >= 0 && svg) { /* folded stacks, drawn by kperf_flamegraph_write() */
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s.folded", svg);
        rc = rep_folded(&r, tmp);
        if (rc >= 0)
            rc = kperf_flamegraph_write(svg, &(kperf_flamegraph_desc){.folded_path = tmp,
                                                                       .title = path});
        remove(tmp);
    } else if (rc >= 0) {
        if (folded) rc = rep_folded(&r, "-");
        else rep_table(&r, path, &ev, top, &o.sort);
    }
    for (size_t i = 0; i < r.nmaps; i++) free(r.maps[i].file);
    free(r.maps);
    free(r.samples);
    free(r.frames);
    free(r.chains);
    free(r.comms);
    free(r.names);
    for (size_t i = 0; i < r.nrows; i++) free(r.rows[i].name);
    free(r.rows);
    free(r.rowix);
    free(r.commix);
    free(r.maporder);
    kperf_symbolizer_close(r.sym);
    return rc < 0 ? cli_fail("report") : 0;
}
