/* bench_profilers: records per second analysed live by `kperf top` and `kperf multi-trace`,
 * against `perf record` + `perf script | awk` doing the same aggregation.
 *
 * usage: bench_profilers [BUILD_DIR] [N]          (markdown on stdout)
 * Workload: BUILD_DIR/progs/count_getpid N 0 (N getpid calls in one thread). Each approach
 * runs the workload under it; its cost is the CPU time (user + sys, of the tool and the
 * workload, from RUSAGE_CHILDREN) minus the workload's own CPU time alone, measured in the
 * same run; records/s = records analysed / that cost. Best of 3 runs each.
 *  - top: per-thread count of syscalls:sys_enter_getpid (N records);
 *    perf: record, then `perf script | awk '{ c[$2]++ }'`;
 *  - multi-trace: sys_enter_getpid -> sys_exit_getpid latency by thread (2N records);
 *    perf: record both, then `perf script | awk` pairing enter/exit by tid, summing. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static double ru_cpu(const struct rusage *ru) {
    return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec * 1e-6 +
           (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec * 1e-6;
}

/* Starts the workload (it waits 500 ms before its calls), runs `sh -c TOOL` with %d
 * replaced by the workload's pid, then `sh -c POST` (reading what the tool wrote); returns
 * the CPU seconds of the tool and of POST (best of 3), -1 when a run fails. */
static double cost(const char *B, long n, const char *tool, const char *post) {
    double best = -1;
    for (int r = 0; r < 3; r++) {
        char ns[32], cmd[4096];
        snprintf(ns, sizeof ns, "%ld", n);
        pid_t w = fork();
        if (w == 0) {
            char prog[512];
            snprintf(prog, sizeof prog, "%s/progs/count_getpid", B);
            execl(prog, prog, ns, "0", "500", (char *)NULL);
            _exit(127);
        }
        snprintf(cmd, sizeof cmd, tool, (int)w);
        pid_t t = fork();
        if (t == 0) {
            execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
            _exit(127);
        }
        struct rusage ru;
        int st = 0, wst = 0;
        wait4(t, &st, 0, &ru);
        waitpid(w, &wst, 0);
        double c = ru_cpu(&ru);
        if (post) {
            pid_t p = fork();
            if (p == 0) {
                execl("/bin/sh", "sh", "-c", post, (char *)NULL);
                _exit(127);
            }
            int pst;
            wait4(p, &pst, 0, &ru);
            c += ru_cpu(&ru);
            if (!WIFEXITED(pst) || WEXITSTATUS(pst)) return -1;
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st)) return -1;
        if (best < 0 || c < best) best = c;
    }
    return best;
}

int main(int argc, char **argv) {
    const char *B = argc > 1 ? argv[1] : "build";
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    const char *tmp = "/tmp/kperf_bench_profilers.data", *out = "/tmp/kperf_bench_profilers.out";
    char check[4][256];
    struct {
        const char *name;
        long records;
        char tool[1024], post[1024];
        double c;
    } t[4];
    t[0].name = "`kperf top -e syscalls:sys_enter_getpid -p PID`";
    t[0].records = n;
    snprintf(t[0].tool, sizeof t[0].tool, "%s/kperf top -m 4096 -e syscalls:sys_enter_getpid "
             "-p %%d >%s 2>&1", B, out);
    t[0].post[0] = 0;
    t[1].name = "`perf record -p PID` + `perf script \\| awk` (count per thread)";
    t[1].records = n;
    snprintf(t[1].tool, sizeof t[1].tool, "perf record -q -m 4096 -e syscalls:sys_enter_getpid "
             "-o %s -p %%d 2>/dev/null", tmp);
    snprintf(t[1].post, sizeof t[1].post, "perf script -i %s | awk '{ c[$2]++ } END { for (k in "
             "c) print k, c[k] }' >%s", tmp, out);
    t[2].name = "`kperf multi-trace -e sys_enter_getpid -e sys_exit_getpid -p PID`";
    t[2].records = 2 * n;
    snprintf(t[2].tool, sizeof t[2].tool, "%s/kperf multi-trace -m 4096 -e "
             "syscalls:sys_enter_getpid -e syscalls:sys_exit_getpid -p %%d >%s 2>&1", B, out);
    t[2].post[0] = 0;
    t[3].name = "`perf record -p PID` + `perf script \\| awk` (pair by tid, sum latency)";
    t[3].records = 2 * n;
    snprintf(t[3].tool, sizeof t[3].tool, "perf record -q -m 4096 -e syscalls:sys_enter_getpid "
             "-e syscalls:sys_exit_getpid -o %s -p %%d 2>/dev/null", tmp);
    snprintf(t[3].post, sizeof t[3].post, "perf script -i %s -F tid,time,event | awk '{ sub(\":\", "
             "\"\", $2) } /enter/ { s[$1] = $2 } /exit/ && ($1 in s) { n++; sum += $2 - s[$1]; "
             "delete s[$1] } END { print \"pairs\", n, sum }' >%s", tmp, out);
    for (int i = 0; i < 4; i++) {
        t[i].c = cost(B, n, t[i].tool, t[i].post[0] ? t[i].post : NULL);
        /* what the last run found: every record must have been seen */
        char line[256] = "";
        FILE *f = fopen(out, "r");
        check[i][0] = 0;
        while (f && fgets(line, sizeof line, f)) {
            line[strcspn(line, "\n")] = 0;
            if (strstr(line, "count_getpid") || strstr(line, "pairs") || strstr(line, "matched") ||
                (i == 1 && line[0]))
                snprintf(check[i], sizeof check[i], "%s", line);
        }
        if (f) fclose(f);
    }
    remove(tmp);
    remove(out);
    printf("## Profilers: records analysed per second (bench_profilers)\n\n");
    printf("Workload `count_getpid %ld 0 500` (%ld getpid calls after 500 ms), attached with "
           "`-p PID`. Cost = CPU time (user+sys) of the tool process alone (wait4), plus for "
           "perf the `perf script | awk` pass over its file; best of 3.\n\n", n, n);
    printf("| approach | records | CPU s | records/s | speed-up | what it found (last run) |\n"
           "|---|---:|---:|---:|---:|---|\n");
    for (int i = 0; i < 4; i++) {
        double c = t[i].c, other = i % 2 == 0 ? t[i + 1].c : t[i - 1].c;
        if (c <= 0) {
            printf("| %s | %ld | failed | | | |\n", t[i].name, t[i].records);
            continue;
        }
        printf("| %s | %ld | %.3f | %.2f M | %.1fx | `%s` |\n", t[i].name, t[i].records, c,
               t[i].records / c / 1e6, i % 2 == 0 && other > 0 ? other / c : 1.0, check[i]);
    }
    printf("\nperf's rows: `perf record` drops records it cannot write in time on this "
           "machine (the last column shows what reached awk), so its rate is an upper bound.\n");
    printf("\nPer-key memory of the analysis (kperf.h >>analysis): a `kperf_keystats` entry is "
           "%zu bytes in a table kept at most 3/4 full, plus %zu bytes when the table keeps "
           "histograms; a `kperf_pairer` pending start is %zu bytes plus its call chain (8 bytes "
           "a frame). Reproduce: `make bench` (or `build/bench/bench_profilers build`).\n",
           sizeof(kperf_stat) + 16, (size_t)KPERF_HIST_BUCKETS * 4, sizeof(kperf_pair_event) + 24);
    return 0;
}
