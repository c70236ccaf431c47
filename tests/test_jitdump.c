/* kperf_symbols.h jitdump reader on byte fixtures built here (no JIT, no hardware):
 * CODE_LOAD names, DEBUG_INFO lines (with the "same file" marker), CODE_MOVE, a later load
 * at the same address winning, the dump found through the process's mapping of it; and
 * hostile dumps: every truncation of a valid one, bad record sizes, the other byte order,
 * a FIFO in its place: no crash, no hang, at most the records before the damage.
 * Also kperf_pprof_* without a symbolizer: addresses only, a valid gzip stream. */
#define _GNU_SOURCE 1 /* memmem */
#include "kperf.h"
#include "kperf_symbols.h"
#include "kt.h"
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static char dir[] = "/tmp/kperf_jitdump.XXXXXX";

typedef struct buf {
    unsigned char b[4096];
    size_t n;
} buf;

static void put(buf *b, const void *p, size_t n) {
    memcpy(b->b + b->n, p, n);
    b->n += n;
}
static void u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void u64(buf *b, uint64_t v) { put(b, &v, 8); }

static void header(buf *b, uint32_t magic) {
    u32(b, magic), u32(b, 1), u32(b, 40), u32(b, 62), u32(b, 0), u32(b, 4242);
    u64(b, 0), u64(b, 0);
}

static void code_load(buf *b, uint64_t addr, uint64_t size, uint64_t index, const char *name) {
    uint32_t total = 16 + 40 + (uint32_t)strlen(name) + 1 + (uint32_t)size;
    u32(b, 0), u32(b, total), u64(b, 1);
    u32(b, 4242), u32(b, 4242), u64(b, addr), u64(b, addr), u64(b, size), u64(b, index);
    put(b, name, strlen(name) + 1);
    static const unsigned char code[64];
    put(b, code, size);
}

static void debug_info(buf *b, uint64_t addr) {
    /* two entries: file "a.js" line 7 at addr, then the same file (0xff 0) line 9 at +8 */
    uint32_t total = 16 + 16 + (16 + 5) + (16 + 2);
    u32(b, 2), u32(b, total), u64(b, 1);
    u64(b, addr), u64(b, 2);
    u64(b, addr), u32(b, 7), u32(b, 0), put(b, "a.js", 5);
    u64(b, addr + 8), u32(b, 9), u32(b, 0), put(b, "\xff", 2);
}

static void code_move(buf *b, uint64_t old, uint64_t neu, uint64_t size, uint64_t index) {
    u32(b, 1), u32(b, 16 + 48), u64(b, 1);
    u32(b, 4242), u32(b, 4242), u64(b, neu), u64(b, old), u64(b, neu), u64(b, size), u64(b, index);
}

static void write_file(const char *path, const buf *b, size_t n) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        if (write(fd, b->b, n) != (ssize_t)n) {}
        close(fd);
    }
}

/* A symbolizer that knows pid 4242 mapped `path` (as a recording's MMAP2 says). */
static kperf_symbolizer *sym_for(const char *path) {
    kperf_symbolizer *s = NULL;
    kperf_symbolizer_open(&s, &(kperf_symbolizer_desc){.perf_map_dir = dir});
    kperf_module_desc m = {.pid = 4242, .start = 0x1000, .len = 0x1000, .path = path};
    kperf_symbolizer_add_module(s, &m);
    return s;
}

static void valid_dump(buf *b) {
    header(b, 0x4A695444);
    debug_info(b, 0x700000);
    code_load(b, 0x700000, 32, 1, "js_hot");
    code_load(b, 0x700100, 16, 2, "js_old");
    code_load(b, 0x700100, 16, 3, "js_new"); /* same address, later: wins */
    code_move(b, 0x700000, 0x800000, 32, 1);
}

KT_TEST(jitdump_names_lines_moves) {
    KT_UNUSED();
    char path[256];
    snprintf(path, sizeof path, "%s/jit-4242.dump", dir);
    buf b = {{0}, 0};
    valid_dump(&b);
    write_file(path, &b, b.n);
    kperf_symbolizer *s = sym_for(path);
    kperf_frame f;
    KT_EQ_INT(kperf_symbolizer_lookup(s, 4242, 0x700004, &f, 1), 1);
    KT_EQ_STR(f.function, "js_hot");
    KT_EQ_STR(f.module, "[jit]");
    KT_EQ_STR(f.file, "a.js");
    KT_EQ_INT(f.line, 7);
    KT_EQ_INT(kperf_symbolizer_lookup(s, 4242, 0x70000c, &f, 1), 1);
    KT_EQ_STR(f.file, "a.js"); /* "\xff\0": the previous entry's file */
    KT_EQ_INT(f.line, 9);
    KT_EQ_INT(kperf_symbolizer_lookup(s, 4242, 0x700105, &f, 1), 1);
    KT_EQ_STR(f.function, "js_new");
    KT_EQ_INT(f.line, 0); /* no debug info covers it */
    KT_EQ_INT(kperf_symbolizer_lookup(s, 4242, 0x800010, &f, 1), 1);
    KT_EQ_STR(f.function, "js_hot"); /* moved code keeps its name */
    KT_EQ_INT(kperf_symbolizer_lookup(s, 4242, 0x700020, &f, 1), 0); /* past js_hot's end */
    kperf_symbolizer_close(s);
}

KT_TEST(jitdump_hostile) {
    KT_UNUSED();
    char path[256];
    snprintf(path, sizeof path, "%s/jit-4242.dump", dir);
    buf b = {{0}, 0};
    valid_dump(&b);
    int named = 0;
    for (size_t n = 0; n <= b.n; n++) { /* every truncation */
        write_file(path, &b, n);
        kperf_symbolizer *s = sym_for(path);
        kperf_frame f;
        int r = kperf_symbolizer_lookup(s, 4242, 0x700004, &f, 1);
        named += r == 1 && f.function && !strcmp(f.function, "js_hot");
        KT_CHECK(r == 0 || (r == 1 && f.function && !strcmp(f.function, "js_hot")));
        kperf_symbolizer_close(s);
    }
    KT_CHECK(named > 0 && named < (int)b.n); /* named once the record is whole */
    buf x = b; /* a record claiming more bytes than the file has: ignored, earlier kept */
    uint32_t huge = 0x7fffffff;
    memcpy(x.b + 40 + 4, &huge, 4);
    write_file(path, &x, x.n);
    kperf_symbolizer *s = sym_for(path);
    kperf_frame f;
    KT_EQ_INT(kperf_symbolizer_lookup(s, 4242, 0x700004, &f, 1), 0);
    kperf_symbolizer_close(s);
    buf sw = {{0}, 0}; /* the other byte order: refused */
    header(&sw, 0x4454694A);
    code_load(&sw, 0x700000, 32, 1, "js_hot");
    write_file(path, &sw, sw.n);
    s = sym_for(path);
    KT_EQ_INT(kperf_symbolizer_lookup(s, 4242, 0x700004, &f, 1), 0);
    kperf_symbolizer_close(s);
    unlink(path); /* a FIFO where the dump was: never opened for reading (no hang) */
    KT_EQ_INT(mkfifo(path, 0644), 0);
    s = sym_for(path);
    KT_EQ_INT(kperf_symbolizer_lookup(s, 4242, 0x700004, &f, 1), 0);
    kperf_symbolizer_close(s);
    unlink(path);
}

KT_TEST(jitdump_grows_while_live) {
    KT_UNUSED();
    char path[256];
    snprintf(path, sizeof path, "%s/jit-4242.dump", dir);
    buf b = {{0}, 0};
    header(&b, 0x4A695444);
    code_load(&b, 0x700000, 32, 1, "js_first");
    write_file(path, &b, b.n);
    kperf_symbolizer *s = sym_for(path);
    kperf_frame f;
    KT_EQ_INT(kperf_symbolizer_lookup(s, 4242, 0x700004, &f, 1), 1);
    KT_EQ_INT(kperf_symbolizer_lookup(s, 4242, 0x900004, &f, 1), 0); /* not written yet */
    code_load(&b, 0x900000, 32, 2, "js_later"); /* the JIT appends */
    write_file(path, &b, b.n);
    int r = 0;
    for (int i = 0; i < 50 && r != 1; i++) { /* looked at again at most every 250 ms */
        usleep(100000);
        r = kperf_symbolizer_lookup(s, 4242, 0x900004, &f, 1);
    }
    KT_EQ_INT(r, 1);
    KT_EQ_STR(f.function, "js_later");
    KT_EQ_INT(kperf_symbolizer_lookup(s, 4242, 0x700004, &f, 1), 1);
    KT_EQ_STR(f.function, "js_first");
    kperf_symbolizer_close(s);
    unlink(path);
}

KT_TEST(pprof_without_symbolizer) {
    KT_UNUSED();
    kperf_pprof *p;
    KT_EQ_INT(kperf_pprof_new(&p, &(kperf_pprof_desc){.event = "page-faults", .period = 1}), 0);
    uint64_t ips[3] = {KPERF_CONTEXT_USER, 0x401000, 0x402000};
    kperf_sample smp;
    memset(&smp, 0, sizeof smp);
    smp.pid = 7, smp.ips = ips, smp.nips = 3;
    for (int i = 0; i < 5; i++) KT_EQ_INT(kperf_pprof_add(p, &smp, "app"), 0);
    smp.nips = 0, smp.ip = 0x403000; /* no chain: the ip alone */
    KT_EQ_INT(kperf_pprof_add(p, &smp, NULL), 0);
    uint8_t *out;
    size_t len;
    KT_EQ_INT(kperf_pprof_encode(p, &out, &len), 0);
    KT_CHECK(len > 18 && out[0] == 0x1f && out[1] == 0x8b); /* gzip */
    unsigned char raw[4096];
    uLongf rl = sizeof raw;
    z_stream z;
    memset(&z, 0, sizeof z);
    inflateInit2(&z, 15 + 16);
    z.next_in = out, z.avail_in = (uInt)len, z.next_out = raw, z.avail_out = (uInt)rl;
    KT_EQ_INT(inflate(&z, Z_FINISH), Z_STREAM_END);
    rl = z.total_out;
    inflateEnd(&z);
    /* field 1 (sample_type) first: key 0x0a; the strings hold the event and the comm */
    KT_CHECK(rl > 0 && raw[0] == 0x0a);
    KT_CHECK(memmem(raw, rl, "page-faults", 11) != NULL);
    KT_CHECK(memmem(raw, rl, "app", 3) != NULL);
    /* one packed location list of 2 ids and the values 5, 5 (merged samples) */
    static const unsigned char merged[] = {0x12, 0x02, 0x05, 0x05};
    KT_CHECK(memmem(raw, rl, merged, sizeof merged) != NULL);
    kperf_pprof_buffer_free(out);
    KT_EQ_INT(kperf_pprof_add(NULL, &smp, NULL), -EINVAL);
    kperf_pprof_free(p);
    kperf_pprof_free(NULL);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    KT_RUN(jitdump_names_lines_moves);
    KT_RUN(jitdump_hostile);
    KT_RUN(jitdump_grows_while_live);
    KT_RUN(pprof_without_symbolizer);
    rmdir(dir);
    KT_EXIT();
}
