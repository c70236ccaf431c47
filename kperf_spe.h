/* kperf_spe.h - v0.1.0 - Arm SPE: discovery, filters, AUX area and a portable packet decoder.
 * SPDX-License-Identifier: MIT
 *
 * Part of kperf. Include kperf.h first. No dependency beyond kperf.h; the decoder runs on any architecture.
 * The implementation is instantiated by the same `#define KPERF_IMPLEMENTATION` that
 * instantiates kperf.h (in exactly one file).
 */
#ifndef KPERF_SPE_H_INCLUDED
#define KPERF_SPE_H_INCLUDED
#ifndef KPERF_H_INCLUDED
#error "kperf_spe.h: include kperf.h before kperf_spe.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

// >>spe -----------------------------------------------------------------------------
// <<spe

#ifdef __cplusplus
}
#endif
#endif // KPERF_SPE_H_INCLUDED

#ifdef KPERF_IMPLEMENTATION
#ifndef KPERF_SPE_IMPL_INCLUDED
#define KPERF_SPE_IMPL_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

// >>spe -----------------------------------------------------------------------------
// <<spe

#ifdef __cplusplus
}
#endif
#endif // KPERF_SPE_IMPL_INCLUDED
#endif // KPERF_IMPLEMENTATION
