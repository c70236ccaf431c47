/* kperf spe-decode / spe-record: Arm SPE from the command line.
 *
 *   kperf spe-decode [--packets] [--midr 0xMIDR] [--time-zero N --time-mult N --time-shift N]
 *                    [--pid-from-context] FILE|-
 *       decodes raw AUX bytes (what lies between aux_tail and aux_head) on any machine and
 *       prints one line per complete record, or with --packets one line per packet.
 */
#include "kperf_cli.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct spe_out {
    FILE *f;
    uint64_t midr;
    unsigned long long nrec;
    bool show_time, show_tid;
} spe_out;

static int print_packet(const kperf_spe_packet *p, uint64_t off, const uint8_t *bytes, void *user) {
    spe_out *o = (spe_out *)user;
    char hex[64] = "", desc[256];
    size_t n = 0;
    for (unsigned i = 0; i < p->size && i < 16; i++)
        n += (size_t)snprintf(hex + n, sizeof hex - n, "%02x ", bytes[i]);
    kperf_spe_packet_desc(p, o->midr, desc, sizeof desc);
    fprintf(o->f, "%08llx  %-48s  %s\n", (unsigned long long)off, hex, desc);
    return ferror(o->f) ? -EIO : 0;
}

static int print_record(const kperf_spe_record *r, void *user) {
    spe_out *o = (spe_out *)user;
    char line[2048];
    if (r->flags & (KPERF_SPE_REC_INCOMPLETE | KPERF_SPE_REC_DAMAGED)) {
        kperf_spe_record_fields(r, line, sizeof line);
        if (r->flags & KPERF_SPE_REC_DAMAGED)
            fprintf(o->f, "# damaged record at 0x%08llx (cut by an unknown byte): %s\n",
                    (unsigned long long)r->offset, line);
        else
            fprintf(o->f, "# trailing incomplete record (no TS/END): %s\n", line);
        return ferror(o->f) ? -EIO : 0;
    }
    kperf_spe_record_format(r, line, sizeof line);
    fprintf(o->f, "rec%llu %s", o->nrec++, line);
    if (o->show_time && (r->flags & KPERF_SPE_REC_TIME))
        fprintf(o->f, " time=%llu", (unsigned long long)r->time);
    if (o->show_tid && (r->flags & KPERF_SPE_REC_TID)) fprintf(o->f, " tid=%d", r->tid);
    fputc('\n', o->f);
    return ferror(o->f) ? -EIO : 0;
}

enum { SD_PACKETS = CLI_LONG_ONLY, SD_PID_CTX, SD_MIDR, SD_TZERO, SD_TMULT, SD_TSHIFT };

static const cli_opt spe_decode_opts[] = {
    {SD_PACKETS, "packets", NULL, "one line per packet (default: per complete record)"},
    {SD_MIDR, "midr", "MIDR", "the CPU's MIDR_EL1 (data-source tables)"},
    {SD_TZERO, "time-zero", "N", "perf clock conversion: time_zero"},
    {SD_TMULT, "time-mult", "N", "perf clock conversion: time_mult"},
    {SD_TSHIFT, "time-shift", "N", "perf clock conversion: time_shift"},
    {SD_PID_CTX, "pid-from-context", NULL, "take the thread from CONTEXT packets"},
    {0, NULL, NULL, NULL}};

static const cli_cmd spe_decode_cmd = {
    "spe-decode", "[options] FILE|-",
    "Decodes raw Arm SPE AUX bytes (what lies between aux_tail and aux_head), on any\n"
    "machine: one line per complete record, or with --packets one line per packet.",
    spe_decode_opts, CLI_OPERANDS, NULL};

typedef struct spe_decode_state {
    spe_out *o;
    kperf_spe_clock *clk;
    kperf_spe_decoder_desc *desc;
    bool packets;
} spe_decode_state;

static int spe_u64(const char *opt, const char *v, uint64_t max, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (end == v || *end || errno || x > max || v[0] == '-')
        return fprintf(stderr, "kperf spe-decode: %s wants a number up to %llu, not '%s'\n", opt,
                       (unsigned long long)max, v), -1;
    *out = x;
    return 0;
}

static int spe_decode_opt(int key, const char *v, void *user) {
    spe_decode_state *st = (spe_decode_state *)user;
    uint64_t x;
    switch (key) {
    case SD_PACKETS: st->packets = true; return 0;
    case SD_PID_CTX: st->desc->pid_from_context = st->o->show_tid = true; return 0;
    case SD_MIDR: return spe_u64("--midr", v, UINT64_MAX, &st->o->midr);
    case SD_TZERO: return spe_u64("--time-zero", v, UINT64_MAX, &st->clk->time_zero) ? -1 : (st->o->show_time = true, 0);
    case SD_TMULT:
        if (spe_u64("--time-mult", v, UINT32_MAX, &x)) return -1;
        return st->clk->time_mult = (uint32_t)x, st->o->show_time = true, 0;
    case SD_TSHIFT:
        if (spe_u64("--time-shift", v, 63, &x)) return -1;
        return st->clk->time_shift = (uint16_t)x, st->o->show_time = true, 0;
    }
    return 1;
}

/* Streams the file through the decoder in chunks, so packets straddle reads. */
static int spe_decode_file(const char *path, kperf_spe_decoder *d) {
    FILE *in = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!in) return fprintf(stderr, "kperf spe-decode: cannot open %s: %s\n", path, strerror(errno)), 1;
    uint8_t buf[65536];
    size_t n;
    int rc = 0;
    while (rc >= 0 && (n = fread(buf, 1, sizeof buf, in)) > 0) rc = kperf_spe_decoder_parse(d, buf, n);
    if (rc >= 0 && ferror(in)) rc = -EIO;
    if (in != stdin) fclose(in);
    if (rc >= 0) rc = kperf_spe_decoder_finish(d);
    if (rc < 0) return fprintf(stderr, "kperf spe-decode: %s: %s\n", path, kperf_strerror(rc)), 1;
    return 0;
}

int cmd_spe_decode(int argc, char **argv) {
    spe_out o = {stdout, 0, 0, false, false};
    kperf_spe_clock clk;
    memset(&clk, 0, sizeof clk);
    kperf_spe_decoder_desc desc;
    memset(&desc, 0, sizeof desc);
    spe_decode_state ds = {&o, &clk, &desc, false};
    cli_args ca;
    int prc = cli_parse(&spe_decode_cmd, argc, argv, &ca, spe_decode_opt, &ds);
    if (prc != CLI_OK) return prc == CLI_HELP ? 0 : 2;
    bool packets = ds.packets;
    const char *path = ca.nrest == 1 ? ca.rest[0] : NULL;
    cli_args_free(&ca);
    if (!path) return cli_usage_error("spe-decode", "give one FILE (or - for stdin)");
    clk.cap_user_time_zero = o.show_time;
    desc.clock = o.show_time ? &clk : NULL;
    desc.midr = o.midr;
    desc.user = &o;
    desc.deliver_partial = true;
    if (packets) desc.on_packet = print_packet;
    else desc.on_record = print_record;
    fprintf(o.f, packets ? "# offset  bytes  description (perf-style, generated by tools/spe_ref_decode.py)\n"
                         : "# complete records (terminated by TS or END); perf-style kernel address fix-ups applied\n");
    kperf_spe_decoder *d;
    if (kperf_spe_decoder_new(&d, &desc) < 0) return cli_fail(argv[0]);
    int rc = spe_decode_file(path, d);
    kperf_spe_decoder_stats st;
    kperf_spe_decoder_stats_read(d, &st);
    kperf_spe_decoder_free(d);
    if (rc == 0 && !packets && st.bad_bytes)
        fprintf(o.f, "# skipped %llu unknown bytes\n", (unsigned long long)st.bad_bytes);
    if (rc == 0 && !packets && st.truncated_bytes)
        fprintf(o.f, "# dropped %llu bytes of a packet cut by the end of the data\n",
                (unsigned long long)st.truncated_bytes);
    return rc;
}

/* ---- spe-record ------------------------------------------------------------------------ */

enum { SR_PLAN = CLI_LONG_ONLY, SR_KERNEL, SR_SWITCH, SR_DISCARD, SR_SYMBOLIZE, SR_SYSFS,
       SR_PMU, SR_TERMS, SR_FILTER, SR_DATA_FILTER, SR_EV_FILTER, SR_INV_EV_FILTER,
       SR_MIN_LAT, SR_PERIOD, SR_AUX_PAGES };

static const cli_opt spe_record_opts[] = {
    {SR_PLAN, "plan", NULL, "print every fd's perf_event_attr (as stat --plan); open nothing"},
    {SR_SYSFS, "sysfs", "ROOT", "read PMUs from ROOT/sys (fake trees, with --plan)"},
    {SR_PMU, "pmu", "NAME", "the SPE PMU (default: the first arm_spe_N)"},
    {SR_FILTER, "filter", "LIST", "ts,pa,pct,jitter,branch,load,store"},
    {SR_DATA_FILTER, "data-filter", "N", "the data filter as a number"},
    {SR_EV_FILTER, "event-filter", "EVS|N", "keep records with these events"},
    {SR_INV_EV_FILTER, "inv-event-filter", "EVS|N", "drop records with these events"},
    {SR_MIN_LAT, "min-latency", "N", "keep records with at least N cycles of latency"},
    {SR_DISCARD, "discard", NULL, "count only, discard the records"},
    {SR_TERMS, "terms", "NAME=V,...", "raw format terms"},
    {SR_PERIOD, "period", "N", "the sampling interval"},
    {SR_AUX_PAGES, "aux-pages", "N", "AUX area pages"},
    {SR_KERNEL, "kernel", NULL, "also kernel code"},
    {SR_SWITCH, "switch", NULL, "context switch records (pid/tid without CONTEXT packets)"},
    {SR_SYMBOLIZE, "symbolize", NULL, "name each record's function"},
    {0, NULL, NULL, NULL}};

static const cli_cmd spe_record_cmd = {
    "spe-record", "[options]",
    "Records Arm SPE and prints one line per record (the spe-decode format plus cpu=, pid=,\n"
    "tid=), for -d SECS (default 1).",
    spe_record_opts, CLI_PID | CLI_TID | CLI_CPU | CLI_DURATION,
    "EV names: retired, l1d-refill, tlb-refill, mispred, ... (kperf spe-decode wording).\n"};

/* "ts,pa,branch" -> libkperf dataFilter bits. */
static int parse_data_filter(const char *s, uint64_t *out) {
    static const struct { const char *n; uint64_t b; } t[] = {
        {"ts", KPERF_SPE_TS_ENABLE}, {"pa", KPERF_SPE_PA_ENABLE}, {"pct", KPERF_SPE_PCT_ENABLE},
        {"jitter", KPERF_SPE_JITTER}, {"branch", KPERF_SPE_BRANCH_FILTER},
        {"load", KPERF_SPE_LOAD_FILTER}, {"store", KPERF_SPE_STORE_FILTER}, {"all", KPERF_SPE_DATA_ALL}};
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < sizeof t / sizeof t[0] && strcmp(t[i].n, w)) i++;
        if (i == sizeof t / sizeof t[0]) return fprintf(stderr, "kperf spe-record: unknown filter '%s' (ts, pa, pct, jitter, branch, load, store, all)\n", w), -1;
        *out |= t[i].b;
    }
    return 0;
}

/* "retired,l1d-refill" or a number -> EVENTS bits. */
static int parse_events(const char *s, uint64_t *out) {
    char *end;
    uint64_t v = strtoull(s, &end, 0);
    if (end != s && !*end) return *out = v, 0;
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        unsigned bit = 0;
        while (bit < 64 && !(kperf_spe_event_name(bit, 0) && !strcasecmp(kperf_spe_event_name(bit, 0), w))) bit++;
        if (bit == 64) return fprintf(stderr, "kperf spe-record: unknown SPE event '%s'\n", w), -1;
        *out |= 1ull << bit;
    }
    return 0;
}

/* Live records: the spe-decode line with cpu/pid/tid, and the function of the pc when a
 * symbolizer is given (through kperf_sample, like any sample). */
static int print_live_record(const kperf_spe_record *r, void *user) {
    kperf_symbolizer *sym = (kperf_symbolizer *)user;
    char line[2048];
    kperf_spe_record_format(r, line, sizeof line);
    printf("cpu=%d pid=%d tid=%d %s", r->cpu, r->pid, r->tid, line);
    kperf_sample smp;
    kperf_spe_record_to_sample(r, 0, &smp);
    kperf_frame fr[8];
    if (sym && (smp.fields & KPERF_SAMPLE_IP)) {
        int n = kperf_symbolizer_lookup(sym, (pid_t)(r->pid >= 0 ? r->pid : r->tid), smp.ip, fr, 8);
        if (n > 0 && fr[n - 1].function) printf(" sym=%s", fr[n - 1].function);
    }
    putchar('\n');
    return 0;
}

static int spe_record_run(kperf_spe_desc *d, double seconds, bool symbolize, const char *cmd) {
    kperf_spe *s;
    kperf_symbolizer *sym = NULL;
    if (kperf_spe_open(&s, d) < 0) return cli_fail(cmd);
    if (symbolize) {
        kperf_symbolizer_desc sd;
        memset(&sd, 0, sizeof sd);
        sd.include_kernel = d->include_kernel;
        if (kperf_symbolizer_open(&sym, &sd) < 0) return kperf_spe_close(s), cli_fail(cmd);
    }
    if (kperf_spe_start(s) < 0) return kperf_spe_close(s), kperf_symbolizer_close(sym), cli_fail(cmd);
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        struct timespec nap = {0, 100 * 1000 * 1000};
        nanosleep(&nap, NULL);
        if (kperf_spe_read(s, print_live_record, sym) < 0) break;
        clock_gettime(CLOCK_MONOTONIC, &now);
    } while ((double)(now.tv_sec - t0.tv_sec) + (now.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
    kperf_spe_stop(s);
    kperf_spe_read(s, print_live_record, sym);
    kperf_spe_stats st;
    kperf_spe_stats_read(s, &st);
    fprintf(stderr, "kperf spe-record: %llu records, %llu AUX bytes, %llu truncated, %llu partial, "
                    "%llu collisions, %llu lost\n",
            (unsigned long long)st.decoder.records, (unsigned long long)st.aux_bytes,
            (unsigned long long)st.truncated, (unsigned long long)st.partial,
            (unsigned long long)st.collision, (unsigned long long)st.lost);
    kperf_spe_close(s);
    kperf_symbolizer_close(sym);
    return 0;
}

typedef struct spe_record_state {
    kperf_spe_desc *d;
    bool plan, symbolize;
} spe_record_state;

static int spe_record_num(const char *opt, const char *v, uint64_t max, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 0);
    if (end == v || *end || errno || x > max || v[0] == '-')
        return fprintf(stderr, "kperf spe-record: %s wants a number up to %llu, not '%s'\n", opt,
                       (unsigned long long)max, v), -1;
    *out = x;
    return 0;
}

static int spe_record_opt(int key, const char *v, void *user) {
    spe_record_state *st = (spe_record_state *)user;
    kperf_spe_desc *d = st->d;
    uint64_t x;
    int bad = 0;
    switch (key) {
    case SR_PLAN: st->plan = true; return 0;
    case SR_KERNEL: d->include_kernel = true; return 0;
    case SR_SWITCH: d->context_switch = true; return 0;
    case SR_DISCARD: d->discard = true; return 0;
    case SR_SYMBOLIZE: st->symbolize = true; return 0;
    case SR_SYSFS: d->sysfs_root = v; return 0;
    case SR_PMU: d->pmu = v; return 0;
    case SR_TERMS: d->terms = v; return 0;
    case SR_FILTER: bad = parse_data_filter(v, &d->data_filter); break;
    case SR_DATA_FILTER: return spe_record_num("--data-filter", v, UINT64_MAX, &d->data_filter);
    case SR_EV_FILTER: bad = parse_events(v, &d->event_filter); break;
    case SR_INV_EV_FILTER: bad = parse_events(v, &d->inv_event_filter); break;
    case SR_MIN_LAT:
        if (spe_record_num("--min-latency", v, UINT32_MAX, &x)) return -1;
        return d->min_latency = (uint32_t)x, 0;
    case SR_PERIOD: return spe_record_num("--period", v, UINT64_MAX, &d->period);
    case SR_AUX_PAGES:
        if (spe_record_num("--aux-pages", v, 1u << 30, &x)) return -1;
        return d->aux_pages = (size_t)x, 0;
    default: return 1;
    }
    if (bad) fprintf(stderr, "kperf spe-record: bad value '%s'; see 'kperf spe-record --help'\n", v);
    return bad ? -1 : 0;
}

int cmd_spe_record(int argc, char **argv) {
    kperf_spe_desc d;
    memset(&d, 0, sizeof d);
    spe_record_state st = {&d, false, false};
    static cli_args ca; /* its arrays live until exit: d points into them */
    int prc = cli_parse(&spe_record_cmd, argc, argv, &ca, spe_record_opt, &st);
    if (prc != CLI_OK) return prc == CLI_HELP ? 0 : 2;
    if (ca.ntids) /* the shared -t means threads everywhere: refuse it rather than widen */
        return cli_usage_error(argv[0], "-t is not supported: SPE follows processes (-p) or "
                                        "CPUs (-C)");
    d.cpus = ca.cpus, d.ncpus = ca.ncpus, d.pids = ca.pids, d.npids = ca.npids;
    bool plan = st.plan, symbolize = st.symbolize;
    double seconds = ca.duration > 0 ? ca.duration : 1.0;
    if (!plan) return spe_record_run(&d, seconds, symbolize, argv[0]);
    kperf_plan *pl;
    if (kperf_spe_plan_open(&pl, &d) < 0) return cli_fail(argv[0]);
    char line[1024];
    for (size_t i = 0; i < pl->nentries; i++) {
        kperf_plan_format(pl, i, line, sizeof line);
        printf("%s\n", line);
    }
    kperf_plan_free(pl);
    return 0;
}
