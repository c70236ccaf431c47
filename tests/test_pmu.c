/* PMU registry over every fake sysfs tree in tests/fixtures/sysfs and the machine's own.
 * Expected values are read by hand from the fixture files. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kt.h"
#include <sys/stat.h>
#include <unistd.h>

#define FX "tests/fixtures/sysfs/"

static const kperf_pmu *need(const kperf_pmus *p, const char *name) {
    const kperf_pmu *u = kperf_pmus_find(p, name);
    if (!u) printf("# PMU %s missing\n", name);
    return u;
}

KT_TEST(kunpeng920_registry) {
    KT_UNUSED();
    kperf_pmus *p;
    KT_EQ_INT(kperf_pmus_open(&p, FX "kunpeng920"), 0);
    /* 48 hisi (4 SCCL x (4 ddrc + 2 hha + 6 l3c)) + arm_spe_0, armv8_pmuv3_0, breakpoint,
     * kprobe, 3 smmuv3_pmcg, software, tracepoint, uprobe */
    KT_EQ_INT(kperf_pmus_count(p), 58);
    KT_EQ_STR(kperf_pmus_at(p, 0)->name, "arm_spe_0"); /* sorted by name */
    KT_CHECK(kperf_pmus_at(p, 58) == NULL);
    KT_EQ_STR(kperf_pmus_root(p), FX "kunpeng920");
    const kperf_pmu *d = need(p, "hisi_sccl1_ddrc0");
    KT_CHECK(d != NULL);
    KT_EQ_INT(d->type, 13);
    KT_EQ_INT(d->nformats, 1);
    KT_EQ_STR(d->formats[0].name, "event");
    KT_EQ_INT(d->formats[0].word, 0);
    KT_EQ_INT(d->formats[0].nranges, 1);
    KT_EQ_INT(d->formats[0].ranges[0].lo, 0);
    KT_EQ_INT(d->formats[0].ranges[0].hi, 4);
    KT_EQ_INT(d->naliases, 8);
    KT_EQ_STR(d->aliases[0].name, "act_cmd");
    const kperf_pmu_alias *a = kperf_pmu_alias_find(d, "flux_rd");
    KT_CHECK(a != NULL);
    KT_EQ_STR(a->terms, "config=0x1");
    KT_CHECK(a->scale == 1.0);
    KT_EQ_STR(a->unit, "");
    KT_EQ_INT(d->ncpus, 1);
    KT_EQ_INT(d->cpus[0], 0);
    KT_CHECK(d->is_uncore && !d->is_core && !d->cpumask_invalid);
    const kperf_pmu *c = need(p, "armv8_pmuv3_0");
    KT_CHECK(c != NULL);
    KT_EQ_INT(c->type, 8);
    KT_CHECK(c->is_core && !c->is_uncore);
    KT_EQ_INT(c->ncpus, 96);
    KT_EQ_INT(c->cpus[95], 95);
    const kperf_pmu_format *lf = kperf_pmu_format_find(c, "long");
    KT_CHECK(lf != NULL);
    KT_EQ_INT(lf->word, 1);
    KT_EQ_INT(lf->ranges[0].lo, 0);
    KT_EQ_INT(lf->ranges[0].hi, 0);
    KT_EQ_STR(kperf_pmu_alias_find(c, "inst_retired")->terms, "event=0x0008");
    const kperf_pmu *spe = need(p, "arm_spe_0");
    KT_CHECK(spe && !spe->is_core && !spe->is_uncore);
    KT_EQ_INT(spe->type, 9);
    const kperf_pmu_format *ml = kperf_pmu_format_find(spe, "min_latency");
    KT_CHECK(ml && ml->word == 2 && ml->ranges[0].lo == 0 && ml->ranges[0].hi == 11);
    const kperf_pmu_format *ef = kperf_pmu_format_find(spe, "event_filter");
    KT_CHECK(ef && ef->word == 1 && ef->ranges[0].lo == 0 && ef->ranges[0].hi == 63);
    /* the SMMU PMCG whose name has hex letters */
    const kperf_pmu *sm = need(p, "smmuv3_pmcg_a0020");
    KT_CHECK(sm != NULL);
    KT_EQ_INT(sm->type, 12);
    KT_EQ_INT(need(p, "smmuv3_pmcg_100020")->type, 11);
    const kperf_pmu_format *fs = kperf_pmu_format_find(sm, "filter_stream_id");
    KT_CHECK(fs && fs->word == 1 && fs->ranges[0].lo == 0 && fs->ranges[0].hi == 31);
    KT_EQ_STR(kperf_pmu_alias_find(sm, "tlb_miss")->terms, "event=0x02");
    KT_EQ_INT(need(p, "hisi_sccl1_hha0")->type, 17);
    KT_EQ_INT(need(p, "hisi_sccl1_hha0")->naliases, 26);
    KT_EQ_INT(need(p, "hisi_sccl1_l3c0")->type, 19);
    KT_CHECK(need(p, "software")->type == 1 && need(p, "tracepoint")->type == 2);
    KT_CHECK(kperf__has_hw_pmu(p));
    KT_CHECK(!kperf_pmus_hybrid(p));
    kperf_pmus_close(p);
}

KT_TEST(kunpeng920b_v2_pmus) {
    KT_UNUSED();
    kperf_pmus *p;
    KT_EQ_INT(kperf_pmus_open(&p, FX "kunpeng920b"), 0);
    KT_EQ_INT(kperf_pmus_count(p), 25); /* 2 x (4 ddrc + hha0 + 4 l3c) + 7 others */
    const kperf_pmu *d = need(p, "hisi_sccl1_ddrc0_0");
    KT_CHECK(d != NULL);
    KT_EQ_INT(d->type, 19);
    KT_EQ_INT(d->ncpus, 1);
    KT_EQ_INT(d->cpus[0], 32);
    KT_EQ_STR(kperf_pmu_alias_find(d, "flux_rd")->terms, "config=0x84");
    const kperf_pmu *pc = need(p, "hisi_pcie0_core0");
    KT_CHECK(pc != NULL);
    KT_EQ_INT(pc->type, 28);
    KT_EQ_INT(pc->nformats, 8);
    const kperf_pmu_format *bdf = kperf_pmu_format_find(pc, "bdf");
    KT_CHECK(bdf && bdf->word == 2 && bdf->ranges[0].lo == 16 && bdf->ranges[0].hi == 31);
    KT_EQ_STR(kperf_pmu_alias_find(pc, "rx_mrd_latency")->terms, "config=0x210");
    const kperf_pmu *spe = need(p, "arm_spe_0");
    const kperf_pmu_format *inv = kperf_pmu_format_find(spe, "inv_event_filter");
    KT_CHECK(inv && inv->word == 3 && inv->ranges[0].lo == 0 && inv->ranges[0].hi == 63);
    KT_EQ_INT(spe->ncpus, 64);
    const kperf_pmu *l3 = need(p, "hisi_sccl1_l3c0");
    KT_EQ_INT(l3->type, 24);
    const kperf_pmu_format *tc = kperf_pmu_format_find(l3, "tt_core");
    KT_CHECK(tc && tc->word == 2 && tc->ranges[0].hi == 15);
    kperf_pmus_close(p);
}

KT_TEST(intel_skx_imc_scale_unit) {
    KT_UNUSED();
    kperf_pmus *p;
    KT_EQ_INT(kperf_pmus_open(&p, FX "intel-skx-2s"), 0);
    KT_EQ_INT(kperf_pmus_count(p), 12);
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof name, "uncore_imc_%d", i);
        const kperf_pmu *m = need(p, name);
        KT_CHECK(m != NULL);
        KT_EQ_INT(m->type, 13 + i);
        KT_CHECK(m->is_uncore);
        KT_EQ_INT(m->ncpus, 2);
        KT_EQ_INT(m->cpus[0], 0);
        KT_EQ_INT(m->cpus[1], 20);
        KT_EQ_INT(m->naliases, 3); /* .scale and .unit are not aliases */
        const kperf_pmu_alias *a = kperf_pmu_alias_find(m, "cas_count_read");
        KT_CHECK(a != NULL);
        KT_EQ_STR(a->terms, "event=0x04,umask=0x03"); /* file has no trailing newline */
        KT_CHECK(a->scale == 6.103515625e-5);
        KT_EQ_STR(a->unit, "MiB");
        KT_CHECK(kperf_pmu_alias_find(m, "clockticks")->scale == 1.0);
    }
    const kperf_pmu *c = need(p, "cpu");
    KT_CHECK(c->is_core && c->type == 4 && c->ncpus == 80);
    KT_EQ_STR(kperf_pmu_alias_find(c, "ref-cycles")->terms, "event=0x00,umask=0x03");
    KT_EQ_INT(need(p, "kprobe")->type, 6);
    KT_EQ_INT(need(p, "uprobe")->type, 7);
    kperf_pmus_close(p);
}

KT_TEST(amd_split_format) {
    KT_UNUSED();
    kperf_pmus *p;
    KT_EQ_INT(kperf_pmus_open(&p, FX "amd-zen3-2s"), 0);
    KT_EQ_INT(kperf_pmus_count(p), 6);
    const kperf_pmu *df = need(p, "amd_df");
    KT_CHECK(df != NULL);
    KT_EQ_INT(df->type, 11);
    KT_EQ_INT(df->naliases, 0); /* no events/ directory */
    const kperf_pmu_format *ev = kperf_pmu_format_find(df, "event");
    KT_CHECK(ev != NULL);
    KT_EQ_INT(ev->nranges, 3);
    KT_EQ_INT(ev->ranges[0].lo, 0);
    KT_EQ_INT(ev->ranges[0].hi, 7);
    KT_EQ_INT(ev->ranges[1].lo, 32);
    KT_EQ_INT(ev->ranges[1].hi, 35);
    KT_EQ_INT(ev->ranges[2].lo, 59);
    KT_EQ_INT(ev->ranges[2].hi, 60);
    KT_EQ_INT(df->ncpus, 2);
    KT_EQ_INT(df->cpus[1], 64);
    /* event=0x1F7: low 8 bits 0xF7 -> bits 0-7, next 4 bits 0x1 -> bits 32-35 */
    uint64_t cfg[4] = {0, 0, 0, 0};
    KT_EQ_INT(kperf_pmu_encode(df, "event", 0x1F7, cfg), 0);
    KT_EQ_INT(cfg[0], 0x1000000F7ull);
    KT_EQ_INT(kperf_pmu_encode(df, "umask", 0x3, cfg), 0);
    KT_EQ_INT(cfg[0], 0x1000003F7ull);
    /* all 14 bits: 0x3FFF -> 0xFF | 0xF << 32 | 0x3 << 59 */
    uint64_t c2[4] = {0, 0, 0, 0};
    KT_EQ_INT(kperf_pmu_encode(df, "event", 0x3FFF, c2), 0);
    KT_EQ_INT(c2[0], 0xFFull | (0xFull << 32) | (0x3ull << 59));
    /* re-encoding clears the field first */
    KT_EQ_INT(kperf_pmu_encode(df, "event", 0x1000, c2), 0);
    KT_EQ_INT(c2[0], 0x1ull << 59);
    KT_EQ_INT(kperf_pmu_encode(df, "event", 0x4000, c2), -KPERF_EPARSE);
    KT_CHECK(strstr(kperf_errmsg(), "amd_df: event=0x4000 does not fit the field's 14 bits") != NULL,
             "%s", kperf_errmsg());
    KT_EQ_INT(kperf_pmu_encode(df, "thresh", 1, c2), -KPERF_EPARSE);
    KT_CHECK(strstr(kperf_errmsg(), "'thresh' is not a format field") != NULL, "%s", kperf_errmsg());
    KT_CHECK(strstr(kperf_errmsg(), "(fields: event, umask)") != NULL, "%s", kperf_errmsg());
    const kperf_pmu *l3 = need(p, "amd_l3");
    KT_EQ_INT(l3->ncpus, 16);
    KT_EQ_INT(l3->cpus[15], 120);
    const kperf_pmu_format *en = kperf_pmu_format_find(l3, "enallcores");
    KT_CHECK(en && en->nranges == 1 && en->ranges[0].lo == 47 && en->ranges[0].hi == 47);
    const kperf_pmu *cpu = need(p, "cpu");
    KT_CHECK(cpu->is_core && cpu->ncpus == 256);
    const kperf_pmu_format *ce = kperf_pmu_format_find(cpu, "event");
    KT_CHECK(ce && ce->nranges == 2 && ce->ranges[1].lo == 32 && ce->ranges[1].hi == 35);
    kperf_pmus_close(p);
}

/* Writes a file (mkdir -p of its directory included). */
static void put(const char *root, const char *rel, const char *text) {
    char path[4096], cmd[4200];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
    if (system(cmd) != 0) return;
    FILE *f = fopen(path, "w");
    if (f) fputs(text, f), fclose(f);
}

KT_TEST(quirks_symlinks_and_invalid_cpumask) {
    KT_UNUSED();
    char root[] = "/tmp/kperf-pmu-XXXXXX";
    KT_CHECK(mkdtemp(root) != NULL);
    /* a PMU reached through a symlink (as in real sysfs), one with cpumask -1, one entry
     * without a type file, a format with config:63 and a 64-bit field */
    put(root, "sys/devices/hisi_sccl9_ddrc0/type", "40\n");
    put(root, "sys/devices/hisi_sccl9_ddrc0/cpumask", "-1\n");
    put(root, "sys/devices/hisi_sccl9_ddrc0/format/event", "config:0-4\n");
    put(root, "sys/devices/hisi_sccl9_ddrc0/events/flux_rd", "config=0x1");
    put(root, "sys/devices/mypmu/type", "41");
    put(root, "sys/devices/mypmu/format/hi", "config:63");
    put(root, "sys/devices/mypmu/format/wide", "config2:0-63");
    put(root, "sys/devices/mypmu/cpumask", "0-3,8\n");
    put(root, "sys/bus/event_source/devices/notapmu/readme", "x");
    char link[4200];
    snprintf(link, sizeof link, "%s/sys/bus/event_source/devices/hisi_sccl9_ddrc0", root);
    KT_EQ_INT(symlink("../../../devices/hisi_sccl9_ddrc0", link), 0);
    snprintf(link, sizeof link, "%s/sys/bus/event_source/devices/mypmu", root);
    KT_EQ_INT(symlink("../../../devices/mypmu", link), 0);
    kperf_pmus *p;
    KT_EQ_INT(kperf_pmus_open(&p, root), 0);
    KT_EQ_INT(kperf_pmus_count(p), 2);
    const kperf_pmu *d = kperf_pmus_find(p, "hisi_sccl9_ddrc0");
    KT_CHECK(d != NULL);
    KT_EQ_INT(d->type, 40);
    KT_CHECK(d->cpumask_invalid);
    KT_EQ_INT(d->ncpus, 0);
    KT_EQ_STR(d->aliases[0].terms, "config=0x1");
    const kperf_pmu *m = kperf_pmus_find(p, "mypmu");
    KT_EQ_INT(m->ncpus, 5);
    KT_EQ_INT(m->cpus[4], 8);
    uint64_t cfg[4] = {0, 0, 0, 0};
    KT_EQ_INT(kperf_pmu_encode(m, "hi", 1, cfg), 0);
    KT_EQ_INT(cfg[0], 1ull << 63);
    KT_EQ_INT(kperf_pmu_encode(m, "hi", 2, cfg), -KPERF_EPARSE);
    KT_EQ_INT(kperf_pmu_encode(m, "wide", ~0ull, cfg), 0);
    KT_CHECK(cfg[2] == ~0ull);
    kperf_pmus_close(p);
    /* the environment variable selects the root when the argument is NULL */
    setenv("KPERF_SYSFS_ROOT", root, 1);
    KT_EQ_INT(kperf_pmus_open(&p, NULL), 0);
    KT_EQ_STR(kperf_pmus_root(p), root);
    KT_EQ_INT(kperf_pmus_count(p), 2);
    kperf_pmus_close(p);
    unsetenv("KPERF_SYSFS_ROOT");
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    KT_EQ_INT(system(cmd), 0);
}

KT_TEST(missing_root) {
    KT_UNUSED();
    kperf_pmus *p = (kperf_pmus *)1;
    KT_EQ_INT(kperf_pmus_open(&p, "/nonexistent-kperf-root"), -ENOENT);
    KT_CHECK(p == NULL);
    KT_CHECK(strstr(kperf_errmsg(), "/nonexistent-kperf-root/sys/bus/event_source/devices") != NULL,
             "%s", kperf_errmsg());
    kperf_pmus_close(NULL);
}

KT_TEST(machine_registry) {
    KT_UNUSED();
    kperf_pmus *p;
    KT_EQ_INT(kperf_pmus_open(&p, "/"), 0);
    const kperf_pmu *sw = kperf_pmus_find(p, "software");
    const kperf_pmu *tp = kperf_pmus_find(p, "tracepoint");
    const kperf_pmu *bp = kperf_pmus_find(p, "breakpoint");
    KT_CHECK(sw && tp && bp, "software/tracepoint/breakpoint missing");
    KT_EQ_INT(sw->type, 1);
    KT_EQ_INT(tp->type, 2);
    KT_EQ_INT(bp->type, 5);
    const kperf_pmu *up = kperf_pmus_find(p, "uprobe");
    if (up) {
        const kperf_pmu_format *r = kperf_pmu_format_find(up, "retprobe");
        KT_CHECK(r && r->word == 0 && r->ranges[0].lo == 0 && r->ranges[0].hi == 0);
    }
    const kperf_pmu *msr = kperf_pmus_find(p, "msr");
    if (msr) {
        const kperf_pmu_alias *tsc = kperf_pmu_alias_find(msr, "tsc");
        KT_CHECK(tsc != NULL);
        KT_EQ_STR(tsc->terms, "event=0x00");
    }
    /* the types agree with sysfs read directly */
    char buf[64];
    FILE *f = fopen("/sys/bus/event_source/devices/software/type", "r");
    KT_CHECK(f && fgets(buf, sizeof buf, f));
    fclose(f);
    KT_EQ_INT(atoi(buf), sw->type);
    kperf_pmus_close(p);
}

int main(void) {
    KT_RUN(kunpeng920_registry);
    KT_RUN(kunpeng920b_v2_pmus);
    KT_RUN(intel_skx_imc_scale_unit);
    KT_RUN(amd_split_format);
    KT_RUN(quirks_symlinks_and_invalid_cpumask);
    KT_RUN(missing_root);
    KT_RUN(machine_registry);
    KT_EXIT();
}
