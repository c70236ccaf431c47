/* Chrome / Perfetto trace-event JSON for `kperf trace --trace-json` and `kperf syscalls
 * --trace-json`: the JSON object form of the Trace Event Format,
 *   {"traceEvents": [EVENT, ...], "displayTimeUnit": "ns", "otherData": {...}}
 * with instant events (ph "i", scope "t") for tracepoint records, complete events (ph "X"
 * with "dur") for syscalls, and thread_name / process_name metadata events (ph "M") the
 * first time a thread is seen. Timestamps ("ts", "dur") are microseconds with three
 * decimals (nanosecond resolution) of the kernel's perf clock (CLOCK_MONOTONIC). */
#include "kperf_cli.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cli_tjson {
    FILE *f;
    bool first;
    uint32_t *seen; /* tids given a thread_name, open addressing, 0 = empty */
    size_t nseen, capseen;
};

/* A JSON string literal (quotes included) of s. */
void cli_tjson_str(FILE *f, const char *s) {
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20 || *p >= 0x7f) fprintf(f, "\\u%04x", *p); /* bytes as Latin-1 */
        else fputc(*p, f);
    }
    fputc('"', f);
}

int cli_tjson_open(cli_tjson **out, const char *path) {
    cli_tjson *j = (cli_tjson *)calloc(1, sizeof *j);
    int fd = j ? kperf_file_create(path, 0666) : -1; /* no planted symlink followed */
    if (!j || fd < 0 || !(j->f = fdopen(fd, "w"))) {
        if (fd >= 0) close(fd);
        fprintf(stderr, "kperf: %s\n", j ? kperf_errmsg() : "out of memory");
        free(j);
        return -1;
    }
    j->first = true;
    fputs("{\"traceEvents\":[\n", j->f);
    *out = j;
    return 0;
}

static void tj_sep(cli_tjson *j) {
    if (!j->first) fputs(",\n", j->f);
    j->first = false;
}

static void tj_ts(FILE *f, const char *key, uint64_t ns) {
    fprintf(f, ",\"%s\":%llu.%03llu", key, (unsigned long long)(ns / 1000),
            (unsigned long long)(ns % 1000));
}

/* thread_name (and process_name for a process's main thread) the first time tid shows. */
void cli_tjson_thread(cli_tjson *j, int pid, int tid, const char *comm) {
    if (!comm || !*comm) return;
    if ((j->nseen + 1) * 2 > j->capseen) {
        size_t cap = j->capseen ? j->capseen * 2 : 256;
        uint32_t *t = (uint32_t *)calloc(cap, sizeof *t);
        if (!t) return;
        for (size_t i = 0; i < j->capseen; i++) {
            if (!j->seen[i]) continue;
            size_t k = j->seen[i] * 2654435761u & (cap - 1);
            while (t[k]) k = (k + 1) & (cap - 1);
            t[k] = j->seen[i];
        }
        free(j->seen);
        j->seen = t, j->capseen = cap;
    }
    uint32_t key = (uint32_t)tid + 1;
    size_t k = key * 2654435761u & (j->capseen - 1);
    while (j->seen[k] && j->seen[k] != key) k = (k + 1) & (j->capseen - 1);
    if (j->seen[k]) return;
    j->seen[k] = key, j->nseen++;
    for (int proc = 0; proc < 2; proc++) {
        if (proc && pid != tid) break;
        tj_sep(j);
        fprintf(j->f, "{\"name\":\"%s\",\"ph\":\"M\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":",
                proc ? "process_name" : "thread_name", pid, tid);
        cli_tjson_str(j->f, comm);
        fputs("}}", j->f);
    }
}

/* Starts an event; the caller writes its args members (",\"k\":v" each) and ends it with
 * cli_tjson_end(). dur_ns < 0: an instant event. */
FILE *cli_tjson_begin(cli_tjson *j, const char *name, const char *cat, uint64_t ts_ns,
                      int64_t dur_ns, int pid, int tid, int cpu) {
    tj_sep(j);
    fputs("{\"name\":", j->f);
    cli_tjson_str(j->f, name);
    fputs(",\"cat\":", j->f);
    cli_tjson_str(j->f, cat);
    fprintf(j->f, ",\"ph\":\"%s\"", dur_ns < 0 ? "i" : "X");
    if (dur_ns < 0) fputs(",\"s\":\"t\"", j->f);
    tj_ts(j->f, "ts", ts_ns);
    if (dur_ns >= 0) tj_ts(j->f, "dur", (uint64_t)dur_ns);
    fprintf(j->f, ",\"pid\":%d,\"tid\":%d,\"args\":{\"cpu\":%d", pid, tid, cpu);
    return j->f;
}

void cli_tjson_end(cli_tjson *j) { fputs("}}", j->f); }

int cli_tjson_close(cli_tjson *j, const char *tool) {
    if (!j) return 0;
    fputs("\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"producer\":", j->f);
    cli_tjson_str(j->f, tool);
    fputs(",\"clock\":\"CLOCK_MONOTONIC\"}}\n", j->f);
    int bad = ferror(j->f) | fclose(j->f);
    free(j->seen);
    free(j);
    if (bad) fprintf(stderr, "kperf: writing the trace JSON failed\n");
    return bad ? -1 : 0;
}
