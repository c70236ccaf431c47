/* Arm SPE buffers: the packet decoder and its descriptions, and the streaming record decoder
 * with every conversion a record goes through (format, fields, data source, kperf_sample). */
#include "fuzz.h"

static int fz_on_record(const kperf_spe_record *r, void *user) {
    char buf[512];
    uint64_t midr = *(const uint64_t *)user;
    kperf_spe_record_format(r, buf, sizeof buf);
    kperf_spe_record_fields(r, buf, sizeof buf);
    kperf_spe_data_src(r, midr);
    kperf_sample s;
    kperf_spe_record_to_sample(r, midr, &s);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (n < 2) return 0;
    /* byte 0 picks the CPU tables (none, Neoverse N1, Kunpeng 920) and the options */
    static const uint64_t midrs[] = {0, 0x410fd0c0, 0x481fd010};
    uint64_t midr = midrs[d[0] % 3];
    bool partial = d[0] & 4, ctx = d[0] & 8;
    d++, n--;
    char buf[256];
    for (size_t off = 0; off < n;) {
        kperf_spe_packet p;
        size_t used = kperf_spe_packet_parse(d + off, n - off, &p);
        if (!used) break;
        kperf_spe_packet_desc(&p, midr, buf, sizeof buf);
        off += used;
    }
    kperf_spe_decoder_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.on_record = fz_on_record, desc.user = &midr, desc.midr = midr;
    desc.deliver_partial = partial, desc.pid_from_context = ctx;
    kperf_spe_decoder *dec = NULL;
    if (kperf_spe_decoder_new(&dec, &desc) == 0) { /* fed in two pieces: streaming */
        size_t half = n / 2;
        kperf_spe_decoder_parse(dec, d, half);
        kperf_spe_decoder_switch(dec, 1, 2, 3);
        kperf_spe_decoder_parse(dec, d + half, n - half);
        kperf_spe_decoder_finish(dec);
        kperf_spe_decoder_free(dec);
    }
    return 0;
}
