/* Symbolizer fixture: many code shapes for the addr2line/llvm-symbolizer oracle tests
 * (tests/test_symbols_oracle.sh builds it at test time in many ways). Also built by the
 * Makefile as a plain program; with -DSYM_AS_LIB it is a shared library (no main). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOINLINE __attribute__((noinline))
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

static volatile int sink;

static inline int sq(int x) { return x * x; }
static inline int cube(int x) { return sq(x) * x; }
static inline int poly(int x) { return cube(x) + 3 * sq(x) + 7; }
static inline __attribute__((always_inline)) int mix(int a, int b) {
    int r = a ^ (b << 3);
    r += poly(a & 15);
    return r;
}

NOINLINE static void report_error(const char *what, int code) {
    fprintf(stderr, "error %s %d\n", what, code);
    if (code > 1000) abort();
}

NOINLINE int sym_checked_div(int a, int b) {
    if (UNLIKELY(b == 0)) {
        report_error("div by zero", a);
        sink = a;
        return -1;
    }
    return a / b;
}

NOINLINE int sym_switchy(int k) {
    int r = 0;
    switch (k & 7) {
    case 0: r = mix(k, 1); break;
    case 1: r = mix(k, 2) + sq(k); break;
    case 2: r = cube(k) - 1; break;
    case 3: for (int i = 0; i < k; i++) r += i * k; break;
    case 4: r = sym_checked_div(k, k - 4); break;
    case 5: r = poly(k) ^ mix(k, k); break;
    default: r = -k; break;
    }
    return r;
}

static NOINLINE int helper_const(int x, int mode) {
    if (mode == 1) return x * 3 + 1;
    if (mode == 2) return x * 5 - 2;
    return x;
}

NOINLINE int sym_uses_clone(int x) { return helper_const(x, 1) + helper_const(x + 1, 1); }

NOINLINE int sym_recursive(int n) { return n <= 1 ? 1 : n * sym_recursive(n - 1) % 1000003; }

typedef int (*sym_fn)(int);
static int op_a(int x) { return mix(x, 5); }
static int op_b(int x) { return poly(x) + 1; }
static int op_c(int x) { return sym_switchy(x) * 2; }
static const sym_fn ops[] = {op_a, op_b, op_c};

NOINLINE int sym_dispatch(int i, int x) { return ops[i % 3](x); }

NOINLINE int sym_loop_nest(int n) {
    int acc = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < i; j++) {
            if ((i + j) % 3 == 0) acc += mix(i, j);
            else if ((i ^ j) & 1) acc -= sq(j);
            else acc ^= cube(i);
        }
    return acc;
}

NOINLINE char *sym_strings(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *r = malloc(la + lb + 2);
    if (UNLIKELY(!r)) {
        report_error("oom", (int)(la + lb));
        return NULL;
    }
    memcpy(r, a, la);
    r[la] = '/';
    memcpy(r + la + 1, b, lb + 1);
    return r;
}

NOINLINE int sym_run_all(int n) {
    int t = 0;
    for (int i = 0; i < n; i++) {
        t += sym_switchy(i) + sym_uses_clone(i) + sym_dispatch(i, i + 1);
        t ^= sym_loop_nest(i % 9) + sym_recursive(i % 12);
    }
    char *s = sym_strings("a", "b");
    t += s ? s[0] : 0;
    free(s);
    return t;
}

#ifndef SYM_AS_LIB
int main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--wait")) { /* stay alive until stdin closes */
        printf("ready %d\n", sym_run_all(20));
        fflush(stdout);
        while (getchar() != EOF) continue;
        return 0;
    }
    printf("%d\n", sym_run_all(argc * 20));
    return 0;
}
#endif
