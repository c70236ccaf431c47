/* CPU topology over the fixture trees (exact numbers from the files) and this machine. */
#include "kperf.h"
#include "kt.h"

#define FX "tests/fixtures/sysfs/"

static kperf_topology *topo(const char *root) {
    kperf_topology *t = NULL;
    if (kperf_topology_open(&t, root) < 0) printf("# %s\n", kperf_errmsg());
    return t;
}

static int same(const kperf_cpu_topo *c, int cpu, int core, int cluster, int die, int socket,
                int numa) {
    if (c->cpu == cpu && c->core == core && c->cluster == cluster && c->die == die &&
        c->socket == socket && c->numa == numa)
        return 1;
    printf("# cpu %d: got core %d cluster %d die %d socket %d numa %d\n", c->cpu, c->core,
           c->cluster, c->die, c->socket, c->numa);
    return 0;
}

KT_TEST(kunpeng920_no_smt_4core_clusters) {
    KT_UNUSED();
    kperf_topology *t = topo(FX "kunpeng920");
    KT_CHECK(t != NULL);
    size_t n;
    const int *cpus = kperf_topology_cpus(t, &n);
    KT_EQ_INT(n, 96);
    KT_EQ_INT(cpus[95], 95);
    kperf_cpu_topo c;
    KT_EQ_INT(kperf_topology_cpu(t, 0, &c), 0);
    KT_CHECK(same(&c, 0, 0, 0, 0, 0, 0));
    KT_EQ_INT(kperf_topology_cpu(t, 23, &c), 0);
    KT_CHECK(same(&c, 23, 23, 5, 0, 0, 0));
    KT_EQ_INT(kperf_topology_cpu(t, 24, &c), 0);
    KT_CHECK(same(&c, 24, 24, 6, 1, 0, 1));
    KT_EQ_INT(kperf_topology_cpu(t, 48, &c), 0);
    KT_CHECK(same(&c, 48, 48, 12, 2, 1, 2));
    KT_EQ_INT(kperf_topology_cpu(t, 95, &c), 0);
    KT_CHECK(same(&c, 95, 95, 23, 3, 1, 3));
    KT_EQ_INT(kperf_topology_cpu(t, 96, &c), -ENOENT);
    KT_EQ_INT(kperf_topology_numa_count(t), 4);
    const int *nc;
    KT_EQ_INT(kperf_topology_numa_cpus(t, 2, &nc, &n), 0);
    KT_EQ_INT(n, 24);
    KT_EQ_INT(nc[0], 48);
    KT_EQ_INT(nc[23], 71);
    KT_EQ_INT(kperf_topology_numa_cpus(t, 4, &nc, &n), -ENOENT);
    int *cl;
    KT_EQ_INT(kperf_topology_cluster_cpus(t, 1, &cl, &n), 0);
    KT_EQ_INT(n, 4); /* 4 cores per cluster, no SMT */
    KT_EQ_INT(cl[0], 4);
    KT_EQ_INT(cl[3], 7);
    kperf_cpulist_free(cl);
    KT_EQ_INT(kperf_topology_cluster_cpus(t, 23, &cl, &n), 0);
    KT_EQ_INT(cl[0], 92);
    kperf_cpulist_free(cl);
    KT_EQ_INT(kperf_topology_cluster_cpus(t, 24, &cl, &n), -ENOENT);
    KT_CHECK(cl == NULL);
    /* every cluster has exactly 4 CPUs and every CPU is its own core */
    for (int k = 0; k < 24; k++) {
        KT_EQ_INT(kperf_topology_cluster_cpus(t, k, &cl, &n), 0);
        KT_EQ_INT(n, 4);
        KT_EQ_INT(cl[0], 4 * k);
        kperf_cpulist_free(cl);
    }
    kperf_topology_close(t);
}

KT_TEST(intel_smt_siblings) {
    KT_UNUSED();
    kperf_topology *t = topo(FX "intel-skx-2s");
    KT_CHECK(t != NULL);
    size_t n;
    kperf_topology_cpus(t, &n);
    KT_EQ_INT(n, 80);
    kperf_cpu_topo a, b;
    /* SMT siblings n and n + 40 share core, socket and node */
    for (int cpu = 0; cpu < 40; cpu++) {
        KT_EQ_INT(kperf_topology_cpu(t, cpu, &a), 0);
        KT_EQ_INT(kperf_topology_cpu(t, cpu + 40, &b), 0);
        KT_EQ_INT(a.core, b.core);
        KT_EQ_INT(a.socket, b.socket);
        KT_EQ_INT(a.numa, b.numa);
        KT_EQ_INT(a.socket, cpu < 20 ? 0 : 1);
    }
    KT_EQ_INT(kperf_topology_cpu(t, 45, &a), 0);
    KT_CHECK(same(&a, 45, 5, 5, 0, 0, 0));
    const int *nc;
    KT_EQ_INT(kperf_topology_numa_cpus(t, 1, &nc, &n), 0);
    KT_EQ_INT(n, 40);
    KT_EQ_INT(nc[0], 20);
    KT_EQ_INT(nc[19], 39);
    KT_EQ_INT(nc[20], 60);
    int *cl;
    KT_EQ_INT(kperf_topology_cluster_cpus(t, 5, &cl, &n), 0);
    KT_EQ_INT(n, 2);
    KT_EQ_INT(cl[0], 5);
    KT_EQ_INT(cl[1], 45);
    kperf_cpulist_free(cl);
    kperf_topology_close(t);
}

KT_TEST(amd_smt_siblings) {
    KT_UNUSED();
    kperf_topology *t = topo(FX "amd-zen3-2s");
    KT_CHECK(t != NULL);
    size_t n;
    kperf_topology_cpus(t, &n);
    KT_EQ_INT(n, 256);
    kperf_cpu_topo c;
    KT_EQ_INT(kperf_topology_cpu(t, 200, &c), 0);
    KT_CHECK(same(&c, 200, 8, 9, 0, 1, 1));
    KT_EQ_INT(kperf_topology_cpu(t, 72, &c), 0);
    KT_CHECK(same(&c, 72, 8, 9, 0, 1, 1));
    int *cl;
    KT_EQ_INT(kperf_topology_cluster_cpus(t, 0, &cl, &n), 0);
    KT_EQ_INT(n, 16); /* 8 cores x 2 threads */
    KT_EQ_INT(cl[7], 7);
    KT_EQ_INT(cl[8], 128);
    kperf_cpulist_free(cl);
    KT_EQ_INT(kperf_topology_numa_count(t), 2);
    kperf_topology_close(t);
}

KT_TEST(cpulist_parse) {
    KT_UNUSED();
    int *c;
    size_t n;
    KT_EQ_INT(kperf_cpulist_parse("0-3,8,10-11\n", &c, &n), 0);
    KT_EQ_INT(n, 7);
    KT_EQ_INT(c[4], 8);
    KT_EQ_INT(c[6], 11);
    kperf_cpulist_free(c);
    KT_EQ_INT(kperf_cpulist_parse("5,1,5,0-1", &c, &n), 0);
    KT_EQ_INT(n, 3);
    KT_EQ_INT(c[0], 0);
    KT_EQ_INT(c[2], 5);
    kperf_cpulist_free(c);
    KT_EQ_INT(kperf_cpulist_parse("", &c, &n), 0);
    KT_EQ_INT(n, 0);
    KT_EQ_INT(kperf_cpulist_parse("0-3,x", &c, &n), -KPERF_EPARSE);
    KT_CHECK(strstr(kperf_errmsg(), "at position 4") != NULL, "%s", kperf_errmsg());
    KT_EQ_INT(kperf_cpulist_parse("3-1", &c, &n), -KPERF_EPARSE);
    KT_EQ_INT(kperf_cpulist_parse("0-99999999", &c, &n), -KPERF_EPARSE);
    KT_EQ_INT(kperf_cpulist_parse("1,", &c, &n), -KPERF_EPARSE);
}

KT_TEST(machine_topology_and_freq) {
    KT_UNUSED();
    kperf_topology *t = topo(NULL);
    KT_CHECK(t != NULL);
    size_t n;
    const int *cpus = kperf_topology_cpus(t, &n);
    KT_EQ_INT(n, (size_t)sysconf(_SC_NPROCESSORS_ONLN));
    kperf_cpu_topo c;
    KT_EQ_INT(kperf_topology_cpu(t, cpus[0], &c), 0);
    KT_CHECK(c.socket >= 0 && c.core >= 0 && c.numa >= 0);
    uint64_t khz = 0;
    int src = kperf_topology_freq(t, cpus[0], &khz);
    /* the machine's own sources, looked at without kperf: cpufreq, "cpu MHz" in
     * /proc/cpuinfo, x86's TSC; QEMU's arm64 machine has none of them */
    char path[128], line[256];
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/cpufreq", cpus[0]);
    bool have = access(path, F_OK) == 0;
#if defined(__x86_64__) || defined(__i386__)
    have = true;
#endif
    FILE *ci = fopen("/proc/cpuinfo", "r");
    while (ci && !have && fgets(line, sizeof line, ci)) have = !strncmp(line, "cpu MHz", 7);
    if (ci) fclose(ci);
    if (have) {
        KT_CHECK(src >= 0, "%s", kperf_errmsg());
        KT_CHECK(khz > 100000 && khz < 10000000, "khz=%llu", (unsigned long long)khz);
        printf("# cpu %d: %llu kHz from source %d\n", cpus[0], (unsigned long long)khz, src);
    } else {
        KT_EQ_INT(src, -ENOTSUP);
        KT_CHECK(strstr(kperf_errmsg(), "no frequency source") != NULL, "%s", kperf_errmsg());
        printf("# cpu %d: no frequency source on this machine (%s)\n", cpus[0], kperf_errmsg());
    }
    kperf_topology_close(t);
    kperf_topology_close(NULL);
}

/* The frequency fallback chain over a fake root: cpufreq, then proc/cpuinfo, then nothing
 * (the TSC step runs for the root "/" only). */
KT_TEST(freq_fallback_chain) {
    KT_UNUSED();
    char root[] = "/tmp/kperf-freq-XXXXXX", cmd[1024];
    KT_CHECK(mkdtemp(root) != NULL);
    snprintf(cmd, sizeof cmd,
             "set -e; r=%s; mkdir -p $r/sys/devices/system/cpu/cpu1/cpufreq $r/proc; "
             "echo 0-1 > $r/sys/devices/system/cpu/online; "
             "echo 1800000 > $r/sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq; "
             "printf 'processor\\t: 0\\ncpu MHz\\t\\t: 2399.512\\n\\nprocessor\\t: 1\\n"
             "cpu MHz\\t\\t: 3000.000\\n' > $r/proc/cpuinfo",
             root);
    KT_EQ_INT(system(cmd), 0);
    kperf_topology *t = topo(root);
    KT_CHECK(t != NULL);
    uint64_t khz = 0;
    KT_EQ_INT(kperf_topology_freq(t, 1, &khz), KPERF_FREQ_CPUFREQ);
    KT_EQ_INT(khz, 1800000);
    KT_EQ_INT(kperf_topology_freq(t, 0, &khz), KPERF_FREQ_CPUINFO);
    KT_EQ_INT(khz, 2399512);
    kperf_cpu_topo c;
    KT_EQ_INT(kperf_topology_cpu(t, 1, &c), 0);
    KT_CHECK(same(&c, 1, -1, -1, -1, -1, 0)); /* no topology files: unknown, node 0 */
    kperf_topology_close(t);
    snprintf(cmd, sizeof cmd, "rm -f %s/proc/cpuinfo", root);
    KT_EQ_INT(system(cmd), 0);
    t = topo(root);
    KT_EQ_INT(kperf_topology_freq(t, 0, &khz), -ENOTSUP);
    KT_CHECK(strstr(kperf_errmsg(), "CPU 0: no frequency source") != NULL, "%s", kperf_errmsg());
    kperf_topology_close(t);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    KT_EQ_INT(system(cmd), 0);
}

int main(void) {
    KT_RUN(kunpeng920_no_smt_4core_clusters);
    KT_RUN(intel_smt_siblings);
    KT_RUN(amd_smt_siblings);
    KT_RUN(cpulist_parse);
    KT_RUN(machine_topology_and_freq);
    KT_RUN(freq_fallback_chain);
    KT_EXIT();
}
