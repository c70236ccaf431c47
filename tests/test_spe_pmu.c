/* SPE discovery, filter encoding and plans over the fake sysfs trees (exact attr words
 * derived by hand from their format/ files), the open path's refusals on this machine, the
 * mlock diagnosis, and the AUX/side-band drain over a synthetic ring. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_spe.h"
#include "kt.h"

#define K920 "tests/fixtures/sysfs/kunpeng920"
#define K920B "tests/fixtures/sysfs/kunpeng920b"

/* kunpeng920 arm_spe_0/format: ts_enable=config:0 pa_enable=config:1 pct_enable=config:2
 * jitter=config:16 branch_filter=config:32 load_filter=config:33 store_filter=config:34
 * event_filter=config1:0-63 min_latency=config2:0-11; kunpeng920b adds discard=config:35
 * and inv_event_filter=config3:0-63. */

KT_TEST(discovery_kunpeng920) {
    KT_UNUSED();
    kperf_pmus *pmus;
    KT_EQ_INT(kperf_pmus_open(&pmus, K920), 0);
    kperf_spe_pmu sp[4];
    KT_EQ_INT(kperf_spe_pmus_read(pmus, sp, 4), 1);
    KT_EQ_STR(sp[0].pmu->name, "arm_spe_0");
    KT_EQ_INT(sp[0].pmu->type, 9);
    KT_EQ_INT(sp[0].pmu->ncpus, 96);
    KT_EQ_INT(sp[0].pmu->cpus[95], 95);
    KT_EQ_INT(sp[0].ncaps, 4);
    KT_EQ_STR(sp[0].caps[0].name, "arch_inst");
    KT_EQ_STR(sp[0].caps[1].name, "count_size");
    KT_EQ_INT(sp[0].caps[1].value, 12);
    KT_EQ_STR(sp[0].caps[2].name, "ernd");
    KT_EQ_INT(sp[0].caps[2].value, 0);
    KT_EQ_STR(sp[0].caps[3].name, "min_interval");
    KT_EQ_INT(sp[0].min_interval, 1024);
    kperf_pmus_close(pmus);
}

KT_TEST(discovery_kunpeng920b_and_none) {
    KT_UNUSED();
    kperf_pmus *pmus;
    KT_EQ_INT(kperf_pmus_open(&pmus, K920B), 0);
    kperf_spe_pmu sp[4];
    KT_EQ_INT(kperf_spe_pmus_read(pmus, sp, 4), 1);
    KT_EQ_INT(sp[0].pmu->ncpus, 64);
    KT_EQ_INT(sp[0].min_interval, 256);
    KT_EQ_INT(sp[0].caps[2].value, 1); /* ernd */
    kperf_pmus_close(pmus);
    KT_EQ_INT(kperf_pmus_open(&pmus, "tests/fixtures/sysfs/intel-skx-2s"), 0);
    KT_EQ_INT(kperf_spe_pmus_read(pmus, sp, 4), 0);
    kperf_pmus_close(pmus);
}

static int plan_one(const char *root, const kperf_spe_desc *in, uint64_t cfg[4], size_t *n, char *line, size_t linesz) {
    kperf_spe_desc d = *in;
    d.sysfs_root = root;
    kperf_plan *pl;
    int rc = kperf_spe_plan_open(&pl, &d);
    if (rc < 0) return rc;
    memcpy(cfg, pl->entries[0].config, 4 * sizeof cfg[0]);
    *n = pl->nentries;
    if (line) kperf_plan_format(pl, 0, line, linesz);
    kperf_plan_free(pl);
    return 0;
}

KT_TEST(filters_libkperf_kunpeng920) {
    KT_UNUSED();
    kperf_spe_desc d;
    memset(&d, 0, sizeof d);
    uint64_t c[4];
    size_t n;
    char line[1024];
    d.data_filter = KPERF_SPE_DATA_ALL, d.event_filter = 0x2 | 0x8, d.min_latency = 100;
    KT_EQ_INT(plan_one(K920, &d, c, &n, line, sizeof line), 0);
    KT_EQ_INT(n, 96);
    KT_CHECK(c[0] == 0x700010007ull, "config 0x%llx", (unsigned long long)c[0]); /* bits 0,1,2,16,32,33,34 */
    KT_EQ_INT(c[1], 0xa);
    KT_EQ_INT(c[2], 100);
    KT_EQ_INT(c[3], 0);
    KT_EQ_STR(line, "event=arm_spe_0/ts_enable=1,pa_enable=1,pct_enable=1,jitter=1,branch_filter=1,"
                    "load_filter=1,store_filter=1,event_filter=0xa,min_latency=100/ pmu=arm_spe_0 type=9 "
                    "config=0x700010007 config1=0xa config2=0x64 cpu=0 pid=-1 "
                    "leader=arm_spe_0/ts_enable=1,pa_enable=1,pct_enable=1,jitter=1,branch_filter=1,"
                    "load_filter=1,store_filter=1,event_filter=0xa,min_latency=100/");
    static const struct { uint64_t df; uint64_t cfg; } one[] = {
        {KPERF_SPE_TS_ENABLE, 0x1}, {KPERF_SPE_PA_ENABLE, 0x2}, {KPERF_SPE_PCT_ENABLE, 0x4},
        {KPERF_SPE_JITTER, 0x10000}, {KPERF_SPE_BRANCH_FILTER, 0x100000000ull},
        {KPERF_SPE_LOAD_FILTER, 0x200000000ull}, {KPERF_SPE_STORE_FILTER, 0x400000000ull}};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        memset(&d, 0, sizeof d);
        d.data_filter = one[i].df;
        KT_EQ_INT(plan_one(K920, &d, c, &n, NULL, 0), 0);
        if (c[0] != one[i].cfg) KT_FAIL("dataFilter 0x%llx -> config 0x%llx", (unsigned long long)one[i].df, (unsigned long long)c[0]);
    }
    memset(&d, 0, sizeof d);
    d.event_filter = 0x2 | 0x8 | 0x20 | 0x80; /* libkperf's four evFilter values */
    d.min_latency = 4095;
    KT_EQ_INT(plan_one(K920, &d, c, &n, NULL, 0), 0);
    KT_EQ_INT(c[0], 0);
    KT_EQ_INT(c[1], 0xaa);
    KT_EQ_INT(c[2], 0xfff);
}

KT_TEST(filters_errors_name_the_field) {
    KT_UNUSED();
    kperf_spe_desc d;
    uint64_t c[4];
    size_t n;
    memset(&d, 0, sizeof d);
    d.min_latency = 4096; /* 12 bits */
    KT_EQ_INT(plan_one(K920, &d, c, &n, NULL, 0), -KPERF_EPARSE);
    KT_CHECK(strstr(kperf_errmsg(), "min_latency") != NULL, "message: %s", kperf_errmsg());
    memset(&d, 0, sizeof d);
    d.inv_event_filter = 0x2;
    KT_EQ_INT(plan_one(K920, &d, c, &n, NULL, 0), -KPERF_EPARSE);
    KT_CHECK(strstr(kperf_errmsg(), "'inv_event_filter'") && strstr(kperf_errmsg(), "arm_spe_0"), "message: %s", kperf_errmsg());
    memset(&d, 0, sizeof d);
    d.discard = true;
    KT_EQ_INT(plan_one(K920, &d, c, &n, NULL, 0), -KPERF_EPARSE);
    KT_CHECK(strstr(kperf_errmsg(), "'discard'") != NULL, "message: %s", kperf_errmsg());
    memset(&d, 0, sizeof d);
    d.terms = "load_filter=1,frobnicate=3";
    KT_EQ_INT(plan_one(K920, &d, c, &n, NULL, 0), -KPERF_EPARSE);
    KT_CHECK(strstr(kperf_errmsg(), "'frobnicate'") != NULL, "message: %s", kperf_errmsg());
    memset(&d, 0, sizeof d);
    d.data_filter = 1ull << 40;
    KT_EQ_INT(plan_one(K920, &d, c, &n, NULL, 0), -KPERF_EPARSE);
    memset(&d, 0, sizeof d);
    d.pmu = "arm_spe_7";
    KT_EQ_INT(plan_one(K920, &d, c, &n, NULL, 0), -KPERF_ENOPMU);
    KT_CHECK(strstr(kperf_errmsg(), "arm_spe_7") != NULL);
    memset(&d, 0, sizeof d);
    KT_EQ_INT(plan_one("tests/fixtures/sysfs/amd-zen3-2s", &d, c, &n, NULL, 0), -KPERF_ENOTSUP);
    KT_CHECK(strstr(kperf_errmsg(), "no arm_spe PMU") != NULL, "message: %s", kperf_errmsg());
}

KT_TEST(filters_spe_v12_kunpeng920b) {
    KT_UNUSED();
    kperf_spe_desc d;
    memset(&d, 0, sizeof d);
    uint64_t c[4];
    size_t n;
    char line[1024];
    d.inv_event_filter = 0x8, d.discard = true, d.data_filter = KPERF_SPE_TS_ENABLE;
    KT_EQ_INT(plan_one(K920B, &d, c, &n, line, sizeof line), 0);
    KT_EQ_INT(n, 64);
    KT_CHECK(c[0] == 0x800000001ull, "config 0x%llx", (unsigned long long)c[0]); /* discard=35, ts=0 */
    KT_EQ_INT(c[3], 0x8);
    KT_EQ_STR(line, "event=arm_spe_0/ts_enable=1,inv_event_filter=0x8,discard=1/ pmu=arm_spe_0 type=9 "
                    "config=0x800000001 config1=0x0 config2=0x0 cpu=0 pid=-1 "
                    "leader=arm_spe_0/ts_enable=1,inv_event_filter=0x8,discard=1/");
    memset(&d, 0, sizeof d);
    d.terms = "load_filter=1,min_latency=7";
    KT_EQ_INT(plan_one(K920B, &d, c, &n, NULL, 0), 0);
    KT_CHECK(c[0] == 0x200000000ull);
    KT_EQ_INT(c[2], 7);
}

KT_TEST(plan_targets_and_period) {
    KT_UNUSED();
    kperf_spe_desc d;
    memset(&d, 0, sizeof d);
    int cpus[] = {4, 7};
    pid_t pids[] = {1234, 99};
    d.sysfs_root = K920, d.cpus = cpus, d.ncpus = 2;
    kperf_plan *pl;
    KT_EQ_INT(kperf_spe_plan_open(&pl, &d), 0);
    KT_EQ_INT(pl->nentries, 2);
    KT_EQ_INT(pl->entries[1].cpu, 7);
    KT_EQ_INT(pl->entries[1].pid, -1);
    KT_EQ_INT(((const struct perf_event_attr *)pl->entries[0].attr)->sample_period, 1024); /* caps/min_interval */
    KT_EQ_INT(((const struct perf_event_attr *)pl->entries[0].attr)->exclude_kernel, 1);
    KT_EQ_INT(((const struct perf_event_attr *)pl->entries[0].attr)->type, 9);
    kperf_plan_free(pl);
    d.cpus = NULL, d.ncpus = 0, d.pids = pids, d.npids = 2, d.period = 65536;
    KT_EQ_INT(kperf_spe_plan_open(&pl, &d), 0);
    KT_EQ_INT(pl->nentries, 2);
    KT_EQ_INT(pl->entries[0].pid, 1234);
    KT_EQ_INT(pl->entries[0].cpu, -1);
    KT_EQ_INT(pl->entries[1].pid, 99);
    KT_EQ_INT(((const struct perf_event_attr *)pl->entries[0].attr)->sample_period, 65536);
    kperf_plan_free(pl);
    kperf_plan_free(NULL);
}

KT_TEST(open_refuses_clearly) {
    KT_UNUSED();
    kperf_spe *s = (kperf_spe *)1;
    kperf_spe_desc d;
    memset(&d, 0, sizeof d);
    d.sysfs_root = K920;
    KT_EQ_INT(kperf_spe_open(&s, &d), -KPERF_ENOTSUP);
    KT_CHECK(s == NULL);
    KT_CHECK(strstr(kperf_errmsg(), "fake sysfs") != NULL, "message: %s", kperf_errmsg());
    kperf_pmus *pmus;
    KT_EQ_INT(kperf_pmus_open(&pmus, "/"), 0);
    kperf_spe_pmu sp[4];
    int have = kperf_spe_pmus_read(pmus, sp, 4);
    kperf_pmus_close(pmus);
    if (have > 0) KT_SKIP("this machine has an arm_spe PMU; the refusal path is for machines without");
    d.sysfs_root = "/";
    KT_EQ_INT(kperf_spe_open(&s, &d), -KPERF_ENOTSUP);
    KT_CHECK(s == NULL);
    KT_CHECK(strstr(kperf_errmsg(), "no arm_spe PMU on this machine") != NULL, "message: %s", kperf_errmsg());
    kperf_spe_close(NULL);
}

KT_TEST(mlock_diagnosis_names_limits) {
    KT_UNUSED();
    int rc = kperf__spe_mlock_fail(EPERM, 1 << 20, 3);
    KT_EQ_INT(rc, -KPERF_ELIMIT);
    KT_CHECK(strstr(kperf_errmsg(), "perf_event_mlock_kb") && strstr(kperf_errmsg(), "RLIMIT_MEMLOCK") &&
             strstr(kperf_errmsg(), "cpu 3") && strstr(kperf_errmsg(), "1024 KiB"), "message: %s", kperf_errmsg());
}

/* ---- the drain over a synthetic mmap page, side-band ring and AUX area ------------------- */

typedef struct sink { kperf_spe_record r[16]; int n; } sink;
static int sink_rec(const kperf_spe_record *r, void *u) {
    sink *s = (sink *)u;
    if (s->n < 16) s->r[s->n++] = *r;
    return 0;
}

static void ring_put(kperf__spe_fd *f, uint64_t *head, const void *rec, size_t n) {
    uint8_t *data = (uint8_t *)f->base + (f->base_len - f->data_size);
    for (size_t i = 0; i < n; i++) data[(*head + i) % f->data_size] = ((const uint8_t *)rec)[i];
    *head += n;
}

static void put_aux_rec(kperf__spe_fd *f, uint64_t *head, uint64_t off, uint64_t size, uint64_t flags) {
    uint8_t r[56];
    memset(r, 0, sizeof r);
    struct perf_event_header h = {PERF_RECORD_AUX, 0, 56};
    memcpy(r, &h, 8), memcpy(r + 8, &off, 8), memcpy(r + 16, &size, 8), memcpy(r + 24, &flags, 8);
    ring_put(f, head, r, sizeof r);
}

static void put_switch_out(kperf__spe_fd *f, uint64_t *head, uint32_t next_pid, uint32_t next_tid, uint64_t t) {
    uint8_t r[40];
    memset(r, 0, sizeof r);
    struct perf_event_header h = {PERF_RECORD_SWITCH_CPU_WIDE, PERF_RECORD_MISC_SWITCH_OUT, 40};
    uint32_t me = 1;
    memcpy(r, &h, 8), memcpy(r + 8, &next_pid, 4), memcpy(r + 12, &next_tid, 4);
    memcpy(r + 16, &me, 4), memcpy(r + 20, &me, 4), memcpy(r + 24, &t, 8);
    ring_put(f, head, r, sizeof r);
}

/* A branch record ending in a timestamp: 2 + 9 = 11 bytes. */
static size_t spe_rec(uint8_t *b, uint64_t ts) {
    b[0] = 0x4a, b[1] = 0x01, b[2] = 0x71;
    for (int i = 0; i < 8; i++) b[3 + i] = (uint8_t)(ts >> (8 * i));
    return 11;
}

KT_TEST(aux_drain_with_flags_and_switches) {
    KT_UNUSED();
    size_t pg = 4096;
    kperf__spe_fd f;
    memset(&f, 0, sizeof f);
    f.fd = -1, f.cpu = 3;
    f.base_len = 3 * pg, f.data_size = 2 * pg;
    f.base = calloc(1, f.base_len);
    f.aux_len = 32; /* tiny, so AUX data wraps */
    f.aux = (uint8_t *)malloc(f.aux_len);
    kperf_spe s;
    memset(&s, 0, sizeof s);
    s.fds = &f, s.nfds = 1;
    kperf_spe_clock clk;
    memset(&clk, 0, sizeof clk);
    clk.cap_user_time_zero = true, clk.time_mult = 1;
    kperf_spe_decoder_desc dd;
    memset(&dd, 0, sizeof dd);
    dd.on_record = kperf__spe_on_record, dd.user = &s, dd.clock = &clk;
    KT_EQ_INT(kperf_spe_decoder_new(&f.dec, &dd), 0);
    /* AUX bytes: records at ts 150 and 250 (22 bytes), then a cut one and one more */
    uint8_t spe[64];
    size_t n = spe_rec(spe, 150);
    n += spe_rec(spe + n, 250);
    for (size_t i = 0; i < n; i++) f.aux[i % f.aux_len] = spe[i];
    uint64_t head = 0;
    put_switch_out(&f, &head, 10, 11, 100);
    put_switch_out(&f, &head, 20, 21, 200);
    put_aux_rec(&f, &head, 0, 15, 0);               /* first record + 4 bytes of the second */
    put_aux_rec(&f, &head, 15, 7, PERF_AUX_FLAG_PARTIAL); /* the rest of the second */
    struct perf_event_mmap_page *mp = (struct perf_event_mmap_page *)f.base;
    mp->data_head = head;
    sink got;
    memset(&got, 0, sizeof got);
    KT_EQ_INT(kperf_spe_read(&s, sink_rec, &got), 2);
    KT_EQ_INT(got.n, 2);
    KT_EQ_INT(got.r[0].cpu, 3);
    KT_EQ_INT(got.r[0].pid, 10);
    KT_EQ_INT(got.r[0].tid, 11);
    KT_EQ_INT(got.r[1].pid, 20);
    KT_EQ_INT(got.r[1].time, 250);
    KT_EQ_INT(mp->data_tail, head);
    KT_EQ_INT(mp->aux_tail, 22);
    /* next: 11 more AUX bytes (wrapping at 32), collision on the first half, truncated on
     * a later empty region */
    n = spe_rec(spe, 300);
    for (size_t i = 0; i < n; i++) f.aux[(22 + i) % f.aux_len] = spe[i];
    put_aux_rec(&f, &head, 22, 5, PERF_AUX_FLAG_COLLISION); /* cut: decoder resets after it */
    put_aux_rec(&f, &head, 27, 6, 0);
    put_aux_rec(&f, &head, 33, 0, PERF_AUX_FLAG_TRUNCATED);
    mp->data_head = head;
    memset(&got, 0, sizeof got);
    KT_EQ_INT(kperf_spe_read(&s, sink_rec, &got), 0); /* the record was cut by the collision */
    kperf_spe_stats st;
    kperf_spe_stats_read(&s, &st);
    KT_EQ_INT(st.aux_records, 5);
    KT_EQ_INT(st.partial, 1);
    KT_EQ_INT(st.collision, 1);
    KT_EQ_INT(st.truncated, 1);
    KT_EQ_INT(st.switches, 2);
    KT_EQ_INT(st.aux_bytes, 33);
    KT_EQ_INT(st.decoder.records, 2);
    KT_CHECK(st.decoder.resets >= 2);
    KT_EQ_INT(mp->aux_tail, 33);
    /* a region larger than the AUX area was overwritten: only its last aux_len bytes count */
    n = 0;
    for (int k = 0; k < 3; k++) n += spe_rec(spe + n, 400 + (uint64_t)k);
    for (size_t i = 0; i < n; i++) f.aux[(33 + i) % f.aux_len] = spe[i];
    put_aux_rec(&f, &head, 33, n, 0);
    mp->data_head = head;
    memset(&got, 0, sizeof got);
    kperf_spe_read(&s, sink_rec, &got);
    KT_CHECK(got.n >= 1 && got.r[got.n - 1].timestamp == 402, "last record of an overwritten region");
    kperf_spe_decoder_free(f.dec);
    free(f.base), free(f.aux);
}

int main(void) {
    KT_RUN(discovery_kunpeng920);
    KT_RUN(discovery_kunpeng920b_and_none);
    KT_RUN(filters_libkperf_kunpeng920);
    KT_RUN(filters_errors_name_the_field);
    KT_RUN(filters_spe_v12_kunpeng920b);
    KT_RUN(plan_targets_and_period);
    KT_RUN(open_refuses_clearly);
    KT_RUN(mlock_diagnosis_names_limits);
    KT_RUN(aux_drain_with_flags_and_switches);
    KT_EXIT();
}
