/* kperf_spe.h - v0.1.0 - Arm SPE: discovery, filters, AUX area and a portable packet decoder.
 * SPDX-License-Identifier: MIT
 *
 * Part of kperf. Include kperf.h first. The implementation is instantiated by the same
 * `#define KPERF_IMPLEMENTATION` that instantiates kperf.h (in exactly one file).
 *
 * CONTENTS (all in the >>spe section)
 *     packets     kperf_spe_packet_parse/desc: every packet class, extended headers,
 *                 explicit little-endian loads (runs the same on x86 and Arm)
 *     records     kperf_spe_record: pc/el/ns, branch target, data VA/PA, latencies, events,
 *                 op type, data source (Neoverse/HiSilicon/AmpereOne tables by MIDR), context,
 *                 timestamp -> perf time, pid/tid from CONTEXT or context-switch side-band
 *     decoder     kperf_spe_decoder_*: streaming, packets may straddle buffers, resync after
 *                 unknown bytes, truncated tails dropped, counters of everything skipped
 *     pmus        kperf_spe_pmus_*: every arm_spe_N PMU (type, cpumask, caps files)
 *     filters     kperf_spe_config: libkperf dataFilter/evFilter/minLatency and newer fields,
 *                 encoded through the PMU's format/ files (never fixed bit positions)
 *     sessions    kperf_spe_open/read/close: per-CPU or per-task events, the AUX area,
 *                 aux_head/aux_tail, PERF_RECORD_AUX flags
 *
 * QUICK START (decode raw AUX bytes on any machine)
 *     static int on_rec(const kperf_spe_record *r, void *u) {
 *         char line[1024];
 *         kperf_spe_record_format(r, line, sizeof line);
 *         return puts(line) < 0 ? -1 : 0;
 *     }
 *     kperf_spe_decoder_desc d = {0};
 *     d.on_record = on_rec;
 *     kperf_spe_decode(bytes, nbytes, &d, NULL);
 *
 * ERRORS, THREAD SAFETY, PERMISSIONS: as in kperf.h. Opening SPE needs an arm_spe_N PMU
 * (Armv8.2+ CPUs with SPE, a kernel with CONFIG_ARM_SPE_PMU); on other machines
 * kperf_spe_open() returns -KPERF_ENOTSUP "no arm_spe PMU on this machine". Physical
 * addresses and kernel samples need perf_event_paranoid <= 0 or CAP_PERFMON.
 *
 * INDEX (public functions by section; tests/header_index.py --write regenerates it)
 *   >>spe
 *     -- packets
 *     kperf_spe_packet_parse         Decodes the packet at the start of buf
 *     kperf_spe_packet_desc          Describes a packet the way `perf report -D` does ("...
 *     kperf_spe_op_desc              Describes an operation type, e.g
 *     kperf_spe_event_name           The name of one EVENTS bit ("RETIRED", "L1D-REFILL"...
 *     kperf_spe_ds_table_for_midr    Picks the data-source table for a CPU
 *     kperf_spe_ds_name              Names a data-source value, e.g
 *     -- records
 *     kperf_spe_record_format        Formats a record as `pc=0x
 *     kperf_spe_record_fields        Lists the names of a record's fields, sorted, separ...
 *     -- the streaming decoder
 *     kperf_spe_clock_read           Reads the clock conversion of a mapped perf_event_m...
 *     kperf_spe_clock_convert        Converts an SPE timestamp to perf time (CLOCK_MONOT...
 *     kperf_spe_decoder_new          Creates a decoder
 *     kperf_spe_decoder_parse        Decodes the next bytes of the stream
 *     kperf_spe_decoder_finish       Ends the stream
 *     kperf_spe_decoder_reset        Forgets the stream position after data was lost (AU...
 *     kperf_spe_decoder_switch       Tells the decoder which task runs from time on (fro...
 *     kperf_spe_decoder_stats_read   Reads the decoder's counters
 *     kperf_spe_decoder_free         Frees a decoder
 *     kperf_spe_decode               One-shot decode of a whole buffer
 *     -- records as samples
 *     kperf_spe_data_src             The perf_mem_data_src value of a record (what `perf...
 *     kperf_spe_record_to_sample     Fills a ::kperf_sample from a record, so SPE record...
 *     -- PMUs, filters, plan
 *     kperf_spe_pmus_read            Finds every arm_spe_N PMU of a registry (one per CP...
 *     kperf_spe_plan_open            Computes every fd of an SPE request over a sysfs tr...
 *     -- recording
 *     kperf_spe_open                 Opens SPE on every CPU of the request (or follows t...
 *     kperf_spe_start                Enables sampling on every fd
 *     kperf_spe_stop                 Disables sampling on every fd
 *     kperf_spe_read                 Drains every CPU
 *     kperf_spe_stats_read           Reads the session's counters
 *     kperf_spe_close                Stops and frees a session
 *     kperf_spe_task_source          SPE sampling for kperf.h's task model
 * END INDEX
 */
/** @file kperf_spe.h
 *  @brief Arm SPE: PMU discovery, filters through format/ fields, AUX-area sessions and a
 *  packet decoder that runs on any architecture. Guide: docs/spe.md. */
#ifndef KPERF_SPE_H_INCLUDED
#define KPERF_SPE_H_INCLUDED
#ifndef KPERF_H_INCLUDED
#error "kperf_spe.h: include kperf.h before kperf_spe.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

// >>spe -----------------------------------------------------------------------------
/* ---- packets ------------------------------------------------------------------------ */

/** Classes of SPE packets, as kperf_spe_packet_parse() reports them. */
typedef enum kperf_spe_packet_type {
    KPERF_SPE_PKT_BAD = 0,      /**< a byte that starts no known packet (skipped, 1 byte) */
    KPERF_SPE_PKT_PAD,          /**< padding (0x00) */
    KPERF_SPE_PKT_END,          /**< end of a record without timestamp (0x01) */
    KPERF_SPE_PKT_TIMESTAMP,    /**< generic-timer timestamp, ends a record (0x71) */
    KPERF_SPE_PKT_ADDRESS,      /**< address packet; index is a ::kperf_spe_addr_index */
    KPERF_SPE_PKT_COUNTER,      /**< counter (latency) packet; index is a ::kperf_spe_counter_index */
    KPERF_SPE_PKT_CONTEXT,      /**< CONTEXTIDR value; index 0 = EL1, 1 = EL2 */
    KPERF_SPE_PKT_OP_TYPE,      /**< operation type; index is a ::kperf_spe_op_class */
    KPERF_SPE_PKT_EVENTS,       /**< events bitmask (::kperf_spe_event) */
    KPERF_SPE_PKT_DATA_SOURCE,  /**< where the data came from (IMPDEF, see kperf_spe_ds_name()) */
    KPERF_SPE_PKT_TRUNCATED     /**< the buffer ends inside this packet (only from a decoder at
                                     the end of a stream, or from kperf_spe_packet_parse()) */
} kperf_spe_packet_type;

/** Indexes of address packets (5 bits with an extended header). */
enum kperf_spe_addr_index {
    KPERF_SPE_ADDR_PC = 0,  /**< PC of the sampled instruction, with EL and NS */
    KPERF_SPE_ADDR_TGT = 1, /**< branch target, with EL and NS */
    KPERF_SPE_ADDR_VA = 2,  /**< data virtual address, top byte = tag */
    KPERF_SPE_ADDR_PA = 3,  /**< data physical address, with NS, CH and PAT */
    KPERF_SPE_ADDR_PBT = 4  /**< previous branch target (FEAT_SPE_PBT), with EL and NS */
};

/** Indexes of counter packets (5 bits with an extended header). */
enum kperf_spe_counter_index {
    KPERF_SPE_CNT_TOTAL = 0, /**< total latency: dispatch to completion, in cycles */
    KPERF_SPE_CNT_ISSUE = 1, /**< issue latency: dispatch to issue, in cycles */
    KPERF_SPE_CNT_XLAT = 2   /**< translation latency: address translation, in cycles */
};

/** Operation classes (the two low bits of the OP-TYPE header). */
enum kperf_spe_op_class {
    KPERF_SPE_OP_OTHER = 0,  /**< other: data processing, SVE/SME other, conditional select */
    KPERF_SPE_OP_LDST = 1,   /**< load, store or atomic (GP, SIMD&FP, SVE/SME, MTE, memcpy,
                                  memset, GCS, system registers) */
    KPERF_SPE_OP_BRANCH = 2  /**< branch or exception return */
};

/** Bits of the EVENTS packet. Bits 12-15 and above 25 are implementation defined. */
enum kperf_spe_event {
    KPERF_SPE_EV_EXCEPTION_GEN = 1 << 0,  /**< generated an exception */
    KPERF_SPE_EV_RETIRED = 1 << 1,        /**< architecturally executed */
    KPERF_SPE_EV_L1D_ACCESS = 1 << 2,     /**< level 1 data cache access */
    KPERF_SPE_EV_L1D_REFILL = 1 << 3,     /**< level 1 data cache refill (miss) */
    KPERF_SPE_EV_TLB_ACCESS = 1 << 4,     /**< TLB access */
    KPERF_SPE_EV_TLB_REFILL = 1 << 5,     /**< TLB walk (miss) */
    KPERF_SPE_EV_NOT_TAKEN = 1 << 6,      /**< conditional instruction failed / branch not taken */
    KPERF_SPE_EV_MISPRED = 1 << 7,        /**< branch mispredicted */
    KPERF_SPE_EV_LLC_ACCESS = 1 << 8,     /**< last level cache access */
    KPERF_SPE_EV_LLC_REFILL = 1 << 9,     /**< last level cache miss */
    KPERF_SPE_EV_REMOTE_ACCESS = 1 << 10, /**< access to another socket */
    KPERF_SPE_EV_ALIGNMENT = 1 << 11,     /**< misaligned access */
    KPERF_SPE_EV_TXN = 1 << 16,           /**< in a TME transaction */
    KPERF_SPE_EV_SVE_PARTIAL_PRED = 1 << 17, /**< SVE: predicate partly active */
    KPERF_SPE_EV_SVE_EMPTY_PRED = 1 << 18,   /**< SVE: predicate all inactive */
    KPERF_SPE_EV_L2D_ACCESS = 1 << 19,    /**< level 2 data cache access */
    KPERF_SPE_EV_L2D_MISS = 1 << 20,      /**< level 2 data cache miss */
    KPERF_SPE_EV_HITM = 1 << 21,          /**< cache data modified (hit a modified line) */
    KPERF_SPE_EV_LFB = 1 << 22,           /**< recently fetched (line fill buffer hit) */
    KPERF_SPE_EV_SNOOPED = 1 << 23,       /**< data snooped */
    KPERF_SPE_EV_STREAMING_SVE = 1 << 24, /**< in streaming SVE mode */
    KPERF_SPE_EV_SMCU = 1 << 25           /**< executed by an SME compute unit */
};

/** One decoded SPE packet. */
typedef struct kperf_spe_packet {
    uint8_t type;           /**< a ::kperf_spe_packet_type */
    uint8_t index;          /**< address/counter index (0-31), context index, op class; for
                                 ::KPERF_SPE_PKT_TRUNCATED the size the header announced */
    uint8_t size;           /**< bytes of the packet, headers included (for TRUNCATED: the
                                 bytes present) */
    uint8_t payload_size;   /**< payload bytes: 0, 1, 2, 4 or 8 */
    bool extended;          /**< had a 2-byte extended header */
    uint64_t payload;       /**< payload, loaded little-endian (whatever the host order) */
} kperf_spe_packet;

/** @brief Decodes the packet at the start of @p buf. Pure: no state, no allocation, reads
 *  at most @p len bytes, works the same on every host architecture.
 *  @param buf raw SPE bytes.
 *  @param len bytes available in @p buf.
 *  @param pkt receives the packet.
 *  @return the packet size in bytes (>= 1; an unknown byte is a 1-byte
 *  ::KPERF_SPE_PKT_BAD), or 0 when @p len is 0 or the packet continues past @p len
 *  (then pkt->type is ::KPERF_SPE_PKT_TRUNCATED and pkt->index the size it needs). */
KPERF_API size_t kperf_spe_packet_parse(const void *buf, size_t len, kperf_spe_packet *pkt);

/** @brief Describes a packet the way `perf report -D` does ("PC 0xffb7ee29f38200 el2 ns=1",
 *  "LAT 3 TOT", "EV RETIRED MISPRED", "B COND", "LD GP-REG", ...).
 *  @param pkt the packet.
 *  @param midr the MIDR_EL1 of the CPU that wrote it (names IMPDEF event bits); 0 if unknown.
 *  @param buf receives the NUL-terminated text (truncated to @p size).
 *  @param size size of @p buf.
 *  @return the length of the full text (like snprintf). */
KPERF_API int kperf_spe_packet_desc(const kperf_spe_packet *pkt, uint64_t midr, char *buf,
                                    size_t size);

/** @brief Describes an operation type, e.g. "B COND", "LD AT AR", "SVE-OTHER EVLEN 256 FP".
 *  @param op_class a ::kperf_spe_op_class. @param payload the OP-TYPE payload byte.
 *  @param buf receives the text. @param size size of @p buf.
 *  @return the length of the full text. */
KPERF_API int kperf_spe_op_desc(unsigned op_class, unsigned payload, char *buf, size_t size);

/** @brief The name of one EVENTS bit ("RETIRED", "L1D-REFILL", ...).
 *  @param bit 0-63. @param midr names IMPDEF bits of known CPUs (Neoverse N1 bit 12); 0 if
 *  unknown. @return a static string, or NULL for an unnamed bit. */
KPERF_API const char *kperf_spe_event_name(unsigned bit, uint64_t midr);

/** Data-source encodings (the DATA-SOURCE payload is implementation defined). */
typedef enum kperf_spe_ds_table {
    KPERF_SPE_DS_NONE = 0,     /**< unknown CPU: only the raw value is meaningful */
    KPERF_SPE_DS_COMMON = 1,   /**< Arm Neoverse N1/N2/V1/V2 and Cortex A720/A725/X1C/X3/X925 */
    KPERF_SPE_DS_HISI_HIP = 2, /**< HiSilicon HIP12 */
    KPERF_SPE_DS_AMPEREONE = 3 /**< AmpereOne (AC04) */
} kperf_spe_ds_table;

/** @brief Picks the data-source table for a CPU.
 *  @param midr MIDR_EL1 (variant and revision are ignored).
 *  @return a ::kperf_spe_ds_table. */
KPERF_API int kperf_spe_ds_table_for_midr(uint64_t midr);

/** @brief Names a data-source value, e.g. "L1D", "L2", "PEER-CORE", "DRAM", "L3-HITM".
 *  @param table a ::kperf_spe_ds_table. @param source the DATA-SOURCE payload.
 *  @return a static string, or NULL when the table has no such value. */
KPERF_API const char *kperf_spe_ds_name(int table, uint64_t source);

/* ---- records ------------------------------------------------------------------------ */

/** Field identifiers of a record: which packets it carried, in ::kperf_spe_record::order. */
enum kperf_spe_field {
    KPERF_SPE_F_ADDR = 0,         /**< address index i is field KPERF_SPE_F_ADDR + i (0-31) */
    KPERF_SPE_F_COUNTER = 32,     /**< counter index i is field KPERF_SPE_F_COUNTER + i */
    KPERF_SPE_F_EVENTS = 64,      /**< an EVENTS packet */
    KPERF_SPE_F_OP = 65,          /**< an OP-TYPE packet */
    KPERF_SPE_F_DATA_SOURCE = 66, /**< a DATA-SOURCE packet */
    KPERF_SPE_F_CONTEXT = 67,     /**< a CONTEXT packet */
    KPERF_SPE_F_TIMESTAMP = 68,   /**< the TIMESTAMP packet that ended the record */
    KPERF_SPE_F_COUNT = 69        /**< number of field identifiers */
};

/** True when record @p r carried field @p f (a ::kperf_spe_field). */
#define KPERF_SPE_HAS(r, f) ((((r)->seen[(f) >> 6]) >> ((f)&63)) & 1u)

/** Flags of a record. */
enum kperf_spe_record_flags {
    KPERF_SPE_REC_INCOMPLETE = 1 << 0, /**< no END or TIMESTAMP: the stream ended or was reset
                                            inside it (delivered only with deliver_partial) */
    KPERF_SPE_REC_DAMAGED = 1 << 1,    /**< an unknown byte interrupted it (delivered only with
                                            deliver_partial) */
    KPERF_SPE_REC_AFTER_GAP = 1 << 2,  /**< first record after the stream start, an unknown
                                            byte or a reset: packets before it were not seen,
                                            so it may lack its leading packets */
    KPERF_SPE_REC_TIME = 1 << 3,       /**< time holds a perf time (timestamp and clock known) */
    KPERF_SPE_REC_TID = 1 << 4         /**< tid (and pid when >= 0) were attributed */
};

/** One SPE record: the packets between two END/TIMESTAMP packets. Every field is reset
 *  between records; only fields whose packet was present are set (see KPERF_SPE_HAS). */
typedef struct kperf_spe_record {
    uint64_t offset;        /**< stream offset of its first packet that is not padding */
    uint32_t flags;         /**< ::kperf_spe_record_flags */
    uint8_t end;            /**< ::KPERF_SPE_PKT_END or ::KPERF_SPE_PKT_TIMESTAMP; 0 if none */
    uint8_t norder;         /**< entries used in order */
    uint8_t order[KPERF_SPE_F_COUNT]; /**< fields (::kperf_spe_field) in the order their first
                                           packet appeared */
    uint64_t seen[2];       /**< bitmap of fields present; test with KPERF_SPE_HAS */
    uint64_t addr_raw[32];  /**< raw payload of each address index */
    uint16_t counter[32];   /**< value of each counter index */
    uint64_t pc;            /**< instruction address, perf fix-up applied (top byte 0xff when
                                 NS=1 and EL1/EL2) */
    uint8_t pc_el;          /**< exception level of pc (0-3) */
    bool pc_ns;             /**< pc was in non-secure state */
    uint64_t tgt;           /**< branch target, fixed up like pc */
    uint8_t tgt_el;         /**< exception level of tgt */
    bool tgt_ns;            /**< tgt non-secure */
    uint64_t pbt;           /**< previous branch target, fixed up like pc */
    uint8_t pbt_el;         /**< exception level of pbt */
    bool pbt_ns;            /**< pbt non-secure */
    uint64_t va;            /**< data virtual address, bits 55:0, top byte 0xff when bits 55:52
                                 are all ones (kernel address) */
    uint8_t va_tag;         /**< top byte of the VA payload (TBI/MTE tag) */
    uint64_t pa;            /**< data physical address, bits 55:0 */
    bool pa_ns;             /**< pa non-secure */
    bool pa_ch;             /**< pa checked (MTE) */
    uint8_t pa_pat;         /**< pa physical address tag (bits 59:56) */
    uint16_t lat_total;     /**< total latency (cycles), = counter[0] */
    uint16_t lat_issue;     /**< issue latency (cycles), = counter[1] */
    uint16_t lat_xlat;      /**< translation latency (cycles), = counter[2] */
    uint64_t events;        /**< EVENTS bitmask (::kperf_spe_event) */
    uint8_t op_class;       /**< ::kperf_spe_op_class */
    uint8_t op_payload;     /**< OP-TYPE payload (subclass bits) */
    uint64_t data_source;   /**< DATA-SOURCE payload */
    uint32_t context;       /**< CONTEXTIDR value (a PID when the kernel writes PIDs there) */
    uint8_t context_el;     /**< 1 or 2: which CONTEXTIDR_ELx it came from */
    uint64_t timestamp;     /**< raw generic-timer timestamp of the ending TIMESTAMP packet */
    uint64_t time;          /**< timestamp converted to perf time (with ::KPERF_SPE_REC_TIME) */
    int32_t pid;            /**< process id (with ::KPERF_SPE_REC_TID), -1 when unknown */
    int32_t tid;            /**< thread id (with ::KPERF_SPE_REC_TID), -1 when unknown */
    int32_t cpu;            /**< CPU whose AUX area held it (kperf_spe_read()); -1 when
                                 unknown (a plain decoder) */
} kperf_spe_record;

/** @brief Formats a record as `pc=0x... pc_el=2 pc_ns=1 lat_issue=2 ... ts=N end=TS`: the
 *  fields in packet order, then `end=` when the record is complete (the format of the
 *  `*.records.txt` fixtures, without the leading `recN `).
 *  @param r the record. @param buf receives the text. @param size size of @p buf.
 *  @return the length of the full text. */
KPERF_API int kperf_spe_record_format(const kperf_spe_record *r, char *buf, size_t size);

/** @brief Lists the names of a record's fields, sorted, separated by spaces ("events lat_tot
 *  op op_desc op_payload pc pc_el pc_ns"): how a trailing incomplete record is shown.
 *  @param r the record. @param buf receives the text. @param size size of @p buf.
 *  @return the length of the full text. */
KPERF_API int kperf_spe_record_fields(const kperf_spe_record *r, char *buf, size_t size);

/* ---- the streaming decoder ---------------------------------------------------------- */

/** Called for every record. Return 0 to go on, a negative value to stop decoding (it is
 *  returned by the call that was decoding). */
typedef int (*kperf_spe_record_fn)(const kperf_spe_record *rec, void *user);

/** Called for every packet, in stream order; runs of padding come as one PAD packet of up
 *  to 16 bytes. @p bytes points at the packet's @p pkt->size bytes (valid during the call).
 *  Return 0 to go on, a negative value to stop. */
typedef int (*kperf_spe_packet_fn)(const kperf_spe_packet *pkt, uint64_t offset,
                                   const uint8_t *bytes, void *user);

/** How to turn SPE timestamps into perf time: the time_* fields of the event's
 *  perf_event_mmap_page (see kperf_spe_clock_read()). */
typedef struct kperf_spe_clock {
    uint64_t time_zero;     /**< perf time at timestamp 0 */
    uint32_t time_mult;     /**< multiplier */
    uint16_t time_shift;    /**< shift */
    uint64_t time_cycles;   /**< with short counters: the reference counter value */
    uint64_t time_mask;     /**< with short counters: the counter mask */
    bool cap_user_time_zero;  /**< time_zero is valid; without it no conversion is done */
    bool cap_user_time_short; /**< the counter is narrower than 64 bits (use cycles/mask) */
} kperf_spe_clock;

/** @brief Reads the clock conversion of a mapped perf_event_mmap_page (the first page of an
 *  SPE event's ring buffer), following the kernel's seqlock.
 *  @param mmap_page the mapped page. @param out receives the values.
 *  @return 0, or -KPERF_ENOTSUP when the kernel does not offer cap_user_time_zero. */
KPERF_API int kperf_spe_clock_read(const void *mmap_page, kperf_spe_clock *out);

/** @brief Converts an SPE timestamp to perf time (CLOCK_MONOTONIC_RAW based ns, the time of
 *  perf samples) exactly as perf does.
 *  @param clock the conversion. @param timestamp the raw TIMESTAMP payload.
 *  @return perf time in ns; @p timestamp unchanged when cap_user_time_zero is false. */
KPERF_API uint64_t kperf_spe_clock_convert(const kperf_spe_clock *clock, uint64_t timestamp);

/** What a decoder does; zero-initialised means "records only, no clock, no attribution". */
typedef struct kperf_spe_decoder_desc {
    kperf_spe_record_fn on_record; /**< record callback; NULL = none */
    kperf_spe_packet_fn on_packet; /**< packet callback; NULL = none */
    void *user;                    /**< passed to the callbacks */
    uint64_t midr;                 /**< MIDR_EL1 of the CPU that wrote the data; 0 = unknown */
    const kperf_spe_clock *clock;  /**< timestamp to perf time conversion (copied); NULL =
                                        none */
    bool pid_from_context;         /**< take tid from CONTEXT packets (the kernel writes PIDs
                                        to CONTEXTIDR when CONFIG_PID_IN_CONTEXTIDR is set) */
    bool deliver_partial;          /**< also deliver incomplete and damaged records (their
                                        flags say so); by default they are only counted */
} kperf_spe_decoder_desc;

/** Counters of a decoder since it was opened. */
typedef struct kperf_spe_decoder_stats {
    uint64_t bytes;         /**< bytes consumed */
    uint64_t packets;       /**< packets decoded (padding not counted) */
    uint64_t pad_bytes;     /**< padding bytes */
    uint64_t records;       /**< complete records (ended by END or TIMESTAMP) */
    uint64_t bad_bytes;     /**< unknown bytes skipped to resynchronise */
    uint64_t damaged;       /**< records cut by an unknown byte */
    uint64_t incomplete;    /**< records cut by the end of the stream or a reset */
    uint64_t truncated_bytes; /**< bytes of a packet cut by the end of the stream (dropped) */
    uint64_t resets;        /**< calls to kperf_spe_decoder_reset() */
} kperf_spe_decoder_stats;

/** A streaming SPE decoder (opaque). Packets may straddle the buffers given to it. */
typedef struct kperf_spe_decoder kperf_spe_decoder;

/** @brief Creates a decoder.
 *  @param out receives the decoder; NULL on failure.
 *  @param desc what to do; NULL means all defaults.
 *  @return 0 or -ENOMEM.
 *  *Ownership:* free with kperf_spe_decoder_free(). *Thread safety:* one thread at a time. */
KPERF_API int kperf_spe_decoder_new(kperf_spe_decoder **out, const kperf_spe_decoder_desc *desc);

/** @brief Decodes the next bytes of the stream; a packet cut at the end of @p buf is kept
 *  (at most 15 bytes) and completed by the next call.
 *  @param d the decoder. @param buf bytes. @param len their number.
 *  @return the number of records delivered, or the negative value a callback returned
 *  (the rest of @p buf is then skipped and the open record dropped, as after a reset). */
KPERF_API int kperf_spe_decoder_parse(kperf_spe_decoder *d, const void *buf, size_t len);

/** @brief Ends the stream: a packet cut short is dropped (::KPERF_SPE_PKT_TRUNCATED to the
 *  packet callback), an open record is counted incomplete (and delivered with
 *  deliver_partial). The decoder can then take a new stream.
 *  @return records delivered, or a callback's negative value. */
KPERF_API int kperf_spe_decoder_finish(kperf_spe_decoder *d);

/** @brief Forgets the stream position after data was lost (AUX TRUNCATED or COLLISION):
 *  drops a cut packet and the open record (counted incomplete, not delivered); the next
 *  record is flagged ::KPERF_SPE_REC_AFTER_GAP. */
KPERF_API void kperf_spe_decoder_reset(kperf_spe_decoder *d);

/** @brief Tells the decoder which task runs from @p time on (from a context-switch side-band
 *  record of the CPU whose SPE data it decodes). Records then get pid/tid by their perf
 *  time (needs a clock). Calls must come in time order; old entries are dropped as records
 *  pass them.
 *  @param d the decoder. @param time perf time of the switch. @param pid,tid the task
 *  switched in (-1 for idle). @return 0 or -ENOMEM. */
KPERF_API int kperf_spe_decoder_switch(kperf_spe_decoder *d, uint64_t time, int32_t pid,
                                       int32_t tid);

/** @brief Reads the decoder's counters. @param d the decoder. @param out receives them. */
KPERF_API void kperf_spe_decoder_stats_read(const kperf_spe_decoder *d,
                                            kperf_spe_decoder_stats *out);

/** @brief Frees a decoder; accepts NULL. Does not call finish. */
KPERF_API void kperf_spe_decoder_free(kperf_spe_decoder *d);

/** @brief One-shot decode of a whole buffer: open, parse, finish, close.
 *  @param buf bytes. @param len their number. @param desc callbacks and options.
 *  @param stats receives the counters; may be NULL.
 *  @return records delivered, a callback's negative value, or -ENOMEM. */
KPERF_API int kperf_spe_decode(const void *buf, size_t len, const kperf_spe_decoder_desc *desc,
                               kperf_spe_decoder_stats *stats);
/* ---- records as samples ---------------------------------------------------------------- */

/** @brief The perf_mem_data_src value of a record (what `perf mem` and `perf c2c` read):
 *  operation (load/store), cache level, snoop, remote and TLB, from the DATA-SOURCE packet
 *  through the table of the CPU (::kperf_spe_ds_table) or, for an unknown CPU, from the
 *  EVENTS bits (L1D/LLC access and refill, remote access, TLB access and walk).
 *  @param r the record. @param midr MIDR_EL1 of the CPU that wrote it (0 = unknown).
 *  @return the union perf_mem_data_src value; 0 for a record that is not a load or store. */
KPERF_API uint64_t kperf_spe_data_src(const kperf_spe_record *r, uint64_t midr);

/** @brief Fills a ::kperf_sample from a record, so SPE records flow through the same code as
 *  samples (symbolization of ip with pid, folded stacks, reports): ip = pc, pid/tid, time
 *  (perf time when known, else the raw timestamp), cpu, addr = data VA (or the branch target
 *  of a branch), phys_addr = PA, weight = total latency, data_src = kperf_spe_data_src();
 *  `fields` says which ones were present. The SPE extension fields (events, op, latencies,
 *  source) stay in the record.
 *  @param r the record. @param midr MIDR_EL1 (0 = unknown). @param out receives the sample. */
KPERF_API void kperf_spe_record_to_sample(const kperf_spe_record *r, uint64_t midr,
                                          kperf_sample *out);

/* ---- PMUs, filters, plan ------------------------------------------------------------- */

/** libkperf dataFilter bits (PmuAttr.dataFilter), each encoded through the format field
 *  named in brackets. */
#define KPERF_SPE_TS_ENABLE (1ull << 0)      /**< timestamps in records [ts_enable] */
#define KPERF_SPE_PA_ENABLE (1ull << 1)      /**< physical addresses [pa_enable] */
#define KPERF_SPE_PCT_ENABLE (1ull << 2)     /**< physical instead of virtual timestamps [pct_enable] */
#define KPERF_SPE_JITTER (1ull << 16)        /**< randomise the sample interval [jitter] */
#define KPERF_SPE_BRANCH_FILTER (1ull << 32) /**< sample branches only [branch_filter] */
#define KPERF_SPE_LOAD_FILTER (1ull << 33)   /**< sample loads only [load_filter] */
#define KPERF_SPE_STORE_FILTER (1ull << 34)  /**< sample stores only [store_filter] */
/** Every dataFilter bit (libkperf SPE_DATA_ALL). */
#define KPERF_SPE_DATA_ALL (KPERF_SPE_TS_ENABLE | KPERF_SPE_PA_ENABLE | KPERF_SPE_PCT_ENABLE | \
                            KPERF_SPE_JITTER | KPERF_SPE_BRANCH_FILTER | KPERF_SPE_LOAD_FILTER | \
                            KPERF_SPE_STORE_FILTER)

/** One `caps/<name>` file of an SPE PMU. */
typedef struct kperf_spe_cap {
    char name[32];          /**< e.g. "min_interval", "count_size", "ernd", "arch_inst" */
    uint64_t value;         /**< its value */
} kperf_spe_cap;

/** One arm_spe_N PMU of a registry. */
typedef struct kperf_spe_pmu {
    const kperf_pmu *pmu;   /**< the registry's entry: name, type, cpus (cpumask), format
                                 fields (owned by the registry) */
    kperf_spe_cap caps[16]; /**< its `caps/` files, sorted by name */
    size_t ncaps;           /**< entries used in caps */
    uint64_t min_interval;  /**< caps/min_interval: smallest sample period (0 if absent) */
} kperf_spe_pmu;

/** @brief Finds every arm_spe_N PMU of a registry (one per CPU type on big.LITTLE).
 *  @param pmus the registry (kperf_pmus_open()).
 *  @param out receives up to @p max PMUs, sorted by name. @param max capacity of @p out.
 *  @return the number of SPE PMUs (may exceed @p max), or a negative code. */
KPERF_API int kperf_spe_pmus_read(const kperf_pmus *pmus, kperf_spe_pmu *out, size_t max);

/** What to record; zero-initialised = every CPU of the first SPE PMU, no filter, the PMU's
 *  min_interval as period, user space only, 1 MiB of AUX area per CPU. */
typedef struct kperf_spe_desc {
    uint64_t data_filter;   /**< libkperf dataFilter: KPERF_SPE_TS_ENABLE, ... (0 = none) */
    uint64_t event_filter;  /**< libkperf evFilter: only records with all these EVENTS bits
                                 [event_filter] (0 = none) */
    uint64_t inv_event_filter; /**< only records with none of these EVENTS bits
                                    [inv_event_filter, SPE v1.2] (0 = none) */
    uint32_t min_latency;   /**< libkperf minLatency: only records whose total latency is at
                                 least this [min_latency] (0 = none) */
    bool discard;           /**< count but drop every record [discard, SPE v1.2] */
    const char *terms;      /**< more fields, "name=value,name=value", through format/ */
    const char *pmu;        /**< PMU name, e.g. "arm_spe_1"; NULL = the first arm_spe_N */
    const char *sysfs_root; /**< sysfs root (fake trees for plans); NULL = KPERF_SYSFS_ROOT or
                                 "/". A root other than "/" can be planned, never opened. */
    uint64_t period;        /**< operations between samples; 0 = caps/min_interval, else 4096 */
    bool include_kernel;    /**< also sample the kernel (needs paranoid <= 1) */
    bool no_user;           /**< do not sample user space */
    const int *cpus;        /**< CPUs to record on; NULL = the PMU's cpumask */
    size_t ncpus;           /**< entries in cpus */
    const pid_t *pids;      /**< tasks to follow (with inherit) instead of whole CPUs; NULL =
                                 CPU-wide */
    size_t npids;           /**< entries in pids */
    size_t aux_pages;       /**< AUX area pages per fd, a power of two; 0 = 256 */
    size_t data_pages;      /**< side-band ring pages per fd, a power of two; 0 = 16 */
    bool context_switch;    /**< ask for context-switch records (pid/tid attribution) */
} kperf_spe_desc;

/** @brief Computes every fd of an SPE request over a sysfs tree without the kernel: one per
 *  CPU (or per task), each with its complete perf_event_attr, every filter encoded through
 *  the PMU's format/ fields. The plan is the counting section's ::kperf_plan, so
 *  kperf_plan_format() prints each entry exactly like a `kperf stat --plan` line.
 *  @param out receives the plan; NULL on failure.
 *  @param desc the request (NULL = defaults).
 *  @return 0; -KPERF_ENOTSUP when the tree has no arm_spe PMU; -KPERF_ENOPMU for an unknown
 *  desc->pmu; -KPERF_EPARSE when a requested field is not listed by the PMU (the message
 *  names it) or a value does not fit.
 *  *Ownership:* free with kperf_plan_free(). */
KPERF_API int kperf_spe_plan_open(kperf_plan **out, const kperf_spe_desc *desc);

/* ---- recording ----------------------------------------------------------------------- */

/** Counters of an SPE session since open. */
typedef struct kperf_spe_stats {
    uint64_t aux_bytes;     /**< AUX bytes decoded */
    uint64_t aux_records;   /**< PERF_RECORD_AUX records seen */
    uint64_t truncated;     /**< AUX records flagged TRUNCATED (the event was re-enabled) */
    uint64_t partial;       /**< AUX records flagged PARTIAL (a record was cut by the driver) */
    uint64_t collision;     /**< AUX records flagged COLLISION (samples overlapped, lost) */
    uint64_t lost;          /**< PERF_RECORD_LOST side-band records */
    uint64_t switches;      /**< context-switch records fed to the decoders */
    kperf_spe_decoder_stats decoder; /**< summed over the CPUs' decoders */
} kperf_spe_stats;

/** A recording SPE session (opaque). */
typedef struct kperf_spe kperf_spe;

/** @brief Opens SPE on every CPU of the request (or follows the tasks), with an AUX area and
 *  a side-band ring per fd, disabled until kperf_spe_start().
 *  @param out receives the session; NULL on failure.
 *  @param desc the request (NULL = defaults).
 *  @return 0; -KPERF_ENOTSUP "no arm_spe PMU on this machine" (also for fake sysfs roots);
 *  -KPERF_ELIMIT when the AUX area exceeds the mlock limit (the message names
 *  /proc/sys/kernel/perf_event_mlock_kb and RLIMIT_MEMLOCK); -KPERF_EPARANOID/-EACCES with
 *  the sysctl to change; the plan errors.
 *  *Ownership:* close with kperf_spe_close(). *Thread safety:* one thread at a time. */
KPERF_API int kperf_spe_open(kperf_spe **out, const kperf_spe_desc *desc);

/** @brief Enables sampling on every fd. @param s the session. @return 0 or -errno. */
KPERF_API int kperf_spe_start(kperf_spe *s);

/** @brief Disables sampling on every fd. @param s the session. @return 0 or -errno. */
KPERF_API int kperf_spe_stop(kperf_spe *s);

/** @brief Drains every CPU: side-band records (AUX flags, lost, context switches) and the
 *  AUX bytes between aux_tail and aux_head, decoded into records for @p fn; aux_tail is
 *  published after each CPU.
 *  @param s the session. @param fn record callback (records carry pid/tid when known).
 *  @param user passed to @p fn.
 *  @return records delivered, or the negative value @p fn returned. */
KPERF_API int kperf_spe_read(kperf_spe *s, kperf_spe_record_fn fn, void *user);

/** @brief Reads the session's counters. @param s the session. @param out receives them. */
KPERF_API void kperf_spe_stats_read(const kperf_spe *s, kperf_spe_stats *out);

/** @brief Stops and frees a session; accepts NULL. @param s the session. */
KPERF_API void kperf_spe_close(kperf_spe *s);

/** @brief SPE sampling for kperf.h's task model: set kperf_task_attr::source to it and
 *  open a KPERF_TASK_SPE_SAMPLING task. The task's period, spe_data_filter,
 *  spe_event_filter, spe_min_latency, include_kernel, no_user, cpus and pids make the
 *  kperf_spe_desc (context switches on, for pid/tid); each SPE record becomes a row with
 *  event "spe", ips[0] = pc, addr = va, phys_addr = pa, events, latency = total latency.
 *  @return the source (static). */
KPERF_API const kperf_task_source *kperf_spe_task_source(void);

// <<spe

#ifdef __cplusplus
}
#endif
#endif // KPERF_SPE_H_INCLUDED

#ifdef KPERF_IMPLEMENTATION
#ifndef KPERF_SPE_IMPL_INCLUDED
#define KPERF_SPE_IMPL_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

// >>spe -----------------------------------------------------------------------------
/* SPE packet format facts (Arm ARM, "Statistical Profiling Extension" packet headers):
 *   0x00 PAD, 0x01 END, 0x71 TIMESTAMP (8 bytes),
 *   01xx0010 EVENTS, 01xx0011 DATA-SOURCE (xx = log2 payload size),
 *   011001ii CONTEXT (4 bytes), 010010cc OP-TYPE (1 byte),
 *   10110iii ADDRESS (8 bytes), 10011iii COUNTER (2 bytes),
 *   001000hh + ADDRESS/COUNTER header: extended header, index = hh:iii.
 * Payloads are little-endian; bytes are loaded one at a time so the host does not matter. */

static uint64_t kperf__spe_le(const uint8_t *p, unsigned n) {
    uint64_t v = 0;
    while (n-- > 0) v = (v << 8) | p[n];
    return v;
}

/* Classifies the header byte(s). Returns the packet type and sets *idx, *hlen (header
 * bytes) and *szhdr (the header byte that holds the size bits). Needs len >= 1. */
static int kperf__spe_classify(const uint8_t *b, size_t len, unsigned *idx, unsigned *hlen,
                               uint8_t *szhdr) {
    uint8_t h = b[0];
    *idx = 0, *hlen = 1, *szhdr = h;
    if (h == 0x00) return KPERF_SPE_PKT_PAD;
    if (h == 0x01) return KPERF_SPE_PKT_END;
    if (h == 0x71) return KPERF_SPE_PKT_TIMESTAMP;
    if ((h & 0xcf) == 0x42) return KPERF_SPE_PKT_EVENTS;
    if ((h & 0xcf) == 0x43) return KPERF_SPE_PKT_DATA_SOURCE;
    if ((h & 0xfc) == 0x64) return *idx = h & 3, KPERF_SPE_PKT_CONTEXT;
    if ((h & 0xfc) == 0x48) return *idx = h & 3, KPERF_SPE_PKT_OP_TYPE;
    unsigned hi = 0;
    if ((h & 0xfc) == 0x20) {
        if (len < 2) return KPERF_SPE_PKT_TRUNCATED;
        hi = (unsigned)(h & 3) << 3;
        h = b[1], *hlen = 2, *szhdr = h;
    }
    if ((h & 0xf8) == 0xb0) return *idx = hi | (h & 7), KPERF_SPE_PKT_ADDRESS;
    if ((h & 0xf8) == 0x98) return *idx = hi | (h & 7), KPERF_SPE_PKT_COUNTER;
    *hlen = 1;
    return KPERF_SPE_PKT_BAD;
}

KPERF_API size_t kperf_spe_packet_parse(const void *buf, size_t len, kperf_spe_packet *pkt) {
    const uint8_t *b = (const uint8_t *)buf;
    memset(pkt, 0, sizeof *pkt);
    if (len == 0) {
        pkt->type = KPERF_SPE_PKT_TRUNCATED, pkt->index = 1;
        return 0;
    }
    unsigned idx, hlen;
    uint8_t szhdr;
    int type = kperf__spe_classify(b, len, &idx, &hlen, &szhdr);
    if (type == KPERF_SPE_PKT_TRUNCATED) {
        pkt->type = (uint8_t)type, pkt->index = 2, pkt->size = (uint8_t)len;
        return 0;
    }
    unsigned psz = 0;
    if (type != KPERF_SPE_PKT_PAD && type != KPERF_SPE_PKT_END && type != KPERF_SPE_PKT_BAD)
        psz = 1u << ((szhdr >> 4) & 3);
    if (len < hlen + psz) {
        pkt->type = KPERF_SPE_PKT_TRUNCATED, pkt->index = (uint8_t)(hlen + psz);
        pkt->size = (uint8_t)len;
        return 0;
    }
    pkt->type = (uint8_t)type, pkt->index = (uint8_t)idx;
    pkt->extended = hlen == 2, pkt->payload_size = (uint8_t)psz;
    pkt->size = (uint8_t)(hlen + psz);
    pkt->payload = kperf__spe_le(b + hlen, psz);
    return pkt->size;
}

/* A bounded string builder: appends like snprintf, remembers the full length. */
typedef struct kperf__spe_sb {
    char *buf;
    size_t size, len;
} kperf__spe_sb;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void kperf__spe_put(kperf__spe_sb *sb, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t room = sb->len < sb->size ? sb->size - sb->len : 0;
    int n = vsnprintf(room ? sb->buf + sb->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0) sb->len += (size_t)n;
}

static int kperf__spe_sb_done(kperf__spe_sb *sb) {
    if (sb->size) sb->buf[sb->len < sb->size ? sb->len : sb->size - 1] = 0;
    return (int)sb->len;
}

static const char *const kperf__spe_ev_names[26] = {
    "EXCEPTION-GEN", "RETIRED", "L1D-ACCESS", "L1D-REFILL", "TLB-ACCESS", "TLB-REFILL",
    "NOT-TAKEN", "MISPRED", "LLC-ACCESS", "LLC-REFILL", "REMOTE-ACCESS", "ALIGNMENT",
    NULL, NULL, NULL, NULL, "TXN", "SVE-PARTIAL-PRED", "SVE-EMPTY-PRED", "L2D-ACCESS",
    "L2D-MISS", "HITM", "LFB", "SNOOPED", "STREAMING-SVE", "SMCU",
};

/* MIDR_EL1 fields: implementer [31:24], part number [15:4]. */
static unsigned kperf__spe_midr_impl(uint64_t midr) { return (unsigned)(midr >> 24) & 0xff; }
static unsigned kperf__spe_midr_part(uint64_t midr) { return (unsigned)(midr >> 4) & 0xfff; }

KPERF_API const char *kperf_spe_event_name(unsigned bit, uint64_t midr) {
    if (bit < 26 && kperf__spe_ev_names[bit]) return kperf__spe_ev_names[bit];
    /* Neoverse N1 documents IMPDEF bit 12. */
    if (bit == 12 && kperf__spe_midr_impl(midr) == 0x41 && kperf__spe_midr_part(midr) == 0xd0c)
        return "LATE-PREFETCH";
    return NULL;
}

static void kperf__spe_desc_events(kperf__spe_sb *sb, uint64_t ev, uint64_t midr) {
    kperf__spe_put(sb, "EV");
    uint64_t rest = 0;
    for (unsigned i = 0; i < 64; i++) {
        if (!(ev >> i & 1)) continue;
        const char *n = kperf_spe_event_name(i, midr);
        if (n)
            kperf__spe_put(sb, " %s", n);
        else
            rest |= 1ull << i;
    }
    if (!rest) return;
    kperf__spe_put(sb, " IMPDEF:");
    for (unsigned i = 0, first = 1; i < 64; i++)
        if (rest >> i & 1) kperf__spe_put(sb, first ? "%u" : ",%u", i), first = 0;
}

/* OP-TYPE class OTHER: subclass OTHER (bits 7:3 zero), SVE (x0001xx0 pattern on bits
 * 7,3,0 = 0,1,0) or SME (1,1,0). Returns false for a reserved encoding. */
static bool kperf__spe_desc_other(kperf__spe_sb *sb, unsigned p) {
    if ((p & 0x89) == 0x08) {
        kperf__spe_put(sb, "SVE-OTHER EVLEN %u", 32u << ((p >> 4) & 7));
        if (p & 0x02) kperf__spe_put(sb, " FP");
        if (p & 0x04) kperf__spe_put(sb, " PRED");
    } else if ((p & 0x89) == 0x88) {
        kperf__spe_put(sb, "SME-OTHER ETS %u", 128u << ((((p >> 4) & 7) << 1) | ((p >> 2) & 1)));
        if (p & 0x02) kperf__spe_put(sb, " FP");
    } else if ((p & 0xf8) == 0) {
        kperf__spe_put(sb, "OTHER");
        if (p & 0x04) kperf__spe_put(sb, " ASE");
        if (p & 0x02) kperf__spe_put(sb, " FP");
        kperf__spe_put(sb, (p & 1) ? " COND-SELECT" : " INSN-OTHER");
    } else {
        return false;
    }
    return true;
}

/* OP-TYPE class LD/ST/atomic: bit 0 is store; bits 7:1 the subclass. */
static void kperf__spe_desc_ldst(kperf__spe_sb *sb, unsigned p) {
    kperf__spe_put(sb, (p & 1) ? "ST" : "LD");
    unsigned sub = p & 0xfe;
    if ((p & 0xe2) == 0x02) { /* extended: atomic, exclusive, acquire/release */
        if (p & 0x04) kperf__spe_put(sb, " AT");
        if (p & 0x08) kperf__spe_put(sb, " EXCL");
        if (p & 0x10) kperf__spe_put(sb, " AR");
    } else if (sub == 0x04) {
        kperf__spe_put(sb, " SIMD-FP");
    } else if (sub == 0x00) {
        kperf__spe_put(sb, " GP-REG");
    } else if (sub == 0x10) {
        kperf__spe_put(sb, " UNSPEC-REG");
    } else if (sub == 0x30) {
        kperf__spe_put(sb, " NV-SYSREG");
    } else if (sub == 0x14) {
        kperf__spe_put(sb, " MTE-TAG");
    } else if (sub == 0x20) {
        kperf__spe_put(sb, " MEMCPY");
    } else if (p == 0x25) {
        kperf__spe_put(sb, " MEMSET");
    } else if ((p & 0x0a) == 0x08) {
        kperf__spe_put(sb, " SVE-SME-REG EVLEN %u", 32u << ((p >> 4) & 7));
        if (p & 0x04) kperf__spe_put(sb, " PRED");
        if (p & 0x80) kperf__spe_put(sb, " SG");
    } else if ((p & 0xfa) == 0x40) {
        kperf__spe_put(sb, " GCS");
        if (p & 0x04) kperf__spe_put(sb, " COMM");
    }
}

/* OP-TYPE class branch: COND, IND(irect), GCS, call-return hint in bits 4:3. */
static void kperf__spe_desc_branch(kperf__spe_sb *sb, unsigned p) {
    static const char *const cr[4] = {"", " CR-BL", " CR-RET", " CR-NON-BL-RET"};
    kperf__spe_put(sb, "B");
    if (p & 0x01) kperf__spe_put(sb, " COND");
    if (p & 0x02) kperf__spe_put(sb, " IND");
    if (p & 0x04) kperf__spe_put(sb, " GCS");
    kperf__spe_put(sb, "%s", cr[(p >> 3) & 3]);
}

static bool kperf__spe_op(kperf__spe_sb *sb, unsigned cls, unsigned p) {
    switch (cls) {
    case KPERF_SPE_OP_OTHER: return kperf__spe_desc_other(sb, p);
    case KPERF_SPE_OP_LDST: kperf__spe_desc_ldst(sb, p); return true;
    case KPERF_SPE_OP_BRANCH: kperf__spe_desc_branch(sb, p); return true;
    default: return false;
    }
}

KPERF_API int kperf_spe_op_desc(unsigned op_class, unsigned payload, char *buf, size_t size) {
    kperf__spe_sb sb = {buf, size, 0};
    if (!kperf__spe_op(&sb, op_class, payload & 0xff))
        kperf__spe_put(&sb, "OP-TYPE 0x%x (%u)", payload & 0xff, op_class);
    return kperf__spe_sb_done(&sb);
}

/* PC, TGT and PBT carry EL in bits 62:61 and NS in bit 63 above a 56-bit address. */
static bool kperf__spe_desc_addr(kperf__spe_sb *sb, unsigned idx, uint64_t v) {
    static const char *const names[5] = {"PC", "TGT", "VA", "PA", "PBT"};
    uint64_t a = v & 0x00ffffffffffffffull;
    unsigned ns = (unsigned)(v >> 63);
    switch (idx) {
    case KPERF_SPE_ADDR_PC:
    case KPERF_SPE_ADDR_TGT:
    case KPERF_SPE_ADDR_PBT:
        kperf__spe_put(sb, "%s 0x%llx el%u ns=%u", names[idx], (unsigned long long)a,
                       (unsigned)(v >> 61) & 3, ns);
        return true;
    case KPERF_SPE_ADDR_VA: kperf__spe_put(sb, "VA 0x%llx", (unsigned long long)v); return true;
    case KPERF_SPE_ADDR_PA:
        kperf__spe_put(sb, "PA 0x%llx ns=%u ch=%u pat=%x", (unsigned long long)a, ns,
                       (unsigned)(v >> 62) & 1, (unsigned)(v >> 56) & 0xf);
        return true;
    default: return false;
    }
}

static void kperf__spe_desc_counter(kperf__spe_sb *sb, unsigned idx, uint64_t v) {
    static const char *const names[3] = {"TOT", "ISSUE", "XLAT"};
    if (idx < 3)
        kperf__spe_put(sb, "LAT %u %s", (unsigned)(v & 0xffff), names[idx]);
    else
        kperf__spe_put(sb, "LAT %u IDX%u", (unsigned)(v & 0xffff), idx);
}

KPERF_API int kperf_spe_packet_desc(const kperf_spe_packet *pkt, uint64_t midr, char *buf,
                                    size_t size) {
    kperf__spe_sb sb = {buf, size, 0};
    unsigned long long v = pkt->payload;
    bool ok = true;
    switch (pkt->type) {
    case KPERF_SPE_PKT_PAD: kperf__spe_put(&sb, "PAD"); break;
    case KPERF_SPE_PKT_END: kperf__spe_put(&sb, "END"); break;
    case KPERF_SPE_PKT_BAD: kperf__spe_put(&sb, "BAD (unknown header byte)"); break;
    case KPERF_SPE_PKT_TRUNCATED:
        kperf__spe_put(&sb, "TRUNCATED (%u of %u bytes)", pkt->size, pkt->index);
        break;
    case KPERF_SPE_PKT_TIMESTAMP: kperf__spe_put(&sb, "TS %llu", v); break;
    case KPERF_SPE_PKT_DATA_SOURCE: kperf__spe_put(&sb, "DATA-SOURCE %llu", v); break;
    case KPERF_SPE_PKT_EVENTS: kperf__spe_desc_events(&sb, v, midr); break;
    case KPERF_SPE_PKT_OP_TYPE: ok = kperf__spe_op(&sb, pkt->index, (unsigned)v); break;
    case KPERF_SPE_PKT_ADDRESS: ok = kperf__spe_desc_addr(&sb, pkt->index, v); break;
    case KPERF_SPE_PKT_COUNTER: kperf__spe_desc_counter(&sb, pkt->index, v); break;
    case KPERF_SPE_PKT_CONTEXT:
        if (pkt->index < 2)
            kperf__spe_put(&sb, "CONTEXT 0x%llx el%u", v, pkt->index + 1u);
        else
            ok = false;
        break;
    default: ok = false;
    }
    if (!ok) { /* reserved encodings: show the raw payload and index */
        static const char *const names[] = {"BAD", "PAD", "END", "TS", "ADDR", "LAT",
                                            "CONTEXT", "OP-TYPE", "EV", "DATA-SOURCE", "?"};
        sb.len = 0;
        kperf__spe_put(&sb, "%s 0x%llx (%u)", names[pkt->type < 10 ? pkt->type : 10], v,
                       pkt->index);
    }
    return kperf__spe_sb_done(&sb);
}

/* ---- data source tables -------------------------------------------------------------- */

KPERF_API int kperf_spe_ds_table_for_midr(uint64_t midr) {
    /* Arm parts whose TRM defines the common data-source encoding. */
    static const uint16_t arm_common[] = {0xd0c, 0xd49, 0xd40, 0xd4f, 0xd81, 0xd89,
                                          0xd87, 0xd4c, 0xd4e, 0xd85};
    unsigned impl = kperf__spe_midr_impl(midr), part = kperf__spe_midr_part(midr);
    if (impl == 0x41)
        for (size_t i = 0; i < sizeof arm_common / sizeof arm_common[0]; i++)
            if (arm_common[i] == part) return KPERF_SPE_DS_COMMON;
    if (impl == 0x48 && part == 0xd06) return KPERF_SPE_DS_HISI_HIP;
    if (impl == 0xc0 && part == 0xac4) return KPERF_SPE_DS_AMPEREONE;
    return KPERF_SPE_DS_NONE;
}

KPERF_API const char *kperf_spe_ds_name(int table, uint64_t source) {
    static const char *const common[16] = {
        "L1D", NULL, NULL, NULL, NULL, NULL, NULL, NULL,
        "L2", "PEER-CORE", "LOCAL-CLUSTER", "SYS-CACHE", "PEER-CLUSTER", "REMOTE", "DRAM", NULL};
    static const char *const hisi[19] = {
        "PEER-CPU", "PEER-CPU-HITM", "L3", "L3-HITM", "PEER-CLUSTER", "PEER-CLUSTER-HITM",
        "REMOTE-SOCKET", "REMOTE-SOCKET-HITM", "LOCAL-MEM", "REMOTE-MEM", NULL, NULL, NULL,
        "NC-DEV", NULL, NULL, "L2", "L2-HITM", "L1"};
    static const char *const ampere[10] = {
        "LOCAL-CHIP-CACHE-OR-DEVICE", NULL, NULL, "SLC", NULL, "REMOTE-CHIP-CACHE", NULL,
        "DDR", "L1D", "L2D"};
    switch (table) {
    case KPERF_SPE_DS_COMMON: return source < 16 ? common[source] : NULL;
    case KPERF_SPE_DS_HISI_HIP: return source < 19 ? hisi[source] : NULL;
    case KPERF_SPE_DS_AMPEREONE: return source < 10 ? ampere[source] : NULL;
    default: return NULL;
    }
}

/* ---- records ------------------------------------------------------------------------- */

static const char *kperf__spe_op_class_name(unsigned cls) {
    static const char *const n[4] = {"OTHER", "LDST", "BRANCH", "OP3"};
    return n[cls & 3];
}

static void kperf__spe_fmt_branchlike(kperf__spe_sb *sb, const char *name, uint64_t a,
                                      unsigned el, bool ns) {
    kperf__spe_put(sb, " %s=0x%016llx %s_el=%u %s_ns=%u", name, (unsigned long long)a, name,
                   el, name, (unsigned)ns);
}

/* Appends one field's tokens (with a leading space). */
static void kperf__spe_fmt_field(kperf__spe_sb *sb, const kperf_spe_record *r, unsigned f) {
    static const char *const lat[3] = {"lat_tot", "lat_issue", "lat_xlat"};
    if (f == (unsigned)KPERF_SPE_F_ADDR + (unsigned)KPERF_SPE_ADDR_PC) {
        kperf__spe_fmt_branchlike(sb, "pc", r->pc, r->pc_el, r->pc_ns);
    } else if (f == (unsigned)KPERF_SPE_F_ADDR + (unsigned)KPERF_SPE_ADDR_TGT) {
        kperf__spe_fmt_branchlike(sb, "tgt", r->tgt, r->tgt_el, r->tgt_ns);
    } else if (f == (unsigned)KPERF_SPE_F_ADDR + (unsigned)KPERF_SPE_ADDR_PBT) {
        kperf__spe_fmt_branchlike(sb, "pbt", r->pbt, r->pbt_el, r->pbt_ns);
    } else if (f == (unsigned)KPERF_SPE_F_ADDR + (unsigned)KPERF_SPE_ADDR_VA) {
        kperf__spe_put(sb, " va=0x%016llx va_tag=0x%02x", (unsigned long long)r->va, r->va_tag);
    } else if (f == (unsigned)KPERF_SPE_F_ADDR + (unsigned)KPERF_SPE_ADDR_PA) {
        kperf__spe_put(sb, " pa=0x%016llx pa_ns=%u", (unsigned long long)r->pa, (unsigned)r->pa_ns);
    } else if (f < KPERF_SPE_F_COUNTER) {
        kperf__spe_put(sb, " addr%u=0x%016llx", f, (unsigned long long)r->addr_raw[f]);
    } else if (f < KPERF_SPE_F_COUNTER + 3) {
        kperf__spe_put(sb, " %s=%u", lat[f - KPERF_SPE_F_COUNTER], r->counter[f - KPERF_SPE_F_COUNTER]);
    } else if (f < KPERF_SPE_F_EVENTS) {
        kperf__spe_put(sb, " lat_idx%u=%u", f - KPERF_SPE_F_COUNTER, r->counter[f - KPERF_SPE_F_COUNTER]);
    } else if (f == KPERF_SPE_F_EVENTS) {
        kperf__spe_put(sb, " events=0x%llx", (unsigned long long)r->events);
    } else if (f == KPERF_SPE_F_OP) {
        char d[96];
        kperf_spe_op_desc(r->op_class, r->op_payload, d, sizeof d);
        for (char *c = d; *c; c++)
            if (*c == ' ') *c = '_';
        kperf__spe_put(sb, " op=%s op_payload=0x%02x op_desc=%s",
                       kperf__spe_op_class_name(r->op_class), r->op_payload, d);
    } else if (f == KPERF_SPE_F_DATA_SOURCE) {
        kperf__spe_put(sb, " data_source=%llu", (unsigned long long)r->data_source);
    } else if (f == KPERF_SPE_F_CONTEXT) {
        kperf__spe_put(sb, " context=0x%x context_el=%u", r->context, r->context_el);
    }
}

KPERF_API int kperf_spe_record_format(const kperf_spe_record *r, char *buf, size_t size) {
    kperf__spe_sb sb = {buf, size, 0};
    for (unsigned i = 0; i < r->norder && i < KPERF_SPE_F_COUNT; i++)
        kperf__spe_fmt_field(&sb, r, r->order[i]);
    if (KPERF_SPE_HAS(r, KPERF_SPE_F_TIMESTAMP))
        kperf__spe_put(&sb, " ts=%llu", (unsigned long long)r->timestamp);
    if (r->end == KPERF_SPE_PKT_END || r->end == KPERF_SPE_PKT_TIMESTAMP)
        kperf__spe_put(&sb, " end=%s", r->end == KPERF_SPE_PKT_END ? "END" : "TS");
    kperf__spe_sb_done(&sb);
    /* drop the leading space */
    if (sb.len && size) memmove(buf, buf + 1, (sb.len < size ? sb.len : size - 1));
    return sb.len ? (int)sb.len - 1 : 0;
}

static int kperf__spe_cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

KPERF_API int kperf_spe_record_fields(const kperf_spe_record *r, char *buf, size_t size) {
    /* Field names come from the formatted record: every "name=" token. */
    char text[2048], *names[3 * KPERF_SPE_F_COUNT + 2];
    size_t n = 0;
    kperf_spe_record_format(r, text, sizeof text);
    for (char *tok = strtok(text, " "); tok && n < sizeof names / sizeof names[0];
         tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        if (eq) *eq = 0;
        if (strcmp(tok, "end") != 0) names[n++] = tok;
    }
    qsort(names, n, sizeof names[0], kperf__spe_cmp_str);
    kperf__spe_sb sb = {buf, size, 0};
    for (size_t i = 0; i < n; i++) kperf__spe_put(&sb, i ? " %s" : "%s", names[i]);
    return kperf__spe_sb_done(&sb);
}

/* ---- clock --------------------------------------------------------------------------- */

KPERF_API uint64_t kperf_spe_clock_convert(const kperf_spe_clock *c, uint64_t ts) {
    if (!c || !c->cap_user_time_zero) return ts;
    return c->time_zero + kperf__perf_time_scale(ts, c->time_mult, c->time_shift,
                                                 c->cap_user_time_short, c->time_cycles,
                                                 c->time_mask);
}

KPERF_API int kperf_spe_clock_read(const void *mmap_page, kperf_spe_clock *out) {
    const volatile struct perf_event_mmap_page *pg =
        (const volatile struct perf_event_mmap_page *)mmap_page;
    memset(out, 0, sizeof *out);
    for (int tries = 0; tries < 1000; tries++) {
        uint32_t seq = __atomic_load_n(&pg->lock, __ATOMIC_ACQUIRE);
        kperf_spe_clock c;
        memset(&c, 0, sizeof c);
        c.cap_user_time_zero = pg->cap_user_time_zero;
        c.time_zero = pg->time_zero, c.time_mult = pg->time_mult, c.time_shift = pg->time_shift;
        c.cap_user_time_short = pg->cap_user_time_short;
        if (c.cap_user_time_short) c.time_cycles = pg->time_cycles, c.time_mask = pg->time_mask;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&pg->lock, __ATOMIC_RELAXED) != seq) continue;
        *out = c;
        if (!c.cap_user_time_zero)
            return kperf__fail(KPERF_ENOTSUP, "spe: the kernel gives no cap_user_time_zero in "
                                              "the mmap page; SPE timestamps stay raw");
        return 0;
    }
    return kperf__fail(EAGAIN, "spe: the mmap page kept changing while reading time_zero");
}

/* ---- decoder ------------------------------------------------------------------------- */

typedef struct kperf__spe_switch {
    uint64_t time;
    int32_t pid, tid;
} kperf__spe_switch;

struct kperf_spe_decoder {
    kperf_spe_decoder_desc desc;
    kperf_spe_clock clock;
    bool has_clock;
    uint8_t carry[16];          /* start of a packet cut by the end of the last buffer */
    unsigned ncarry;
    uint64_t off;               /* stream offset of the next byte to decode */
    uint64_t pad_off;           /* pending run of padding (reported merged) */
    unsigned pad_len;
    kperf_spe_record rec;       /* the record being built */
    bool rec_open;              /* rec has at least one packet */
    uint32_t next_flags;        /* flags for the next record (AFTER_GAP) */
    int delivered;              /* records delivered by the current call */
    kperf_spe_decoder_stats st;
    kperf__spe_switch *sw;      /* context-switch timeline, time ordered */
    size_t nsw, capsw;
};

static void kperf__spe_rec_clear(kperf_spe_decoder *d) {
    memset(&d->rec, 0, sizeof d->rec);
    d->rec.pid = d->rec.tid = d->rec.cpu = -1;
    d->rec_open = false;
}

static void kperf__spe_mark(kperf_spe_record *r, unsigned f) {
    if (KPERF_SPE_HAS(r, f)) return;
    r->seen[f >> 6] |= 1ull << (f & 63);
    if (f != KPERF_SPE_F_TIMESTAMP && r->norder < KPERF_SPE_F_COUNT) r->order[r->norder++] = (uint8_t)f;
}

/* Stores an address packet with perf's fix-ups of the top byte. */
static void kperf__spe_set_addr(kperf_spe_record *r, unsigned idx, uint64_t v) {
    uint64_t a = v & 0x00ffffffffffffffull;
    unsigned el = (unsigned)(v >> 61) & 3;
    bool ns = v >> 63;
    r->addr_raw[idx] = v;
    if (idx == KPERF_SPE_ADDR_PC || idx == KPERF_SPE_ADDR_TGT || idx == KPERF_SPE_ADDR_PBT) {
        if (ns && (el == 1 || el == 2)) a |= 0xffull << 56;
        if (idx == KPERF_SPE_ADDR_PC) r->pc = a, r->pc_el = (uint8_t)el, r->pc_ns = ns;
        if (idx == KPERF_SPE_ADDR_TGT) r->tgt = a, r->tgt_el = (uint8_t)el, r->tgt_ns = ns;
        if (idx == KPERF_SPE_ADDR_PBT) r->pbt = a, r->pbt_el = (uint8_t)el, r->pbt_ns = ns;
    } else if (idx == KPERF_SPE_ADDR_VA) {
        if (((a >> 52) & 0xf) == 0xf) a |= 0xffull << 56;
        r->va = a, r->va_tag = (uint8_t)(v >> 56);
    } else if (idx == KPERF_SPE_ADDR_PA) {
        r->pa = a, r->pa_ns = ns, r->pa_ch = (v >> 62) & 1, r->pa_pat = (uint8_t)((v >> 56) & 0xf);
    }
}

static void kperf__spe_add(kperf_spe_record *r, const kperf_spe_packet *p) {
    unsigned i = p->index & 31;
    switch (p->type) {
    case KPERF_SPE_PKT_ADDRESS: kperf__spe_set_addr(r, i, p->payload); kperf__spe_mark(r, KPERF_SPE_F_ADDR + i); break;
    case KPERF_SPE_PKT_COUNTER:
        r->counter[i] = (uint16_t)p->payload;
        if (i == KPERF_SPE_CNT_TOTAL) r->lat_total = r->counter[i];
        if (i == KPERF_SPE_CNT_ISSUE) r->lat_issue = r->counter[i];
        if (i == KPERF_SPE_CNT_XLAT) r->lat_xlat = r->counter[i];
        kperf__spe_mark(r, KPERF_SPE_F_COUNTER + i);
        break;
    case KPERF_SPE_PKT_EVENTS: r->events = p->payload; kperf__spe_mark(r, KPERF_SPE_F_EVENTS); break;
    case KPERF_SPE_PKT_OP_TYPE:
        r->op_class = (uint8_t)(p->index & 3), r->op_payload = (uint8_t)p->payload;
        kperf__spe_mark(r, KPERF_SPE_F_OP);
        break;
    case KPERF_SPE_PKT_DATA_SOURCE: r->data_source = p->payload; kperf__spe_mark(r, KPERF_SPE_F_DATA_SOURCE); break;
    case KPERF_SPE_PKT_CONTEXT:
        r->context = (uint32_t)p->payload, r->context_el = (uint8_t)((p->index & 3) + 1);
        kperf__spe_mark(r, KPERF_SPE_F_CONTEXT);
        break;
    default: break;
    }
}

/* Who ran at perf time t: the last switch at or before t; older entries are dropped. */
static void kperf__spe_attribute(kperf_spe_decoder *d, kperf_spe_record *r) {
    if (d->desc.pid_from_context && KPERF_SPE_HAS(r, KPERF_SPE_F_CONTEXT)) {
        r->tid = (int32_t)r->context, r->flags |= KPERF_SPE_REC_TID;
    }
    if (!(r->flags & KPERF_SPE_REC_TIME) || d->nsw == 0) return;
    size_t k = d->nsw;
    while (k > 0 && d->sw[k - 1].time > r->time) k--;
    if (k == 0) return;
    const kperf__spe_switch *s = &d->sw[k - 1];
    if (!(r->flags & KPERF_SPE_REC_TID)) r->tid = s->tid, r->flags |= KPERF_SPE_REC_TID;
    if (r->tid == s->tid) r->pid = s->pid;
    if (k > 1) { /* keep the entry in force, drop what came before it */
        memmove(d->sw, d->sw + (k - 1), (d->nsw - (k - 1)) * sizeof d->sw[0]);
        d->nsw -= k - 1;
    }
}

/* Hands the current record to the callback (complete, or partial when allowed) and starts
 * a new one. Returns the callback's value. */
static int kperf__spe_deliver(kperf_spe_decoder *d, uint8_t end, uint32_t why) {
    kperf_spe_record *r = &d->rec;
    int rc = 0;
    r->end = end;
    r->flags |= why | d->next_flags;
    d->next_flags = 0;
    if (end) {
        d->st.records++;
        if (KPERF_SPE_HAS(r, KPERF_SPE_F_TIMESTAMP) && d->has_clock) {
            r->time = kperf_spe_clock_convert(&d->clock, r->timestamp);
            r->flags |= KPERF_SPE_REC_TIME;
        }
    }
    kperf__spe_attribute(d, r);
    if ((end || d->desc.deliver_partial) && d->desc.on_record) {
        rc = d->desc.on_record(r, d->desc.user);
        d->delivered++;
    }
    kperf__spe_rec_clear(d);
    return rc;
}

static int kperf__spe_flush_pad(kperf_spe_decoder *d) {
    static const uint8_t zeros[16] = {0};
    if (!d->pad_len) return 0;
    kperf_spe_packet p;
    memset(&p, 0, sizeof p);
    p.type = KPERF_SPE_PKT_PAD, p.size = (uint8_t)d->pad_len;
    d->pad_len = 0;
    return d->desc.on_packet ? d->desc.on_packet(&p, d->pad_off, zeros, d->desc.user) : 0;
}

/* Feeds one packet found at stream offset off. */
static int kperf__spe_packet(kperf_spe_decoder *d, const kperf_spe_packet *p, uint64_t off,
                             const uint8_t *bytes) {
    int rc;
    d->st.bytes += p->size;
    if (p->type == KPERF_SPE_PKT_PAD) {
        d->st.pad_bytes++;
        if (d->pad_len == 16 && (rc = kperf__spe_flush_pad(d)) < 0) return rc;
        if (!d->pad_len) d->pad_off = off;
        d->pad_len++;
        return 0;
    }
    if ((rc = kperf__spe_flush_pad(d)) < 0) return rc;
    if (d->desc.on_packet && (rc = d->desc.on_packet(p, off, bytes, d->desc.user)) < 0) return rc;
    if (p->type == KPERF_SPE_PKT_BAD) {
        d->st.bad_bytes++;
        int r2 = 0;
        if (d->rec_open) d->st.damaged++, r2 = kperf__spe_deliver(d, 0, KPERF_SPE_REC_DAMAGED);
        d->next_flags |= KPERF_SPE_REC_AFTER_GAP;
        return r2;
    }
    d->st.packets++;
    if (!d->rec_open) d->rec.offset = off, d->rec_open = true;
    if (p->type == KPERF_SPE_PKT_END) return kperf__spe_deliver(d, KPERF_SPE_PKT_END, 0);
    if (p->type == KPERF_SPE_PKT_TIMESTAMP) {
        d->rec.timestamp = p->payload;
        kperf__spe_mark(&d->rec, KPERF_SPE_F_TIMESTAMP);
        return kperf__spe_deliver(d, KPERF_SPE_PKT_TIMESTAMP, 0);
    }
    kperf__spe_add(&d->rec, p);
    return 0;
}

KPERF_API int kperf_spe_decoder_new(kperf_spe_decoder **out, const kperf_spe_decoder_desc *desc) {
    *out = NULL;
    kperf_spe_decoder *d = (kperf_spe_decoder *)kperf__calloc(1, sizeof *d);
    if (!d) return kperf__fail(ENOMEM, "spe: out of memory for a decoder");
    if (desc) d->desc = *desc;
    if (d->desc.clock) d->clock = *d->desc.clock, d->has_clock = d->clock.cap_user_time_zero;
    d->desc.clock = NULL;
    kperf__spe_rec_clear(d);
    d->next_flags = KPERF_SPE_REC_AFTER_GAP;
    *out = d;
    return 0;
}

/* Completes a packet whose start was carried over from the previous buffer. Consumes
 * bytes of buf through *i. Returns 1 when a packet was handled, 0 when still short, or a
 * callback's negative value. */
static int kperf__spe_carry(kperf_spe_decoder *d, const uint8_t *buf, size_t len, size_t *i) {
    uint8_t tmp[32];
    size_t take = len - *i;
    if (take > sizeof tmp - d->ncarry) take = sizeof tmp - d->ncarry;
    memcpy(tmp, d->carry, d->ncarry);
    memcpy(tmp + d->ncarry, buf + *i, take);
    kperf_spe_packet p;
    size_t n = kperf_spe_packet_parse(tmp, d->ncarry + take, &p);
    if (n == 0) { /* still short: everything left fits in carry (a packet is <= 10 bytes) */
        memcpy(d->carry + d->ncarry, buf + *i, take);
        d->ncarry += (unsigned)take, *i += take;
        return 0;
    }
    uint64_t off = d->off;
    d->off += n;
    if (n >= d->ncarry) {
        *i += n - d->ncarry, d->ncarry = 0;
    } else { /* a 1-byte BAD inside the carried bytes */
        memmove(d->carry, d->carry + n, d->ncarry - n);
        d->ncarry -= (unsigned)n;
    }
    int rc = kperf__spe_packet(d, &p, off, tmp);
    return rc < 0 ? rc : 1;
}

static int kperf__spe_abort(kperf_spe_decoder *d, int rc) {
    kperf_spe_decoder_reset(d);
    d->st.resets--;
    return rc;
}

KPERF_API int kperf_spe_decoder_parse(kperf_spe_decoder *d, const void *buf, size_t len) {
    const uint8_t *b = (const uint8_t *)buf;
    size_t i = 0;
    int rc;
    d->delivered = 0;
    while (d->ncarry && i < len)
        if ((rc = kperf__spe_carry(d, b, len, &i)) < 0) return kperf__spe_abort(d, rc);
    while (i < len && !d->ncarry) {
        kperf_spe_packet p;
        size_t n = kperf_spe_packet_parse(b + i, len - i, &p);
        if (n == 0) {
            memcpy(d->carry, b + i, len - i);
            d->ncarry = (unsigned)(len - i);
            break;
        }
        uint64_t off = d->off;
        d->off += n;
        if ((rc = kperf__spe_packet(d, &p, off, b + i)) < 0) return kperf__spe_abort(d, rc);
        i += n;
    }
    return d->delivered;
}

KPERF_API int kperf_spe_decoder_finish(kperf_spe_decoder *d) {
    int rc;
    d->delivered = 0;
    if ((rc = kperf__spe_flush_pad(d)) < 0) return kperf__spe_abort(d, rc);
    if (d->ncarry) {
        kperf_spe_packet p;
        kperf_spe_packet_parse(d->carry, d->ncarry, &p);
        d->st.truncated_bytes += d->ncarry;
        d->off += d->ncarry;
        unsigned n = d->ncarry;
        d->ncarry = 0;
        p.size = (uint8_t)n;
        if (d->desc.on_packet && (rc = d->desc.on_packet(&p, d->off - n, d->carry, d->desc.user)) < 0)
            return kperf__spe_abort(d, rc);
    }
    if (d->rec_open) {
        d->st.incomplete++;
        if ((rc = kperf__spe_deliver(d, 0, KPERF_SPE_REC_INCOMPLETE)) < 0) return kperf__spe_abort(d, rc);
    }
    d->next_flags = KPERF_SPE_REC_AFTER_GAP;
    return d->delivered;
}

KPERF_API void kperf_spe_decoder_reset(kperf_spe_decoder *d) {
    if (!d) return;
    d->st.truncated_bytes += d->ncarry;
    d->off += d->ncarry;
    d->ncarry = 0;
    d->pad_len = 0;
    if (d->rec_open) d->st.incomplete++;
    kperf__spe_rec_clear(d);
    d->next_flags = KPERF_SPE_REC_AFTER_GAP;
    d->st.resets++;
}

KPERF_API int kperf_spe_decoder_switch(kperf_spe_decoder *d, uint64_t time, int32_t pid,
                                       int32_t tid) {
    if (d->nsw == d->capsw) {
        size_t cap = d->capsw ? d->capsw * 2 : 16;
        void *p = KPERF_REALLOC(d->sw, cap * sizeof d->sw[0]);
        if (!p) return kperf__fail(ENOMEM, "spe: out of memory for the switch timeline");
        d->sw = (kperf__spe_switch *)p, d->capsw = cap;
    }
    size_t k = d->nsw; /* keep time order even if a caller is slightly out of order */
    while (k > 0 && d->sw[k - 1].time > time) k--;
    memmove(d->sw + k + 1, d->sw + k, (d->nsw - k) * sizeof d->sw[0]);
    d->sw[k].time = time, d->sw[k].pid = pid, d->sw[k].tid = tid;
    d->nsw++;
    return 0;
}

KPERF_API void kperf_spe_decoder_stats_read(const kperf_spe_decoder *d,
                                            kperf_spe_decoder_stats *out) {
    *out = d->st;
}

KPERF_API void kperf_spe_decoder_free(kperf_spe_decoder *d) {
    if (!d) return;
    KPERF_FREE(d->sw);
    KPERF_FREE(d);
}

KPERF_API int kperf_spe_decode(const void *buf, size_t len, const kperf_spe_decoder_desc *desc,
                               kperf_spe_decoder_stats *stats) {
    kperf_spe_decoder *d;
    int rc = kperf_spe_decoder_new(&d, desc);
    if (rc < 0) return rc;
    int total = kperf_spe_decoder_parse(d, buf, len);
    if (total >= 0) {
        rc = kperf_spe_decoder_finish(d);
        total = rc < 0 ? rc : total + rc;
    }
    if (stats) kperf_spe_decoder_stats_read(d, stats);
    kperf_spe_decoder_free(d);
    return total;
}
/* ---- records as samples ---------------------------------------------------------------- */

/* perf_mem_data_src field shifts (UAPI): op 0, lvl 5, snoop 19, dtlb 26, lvl_num 33,
 * remote 37, snoopx 38. Values are the PERF_MEM_* constants. */
#define KPERF__MEM(lvl, num, snoop, snoopx, remote)                                           \
    (((uint64_t)(lvl) << 5) | ((uint64_t)(num) << 33) | ((uint64_t)(snoop) << 19) |         \
     ((uint64_t)(snoopx) << 38) | ((uint64_t)(remote) << 37))

/* Common (Neoverse/Cortex) table, as perf maps it; stores carry no level. */
static uint64_t kperf__spe_ds_common(uint64_t src) {
    switch (src) {
    case 0x0: return KPERF__MEM(0x08 | 0x02, 0x1, 0x02, 0, 0);   /* L1D: L1 hit */
    case 0x8: return KPERF__MEM(0x20 | 0x02, 0x2, 0x02, 0, 0);   /* L2 hit */
    case 0x9: return KPERF__MEM(0x20 | 0x02, 0x2, 0, 0x02, 0);   /* peer core: L2, peer */
    case 0xa:                                                   /* local cluster */
    case 0xc: return KPERF__MEM(0x40 | 0x02, 0x3, 0, 0x02, 0);   /* peer cluster: L3, peer */
    case 0xb: return KPERF__MEM(0x40 | 0x02, 0x3, 0x04, 0, 0);   /* system cache: L3, snoop hit */
    case 0xd: return KPERF__MEM(0x400, 0xb, 0, 0x02, 1);         /* remote: any cache, remote */
    case 0xe: return KPERF__MEM(0x80 | 0x02, 0xd, 0x02, 0, 0);   /* DRAM: local RAM */
    default: return 0;
    }
}

/* HiSilicon HIP table: levels from the encoding's names; *_HITM hit a modified line. */
static uint64_t kperf__spe_ds_hisi(uint64_t src) {
    switch (src) {
    case 18: return KPERF__MEM(0x08 | 0x02, 0x1, 0x02, 0, 0);    /* L1 */
    case 16: return KPERF__MEM(0x20 | 0x02, 0x2, 0x02, 0, 0);    /* L2 */
    case 17: return KPERF__MEM(0x20 | 0x02, 0x2, 0x10, 0, 0);    /* L2 HITM */
    case 0: return KPERF__MEM(0x20 | 0x02, 0x2, 0, 0x02, 0);     /* peer CPU */
    case 1: return KPERF__MEM(0x20 | 0x02, 0x2, 0x10, 0x02, 0);  /* peer CPU HITM */
    case 2: return KPERF__MEM(0x40 | 0x02, 0x3, 0x02, 0, 0);     /* L3 */
    case 3: return KPERF__MEM(0x40 | 0x02, 0x3, 0x10, 0, 0);     /* L3 HITM */
    case 4: return KPERF__MEM(0x40 | 0x02, 0x3, 0, 0x02, 0);     /* peer cluster */
    case 5: return KPERF__MEM(0x40 | 0x02, 0x3, 0x10, 0x02, 0);  /* peer cluster HITM */
    case 6: return KPERF__MEM(0x400, 0xb, 0, 0x02, 1);           /* remote socket */
    case 7: return KPERF__MEM(0x400, 0xb, 0x10, 0x02, 1);        /* remote socket HITM */
    case 8: return KPERF__MEM(0x80 | 0x02, 0xd, 0x02, 0, 0);     /* local memory */
    case 9: return KPERF__MEM(0x100 | 0x02, 0xd, 0, 0, 1);       /* remote memory */
    case 13: return KPERF__MEM(0x1000 | 0x02, 0xa, 0, 0, 0);     /* non-cacheable device */
    default: return 0;
    }
}

/* AmpereOne values translated to the common encoding (as perf does). */
static uint64_t kperf__spe_ds_ampere(uint64_t src) {
    static const int8_t to_common[10] = {0x9, -1, -1, 0xb, -1, 0xd, -1, 0xe, 0x0, 0x8};
    return src < 10 && to_common[src] >= 0 ? kperf__spe_ds_common((uint64_t)to_common[src]) : 0;
}

/* Unknown CPU: levels from the EVENTS bits. */
static uint64_t kperf__spe_ds_events(uint64_t ev) {
    uint64_t lvl = 0;
    if (ev & (KPERF_SPE_EV_LLC_ACCESS | KPERF_SPE_EV_LLC_REFILL))
        lvl = 0x40 | ((ev & KPERF_SPE_EV_LLC_REFILL) ? 0x04 : 0x02);
    else if (ev & (KPERF_SPE_EV_L1D_ACCESS | KPERF_SPE_EV_L1D_REFILL))
        lvl = 0x08 | ((ev & KPERF_SPE_EV_L1D_REFILL) ? 0x04 : 0x02);
    if (ev & KPERF_SPE_EV_REMOTE_ACCESS) lvl |= 0x400;
    return (uint64_t)lvl << 5;
}

KPERF_API uint64_t kperf_spe_data_src(const kperf_spe_record *r, uint64_t midr) {
    if (!KPERF_SPE_HAS(r, KPERF_SPE_F_OP) || r->op_class != KPERF_SPE_OP_LDST) return 0;
    bool store = r->op_payload & 1;
    uint64_t v = store ? 0x04 : 0x02; /* PERF_MEM_OP_STORE / LOAD */
    int table = kperf_spe_ds_table_for_midr(midr);
    if (table != KPERF_SPE_DS_NONE && KPERF_SPE_HAS(r, KPERF_SPE_F_DATA_SOURCE)) {
        if (store) /* the tables say nothing about where a store went */
            v |= KPERF__MEM(0x01, 0xf, 0x01, 0, 0);
        else if (table == KPERF_SPE_DS_COMMON) v |= kperf__spe_ds_common(r->data_source);
        else if (table == KPERF_SPE_DS_HISI_HIP) v |= kperf__spe_ds_hisi(r->data_source);
        else v |= kperf__spe_ds_ampere(r->data_source);
    } else {
        v |= kperf__spe_ds_events(r->events);
    }
    if (r->events & (KPERF_SPE_EV_TLB_ACCESS | KPERF_SPE_EV_TLB_REFILL)) /* dtlb at bit 26 */
        v |= (uint64_t)(0x20 | ((r->events & KPERF_SPE_EV_TLB_REFILL) ? 0x04 : 0x02)) << 26;
    return v;
}

KPERF_API void kperf_spe_record_to_sample(const kperf_spe_record *r, uint64_t midr,
                                          kperf_sample *out) {
    memset(out, 0, sizeof *out);
    if (KPERF_SPE_HAS(r, (unsigned)KPERF_SPE_F_ADDR + (unsigned)KPERF_SPE_ADDR_PC)) out->ip = r->pc, out->fields |= KPERF_SAMPLE_IP;
    if (r->flags & KPERF_SPE_REC_TID) {
        out->pid = (uint32_t)r->pid, out->tid = (uint32_t)r->tid;
        out->fields |= KPERF_SAMPLE_TID;
    }
    if (KPERF_SPE_HAS(r, KPERF_SPE_F_TIMESTAMP)) {
        out->time = (r->flags & KPERF_SPE_REC_TIME) ? r->time : r->timestamp;
        out->fields |= KPERF_SAMPLE_TIME;
    }
    if (r->cpu >= 0) out->cpu = (uint32_t)r->cpu, out->fields |= KPERF_SAMPLE_CPU;
    if (KPERF_SPE_HAS(r, (unsigned)KPERF_SPE_F_ADDR + (unsigned)KPERF_SPE_ADDR_VA)) out->addr = r->va, out->fields |= KPERF_SAMPLE_ADDR;
    else if (KPERF_SPE_HAS(r, (unsigned)KPERF_SPE_F_ADDR + (unsigned)KPERF_SPE_ADDR_TGT)) out->addr = r->tgt, out->fields |= KPERF_SAMPLE_ADDR;
    if (KPERF_SPE_HAS(r, (unsigned)KPERF_SPE_F_ADDR + (unsigned)KPERF_SPE_ADDR_PA)) out->phys_addr = r->pa, out->fields |= KPERF_SAMPLE_PHYS_ADDR;
    if (KPERF_SPE_HAS(r, (unsigned)KPERF_SPE_F_COUNTER + (unsigned)KPERF_SPE_CNT_TOTAL)) out->weight = r->lat_total, out->fields |= KPERF_SAMPLE_WEIGHT;
    out->data_src = kperf_spe_data_src(r, midr);
    if (out->data_src) out->fields |= KPERF_SAMPLE_DATA_SRC;
    out->period = 1;
}

/* ---- PMUs, filters, plan ------------------------------------------------------------- */

static int kperf__spe_cap_cmp(const void *a, const void *b) {
    return strcmp(((const kperf_spe_cap *)a)->name, ((const kperf_spe_cap *)b)->name);
}

/* Reads the caps/ files of one SPE PMU (missing directory: no caps). */
static void kperf__spe_read_caps(const kperf_pmus *pmus, kperf_spe_pmu *sp) {
    char dir[1024], path[1100], val[64];
    const char *root = kperf_pmus_root(pmus);
    snprintf(dir, sizeof dir, "%s/sys/bus/event_source/devices/%s/caps",
             strcmp(root, "/") ? root : "", sp->pmu->name);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) && sp->ncaps < sizeof sp->caps / sizeof sp->caps[0]) {
        size_t nl = strlen(e->d_name);
        if (e->d_name[0] == '.' || nl >= sizeof sp->caps[0].name) continue;
        kperf_spe_cap *c = &sp->caps[sp->ncaps];
        memcpy(c->name, e->d_name, nl + 1);
        snprintf(path, sizeof path, "%s/%.31s", dir, c->name);
        if (kperf__read_file(path, val, sizeof val) < 0) continue;
        sp->ncaps++;
        c->value = strtoull(val, NULL, 0);
        if (!strcmp(c->name, "min_interval")) sp->min_interval = c->value;
    }
    closedir(d);
    qsort(sp->caps, sp->ncaps, sizeof sp->caps[0], kperf__spe_cap_cmp);
}

static bool kperf__spe_is_spe_name(const char *name) {
    if (strncmp(name, "arm_spe_", 8) != 0 || !name[8]) return false;
    for (const char *c = name + 8; *c; c++)
        if (*c < '0' || *c > '9') return false;
    return true;
}

KPERF_API int kperf_spe_pmus_read(const kperf_pmus *pmus, kperf_spe_pmu *out, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < kperf_pmus_count(pmus); i++) {
        const kperf_pmu *p = kperf_pmus_at(pmus, i);
        if (!p || !kperf__spe_is_spe_name(p->name)) continue;
        if (n < max) {
            memset(&out[n], 0, sizeof out[n]);
            out[n].pmu = p;
            kperf__spe_read_caps(pmus, &out[n]);
        }
        n++;
    }
    return (int)n;
}

/* Encodes one field, with an error that names it and lists what the PMU has. */
static int kperf__spe_encode(const kperf_pmu *p, const char *field, uint64_t v, uint64_t cfg[4],
                             char *spec, size_t specsz) {
    if (!kperf_pmu_format_find(p, field)) {
        char have[512] = "";
        size_t n = 0;
        for (size_t i = 0; i < p->nformats && n < sizeof have; i++)
            n += (size_t)snprintf(have + n, sizeof have - n, "%s%s", i ? ", " : "", p->formats[i].name);
        return kperf__fail(KPERF_EPARSE,
                           "spe: %s has no format field '%s' (the kernel or the SPE version "
                           "does not offer it); %s lists: %s",
                           p->name, field, p->name, have);
    }
    int rc = kperf_pmu_encode(p, field, v, cfg);
    if (rc < 0) return rc;
    size_t n = strlen(spec);
    snprintf(spec + n, specsz - n, strstr(field, "event_filter") ? "%s%s=0x%llx" : "%s%s=%llu",
             n && spec[n - 1] != '/' ? "," : "", field, (unsigned long long)v);
    return 0;
}

/* Encodes desc's filters into cfg and writes the event spec (pmu/field=v,.../). */
static int kperf__spe_config(const kperf_pmu *p, const kperf_spe_desc *d, uint64_t cfg[4],
                             char *spec, size_t specsz) {
    static const struct { uint64_t bit; const char *field; } df[] = {
        {KPERF_SPE_TS_ENABLE, "ts_enable"},         {KPERF_SPE_PA_ENABLE, "pa_enable"},
        {KPERF_SPE_PCT_ENABLE, "pct_enable"},       {KPERF_SPE_JITTER, "jitter"},
        {KPERF_SPE_BRANCH_FILTER, "branch_filter"}, {KPERF_SPE_LOAD_FILTER, "load_filter"},
        {KPERF_SPE_STORE_FILTER, "store_filter"},
    };
    int rc = 0;
    memset(cfg, 0, 4 * sizeof cfg[0]);
    snprintf(spec, specsz, "%s/", p->name);
    uint64_t unknown = d->data_filter;
    for (size_t i = 0; i < sizeof df / sizeof df[0]; i++) {
        unknown &= ~df[i].bit;
        if ((d->data_filter & df[i].bit) && (rc = kperf__spe_encode(p, df[i].field, 1, cfg, spec, specsz)) < 0) return rc;
    }
    if (unknown)
        return kperf__fail(KPERF_EPARSE, "spe: dataFilter bits 0x%llx are not libkperf dataFilter bits",
                           (unsigned long long)unknown);
    if (d->event_filter && (rc = kperf__spe_encode(p, "event_filter", d->event_filter, cfg, spec, specsz)) < 0) return rc;
    if (d->inv_event_filter && (rc = kperf__spe_encode(p, "inv_event_filter", d->inv_event_filter, cfg, spec, specsz)) < 0) return rc;
    if (d->min_latency && (rc = kperf__spe_encode(p, "min_latency", d->min_latency, cfg, spec, specsz)) < 0) return rc;
    if (d->discard && (rc = kperf__spe_encode(p, "discard", 1, cfg, spec, specsz)) < 0) return rc;
    if (d->terms && *d->terms) { /* name=value,name=value */
        char buf[512], *save = NULL;
        snprintf(buf, sizeof buf, "%s", d->terms);
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(t, '='), *end = NULL;
            uint64_t v = 1;
            if (eq) *eq = 0, v = strtoull(eq + 1, &end, 0);
            if (eq && (end == eq + 1 || *end))
                return kperf__fail(KPERF_EPARSE, "spe: bad value in term '%s=%s' for %s", t, eq + 1, p->name);
            if ((rc = kperf__spe_encode(p, t, v, cfg, spec, specsz)) < 0) return rc;
        }
    }
    size_t n = strlen(spec);
    snprintf(spec + n, specsz - n, "/");
    return 0;
}

/* Opens the registry of desc's root and picks the SPE PMU. */
static int kperf__spe_pick(const kperf_spe_desc *d, kperf_pmus **pmus, kperf_spe_pmu *sp) {
    int rc = kperf_pmus_open(pmus, d->sysfs_root);
    if (rc < 0) return rc;
    kperf_spe_pmu all[16];
    int n = kperf_spe_pmus_read(*pmus, all, 16);
    if (n <= 0) {
        const char *root = kperf_pmus_root(*pmus);
        return kperf__fail(KPERF_ENOTSUP,
                           "no arm_spe PMU on this machine (%s/sys/bus/event_source/devices has no "
                           "arm_spe_N: SPE needs an Arm CPU with FEAT_SPE and a kernel with "
                           "CONFIG_ARM_SPE_PMU)", strcmp(root, "/") ? root : "");
    }
    for (int i = 0; i < n && i < 16; i++)
        if (!d->pmu || !strcmp(d->pmu, all[i].pmu->name)) return *sp = all[i], 0;
    return kperf__fail(KPERF_ENOPMU, "spe: no SPE PMU named '%s' (this machine has %s%s)", d->pmu,
                       all[0].pmu->name, n > 1 ? " and others" : "");
}

static uint64_t kperf__spe_period(const kperf_spe_desc *d, const kperf_spe_pmu *sp) {
    if (d->period) return d->period;
    return sp->min_interval ? sp->min_interval : 4096;
}

static void kperf__spe_attr(uint32_t type, const uint64_t cfg[4], uint64_t period,
                            const kperf_spe_desc *d, struct perf_event_attr *a) {
    memset(a, 0, sizeof *a);
    a->size = sizeof *a;
    a->type = type;
    a->config = cfg[0], a->config1 = cfg[1], a->config2 = cfg[2];
#ifdef PERF_ATTR_SIZE_VER8
    a->config3 = cfg[3];
#endif
    a->sample_period = period;
    a->sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CPU;
    a->sample_id_all = 1;
    a->disabled = 1;
    a->exclude_kernel = !d->include_kernel;
    a->exclude_user = d->no_user;
    a->exclude_hv = 1;
    a->context_switch = d->context_switch;
}

/* One entry per task, or per CPU (the desc's list or the PMU's cpumask). */
static int kperf__spe_plan_fill(kperf__plan *pl, const kperf_spe_desc *d,
                                const struct perf_event_attr *a, const char *spec,
                                const kperf_pmu *p) {
    int rc = 0;
    if (d->pids && d->npids) {
        for (size_t i = 0; i < d->npids && rc >= 0; i++)
            rc = kperf__plan_add(pl, a, spec, p->name, 0, d->pids[i], d->pids[i], d->pids[i], -1, -1);
        return rc < 0 ? rc : 0;
    }
    const int *cpus = d->cpus ? d->cpus : p->cpus;
    size_t ncpus = d->cpus ? d->ncpus : p->ncpus;
    if (!ncpus) return kperf__fail(KPERF_ENOTSUP, "spe: %s lists no CPU in its cpumask", p->name);
    for (size_t i = 0; i < ncpus && rc >= 0; i++)
        rc = kperf__plan_add(pl, a, spec, p->name, 0, -1, -1, -1, cpus[i], -1);
    return rc < 0 ? rc : 0;
}

KPERF_API int kperf_spe_plan_open(kperf_plan **out, const kperf_spe_desc *desc) {
    kperf_spe_desc none;
    memset(&none, 0, sizeof none);
    const kperf_spe_desc *d = desc ? desc : &none;
    *out = NULL;
    kperf_pmus *pmus = NULL;
    kperf_spe_pmu sp;
    memset(&sp, 0, sizeof sp);
    uint64_t cfg[4] = {0, 0, 0, 0};
    char spec[256];
    int rc = kperf__spe_pick(d, &pmus, &sp);
    if (rc == 0) rc = kperf__spe_config(sp.pmu, d, cfg, spec, sizeof spec);
    kperf__plan *pl = NULL;
    if (rc == 0) {
        struct perf_event_attr a;
        kperf__spe_attr(sp.pmu->type, cfg, kperf__spe_period(d, &sp), d, &a);
        pl = (kperf__plan *)kperf__calloc(1, sizeof *pl);
        rc = pl ? kperf__spe_plan_fill(pl, d, &a, spec, sp.pmu) : kperf__fail(ENOMEM, "spe: out of memory");
        /* config3 (inv_event_filter) even where the UAPI headers predate it */
        for (size_t i = 0; pl && i < pl->pub.nentries; i++) pl->pub.entries[i].config[3] = cfg[3];
    }
    kperf_pmus_close(pmus);
    if (rc < 0) return kperf_plan_free(pl ? &pl->pub : NULL), rc;
    *out = &pl->pub;
    return 0;
}

/* ---- recording ----------------------------------------------------------------------- */

/* One fd: the SPE event of one CPU (or task), its side-band ring and its AUX area. */
typedef struct kperf__spe_fd {
    int fd, cpu;
    void *base;                 /* mmap page + side-band ring */
    size_t base_len, data_size;
    uint8_t *aux;
    size_t aux_len;
    uint64_t aux_done;          /* AUX offset decoded up to */
    kperf_spe_decoder *dec;
} kperf__spe_fd;

struct kperf_spe {
    kperf__spe_fd *fds;
    size_t nfds;
    kperf_spe_stats st;
    kperf_spe_record_fn fn;     /* during kperf_spe_read */
    void *user;
    int cur_cpu;
    int delivered;
};

static int kperf__spe_on_record(const kperf_spe_record *r, void *u) {
    kperf_spe *s = (kperf_spe *)u;
    kperf_spe_record copy = *r;
    copy.cpu = s->cur_cpu;
    s->delivered++;
    return s->fn ? s->fn(&copy, s->user) : 0;
}

/* The locked-memory diagnosis for a failed AUX mmap. */
static int kperf__spe_mlock_fail(int err, size_t bytes, int cpu) {
    char kb[32] = "?";
    kperf__read_file("/proc/sys/kernel/perf_event_mlock_kb", kb, sizeof kb);
    struct rlimit rl;
    char lim[32] = "?";
    if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0) {
        if (rl.rlim_cur == RLIM_INFINITY) snprintf(lim, sizeof lim, "unlimited");
        else snprintf(lim, sizeof lim, "%llu KiB", (unsigned long long)rl.rlim_cur / 1024);
    }
    return kperf__fail(err == EPERM || err == ENOMEM ? KPERF_ELIMIT : err,
                       "spe: mapping %zu KiB of AUX area for cpu %d failed (%s): over the "
                       "locked-memory limit? /proc/sys/kernel/perf_event_mlock_kb is %s KiB per "
                       "user, RLIMIT_MEMLOCK is %s; use fewer aux_pages, raise "
                       "kernel.perf_event_mlock_kb or `ulimit -l`, or run with CAP_IPC_LOCK",
                       bytes / 1024, cpu, strerror(err), kb, lim);
}

static bool kperf__spe_pow2(size_t v) { return v && !(v & (v - 1)); }

/* MIDR of a CPU from sysfs (0 when unreadable). */
static uint64_t kperf__spe_midr(int cpu) {
    char path[128], buf[64];
    if (cpu < 0) cpu = 0;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu%d/regs/identification/midr_el1", cpu);
    return kperf__read_file(path, buf, sizeof buf) > 0 ? strtoull(buf, NULL, 0) : 0;
}

/* Opens, maps and prepares the decoder of one plan entry. */
static int kperf__spe_fd_open(kperf__spe_fd *f, const kperf_plan_entry *e,
                              const kperf_spe_desc *d, kperf_spe *s) {
    /* The attr with room for config3 (attr size 136) when the UAPI headers lack it. */
    struct {
        struct perf_event_attr a;
        uint64_t config3;
    } x;
    memset(&x, 0, sizeof x);
    x.a = *(const struct perf_event_attr *)e->attr;
#ifndef PERF_ATTR_SIZE_VER8
    if (e->config[3]) x.a.size = PERF_ATTR_SIZE_VER7 + 8, x.config3 = e->config[3];
#endif
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t dp = d->data_pages ? d->data_pages : 16, ap = d->aux_pages ? d->aux_pages : 256;
    if (!kperf__spe_pow2(dp) || !kperf__spe_pow2(ap))
        return kperf__fail(EINVAL, "spe: data_pages (%zu) and aux_pages (%zu) must be powers of two", dp, ap);
    f->cpu = e->cpu;
    f->fd = (int)kperf__sys_perf_event_open(&x.a, e->pid, e->cpu, -1, PERF_FLAG_FD_CLOEXEC);
    if (f->fd < 0) {
        int err = errno;
        if (err == EACCES || err == EPERM)
            return kperf__fail(err, "spe: opening %s on cpu %d pid %d: %s; SPE with physical "
                               "addresses or CPU-wide needs perf_event_paranoid <= 0 "
                               "(sysctl kernel.perf_event_paranoid=0) or CAP_PERFMON",
                               e->event, e->cpu, (int)e->pid, strerror(err));
        return kperf__fail(err, "spe: opening %s on cpu %d pid %d: %s", e->event, e->cpu, (int)e->pid, strerror(err));
    }
    f->base_len = (1 + dp) * pg, f->data_size = dp * pg;
    f->base = mmap(NULL, f->base_len, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
    if (f->base == MAP_FAILED) {
        f->base = NULL;
        return kperf__spe_mlock_fail(errno, f->base_len, e->cpu);
    }
    struct perf_event_mmap_page *mp = (struct perf_event_mmap_page *)f->base;
    mp->aux_offset = f->base_len, mp->aux_size = ap * pg;
    f->aux_len = ap * pg;
    void *aux = mmap(NULL, f->aux_len, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, (off_t)f->base_len);
    if (aux == MAP_FAILED) return kperf__spe_mlock_fail(errno, f->aux_len, e->cpu);
    f->aux = (uint8_t *)aux;
    kperf_spe_clock clk;
    kperf_spe_decoder_desc dd;
    memset(&dd, 0, sizeof dd);
    dd.on_record = kperf__spe_on_record, dd.user = s, dd.midr = kperf__spe_midr(e->cpu);
    if (kperf_spe_clock_read(f->base, &clk) == 0) dd.clock = &clk;
    return kperf_spe_decoder_new(&f->dec, &dd);
}

KPERF_API int kperf_spe_open(kperf_spe **out, const kperf_spe_desc *desc) {
    kperf_spe_desc none;
    memset(&none, 0, sizeof none);
    const kperf_spe_desc *d = desc ? desc : &none;
    *out = NULL;
    kperf_plan *pl;
    int rc = kperf_spe_plan_open(&pl, d);
    if (rc < 0) return rc;
    const char *root = d->sysfs_root ? d->sysfs_root : getenv("KPERF_SYSFS_ROOT");
    if (root && *root && strcmp(root, "/")) {
        kperf_plan_free(pl);
        return kperf__fail(KPERF_ENOTSUP, "spe: %s is a fake sysfs tree: SPE over it can be "
                           "planned (kperf_spe_plan_open) but not opened", root);
    }
    kperf_spe *s = (kperf_spe *)kperf__calloc(1, sizeof *s);
    if (s) s->fds = (kperf__spe_fd *)kperf__calloc(pl->nentries, sizeof *s->fds);
    if (!s || !s->fds) {
        kperf_plan_free(pl), KPERF_FREE(s);
        return kperf__fail(ENOMEM, "spe: out of memory");
    }
    for (size_t i = 0; i < pl->nentries && rc == 0; i++) {
        s->fds[i].fd = -1;
        s->nfds = i + 1;
        rc = kperf__spe_fd_open(&s->fds[i], &pl->entries[i], d, s);
    }
    kperf_plan_free(pl);
    if (rc < 0) return kperf_spe_close(s), rc;
    *out = s;
    return 0;
}

static int kperf__spe_ioctl_all(kperf_spe *s, unsigned long req, const char *what) {
    for (size_t i = 0; i < s->nfds; i++)
        if (ioctl(s->fds[i].fd, req, 0) < 0)
            return kperf__fail(errno, "spe: %s on cpu %d: %s", what, s->fds[i].cpu, strerror(errno));
    return 0;
}

KPERF_API int kperf_spe_start(kperf_spe *s) { return kperf__spe_ioctl_all(s, PERF_EVENT_IOC_ENABLE, "enable"); }

KPERF_API int kperf_spe_stop(kperf_spe *s) { return kperf__spe_ioctl_all(s, PERF_EVENT_IOC_DISABLE, "disable"); }

/* Decodes AUX bytes [from, to) of the ring (offsets are running positions). */
static int kperf__spe_aux(kperf_spe *s, kperf__spe_fd *f, uint64_t from, uint64_t to) {
    int rc = 0;
    if (to - from > f->aux_len) { /* overwritten before we read it */
        kperf_spe_decoder_reset(f->dec);
        from = to - f->aux_len;
    }
    while (from < to && rc >= 0) {
        size_t at = (size_t)(from % f->aux_len), n = (size_t)(to - from);
        if (n > f->aux_len - at) n = f->aux_len - at;
        rc = kperf_spe_decoder_parse(f->dec, f->aux + at, n);
        s->st.aux_bytes += n, from += n;
    }
    f->aux_done = to;
    return rc;
}

/* Handles one side-band record (already copied out of the ring). */
static int kperf__spe_sideband(kperf_spe *s, kperf__spe_fd *f, const struct perf_event_header *h) {
    const uint8_t *b = (const uint8_t *)h;
    if (h->type == PERF_RECORD_AUX && h->size >= 32) {
        uint64_t off, size, flags;
        memcpy(&off, b + 8, 8), memcpy(&size, b + 16, 8), memcpy(&flags, b + 24, 8);
        s->st.aux_records++;
        int rc = kperf__spe_aux(s, f, off, off + size);
        if (flags & PERF_AUX_FLAG_PARTIAL) s->st.partial++;
        if (flags & (PERF_AUX_FLAG_TRUNCATED | PERF_AUX_FLAG_COLLISION)) kperf_spe_decoder_reset(f->dec);
        if (flags & PERF_AUX_FLAG_COLLISION) s->st.collision++;
        if (flags & PERF_AUX_FLAG_TRUNCATED) { /* the driver stopped: start it again */
            s->st.truncated++;
            ioctl(f->fd, PERF_EVENT_IOC_ENABLE, 0);
        }
        return rc;
    }
    if (h->type == PERF_RECORD_LOST) s->st.lost++;
    if ((h->type == PERF_RECORD_SWITCH_CPU_WIDE && h->size >= 40) || (h->type == PERF_RECORD_SWITCH && h->size >= 32)) {
        /* sample_id at the end: pid, tid (u32 each), time (u64), cpu, res (u32 each) */
        const uint8_t *id = b + h->size - 24;
        uint32_t pid, tid, npid, ntid;
        uint64_t t;
        memcpy(&pid, id, 4), memcpy(&tid, id + 4, 4), memcpy(&t, id + 8, 8);
        bool out = h->misc & PERF_RECORD_MISC_SWITCH_OUT;
        if (h->type == PERF_RECORD_SWITCH_CPU_WIDE && out) {
            memcpy(&npid, b + 8, 4), memcpy(&ntid, b + 12, 4);
            pid = npid, tid = ntid;
        } else if (out) {
            pid = tid = (uint32_t)-1;
        }
        s->st.switches++;
        return kperf_spe_decoder_switch(f->dec, t, (int32_t)pid, (int32_t)tid);
    }
    return 0;
}

/* Drains one fd's side-band ring (records copied out when they wrap). */
static int kperf__spe_drain(kperf_spe *s, kperf__spe_fd *f) {
    struct perf_event_mmap_page *mp = (struct perf_event_mmap_page *)f->base;
    uint8_t *data = (uint8_t *)f->base + (f->base_len - f->data_size);
    uint64_t head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE), tail = mp->data_tail;
    uint64_t scratch[1024];
    int rc = 0;
    while (tail + sizeof(struct perf_event_header) <= head && rc >= 0) {
        size_t at = (size_t)(tail % f->data_size);
        struct perf_event_header h;
        for (size_t i = 0; i < sizeof h; i++) ((uint8_t *)&h)[i] = data[(at + i) % f->data_size];
        if (h.size < sizeof h || h.size > sizeof scratch || tail + h.size > head) break; /* corrupt */
        for (size_t i = 0; i < h.size; i++) ((uint8_t *)scratch)[i] = data[(at + i) % f->data_size];
        rc = kperf__spe_sideband(s, f, (const struct perf_event_header *)scratch);
        tail += h.size;
    }
    __atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
    /* AUX bytes not yet announced by a PERF_RECORD_AUX are left for the next read */
    __atomic_store_n(&mp->aux_tail, f->aux_done, __ATOMIC_RELEASE);
    return rc;
}

KPERF_API int kperf_spe_read(kperf_spe *s, kperf_spe_record_fn fn, void *user) {
    s->fn = fn, s->user = user, s->delivered = 0;
    int rc = 0;
    for (size_t i = 0; i < s->nfds && rc >= 0; i++)
        s->cur_cpu = s->fds[i].cpu, rc = kperf__spe_drain(s, &s->fds[i]);
    s->fn = NULL;
    return rc < 0 ? rc : s->delivered;
}

KPERF_API void kperf_spe_stats_read(const kperf_spe *s, kperf_spe_stats *out) {
    *out = s->st;
    memset(&out->decoder, 0, sizeof out->decoder);
    for (size_t i = 0; i < s->nfds; i++) {
        if (!s->fds[i].dec) continue;
        kperf_spe_decoder_stats d;
        kperf_spe_decoder_stats_read(s->fds[i].dec, &d);
        uint64_t *a = (uint64_t *)&out->decoder;
        const uint64_t *b = (const uint64_t *)&d;
        for (size_t k = 0; k < sizeof d / sizeof(uint64_t); k++) a[k] += b[k];
    }
}

KPERF_API void kperf_spe_close(kperf_spe *s) {
    if (!s) return;
    for (size_t i = 0; i < s->nfds; i++) {
        kperf__spe_fd *f = &s->fds[i];
        if (f->aux) munmap(f->aux, f->aux_len);
        if (f->base) munmap(f->base, f->base_len);
        if (f->fd >= 0) close(f->fd);
        kperf_spe_decoder_free(f->dec);
    }
    KPERF_FREE(s->fds);
    KPERF_FREE(s);
}

// <<spe

/* ---- the task model's SPE kind (kperf.h >>task) --------------------------------------- */

#ifndef KPERF_NO_TASK
static int kperf__spe_task_open(void **state, const kperf_task_attr *a) {
    kperf_spe_desc d;
    memset(&d, 0, sizeof d);
    d.data_filter = a->spe_data_filter;
    d.event_filter = a->spe_event_filter;
    d.min_latency = a->spe_min_latency;
    d.period = a->period;
    d.include_kernel = a->include_kernel, d.no_user = a->no_user;
    d.cpus = a->cpus, d.ncpus = a->ncpus, d.pids = a->pids, d.npids = a->npids;
    d.sysfs_root = a->sysfs_root;
    d.context_switch = true;
    kperf_spe *s = NULL;
    int rc = kperf_spe_open(&s, &d);
    *state = s;
    return rc;
}

static int kperf__spe_task_start(void *state) { return kperf_spe_start((kperf_spe *)state); }

static int kperf__spe_task_stop(void *state) { return kperf_spe_stop((kperf_spe *)state); }

typedef struct kperf__spe_task_rd {
    kperf_task_fn fn;
    void *user;
} kperf__spe_task_rd;

static int kperf__spe_task_row(const kperf_spe_record *rec, void *user) {
    kperf__spe_task_rd *r = (kperf__spe_task_rd *)user;
    kperf_task_data x;
    memset(&x, 0, sizeof x);
    x.event = "spe";
    x.ts = rec->time;
    x.pid = rec->pid, x.tid = rec->tid, x.cpu = rec->cpu, x.group = -1;
    x.count = 1, x.percent = 100.0;
    x.ips = &rec->pc, x.nips = 1;
    x.addr = rec->va, x.phys_addr = rec->pa, x.events = rec->events;
    x.latency = rec->lat_total;
    return r->fn(&x, r->user);
}

static int kperf__spe_task_read(void *state, kperf_task_fn fn, void *user) {
    kperf__spe_task_rd r;
    r.fn = fn, r.user = user;
    return kperf_spe_read((kperf_spe *)state, kperf__spe_task_row, &r);
}

static void kperf__spe_task_close(void *state) { kperf_spe_close((kperf_spe *)state); }

KPERF_API const kperf_task_source *kperf_spe_task_source(void) {
    static const kperf_task_source src = {kperf__spe_task_open, kperf__spe_task_start,
                                          kperf__spe_task_stop, kperf__spe_task_read,
                                          kperf__spe_task_close};
    return &src;
}
#endif // KPERF_NO_TASK

#ifdef __cplusplus
}
#endif
#endif // KPERF_SPE_IMPL_INCLUDED
#endif // KPERF_IMPLEMENTATION

/*
------------------------------------------------------------------------------
MIT License

Copyright (c) 2026 the kperf authors

Permission is hereby granted, free of charge, to any person obtaining a copy of this
software and associated documentation files (the "Software"), to deal in the Software
without restriction, including without limitation the rights to use, copy, modify, merge,
publish, distribute, sublicense, and/or sell copies of the Software, and to permit persons
to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,
INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR
PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE
FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR
OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER
DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
*/
