/* Decoding real tracepoint records, cross-checked with perf: `perf record` writes
 * sched:sched_switch and sched:sched_process_exec samples to a perf.data file; this test
 * reads the file's raw samples itself, decodes them with kperf's format getters, and
 * compares every sample with `perf script` on the same file. */
#include "kperf.h"
#include "kt.h"
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct rec {
    uint64_t time;
    uint32_t pid, tid, cpu;
    unsigned char *raw;
    uint32_t size;
} rec;

typedef struct pdata {
    unsigned char *buf;
    size_t len;
    struct { uint64_t type, sample_type; uint64_t *ids; size_t nids; } attr[16];
    size_t nattr;
    rec *recs;
    size_t nrecs;
} pdata;

static int by_time(const void *a, const void *b) {
    const rec *x = (const rec *)a, *y = (const rec *)b;
    return x->time < y->time ? -1 : x->time > y->time;
}

/* Reads a perf.data file (the on-disk format: header, attrs with their ids, data).
 * Keeps PERF_RECORD_SAMPLE records of tracepoint attrs, sorted by time. */
static int pdata_load(pdata *d, const char *path) {
    memset(d, 0, sizeof *d);
    FILE *fp = fopen(path, "rb");
    if (!fp) return -1;
    fseek(fp, 0, SEEK_END);
    d->len = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    d->buf = (unsigned char *)malloc(d->len);
    if (fread(d->buf, 1, d->len, fp) != d->len) return fclose(fp), -1;
    fclose(fp);
    uint64_t h[13];
    if (d->len < sizeof h || memcmp(d->buf, "PERFILE2", 8)) return -2;
    memcpy(h, d->buf, sizeof h);
    uint64_t attr_size = h[2], aoff = h[3], asz = h[4], doff = h[5], dsz = h[6];
    if (aoff + asz > d->len || doff + dsz > d->len || attr_size < 16) return -3;
    for (uint64_t o = aoff; o + attr_size <= aoff + asz && d->nattr < 16; o += attr_size) {
        struct perf_event_attr a;
        memset(&a, 0, sizeof a);
        memcpy(&a, d->buf + o, attr_size - 16 < sizeof a ? attr_size - 16 : sizeof a);
        uint64_t ids[2];
        memcpy(ids, d->buf + o + attr_size - 16, 16);
        d->attr[d->nattr].type = a.type;
        d->attr[d->nattr].sample_type = a.sample_type;
        d->attr[d->nattr].ids = (uint64_t *)(d->buf + ids[0]);
        d->attr[d->nattr].nids = ids[1] / 8;
        d->nattr++;
    }
    d->recs = (rec *)calloc(dsz / 8 + 1, sizeof *d->recs);
    for (uint64_t o = doff; o + 8 <= doff + dsz;) {
        struct perf_event_header eh;
        memcpy(&eh, d->buf + o, sizeof eh);
        if (eh.size < 8 || o + eh.size > doff + dsz) return -4;
        if (eh.type == PERF_RECORD_SAMPLE) {
            const unsigned char *p = d->buf + o + 8, *end = d->buf + o + eh.size;
            uint64_t id;
            memcpy(&id, p, 8); /* perf record sets PERF_SAMPLE_IDENTIFIER with two attrs */
            size_t ai = d->nattr == 1 ? 0 : d->nattr;
            for (size_t i = 0; d->nattr > 1 && i < d->nattr; i++)
                for (size_t j = 0; j < d->attr[i].nids; j++)
                    if (d->attr[i].ids[j] == id) ai = i;
            if (ai < d->nattr && d->attr[ai].type == PERF_TYPE_TRACEPOINT) {
                uint64_t st = d->attr[ai].sample_type;
                rec r;
                memset(&r, 0, sizeof r);
                if (st & PERF_SAMPLE_IDENTIFIER) p += 8;
                if (st & PERF_SAMPLE_IP) p += 8;
                if (st & PERF_SAMPLE_TID) memcpy(&r.pid, p, 4), memcpy(&r.tid, p + 4, 4), p += 8;
                if (st & PERF_SAMPLE_TIME) memcpy(&r.time, p, 8), p += 8;
                if (st & PERF_SAMPLE_ADDR) p += 8;
                if (st & PERF_SAMPLE_ID) p += 8;
                if (st & PERF_SAMPLE_STREAM_ID) p += 8;
                if (st & PERF_SAMPLE_CPU) memcpy(&r.cpu, p, 4), p += 8;
                if (st & PERF_SAMPLE_PERIOD) p += 8;
                if (st & PERF_SAMPLE_CALLCHAIN) {
                    uint64_t nr;
                    memcpy(&nr, p, 8);
                    p += 8 + 8 * nr;
                }
                if ((st & PERF_SAMPLE_RAW) && p + 4 <= end) {
                    memcpy(&r.size, p, 4);
                    r.raw = (unsigned char *)p + 4;
                    if (r.raw + r.size <= end) d->recs[d->nrecs++] = r;
                }
            }
        }
        o += eh.size;
    }
    qsort(d->recs, d->nrecs, sizeof *d->recs, by_time);
    return 0;
}

static void pdata_free(pdata *d) {
    free(d->buf);
    free(d->recs);
}

/* prev_state as the kernel's print fmt shows it: one letter per set bit of the low byte
 * joined by '|', "R" when none, then '+' for the preempted bit. */
static void state_str(int64_t s, char *out, size_t n) {
    static const char *letters[8] = {"S", "D", "T", "t", "X", "Z", "P", "I"};
    out[0] = 0;
    if (!(s & 0xff)) snprintf(out, n, "R");
    for (int b = 0; b < 8; b++)
        if (s & (1 << b)) {
            if (out[0]) strncat(out, "|", n - strlen(out) - 1);
            strncat(out, letters[b], n - strlen(out) - 1);
        }
    if (s & 0x100) strncat(out, "+", n - strlen(out) - 1);
}

/* Copies the text between `key` and ` stop` of a perf script line. */
static bool between(const char *line, const char *key, const char *stop, char *out, size_t n) {
    const char *a = strstr(line, key);
    if (!a) return false;
    a += strlen(key);
    const char *b = strstr(a, stop);
    if (!b || (size_t)(b - a) >= n) return false;
    memcpy(out, a, (size_t)(b - a));
    out[b - a] = 0;
    return true;
}

static bool have_perf(void) { return system("perf --version >/dev/null 2>&1") == 0; }

KT_TEST(sched_switch_matches_perf_script) {
    kperf_tracefs *t;
    if (kperf_tracefs_open(&t, NULL) < 0) KT_SKIP("%s", kperf_errmsg());
    if (!have_perf()) { kperf_tracefs_close(t); KT_SKIP("perf is not installed"); }
    char data[64], cmd[256]; /* per process: the plain and ASan passes may run at once */
    snprintf(data, sizeof data, "/tmp/kperf-test-switch-%d.data", (int)getpid());
    snprintf(cmd, sizeof cmd, "perf record -q -e sched:sched_switch -a -o %s -- "
             "sh -c 'for i in 1 2 3 4 5 6 7 8; do sleep 0.01; done' >/dev/null 2>&1", data);
    if (system(cmd) != 0) {
        kperf_tracefs_close(t);
        KT_SKIP("perf record -e sched:sched_switch -a failed (permissions?)");
    }
    pdata d;
    KT_EQ_INT(pdata_load(&d, data), 0);
    const kperf_tp_format *f;
    KT_EQ_INT(kperf_tracefs_format(t, "sched", "sched_switch", &f), 0);
    const kperf_tp_field *pc = kperf_tp_format_field(f, "prev_comm"),
                         *nc = kperf_tp_format_field(f, "next_comm"),
                         *ps = kperf_tp_format_field(f, "prev_state"),
                         *pp = kperf_tp_format_field(f, "prev_pid"),
                         *np = kperf_tp_format_field(f, "next_pid");
    KT_CHECK(pc && nc && ps && pp && np);
    snprintf(cmd, sizeof cmd, "perf script -i %s -F time,trace --ns 2>/dev/null", data);
    FILE *ps_out = popen(cmd, "r");
    KT_CHECK(ps_out != NULL);
    char line[1024];
    size_t i = 0, compared = 0, sleeps = 0;
    while (fgets(line, sizeof line, ps_out) && i < d.nrecs) {
        rec *r = &d.recs[i++];
        const kperf_tp_format *byid;
        KT_EQ_INT(kperf_tracefs_format_by_id(t, *(uint16_t *)r->raw, &byid), 0);
        KT_CHECK(byid == f);
        char mine[64], theirs[64], ts[32];
        snprintf(ts, sizeof ts, "%llu.%09llu:", (unsigned long long)(r->time / 1000000000ull),
                 (unsigned long long)(r->time % 1000000000ull));
        KT_CHECK(strstr(line, ts) != NULL, "sample %zu: time %s not in: %s", i, ts, line);
        KT_CHECK(kperf_tp_field_copy(pc, r->raw, r->size, mine, sizeof mine) > 0);
        KT_CHECK(between(line, "prev_comm=", " prev_pid=", theirs, sizeof theirs), "%s", line);
        KT_EQ_STR(mine, theirs);
        KT_CHECK(kperf_tp_field_copy(nc, r->raw, r->size, mine, sizeof mine) > 0);
        KT_CHECK(between(line, "next_comm=", " next_pid=", theirs, sizeof theirs), "%s", line);
        KT_EQ_STR(mine, theirs);
        int64_t st, pid;
        KT_EQ_INT(kperf_tp_field_int(ps, r->raw, r->size, &st), 0);
        state_str(st, mine, sizeof mine);
        KT_CHECK(between(line, "prev_state=", " ==>", theirs, sizeof theirs), "%s", line);
        KT_EQ_STR(mine, theirs);
        KT_EQ_INT(kperf_tp_field_int(pp, r->raw, r->size, &pid), 0);
        snprintf(mine, sizeof mine, "prev_pid=%lld ", (long long)pid);
        KT_CHECK(strstr(line, mine) != NULL, "%s not in %s", mine, line);
        KT_EQ_INT(kperf_tp_field_int(np, r->raw, r->size, &pid), 0);
        snprintf(mine, sizeof mine, "next_pid=%lld ", (long long)pid);
        KT_CHECK(strstr(line, mine) != NULL, "%s not in %s", mine, line);
        if (st & 1) sleeps++;
        compared++;
    }
    pclose(ps_out);
    printf("# compared %zu of %zu sched_switch samples with perf script (%zu sleeping)\n",
           compared, d.nrecs, sleeps);
    KT_EQ_INT(compared, d.nrecs);
    KT_CHECK(compared >= 16 && sleeps >= 8);
    pdata_free(&d);
    unlink(data);
    kperf_tracefs_close(t);
}

KT_TEST(process_exec_filename_data_loc) {
    kperf_tracefs *t;
    if (kperf_tracefs_open(&t, NULL) < 0) KT_SKIP("%s", kperf_errmsg());
    if (!have_perf()) { kperf_tracefs_close(t); KT_SKIP("perf is not installed"); }
    char data[64], link[96], cmd[256];
    snprintf(data, sizeof data, "/tmp/kperf-test-exec-%d.data", (int)getpid());
    /* exec a path that is easy to recognise: a symlink with a long, unique name */
    snprintf(link, sizeof link, "/tmp/kperf-exec-probe-0123456789abcdef-%d", (int)getpid());
    unlink(link);
    KT_CHECK(symlink("/bin/true", link) == 0);
    snprintf(cmd, sizeof cmd, "perf record -q -e sched:sched_process_exec -o %s -- %s >/dev/null 2>&1",
             data, link);
    if (system(cmd) != 0) {
        unlink(link);
        kperf_tracefs_close(t);
        KT_SKIP("perf record -e sched:sched_process_exec failed");
    }
    pdata d;
    KT_EQ_INT(pdata_load(&d, data), 0);
    const kperf_tp_format *f;
    KT_EQ_INT(kperf_tracefs_format(t, "sched", "sched_process_exec", &f), 0);
    const kperf_tp_field *fn = kperf_tp_format_field(f, "filename"),
                         *pid = kperf_tp_format_field(f, "pid");
    KT_CHECK(fn && (fn->flags & KPERF_TP_FIELD_DATA_LOC));
    KT_CHECK(d.nrecs >= 1, "no exec sample");
    int found = 0;
    for (size_t i = 0; i < d.nrecs; i++) {
        char name[256];
        int64_t p;
        KT_CHECK(kperf_tp_field_copy(fn, d.recs[i].raw, d.recs[i].size, name, sizeof name) > 0);
        KT_EQ_INT(kperf_tp_field_int(pid, d.recs[i].raw, d.recs[i].size, &p), 0);
        if (!strcmp(name, link)) {
            found++;
            KT_EQ_INT(p, d.recs[i].pid);
        }
        /* the same string through the zero-copy getter */
        const char *s;
        size_t len;
        KT_EQ_INT(kperf_tp_field_str(fn, d.recs[i].raw, d.recs[i].size, &s, &len), 0);
        KT_EQ_INT(len, strlen(name));
    }
    KT_EQ_INT(found, 1);
    pdata_free(&d);
    unlink(data);
    unlink(link);
    kperf_tracefs_close(t);
}

int main(void) {
    KT_RUN(sched_switch_matches_perf_script);
    KT_RUN(process_exec_filename_data_loc);
    KT_EXIT();
}
