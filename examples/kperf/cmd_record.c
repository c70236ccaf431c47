/* kperf record: sample a command, processes or CPUs into perf.data and/or folded stacks.
 *
 *   kperf record [-e EV] [-F HZ | -c PERIOD] [-g | --call-graph fp|dwarf[,SIZE]]
 *                [-p PID,.. | -a | -C CPUS] [-o FILE] [--folded FILE] [--pprof FILE]
 *                [-m PAGES] [--kernel]
 *                [-- command args]
 */
#include "kperf_cli.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t record_stop;
static void record_on_signal(int sig) {
    (void)sig;
    record_stop = 1;
}

static int record_usage(FILE *f) {
    fprintf(f,
            "usage: kperf record [options] [-- command [args]]\n"
            "  -e, --event EV      event spec (default cpu-clock)\n"
            "  -F, --freq HZ       samples per second (default 1000)\n"
            "  -c, --count N       sample every N events (instead of -F)\n"
            "  -g                  record call chains (frame pointers)\n"
            "      --call-graph M  fp (as -g), or dwarf[,SIZE]: user registers and SIZE bytes\n"
            "                      of stack (default 8192) per sample, unwound with DWARF CFI\n"
            "                      by kperf report / perf report (code without frame pointers)\n"
            "  -p, --pid PIDS      sample running processes (comma list)\n"
            "  -a, --all-cpus      sample every CPU (system-wide)\n"
            "  -C, --cpu CPUS      sample these CPUs (e.g. 0-3,6)\n"
            "  -o, --output FILE   perf.data output (default perf.data; '-' = stdout)\n"
            "      --folded FILE   also write folded stacks (only them when -o is not given)\n"
            "      --pprof FILE    also write a pprof profile (gzip'd profile.proto), named\n"
            "                      and with call chains (only it when -o is not given)\n"
            "  -m, --mmap-pages N  ring pages per CPU, a power of two (default 128)\n"
            "      --kernel        also sample kernel code (needs perf_event_paranoid <= 1)\n"
            "With a command and no -p/-a/-C, the command is sampled (children included).\n"
            "With -p/-a/-C, a command only sets the duration; without one, Ctrl-C stops.\n");
    return f == stderr ? 2 : 0;
}

/* Comma list of integers ("1,2,3") into a malloc'd array. */
static int record_ints(const char *s, int **out, size_t *n) {
    *n = 0;
    *out = (int *)calloc(strlen(s) + 1, sizeof **out);
    if (!*out) return -1;
    for (char *e; *s; s = *e ? e + 1 : e) {
        long v = strtol(s, &e, 10);
        if (e == s || (*e && *e != ',')) return -1;
        (*out)[(*n)++] = (int)v;
    }
    return 0;
}

static int record_cpus(const char *s, int **out, size_t *n) {
    size_t cap = 64;
    *n = 0;
    *out = (int *)calloc(cap, sizeof **out);
    while (*out && *s) {
        char *e;
        long a = strtol(s, &e, 10), b = a;
        if (e == s) return -1;
        if (*e == '-') b = strtol(e + 1, &e, 10);
        for (long c = a; c <= b && c - a < 4096; c++) {
            if (*n == cap) *out = (int *)realloc(*out, (cap *= 2) * sizeof **out);
            if (!*out) return -1;
            (*out)[(*n)++] = (int)c;
        }
        if (*e && *e != ',') return -1;
        s = *e ? e + 1 : e;
    }
    return *out ? 0 : -1;
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
    uint64_t regs_mask; /* --call-graph dwarf: the registers samples carry */
    uint64_t samples;
    int err;
} record_ctx;

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
    if (rec->type != KPERF_RECORD_SAMPLE) return 0;
    c->samples++;
    kperf_sample smp = rec->sample;
    uint64_t ips[512];
    int n = (c->fold || c->pp) && smp.stack ? kperf_symbolizer_unwind(c->sym, &smp, c->regs_mask, ips, 512)
                                 : 0;
    if (n > 0) smp.ips = ips, smp.nips = (uint32_t)n; /* DWARF call graph */
    if (c->fold && kperf_folded_add(c->fold, &smp, kperf_sampler_comm(c->s, rec->tid)) < 0)
        return c->err = -1;
    if (c->pp && kperf_pprof_add(c->pp, &smp, kperf_sampler_comm(c->s, rec->tid)) < 0)
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
    return snprintf(buf, n, "%s", fr[nf - 1].function);
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
static bool record_pids_alive(const int *pids, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (kill(pids[i], 0) == 0 || errno == EPERM) return true;
    return false;
}

int cmd_record(int argc, char **argv) {
    static const struct option opts[] = {
        {"event", required_argument, 0, 'e'},   {"freq", required_argument, 0, 'F'},
        {"count", required_argument, 0, 'c'},   {"call-graph", required_argument, 0, 'G'},
        {"pid", required_argument, 0, 'p'},     {"all-cpus", no_argument, 0, 'a'},
        {"cpu", required_argument, 0, 'C'},     {"output", required_argument, 0, 'o'},
        {"folded", required_argument, 0, 'f'},  {"mmap-pages", required_argument, 0, 'm'},
        {"kernel", no_argument, 0, 'k'},        {"help", no_argument, 0, 'h'},
        {"pprof", required_argument, 0, 'P'},
        {0, 0, 0, 0}};
    kperf_sampler_desc d;
    memset(&d, 0, sizeof d);
    const char *out = NULL, *folded = NULL, *pprof = NULL;
    int *pids = NULL, *cpus = NULL, opt;
    size_t npids = 0, ncpus = 0;
    optind = 1;
    while ((opt = getopt_long(argc, argv, "+e:F:c:gp:aC:o:m:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'e': d.events = optarg; break;
        case 'F': d.freq = strtoull(optarg, NULL, 10); break;
        case 'c': d.period = strtoull(optarg, NULL, 10); break;
        case 'g': d.callchain = true; break;
        case 'G':
            if (record_call_graph(optarg, &d))
                return fprintf(stderr, "kperf record: --call-graph takes fp or dwarf[,SIZE] "
                               "(SIZE 8..65528), not '%s'\n", optarg), 2;
            break;
        case 'p':
            if (record_ints(optarg, &pids, &npids)) return fprintf(stderr, "kperf record: bad -p '%s'\n", optarg), 2;
            break;
        case 'a': d.all_cpus = true; break;
        case 'C':
            if (record_cpus(optarg, &cpus, &ncpus)) return fprintf(stderr, "kperf record: bad -C '%s'\n", optarg), 2;
            break;
        case 'o': out = optarg; break;
        case 'f': folded = optarg; break;
        case 'P': pprof = optarg; break;
        case 'm': d.ring_pages = (uint32_t)strtoul(optarg, NULL, 10); break;
        case 'k': d.include_kernel = true; break;
        case 'h': return record_usage(stdout);
        default: return record_usage(stderr);
        }
    }
    char **cmd = argv + optind;
    int ncmd = argc - optind;
    bool targets = npids || ncpus || d.all_cpus;
    if (!ncmd && !targets) return record_usage(stderr);
    if (!out && !folded && !pprof) out = "perf.data";
    cli_child cc = {0, -1, -1, out && !strcmp(out, "-")}; /* -o -: stdout is the data */
    if (ncmd && !targets) {
        if (cli_spawn(cmd, &cc) < 0) return record_spawn_failed(cmd[0]), 1;
        d.pids = &cc.pid, d.npids = 1, d.inherit = true, d.enable_on_exec = true;
    } else {
        d.pids = (const pid_t *)pids, d.npids = npids;
        d.cpus = cpus, d.ncpus = ncpus;
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
        kperf_perfdata_desc pd = {.path = out, .sampler = c.s, .pids = d.pids, .npids = d.npids,
                                  .all_processes = ncpus || d.all_cpus, .cmdline = cmdline};
        if (child > 0) pd.pids = NULL, pd.npids = 0; /* the exec describes it */
        if (kperf_perfdata_open(&c.w, &pd) < 0) goto fail;
        wrote = true;
    }
    if (folded || pprof) {
        kperf_symbolizer_open(&c.sym, &(kperf_symbolizer_desc){.mode = KPERF_SYMBOL_DELAYED,
                                                               .include_kernel = d.include_kernel});
        if (folded && kperf_folded_open(&c.fold, c.sym ? record_frame_name : NULL, c.sym) < 0)
            goto fail;
        kperf_pprof_desc ppd = {.symbolizer = c.sym, .event = d.events, .period = d.period,
                                .comment = cmdline};
        if (pprof && kperf_pprof_open(&c.pp, &ppd) < 0) goto fail;
        c.regs_mask = d.regs_user_mask;
        for (size_t i = 0; c.sym && i < npids; i++) kperf_symbolizer_add_pid(c.sym, pids[i]);
    }
    /* no SA_RESTART: a blocked call returns EINTR and the loop sees the flag; a second
     * signal terminates (SA_RESETHAND) */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = record_on_signal;
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!child && kperf_sampler_start(c.s) < 0) goto fail;
    if (!child && ncmd && cli_spawn(cmd, &cc) < 0) { /* pipe() or fork() failed */
        record_spawn_failed(cmd[0]);
        done = true; /* said (rc stays 1): not cli_fail's stale message */
        goto fail;
    }
    if (cc.pid > 0) {
        int e = cli_spawn_go(&cc, true);
        if (e) { /* the command does not exist: say so once, leave no file behind */
            fprintf(stderr, "kperf record: cannot run '%s': %s\n", cmd[0], strerror(e));
            waitpid(cc.pid, NULL, 0);
            cc.pid = child = -1;
            rc = 127; /* as a shell says it */
            goto fail;
        }
    }
    struct pollfd p = {kperf_sampler_fd(c.s), POLLIN, 0};
    bool reaped = false;
    while (!record_stop) {
        poll(&p, 1, 100);
        if (record_drain(&c) < 0) goto fail;
        if (cc.pid > 0 && waitpid(cc.pid, &status, WNOHANG) == cc.pid) {
            reaped = true;
            break;
        }
        if (cc.pid <= 0 && npids && !record_pids_alive(pids, npids)) break;
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
    kperf_folded_close(c.fold);
    kperf_pprof_close(c.pp);
    kperf_symbolizer_close(c.sym);
    kperf_sampler_close(c.s);
    if (cc.pid > 0 && cc.go >= 0) cli_spawn_go(&cc, false); /* never ran: let it exit */
    else if (cc.pid > 0) kill(cc.pid, SIGKILL), waitpid(cc.pid, NULL, 0);
    if (rc == 127 && wrote && strcmp(out, "-")) remove(out);
    free(cmdline);
    free(pids);
    free(cpus);
    return rc;
}
