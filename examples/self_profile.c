/* self_profile: a program that samples its own threads, drains the rings from its own poll
 * loop, and prints its hottest code every second.
 *
 *   build/examples/self_profile [SECONDS]     (default 3)
 *
 * Two worker threads burn CPU in different functions; the main thread is the profiler. It
 * opens a sampler on its own process (every existing thread, and inherit for new ones),
 * polls kperf_sampler_fd() and drains with KPERF_SAMPLER_FOREACH when the wakeup watermark
 * or the one-second tick comes. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;
static volatile double sink;

__attribute__((noinline)) static void work_sqrt(void) {
    for (int i = 1; i < 200000; i++) sink += sqrt((double)i);
}

__attribute__((noinline)) static void work_hash(void) {
    unsigned long h = 1469598103934665603ul;
    for (int i = 0; i < 400000; i++) h = (h ^ (unsigned long)i) * 1099511628211ul;
    sink += (double)(h & 1);
}

static void *worker(void *arg) {
    void (*fn)(void) = (void (*)(void))arg;
    while (!stop) fn();
    return NULL;
}

/* Hot addresses of one interval: a small open-addressing table of ip -> samples. */
#define SLOTS 4096
static struct {
    uint64_t ip, n;
} hot[SLOTS];

static void count_ip(uint64_t ip) {
    size_t i = (size_t)(ip * 0x9E3779B97F4A7C15ull >> 52) & (SLOTS - 1);
    for (size_t k = 0; k < SLOTS; k++, i = (i + 1) & (SLOTS - 1))
        if (hot[i].ip == ip || !hot[i].ip) {
            hot[i].ip = ip;
            hot[i].n++;
            return;
        }
}

/* Function names come from kperf_symbols.h; the same function's addresses are merged. */
typedef struct fn_row {
    char name[128];
    uint64_t n;
} fn_row;

static int by_count(const void *a, const void *b) {
    const fn_row *x = (const fn_row *)a, *y = (const fn_row *)b;
    return x->n < y->n ? 1 : x->n > y->n ? -1 : 0;
}

static void print_top(kperf_symbolizer *sym, int second, uint64_t total) {
    static fn_row rows[SLOTS];
    size_t nrows = 0;
    for (size_t i = 0; i < SLOTS; i++) {
        if (!hot[i].ip) continue;
        kperf_frame fr[8];
        char name[128];
        int nf = sym ? kperf_symbolizer_lookup(sym, getpid(), hot[i].ip, fr, 8) : 0;
        if (nf > 0 && fr[nf - 1].function) snprintf(name, sizeof name, "%s", fr[nf - 1].function);
        else snprintf(name, sizeof name, "0x%llx", (unsigned long long)hot[i].ip);
        size_t k = 0;
        while (k < nrows && strcmp(rows[k].name, name)) k++;
        if (k == nrows) snprintf(rows[nrows++].name, sizeof rows[0].name, "%s", name), rows[k].n = 0;
        rows[k].n += hot[i].n;
    }
    qsort(rows, nrows, sizeof rows[0], by_count);
    printf("second %d: %llu samples\n", second, (unsigned long long)total);
    for (size_t i = 0; i < nrows && i < 5; i++)
        printf("  %5.1f%%  %s\n", total ? 100.0 * (double)rows[i].n / (double)total : 0.0,
               rows[i].name);
    fflush(stdout);
    memset(hot, 0, sizeof hot);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int seconds = argc > 1 ? atoi(argv[1]) : 3;
    pid_t self = getpid();
    kperf_sampler *s;
    if (kperf_sampler_open(&s, &(kperf_sampler_desc){.events = "cpu-clock", .freq = 999,
                                                     .pids = &self, .npids = 1,
                                                     .inherit = true}) < 0) {
        fprintf(stderr, "self_profile: %s\n", kperf_errmsg());
        return 1;
    }
    kperf_symbolizer *sym = NULL;
    if (kperf_symbolizer_open(&sym, &(kperf_symbolizer_desc){.mode = KPERF_SYMBOL_ELF}) < 0)
        sym = NULL; /* addresses then */
    pthread_t t[2];
    pthread_create(&t[0], NULL, worker, (void *)work_sqrt);
    pthread_create(&t[1], NULL, worker, (void *)work_hash);
    kperf_sampler_start(s);
    struct pollfd p = {kperf_sampler_fd(s), POLLIN, 0};
    double start = now(), tick = start + 1.0;
    uint64_t total = 0;
    for (int second = 1; second <= seconds;) {
        int ms = (int)((tick - now()) * 1000);
        poll(&p, 1, ms > 0 ? ms : 0);
        KPERF_SAMPLER_FOREACH(s, rec) {
            if (rec->type != KPERF_RECORD_SAMPLE) continue;
            count_ip(rec->sample.ip);
            total++;
        }
        if (now() >= tick) {
            print_top(sym, second++, total);
            total = 0;
            tick += 1.0;
        }
    }
    stop = 1;
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    kperf_sampler_stats st;
    kperf_sampler_stats_read(s, &st);
    printf("total: %llu samples, %llu lost\n", (unsigned long long)st.total.samples,
           (unsigned long long)st.total.lost);
    kperf_symbolizer_close(sym);
    kperf_sampler_close(s);
    return 0;
}
