/* Plan (dry run) over the fake sysfs trees: every fd a counter would open, with exact
 * encodings, CPUs, pids and leaders, without calling the kernel. */
#define _GNU_SOURCE 1
#include "kperf.h"
#include "kt.h"

#define FIX "tests/fixtures/sysfs/"

static char line[512];

static const char *fmt(const kperf_plan *p, size_t i) {
    kperf_plan_format(p, i, line, sizeof line);
    return line;
}

static int plan(kperf_plan **p, const char *root, const char *events, bool all_cpus,
                const int *cpus, size_t ncpus) {
    if (access(root, R_OK) != 0) return -ENOENT;
    return kperf_counter_plan(p, &(kperf_counter_desc){.events = events, .sysfs_root = root,
                                                       .all_cpus = all_cpus, .cpus = cpus,
                                                       .ncpus = ncpus});
}

KT_TEST(intel_imc_on_cpumask_cpus) {
    kperf_plan *p;
    int rc = plan(&p, FIX "intel-skx-2s", "uncore_imc_0/cas_count_read/", false, NULL, 0);
    if (rc == -ENOENT) KT_SKIP("fixtures not found (tests/fixtures)");
    if (rc < 0) KT_FAIL("plan: %s", kperf_errmsg());
    /* uncore: once per cpumask CPU (0 and 20), CPU-wide, never per thread */
    KT_EQ_INT(p->nentries, 2);
    KT_EQ_STR(fmt(p, 0), "event=uncore_imc_0/cas_count_read/ pmu=uncore_imc_0 type=13 "
                         "config=0x304 config1=0x0 config2=0x0 cpu=0 pid=-1 "
                         "leader=uncore_imc_0/cas_count_read/");
    KT_EQ_STR(fmt(p, 1), "event=uncore_imc_0/cas_count_read/ pmu=uncore_imc_0 type=13 "
                         "config=0x304 config1=0x0 config2=0x0 cpu=20 pid=-1 "
                         "leader=uncore_imc_0/cas_count_read/");
    /* uncore PMUs reject exclusion bits: none set */
    const struct perf_event_attr *a = (const struct perf_event_attr *)p->entries[0].attr;
    KT_EQ_INT(p->entries[0].attr_size, sizeof *a);
    KT_EQ_INT(a->exclude_kernel, 0);
    KT_EQ_INT(a->exclude_user, 0);
    KT_EQ_INT(a->read_format, PERF_FORMAT_GROUP | PERF_FORMAT_ID |
                                  PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING);
    KT_EQ_INT(a->disabled, 1);
    kperf_plan_free(p);
}

KT_TEST(intel_every_imc_and_a_thread_event) {
    kperf_plan *p;
    int rc = plan(&p, FIX "intel-skx-2s", "uncore_imc/cas_count_write/,task-clock", false, NULL, 0);
    if (rc == -ENOENT) KT_SKIP("fixtures not found");
    if (rc < 0) KT_FAIL("plan: %s", kperf_errmsg());
    /* six IMC PMUs x two cpumask CPUs, then task-clock on the calling thread */
    KT_EQ_INT(p->nentries, 13);
    for (size_t i = 0; i < 12; i++) {
        KT_EQ_INT(p->entries[i].type, 13 + i / 2);
        KT_EQ_INT(p->entries[i].config[0], 0xc04);
        KT_EQ_INT(p->entries[i].cpu, i % 2 ? 20 : 0);
        KT_EQ_INT(p->entries[i].pid, -1);
        KT_EQ_INT(p->entries[i].leader, i);
    }
    KT_EQ_STR(fmt(p, 12), "event=task-clock pmu=software type=1 config=0x1 config1=0x0 "
                          "config2=0x0 cpu=-1 pid=0 leader=task-clock");
    const struct perf_event_attr *a = (const struct perf_event_attr *)p->entries[12].attr;
    KT_EQ_INT(a->exclude_kernel, 1); /* default: user space only */
    kperf_plan_free(p);
}

/* What a u/k/h modifier asks for wins over the defaults, also when it asks for everything
 * (`:uk` and `:ukh` used to read as "no modifier", which counts user space only). */
KT_TEST(modifiers_override_defaults) {
    kperf_plan *p;
    int rc = plan(&p, FIX "intel-skx-2s",
                  "task-clock,task-clock:u,task-clock:k,task-clock:uk,task-clock:ukh,task-clock:h",
                  false, NULL, 0);
    if (rc == -ENOENT) KT_SKIP("fixtures not found");
    if (rc < 0) KT_FAIL("plan: %s", kperf_errmsg());
    KT_EQ_INT(p->nentries, 6);
    static const int want[6][3] = { /* exclude_user, exclude_kernel, exclude_hv */
        {0, 1, 1}, {0, 1, 1}, {1, 0, 1}, {0, 0, 1}, {0, 0, 0}, {1, 1, 0}};
    for (size_t i = 0; i < 6 && i < p->nentries; i++) {
        const struct perf_event_attr *a = (const struct perf_event_attr *)p->entries[i].attr;
        KT_CHECK(a->exclude_user == (unsigned)want[i][0] && a->exclude_kernel == (unsigned)want[i][1] &&
                     a->exclude_hv == (unsigned)want[i][2],
                 "event %zu: exclude user %u kernel %u hv %u", i, a->exclude_user,
                 a->exclude_kernel, a->exclude_hv);
    }
    kperf_plan_free(p);
}

KT_TEST(amd_df_split_format_ranges) {
    kperf_plan *p;
    int rc = plan(&p, FIX "amd-zen3-2s", "amd_df/event=0x1234,umask=0x5/", false, NULL, 0);
    if (rc == -ENOENT) KT_SKIP("fixtures not found");
    if (rc < 0) KT_FAIL("plan: %s", kperf_errmsg());
    KT_EQ_INT(p->nentries, 2);
    /* event bits 0-7 -> config 0-7, 8-11 -> 32-35, 12-13 -> 59-60; umask -> 8-15 */
    KT_EQ_STR(fmt(p, 0), "event=amd_df/event=0x1234,umask=0x5/ pmu=amd_df type=11 "
                         "config=0x800000200000534 config1=0x0 config2=0x0 cpu=0 pid=-1 "
                         "leader=amd_df/event=0x1234,umask=0x5/");
    KT_EQ_INT(p->entries[1].cpu, 64);
    kperf_plan_free(p);
}

KT_TEST(kunpeng_group_and_all_cpus) {
    kperf_plan *p;
    int rc = plan(&p, FIX "kunpeng920", "{hisi_sccl1_ddrc0/flux_rd/,hisi_sccl1_ddrc0/flux_wr/}",
                  false, NULL, 0);
    if (rc == -ENOENT) KT_SKIP("fixtures not found");
    if (rc < 0) KT_FAIL("plan: %s", kperf_errmsg());
    KT_EQ_INT(p->nentries, 2);
    KT_EQ_STR(fmt(p, 0), "event=hisi_sccl1_ddrc0/flux_rd/ pmu=hisi_sccl1_ddrc0 type=13 "
                         "config=0x1 config1=0x0 config2=0x0 cpu=0 pid=-1 "
                         "leader=hisi_sccl1_ddrc0/flux_rd/");
    KT_EQ_INT(p->entries[1].leader, 0);
    KT_CHECK(strstr(fmt(p, 1), " cpu=0 pid=-1 leader=hisi_sccl1_ddrc0/flux_rd/") != NULL, "%s",
             line);
    const struct perf_event_attr *a = (const struct perf_event_attr *)p->entries[1].attr;
    KT_EQ_INT(a->disabled, 0); /* members follow their leader */
    kperf_plan_free(p);
    /* -a: a core event once per online CPU (0-95), CPU-wide */
    rc = plan(&p, FIX "kunpeng920", "cycles", true, NULL, 0);
    if (rc < 0) KT_FAIL("plan: %s", kperf_errmsg());
    KT_EQ_INT(p->nentries, 96);
    for (size_t i = 0; i < 96; i++) {
        KT_EQ_INT(p->entries[i].cpu, i);
        KT_EQ_INT(p->entries[i].pid, -1);
    }
    KT_EQ_INT(p->entries[0].type, PERF_TYPE_HARDWARE);
    kperf_plan_free(p);
}

KT_TEST(cpu_list_intersects_uncore_cpumask) {
    kperf_plan *p;
    int cpus[] = {4, 5};
    int rc = plan(&p, FIX "kunpeng920", "hisi_sccl1_l3c1/config=0x10/,task-clock", false, cpus, 2);
    if (rc == -ENOENT) KT_SKIP("fixtures not found");
    if (rc < 0) KT_FAIL("plan: %s", kperf_errmsg());
    /* l3c1's cpumask is 4: only cpu 4; task-clock CPU-wide on 4 and 5 */
    KT_EQ_INT(p->nentries, 3);
    KT_EQ_INT(p->entries[0].cpu, 4);
    KT_EQ_INT(p->entries[0].config[0], 0x10);
    KT_EQ_INT(p->entries[1].cpu, 4);
    KT_EQ_INT(p->entries[2].cpu, 5);
    KT_EQ_INT(p->entries[2].pid, -1);
    kperf_plan_free(p);
}

KT_TEST(every_tree_plans_software_events) {
    KT_UNUSED();
    const char *trees[] = {"amd-zen3-2s", "intel-skx-2s", "kunpeng920", "kunpeng920b"};
    for (size_t t = 0; t < 4; t++) {
        char root[256];
        snprintf(root, sizeof root, FIX "%s", trees[t]);
        kperf_plan *p;
        int rc = plan(&p, root, "{task-clock,page-faults}", false, NULL, 0);
        if (rc == -ENOENT) continue;
        if (rc < 0) KT_FAIL("%s: %s", trees[t], kperf_errmsg());
        KT_EQ_INT(p->nentries, 2);
        KT_EQ_STR(fmt(p, 1), "event=page-faults pmu=software type=1 config=0x2 config1=0x0 "
                             "config2=0x0 cpu=-1 pid=0 leader=task-clock");
        kperf_plan_free(p);
    }
}

KT_TEST(plan_errors) {
    KT_UNUSED();
    kperf_plan *p = (kperf_plan *)1;
    KT_EQ_INT(kperf_counter_plan(&p, &(kperf_counter_desc){.events = "nosuch_event_x"}),
              -KPERF_ENOEVENT);
    KT_CHECK(p == NULL);
    kperf_plan_free(NULL);
}

int main(void) {
    KT_RUN(intel_imc_on_cpumask_cpus);
    KT_RUN(intel_every_imc_and_a_thread_event);
    KT_RUN(modifiers_override_defaults);
    KT_RUN(amd_df_split_format_ranges);
    KT_RUN(kunpeng_group_and_all_cpus);
    KT_RUN(cpu_list_intersects_uncore_cpumask);
    KT_RUN(every_tree_plans_software_events);
    KT_RUN(plan_errors);
    KT_EXIT();
}
