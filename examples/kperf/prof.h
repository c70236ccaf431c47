/* prof.h - the profiler framework of the kperf tool (perf-prof's `monitor`): events are
 * analysed in memory as they arrive, printed every interval, and discarded.
 *
 * A profiler is one file (prof_*.c) with one `const profiler` registered in prof_table
 * (prof.c). The framework parses the shared options (-e, -i, --than, -g, -m and the
 * targets -p/-t/-C/-a/-d/-o/-- CMD of the option layer), parses the events with their
 * perf-prof attributes (refusing an attribute the profiler does not use), opens one
 * sampler, and calls:
 *   (env->priv: priv_size zeroed bytes, allocated before the options are parsed)
 *   init(env)                 once: check options, set env->spec (the events) if the
 *                             profiler has built-in ones, allocate state
 *   sample(env, ev, rec)      every sample record of event index ev (kperf_sampler order)
 *   interval(env, final)      every -i MS and once at the end (final = true)
 *   deinit(env)               free the state
 * Side-band records (MMAP2, FORK) feed the symbolizer that prints stacks. */
#ifndef KPERF_PROF_H
#define KPERF_PROF_H
#include "kperf_cli.h"

typedef struct prof_env prof_env;

typedef struct profiler {
    const char *name;
    const char *usage;       /* after "kperf NAME " */
    const char *about;       /* summary and what it prints */
    const char *more;        /* examples */
    const cli_opt *opts;     /* its own options, or NULL */
    int (*opt)(prof_env *e, int key, const char *arg); /* 0, -1 (said why), 1 = not mine */
    uint32_t attrs;          /* KPERF_EA_* bits it uses */
    bool need_events;        /* -e is required */
    bool system_wide;        /* with -- CMD, trace every CPU and keep the command's tasks */
    size_t priv_size;        /* bytes of zeroed state in env->priv, before the options */
    int (*init)(prof_env *e);
    int (*sample)(prof_env *e, int ev, const kperf_record *rec);
    void (*interval)(prof_env *e, bool final);
    void (*deinit)(prof_env *e);
} profiler;

#define PROF_MAX_EVENTS 64
#define PROF_MAX_TASKS 4096
#define CLI_MAXOPTS_PROF 48

struct prof_env {
    const profiler *p;
    cli_args a;
    char spec[8192];         /* the events (-e, comma-joined), or the profiler's */
    int nspec_groups;        /* how many -e options were given (or groups a profiler set) */
    size_t spec_end[PROF_MAX_EVENTS]; /* -e number i ends at spec[spec_end[i]] */
    int ev_group[PROF_MAX_EVENTS];    /* which -e each event came from */
    long interval_ms;        /* -i; 0 = only at the end */
    uint64_t than_ns;        /* --than; 0 = off */
    bool than_set;
    bool callchain;          /* -g, or a `stack` attribute */
    long pages;              /* -m */
    uint64_t sample_fields;  /* extra kperf_sample_field bits a profiler needs (REGS_USER) */
    uint64_t regs_mask;      /* their sample_regs_user */
    uint32_t stack_user;     /* bytes of user stack with KPERF_SAMPLE_STACK_USER */
    uint64_t freq;           /* samples per second (profile); 0 = every `period` events */
    uint64_t period;         /* sample every this many events; 0 = 1 */
    bool exclude_kernel, exclude_user; /* what the events count */
    kperf_evlist *list;      /* the parsed events, sampler order */
    kperf_tracefs *tfs;
    const kperf_tp_format *fmt[PROF_MAX_EVENTS]; /* per event, NULL when not a tracepoint */
    kperf_sampler *s;
    kperf_symbolizer *sym;
    FILE *out;
    uint64_t records, lost;
    bool pids_filter;        /* init sets it: open every CPU and keep -p's tasks (their
                                threads and children) with prof_in_target */
    bool filter_tasks;       /* prof_in_target checks tasks[] */
    pid_t child;             /* the command's pid, 0 without one */
    pid_t tasks[PROF_MAX_TASKS]; /* system_wide with a command: its process tree */
    size_t ntasks;
    void *priv;              /* the profiler's state */
    uint64_t last_print;     /* CLOCK_MONOTONIC ns of the last interval */
};

int prof_main(const profiler *p, int argc, char **argv);

/* A key -> name table (tid -> comm), open addressing; zero-initialised is empty. */
typedef struct prof_names {
    struct prof_name *slot;
    size_t cap, n;
} prof_names;
/* Sets the name of @p key (at most 15 bytes of @p name, @p len bytes long). */
void prof_names_set(prof_names *t, uint64_t key, const char *name, size_t len);
/* The name of @p key, or NULL. */
const char *prof_names_get(const prof_names *t, uint64_t key);
void prof_names_free(prof_names *t);

/* The field @p name of event @p ev, or NULL. */
const kperf_tp_field *prof_field(prof_env *e, int ev, const char *name);
/* An integer field of a record (0 when absent). */
uint64_t prof_u64(const kperf_tp_field *f, const kperf_record *rec);
/* The key of a record: its event's key= field, else the thread id. */
uint64_t prof_key(prof_env *e, int ev, const kperf_record *rec);
/* The name of event @p ev (its alias when given). */
const char *prof_evname(prof_env *e, int ev);
/* The comm of a thread (sampler's, else /proc, else "<pid>"). */
const char *prof_comm(prof_env *e, uint32_t pid, uint32_t tid);
/* Whether @p pid belongs to the traced command (system_wide) or to -p (pids_filter);
 * always true otherwise. */
bool prof_in_target(prof_env *e, uint32_t pid);
/* Prints a call chain, one "    func+0xOFF (module)" line per frame, to e->out. */
void prof_print_stack(prof_env *e, uint32_t pid, const uint64_t *ips, uint32_t nips);
/* Appends "root;...;leaf" (outermost first) for a folded stack; returns its length. */
size_t prof_fold_stack(prof_env *e, uint32_t pid, const uint64_t *ips, uint32_t nips,
                       char *buf, size_t size);
/* CLOCK_MONOTONIC now, in ns (the sampler's clock). */
uint64_t prof_now(void);
/* The error for an option a profiler does not use (--than): 1 when it was given. */
int prof_refuse_than(prof_env *e);
/* "12.345 ms"-style durations. */
const char *prof_ns(uint64_t ns, char *buf, size_t size);
/* Parses "4ms", "100us", "2s", "500" (ns) into ns; -1 on error. */
int prof_parse_ns(const char *cmd, const char *s, uint64_t *out);

extern const profiler prof_top, prof_multi_trace, prof_rundelay, prof_task_state, prof_kmemleak;
extern const profiler prof_percpu_stat, prof_hrtimer, prof_sql;
extern const profiler prof_profile, prof_oncpu, prof_page_faults, prof_sched_migrate;
#endif
