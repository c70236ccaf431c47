/* perf.data tracing data: the TRACING_DATA record kperf_perfdata_open() writes for
 * tracepoint events (parsed here by an independent reader and compared with tracefs), the
 * reader skipping it, files without tracepoints unchanged, tracefs fixtures and errors. */
#include "../kperf.h"
#include "kt.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TRACEFS "/sys/kernel/tracing"

typedef struct buf {
    unsigned char *b;
    size_t n;
} buf;

static buf load(const char *path) {
    buf r = {NULL, 0};
    FILE *f = fopen(path, "rb");
    if (!f) return r;
    size_t cap = 1 << 16;
    r.b = (unsigned char *)malloc(cap);
    for (size_t got; r.b && (got = fread(r.b + r.n, 1, cap - r.n, f)) > 0;) {
        r.n += got;
        if (r.n == cap) r.b = (unsigned char *)realloc(r.b, cap *= 2);
    }
    fclose(f);
    return r;
}

static void put(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (f) fwrite(p, 1, n, f), fclose(f);
}

static int mkdirs(const char *p) {
    char t[512];
    snprintf(t, sizeof t, "%s", p);
    for (char *s = t + 1; *s; s++)
        if (*s == '/') *s = 0, mkdir(t, 0755), *s = '/';
    return mkdir(t, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* Offset of the first record of @p type in a pipe-layout file (tracing data skipped), or -1;
 * *count receives how many there are. */
static long find_rec(const buf *f, uint32_t type, int *count) {
    long first = -1;
    *count = 0;
    for (size_t off = 16; off + 8 <= f->n;) {
        struct perf_event_header h;
        memcpy(&h, f->b + off, 8);
        if (h.size < 8) break;
        if (h.type == type) {
            if (first < 0) first = (long)off;
            ++*count;
        }
        size_t next = off + h.size;
        if (h.type == 66 && h.size >= 16) {
            uint32_t sz;
            memcpy(&sz, f->b + off + 8, 4);
            next += sz;
        }
        off = next;
    }
    return first;
}

/* A cursor over the blob: every read is bounds-checked. */
typedef struct cur {
    const unsigned char *p;
    size_t n, at;
    bool bad;
} cur;
static const unsigned char *take(cur *c, size_t n) {
    if (c->bad || n > c->n - c->at) return c->bad = true, NULL;
    c->at += n;
    return c->p + c->at - n;
}
static uint64_t takeu(cur *c, size_t w) {
    uint64_t v = 0;
    const unsigned char *p = take(c, w);
    if (p) memcpy(&v, p, w);
    return v;
}
static const char *takes(cur *c) {
    const unsigned char *z = c->bad ? NULL : memchr(c->p + c->at, 0, c->n - c->at);
    if (!z) return c->bad = true, "";
    const char *s = (const char *)c->p + c->at;
    c->at = (size_t)(z - c->p) + 1;
    return s;
}
/* A size-prefixed file in the blob equals @p path's content (read until EOF). */
static bool same_file(cur *c, size_t w, const char *path) {
    size_t n = (size_t)takeu(c, w);
    const unsigned char *p = take(c, n);
    buf want = load(path);
    bool ok = p && want.b && want.n == n && !memcmp(p, want.b, n);
    if (!ok)
        printf("# %s: %zu bytes in the blob, %zu in the file\n", path, n, want.n);
    free(want.b);
    return ok;
}

/* The events of a system section, as "name,name,". */
static bool system_section(cur *c, const char *root, const char *sys, char *names, size_t nsz) {
    uint32_t count = (uint32_t)takeu(c, 4);
    names[0] = 0;
    for (uint32_t i = 0; i < count && !c->bad; i++) {
        size_t n = (size_t)takeu(c, 8);
        const unsigned char *p = take(c, n);
        if (!p || n < 6 || memcmp(p, "name: ", 6)) return false;
        char name[128];
        size_t l = strcspn((const char *)p + 6, "\n");
        snprintf(name, sizeof name, "%.*s", (int)l, (const char *)p + 6);
        char path[512];
        snprintf(path, sizeof path, "%s/events/%s/%s/format", root, sys, name);
        buf want = load(path);
        bool ok = want.b && want.n == n && !memcmp(want.b, p, n);
        free(want.b);
        if (!ok) return printf("# %s differs\n", path), false;
        snprintf(names + strlen(names), nsz - strlen(names), "%s,", name);
    }
    return !c->bad;
}

static kperf_sampler *open_tp(const char *events, const char **why) {
    kperf_sampler *s = NULL;
    kperf_sampler_desc d;
    memset(&d, 0, sizeof d);
    d.events = events;
    if (kperf_sampler_open(&s, &d) < 0) *why = kperf_errmsg();
    return s;
}

static int write_file(const char *path, kperf_sampler *s, const char *tracefs, bool no_trace) {
    kperf_perfdata *w;
    kperf_perfdata_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.path = path, pd.sampler = s, pd.tracefs = tracefs, pd.no_tracing_data = no_trace;
    int rc = kperf_perfdata_open(&w, &pd);
    if (rc < 0) return rc;
    kperf_perfdata_close(w);
    return 0;
}

static char tmpdir[64];

/* The record and the blob against the live tracefs, field by field. */
KT_TEST(tracing_data_matches_tracefs) {
    const char *why = "";
    kperf_sampler *s = open_tp("sched:sched_switch,syscalls:sys_enter_getpid,sched:sched_wakeup",
                               &why);
    if (!s) KT_SKIP("cannot open tracepoints: %s", why);
    char path[128];
    snprintf(path, sizeof path, "%s/t.data", tmpdir);
    int rc = write_file(path, s, NULL, false);
    kperf_sampler_close(s);
    KT_CHECK(rc == 0, "%s", kperf_errmsg());
    buf f = load(path);
    int n66;
    long at = find_rec(&f, 66, &n66);
    KT_CHECK(at > 0 && n66 == 1, "%d TRACING_DATA records", n66);
    struct perf_event_header h;
    uint32_t size, pad;
    memcpy(&h, f.b + at, 8), memcpy(&size, f.b + at + 8, 4), memcpy(&pad, f.b + at + 12, 4);
    KT_EQ_INT(h.size, 16);
    KT_EQ_INT(pad, 0);
    KT_CHECK(size % 8 == 0 && (size_t)at + 16 + size <= f.n, "size %u", size);
    int nattr;
    KT_CHECK(find_rec(&f, 64, &nattr) < at && nattr == 3, "attrs first: %d", nattr);
    int nfeat;
    long feat = find_rec(&f, 80, &nfeat);
    KT_CHECK(feat > 0 && feat < at, "features before the tracing data");

    cur c = {f.b + at + 16, size, 0, false};
    const unsigned char *magic = take(&c, 10);
    KT_CHECK(magic && !memcmp(magic, "\x17\x08\x44tracing", 10));
    KT_EQ_STR(takes(&c), "0.6");
    KT_EQ_INT(takeu(&c, 1), 0); /* little endian */
    KT_EQ_INT(takeu(&c, 1), sizeof(long));
    KT_EQ_INT(takeu(&c, 4), sysconf(_SC_PAGESIZE));
    KT_EQ_STR(takes(&c), "header_page");
    KT_CHECK(same_file(&c, 8, TRACEFS "/events/header_page"));
    KT_EQ_STR(takes(&c), "header_event");
    KT_CHECK(same_file(&c, 8, TRACEFS "/events/header_event"));
    KT_EQ_INT(takeu(&c, 4), 0); /* no ftrace-system events */
    KT_EQ_INT(takeu(&c, 4), 2); /* systems */
    char names[256];
    KT_EQ_STR(takes(&c), "sched");
    KT_CHECK(system_section(&c, TRACEFS, "sched", names, sizeof names));
    KT_EQ_STR(names, "sched_switch,sched_wakeup,");
    KT_EQ_STR(takes(&c), "syscalls");
    KT_CHECK(system_section(&c, TRACEFS, "syscalls", names, sizeof names));
    KT_EQ_STR(names, "sys_enter_getpid,");
    KT_EQ_INT(takeu(&c, 4), 0); /* kallsyms: none */
    /* printk_formats and saved_cmdlines change as the system runs: check their framing */
    size_t pk = (size_t)takeu(&c, 4);
    KT_CHECK(take(&c, pk) != NULL, "printk_formats %zu bytes", pk);
    size_t cl = (size_t)takeu(&c, 8);
    const unsigned char *cmd = take(&c, cl);
    KT_CHECK(cmd && (cl == 0 || cmd[cl - 1] == '\n'), "saved_cmdlines %zu bytes", cl);
    KT_CHECK(!c.bad && size - c.at < 8, "blob %u bytes, parsed %zu", size, c.at);
    for (size_t i = c.at; i < size; i++) KT_EQ_INT(c.p[i], 0);
    /* the record after the blob is a well-formed user or kernel record */
    memcpy(&h, f.b + at + 16 + size, 8);
    KT_CHECK(h.size >= 8 && h.size % 8 == 0 && (h.type == 1 || h.type == 3 || h.type == 9 ||
                                                 h.type == 10 || h.type == 67),
             "type %u size %u after the blob", h.type, h.size);
    free(f.b);
}

typedef struct got {
    int getpid, other;
    uint32_t id;
} got;
static int count_rec(const kperf_record *rec, void *user) {
    got *g = (got *)user;
    if (rec->type != KPERF_RECORD_SAMPLE) return 0;
    uint16_t type = 0;
    if (rec->sample.raw && rec->sample.raw_size >= 2) memcpy(&type, rec->sample.raw, 2);
    if (type == g->id && rec->event == 0) g->getpid++;
    else g->other++;
    return 0;
}

static int write_rec(const kperf_record *rec, void *user) {
    return kperf_perfdata_write((kperf_perfdata *)user, rec);
}

/* Samples written after the tracing data read back with kperf's reader: exactly the N
 * getpid() calls made, each with the tracepoint's common_type. */
KT_TEST(reader_skips_tracing_data) {
    const char *why = "";
    kperf_sampler *s = open_tp("syscalls:sys_enter_getpid", &why);
    if (!s) KT_SKIP("cannot open syscalls:sys_enter_getpid: %s", why);
    char path[128];
    snprintf(path, sizeof path, "%s/r.data", tmpdir);
    kperf_perfdata *w = NULL;
    kperf_perfdata_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.path = path, pd.sampler = s, pd.no_kernel = true;
    int rc = kperf_perfdata_open(&w, &pd);
    if (rc < 0) kperf_sampler_close(s);
    KT_CHECK(rc == 0, "%s", kperf_errmsg());
    KT_CHECK(kperf_sampler_start(s) == 0, "%s", kperf_errmsg());
    for (int i = 0; i < 37; i++) syscall(SYS_getpid);
    kperf_sampler_stop(s);
    int n = kperf_sampler_read(s, write_rec, w);
    int fl = kperf_perfdata_flush(w);
    kperf_perfdata_close(w);
    kperf_sampler_close(s);
    KT_CHECK(n >= 37 && fl == 0, "read %d", n);
    kperf_tracefs *t = NULL;
    got g = {0, 0, 0};
    if (kperf_tracefs_open(&t, NULL) == 0) g.id = (uint32_t)kperf_tracefs_event_id(t, "syscalls", "sys_enter_getpid");
    kperf_tracefs_close(t);
    kperf_perfdata_events ev;
    rc = kperf_perfdata_read(path, count_rec, &g, &ev);
    KT_CHECK(rc >= 37, "rc %d: %s", rc, kperf_errmsg());
    KT_EQ_INT(g.getpid, 37);
    KT_EQ_INT(g.other, 0);
    KT_EQ_INT(ev.n, 1);
    KT_EQ_STR(ev.names[0], "syscalls:sys_enter_getpid");
    buf f = load(path);
    int n66;
    long at = find_rec(&f, 66, &n66);
    uint32_t size = 0;
    if (at > 0) memcpy(&size, f.b + at + 8, 4);
    KT_CHECK(size > 0 && ev.tracing_data_size == size, "reported %llu, record says %u",
             (unsigned long long)ev.tracing_data_size, size);

    /* every truncation inside the record or the blob is an error, never a crash */
    char cut[128];
    snprintf(cut, sizeof cut, "%s/cut.data", tmpdir);
    int bad = 0;
    for (size_t len = (size_t)at + 1; len < (size_t)at + 16 + size; len += 97) {
        put(cut, f.b, len);
        got g2 = {0, 0, g.id};
        rc = kperf_perfdata_read(cut, count_rec, &g2, NULL);
        bad += rc != -KPERF_ECORRUPT;
    }
    KT_EQ_INT(bad, 0);
    /* a blob size beyond the end of the file */
    memcpy(f.b + at + 8, &(uint32_t){0x7ffffff8u}, 4);
    put(cut, f.b, f.n);
    rc = kperf_perfdata_read(cut, count_rec, &g, NULL);
    KT_EQ_INT(rc, -KPERF_ECORRUPT);
    KT_CHECK(strstr(kperf_errmsg(), "tracing data") || strstr(kperf_errmsg(), "TRACING_DATA"),
             "%s", kperf_errmsg());
    /* a TRACING_DATA record too short to hold its size */
    memcpy(f.b + at + 6, &(uint16_t){8}, 2);
    put(cut, f.b, (size_t)at + 8);
    rc = kperf_perfdata_read(cut, count_rec, &g, NULL);
    KT_EQ_INT(rc, -KPERF_ECORRUPT);
    free(f.b);
}

/* Without tracepoints nothing is added: the default file is byte-identical to one written
 * with no_tracing_data and has no TRACING_DATA record. */
KT_TEST(no_tracepoints_no_tracing_data) {
    const char *why = "";
    kperf_sampler *s = open_tp("cpu-clock,task-clock", &why);
    if (!s) KT_SKIP("cannot open cpu-clock: %s", why);
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/a.data", tmpdir);
    snprintf(b, sizeof b, "%s/b.data", tmpdir);
    int ra = write_file(a, s, NULL, false), rb = write_file(b, s, "/nonexistent", true);
    kperf_sampler_close(s);
    KT_CHECK(ra == 0 && rb == 0, "%s", kperf_errmsg());
    buf fa = load(a), fb = load(b);
    int n66;
    KT_CHECK(fa.n > 16 && fa.n == fb.n && !memcmp(fa.b, fb.b, fa.n), "%zu vs %zu bytes", fa.n,
             fb.n);
    KT_CHECK(find_rec(&fa, 66, &n66) < 0 && n66 == 0);
    free(fa.b), free(fb.b);
    /* a tracepoint sampler with no_tracing_data: no record either */
    s = open_tp("sched:sched_switch", &why);
    if (!s) KT_SKIP("cannot open sched:sched_switch: %s", why);
    ra = write_file(a, s, NULL, true);
    kperf_sampler_close(s);
    KT_CHECK(ra == 0, "%s", kperf_errmsg());
    fa = load(a);
    KT_CHECK(find_rec(&fa, 66, &n66) < 0 && n66 == 0);
    free(fa.b);
}

/* A tracefs fixture (desc.tracefs): the blob carries its files verbatim; a missing
 * printk_formats is size 0; a missing format file or an unknown id is an error naming it. */
KT_TEST(fixture_tracefs) {
    const char *why = "";
    kperf_sampler *s = open_tp("sched:sched_switch", &why);
    if (!s) KT_SKIP("cannot open sched:sched_switch: %s", why);
    kperf_tracefs *t = NULL;
    int id = kperf_tracefs_open(&t, NULL) == 0 ? kperf_tracefs_event_id(t, "sched", "sched_switch") : -1;
    kperf_tracefs_close(t);
    KT_CHECK(id > 0);
    char root[128], p[256], idtext[32];
    snprintf(root, sizeof root, "%s/tfs", tmpdir);
    snprintf(p, sizeof p, "%s/events/sched/sched_switch", root);
    KT_CHECK(mkdirs(p) == 0);
    snprintf(idtext, sizeof idtext, "%d\n", id);
    snprintf(p, sizeof p, "%s/events/sched/sched_switch/id", root);
    put(p, idtext, strlen(idtext));
    static const char fmt[] = "name: sched_switch\nID: 1\nformat:\n\tfield:int x;\toffset:8;"
                              "\tsize:4;\tsigned:1;\n\nprint fmt: \"x=%d\", REC->x\n";
    snprintf(p, sizeof p, "%s/events/sched/sched_switch/format", root);
    put(p, fmt, sizeof fmt - 1);
    snprintf(p, sizeof p, "%s/events/header_page", root);
    put(p, "HP\n", 3);
    snprintf(p, sizeof p, "%s/events/header_event", root);
    put(p, "HEVT\n", 5);
    snprintf(p, sizeof p, "%s/saved_cmdlines", root);
    put(p, "1 init\n", 7);
    char path[128];
    snprintf(path, sizeof path, "%s/f.data", tmpdir);
    int rc = write_file(path, s, root, false);
    KT_CHECK(rc == 0, "%s", kperf_errmsg());
    buf f = load(path);
    int n66;
    long at = find_rec(&f, 66, &n66);
    KT_CHECK(at > 0);
    uint32_t size;
    memcpy(&size, f.b + at + 8, 4);
    /* 10 magic + 4 version + 2 + 4 page, 12+8+3 header_page, 13+8+5 header_event, 4 ftrace,
     * 4 systems + "sched\0" + 4 + 8 + format, 4 kallsyms, 4 printk, 8 + 7 cmdlines */
    size_t want = 20 + 23 + 26 + 4 + 4 + 6 + 4 + 8 + (sizeof fmt - 1) + 4 + 4 + 15;
    KT_EQ_INT(size, (want + 7) / 8 * 8);
    const unsigned char *blob = f.b + at + 16;
    KT_CHECK(!memcmp(blob + 20, "header_page\0\3\0\0\0\0\0\0\0HP\n", 23));
    KT_CHECK(!memcmp(blob + 43, "header_event\0\5\0\0\0\0\0\0\0HEVT\n", 26));
    KT_CHECK(!memcmp(blob + 69, "\0\0\0\0\1\0\0\0sched\0\1\0\0\0", 18));
    KT_CHECK(!memcmp(blob + 95, fmt, sizeof fmt - 1));
    KT_CHECK(!memcmp(blob + 95 + sizeof fmt - 1, "\0\0\0\0\0\0\0\0\7\0\0\0\0\0\0\0001 init\n", 23));
    free(f.b);

    /* the format file is missing */
    snprintf(p, sizeof p, "%s/events/sched/sched_switch/format", root);
    unlink(p);
    rc = write_file(path, s, root, false);
    KT_CHECK(rc < 0 && strstr(kperf_errmsg(), "sched_switch/format"), "rc %d: %s", rc,
             kperf_errmsg());
    /* no event of the fixture has the id */
    snprintf(p, sizeof p, "%s/events/sched/sched_switch/id", root);
    put(p, "1\n", 2);
    rc = write_file(path, s, root, false);
    KT_EQ_INT(rc, -KPERF_ENOEVENT);
    KT_CHECK(strstr(kperf_errmsg(), "sched:sched_switch") && strstr(kperf_errmsg(), root),
             "%s", kperf_errmsg());
    /* no tracefs at all */
    rc = write_file(path, s, "/nonexistent-tracefs", false);
    KT_EQ_INT(rc, -KPERF_ENOTRACEFS);
    KT_CHECK(strstr(kperf_errmsg(), path), "the message names the file: %s", kperf_errmsg());
    kperf_sampler_close(s);
}

/* A tracepoint opened by id gets perf's name ("sched:sched_switch") in EVENT_DESC, as perf
 * record would name it; one opened by name keeps its own (modifiers included). */
KT_TEST(tracepoint_by_id_named_like_perf) {
    kperf_tracefs *t = NULL;
    int id = kperf_tracefs_open(&t, NULL) == 0 ? kperf_tracefs_event_id(t, "sched", "sched_switch") : -1;
    kperf_tracefs_close(t);
    if (id <= 0) KT_SKIP("no tracefs sched:sched_switch");
    char spec[96];
    snprintf(spec, sizeof spec, "tracepoint/config=%d/,sched:sched_switch:u,cpu-clock", id);
    const char *why = "";
    kperf_sampler *s = open_tp(spec, &why);
    if (!s) KT_SKIP("cannot open %s: %s", spec, why);
    char path[128];
    snprintf(path, sizeof path, "%s/n.data", tmpdir);
    int rc = write_file(path, s, NULL, false);
    kperf_sampler_close(s);
    KT_CHECK(rc == 0, "%s", kperf_errmsg());
    kperf_perfdata_events ev;
    got g = {0, 0, 0};
    rc = kperf_perfdata_read(path, count_rec, &g, &ev);
    KT_CHECK(rc >= 0, "%s", kperf_errmsg());
    KT_EQ_INT(ev.n, 3);
    KT_EQ_STR(ev.names[0], "sched:sched_switch");
    KT_EQ_STR(ev.names[1], "sched:sched_switch:u");
    KT_EQ_STR(ev.names[2], "cpu-clock");
    KT_CHECK(ev.tracing_data_size > 0);
}

int main(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/kperf_pdtrace_XXXXXX");
    if (!mkdtemp(tmpdir)) return perror("mkdtemp"), 1;
    KT_RUN(tracing_data_matches_tracefs);
    KT_RUN(reader_skips_tracing_data);
    KT_RUN(no_tracepoints_no_tracing_data);
    KT_RUN(fixture_tracefs);
    KT_RUN(tracepoint_by_id_named_like_perf);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    if (system(cmd)) return 1;
    KT_EXIT();
}
