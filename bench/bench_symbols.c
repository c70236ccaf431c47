/* bench_symbols: how fast does kperf_symbols.h turn addresses into function, file:line and
 * inline chains, against libdw in-process and addr2line, llvm-symbolizer and eu-addr2line
 * end to end, on a large generated C++ program with DWARF (bench/gen_bigprog.py)?
 *
 * usage: bench_symbols [BUILD_DIR] [N_ADDRESSES] [N_FILES]     (markdown on stdout)
 * N_FILES (default 115) source files of 120 functions each: about 26 MB with DWARF, the
 * size of the binary the symbolization issue measured the other tools on.
 * Measures in one run: in-process lookups/s (functions only; functions + lines + inlines),
 * time to first answer, peak memory; then `kperf symbolize` end to end against the other
 * tools on the same addresses (stdin batch), with each tool's peak RSS. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include <elfutils/libdwfl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static long status_kb(const char *key) { /* VmRSS / VmHWM of this process */
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, strlen(key))) v = atol(line + strlen(key) + 1);
    if (f) fclose(f);
    return v;
}

static void reset_peak(void) { /* "5" resets VmHWM to the current RSS (Linux >= 4.0) */
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) fputs("5", f), fclose(f);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return rng;
}

static uint64_t text_lo, text_hi;
static int text_range(const char *path) {
    int fd = open(path, O_RDONLY);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    size_t shstr;
    if (!e || elf_getshdrstrndx(e, &shstr)) return -1;
    for (Elf_Scn *s = elf_nextscn(e, NULL); s; s = elf_nextscn(e, s)) {
        GElf_Shdr sh;
        gelf_getshdr(s, &sh);
        const char *n = elf_strptr(e, shstr, sh.sh_name);
        if (n && !strcmp(n, ".text")) text_lo = sh.sh_addr, text_hi = sh.sh_addr + sh.sh_size;
    }
    elf_end(e);
    close(fd);
    return text_hi > text_lo ? 0 : -1;
}

/* Runs argv with stdin from `in`, stdout to `out`; returns wall seconds, *maxrss_kb. */
static double run_tool(char *const argv[], const char *in, const char *out, long *maxrss_kb) {
    double t0 = now();
    pid_t p = fork();
    if (p == 0) {
        int i = open(in, O_RDONLY), o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int devnull = open("/dev/null", O_WRONLY);
        dup2(i, 0), dup2(o, 1), dup2(devnull, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    struct rusage ru;
    wait4(p, &st, 0, &ru);
    *maxrss_kb = ru.ru_maxrss;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
    return now() - t0;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n ? v[n / 2] : -1;
}

/* A cold measurement, as a program meets it: in a fresh process (this program run again
 * with --cold: a fresh symbolizer, fresh memory, nothing inherited), seconds. what: 0 time
 * to first answer (open, add the module, one lookup); 1 the first pass over all n
 * addresses after that first lookup; 2 the same after kperf_symbolizer_preload of them; 3
 * preload and kperf_symbolizer_lookup_all in batches of 16384, as kperf symbolize does.
 * mode: the symbolizer mode. */
static double cold_measure(const char *bin, const uint64_t *a, size_t n, int what, kperf_symbol_mode mode) {
    kperf_symbolizer *s;
    kperf_frame fr[16];
    size_t max = mode == KPERF_SYMBOL_ELF ? 1 : 16;
    double t0 = now(), r = -1;
    if (kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.mode = mode}) != 0) return -1;
    if (kperf_symbolizer_add_module(s, &(kperf_module_desc){.path = bin, .file_vaddr = true}) == 0) {
        kperf_symbolizer_lookup(s, 0, a[0], fr, max);
        r = now() - t0;
        if (what == 3) {
            kperf_frames all;
            memset(&all, 0, sizeof all);
            t0 = now();
            for (size_t i = 0; i < n && r >= 0; i += 16384) {
                size_t k = n - i < 16384 ? n - i : 16384;
                kperf_symbolizer_preload(s, 0, a + i, k);
                if (kperf_symbolizer_lookup_all(s, 0, a + i, k, max, &all) != 0) r = -2;
            }
            r = r >= 0 ? now() - t0 : -1;
            kperf_frames_free(&all);
        } else if (what) {
            t0 = now();
            if (what == 2) kperf_symbolizer_preload(s, 0, a, n);
            for (size_t i = 0; i < n; i++) kperf_symbolizer_lookup(s, 0, a[i], fr, max);
            r = now() - t0;
        }
    }
    kperf_symbolizer_close(s);
    return r;
}

static char self_path[PATH_MAX];

static double cold_once(const char *bin, const char *addrs_path, size_t n, int what, kperf_symbol_mode mode) {
    char cmd[3 * PATH_MAX];
    snprintf(cmd, sizeof cmd, "'%s' --cold %d %d '%s' '%s' %zu", self_path, what, (int)mode, bin,
             addrs_path, n);
    FILE *f = popen(cmd, "r");
    double r = -1;
    if (f && fscanf(f, "%lf", &r) != 1) r = -1;
    if (f && pclose(f) != 0) r = -1;
    return r;
}

/* The median of runs cold measurements. */
static double cold(const char *bin, const char *addrs_path, size_t n, int what, kperf_symbol_mode mode, int runs) {
    double v[16];
    int k = 0;
    for (int i = 0; i < runs && i < 16; i++) {
        double r = cold_once(bin, addrs_path, n, what, mode);
        if (r >= 0) v[k++] = r;
    }
    return median(v, k);
}

/* Copies the first n lines of file in to file out. */
static bool kbench_head(const char *in, const char *out, size_t n) {
    FILE *f = fopen(in, "r"), *g = fopen(out, "w");
    char line[256];
    for (size_t i = 0; f && g && i < n && fgets(line, sizeof line, f); i++) fputs(line, g);
    bool ok = f && g;
    if (f) fclose(f);
    if (g && fclose(g) != 0) ok = false;
    return ok;
}

static size_t count_lines(const char *path) {
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int c;
    while (f && (c = getc(f)) != EOF) n += c == '\n';
    if (f) fclose(f);
    return n;
}

static size_t same_lines(const char *a, const char *b, size_t *total) {
    FILE *fa = fopen(a, "r"), *fb = fopen(b, "r");
    char la[4096], lb[4096];
    size_t same = 0;
    *total = 0;
    while (fa && fb && fgets(la, sizeof la, fa) && fgets(lb, sizeof lb, fb)) {
        (*total)++;
        same += !strcmp(la, lb);
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* kperf in-process: returns lookups/s of `passes` warm passes over addrs. */
static double kperf_rate(kperf_symbolizer *s, const uint64_t *a, size_t n, size_t max, double min_s,
                         size_t *named) {
    kperf_frame f[16];
    size_t passes = 0, ok = 0;
    double t0 = now(), t;
    do {
        for (size_t i = 0; i < n; i++) {
            int k = kperf_symbolizer_lookup(s, 0, a[i], f, max);
            ok += k > 0 && f[0].function;
        }
        passes++;
        t = now() - t0;
    } while (t < min_s);
    *named = ok / passes;
    return (double)(n * passes) / t;
}

/* Several threads looking up at once (each its own copy of the addresses, rotated). */
typedef struct rate_arg {
    kperf_symbolizer *s;
    uint64_t *a;
    size_t n;
    double rate;
} rate_arg;

static void *rate_thread(void *p) {
    rate_arg *r = (rate_arg *)p;
    size_t named;
    r->rate = kperf_rate(r->s, r->a, r->n, 16, 1.0, &named);
    return NULL;
}

static double threads_rate(kperf_symbolizer *s, const uint64_t *a, size_t n, int nt) {
    pthread_t th[8];
    rate_arg args[8];
    double sum = 0;
    for (int t = 0; t < nt; t++) {
        args[t] = (rate_arg){s, malloc(n * sizeof *a), n, 0};
        for (size_t i = 0; i < n; i++) args[t].a[i] = a[(i + (size_t)t * n / (size_t)nt) % n];
        pthread_create(&th[t], NULL, rate_thread, &args[t]);
    }
    for (int t = 0; t < nt; t++) {
        pthread_join(th[t], NULL);
        sum += args[t].rate;
        free(args[t].a);
    }
    return sum;
}

static char *offline_debuginfo_path;
static const Dwfl_Callbacks offline_cb = {
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .debuginfo_path = &offline_debuginfo_path,
    .section_address = dwfl_offline_section_address,
    .find_elf = dwfl_build_id_find_elf,
};

int main(int argc, char **argv) {
    if (argc == 7 && !strcmp(argv[1], "--cold")) { /* one cold measurement (cold_once) */
        size_t n = (size_t)atol(argv[6]), k = 0;
        uint64_t *a = (uint64_t *)malloc((n ? n : 1) * sizeof *a);
        FILE *f = fopen(argv[5], "r");
        while (a && f && k < n && fscanf(f, "%" SCNx64, &a[k]) == 1) k++;
        if (f) fclose(f);
        double r = a && k ? cold_measure(argv[4], a, k, atoi(argv[2]), (kperf_symbol_mode)atoi(argv[3])) : -1;
        printf("%.9f\n", r);
        free(a);
        return r >= 0 ? 0 : 1;
    }
    ssize_t sl = readlink("/proc/self/exe", self_path, sizeof self_path - 1);
    if (sl <= 0) return fprintf(stderr, "bench_symbols: cannot read /proc/self/exe\n"), 1;
    self_path[sl] = 0;
    const char *B = argc > 1 ? argv[1] : "build";
    size_t N = argc > 2 ? (size_t)atol(argv[2]) : 100000;
    int nfiles = argc > 3 ? atoi(argv[3]) : 115;
    char dir[512], bin[600], cmd[2048], addrs_path[600], kout[600], out2[600];
    snprintf(dir, sizeof dir, "%s/bench/bigprog", B);
    snprintf(cmd, sizeof cmd, "python3 bench/gen_bigprog.py %s %d 120 --build >/dev/null", dir,
             nfiles);
    if (system(cmd) != 0) return fprintf(stderr, "bench_symbols: building the program failed\n"), 1;
    snprintf(bin, sizeof bin, "%s/bigprog", dir);
    elf_version(EV_CURRENT);
    if (text_range(bin)) return fprintf(stderr, "bench_symbols: no .text in %s\n", bin), 1;
    struct stat st;
    stat(bin, &st);
    uint64_t *a = malloc(N * sizeof *a);
    snprintf(addrs_path, sizeof addrs_path, "%s/addrs.txt", dir);
    FILE *af = fopen(addrs_path, "w");
    for (size_t i = 0; i < N; i++) {
        a[i] = text_lo + rnd() % (text_hi - text_lo);
        fprintf(af, "0x%lx\n", a[i]);
    }
    fclose(af);

    printf("## Symbolization (bench/bench_symbols.c)\n\n");
    printf("Program: generated C++ (bench/gen_bigprog.py: %d files x 120 functions, inline "
           "helpers, templates), `g++ -O2 -g`, %.1f MB; %zu random .text addresses.\n\n",
           nfiles, (double)st.st_size / 1e6, N);

    /* -- kperf in-process ---------------------------------------------------------------- */
    long rss0 = status_kb("VmRSS:");
    reset_peak();
    kperf_symbolizer *s;
    kperf_frame fr[16];
    kperf_symbolizer_open(&s, NULL);
    if (kperf_symbolizer_add_module(s, &(kperf_module_desc){.path = bin, .file_vaddr = true}) < 0)
        return fprintf(stderr, "bench_symbols: %s\n", kperf_errmsg()), 1;
    kperf_symbolizer_lookup(s, 0, a[0], fr, 16);
    size_t named = 0;
    for (size_t i = 0; i < N; i++) named += kperf_symbolizer_lookup(s, 0, a[i], fr, 16) > 0 && fr[0].function;
    long peak = status_kb("VmHWM:") - rss0;
    double full = kperf_rate(s, a, N, 16, 1.0, &named);
    double innermost = kperf_rate(s, a, N, 1, 1.0, &named);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int nthreads = ncpu >= 8 ? 8 : ncpu >= 2 ? (int)ncpu : 2;
    double threaded = threads_rate(s, a, N, nthreads);
    kperf_frame *bf = malloc(N * sizeof *bf);
    size_t bpasses = 0;
    double t0 = now();
    do kperf_symbolizer_lookup_batch(s, 0, a, N, bf), bpasses++;
    while (now() - t0 < 1.0);
    double batch = (double)(N * bpasses) / (now() - t0);
    kperf_symbolizer_close(s);
    /* cold figures, each the median of runs in fresh processes: time to first answer, the
     * first pass, and the first pass with the CUs indexed ahead on every CPU
     * (kperf_symbolizer_preload, what kperf symbolize and lookup_batch do with a batch) */
    double first = cold(bin, addrs_path, N, 0, KPERF_SYMBOL_DWARF, 9);
    double first_elf = cold(bin, addrs_path, N, 0, KPERF_SYMBOL_ELF, 9);
    double cold_lazy = cold(bin, addrs_path, N, 1, KPERF_SYMBOL_DWARF, 5);
    double cold_pre = cold(bin, addrs_path, N, 2, KPERF_SYMBOL_DWARF, 5);
    double cold_all = cold(bin, addrs_path, N, 3, KPERF_SYMBOL_DWARF, 5);
    kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.mode = KPERF_SYMBOL_ELF});
    kperf_symbolizer_add_module(s, &(kperf_module_desc){.path = bin, .file_vaddr = true});
    size_t named_elf;
    double funcs = kperf_rate(s, a, N, 1, 1.0, &named_elf);
    kperf_symbolizer_close(s);

    /* -- libdw in-process (lines: dwarf_addrdie + dwarf_getsrc_die; names: libdwfl) ------ */
    int fd = open(bin, O_RDONLY);
    Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
    t0 = now();
    size_t lines_ok = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) t0 = now();
        for (size_t i = 0; i < N; i++) {
            Dwarf_Die cu;
            if (!dwarf_addrdie(dw, a[i], &cu)) continue;
            Dwarf_Line *l = dwarf_getsrc_die(&cu, a[i]);
            int ln;
            lines_ok += l && dwarf_lineno(l, &ln) == 0;
        }
    }
    double dw_lines = (double)N / (now() - t0);
    dwarf_end(dw);
    close(fd);
    Dwfl *dwfl = dwfl_begin(&offline_cb);
    dwfl_report_begin(dwfl);
    Dwfl_Module *mod = dwfl_report_offline(dwfl, "bigprog", bin, -1);
    dwfl_report_end(dwfl, NULL, NULL);
    size_t nn = N < 3000 ? N : 3000; /* a linear scan per lookup: keep it short */
    const char *nm = mod ? dwfl_module_addrname(mod, a[0]) : NULL;
    t0 = now();
    for (size_t i = 0; i < nn && mod; i++) nm = dwfl_module_addrname(mod, a[i]);
    double dw_names = (double)nn / (now() - t0);
    (void)nm;
    dwfl_end(dwfl);

    printf("### In process (one thread)\n\n| what | lookups/s | notes |\n|---|---:|---|\n");
    printf("| kperf: function + file:line + inline chain | %.0f | warm (every CU indexed) |\n", full);
    printf("| kperf: innermost frame only (function, file:line) | %.0f | warm |\n", innermost);
    printf("| kperf: function + file:line + inline chain, %d threads at once | %.0f | warm, all "
           "threads together (%ld CPUs) |\n", nthreads, threaded, ncpu);
    printf("| kperf: functions only (KPERF_SYMBOL_ELF) | %.0f | warm |\n", funcs);
    printf("| kperf: lookup_batch, innermost (sorts the batch) | %.0f | warm |\n", batch);
    printf("| kperf: first pass (indexes CUs as it goes) | %.0f | cold, one thread; median of 5 fresh processes |\n", (double)N / cold_lazy);
    printf("| kperf: first pass after kperf_symbolizer_preload | %.0f | cold, CUs indexed on %ld CPUs; median of 5 |\n",
           (double)N / cold_pre, ncpu);
    printf("| kperf: first pass, preload + kperf_symbolizer_lookup_all | %.0f | cold, batches of "
           "16384 indexed and looked up on %ld CPUs; median of 5 |\n", (double)N / cold_all, ncpu);
    printf("| libdw: dwarf_addrdie + dwarf_getsrc_die (lines only) | %.0f | second pass |\n", dw_lines);
    printf("| libdwfl: dwfl_module_addrname (names only) | %.0f | %zu addresses |\n\n", dw_names, nn);
    printf("kperf named %zu of %zu addresses; time to first answer %.1f ms (ELF+DWARF), "
           "%.1f ms (ELF only), medians of 9 fresh processes; peak memory growth while indexing "
           "everything: %.1f MB.\n\n",
           named, N, first * 1e3, first_elf * 1e3, (double)peak / 1024.0);

    /* -- end to end ------------------------------------------------------------------------ */
    char kperf_bin[600];
    snprintf(kperf_bin, sizeof kperf_bin, "%s/kperf", B);
    snprintf(kout, sizeof kout, "%s/out_kperf.txt", dir);
    struct { const char *name; char *argv[12]; size_t limit; } tools[] = {
        {"kperf symbolize -a -f -i -C", {kperf_bin, "symbolize", "-e", bin, "-a", "-f", "-i", "-C", NULL}, N},
        {"addr2line -a -f -i -C (binutils)", {"addr2line", "-e", bin, "-a", "-f", "-i", "-C", NULL}, N},
        {"llvm-symbolizer -a (GNU style)", {"llvm-symbolizer", "--obj", bin, "--output-style=GNU", "-a", "-f", "-i", "-C", NULL}, N},
        {"eu-addr2line -a -f -i -C (elfutils)", {"eu-addr2line", "-e", bin, "-a", "-f", "-i", "-C", NULL}, 5000},
    };
    printf("### End to end (%zu addresses on stdin, output to a file; medians of 5 rounds)\n\n"
           "| tool | addresses/s | wall s | first answer ms | peak RSS MB | output lines same as addr2line |\n"
           "|---|---:|---:|---:|---:|---:|\n", N);
    char one[600];
    snprintf(one, sizeof one, "%s/addr1.txt", dir);
    FILE *o1 = fopen(one, "w");
    fprintf(o1, "0x%lx\n", a[0]);
    fclose(o1);
    snprintf(out2, sizeof out2, "%s/out_one.txt", dir);
    double rates[4] = {0};
    char outs[4][600], rows[4][256], ins[4][600];
    /* ROUNDS rounds, the tools in turn in each (a busy moment hits them alike); each tool's
     * median wall time over the rounds, and its largest peak RSS */
    enum { ROUNDS = 5 };
    double wall[4][ROUNDS], wall1[4][ROUNDS];
    long rss[4] = {0};
    bool failed[4] = {false};
    for (int t = 0; t < 4; t++) {
        snprintf(ins[t], sizeof ins[t], "%s", addrs_path);
        if (tools[t].limit < N) {
            snprintf(ins[t], sizeof ins[t], "%s/addrs_%zu.txt", dir, tools[t].limit);
            if (!kbench_head(addrs_path, ins[t], tools[t].limit)) failed[t] = true;
        }
        snprintf(outs[t], sizeof outs[t], "%s/out_%d.txt", dir, t);
    }
    for (int r = 0; r < ROUNDS; r++)
        for (int t = 0; t < 4; t++) {
            long k, k1;
            if (failed[t]) continue;
            wall[t][r] = run_tool(tools[t].argv, ins[t], outs[t], &k);
            wall1[t][r] = run_tool(tools[t].argv, one, out2, &k1);
            if (wall[t][r] < 0 || wall1[t][r] < 0) failed[t] = true;
            if (k > rss[t]) rss[t] = k;
        }
    for (int t = 0; t < 4; t++) {
        if (failed[t]) {
            printf("| %s | - | - | - | - | not installed or failed |\n", tools[t].name);
            continue;
        }
        double w = median(wall[t], ROUNDS), w1 = median(wall1[t], ROUNDS);
        rates[t] = (double)tools[t].limit / w;
        snprintf(rows[t], sizeof rows[t], "| %s | %.0f | %.2f | %.1f | %.1f |", tools[t].name,
                 rates[t], w, w1 * 1e3, (double)rss[t] / 1024.0);
    }
    for (int t = 0; t < 4; t++) {
        if (!rates[t]) continue;
        size_t tot = 0, same = 0;
        char sm[64] = "-";
        if (t == 1) snprintf(sm, sizeof sm, "(reference)");
        else if (t != 3 && rates[1] > 0) {
            same = same_lines(outs[t], outs[1], &tot);
            snprintf(sm, sizeof sm, "%zu / %zu", same, tot);
        }
        printf("%s %s |\n", rows[t], sm);
    }
    (void)count_lines;
    double best_ext = 0;
    for (int t = 1; t < 4; t++) best_ext = rates[t] > best_ext ? rates[t] : best_ext;
    double best_inproc = dw_lines > best_ext ? dw_lines : best_ext;
    printf("\nkperf in-process (full frames, warm) is %.0fx the fastest other tool (%.0f/s), "
           "%.0fx libdw's line lookups; `kperf symbolize` end to end is %.1fx the fastest other tool.\n",
           best_ext > 0 ? full / best_ext : 0, best_ext, dw_lines > 0 ? full / dw_lines : 0,
           best_ext > 0 ? rates[0] / best_ext : 0);
    (void)best_inproc;
    long rss_k = 0, rss_l = 0;
    for (int t = 0; t < 4; t++) { /* peak RSS column of the rows printed above */
        const char *r = strrchr(rows[t], '|');
        r = r ? r - 1 : NULL;
        while (r && r > rows[t] && *r != '|') r--;
        if (t == 0 && r) rss_k = (long)(atof(r + 1) * 1024);
        if (t == 2 && r) rss_l = (long)(atof(r + 1) * 1024);
    }
    printf("\nGoals of issue 17, this run: `kperf symbolize` end to end is **%.1fx** llvm-symbolizer "
           "and **%.1fx** addr2line (goal: 10x each); first pass %.2fM addresses/s lazily on one "
           "thread, %.2fM/s after preload, %.2fM/s with preload and lookup_all (goal: 2M/s); peak "
           "RSS %.0f MB against llvm-symbolizer's "
           "%.0f MB (goal: no higher); time to first answer %.1f ms in process (goal: 6 ms).\n",
           rates[2] > 0 ? rates[0] / rates[2] : 0, rates[1] > 0 ? rates[0] / rates[1] : 0,
           (double)N / cold_lazy / 1e6, (double)N / cold_pre / 1e6, (double)N / cold_all / 1e6,
           (double)rss_k / 1024.0,
           (double)rss_l / 1024.0, first * 1e3);
    free(a);
    free(bf);
    return 0;
}
