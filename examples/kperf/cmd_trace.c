/* kperf trace: print tracepoint events with their fields, one line each, like perf-prof's
 * trace:   COMM  PID [CPU] SECONDS.USEC: SYSTEM:NAME: field=value field=value ...
 *
 *   kperf trace -e 'sched:sched_wakeup/pid>1000 && prio<10/' -a -d 1
 *   kperf trace -e sched:sched_process_exec -- make
 *   kperf trace -e sched:sched_switch --fields          (the event's fields and types)
 */
#define _GNU_SOURCE 1
#include "kperf_cli.h"
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* sched_switch's prev_state as letters, the way the kernel's print fmt (and perf script)
 * shows it: the `{ 0xBIT, "L" }` entries of the running kernel's __print_flags table,
 * joined by '|', "R" when no bit under the table is set, then "+" for the next bit up
 * (TASK_REPORT_MAX, "preempted"). Without a table in the format file, the kernel's
 * TASK_REPORT order since 4.14: S D T t X Z P I, preempted = 0x100. */
typedef struct trace_states {
    int n;              /* entries in bit/letter; -1 = not parsed yet */
    uint64_t bit[16], plus;
    char letter[16][4];
} trace_states;

static void trace_states_load(trace_states *ts, const kperf_tp_format *f) {
    static const char *dflt = "SDTtXZPI";
    const char *p = f->print_fmt ? strstr(f->print_fmt, "__print_flags(REC->prev_state") : NULL;
    ts->n = 0;
    while (p && (p = strstr(p, "{ 0x")) && ts->n < 16) {
        char *end;
        uint64_t v = strtoull(p + 2, &end, 16);
        const char *q = strchr(end, '"');
        const char *r = q ? strchr(q + 1, '"') : NULL;
        if (!v || !r || r - q - 1 < 1 || r - q - 1 > 3) break;
        ts->bit[ts->n] = v;
        snprintf(ts->letter[ts->n], sizeof ts->letter[0], "%.*s", (int)(r - q - 1), q + 1);
        ts->n++;
        p = r;
    }
    if (ts->n == 0)
        for (int i = 0; i < 8; i++) {
            ts->bit[i] = 1ull << i;
            snprintf(ts->letter[i], sizeof ts->letter[0], "%c", dflt[i]);
            ts->n++;
        }
    uint64_t top = 0;
    for (int i = 0; i < ts->n; i++)
        if (ts->bit[i] > top) top = ts->bit[i];
    ts->plus = top << 1;
}

/* Rewrites "prev_state=NUMBER" in @p line (capacity @p cap) as letters. */
static void trace_states_apply(const trace_states *ts, char *line, size_t cap) {
    char *a = strstr(line, " prev_state=");
    if (!a) return;
    a += 12;
    char *end;
    long long v = strtoll(a, &end, 0);
    if (end == a) return;
    char st[64] = "";
    size_t n = 0;
    for (int i = 0; i < ts->n; i++)
        if ((uint64_t)v & ts->bit[i])
            n += (size_t)snprintf(st + n, sizeof st - n, "%s%s", n ? "|" : "", ts->letter[i]);
    if (!n) n = (size_t)snprintf(st, sizeof st, "R");
    if ((uint64_t)v & ts->plus) snprintf(st + n, sizeof st - n, "+");
    size_t lst = strlen(st), rest = strlen(end);
    if ((size_t)(a - line) + lst + rest + 1 > cap) return; /* keep the number */
    memmove(a + lst, end, rest + 1);
    memcpy(a, st, lst);
}

typedef struct trace_comm {
    uint32_t tid;
    char comm[16];
} trace_comm;

typedef struct trace_ctx {
    trace_comm comms[1024]; /* /proc lookups for threads the sampler has no name for */
    kperf_sampler *s;
    kperf_tracefs *tfs;
    FILE *out;
    uint64_t printed, lost;
    char *line;
    size_t cap;
    trace_states states;
    cli_tjson *json; /* --trace-json */
    bool text;       /* the event lines too (-o, or no --trace-json) */
} trace_ctx;

/* --trace-json: one instant event per record, its non-common fields as args (integers as
 * numbers, pointers and the rest as text). */
static void trace_json_event(trace_ctx *t, const kperf_record *rec, const kperf_tp_format *f,
                             const char *comm) {
    char name[256], val[512];
    snprintf(name, sizeof name, "%s:%s", f->system, f->name);
    cli_tjson_thread(t->json, (int)rec->pid, (int)rec->tid, comm);
    FILE *o = cli_tjson_begin(t->json, name, f->system, rec->time, -1, (int)rec->pid,
                              (int)rec->tid, (int)rec->cpu);
    for (size_t i = 0; i < f->nfields; i++) {
        const kperf_tp_field *fd = &f->fields[i];
        if (fd->flags & KPERF_TP_FIELD_COMMON) continue;
        fputc(',', o);
        cli_tjson_str(o, fd->name);
        fputc(':', o);
        int64_t v;
        uint64_t u;
        bool scalar = fd->count == 1 && !(fd->flags & (KPERF_TP_FIELD_STRING | KPERF_TP_FIELD_POINTER));
        if (scalar && fd->is_signed && kperf_tp_field_int(fd, rec->sample.raw, rec->sample.raw_size, &v) == 0)
            fprintf(o, "%lld", (long long)v);
        else if (scalar && kperf_tp_field_uint(fd, rec->sample.raw, rec->sample.raw_size, &u) == 0)
            fprintf(o, "%llu", (unsigned long long)u);
        else if (kperf_tp_field_snprint(fd, rec->sample.raw, rec->sample.raw_size, val, sizeof val) >= 0)
            cli_tjson_str(o, val);
        else
            fputs("null", o);
    }
    cli_tjson_end(t->json);
}

static int trace_on_record(const kperf_record *rec, void *user) {
    trace_ctx *t = (trace_ctx *)user;
    if (rec->type == KPERF_RECORD_LOST) t->lost += rec->loss.lost;
    if (rec->type != KPERF_RECORD_SAMPLE || !rec->sample.raw || rec->sample.raw_size < 2)
        return 0;
    uint16_t id;
    memcpy(&id, rec->sample.raw, 2);
    const kperf_tp_format *f;
    int frc = kperf_tracefs_format_by_id(t->tfs, id, &f);
    if (frc == -KPERF_ENOEVENT) return 0; /* an id no event of this kernel has */
    if (frc < 0) return frc;              /* EMFILE, ENOMEM...: said, never silently dropped */
    for (;;) {
        int n = kperf_tp_format_snprint(f, rec->sample.raw, rec->sample.raw_size, t->line, t->cap);
        if (n < 0) return 0;
        if ((size_t)n < t->cap) break;
        char *nl = (char *)realloc(t->line, (size_t)n + 1);
        if (!nl) return -ENOMEM;
        t->line = nl, t->cap = (size_t)n + 1;
    }
    if (!strcmp(f->system, "sched") && !strcmp(f->name, "sched_switch")) {
        if (t->states.n < 0) trace_states_load(&t->states, f);
        if ((size_t)strlen(t->line) + 64 >= t->cap) { /* room for the letters */
            char *nl = (char *)realloc(t->line, t->cap + 64);
            if (!nl) return -ENOMEM;
            t->line = nl, t->cap += 64;
        }
        trace_states_apply(&t->states, t->line, t->cap);
    }
    const char *comm = kperf_sampler_comm(t->s, rec->tid); /* the thread's name, as perf */
    if (!comm) comm = kperf_sampler_comm(t->s, rec->pid);
    if (!comm) {
        trace_comm *c = &t->comms[rec->tid % 1024];
        if (c->tid != rec->tid || !rec->tid) {
            char path[64];
            snprintf(path, sizeof path, "/proc/%u/comm", rec->tid);
            FILE *fp = fopen(path, "r");
            c->tid = rec->tid;
            snprintf(c->comm, sizeof c->comm, "%s", rec->tid ? "<...>" : "swapper");
            if (fp && fgets(c->comm, sizeof c->comm, fp)) c->comm[strcspn(c->comm, "\n")] = 0;
            if (fp) fclose(fp);
        }
        comm = c->comm;
    }
    if (t->json) trace_json_event(t, rec, f, comm);
    if (t->text)
        fprintf(t->out, "%16s %6u [%03u] %llu.%06llu: %s:%s: %s\n", comm, rec->tid,
            rec->cpu, (unsigned long long)(rec->time / 1000000000ull),
            (unsigned long long)(rec->time % 1000000000ull / 1000), f->system, f->name, t->line);
    t->printed++;
    return 0;
}

static int trace_drain(void *ctx) {
    trace_ctx *t = (trace_ctx *)ctx;
    int rc = kperf_sampler_read(t->s, trace_on_record, t);
    if (rc < 0 && rc != -KPERF_ECORRUPT) {
        static bool said;
        if (!said) fprintf(stderr, "kperf trace: %s\n", kperf_errmsg());
        said = true;
        return rc;
    }
    return 0;
}

/* Prints every event's fields (perf-prof's `trace -e EV help`). */
static int trace_fields(kperf_tracefs *tfs, const char *spec) {
    kperf_evlist *list;
    if (kperf_evlist_parse(&list, spec, NULL) < 0) return cli_fail("trace");
    for (size_t i = 0; i < list->nevents; i++) {
        const kperf_event *ev = &list->events[i];
        const kperf_tp_format *f;
        if (ev->type != 2 /* PERF_TYPE_TRACEPOINT */ ||
            kperf_tracefs_format_by_id(tfs, (uint32_t)ev->config[0], &f) < 0) {
            fprintf(stderr, "kperf trace: %s is not a tracepoint\n", ev->name);
            continue;
        }
        printf("%s:%s (id %u)%s%s\n", f->system, f->name, f->id, ev->filter ? " filter: " : "",
               ev->filter ? ev->filter : "");
        for (size_t j = 0; j < f->nfields; j++) {
            const kperf_tp_field *fd = &f->fields[j];
            printf("    %-28s %-24s offset %3u size %3u %s%s\n", fd->name, fd->type, fd->offset,
                   fd->size, fd->is_signed ? "signed" : "unsigned",
                   fd->flags & KPERF_TP_FIELD_STRING ? " string" : "");
        }
    }
    kperf_evlist_free(list);
    return 0;
}

static const cli_opt trace_opts[] = {
    {'e', "event", "EVENTS", "sys:name[/filter/], comma list (repeatable)"},
    {'m', "mmap-pages", "PAGES", "ring pages per CPU, a power of two (default 1024 = 4 MiB)"},
    {CLI_LONG_ONLY, "fields", NULL, "print each event's fields (name, type, offset, size), exit"},
    {CLI_LONG_ONLY + 1, "trace-json", "FILE", "also the events as Chrome/Perfetto trace JSON"},
    {0, NULL, NULL, NULL}};

static const cli_cmd trace_cmd = {
    "trace", "-e EVENTS [options] [-- COMMAND [ARGS...]]",
    "Prints tracepoint events with their fields, one line each:\n"
    "  COMM  PID [CPU] SECONDS.USEC: SYSTEM:NAME: field=value field=value ...",
    trace_opts, CLI_TARGETS | CLI_TID | CLI_DURATION | CLI_OUTPUT,
    "A filter runs in the kernel: ftrace syntax over the event's fields. With -p/-a/-C,\n"
    "a command only sets the duration. -o FILE writes the event lines to\n"
    "FILE instead of stdout; with --trace-json, there are no event lines unless -o is given.\n"
    "Example:\n"
    "  kperf trace -e 'sched:sched_wakeup/pid>1000 && prio<10/' -a -d 1\n"};

typedef struct trace_opt_state {
    char spec[8192];
    bool fields;
    long pages;
    const char *json; /* --trace-json FILE */
} trace_opt_state;

static int trace_opt(int key, const char *arg, void *user) {
    trace_opt_state *o = (trace_opt_state *)user;
    if (key == 'e') return cli_append_list("trace", "event", o->spec, sizeof o->spec, arg);
    if (key == 'm') return cli_parse_long("trace", "-m/--mmap-pages", arg, 1, 1 << 20, &o->pages);
    if (key == CLI_LONG_ONLY) return o->fields = true, 0;
    if (key == CLI_LONG_ONLY + 1) return o->json = arg, 0;
    return 1;
}

int cmd_trace(int argc, char **argv) {
    static trace_opt_state o;
    memset(&o, 0, sizeof o);
    o.pages = 1024; /* 4 MiB per ring: syscalls come fast */
    cli_args a;
    int prc = cli_parse(&trace_cmd, argc, argv, &a, trace_opt, &o);
    if (prc != CLI_OK) return prc == CLI_HELP ? 0 : 2;
    if (a.nrest == 1 && !strcmp(a.rest[0], "help")) o.fields = true, a.rest = NULL, a.nrest = 0;
    if (!o.spec[0]) return cli_args_free(&a), cli_usage_error("trace", "give the events with -e");
    if (o.fields && (o.json || a.rest || a.output || a.npids || a.ntids || a.ncpus ||
                     a.all_cpus || a.duration > 0))
        return cli_args_free(&a), cli_usage_error("trace", "--fields prints the events' fields "
                                                  "and exits: it takes only -e");
    kperf_tracefs *tfs;
    if (kperf_tracefs_open(&tfs, NULL) < 0) return cli_args_free(&a), cli_fail("trace");
    if (o.fields) {
        int rc = trace_fields(tfs, o.spec);
        kperf_tracefs_close(tfs);
        return cli_args_free(&a), rc;
    }
    cli_target tg;
    int trc = cli_target_begin("trace", &a, false, &tg);
    if (trc) return kperf_tracefs_close(tfs), cli_args_free(&a), trc;
    kperf_sampler_desc d;
    memset(&d, 0, sizeof d);
    d.events = o.spec;
    d.period = 1;
    d.include_kernel = true;
    d.pids = tg.pids, d.npids = tg.npids, d.tids = tg.tids, d.ntids = tg.ntids;
    d.cpus = tg.cpus, d.ncpus = tg.ncpus, d.all_cpus = tg.all_cpus;
    d.inherit = tg.inherit, d.enable_on_exec = tg.enable_on_exec;
    d.ring_pages = (unsigned)o.pages;
    static trace_ctx t;
    t.tfs = tfs;
    t.states.n = -1;
    t.out = cli_output("trace", a.output, stdout);
    if (!t.out) {
        cli_target_abort(&tg);
        return kperf_tracefs_close(tfs), cli_args_free(&a), 1;
    }
    t.text = a.output || !o.json;
    if (o.json && cli_tjson_open(&t.json, o.json) < 0) {
        cli_target_abort(&tg);
        if (a.output) fclose(t.out);
        return kperf_tracefs_close(tfs), cli_args_free(&a), 1;
    }
    if (kperf_sampler_open(&t.s, &d) < 0) {
        cli_target_abort(&tg);
        if (a.output) fclose(t.out);
        kperf_tracefs_close(tfs), cli_args_free(&a);
        return cli_fail("trace");
    }
    int status = 0;
    if (!tg.follow) kperf_sampler_start(t.s);
    status = cli_target_run("trace", &a, &tg, kperf_sampler_fd(t.s), trace_drain, &t);
    kperf_sampler_stop(t.s);
    trace_drain(&t);
    kperf_sampler_stats st;
    kperf_sampler_stats_read(t.s, &st);
    fprintf(stderr, "kperf trace: %llu events", (unsigned long long)t.printed);
    if (st.total.lost) fprintf(stderr, ", %llu lost (ring full: a filter or -C helps)",
                               (unsigned long long)st.total.lost);
    fprintf(stderr, "\n");
    if (a.output) fclose(t.out);
    if (cli_tjson_close(t.json, "kperf trace") < 0 && !status) status = 1;
    free(t.line);
    cli_args_free(&a);
    kperf_sampler_close(t.s);
    kperf_tracefs_close(tfs);
    return status < 0 ? 1 : status;
}
