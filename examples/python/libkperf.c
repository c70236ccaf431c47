/* The one translation unit of build/python/libkperf.so (`make python`): kperf with
 * libkperf's C names (KPERF_LIBKPERF_API), loaded by the Python package through ctypes. */
#define KPERF_IMPLEMENTATION
#define KPERF_LIBKPERF_API
#include "kperf.h"
#include "kperf_spe.h"
#include "kperf_symbols.h"
