/* tracefs format files (events/SYS/NAME/format): kperf_tp_format_parse, then every field
 * read out of a raw record made of the same bytes. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    kperf_tp_format *f = NULL;
    if (kperf_tp_format_parse(&f, (const char *)d, n) < 0) return 0;
    char out[256];
    kperf_tp_format_snprint(f, d, n, out, sizeof out);
    for (size_t i = 0; i < f->nfields; i++) {
        int64_t v;
        const char *s;
        size_t len;
        kperf_tp_field_int(&f->fields[i], d, n, &v);
        if (kperf_tp_field_str(&f->fields[i], d, n, &s, &len) == 0 && len)
            out[0] = s[len - 1]; /* the string lies inside the record */
    }
    kperf_tp_format_field(f, "x");
    kperf_tp_format_free(f);
    return 0;
}
