/* Tests of the >>device section: the metric table, plans over the fake sysfs trees in
 * tests/fixtures/sysfs (every expected value derived by hand from the tree's files and
 * the kernel drivers' encodings, see the comments), device lists, metric arithmetic on
 * recorded counts, and the "no PMU" error on this machine. */
#include "kperf.h"
#include "kt.h"
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FX "tests/fixtures/sysfs/"

/* One expected plan entry. leader is the absolute index of the group leader. */
typedef struct xev {
    const char *pmu;
    uint32_t type;
    uint64_t config, config1, config2;
    int cpu, leader;
} xev;

static char diffbuf[512];

/* NULL when the plan of d equals x[0..n), else what differs. */
static const char *plan_diff(const kperf_device *d, const xev *x, size_t n) {
    if (kperf_device_nevents(d) != n) {
        snprintf(diffbuf, sizeof diffbuf, "%zu events planned, expected %zu",
                 kperf_device_nevents(d), n);
        return diffbuf;
    }
    for (size_t i = 0; i < n; i++) {
        const kperf_device_event *e = kperf_device_event_at(d, i);
        if (strcmp(e->pmu, x[i].pmu) || e->type != x[i].type || e->config[0] != x[i].config ||
            e->config[1] != x[i].config1 || e->config[2] != x[i].config2 || e->cpu != x[i].cpu ||
            e->leader != x[i].leader) {
            snprintf(diffbuf, sizeof diffbuf,
                     "event %zu: got %s type=%u config=0x%llx,0x%llx,0x%llx cpu=%d leader=%d; "
                     "expected %s type=%u config=0x%llx,0x%llx,0x%llx cpu=%d leader=%d",
                     i, e->pmu, e->type, (unsigned long long)e->config[0],
                     (unsigned long long)e->config[1], (unsigned long long)e->config[2], e->cpu,
                     e->leader, x[i].pmu, x[i].type, (unsigned long long)x[i].config,
                     (unsigned long long)x[i].config1, (unsigned long long)x[i].config2,
                     x[i].cpu, x[i].leader);
            return diffbuf;
        }
    }
    return NULL;
}

static int plan(kperf_device **d, const char *root, const char *metrics, const char *events,
                const char *bdf) {
    kperf_device_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.root = root, desc.metrics = metrics, desc.events = events, desc.bdf = bdf;
    return kperf_device_plan(d, &desc);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define PLAN_EQ(root, metrics, events, bdf, x)                                                  \
    do {                                                                                       \
        kperf_device *d_;                                                                      \
        int rc_ = plan(&d_, root, metrics, events, bdf);                                       \
        KT_CHECK(rc_ == 0, "%s", kperf_errmsg());                                              \
        const char *why_ = plan_diff(d_, x, N(x));                                             \
        kperf_device_close(d_);                                                                \
        KT_CHECK(!why_, "%s: %s", metrics ? metrics : events, why_);                           \
    } while (0)

/* The supported metrics of a tree, in table order, joined with spaces. */
static void supported(const char *root, char *out, size_t size) {
    kperf_pmus *p;
    out[0] = 0;
    if (kperf_pmus_open(&p, root) < 0) return;
    for (size_t i = 0; i < kperf_metric_count(); i++)
        if (kperf_metric_check(p, kperf_metric_at(i)->name) == 0) {
            size_t l = strlen(out);
            snprintf(out + l, size - l, "%s%s", l ? " " : "", kperf_metric_at(i)->name);
        }
    kperf_pmus_close(p);
}

KT_TEST(metric_table) {
    KT_UNUSED();
    /* libkperf's PmuDeviceMetric names, plus DDR_BW for data-fabric PMUs (AMD Zen 2/3). */
    const char *want[] = {"DDR_READ_BW",     "DDR_WRITE_BW",    "DDR_BW",          "L3_TRAFFIC",
                          "L3_MISS",         "L3_REF",          "L3_LAT",          "PCIE_RX_MRD_BW",
                          "PCIE_RX_MWR_BW",  "PCIE_TX_MRD_BW",  "PCIE_TX_MWR_BW",  "PCIE_RX_MRD_LAT",
                          "PCIE_RX_MWR_LAT", "PCIE_TX_MRD_LAT", "SMMU_TRAN",       "HHA_CROSS_NUMA",
                          "HHA_CROSS_SOCKET"};
    KT_EQ_INT(kperf_metric_count(), N(want));
    for (size_t i = 0; i < N(want); i++) KT_EQ_STR(kperf_metric_at(i)->name, want[i]);
    KT_CHECK(kperf_metric_at(N(want)) == NULL);
    KT_EQ_STR(kperf_metric_at(0)->unit, "MiB/s");
    KT_EQ_STR(kperf_metric_at(6)->unit, "cycles");
}

KT_TEST(supported_per_tree) {
    KT_UNUSED();
    char s[1024];
    supported(FX "kunpeng920", s, sizeof s);
    /* v1 HiSilicon: DDRC, HHA, v1 L3C (no tt_core: no L3_LAT), armv8 core PMU, SMMU PMCGs,
     * no PCIe PMU. */
    KT_EQ_STR(s, "DDR_READ_BW DDR_WRITE_BW DDR_BW L3_TRAFFIC L3_MISS L3_REF SMMU_TRAN "
                 "HHA_CROSS_NUMA HHA_CROSS_SOCKET");
    supported(FX "kunpeng920b", s, sizeof s);
    KT_EQ_STR(s, "DDR_READ_BW DDR_WRITE_BW DDR_BW L3_TRAFFIC L3_MISS L3_REF L3_LAT "
                 "PCIE_RX_MRD_BW PCIE_RX_MWR_BW PCIE_TX_MRD_BW PCIE_TX_MWR_BW PCIE_RX_MRD_LAT "
                 "PCIE_RX_MWR_LAT PCIE_TX_MRD_LAT SMMU_TRAN HHA_CROSS_NUMA HHA_CROSS_SOCKET");
    supported(FX "intel-skx-2s", s, sizeof s);
    KT_EQ_STR(s, "DDR_READ_BW DDR_WRITE_BW DDR_BW L3_TRAFFIC L3_MISS L3_REF");
    /* amd_df counts DRAM data without telling reads from writes; no amd_umc here. */
    supported(FX "amd-zen3-2s", s, sizeof s);
    KT_EQ_STR(s, "DDR_BW L3_TRAFFIC L3_MISS L3_REF");
}

KT_TEST(missing_pmu_message) {
    KT_UNUSED();
    kperf_pmus *p;
    KT_CHECK(kperf_pmus_open(&p, FX "amd-zen3-2s") == 0, "%s", kperf_errmsg());
    int rc = kperf_metric_check(p, "DDR_READ_BW");
    kperf_pmus_close(p);
    KT_EQ_INT(rc, -KPERF_ENOMETRIC);
    KT_CHECK(strstr(kperf_errmsg(), "DDR_READ_BW: no DDR controller PMU (hisi_sccl*_ddrc*, "
                                    "hisi_sccl*_ddrc*_*, uncore_imc_*, amd_umc_*)") != NULL,
             "message: %s", kperf_errmsg());
    kperf_device *d;
    KT_EQ_INT(plan(&d, FX "kunpeng920", "L3_LAT", NULL, NULL), -KPERF_ENOMETRIC);
    KT_CHECK(d == NULL);
    KT_CHECK(strstr(kperf_errmsg(), "hisi_sccl*_l3c* with tt_core") != NULL, "%s", kperf_errmsg());
    KT_EQ_INT(plan(&d, FX "kunpeng920", "DDR_READ_BWX", NULL, NULL), -KPERF_EPARSE);
    KT_CHECK(strstr(kperf_errmsg(), "unknown metric 'DDR_READ_BWX'") != NULL, "%s", kperf_errmsg());
}

KT_TEST(this_machine_has_no_pmu) {
    KT_UNUSED();
    /* The test machine is a VM without uncore PMUs: every metric must fail clearly. On a
     * machine with some of the PMUs, the metrics it has are left out. */
    size_t checked = 0;
    for (size_t i = 0; i < kperf_metric_count(); i++) {
        const char *name = kperf_metric_at(i)->name;
        if (kperf_metric_check(NULL, name) == 0) {
            printf("# this machine has a PMU for %s\n", name);
            continue;
        }
        checked++;
        kperf_device *d;
        kperf_device_desc desc;
        memset(&desc, 0, sizeof desc);
        desc.metrics = name;
        int rc = kperf_device_open(&d, &desc);
        KT_EQ_INT(rc, -KPERF_ENOMETRIC);
        KT_CHECK(d == NULL);
        char want[64];
        snprintf(want, sizeof want, "%s: no ", name);
        KT_CHECK(!strncmp(kperf_errmsg(), want, strlen(want)), "%s", kperf_errmsg());
        KT_CHECK(strstr(kperf_errmsg(), "PMU") && strstr(kperf_errmsg(), "on this machine"),
                 "%s", kperf_errmsg());
    }
    if (!checked) KT_SKIP("this machine has a PMU for every metric");
}

/* ---- plans, derived by hand ---- */

KT_TEST(plan_kunpeng920_ddr) {
    KT_UNUSED();
    /* hisi_sccl<N>_ddrc<M> (v1): format event = config:0-4; flux_rd is event 0x01, flux_wr
     * 0x00 (hisi_uncore_ddrc_pmu; also the events/ files). type and cpumask from each PMU's
     * files: SCCL1 ddrc0-3 types 13-16 cpumask 0; SCCL3 25-28 cpumask 24; SCCL5 37-40
     * cpumask 48; SCCL7 49-52 cpumask 72. One event per PMU, each its own group. */
    static const xev rd[] = {
        {"hisi_sccl1_ddrc0", 13, 0x1, 0, 0, 0, 0},   {"hisi_sccl1_ddrc1", 14, 0x1, 0, 0, 0, 1},
        {"hisi_sccl1_ddrc2", 15, 0x1, 0, 0, 0, 2},   {"hisi_sccl1_ddrc3", 16, 0x1, 0, 0, 0, 3},
        {"hisi_sccl3_ddrc0", 25, 0x1, 0, 0, 24, 4},  {"hisi_sccl3_ddrc1", 26, 0x1, 0, 0, 24, 5},
        {"hisi_sccl3_ddrc2", 27, 0x1, 0, 0, 24, 6},  {"hisi_sccl3_ddrc3", 28, 0x1, 0, 0, 24, 7},
        {"hisi_sccl5_ddrc0", 37, 0x1, 0, 0, 48, 8},  {"hisi_sccl5_ddrc1", 38, 0x1, 0, 0, 48, 9},
        {"hisi_sccl5_ddrc2", 39, 0x1, 0, 0, 48, 10}, {"hisi_sccl5_ddrc3", 40, 0x1, 0, 0, 48, 11},
        {"hisi_sccl7_ddrc0", 49, 0x1, 0, 0, 72, 12}, {"hisi_sccl7_ddrc1", 50, 0x1, 0, 0, 72, 13},
        {"hisi_sccl7_ddrc2", 51, 0x1, 0, 0, 72, 14}, {"hisi_sccl7_ddrc3", 52, 0x1, 0, 0, 72, 15},
    };
    PLAN_EQ(FX "kunpeng920", "DDR_READ_BW", NULL, NULL, rd);
    xev wr[N(rd)];
    for (size_t i = 0; i < N(rd); i++) wr[i] = rd[i], wr[i].config = 0x0; /* flux_wr */
    PLAN_EQ(FX "kunpeng920", "DDR_WRITE_BW", NULL, NULL, wr);
    /* DDR_BW: the read rows, then the write rows (table order), 32 events. */
    xev both[2 * N(rd)];
    for (size_t i = 0; i < N(rd); i++) both[i] = rd[i], both[N(rd) + i] = wr[i];
    for (size_t i = N(rd); i < 2 * N(rd); i++) both[i].leader = (int)i;
    PLAN_EQ(FX "kunpeng920", "DDR_BW", NULL, NULL, both);
}

KT_TEST(plan_kunpeng920_l3_core) {
    KT_UNUSED();
    /* armv8_pmuv3_0: type 8, cpus 0-95, format event = config:0-15. LL_CACHE 0x32 and
     * LL_CACHE_MISS 0x33 (libkperf's L3 events), one event per CPU. */
    xev x[96];
    for (int i = 0; i < 96; i++) x[i] = (xev){"armv8_pmuv3_0", 8, 0x32, 0, 0, i, i};
    PLAN_EQ(FX "kunpeng920", "L3_TRAFFIC", NULL, NULL, x);
    PLAN_EQ(FX "kunpeng920", "L3_REF", NULL, NULL, x);
    for (int i = 0; i < 96; i++) x[i].config = 0x33;
    PLAN_EQ(FX "kunpeng920", "L3_MISS", NULL, NULL, x);
}

KT_TEST(plan_kunpeng920_hha) {
    KT_UNUSED();
    /* hisi_sccl<N>_hha<M>: format event = config:0-7. rx_sccl 0x02 (leader) over rx_ops_num
     * 0x00; rx_outer 0x01 for cross-socket. Types 17/18 cpumask 0, 29/30 cpumask 24, 41/42
     * cpumask 48, 53/54 cpumask 72. */
    static const xev numa[] = {
        {"hisi_sccl1_hha0", 17, 0x2, 0, 0, 0, 0},   {"hisi_sccl1_hha0", 17, 0x0, 0, 0, 0, 0},
        {"hisi_sccl1_hha1", 18, 0x2, 0, 0, 0, 2},   {"hisi_sccl1_hha1", 18, 0x0, 0, 0, 0, 2},
        {"hisi_sccl3_hha0", 29, 0x2, 0, 0, 24, 4},  {"hisi_sccl3_hha0", 29, 0x0, 0, 0, 24, 4},
        {"hisi_sccl3_hha1", 30, 0x2, 0, 0, 24, 6},  {"hisi_sccl3_hha1", 30, 0x0, 0, 0, 24, 6},
        {"hisi_sccl5_hha0", 41, 0x2, 0, 0, 48, 8},  {"hisi_sccl5_hha0", 41, 0x0, 0, 0, 48, 8},
        {"hisi_sccl5_hha1", 42, 0x2, 0, 0, 48, 10}, {"hisi_sccl5_hha1", 42, 0x0, 0, 0, 48, 10},
        {"hisi_sccl7_hha0", 53, 0x2, 0, 0, 72, 12}, {"hisi_sccl7_hha0", 53, 0x0, 0, 0, 72, 12},
        {"hisi_sccl7_hha1", 54, 0x2, 0, 0, 72, 14}, {"hisi_sccl7_hha1", 54, 0x0, 0, 0, 72, 14},
    };
    PLAN_EQ(FX "kunpeng920", "HHA_CROSS_NUMA", NULL, NULL, numa);
    xev sock[N(numa)];
    for (size_t i = 0; i < N(numa); i++) sock[i] = numa[i];
    for (size_t i = 0; i < N(numa); i += 2) sock[i].config = 0x1;
    PLAN_EQ(FX "kunpeng920", "HHA_CROSS_SOCKET", NULL, NULL, sock);
}

KT_TEST(plan_kunpeng920b) {
    KT_UNUSED();
    /* v2 DDRC hisi_sccl<N>_ddrc<M>_<K>: format event = config:0-7; flux_rd 0x84, flux_wr
     * 0x83. Sorted by name: SCCL1 ddrc0_0/2_0/3_0/5_0 types 19-22 cpumask 32, SCCL3 types
     * 10-13 cpumask 0. */
    static const xev rd[] = {
        {"hisi_sccl1_ddrc0_0", 19, 0x84, 0, 0, 32, 0}, {"hisi_sccl1_ddrc2_0", 20, 0x84, 0, 0, 32, 1},
        {"hisi_sccl1_ddrc3_0", 21, 0x84, 0, 0, 32, 2}, {"hisi_sccl1_ddrc5_0", 22, 0x84, 0, 0, 32, 3},
        {"hisi_sccl3_ddrc0_0", 10, 0x84, 0, 0, 0, 4},  {"hisi_sccl3_ddrc2_0", 11, 0x84, 0, 0, 0, 5},
        {"hisi_sccl3_ddrc3_0", 12, 0x84, 0, 0, 0, 6},  {"hisi_sccl3_ddrc5_0", 13, 0x84, 0, 0, 0, 7},
    };
    PLAN_EQ(FX "kunpeng920b", "DDR_READ_BW", NULL, NULL, rd);
    xev wr[N(rd)];
    for (size_t i = 0; i < N(rd); i++) wr[i] = rd[i], wr[i].config = 0x83;
    PLAN_EQ(FX "kunpeng920b", "DDR_WRITE_BW", NULL, NULL, wr);
    /* v2 L3C (has tt_core = config2:0-15): latency 0x80, l3c_ref 0xb8, retry_alloc 0xce,
     * each with tt_core=0xff -> config2 0xff; one group of three per L3C. SCCL1 l3c0-3
     * types 24-27 cpumask 32/40/48/56; SCCL3 l3c0-3 types 15-18 cpumask 0/8/16/24. */
    static const struct { const char *pmu; uint32_t type; int cpu; } l3c[] = {
        {"hisi_sccl1_l3c0", 24, 32}, {"hisi_sccl1_l3c1", 25, 40}, {"hisi_sccl1_l3c2", 26, 48},
        {"hisi_sccl1_l3c3", 27, 56}, {"hisi_sccl3_l3c0", 15, 0},  {"hisi_sccl3_l3c1", 16, 8},
        {"hisi_sccl3_l3c2", 17, 16}, {"hisi_sccl3_l3c3", 18, 24},
    };
    xev lat[3 * N(l3c)];
    for (size_t i = 0; i < N(l3c); i++) {
        static const uint64_t ev[3] = {0x80, 0xb8, 0xce};
        for (int k = 0; k < 3; k++)
            lat[3 * i + k] = (xev){l3c[i].pmu, l3c[i].type, ev[k], 0, 0xff, l3c[i].cpu, (int)(3 * i)};
    }
    PLAN_EQ(FX "kunpeng920b", "L3_LAT", NULL, NULL, lat);
    /* armv8_pmuv3_0: type 8, cpus 0-63. */
    xev core[64];
    for (int i = 0; i < 64; i++) core[i] = (xev){"armv8_pmuv3_0", 8, 0x33, 0, 0, i, i};
    PLAN_EQ(FX "kunpeng920b", "L3_MISS", NULL, NULL, core);
    /* HHA v2: hisi_sccl1_hha0 type 23 cpumask 32, hisi_sccl3_hha0 type 14 cpumask 0. */
    static const xev hha[] = {
        {"hisi_sccl1_hha0", 23, 0x1, 0, 0, 32, 0}, {"hisi_sccl1_hha0", 23, 0x0, 0, 0, 32, 0},
        {"hisi_sccl3_hha0", 14, 0x1, 0, 0, 0, 2},  {"hisi_sccl3_hha0", 14, 0x0, 0, 0, 0, 2},
    };
    PLAN_EQ(FX "kunpeng920b", "HHA_CROSS_SOCKET", NULL, NULL, hha);
}

KT_TEST(plan_kunpeng920b_pcie) {
    KT_UNUSED();
    /* hisi_pcie0_core0: type 28, cpumask 0, bus 0x30; format event = config:0-16, bdf =
     * config2:16-31, port = config2:0-15. PCI tree: root port 0000:30:00.0 (class 0x060400)
     * on bus 0x30, endpoint 0000:31:00.0 (class 0x020000) below it. The endpoint's BDF is
     * 0x31 << 8 | 0 << 3 | 0 = 0x3100 -> config2 = 0x3100 << 16 = 0x31000000. The root
     * port is device 0: port bit 2 * 0 = 0 -> port = 0x1 -> config2 = 0x1. Bandwidth:
     * flux (leader) and time = flux | 0x10000; latency: latency and cnt = | 0x10000. */
    static const xev rx_mrd[] = {{"hisi_pcie0_core0", 28, 0x0804, 0, 0x31000000, 0, 0},
                                 {"hisi_pcie0_core0", 28, 0x10804, 0, 0x31000000, 0, 0}};
    static const xev rx_mwr[] = {{"hisi_pcie0_core0", 28, 0x0104, 0, 0x31000000, 0, 0},
                                 {"hisi_pcie0_core0", 28, 0x10104, 0, 0x31000000, 0, 0}};
    static const xev tx_mrd[] = {{"hisi_pcie0_core0", 28, 0x0405, 0, 0x31000000, 0, 0},
                                 {"hisi_pcie0_core0", 28, 0x10405, 0, 0x31000000, 0, 0}};
    static const xev tx_mwr[] = {{"hisi_pcie0_core0", 28, 0x0105, 0, 0x31000000, 0, 0},
                                 {"hisi_pcie0_core0", 28, 0x10105, 0, 0x31000000, 0, 0}};
    static const xev rx_mrd_lat[] = {{"hisi_pcie0_core0", 28, 0x0210, 0, 0x1, 0, 0},
                                     {"hisi_pcie0_core0", 28, 0x10210, 0, 0x1, 0, 0}};
    static const xev rx_mwr_lat[] = {{"hisi_pcie0_core0", 28, 0x0010, 0, 0x1, 0, 0},
                                     {"hisi_pcie0_core0", 28, 0x10010, 0, 0x1, 0, 0}};
    static const xev tx_mrd_lat[] = {{"hisi_pcie0_core0", 28, 0x0011, 0, 0x1, 0, 0},
                                     {"hisi_pcie0_core0", 28, 0x10011, 0, 0x1, 0, 0}};
    PLAN_EQ(FX "kunpeng920b", "PCIE_RX_MRD_BW", NULL, NULL, rx_mrd);
    PLAN_EQ(FX "kunpeng920b", "PCIE_RX_MWR_BW", NULL, "0000:31:00.0", rx_mwr);
    PLAN_EQ(FX "kunpeng920b", "PCIE_TX_MRD_BW", NULL, "31:00.0", tx_mrd);
    PLAN_EQ(FX "kunpeng920b", "PCIE_TX_MWR_BW", NULL, NULL, tx_mwr);
    PLAN_EQ(FX "kunpeng920b", "PCIE_RX_MRD_LAT", NULL, NULL, rx_mrd_lat);
    PLAN_EQ(FX "kunpeng920b", "PCIE_RX_MWR_LAT", NULL, "0000:31:00.0", rx_mwr_lat);
    PLAN_EQ(FX "kunpeng920b", "PCIE_TX_MRD_LAT", NULL, "0000:30:00.0", tx_mrd_lat);
    kperf_device *d;
    KT_EQ_INT(plan(&d, FX "kunpeng920b", "PCIE_RX_MRD_BW", NULL, "0000:32:00.0"), -KPERF_ENOTARGET);
    KT_CHECK(strstr(kperf_errmsg(), "0000:32:00.0") != NULL, "%s", kperf_errmsg());
    KT_EQ_INT(plan(&d, FX "kunpeng920b", "PCIE_RX_MRD_BW", NULL, "zz:1"), -KPERF_EPARSE);
    /* No IOMMU tree in this fixture: SMMU_TRAN has a PMU but no device to filter on. */
    KT_EQ_INT(plan(&d, FX "kunpeng920b", "SMMU_TRAN", NULL, NULL), -KPERF_ENOTARGET);
}

KT_TEST(bdf_list_pcie) {
    KT_UNUSED();
    kperf_pmus *p;
    KT_CHECK(kperf_pmus_open(&p, FX "kunpeng920b") == 0, "%s", kperf_errmsg());
    char **l;
    int n = kperf_device_bdf_list(p, KPERF_BDF_PCIE, &l);
    KT_EQ_INT(n, 1); /* the endpoint only, not the root port */
    KT_EQ_STR(l[0], "0000:31:00.0");
    KT_CHECK(l[1] == NULL);
    kperf_device_bdf_list_free(l);
    KT_EQ_INT(kperf_device_bdf_list(p, KPERF_BDF_SMMU, &l), 0);
    KT_CHECK(l && l[0] == NULL);
    kperf_device_bdf_list_free(l);
    kperf_pmus_close(p);
}

/* A tree that is kunpeng920 plus an IOMMU tree (the fixture has none): sys/bus and
 * sys/devices are links to the fixture; sys/class/iommu has two SMMUs with PMCGs and one
 * without. Returns the root (static buffer) or NULL. */
static const char *smmu_tree(void) {
    static char root[256];
    snprintf(root, sizeof root, "/tmp/kperf-device-smmu-%d", (int)getpid());
    char cmd[8192], cwd[1024];
    if (!getcwd(cwd, sizeof cwd)) return NULL;
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && mkdir -p %s/sys/class/iommu && "
             "ln -s %s/" FX "kunpeng920/sys/bus %s/sys/bus && "
             "ln -s %s/" FX "kunpeng920/sys/devices %s/sys/devices && cd %s/sys/class/iommu && "
             "mkdir -p smmu3.0x0000000100000000/devices/0000:7d:00.0 "
             "smmu3.0x00000000a0000000/devices smmu3.0x0000000200000000/devices/0000:02:00.0 "
             "real/0000:01:00.0 && "
             "ln -s ../../real/0000:01:00.0 smmu3.0x00000000a0000000/devices/0000:01:00.0",
             root, root, cwd, root, cwd, root, root);
    return system(cmd) == 0 ? root : NULL;
}

static void smmu_tree_rm(const char *root) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
}

KT_TEST(smmu_devices_and_plan) {
    KT_UNUSED();
    const char *root = smmu_tree();
    if (!root) KT_SKIP("cannot build a temporary sysfs tree under /tmp");
    kperf_pmus *p;
    KT_CHECK(kperf_pmus_open(&p, root) == 0, "%s", kperf_errmsg());
    char **l;
    int n = kperf_device_bdf_list(p, KPERF_BDF_SMMU, &l);
    kperf_pmus_close(p);
    /* smmu3.0x100000000 -> PMCG page (0x100000000 + 0x20000) >> 12 = 0x100020: exists;
     * smmu3.0xa0000000 -> 0xa0020: exists (its device entry is a symlink);
     * smmu3.0x200000000 -> 0x200020: no such PMU, its device is left out. */
    int ok = n == 2 && !strcmp(l[0], "0000:01:00.0") && !strcmp(l[1], "0000:7d:00.0");
    kperf_device_bdf_list_free(l);
    /* smmuv3_pmcg_*: format event = config:0-15, filter_stream_id = config1:0-31,
     * filter_span = config1:32, filter_enable = config1:33. transaction 0x01,
     * filter_enable=1 -> config1 bit 33 = 0x200000000; stream id = RID: 0000:7d:00.0 ->
     * 0x7d00, 0000:01:00.0 -> 0x0100. Types: smmuv3_pmcg_100020 11, smmuv3_pmcg_a0020 12;
     * cpumask 0. PMUs are walked in name order (100020 < 148020 < a0020). */
    static const xev all[] = {{"smmuv3_pmcg_100020", 11, 0x1, 0x200007d00, 0, 0, 0},
                              {"smmuv3_pmcg_a0020", 12, 0x1, 0x200000100, 0, 0, 1}};
    static const xev one[] = {{"smmuv3_pmcg_a0020", 12, 0x1, 0x200000100, 0, 0, 0}};
    kperf_device *d;
    int rc1 = plan(&d, root, "SMMU_TRAN", NULL, NULL);
    const char *why1 = rc1 ? kperf_errmsg() : plan_diff(d, all, N(all));
    kperf_device_close(d);
    int rc2 = plan(&d, root, "SMMU_TRAN", NULL, "01:00.0");
    const char *why2 = rc2 ? kperf_errmsg() : plan_diff(d, one, N(one));
    kperf_device_close(d);
    smmu_tree_rm(root);
    KT_CHECK(ok, "SMMU device list: %d devices", n);
    KT_CHECK(!why1, "%s", why1);
    KT_CHECK(!why2, "%s", why2);
}

KT_TEST(plan_intel) {
    KT_UNUSED();
    /* uncore_imc_0..5: types 13..18, cpumask "0,20" (one counter per socket); format event =
     * config:0-7, umask = config:8-15. CAS_COUNT.RD event 0x04 umask 0x03 -> 0x0304; WR umask
     * 0x0c -> 0x0c04; ALL umask 0x0f -> 0x0f04. */
    xev rd[12];
    for (int i = 0; i < 12; i++)
        rd[i] = (xev){NULL, (uint32_t)(13 + i / 2), 0x0304, 0, 0, i % 2 ? 20 : 0, i};
    static const char *const names[] = {"uncore_imc_0", "uncore_imc_1", "uncore_imc_2",
                                        "uncore_imc_3", "uncore_imc_4", "uncore_imc_5"};
    for (int i = 0; i < 12; i++) rd[i].pmu = names[i / 2];
    PLAN_EQ(FX "intel-skx-2s", "DDR_READ_BW", NULL, NULL, rd);
    for (int i = 0; i < 12; i++) rd[i].config = 0x0c04;
    PLAN_EQ(FX "intel-skx-2s", "DDR_WRITE_BW", NULL, NULL, rd);
    for (int i = 0; i < 12; i++) rd[i].config = 0x0f04;
    PLAN_EQ(FX "intel-skx-2s", "DDR_BW", NULL, NULL, rd);
    /* The alias cas_count_read (event=0x04,umask=0x03) on every uncore_imc instance. */
    for (int i = 0; i < 12; i++) rd[i].config = 0x0304;
    PLAN_EQ(FX "intel-skx-2s", NULL, "uncore_imc/cas_count_read/", NULL, rd);
    /* Core PMU "cpu" (has the Intel-only `pc` field): type 4, cpus 0-79; LONGEST_LAT_CACHE
     * event 0x2e, umask 0x4f reference -> 0x4f2e, umask 0x41 miss -> 0x412e. */
    xev core[80];
    for (int i = 0; i < 80; i++) core[i] = (xev){"cpu", 4, 0x4f2e, 0, 0, i, i};
    PLAN_EQ(FX "intel-skx-2s", "L3_REF", NULL, NULL, core);
    PLAN_EQ(FX "intel-skx-2s", "L3_TRAFFIC", NULL, NULL, core);
    for (int i = 0; i < 80; i++) core[i].config = 0x412e;
    PLAN_EQ(FX "intel-skx-2s", "L3_MISS", NULL, NULL, core);
}

KT_TEST(plan_amd_split_format) {
    KT_UNUSED();
    /* amd_df: type 11, cpumask "0,64", format event = config:0-7,32-35,59-60 (event bits 0-7
     * -> config 0-7, bits 8-11 -> config 32-35, bits 12-13 -> config 59-60), umask =
     * config:8-15. Channel c is event 0x07 + 0x40 * c, umask 0x38 -> 0x3800:
     *   c0 0x007 -> 0x3807          c4 0x107 -> 0x07 | 1 << 32 | 0x3800 = 0x100003807
     *   c1 0x047 -> 0x3847          c5 0x147 -> 0x100003847
     *   c2 0x087 -> 0x3887          c6 0x187 -> 0x100003887
     *   c3 0x0c7 -> 0x38c7          c7 0x1c7 -> 0x1000038c7
     * each on CPU 0 then CPU 64. */
    static const uint64_t cfg[8] = {0x3807,      0x3847,      0x3887,      0x38c7,
                                    0x100003807, 0x100003847, 0x100003887, 0x1000038c7};
    xev df[16];
    for (int i = 0; i < 16; i++) df[i] = (xev){"amd_df", 11, cfg[i / 2], 0, 0, i % 2 ? 64 : 0, i};
    PLAN_EQ(FX "amd-zen3-2s", "DDR_BW", NULL, NULL, df);
    /* Every range used: 0x3abc -> 0xbc in 0-7, 0xa in 32-35, 0x3 in 59-60:
     * 0xbc | 0x3800 | 0xa << 32 | 0x3 << 59 = 0x1800000a000038bc. */
    static const xev raw[] = {{"amd_df", 11, 0x1800000a000038bcull, 0, 0, 0, 0},
                              {"amd_df", 11, 0x1800000a000038bcull, 0, 0, 64, 1}};
    PLAN_EQ(FX "amd-zen3-2s", NULL, "amd_df/event=0x3abc,umask=0x38/", NULL, raw);
    /* amd_l3: type 12, cpumask 0,8,...,120 (one CPU per CCX); event 0x04 umask 0xff -> 0xff04,
     * umask 0x01 -> 0x0104. */
    xev l3[16];
    for (int i = 0; i < 16; i++) l3[i] = (xev){"amd_l3", 12, 0xff04, 0, 0, 8 * i, i};
    PLAN_EQ(FX "amd-zen3-2s", "L3_REF", NULL, NULL, l3);
    PLAN_EQ(FX "amd-zen3-2s", "L3_TRAFFIC", NULL, NULL, l3);
    for (int i = 0; i < 16; i++) l3[i].config = 0x0104;
    PLAN_EQ(FX "amd-zen3-2s", "L3_MISS", NULL, NULL, l3);
    /* AMD's "cpu" PMU has no `pc` field, so the Intel L3 rows do not apply to it. */
    kperf_device *d;
    KT_EQ_INT(plan(&d, FX "amd-zen3-2s", "DDR_READ_BW", NULL, NULL), -KPERF_ENOMETRIC);
}

KT_TEST(instance_expansion) {
    KT_UNUSED();
    /* hisi_sccl1_ddrc/flux_rd/ = the four DDRCs of SCCL 1 only; flux_rd is config=0x1. */
    static const xev v1[] = {{"hisi_sccl1_ddrc0", 13, 0x1, 0, 0, 0, 0},
                             {"hisi_sccl1_ddrc1", 14, 0x1, 0, 0, 0, 1},
                             {"hisi_sccl1_ddrc2", 15, 0x1, 0, 0, 0, 2},
                             {"hisi_sccl1_ddrc3", 16, 0x1, 0, 0, 0, 3}};
    PLAN_EQ(FX "kunpeng920", NULL, "hisi_sccl1_ddrc/flux_rd/", NULL, v1);
    /* v2 names carry a second index; flux_rd is config=0x84 there. */
    static const xev v2[] = {{"hisi_sccl1_ddrc0_0", 19, 0x84, 0, 0, 32, 0},
                             {"hisi_sccl1_ddrc2_0", 20, 0x84, 0, 0, 32, 1},
                             {"hisi_sccl1_ddrc3_0", 21, 0x84, 0, 0, 32, 2},
                             {"hisi_sccl1_ddrc5_0", 22, 0x84, 0, 0, 32, 3}};
    PLAN_EQ(FX "kunpeng920b", NULL, "hisi_sccl1_ddrc/flux_rd/", NULL, v2);
    /* An exact instance name means only that instance. */
    static const xev one[] = {{"hisi_sccl3_ddrc2", 27, 0x7, 0, 0, 24, 0}};
    PLAN_EQ(FX "kunpeng920", NULL, "hisi_sccl3_ddrc2/rw_chg/", NULL, one);
    kperf_device *d;
    KT_EQ_INT(plan(&d, FX "kunpeng920", NULL, "hisi_sccl9_ddrc/flux_rd/", NULL), -KPERF_ENOPMU);
    KT_EQ_INT(plan(&d, FX "kunpeng920", NULL, "hisi_sccl1_ddrc/nosuch/", NULL), -KPERF_ENOEVENT);
    KT_EQ_INT(plan(&d, FX "kunpeng920", NULL, "hisi_sccl1_ddrc", NULL), -KPERF_ENOEVENT);
    /* flux_rd's format field is 5 bits wide: 0x20 does not fit. */
    KT_EQ_INT(plan(&d, FX "kunpeng920", NULL, "hisi_sccl1_ddrc0/event=0x20/", NULL), -KPERF_EPARSE);
}

KT_TEST(cpumask_minus_one) {
    KT_UNUSED();
    char root[256], cmd[1024];
    snprintf(root, sizeof root, "/tmp/kperf-device-cpumask-%d", (int)getpid());
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && D=%s/sys/bus/event_source/devices/hisi_sccl1_ddrc0 && "
             "mkdir -p $D/format $D/events && echo 13 > $D/type && echo -1 > $D/cpumask && "
             "echo config:0-4 > $D/format/event && echo config=0x1 > $D/events/flux_rd",
             root, root);
    if (system(cmd) != 0) KT_SKIP("cannot build a temporary sysfs tree under /tmp");
    kperf_device *d;
    int rc1 = plan(&d, root, "DDR_READ_BW", NULL, NULL);
    char msg1[1100];
    snprintf(msg1, sizeof msg1, "%s", kperf_errmsg());
    int rc2 = plan(&d, root, NULL, "hisi_sccl1_ddrc/flux_rd/", NULL);
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", root);
    KT_EQ_INT(rc1, -KPERF_ENOTSUP);
    KT_EQ_INT(rc2, -KPERF_ENOTSUP);
    KT_CHECK(strstr(msg1, "hisi_sccl1_ddrc0 has no owning CPU") && strstr(msg1, "-1"), "%s", msg1);
}

static int compute(const kperf_device *d, const kperf_device_count *c, uint64_t ns,
                   kperf_metric_value *out);
static kperf_metric_value vals[512];

/* A tree whose "DDRC" and "HHA" PMUs are really the software PMU (type 1): DDR_WRITE_BW
 * (flux_wr = event 0x00) becomes cpu-clock on CPU 0, HHA_CROSS_NUMA rx_sccl 0x02 /
 * rx_ops_num 0x00 becomes page-faults / cpu-clock. That runs the live path (open on the
 * cpumask CPU, start, read, stop, compute) on a machine without uncore PMUs. */
static const char *soft_tree(void) {
    static char root[256];
    snprintf(root, sizeof root, "/tmp/kperf-device-soft-%d", (int)getpid());
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "rm -rf %s && E=%s/sys/bus/event_source/devices && S=%s/sys/devices/system && "
             "mkdir -p $E/hisi_sccl1_ddrc0/format $E/hisi_sccl1_hha0/format $S/cpu $S/node/node0 && "
             "echo 1 > $E/hisi_sccl1_ddrc0/type && echo 0 > $E/hisi_sccl1_ddrc0/cpumask && "
             "echo config:0-4 > $E/hisi_sccl1_ddrc0/format/event && "
             "echo 1 > $E/hisi_sccl1_hha0/type && echo 0 > $E/hisi_sccl1_hha0/cpumask && "
             "echo config:0-7 > $E/hisi_sccl1_hha0/format/event && "
             "echo 0 > $S/cpu/online && echo 0 > $S/node/node0/cpulist",
             root, root, root);
    return system(cmd) == 0 ? root : NULL;
}

KT_TEST(live_counting_path) {
    const char *root = soft_tree();
    if (!root) KT_SKIP("cannot build a temporary sysfs tree under /tmp");
    kperf_device *d;
    kperf_device_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.root = root, desc.metrics = "DDR_WRITE_BW,HHA_CROSS_NUMA";
    int rc = kperf_device_open(&d, &desc);
    smmu_tree_rm(root);
    if (rc == -KPERF_EPARANOID) KT_SKIP("%s", kperf_errmsg());
    KT_CHECK(rc == 0, "%s", kperf_errmsg());
    KT_EQ_INT(kperf_device_nevents(d), 3);
    KT_EQ_INT(kperf_device_event_at(d, 2)->leader, 1); /* cpu-clock follows page-faults */
    kperf_device_count c[3];
    KT_CHECK(kperf_device_start(d) == 0, "%s", kperf_errmsg());
    volatile char *mem = (volatile char *)malloc(1 << 20);
    for (int i = 0; mem && i < (1 << 20); i += 4096) mem[i] = 1; /* some page faults */
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    KT_CHECK(kperf_device_stop(d) == 0, "%s", kperf_errmsg());
    KT_CHECK(kperf_device_read(d, c) == 0, "%s", kperf_errmsg());
    free((void *)mem);
    KT_CHECK(c[0].time_running > 0 && c[0].value > 0, "cpu-clock on cpu 0 did not count");
    KT_CHECK(c[2].time_running > 0 && c[2].value > 0, "the group member did not count");
    int n = compute(d, c, c[0].time_enabled, vals);
    KT_EQ_INT(n, 4);
    KT_EQ_STR(vals[0].where, "hisi_sccl1_ddrc0");
    KT_CHECK(vals[0].counted && vals[0].value > 0, "%f", vals[0].value);
    KT_EQ_STR(vals[2].where, "node0");
    KT_CHECK(vals[2].counted && vals[2].value == vals[2].value && vals[2].value >= 0,
             "%f", vals[2].value);
    kperf_device_close(d);
}

/* ---- arithmetic on recorded counts ---- */

static kperf_device_count cnt(uint64_t v) { return (kperf_device_count){v, 1000000000, 1000000000}; }

/* Computes every value of d from counts; returns the number (out has room for 512). */
static int compute(const kperf_device *d, const kperf_device_count *c, uint64_t ns,
                   kperf_metric_value *out) {
    int n = kperf_device_compute(d, c, ns, NULL, 0);
    if (n < 0 || n > 512) return -1;
    return kperf_device_compute(d, c, ns, out, 512);
}

static int near(double a, double b) { return a == b || (a - b < 1e-9 && b - a < 1e-9); }

KT_TEST(ddr_bytes_per_count_and_intervals) {
    KT_UNUSED();
    kperf_device *d;
    KT_CHECK(plan(&d, FX "kunpeng920", "DDR_READ_BW", NULL, NULL) == 0, "%s", kperf_errmsg());
    /* Two cumulative readings, at 0.5 s and 1.5 s. DDRC i: 32768 * (i + 1) flux counts by
     * 0.5 s (32 B each: (i + 1) MiB -> 2 * (i + 1) MiB/s), and 65536 * (i + 1) more by
     * 1.5 s ((i + 1) * 2 MiB in 1 s -> 2 * (i + 1) MiB/s again). */
    kperf_device_count r1[16], r2[16], delta[16];
    for (int i = 0; i < 16; i++) {
        r1[i] = cnt(32768ull * (uint64_t)(i + 1));
        r1[i].time_enabled = r1[i].time_running = 500000000;
        r2[i] = cnt(r1[i].value + 65536ull * (uint64_t)(i + 1));
        r2[i].time_enabled = r2[i].time_running = 1500000000;
        delta[i] = (kperf_device_count){r2[i].value - r1[i].value, 1000000000, 1000000000};
    }
    int n = compute(d, r1, 500000000, vals);
    KT_EQ_INT(n, 17); /* 16 channels + total */
    KT_EQ_STR(vals[0].where, "hisi_sccl1_ddrc0");
    KT_EQ_INT(vals[0].mode, KPERF_METRIC_PER_CHANNEL);
    KT_EQ_INT(vals[0].channel, 0);
    KT_EQ_INT(vals[0].numa, 0);
    KT_CHECK(vals[0].counted && near(vals[0].value, 2.0), "%f", vals[0].value);
    KT_EQ_STR(vals[7].where, "hisi_sccl3_ddrc3");
    KT_EQ_INT(vals[7].channel, 3);
    KT_EQ_INT(vals[7].numa, 1); /* cpumask 24 is in node1 (24-47) */
    KT_EQ_INT(vals[15].numa, 3);
    KT_CHECK(near(vals[7].value, 16.0), "%f", vals[7].value);
    KT_EQ_STR(vals[16].where, "total");
    KT_EQ_INT(vals[16].mode, KPERF_METRIC_TOTAL);
    KT_CHECK(near(vals[16].value, 2.0 * 136), "%f", vals[16].value); /* 2 * (1 + ... + 16) */
    n = compute(d, delta, 1000000000, vals);
    KT_EQ_INT(n, 17);
    for (int i = 0; i < 16; i++)
        KT_CHECK(near(vals[i].value, 2.0 * (i + 1)), "channel %d: %f", i, vals[i].value);
    KT_EQ_STR(vals[0].unit, "MiB/s");
    KT_EQ_INT(kperf_device_compute(d, delta, 0, vals, 512), -EINVAL); /* a rate needs time */
    kperf_device_close(d);
}

KT_TEST(intel_cas_64_bytes) {
    KT_UNUSED();
    kperf_device *d;
    KT_CHECK(plan(&d, FX "intel-skx-2s", "DDR_WRITE_BW", "uncore_imc/cas_count_read/", NULL) == 0,
             "%s", kperf_errmsg());
    /* 24 events: 12 CAS_COUNT.WR (64 B per count), then 12 cas_count_read with the alias
     * .scale 6.103515625e-5 (MiB). 16384 counts = 1 MiB either way; over 2 s -> 0.5 MiB/s. */
    kperf_device_count c[24];
    for (int i = 0; i < 24; i++) c[i] = cnt(16384);
    int n = compute(d, c, 2000000000, vals);
    KT_EQ_INT(n, 26);
    KT_EQ_STR(vals[0].where, "uncore_imc_0@cpu0");
    KT_EQ_STR(vals[1].where, "uncore_imc_0@cpu20");
    KT_EQ_INT(vals[1].numa, 1);
    KT_EQ_INT(vals[1].socket, 1);
    KT_EQ_INT(vals[11].channel, 5);
    KT_CHECK(near(vals[0].value, 0.5), "%f", vals[0].value);
    KT_CHECK(near(vals[12].value, 6.0), "%f", vals[12].value);
    KT_EQ_STR(vals[13].name, "uncore_imc/cas_count_read/");
    KT_EQ_STR(vals[13].unit, "MiB");
    KT_EQ_INT(vals[13].mode, KPERF_METRIC_PER_PMU);
    KT_CHECK(near(vals[13].value, 1.0), "%f", vals[13].value);
    KT_CHECK(near(vals[25].value, 12.0), "%f", vals[25].value);
    kperf_device_close(d);
}

KT_TEST(not_counted_and_multiplexed) {
    KT_UNUSED();
    kperf_device *d;
    KT_CHECK(plan(&d, FX "intel-skx-2s", "DDR_READ_BW", NULL, NULL) == 0, "%s", kperf_errmsg());
    kperf_device_count c[12];
    for (int i = 0; i < 12; i++) c[i] = cnt(16384);
    c[3].time_running = 0;                 /* uncore_imc_1@cpu20 never ran */
    c[4].time_running = 500000000;         /* uncore_imc_2@cpu0 ran half the time: x2 */
    int n = compute(d, c, 1000000000, vals);
    KT_EQ_INT(n, 13);
    KT_CHECK(!vals[3].counted, "a counter that did not run is not counted");
    KT_CHECK(vals[3].value != vals[3].value, "not counted is NaN, not %f", vals[3].value);
    KT_CHECK(vals[4].counted && vals[4].scaled && near(vals[4].value, 2.0), "%f", vals[4].value);
    KT_CHECK(vals[5].counted && !vals[5].scaled && near(vals[5].value, 1.0), "%f", vals[5].value);
    KT_CHECK(!vals[12].counted && vals[12].scaled, "the total of a partly counted metric");
    kperf_device_close(d);
}

KT_TEST(latency_and_ratio_metrics) {
    KT_UNUSED();
    kperf_device *d;
    KT_CHECK(plan(&d, FX "kunpeng920b", "L3_LAT,PCIE_RX_MRD_BW,PCIE_RX_MRD_LAT,HHA_CROSS_NUMA",
                  NULL, NULL) == 0, "%s", kperf_errmsg());
    /* 8 L3C x (lat, ref, retry), then PCIe bw (flux, time), PCIe lat (lat, cnt), then HHA
     * (rx_sccl, rx_ops_num) x 2 = 24 + 2 + 2 + 4 = 32 events. */
    KT_EQ_INT(kperf_device_nevents(d), 32);
    kperf_device_count c[32];
    for (int i = 0; i < 8; i++) {
        c[3 * i] = cnt(5000 * (uint64_t)(i + 1)); /* total latency, cycles */
        c[3 * i + 1] = cnt(600);                  /* l3c_ref */
        c[3 * i + 2] = cnt(100);                  /* retry_alloc */
    }
    c[23] = cnt(600); /* hisi_sccl3_l3c3: every access retried -> no latency (NaN) */
    c[24] = cnt(1000), c[25] = cnt(500);  /* flux 1000 DW in 500 -> 1000 * 4 / 500 = 8 */
    c[26] = cnt(3000), c[27] = cnt(100);  /* latency 3000 over 100 requests -> 30 */
    c[28] = cnt(25), c[29] = cnt(100);    /* SCCL1 (node1): 25 of 100 from another node */
    c[30] = cnt(0), c[31] = cnt(0);       /* SCCL3 (node0): no requests -> NaN */
    int n = compute(d, c, 1000000000, vals);
    KT_EQ_INT(n, 9 + 2 + 2 + 3);
    KT_EQ_STR(vals[0].where, "hisi_sccl1_l3c0");
    KT_CHECK(near(vals[0].value, 10.0), "5000 / (600 - 100): %f", vals[0].value);
    KT_CHECK(near(vals[1].value, 20.0), "%f", vals[1].value);
    KT_CHECK(vals[7].counted && vals[7].value != vals[7].value, "ref == retry: %f", vals[7].value);
    /* total: (5000 * 36) / (8 * 600 - 7 * 100 - 600) = 180000 / 3500 */
    KT_CHECK(near(vals[8].value, 180000.0 / 3500.0), "%f", vals[8].value);
    KT_EQ_STR(vals[9].where, "0000:31:00.0");
    KT_EQ_INT(vals[9].mode, KPERF_METRIC_PER_BDF);
    KT_CHECK(near(vals[9].value, 8.0), "%f", vals[9].value);
    KT_EQ_STR(vals[11].where, "0000:30:00.0");
    KT_EQ_INT(vals[11].mode, KPERF_METRIC_PER_PORT);
    KT_CHECK(near(vals[11].value, 30.0), "%f", vals[11].value);
    KT_EQ_STR(vals[13].where, "node1");
    KT_CHECK(near(vals[13].value, 25.0), "%f %%", vals[13].value);
    KT_EQ_STR(vals[14].where, "node0");
    KT_CHECK(vals[14].counted && vals[14].value != vals[14].value, "%f", vals[14].value);
    KT_CHECK(near(vals[15].value, 25.0), "total %f", vals[15].value);
    kperf_device_close(d);
}

KT_TEST(hha_numa_grouping_v1) {
    KT_UNUSED();
    kperf_device *d;
    KT_CHECK(plan(&d, FX "kunpeng920", "HHA_CROSS_SOCKET", NULL, NULL) == 0, "%s", kperf_errmsg());
    /* Two HHAs per SCCL, both in the SCCL's node: node0 = hha0 (10/100) + hha1 (30/100). */
    kperf_device_count c[16];
    for (int i = 0; i < 16; i++) c[i] = cnt(i % 2 ? 100 : 10);
    c[2] = cnt(30);
    int n = compute(d, c, 1000000000, vals);
    KT_EQ_INT(n, 5);
    KT_EQ_STR(vals[0].where, "node0");
    KT_EQ_INT(vals[0].numa, 0);
    KT_CHECK(near(vals[0].value, 20.0), "(10 + 30) / 200: %f", vals[0].value);
    KT_EQ_STR(vals[3].where, "node3");
    KT_CHECK(near(vals[3].value, 10.0), "%f", vals[3].value);
    KT_CHECK(near(vals[4].value, 100.0 * 100 / 800), "%f", vals[4].value);
    kperf_device_close(d);
}

KT_TEST(plan_only_cannot_start) {
    KT_UNUSED();
    kperf_device *d;
    KT_CHECK(plan(&d, FX "kunpeng920", "DDR_READ_BW", NULL, NULL) == 0, "%s", kperf_errmsg());
    KT_EQ_INT(kperf_device_start(d), -KPERF_ESTATE);
    kperf_device_count c[16];
    KT_EQ_INT(kperf_device_read(d, c), -KPERF_ESTATE);
    const char *name, *unit;
    kperf_metric_mode mode;
    KT_EQ_INT(kperf_device_nitems(d), 1);
    KT_EQ_INT(kperf_device_item(d, 0, &name, &unit, &mode), 0);
    KT_EQ_STR(name, "DDR_READ_BW");
    KT_EQ_INT(mode, KPERF_METRIC_PER_CHANNEL);
    KT_EQ_INT(kperf_device_item(d, 1, NULL, NULL, NULL), -EINVAL);
    kperf_device_close(d);
    kperf_device_close(NULL);
    /* libkperf spelling, any case */
    KT_CHECK(plan(&d, FX "kunpeng920", "pmu_ddr_read_bw", NULL, NULL) == 0, "%s", kperf_errmsg());
    kperf_device_close(d);
    KT_EQ_INT(plan(&d, FX "kunpeng920", NULL, NULL, NULL), -EINVAL);
}

int main(void) {
    KT_RUN(metric_table);
    KT_RUN(supported_per_tree);
    KT_RUN(missing_pmu_message);
    KT_RUN(this_machine_has_no_pmu);
    KT_RUN(plan_kunpeng920_ddr);
    KT_RUN(plan_kunpeng920_l3_core);
    KT_RUN(plan_kunpeng920_hha);
    KT_RUN(plan_kunpeng920b);
    KT_RUN(plan_kunpeng920b_pcie);
    KT_RUN(bdf_list_pcie);
    KT_RUN(smmu_devices_and_plan);
    KT_RUN(plan_intel);
    KT_RUN(plan_amd_split_format);
    KT_RUN(instance_expansion);
    KT_RUN(cpumask_minus_one);
    KT_RUN(live_counting_path);
    KT_RUN(ddr_bytes_per_count_and_intervals);
    KT_RUN(intel_cas_64_bytes);
    KT_RUN(not_counted_and_multiplexed);
    KT_RUN(latency_and_ratio_metrics);
    KT_RUN(hha_numa_grouping_v1);
    KT_RUN(plan_only_cannot_start);
    KT_EXIT();
}
