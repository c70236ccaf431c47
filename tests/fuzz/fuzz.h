/* fuzz.h - shared helpers of the libFuzzer harnesses in tests/fuzz/ (see docs/security.md).
 * Each harness is one fuzz_NAME.c defining LLVMFuzzerTestOneInput over one parser of
 * untrusted input; they link the implementation object build-fuzz/impl.o (clang with
 * -fsanitize=fuzzer-no-link,address,undefined). Files a parser reads by path are written
 * into a private scratch directory, removed at exit. */
#ifndef KPERF_FUZZ_H
#define KPERF_FUZZ_H
#include "kperf.h"
#include "kperf_spe.h"
#include "kperf_symbols.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fz_dir_[64];

#define FZ_FN static __attribute__((unused))

static void fz_cleanup(void) {
    char cmd[128];
    if (!fz_dir_[0]) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir_);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fz_dir_);
}

/* The scratch directory of this process. */
FZ_FN const char *fz_dir(void) {
    if (!fz_dir_[0]) {
        snprintf(fz_dir_, sizeof fz_dir_, "/tmp/kperf_fuzz_XXXXXX");
        if (!mkdtemp(fz_dir_)) abort();
        atexit(fz_cleanup);
    }
    return fz_dir_;
}

/* Creates the directories of a path under the scratch directory. */
FZ_FN void fz_mkdirs(const char *path) {
    char p[1024];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
}

/* Writes n bytes to dir/rel (directories created) and returns the full path (static). */
FZ_FN const char *fz_put(const char *rel, const void *data, size_t n) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", fz_dir(), rel);
    fz_mkdirs(path);
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    fclose(f);
    return path;
}

/* A NUL-terminated copy of the input (free it). */
FZ_FN char *fz_str(const uint8_t *d, size_t n) {
    char *s = (char *)malloc(n + 1);
    if (!s) abort();
    memcpy(s, d, n);
    s[n] = 0;
    return s;
}

/* Splits the input at "\n--\n" lines into at most max chunks (pointers into d). */
FZ_FN size_t fz_split(const uint8_t *d, size_t n, const uint8_t **part, size_t *len, size_t max) {
    size_t k = 0, start = 0;
    for (size_t i = 0; i + 4 <= n && k + 1 < max; i++)
        if (!memcmp(d + i, "\n--\n", 4)) {
            part[k] = d + start, len[k] = i - start, k++;
            start = i + 4;
            i += 3;
        }
    part[k] = d + start, len[k] = n - start;
    return k + 1;
}
#endif
