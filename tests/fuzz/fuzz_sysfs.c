/* sysfs trees (the root override): the input, split at "\n--\n" lines, becomes the files of
 * a small tree (CPU list, NUMA cpulists, topology ids, one PMU's type, cpumask, format fields,
 * an alias with scale and unit); the last chunk is an event spec parsed against the tree.
 * Topology, PMU discovery and the parser read it all. */
#include "fuzz.h"

static const char *const fz_files[] = {
    "sys/devices/system/cpu/online",
    "sys/devices/system/node/node0/cpulist",
    "sys/devices/system/node/node1/cpulist",
    "sys/devices/system/cpu/cpu0/topology/core_id",
    "sys/devices/system/cpu/cpu0/topology/cluster_id",
    "sys/devices/system/cpu/cpu0/topology/physical_package_id",
    "sys/bus/event_source/devices/cpu/type",
    "sys/bus/event_source/devices/cpu/cpumask",
    "sys/bus/event_source/devices/cpu/format/event",
    "sys/bus/event_source/devices/cpu/format/umask",
    "sys/bus/event_source/devices/cpu/events/ev",
    "sys/bus/event_source/devices/cpu/events/ev.scale",
    "sys/bus/event_source/devices/cpu/events/ev.unit",
    "sys/bus/event_source/devices/cpu/caps/pmu_name",
};
#define FZ_NFILES (sizeof fz_files / sizeof fz_files[0])

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    const uint8_t *part[FZ_NFILES + 1];
    size_t len[FZ_NFILES + 1];
    size_t k = fz_split(d, n, part, len, FZ_NFILES + 1);
    char root[128], path[1024];
    snprintf(root, sizeof root, "%s/root", fz_dir());
    for (size_t i = 0; i < FZ_NFILES; i++) {
        char rel[512];
        snprintf(rel, sizeof rel, "root/%s", fz_files[i]);
        if (i < k) fz_put(rel, part[i], len[i]);
        else snprintf(path, sizeof path, "%s/%s", root, fz_files[i]), unlink(path);
    }
    kperf_topology *t = NULL;
    if (kperf_topology_open(&t, root) == 0) {
        size_t nc;
        const int *cpus = kperf_topology_cpus(t, &nc);
        kperf_cpu_topo c;
        if (nc) kperf_topology_cpu(t, cpus[0], &c);
        kperf_topology_cpu(t, 0, &c);
        const int *nodecpus;
        kperf_topology_numa_cpus(t, 1, &nodecpus, &nc);
        int *cl;
        if (kperf_topology_cluster_cpus(t, 0, &cl, &nc) == 0) kperf_cpulist_free(cl);
        kperf_topology_close(t);
    }
    kperf_pmus *pmus = NULL;
    if (kperf_pmus_open(&pmus, root) == 0) {
        char *spec = k > FZ_NFILES ? fz_str(part[FZ_NFILES], len[FZ_NFILES])
                                   : fz_str((const uint8_t *)"cpu/ev/,cpu/event=1,umask=2/,ev", 31);
        kperf_evlist *l = NULL;
        if (kperf_evlist_parse(&l, spec, pmus) == 0) kperf_evlist_free(l);
        free(spec);
        kperf_pmus_close(pmus);
    }
    int *cpus;
    size_t nc;
    char *text = fz_str(d, n < 256 ? n : 256);
    if (kperf_cpulist_parse(text, &cpus, &nc) == 0) kperf_cpulist_free(cpus);
    free(text);
    return 0;
}
