/* kperf percpu-stat: per-CPU counts of the given events, per interval (perf-prof's
 * percpu-stat). Every record of event i on CPU c adds one to cell (c, i): the counts are
 * exact (every tracepoint hit is a record). The rows are the CPUs traced (-C), else every
 * online CPU, zeros included; with -i each table counts that interval only. */
#include "prof.h"
#include <stdlib.h>
#include <string.h>

typedef struct pc_state {
    int *cpus;              /* the rows, ascending */
    size_t ncpus;
    int maxcpu;             /* counts are indexed by CPU number up to this */
    uint64_t *counts;       /* (maxcpu + 1) x nevents */
    uint64_t other;         /* records from a CPU beyond maxcpu (hot-plugged): counted here */
    size_t nev;
} pc_state;

static int pc_cmp(const void *a, const void *b) {
    return *(const int *)a - *(const int *)b;
}

static int pc_setup(prof_env *e, pc_state *p) {
    if (p->counts) return 0;
    p->nev = e->list->nevents;
    if (e->a.ncpus) {
        p->ncpus = e->a.ncpus;
        if (!(p->cpus = (int *)malloc(p->ncpus * sizeof *p->cpus))) return -1;
        memcpy(p->cpus, e->a.cpus, p->ncpus * sizeof *p->cpus);
    } else {
        kperf_topology *t;
        if (kperf_topology_open(&t, NULL) < 0) return cli_fail(e->p->name), -1;
        const int *on = kperf_topology_cpus(t, &p->ncpus);
        p->cpus = (int *)malloc((p->ncpus ? p->ncpus : 1) * sizeof *p->cpus);
        if (p->cpus && p->ncpus) memcpy(p->cpus, on, p->ncpus * sizeof *p->cpus);
        kperf_topology_close(t);
        if (!p->cpus) return -1;
    }
    qsort(p->cpus, p->ncpus, sizeof *p->cpus, pc_cmp);
    p->maxcpu = p->ncpus ? p->cpus[p->ncpus - 1] : 0;
    p->counts = (uint64_t *)calloc(((size_t)p->maxcpu + 1) * p->nev, sizeof *p->counts);
    return p->counts ? 0 : (fprintf(stderr, "kperf %s: out of memory\n", e->p->name), -1);
}

static int pc_sample(prof_env *e, int ev, const kperf_record *rec) {
    pc_state *p = (pc_state *)e->priv;
    if (pc_setup(e, p) < 0) return -1;
    if (rec->sample.cpu > (uint32_t)p->maxcpu) return p->other++, 0;
    p->counts[(size_t)rec->sample.cpu * p->nev + (size_t)ev]++;
    return 0;
}

static void pc_interval(prof_env *e, bool final) {
    pc_state *p = (pc_state *)e->priv;
    if (pc_setup(e, p) < 0) return;
    int w[PROF_MAX_EVENTS];
    if (!final) fputc('\n', e->out);
    fprintf(e->out, "%4s", "CPU");
    for (size_t i = 0; i < p->nev; i++) {
        const char *n = prof_evname(e, (int)i);
        w[i] = (int)strlen(n) > 12 ? (int)strlen(n) : 12;
        fprintf(e->out, " %*s", w[i], n);
    }
    fputc('\n', e->out);
    for (size_t r = 0; r < p->ncpus; r++) {
        fprintf(e->out, "%4d", p->cpus[r]);
        for (size_t i = 0; i < p->nev; i++)
            fprintf(e->out, " %*llu", w[i],
                    (unsigned long long)p->counts[(size_t)p->cpus[r] * p->nev + i]);
        fputc('\n', e->out);
    }
    if (p->other)
        fprintf(e->out, "# %llu records from CPUs beyond %d (brought online since the start)\n",
                (unsigned long long)p->other, p->maxcpu);
    memset(p->counts, 0, ((size_t)p->maxcpu + 1) * p->nev * sizeof *p->counts);
    p->other = 0;
}

static void pc_deinit(prof_env *e) {
    pc_state *p = (pc_state *)e->priv;
    if (!p) return;
    free(p->cpus);
    free(p->counts);
}

static int pc_init(prof_env *e) {
    if (e->callchain) return cli_usage_error("percpu-stat", "-g is not used by percpu-stat");
    return prof_refuse_than(e) ? 2 : 0;
}

const profiler prof_percpu_stat = {
    "percpu-stat", "-e EVENTS [options] [-- COMMAND [ARGS...]]",
    "Per-CPU counts of the given events: a row per CPU (the -C list, else every online CPU),\n"
    "a column per event (its alias= when given); with -i MS a table per interval, counting\n"
    "that interval only. Counts are exact: every event is a record read in memory.",
    "Examples:\n"
    "  kperf percpu-stat -e sched:sched_switch,irq:softirq_entry -a -i 1000\n"
    "  kperf percpu-stat -e 'sched:sched_wakeup//alias=wakeups/' -C 0-3 -d 5\n"
    "  kperf percpu-stat -e syscalls:sys_enter_getpid -- taskset -c 1 ./prog\n",
    NULL, NULL, KPERF_EA_ALIAS, true, false, sizeof(pc_state), pc_init, pc_sample, pc_interval,
    pc_deinit};
