/* Ring records: the first 41 bytes choose the layout (sample_type, read_format,
 * branch_sample_type, user and interrupt register masks, sample_id_all); the rest is decoded
 * by kperf_record_parse and, as the data area of a memory ring (data_head from the input), by
 * kperf_ring_read, wrapping records and all. */
#include "fuzz.h"
#include <linux/perf_event.h>

static int fz_on_record(const kperf_record *r, void *user) {
    (void)user;
    volatile uint64_t sink = r->type + r->time + r->size;
    (void)sink;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) {
    if (n < 41) return 0;
    kperf_ring_layout l;
    memset(&l, 0, sizeof l);
    memcpy(&l.sample_type, d, 8);
    memcpy(&l.read_format, d + 8, 8);
    memcpy(&l.branch_sample_type, d + 16, 8);
    memcpy(&l.regs_user_mask, d + 24, 8);
    l.regs_intr_mask = l.regs_user_mask >> 7;
    l.sample_id_all = d[32] & 1;
    uint64_t head;
    memcpy(&head, d + 33, 8);
    d += 41, n -= 41;
    uint64_t *rec = (uint64_t *)calloc(n / 8 + 2, 8); /* 8-byte aligned copy */
    memcpy(rec, d, n);
    kperf_record r;
    kperf_record_parse(rec, n, &l, &r);
    free(rec);
    /* a 4 KiB control page and a 4 KiB data area holding the input */
    uint64_t *ring = (uint64_t *)calloc(8192 / 8, 8);
    struct perf_event_mmap_page *pg = (struct perf_event_mmap_page *)ring;
    memcpy((char *)ring + 4096, d, n < 4096 ? n : 4096);
    pg->data_head = head % (1u << 20);
    pg->data_tail = 0;
    kperf_ring *rr = NULL;
    kperf_ring_desc desc;
    memset(&desc, 0, sizeof desc);
    desc.base = ring, desc.size = 8192, desc.data_offset = 4096, desc.data_size = 4096;
    desc.layout = l, desc.cpu = 0;
    if (kperf_ring_open(&rr, &desc) == 0) {
        kperf_ring_read(rr, fz_on_record, NULL);
        kperf_ring_close(rr);
    }
    free(ring);
    return 0;
}
