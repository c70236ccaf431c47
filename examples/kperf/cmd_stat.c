/* kperf stat: placeholder until its issue lands; exits 2 so no test can pass on it.
 * `-M` (device metrics) is handed over to cmd_stat_metrics (cmd_metrics.c). */
#include "kperf_cli.h"
#include <string.h>
int cmd_stat(int argc, char **argv) {
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strncmp(argv[i], "-M", 2) || !strcmp(argv[i], "--metrics"))
            return cmd_stat_metrics(argc, argv);
    fprintf(stderr, "kperf %s: not built yet\n", argv[0]);
    return 2;
}
