/* Ring buffer and record decoder tests on synthetic rings: plain memory shaped like a
 * perf_event_mmap_page plus data area, fed through the same reader the sampler uses. */
#include "kperf.h"
#include "tests/kt.h"
#include <linux/perf_event.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096

typedef struct synth {
    unsigned char *mem;
    size_t dsz;
    struct perf_event_mmap_page *pg;
    unsigned char *data;
    uint64_t head;
} synth;

static void synth_init(synth *s, size_t dsz, uint64_t start) {
    s->dsz = dsz;
    void *m = NULL;
    if (posix_memalign(&m, PAGE, PAGE + dsz)) abort();
    s->mem = (unsigned char *)m;
    memset(s->mem, 0, PAGE + dsz);
    s->pg = (struct perf_event_mmap_page *)s->mem;
    s->pg->data_offset = PAGE;
    s->pg->data_size = dsz;
    s->data = s->mem + PAGE;
    s->head = start;
    s->pg->data_head = s->pg->data_tail = start;
}

static void synth_put(synth *s, const void *rec, size_t n) {
    const unsigned char *b = (const unsigned char *)rec;
    for (size_t i = 0; i < n; i++) s->data[(s->head + i) & (s->dsz - 1)] = b[i];
    s->head += n;
    s->pg->data_head = s->head;
}

/* A record builder: header, then u64/u32 words, then size fixed up by end(). */
typedef struct bb {
    uint64_t w[512];
    size_t n; /* bytes */
} bb;

static void bb_hdr(bb *b, uint32_t type, uint16_t misc) {
    memset(b, 0, sizeof *b);
    struct perf_event_header h = {type, misc, 0};
    memcpy(b->w, &h, 8);
    b->n = 8;
}
static void bb_u64(bb *b, uint64_t v) { memcpy((char *)b->w + b->n, &v, 8), b->n += 8; }
static void bb_u32x2(bb *b, uint32_t x, uint32_t y) { bb_u64(b, (uint64_t)y << 32 | x); }
static void bb_bytes(bb *b, const void *p, size_t n) {
    memcpy((char *)b->w + b->n, p, n);
    b->n = (b->n + n + 7) & ~(size_t)7;
}
static size_t bb_end(bb *b) {
    uint16_t sz = (uint16_t)b->n;
    memcpy((char *)b->w + 6, &sz, 2);
    return b->n;
}

static const uint64_t ST = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID |
                           PERF_SAMPLE_TIME | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD |
                           PERF_SAMPLE_CALLCHAIN;

/* trailer for sample_id_all with ST: TID, TIME, CPU, IDENTIFIER */
static void bb_trailer(bb *b, uint32_t pid, uint32_t tid, uint64_t time, uint32_t cpu) {
    bb_u32x2(b, pid, tid);
    bb_u64(b, time);
    bb_u32x2(b, cpu, 0);
    bb_u64(b, 77);
}

static size_t mk_sample(bb *b, uint64_t ip, uint32_t pid, uint32_t tid, uint64_t time,
                        uint32_t nips) {
    bb_hdr(b, PERF_RECORD_SAMPLE, PERF_RECORD_MISC_USER);
    bb_u64(b, 77);
    bb_u64(b, ip);
    bb_u32x2(b, pid, tid);
    bb_u64(b, time);
    bb_u32x2(b, 1, 0);
    bb_u64(b, 1000);
    bb_u64(b, nips + 1);
    bb_u64(b, (uint64_t)-512); /* PERF_CONTEXT_USER */
    for (uint32_t i = 0; i < nips; i++) bb_u64(b, ip + 16 * i);
    return bb_end(b);
}

static kperf_ring_desc desc_of(synth *s, uint64_t st) {
    kperf_ring_desc d;
    memset(&d, 0, sizeof d);
    d.base = s->mem;
    d.size = PAGE + s->dsz;
    d.layout.sample_type = st;
    d.layout.sample_id_all = true;
    d.cpu = 3;
    return d;
}

KT_TEST(samples_and_sideband_decode) {
    KT_UNUSED();
    synth s;
    synth_init(&s, 8192, 0);
    bb b;
    synth_put(&s, b.w, mk_sample(&b, 0x401000, 10, 11, 1000, 3));
    bb_hdr(&b, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER);
    bb_u32x2(&b, 10, 10);
    bb_u64(&b, 0x400000), bb_u64(&b, 0x2000), bb_u64(&b, 0x1000);
    bb_u32x2(&b, 8, 1), bb_u64(&b, 12345), bb_u64(&b, 1);
    bb_u32x2(&b, 5, 2);
    bb_bytes(&b, "/usr/bin/prog", 14);
    bb_trailer(&b, 10, 10, 1001, 1);
    synth_put(&s, b.w, bb_end(&b));
    bb_hdr(&b, PERF_RECORD_COMM, PERF_RECORD_MISC_COMM_EXEC);
    bb_u32x2(&b, 10, 10);
    bb_bytes(&b, "prog", 5);
    bb_trailer(&b, 10, 10, 1002, 1);
    synth_put(&s, b.w, bb_end(&b));
    bb_hdr(&b, PERF_RECORD_FORK, 0);
    bb_u32x2(&b, 20, 10), bb_u32x2(&b, 20, 11), bb_u64(&b, 1003);
    bb_trailer(&b, 20, 20, 1003, 0);
    synth_put(&s, b.w, bb_end(&b));
    bb_hdr(&b, PERF_RECORD_LOST, 0);
    bb_u64(&b, 77), bb_u64(&b, 42);
    bb_trailer(&b, 0, 0, 1004, 0);
    synth_put(&s, b.w, bb_end(&b));
    bb_hdr(&b, PERF_RECORD_THROTTLE, 0);
    bb_u64(&b, 1005), bb_u64(&b, 77), bb_u64(&b, 77);
    bb_trailer(&b, 0, 0, 1005, 0);
    synth_put(&s, b.w, bb_end(&b));
    bb_hdr(&b, PERF_RECORD_SWITCH_CPU_WIDE, PERF_RECORD_MISC_SWITCH_OUT);
    bb_u32x2(&b, 30, 31);
    bb_trailer(&b, 10, 11, 1006, 1);
    synth_put(&s, b.w, bb_end(&b));

    kperf_ring_desc d = desc_of(&s, ST);
    kperf_ring *r;
    KT_CHECK(kperf_ring_open(&r, &d) == 0, "%s", kperf_errmsg());
    const kperf_record *rec;
    KT_EQ_INT(kperf_ring_next(r, &rec), 1);
    KT_EQ_INT(rec->type, KPERF_RECORD_SAMPLE);
    KT_EQ_INT(rec->sample.ip, 0x401000);
    KT_EQ_INT(rec->sample.pid, 10);
    KT_EQ_INT(rec->sample.tid, 11);
    KT_EQ_INT(rec->time, 1000);
    KT_EQ_INT(rec->cpu, 1);
    KT_EQ_INT(rec->id, 77);
    KT_EQ_INT(rec->sample.period, 1000);
    KT_EQ_INT(rec->sample.nips, 4);
    KT_EQ_INT(rec->sample.ips[0], KPERF_CONTEXT_USER);
    KT_EQ_INT(rec->sample.ips[3], 0x401000 + 32);
    KT_EQ_INT(kperf_ring_next(r, &rec), 1);
    KT_EQ_INT(rec->type, KPERF_RECORD_MMAP2);
    KT_EQ_INT(rec->mmap.addr, 0x400000);
    KT_EQ_INT(rec->mmap.len, 0x2000);
    KT_EQ_INT(rec->mmap.pgoff, 0x1000);
    KT_EQ_INT(rec->mmap.maj, 8);
    KT_EQ_INT(rec->mmap.ino, 12345);
    KT_EQ_INT(rec->mmap.prot, 5);
    KT_EQ_STR(rec->mmap.filename, "/usr/bin/prog");
    KT_EQ_INT(rec->time, 1001);
    KT_EQ_INT(kperf_ring_next(r, &rec), 1);
    KT_EQ_INT(rec->type, KPERF_RECORD_COMM);
    KT_CHECK(rec->comm.exec);
    KT_EQ_STR(rec->comm.comm, "prog");
    KT_EQ_INT(kperf_ring_next(r, &rec), 1);
    KT_EQ_INT(rec->type, KPERF_RECORD_FORK);
    KT_EQ_INT(rec->task.pid, 20);
    KT_EQ_INT(rec->task.ppid, 10);
    KT_EQ_INT(rec->task.ptid, 11);
    KT_EQ_INT(kperf_ring_next(r, &rec), 1);
    KT_EQ_INT(rec->type, KPERF_RECORD_LOST);
    KT_EQ_INT(rec->loss.lost, 42);
    KT_EQ_INT(kperf_ring_next(r, &rec), 1);
    KT_EQ_INT(rec->type, KPERF_RECORD_THROTTLE);
    KT_EQ_INT(rec->loss.time, 1005);
    KT_EQ_INT(kperf_ring_next(r, &rec), 1);
    KT_EQ_INT(rec->type, KPERF_RECORD_SWITCH_CPU_WIDE);
    KT_CHECK(rec->sw.out);
    KT_EQ_INT(rec->sw.next_prev_tid, 31);
    KT_EQ_INT(kperf_ring_next(r, &rec), 0);
    KT_EQ_INT(s.pg->data_tail, s.head); /* everything consumed and published */
    kperf_ring_stats st;
    kperf_ring_stats_read(r, &st);
    KT_EQ_INT(st.records, 7);
    KT_EQ_INT(st.samples, 1);
    KT_EQ_INT(st.lost, 42);
    KT_EQ_INT(st.throttled, 1);
    kperf_ring_close(r);
    free(s.mem);
}

KT_TEST(all_sample_fields) {
    KT_UNUSED();
    uint64_t st = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
                  PERF_SAMPLE_ADDR | PERF_SAMPLE_ID | PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU |
                  PERF_SAMPLE_PERIOD | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_RAW |
                  PERF_SAMPLE_BRANCH_STACK | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER |
                  PERF_SAMPLE_WEIGHT | PERF_SAMPLE_DATA_SRC;
    bb b;
    bb_hdr(&b, PERF_RECORD_SAMPLE, 0);
    bb_u64(&b, 5);          /* identifier */
    bb_u64(&b, 0x1234);     /* ip */
    bb_u32x2(&b, 1, 2);     /* pid tid */
    bb_u64(&b, 99);         /* time */
    bb_u64(&b, 0xdead);     /* addr */
    bb_u64(&b, 5);          /* id */
    bb_u64(&b, 6);          /* stream id */
    bb_u32x2(&b, 7, 0);     /* cpu */
    bb_u64(&b, 100);        /* period */
    bb_u64(&b, 2), bb_u64(&b, 0xa), bb_u64(&b, 0xb); /* callchain */
    uint32_t rawsz = 12;    /* 4 + 12 = 16: aligned */
    unsigned char raw[16] = {0};
    memcpy(raw, &rawsz, 4);
    memcpy(raw + 4, "tracepoint!", 12);
    bb_bytes(&b, raw, 16);
    bb_u64(&b, 1), bb_u64(&b, 0x10), bb_u64(&b, 0x20), bb_u64(&b, 1); /* one branch */
    bb_u64(&b, 2), bb_u64(&b, 0x111), bb_u64(&b, 0x222), bb_u64(&b, 0x333); /* regs */
    bb_u64(&b, 16), bb_u64(&b, 0x5555), bb_u64(&b, 0x6666), bb_u64(&b, 8); /* stack */
    bb_u64(&b, 321);        /* weight */
    bb_u64(&b, 0x42);       /* data_src */
    size_t n = bb_end(&b);
    kperf_ring_layout l = {st, 0, 0, 0x7, 0, true};
    kperf_record r;
    KT_CHECK(kperf_record_parse(b.w, n, &l, &r) == 0, "%s", kperf_errmsg());
    KT_EQ_INT(r.sample.addr, 0xdead);
    KT_EQ_INT(r.sample.stream_id, 6);
    KT_EQ_INT(r.cpu, 7);
    KT_EQ_INT(r.sample.nips, 2);
    KT_EQ_INT(r.sample.raw_size, 12);
    KT_CHECK(!memcmp(r.sample.raw, "tracepoint!", 12));
    KT_EQ_INT(r.sample.nbranches, 1);
    KT_EQ_INT(r.sample.branches[0].to, 0x20);
    KT_EQ_INT(r.sample.nregs, 3);
    KT_EQ_INT(r.sample.regs[2], 0x333);
    KT_EQ_INT(r.sample.stack_size, 16);
    KT_EQ_INT(r.sample.stack_dyn_size, 8);
    KT_EQ_INT(r.sample.weight, 321);
    KT_EQ_INT(r.sample.data_src, 0x42);
    /* one byte short of the layout, or one word too many: corrupt */
    l.regs_user_mask = 0xf;
    KT_EQ_INT(kperf_record_parse(b.w, n, &l, &r), -KPERF_ECORRUPT);
    l.regs_user_mask = 0x3;
    KT_EQ_INT(kperf_record_parse(b.w, n, &l, &r), -KPERF_ECORRUPT);
    KT_CHECK(strstr(kperf_errmsg(), "SAMPLE") != NULL, "%s", kperf_errmsg());
}

KT_TEST(wrapped_record_is_copied) {
    KT_UNUSED();
    synth s;
    /* start 24 bytes before the end of a 4 KiB area so the 2nd record straddles it */
    synth_init(&s, 4096, 4096 * 3 - 24 - 56);
    bb b;
    size_t n1 = mk_sample(&b, 0x1000, 1, 1, 1, 0);
    synth_put(&s, b.w, n1);
    size_t n2 = mk_sample(&b, 0x2000, 2, 2, 2, 6);
    synth_put(&s, b.w, n2);
    kperf_ring_desc d = desc_of(&s, ST);
    kperf_ring *r;
    KT_CHECK(kperf_ring_open(&r, &d) == 0, "%s", kperf_errmsg());
    const kperf_record *rec;
    KT_EQ_INT(kperf_ring_next(r, &rec), 1);
    KT_EQ_INT(rec->sample.ip, 0x1000);
    KT_EQ_INT(kperf_ring_next(r, &rec), 1);
    KT_EQ_INT(rec->sample.ip, 0x2000);
    KT_EQ_INT(rec->sample.nips, 7);
    KT_EQ_INT(rec->sample.ips[6], 0x2000 + 16 * 5);
    kperf_ring_stats st;
    kperf_ring_stats_read(r, &st);
    KT_EQ_INT(st.copied, 1);
    KT_EQ_INT(kperf_ring_next(r, &rec), 0);
    kperf_ring_close(r);
    free(s.mem);
}

KT_TEST(bad_sizes_are_errors) {
    KT_UNUSED();
    static const uint16_t bad[] = {0, 4, 12, 4000};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        synth s;
        synth_init(&s, 4096, 0);
        bb b;
        size_t n = mk_sample(&b, 0x1000, 1, 1, 1, 0);
        synth_put(&s, b.w, n);
        memcpy(s.data + 6, &bad[i], 2);
        kperf_ring_desc d = desc_of(&s, ST);
        kperf_ring *r;
        KT_CHECK(kperf_ring_open(&r, &d) == 0);
        const kperf_record *rec;
        KT_EQ_INT(kperf_ring_next(r, &rec), -KPERF_ECORRUPT);
        KT_CHECK(strstr(kperf_errmsg(), "corrupt ring buffer") != NULL, "%s", kperf_errmsg());
        KT_EQ_INT(kperf_ring_next(r, &rec), 0); /* discarded: no endless loop */
        kperf_ring_close(r);
        free(s.mem);
    }
    /* head further ahead than the ring is large */
    synth s;
    synth_init(&s, 4096, 0);
    s.pg->data_head = 3 * 4096;
    kperf_ring_desc d = desc_of(&s, ST);
    kperf_ring *r;
    KT_CHECK(kperf_ring_open(&r, &d) == 0);
    const kperf_record *rec;
    KT_EQ_INT(kperf_ring_next(r, &rec), -KPERF_ECORRUPT);
    KT_EQ_INT(kperf_ring_next(r, &rec), 0);
    kperf_ring_close(r);
    free(s.mem);
    /* callchain claims more entries than the record holds */
    synth_init(&s, 4096, 0);
    bb b;
    size_t n = mk_sample(&b, 0x1000, 1, 1, 1, 2);
    b.w[7] = 1000000;
    synth_put(&s, b.w, n);
    d = desc_of(&s, ST);
    KT_CHECK(kperf_ring_open(&r, &d) == 0);
    KT_EQ_INT(kperf_ring_next(r, &rec), -KPERF_ECORRUPT);
    kperf_ring_close(r);
    /* a misshapen ring description */
    kperf_ring_desc bad_d = desc_of(&s, ST);
    bad_d.data_size = 3000;
    KT_EQ_INT(kperf_ring_open(&r, &bad_d), -EINVAL);
    KT_CHECK(r == NULL);
    free(s.mem);
}

static int stop_at_third(const kperf_record *rec, void *user) {
    int *n = (int *)user;
    (void)rec;
    return ++*n == 3 ? -1234 : 0;
}

KT_TEST(push_read_stops_and_publishes) {
    KT_UNUSED();
    synth s;
    synth_init(&s, 4096, 0);
    bb b;
    size_t n = 0;
    for (int i = 0; i < 5; i++) n = mk_sample(&b, 0x1000 + i, 1, 1, (uint64_t)i, 1), synth_put(&s, b.w, n);
    kperf_ring_desc d = desc_of(&s, ST);
    kperf_ring *r;
    KT_CHECK(kperf_ring_open(&r, &d) == 0);
    int seen = 0;
    KT_EQ_INT(kperf_ring_read(r, stop_at_third, &seen), -1234);
    KT_EQ_INT(s.pg->data_tail, 3 * n); /* the stopping record counts as consumed */
    seen = 10;
    KT_EQ_INT(kperf_ring_read(r, stop_at_third, &seen), 2);
    KT_EQ_INT(s.pg->data_tail, 5 * n);
    kperf_ring_close(r);
    free(s.mem);
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Drains a ring until empty or error; returns the number of calls (bounded). */
static int drain(kperf_ring *r, int limit) {
    const kperf_record *rec;
    int calls = 0;
    for (; calls < limit; calls++) {
        int n = kperf_ring_next(r, &rec);
        if (n < 0) continue; /* discarded; the next call must make progress */
        if (n == 0) break;
        /* touch the decoded pointers so ASan sees any out-of-range access */
        volatile uint64_t sink = 0;
        if (rec->type == PERF_RECORD_SAMPLE) {
            for (uint32_t i = 0; i < rec->sample.nips; i++) sink += rec->sample.ips[i];
            if (rec->sample.raw_size) sink += ((const unsigned char *)rec->sample.raw)[rec->sample.raw_size - 1];
        } else if (rec->type == PERF_RECORD_MMAP2 || rec->type == PERF_RECORD_MMAP) {
            sink += strlen(rec->mmap.filename);
        } else if (rec->type == PERF_RECORD_COMM) {
            sink += strlen(rec->comm.comm);
        }
        (void)sink;
    }
    return calls;
}

KT_TEST(fuzz_random_and_mutated_rings) {
    KT_UNUSED();
    const uint64_t layouts[] = {ST, ST | PERF_SAMPLE_RAW | PERF_SAMPLE_BRANCH_STACK,
                                PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_REGS_USER |
                                    PERF_SAMPLE_STACK_USER | PERF_SAMPLE_READ};
    int iters = 20000;
    for (int it = 0; it < iters; it++) {
        synth s;
        synth_init(&s, 1024, rnd() % 4096 * 8);
        bb b;
        size_t n;
        if (it & 1) { /* valid records, then random mutations */
            while (s.head - s.pg->data_tail < 700) {
                n = mk_sample(&b, rnd(), 1, 2, rnd(), (uint32_t)(rnd() % 8));
                synth_put(&s, b.w, n);
            }
            for (int k = 0; k < 1 + (int)(rnd() % 6); k++) s.data[rnd() % 1024] ^= (unsigned char)(1u << (rnd() % 8));
            if (rnd() % 4 == 0) { /* plausible but wrong size field */
                uint16_t sz = (uint16_t)(rnd() % 2048);
                memcpy(s.data + (s.pg->data_tail & 1023) + 6, &sz, 2);
            }
        } else { /* pure random bytes with a random head */
            for (size_t i = 0; i < 1024; i += 8) {
                uint64_t v = rnd();
                memcpy(s.data + i, &v, 8);
            }
            s.pg->data_head = s.pg->data_tail + (rnd() % 3 == 0 ? rnd() : rnd() % 1100);
        }
        kperf_ring_desc d = desc_of(&s, layouts[it % 3]);
        d.layout.regs_user_mask = rnd();
        d.layout.read_format = rnd() & 0x1f;
        d.layout.branch_sample_type = rnd() & PERF_SAMPLE_BRANCH_HW_INDEX;
        kperf_ring *r;
        KT_CHECK(kperf_ring_open(&r, &d) == 0, "%s", kperf_errmsg());
        int calls = drain(r, 10000);
        KT_CHECK(calls < 10000, "iteration %d: ring never drained", it);
        kperf_ring_close(r);
        free(s.mem);
    }
}

static int count_rec(const kperf_record *rec, void *user) {
    (*(int *)user)++;
    if (rec->type == PERF_RECORD_SAMPLE) {
        volatile uint64_t sink = 0;
        for (uint32_t i = 0; i < rec->sample.nips; i++) sink += rec->sample.ips[i];
        (void)sink;
    }
    return 0;
}

/* A pipe-layout perf.data made by hand: header, one HEADER_ATTR, samples; then the reader
 * on the file and on many corrupted copies of it. */
KT_TEST(perfdata_reader_fuzz) {
    KT_UNUSED();
    unsigned char file[8192];
    size_t n = 0;
    uint64_t magic = 0x32454c4946524550ull, hsz = 16;
    memcpy(file, &magic, 8), memcpy(file + 8, &hsz, 8), n = 16;
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = 128, a.sample_type = ST, a.sample_id_all = 1;
    struct perf_event_header h = {64, 0, 8 + 128 + 8};
    memcpy(file + n, &h, 8), memcpy(file + n + 8, &a, 128);
    uint64_t id = 77;
    memcpy(file + n + 136, &id, 8);
    n += h.size;
    bb b;
    for (int i = 0; i < 20; i++) {
        size_t sz = mk_sample(&b, 0x1000 + (uint64_t)i, 1, 2, (uint64_t)i, (uint32_t)(i % 5));
        memcpy(file + n, b.w, sz);
        n += sz;
    }
    char path[] = "/tmp/kperf_pdfuzz_XXXXXX";
    int fd = mkstemp(path);
    KT_CHECK(fd >= 0);
    KT_CHECK(write(fd, file, n) == (ssize_t)n);
    close(fd);
    int got = 0;
    kperf_perfdata_events ev;
    KT_EQ_INT(kperf_perfdata_read(path, count_rec, &got, &ev), 20);
    KT_EQ_INT(got, 20);
    KT_EQ_INT(ev.n, 1);
    KT_EQ_INT(ev.sample_type[0], ST);
    unsigned char mut[8192];
    for (int it = 0; it < 3000; it++) {
        memcpy(mut, file, n);
        size_t len = n;
        int kind = (int)(rnd() % 3);
        if (kind == 0) len = 16 + rnd() % (n - 16); /* truncated */
        for (int k = 0; k < 1 + (int)(rnd() % 8); k++) {
            size_t at = 16 + rnd() % (n - 16);
            mut[at] = kind == 2 ? (unsigned char)rnd() : mut[at] ^ (unsigned char)(1u << (rnd() % 8));
        }
        fd = open(path, O_WRONLY | O_TRUNC);
        KT_CHECK(fd >= 0 && write(fd, mut, len) == (ssize_t)len);
        close(fd);
        got = 0;
        int rc = kperf_perfdata_read(path, count_rec, &got, NULL);
        KT_CHECK(rc == got || rc == -KPERF_ECORRUPT, "iteration %d: rc %d", it, rc);
    }
    unlink(path);
}

int main(void) {
    KT_RUN(samples_and_sideband_decode);
    KT_RUN(all_sample_fields);
    KT_RUN(wrapped_record_is_copied);
    KT_RUN(bad_sizes_are_errors);
    KT_RUN(push_read_stops_and_publishes);
    KT_RUN(fuzz_random_and_mutated_rings);
    KT_RUN(perfdata_reader_fuzz);
    KT_EXIT();
}
