/* Event spec parser: generic, software, cache, raw, pmu/terms/, aliases, tracepoints,
 * modifiers, groups, hybrid expansion, errors with positions and suggestions. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kt.h"
#include <unistd.h>

#define FX "tests/fixtures/sysfs/"

static kperf_pmus *reg(const char *root) {
    kperf_pmus *p = NULL;
    if (kperf_pmus_open(&p, root) < 0) printf("# %s\n", kperf_errmsg());
    return p;
}

/* Parses @p spec and returns the list, printing the message on failure. */
static kperf_evlist *parse(const char *spec, const kperf_pmus *p) {
    kperf_evlist *l = NULL;
    if (kperf_evlist_parse(&l, spec, p) < 0) printf("# %s: %s\n", spec, kperf_errmsg());
    return l;
}

KT_TEST(generic_and_software) {
    KT_UNUSED();
    kperf_pmus *p = reg(FX "intel-skx-2s");
    kperf_evlist *l = parse("cycles,instructions , cache-misses,branch-misses,ref-cycles,"
                            "task-clock,page-faults,faults,cs,migrations,major-faults,dummy,"
                            "cgroup-switches,bpf-output,stalled-cycles-backend,bus-cycles",
                            p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 16);
    KT_EQ_INT(l->ngroups, 16);
    struct { uint32_t type; uint64_t config; const char *name; } want[] = {
        {0, 0, "cycles"}, {0, 1, "instructions"}, {0, 3, "cache-misses"}, {0, 5, "branch-misses"},
        {0, 9, "ref-cycles"}, {1, 1, "task-clock"}, {1, 2, "page-faults"}, {1, 2, "faults"},
        {1, 3, "cs"}, {1, 4, "migrations"}, {1, 6, "major-faults"}, {1, 9, "dummy"},
        {1, 11, "cgroup-switches"}, {1, 10, "bpf-output"}, {0, 8, "stalled-cycles-backend"},
        {0, 6, "bus-cycles"}};
    for (size_t i = 0; i < 16; i++) {
        KT_EQ_INT(l->events[i].type, want[i].type);
        KT_EQ_INT(l->events[i].config[0], want[i].config);
        KT_EQ_STR(l->events[i].name, want[i].name);
        KT_EQ_INT(l->events[i].group, (int)i);
        KT_CHECK(l->events[i].leader);
        KT_EQ_STR(l->events[i].pmu, want[i].type ? "software" : "cpu");
        KT_CHECK(l->events[i].cpus == NULL && l->events[i].scale == 1.0);
    }
    kperf_evlist_free(l);
    kperf_pmus_close(p);
}

KT_TEST(cache_names) {
    KT_UNUSED();
    kperf_pmus *p = reg(FX "intel-skx-2s");
    const char *spec = "L1-dcache-load-misses,LLC-loads,dTLB-load-misses,iTLB-loads,"
                       "branch-loads,node-stores,L1-icache-load-misses,LLC-prefetch-misses,"
                       "l1d-store,dTLB-stores,branch-load-misses,node-load-misses";
    kperf_evlist *l = parse(spec, p);
    KT_CHECK(l != NULL);
    /* config = cache | op << 8 | result << 16 */
    uint64_t want[] = {0x10000, 0x00002, 0x10003, 0x00004, 0x00005, 0x00106,
                       0x10001, 0x10202, 0x00100, 0x00103, 0x10005, 0x10006};
    KT_EQ_INT(l->nevents, 12);
    for (size_t i = 0; i < 12; i++) {
        KT_EQ_INT(l->events[i].type, PERF_TYPE_HW_CACHE);
        KT_EQ_INT(l->events[i].config[0], want[i]);
    }
    kperf_evlist_free(l);
    kperf_pmus_close(p);
}

KT_TEST(raw_and_modifiers) {
    KT_UNUSED();
    kperf_pmus *p = reg(FX "intel-skx-2s");
    kperf_evlist *l = parse("r1a8,r00C0:u,cycles:k,instructions:uk,cycles:ppp,cycles:pD,"
                            "task-clock:h,r1234abcd5678ef01", p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 8);
    KT_EQ_INT(l->events[0].type, PERF_TYPE_RAW);
    KT_EQ_INT(l->events[0].config[0], 0x1a8);
    KT_EQ_INT(l->events[1].config[0], 0xc0);
    KT_EQ_INT(l->events[1].flags, KPERF_EV_EXCLUDE_KERNEL | KPERF_EV_EXCLUDE_HV | KPERF_EV_MODE_SET);
    KT_EQ_STR(l->events[1].name, "r00C0:u");
    KT_EQ_INT(l->events[2].flags, KPERF_EV_EXCLUDE_USER | KPERF_EV_EXCLUDE_HV | KPERF_EV_MODE_SET);
    KT_EQ_INT(l->events[3].flags, KPERF_EV_EXCLUDE_HV | KPERF_EV_MODE_SET);
    KT_EQ_INT(l->events[4].precise, 3);
    KT_EQ_INT(l->events[4].flags, 0);
    KT_EQ_INT(l->events[5].precise, 1);
    KT_EQ_INT(l->events[5].flags, KPERF_EV_PINNED);
    KT_EQ_INT(l->events[6].flags, KPERF_EV_EXCLUDE_USER | KPERF_EV_EXCLUDE_KERNEL | KPERF_EV_MODE_SET);
    KT_CHECK(l->events[7].config[0] == 0x1234abcd5678ef01ull);
    struct perf_event_attr a;
    kperf__event_attr(&l->events[5], &a);
    KT_EQ_INT(a.type, PERF_TYPE_HARDWARE);
    KT_EQ_INT(a.size, sizeof a);
    KT_EQ_INT(a.precise_ip, 1);
    KT_EQ_INT(a.pinned, 1);
    kperf__event_attr(&l->events[1], &a);
    KT_EQ_INT(a.type, PERF_TYPE_RAW);
    KT_EQ_INT(a.config, 0xc0);
    KT_CHECK(!a.exclude_user && a.exclude_kernel && a.exclude_hv && !a.pinned);
    kperf_evlist_free(l);
    kperf_pmus_close(p);
}

KT_TEST(groups) {
    KT_UNUSED();
    kperf_pmus *p = reg(FX "intel-skx-2s");
    kperf_evlist *l = parse(" { cycles , instructions } ,task-clock,{cs,faults}:u", p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 5);
    KT_EQ_INT(l->ngroups, 3);
    int groups[] = {0, 0, 1, 2, 2};
    bool leaders[] = {true, false, true, true, false};
    for (int i = 0; i < 5; i++) {
        KT_EQ_INT(l->events[i].group, groups[i]);
        KT_EQ_INT(l->events[i].leader, leaders[i]);
    }
    KT_EQ_STR(l->events[1].spec, "instructions");
    KT_EQ_INT(l->events[3].flags, KPERF_EV_EXCLUDE_KERNEL | KPERF_EV_EXCLUDE_HV | KPERF_EV_MODE_SET);
    KT_EQ_INT(l->events[4].flags, KPERF_EV_EXCLUDE_KERNEL | KPERF_EV_EXCLUDE_HV | KPERF_EV_MODE_SET);
    KT_EQ_INT(l->events[2].flags, 0);
    kperf_evlist_free(l);
    kperf_pmus_close(p);
}

KT_TEST(pmu_terms_amd_df) {
    KT_UNUSED();
    kperf_pmus *p = reg(FX "amd-zen3-2s");
    kperf_evlist *l = parse("amd_df/event=0x1F7,umask=3/,amd_l3/event=0x1,enallcores,"
                            "threadmask=3/,cpu/event=0x76,edge/,amd_df/config=0x123,config1=5/",
                            p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 4);
    KT_EQ_INT(l->events[0].type, 11);
    KT_EQ_INT(l->events[0].config[0], 0x1000003F7ull);
    KT_EQ_STR(l->events[0].pmu, "amd_df");
    KT_EQ_STR(l->events[0].name, "amd_df/event=0x1F7,umask=3/");
    KT_EQ_INT(l->events[0].ncpus, 2); /* uncore: opened on the cpumask CPUs 0 and 64 */
    KT_EQ_INT(l->events[0].cpus[0], 0);
    KT_EQ_INT(l->events[0].cpus[1], 64);
    /* enallcores = bit 47, threadmask = bits 56-57 */
    KT_EQ_INT(l->events[1].config[0], 0x1ull | (1ull << 47) | (3ull << 56));
    KT_EQ_INT(l->events[1].ncpus, 16);
    KT_EQ_INT(l->events[2].type, 4);
    KT_EQ_INT(l->events[2].config[0], 0x76 | (1 << 18));
    KT_CHECK(l->events[2].cpus == NULL); /* core PMU, not hybrid: any CPU */
    KT_EQ_INT(l->events[3].config[0], 0x123);
    KT_EQ_INT(l->events[3].config[1], 5);
    kperf_evlist_free(l);
    kperf_pmus_close(p);
}

KT_TEST(aliases_hisi_intel) {
    KT_UNUSED();
    kperf_pmus *p = reg(FX "kunpeng920");
    kperf_evlist *l = parse("hisi_sccl1_ddrc0/flux_rd/,hisi_sccl3_hha1/rx_ops_num/,"
                            "armv8_pmuv3_0/inst_retired/,smmuv3_pmcg_a0020/tlb_miss,"
                            "filter_enable,filter_stream_id=0x42/",
                            p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 4);
    KT_EQ_INT(l->events[0].type, 13);
    KT_EQ_INT(l->events[0].config[0], 0x1);
    KT_EQ_INT(l->events[0].ncpus, 1);
    KT_EQ_INT(l->events[0].cpus[0], 0);
    KT_EQ_INT(l->events[2].type, 8);
    KT_EQ_INT(l->events[2].config[0], 0x8);
    KT_EQ_INT(l->events[3].type, 12);
    KT_EQ_INT(l->events[3].config[0], 0x2);
    KT_EQ_INT(l->events[3].config[1], (1ull << 33) | 0x42);
    kperf_evlist_free(l);
    /* a bare alias found in 4 PMUs becomes 4 events (4 groups) */
    l = parse("rd_ddr_64b", p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 8); /* hha0 and hha1 of 4 SCCLs */
    KT_EQ_INT(l->ngroups, 8);
    KT_EQ_STR(l->events[0].name, "hisi_sccl1_hha0/rd_ddr_64b/");
    KT_EQ_INT(l->events[0].config[0], 0x1c);
    kperf_evlist_free(l);
    /* pmu name without its index: hisi_sccl1_ddrc means ddrc0..3 */
    l = parse("hisi_sccl1_ddrc/flux_wr/", p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 4);
    KT_EQ_STR(l->events[3].pmu, "hisi_sccl1_ddrc3");
    KT_EQ_INT(l->events[3].type, 16);
    kperf_evlist_free(l);
    kperf_pmus_close(p);

    p = reg(FX "intel-skx-2s");
    l = parse("uncore_imc_0/cas_count_read/,uncore_imc/cas_count_write/", p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 7);
    KT_EQ_INT(l->events[0].type, 13);
    KT_EQ_INT(l->events[0].config[0], 0x0304);
    KT_CHECK(l->events[0].scale == 6.103515625e-5);
    KT_EQ_STR(l->events[0].unit, "MiB");
    KT_EQ_INT(l->events[0].ncpus, 2);
    KT_EQ_INT(l->events[0].cpus[1], 20);
    KT_EQ_INT(l->events[6].type, 18);
    KT_EQ_INT(l->events[6].config[0], 0x0c04);
    KT_EQ_STR(l->events[6].name, "uncore_imc_5/cas_count_write/");
    kperf_evlist_free(l);
    /* alias plus override term; name= and period= keywords */
    l = parse("uncore_imc_1/cas_count_read,umask=0xf/,cpu/instructions,name=insn,period=1000/",
              p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->events[0].config[0], 0x0f04);
    KT_EQ_STR(l->events[1].name, "insn");
    KT_EQ_INT(l->events[1].config[0], 0xc0);
    KT_EQ_INT(l->events[1].period, 1000);
    kperf_evlist_free(l);
    kperf_pmus_close(p);
}

static int expect_err(const char *spec, const kperf_pmus *p, int code, const char *msg) {
    kperf_evlist *l = (kperf_evlist *)1;
    int rc = kperf_evlist_parse(&l, spec, p);
    if (rc != code || l != NULL || strncmp(kperf_errmsg(), msg, strlen(msg)) != 0) {
        printf("# %s: rc=%d (want %d) msg=[%s]\n#   want [%s]\n", spec, rc, code, kperf_errmsg(),
               msg);
        return 0;
    }
    return 1;
}

KT_TEST(parse_errors_with_positions) {
    KT_UNUSED();
    kperf_pmus *p = reg(FX "intel-skx-2s");
    KT_CHECK(expect_err("{cycles,instructions", p, -KPERF_EPARSE,
                        "{cycles,instructions: expected '}' at position 20\n"
                        "{cycles,instructions\n                    ^"));
    KT_CHECK(expect_err("cycles,,instructions", p, -KPERF_EPARSE,
                        "cycles,,instructions: expected an event name at position 7"));
    KT_CHECK(expect_err("cycles instructions", p, -KPERF_EPARSE,
                        "cycles instructions: expected ',' at position 7"));
    KT_CHECK(expect_err("cycles:x", p, -KPERF_EPARSE,
                        "cycles:x: unknown modifier 'x' (known: u k h p pp ppp D) at position 7"));
    KT_CHECK(expect_err("cycles:uz", p, -KPERF_EPARSE,
                        "cycles:uz: unknown modifier 'z' (known: u k h p pp ppp D) at position 8"));
    KT_CHECK(expect_err("cycles:pppp", p, -KPERF_EPARSE,
                        "cycles:pppp: at most 3 'p' modifiers (:ppp) at position 7"));
    KT_CHECK(expect_err("cpu/event=0x3c", p, -KPERF_EPARSE,
                        "cpu/event=0x3c: expected '/' closing the terms at position 14"));
    KT_CHECK(expect_err("cpu/event=zz/", p, -KPERF_EPARSE,
                        "cpu/event=zz/: bad value for 'event' (expected a decimal or 0x hex "
                        "number) at position 10"));
    KT_CHECK(expect_err("cpu/foo=1/", p, -KPERF_EPARSE,
                        "cpu/foo=1/: 'foo' is not a format field of cpu (fields: any, cmask, "
                        "edge, event, inv, pc, umask) at position 4"));
    KT_CHECK(expect_err("cpu/call-graph=1/", p, -KPERF_EPARSE,
                        "cpu/call-graph=1/: perf term 'call-graph' is not supported by kperf"));
    KT_CHECK(expect_err("{cycles,{instructions}}", p, -KPERF_EPARSE,
                        "{cycles,{instructions}}: expected an event name at position 8"));
    KT_CHECK(expect_err("cycles}", p, -KPERF_EPARSE,
                        "cycles}: unexpected '}' (no group is open) at position 6"));
    KT_CHECK(expect_err("", p, -KPERF_EPARSE, ": expected an event name at position 0"));
    KT_CHECK(expect_err("sched:sched_switch/prev_pid>0", p, -KPERF_EPARSE,
                        "sched:sched_switch/prev_pid>0: expected '/' closing the tracepoint "
                        "filter at position 29"));
    KT_CHECK(expect_err("cpu/event=0x100/", p, -KPERF_EPARSE,
                        "cpu/event=0x100/: cpu: event=0x100 does not fit the field's 8 bits"));
    kperf_pmus_close(p);
}

KT_TEST(unknown_names_suggest) {
    KT_UNUSED();
    kperf_pmus *p = reg(FX "intel-skx-2s");
    KT_CHECK(expect_err("cyclez", p, -KPERF_ENOEVENT,
                        "cyclez: unknown event; did you mean cycles, cpu-cycles?"));
    KT_CHECK(expect_err("task-clocks", p, -KPERF_ENOEVENT,
                        "task-clocks: unknown event; did you mean task-clock"));
    KT_CHECK(expect_err("cas_count_raed", p, -KPERF_ENOEVENT,
                        "cas_count_raed: unknown event; did you mean cas_count_read"));
    KT_CHECK(expect_err("zzzzqqqq", p, -KPERF_ENOEVENT,
                        "zzzzqqqq: unknown event (`kperf list` shows the events of this machine)"));
    KT_CHECK(expect_err("uncore_imc_0/cas_count_rd/", p, -KPERF_ENOEVENT,
                        "uncore_imc_0/cas_count_rd/: PMU uncore_imc_0 has no event or format "
                        "field 'cas_count_rd'; did you mean cas_count_read"));
    KT_CHECK(expect_err("hisi_sccl1_ddrc0/flux_rd/", p, -KPERF_ENOPMU,
                        "hisi_sccl1_ddrc0/flux_rd/: no PMU named 'hisi_sccl1_ddrc0' under "
                        FX "intel-skx-2s/sys/bus/event_source/devices (PMUs here: breakpoint, "
                        "cpu, kprobe, software, tracepoint, uncore_imc_0, uncore_imc_1, "));
    kperf_pmus_close(p);
}

/* A hybrid machine: cpu_core and cpu_atom with type and cpus files. */
KT_TEST(hybrid_expansion) {
    KT_UNUSED();
    char root[] = "/tmp/kperf-hybrid-XXXXXX", cmd[512];
    KT_CHECK(mkdtemp(root) != NULL);
    snprintf(cmd, sizeof cmd,
             "set -e; d=%s/sys/bus/event_source/devices; mkdir -p $d/cpu_core/format "
             "$d/cpu_atom/format $d/software $d/uncore_imc_0; echo 4 > $d/cpu_core/type; "
             "echo 0-15 > $d/cpu_core/cpus; echo 10 > $d/cpu_atom/type; echo 16-23 > "
             "$d/cpu_atom/cpus; echo config:0-7 > $d/cpu_core/format/event; echo config:0-7 > "
             "$d/cpu_atom/format/event; echo 1 > $d/software/type; echo 14 > "
             "$d/uncore_imc_0/type; echo 0 > $d/uncore_imc_0/cpumask",
             root);
    KT_EQ_INT(system(cmd), 0);
    kperf_pmus *p = reg(root);
    KT_CHECK(p != NULL);
    KT_CHECK(kperf_pmus_hybrid(p));
    kperf_evlist *l = parse("cycles:u,task-clock,{instructions,branch-misses},cpu_atom/event=0x3c/,"
                            "LLC-load-misses", p);
    KT_CHECK(l != NULL);
    /* cycles x2, task-clock, group x2 (2 events each), cpu_atom raw, LLC x2 */
    KT_EQ_INT(l->nevents, 10);
    KT_EQ_INT(l->ngroups, 8);
    const char *pmus[] = {"cpu_atom", "cpu_core"}; /* core PMUs in name order */
    uint64_t types[] = {10, 4};
    for (int i = 0; i < 2; i++) {
        kperf_event *e = &l->events[i];
        KT_EQ_INT(e->type, PERF_TYPE_HARDWARE);
        KT_EQ_INT(e->config[0], types[i] << 32 | PERF_COUNT_HW_CPU_CYCLES);
        KT_EQ_STR(e->pmu, pmus[i]);
        KT_EQ_INT(e->flags, KPERF_EV_EXCLUDE_KERNEL | KPERF_EV_EXCLUDE_HV | KPERF_EV_MODE_SET);
        KT_EQ_INT(e->group, i);
    }
    KT_EQ_STR(l->events[0].name, "cpu_atom/cycles/:u");
    KT_EQ_INT(l->events[0].ncpus, 8);
    KT_EQ_INT(l->events[0].cpus[0], 16);
    KT_EQ_INT(l->events[1].ncpus, 16);
    KT_EQ_INT(l->events[2].type, PERF_TYPE_SOFTWARE);
    KT_EQ_INT(l->events[2].config[0], 1);
    /* {instructions,branch-misses} -> one group per core PMU */
    KT_EQ_INT(l->events[3].group, 3);
    KT_CHECK(l->events[3].leader && !l->events[4].leader);
    KT_EQ_INT(l->events[3].config[0], 10ull << 32 | PERF_COUNT_HW_INSTRUCTIONS);
    KT_EQ_INT(l->events[4].config[0], 10ull << 32 | PERF_COUNT_HW_BRANCH_MISSES);
    KT_EQ_INT(l->events[5].group, 4);
    KT_EQ_INT(l->events[5].config[0], 4ull << 32 | PERF_COUNT_HW_INSTRUCTIONS);
    KT_EQ_STR(l->events[6].pmu, "cpu_core");
    KT_EQ_INT(l->events[7].type, 10);
    KT_EQ_INT(l->events[7].config[0], 0x3c);
    KT_EQ_INT(l->events[8].type, PERF_TYPE_HW_CACHE);
    KT_EQ_INT(l->events[8].config[0], 10ull << 32 | 0x10002);
    KT_EQ_INT(l->events[9].config[0], 4ull << 32 | 0x10002);
    kperf_evlist_free(l);
    /* a group mixing a 2-PMU and... a software event is copied into each */
    l = parse("{cycles,cs}", p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 4);
    KT_EQ_INT(l->ngroups, 2);
    KT_EQ_INT(l->events[3].type, PERF_TYPE_SOFTWARE);
    KT_EQ_INT(l->events[3].group, 1);
    kperf_evlist_free(l);
    kperf_pmus_close(p);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    KT_EQ_INT(system(cmd), 0);
}

static int read_id(const char *path) {
    FILE *f = fopen(path, "r");
    int id = -1;
    if (f) {
        if (fscanf(f, "%d", &id) != 1) id = -1;
        fclose(f);
    }
    return id;
}

KT_TEST(tracepoints) {
    KT_UNUSED();
    int id = read_id("/sys/kernel/tracing/events/syscalls/sys_enter_getpid/id");
    int sw = read_id("/sys/kernel/tracing/events/sched/sched_switch/id");
    if (id < 0 || sw < 0) KT_SKIP("tracefs not readable at /sys/kernel/tracing");
    kperf_evlist *l = parse("syscalls:sys_enter_getpid,sched:sched_switch/prev_pid>0/,"
                            "sched:sched_switch/comm == \"a/b\"/:u", NULL);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 3);
    KT_EQ_INT(l->events[0].type, PERF_TYPE_TRACEPOINT);
    KT_EQ_INT(l->events[0].config[0], id);
    KT_EQ_STR(l->events[0].pmu, "tracepoint");
    KT_CHECK(l->events[0].filter == NULL);
    KT_EQ_INT(l->events[1].config[0], sw);
    KT_EQ_STR(l->events[1].filter, "prev_pid>0");
    KT_EQ_STR(l->events[1].name, "sched:sched_switch");
    KT_EQ_STR(l->events[1].spec, "sched:sched_switch/prev_pid>0/");
    KT_EQ_STR(l->events[2].filter, "comm == \"a/b\"");
    KT_EQ_INT(l->events[2].flags, KPERF_EV_EXCLUDE_KERNEL | KPERF_EV_EXCLUDE_HV | KPERF_EV_MODE_SET);
    kperf_evlist_free(l);
    KT_CHECK(expect_err("sched:sched_swich", NULL, -KPERF_ENOEVENT,
                        "sched:sched_swich: unknown tracepoint (no /sys/kernel/tracing/events/"
                        "sched/sched_swich/id); did you mean sched:sched_switch"));
    KT_CHECK(expect_err("schedd:sched_switch", NULL, -KPERF_ENOEVENT,
                        "schedd:sched_switch: unknown tracepoint (no /sys/kernel/tracing/events/"
                        "schedd/sched_switch/id); did you mean sched:sched_switch?"));
}

KT_TEST(tracepoints_without_tracefs) {
    KT_UNUSED();
    kperf_pmus *p = reg(FX "amd-zen3-2s");
    KT_CHECK(expect_err("sched:sched_switch", p, -KPERF_ENOTRACEFS,
                        "sched:sched_switch: tracefs is not mounted (looked in " FX
                        "amd-zen3-2s/sys/kernel/tracing"));
    kperf_pmus_close(p);
}

KT_TEST(machine_software_events) {
    KT_UNUSED();
    kperf_pmus *m = reg("/");
    if (!kperf_pmus_find(m, "msr")) {
        kperf_pmus_close(m);
        KT_SKIP("no msr PMU on this machine");
    }
    kperf_evlist *l = parse("task-clock,msr/tsc/", m);
    if (!l) KT_FAIL("%s", kperf_errmsg());
    KT_EQ_INT(l->events[0].type, 1);
    const kperf_pmu *msr = kperf_pmus_find(m, "msr");
    if (msr) {
        KT_EQ_INT(l->events[1].type, msr->type);
        KT_EQ_STR(l->events[1].pmu, "msr");
    }
    /* this VM exposes no core PMU: the counting code says "not supported here" */
    KT_EQ_INT(kperf__has_hw_pmu(m), kperf_pmus_find(m, "cpu") != NULL ||
                                        kperf_pmus_find(m, "cpu_core") != NULL);
    kperf_evlist_free(l);
    kperf_pmus_close(m);
}

static int count_cb(const kperf_event_info *info, void *u) {
    int *seen = (int *)u;
    if (!strcmp(info->name, "cycles")) seen[0]++;
    if (!strcmp(info->name, "L1-dcache-load-misses")) seen[1]++;
    if (!strcmp(info->name, "uncore_imc_3/cas_count_read/")) seen[2]++;
    if (!strcmp(info->name, "task-clock")) seen[3]++;
    if (!strcmp(info->name, "cpu/ref-cycles/")) seen[4]++;
    return 0;
}

KT_TEST(listing) {
    KT_UNUSED();
    kperf_pmus *p = reg(FX "intel-skx-2s");
    int seen[5] = {0};
    int n = kperf_events_foreach(p, KPERF_EVENT_KIND_ALL, count_cb, seen);
    /* 10 hw + 42 cache (7 caches, 14 valid ops x 2 results... ) see below */
    KT_CHECK(n > 0);
    for (int i = 0; i < 5; i++) KT_EQ_INT(seen[i], 1);
    char **names;
    size_t nn;
    KT_EQ_INT(kperf_event_names(p, KPERF_EVENT_KIND_UNCORE, &names, &nn), 0);
    KT_EQ_INT(nn, 18); /* 6 IMCs x 3 aliases */
    KT_EQ_STR(names[0], "uncore_imc_0/cas_count_read/");
    KT_EQ_STR(names[17], "uncore_imc_5/clockticks/");
    kperf_event_names_free(names, nn);
    KT_EQ_INT(kperf_event_names(p, KPERF_EVENT_KIND_CORE, &names, &nn), 0);
    /* 10 hw (primary names) + cache: L1d 3 ops, L1i 2, LLC 3, dTLB 3, iTLB 1, branch 1,
     * node 3 = 16 ops x 2 = 32, + 4 cpu aliases */
    KT_EQ_INT(nn, 10 + 32 + 4);
    kperf_event_names_free(names, nn);
    KT_EQ_INT(kperf_event_names(p, KPERF_EVENT_KIND_SOFTWARE, &names, &nn), 0);
    KT_EQ_INT(nn, 12);
    kperf_event_names_free(names, nn);
    kperf_pmus_close(p);
    /* this VM: no core PMU, so no core events */
    KT_EQ_INT(kperf_event_names(NULL, KPERF_EVENT_KIND_CORE, &names, &nn), 0);
    kperf_pmus *m = reg("/");
    if (!kperf__has_hw_pmu(m)) KT_EQ_INT(nn, 0);
    kperf_pmus_close(m);
    kperf_event_names_free(names, nn);
}


/* HiSilicon quirk: a PMU whose cpumask reads -1 has no online CPU. */
KT_TEST(offline_uncore_pmu) {
    KT_UNUSED();
    char root[] = "/tmp/kperf-offline-XXXXXX", cmd[1024];
    KT_CHECK(mkdtemp(root) != NULL);
    snprintf(cmd, sizeof cmd,
             "set -e; d=%s/sys/bus/event_source/devices; for p in hisi_sccl1_ddrc0 "
             "hisi_sccl3_ddrc0; do mkdir -p $d/$p/format $d/$p/events; echo config:0-4 > "
             "$d/$p/format/event; printf config=0x1 > $d/$p/events/flux_rd; done; echo 20 > "
             "$d/hisi_sccl1_ddrc0/type; echo 24 > $d/hisi_sccl1_ddrc0/cpumask; echo 21 > "
             "$d/hisi_sccl3_ddrc0/type; printf event=1,nofield=2 > "
             "$d/hisi_sccl1_ddrc0/events/bad_alias; echo 21 > "
             "$d/hisi_sccl3_ddrc0/type; echo -1 > $d/hisi_sccl3_ddrc0/cpumask",
             root);
    KT_EQ_INT(system(cmd), 0);
    kperf_pmus *p = reg(root);
    KT_CHECK(p != NULL);
    KT_CHECK(kperf_pmus_find(p, "hisi_sccl3_ddrc0")->cpumask_invalid);
    /* expansions skip the offline PMU */
    kperf_evlist *l = parse("flux_rd", p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 1);
    KT_EQ_STR(l->events[0].pmu, "hisi_sccl1_ddrc0");
    kperf_evlist_free(l);
    KT_CHECK(expect_err("hisi_sccl3_ddrc0/flux_rd/", p, -KPERF_ENOTSUP,
                        "hisi_sccl3_ddrc0: the PMU has no online CPU (its cpumask reads -1)"));
    KT_CHECK(expect_err("hisi_sccl1_ddrc0/bad_alias/", p, -KPERF_EPARSE,
                        "hisi_sccl1_ddrc0: a sysfs alias uses 'nofield', which is not a format "
                        "field of the PMU"));
    l = parse("hisi_sccl1_ddrc0/event=0x1f/", p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->events[0].config[0], 0x1f);
    KT_EQ_INT(l->events[0].ncpus, 1);
    KT_EQ_INT(l->events[0].cpus[0], 24);
    kperf_evlist_free(l);
    kperf_pmus_close(p);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    KT_EQ_INT(system(cmd), 0);
}

/* Mutated specs never crash, never succeed silently with garbage, and always explain. */
KT_TEST(fuzz_mutations) {
    KT_UNUSED();
    static const char *const seeds[] = {
        "{cycles,instructions}:u,task-clock", "hisi_sccl1_ddrc0/flux_rd,event=0x3/:k",
        "sched:sched_switch/prev_pid>0 && comm==\"a/b\"/", "L1-dcache-load-misses:ppp",
        "uncore_imc/cas_count_read/,r1a8,cs", "smmuv3_pmcg_a0020/filter_stream_id=0x42,filter_enable/"};
    static const char alphabet[] = "{}/,:=ukhpD0x1fr-_ .\"LEcycl";
    kperf_pmus *kp = reg(FX "kunpeng920"), *mp = reg("/");
    KT_CHECK(kp != NULL && mp != NULL);
    unsigned seed = 12345;
    int ok = 0, bad = 0;
    int iters = kt_iters(14000);
    for (int it = 0; it < iters; it++) {
        kperf_pmus *p = it < iters * 6 / 7 ? kp : mp; /* the machine's: real tracefs, globs */
        char buf[128];
        const char *s = seeds[it % 6];
        size_t n = strlen(s);
        memcpy(buf, s, n + 1);
        for (int k = 0; k < 1 + it % 3; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % (n + 1);
            unsigned op = (seed >> 4) % 3;
            char c = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
            if (op == 0 && at < n) buf[at] = c;                               /* replace */
            else if (op == 1 && n + 1 < sizeof buf) {                         /* insert */
                memmove(buf + at + 1, buf + at, n - at + 1);
                buf[at] = c;
                n++;
            } else if (at < n) {                                              /* delete */
                memmove(buf + at, buf + at + 1, n - at);
                n--;
            }
        }
        kperf_evlist *l = NULL;
        int rc = kperf_evlist_parse(&l, buf, p);
        if (rc == 0) {
            if (!l || !l->nevents) KT_FAIL("'%s' parsed to an empty list", buf);
            for (size_t i = 0; i < l->nevents; i++)
                if (!l->events[i].name || !l->events[i].spec || !l->events[i].pmu)
                    KT_FAIL("'%s': event %zu lacks a name", buf, i);
            ok++;
        } else {
            if (l) KT_FAIL("'%s': list set on failure", buf);
            if (!kperf_errmsg()[0]) KT_FAIL("'%s': no message for %d", buf, rc);
            if (rc != -KPERF_EPARSE && rc != -KPERF_ENOEVENT && rc != -KPERF_ENOPMU &&
                rc != -KPERF_ENOTRACEFS && rc != -KPERF_ENOTSUP)
                KT_FAIL("'%s': unexpected code %d (%s)", buf, rc, kperf_errmsg());
            bad++;
        }
        kperf_evlist_free(l);
    }
    printf("# fuzz: %d parsed, %d rejected\n", ok, bad);
    KT_CHECK(ok > iters / 280 && bad > iters / 14, "ok=%d bad=%d of %d", ok, bad, iters);
    kperf_pmus_close(kp);
    kperf_pmus_close(mp);
}

KT_TEST(tracepoint_globs) {
    KT_UNUSED();
    int a = read_id("/sys/kernel/tracing/events/syscalls/sys_enter_getpid/id");
    int b = read_id("/sys/kernel/tracing/events/syscalls/sys_enter_getppid/id");
    if (a < 0 || b < 0) KT_SKIP("tracefs not readable at /sys/kernel/tracing");
    kperf_evlist *l = parse("syscalls:sys_enter_get?pid", NULL);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 1); /* getppid only: '?' is exactly one character */
    KT_EQ_INT(l->events[0].config[0], b);
    KT_EQ_STR(l->events[0].name, "syscalls:sys_enter_getppid");
    kperf_evlist_free(l);
    l = parse("syscalls:sys_enter_get*pid/common_pid>0/:u", NULL);
    KT_CHECK(l != NULL);
    KT_CHECK(l->nevents >= 2); /* getpid and getppid at least */
    KT_EQ_INT(l->ngroups, (int)l->nevents); /* outside braces: one event each */
    bool saw_a = false, saw_b = false;
    for (size_t i = 0; i < l->nevents; i++) {
        saw_a |= l->events[i].config[0] == (uint64_t)a;
        saw_b |= l->events[i].config[0] == (uint64_t)b;
        KT_EQ_STR(l->events[i].filter, "common_pid>0");
        KT_EQ_INT(l->events[i].flags, KPERF_EV_EXCLUDE_KERNEL | KPERF_EV_EXCLUDE_HV | KPERF_EV_MODE_SET);
    }
    KT_CHECK(saw_a && saw_b);
    size_t n = l->nevents;
    kperf_evlist_free(l);
    l = parse("{task-clock,syscalls:sys_enter_get*pid}", NULL);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, n + 1);
    KT_EQ_INT(l->ngroups, 1); /* inside braces: every match joins the group */
    KT_CHECK(l->events[0].leader && !l->events[n].leader);
    kperf_evlist_free(l);
    KT_CHECK(expect_err("syscalls:nomatch_*", NULL, -KPERF_ENOEVENT,
                        "syscalls:nomatch_*: no tracepoint matches"));
    KT_CHECK(expect_err("cyc*les", NULL, -KPERF_EPARSE,
                        "cyc*les: glob characters are allowed in tracepoint names only at "
                        "position 3"));
}

KT_TEST(pmu_modifiers_after_slash) {
    KT_UNUSED();
    kperf_pmus *p = reg(FX "intel-skx-2s");
    kperf_evlist *l = parse("cpu/event=0x3c/pp,cpu/instructions/uD", p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->events[0].precise, 2);
    KT_EQ_STR(l->events[0].name, "cpu/event=0x3c/:pp");
    KT_EQ_INT(l->events[1].flags,
              KPERF_EV_EXCLUDE_KERNEL | KPERF_EV_EXCLUDE_HV | KPERF_EV_PINNED | KPERF_EV_MODE_SET);
    kperf_evlist_free(l);
    KT_CHECK(expect_err("cpu/event=0x3c/px", p, -KPERF_EPARSE,
                        "cpu/event=0x3c/px: expected ',' at position 15"));
    kperf_pmus_close(p);
}

KT_TEST(breakpoints) {
    KT_UNUSED();
    kperf_pmus *p = reg(FX "intel-skx-2s");
    kperf_evlist *l = parse("mem:0x1000,mem:0x2000/8:w,mem:4096:x:u,mem:0x10/1:r", p);
    KT_CHECK(l != NULL);
    KT_EQ_INT(l->nevents, 4);
    KT_EQ_INT(l->events[0].type, PERF_TYPE_BREAKPOINT);
    KT_EQ_INT(l->events[0].bp_type, 3);
    KT_EQ_INT(l->events[0].config[1], 0x1000);
    KT_EQ_INT(l->events[0].config[2], 4);
    KT_EQ_INT(l->events[1].bp_type, 2);
    KT_EQ_INT(l->events[1].config[2], 8);
    KT_EQ_INT(l->events[2].bp_type, 4);
    KT_EQ_INT(l->events[2].config[1], 4096);
    KT_EQ_INT(l->events[2].config[2], sizeof(long));
    KT_EQ_INT(l->events[2].flags, KPERF_EV_EXCLUDE_KERNEL | KPERF_EV_EXCLUDE_HV | KPERF_EV_MODE_SET);
    KT_EQ_INT(l->events[3].bp_type, 1);
    KT_EQ_INT(l->events[3].config[2], 1);
    struct perf_event_attr a;
    kperf__event_attr(&l->events[1], &a);
    KT_EQ_INT(a.type, PERF_TYPE_BREAKPOINT);
    KT_EQ_INT(a.bp_type, 2);
    KT_EQ_INT(a.bp_addr, 0x2000);
    KT_EQ_INT(a.bp_len, 8);
    KT_EQ_INT(a.sample_period, 1);
    kperf_evlist_free(l);
    KT_CHECK(expect_err("mem:0x1000/3", p, -KPERF_EPARSE,
                        "mem:0x1000/3: breakpoint length must be 1, 2, 4 or 8 at position 11"));
    KT_CHECK(expect_err("mem:0x1000:rx", p, -KPERF_EPARSE,
                        "mem:0x1000:rx: an execute breakpoint cannot also be r/w at position 12"));
    kperf_pmus_close(p);
}

/* A parsed breakpoint opens and counts exactly the writes to a variable. */
static volatile long bp_target;
KT_TEST(breakpoint_counts_writes) {
    KT_UNUSED();
    char spec[64];
    snprintf(spec, sizeof spec, "mem:%p/8:w:u", (void *)&bp_target);
    kperf_evlist *l = parse(spec, NULL);
    KT_CHECK(l != NULL);
    struct perf_event_attr a;
    kperf__event_attr(&l->events[0], &a);
    kperf_evlist_free(l);
    a.disabled = 1;
    int fd = (int)kperf__sys_perf_event_open(&a, 0, -1, -1, 0);
    if (fd < 0) KT_SKIP("cannot open a hardware breakpoint here: %s", strerror(errno));
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
    for (int i = 0; i < 1000; i++) bp_target = i;
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
    long long n = -1;
    KT_EQ_INT(read(fd, &n, sizeof n), sizeof n);
    close(fd);
    /* Some hypervisors accept the breakpoint but never deliver a debug exception:
     * `perf stat -e mem:ADDR/8:w` counts 0 there too. That is the machine, not kperf. */
    if (n == 0) KT_SKIP("the breakpoint opened but never fired: this machine (a VM?) does not deliver hardware watchpoints; perf stat -e mem:ADDR/8:w counts 0 here too");
    KT_EQ_INT(n, 1000);
}

/* The parsed tracepoint attr counts exactly N getpid calls; the filter applies. */
KT_TEST(tracepoint_attr_counts_getpid) {
    KT_UNUSED();
    kperf_evlist *l = NULL;
    if (kperf_evlist_parse(&l, "syscalls:sys_enter_getpid/common_pid != 0/:u", NULL) < 0)
        KT_SKIP("%s", kperf_errmsg());
    struct perf_event_attr a;
    kperf__event_attr(&l->events[0], &a);
    a.disabled = 1;
    a.exclude_kernel = 0; /* tracepoints fire in the kernel */
    int fd = (int)kperf__sys_perf_event_open(&a, 0, -1, -1, 0);
    if (fd < 0) {
        kperf_evlist_free(l);
        KT_SKIP("cannot open the tracepoint: %s", strerror(errno));
    }
    KT_EQ_INT(ioctl(fd, PERF_EVENT_IOC_SET_FILTER, l->events[0].filter), 0);
    kperf_evlist_free(l);
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
    for (int i = 0; i < 250; i++) syscall(SYS_getpid);
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
    long long n = -1;
    KT_EQ_INT(read(fd, &n, sizeof n), sizeof n);
    close(fd);
    KT_EQ_INT(n, 250);
}

int main(void) {
    KT_RUN(generic_and_software);
    KT_RUN(cache_names);
    KT_RUN(raw_and_modifiers);
    KT_RUN(groups);
    KT_RUN(pmu_terms_amd_df);
    KT_RUN(aliases_hisi_intel);
    KT_RUN(parse_errors_with_positions);
    KT_RUN(unknown_names_suggest);
    KT_RUN(hybrid_expansion);
    KT_RUN(tracepoints);
    KT_RUN(tracepoints_without_tracefs);
    KT_RUN(machine_software_events);
    KT_RUN(listing);
    KT_RUN(offline_uncore_pmu);
    KT_RUN(fuzz_mutations);
    KT_RUN(tracepoint_globs);
    KT_RUN(pmu_modifiers_after_slash);
    KT_RUN(breakpoints);
    KT_RUN(breakpoint_counts_writes);
    KT_RUN(tracepoint_attr_counts_getpid);
    KT_EXIT();
}
