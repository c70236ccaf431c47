/* The implementation for impl_cpp.cpp. */
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include "kperf_spe.h"
