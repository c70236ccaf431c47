/* kperf record: sample a command, processes or CPUs into perf.data and/or folded stacks.
 *
 *   kperf record [-e EV] [-F HZ | -c PERIOD] [-g | --call-graph fp|dwarf[,SIZE]]
 *                [-p PIDS | -t TIDS | -a | -C CPUS] [-d SECS] [-o FILE] [--folded FILE] [--pprof FILE]
 *                [-m PAGES] [--kernel] [-- command args]
 */
#include "kperf_cli.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static bool record_full_names; /* --full-names */
static volatile sig_atomic_t record_stop;
static void record_on_signal(int sig) {
    (void)sig;
    record_stop = 1;
}

enum { REC_CALL_GRAPH = CLI_LONG_ONLY, REC_FOLDED, REC_PPROF, REC_KERNEL, REC_OFF_CPU, REC_FULL };

static const cli_opt record_opts[] = {
    {'e', "event", "EVENTS", "event spec (default cpu-clock)"},
    {'F', "freq", "HZ", "samples per second (default 1000)"},
    {'c', "count", "N", "sample every N events (instead of -F)"},
    {'g', NULL, NULL, "record call chains (frame pointers)"},
    {REC_CALL_GRAPH, "call-graph", "MODE", "fp (as -g), or dwarf[,SIZE]: registers and SIZE "
                                           "bytes of stack (default 8192) per sample"},
    {REC_FOLDED, "folded", "FILE", "also write folded stacks (only them without -o)"},
    {REC_PPROF, "pprof", "FILE", "also write a pprof profile (only it without -o)"},
    {'m', "mmap-pages", "PAGES", "ring pages per CPU, a power of two (default 128)"},
    {REC_KERNEL, "kernel", NULL, "also sample kernel code (perf_event_paranoid <= 1)"},
    {REC_OFF_CPU, "off-cpu", NULL, "off-CPU stacks: where threads left the CPU, weighted by "
                                   "the microseconds off it (with --folded)"},
    {REC_FULL, "full-names", NULL, "--folded: C++ names with return type and parameters "
                                   "(default: perf's short form, ns::hot<long>)"},
    {0, NULL, NULL, NULL}};

static const cli_cmd record_cmd = {
    "record", "[options] [-- COMMAND [ARGS...]]",
    "Samples a command, processes or CPUs into perf.data (-o FILE, '-' = stdout; default\n"
    "perf.data), folded stacks or a pprof profile.",
    record_opts, CLI_TARGETS | CLI_TID | CLI_DURATION | CLI_OUTPUT,
    "With a command and no -p/-t/-a/-C, the command is sampled (children included); with\n"
    "-o -, its stdout goes to stderr. -t samples only the given threads (not threads they\n"
    "start later), as perf record -t. With -p/-t/-a/-C, a command only sets the duration;\n"
    "without one, Ctrl-C or -d SECS stops. The exit status is the command's.\n"
    "--call-graph dwarf samples are unwound with DWARF CFI by kperf report / perf report.\n"};

typedef struct record_opt_state {
    kperf_sampler_desc *d;
    const char *folded, *pprof;
    bool off_cpu; /* --off-cpu */
} record_opt_state;

static int record_call_graph(const char *arg, kperf_sampler_desc *d);

static int record_opt(int key, const char *v, void *user) {
    record_opt_state *o = (record_opt_state *)user;
    kperf_sampler_desc *d = o->d;
    long n;
    switch (key) {
    case 'e': d->events = v; return 0;
    case 'F':
        if (cli_parse_long("record", "-F/--freq", v, 1, 10000000, &n)) return -1;
        return d->freq = (uint64_t)n, 0;
    case 'c':
        if (cli_parse_long("record", "-c/--count", v, 1, LONG_MAX, &n)) return -1;
        return d->period = (uint64_t)n, 0;
    case 'g': d->callchain = true; return 0;
    case REC_CALL_GRAPH:
        if (!record_call_graph(v, d)) return 0;
        return fprintf(stderr, "kperf record: --call-graph takes fp or dwarf[,SIZE] (SIZE "
                               "8..65528), not '%s'\n", v), -1;
    case REC_FOLDED: o->folded = v; return 0;
    case REC_PPROF: o->pprof = v; return 0;
    case 'm':
        if (cli_parse_long("record", "-m/--mmap-pages", v, 1, 1 << 20, &n)) return -1;
        return d->ring_pages = (uint32_t)n, 0;
    case REC_KERNEL: d->include_kernel = true; return 0;
    case REC_OFF_CPU: o->off_cpu = true; return 0;
    case REC_FULL: record_full_names = true; return 0;
    }
    return 1;
}

/* --call-graph: "fp", or "dwarf[,SIZE]" (registers and a stack copy per sample). */
static int record_call_graph(const char *arg, kperf_sampler_desc *d) {
    if (!strcmp(arg, "fp")) return d->callchain = true, 0;
    if (strncmp(arg, "dwarf", 5) || (arg[5] && arg[5] != ',')) return -1;
    unsigned long size = 8192;
    if (arg[5]) {
        char *e;
        size = strtoul(arg + 6, &e, 0);
        if (e == arg + 6 || *e || size < 8 || size > 65528) return -1;
    }
    d->dwarf_callchain = true;
    d->stack_user_size = (uint32_t)((size + 7) & ~7ul); /* the kernel wants a multiple of 8 */
    return 0;
}

typedef struct record_ctx {
    kperf_symbolizer *sym;
    kperf_sampler *s;
    kperf_perfdata *w;
    kperf_folded *fold;
    kperf_pprof *pp;
    size_t pp_events; /* the sampler's events: one pprof value column each */
    uint64_t regs_mask; /* --call-graph dwarf: the registers samples carry */
    uint64_t samples;
    int err;
    kperf_pairer *off;  /* --off-cpu: tid -> switch-out time and stack */
} record_ctx;

/* --off-cpu: a sched_switch sample (the thread leaving) waits for the thread's SWITCH-in
 * record; the stack is then folded, weighted by the microseconds in between. */
static int record_off_cpu(record_ctx *c, const kperf_record *rec) {
    if (rec->type == KPERF_RECORD_SAMPLE) {
        kperf_pair_event ev = {rec->tid, rec->time, 0, rec->pid, rec->tid, rec->cpu,
                               rec->sample.nips, rec->sample.ips};
        return kperf_pairer_start(c->off, &ev) < 0 ? c->err = -1 : 0;
    }
    kperf_pair_event st;
    if (rec->type != KPERF_RECORD_SWITCH || rec->sw.out || kperf_pairer_end(c->off, rec->tid, &st) != 1)
        return 0;
    kperf_sample smp;
    memset(&smp, 0, sizeof smp);
    smp.pid = st.pid, smp.tid = st.tid, smp.ips = st.ips, smp.nips = st.nips;
    uint64_t ns = rec->time > st.time ? rec->time - st.time : 0, us = ns / 1000;
    c->samples++;
    const char *comm = kperf_sampler_comm(c->s, st.tid);
    if (c->fold && us && kperf_folded_add_weight(c->fold, &smp, comm, us) < 0)
        return c->err = -1;
    smp.period = ns; /* the pprof value: wall/nanoseconds */
    if (c->pp && ns && kperf_pprof_add(c->pp, &smp, comm) < 0) return c->err = -1;
    return 0;
}

static int record_one(const kperf_record *rec, void *user) {
    record_ctx *c = (record_ctx *)user;
    if (c->w && kperf_perfdata_write(c->w, rec) < 0) return c->err = -1;
    if (c->sym && rec->type == KPERF_RECORD_MMAP2 && (rec->mmap.prot & 4 /* PROT_EXEC */)) {
        kperf_module_desc md = {.pid = (pid_t)rec->mmap.pid, .start = rec->mmap.addr,
                                .len = rec->mmap.len, .pgoff = rec->mmap.pgoff,
                                .path = rec->mmap.filename, .build_id = rec->mmap.build_id,
                                .build_id_size = rec->mmap.build_id_size};
        kperf_symbolizer_add_module(c->sym, &md);
    }
    if (c->sym && rec->type == KPERF_RECORD_FORK) /* a child starts with its parent's maps */
        kperf_symbolizer_add_fork(c->sym, (pid_t)rec->task.ppid, (pid_t)rec->task.pid);
    if (c->off) return record_off_cpu(c, rec);
    if (rec->type != KPERF_RECORD_SAMPLE) return 0;
    c->samples++;
    kperf_sample smp = rec->sample;
    uint64_t ips[512];
    int n = (c->fold || c->pp) && smp.stack ? kperf_symbolizer_unwind(c->sym, &smp, c->regs_mask, ips, 512)
                                 : 0;
    if (n > 0) smp.ips = ips, smp.nips = (uint32_t)n; /* DWARF call graph */
    if (c->fold && kperf_folded_add(c->fold, &smp, kperf_sampler_comm(c->s, rec->tid)) < 0)
        return c->err = -1;
    int ev = c->pp_events > 1 && rec->event >= 0 && (size_t)rec->event < c->pp_events
                 ? rec->event : 0;
    if (c->pp && kperf_pprof_add_event(c->pp, &smp, kperf_sampler_comm(c->s, rec->tid), ev) < 0)
        return c->err = -1;
    return 0;
}

static int record_drain(record_ctx *c) {
    int n = kperf_sampler_read(c->s, record_one, c);
    if (n < 0 && n != -KPERF_ECORRUPT) return n;
    if (n == -KPERF_ECORRUPT) fprintf(stderr, "kperf record: warning: %s\n", kperf_errmsg());
    if (c->w && kperf_perfdata_flush(c->w) < 0) return -1;
    return 0;
}

/* Function names for folded stacks (the outermost frame of an address's inline chain). */
static int record_frame_name(uint64_t addr, uint32_t pid, bool kernel, bool leaf, char *buf,
                             size_t n, void *user) {
    kperf_frame fr[16];
    (void)kernel;
    int nf = kperf_symbolizer_lookup((kperf_symbolizer *)user, (pid_t)pid, leaf ? addr : addr - 1,
                                     fr, 16);
    if (nf <= 0 || !fr[nf - 1].function) return -1;
    if (record_full_names) return snprintf(buf, n, "%s", fr[nf - 1].function);
    cli_short_name(fr[nf - 1].function, buf, n); /* as perf script names them */
    return (int)strlen(buf);
}

/* The launcher's pipe() or fork() failed (errno): say why instead of recording nothing. */
static void record_spawn_failed(const char *cmd) {
    int e = errno;
    fprintf(stderr, "kperf record: cannot start %s: %s%s\n", cmd, strerror(e),
            e == EMFILE || e == ENFILE ? " (raise the descriptor limit, ulimit -n)" : "");
}

static char *record_cmdline(int argc, char **argv) {
    size_t n = 1;
    for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
    char *s = (char *)calloc(n + 16, 1);
    if (!s) return NULL;
    strcpy(s, "kperf");
    for (int i = 0; i < argc; i++) strcat(strcat(s, " "), argv[i]);
    return s;
}

/* True while any of the pids exists. */
static bool record_pids_alive(const pid_t *pids, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (kill(pids[i], 0) == 0 || errno == EPERM) return true;
    return false;
}

int cmd_record(int argc, char **argv) {
    kperf_sampler_desc d;
    memset(&d, 0, sizeof d);
    record_opt_state ro = {&d, NULL, NULL, false};
    cli_args a;
    int prc = cli_parse(&record_cmd, argc, argv, &a, record_opt, &ro);
    if (prc != CLI_OK) return prc == CLI_HELP ? 0 : 2;
    const char *out = a.output, *folded = ro.folded, *pprof = ro.pprof;
    const pid_t *pids = a.pids;
    size_t npids = a.npids, ncpus = a.ncpus;
    char **cmd = a.rest;
    int ncmd = a.nrest;
    d.all_cpus = a.all_cpus;
    bool targets = npids || a.ntids || ncpus || d.all_cpus;
    if (!ncmd && !targets)
        return cli_args_free(&a), cli_usage_error("record", "give a command, -p, -t, -a or -C");
    if (ro.off_cpu && (out || (!folded && !pprof)))
        return cli_args_free(&a), cli_usage_error("record", "--off-cpu writes folded stacks or "
                                                  "a pprof profile (wall time): give --folded "
                                                  "FILE and/or --pprof FILE (no -o)");
    if (d.freq && d.period) /* as perf: neither wins silently */
        return cli_args_free(&a), cli_usage_error("record", "-F (a frequency) and -c (a period) "
                                                  "exclude each other");
    if (ro.off_cpu && (d.events || d.freq || d.period || d.callchain || d.dwarf_callchain))
        return cli_args_free(&a), cli_usage_error("record", "--off-cpu chooses its event, period "
                                                  "and call chains itself: drop -e, -F, -c, "
                                                  "-g and --call-graph");
    if (ro.off_cpu) { /* the switch-out with its stack, and the thread's switch-in */
        d.events = "sched:sched_switch", d.period = 1, d.callchain = true;
        d.include_kernel = true, d.context_switch = true;
    }
    if (!out && !folded && !pprof) out = "perf.data";
    cli_child cc = {0, -1, -1, out && !strcmp(out, "-")}; /* -o -: stdout is the data */
    if (ncmd && !targets) {
        if (cli_spawn(cmd, &cc) < 0) return record_spawn_failed(cmd[0]), cli_args_free(&a), 1;
        d.pids = &cc.pid, d.npids = 1, d.inherit = true, d.enable_on_exec = true;
    } else {
        d.pids = pids, d.npids = npids;
        d.tids = a.tids, d.ntids = a.ntids;
        d.cpus = a.cpus, d.ncpus = ncpus;
        d.inherit = npids > 0;
    }
    pid_t child = cc.pid; /* sampled from its exec on */
    record_ctx c;
    memset(&c, 0, sizeof c);
    char *cmdline = record_cmdline(argc, argv);
    int rc = 1, status = 0;
    bool wrote = false, done = false;
    if (kperf_sampler_open(&c.s, &d) < 0) goto fail;
    if (out) {
        kperf_perfdata_desc pd = {.path = out, .sampler = c.s, .pids = a.procs, .npids = a.nprocs,
                                  .all_processes = ncpus || d.all_cpus, .cmdline = cmdline};
        if (child > 0) pd.pids = NULL, pd.npids = 0; /* the exec describes it */
        if (kperf_perfdata_open(&c.w, &pd) < 0) goto fail;
        wrote = true;
    }
    if (folded || pprof) {
        kperf_symbolizer_open(&c.sym, &(kperf_symbolizer_desc){.mode = KPERF_SYMBOL_DELAYED,
                                                               .include_kernel = d.include_kernel});
        if (folded && kperf_folded_new(&c.fold, c.sym ? record_frame_name : NULL, c.sym) < 0)
            goto fail;
        if (ro.off_cpu && kperf_pairer_new(&c.off, NULL) < 0) goto fail;
        const char *evs[16]; /* one value column per event */
        c.pp_events = kperf_sampler_nevents(c.s) < 16 ? kperf_sampler_nevents(c.s) : 16;
        for (size_t e = 0; e < c.pp_events; e++) evs[e] = kperf_sampler_event_name(c.s, e);
        kperf_pprof_desc ppd = {.symbolizer = c.sym, .event = d.events, .events = evs,
                                .nevents = c.pp_events, .period = d.period, .comment = cmdline};
        if (ro.off_cpu) /* off-CPU time: samples/count and wall/nanoseconds */
            ppd.event = "wall", ppd.nevents = 0, ppd.period = 0, c.pp_events = 0;
        if (pprof && kperf_pprof_new(&c.pp, &ppd) < 0) goto fail;
        c.regs_mask = d.regs_user_mask;
        for (size_t i = 0; c.sym && i < a.nprocs; i++) kperf_symbolizer_add_pid(c.sym, a.procs[i]);
    }
    cli_catch_stop(record_on_signal, true); /* a second Ctrl-C kills */
    if (!child && kperf_sampler_start(c.s) < 0) goto fail;
    if (!child && ncmd && cli_spawn(cmd, &cc) < 0) { /* pipe() or fork() failed */
        record_spawn_failed(cmd[0]);
        done = true; /* said (rc stays 1): not cli_fail's stale message */
        goto fail;
    }
    if (cc.pid > 0) {
        int e = cli_spawn_go(&cc, true);
        if (e) { /* the command does not exist: say so once, leave no file behind */
            waitpid(cc.pid, NULL, 0);
            cc.pid = child = -1;
            rc = cli_cannot_run("record", cmd[0], e); /* 127, as a shell says it */
            goto fail;
        }
    }
    struct pollfd p = {kperf_sampler_fd(c.s), POLLIN, 0};
    bool reaped = false;
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!record_stop) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (a.duration > 0 && (double)(now.tv_sec - t0.tv_sec) +
                                      (double)(now.tv_nsec - t0.tv_nsec) / 1e9 >= a.duration) {
            if (cc.pid > 0) kill(cc.pid, SIGTERM); /* -d: the command goes too, as on Ctrl-C */
            break;
        }
        poll(&p, 1, 100);
        if (record_drain(&c) < 0) goto fail;
        if (cc.pid > 0 && waitpid(cc.pid, &status, WNOHANG) == cc.pid) {
            reaped = true;
            break;
        }
        if (cc.pid <= 0 && a.nwatch && !record_pids_alive(a.watch, a.nwatch)) break;
    }
    kperf_sampler_stop(c.s);
    if (record_drain(&c) < 0) goto fail;
    kperf_sampler_stats st;
    kperf_sampler_stats_read(c.s, &st);
    if (folded && kperf_folded_write(c.fold, folded) < 0) goto fail;
    if (pprof && kperf_pprof_write(c.pp, pprof) < 0) goto fail;
    fprintf(stderr, "[ kperf record: %llu samples, %llu lost, %llu throttled; wrote %s%s%s%s%s ]\n",
            (unsigned long long)st.total.samples, (unsigned long long)st.total.lost,
            (unsigned long long)st.total.throttled, out ? out : "", out && folded ? " and " : "",
            folded ? folded : "", (out || folded) && pprof ? " and " : "", pprof ? pprof : "");
    if (cc.pid > 0 && !reaped && record_stop) kill(cc.pid, SIGTERM); /* as perf: it goes too */
    if (cc.pid > 0 && !reaped) waitpid(cc.pid, &status, 0);
    /* the command's exit status, as perf record (and kperf stat) return it */
    rc = cc.pid <= 0 ? 0 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    cc.pid = child = -1;
    done = true;
fail:
    if (!done && rc == 1) cli_fail("record");
    kperf_perfdata_close(c.w);
    kperf_folded_free(c.fold);
    kperf_pairer_free(c.off);
    kperf_pprof_free(c.pp);
    kperf_symbolizer_close(c.sym);
    kperf_sampler_close(c.s);
    if (cc.pid > 0 && cc.go >= 0) cli_spawn_go(&cc, false); /* never ran: let it exit */
    else if (cc.pid > 0) kill(cc.pid, SIGKILL), waitpid(cc.pid, NULL, 0);
    if (rc == 127 && wrote && strcmp(out, "-")) remove(out);
    free(cmdline);
    cli_args_free(&a);
    return rc;
}
