/* perf-prof's event syntax in the shared parser: `sys:name/filter/ATTR/.../` attributes
 * (values, repeats, field checks against the format, errors naming the attribute or field)
 * and dynamic probes `uprobe:`/`uretprobe:` through the uprobe PMU of a fixture tree. */
#include "kperf.h"
#include "kt.h"
#include <string.h>

#define FX "tests/fixtures/sysfs/probes"

static kperf_pmus *reg(void) {
    kperf_pmus *p = NULL;
    if (kperf_pmus_open(&p, FX) < 0) printf("# %s\n", kperf_errmsg());
    return p;
}

KT_TEST(every_attribute) {
    KT_UNUSED();
    kperf_pmus *p = reg();
    kperf_evlist *l = NULL;
    int rc = kperf_evlist_parse(&l, "sched:sched_wakeup/pid>1/key=pid/stack/max-stack=8/"
                                "alias=wk/top-by=prio/top-add=target_cpu/top-by=pid/comm=comm/"
                                "num=prio/ptr=common_pid/size=prio/untraced/", p);
    if (rc < 0) printf("# %s\n", kperf_errmsg());
    KT_CHECK(rc == 0 && l && l->nevents == 1);
    if (l && l->nevents == 1) {
        const kperf_event *e = &l->events[0];
        const kperf_event_attrs *a = &e->attrs;
        KT_EQ_STR(e->filter, "pid>1");
        KT_CHECK(e->config[0] == 374);
        KT_CHECK(a->set == (KPERF_EA_STACK | KPERF_EA_MAX_STACK | KPERF_EA_ALIAS | KPERF_EA_KEY |
                            KPERF_EA_TOP_BY | KPERF_EA_TOP_ADD | KPERF_EA_COMM | KPERF_EA_NUM |
                            KPERF_EA_PTR | KPERF_EA_SIZE | KPERF_EA_UNTRACED));
        KT_CHECK(a->max_stack == 8);
        KT_EQ_STR(a->alias, "wk");
        KT_EQ_STR(a->key, "pid");
        KT_EQ_STR(a->top_by, "prio,pid");
        KT_EQ_STR(a->top_add, "target_cpu");
        KT_EQ_STR(a->comm, "comm");
        KT_EQ_STR(a->num, "prio");
        KT_EQ_STR(a->ptr, "common_pid");
        KT_EQ_STR(a->size, "prio");
        KT_CHECK(kperf_event_attrs_check(l, ~0u, "t") == 0);
        KT_CHECK(kperf_event_attrs_check(l, KPERF_EA_KEY | KPERF_EA_STACK, "kperf x") ==
                 -KPERF_EPARSE);
        KT_CHECK(strstr(kperf_errmsg(), "attribute 'max-stack' is not used by kperf x (it "
                                        "uses: stack key=)") != NULL);
    }
    kperf_evlist_free(l);
    /* empty filter, attributes only; and no attributes at all */
    KT_CHECK(kperf_evlist_parse(&l, "sched:sched_wakeup//key=pid/,sched:sched_wakeup", p) == 0);
    if (l) {
        KT_CHECK(l->nevents == 2 && !l->events[0].filter && l->events[0].attrs.set == KPERF_EA_KEY);
        KT_CHECK(l->events[1].attrs.set == 0 && !l->events[1].attrs.key);
    }
    kperf_evlist_free(l);
    kperf_pmus_close(p);
}

KT_TEST(attribute_errors) {
    KT_UNUSED();
    kperf_pmus *p = reg();
    kperf_evlist *l = (kperf_evlist *)1;
    KT_CHECK(kperf_evlist_parse(&l, "sched:sched_wakeup//kee=pid/", p) == -KPERF_EPARSE);
    KT_CHECK(l == NULL);
    KT_CHECK(strstr(kperf_errmsg(), "unknown attribute") && strstr(kperf_errmsg(), "position 20"));
    KT_CHECK(kperf_evlist_parse(&l, "sched:sched_wakeup//key=pidd/", p) == -KPERF_EPARSE);
    KT_EQ_STR(kperf_errmsg(), "sched:sched_wakeup: key=pidd: the event has no field 'pidd' "
                                 "(fields: comm pid prio target_cpu)");
    KT_CHECK(kperf_evlist_parse(&l, "sched:sched_wakeup//top-by=prio/top-by=nope/", p) ==
             -KPERF_EPARSE);
    KT_CHECK(strstr(kperf_errmsg(), "no field 'nope'") != NULL);
    KT_CHECK(kperf_evlist_parse(&l, "sched:sched_wakeup//max-stack=0/", p) == -KPERF_EPARSE);
    KT_CHECK(kperf_evlist_parse(&l, "sched:sched_wakeup//stack=1/", p) == -KPERF_EPARSE);
    KT_CHECK(strstr(kperf_errmsg(), "takes no value") != NULL);
    KT_CHECK(kperf_evlist_parse(&l, "sched:sched_wakeup//key=/", p) == -KPERF_EPARSE);
    KT_CHECK(kperf_evlist_parse(&l, "sched:sched_wakeup//key=pid", p) == -KPERF_EPARSE);
    KT_CHECK(strstr(kperf_errmsg(), "expected '/' closing the attribute") != NULL);
    kperf_pmus_close(p);
}

KT_TEST(uprobe_pmu) {
    KT_UNUSED();
    kperf_pmus *p = reg();
    kperf_evlist *l = NULL;
    int rc = kperf_evlist_parse(&l, "uprobe:0x40@\"tests/kt.h\",uretprobe:0x10+0x2@tests/kt.h",
                                p);
    if (rc < 0) printf("# %s\n", kperf_errmsg());
    KT_CHECK(rc == 0 && l && l->nevents == 2);
    if (l && l->nevents == 2) {
        const kperf_event *u = &l->events[0], *r = &l->events[1];
        KT_CHECK(u->type == 8 && r->type == 8);
        KT_CHECK(u->config[0] == 0 && r->config[0] == 1); /* retprobe = config:0 */
        KT_EQ_STR(u->probe_path, "tests/kt.h");
        KT_CHECK(u->config[1] == (uint64_t)(uintptr_t)u->probe_path);
        KT_CHECK(u->config[2] == 0x40 && r->config[2] == 0x12);
        KT_EQ_STR(u->name, "uprobe:0x40@\"tests/kt.h\"");
    }
    kperf_evlist_free(l);
    /* a name needs a resolver (kperf_symbols.h has one); none is installed here */
    kperf_probe_resolver_set(NULL, NULL);
    KT_CHECK(kperf_evlist_parse(&l, "uprobe:main@\"tests/kt.h\"", p) == -KPERF_ENOTSUP);
    KT_CHECK(strstr(kperf_errmsg(), "kperf_probe_resolver_set") != NULL);
    KT_CHECK(kperf_evlist_parse(&l, "uprobe:0x40@\"tests/no-such-file\"", p) == -ENOENT);
    KT_CHECK(strstr(kperf_errmsg(), "is not a regular file") != NULL);
    KT_CHECK(kperf_evlist_parse(&l, "uprobe:0x40@\"tests/kt.h\"/x>1/", p) == -KPERF_EPARSE);
    KT_CHECK(kperf_evlist_parse(&l, "uprobe:0x40@\"tests/kt.h\"//key=x/", p) == -KPERF_EPARSE);
    KT_CHECK(kperf_evlist_parse(&l, "uprobe:0x40@\"tests/kt.h\"//stack/alias=u/", p) == 0);
    if (l) KT_CHECK(l->events[0].attrs.set == (KPERF_EA_STACK | KPERF_EA_ALIAS) &&
                    !strcmp(l->events[0].name, "u"));
    kperf_evlist_free(l);
    KT_CHECK(kperf_evlist_parse(&l, "uprobe:f", p) == -KPERF_EPARSE); /* no @file */
    /* no kprobe PMU and no kprobe_events in the fixture's tracefs */
    KT_CHECK(kperf_evlist_parse(&l, "kprobe:do_sys_open", p) < 0);
    KT_CHECK(strstr(kperf_errmsg(), "no kprobe PMU") != NULL);
    kperf_pmus_close(p);
}

int main(void) {

    KT_RUN(every_attribute);
    KT_RUN(attribute_errors);
    KT_RUN(uprobe_pmu);
    KT_EXIT();
}
