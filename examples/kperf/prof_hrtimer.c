/* kperf hrtimer: conditional sampling (perf-prof's hrtimer). A clock event samples every
 * --period of CPU time: cpu-clock on each traced CPU (-C, -a), task-clock on the traced
 * tasks (-p, -- COMMAND). A tick is reported only when none of the -e events happened in
 * its window (since the previous tick of the same CPU, or of the same thread when tasks
 * are traced): "this CPU ran PERIOD without a context switch", "this thread spun PERIOD
 * without a syscall". With -g each report carries the stack the tick interrupted. */
#include "prof.h"
#include <stdlib.h>
#include <string.h>

enum { HT_PERIOD = CLI_LONG_ONLY + 90 };

typedef struct ht_key {
    uint64_t key;
    uint64_t events;        /* -e events since the key's last tick */
    bool used;
} ht_key;

typedef struct ht_state {
    uint64_t period;        /* ns of CPU time between ticks */
    bool per_cpu;           /* key = CPU (cpu-clock), else = thread (task-clock) */
    ht_key *keys;           /* open addressing */
    size_t cap, n;
    uint64_t ticks, reports, ticks_all, reports_all;
} ht_state;

static int ht_opt(prof_env *e, int key, const char *arg) {
    ht_state *h = (ht_state *)e->priv;
    if (key == HT_PERIOD) {
        if (prof_parse_ns(e->p->name, arg, &h->period) < 0) return -1;
        if (h->period < 10000 || h->period > 60000000000ull)
            return fprintf(stderr, "kperf hrtimer: --period %s: from 10us to 60s\n", arg), -1;
        return 0;
    }
    return 1;
}

/* Prepends the clock event to the -e events as group 0. */
static int ht_init(prof_env *e) {
    ht_state *h = (ht_state *)e->priv;
    if (prof_refuse_than(e)) return 2;
    if (!h->period) h->period = 10000000; /* 10 ms */
    h->per_cpu = e->a.all_cpus || e->a.ncpus;
    if (e->nspec_groups >= PROF_MAX_EVENTS) return cli_usage_error("hrtimer", "too many -e");
    char clock[96];
    snprintf(clock, sizeof clock, "software/config=%d,period=%llu/", h->per_cpu ? 0 : 1,
             (unsigned long long)h->period);
    size_t cl = strlen(clock), sl = strlen(e->spec);
    if (cl + 1 + sl >= sizeof e->spec) return cli_usage_error("hrtimer", "event list too long");
    memmove(e->spec + cl + 1, e->spec, sl + 1);
    memcpy(e->spec, clock, cl);
    e->spec[cl] = ',';
    for (int g = e->nspec_groups; g > 0; g--) e->spec_end[g] = e->spec_end[g - 1] + cl + 1;
    e->spec_end[0] = cl;
    e->nspec_groups++;
    return 0;
}

static ht_key *ht_find(ht_state *h, uint64_t key) {
    if ((h->n + 1) * 2 > h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 64;
        ht_key *nk = (ht_key *)calloc(nc, sizeof *nk);
        if (!nk) return NULL;
        for (size_t i = 0; i < h->cap; i++) {
            if (!h->keys[i].used) continue;
            size_t j = (size_t)(h->keys[i].key * 0x9e3779b97f4a7c15ull >> 20) & (nc - 1);
            while (nk[j].used) j = (j + 1) & (nc - 1);
            nk[j] = h->keys[i];
        }
        free(h->keys);
        h->keys = nk, h->cap = nc;
    }
    size_t j = (size_t)(key * 0x9e3779b97f4a7c15ull >> 20) & (h->cap - 1);
    while (h->keys[j].used && h->keys[j].key != key) j = (j + 1) & (h->cap - 1);
    if (!h->keys[j].used) h->keys[j].used = true, h->keys[j].key = key, h->n++;
    return &h->keys[j];
}

static int ht_sample(prof_env *e, int ev, const kperf_record *rec) {
    ht_state *h = (ht_state *)e->priv;
    ht_key *k = ht_find(h, h->per_cpu ? rec->sample.cpu : rec->sample.tid);
    if (!k) return fprintf(stderr, "kperf hrtimer: out of memory\n"), -1;
    if (e->ev_group[ev] != 0) return k->events++, 0;
    h->ticks++;
    bool quiet = k->events == 0;
    k->events = 0;
    if (!quiet || !rec->sample.tid || !prof_in_target(e, rec->sample.pid)) return 0; /* idle */
    h->reports++;
    char b[32];
    fprintf(e->out, "%llu.%06llu CPU %u %s %u/%u: no event in %s\n",
            (unsigned long long)(rec->sample.time / 1000000000ull),
            (unsigned long long)(rec->sample.time % 1000000000ull / 1000), rec->sample.cpu,
            prof_comm(e, rec->sample.pid, rec->sample.tid), rec->sample.pid, rec->sample.tid,
            prof_ns(h->period, b, sizeof b));
    if (rec->sample.nips) prof_print_stack(e, rec->sample.pid, rec->sample.ips, rec->sample.nips);
    return 0;
}

static void ht_interval(prof_env *e, bool final) {
    ht_state *h = (ht_state *)e->priv;
    h->ticks_all += h->ticks, h->reports_all += h->reports;
    if (!final)
        fprintf(e->out, "# %llu ticks, %llu without events\n", (unsigned long long)h->ticks,
                (unsigned long long)h->reports);
    else
        fprintf(e->out, "# %llu ticks of %s, %llu without events (in all)\n",
                (unsigned long long)h->ticks_all, h->per_cpu ? "cpu-clock" : "task-clock",
                (unsigned long long)h->reports_all);
    h->ticks = h->reports = 0;
}

static void ht_deinit(prof_env *e) {
    ht_state *h = (ht_state *)e->priv;
    if (h) free(h->keys);
}

static const cli_opt ht_opts[] = {
    {HT_PERIOD, "period", "TIME", "CPU time between ticks (default 10ms; 10us .. 60s)"},
    {0, NULL, NULL, NULL}};

const profiler prof_hrtimer = {
    "hrtimer", "-e EVENTS [--period TIME] [options] [-- COMMAND [ARGS...]]",
    "Conditional sampling: a clock ticks every --period of CPU time (cpu-clock per CPU with\n"
    "-C/-a, task-clock per thread otherwise) and a tick is printed only when none of the -e\n"
    "events happened since the previous tick of its CPU (thread): with -g, the stack that\n"
    "ran PERIOD without them (idle ticks are not reported). The last line counts the\n"
    "ticks and the reports.",
    "Examples:\n"
    "  kperf hrtimer -e sched:sched_switch --period 50ms -C 1 -g\n"
    "      stacks of CPU 1 running one task 50 ms without a context switch\n"
    "  kperf hrtimer -e 'raw_syscalls:sys_enter' --period 20ms -g -- ./server\n"
    "      where the server's threads spin 20 ms without a syscall\n",
    ht_opts, ht_opt, KPERF_EA_STACK | KPERF_EA_MAX_STACK | KPERF_EA_ALIAS, true, false,
    sizeof(ht_state), ht_init, ht_sample, ht_interval, ht_deinit};
