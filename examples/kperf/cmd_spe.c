/* kperf spe-decode: placeholder until its issue lands; exits 2 so no test can pass on it. */
#include "kperf_cli.h"
int cmd_spe_decode(int argc, char **argv) {
    (void)argc;
    fprintf(stderr, "kperf %s: not built yet\n", argv[0]);
    return 2;
}
int cmd_spe_record(int argc, char **argv) {
    (void)argc;
    fprintf(stderr, "kperf %s: not built yet\n", argv[0]);
    return 2;
}
