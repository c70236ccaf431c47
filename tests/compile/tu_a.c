/* Two translation units: this one holds the implementation, tu_b.c only declarations. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include "kperf_spe.h"
/* A second include of the implementation must be harmless (the inner guard). */
#include "kperf.h"
int tu_b_check(void);
#include <stdio.h>
int main(void) {
    int ok = tu_b_check();
    printf("%s - two_translation_units\n", ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
