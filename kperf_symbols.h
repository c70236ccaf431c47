/* kperf_symbols.h - v0.1.0 - addresses to `function (file:line)` with inline frames.
 * SPDX-License-Identifier: MIT
 *
 * Part of kperf. Include kperf.h first. Needs libelf and libdw (link -lelf -ldw).
 * The implementation is instantiated by the same `#define KPERF_IMPLEMENTATION` that
 * instantiates kperf.h (in exactly one file).
 */
#ifndef KPERF_SYMBOLS_H_INCLUDED
#define KPERF_SYMBOLS_H_INCLUDED
#ifndef KPERF_H_INCLUDED
#error "kperf_symbols.h: include kperf.h before kperf_symbols.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

// >>symbols -----------------------------------------------------------------------------
// <<symbols

#ifdef __cplusplus
}
#endif
#endif // KPERF_SYMBOLS_H_INCLUDED

#ifdef KPERF_IMPLEMENTATION
#ifndef KPERF_SYMBOLS_IMPL_INCLUDED
#define KPERF_SYMBOLS_IMPL_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

// >>symbols -----------------------------------------------------------------------------
// <<symbols

#ifdef __cplusplus
}
#endif
#endif // KPERF_SYMBOLS_IMPL_INCLUDED
#endif // KPERF_IMPLEMENTATION
