/* The one translation unit of the kperf tool that instantiates the headers. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_spe.h"
#include "kperf_symbols.h"
