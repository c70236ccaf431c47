/* kperf_symbols.h on hostile input: a real ELF with DWARF cut at every section and segment
 * boundary must give an error naming the file (never a crash); copies with flipped bytes
 * (headers, symbol tables, DWARF) must load or fail cleanly and answer lookups without
 * crashing or hanging. Bounded: KPERF_FUZZ_ITERS variants (default 400), run plain and
 * under ASan+UBSan in CI. */
#include "kperf.h"
#include "kperf_symbols.h"
#include <gelf.h>
#include "kt.h"
#include <sys/stat.h>
#include <unistd.h>

static char fixdir[512], base_path[600];
static unsigned char *img;
static size_t img_size;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { /* xorshift64*: reproducible across runs */
    rng_state ^= rng_state >> 12, rng_state ^= rng_state << 25, rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}

static int write_file(const char *path, const unsigned char *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

/* Loads path and looks up `probes` addresses in [lo, hi); returns add_module's code. */
static int exercise(const char *path, uint64_t lo, uint64_t hi, int probes, int *answered) {
    kperf_symbolizer *s;
    if (kperf_symbolizer_open(&s, NULL) < 0) return -1000;
    int rc = kperf_symbolizer_add_module(s, &(kperf_module_desc){.path = path, .file_vaddr = true});
    *answered = 0;
    for (int i = 0; i < probes; i++) {
        kperf_frame f[16];
        uint64_t a = lo + (hi > lo ? rnd() % (hi - lo) : 0);
        int n = kperf_symbolizer_lookup(s, 0, a, f, 16);
        for (int k = 0; k < n; k++) { /* touch every string: must be valid memory */
            if (f[k].function) *answered += (int)(strlen(f[k].function) > 0);
            if (f[k].file) (void)strlen(f[k].file);
            if (f[k].mangled) (void)strlen(f[k].mangled);
        }
    }
    kperf_symbolizer_close(s);
    return rc;
}

static uint64_t text_lo, text_hi;
static struct { uint64_t off, size; int debug; } secs[128];
static int nsecs;
static uint64_t cuts[512];
static int ncuts;

static void add_cut(uint64_t c) {
    if (c == 0 || c >= img_size || ncuts >= 512) return;
    for (int i = 0; i < ncuts; i++)
        if (cuts[i] == c) return;
    cuts[ncuts++] = c;
}

static int scan_base(void) {
    int fd = open(base_path, O_RDONLY);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    if (!e) return -1;
    size_t shstr, phn = 0;
    GElf_Ehdr eh;
    gelf_getehdr(e, &eh);
    elf_getshdrstrndx(e, &shstr);
    add_cut(eh.e_phoff), add_cut(eh.e_shoff), add_cut(eh.e_shoff + eh.e_shentsize);
    add_cut(16), add_cut(eh.e_ehsize);
    for (Elf_Scn *scn = elf_nextscn(e, NULL); scn && nsecs < 128; scn = elf_nextscn(e, scn)) {
        GElf_Shdr sh;
        gelf_getshdr(scn, &sh);
        const char *n = elf_strptr(e, shstr, sh.sh_name);
        if (n && !strcmp(n, ".text")) text_lo = sh.sh_addr, text_hi = sh.sh_addr + sh.sh_size;
        if (sh.sh_type == SHT_NOBITS) continue;
        add_cut(sh.sh_offset), add_cut(sh.sh_offset + sh.sh_size / 2), add_cut(sh.sh_offset + sh.sh_size);
        secs[nsecs].off = sh.sh_offset, secs[nsecs].size = sh.sh_size;
        secs[nsecs++].debug = n && (!strncmp(n, ".debug", 6) || !strcmp(n, ".symtab") || !strcmp(n, ".strtab"));
    }
    elf_getphdrnum(e, &phn);
    for (size_t i = 0; i < phn; i++) {
        GElf_Phdr ph;
        gelf_getphdr(e, (int)i, &ph);
        add_cut(ph.p_offset + ph.p_filesz);
    }
    elf_end(e);
    close(fd);
    return text_hi > text_lo ? 0 : -1;
}

KT_TEST(truncated_at_every_boundary) {
    KT_UNUSED();
    char path[700];
    snprintf(path, sizeof path, "%s/fuzz_cut.bin", fixdir);
    int failed_ok = 0;
    for (int i = 0; i < ncuts; i++) {
        KT_CHECK(write_file(path, img, cuts[i]) == 0);
        int answered;
        int rc = exercise(path, text_lo, text_hi, 20, &answered);
        if (rc >= 0) KT_FAIL("cut at %lu of %zu bytes loaded without an error", cuts[i], img_size);
        KT_CHECK(rc == -KPERF_ECORRUPT, "cut at %lu: rc %d (%s)", cuts[i], rc, kperf_errmsg());
        failed_ok++;
    }
    KT_CHECK(failed_ok >= 20, "only %d cut points", failed_ok);
    printf("# %d truncated copies, each rejected with -KPERF_ECORRUPT\n", failed_ok);
}

KT_TEST(flipped_bytes) {
    KT_UNUSED();
    char path[700];
    snprintf(path, sizeof path, "%s/fuzz_flip.bin", fixdir);
    int iters = getenv("KPERF_FUZZ_ITERS") ? atoi(getenv("KPERF_FUZZ_ITERS")) : 400;
    unsigned char *m = malloc(img_size);
    int errors = 0, loaded = 0;
    for (int it = 0; it < iters; it++) {
        memcpy(m, img, img_size);
        int flips = 1 + (int)(rnd() % 16);
        for (int k = 0; k < flips; k++) {
            uint64_t at;
            uint64_t pick = rnd() % 10;
            if (pick < 2) at = rnd() % 64; /* ELF header */
            else if (pick < 8 && nsecs) { /* DWARF and symbol tables mostly */
                int s = (int)(rnd() % (uint64_t)nsecs);
                for (int t = 0; t < 8 && !secs[s].debug; t++) s = (int)(rnd() % (uint64_t)nsecs);
                at = secs[s].off + (secs[s].size ? rnd() % secs[s].size : 0);
            } else at = rnd() % img_size;
            if (at < img_size) m[at] ^= (unsigned char)(1u << (rnd() % 8)) | (rnd() % 3 == 0 ? 0xff : 0);
        }
        KT_CHECK(write_file(path, m, img_size) == 0);
        int answered;
        int rc = exercise(path, text_lo, text_hi, 50, &answered);
        if (rc < 0) errors++;
        else loaded++;
    }
    free(m);
    printf("# %d corrupted copies: %d loaded, %d rejected with an error\n", iters, loaded, errors);
    KT_CHECK(loaded + errors == iters);
}

KT_TEST(intact_copy_still_works) {
    KT_UNUSED();
    int answered;
    int rc = exercise(base_path, text_lo, text_hi, 200, &answered);
    KT_EQ_INT(rc, 0);
    KT_CHECK(answered > 150, "only %d of 200 addresses named", answered);
}

int main(void) {
    const char *B = getenv("KPERF_BUILD") ? getenv("KPERF_BUILD") : "build";
    snprintf(fixdir, sizeof fixdir, "%s/symfix", B);
    snprintf(base_path, sizeof base_path, "%s/fuzz_base", fixdir);
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s && gcc -O2 -g tests/progs/sym_fixture.c -o %s", fixdir, base_path);
    if (system(cmd) != 0) {
        printf("SKIP - fuzz: cannot build the fixture with gcc\n");
        return 0;
    }
    elf_version(EV_CURRENT);
    struct stat st;
    FILE *f = fopen(base_path, "rb");
    if (!f || stat(base_path, &st) != 0) return 1;
    img_size = (size_t)st.st_size;
    img = malloc(img_size);
    if (fread(img, 1, img_size, f) != img_size) return 1;
    fclose(f);
    if (scan_base() != 0) {
        printf("FAIL - fuzz: cannot read the fixture's sections\n");
        return 1;
    }
    KT_RUN(intact_copy_still_works);
    KT_RUN(truncated_at_every_boundary);
    KT_RUN(flipped_bytes);
    free(img);
    KT_EXIT();
}
