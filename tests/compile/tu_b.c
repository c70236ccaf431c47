#include "kperf.h"
#include "kperf_symbols.h"
#include "kperf_spe.h"
#include <string.h>
int tu_b_check(void);
int tu_b_check(void) { return strcmp(kperf_version_string(), "0.1.0") == 0; }
