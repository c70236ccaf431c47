/* kperf list [core|uncore|tracepoint|sw|other|all] [--sysfs ROOT] [--metrics]
 * Lists the events of this machine (or of a sysfs tree) by kind, one per line:
 *     NAME    [kind: PMU terms]
 * Hands `--metrics` over to cmd_list_metrics (cmd_metrics.c). */
#include "kperf_cli.h"
#include <string.h>

static const char *kind_name(enum kperf_event_kind k) {
    switch (k) {
    case KPERF_EVENT_KIND_CORE: return "core";
    case KPERF_EVENT_KIND_UNCORE: return "uncore";
    case KPERF_EVENT_KIND_TRACEPOINT: return "tracepoint";
    case KPERF_EVENT_KIND_SOFTWARE: return "software";
    case KPERF_EVENT_KIND_OTHER: return "other";
    default: return "all";
    }
}

static int print_event(const kperf_event_info *info, void *user) {
    (void)user;
    if (info->kind == KPERF_EVENT_KIND_TRACEPOINT)
        printf("  %-48s [tracepoint]\n", info->name);
    else
        printf("  %-48s [%s: %s]\n", info->name, kind_name(info->kind), info->desc);
    return 0;
}

enum { LIST_SYSFS = CLI_LONG_ONLY, LIST_METRICS, LIST_ALL };

static const cli_opt list_opts[] = {
    {LIST_SYSFS, "sysfs", "ROOT", "read PMUs from a fake sysfs tree (also KPERF_SYSFS_ROOT)"},
    {LIST_METRICS, "metrics", NULL, "the device metrics this machine supports"},
    {LIST_ALL, "all", NULL, "with --metrics: also the others, with what each needs"},
    {0, NULL, NULL, NULL}};

static const cli_cmd list_cmd = {
    "list", "[core|uncore|tracepoint|sw|other|all] [options]",
    "Lists the events of this machine (or of a sysfs tree) by kind, one per line:\n"
    "  NAME    [kind: PMU terms]",
    list_opts, CLI_OPERANDS, NULL};

typedef struct list_state {
    const char *root;
    bool metrics, all;
} list_state;

static int list_opt(int key, const char *v, void *user) {
    list_state *o = (list_state *)user;
    if (key == LIST_SYSFS) return o->root = v, 0;
    if (key == LIST_METRICS) return o->metrics = true, 0;
    if (key == LIST_ALL) return o->all = true, 0;
    return 1;
}

static int list_kind(const char *a, enum kperf_event_kind *kind) {
    if (!strcmp(a, "core") || !strcmp(a, "hw")) *kind = KPERF_EVENT_KIND_CORE;
    else if (!strcmp(a, "uncore")) *kind = KPERF_EVENT_KIND_UNCORE;
    else if (!strcmp(a, "tracepoint") || !strcmp(a, "trace")) *kind = KPERF_EVENT_KIND_TRACEPOINT;
    else if (!strcmp(a, "sw") || !strcmp(a, "software")) *kind = KPERF_EVENT_KIND_SOFTWARE;
    else if (!strcmp(a, "other")) *kind = KPERF_EVENT_KIND_OTHER;
    else if (!strcmp(a, "all")) *kind = KPERF_EVENT_KIND_ALL;
    else return -1;
    return 0;
}

int cmd_list(int argc, char **argv) {
    list_state o = {NULL, false, false};
    enum kperf_event_kind kind = KPERF_EVENT_KIND_ALL;
    cli_args ca;
    int prc = cli_parse(&list_cmd, argc, argv, &ca, list_opt, &o);
    if (prc != CLI_OK) return prc == CLI_HELP ? 0 : 2;
    const char *bad = ca.nrest > 1 ? "one kind at a time" : ca.nrest && o.metrics
                      ? "--metrics lists device metrics, not a kind of event"
                      : o.all && !o.metrics ? "--all goes with --metrics" : NULL;
    if (bad) return cli_args_free(&ca), cli_usage_error("list", "%s", bad);
    for (int i = 0; i < ca.nrest; i++)
        if (list_kind(ca.rest[i], &kind) < 0) {
            cli_args_free(&ca);
            return cli_usage_error("list", "unknown kind '%s' (core, uncore, tracepoint, sw, "
                                           "other, all)", ca.rest[i]);
        }
    cli_args_free(&ca);
    if (o.metrics) return cmd_list_metrics(o.root, o.all);
    const char *root = o.root;
    kperf_pmus *pmus;
    if (kperf_pmus_open(&pmus, root) < 0) return cli_fail("list");
    if ((kind == KPERF_EVENT_KIND_CORE || kind == KPERF_EVENT_KIND_ALL)) {
        bool hw = false;
        for (size_t i = 0; i < kperf_pmus_count(pmus); i++) hw |= kperf_pmus_at(pmus, i)->is_core;
        if (!hw)
            printf("# no hardware PMU is exposed here (virtual machine?): no core events\n");
    }
    int n = kperf_events_foreach(pmus, kind, print_event, NULL);
    kperf_pmus_close(pmus);
    if (n < 0) return cli_fail("list");
    if (n == 0) printf("# no %s events\n", kind_name(kind));
    return 0;
}
