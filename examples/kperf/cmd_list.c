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

static int usage(FILE *f) {
    fprintf(f, "usage: kperf list [core|uncore|tracepoint|sw|other|all] [--sysfs ROOT]\n"
               "       kperf list --metrics\n"
               "Lists events by kind (default: all). --sysfs reads PMUs from a fake sysfs tree\n"
               "(also KPERF_SYSFS_ROOT).\n");
    return f == stderr ? 2 : 0;
}

int cmd_list(int argc, char **argv) {
    const char *root = NULL;
    enum kperf_event_kind kind = KPERF_EVENT_KIND_ALL;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--metrics")) return cmd_list_metrics(argc, argv);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) return usage(stdout);
        if (!strcmp(a, "--sysfs") && i + 1 < argc) root = argv[++i];
        else if (!strncmp(a, "--sysfs=", 8)) root = a + 8;
        else if (!strcmp(a, "core") || !strcmp(a, "hw")) kind = KPERF_EVENT_KIND_CORE;
        else if (!strcmp(a, "uncore")) kind = KPERF_EVENT_KIND_UNCORE;
        else if (!strcmp(a, "tracepoint") || !strcmp(a, "trace")) kind = KPERF_EVENT_KIND_TRACEPOINT;
        else if (!strcmp(a, "sw") || !strcmp(a, "software")) kind = KPERF_EVENT_KIND_SOFTWARE;
        else if (!strcmp(a, "other")) kind = KPERF_EVENT_KIND_OTHER;
        else if (!strcmp(a, "all")) kind = KPERF_EVENT_KIND_ALL;
        else {
            fprintf(stderr, "kperf list: unknown argument '%s'\n", a);
            return usage(stderr);
        }
    }
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
