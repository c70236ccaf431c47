/* kperf task-state: time per task in each state (perf-prof's task-state). From sched_switch
 * (a task leaves the CPU in its prev_state: S, D, T, I, ... or R when preempted) and
 * sched_wakeup (S/D end, the wait for the CPU in R begins) to the next switch-in.
 * Per task and state: count, total, min, avg, max; --than TIME prints each longer stay;
 * -g keeps the stack where the task left the CPU: per state, the stacks with their total
 * time (off-CPU profile), and --folded FILE writes them as folded stacks weighted in
 * microseconds for a flame graph. Traces every CPU (switch-ins happen in other tasks'
 * context); with -- COMMAND only the command's tasks are reported. */
#include "prof.h"
#include <stdlib.h>
#include <string.h>

#define TS_NSTATE 8
static const char ts_letter[TS_NSTATE] = {'R', 'S', 'D', 'T', 't', 'X', 'Z', 'I'};

typedef struct ts_stack {
    char *folded;
    uint64_t ns, count;
    int state;
} ts_stack;

typedef struct ts_state {
    kperf_pairer *pr;           /* tid -> (state, time, stack) while off the CPU */
    kperf_keystats *st;         /* tid << 8 | state -> time */
    int ev_switch, ev_wakeup, ev_wakeup_new;
    const kperf_tp_field *prev_pid, *prev_state, *next_pid, *wk_pid, *prev_comm;
    char (*comm)[16];
    ts_stack *stacks;           /* -g: the distinct folded stacks */
    size_t nstacks, capstacks;
    const char *folded_path;    /* --folded */
    bool ready;
} ts_state;

enum { TS_FOLDED = CLI_LONG_ONLY + 60 };

static int ts_opt(prof_env *e, int key, const char *arg) {
    ts_state *t = (ts_state *)e->priv;
    if (key == TS_FOLDED) return t->folded_path = arg, e->callchain = true, 0;
    return 1;
}

static int ts_init(prof_env *e) {
    if (e->spec[0]) return cli_usage_error("task-state", "task-state has its own events; no -e");
    snprintf(e->spec, sizeof e->spec,
             "sched:sched_switch,sched:sched_wakeup,sched:sched_wakeup_new");
    e->spec_end[0] = strlen(e->spec);
    e->nspec_groups = 1;
    return 0;
}

static int ts_setup(prof_env *e, ts_state *t) {
    t->ev_switch = 0, t->ev_wakeup = 1, t->ev_wakeup_new = 2;
    t->prev_pid = prof_field(e, 0, "prev_pid");
    t->prev_state = prof_field(e, 0, "prev_state");
    t->next_pid = prof_field(e, 0, "next_pid");
    t->prev_comm = prof_field(e, 0, "prev_comm");
    t->wk_pid = prof_field(e, 1, "pid");
    if (!t->prev_pid || !t->prev_state || !t->next_pid || !t->wk_pid)
        return fprintf(stderr, "kperf task-state: sched_switch/sched_wakeup lack the fields "
                       "it needs\n"), -1;
    kperf_keystats_desc d = {true};
    kperf_pairer_desc pd = {127};
    if (kperf_pairer_new(&t->pr, &pd) < 0 || kperf_keystats_new(&t->st, &d) < 0)
        return cli_fail("task-state"), -1;
    if (!(t->comm = (char (*)[16])calloc(65536, 16))) return -1;
    t->ready = true;
    return 0;
}

/* prev_state bits -> index in ts_letter (R when no bit below TASK_REPORT_MAX is set). */
static int ts_index(uint64_t st) {
    for (int i = 0; i < 7; i++)
        if (st & (1ull << i)) return i + 1;
    return 0;
}

static void ts_add_stack(prof_env *e, ts_state *t, const kperf_pair_event *st, int state,
                         uint64_t ns) {
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%s;", t->comm[st->key % 65536]);
    prof_fold_stack(e, st->pid, st->ips, st->nips, buf + n, sizeof buf - (size_t)n);
    for (size_t i = 0; i < t->nstacks; i++)
        if (t->stacks[i].state == state && !strcmp(t->stacks[i].folded, buf)) {
            t->stacks[i].ns += ns, t->stacks[i].count++;
            return;
        }
    if (t->nstacks == t->capstacks) {
        size_t nc = t->capstacks ? t->capstacks * 2 : 64;
        ts_stack *ns_ = (ts_stack *)realloc(t->stacks, nc * sizeof *ns_);
        if (!ns_) return;
        t->stacks = ns_, t->capstacks = nc;
    }
    ts_stack *s = &t->stacks[t->nstacks];
    if (!(s->folded = strdup(buf))) return;
    s->ns = ns, s->count = 1, s->state = state;
    t->nstacks++;
}

/* The stay of @p tid that began at @p st ends at @p now. */
static void ts_close(prof_env *e, ts_state *t, const kperf_pair_event *st, uint64_t now) {
    int state = (int)(st->value & 0xff);
    uint64_t ns = now >= st->time ? now - st->time : 0;
    kperf_keystats_add(t->st, st->key << 8 | (uint64_t)state, ns);
    if (e->callchain && st->nips && state != 0) ts_add_stack(e, t, st, state, ns);
    if (e->than_set && ns > e->than_ns) {
        char b[32];
        fprintf(e->out, "%llu.%06llu %s %llu %c %s\n", (unsigned long long)(now / 1000000000ull),
                (unsigned long long)(now % 1000000000ull / 1000), t->comm[st->key % 65536],
                (unsigned long long)st->key, ts_letter[state], prof_ns(ns, b, sizeof b));
        if (st->nips && state != 0) prof_print_stack(e, st->pid, st->ips, st->nips);
    }
}

static int ts_sample(prof_env *e, int ev, const kperf_record *rec) {
    ts_state *t = (ts_state *)e->priv;
    if (!t->ready && ts_setup(e, t) < 0) return -1;
    uint64_t now = rec->sample.time;
    kperf_pair_event st;
    if (ev == t->ev_switch) {
        uint64_t prev = prof_u64(t->prev_pid, rec), next = prof_u64(t->next_pid, rec);
        if (prev && prof_in_target(e, (uint32_t)prev)) {
            const char *c;
            size_t len;
            if (t->prev_comm && kperf_tp_field_str(t->prev_comm, rec->sample.raw,
                                                   rec->sample.raw_size, &c, &len) == 0)
                snprintf(t->comm[prev % 65536], 16, "%.*s", (int)(len < 15 ? len : 15), c);
            kperf_pair_event off = {prev, now, (uint64_t)ts_index(prof_u64(t->prev_state, rec)),
                                    rec->sample.pid, rec->sample.tid, rec->sample.cpu,
                                    rec->sample.nips, rec->sample.ips};
            if (kperf_pairer_start(t->pr, &off) < 0) return -1;
        }
        if (next && kperf_pairer_end(t->pr, next, &st) == 1) ts_close(e, t, &st, now);
        return 0;
    }
    /* a wake-up ends S/D/... and starts the wait in R */
    uint64_t pid = prof_u64(t->wk_pid, rec);
    if (kperf_pairer_peek(t->pr, pid, &st) != 1 || (st.value & 0xff) == 0) return 0;
    kperf_pairer_end(t->pr, pid, &st);
    ts_close(e, t, &st, now);
    kperf_pair_event r = {pid, now, 0, st.pid, st.tid, rec->sample.cpu, 0, NULL};
    return kperf_pairer_start(t->pr, &r) < 0 ? -1 : 0;
}

typedef struct ts_print {
    prof_env *e;
    ts_state *t;
} ts_print;

static int ts_row(uint64_t key, const kperf_stat *s, void *user) {
    ts_print *p = (ts_print *)user;
    char b[4][32];
    uint64_t tid = key >> 8;
    fprintf(p->e->out, "%-16s %8llu %c %8llu %12s %12s %12s %12s\n", p->t->comm[tid % 65536],
            (unsigned long long)tid, ts_letter[key & 0xff], (unsigned long long)s->count,
            prof_ns(s->sum, b[0], 32), prof_ns(s->min, b[1], 32),
            prof_ns((uint64_t)(s->mean + 0.5), b[2], 32), prof_ns(s->max, b[3], 32));
    return 0;
}

static int ts_stack_cmp(const void *a, const void *b) {
    const ts_stack *x = (const ts_stack *)a, *y = (const ts_stack *)b;
    return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : strcmp(x->folded, y->folded);
}

static void ts_interval(prof_env *e, bool final) {
    ts_state *t = (ts_state *)e->priv;
    if (!t->ready) return;
    ts_print p = {e, t};
    fprintf(e->out, "%s%-16s %8s %c %8s %12s %12s %12s %12s\n", final ? "" : "\n", "COMM", "TID",
            'S', "COUNT", "TOTAL", "MIN", "AVG", "MAX");
    kperf_keystats_foreach(t->st, ts_row, &p);
    if (!final) return kperf_keystats_reset(t->st);
    if (!t->nstacks) return;
    qsort(t->stacks, t->nstacks, sizeof *t->stacks, ts_stack_cmp);
    fprintf(e->out, "\nOff-CPU stacks (state, count, total):\n");
    for (size_t i = 0; i < t->nstacks && i < 20; i++) {
        char b[32];
        fprintf(e->out, "%c %6llu %12s %s\n", ts_letter[t->stacks[i].state],
                (unsigned long long)t->stacks[i].count, prof_ns(t->stacks[i].ns, b, sizeof b),
                t->stacks[i].folded);
    }
    if (!t->folded_path) return;
    FILE *f = cli_output("task-state", t->folded_path, stdout);
    if (!f) return;
    for (size_t i = 0; i < t->nstacks; i++)
        fprintf(f, "%s %llu\n", t->stacks[i].folded, (unsigned long long)(t->stacks[i].ns / 1000));
    if (f != stdout) fclose(f);
}

static void ts_deinit(prof_env *e) {
    ts_state *t = (ts_state *)e->priv;
    if (!t) return;
    kperf_pairer_free(t->pr);
    kperf_keystats_free(t->st);
    free(t->comm);
    for (size_t i = 0; i < t->nstacks; i++) free(t->stacks[i].folded);
    free(t->stacks);
}

static const cli_opt ts_opts[] = {
    {TS_FOLDED, "folded", "FILE", "off-CPU folded stacks, weighted in us (implies -g)"},
    {0, NULL, NULL, NULL}};

const profiler prof_task_state = {
    "task-state", "[options] [-- COMMAND [ARGS...]]",
    "Time per task in each state: R (runnable, waiting for a CPU), S (sleeping), D\n"
    "(uninterruptible), T, I ... from sched_switch and sched_wakeup. -g: the stacks where\n"
    "tasks left the CPU, with the time spent off it (off-CPU profile).",
    "Examples:\n"
    "  kperf task-state -g -- ./server             where the command slept, and how long\n"
    "  kperf task-state --folded off.folded -- make off-CPU flame graph input\n"
    "  kperf task-state -a -i 1000 --than 10ms     every task; the long stays\n",
    ts_opts, ts_opt, 0, false, true, sizeof(ts_state), ts_init, ts_sample, ts_interval,
    ts_deinit};
