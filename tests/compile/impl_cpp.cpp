// The implementation must compile as C++11 too.
#define KPERF_IMPLEMENTATION
#include "kperf.h"
#include "kperf_symbols.h"
#include "kperf_spe.h"
#include <cstdio>
#include <cstring>
int main() {
    int ok = std::strcmp(kperf_strerror(-KPERF_EPARSE), "malformed specification") == 0;
    std::printf("%s - cxx11_implementation\n", ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
