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
    uint64_t period;
} rep_sample;

typedef struct rep {
    rep_map *maps;
    size_t nmaps, capmaps;
    rep_sample *samples;
    size_t nsamples, capsamples;
    uint64_t *frames; /* addresses; bit 63 of kernel frames kept as is */
    size_t nframes, capframes;
    struct {
        uint32_t tid;
        char comm[16];
    } *comms;
    size_t ncomms, capcomms;
    uint64_t lost;
    kperf_symbolizer *sym; /* names; NULL = module+offset */
    const kperf_perfdata_events *ev; /* the file's events (register masks for unwinding) */
    struct rep_name_ent {
        uint64_t key_addr;
        uint32_t key_pid;
        char *name;
    } *names; /* cache of (pid, addr) -> name, open addressing */
    size_t nnames, capnames;
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

static const char *rep_comm(const rep *r, uint32_t tid) {
    for (size_t i = r->ncomms; i-- > 0;)
        if (r->comms[i].tid == tid) return r->comms[i].comm;
    return NULL;
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
        snprintf(r->comms[r->ncomms++].comm, 16, "%s", rec->comm.comm);
    } else if (rec->type == KPERF_RECORD_LOST) {
        r->lost += rec->loss.lost;
    } else if (rec->type == KPERF_RECORD_SAMPLE) {
        REP_GROW(r->samples, r->nsamples, r->capsamples);
        rep_sample *s = &r->samples[r->nsamples++];
        s->pid = rec->sample.pid, s->tid = rec->sample.tid;
        s->first = (uint32_t)r->nframes, s->n = 0;
        s->kernel_leaf = (rec->misc & 7) == 1;
        s->period = rec->sample.period;
        uint32_t n = rec->sample.nips;
        const uint64_t *ips = rec->sample.ips;
        uint64_t one = rec->sample.ip, dw[512];
        if (r->sym && rec->sample.stack && rec->sample.regs_abi) { /* DWARF call graph */
            int e = rec->event >= 0 ? rec->event : r->ev->n == 1 ? 0 : -1;
            uint64_t mask = e >= 0 && e < 16 ? r->ev->regs_user_mask[e] : 0; /* 0: guessed */
            int k = kperf_symbolizer_unwind(r->sym, &rec->sample, mask, dw, 512);
            if (k > 0) ips = dw, n = (uint32_t)k;
        }
        if (!n) ips = &one, n = 1;
        for (uint32_t i = 0; i < n; i++) {
            if (ips[i] >= KPERF_CONTEXT_MAX || ips[i] < 4096) continue; /* markers, chain ends */
            REP_GROW(r->frames, r->nframes, r->capframes);
            r->frames[r->nframes++] = ips[i];
            s->n++;
        }
    }
    return 0;
}

/* The mapping of addr in pid (the latest one wins), or the kernel's. */
static const rep_map *rep_find(const rep *r, uint32_t pid, uint64_t addr) {
    for (size_t i = r->nmaps; i-- > 0;) {
        const rep_map *m = &r->maps[i];
        if ((m->pid == pid || m->pid == UINT32_MAX) && addr >= m->start && addr - m->start < m->len)
            return m;
    }
    return NULL;
}

/* "module+0xoffset" (the file offset), or "0xaddr" outside every mapping. */
static void rep_addr_name(const rep *r, uint32_t pid, uint64_t a, char *buf, size_t n) {
    const rep_map *m = rep_find(r, pid, a);
    if (!m) {
        snprintf(buf, n, "0x%llx", (unsigned long long)a);
        return;
    }
    const char *base = strrchr(m->file, '/');
    base = base ? base + 1 : m->file;
    if (m->pid == UINT32_MAX) snprintf(buf, n, "[kernel]+0x%llx", (unsigned long long)(a - m->start));
    else snprintf(buf, n, "%s+0x%llx", base, (unsigned long long)(a - m->start + m->pgoff));
}

/* The function of an address (the outermost frame of its inline chain), cached. A non-leaf
 * frame is a return address: look up addr - 1 so that a call at a function's end stays in
 * it. */
static void rep_name(rep *r, uint32_t pid, uint64_t addr, bool leaf, char *buf, size_t n) {
    uint64_t a = leaf ? addr : addr - 1;
    if (!r->sym) {
        rep_addr_name(r, pid, a, buf, n);
        return;
    }
    if ((r->nnames + 1) * 2 > r->capnames) {
        size_t cap = r->capnames ? r->capnames * 2 : 1024;
        struct rep_name_ent *t = calloc(cap, sizeof *t);
        if (!t) return rep_addr_name(r, pid, a, buf, n);
        for (size_t i = 0; i < r->capnames; i++) {
            if (!r->names[i].name) continue;
            size_t j = (r->names[i].key_addr * 0x9E3779B97F4A7C15ull ^ r->names[i].key_pid) & (cap - 1);
            while (t[j].name) j = (j + 1) & (cap - 1);
            t[j] = r->names[i];
        }
        free(r->names);
        r->names = t, r->capnames = cap;
    }
    size_t j = (a * 0x9E3779B97F4A7C15ull ^ pid) & (r->capnames - 1);
    while (r->names[j].name && (r->names[j].key_addr != a || r->names[j].key_pid != pid))
        j = (j + 1) & (r->capnames - 1);
    if (!r->names[j].name) {
        kperf_frame fr[16];
        int nf = kperf_symbolizer_lookup(r->sym, (pid_t)pid, a, fr, 16);
        char tmp[512];
        if (nf > 0 && fr[nf - 1].function) snprintf(tmp, sizeof tmp, "%s", fr[nf - 1].function);
        else rep_addr_name(r, pid, a, tmp, sizeof tmp);
        r->names[j].key_addr = a, r->names[j].key_pid = pid;
        r->names[j].name = strdup(tmp);
        r->nnames++;
        if (!r->names[j].name) return rep_addr_name(r, pid, a, buf, n);
    }
    snprintf(buf, n, "%s", r->names[j].name);
}

typedef struct rep_row {
    char *name;
    uint64_t self, total, seen; /* seen: last sample index counted in total */
} rep_row;

typedef struct rep_tab {
    rep_row *rows;
    size_t n, cap;
} rep_tab;

static rep_row *rep_row_of(rep_tab *t, const char *name) {
    for (size_t i = 0; i < t->n; i++)
        if (!strcmp(t->rows[i].name, name)) return &t->rows[i];
    if (t->n == t->cap) {
        size_t c = t->cap ? t->cap * 2 : 256;
        rep_row *p = (rep_row *)realloc(t->rows, c * sizeof *p);
        if (!p) return NULL;
        t->rows = p, t->cap = c;
    }
    rep_row *row = &t->rows[t->n++];
    row->name = strdup(name);
    row->self = row->total = 0;
    row->seen = UINT64_MAX;
    return row;
}

static int rep_sort_by_total;
static int rep_cmp(const void *a, const void *b) {
    const rep_row *x = (const rep_row *)a, *y = (const rep_row *)b;
    uint64_t kx = rep_sort_by_total ? x->total : x->self, ky = rep_sort_by_total ? y->total : y->self;
    if (kx != ky) return kx < ky ? 1 : -1;
    return strcmp(x->name, y->name);
}

static int rep_frame_name(uint64_t addr, uint32_t pid, bool kernel, bool leaf, char *buf,
                          size_t n, void *user) {
    (void)kernel;
    rep_name((rep *)user, pid, addr, leaf, buf, n);
    return (int)strlen(buf);
}

static int rep_folded(rep *r, const char *out) {
    kperf_folded *f;
    if (kperf_folded_open(&f, rep_frame_name, r) < 0) return -1;
    for (size_t i = 0; i < r->nsamples; i++) {
        const rep_sample *s = &r->samples[i];
        kperf_sample smp;
        memset(&smp, 0, sizeof smp);
        smp.pid = s->pid, smp.tid = s->tid;
        smp.ips = r->frames + s->first, smp.nips = s->n;
        if (kperf_folded_add(f, &smp, rep_comm(r, s->tid)) < 0) return kperf_folded_close(f), -1;
    }
    int n = kperf_folded_write(f, out);
    kperf_folded_close(f);
    return n < 0 ? -1 : 0;
}

/* --pprof: the samples as kperf_folded_add() sees them, into a pprof profile. */
static int rep_pprof(rep *r, const char *in, const char *out) {
    kperf_pprof *p;
    char comment[4200];
    snprintf(comment, sizeof comment, "kperf report -i %s", in);
    kperf_pprof_desc d = {.symbolizer = r->sym, .event = r->ev->n ? r->ev->names[0] : NULL,
                          .comment = comment};
    if (kperf_pprof_open(&p, &d) < 0) return -1;
    for (size_t i = 0; i < r->nsamples; i++) {
        const rep_sample *s = &r->samples[i];
        kperf_sample smp;
        memset(&smp, 0, sizeof smp);
        smp.pid = s->pid, smp.tid = s->tid, smp.period = s->period;
        smp.ips = r->frames + s->first, smp.nips = s->n;
        if (kperf_pprof_add(p, &smp, rep_comm(r, s->tid)) < 0) return kperf_pprof_close(p), -1;
    }
    int n = kperf_pprof_write(p, out);
    kperf_pprof_close(p);
    return n < 0 ? -1 : 0;
}

static void rep_table(rep *r, const char *path, const kperf_perfdata_events *ev, int top) {
    rep_tab t = {NULL, 0, 0};
    char name[512];
    for (size_t i = 0; i < r->nsamples; i++) {
        const rep_sample *s = &r->samples[i];
        for (uint32_t k = 0; k < s->n; k++) {
            rep_name(r, s->pid, r->frames[s->first + k], k == 0, name, sizeof name);
            rep_row *row = rep_row_of(&t, name);
            if (!row) break;
            if (k == 0) row->self++;
            if (row->seen != i) row->total++, row->seen = i; /* recursion counts once */
        }
    }
    qsort(t.rows, t.n, sizeof *t.rows, rep_cmp);
    char evs[512] = "";
    for (size_t i = 0; i < ev->n; i++) /* every event of the file, as named there */
        snprintf(evs + strlen(evs), sizeof evs - strlen(evs), "%s%s", i ? "," : "",
                 ev->names[i][0] ? ev->names[i] : "?");
    printf("# kperf report: %zu samples of %s in %s, %llu lost\n", r->nsamples,
           evs[0] ? evs : "?", path, (unsigned long long)r->lost);
    printf("# %7s %7s %9s  %s\n", "self", "total", "samples", "function");
    double all = r->nsamples ? (double)r->nsamples : 1.0;
    for (size_t i = 0; i < t.n && (int)i < top; i++)
        printf("  %6.2f%% %6.2f%% %9llu  %s\n", 100.0 * (double)t.rows[i].self / all,
               100.0 * (double)t.rows[i].total / all, (unsigned long long)t.rows[i].self,
               t.rows[i].name);
    for (size_t i = 0; i < t.n; i++) free(t.rows[i].name);
    free(t.rows);
}

int cmd_report(int argc, char **argv) {
    static const struct option opts[] = {{"input", required_argument, 0, 'i'},
                                         {"top", required_argument, 0, 'n'},
                                         {"sort", required_argument, 0, 's'},
                                         {"folded", no_argument, 0, 'f'},
                                         {"addresses", no_argument, 0, 'a'},
                                         {"svg", required_argument, 0, 'g'},
                                         {"pprof", required_argument, 0, 'P'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *path = "perf.data";
    const char *svg = NULL, *pprof = NULL;
    int top = 20, folded = 0, addresses = 0, opt;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "i:n:s:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'i': path = optarg; break;
        case 'n': top = atoi(optarg); break;
        case 's': rep_sort_by_total = !strcmp(optarg, "total"); break;
        case 'f': folded = 1; break;
        case 'a': addresses = 1; break;
        case 'g': svg = optarg; break;
        case 'P': pprof = optarg; break;
        case 'h':
            printf("usage: kperf report [-i FILE] [-n TOP] [--sort self|total] [--folded] "
                   "[--svg FILE] [--addresses] [--pprof FILE]\n");
            return 0;
        default: return 2;
        }
    }
    rep r;
    memset(&r, 0, sizeof r);
    kperf_perfdata_events ev;
    memset(&ev, 0, sizeof ev);
    r.ev = &ev;
    if (!addresses)
        kperf_symbolizer_open(&r.sym, &(kperf_symbolizer_desc){.mode = KPERF_SYMBOL_DELAYED,
                                                               .include_kernel = true});
    int rc = kperf_perfdata_read(path, rep_record, &r, &ev);
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
        else rep_table(&r, path, &ev, top);
    }
    for (size_t i = 0; i < r.nmaps; i++) free(r.maps[i].file);
    free(r.maps);
    free(r.samples);
    free(r.frames);
    free(r.comms);
    for (size_t i = 0; i < r.capnames; i++) free(r.names[i].name);
    free(r.names);
    kperf_symbolizer_close(r.sym);
    return rc < 0 ? cli_fail("report") : 0;
}
