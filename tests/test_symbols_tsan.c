/* tests/test_symbols_parallel.c built with -fsanitize=thread (its own rule in the Makefile,
 * with the implementation compiled into it): the preload threads, the lookups racing them
 * and the libdw lock under ThreadSanitizer. */
#define KPERF_IMPLEMENTATION
#define KT_NADDR 3000
#include "test_symbols_parallel.c"
