/* A second compile unit for the symbolizer oracle tests (tests/test_symbols_oracle.sh):
 * linked with sym_fixture.c into two-unit programs, built by one compiler (every unit in
 * .debug_aranges) or by gcc and clang together (clang writes no .debug_aranges, so the
 * unit list falls back to reading each unit's DIE). */
#define NOINLINE __attribute__((noinline))

static volatile unsigned unit2_sink;

static inline unsigned rotl(unsigned x, int k) { return (x << k) | (x >> (32 - k)); }
static inline unsigned step(unsigned h, unsigned v) { return rotl(h ^ v, 5) * 0x9e3779b1u; }

NOINLINE unsigned unit2_hash(const unsigned char *p, unsigned n) {
    unsigned h = 2166136261u;
    for (unsigned i = 0; i < n; i++) h = step(h, p[i]);
    return h;
}

NOINLINE unsigned unit2_mix(unsigned a, unsigned b) {
    unsigned r = 0;
    for (unsigned i = 0; i < (a & 31); i++) r += step(a + i, b);
    if (r & 1) unit2_sink = r;
    return r ^ b;
}
