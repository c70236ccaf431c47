/* jit_hot MODE SECONDS [DIR]: generates x86-64 machine code at run time (a counting loop),
 * describes it the way JITs do, and runs hot in it for SECONDS of CPU time.
 *   MODE map   /tmp/perf-PID.map names it jit_hot_from_map
 *   MODE dump  DIR/jit-PID.dump (CODE_LOAD + DEBUG_INFO records; the file is mmap'd
 *              executable, as JITs do, so that recorders see where it is) names it
 *              jit_hot_from_dump, at jit_source.js:42 (the loop at line 43)
 *   MODE both  both files
 * Prints "code ADDR SIZE" when the code is ready. Exits 2 on other architectures. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
/* push rbp; mov rbp, rsp (a frame, so that a frame-pointer walk finds the caller);
 * mov rcx, 2000000; loop: imul rax, rax, 3; add rax, 1; dec rcx; jnz loop; pop rbp; ret */
static const uint8_t code[] = {0x55, 0x48, 0x89, 0xe5,                   /* push rbp; mov */
                               0x48, 0xc7, 0xc1, 0x80, 0x84, 0x1e, 0x00, /* mov rcx, imm32 */
                               0x48, 0x6b, 0xc0, 0x03,                   /* imul rax, rax, 3 */
                               0x48, 0x83, 0xc0, 0x01,                   /* add rax, 1 */
                               0x48, 0xff, 0xc9,                         /* dec rcx */
                               0x75, 0xf3,                               /* jnz loop */
                               0x5d, 0xc3};                              /* pop rbp; ret */
#define LOOP_OFF 11

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void put(FILE *f, const void *p, size_t n) { fwrite(p, 1, n, f); }
static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* The jitdump: header, DEBUG_INFO (before the code it describes), CODE_LOAD. */
static void write_dump(const char *dir, uint64_t addr) {
    char path[4096];
    snprintf(path, sizeof path, "%s/jit-%d.dump", dir, (int)getpid());
    FILE *f = fopen(path, "w+");
    if (!f) { perror(path); exit(1); }
    uint32_t h32[6] = {0x4A695444, 1, 40, 62 /* EM_X86_64 */, 0, (uint32_t)getpid()};
    uint64_t h64[2] = {now_ns(), 0};
    put(f, h32, sizeof h32), put(f, h64, sizeof h64);
    const char *file = "jit_source.js";
    uint64_t ents[2][2] = {{addr, 42}, {addr + LOOP_OFF, 43}};
    uint32_t dsize = 16 + 16 + 2 * (16 + (uint32_t)strlen(file) + 1);
    uint32_t r32[2] = {2, dsize};
    uint64_t r64[3] = {now_ns(), addr, 2};
    put(f, r32, 8), put(f, r64, 24);
    for (int i = 0; i < 2; i++) {
        uint64_t a = ents[i][0];
        uint32_t line = (uint32_t)ents[i][1], disc = 0;
        put(f, &a, 8), put(f, &line, 4), put(f, &disc, 4), put(f, file, strlen(file) + 1);
    }
    const char *name = "jit_hot_from_dump";
    uint32_t lsize = 16 + 40 + (uint32_t)strlen(name) + 1 + sizeof code;
    uint32_t l32[4] = {0, lsize, (uint32_t)getpid(), (uint32_t)syscall(SYS_gettid)};
    uint64_t t = now_ns(), l64[4] = {addr, addr, sizeof code, 1};
    put(f, l32, 8), put(f, &t, 8), put(f, l32 + 2, 8), put(f, l64, 32);
    put(f, name, strlen(name) + 1), put(f, code, sizeof code);
    fflush(f);
    /* perf's convention: map the dump executable so that the MMAP record names it */
    void *m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fileno(f), 0);
    if (m == MAP_FAILED) { perror("mmap jitdump"); exit(1); }
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: jit_hot map|dump|both SECONDS [DIR]\n"); return 1; }
    const char *mode = argv[1], *dir = argc > 3 ? argv[3] : "/tmp";
    double secs = atof(argv[2]);
    uint8_t *mem = (uint8_t *)mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED) { perror("mmap"); return 1; }
    memcpy(mem + 64, code, sizeof code); /* not at the page start: offsets matter */
    if (mprotect(mem, 4096, PROT_READ | PROT_EXEC)) { perror("mprotect"); return 1; }
    uint64_t addr = (uint64_t)(uintptr_t)(mem + 64);
    if (!strcmp(mode, "map") || !strcmp(mode, "both")) {
        char path[64];
        snprintf(path, sizeof path, "/tmp/perf-%d.map", (int)getpid());
        FILE *f = fopen(path, "w");
        if (!f) { perror(path); return 1; }
        fprintf(f, "%llx %zx jit_hot_from_map\n", (unsigned long long)addr, sizeof code);
        fclose(f);
    }
    if (!strcmp(mode, "dump") || !strcmp(mode, "both")) write_dump(dir, addr);
    printf("code %llx %zx\n", (unsigned long long)addr, sizeof code);
    fflush(stdout);
    uint64_t (*fn)(uint64_t);
    void *vp = mem + 64;
    memcpy(&fn, &vp, sizeof fn);
    volatile uint64_t sink = 0;
    double end = cpu_now() + secs;
    while (cpu_now() < end) sink += fn(sink);
    return 0;
}
#else
int main(void) {
    fprintf(stderr, "jit_hot: x86-64 only\n");
    return 2;
}
#endif
