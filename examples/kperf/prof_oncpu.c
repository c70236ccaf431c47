/* kperf oncpu: which tasks ran on which CPU, and for how long (perf-prof's oncpu). From
 * sched:sched_switch on every CPU: a task runs from its switch-in (next_pid) to its
 * switch-out (prev_pid) on that CPU; each stretch is added to (CPU, thread). Every -i MS
 * (and at the end) the running stretches are cut at the boundary and two tables printed:
 * per thread its run time, stretches and CPUs, then per CPU its busiest threads. With
 * -- COMMAND or -p PIDS only those tasks are kept. The idle task (0) is not shown. */
#include "prof.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct oc_cpu {
    uint64_t tid, since;
    bool known;
} oc_cpu;

typedef struct oc_state {
    oc_cpu *cpu;
    size_t ncpu;
    kperf_keystats *run;        /* cpu << 32 | tid -> run time of each stretch */
    prof_names names;           /* tid -> comm */
    const kperf_tp_field *prev_pid, *next_pid, *prev_comm, *next_comm;
    uint64_t start, last_time;  /* the first boundary; the newest record seen */
    long per_cpu;               /* --cpu-rows */
    bool ready;
} oc_state;

enum { OC_CPU_ROWS = CLI_LONG_ONLY + 90 };

static int oc_opt(prof_env *e, int key, const char *arg) {
    oc_state *t = (oc_state *)e->priv;
    if (key == OC_CPU_ROWS) return cli_parse_long("oncpu", "--cpu-rows", arg, 0, 100000, &t->per_cpu);
    return 1;
}

static int oc_init(prof_env *e) {
    oc_state *t = (oc_state *)e->priv;
    if (prof_refuse_than(e)) return 2;
    if (e->spec[0]) return cli_usage_error("oncpu", "oncpu has its own events; no -e");
    if (e->callchain) return cli_usage_error("oncpu", "-g is not used by oncpu");
    snprintf(e->spec, sizeof e->spec, "sched:sched_switch");
    e->spec_end[0] = strlen(e->spec);
    e->nspec_groups = 1;
    e->pids_filter = true;
    if (!t->per_cpu) t->per_cpu = 5;
    long n = sysconf(_SC_NPROCESSORS_CONF);
    t->ncpu = n > 0 ? (size_t)n : 1;
    if (!(t->cpu = (oc_cpu *)calloc(t->ncpu, sizeof *t->cpu)) ||
        kperf_keystats_new(&t->run, NULL) < 0)
        return fprintf(stderr, "kperf oncpu: out of memory\n"), 1;
    t->start = prof_now(); /* prof_run starts the events right after init's return */
    return 0;
}

static void oc_add(prof_env *e, oc_state *t, uint32_t cpu, uint64_t tid, uint64_t ns) {
    if (tid && prof_in_target(e, (uint32_t)tid)) kperf_keystats_add(t->run, (uint64_t)cpu << 32 | tid, ns);
}

static void oc_name(oc_state *t, const kperf_tp_field *f, const kperf_record *rec, uint64_t tid) {
    const char *c;
    size_t len;
    if (f && kperf_tp_field_str(f, rec->sample.raw, rec->sample.raw_size, &c, &len) == 0)
        prof_names_set(&t->names, tid, c, len);
}

static int oc_sample(prof_env *e, int ev, const kperf_record *rec) {
    oc_state *t = (oc_state *)e->priv;
    (void)ev;
    if (!t->ready) {
        t->prev_pid = prof_field(e, 0, "prev_pid"), t->next_pid = prof_field(e, 0, "next_pid");
        t->prev_comm = prof_field(e, 0, "prev_comm"), t->next_comm = prof_field(e, 0, "next_comm");
        if (!t->prev_pid || !t->next_pid)
            return fprintf(stderr, "kperf oncpu: sched_switch lacks prev_pid/next_pid\n"), -1;
        t->ready = true;
    }
    uint32_t c = rec->sample.cpu;
    uint64_t now = rec->sample.time, prev = prof_u64(t->prev_pid, rec), next = prof_u64(t->next_pid, rec);
    if (c >= t->ncpu) return 0;
    if (now > t->last_time) t->last_time = now;
    oc_cpu *x = &t->cpu[c];
    /* the first switch on a CPU: prev ran at least since the events started */
    uint64_t since = x->known ? x->since : t->start;
    oc_add(e, t, c, prev, now > since ? now - since : 0);
    oc_name(t, t->prev_comm, rec, prev);
    oc_name(t, t->next_comm, rec, next);
    x->tid = next, x->since = now, x->known = true;
    return 0;
}

typedef struct oc_row {
    uint64_t key, ns, runs;
} oc_row;

static int oc_collect(uint64_t key, const kperf_stat *s, void *user) {
    oc_row **r = (oc_row **)user;
    (*r)->key = key, (*r)->ns = s->sum, (*r)->runs = s->count;
    (*r)++;
    return 0;
}

static int oc_by_time(const void *a, const void *b) {
    const oc_row *x = (const oc_row *)a, *y = (const oc_row *)b;
    if (x->ns != y->ns) return x->ns < y->ns ? 1 : -1;
    return x->key < y->key ? -1 : x->key > y->key;
}

static int oc_by_cpu(const void *a, const void *b) {
    const oc_row *x = (const oc_row *)a, *y = (const oc_row *)b;
    if (x->key >> 32 != y->key >> 32) return x->key >> 32 < y->key >> 32 ? -1 : 1;
    return oc_by_time(a, b);
}

static void oc_interval(prof_env *e, bool final) {
    oc_state *t = (oc_state *)e->priv;
    /* cut the running stretches at the boundary (at the end: at the newest record) */
    uint64_t now = final ? t->last_time : prof_now();
    for (size_t c = 0; c < t->ncpu && now; c++) {
        oc_cpu *x = &t->cpu[c];
        if (!x->known || now <= x->since) continue;
        oc_add(e, t, (uint32_t)c, x->tid, now - x->since);
        x->since = now;
    }
    size_t n = kperf_keystats_count(t->run), m = 0;
    oc_row *rows = (oc_row *)calloc(n ? n : 1, sizeof *rows), *w = rows;
    oc_row *tasks = (oc_row *)calloc(n ? n : 1, sizeof *tasks);
    if (!rows || !tasks) return free(rows), free(tasks);
    kperf_keystats_foreach(t->run, oc_collect, &w);
    /* per thread: the sum over its CPUs (rows sorted by thread first) */
    for (size_t i = 0; i < n; i++) {
        uint64_t tid = rows[i].key & 0xffffffffu;
        size_t j = 0;
        while (j < m && tasks[j].key != tid) j++;
        if (j == m) tasks[m++].key = tid;
        tasks[j].ns += rows[i].ns, tasks[j].runs += rows[i].runs;
    }
    qsort(tasks, m, sizeof *tasks, oc_by_time);
    fprintf(e->out, "%s%-16s %8s %14s %8s  %s\n", final ? "" : "\n", "COMM", "TID", "RUNTIME_MS",
            "RUNS", "CPUS");
    for (size_t j = 0; j < m; j++) {
        const char *nm = prof_names_get(&t->names, tasks[j].key);
        fprintf(e->out, "%-16s %8llu %14.3f %8llu ", nm ? nm : "", (unsigned long long)tasks[j].key,
                (double)tasks[j].ns / 1e6, (unsigned long long)tasks[j].runs);
        char sep = ' ';
        for (size_t i = 0; i < n; i++)
            if ((rows[i].key & 0xffffffffu) == tasks[j].key)
                fprintf(e->out, "%c%llu", sep, (unsigned long long)(rows[i].key >> 32)), sep = ',';
        fputc('\n', e->out);
    }
    qsort(rows, n, sizeof *rows, oc_by_cpu);
    for (size_t i = 0; i < n && t->per_cpu;) {
        uint64_t c = rows[i].key >> 32;
        fprintf(e->out, "CPU %-4llu", (unsigned long long)c);
        for (long k = 0; i < n && rows[i].key >> 32 == c; i++, k++) {
            if (k >= t->per_cpu) continue;
            char b[32];
            const char *nm = prof_names_get(&t->names, rows[i].key & 0xffffffffu);
            fprintf(e->out, "%s %s:%llu %s", k ? "," : "", nm ? nm : "",
                    (unsigned long long)(rows[i].key & 0xffffffffu), prof_ns(rows[i].ns, b, sizeof b));
        }
        fputc('\n', e->out);
    }
    free(rows), free(tasks);
    if (!final) kperf_keystats_reset(t->run);
}

static void oc_deinit(prof_env *e) {
    oc_state *t = (oc_state *)e->priv;
    if (!t) return;
    free(t->cpu);
    kperf_keystats_free(t->run);
    prof_names_free(&t->names);
}

static const cli_opt oc_opts[] = {
    {OC_CPU_ROWS, "cpu-rows", "N", "threads shown per CPU (default 5, 0 = no per-CPU lines)"},
    {0, NULL, NULL, NULL}};

const profiler prof_oncpu = {
    "oncpu", "[options] [-- COMMAND [ARGS...]]",
    "Which threads ran on which CPUs, and for how long, from sched_switch on every CPU:\n"
    "per thread its run time, stretches (RUNS) and CPUs; per CPU its busiest threads.\n"
    "With -- COMMAND or -p PIDS only those tasks; the idle task is not shown.",
    "Examples:\n"
    "  kperf oncpu -a -i 1000                 every second, who ran where\n"
    "  kperf oncpu -- make -j8                the command's threads and their CPU time\n"
    "  kperf oncpu -C 0-1 --cpu-rows 3 -d 5   the 3 busiest threads of CPUs 0 and 1\n",
    oc_opts, oc_opt, 0, false, true, sizeof(oc_state), oc_init, oc_sample, oc_interval,
    oc_deinit};
