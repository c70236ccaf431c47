/* kperf_symbols.h: live self-symbolization, shared libraries, MMAP2-style modules of an
 * exited process, vDSO, kernel (kallsyms), JIT perf maps, separate debug info (debuglink
 * with CRC, build-id directory), symbol modes, PLT and .cold symbols, the module cache,
 * concurrent lookups, demangling. Fixtures are compiled here into $KPERF_BUILD/symfix. */
#include "kperf.h"
#include "kperf_symbols.h"
#include "kt.h"
#include <dlfcn.h>
#include <gelf.h>
#include <limits.h>
#include <stdlib.h>
#include <pthread.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *B;
static char fixdir[512];

static int sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    return system(cmd);
}

/* Builds tests/progs/sym_fixture.c into fixdir/name with extra compiler flags (once). */
static const char *fixture(const char *name, const char *flags) {
    static char path[64][600];
    static int n;
    char *p = path[n++ % 64];
    snprintf(p, 600, "%s/%s", fixdir, name);
    if (access(p, R_OK) != 0 &&
        sh("gcc %s tests/progs/sym_fixture.c -o %s 2>/dev/null", flags, p) != 0)
        return NULL;
    return p;
}

/* ELF address of a symbol, read with libelf (independent of the code under test). */
static uint64_t elf_sym(const char *path, const char *name) {
    int fd = open(path, O_RDONLY);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    uint64_t r = 0;
    for (Elf_Scn *s = elf_nextscn(e, NULL); s && !r; s = elf_nextscn(e, s)) {
        GElf_Shdr sh;
        gelf_getshdr(s, &sh);
        if (sh.sh_type != SHT_SYMTAB) continue;
        Elf_Data *d = elf_getdata(s, NULL);
        for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym sym;
            gelf_getsym(d, (int)i, &sym);
            const char *n = elf_strptr(e, sh.sh_link, sym.st_name);
            if (n && !strcmp(n, name)) r = sym.st_value;
        }
    }
    elf_end(e);
    close(fd);
    return r;
}

static uint64_t elf_section(const char *path, const char *name, uint64_t *size) {
    int fd = open(path, O_RDONLY);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    size_t shstr;
    elf_getshdrstrndx(e, &shstr);
    uint64_t r = 0;
    for (Elf_Scn *s = elf_nextscn(e, NULL); s; s = elf_nextscn(e, s)) {
        GElf_Shdr sh;
        gelf_getshdr(s, &sh);
        const char *n = elf_strptr(e, shstr, sh.sh_name);
        if (n && !strcmp(n, name)) r = sh.sh_addr, *size = sh.sh_size;
    }
    elf_end(e);
    close(fd);
    return r;
}

static const char *base(const char *p) {
    const char *s = p ? strrchr(p, '/') : NULL;
    return s ? s + 1 : p ? p : "(null)";
}

__attribute__((noinline)) static uint64_t return_address(void) {
    return (uint64_t)(uintptr_t)__builtin_return_address(0);
}

static int known_line;
__attribute__((noinline)) uint64_t kperf_test_known_function(void);
__attribute__((noinline)) uint64_t kperf_test_known_function(void) {
    known_line = __LINE__; uint64_t ra = return_address();
    __asm__ volatile("" ::: "memory");
    return ra;
}

KT_TEST(live_self_symbolization) {
    KT_UNUSED();
    uint64_t ra = kperf_test_known_function() - 1; /* inside the call instruction */
    kperf_symbolizer *s;
    KT_EQ_INT(kperf_symbolizer_open(&s, NULL), 0);
    kperf_frame f[8];
    int n = kperf_symbolizer_lookup(s, getpid(), ra, f, 8);
    KT_CHECK(n >= 1, "lookup returned %d: %s", n, kperf_errmsg());
    KT_EQ_STR(f[n - 1].function, "kperf_test_known_function");
    KT_EQ_STR(base(f[0].file), "test_symbols.c");
    KT_EQ_INT(f[0].line, known_line);
    KT_CHECK(f[0].module && strstr(f[0].module, "test_symbols"), "module %s", f[0].module);
    /* the function's own address: the symbol start */
    n = kperf_symbolizer_lookup(s, getpid(), (uint64_t)(uintptr_t)&kperf_test_known_function, f, 8);
    KT_CHECK(n >= 1);
    KT_EQ_STR(f[n - 1].function, "kperf_test_known_function");
    KT_EQ_INT(f[n - 1].module_addr, f[n - 1].symbol_addr);
    /* batch */
    uint64_t addrs[3] = {ra, (uint64_t)(uintptr_t)&kperf_test_known_function, 16};
    kperf_frame out[3];
    KT_EQ_INT(kperf_symbolizer_lookup_batch(s, getpid(), addrs, 3, out), 2);
    KT_EQ_STR(out[0].function, "kperf_test_known_function");
    KT_EQ_INT(out[0].line, known_line);
    KT_CHECK(out[2].function == NULL);
    kperf_symbolizer_close(s);
}

typedef int (*int_fn)(int);

KT_TEST(dlopen_shared_library) {
    const char *lib = fixture("libsymlive.so", "-O1 -g -fPIC -shared -DSYM_AS_LIB");
    if (!lib) KT_SKIP("cannot build the shared library fixture with gcc");
    void *h = dlopen(lib, RTLD_NOW);
    KT_CHECK(h != NULL, "dlopen %s: %s", lib, dlerror());
    void *fn = dlsym(h, "sym_switchy");
    KT_CHECK(fn != NULL);
    kperf_symbolizer *s;
    KT_EQ_INT(kperf_symbolizer_open(&s, NULL), 0);
    kperf_frame f[8];
    int n = kperf_symbolizer_lookup(s, getpid(), (uint64_t)(uintptr_t)fn, f, 8);
    KT_CHECK(n >= 1, "%d %s", n, kperf_errmsg());
    KT_EQ_STR(f[n - 1].function, "sym_switchy");
    KT_EQ_STR(base(f[0].file), "sym_fixture.c");
    KT_EQ_INT(f[n - 1].module_addr, elf_sym(lib, "sym_switchy"));
    KT_CHECK(strstr(f[0].module, "libsymlive.so") != NULL, "module %s", f[0].module);
    kperf_symbolizer_close(s);
    dlclose(h);
}

/* Mappings given as MMAP2 records for a process that no longer exists still resolve. */
KT_TEST(mmap2_modules_of_exited_process) {
    KT_UNUSED();
    FILE *m = fopen("/proc/self/maps", "r");
    char line[1024], path[600] = "";
    uint64_t lo = 0, hi = 0, off = 0, fn = (uint64_t)(uintptr_t)&kperf_test_known_function;
    while (fgets(line, sizeof line, m)) {
        uint64_t a, b, o;
        char perm[8];
        int pos = 0;
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %n", &a, &b, perm, &o, &pos) >= 4 && fn >= a && fn < b) {
            lo = a, hi = b, off = o;
            snprintf(path, sizeof path, "%s", line + pos);
            path[strcspn(path, "\n")] = 0;
        }
    }
    fclose(m);
    KT_CHECK(path[0] == '/', "no mapping of the test binary");
    pid_t gone = 0x3ffffff0; /* above pid_max: never a live process */
    kperf_symbolizer *s;
    KT_EQ_INT(kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.mode = KPERF_SYMBOL_DELAYED}), 0);
    KT_EQ_INT(kperf_symbolizer_add_module(s, &(kperf_module_desc){.pid = gone, .start = lo,
                                                                  .len = hi - lo, .pgoff = off,
                                                                  .path = path}), 0);
    kperf_frame f[4];
    int n = kperf_symbolizer_lookup(s, gone, fn, f, 4);
    KT_CHECK(n >= 1, "%d %s", n, kperf_errmsg());
    KT_EQ_STR(f[n - 1].function, "kperf_test_known_function");
    /* a later mapping over the same range replaces it (as mmap does) */
    KT_EQ_INT(kperf_symbolizer_add_module(s, &(kperf_module_desc){.pid = gone, .start = lo,
                                                                  .len = hi - lo, .pgoff = 0,
                                                                  .path = "/nonexistent/lib.so"}), 0);
    n = kperf_symbolizer_lookup(s, gone, fn, f, 4);
    KT_CHECK(n < 0 && kperf_errcode() == -ENOENT, "n=%d", n);
    KT_CHECK(strstr(kperf_errmsg(), "/nonexistent/lib.so") != NULL, "%s", kperf_errmsg());
    /* same file in two processes: one cached module (frames share its strings) */
    KT_EQ_INT(kperf_symbolizer_add_module(s, &(kperf_module_desc){.pid = gone + 1, .start = lo,
                                                                  .len = hi - lo, .pgoff = off,
                                                                  .path = path}), 0);
    kperf_frame g[4];
    KT_CHECK(kperf_symbolizer_lookup(s, gone + 1, fn, g, 4) >= 1);
    KT_CHECK(kperf_symbolizer_lookup(s, getpid(), fn, f, 4) >= 1);
    KT_CHECK(f[0].module == g[0].module, "module not shared: %p %p", (void *)f[0].module, (void *)g[0].module);
    kperf_symbolizer_close(s);
}

/* Load address of the mapping of `path_part` at file offset 0 in pid's maps, or 0. */
static uint64_t map_base(pid_t pid, const char *path_part) {
    char p[64], line[1024];
    snprintf(p, sizeof p, "/proc/%d/maps", (int)pid);
    FILE *m = fopen(p, "r");
    uint64_t r = 0;
    while (m && !r && fgets(line, sizeof line, m)) {
        uint64_t a, b, off;
        if (sscanf(line, "%lx-%lx %*s %lx", &a, &b, &off) == 3 && off == 0 && strstr(line, path_part))
            r = a;
    }
    if (m) fclose(m);
    return r;
}

/* A running program whose file was deleted: read through /proc/PID/map_files. */
KT_TEST(deleted_file_of_live_process) {
    const char *src = fixture("deleted_src", "-O0 -g");
    if (!src) KT_SKIP("cannot build the fixture");
    char run[700];
    snprintf(run, sizeof run, "%s/deleted_run", fixdir);
    KT_EQ_INT(sh("cp %s %s", src, run), 0);
    int in[2], out[2];
    KT_EQ_INT(pipe(in), 0);
    KT_EQ_INT(pipe(out), 0);
    pid_t child = fork();
    if (child == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(in[0], 0), dup2(out[1], 1), dup2(null, 2);
        close(in[1]), close(out[0]);
        execl(run, run, "--wait", (char *)NULL);
        _exit(127);
    }
    close(in[0]), close(out[1]);
    char ready[64] = "";
    KT_CHECK(read(out[0], ready, sizeof ready - 1) > 0 && !strncmp(ready, "ready", 5), "%s", ready);
    KT_EQ_INT(unlink(run), 0);
    uint64_t load = map_base(child, "deleted_run (deleted)");
    KT_CHECK(load != 0, "no deleted mapping in the child's maps");
    kperf_symbolizer *s;
    KT_EQ_INT(kperf_symbolizer_open(&s, NULL), 0);
    kperf_frame f[8];
    uint64_t fn = elf_sym(src, "sym_run_all");
    int n = kperf_symbolizer_lookup(s, child, load + fn + 4, f, 8);
    KT_CHECK(n >= 1, "%d %s", n, kperf_errmsg());
    if (n >= 1) {
        KT_EQ_STR(f[n - 1].function, "sym_run_all");
        KT_EQ_STR(base(f[0].file), "sym_fixture.c");
        KT_CHECK(f[0].line > 0);
        KT_CHECK(f[0].module && strstr(f[0].module, "deleted_run (deleted)"), "%s", f[0].module);
    }
    kperf_symbolizer_close(s);
    close(in[1]);
    close(out[0]);
    waitpid(child, NULL, 0);
}

/* A process in a container names files as its mount namespace sees them: kperf opens them
 * through /proc/PID/root (a fake /proc here: proc_dir). */
KT_TEST(container_files_through_proc_root) {
    const char *bin = fixture("root_src", "-O0 -g");
    if (!bin) KT_SKIP("cannot build the fixture");
    char proc[600];
    snprintf(proc, sizeof proc, "%s/fakeproc", fixdir);
    KT_EQ_INT(sh("rm -rf %s && mkdir -p %s/4242/root/app/bin %s/4243 && cp %s %s/4242/root/app/bin/prog",
                 proc, proc, proc, bin, proc), 0);
    const char *line = "55d000000000-55d000100000 r-xp 00000000 08:01 1234 /app/bin/prog\n";
    for (int pid = 4242; pid <= 4243; pid++) {
        char mp[700];
        snprintf(mp, sizeof mp, "%s/%d/maps", proc, pid);
        FILE *m = fopen(mp, "w");
        KT_CHECK(m != NULL);
        if (m) fputs(line, m), fclose(m);
    }
    kperf_symbolizer *s;
    KT_EQ_INT(kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.proc_dir = proc}), 0);
    kperf_frame f[8];
    uint64_t a = 0x55d000000000ull + elf_sym(bin, "sym_run_all") + 4;
    int n = kperf_symbolizer_lookup(s, 4242, a, f, 8);
    KT_CHECK(n >= 1, "%d %s", n, kperf_errmsg());
    if (n >= 1) {
        KT_EQ_STR(f[n - 1].function, "sym_run_all");
        KT_EQ_STR(f[0].module, "/app/bin/prog"); /* named as the process sees it */
        KT_CHECK(f[0].line > 0);
    }
    /* the same maps without the container's root: /app/bin/prog is not on this host */
    n = kperf_symbolizer_lookup(s, 4243, a, f, 8);
    KT_CHECK(n < 0 && kperf_errcode() == -ENOENT, "n=%d", n);
    KT_CHECK(strstr(kperf_errmsg(), "/app/bin/prog") != NULL, "%s", kperf_errmsg());
    kperf_symbolizer_close(s);
}

KT_TEST(vdso) {
    uint64_t vb = getauxval(AT_SYSINFO_EHDR);
    if (!vb) KT_SKIP("no vDSO in this process");
    kperf_symbolizer *s;
    KT_EQ_INT(kperf_symbolizer_open(&s, NULL), 0);
    kperf_frame f[4];
    int found = 0;
    for (uint64_t a = vb; a < vb + 0x2000 && !found; a += 16) {
        int n = kperf_symbolizer_lookup(s, getpid(), a, f, 4);
        if (n >= 1 && f[0].function) found = 1;
    }
    KT_CHECK(found, "no vDSO address resolved: %s", kperf_errmsg());
    KT_EQ_STR(f[0].module, "[vdso]");
    KT_CHECK(strstr(f[0].function, "time") || strstr(f[0].function, "cpu") ||
             strstr(f[0].function, "vdso"), "vDSO function %s", f[0].function);
    kperf_symbolizer_close(s);
}

KT_TEST(kernel_kallsyms_fixture) {
    KT_UNUSED();
    char path[600];
    snprintf(path, sizeof path, "%s/kallsyms.txt", fixdir);
    FILE *k = fopen(path, "w");
    fprintf(k, "ffffffff81000000 T _stext\nffffffff81000100 t do_one_thing\n"
               "ffffffff81000100 T do_one_thing_alias\nffffffff81000200 D some_data\n"
               "ffffffff81000300 T last_text\nffffffffc0001000 t ext4_fill_super\t[ext4]\n");
    fclose(k);
    kperf_symbolizer *s;
    KT_EQ_INT(kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.include_kernel = true,
                                                                  .kallsyms_path = path}), 0);
    kperf_frame f[2];
    KT_EQ_INT(kperf_symbolizer_lookup(s, -1, 0xffffffff81000150ull, f, 2), 1);
    KT_EQ_STR(f[0].function, "do_one_thing");
    KT_EQ_STR(f[0].module, "[kernel.kallsyms]");
    KT_EQ_INT(f[0].symbol_addr, 0xffffffff81000100ull);
    KT_EQ_INT(kperf_symbolizer_lookup(s, -1, 0xffffffff81000250ull, f, 2), 1);
    KT_EQ_STR(f[0].function, "do_one_thing"); /* data symbols do not end text symbols */
    KT_EQ_INT(kperf_symbolizer_lookup(s, -1, 0xffffffffc0001010ull, f, 2), 1);
    KT_EQ_STR(f[0].function, "ext4_fill_super");
    KT_EQ_STR(f[0].module, "[ext4]");
    kperf_symbolizer_close(s);
}

KT_TEST(kernel_live_kallsyms) {
    FILE *k = fopen("/proc/kallsyms", "r");
    if (!k) KT_SKIP("no /proc/kallsyms");
    char line[512];
    uint64_t addr[64];
    char name[64][256];
    int n = 0;
    uint64_t prev = 0;
    while (n < 64 && fgets(line, sizeof line, k)) {
        uint64_t a;
        char t, nm[256];
        if (sscanf(line, "%lx %c %255s", &a, &t, nm) != 3 || (t != 'T' && t != 't')) continue;
        if (strchr(line, '\t') || a == prev) continue; /* modules, aliases */
        prev = a;
        if (n % 2 == 0 || n < 64) {
            addr[n] = a;
            snprintf(name[n], sizeof name[n], "%s", nm);
            n++;
        }
    }
    fclose(k);
    if (n == 0 || addr[0] == 0) KT_SKIP("kallsyms hides addresses (not root, kptr_restrict)");
    kperf_symbolizer *s;
    KT_EQ_INT(kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.include_kernel = true}), 0);
    for (int i = 0; i < n; i++) {
        kperf_frame f;
        KT_EQ_INT(kperf_symbolizer_lookup(s, 0, addr[i], &f, 1), 1);
        /* several names may share an address; the first one listed wins */
        KT_CHECK(f.function && f.symbol_addr == addr[i], "%s at %lx: got %s", name[i], addr[i], f.function);
    }
    kperf_symbolizer_close(s);
}

KT_TEST(jit_perf_map) {
    KT_UNUSED();
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/perfmaps", fixdir);
    mkdir(dir, 0755);
    size_t len = 1 << 16;
    void *jit = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_CHECK(jit != MAP_FAILED);
    uint64_t j = (uint64_t)(uintptr_t)jit;
    snprintf(path, sizeof path, "%s/perf-%d.map", dir, (int)getpid());
    FILE *m = fopen(path, "w");
    fprintf(m, "%lx 100 LazyCompile:~hot_loop app.js:10\n%lx 40 Builtin:ArrayPush\n"
               "%lx 80 _ZN2v88internal4Heap7CollectEv\n%lx 100 LazyCompile:*hot_loop app.js:10\n",
            j, j + 0x200, j + 0x400, j);
    fclose(m);
    kperf_symbolizer *s;
    KT_EQ_INT(kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.perf_map_dir = dir}), 0);
    kperf_frame f;
    KT_EQ_INT(kperf_symbolizer_lookup(s, getpid(), j + 0x10, &f, 1), 1);
    KT_EQ_STR(f.function, "LazyCompile:*hot_loop app.js:10"); /* the later entry wins */
    KT_EQ_STR(f.module, "[jit]");
    KT_EQ_INT(kperf_symbolizer_lookup(s, getpid(), j + 0x210, &f, 1), 1);
    KT_EQ_STR(f.function, "Builtin:ArrayPush");
    KT_EQ_INT(kperf_symbolizer_lookup(s, getpid(), j + 0x240, &f, 1), 0); /* past its size */
    KT_EQ_INT(kperf_symbolizer_lookup(s, getpid(), j + 0x410, &f, 1), 1);
    KT_EQ_STR(f.function, "v8::internal::Heap::Collect()");
    KT_EQ_STR(f.mangled, "_ZN2v88internal4Heap7CollectEv");
    kperf_symbolizer_close(s);
    munmap(jit, len);
    unlink(path);
}

static int lookup_file(kperf_symbolizer_desc d, const char *path, uint64_t a, kperf_frame *f, size_t max) {
    kperf_symbolizer *s;
    if (kperf_symbolizer_open(&s, &d) < 0) return -1000;
    int rc = kperf_symbolizer_add_module(s, &(kperf_module_desc){.path = path, .file_vaddr = true});
    int n = kperf_symbolizer_lookup(s, 0, a, f, max);
    static char names[16][3][512]; /* copy strings out before close */
    for (int i = 0; i < n && i < 16; i++) {
        snprintf(names[i][0], 512, "%s", f[i].function ? f[i].function : "");
        snprintf(names[i][1], 512, "%s", f[i].file ? f[i].file : "");
        snprintf(names[i][2], 512, "%s", f[i].module ? f[i].module : "");
        f[i].function = f[i].function ? names[i][0] : NULL;
        f[i].file = f[i].file ? names[i][1] : NULL;
        f[i].module = f[i].module ? names[i][2] : NULL;
        f[i].mangled = NULL;
    }
    kperf_symbolizer_close(s);
    return rc < 0 && n >= 0 ? rc : n;
}

KT_TEST(debuglink_and_build_id) {
    const char *full = fixture("dbg_full", "-O2 -g -Wl,--build-id");
    if (!full) KT_SKIP("cannot build the fixture");
    char dbg[700], stripped[700], bad[700], bidonly[700], bdir[700];
    snprintf(dbg, sizeof dbg, "%s/dbg_full.debug", fixdir);
    snprintf(stripped, sizeof stripped, "%s/dbg_stripped", fixdir);
    snprintf(bad, sizeof bad, "%s/badcrc/dbg_stripped", fixdir);
    snprintf(bidonly, sizeof bidonly, "%s/dbg_bidonly", fixdir);
    KT_EQ_INT(sh("objcopy --only-keep-debug %s %s && objcopy --strip-debug --add-gnu-debuglink=%s "
                 "%s %s", full, dbg, dbg, full, stripped), 0);
    uint64_t a = elf_sym(full, "sym_switchy");
    KT_CHECK(a != 0);
    kperf_frame f[8];
    int n = lookup_file((kperf_symbolizer_desc){0}, stripped, a, f, 8);
    KT_CHECK(n >= 1, "%d %s", n, kperf_errmsg());
    KT_EQ_STR(f[n - 1].function, "sym_switchy");
    KT_EQ_STR(base(f[0].file), "sym_fixture.c");
    /* a debug file whose CRC does not match is not used */
    KT_EQ_INT(sh("mkdir -p %s/badcrc && cp %s %s && cp %s %s/badcrc/ && printf x >> %s/badcrc/dbg_full.debug",
                 fixdir, stripped, bad, dbg, fixdir, fixdir), 0);
    n = lookup_file((kperf_symbolizer_desc){0}, bad, a, f, 8);
    KT_CHECK(n >= 1);
    KT_CHECK(f[0].file == NULL, "used a debug file with a wrong CRC: %s", f[0].file);
    /* build-id directory: <debug_dir>/.build-id/xx/rest.debug, no debuglink needed */
    KT_EQ_INT(sh("objcopy --strip-debug %s %s", full, bidonly), 0);
    FILE *p = popen("true", "r");
    pclose(p);
    char cmd[1400], bid[128] = "";
    snprintf(cmd, sizeof cmd, "readelf -n %s | awk '/Build ID/{print $3}'", full);
    p = popen(cmd, "r");
    if (!fgets(bid, sizeof bid, p)) bid[0] = 0;
    pclose(p);
    bid[strcspn(bid, "\n")] = 0;
    if (strlen(bid) < 4) KT_SKIP("the linker wrote no build-id");
    snprintf(bdir, sizeof bdir, "%s/debugroot", fixdir);
    KT_EQ_INT(sh("mkdir -p %s/.build-id/%.2s && cp %s %s/.build-id/%.2s/%s.debug", bdir, bid, dbg,
                 bdir, bid, bid + 2), 0);
    n = lookup_file((kperf_symbolizer_desc){.debug_dir = bdir}, bidonly, a, f, 8);
    KT_CHECK(n >= 1);
    KT_EQ_STR(base(f[0].file), "sym_fixture.c");
    n = lookup_file((kperf_symbolizer_desc){0}, bidonly, a, f, 8); /* default dir: absent */
    KT_CHECK(n >= 1 && f[0].file == NULL);
    KT_EQ_STR(f[0].function, "sym_switchy");
}

KT_TEST(modes_plt_cold) {
    const char *bin = fixture("modes_O2", "-O2 -g");
    if (!bin) KT_SKIP("cannot build the fixture");
    uint64_t a = elf_sym(bin, "sym_switchy") + 4, cold = elf_sym(bin, "report_error.cold");
    kperf_frame f[8];
    int n = lookup_file((kperf_symbolizer_desc){.mode = KPERF_SYMBOL_ELF}, bin, a, f, 8);
    KT_EQ_INT(n, 1);
    KT_EQ_STR(f[0].function, "sym_switchy");
    KT_CHECK(f[0].file == NULL && f[0].line == 0);
    n = lookup_file((kperf_symbolizer_desc){.mode = KPERF_SYMBOL_NONE}, bin, a, f, 8);
    KT_EQ_INT(n, 1);
    KT_CHECK(f[0].function == NULL && f[0].module != NULL);
    n = lookup_file((kperf_symbolizer_desc){.mode = KPERF_SYMBOL_DELAYED}, bin, a, f, 8);
    KT_CHECK(n >= 1 && f[0].line > 0);
    if (cold) { /* split cold part: its own symbol, DWARF still gives the line */
        n = lookup_file((kperf_symbolizer_desc){0}, bin, cold, f, 8);
        KT_CHECK(n >= 1);
        KT_EQ_STR(f[n - 1].function, "report_error.cold");
        KT_CHECK(f[0].line > 0);
    }
    uint64_t psz = 0, plt = elf_section(bin, ".plt.sec", &psz);
    if (!plt) plt = elf_section(bin, ".plt", &psz);
    KT_CHECK(plt && psz >= 32);
    int named = 0;
    for (uint64_t x = plt + 16; x < plt + psz; x += 16) {
        n = lookup_file((kperf_symbolizer_desc){0}, bin, x, f, 8);
        if (n == 1 && f[0].function && strstr(f[0].function, "@plt")) named++;
    }
    KT_CHECK(named >= 3, "only %d PLT entries named", named);
}

typedef struct th_arg {
    kperf_symbolizer *s;
    const uint64_t *addrs;
    size_t n;
    char (*out)[160];
} th_arg;

static void *th_main(void *p) {
    th_arg *a = (th_arg *)p;
    for (size_t i = 0; i < a->n; i++) {
        kperf_frame f[8];
        int n = kperf_symbolizer_lookup(a->s, 0, a->addrs[i], f, 8);
        snprintf(a->out[i], 160, "%d %s %s:%u", n, n > 0 && f[0].function ? f[0].function : "-",
                 n > 0 && f[0].file ? base(f[0].file) : "-", n > 0 ? f[0].line : 0);
    }
    return NULL;
}

KT_TEST(concurrent_lookups) {
    const char *bin = fixture("threads_O2", "-O2 -g");
    if (!bin) KT_SKIP("cannot build the fixture");
    uint64_t lo = elf_sym(bin, "sym_checked_div"), hi = elf_sym(bin, "sym_run_all") + 64;
    if (hi < lo) { uint64_t t = lo; lo = hi - 64; hi = t + 64; }
    enum { N = 2000, T = 4 };
    static uint64_t addrs[N];
    static char ref[N][160], got[T][N][160];
    for (int i = 0; i < N; i++) addrs[i] = lo + (uint64_t)(i * 7919) % (hi - lo);
    kperf_symbolizer *s;
    KT_EQ_INT(kperf_symbolizer_open(&s, NULL), 0);
    KT_EQ_INT(kperf_symbolizer_add_module(s, &(kperf_module_desc){.path = bin, .file_vaddr = true}), 0);
    th_arg one = {s, addrs, N, ref};
    th_main(&one);
    kperf_symbolizer_close(s);
    KT_EQ_INT(kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.mode = KPERF_SYMBOL_DELAYED}), 0);
    KT_EQ_INT(kperf_symbolizer_add_module(s, &(kperf_module_desc){.path = bin, .file_vaddr = true}), 0);
    pthread_t th[T];
    th_arg args[T];
    for (int t = 0; t < T; t++) {
        args[t] = (th_arg){s, addrs, N, got[t]};
        pthread_create(&th[t], NULL, th_main, &args[t]);
    }
    for (int t = 0; t < T; t++) pthread_join(th[t], NULL);
    kperf_symbolizer_close(s);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < N; i++)
            KT_CHECK(!strcmp(ref[i], got[t][i]), "thread %d addr %lx: %s vs %s", t, addrs[i], got[t][i], ref[i]);
}

/* Lookups skip the map lock while a thread's last map stays valid: the shortcut must follow
 * the symbolizer (two at once, one reopened at a recycled address) and every map change,
 * also one made by another thread while lookups run. */
enum { HN = 256 };
static uint64_t hint_addr[HN];

static void hint_names(kperf_symbolizer *s, pid_t pid, char (*out)[96]) {
    for (int i = 0; i < HN; i++) {
        kperf_frame f[8];
        int n = kperf_symbolizer_lookup(s, pid, hint_addr[i], f, 8);
        snprintf(out[i], 96, "%d %s:%u", n, n > 0 && f[n - 1].function ? f[n - 1].function : "-",
                 n > 0 ? f[0].line : 0);
    }
}

static kperf_symbolizer *hint_open(pid_t pid, const char *bin, uint64_t start, uint64_t len) {
    kperf_symbolizer *s = NULL;
    if (kperf_symbolizer_open(&s, NULL) != 0) return NULL;
    if (kperf_symbolizer_add_module(s, &(kperf_module_desc){.pid = pid, .start = start,
                                                           .len = len, .path = bin}) != 0) {
        kperf_symbolizer_close(s);
        return NULL;
    }
    return s;
}

typedef struct hint_reader {
    kperf_symbolizer *s;
    pid_t pid;
    int changed;                  /* set (release) once the map was replaced */
    char after[HN][96];           /* names looked up after seeing `changed` */
    int rounds;
} hint_reader;

static void *hint_reader_main(void *p) {
    hint_reader *r = (hint_reader *)p;
    char scratch[HN][96];
    while (!__atomic_load_n(&r->changed, __ATOMIC_ACQUIRE)) {
        hint_names(r->s, r->pid, scratch);
        __atomic_add_fetch(&r->rounds, 1, __ATOMIC_RELAXED);
    }
    hint_names(r->s, r->pid, r->after);
    return NULL;
}

KT_TEST(lookup_shortcut_follows_map_changes) {
    const char *b1 = fixture("hint_O0", "-O0 -g"), *b2 = fixture("hint_O2", "-O2 -g");
    if (!b1 || !b2) KT_SKIP("cannot build the fixtures");
    struct stat st1, st2;
    stat(b1, &st1), stat(b2, &st2);
    uint64_t start = 0x10000000, len = (uint64_t)(st1.st_size > st2.st_size ? st1.st_size : st2.st_size);
    uint64_t tlo, tsz;
    tlo = elf_section(b1, ".text", &tsz);
    for (int i = 0; i < HN; i++) hint_addr[i] = start + tlo + (uint64_t)i * 37 % tsz;
    pid_t pid = 0x3ffffff1; /* never a live process */
    static char ref1[HN][96], ref2[HN][96], got[HN][96];
    kperf_symbolizer *s1 = hint_open(pid, b1, start, len), *s2;
    KT_CHECK(s1 != NULL, "%s", kperf_errmsg());
    if (!s1) return;
    hint_names(s1, pid, ref1);
    kperf_symbolizer_close(s1);
    s2 = hint_open(pid, b2, start, len);
    KT_CHECK(s2 != NULL, "%s", kperf_errmsg());
    if (!s2) return;
    hint_names(s2, pid, ref2);
    int differ = 0;
    for (int i = 0; i < HN; i++) differ += strcmp(ref1[i], ref2[i]) != 0;
    KT_CHECK(differ > HN / 4, "the two builds name only %d of %d addresses differently", differ, HN);
    int named = 0;
    for (int i = 0; i < HN; i++) named += strstr(ref1[i], " -:") == NULL;
    KT_CHECK(named > HN / 2, "only %d of %d addresses named", named, HN);

    /* two symbolizers, same pid and addresses, different modules, used in turn */
    s1 = hint_open(pid, b1, start, len);
    KT_CHECK(s1 != NULL);
    if (!s1) return;
    for (int i = 0; i < HN; i++) {
        kperf_frame f[8];
        for (int k = 0; k < 2; k++) {
            kperf_symbolizer *s = k ? s2 : s1;
            int n = kperf_symbolizer_lookup(s, pid, hint_addr[i], f, 8);
            snprintf(got[i], 96, "%d %s:%u", n, n > 0 && f[n - 1].function ? f[n - 1].function : "-",
                     n > 0 ? f[0].line : 0);
            KT_CHECK(!strcmp(got[i], k ? ref2[i] : ref1[i]), "s%d %lx: %s, want %s", k + 1,
                     hint_addr[i], got[i], k ? ref2[i] : ref1[i]);
        }
    }
    /* reopened (often at the same address as the one just closed) with the other module */
    for (int round = 0; round < 4; round++) {
        hint_names(s1, pid, got);
        kperf_symbolizer_close(s1);
        s1 = hint_open(pid, round % 2 ? b1 : b2, start, len);
        KT_CHECK(s1 != NULL);
        if (!s1) break;
        hint_names(s1, pid, got);
        for (int i = 0; i < HN; i++)
            KT_CHECK(!strcmp(got[i], round % 2 ? ref1[i] : ref2[i]), "round %d %lx: %s", round,
                     hint_addr[i], got[i]);
    }
    kperf_symbolizer_close(s1);
    kperf_symbolizer_close(s2);

    /* a map replaced by another thread while this one looks up */
    s1 = hint_open(pid, b1, start, len);
    KT_CHECK(s1 != NULL);
    if (!s1) return;
    static hint_reader r;
    memset(&r, 0, sizeof r);
    r.s = s1, r.pid = pid;
    pthread_t th;
    pthread_create(&th, NULL, hint_reader_main, &r);
    while (!__atomic_load_n(&r.rounds, __ATOMIC_RELAXED)) usleep(100);
    KT_EQ_INT(kperf_symbolizer_add_module(s1, &(kperf_module_desc){.pid = pid, .start = start,
                                                                   .len = len, .path = b2}), 0);
    __atomic_store_n(&r.changed, 1, __ATOMIC_RELEASE);
    pthread_join(th, NULL);
    for (int i = 0; i < HN; i++)
        KT_CHECK(!strcmp(r.after[i], ref2[i]), "after the change %lx: %s, want %s", hint_addr[i],
                 r.after[i], ref2[i]);
    kperf_symbolizer_close(s1);
}

KT_TEST(demangle_at_run_time) {
    char *d = kperf_demangle("_ZN6symfix6sum_sqIiEET_RKSt6vectorIS1_SaIS1_EE");
    if (!d) KT_SKIP("no C++ runtime (libstdc++.so.6) to demangle with");
    KT_EQ_STR(d, "int symfix::sum_sq<int>(std::vector<int, std::allocator<int> > const&)");
    free(d);
    KT_CHECK(kperf_demangle("main") == NULL);
    KT_CHECK(kperf_demangle("_Znot a name") == NULL);
}

KT_TEST(errors_are_named) {
    KT_UNUSED();
    kperf_symbolizer *s;
    KT_EQ_INT(kperf_symbolizer_open(&s, NULL), 0);
    char path[700];
    snprintf(path, sizeof path, "%s/not_elf.txt", fixdir);
    FILE *f = fopen(path, "w");
    fputs("this is not an ELF file\n", f);
    fclose(f);
    int rc = kperf_symbolizer_add_module(s, &(kperf_module_desc){.path = path, .file_vaddr = true});
    KT_EQ_INT(rc, -KPERF_ECORRUPT);
    KT_CHECK(strstr(kperf_errmsg(), path) != NULL, "%s", kperf_errmsg());
    kperf_frame fr[2];
    KT_EQ_INT(kperf_symbolizer_lookup(s, 0, 0x1000, fr, 2), -KPERF_ECORRUPT);
    KT_EQ_INT(kperf_symbolizer_add_module(s, NULL), -EINVAL);
    KT_EQ_INT(kperf_symbolizer_add_pid(s, 0x3ffffff0), -KPERF_ENOTARGET);
    kperf_symbolizer_close(s);
    kperf_symbolizer_close(NULL);
    KT_EQ_INT(kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.mode = (kperf_symbol_mode)42}), -EINVAL);
    KT_CHECK(s == NULL);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

KT_TEST(flamegraph_svg) {
    char svg[700], cmd[PATH_MAX + 2048];
    snprintf(svg, sizeof svg, "%s/flame.svg", fixdir);
    const char *folded = "main;work;compute_hash 50\nmain;work;compute_hash;memcpy 20\n"
                         "main;io;read 30\nmain 5\nmain;work;sort<int>& 15\nmain;work 10\n"
                         "main;work;compute_hash 0\n";
    KT_EQ_INT(kperf_flamegraph_write(svg, &(kperf_flamegraph_desc){.folded = folded,
                                                                   .title = "kperf <test>"}), 6);
    char *t = slurp(svg);
    KT_CHECK(t != NULL);
    KT_CHECK(strstr(t, "<svg ") && strstr(t, "</svg>"));
    KT_CHECK(strstr(t, "data-total=\"130\""), "total");
    KT_CHECK(strstr(t, "data-x=\"45\" data-w=\"70\" data-d=\"3\""), "compute_hash box (self 50 + memcpy 20)");
    KT_CHECK(strstr(t, "data-w=\"95\" data-d=\"2\""), "work box: 10 + 70 + 15");
    KT_CHECK(strstr(t, "data-n=\"sort&lt;int&gt;&amp;\""), "names are XML-escaped");
    KT_CHECK(strstr(t, "kperf &lt;test&gt;"), "title escaped");
    KT_CHECK(strstr(t, "function search(") && strstr(t, "function zoom("), "search and zoom script");
    /* in-memory stacks give the same boxes */
    kperf_folded_stack st[] = {{"main;work;compute_hash", 50}, {"main;work;compute_hash;memcpy", 20},
                               {"main;io;read", 30}, {"main", 5}, {"main;work;sort<int>&", 15},
                               {"main;work", 10}};
    char svg2[700];
    snprintf(svg2, sizeof svg2, "%s/flame2.svg", fixdir);
    KT_EQ_INT(kperf_flamegraph_write(svg2, &(kperf_flamegraph_desc){.stacks = st, .nstacks = 6,
                                                                    .title = "kperf <test>"}), 6);
    static char first[1 << 20];
    snprintf(first, sizeof first, "%s", t);
    KT_EQ_STR(slurp(svg2), first);
    /* malformed folded text names the line */
    KT_EQ_INT(kperf_flamegraph_write(svg, &(kperf_flamegraph_desc){.folded = "a;b 3\nno count here\n"}),
              -KPERF_EPARSE);
    KT_CHECK(strstr(kperf_errmsg(), "line 2"), "%s", kperf_errmsg());
    /* a browser runs the script: search highlights and measures, zoom hides the rest */
    if (system("command -v chromium >/dev/null 2>&1") != 0) KT_SKIP("chromium not installed: SVG not rendered");
    snprintf(svg, sizeof svg, "%s/flame.svg", fixdir);
    kperf_flamegraph_write(svg, &(kperf_flamegraph_desc){.folded = folded});
    char abs[PATH_MAX];
    KT_CHECK(realpath(svg, abs) != NULL);
    snprintf(cmd, sizeof cmd, "timeout 120 chromium --headless --no-sandbox --disable-gpu "
             "--dump-dom 'file://%s#s=compute&z=work' 2>/dev/null > %s/flame.dom", abs, fixdir);
    if (system(cmd) != 0) KT_SKIP("chromium could not run headless here");
    snprintf(cmd, sizeof cmd, "%s/flame.dom", fixdir);
    t = slurp(cmd);
    KT_CHECK(t && strstr(t, "Matched: 53.8%"), "search result not shown (70 of 130 samples)");
    KT_CHECK(strstr(t, "rgb(230,0,230)"), "no frame highlighted");
    KT_CHECK(strstr(t, "display: none"), "zoom hid nothing");
    snprintf(cmd, sizeof cmd, "timeout 120 chromium --headless --no-sandbox --disable-gpu "
             "--screenshot=%s/flame.png --window-size=1200,200 'file://%s#s=compute' >/dev/null 2>&1",
             fixdir, abs);
    KT_CHECK(system(cmd) == 0, "screenshot failed");
}

int main(void) {
    B = getenv("KPERF_BUILD") ? getenv("KPERF_BUILD") : "build";
    snprintf(fixdir, sizeof fixdir, "%s/symfix", B);
    sh("mkdir -p %s", fixdir);
    elf_version(EV_CURRENT);
    KT_RUN(live_self_symbolization);
    KT_RUN(dlopen_shared_library);
    KT_RUN(mmap2_modules_of_exited_process);
    KT_RUN(deleted_file_of_live_process);
    KT_RUN(container_files_through_proc_root);
    KT_RUN(vdso);
    KT_RUN(kernel_kallsyms_fixture);
    KT_RUN(kernel_live_kallsyms);
    KT_RUN(jit_perf_map);
    KT_RUN(debuglink_and_build_id);
    KT_RUN(modes_plt_cold);
    KT_RUN(concurrent_lookups);
    KT_RUN(lookup_shortcut_follows_map_changes);
    KT_RUN(demangle_at_run_time);
    KT_RUN(errors_are_named);
    KT_RUN(flamegraph_svg);
    KT_EXIT();
}
