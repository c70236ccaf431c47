/* kperf sched-migrate: task migrations between CPUs (perf-prof's sched-migrate), from
 * sched:sched_migrate_task. A migration is reported in the context of whoever moves the
 * task (the CPU's stopper thread for an affinity change, the load balancer, a waker), so
 * it traces every CPU and keeps the migrated task's pid field: with -- COMMAND its tasks,
 * with -p PIDS those processes' threads. Per task (or per key=FIELD): the migrations and
 * the CPU moves; --detail prints each one, -g with the stack that moved it. */
#include "prof.h"
#include <stdlib.h>
#include <string.h>

typedef struct sm_state {
    kperf_keystats *per_key;    /* key (pid field or key=) -> migrations */
    kperf_keystats *moves;      /* orig_cpu << 32 | dest_cpu -> migrations */
    prof_names names;           /* pid -> comm */
    const kperf_tp_field *pid, *orig, *dest, *comm, *key;
    bool detail, ready;
    uint64_t total;
} sm_state;

enum { SM_DETAIL = CLI_LONG_ONLY + 70 };

static int sm_opt(prof_env *e, int key, const char *arg) {
    sm_state *t = (sm_state *)e->priv;
    (void)arg;
    if (key == SM_DETAIL) return t->detail = true, 0;
    return 1;
}

static int sm_init(prof_env *e) {
    if (prof_refuse_than(e)) return 2;
    if (!e->spec[0]) {
        snprintf(e->spec, sizeof e->spec, "sched:sched_migrate_task");
        e->spec_end[0] = strlen(e->spec);
        e->nspec_groups = 1;
    } else if (e->nspec_groups != 1 || strncmp(e->spec, "sched:sched_migrate_task", 24) ||
               (e->spec[24] && e->spec[24] != '/')) {
        return cli_usage_error("sched-migrate", "-e takes sched:sched_migrate_task with a filter "
                               "and attributes, once");
    }
    e->pids_filter = true;
    return 0;
}

static int sm_setup(prof_env *e, sm_state *t) {
    t->pid = prof_field(e, 0, "pid");
    t->orig = prof_field(e, 0, "orig_cpu");
    t->dest = prof_field(e, 0, "dest_cpu");
    t->comm = prof_field(e, 0, "comm");
    const char *k = e->list->events[0].attrs.key;
    t->key = k ? prof_field(e, 0, k) : NULL;
    if (!t->pid || !t->orig || !t->dest)
        return fprintf(stderr, "kperf sched-migrate: sched_migrate_task lacks pid, orig_cpu or "
                       "dest_cpu\n"), -1;
    if (kperf_keystats_new(&t->per_key, NULL) < 0 || kperf_keystats_new(&t->moves, NULL) < 0)
        return cli_fail("sched-migrate"), -1;
    t->ready = true;
    return 0;
}

static int sm_sample(prof_env *e, int ev, const kperf_record *rec) {
    sm_state *t = (sm_state *)e->priv;
    if (!t->ready && sm_setup(e, t) < 0) return -1;
    (void)ev;
    uint64_t pid = prof_u64(t->pid, rec);
    if (!prof_in_target(e, (uint32_t)pid)) return 0;
    uint64_t orig = prof_u64(t->orig, rec) & 0xffffffffu, dest = prof_u64(t->dest, rec) & 0xffffffffu;
    const char *c = NULL;
    size_t len = 0;
    if (t->comm && kperf_tp_field_str(t->comm, rec->sample.raw, rec->sample.raw_size, &c, &len) == 0)
        prof_names_set(&t->names, pid, c, len);
    uint64_t key = t->key ? prof_u64(t->key, rec) : pid;
    if (kperf_keystats_add(t->per_key, key, 1) < 0 || kperf_keystats_add(t->moves, orig << 32 | dest, 1) < 0)
        return -1;
    t->total++;
    if (!t->detail) return 0;
    const char *nm = prof_names_get(&t->names, pid);
    fprintf(e->out, "%llu.%06llu %-16s %8llu cpu %llu -> %llu  (by %s %u on cpu %u)\n",
            (unsigned long long)(rec->sample.time / 1000000000ull),
            (unsigned long long)(rec->sample.time % 1000000000ull / 1000), nm ? nm : "",
            (unsigned long long)pid, (unsigned long long)orig, (unsigned long long)dest,
            prof_comm(e, rec->sample.pid, rec->sample.tid), rec->sample.tid, rec->sample.cpu);
    if (rec->sample.nips) prof_print_stack(e, rec->sample.pid, rec->sample.ips, rec->sample.nips);
    return 0;
}

typedef struct sm_row {
    uint64_t key, n;
} sm_row;

static int sm_collect(uint64_t key, const kperf_stat *s, void *user) {
    sm_row **r = (sm_row **)user;
    (*r)->key = key, (*r)->n = s->count;
    (*r)++;
    return 0;
}

static int sm_row_cmp(const void *a, const void *b) {
    const sm_row *x = (const sm_row *)a, *y = (const sm_row *)b;
    if (x->n != y->n) return x->n < y->n ? 1 : -1;
    return x->key < y->key ? -1 : x->key > y->key;
}

/* The rows of @p ks, most migrations first; NULL when empty or out of memory. */
static sm_row *sm_rows(const kperf_keystats *ks, size_t *n) {
    *n = kperf_keystats_count(ks);
    sm_row *rows = (sm_row *)calloc(*n ? *n : 1, sizeof *rows), *w = rows;
    if (!rows) return *n = 0, (sm_row *)NULL;
    kperf_keystats_foreach(ks, sm_collect, &w);
    qsort(rows, *n, sizeof *rows, sm_row_cmp);
    return rows;
}

static void sm_interval(prof_env *e, bool final) {
    sm_state *t = (sm_state *)e->priv;
    if (!t->ready) {
        fprintf(e->out, "%s0 migrations\n", final ? "" : "\n");
        return;
    }
    size_t n;
    sm_row *rows = sm_rows(t->per_key, &n);
    const char *kname = t->key ? e->list->events[0].attrs.key : "PID";
    fprintf(e->out, "%s%llu migrations\n%-16s %12s %10s\n", final ? "" : "\n",
            (unsigned long long)t->total, t->key ? "" : "COMM", kname, "MIGRATIONS");
    for (size_t i = 0; i < n; i++) {
        const char *nm = t->key ? "" : prof_names_get(&t->names, rows[i].key);
        fprintf(e->out, "%-16s %12llu %10llu\n", nm ? nm : "", (unsigned long long)rows[i].key,
                (unsigned long long)rows[i].n);
    }
    free(rows);
    rows = sm_rows(t->moves, &n);
    fprintf(e->out, "%8s %8s %10s\n", "FROM", "TO", "MIGRATIONS");
    for (size_t i = 0; i < n; i++)
        fprintf(e->out, "%8llu %8llu %10llu\n", (unsigned long long)(rows[i].key >> 32),
                (unsigned long long)(rows[i].key & 0xffffffffu), (unsigned long long)rows[i].n);
    free(rows);
    if (!final) kperf_keystats_reset(t->per_key), kperf_keystats_reset(t->moves), t->total = 0;
}

static void sm_deinit(prof_env *e) {
    sm_state *t = (sm_state *)e->priv;
    if (!t) return;
    kperf_keystats_free(t->per_key);
    kperf_keystats_free(t->moves);
    prof_names_free(&t->names);
}

static const cli_opt sm_opts[] = {
    {SM_DETAIL, "detail", NULL, "print each migration (with -g, the stack that moved it)"},
    {0, NULL, NULL, NULL}};

const profiler prof_sched_migrate = {
    "sched-migrate", "[options] [-- COMMAND [ARGS...]]",
    "Task migrations between CPUs, from sched:sched_migrate_task: per task (or per key=FIELD\n"
    "of -e 'sched:sched_migrate_task/FILTER/key=FIELD/') the migrations, and the moves from\n"
    "CPU to CPU. Traces every CPU (a task is moved by others: the stopper thread, the load\n"
    "balancer, a waker) and keeps the tasks of -- COMMAND or -p PIDS.",
    "Examples:\n"
    "  kperf sched-migrate -- ./server                 how often the command moved\n"
    "  kperf sched-migrate -a -i 1000                  every task, every second\n"
    "  kperf sched-migrate --detail -g -p 1234         each move of 1234 and who made it\n"
    "  kperf sched-migrate -e 'sched:sched_migrate_task/prio<100/key=dest_cpu/' -a -d 5\n",
    sm_opts, sm_opt, KPERF_EA_KEY | KPERF_EA_STACK | KPERF_EA_MAX_STACK, false, true,
    sizeof(sm_state), sm_init, sm_sample, sm_interval, sm_deinit};
