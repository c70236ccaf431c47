/* kperf stat: placeholder until its issue lands; exits 2 so no test can pass on it. */
#include "kperf_cli.h"
int cmd_stat(int argc, char **argv) {
    (void)argc;
    fprintf(stderr, "kperf %s: not built yet\n", argv[0]);
    return 2;
}
