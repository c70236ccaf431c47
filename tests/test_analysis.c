/* >>analysis: log-linear histogram bounds, keyed statistics (exact count/sum/min/max/mean/
 * variance, percentiles within the histogram's 1/16), merging equals one table, and the
 * two-event pairer (matches, leaks, restarts, stacks) against a naive model. */
#include "kperf.h"
#include "kt.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

KT_TEST(histogram_buckets) {
    KT_UNUSED();
    KT_EQ_INT(kperf_hist_bucket(0), 0);
    KT_EQ_INT(kperf_hist_bucket(15), 15);
    KT_EQ_INT(kperf_hist_bucket(16), 16);
    KT_EQ_INT(kperf_hist_bucket(UINT64_MAX), KPERF_HIST_BUCKETS - 1);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t v = x >> (x % 64);
        uint32_t b = kperf_hist_bucket(v);
        KT_CHECK(b < KPERF_HIST_BUCKETS);
        KT_CHECK(kperf_hist_bucket_lo(b) <= v, "v=%llu b=%u", (unsigned long long)v, b);
        KT_CHECK(b + 1 == KPERF_HIST_BUCKETS || v < kperf_hist_bucket_lo(b + 1));
        /* width <= lo/8: the middle is within 1/16 of any value in the bucket */
        if (b >= 16 && b + 1 < KPERF_HIST_BUCKETS)
            KT_CHECK(kperf_hist_bucket_lo(b + 1) - kperf_hist_bucket_lo(b) <=
                     kperf_hist_bucket_lo(b) / 8);
    }
}

static int sum_keys(uint64_t key, const kperf_stat *s, void *user) {
    *(uint64_t *)user += key + s->sum;
    return 0;
}

KT_TEST(keyed_statistics) {
    KT_UNUSED();
    kperf_keystats *all, *odd, *even;
    kperf_keystats_desc d = {true};
    KT_CHECK(kperf_keystats_new(&all, &d) == 0 && kperf_keystats_new(&odd, &d) == 0 &&
             kperf_keystats_new(&even, NULL) == 0);
    for (uint64_t v = 1; v <= 1000; v++) {
        kperf_keystats_add(all, 7, v);
        kperf_keystats_add(v % 2 ? odd : even, 7, v);
    }
    const kperf_stat *s = kperf_keystats_get(all, 7);
    KT_CHECK(s && s->count == 1000 && s->sum == 500500 && s->min == 1 && s->max == 1000);
    KT_CHECK(fabs(s->mean - 500.5) < 1e-9);
    KT_CHECK(fabs(kperf_stat_variance(s) - 1000.0 * 1001.0 / 12.0) < 1e-6);
    uint64_t p50 = kperf_stat_percentile(s, 0.5), p99 = kperf_stat_percentile(s, 0.99);
    KT_CHECK(p50 >= 500 - 500 / 16 && p50 <= 500 + 500 / 16, "p50 %llu", (unsigned long long)p50);
    KT_CHECK(p99 >= 990 - 990 / 16 && p99 <= 990 + 990 / 16, "p99 %llu", (unsigned long long)p99);
    KT_EQ_INT(kperf_stat_percentile(s, 1.0), 1000);
    KT_EQ_INT(kperf_stat_percentile(s, 0.0), 1);
    KT_CHECK(kperf_keystats_get(all, 8) == NULL);
    /* odd (histogram) + even (none) merged = all */
    kperf_keystats *m;
    KT_CHECK(kperf_keystats_new(&m, NULL) == 0);
    KT_CHECK(kperf_keystats_merge(m, even) == 0 && kperf_keystats_merge(m, odd) == 0);
    const kperf_stat *ms = kperf_keystats_get(m, 7);
    KT_CHECK(ms && ms->count == 1000 && ms->sum == 500500 && ms->min == 1 && ms->max == 1000);
    KT_CHECK(fabs(ms->mean - 500.5) < 1e-9 && fabs(kperf_stat_variance(ms) - s->m2 / 999) < 1e-6);
    uint64_t hsum = 0;
    for (int i = 0; ms->hist && i < KPERF_HIST_BUCKETS; i++) hsum += ms->hist[i];
    KT_EQ_INT(hsum, 500); /* only odd had a histogram */
    /* many keys: rehashing keeps every one */
    for (uint64_t k = 0; k < 20000; k++) kperf_keystats_add(even, k * 4096, 3);
    KT_EQ_INT(kperf_keystats_count(even), 20001);
    uint64_t acc = 0;
    KT_EQ_INT(kperf_keystats_foreach(even, sum_keys, &acc), 20001);
    KT_CHECK(acc == 7 + 250500 + 4096ull * 19999 * 20000 / 2 + 3 * 20000);
    KT_CHECK(kperf_keystats_get(even, 4096 * 123)->count == 1);
    kperf_keystats_reset(even);
    KT_EQ_INT(kperf_keystats_count(even), 0);
    KT_CHECK(kperf_keystats_get(even, 7) == NULL);
    kperf_keystats_free(all), kperf_keystats_free(odd), kperf_keystats_free(even);
    kperf_keystats_free(m);
    kperf_keystats_free(NULL);
}

static int collect(const kperf_pair_event *e, void *user) {
    uint8_t *seen = (uint8_t *)user;
    seen[e->key]++;
    return 0;
}

KT_TEST(pairer_matches_and_leaks) {
    KT_UNUSED();
    kperf_pairer *p;
    kperf_pairer_desc d = {4};
    KT_CHECK(kperf_pairer_new(&p, &d) == 0);
    uint64_t ips[6] = {1, 2, 3, 4, 5, 6};
    for (uint64_t k = 0; k < 1000; k++) {
        kperf_pair_event e = {k, 100 + k, k * 10, 1, 2, 0, 6, ips};
        KT_CHECK(kperf_pairer_start(p, &e) == 0);
    }
    kperf_pair_event again = {5, 1, 99, 1, 2, 0, 0, NULL};
    KT_EQ_INT(kperf_pairer_start(p, &again), 1); /* replaces key 5 */
    uint64_t lat = 0;
    for (uint64_t k = 0; k < 990; k++) {
        kperf_pair_event st;
        KT_CHECK(kperf_pairer_end(p, k, &st) == 1);
        if (k == 5) KT_CHECK(st.value == 99 && st.nips == 0 && st.ips == NULL);
        else {
            KT_CHECK(st.key == k && st.value == k * 10 && st.nips == 4 && st.ips[3] == 4);
            lat += 105 + k - st.time;
        }
    }
    KT_EQ_INT(lat, 989 * 5);
    KT_EQ_INT(kperf_pairer_end(p, 5, NULL), 0);
    uint8_t seen[1000] = {0};
    KT_EQ_INT(kperf_pairer_foreach(p, collect, seen), 10);
    for (int k = 0; k < 1000; k++) KT_CHECK(seen[k] == (k >= 990), "key %d", k);
    kperf_pairer_counts c;
    kperf_pairer_counts_read(p, &c);
    KT_CHECK(c.started == 1001 && c.matched == 990 && c.unmatched_end == 1 && c.restarted == 1 &&
             c.pending == 10);
    kperf_pair_event pk;
    KT_CHECK(kperf_pairer_peek(p, 995, &pk) == 1 && pk.time == 1095);
    kperf_pairer_free(p);
}

/* Random starts/ends over colliding keys against a plain array: deletion in the probe runs
 * never loses or invents a pending start. */
KT_TEST(pairer_against_model) {
    KT_UNUSED();
    kperf_pairer *p;
    KT_CHECK(kperf_pairer_new(&p, NULL) == 0);
    static uint64_t model[512]; /* time+1 of the pending start, 0 = none */
    memset(model, 0, sizeof model);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (uint64_t t = 1; t < 300000; t++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t k = (x >> 8) % 512;
        if (x & 1) {
            kperf_pair_event e = {k << 20, t, 0, 0, 0, 0, 0, NULL};
            int rc = kperf_pairer_start(p, &e);
            KT_CHECK(rc == (model[k] ? 1 : 0));
            model[k] = t + 1;
        } else {
            kperf_pair_event st;
            int rc = kperf_pairer_end(p, k << 20, &st);
            KT_CHECK(rc == (model[k] ? 1 : 0), "t=%llu", (unsigned long long)t);
            if (rc) KT_CHECK(st.time + 1 == model[k]);
            model[k] = 0;
        }
    }
    size_t pending = 0;
    for (int k = 0; k < 512; k++) pending += model[k] != 0;
    kperf_pairer_counts c;
    kperf_pairer_counts_read(p, &c);
    KT_EQ_INT(c.pending, pending);
    kperf_pairer_free(p);
}

/* Records read out of time order (an end read before its start, as when two CPUs' rings
 * are drained at different moments): every end moved up to 100 places earlier (before its
 * start, not before its key's previous end) still pairs with its own start, with its
 * latency; stale starts, held ends, drops by predicate. */
typedef struct pr_ev {
    uint64_t key, time;
    bool end;
} pr_ev;

static int drop_odd_cpu(const kperf_pair_event *st, void *user) {
    (void)user;
    return st->cpu % 2 == 1;
}

KT_TEST(pairer_out_of_order) {
    KT_UNUSED();
    enum { KEYS = 64, ROUNDS = 200, N = KEYS * ROUNDS * 2 };
    static pr_ev evs[N];
    size_t n = 0;
    uint64_t t = 1, want = 0;
    for (int r = 0; r < ROUNDS; r++) { /* each key: start, then its end 1..KEYS events later */
        for (uint64_t k = 0; k < KEYS; k++) evs[n].key = k, evs[n].time = t++, evs[n++].end = false;
        for (uint64_t k = 0; k < KEYS; k++) {
            evs[n].key = k, evs[n].time = t++, evs[n++].end = true;
            want += KEYS; /* start of key k at t0 + k, end at t0 + KEYS + k */
        }
    }
    uint64_t x = 0x2545F4914F6CDD1Dull;
    for (size_t i = 0; i < n; i++) { /* move ends earlier, by up to 100 places */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        if (!evs[i].end || x % 3) continue;
        size_t back = (size_t)(x >> 20) % 101, j = i;
        pr_ev e = evs[i];
        for (; j > 0 && i - j < back && !(evs[j - 1].key == e.key && evs[j - 1].end); j--)
            evs[j] = evs[j - 1]; /* (never past its key's previous end: ends stay in order) */
        evs[j] = e;
    }
    kperf_pairer *p;
    KT_CHECK(kperf_pairer_new(&p, NULL) == 0);
    uint64_t lat = 0, done = 0;
    size_t max_held = 0;
    for (size_t i = 0; i < n; i++) {
        kperf_pair_event e = {evs[i].key, evs[i].time, 0, 0, 0, 0, 0, NULL}, o;
        if (evs[i].end) {
            int rc = kperf_pairer_end_at(p, &e, &o);
            KT_CHECK(rc == 0 || rc == 1);
            if (rc == 1) lat += e.time - o.time, done++;
        } else {
            int rc = kperf_pairer_start_at(p, &e, &o);
            KT_CHECK(rc == 0 || rc == 2, "rc %d", rc);
            if (rc == 2) lat += o.time - e.time, done++;
        }
        kperf_pairer_counts c;
        kperf_pairer_counts_read(p, &c);
        if (c.held > max_held) max_held = c.held;
    }
    kperf_pairer_counts c;
    kperf_pairer_counts_read(p, &c);
    KT_CHECK(max_held > 0, "some ends were held");
    KT_EQ_INT(done, KEYS * ROUNDS);
    KT_EQ_INT(lat, want);
    KT_CHECK(c.matched == done && c.pending == 0 && c.held == 0 && c.unmatched_end == 0 &&
             c.stale == 0 && c.restarted == 0);
    /* a start older than the pending one is stale; an end older than the pending start is
     * held, and completes the older start when it comes */
    kperf_pair_event a = {1, 100, 7, 0, 0, 0, 0, NULL}, o;
    KT_EQ_INT(kperf_pairer_start_at(p, &a, &o), 0);
    a.time = 50;
    KT_EQ_INT(kperf_pairer_start_at(p, &a, &o), 3);
    a.time = 90, a.value = 9;
    KT_EQ_INT(kperf_pairer_end_at(p, &a, &o), 0);
    a.time = 80;
    KT_EQ_INT(kperf_pairer_start_at(p, &a, &o), 2);
    KT_CHECK(o.time == 90 && o.value == 9);
    KT_CHECK(kperf_pairer_peek(p, 1, &o) == 1 && o.time == 100);
    for (uint64_t k = 0; k < KPERF_PAIRER_HELD_MAX + 2; k++) { /* more held ends than room */
        kperf_pair_event h = {2, 10 + k, 0, 0, 0, 0, 0, NULL};
        KT_EQ_INT(kperf_pairer_end_at(p, &h, NULL), 0);
    }
    kperf_pairer_counts_read(p, &c);
    KT_CHECK(c.held == KPERF_PAIRER_HELD_MAX && c.unmatched_end == 2 && c.stale == 1);
    for (uint32_t k = 0; k < 10; k++) { /* drop the starts of odd CPUs */
        kperf_pair_event st = {100 + k, 1, 0, 0, 0, k, 0, NULL};
        kperf_pairer_start_at(p, &st, NULL);
    }
    KT_EQ_INT(kperf_pairer_drop(p, drop_odd_cpu, NULL), 5);
    KT_EQ_INT(kperf_pairer_foreach(p, NULL, NULL), 0);
    kperf_pairer_counts_read(p, &c);
    KT_EQ_INT(c.pending, 6); /* key 1 and the five even CPUs */
    kperf_pairer_free(p);
}

int main(void) {
    KT_RUN(histogram_buckets);
    KT_RUN(keyed_statistics);
    KT_RUN(pairer_matches_and_leaks);
    KT_RUN(pairer_against_model);
    KT_RUN(pairer_out_of_order);
    KT_EXIT();
}
