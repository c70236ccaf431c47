/* kperf multi-trace and kperf rundelay: the latency between events joined by key
 * (perf-prof's multi-trace; rundelay is its preset for wake-up -> switch-in).
 * `-e A -e B [-e C ...]`: a chain. Every event of -e number i (i > 0) ends the pending
 * event of -e number i-1 with the same key, and (unless it is the last -e) starts the next
 * link; the key of each is its key=FIELD, else the thread id. Per (start, end) event pair:
 * count, total, min, avg, max and percentiles from a log-linear histogram; --than TIME
 * prints each slower case with its key, times and the stacks (`stack` attribute, or -g);
 * --heatmap FILE writes, per interval, the count of each latency bucket of each pair.
 * An `untraced` event is opened but never paired. */
#include "prof.h"
#include <stdlib.h>
#include <string.h>

enum { MT_HEATMAP = CLI_LONG_ONLY + 80 };

typedef struct mt_state {
    kperf_pairer *pr[PROF_MAX_EVENTS]; /* link i: -e number i -> i + 1 */
    int nlinks;
    const char *heat_path;      /* --heatmap */
    FILE *heat;
    uint64_t last_time;         /* the newest sample time seen (heatmap rows) */
    kperf_keystats *pairs;      /* (start ev << 32 | end ev) -> latency */
    kperf_keystats *per_key;    /* rundelay: task -> latency */
    char (*comm)[16];           /* rundelay: the woken task's name by pid % 65536 */
    bool ready;
} mt_state;

static bool mt_rundelay(prof_env *e) { return e->p == &prof_rundelay; }

static int mt_opt(prof_env *e, int key, const char *arg) {
    mt_state *m = (mt_state *)e->priv;
    if (key == MT_HEATMAP) return m->heat_path = arg, 0;
    return 1;
}

static int mt_init(prof_env *e) {
    mt_state *m = (mt_state *)e->priv;
    if (e->nspec_groups < 2)
        return fprintf(stderr, "kperf %s: give two or more -e: the start events, then the end "
                       "events (a chain: each -e ends the link of the one before)\n",
                       e->p->name), 1;
    if (m->heat_path) {
        m->heat = cli_output(e->p->name, m->heat_path, NULL);
        if (!m->heat) return 1;
        fprintf(m->heat, "# kperf %s heatmap: TIME(s) START -> END LAT_LO(ns) LAT_HI(ns) COUNT\n",
                e->p->name);
    }
    return 0;
}

static int mt_setup(prof_env *e, mt_state *m) {
    kperf_keystats_desc d = {true};
    kperf_pairer_desc pd = {64};
    m->nlinks = e->nspec_groups - 1;
    for (int i = 0; i < m->nlinks; i++)
        if (kperf_pairer_new(&m->pr[i], &pd) < 0) return cli_fail(e->p->name), -1;
    if (kperf_keystats_new(&m->pairs, &d) < 0 || kperf_keystats_new(&m->per_key, &d) < 0)
        return cli_fail(e->p->name), -1;
    if (mt_rundelay(e) && !(m->comm = (char (*)[16])calloc(65536, 16))) return -1;
    m->ready = true;
    return 0;
}

static const char *mt_name(prof_env *e, mt_state *m, uint64_t key) {
    if (m->comm && m->comm[key % 65536][0]) return m->comm[key % 65536];
    return mt_rundelay(e) ? "?" : "key";
}

/* @p en: the end (its call chain only when it was not held: read after its start). */
static void mt_detail(prof_env *e, mt_state *m, const kperf_pair_event *st, int sev, int eev,
                      const kperf_pair_event *en, uint64_t lat) {
    char b[32];
    fprintf(e->out, "%llu.%06llu %s %llu %s -> %s: %s (start on CPU %u by %u, end on CPU %u "
            "by %u)\n", (unsigned long long)(en->time / 1000000000ull),
            (unsigned long long)(en->time % 1000000000ull / 1000), mt_name(e, m, st->key),
            (unsigned long long)st->key, prof_evname(e, sev), prof_evname(e, eev),
            prof_ns(lat, b, sizeof b), st->cpu, st->tid, en->cpu, en->tid);
    if (st->nips) {
        fprintf(e->out, "    %s stack:\n", prof_evname(e, sev));
        prof_print_stack(e, st->pid, st->ips, st->nips);
    }
    if (en->nips) {
        fprintf(e->out, "    %s stack:\n", prof_evname(e, eev));
        prof_print_stack(e, en->pid, en->ips, en->nips);
    }
}

/* rundelay: the woken task's name from the start event's comm field (sched_wakeup's comm,
 * sched_switch's prev_comm). */
static void mt_learn_comm(prof_env *e, mt_state *m, int ev, const kperf_record *rec, uint64_t key) {
    const kperf_tp_field *f = prof_field(e, ev, "comm");
    if (!f) f = prof_field(e, ev, "prev_comm");
    const char *s;
    size_t len;
    if (f && kperf_tp_field_str(f, rec->sample.raw, rec->sample.raw_size, &s, &len) == 0)
        snprintf(m->comm[key % 65536], 16, "%.*s", (int)(len < 15 ? len : 15), s);
}

static int mt_end(prof_env *e, mt_state *m, int link, int ev, uint64_t key,
                  const kperf_record *rec);
static int mt_pair(prof_env *e, mt_state *m, const kperf_pair_event *st,
                   const kperf_pair_event *en);

static int mt_sample(prof_env *e, int ev, const kperf_record *rec) {
    mt_state *m = (mt_state *)e->priv;
    if (!m->ready && mt_setup(e, m) < 0) return -1;
    if (e->list->events[ev].attrs.set & KPERF_EA_UNTRACED) return 0;
    uint64_t key = prof_key(e, ev, rec);
    int g = e->ev_group[ev];
    if (rec->sample.time > m->last_time) m->last_time = rec->sample.time;
    if (g > 0 && g <= m->nlinks && mt_end(e, m, g - 1, ev, key, rec) < 0) return -1;
    if (g >= m->nlinks) return 0;
    if (m->comm) mt_learn_comm(e, m, ev, rec, key);
    kperf_pair_event st = {key, rec->sample.time, (uint64_t)ev, rec->sample.pid,
                           rec->sample.tid, rec->sample.cpu, rec->sample.nips, rec->sample.ips};
    kperf_pair_event held;
    int rc = kperf_pairer_start_at(m->pr[g], &st, &held);
    if (rc == 2) return mt_pair(e, m, &st, &held); /* its end was read first (another CPU) */
    return rc < 0 ? -1 : 0;
}

/* Event @p ev ends link @p link (its start: the pending event of the -e before, same key). */
static int mt_end(prof_env *e, mt_state *m, int link, int ev, uint64_t key,
                  const kperf_record *rec) {
    kperf_pair_event st, en = {key, rec->sample.time, (uint64_t)ev, rec->sample.pid,
                               rec->sample.tid, rec->sample.cpu, rec->sample.nips, rec->sample.ips};
    int rc = kperf_pairer_end_at(m->pr[link], &en, &st); /* 0: held until its start is read */
    return rc == 1 ? mt_pair(e, m, &st, &en) : rc < 0 ? -1 : 0;
}

/* A start and its end: the latency into the tables, the slow ones in detail. */
static int mt_pair(prof_env *e, mt_state *m, const kperf_pair_event *st,
                   const kperf_pair_event *en) {
    if (mt_rundelay(e) && !prof_in_target(e, (uint32_t)st->key)) return 0;
    uint64_t lat = en->time >= st->time ? en->time - st->time : 0;
    int sev = (int)st->value, ev = (int)en->value;
    if (kperf_keystats_add(m->pairs, (uint64_t)sev << 32 | (uint32_t)ev, lat) < 0) return -1;
    if (mt_rundelay(e) && kperf_keystats_add(m->per_key, st->key, lat) < 0) return -1;
    if (e->than_set && lat > e->than_ns) mt_detail(e, m, st, sev, ev, en, lat);
    return 0;
}

static void mt_row(prof_env *e, const char *label, const kperf_stat *s) {
    char t[5][32];
    fprintf(e->out, "%-40s %8llu %12s %12s %12s %12s %12s\n", label, (unsigned long long)s->count,
            prof_ns(s->sum, t[0], 32), prof_ns(s->min, t[1], 32),
            prof_ns((uint64_t)(s->mean + 0.5), t[2], 32), prof_ns(s->max, t[3], 32),
            prof_ns(kperf_stat_percentile(s, 0.99), t[4], 32));
}

typedef struct mt_row_ref {
    uint64_t key;
    const kperf_stat *s;
} mt_row_ref;

typedef struct mt_rows {
    mt_row_ref *v;
    size_t n, cap;
} mt_rows;

static int mt_collect(uint64_t key, const kperf_stat *s, void *user) {
    mt_rows *r = (mt_rows *)user;
    if (r->n == r->cap) {
        size_t nc = r->cap ? r->cap * 2 : 64;
        mt_row_ref *nv = (mt_row_ref *)realloc(r->v, nc * sizeof *nv);
        if (!nv) return -1;
        r->v = nv, r->cap = nc;
    }
    r->v[r->n].key = key, r->v[r->n].s = s;
    r->n++;
    return 0;
}

/* Event pairs in chain order: by start event, then end event. */
static int mt_by_key(const void *a, const void *b) {
    uint64_t x = ((const mt_row_ref *)a)->key, y = ((const mt_row_ref *)b)->key;
    return x < y ? -1 : x > y;
}

static void mt_label(prof_env *e, mt_state *m, bool by_task, uint64_t key, char *buf, size_t size) {
    if (by_task)
        snprintf(buf, size, "%s %llu", mt_name(e, m, key), (unsigned long long)key);
    else
        snprintf(buf, size, "%s -> %s", prof_evname(e, (int)(key >> 32)),
                 prof_evname(e, (int)(uint32_t)key));
}

/* --heatmap: one line per non-empty latency bucket of each event pair of this interval. */
static void mt_heat(prof_env *e, mt_state *m, const mt_rows *r) {
    for (size_t i = 0; i < r->n; i++) {
        const kperf_stat *s = r->v[i].s;
        char label[128];
        mt_label(e, m, false, r->v[i].key, label, sizeof label);
        for (uint32_t b = 0; s->hist && b < KPERF_HIST_BUCKETS; b++) {
            if (!s->hist[b]) continue;
            uint64_t lo = kperf_hist_bucket_lo(b), hi = kperf_hist_bucket_lo(b + 1);
            fprintf(m->heat, "%llu.%06llu %s %llu %llu %u\n",
                    (unsigned long long)(m->last_time / 1000000000ull),
                    (unsigned long long)(m->last_time % 1000000000ull / 1000), label,
                    (unsigned long long)lo, (unsigned long long)(hi == UINT64_MAX ? hi : hi - 1),
                    s->hist[b]);
        }
    }
    fflush(m->heat);
}

static void mt_interval(prof_env *e, bool final) {
    mt_state *m = (mt_state *)e->priv;
    if (!m->ready && mt_setup(e, m) < 0) return;
    bool by_task = mt_rundelay(e);
    fprintf(e->out, "%s%-40s %8s %12s %12s %12s %12s %12s\n", final ? "" : "\n",
            by_task ? "COMM PID" : "START -> END", "CALLS", "TOTAL", "MIN", "AVG", "MAX", "P99");
    mt_rows r = {NULL, 0, 0};
    kperf_keystats_foreach(by_task ? m->per_key : m->pairs, mt_collect, &r);
    if (r.n) qsort(r.v, r.n, sizeof *r.v, mt_by_key);
    for (size_t i = 0; i < r.n; i++) {
        char label[128];
        mt_label(e, m, by_task, r.v[i].key, label, sizeof label);
        mt_row(e, label, r.v[i].s);
    }
    if (m->heat) {
        r.n = 0;
        kperf_keystats_foreach(m->pairs, mt_collect, &r);
        if (r.n) qsort(r.v, r.n, sizeof *r.v, mt_by_key);
        mt_heat(e, m, &r);
    }
    free(r.v);
    if (!final) {
        kperf_keystats_reset(m->pairs);
        kperf_keystats_reset(m->per_key);
        return;
    }
    kperf_pairer_counts c, sum;
    memset(&sum, 0, sizeof sum);
    for (int i = 0; i < m->nlinks; i++) {
        kperf_pairer_counts_read(m->pr[i], &c);
        sum.matched += c.matched, sum.pending += c.pending;
        sum.unmatched_end += c.unmatched_end + c.held; /* held: their start never came */
    }
    fprintf(e->out, "# %llu matched, %llu starts without an end yet, %llu ends without a start\n",
            (unsigned long long)sum.matched, (unsigned long long)sum.pending,
            (unsigned long long)sum.unmatched_end);
}

static void mt_deinit(prof_env *e) {
    mt_state *m = (mt_state *)e->priv;
    if (!m) return;
    for (int i = 0; i < m->nlinks; i++) kperf_pairer_free(m->pr[i]);
    kperf_keystats_free(m->pairs);
    kperf_keystats_free(m->per_key);
    free(m->comm);
    if (m->heat) fclose(m->heat);
}

static const cli_opt mt_opts[] = {
    {MT_HEATMAP, "heatmap", "FILE", "per interval, the count of each latency bucket of each "
                                    "event pair: TIME START -> END LO HI COUNT lines"},
    {0, NULL, NULL, NULL}};

const profiler prof_multi_trace = {
    "multi-trace", "-e START -e END [-e NEXT ...] [options] [-- COMMAND [ARGS...]]",
    "Latency between events joined by key: the first -e starts, the second -e ends; more\n"
    "-e make a chain A -> B -> C (each -e ends the link of the one before and starts the\n"
    "next). The key is key=FIELD on each event, else the thread id. A table per (start,\n"
    "end) event pair: calls, total, min, avg, max, p99; --than TIME prints each slower case\n"
    "with the stacks (`stack`, -g); --heatmap FILE writes the latency histogram of every\n"
    "interval (-i) as TIME START -> END LAT_LO LAT_HI COUNT lines (ns).",
    "Examples:\n"
    "  kperf multi-trace -e syscalls:sys_enter_read -e syscalls:sys_exit_read -- cat f\n"
    "  kperf multi-trace -e 'uprobe:f@\"./prog\"//stack/' -e 'uretprobe:f@\"./prog\"' --than 1ms -- ./prog\n"
    "  kperf multi-trace -e 'sched:sched_wakeup//key=pid/' -e 'sched:sched_switch//key=next_pid/' -a -i 1000\n"
    "  kperf multi-trace -e syscalls:sys_enter_getpid -e syscalls:sys_enter_getppid \\\n"
    "        -e syscalls:sys_enter_gettid --heatmap heat.txt -i 1000 -- ./prog\n",
    mt_opts, mt_opt,
    KPERF_EA_KEY | KPERF_EA_STACK | KPERF_EA_MAX_STACK | KPERF_EA_ALIAS | KPERF_EA_UNTRACED,
    true, false, sizeof(mt_state), mt_init, mt_sample, mt_interval, mt_deinit};

/* rundelay: wake-up (or preemption while runnable) -> switch-in, per task. A task that left
 * the CPU runnable has prev_state 0 (it yielded) or, preempted, TASK_REPORT_MAX (256 since
 * Linux 4.14, which perf prints as R+). */
static int rd_init(prof_env *e) {
    if (e->spec[0]) return cli_usage_error("rundelay", "rundelay has its own events; no -e");
    const char *start = "sched:sched_wakeup//key=pid/,sched:sched_wakeup_new//key=pid/,"
                        "sched:sched_switch/prev_state==0 || prev_state>=256/key=prev_pid/"
                        "alias=preempted/";
    snprintf(e->spec, sizeof e->spec, "%s,sched:sched_switch//key=next_pid/alias=switch-in/", start);
    e->spec_end[0] = strlen(start);
    e->spec_end[1] = strlen(e->spec);
    e->nspec_groups = 2;
    return 0;
}

const profiler prof_rundelay = {
    "rundelay", "[options] [-- COMMAND [ARGS...]]",
    "Run delay per task: from its wake-up (sched_wakeup, sched_wakeup_new) or preemption\n"
    "while runnable (sched_switch with prev_state R) to its switch-in (sched_switch\n"
    "next_pid). Traces every CPU; with -- COMMAND it reports the command's tasks only.",
    "Examples:\n"
    "  kperf rundelay -- ./server           the command's tasks\n"
    "  kperf rundelay -a -i 1000 --than 4ms every task, every second, the slow cases\n",
    NULL, NULL, KPERF_EA_KEY | KPERF_EA_ALIAS, false, true, sizeof(mt_state), rd_init, mt_sample,
    mt_interval, mt_deinit};
