/* KPERF_STATIC: every function is static; nm shows no kperf symbol with external linkage. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include "kperf_spe.h"
#include <stdio.h>
int main(void) {
    int ok = kperf_strerror(-KPERF_ENOTSUP) != NULL;
    printf("%s - static_build\n", ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
