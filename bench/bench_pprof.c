/* bench_pprof: what does writing a pprof profile add to `kperf report`?
 *
 * usage: bench_pprof [BUILD_DIR]          (markdown on stdout)
 * Builds tests/progs/count_getpid.c, records 1,000,000 samples with call chains
 * (`kperf record -e syscalls:sys_enter_getpid -c 1 -g`: one sample per getpid call, an
 * exact count), then runs `kperf report` and `kperf report --pprof FILE` on that file
 * alternately, 5 times each, and compares their CPU time (user + system of the child, from
 * wait4: steadier than wall time on a shared machine) and wall time. */
#define _GNU_SOURCE 1
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define RUNS 15

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs argv with stdout and stderr to /dev/null; returns its CPU seconds (-1 on failure)
 * and its wall seconds in *wall. */
static double run(char **argv, double *wall) {
    double t0 = now();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1), dup2(fd, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st)) return -1;
    *wall = now() - t0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v) {
    qsort(v, RUNS, sizeof *v, cmp);
    return v[RUNS / 2];
}

/* ---- in process: the pprof phase alone, on the samples of the file ---- */
typedef struct bctx {
    kperf_symbolizer *sym;
    kperf_sample *v;
    uint64_t *ips;
    size_t n, cap, nips, capips;
} bctx;

static int on_record(const kperf_record *rec, void *user) {
    bctx *c = (bctx *)user;
    if (rec->type == KPERF_RECORD_MMAP2 || rec->type == KPERF_RECORD_MMAP) {
        if (rec->mmap.pid == UINT32_MAX) return 0;
        kperf_module_desc md = {.pid = (pid_t)rec->mmap.pid, .start = rec->mmap.addr,
                                .len = rec->mmap.len, .pgoff = rec->mmap.pgoff,
                                .path = rec->mmap.filename};
        kperf_symbolizer_add_module(c->sym, &md);
        return 0;
    }
    if (rec->type != KPERF_RECORD_SAMPLE) return 0;
    if (c->n == c->cap && !(c->v = (kperf_sample *)realloc(c->v, (c->cap = c->cap ? c->cap * 2 : 1024) * sizeof *c->v)))
        return -ENOMEM;
    if (c->nips + rec->sample.nips > c->capips) {
        while (c->nips + rec->sample.nips > c->capips) c->capips = c->capips ? c->capips * 2 : 4096;
        if (!(c->ips = (uint64_t *)realloc(c->ips, c->capips * sizeof *c->ips))) return -ENOMEM;
    }
    kperf_sample *o = &c->v[c->n++];
    memset(o, 0, sizeof *o);
    o->pid = rec->sample.pid, o->tid = rec->sample.tid, o->period = rec->sample.period;
    o->nips = rec->sample.nips;
    o->ips = (const uint64_t *)(uintptr_t)c->nips; /* an offset until the array stops moving */
    memcpy(c->ips + c->nips, rec->sample.ips, rec->sample.nips * sizeof *c->ips);
    c->nips += rec->sample.nips;
    return 0;
}

/* Milliseconds of the fastest of RUNS passes of kperf_pprof_add over every sample plus
 * kperf_pprof_encode (symbolizer warm after the first pass). */
static double pprof_phase(const char *data, size_t *nsamples) {
    bctx c;
    memset(&c, 0, sizeof c);
    kperf_symbolizer_open(&c.sym, &(kperf_symbolizer_desc){.mode = KPERF_SYMBOL_DELAYED});
    if (kperf_perfdata_read(data, on_record, &c, NULL) < 0) return -1;
    for (size_t i = 0; i < c.n; i++) c.v[i].ips = c.ips + (uintptr_t)c.v[i].ips;
    double best = 1e9;
    for (int r = 0; r < RUNS; r++) {
        kperf_pprof *p;
        double t0 = now();
        kperf_pprof_new(&p, &(kperf_pprof_desc){.symbolizer = c.sym, .event = "x"});
        for (size_t i = 0; i < c.n; i++) kperf_pprof_add(p, &c.v[i], "count_getpid");
        uint8_t *buf;
        size_t len;
        kperf_pprof_encode(p, &buf, &len);
        kperf_pprof_buffer_free(buf);
        kperf_pprof_free(p);
        double t = now() - t0;
        if (t < best) best = t;
    }
    *nsamples = c.n;
    free(c.v);
    free(c.ips);
    kperf_symbolizer_close(c.sym);
    return best * 1e3;
}

int main(int argc, char **argv) {
    const char *b = argc > 1 ? argv[1] : "build";
    char dir[] = "/tmp/bench_pprof.XXXXXX", kperf[1024], prog[256], data[256], out[256], cmd[4096];
    if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    snprintf(kperf, sizeof kperf, "%s/kperf", b);
    snprintf(prog, sizeof prog, "%s/count_getpid", dir);
    snprintf(data, sizeof data, "%s/m.data", dir);
    snprintf(out, sizeof out, "%s/m.pb.gz", dir);
    snprintf(cmd, sizeof cmd, "cc -O1 -g -fno-omit-frame-pointer -o %s tests/progs/count_getpid.c "
             "-lpthread && %s record -e syscalls:sys_enter_getpid -c 1 -g -m 2048 -o %s -- %s "
             "1000000 >/dev/null 2>&1", prog, kperf, data, prog);
    if (system(cmd) != 0) {
        fprintf(stderr, "bench_pprof: recording failed (tracefs, perf_event_paranoid?)\n");
        return 1;
    }
    char *plain[] = {kperf, (char *)"report", (char *)"-i", data, NULL};
    char *pp[] = {kperf, (char *)"report", (char *)"-i", data, (char *)"--pprof", out, NULL};
    double c0[RUNS], c1[RUNS], w0[RUNS], w1[RUNS], pair[RUNS];
    for (int i = 0; i < RUNS; i++) { /* alternating order, so a slow spell hits both */
        if (i & 1) c1[i] = run(pp, &w1[i]), c0[i] = run(plain, &w0[i]);
        else c0[i] = run(plain, &w0[i]), c1[i] = run(pp, &w1[i]);
        if (c0[i] < 0 || c1[i] < 0) return fprintf(stderr, "bench_pprof: kperf report failed\n"), 1;
        pair[i] = c1[i] / c0[i];
    }
    double mpair = median(pair);
    struct stat st;
    long long dsz = stat(data, &st) == 0 ? (long long)st.st_size : -1;
    long long psz = stat(out, &st) == 0 ? (long long)st.st_size : -1;
    double mc0 = median(c0), mc1 = median(c1), mw0 = median(w0), mw1 = median(w1);
    size_t ns = 0;
    double phase = pprof_phase(data, &ns);
    printf("## pprof output (bench_pprof)\n\n");
    printf("`kperf report` against `kperf report --pprof FILE` on one recording of 1,000,000 "
           "samples with call chains (`kperf record -e syscalls:sys_enter_getpid -c 1 -g` of "
           "`count_getpid 1000000`, %.0f MB); %d pairs of runs, back to back in alternating order; medians. `--pprof` "
           "does all that `kperf report` does plus the pprof profile (%.1f KB gzip'd).\n\n",
           (double)dsz / 1e6, RUNS, (double)psz / 1e3);
    printf("| | CPU s (user+sys), median | fastest | wall s, median |\n|---|---:|---:|---:|\n");
    printf("| `kperf report` | %.3f | %.3f | %.3f |\n", mc0, c0[0], mw0);
    printf("| `kperf report --pprof` | %.3f | %.3f | %.3f |\n", mc1, c1[0], mw1);
    printf("| pprof's cost | %+.1f%% | %+.1f%% | %+.1f%% |\n\n", 100.0 * (mc1 - mc0) / mc0,
           100.0 * (c1[0] - c0[0]) / c0[0], 100.0 * (mw1 - mw0) / mw0);
    printf("Median over the %d pairs of (CPU with --pprof) / (CPU without): **%+.1f%%**, the "
           "figure the goal (at most +5%%) is judged by.\n\n", RUNS, 100.0 * (mpair - 1.0));
    printf("The pprof phase alone, in process (kperf_pprof_add() of the file's %zu samples, "
           "then kperf_pprof_encode(), fastest of %d): **%.1f ms**, %.1f%% of the median "
           "`kperf report` CPU time above (%.0f ns per sample).\n\n", ns, RUNS, phase,
           100.0 * phase / 1e3 / mc0, ns ? phase * 1e6 / (double)ns : 0.0);
    printf("Samples with the same stack and labels merge as they are added and each address "
           "is symbolized once, so the cost grows with distinct stacks and addresses, not "
           "with samples. Reproduce: `make bench` (or `build/bench/bench_pprof build`).\n");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return 0;
}
