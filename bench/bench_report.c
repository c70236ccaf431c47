/* bench_report: how long does a whole report of a large recording take, against perf?
 *
 * usage: bench_report [BUILD_DIR] [N_SAMPLES]          (markdown on stdout)
 * Writes a synthetic perf.data (pipe layout, as `perf record -o -` writes it): one process
 * that maps the 26 MB benchmark program of bench_symbols (bench/gen_bigprog.py, built into
 * BUILD_DIR/bench/bigprog) and N_SAMPLES (default 1,000,000) cpu-clock samples, each with a
 * 32-frame user call chain: 31 callers from one of 2,000 stack shapes (random return
 * addresses in .text) and one of 8 leaf addresses of that shape. Then on that one file:
 *  - `kperf report` (top functions, self and total) against `perf report --stdio`;
 *  - `kperf report --folded` against `perf script | awk` folding the stacks as
 *    stackcollapse-perf.pl does (and `perf script` alone, the lower bound of that pipeline).
 * Each tool's wall time and peak RSS are measured in the same run. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include <elf.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

/* The executable PT_LOAD (vaddr, offset, size) and .text of a 64-bit ELF file. */
static int exec_segment(const char *path, uint64_t *vaddr, uint64_t *off, uint64_t *size,
                        uint64_t *tlo, uint64_t *thi) {
    FILE *f = fopen(path, "rb");
    Elf64_Ehdr eh;
    int rc = -1;
    if (!f || fread(&eh, sizeof eh, 1, f) != 1) goto out;
    for (int i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (fseek(f, (long)(eh.e_phoff + (uint64_t)i * eh.e_phentsize), SEEK_SET) ||
            fread(&ph, sizeof ph, 1, f) != 1)
            goto out;
        if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X))
            *vaddr = ph.p_vaddr, *off = ph.p_offset, *size = ph.p_memsz, rc = 0;
    }
    Elf64_Shdr sh, strsh;
    if (fseek(f, (long)(eh.e_shoff + (uint64_t)eh.e_shstrndx * eh.e_shentsize), SEEK_SET) ||
        fread(&strsh, sizeof strsh, 1, f) != 1)
        goto out;
    for (int i = 0; i < eh.e_shnum; i++) {
        char name[16] = "";
        if (fseek(f, (long)(eh.e_shoff + (uint64_t)i * eh.e_shentsize), SEEK_SET) ||
            fread(&sh, sizeof sh, 1, f) != 1 || fseek(f, (long)(strsh.sh_offset + sh.sh_name), SEEK_SET) ||
            !fread(name, 1, sizeof name - 1, f))
            continue;
        if (!strcmp(name, ".text")) *tlo = sh.sh_addr, *thi = sh.sh_addr + sh.sh_size;
    }
out:
    if (f) fclose(f);
    return rc == 0 && *thi > *tlo ? 0 : -1;
}

static void put(FILE *f, const void *p, size_t n) { fwrite(p, 1, n, f); }

/* The synthetic recording. Returns 0 on success. */
static int write_data(const char *out, const char *bin, size_t nsamples) {
    uint64_t vaddr = 0, off = 0, size = 0, tlo = 0, thi = 0;
    if (exec_segment(bin, &vaddr, &off, &size, &tlo, &thi)) return -1;
    const uint64_t base = 0x555555554000ull, pid = 4242;
    FILE *f = fopen(out, "wb");
    if (!f) return -1;
    uint64_t hdr[2] = {0x32454c4946524550ull, 16}; /* "PERFILE2", pipe header size */
    put(f, hdr, sizeof hdr);
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.type = PERF_TYPE_SOFTWARE, attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.size = 128, attr.sample_period = 250000;
    attr.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
                       PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_PERIOD;
    attr.exclude_kernel = 1, attr.mmap = 1, attr.comm = 1, attr.mmap2 = 1;
    unsigned char ab[128] = {0};
    memcpy(ab, &attr, sizeof attr < 128 ? sizeof attr : 128);
    struct perf_event_header h = {64, 0, 8 + 128}; /* HEADER_ATTR, no ids */
    put(f, &h, sizeof h), put(f, ab, 128);
    struct { struct perf_event_header h; uint32_t pid, tid; char comm[16]; } comm = {
        {PERF_RECORD_COMM, 0, sizeof comm}, (uint32_t)pid, (uint32_t)pid, "bigprog"};
    put(f, &comm, sizeof comm);
    char fname[4096];
    size_t fl = (size_t)snprintf(fname, sizeof fname, "%s", bin) + 1;
    fl = (fl + 7) & ~(size_t)7;
    struct {
        struct perf_event_header h;
        uint32_t pid, tid;
        uint64_t addr, len, pgoff;
        uint32_t maj, min;
        uint64_t ino, gen;
        uint32_t prot, flags;
    } mm;
    memset(&mm, 0, sizeof mm);
    uint64_t a0 = (base + vaddr) & ~4095ull, o0 = off & ~4095ull;
    mm.h = (struct perf_event_header){PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER,
                                      (uint16_t)(sizeof mm + fl)};
    mm.pid = mm.tid = (uint32_t)pid;
    mm.addr = a0, mm.len = ((base + vaddr + size + 4095) & ~4095ull) - a0, mm.pgoff = o0;
    mm.prot = 5 /* r-x */, mm.flags = 2 /* MAP_PRIVATE */;
    put(f, &mm, sizeof mm);
    memset(fname + strlen(fname), 0, fl - strlen(fname));
    put(f, fname, fl);
    enum { SHAPES = 2000, DEPTH = 32, LEAVES = 8 };
    uint64_t *shape = (uint64_t *)malloc(sizeof(uint64_t) * SHAPES * (DEPTH - 1 + LEAVES));
    if (!shape) return fclose(f), -1;
    for (size_t i = 0; i < (size_t)SHAPES * (DEPTH - 1 + LEAVES); i++)
        shape[i] = base + tlo + rnd() % (thi - tlo);
    struct {
        struct perf_event_header h;
        uint64_t ip;
        uint32_t pid, tid;
        uint64_t time, period, nr;
        uint64_t ips[DEPTH + 1];
    } s;
    s.h = (struct perf_event_header){PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER, sizeof s};
    s.pid = s.tid = (uint32_t)pid, s.period = 250000, s.nr = DEPTH + 1;
    for (size_t i = 0; i < nsamples; i++) {
        uint64_t r = rnd();
        size_t k = (size_t)((r % SHAPES) * (r % SHAPES) / SHAPES); /* some shapes hotter */
        const uint64_t *sh = &shape[k * (DEPTH - 1 + LEAVES)];
        s.ips[0] = KPERF_CONTEXT_USER;
        s.ips[1] = s.ip = sh[DEPTH - 1 + (r >> 32) % LEAVES];
        memcpy(&s.ips[2], sh, (DEPTH - 1) * sizeof *sh);
        s.time = 1000000000ull + i * 250000;
        put(f, &s, sizeof s);
        if (i % 10000 == 9999) {
            struct perf_event_header fr = {68, 0, 8}; /* FINISHED_ROUND */
            put(f, &fr, sizeof fr);
        }
    }
    free(shape);
    return fclose(f) ? -1 : 0;
}

/* Runs `sh -c cmd` with output to /dev/null; wall seconds (-1 on failure), peak RSS. */
static double run(const char *cmd, long *rss_kb) {
    double t0 = now();
    pid_t p = fork();
    if (p == 0) {
        int dn = open("/dev/null", O_WRONLY);
        dup2(dn, 1), dup2(dn, 2);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    if (wait4(p, &st, 0, &ru) < 0) return -1;
    *rss_kb = ru.ru_maxrss;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? now() - t0 : -1;
}

/* stackcollapse-perf.pl's folding of `perf script` output, in awk: comm, then the frames
 * root first, joined by ';', one count per distinct stack. */
static const char *collapse =
    "awk 'BEGIN{n=0} /^[^ \\t]/ {comm=$1; n=0; next} "
    "/^[ \\t]/ {f[n++]=$2; sub(/\\+0x[0-9a-f]+$/, \"\", f[n-1]); next} "
    "/^$/ {if (n) {s=comm; for (i=n-1;i>=0;i--) s=s \";\" f[i]; c[s]++}; n=0} "
    "END {for (s in c) print s, c[s]}'";

int main(int argc, char **argv) {
    const char *B = argc > 1 ? argv[1] : "build";
    size_t N = argc > 2 ? (size_t)atol(argv[2]) : 1000000;
    char dir[512], bin[600], data[600], cmd[4096];
    snprintf(dir, sizeof dir, "%s/bench/bigprog", B);
    snprintf(cmd, sizeof cmd, "python3 bench/gen_bigprog.py %s 115 120 --build >/dev/null", dir);
    if (system(cmd) != 0) return fprintf(stderr, "bench_report: building the program failed\n"), 1;
    snprintf(bin, sizeof bin, "%s/bigprog", dir);
    snprintf(data, sizeof data, "%s/report.data", dir);
    if (write_data(data, bin, N)) return fprintf(stderr, "bench_report: cannot write %s\n", data), 1;
    if (getenv("BENCH_WRITE_ONLY")) return printf("%s\n", data), 0; /* for profiling */
    struct stat st;
    stat(data, &st);
    printf("## Whole reports (bench/bench_report.c)\n\n");
    printf("Reproduce: `make bench` (or `%s/bench/bench_report %s %zu`). One synthetic recording "
           "(pipe layout): %zu samples with 32-frame user call chains (2000 stack shapes x 8 leaves) "
           "in the 26 MB program of bench_symbols, %.0f MB. Wall time of each tool on that file, "
           "output to /dev/null.\n\n", B, B, N, N, (double)st.st_size / 1e6);
    struct { const char *name; char cmd[2048]; double t; long rss; } t[5];
    snprintf(t[0].cmd, sizeof t[0].cmd, "%s/kperf report -i %s", B, data);
    t[0].name = "`kperf report` (top functions, self and total)";
    snprintf(t[1].cmd, sizeof t[1].cmd, "perf report --stdio -i %s", data);
    t[1].name = "`perf report --stdio`";
    snprintf(t[2].cmd, sizeof t[2].cmd, "%s/kperf report --folded -i %s", B, data);
    t[2].name = "`kperf report --folded`";
    snprintf(t[3].cmd, sizeof t[3].cmd, "perf script -i %s | %s", data, collapse);
    t[3].name = "`perf script | awk` (stackcollapse-perf.pl's folding)";
    snprintf(t[4].cmd, sizeof t[4].cmd, "perf script -i %s", data);
    t[4].name = "`perf script` alone";
    printf("| tool | wall s | samples/s | peak RSS MB |\n|---|---:|---:|---:|\n");
    for (int i = 0; i < 5; i++) {
        t[i].t = run(t[i].cmd, &t[i].rss);
        if (t[i].t < 0) printf("| %s | failed or not installed | - | - |\n", t[i].name);
        else printf("| %s | %.2f | %.0f | %.0f |\n", t[i].name, t[i].t, (double)N / t[i].t,
                    (double)t[i].rss / 1024.0);
    }
    printf("\n");
    if (t[0].t > 0 && t[1].t > 0)
        printf("`kperf report` is **%.1fx** `perf report --stdio` (goal: 10x). ", t[1].t / t[0].t);
    if (t[2].t > 0 && t[3].t > 0)
        printf("`kperf report --folded` is **%.1fx** `perf script | awk` (goal: 10x) and %.1fx "
               "`perf script` alone.", t[3].t / t[2].t, t[4].t > 0 ? t[4].t / t[2].t : 0);
    printf("\n");
    if (!getenv("BENCH_KEEP")) remove(data);
    return 0;
}
