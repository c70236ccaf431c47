/* kperf stat -M / kperf list --metrics: placeholder until the device issue lands. */
#include "kperf_cli.h"
int cmd_stat_metrics(int argc, char **argv) {
    (void)argc;
    fprintf(stderr, "kperf %s -M: not built yet\n", argv[0]);
    return 2;
}
int cmd_list_metrics(int argc, char **argv) {
    (void)argc;
    fprintf(stderr, "kperf %s --metrics: not built yet\n", argv[0]);
    return 2;
}
