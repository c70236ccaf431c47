// A C++11 translation unit that uses the public API; the implementation comes from a C
// translation unit (tu_impl.c), as STYLE.md allows the implementation to use C11.
#include "kperf.h"
#include "kperf_symbols.h"
#include "kperf_spe.h"
#include <cstdio>
#include <cstring>
int main() {
    int ok = std::strcmp(kperf_strerror(-KPERF_EPARSE), "malformed specification") == 0;
    std::printf("%s - cxx11_translation_unit\n", ok ? "ok" : "FAIL");
    return ok ? 0 : 1;
}
