/* Hardening regressions (issue 18): inputs that crashed, hung or misled kperf before.
 * Each test names the defect it guards; several only fail on the old code under the ASan+UBSan
 * flavour of `make test` (an over-read or a NULL handed to bsearch is silent otherwise). */
#include "kperf.h"
#include "kt.h"
#include "kperf_symbols.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* A call that blocks (the old open() of a FIFO) is a failure, not a hung test run. */
static const char *guard_what = "";
static void guard_fired(int sig) {
    (void)sig;
    printf("FAIL - %s: blocked for 20 s (a FIFO opened without O_NONBLOCK?)\n", guard_what);
    fflush(stdout);
    _exit(1);
}
static void guard(const char *what) {
    guard_what = what;
    signal(SIGALRM, guard_fired);
    alarm(20);
}

/* A fresh temporary directory for one test (removed by the caller with rm_tree). */
static char *tmp_dir(char *buf, size_t n) {
    snprintf(buf, n, "/tmp/kperf_hard_XXXXXX");
    return mkdtemp(buf);
}

static void rm_tree(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("# could not remove %s\n", dir);
}

/* Writes text to root/rel, creating the directories on the way. */
static int put(const char *root, const char *rel, const char *text) {
    char path[1024], cmd[1200];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    char *slash = strrchr(path, '/');
    *slash = 0;
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    if (system(cmd) != 0) return -1;
    *slash = '/';
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

/* "field:__rel_loc x;" with no element type: the parser skipped 10 bytes after the 9-byte
 * keyword and read past the end of the type string (ASan: heap-buffer-overflow). */
KT_TEST(tp_format_rel_loc_without_type) {
    KT_UNUSED();
    static const char fmt[] = "name: x\nID: 7\nformat:\n\tfield:__rel_loc x;\toffset:0;\tsize:4;\n";
    kperf_tp_format *f = NULL;
    KT_EQ_INT(kperf_tp_format_parse(&f, fmt, strlen(fmt)), 0);
    KT_EQ_INT(f->nfields, 1);
    KT_CHECK(f->fields[0].flags & KPERF_TP_FIELD_REL_LOC);
    KT_EQ_INT(f->fields[0].elem_size, 1);
    kperf_tp_format_free(f);
    /* the element type right after the keyword is still read */
    static const char fmt2[] =
        "name: x\nID: 7\nformat:\n\tfield:__rel_loc u32[] v;\toffset:0;\tsize:4;\n";
    KT_EQ_INT(kperf_tp_format_parse(&f, fmt2, strlen(fmt2)), 0);
    KT_EQ_INT(f->fields[0].elem_size, 4);
    kperf_tp_format_free(f);
}

/* A dimension of 2^32 truncated to 0 and the parser divided by it (SIGFPE). */
KT_TEST(tp_format_huge_array_dimension) {
    KT_UNUSED();
    static const char *fmts[] = {
        "name: x\nID: 7\nformat:\n\tfield:char x[4294967296];\toffset:0;\tsize:1;\n",
        "name: x\nID: 7\nformat:\n\tfield:char x[65536][65536];\toffset:0;\tsize:1;\n",
        "name: x\nID: 7\nformat:\n\tfield:char x[4294967295][4294967295][4294967295];\t"
        "offset:0;\tsize:1;\n",
        "name: x\nID: 7\nformat:\n\tfield:char x[0x7fffffffffffffff][3];\toffset:0;\tsize:1;\n",
    };
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        kperf_tp_format *f = NULL;
        KT_EQ_INT(kperf_tp_format_parse(&f, fmts[i], strlen(fmts[i])), 0);
        KT_CHECK(f->fields[0].flags & KPERF_TP_FIELD_ARRAY, "format %zu", i);
        KT_EQ_INT(f->fields[0].elem_size, 1);
        KT_EQ_INT(f->fields[0].count, 1); /* the size (1 byte) is what the record holds */
        kperf_tp_format_free(f);
    }
}

/* A memory-only NUMA node has an empty cpulist; the topology code handed bsearch a NULL base
 * (UBSan: null pointer passed as argument 2, declared to never be null). */
KT_TEST(topology_memory_only_numa_node) {
    KT_UNUSED();
    char root[64];
    KT_CHECK(tmp_dir(root, sizeof root));
    KT_EQ_INT(put(root, "sys/devices/system/cpu/online", "0-1\n"), 0);
    KT_EQ_INT(put(root, "sys/devices/system/node/node0/cpulist", "0-1\n"), 0);
    KT_EQ_INT(put(root, "sys/devices/system/node/node1/cpulist", "\n"), 0);
    kperf_topology *t = NULL;
    int rc = kperf_topology_open(&t, root);
    if (rc < 0) rm_tree(root);
    KT_EQ_INT(rc, 0);
    kperf_cpu_topo c;
    KT_EQ_INT(kperf_topology_cpu(t, 1, &c), 0);
    KT_EQ_INT(c.numa, 0);
    KT_EQ_INT(kperf_topology_numa_count(t), 2);
    const int *cpus;
    size_t n = 99;
    KT_EQ_INT(kperf_topology_numa_cpus(t, 1, &cpus, &n), 0);
    KT_EQ_INT(n, 0);
    kperf_topology_close(t);
    /* no CPU online at all: lookups answer "not online" */
    KT_EQ_INT(put(root, "sys/devices/system/cpu/online", "\n"), 0);
    rc = kperf_topology_open(&t, root);
    if (rc == 0) {
        KT_EQ_INT(kperf_topology_cpu(t, 0, &c), -ENOENT);
        kperf_topology_close(t);
    }
    rm_tree(root);
}

/* kperf_file_open_data: only regular files, never blocking, size-capped. */
KT_TEST(file_open_data_regular_only) {
    KT_UNUSED();
    char dir[64], fifo[128], reg[128];
    KT_CHECK(tmp_dir(dir, sizeof dir));
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    snprintf(reg, sizeof reg, "%s/reg", dir);
    KT_EQ_INT(mkfifo(fifo, 0600), 0);
    KT_EQ_INT(put(dir, "reg", "0123456789"), 0);
    guard("file_open_data_regular_only");
    KT_EQ_INT(kperf_file_open_data(fifo, 0), -EINVAL);
    KT_CHECK(strstr(kperf_errmsg(), "not a regular file"), "%s", kperf_errmsg());
    KT_EQ_INT(kperf_file_open_data(dir, 0), -EINVAL);
    KT_EQ_INT(kperf_file_open_data("/dev/null", 0), -EINVAL);
    KT_EQ_INT(kperf_file_open_data(reg, 9), -EFBIG);
    KT_EQ_INT(kperf_file_open_data("/nonexistent/x", 0), -ENOENT);
    int fd = kperf_file_open_data(reg, 10);
    KT_CHECK(fd >= 0, "%s", kperf_errmsg());
    KT_CHECK(!(fcntl(fd, F_GETFL) & O_NONBLOCK)); /* handed back in blocking mode */
    KT_CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    alarm(0);
    rm_tree(dir);
}

/* A profiled process can put a FIFO where it mapped a file: the build-id reader (run by the
 * perf.data writer for every MMAP2 it writes) blocked in open() forever. */
KT_TEST(build_id_read_fifo_does_not_block) {
    KT_UNUSED();
    char dir[64], fifo[128];
    KT_CHECK(tmp_dir(dir, sizeof dir));
    snprintf(fifo, sizeof fifo, "%s/lib.so", dir);
    KT_EQ_INT(mkfifo(fifo, 0600), 0);
    uint8_t id[20];
    guard("build_id_read_fifo_does_not_block");
    KT_EQ_INT(kperf_build_id_read(fifo, id), -EINVAL);
    alarm(0);
    rm_tree(dir);
}

/* The symbolizer (kperf report) opened a module path named by an MMAP2 record blocking. */
KT_TEST(symbolizer_fifo_module_does_not_block) {
    KT_UNUSED();
    char dir[64], fifo[128];
    KT_CHECK(tmp_dir(dir, sizeof dir));
    snprintf(fifo, sizeof fifo, "%s/lib.so", dir);
    KT_EQ_INT(mkfifo(fifo, 0600), 0);
    kperf_symbolizer *s;
    KT_EQ_INT(kperf_symbolizer_open(&s, NULL), 0);
    guard("symbolizer_fifo_module_does_not_block");
    kperf_module_desc m;
    memset(&m, 0, sizeof m);
    m.pid = 4242, m.start = 0x400000, m.len = 0x1000, m.path = fifo;
    kperf_symbolizer_add_module(s, &m);
    kperf_frame f;
    KT_CHECK(kperf_symbolizer_lookup(s, 4242, 0x400010, &f, 1) <= 0);
    alarm(0);
    kperf_symbolizer_close(s);
    rm_tree(dir);
}

/* /tmp/perf-PID.map is writable by anyone: only a map owned by root or by the process's user
 * names symbols, unless the caller says otherwise. */
KT_TEST(perf_map_owner_checked) {
    KT_UNUSED();
    if (geteuid() != 0) KT_SKIP("needs root to give the map to another user");
    char dir[64], path[128];
    KT_CHECK(tmp_dir(dir, sizeof dir));
    size_t len = 1 << 16;
    void *jit = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    KT_CHECK(jit != MAP_FAILED);
    uint64_t j = (uint64_t)(uintptr_t)jit;
    snprintf(path, sizeof path, "%s/perf-%d.map", dir, (int)getpid());
    FILE *m = fopen(path, "w");
    KT_CHECK(m);
    fprintf(m, "%lx 100 planted_name\n", (unsigned long)j);
    fclose(m);
    KT_EQ_INT(chown(path, 65534, 65534), 0); /* nobody's */
    kperf_symbolizer_desc d;
    memset(&d, 0, sizeof d);
    d.perf_map_dir = dir;
    kperf_symbolizer *s;
    kperf_frame f;
    unsetenv("KPERF_PERF_MAP_ANY_OWNER");
    KT_EQ_INT(kperf_symbolizer_open(&s, &d), 0);
    KT_EQ_INT(kperf_symbolizer_lookup(s, getpid(), j + 0x10, &f, 1), 0);
    kperf_symbolizer_close(s);
    d.perf_map_any_owner = true; /* the explicit override */
    KT_EQ_INT(kperf_symbolizer_open(&s, &d), 0);
    KT_EQ_INT(kperf_symbolizer_lookup(s, getpid(), j + 0x10, &f, 1), 1);
    KT_EQ_STR(f.function, "planted_name");
    kperf_symbolizer_close(s);
    d.perf_map_any_owner = false;
    setenv("KPERF_PERF_MAP_ANY_OWNER", "1", 1); /* the same through the environment */
    KT_EQ_INT(kperf_symbolizer_open(&s, &d), 0);
    KT_EQ_INT(kperf_symbolizer_lookup(s, getpid(), j + 0x10, &f, 1), 1);
    kperf_symbolizer_close(s);
    unsetenv("KPERF_PERF_MAP_ANY_OWNER");
    KT_EQ_INT(chown(path, 0, 0), 0); /* root's (our own user here): read */
    KT_EQ_INT(kperf_symbolizer_open(&s, &d), 0);
    KT_EQ_INT(kperf_symbolizer_lookup(s, getpid(), j + 0x10, &f, 1), 1);
    KT_EQ_STR(f.function, "planted_name");
    kperf_symbolizer_close(s);
    munmap(jit, len);
    rm_tree(dir);
}

static int file_text(const char *path, char *buf, size_t n) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t r = fread(buf, 1, n - 1, f);
    buf[r] = 0;
    fclose(f);
    return (int)r;
}

/* Output files: a symlink (or file, or hard link) another user planted in a world-writable
 * sticky directory is never written through; the victim keeps its bytes. */
KT_TEST(file_create_refuses_planted_entries) {
    KT_UNUSED();
    if (geteuid() != 0) KT_SKIP("needs root to plant entries as another user");
    char dir[64], sticky[128], victim[128], lnk[160], own[160], buf[64];
    KT_CHECK(tmp_dir(dir, sizeof dir));
    snprintf(sticky, sizeof sticky, "%s/tmp", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    KT_EQ_INT(mkdir(sticky, 0777), 0);
    KT_EQ_INT(chmod(sticky, 01777), 0);
    KT_EQ_INT(put(dir, "victim", "secret"), 0);
    KT_EQ_INT(chmod(victim, 0600), 0);
    /* nobody's symlink to the victim */
    snprintf(lnk, sizeof lnk, "%s/perf.data", sticky);
    KT_EQ_INT(symlink(victim, lnk), 0);
    KT_EQ_INT(lchown(lnk, 65534, 65534), 0);
    KT_EQ_INT(kperf_file_create(lnk, 0600), -EPERM);
    KT_CHECK(strstr(kperf_errmsg(), "symlink"), "%s", kperf_errmsg());
    kperf_folded *fo;
    KT_EQ_INT(kperf_folded_new(&fo, NULL, NULL), 0);
    KT_EQ_INT(kperf_folded_write(fo, lnk), -EPERM);
    kperf_folded_free(fo);
    KT_EQ_INT(kperf_flamegraph_write(lnk, &(kperf_flamegraph_desc){.folded = "a;b 1\n"}), -EPERM);
    KT_EQ_INT(file_text(victim, buf, sizeof buf), 6);
    KT_EQ_STR(buf, "secret");
    /* nobody's regular file: not written into (it could be read by its owner) */
    snprintf(own, sizeof own, "%s/out.txt", sticky);
    KT_EQ_INT(put(sticky, "out.txt", "theirs"), 0);
    KT_EQ_INT(chown(own, 65534, 65534), 0);
    KT_EQ_INT(kperf_file_create(own, 0600), -EPERM);
    /* a hard link to the victim, owned by root as the victim is */
    unlink(own);
    KT_EQ_INT(link(victim, own), 0);
    KT_EQ_INT(kperf_file_create(own, 0600), -EPERM);
    KT_EQ_INT(file_text(victim, buf, sizeof buf), 6);
    unlink(own);
    /* our own symlink in the same directory is followed, as the user asked */
    unlink(lnk);
    char target[160];
    snprintf(target, sizeof target, "%s/target", dir);
    KT_EQ_INT(symlink(target, lnk), 0);
    int fd = kperf_file_create(lnk, 0600);
    KT_CHECK(fd >= 0, "%s", kperf_errmsg());
    KT_EQ_INT(write(fd, "ok", 2), 2);
    close(fd);
    KT_EQ_INT(file_text(target, buf, sizeof buf), 2);
    /* a new file: created with the mode asked (less the umask) */
    snprintf(own, sizeof own, "%s/new.data", sticky);
    mode_t old = umask(022);
    fd = kperf_file_create(own, 0600);
    umask(old);
    KT_CHECK(fd >= 0, "%s", kperf_errmsg());
    struct stat st;
    KT_EQ_INT(fstat(fd, &st), 0);
    KT_EQ_INT(st.st_mode & 0777, 0600);
    close(fd);
    /* an existing file of ours is truncated; /dev/null stays a device */
    KT_EQ_INT(put(dir, "mine", "0123456789"), 0);
    char mine[160];
    snprintf(mine, sizeof mine, "%s/mine", dir);
    fd = kperf_file_create(mine, 0600);
    KT_CHECK(fd >= 0);
    KT_EQ_INT(fstat(fd, &st), 0);
    KT_EQ_INT(st.st_size, 0);
    close(fd);
    fd = kperf_file_create("/dev/null", 0600);
    KT_CHECK(fd >= 0, "%s", kperf_errmsg());
    KT_EQ_INT(fstat(fd, &st), 0);
    KT_CHECK(S_ISCHR(st.st_mode));
    close(fd);
    rm_tree(dir);
}

static int count_calls(const kperf_syscall_call *c, void *user) {
    (void)c;
    ++*(int *)user;
    return 0;
}

/* After ring loss the pairer matched an entry with a far later exit (getppid max of 116-547 ms
 * where p99 was 0.7 us): a LOST record drops the pending entries of the CPUs it covers. */
KT_TEST(syscall_pairer_drops_entries_on_lost) {
    KT_UNUSED();
    kperf_syscall_pairer *p;
    KT_EQ_INT(kperf_syscall_pairer_new(&p), 0);
    kperf_syscall_event in = {false, 1000, 10, 11, 0, 110, "getppid", 0};
    kperf_syscall_event other = {false, 1100, 20, 21, 1, 110, "getppid", 0};
    int calls = 0;
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &in, count_calls, &calls), 0);
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &other, count_calls, &calls), 0);
    KT_EQ_INT(kperf_syscall_pairer_lost(p, 0), 1); /* CPU 0 lost records: thread 11's entry */
    kperf_syscall_event out = {true, 500000000, 10, 11, 0, 110, "getppid", 0};
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &out, count_calls, &calls), 0); /* no pair */
    kperf_syscall_event out2 = {true, 1300, 20, 21, 1, 110, "getppid", 0};
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &out2, count_calls, &calls), 1); /* CPU 1 intact */
    KT_EQ_INT(calls, 1);
    const kperf_syscall_stat *st;
    size_t n;
    KT_EQ_INT(kperf_syscall_pairer_stats(p, &st, &n), 0);
    KT_EQ_INT(n, 1);
    KT_EQ_INT(st[0].count, 1);
    KT_EQ_INT(st[0].max, 200); /* not 500 ms */
    KT_EQ_INT(st[0].unfinished, 1);
    kperf_syscall_counts c;
    kperf_syscall_pairer_counts(p, &c);
    KT_EQ_INT(c.pending, 0);
    /* a per-thread ring (cpu unknown): every pending entry goes */
    in.tid = 31, other.tid = 41;
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &in, count_calls, &calls), 0);
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &other, count_calls, &calls), 0);
    KT_EQ_INT(kperf_syscall_pairer_lost(p, -1), 2);
    kperf_syscall_pairer_free(p);
}

int main(void) {
    KT_RUN(tp_format_rel_loc_without_type);
    KT_RUN(tp_format_huge_array_dimension);
    KT_RUN(topology_memory_only_numa_node);
    KT_RUN(file_open_data_regular_only);
    KT_RUN(build_id_read_fifo_does_not_block);
    KT_RUN(symbolizer_fifo_module_does_not_block);
    KT_RUN(perf_map_owner_checked);
    KT_RUN(file_create_refuses_planted_entries);
    KT_RUN(syscall_pairer_drops_entries_on_lost);
    KT_EXIT();
}
