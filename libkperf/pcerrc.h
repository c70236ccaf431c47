/* pcerrc.h - libkperf's error reporting (Perror, Perrorno) for the kperf drop-in.
 * SPDX-License-Identifier: MIT
 *
 * Every libkperf call resets the calling thread's error; a failed call sets it. The codes
 * are kperf's: an errno value or a KPERF_E* value (kperf.h; kperf_strerror() names it).
 * See docs/python.md. */
/** @file pcerrc.h
 *  @brief libkperf's per-thread error state: Perror() and Perrorno(). */
#ifndef KPERF_LIBKPERF_PCERRC_H
#define KPERF_LIBKPERF_PCERRC_H

/** Perrorno() of a call that succeeded. */
#define SUCCESS 0

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The message of the calling thread's last error ("success" when none). */
const char *Perror(void);
/** @brief The calling thread's last error code: 0 for success, else the positive kperf
 *  code (an errno value or a KPERF_E* value; kperf_strerror() names it). */
int Perrorno(void);

#ifdef __cplusplus
}
#endif
#endif // KPERF_LIBKPERF_PCERRC_H
