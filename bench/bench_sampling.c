/* bench_sampling: how fast kperf decodes ring records, and what sampling costs a workload.
 *
 *   build/bench/bench_sampling [BUILD_DIR]      prints a markdown section on stdout
 *
 * 1. Records decoded per second from a synthetic ring (plain ip+tid+time samples, and
 *    samples with 32-frame call chains), through the same reader the live sampler uses;
 *    the same records are written as perf.data with kperf's writer and `perf script`
 *    decodes them in the same run.
 * 2. Slowdown of a CPU-bound workload (a fixed amount of work) sampled at 1 kHz and 10 kHz
 *    by `kperf record -g` and by `perf record -g` (user space, cpu-clock), best of 5. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* ---- the workload: fixed work, so that time measures overhead ---- */
static volatile unsigned long sink;
__attribute__((noinline)) static unsigned long work_leaf(unsigned long x) {
    for (int i = 0; i < 64; i++) x = x * 6364136223846793005ul + 1442695040888963407ul;
    return x;
}
__attribute__((noinline)) static void work(long n) {
    unsigned long x = 1;
    for (long i = 0; i < n; i++) x ^= work_leaf(x + (unsigned long)i);
    sink = x;
}

/* ---- synthetic records in a sampler's layout ---- */
typedef struct gen {
    uint64_t sample_type;
    uint64_t id;
    int frames; /* 0 = no call chain */
} gen;

/* Writes one sample at p; returns its size. */
static size_t gen_sample(const gen *g, uint64_t *p, uint64_t i) {
    size_t n = 1;
    if (g->sample_type & PERF_SAMPLE_IDENTIFIER) p[n++] = g->id;
    if (g->sample_type & PERF_SAMPLE_IP) p[n++] = 0x401000 + (i * 64) % 0x10000;
    if (g->sample_type & PERF_SAMPLE_TID) p[n++] = (uint64_t)1234 << 32 | 1234;
    if (g->sample_type & PERF_SAMPLE_TIME) p[n++] = 1000000000ull + i * 1000;
    if (g->sample_type & PERF_SAMPLE_CPU) p[n++] = i & 1;
    if (g->sample_type & PERF_SAMPLE_PERIOD) p[n++] = 1000000;
    if (g->sample_type & PERF_SAMPLE_CALLCHAIN) {
        p[n++] = (uint64_t)g->frames + 1;
        p[n++] = (uint64_t)-512; /* PERF_CONTEXT_USER */
        for (int k = 0; k < g->frames; k++) p[n++] = 0x401000 + (uint64_t)k * 0x100 + (i & 0xff);
    }
    struct perf_event_header h = {PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER, (uint16_t)(n * 8)};
    memcpy(p, &h, 8);
    return n * 8;
}

typedef struct decode_result {
    uint64_t records;
    double kperf_rps, perf_rps, perf_cut_rps;
    size_t bytes;
} decode_result;

static int count_cb(const kperf_record *r, void *user) {
    (*(uint64_t *)user) += r->sample.nips + 1;
    return 0;
}

/* Times `perf script` (output to /dev/null); returns seconds or -1. */
static double time_cmd(const char *cmd) {
    double t0 = now();
    int rc = system(cmd);
    double t = now() - t0;
    return rc == 0 ? t : -1;
}

static int decode_bench(const gen *g0, kperf_sampler *s, uint64_t nrec, decode_result *res) {
    gen g = *g0;
    g.sample_type = s->layout.sample_type;
    g.id = s->fds[0].id;
    size_t page = 4096, dsz = 1;
    uint64_t one[64];
    size_t recsz = gen_sample(&g, one, 0);
    while (dsz < nrec * recsz + 4096) dsz <<= 1;
    unsigned char *mem = NULL;
    if (posix_memalign((void **)&mem, page, page + dsz)) return -1;
    memset(mem, 0, page);
    struct perf_event_mmap_page *pg = (struct perf_event_mmap_page *)mem;
    uint64_t head = 0;
    for (uint64_t i = 0; i < nrec; i++) head += gen_sample(&g, (uint64_t *)(mem + page + head), i);
    pg->data_head = head;
    kperf_ring_desc d;
    memset(&d, 0, sizeof d);
    d.base = mem, d.size = page + dsz, d.data_offset = page, d.data_size = dsz;
    d.layout = s->layout;
    d.cpu = 0;
    double best = 1e9;
    uint64_t sum = 0;
    for (int rep = 0; rep < 5; rep++) {
        pg->data_tail = 0;
        kperf_ring *r;
        if (kperf_ring_open(&r, &d) < 0) return -1;
        double t0 = now();
        int n = kperf_ring_read(r, count_cb, &sum);
        double t = now() - t0;
        kperf_ring_close(r);
        if (n != (int)nrec) return fprintf(stderr, "decoded %d of %llu\n", n, (unsigned long long)nrec), -1;
        if (t < best) best = t;
    }
    res->records = nrec;
    res->kperf_rps = (double)nrec / best;
    res->bytes = head;
    /* the same records as perf.data, decoded by perf script */
    char path[] = "/tmp/kperf_bench_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    kperf_perfdata *w;
    if (kperf_perfdata_open(&w, &(kperf_perfdata_desc){.path = path, .sampler = s,
                                                       .no_kernel = true, .no_build_ids = true}) < 0)
        return -1;
    kperf_record rec;
    for (uint64_t off = 0; off < head;) {
        struct perf_event_header h;
        memcpy(&h, mem + page + off, 8);
        rec.type = h.type, rec.size = h.size, rec.bytes = mem + page + off;
        if (kperf_perfdata_write(w, &rec) < 0) return -1;
        off += h.size;
        if ((off / h.size) % 100000 == 0) kperf_perfdata_flush(w);
    }
    kperf_perfdata_flush(w);
    kperf_perfdata_close(w);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "perf script -i %s > /dev/null 2>&1", path);
    double t = time_cmd(cmd);
    res->perf_rps = t > 0 ? (double)nrec / t : 0;
    snprintf(cmd, sizeof cmd, "perf script -i %s -F tid,time,ip > /dev/null 2>&1", path);
    t = time_cmd(cmd);
    res->perf_cut_rps = t > 0 ? (double)nrec / t : 0;
    unlink(path);
    free(mem);
    (void)sum;
    return 0;
}

/* ---- slowdown ---- */
static const long WORK = 6000000; /* about 1 s of CPU on this VM */

static const char *times_path = "/tmp/kperf_bench_time.txt";

/* Runs argv; returns the workload's own time (it writes it to times_path), or -1. */
static double run_once(char *const argv[]) {
    unlink(times_path);
    pid_t p = fork();
    if (p == 0) {
        int nul = open("/dev/null", 1);
        if (nul >= 0) dup2(nul, 1), dup2(nul, 2);
        execv(argv[0], argv);
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    double t = -1;
    FILE *f = fopen(times_path, "r");
    if (f && fscanf(f, "%lf", &t) != 1) t = -1;
    if (f) fclose(f);
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? t : -1;
}

static double best_of(char *const argv[], int n) {
    double best = 1e9;
    for (int i = 0; i < n; i++) {
        double t = run_once(argv);
        if (t < 0) return -1;
        if (t < best) best = t;
    }
    return best;
}

int main(int argc, char **argv) {
    if (argc > 3 && !strcmp(argv[1], "--work")) { /* the workload: reports its own time */
        double t0 = now();
        work(atol(argv[2]));
        double t = now() - t0;
        FILE *f = fopen(argv[3], "w");
        if (!f) return 1;
        fprintf(f, "%.6f\n", t);
        return fclose(f) ? 1 : 0;
    }
    const char *bdir = argc > 1 ? argv[1] : "build";
    char self[1024], kperf[1024];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) return 1;
    self[n] = 0;
    snprintf(kperf, sizeof kperf, "%s/kperf", bdir);
    int have_perf = system("perf --version > /dev/null 2>&1") == 0;

    printf("## Sampling\n\n");
    printf("Reproduce: `make bench` (or `%s/bench/bench_sampling %s`). One run on this machine:\n"
           "records decoded per second from a synthetic ring by the reader the live sampler "
           "uses, against `perf script` decoding the same records written as perf.data by "
           "kperf's writer (default output, and `-F tid,time,ip`). `perf script` also formats "
           "and prints text, which the decode loop does not: the columns compare what a "
           "program gets from each, not equal work.\n\n", bdir, bdir);
    printf("| records | count | bytes | kperf (records/s) | perf script (records/s) | "
           "perf script -F tid,time,ip | kperf / perf script |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|\n");
    const struct {
        const char *name;
        bool chain;
        uint64_t n;
    } sets[] = {{"ip+tid+time", false, 1000000}, {"32-frame call chains", true, 200000}};
    for (size_t i = 0; i < 2; i++) {
        kperf_sampler *s;
        if (kperf_sampler_open(&s, &(kperf_sampler_desc){.callchain = sets[i].chain,
                                                         .no_sideband = true}) < 0) {
            printf("| %s | sampler: %s |\n", sets[i].name, kperf_errmsg());
            continue;
        }
        gen g = {0, 0, sets[i].chain ? 32 : 0};
        decode_result r;
        memset(&r, 0, sizeof r);
        int rc = decode_bench(&g, s, sets[i].n, &r);
        kperf_sampler_close(s);
        if (rc < 0) {
            printf("| %s | failed: %s |\n", sets[i].name, kperf_errmsg());
            continue;
        }
        char p1[32] = "n/a", p2[32] = "n/a", ratio[32] = "n/a";
        if (have_perf && r.perf_rps > 0) {
            snprintf(p1, sizeof p1, "%.3f M", r.perf_rps / 1e6);
            snprintf(ratio, sizeof ratio, "%.0fx", r.kperf_rps / r.perf_rps);
        }
        if (have_perf && r.perf_cut_rps > 0) snprintf(p2, sizeof p2, "%.3f M", r.perf_cut_rps / 1e6);
        printf("| %s | %llu | %zu | %.1f M | %s | %s | %s |\n", sets[i].name,
               (unsigned long long)r.records, r.bytes, r.kperf_rps / 1e6, p1, p2, ratio);
        fflush(stdout);
    }

    char work_n[32];
    snprintf(work_n, sizeof work_n, "%ld", WORK);
    char *base_argv[] = {self, (char *)"--work", work_n, (char *)times_path, NULL};
    double base = best_of(base_argv, 5);
    printf("\nSlowdown of a CPU-bound workload (a fixed %ld iterations, %.3f s alone, timed "
           "by the workload itself so that tool start-up is not counted; best of 5) sampled "
           "with call chains, user space, cpu-clock, output to /tmp:\n\n", WORK, base);
    printf("| rate | kperf record -g | perf record -g |\n|---|---:|---:|\n");
    const char *rates[] = {"1000", "10000"};
    for (int i = 0; i < 2; i++) {
        char *k_argv[] = {kperf, (char *)"record", (char *)"-g", (char *)"-F", (char *)rates[i],
                          (char *)"-o", (char *)"/tmp/kperf_bench_k.data", (char *)"--", self,
                          (char *)"--work", work_n, (char *)times_path, NULL};
        char *p_argv[] = {(char *)"/usr/bin/perf", (char *)"record", (char *)"-q", (char *)"-g",
                          (char *)"-e", (char *)"cpu-clock:u", (char *)"-F", (char *)rates[i],
                          (char *)"-o", (char *)"/tmp/kperf_bench_p.data", (char *)"--", self,
                          (char *)"--work", work_n, (char *)times_path, NULL};
        double tk = best_of(k_argv, 5);
        double tp = have_perf ? best_of(p_argv, 5) : -1;
        char ks[48] = "failed", ps[48] = "n/a";
        if (tk > 0) snprintf(ks, sizeof ks, "%.3f s (%+.1f%%)", tk, 100.0 * (tk - base) / base);
        if (tp > 0) snprintf(ps, sizeof ps, "%.3f s (%+.1f%%)", tp, 100.0 * (tp - base) / base);
        printf("| %s Hz | %s | %s |\n", rates[i], ks, ps);
        fflush(stdout);
    }
    unlink("/tmp/kperf_bench_k.data");
    unlink("/tmp/kperf_bench_p.data");
    unlink(times_path);
    printf("\nThe machine is a shared 2-CPU VM: timings move by several percent between runs; "
           "the workload's own run time is printed with them.\n\n");
    return 0;
}
