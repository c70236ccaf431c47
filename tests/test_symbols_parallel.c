/* The symbolizer's fast path gives the reference path's answers, byte for byte.
 *
 * Fast: line programs decoded by kperf_symbols.h, compile units indexed ahead by
 * kperf_symbolizer_preload() on several threads while other threads look addresses up.
 * Reference: KPERF_SYMBOLS_REFERENCE=1 (libdw's line decoder, every CU indexed lazily by
 * the lookup that needs it), one thread. Programs: this test itself, build/kperf (many
 * compile units), the C++ fixture build/progs/sym_fixture_cpp and libc's separate debug
 * file when libc6-dbg is installed. Every frame
 * field is compared (function, mangled name, file, line, column, discriminator, inline
 * flag, symbol address), in both naming modes (gnu_compat is order-dependent, so there the
 * lookups run in one order on one thread after the parallel preload).
 * tests/test_symbols_tsan.c is this program built with -fsanitize=thread. */
#include "kperf.h"
#include "kperf_symbols.h"
#include "kt.h"
#include <gelf.h>
#include <libelf.h>
#include <libgen.h>

#ifndef KT_NADDR
#define KT_NADDR 20000 /* addresses per program (TSan build: fewer) */
#endif

typedef struct prog {
    char path[PATH_MAX];
    uint64_t *a;
    size_t n;
} prog;

static prog progs[5];
static size_t nprogs;

/* .text of an ELF file, every step-th byte (about KT_NADDR addresses). */
static int text_addrs(prog *p) {
    int fd = open(p->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    elf_version(EV_CURRENT);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    size_t shstr;
    uint64_t lo = 0, size = 0;
    if (e && elf_getshdrstrndx(e, &shstr) == 0)
        for (Elf_Scn *s = elf_nextscn(e, NULL); s; s = elf_nextscn(e, s)) {
            GElf_Shdr sh;
            const char *nm = gelf_getshdr(s, &sh) ? elf_strptr(e, shstr, sh.sh_name) : NULL;
            if (nm && !strcmp(nm, ".text")) lo = sh.sh_addr, size = sh.sh_size;
        }
    if (e) elf_end(e);
    close(fd);
    if (!size) return -1;
    uint64_t step = size / KT_NADDR > 1 ? size / KT_NADDR : 1;
    p->a = (uint64_t *)malloc((size / step + 1) * sizeof *p->a);
    for (uint64_t x = lo; x < lo + size && p->a; x += step) p->a[p->n++] = x;
    return p->a ? 0 : -1;
}

static void add_prog(const char *path) {
    if (nprogs == sizeof progs / sizeof *progs || access(path, R_OK) != 0) return;
    prog *p = &progs[nprogs];
    snprintf(p->path, sizeof p->path, "%s", path);
    if (text_addrs(p) == 0) nprogs++;
}

/* Every frame of every address as text, one line per frame. */
static size_t describe(kperf_symbolizer *s, uint64_t a, char *out, size_t cap) {
    kperf_frame f[32];
    int n = kperf_symbolizer_lookup(s, 0, a, f, 32);
    size_t k = (size_t)snprintf(out, cap, "%llx %d\n", (unsigned long long)a, n);
    for (int i = 0; i < n && k < cap; i++)
        k += (size_t)snprintf(out + k, cap - k, "%s|%s|%s|%u|%u|%u|%d|%llx\n",
                              f[i].function ? f[i].function : "-",
                              f[i].mangled ? f[i].mangled : "-", f[i].file ? f[i].file : "-",
                              f[i].line, f[i].column, f[i].discriminator, (int)f[i].inlined,
                              (unsigned long long)f[i].symbol_addr);
    return k < cap ? k : cap ? cap - 1 : 0; /* snprintf wrote a NUL at most at cap - 1 */
}

/* All answers for p's addresses, in order from..from+n (wrapping), as one string. */
static char *answers(kperf_symbolizer *s, const prog *p, size_t from) {
    size_t cap = p->n * 2048 + 1, k = 0; /* C++ names and inline chains run long */
    char *t = (char *)malloc(cap);
    for (size_t i = 0; t && i < p->n; i++)
        k += describe(s, p->a[(i + from) % p->n], t + k, cap - k);
    if (t) t[k] = 0;
    return t;
}

static kperf_symbolizer *open_one(const prog *p, bool gnu, bool reference, int threads) {
    kperf_symbolizer *s = NULL;
    if (reference) setenv("KPERF_SYMBOLS_REFERENCE", "1", 1);
    else unsetenv("KPERF_SYMBOLS_REFERENCE");
    if (kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.gnu_compat = gnu, .threads = threads}) == 0 &&
        kperf_symbolizer_add_module(s, &(kperf_module_desc){.path = p->path, .file_vaddr = true}) < 0) {
        kperf_symbolizer_close(s);
        s = NULL;
    }
    unsetenv("KPERF_SYMBOLS_REFERENCE");
    return s;
}

typedef struct looker {
    kperf_symbolizer *s;
    const prog *p;
    size_t from;
    char *text;
} looker;

static void *look(void *arg) {
    looker *l = (looker *)arg;
    l->text = answers(l->s, l->p, l->from);
    return NULL;
}

static int first_diff(const char *a, const char *b) {
    int line = 1;
    for (; *a && *a == *b; a++, b++) line += *a == '\n';
    return *a == *b ? 0 : line;
}

KT_TEST(preload_and_threads_same_as_reference) {
    KT_UNUSED();
    for (size_t k = 0; k < nprogs; k++) {
        const prog *p = &progs[k];
        kperf_symbolizer *ref = open_one(p, false, true, 1), *s = open_one(p, false, false, 4);
        KT_CHECK(ref && s, "%s: %s", p->path, kperf_errmsg());
        char *want = answers(ref, p, 0);
        pthread_t th[2];
        looker l[2] = {{s, p, p->n / 3, NULL}, {s, p, 2 * p->n / 3, NULL}};
        for (int t = 0; t < 2; t++) pthread_create(&th[t], NULL, look, &l[t]);
        int built = kperf_symbolizer_preload(s, 0, p->a, p->n); /* races the lookups */
        for (int t = 0; t < 2; t++) pthread_join(th[t], NULL);
        char *got = answers(s, p, 0);
        KT_CHECK(built >= 0, "%s: preload: %d", p->path, built);
        int d = first_diff(got, want);
        KT_CHECK(d == 0, "%s: line %d of the answers differs from the reference", p->path, d);
        for (int t = 0; t < 2; t++) { /* the threads started elsewhere: same order there */
            char *w = answers(ref, p, l[t].from);
            d = first_diff(l[t].text, w);
            KT_CHECK(d == 0, "%s: thread %d: line %d differs from the reference", p->path, t, d);
            free(w);
            free(l[t].text);
        }
        free(want);
        free(got);
        kperf_symbolizer_close(s);
        kperf_symbolizer_close(ref);
    }
}

KT_TEST(gnu_compat_preload_same_as_reference) {
    KT_UNUSED();
    for (size_t k = 0; k < nprogs; k++) {
        const prog *p = &progs[k];
        kperf_symbolizer *ref = open_one(p, true, true, 1), *s = open_one(p, true, false, 3);
        KT_CHECK(ref && s, "%s: %s", p->path, kperf_errmsg());
        int built = kperf_symbolizer_preload(s, 0, p->a, p->n);
        KT_CHECK(built > 0, "%s: preload indexed %d compile units", p->path, built);
        KT_EQ_INT(kperf_symbolizer_preload(s, 0, p->a, p->n), 0); /* all there already */
        char *want = answers(ref, p, 0), *got = answers(s, p, 0);
        int d = first_diff(got, want);
        KT_CHECK(d == 0, "%s: line %d of the answers differs from the reference", p->path, d);
        free(want);
        free(got);
        kperf_symbolizer_close(s);
        kperf_symbolizer_close(ref);
    }
}

KT_TEST(batch_same_as_single_lookups) {
    KT_UNUSED();
    const prog *p = &progs[0];
    kperf_symbolizer *ref = open_one(p, false, true, 1), *s = open_one(p, false, false, 0);
    KT_CHECK(ref && s, "%s", kperf_errmsg());
    kperf_frame *out = (kperf_frame *)calloc(p->n, sizeof *out);
    int found = kperf_symbolizer_lookup_batch(s, 0, p->a, p->n, out);
    KT_CHECK(found > 0, "lookup_batch: %d", found);
    int want = 0;
    for (size_t i = 0; i < p->n; i++) {
        kperf_frame f;
        int n = kperf_symbolizer_lookup(ref, 0, p->a[i], &f, 1);
        want += n > 0 && f.function;
        const char *a = n > 0 && f.function ? f.function : "", *b = out[i].function ? out[i].function : "";
        KT_CHECK(!strcmp(a, b), "0x%llx: batch '%s', reference '%s'", (unsigned long long)p->a[i], b, a);
        KT_EQ_INT(out[i].line, n > 0 ? f.line : 0);
    }
    KT_EQ_INT(found, want);
    free(out);
    kperf_symbolizer_close(s);
    kperf_symbolizer_close(ref);
}

/* kperf_symbolizer_lookup_all on 3 threads against the reference path's lookups one after
 * another, in a shuffled order (gnu_compat's names depend on it: the C++ fixture's inlined
 * functions without linkage names are named after the ELF symbol of their first lookup),
 * in both naming modes; the same kperf_frames is reused for a second, smaller batch. */
KT_TEST(lookup_all_same_as_in_order) {
    KT_UNUSED();
    for (size_t k = 0; k < nprogs; k++) {
        const prog *p = &progs[k];
        uint64_t *a = (uint64_t *)malloc(p->n * sizeof *a);
        KT_CHECK(a != NULL);
        memcpy(a, p->a, p->n * sizeof *a);
        uint64_t x = 88172645463325252ull;
        for (size_t i = p->n; i > 1; i--) { /* Fisher-Yates, fixed seed */
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t j = (size_t)(x % i);
            uint64_t t = a[i - 1];
            a[i - 1] = a[j], a[j] = t;
        }
        /* variants: 3 threads after preload; 1 thread (address order, deferred names, one
         * worker); 3 threads indexing as they go (no preload) */
        for (int gv = 0; gv < 6; gv++) {
            int gnu = gv & 1, variant = gv >> 1;
            kperf_symbolizer *ref = open_one(p, gnu, true, 1),
                             *s = open_one(p, gnu, false, variant == 1 ? 1 : 3);
            KT_CHECK(ref && s, "%s: %s", p->path, kperf_errmsg());
            if (variant == 0) KT_CHECK(kperf_symbolizer_preload(s, 0, a, p->n) >= 0);
            kperf_frames fr;
            memset(&fr, 0, sizeof fr);
            size_t bad = 0, first_bad = 0;
            for (int round = 0; round < 2; round++) {
                size_t lo = round ? p->n / 2 : 0, n = round ? p->n - p->n / 2 : p->n / 2;
                KT_EQ_INT(kperf_symbolizer_lookup_all(s, 0, a + lo, n, 32, &fr), 0);
                for (size_t i = 0; i < n; i++) {
                    char want[8192], got[8192];
                    describe(ref, a[lo + i], want, sizeof want);
                    int c = fr.rc[i];
                    size_t m = (size_t)snprintf(got, sizeof got, "%llx %d\n", (unsigned long long)a[lo + i], c);
                    for (int f = 0; f < c && m < sizeof got; f++) {
                        const kperf_frame *g = &fr.at[i][f];
                        m += (size_t)snprintf(got + m, sizeof got - m, "%s|%s|%s|%u|%u|%u|%d|%llx\n",
                                              g->function ? g->function : "-", g->mangled ? g->mangled : "-",
                                              g->file ? g->file : "-", g->line, g->column, g->discriminator,
                                              (int)g->inlined, (unsigned long long)g->symbol_addr);
                    }
                    if (strcmp(want, got) && !bad++) first_bad = lo + i;
                }
            }
            KT_CHECK(bad == 0, "%s (gnu_compat %d, variant %d): %zu of %zu addresses differ, the first 0x%llx",
                     p->path, gnu, variant, bad, p->n, (unsigned long long)a[first_bad]);
            kperf_frames_free(&fr);
            kperf_frames_free(&fr); /* twice: it was zeroed */
            kperf_symbolizer_close(s);
            kperf_symbolizer_close(ref);
        }
        free(a);
    }
    kperf_frames fr;
    memset(&fr, 0, sizeof fr);
    uint64_t one = 0x1000;
    KT_EQ_INT(kperf_symbolizer_lookup_all(NULL, 0, &one, 1, 4, &fr), -EINVAL);
    kperf_frames_free(NULL);
}

KT_TEST(preload_bad_input) {
    KT_UNUSED();
    uint64_t a = 0x1000;
    KT_EQ_INT(kperf_symbolizer_preload(NULL, 0, &a, 1), -EINVAL);
    kperf_symbolizer *s;
    KT_CHECK(kperf_symbolizer_open(&s, NULL) == 0);
    KT_EQ_INT(kperf_symbolizer_preload(s, 0, NULL, 1), -EINVAL);
    KT_EQ_INT(kperf_symbolizer_preload(s, 0, NULL, 0), 0);
    KT_EQ_INT(kperf_symbolizer_preload(s, 999999, &a, 1), 0); /* unknown process: skipped */
    kperf_symbolizer_close(s);
}

int main(int argc, char **argv) {
    (void)argc;
    char self[PATH_MAX], dir[PATH_MAX], p[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n > 0) self[n] = 0, add_prog(self);
    snprintf(dir, sizeof dir, "%s", argv[0]);
    snprintf(p, sizeof p, "%s/../kperf", dirname(dir));
    add_prog(p);
    snprintf(p, sizeof p, "%s/../progs/sym_fixture_cpp", dir); /* dirname wrote dir in place */
    add_prog(p);
    FILE *f = popen("ls -S /usr/lib/debug/.build-id/*/*.debug 2>/dev/null | head -1", "r");
    char line[PATH_MAX] = "";
    if (f && fgets(line, sizeof line, f)) line[strcspn(line, "\n")] = 0, add_prog(line);
    if (f) pclose(f);
    if (!nprogs) {
        printf("SKIP - symbols_parallel: no program with .text found\n");
        return 0;
    }
    KT_RUN(preload_and_threads_same_as_reference);
    KT_RUN(gnu_compat_preload_same_as_reference);
    KT_RUN(batch_same_as_single_lookups);
    KT_RUN(lookup_all_same_as_in_order);
    KT_RUN(preload_bad_input);
    KT_EXIT();
}
