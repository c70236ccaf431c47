/* kt.h - the tiny test harness every kperf test program uses.
 *
 * A test program prints one line per check:
 *     ok - NAME
 *     FAIL - NAME: why (file:line)
 *     SKIP - NAME: why (a missing PMU, privilege or tool)
 * tests/run.sh counts these lines over every test program and prints the totals.
 * A program that exits non-zero without printing a FAIL line counts as one failure.
 */
#ifndef KT_H
#define KT_H
/* Tests link one implementation object instead of instantiating the headers, so the
 * system headers they use come from here rather than from the implementation half. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int kt_failed_ = 0;

/* Marks the current test failed with a printf-style reason. */
static inline void kt_fail_(const char *name, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL - %s: ", name);
    vprintf(fmt, ap);
    printf(" (%s:%d)\n", file, line);
    va_end(ap);
    fflush(stdout);
    kt_failed_++;
}

/* KT_TEST(name) { ... } defines a test; KT_RUN(name) runs it and prints ok unless a
 * check failed or it skipped. */
#define KT_TEST(name) static void kt_test_##name(const char *kt_name_, int *kt_bad_, int *kt_skip_)
/* KT_ONLY=name (make check T=program:name) runs one test of a program. */
static inline int kt_selected_(const char *name) {
    const char *only = getenv("KT_ONLY");
    return !only || !*only || strcmp(only, name) == 0;
}
#define KT_RUN(name)                                                                           \
    do {                                                                                       \
        int bad_ = 0, skip_ = 0;                                                               \
        if (!kt_selected_(#name)) break;                                                       \
        kt_test_##name(#name, &bad_, &skip_);                                                  \
        if (!bad_ && !skip_) printf("ok - %s\n", #name);                                       \
        fflush(stdout);                                                                        \
    } while (0)

#define KT_FAIL(...)                                                                           \
    do {                                                                                       \
        kt_fail_(kt_name_, __FILE__, __LINE__, __VA_ARGS__);                                   \
        *kt_bad_ = 1;                                                                          \
        return;                                                                                \
    } while (0)
#define KT_SKIP(...)                                                                           \
    do {                                                                                       \
        printf("SKIP - %s: ", kt_name_);                                                       \
        printf(__VA_ARGS__);                                                                   \
        printf("\n");                                                                          \
        fflush(stdout);                                                                        \
        *kt_skip_ = 1;                                                                         \
        return;                                                                                \
    } while (0)
#define KT_CHECK(cond, ...)                                                                    \
    do {                                                                                       \
        if (!(cond)) KT_FAIL("check `" #cond "` failed: " __VA_ARGS__);                        \
    } while (0)
#define KT_EQ_INT(a, b)                                                                        \
    do {                                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                                    \
        if (a_ != b_) KT_FAIL("%s == %lld, expected %s == %lld", #a, a_, #b, b_);              \
    } while (0)
#define KT_EQ_STR(a, b)                                                                        \
    do {                                                                                       \
        const char *a_ = (a), *b_ = (b);                                                       \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                                                 \
            KT_FAIL("%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
    } while (0)
/* Silences unused-parameter warnings in tests that never skip or fail by macro. */
#define KT_UNUSED() ((void)kt_name_, (void)kt_bad_, (void)kt_skip_)

/* Exit status for main(): 1 when any test failed. */
#define KT_EXIT() return kt_failed_ ? 1 : 0

/* Iterations for a randomised loop: n, or a tenth of n under valgrind and in the emulated
 * arm64 guest (KPERF_UNDER_VALGRIND, KPERF_TEST_QUICK), where the same loop is 20-50x slower
 * and its full count already ran natively (plain and ASan passes, and tests/fuzz/). */
static inline int kt_iters(int n) {
    return getenv("KPERF_UNDER_VALGRIND") || getenv("KPERF_TEST_QUICK") ? (n + 9) / 10 : n;
}

#endif
