/* prof.c - the profiler framework (see prof.h) and its registry. */
#define _GNU_SOURCE 1
#include "prof.h"
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The registry: one entry per profiler file. */
static const profiler *const prof_table[] = {&prof_top, &prof_multi_trace, &prof_rundelay, &prof_task_state,
                                             &prof_kmemleak,
                                             &prof_percpu_stat, &prof_hrtimer, &prof_sql,
                                             &prof_sched_migrate, &prof_profile, &prof_oncpu,
                                             &prof_page_faults,
                                             };
#define NPROF (sizeof prof_table / sizeof prof_table[0])

enum { O_THAN = CLI_LONG_ONLY + 40 };

static const cli_opt prof_common_opts[] = {
    {'e', "event", "EVENTS", "sys:name[/filter/ATTR/.../], uprobe:func@\"file\" (repeatable)"},
    {'i', "interval", "MS", "print every MS milliseconds (default: once, at the end)"},
    {'g', "call-graph", NULL, "record call chains (as the `stack` attribute on every event)"},
    {'m', "mmap-pages", "PAGES", "ring pages per CPU, a power of two (default 256)"},
    {O_THAN, "than", "TIME", "details of the cases slower than TIME (100us, 4ms, 1s)"},
    {0, NULL, NULL, NULL}};

uint64_t prof_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

int prof_refuse_than(prof_env *e) {
    if (!e->than_set) return 0;
    return cli_usage_error(e->p->name, "--than is not used by this profiler");
}

int prof_parse_ns(const char *cmd, const char *s, uint64_t *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    double mul = 1;
    if (!strcmp(end, "s")) mul = 1e9;
    else if (!strcmp(end, "ms")) mul = 1e6;
    else if (!strcmp(end, "us")) mul = 1e3;
    else if (!strcmp(end, "ns") || !*end) mul = 1;
    else end = NULL;
    if (errno || end == s || !end || v < 0 || v * mul > 1e18) {
        fprintf(stderr, "kperf %s: bad time '%s' (a number with ns, us, ms or s)\n", cmd, s);
        return -1;
    }
    *out = (uint64_t)(v * mul + 0.5);
    return 0;
}

const char *prof_ns(uint64_t ns, char *buf, size_t size) {
    if (ns >= 1000000000ull) snprintf(buf, size, "%.3f s", (double)ns / 1e9);
    else if (ns >= 1000000ull) snprintf(buf, size, "%.3f ms", (double)ns / 1e6);
    else if (ns >= 1000ull) snprintf(buf, size, "%.3f us", (double)ns / 1e3);
    else snprintf(buf, size, "%llu ns", (unsigned long long)ns);
    return buf;
}

static int prof_opt(int key, const char *arg, void *user) {
    prof_env *e = (prof_env *)user;
    const char *cmd = e->p->name;
    if (key == 'e') {
        if (e->nspec_groups >= PROF_MAX_EVENTS)
            return fprintf(stderr, "kperf %s: event list too long\n", cmd), -1;
        if (cli_append_list(cmd, "event", e->spec, sizeof e->spec, arg) < 0) return -1;
        e->spec_end[e->nspec_groups++] = strlen(e->spec);
        return 0;
    }
    if (key == 'i') return cli_parse_long(cmd, "-i/--interval", arg, 1, 86400000, &e->interval_ms);
    if (key == 'g') return e->callchain = true, 0;
    if (key == 'm') return cli_parse_long(cmd, "-m/--mmap-pages", arg, 1, 1 << 20, &e->pages);
    if (key == O_THAN) return e->than_set = true, prof_parse_ns(cmd, arg, &e->than_ns);
    return e->p->opt ? e->p->opt(e, key, arg) : 1;
}

const kperf_tp_field *prof_field(prof_env *e, int ev, const char *name) {
    if (ev < 0 || ev >= PROF_MAX_EVENTS || !e->fmt[ev] || !name) return NULL;
    return kperf_tp_format_field(e->fmt[ev], name);
}

uint64_t prof_u64(const kperf_tp_field *f, const kperf_record *rec) {
    uint64_t v = 0;
    if (f && rec->sample.raw) kperf_tp_field_uint(f, rec->sample.raw, rec->sample.raw_size, &v);
    return v;
}

uint64_t prof_key(prof_env *e, int ev, const kperf_record *rec) {
    const char *k = ev >= 0 && (size_t)ev < e->list->nevents ? e->list->events[ev].attrs.key : NULL;
    const kperf_tp_field *f = k ? prof_field(e, ev, k) : NULL;
    return f ? prof_u64(f, rec) : rec->sample.tid;
}

const char *prof_evname(prof_env *e, int ev) {
    if (ev < 0 || (size_t)ev >= e->list->nevents) return "?";
    const kperf_event *x = &e->list->events[ev];
    return x->attrs.alias ? x->attrs.alias : x->name;
}

const char *prof_comm(prof_env *e, uint32_t pid, uint32_t tid) {
    static char buf[32];
    const char *c = e->s ? kperf_sampler_comm(e->s, tid) : NULL;
    if (!c && e->s) c = kperf_sampler_comm(e->s, pid);
    if (c) return c;
    char path[64];
    snprintf(path, sizeof path, "/proc/%u/comm", tid);
    FILE *f = fopen(path, "r");
    snprintf(buf, sizeof buf, "<%u>", tid);
    if (f && fgets(buf, sizeof buf, f)) buf[strcspn(buf, "\n")] = 0;
    if (f) fclose(f);
    return buf;
}

bool prof_in_target(prof_env *e, uint32_t pid) {
    if (!e->filter_tasks) return true;
    for (size_t i = 0; i < e->ntasks; i++)
        if (e->tasks[i] == (pid_t)pid) return true;
    return false;
}

static bool prof_kernel_at(const uint64_t *ips, uint32_t i) {
    bool k = false;
    for (uint32_t j = 0; j <= i; j++)
        if (ips[j] >= KPERF_CONTEXT_MAX) k = ips[j] == KPERF_CONTEXT_KERNEL;
    return k;
}

/* One frame's name: "func" or "0xADDR". */
static void prof_frame(prof_env *e, uint32_t pid, uint64_t ip, bool leaf, char *buf,
                       size_t size, const char **module) {
    kperf_frame fr[8];
    int n = e->sym ? kperf_symbolizer_lookup(e->sym, (pid_t)pid, leaf ? ip : ip - 1, fr, 8) : 0;
    *module = n > 0 && fr[n - 1].module ? fr[n - 1].module : "?";
    if (n > 0 && fr[n - 1].function) snprintf(buf, size, "%s", fr[n - 1].function);
    else snprintf(buf, size, "0x%llx", (unsigned long long)ip);
}

/* The index of the innermost real frame (the sampled ip itself: no `- 1` for it). */
static uint32_t prof_leaf(const uint64_t *ips, uint32_t nips) {
    uint32_t i = 0;
    while (i < nips && ips[i] >= KPERF_CONTEXT_MAX) i++;
    return i;
}

void prof_print_stack(prof_env *e, uint32_t pid, const uint64_t *ips, uint32_t nips) {
    uint32_t leaf = prof_leaf(ips, nips);
    for (uint32_t i = 0; i < nips; i++) {
        if (ips[i] >= KPERF_CONTEXT_MAX) continue;
        char name[256];
        const char *mod;
        prof_frame(e, prof_kernel_at(ips, i) ? 0 : pid, ips[i], i == leaf, name, sizeof name, &mod);
        const char *slash = strrchr(mod, '/');
        fprintf(e->out, "        %016llx %s (%s)\n", (unsigned long long)ips[i], name,
                slash ? slash + 1 : mod);
    }
}

size_t prof_fold_stack(prof_env *e, uint32_t pid, const uint64_t *ips, uint32_t nips,
                       char *buf, size_t size) {
    size_t len = 0;
    uint32_t leaf = prof_leaf(ips, nips);
    if (size) buf[0] = 0;
    for (uint32_t i = nips; i-- > 0 && len + 1 < size;) {
        if (ips[i] >= KPERF_CONTEXT_MAX) continue;
        char name[256];
        const char *mod;
        bool k = prof_kernel_at(ips, i);
        prof_frame(e, k ? 0 : pid, ips[i], i == leaf, name, sizeof name, &mod);
        for (char *c = name; *c; c++)
            if (*c == ';' || *c == ' ') *c = '_';
        len += (size_t)snprintf(buf + len, size - len, "%s%s%s", len ? ";" : "", name,
                                k ? "_[k]" : "");
    }
    if (len >= size) len = size ? size - 1 : 0;
    return len;
}

static void prof_track(prof_env *e, const kperf_record *rec) {
    if (e->sym && rec->type == KPERF_RECORD_MMAP2 && (rec->mmap.prot & 4 /* PROT_EXEC */)) {
        kperf_module_desc md;
        memset(&md, 0, sizeof md);
        md.pid = (pid_t)rec->mmap.pid, md.start = rec->mmap.addr, md.len = rec->mmap.len;
        md.pgoff = rec->mmap.pgoff, md.path = rec->mmap.filename;
        md.build_id = rec->mmap.build_id, md.build_id_size = rec->mmap.build_id_size;
        kperf_symbolizer_add_module(e->sym, &md);
    }
    if (rec->type != KPERF_RECORD_FORK) return;
    if (e->sym) kperf_symbolizer_add_fork(e->sym, (pid_t)rec->task.ppid, (pid_t)rec->task.pid);
    if (!e->filter_tasks) return;
    if (!prof_in_target(e, rec->task.ppid) && !prof_in_target(e, rec->task.ptid)) return;
    /* the new task only: a new process has tid == pid; a new thread's pid is its process,
     * which -t does not take whole */
    if (!prof_in_target(e, rec->task.tid) && e->ntasks < PROF_MAX_TASKS)
        e->tasks[e->ntasks++] = (pid_t)rec->task.tid;
}

static int prof_on_record(const kperf_record *rec, void *user) {
    prof_env *e = (prof_env *)user;
    if (rec->type == KPERF_RECORD_LOST) e->lost += rec->loss.lost;
    if (rec->type != KPERF_RECORD_SAMPLE) return prof_track(e, rec), 0;
    if (rec->event < 0 || (size_t)rec->event >= e->list->nevents) return 0;
    e->records++;
    return e->p->sample(e, rec->event, rec);
}

static int prof_drain(void *ctx) {
    prof_env *e = (prof_env *)ctx;
    int rc = kperf_sampler_read(e->s, prof_on_record, e);
    if (rc < 0 && rc != -KPERF_ECORRUPT) return fprintf(stderr, "kperf %s: %s\n", e->p->name,
                                                         kperf_errmsg()), rc;
    if (e->interval_ms && e->p->interval) {
        uint64_t now = prof_now();
        if (now - e->last_print >= (uint64_t)e->interval_ms * 1000000ull) {
            e->p->interval(e, false);
            fflush(e->out);
            e->last_print = now;
        }
    }
    return 0;
}

/* Parses the events, checks the attributes, looks up each tracepoint's format. */
static int prof_events(prof_env *e) {
    if (kperf_evlist_parse(&e->list, e->spec, NULL) < 0) return cli_fail(e->p->name);
    char who[64];
    snprintf(who, sizeof who, "kperf %s", e->p->name);
    if (kperf_event_attrs_check(e->list, e->p->attrs, who) < 0) return cli_fail(e->p->name);
    if (e->list->nevents > PROF_MAX_EVENTS)
        return fprintf(stderr, "kperf %s: at most %d events\n", e->p->name, PROF_MAX_EVENTS), 1;
    size_t ev = 0, from = 0; /* which -e each event came from: parse each one alone */
    for (int g = 0; g < e->nspec_groups && ev < e->list->nevents; g++) {
        char one[sizeof e->spec];
        snprintf(one, sizeof one, "%.*s", (int)(e->spec_end[g] - from), e->spec + from);
        kperf_evlist *l1 = NULL;
        if (kperf_evlist_parse(&l1, one, NULL) < 0) return cli_fail(e->p->name);
        for (size_t k = 0; k < l1->nevents && ev < e->list->nevents; k++) e->ev_group[ev++] = g;
        kperf_evlist_free(l1);
        from = e->spec_end[g] + 1;
    }
    for (size_t i = 0; i < e->list->nevents; i++) {
        const kperf_event *x = &e->list->events[i];
        if (x->attrs.set & KPERF_EA_STACK) e->callchain = true;
        if (x->type == 2 /* PERF_TYPE_TRACEPOINT */ && e->tfs &&
            kperf_tracefs_format_by_id(e->tfs, (uint32_t)x->config[0], &e->fmt[i]) < 0)
            return cli_fail(e->p->name);
    }
    return 0;
}

static int prof_open(prof_env *e, cli_child *cc, bool follow) {
    kperf_sampler_desc d;
    memset(&d, 0, sizeof d);
    d.events = e->spec;
    d.freq = e->freq;
    d.period = e->freq ? 0 : e->period ? e->period : 1;
    d.include_kernel = !e->exclude_kernel;
    d.no_user = e->exclude_user;
    d.callchain = e->callchain;
    d.fields = e->sample_fields;
    d.regs_user_mask = e->regs_mask;
    d.stack_user_size = e->stack_user;
    bool filter = e->pids_filter; /* -p/-t filter records of every CPU */
    size_t npids = filter ? 0 : e->a.npids, ntids = filter ? 0 : e->a.ntids;
    d.pids = follow ? &cc->pid : npids ? e->a.pids : NULL;
    d.npids = follow ? 1 : npids;
    d.tids = follow || !ntids ? NULL : e->a.tids, d.ntids = follow ? 0 : ntids;
    d.cpus = e->a.cpus, d.ncpus = e->a.ncpus;
    bool tasks = npids || ntids;
    d.all_cpus = (e->a.all_cpus && !tasks) || ((e->p->system_wide || filter) && !tasks &&
                                               !e->a.ncpus);
    d.inherit = follow || npids;
    d.enable_on_exec = follow;
    d.ring_pages = (unsigned)(e->pages ? e->pages : 256);
    if (kperf_sampler_open(&e->s, &d) < 0) return cli_fail(e->p->name);
    if (e->callchain) {
        kperf_symbolizer_desc sd;
        memset(&sd, 0, sizeof sd);
        sd.mode = KPERF_SYMBOL_DELAYED;
        sd.include_kernel = true;
        sd.no_debuginfod = true;
        if (kperf_symbolizer_open(&e->sym, &sd) < 0) e->sym = NULL;
        for (size_t i = 0; e->sym && i < e->a.nprocs; i++) kperf_symbolizer_add_pid(e->sym, e->a.procs[i]);
    }
    return 0;
}

/* -p as a filter: each process and its threads now (later ones through FORK records). */
static void prof_add_threads(prof_env *e) {
    for (size_t i = 0; i < e->a.npids; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", (int)e->a.pids[i]);
        if (e->ntasks < PROF_MAX_TASKS) e->tasks[e->ntasks++] = e->a.pids[i];
        DIR *d = opendir(path);
        for (struct dirent *de; d && (de = readdir(d)) != NULL;)
            if (de->d_name[0] != '.' && e->ntasks < PROF_MAX_TASKS)
                e->tasks[e->ntasks++] = (pid_t)atoi(de->d_name);
        if (d) closedir(d);
    }
    for (size_t i = 0; i < e->a.ntids && e->ntasks < PROF_MAX_TASKS; i++) /* -t: the thread */
        e->tasks[e->ntasks++] = e->a.tids[i];
}

static int prof_run(prof_env *e) {
    cli_target tg;
    int rc = cli_target_begin(e->p->name, &e->a, e->p->system_wide, &tg);
    if (rc) return rc;
    cli_child *cc = &tg.cc;
    e->child = cc->pid;
    if (cc->pid) e->tasks[e->ntasks++] = cc->pid;
    e->filter_tasks = (e->p->system_wide && cc->pid) || (e->pids_filter && (e->a.npids || e->a.ntids));
    if (e->pids_filter) prof_add_threads(e);
    bool follow = tg.follow && !e->p->system_wide;
    if (prof_open(e, cc, follow) != 0) return cli_target_abort(&tg), 1;
    e->last_print = prof_now();
    if (!follow) kperf_sampler_start(e->s);
    int status = cli_target_run(e->p->name, &e->a, &tg, kperf_sampler_fd(e->s), prof_drain, e);
    if (tg.not_run) return status; /* said once; no empty table */
    kperf_sampler_stop(e->s);
    if (prof_drain(e) < 0 && status == 0) status = 1;
    if (e->p->interval) e->p->interval(e, true);
    if (e->lost) fprintf(stderr, "kperf %s: %llu records lost (ring full: -m, a filter or -C "
                         "helps)\n", e->p->name, (unsigned long long)e->lost);
    return status < 0 ? 1 : status;
}

int prof_main(const profiler *p, int argc, char **argv) {
    static prof_env env;
    prof_env *e = &env;
    memset(e, 0, sizeof *e);
    e->p = p;
    if (p->priv_size && !(e->priv = calloc(1, p->priv_size)))
        return fprintf(stderr, "kperf %s: out of memory\n", p->name), 1;
    cli_opt opts[CLI_MAXOPTS_PROF];
    size_t n = 0;
    for (const cli_opt *o = prof_common_opts; o->key; o++) opts[n++] = *o;
    for (const cli_opt *o = p->opts; o && o->key && n + 1 < CLI_MAXOPTS_PROF; o++) opts[n++] = *o;
    memset(&opts[n], 0, sizeof opts[n]);
    cli_cmd c = {p->name, p->usage, p->about, opts, CLI_TARGETS | CLI_TID | CLI_DURATION |
                 CLI_OUTPUT, p->more};
    int rc = cli_parse(&c, argc, argv, &e->a, prof_opt, e);
    if (rc != CLI_OK) return free(e->priv), rc == CLI_HELP ? 0 : 2;
    if (p->need_events && !e->spec[0]) {
        cli_args_free(&e->a), free(e->priv);
        return cli_usage_error(p->name, "give the events with -e");
    }
    int status = 0;
    e->out = cli_output(p->name, e->a.output, stdout);
    if (!e->out) return cli_args_free(&e->a), free(e->priv), 1;
    if (kperf_tracefs_open(&e->tfs, NULL) < 0) e->tfs = NULL; /* uprobes need no tracefs */
    if (p->init && (status = p->init(e)) != 0) goto out;
    if (!e->spec[0]) status = cli_usage_error(p->name, "no events");
    if (!status) status = prof_events(e);
    if (!status) status = prof_run(e);
out:
    if (p->deinit) p->deinit(e);
    if (e->a.output && e->out) fclose(e->out);
    kperf_sampler_close(e->s);
    kperf_symbolizer_close(e->sym);
    kperf_evlist_free(e->list);
    kperf_tracefs_close(e->tfs);
    cli_args_free(&e->a);
    free(e->priv);
    return status;
}

struct prof_name {
    uint64_t key;
    char name[16];
    bool used;
};

static size_t prof_name_hash(uint64_t key, size_t cap) {
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

void prof_names_set(prof_names *t, uint64_t key, const char *name, size_t len) {
    if ((t->n + 1) * 2 > t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 256;
        struct prof_name *ns = (struct prof_name *)calloc(nc, sizeof *ns);
        if (!ns) return;
        for (size_t i = 0; i < t->cap; i++) {
            if (!t->slot[i].used) continue;
            size_t h = prof_name_hash(t->slot[i].key, nc);
            while (ns[h].used) h = (h + 1) & (nc - 1);
            ns[h] = t->slot[i];
        }
        free(t->slot);
        t->slot = ns, t->cap = nc;
    }
    size_t h = prof_name_hash(key, t->cap);
    while (t->slot[h].used && t->slot[h].key != key) h = (h + 1) & (t->cap - 1);
    if (!t->slot[h].used) t->n++;
    t->slot[h].used = true, t->slot[h].key = key;
    snprintf(t->slot[h].name, sizeof t->slot[h].name, "%.*s", (int)(len < 15 ? len : 15), name);
}

const char *prof_names_get(const prof_names *t, uint64_t key) {
    if (!t->cap) return NULL;
    for (size_t h = prof_name_hash(key, t->cap); t->slot[h].used; h = (h + 1) & (t->cap - 1))
        if (t->slot[h].key == key) return t->slot[h].name;
    return NULL;
}

void prof_names_free(prof_names *t) {
    free(t->slot);
    memset(t, 0, sizeof *t);
}

int cmd_prof(int argc, char **argv) {
    for (size_t i = 0; i < NPROF; i++)
        if (!strcmp(argv[0], prof_table[i]->name)) return prof_main(prof_table[i], argc, argv);
    fprintf(stderr, "kperf: no profiler '%s'\n", argv[0]);
    return 2;
}
