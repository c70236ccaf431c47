/* The public half alone must compile as strict C99 with every warning. */
#include "kperf.h"
#include "kperf_symbols.h"
#include "kperf_spe.h"
int kperf_decl_only_c99(void);
int kperf_decl_only_c99(void) { return kperf_strerror(-KPERF_EPARSE) != 0; }
