/* kperf top: key/value tables from any events (perf-prof's top). Each row is a key (the
 * event's key=FIELD, else the thread id); each column an event's count, or the sum of a
 * top-by=FIELD / top-add=FIELD; rows are sorted by the first top-by column (else the
 * first column), printed every -i MS and at the end. */
#include "prof.h"
#include <stdlib.h>
#include <string.h>

#define TOP_MAXCOL 32

typedef struct top_col {
    int ev;                     /* event index */
    const kperf_tp_field *f;    /* summed field, NULL = count records */
    char name[64];
    kperf_keystats *ks;
} top_col;

typedef struct top_name {
    uint64_t key;
    char comm[17];
    bool used;
} top_name;

typedef struct top_state {
    top_col col[TOP_MAXCOL];
    int ncol, sortcol;
    const kperf_tp_field *comm_f[PROF_MAX_EVENTS];
    top_name *names;            /* key -> comm, open addressing */
    size_t ncap, nnames;
    bool ready;
    long rows;                  /* --rows: most rows printed, 0 = all */
} top_state;

static int top_opt(prof_env *e, int key, const char *arg) {
    top_state *t = (top_state *)e->priv;
    if (key == 'n') return cli_parse_long("top", "--rows", arg, 1, 1000000, &t->rows);
    return 1;
}

static int top_add_cols(prof_env *e, top_state *t, int ev, const char *fields, bool by) {
    for (const char *v = fields; v && *v;) {
        size_t l = strcspn(v, ",");
        char fname[64];
        snprintf(fname, sizeof fname, "%.*s", (int)(l < 63 ? l : 63), v);
        if (t->ncol >= TOP_MAXCOL) return fprintf(stderr, "kperf top: too many columns\n"), -1;
        top_col *c = &t->col[t->ncol];
        c->ev = ev;
        c->f = prof_field(e, ev, fname);
        snprintf(c->name, sizeof c->name, "%s", fname);
        if (by && t->sortcol < 0) t->sortcol = t->ncol;
        t->ncol++;
        v += l + (v[l] == ',');
    }
    return 0;
}

static int top_setup(prof_env *e, top_state *t) {
    t->sortcol = -1;
    for (size_t i = 0; i < e->list->nevents; i++) {
        const kperf_event_attrs *a = &e->list->events[i].attrs;
        if (a->comm) t->comm_f[i] = prof_field(e, (int)i, a->comm);
        if (!a->top_by && !a->top_add) {
            if (t->ncol >= TOP_MAXCOL) return fprintf(stderr, "kperf top: too many columns\n"), -1;
            t->col[t->ncol].ev = (int)i;
            snprintf(t->col[t->ncol].name, sizeof t->col[0].name, "%s", prof_evname(e, (int)i));
            char *colon = strchr(t->col[t->ncol].name, ':'); /* sys:name -> name */
            if (colon && !a->alias) memmove(t->col[t->ncol].name, colon + 1, strlen(colon));
            t->ncol++;
            continue;
        }
        if (top_add_cols(e, t, (int)i, a->top_by, true) < 0) return -1;
        if (top_add_cols(e, t, (int)i, a->top_add, false) < 0) return -1;
    }
    if (t->sortcol < 0) t->sortcol = 0;
    for (int c = 0; c < t->ncol; c++)
        if (kperf_keystats_new(&t->col[c].ks, NULL) < 0) return -1;
    t->ready = true;
    return 0;
}

static void top_name_set(top_state *t, uint64_t key, const char *comm, size_t len) {
    if ((t->nnames + 1) * 2 > t->ncap) {
        size_t nc = t->ncap ? t->ncap * 2 : 256;
        top_name *nn = (top_name *)calloc(nc, sizeof *nn);
        if (!nn) return;
        for (size_t i = 0; i < t->ncap; i++) {
            if (!t->names[i].used) continue;
            size_t h = (t->names[i].key * 0x9E3779B97F4A7C15ull) >> 40 & (nc - 1);
            while (nn[h].used) h = (h + 1) & (nc - 1);
            nn[h] = t->names[i];
        }
        free(t->names);
        t->names = nn, t->ncap = nc;
    }
    size_t h = (key * 0x9E3779B97F4A7C15ull) >> 40 & (t->ncap - 1);
    while (t->names[h].used && t->names[h].key != key) h = (h + 1) & (t->ncap - 1);
    if (!t->names[h].used) t->nnames++;
    t->names[h].used = true, t->names[h].key = key;
    snprintf(t->names[h].comm, sizeof t->names[h].comm, "%.*s", (int)(len < 16 ? len : 16), comm);
}

static const char *top_name_get(const top_state *t, uint64_t key) {
    if (!t->ncap) return NULL;
    size_t h = (key * 0x9E3779B97F4A7C15ull) >> 40 & (t->ncap - 1);
    while (t->names[h].used) {
        if (t->names[h].key == key) return t->names[h].comm;
        h = (h + 1) & (t->ncap - 1);
    }
    return NULL;
}

static int top_sample(prof_env *e, int ev, const kperf_record *rec) {
    top_state *t = (top_state *)e->priv;
    if (!t->ready && top_setup(e, t) < 0) return -1;
    uint64_t key = prof_key(e, ev, rec);
    for (int c = 0; c < t->ncol; c++)
        if (t->col[c].ev == ev &&
            kperf_keystats_add(t->col[c].ks, key, t->col[c].f ? prof_u64(t->col[c].f, rec) : 1) < 0)
            return -1;
    const char *comm = NULL;
    size_t len = 0;
    if (t->comm_f[ev] && kperf_tp_field_str(t->comm_f[ev], rec->sample.raw, rec->sample.raw_size,
                                            &comm, &len) == 0)
        top_name_set(t, key, comm, len);
    else if (!e->list->events[ev].attrs.key && !top_name_get(t, key)) {
        comm = prof_comm(e, rec->sample.pid, rec->sample.tid);
        top_name_set(t, key, comm, strlen(comm));
    }
    return 0;
}

typedef struct top_row {
    uint64_t key, sort;
} top_row;

static int top_collect(uint64_t key, const kperf_stat *s, void *user) {
    top_row **r = (top_row **)user;
    (*r)->key = key, (*r)->sort = s->sum;
    (*r)++;
    return 0;
}

static int top_row_cmp(const void *a, const void *b) {
    const top_row *x = (const top_row *)a, *y = (const top_row *)b;
    if (x->sort != y->sort) return x->sort < y->sort ? 1 : -1;
    return x->key < y->key ? -1 : x->key > y->key;
}

static void top_interval(prof_env *e, bool final) {
    top_state *t = (top_state *)e->priv;
    if (!t->ready) return;
    /* every key of every column, sorted by the sort column's sum (keys only in other
     * columns sort as 0) */
    kperf_keystats *all;
    if (kperf_keystats_new(&all, NULL) < 0) return;
    for (int c = 0; c < t->ncol; c++) kperf_keystats_merge(all, t->col[c].ks);
    size_t n = kperf_keystats_count(all);
    top_row *rows = (top_row *)calloc(n ? n : 1, sizeof *rows), *w = rows;
    if (rows) kperf_keystats_foreach(all, top_collect, &w);
    for (size_t i = 0; rows && i < n; i++) {
        const kperf_stat *s = kperf_keystats_get(t->col[t->sortcol].ks, rows[i].key);
        rows[i].sort = s ? s->sum : 0;
    }
    if (rows) qsort(rows, n, sizeof *rows, top_row_cmp);
    fprintf(e->out, "%s%12s %-16s", final ? "" : "\n", "KEY", "COMM");
    for (int c = 0; c < t->ncol; c++) fprintf(e->out, " %16s", t->col[c].name);
    fputc('\n', e->out);
    for (size_t i = 0; rows && i < n && (!t->rows || (long)i < t->rows); i++) {
        const char *nm = top_name_get(t, rows[i].key);
        fprintf(e->out, "%12llu %-16s", (unsigned long long)rows[i].key, nm ? nm : "");
        for (int c = 0; c < t->ncol; c++) {
            const kperf_stat *s = kperf_keystats_get(t->col[c].ks, rows[i].key);
            fprintf(e->out, " %16llu", (unsigned long long)(s ? s->sum : 0));
        }
        fputc('\n', e->out);
    }
    free(rows);
    kperf_keystats_free(all);
    for (int c = 0; c < t->ncol && !final; c++) kperf_keystats_reset(t->col[c].ks);
}

static void top_deinit(prof_env *e) {
    top_state *t = (top_state *)e->priv;
    if (!t) return;
    for (int c = 0; c < t->ncol; c++) kperf_keystats_free(t->col[c].ks);
    free(t->names);
}

static int top_init(prof_env *e) {
    if (e->callchain) return cli_usage_error("top", "-g is not used by top");
    return prof_refuse_than(e) ? 2 : 0;
}

static const cli_opt top_opts[] = {{'n', "rows", "N", "print at most N rows"}, {0, NULL, NULL, NULL}};

const profiler prof_top = {
    "top", "-e EVENTS [options] [-- COMMAND [ARGS...]]",
    "Key/value tables from any events: a row per key (key=FIELD, else the thread), a column\n"
    "per event (its count) or per top-by=FIELD / top-add=FIELD (the field's sum); sorted by\n"
    "the first top-by column. comm=FIELD names the key.",
    "Examples:\n"
    "  kperf top -e 'sched:sched_stat_runtime//key=pid/comm=comm/top-by=runtime/' -a -i 1000\n"
    "  kperf top -e syscalls:sys_enter_read,syscalls:sys_enter_write -- make\n"
    "  kperf top -e 'kmem:kmalloc//key=call_site/top-by=bytes_alloc/' -a -d 5\n",
    top_opts, top_opt,
    KPERF_EA_KEY | KPERF_EA_TOP_BY | KPERF_EA_TOP_ADD | KPERF_EA_COMM | KPERF_EA_ALIAS,
    true, false, sizeof(top_state), top_init, top_sample, top_interval, top_deinit};
