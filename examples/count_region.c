/* count_region - placeholder until the counting section lands. */
#include <stdio.h>
int main(void) { puts("count_region: counting not built yet"); return 0; }
