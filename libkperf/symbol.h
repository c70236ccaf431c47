/* symbol.h - libkperf's symbol types (Symbol, Stack) for the kperf drop-in.
 * SPDX-License-Identifier: MIT
 *
 * Part of kperf's libkperf drop-in (libkperf/pmu.h, pcerrc.h, symbol.h + build/libkperf.so):
 * a libkperf program builds unchanged with `cc prog.c -Ilibkperf -Lbuild -lkperf`.
 * See docs/python.md. */
/** @file symbol.h
 *  @brief libkperf's symbol types: one symbolized address and the call-stack list. */
#ifndef KPERF_LIBKPERF_SYMBOL_H
#define KPERF_LIBKPERF_SYMBOL_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One symbolized address (libkperf's Symbol). Strings live as long as their PmuData. */
typedef struct Symbol {
    unsigned long addr;         /**< the address */
    char *module;               /**< module path; NULL when nothing maps addr */
    char *symbolName;           /**< demangled function name; NULL when unknown */
    char *mangleName;           /**< the name as the binary spells it; NULL when unknown */
    char *fileName;             /**< source file (RESOLVE_ELF_DWARF); NULL when unknown */
    unsigned int lineNum;       /**< source line; 0 when unknown */
    unsigned long offset;       /**< addr minus the function's start */
    unsigned long codeMapEndAddr; /**< end of the function (start when unknown) */
    unsigned long codeMapAddr;  /**< address in the module's own address space */
    uint64_t count;             /**< number of frames of this read that share the symbol */
} Symbol;

/** One frame of a call stack (libkperf's Stack), a doubly linked list from the sampled
 *  instruction (first) to the outermost caller. */
typedef struct Stack {
    Symbol *symbol;         /**< the frame's symbol */
    struct Stack *next;     /**< the caller; NULL at the outermost frame */
    struct Stack *prev;     /**< the callee; NULL at the first frame */
    uint64_t count;         /**< 1 */
} Stack;

#ifdef __cplusplus
}
#endif
#endif // KPERF_LIBKPERF_SYMBOL_H
