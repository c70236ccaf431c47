/* bench_tracepoint: what does reading tracepoint fields cost per record? Field access by
 * descriptor (looked up once) against libkperf-style by-name get_field, and the full
 * `name=value` formatting kperf trace does, on sched:sched_switch records.
 * usage: bench_tracepoint [BUILD_DIR] [RECORDS]   (markdown on stdout; needs tracefs for the
 * format). bench/run.sh passes the build directory first; a numeric argument is RECORDS. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include <stdio.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    long n = 5000000;
    for (int a = 1; a < argc; a++)
        if (atol(argv[a]) > 0) n = atol(argv[a]);
    kperf_tracefs *t;
    const kperf_tp_format *f;
    if (kperf_tracefs_open(&t, NULL) < 0 || kperf_tracefs_format(t, "sched", "sched_switch", &f) < 0) {
        printf("bench_tracepoint: skipped: %s\n", kperf_errmsg());
        return 0;
    }
    unsigned char rec[64][80];
    memset(rec, 0, sizeof rec);
    const kperf_tp_field *pc = kperf_tp_format_field(f, "prev_comm"),
                         *pp = kperf_tp_format_field(f, "prev_pid"),
                         *ps = kperf_tp_format_field(f, "prev_state"),
                         *nc = kperf_tp_format_field(f, "next_comm");
    for (int i = 0; i < 64; i++) {
        uint16_t id = (uint16_t)f->id;
        memcpy(rec[i], &id, 2);
        snprintf((char *)rec[i] + pc->offset, 16, "task-%d", i);
        snprintf((char *)rec[i] + nc->offset, 16, "next-%d", i);
        int32_t pid = 1000 + i;
        memcpy(rec[i] + pp->offset, &pid, 4);
        int64_t st = i & 3;
        memcpy(rec[i] + ps->offset, &st, 8);
    }
    size_t size = 64;
    volatile int64_t sink = 0;
    double t0 = now();
    for (long i = 0; i < n; i++) {
        const unsigned char *r = rec[i & 63];
        int64_t pid = 0, st = 0;
        const char *s1, *s2;
        size_t l1 = 0, l2 = 0;
        kperf_tp_field_int(pp, r, size, &pid);
        kperf_tp_field_int(ps, r, size, &st);
        kperf_tp_field_str(pc, r, size, &s1, &l1);
        kperf_tp_field_str(nc, r, size, &s2, &l2);
        sink += pid + st + (int64_t)l1 + (int64_t)l2;
    }
    double by_desc = (now() - t0) / (double)n * 1e9;
    t0 = now();
    for (long i = 0; i < n; i++) {
        const unsigned char *r = rec[i & 63];
        int32_t pid = 0;
        int64_t st = 0;
        char c1[16] = "", c2[16] = "";
        kperf_tp_get_field(f, r, size, "prev_pid", &pid, sizeof pid);
        kperf_tp_get_field(f, r, size, "prev_state", &st, sizeof st);
        kperf_tp_get_field(f, r, size, "prev_comm", c1, sizeof c1);
        kperf_tp_get_field(f, r, size, "next_comm", c2, sizeof c2);
        sink += pid + st + c1[0] + c2[0];
    }
    double by_name = (now() - t0) / (double)n * 1e9;
    long m = n / 10;
    char line[512];
    t0 = now();
    for (long i = 0; i < m; i++) sink += kperf_tp_format_snprint(f, rec[i & 63], size, line, sizeof line);
    double text = (now() - t0) / (double)m * 1e9;
    t0 = now();
    const kperf_tp_format *g;
    for (long i = 0; i < n; i++) sink += kperf_tracefs_format_by_id(t, f->id, &g);
    double by_id = (now() - t0) / (double)n * 1e9;
    printf("## Tracepoint field access\n\nReproduce: `make bench` (or `build/bench/bench_tracepoint`)."
           " %ld synthetic sched:sched_switch records laid out by this kernel's format file.\n\n",
           n);
    printf("| sched_switch, 4 fields (2 ints, 2 strings) | ns per record |\n|---|---:|\n");
    printf("| by descriptor (kperf_tp_field_int/_str) | %.1f |\n", by_desc);
    printf("| by name, copying (kperf_tp_get_field, libkperf get_field) | %.1f |\n", by_name);
    printf("| whole record as name=value text (kperf_tp_format_snprint) | %.1f |\n", text);
    printf("| format lookup from common_type (kperf_tracefs_format_by_id) | %.1f |\n", by_id);
    kperf_tracefs_close(t);
    return (int)(sink & 0);
}
