/* The syscall pairing state machine on synthetic enter/exit sequences: pairing per thread,
 * read boundaries, exits that overtake their entry, lost records, names by number,
 * statistics and percentiles. Thread ids are above any pid_max so /proc never answers. */
#include "kperf.h"
#include "kt.h"
#include <sys/wait.h>
#include <sys/stat.h>
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#define TID0 50000000

static kperf_syscall_event ev(bool is_exit, uint64_t t, int tid, int nr, const char *name,
                              int64_t ret) {
    kperf_syscall_event e;
    memset(&e, 0, sizeof e);
    e.is_exit = is_exit;
    e.time = t;
    e.pid = tid;
    e.tid = tid;
    e.cpu = tid % 4;
    e.nr = nr;
    e.name = name;
    e.ret = ret;
    return e;
}

typedef struct calls {
    int n;
    kperf_syscall_call last;
    uint64_t total;
} calls;

static int on_call(const kperf_syscall_call *c, void *user) {
    calls *k = (calls *)user;
    k->n++;
    k->last = *c;
    k->total += c->duration;
    return 0;
}

/* The stat of one syscall, copied: the pairer's array lives until its next stats call. */
static const kperf_syscall_stat *find(kperf_syscall_pairer *p, const char *name) {
    static kperf_syscall_stat copies[8];
    static int next;
    const kperf_syscall_stat *s;
    size_t n;
    if (kperf_syscall_pairer_stats(p, &s, &n) < 0) return NULL;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s[i].name, name)) {
            copies[next % 8] = s[i];
            return &copies[next++ % 8];
        }
    return NULL;
}

KT_TEST(pair_basic_record) {
    KT_UNUSED();
    kperf_syscall_pairer *p;
    KT_EQ_INT(kperf_syscall_pairer_new(&p), 0);
    kperf_syscall_pairer_comm(p, TID0, "worker");
    calls k = {0, {0}, 0};
    kperf_syscall_event e = ev(false, 1000, TID0, 1, "write", 0);
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &e, on_call, &k), 0);
    e = ev(true, 1250, TID0, 1, "write", 42);
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &e, on_call, &k), 1);
    KT_EQ_INT(k.n, 1);
    KT_EQ_STR(k.last.name, "write");
    KT_EQ_INT(k.last.nr, 1);
    KT_EQ_INT(k.last.start, 1000);
    KT_EQ_INT(k.last.duration, 250);
    KT_EQ_INT(k.last.tid, TID0);
    KT_EQ_INT(k.last.pid, TID0);
    KT_EQ_INT(k.last.cpu, TID0 % 4);
    KT_EQ_INT(k.last.ret, 42);
    KT_EQ_STR(k.last.comm, "worker");
    kperf_syscall_counts c;
    kperf_syscall_pairer_counts(p, &c);
    KT_EQ_INT(c.paired, 1);
    KT_EQ_INT(c.pending, 0);
    kperf_syscall_pairer_free(p);
    kperf_syscall_pairer_free(NULL);
}

/* Entries and exits of many threads, interleaved in time order, cut into "reads" at
 * arbitrary points: every call pairs, none is lost at a boundary. */
KT_TEST(pair_across_read_boundaries) {
    KT_UNUSED();
    enum { THREADS = 300, CALLS = 20 };
    static kperf_syscall_event evs[THREADS * CALLS * 2];
    size_t n = 0;
    uint64_t t = 1;
    for (int c = 0; c < CALLS; c++) {
        for (int th = 0; th < THREADS; th++) evs[n++] = ev(false, t++, TID0 + th, th % 3, NULL, 0);
        for (int th = THREADS - 1; th >= 0; th--)
            evs[n++] = ev(true, t++ + (uint64_t)th, TID0 + th, th % 3, NULL, th % 5 ? 0 : -11);
    }
    kperf_syscall_pairer *p;
    KT_EQ_INT(kperf_syscall_pairer_new(&p), 0);
    KT_EQ_INT(kperf_syscall_pairer_name(p, 0, "read"), 0);
    KT_EQ_INT(kperf_syscall_pairer_name(p, 1, "write"), 0);
    calls k = {0, {0}, 0};
    srand(3);
    size_t i = 0, reads = 0, max_pending = 0;
    while (i < n) { /* one "read": a random-size batch */
        size_t batch = 1 + (size_t)rand() % 700;
        for (size_t j = 0; j < batch && i < n; j++, i++)
            KT_CHECK(kperf_syscall_pairer_feed(p, &evs[i], on_call, &k) >= 0);
        kperf_syscall_counts c;
        kperf_syscall_pairer_counts(p, &c);
        if (c.pending > max_pending) max_pending = c.pending;
        reads++;
    }
    KT_CHECK(reads > 10 && max_pending > 0);
    KT_EQ_INT(k.n, THREADS * CALLS);
    kperf_syscall_counts c;
    kperf_syscall_pairer_counts(p, &c);
    KT_EQ_INT(c.paired, THREADS * CALLS);
    KT_EQ_INT(c.pending, 0);
    KT_EQ_INT(c.orphan_exits, 0);
    const kperf_syscall_stat *r = find(p, "read"), *w = find(p, "write"), *x = find(p, "syscall_2");
    KT_CHECK(r && w && x, "names by number");
    KT_EQ_INT(r->count + w->count + x->count, THREADS * CALLS);
    KT_EQ_INT(r->count, 100 * CALLS);
    KT_EQ_INT(r->errors, 20 * CALLS); /* th % 5 == 0 and th % 3 == 0: th % 15 == 0 */
    KT_EQ_INT(r->unfinished, 0);
    kperf_syscall_pairer_free(p);
}

/* An exit read before its entry (two CPUs' rings drained at different moments) waits for
 * the entry; entries whose exit never comes count as unfinished; stray exits as orphans. */
KT_TEST(pair_out_of_order_and_lost) {
    KT_UNUSED();
    kperf_syscall_pairer *p;
    KT_EQ_INT(kperf_syscall_pairer_new(&p), 0);
    calls k = {0, {0}, 0};
    kperf_syscall_event e;
    /* exit first (t=300), then its entry (t=250) in the next read */
    e = ev(true, 300, TID0, 39, "getpid", 77);
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &e, on_call, &k), 0);
    kperf_syscall_counts c;
    kperf_syscall_pairer_counts(p, &c);
    KT_EQ_INT(c.early_exits, 1);
    e = ev(false, 250, TID0, 39, "getpid", 0);
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &e, on_call, &k), 1);
    KT_EQ_INT(k.last.duration, 50);
    KT_EQ_INT(k.last.ret, 77);
    /* exit_group: an entry with no exit, then the thread's next entry */
    e = ev(false, 400, TID0 + 1, 231, "exit_group", 0);
    kperf_syscall_pairer_feed(p, &e, on_call, &k);
    e = ev(false, 500, TID0 + 1, 39, "getpid", 0);
    kperf_syscall_pairer_feed(p, &e, on_call, &k);
    e = ev(true, 510, TID0 + 1, 39, "getpid", 5);
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &e, on_call, &k), 1);
    /* a lost exit: entry of write, then the exit of another syscall */
    e = ev(false, 600, TID0 + 2, 1, "write", 0);
    kperf_syscall_pairer_feed(p, &e, on_call, &k);
    e = ev(true, 650, TID0 + 2, 0, "read", 3);
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &e, on_call, &k), 0);
    /* an entry still open at the end */
    e = ev(false, 700, TID0 + 3, 7, "poll", 0);
    kperf_syscall_pairer_feed(p, &e, on_call, &k);
    kperf_syscall_pairer_counts(p, &c);
    KT_EQ_INT(c.paired, 2);
    KT_EQ_INT(c.pending, 1);
    KT_EQ_INT(c.early_exits, 0);
    KT_EQ_INT(c.orphan_exits, 1);
    KT_EQ_INT(c.enters, 5);
    KT_EQ_INT(c.exits, 3);
    const kperf_syscall_stat *s = find(p, "getpid");
    KT_EQ_INT(s->count, 2);
    KT_EQ_INT(s->min, 10);
    KT_EQ_INT(s->max, 50);
    KT_EQ_INT(find(p, "exit_group")->unfinished, 1);
    KT_EQ_INT(find(p, "exit_group")->count, 0);
    KT_EQ_INT(find(p, "write")->unfinished, 1);
    KT_EQ_INT(find(p, "poll")->unfinished, 1);
    kperf_syscall_pairer_free(p);
}

/* raw_syscalls events carry only a number: names come from what was learned (from a
 * per-syscall event or kperf_syscall_pairer_name), else syscall_NR. */
KT_TEST(names_by_number) {
    KT_UNUSED();
    kperf_syscall_pairer *p;
    KT_EQ_INT(kperf_syscall_pairer_new(&p), 0);
    calls k = {0, {0}, 0};
    kperf_syscall_event e = ev(false, 10, TID0, 39, "getpid", 0);
    kperf_syscall_pairer_feed(p, &e, on_call, &k); /* teaches 39 = getpid */
    e = ev(true, 20, TID0, 39, "getpid", 1);
    kperf_syscall_pairer_feed(p, &e, on_call, &k);
    e = ev(false, 30, TID0, 39, NULL, 0);
    kperf_syscall_pairer_feed(p, &e, on_call, &k);
    e = ev(true, 35, TID0, 39, NULL, 1);
    kperf_syscall_pairer_feed(p, &e, on_call, &k);
    KT_EQ_STR(k.last.name, "getpid");
    e = ev(false, 40, TID0, 999, NULL, 0);
    kperf_syscall_pairer_feed(p, &e, on_call, &k);
    e = ev(true, 41, TID0, 999, NULL, -38);
    kperf_syscall_pairer_feed(p, &e, on_call, &k);
    KT_EQ_STR(k.last.name, "syscall_999");
    KT_EQ_INT(find(p, "getpid")->count, 2);
    KT_EQ_INT(find(p, "syscall_999")->errors, 1);
    KT_EQ_INT(kperf_syscall_pairer_name(p, -1, "x"), -EINVAL);
    kperf_syscall_pairer_free(p);
}

/* Records of a CPU were lost: its pending entries may have lost their exits; they are
 * dropped as unfinished, so a later exit does not pair with them. */
KT_TEST(lost_records_drop_that_cpu) {
    KT_UNUSED();
    kperf_syscall_pairer *p;
    KT_EQ_INT(kperf_syscall_pairer_new(&p), 0);
    calls k = {0, {0}, 0};
    kperf_syscall_event e = ev(false, 100, TID0 + 1, 0, "read", 0); /* CPU 1 */
    kperf_syscall_pairer_feed(p, &e, on_call, &k);
    e = ev(false, 110, TID0 + 2, 1, "write", 0); /* CPU 2 */
    kperf_syscall_pairer_feed(p, &e, on_call, &k);
    KT_EQ_INT(kperf_syscall_pairer_lost(p, 1), 1);
    e = ev(true, 200, TID0 + 1, 0, "read", 5);
    KT_EQ_INT(kperf_syscall_pairer_feed(p, &e, on_call, &k), 0);
    KT_EQ_INT(find(p, "read")->unfinished, 1);
    KT_EQ_INT(find(p, "read")->count, 0);
    KT_EQ_INT(kperf_syscall_pairer_lost(p, -1), 1);
    KT_EQ_INT(find(p, "write")->unfinished, 1);
    kperf_syscall_counts c;
    kperf_syscall_pairer_counts(p, &c);
    KT_CHECK(c.pending == 0 && c.paired == 0 && c.early_exits == 1);
    KT_EQ_INT(k.n, 0);
    kperf_syscall_pairer_free(p);
}

static void feed_durations(kperf_syscall_pairer *p, const char *name, uint64_t from,
                           uint64_t to, uint64_t step) {
    uint64_t t = 1000000;
    for (uint64_t d = from; d <= to; d += step) {
        kperf_syscall_event e = ev(false, t, TID0 + 7, 3, name, 0);
        kperf_syscall_pairer_feed(p, &e, NULL, NULL);
        e = ev(true, t + d, TID0 + 7, 3, name, d % 10 == 0 ? -1 : 0);
        kperf_syscall_pairer_feed(p, &e, NULL, NULL);
        t += d + 10;
    }
}

KT_TEST(stats_and_percentiles) {
    KT_UNUSED();
    kperf_syscall_pairer *p;
    KT_EQ_INT(kperf_syscall_pairer_new(&p), 0);
    feed_durations(p, "close", 1, 100, 1); /* exact region of the histogram */
    feed_durations(p, "fsync", 1000, 1000000, 1000);
    const kperf_syscall_stat *s = find(p, "close");
    KT_EQ_INT(s->count, 100);
    KT_EQ_INT(s->errors, 10);
    KT_EQ_INT(s->total, 5050);
    KT_EQ_INT(s->min, 1);
    KT_EQ_INT(s->max, 100);
    KT_EQ_INT(s->mean, 50);
    KT_EQ_INT(s->p50, 50);
    KT_EQ_INT(s->p90, 90);
    KT_EQ_INT(s->p99, 99);
    s = find(p, "fsync");
    KT_EQ_INT(s->count, 1000);
    KT_EQ_INT(s->min, 1000);
    KT_EQ_INT(s->max, 1000000);
    double p50 = (double)s->p50, p90 = (double)s->p90, p99 = (double)s->p99;
    KT_CHECK(p50 > 500000 * (1 - 1.0 / 64) && p50 < 500000 * (1 + 1.0 / 64), "p50=%g", p50);
    KT_CHECK(p90 > 900000 * (1 - 1.0 / 64) && p90 < 900000 * (1 + 1.0 / 64), "p90=%g", p90);
    KT_CHECK(p99 > 990000 * (1 - 1.0 / 64) && p99 <= 1000000, "p99=%g", p99);
    const kperf_syscall_stat *all;
    size_t n;
    KT_EQ_INT(kperf_syscall_pairer_stats(p, &all, &n), 0);
    KT_EQ_INT(n, 2);
    KT_EQ_STR(all[0].name, "fsync"); /* sorted by total time */
    kperf_syscall_pairer_free(p);
}

static int stop_at_two(const kperf_syscall_call *c, void *user) {
    (void)c;
    return ++*(int *)user >= 2 ? -123 : 0;
}

KT_TEST(callback_stops) {
    KT_UNUSED();
    kperf_syscall_pairer *p;
    KT_EQ_INT(kperf_syscall_pairer_new(&p), 0);
    int seen = 0, rc = 0;
    for (int i = 0; i < 5 && rc >= 0; i++) {
        kperf_syscall_event e = ev(false, 10 * (uint64_t)i + 1, TID0, 0, "read", 0);
        kperf_syscall_pairer_feed(p, &e, stop_at_two, &seen);
        e = ev(true, 10 * (uint64_t)i + 5, TID0, 0, "read", 0);
        rc = kperf_syscall_pairer_feed(p, &e, stop_at_two, &seen);
    }
    KT_EQ_INT(rc, -123);
    KT_EQ_INT(seen, 2);
    kperf_syscall_pairer_free(p);
}

/* Builds a record of SYSTEM:NAME with common_type set and one integer field set. */
static size_t make_rec(kperf_tracefs *t, const char *sys, const char *name, unsigned char *r,
                       const char *f1, int64_t v1, const char *f2, int64_t v2) {
    const kperf_tp_format *f;
    if (kperf_tracefs_format(t, sys, name, &f) < 0) return 0;
    memset(r, 0, 256);
    uint16_t id = (uint16_t)f->id;
    memcpy(r, &id, 2);
    const kperf_tp_field *a = kperf_tp_format_field(f, f1), *b = f2 ? kperf_tp_format_field(f, f2) : NULL;
    if (a) memcpy(r + a->offset, &v1, a->size);
    if (b) memcpy(r + b->offset, &v2, b->size);
    size_t end = 0;
    for (size_t i = 0; i < f->nfields; i++)
        if (f->fields[i].offset + f->fields[i].size > end) end = f->fields[i].offset + f->fields[i].size;
    return end;
}

KT_TEST(decode_raw_records) {
    kperf_tracefs *t;
    if (kperf_tracefs_open(&t, NULL) < 0) KT_SKIP("%s", kperf_errmsg());
    unsigned char r[256];
    kperf_syscall_event e;
    size_t n = make_rec(t, "raw_syscalls", "sys_enter", r, "id", 39, NULL, 0);
    if (!n) { kperf_tracefs_close(t); KT_SKIP("no raw_syscalls:sys_enter"); }
    memset(&e, 0, sizeof e);
    KT_EQ_INT(kperf_syscall_event_decode(t, r, n, &e), 1);
    KT_CHECK(!e.is_exit && e.nr == 39 && e.name == NULL);
    n = make_rec(t, "raw_syscalls", "sys_exit", r, "id", 1, "ret", -9);
    KT_EQ_INT(kperf_syscall_event_decode(t, r, n, &e), 1);
    KT_CHECK(e.is_exit && e.nr == 1 && e.ret == -9);
    n = make_rec(t, "syscalls", "sys_exit_write", r, "__syscall_nr", 1, "ret", 12345);
    KT_CHECK(n > 0);
    KT_EQ_INT(kperf_syscall_event_decode(t, r, n, &e), 1);
    KT_CHECK(e.is_exit && e.nr == 1 && e.ret == 12345);
    KT_EQ_STR(e.name, "write");
    n = make_rec(t, "syscalls", "sys_enter_getpid", r, "__syscall_nr", 39, NULL, 0);
    KT_EQ_INT(kperf_syscall_event_decode(t, r, n, &e), 1);
    KT_CHECK(!e.is_exit && e.nr == 39);
    KT_EQ_STR(e.name, "getpid");
    KT_EQ_INT(kperf_syscall_event_decode(t, r, 9, &e), -KPERF_ECORRUPT); /* truncated */
    KT_EQ_INT(kperf_syscall_event_decode(t, r, 4, &e), -KPERF_ECORRUPT);
    n = make_rec(t, "sched", "sched_switch", r, "prev_pid", 1, NULL, 0);
    KT_EQ_INT(kperf_syscall_event_decode(t, r, n, &e), 0); /* not a syscall event */
    kperf_tracefs_close(t);
}

typedef struct live {
    int getpid_calls, bad;
    int32_t tid, pid; /* taken before tracing: a getpid() in on_live would be traced too */
} live;

static int on_live(const kperf_syscall_call *c, void *user) {
    live *l = (live *)user;
    if (!strcmp(c->name, "getpid")) {
        l->getpid_calls++;
        if (c->tid != l->tid || c->ret != l->pid || c->pid != l->pid) l->bad++;
    }
    return 0;
}

/* The live tracer on the calling thread: named mode and all-syscalls mode. The thread
 * makes no getpid call but the 300 counted ones while the tracer runs (the read in the
 * middle delivers records to on_live, which must not call getpid: that made the count
 * 300 plus two per record delivered there, which depends on timing). */
static void live_run(const char *const *funcs, size_t nfuncs, live *l, int *err, char *why) {
    kperf_syscalls *s;
    kperf_syscalls_desc d;
    memset(&d, 0, sizeof d);
    d.funcs = funcs, d.nfuncs = nfuncs;
    l->tid = (int32_t)syscall(SYS_gettid);
    l->pid = (int32_t)getpid();
    if ((*err = kperf_syscalls_open(&s, &d)) < 0) {
        snprintf(why, 300, "%.290s", kperf_errmsg());
        return;
    }
    kperf_syscalls_start(s);
    for (int i = 0; i < 300; i++) {
        syscall(SYS_getpid);
        if (i == 150) kperf_syscalls_read(s, on_live, l); /* a read in the middle */
    }
    kperf_syscalls_stop(s);
    kperf_syscalls_read(s, on_live, l);
    if (kperf_syscalls_names_status(s)[0]) { /* no ftrace instance here: names unknown */
        snprintf(why, 300, "%.290s", kperf_syscalls_names_status(s));
        *err = 1;
    }
    const kperf_syscall_stat *st;
    size_t n;
    kperf_syscalls_stats(s, &st, &n);
    for (size_t i = 0; i < n; i++)
        if (!strcmp(st[i].name, "getpid") && st[i].count != 300) l->bad += 1000;
    kperf_syscalls_close(s);
}

KT_TEST(live_named_and_all) {
    kperf_tracefs *t;
    if (kperf_tracefs_open(&t, NULL) < 0) KT_SKIP("%s", kperf_errmsg());
    kperf_tracefs_close(t);
    const char *funcs[] = {"getpid"};
    live a = {0, 0, 0, 0}, b = {0, 0, 0, 0};
    int err = 0;
    char why[300] = "";
    live_run(funcs, 1, &a, &err, why);
    if (err == -KPERF_EPARANOID || err == -KPERF_ENOCAP || err == -EACCES) KT_SKIP("%s", why);
    KT_CHECK(err == 0, "%s", why);
    KT_EQ_INT(a.getpid_calls, 300);
    KT_EQ_INT(a.bad, 0);
    live_run(NULL, 0, &b, &err, why);
    if (err == 1) KT_SKIP("all-syscalls names: %s", why);
    KT_CHECK(err == 0, "%s", why);
    KT_EQ_INT(b.getpid_calls, 300); /* by name: the number was named from tracefs */
    KT_EQ_INT(b.bad, 0);
    const char *f2[] = {"no_such_call_xyz"};
    kperf_syscalls *s;
    kperf_syscalls_desc d;
    memset(&d, 0, sizeof d);
    d.funcs = f2, d.nfuncs = 1;
    KT_EQ_INT(kperf_syscalls_open(&s, &d), -KPERF_ENOEVENT);
    KT_CHECK(s == NULL && strstr(kperf_errmsg(), "no_such_call_xyz"));
}

/* An instance left by a tracer whose process was killed is removed by the next tracer of
 * the same pid namespace; a live process's instance and other names are left alone. */
KT_TEST(stale_ftrace_instances_swept) {
    kperf_tracefs *t;
    if (kperf_tracefs_open(&t, NULL) < 0) KT_SKIP("%s", kperf_errmsg());
    char inst[4096], dead[4300], alive[4300], other[4300], ns_link[64] = "";
    snprintf(inst, sizeof inst, "%.4000s/instances", kperf_tracefs_root(t));
    kperf_tracefs_close(t);
    ssize_t k = readlink("/proc/self/ns/pid", ns_link, sizeof ns_link - 1);
    unsigned long long ns = 0;
    if (k > 0) ns_link[k] = 0, sscanf(ns_link, "pid:[%llu]", &ns);
    pid_t gone = fork();
    if (gone == 0) _exit(0);
    waitpid(gone, NULL, 0); /* a pid that no longer exists (reuse within the test: unlikely) */
    snprintf(dead, sizeof dead, "%s/kperf-%llu-%d-0", inst, ns, (int)gone);
    snprintf(alive, sizeof alive, "%s/kperf-%llu-%d-7", inst, ns, (int)getppid());
    snprintf(other, sizeof other, "%s/kperf-%llu-%d-0", inst, ns + 1, (int)gone);
    if (mkdir(dead, 0700) != 0) KT_SKIP("cannot create tracefs instances: %s", strerror(errno));
    KT_EQ_INT(mkdir(alive, 0700), 0);
    KT_EQ_INT(mkdir(other, 0700), 0);
    kperf_syscalls *s;
    kperf_syscalls_desc d;
    memset(&d, 0, sizeof d);
    int rc = kperf_syscalls_open(&s, &d); /* all syscalls: the mode with an instance */
    if (rc == 0) kperf_syscalls_close(s);
    struct stat st;
    bool dead_left = stat(dead, &st) == 0, alive_left = stat(alive, &st) == 0,
         other_left = stat(other, &st) == 0;
    rmdir(dead), rmdir(alive), rmdir(other);
    if (rc < 0) KT_SKIP("no tracer here: %s", kperf_errmsg());
    KT_CHECK(!dead_left, "%s was not removed", dead);
    KT_CHECK(alive_left, "%s (a live process's) was removed", alive);
    KT_CHECK(other_left, "%s (another pid namespace's) was removed", other);
}

int main(void) {
    KT_RUN(pair_basic_record);
    KT_RUN(pair_across_read_boundaries);
    KT_RUN(pair_out_of_order_and_lost);
    KT_RUN(names_by_number);
    KT_RUN(stats_and_percentiles);
    KT_RUN(lost_records_drop_that_cpu);
    KT_RUN(callback_stops);
    KT_RUN(decode_raw_records);
    KT_RUN(live_named_and_all);
    KT_RUN(stale_ftrace_instances_swept);
    KT_EXIT();
}
