/* faulter N: maps a fresh anonymous region of N + 2 pages (no huge pages), writes one byte
 * to each of its N middle pages in touch_pages() (exactly N page faults at that call site,
 * page-faults tests) and prints "region LO HI" (hex, the N touched pages) on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((noinline)) void touch_pages(volatile char *p, long n, long page) {
    for (long i = 0; i < n; i++) p[i * page] = 1;
    __asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 16, page = sysconf(_SC_PAGESIZE);
    char *r = (char *)mmap(NULL, (size_t)(n + 2) * (size_t)page, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) return perror("mmap"), 1;
    madvise(r, (size_t)(n + 2) * (size_t)page, MADV_NOHUGEPAGE);
    touch_pages(r + page, n, page);
    printf("region %lx %lx\n", (unsigned long)(r + page), (unsigned long)(r + (n + 1) * page));
    return 0;
}
