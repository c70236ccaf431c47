/* leaker K M: allocates K blocks of 100+i bytes from leak_site() and never frees them, and
 * M blocks (malloc, calloc, realloc) from other sites that it frees (kmemleak tests). */
#include <stdlib.h>
#include <string.h>

void *volatile keep[4096];

__attribute__((noinline)) void *leak_site(size_t n) {
    void *p = malloc(n);
    __asm__ volatile("" ::: "memory");
    return p;
}

__attribute__((noinline)) void churn(int m) {
    for (int i = 0; i < m; i++) {
        char *a = (char *)malloc(64 + (size_t)i);
        char *b = (char *)calloc(4, 16);
        a = (char *)realloc(a, 4096 + (size_t)i);
        memset(a, 1, 16);
        keep[4095] = b;
        free(a);
        free(keep[4095]);
    }
}

int main(int argc, char **argv) {
    int k = argc > 1 ? atoi(argv[1]) : 3, m = argc > 2 ? atoi(argv[2]) : 10;
    if (k > 4096) k = 4096;
    for (int i = 0; i < k; i++) keep[i] = leak_site(100 + (size_t)i % 3);
    churn(m);
    return 0;
}
