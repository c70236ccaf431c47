/* kperf multi-trace and kperf rundelay: the latency between two events joined by key
 * (perf-prof's multi-trace; rundelay is its preset for wake-up -> switch-in).
 * `-e START -e END`: every event of the first -e starts, every event of the second ends;
 * the key of each is its key=FIELD, else the thread id. Per (start, end) pair: count,
 * total, min, avg, max and percentiles from a log-linear histogram; --than TIME prints each
 * slower case with its key, times and the start's stack (`stack` attribute, or -g).
 * An `untraced` event is opened but never paired. */
#include "prof.h"
#include <stdlib.h>
#include <string.h>

typedef struct mt_state {
    kperf_pairer *pr;
    kperf_keystats *pairs;      /* (start ev << 32 | end ev) -> latency */
    kperf_keystats *per_key;    /* rundelay: task -> latency */
    char (*comm)[16];           /* rundelay: the woken task's name by pid % 65536 */
    bool ready;
} mt_state;

static bool mt_rundelay(prof_env *e) { return e->p == &prof_rundelay; }

static int mt_setup(prof_env *e, mt_state *m) {
    if (e->nspec_groups != 2)
        return fprintf(stderr, "kperf %s: give two -e: the start events, then the end events\n",
                       e->p->name), -1;
    kperf_keystats_desc d = {true};
    kperf_pairer_desc pd = {64};
    if (kperf_pairer_new(&m->pr, &pd) < 0 || kperf_keystats_new(&m->pairs, &d) < 0 ||
        kperf_keystats_new(&m->per_key, &d) < 0)
        return cli_fail(e->p->name), -1;
    if (mt_rundelay(e) && !(m->comm = (char (*)[16])calloc(65536, 16))) return -1;
    m->ready = true;
    return 0;
}

static const char *mt_name(prof_env *e, mt_state *m, uint64_t key) {
    if (m->comm && m->comm[key % 65536][0]) return m->comm[key % 65536];
    return mt_rundelay(e) ? "?" : "key";
}

static void mt_detail(prof_env *e, mt_state *m, const kperf_pair_event *st, int sev, int eev,
                      const kperf_record *rec, uint64_t lat) {
    char b[32];
    fprintf(e->out, "%llu.%06llu %s %llu %s -> %s: %s (start on CPU %u by %u, end on CPU %u "
            "by %u)\n", (unsigned long long)(rec->sample.time / 1000000000ull),
            (unsigned long long)(rec->sample.time % 1000000000ull / 1000), mt_name(e, m, st->key),
            (unsigned long long)st->key, prof_evname(e, sev), prof_evname(e, eev),
            prof_ns(lat, b, sizeof b), st->cpu, st->tid, rec->sample.cpu, rec->sample.tid);
    if (st->nips) {
        fprintf(e->out, "    %s stack:\n", prof_evname(e, sev));
        prof_print_stack(e, st->pid, st->ips, st->nips);
    }
    if (rec->sample.nips) {
        fprintf(e->out, "    %s stack:\n", prof_evname(e, eev));
        prof_print_stack(e, rec->sample.pid, rec->sample.ips, rec->sample.nips);
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

static int mt_sample(prof_env *e, int ev, const kperf_record *rec) {
    mt_state *m = (mt_state *)e->priv;
    if (!m->ready && mt_setup(e, m) < 0) return -1;
    if (e->list->events[ev].attrs.set & KPERF_EA_UNTRACED) return 0;
    uint64_t key = prof_key(e, ev, rec);
    if (e->ev_group[ev] == 0) {
        if (m->comm) mt_learn_comm(e, m, ev, rec, key);
        kperf_pair_event st = {key, rec->sample.time, (uint64_t)ev, rec->sample.pid,
                               rec->sample.tid, rec->sample.cpu, rec->sample.nips,
                               rec->sample.ips};
        return kperf_pairer_start(m->pr, &st) < 0 ? -1 : 0;
    }
    kperf_pair_event st;
    if (kperf_pairer_end(m->pr, key, &st) != 1) return 0;
    if (mt_rundelay(e) && !prof_in_target(e, (uint32_t)key)) return 0;
    uint64_t lat = rec->sample.time >= st.time ? rec->sample.time - st.time : 0;
    int sev = (int)st.value;
    if (kperf_keystats_add(m->pairs, (uint64_t)sev << 32 | (uint32_t)ev, lat) < 0) return -1;
    if (mt_rundelay(e) && kperf_keystats_add(m->per_key, key, lat) < 0) return -1;
    if (e->than_set && lat > e->than_ns) mt_detail(e, m, &st, sev, ev, rec, lat);
    return 0;
}

static void mt_row(prof_env *e, const char *label, const kperf_stat *s) {
    char t[5][32];
    fprintf(e->out, "%-40s %8llu %12s %12s %12s %12s %12s\n", label, (unsigned long long)s->count,
            prof_ns(s->sum, t[0], 32), prof_ns(s->min, t[1], 32),
            prof_ns((uint64_t)(s->mean + 0.5), t[2], 32), prof_ns(s->max, t[3], 32),
            prof_ns(kperf_stat_percentile(s, 0.99), t[4], 32));
}

typedef struct mt_print {
    prof_env *e;
    mt_state *m;
    bool by_task;
} mt_print;

static int mt_print_one(uint64_t key, const kperf_stat *s, void *user) {
    mt_print *p = (mt_print *)user;
    char label[128];
    if (p->by_task)
        snprintf(label, sizeof label, "%s %llu", mt_name(p->e, p->m, key), (unsigned long long)key);
    else
        snprintf(label, sizeof label, "%s -> %s", prof_evname(p->e, (int)(key >> 32)),
                 prof_evname(p->e, (int)(uint32_t)key));
    mt_row(p->e, label, s);
    return 0;
}

static void mt_interval(prof_env *e, bool final) {
    mt_state *m = (mt_state *)e->priv;
    if (!m->ready && mt_setup(e, m) < 0) return;
    mt_print p = {e, m, false};
    fprintf(e->out, "%s%-40s %8s %12s %12s %12s %12s %12s\n", final ? "" : "\n",
            mt_rundelay(e) ? "COMM PID" : "START -> END", "CALLS", "TOTAL", "MIN", "AVG", "MAX",
            "P99");
    if (mt_rundelay(e)) p.by_task = true, kperf_keystats_foreach(m->per_key, mt_print_one, &p);
    else kperf_keystats_foreach(m->pairs, mt_print_one, &p);
    if (!final) {
        kperf_keystats_reset(m->pairs);
        kperf_keystats_reset(m->per_key);
        return;
    }
    kperf_pairer_counts c;
    kperf_pairer_counts_read(m->pr, &c);
    fprintf(e->out, "# %llu matched, %llu starts without an end yet, %llu ends without a start\n",
            (unsigned long long)c.matched, (unsigned long long)c.pending,
            (unsigned long long)c.unmatched_end);
}

static void mt_deinit(prof_env *e) {
    mt_state *m = (mt_state *)e->priv;
    if (!m) return;
    kperf_pairer_free(m->pr);
    kperf_keystats_free(m->pairs);
    kperf_keystats_free(m->per_key);
    free(m->comm);
}

const profiler prof_multi_trace = {
    "multi-trace", "-e START -e END [options] [-- COMMAND [ARGS...]]",
    "Latency between two events joined by key: the first -e starts, the second -e ends\n"
    "(key=FIELD on each, else the thread id). A table per (start, end) pair: calls, total,\n"
    "min, avg, max, p99; --than TIME prints each slower case with the stacks (`stack`, -g).",
    "Examples:\n"
    "  kperf multi-trace -e syscalls:sys_enter_read -e syscalls:sys_exit_read -- cat f\n"
    "  kperf multi-trace -e 'uprobe:f@\"./prog\"//stack/' -e 'uretprobe:f@\"./prog\"' --than 1ms -- ./prog\n"
    "  kperf multi-trace -e 'sched:sched_wakeup//key=pid/' -e 'sched:sched_switch//key=next_pid/' -a -i 1000\n",
    NULL, NULL,
    KPERF_EA_KEY | KPERF_EA_STACK | KPERF_EA_MAX_STACK | KPERF_EA_ALIAS | KPERF_EA_UNTRACED,
    true, false, sizeof(mt_state), NULL, mt_sample, mt_interval, mt_deinit};

/* rundelay: wake-up (or preemption while runnable) -> switch-in, per task. */
static int rd_init(prof_env *e) {
    if (e->spec[0]) return cli_usage_error("rundelay", "rundelay has its own events; no -e");
    const char *start = "sched:sched_wakeup//key=pid/,sched:sched_wakeup_new//key=pid/,"
                        "sched:sched_switch/prev_state==0/key=prev_pid/alias=preempted/";
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
