// The public half alone must compile as C++11 with every warning.
#include "kperf.h"
#include "kperf_symbols.h"
#include "kperf_spe.h"
int kperf_decl_only_cxx();
int kperf_decl_only_cxx() { return kperf_strerror(-KPERF_EPARSE) != nullptr; }
