/* C++ names without a C++ compiler: functions whose symbols are Itanium-mangled names (asm
 * labels), each burning CPU in turn, so that a profile has samples in every one.
 *   usage: cxx_names SECONDS   (CPU time, split between the functions round-robin)
 * The names cover what a report's short form must handle: return types (template
 * instances), operators ((), <, <<, new, conversion), (anonymous namespace), a lambda. */
#include <stdlib.h>
#include <time.h>

#define SPIN(label, fn)                                                                        \
    __attribute__((noinline)) long fn(long n) __asm__(label);                                  \
    __attribute__((noinline)) long fn(long n) {                                                \
        volatile long s = 0;                                                                   \
        for (long i = 0; i < n; i++) s += i ^ (s >> 3);                                        \
        return s;                                                                              \
    }
SPIN("_ZN2ns3hotIlEET_RKNS_3BoxIS1_EEi", f_hot)     /* long ns::hot<long>(ns::Box<long> const&, int) */
SPIN("_ZNK2ns1SclEi", f_call)                       /* ns::S::operator()(int) const */
SPIN("_ZNK2ns1SltERKS0_", f_less)                   /* ns::S::operator<(ns::S const&) const */
SPIN("_ZN2ns1SnwEm", f_new)                         /* ns::S::operator new(unsigned long) */
SPIN("_ZNK2ns3BoxIiEcvlEv", f_conv)                 /* ns::Box<int>::operator long() const */
SPIN("_ZlsRSoRKN2ns1SE", f_shl)                     /* operator<<(std::basic_ostream<...>&, ns::S const&) */
SPIN("_ZN12_GLOBAL__N_16hiddenEc", f_anon)          /* (anonymous namespace)::hidden(char) */
SPIN("_ZN2ns3getIiEESt6vectorIT_SaIS2_EEv", f_get)  /* std::vector<int, ...> ns::get<int>() */
SPIN("_ZN2ns3twoIiEEmT_", f_two)                    /* unsigned long ns::two<int>(int) */
SPIN("_ZZN2ns10withlambdaEiENKUliE_clEi", f_lambda) /* ns::withlambda(int)::{lambda(int)#1}::operator()(int) const */

static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    long (*const fns[])(long) = {f_hot, f_call, f_less, f_new, f_conv,
                                 f_shl, f_anon, f_get,  f_two, f_lambda};
    double end = cpu() + (argc > 1 ? atof(argv[1]) : 0.5);
    long r = 0;
    while (cpu() < end)
        for (unsigned i = 0; i < sizeof fns / sizeof fns[0]; i++) r += fns[i](200000);
    return (int)(r & 1);
}
