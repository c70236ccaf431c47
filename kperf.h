/* kperf.h - v0.1.0 - Linux perf_event inside any program: counting, sampling, tracepoints.
 * SPDX-License-Identifier: MIT
 *
 * Do this:
 *     #define KPERF_IMPLEMENTATION
 * before you include this file in *exactly one* C or C++ file to create the implementation.
 * The same define also instantiates kperf_symbols.h and kperf_spe.h when they are included
 * after kperf.h in that file.
 *
 * CONTENTS (search for the marker to jump to a section; same order in both halves)
 *     >>errors      error codes, kperf_strerror, thread-local kperf_errmsg, log hook
 *     >>pmu         sysfs PMU registry: types, format fields, event aliases, cpumask
 *     >>topology    online CPUs, cpu -> core/cluster/die/socket/numa, CPU frequency
 *     >>events      event spec parser (perf syntax) -> perf_event_attr, event listing
 *     >>counting    counter groups over threads/processes/CPUs, scaling, plan (dry run)
 *     >>region      self-monitoring fast path (rdpmc with the kernel's seqlock protocol)
 *     >>task        the libkperf task model: one open over evt/pid/cpu lists, flat records
 *     >>ringbuf     mmap'd ring buffers, record decoding, lost/throttle accounting
 *     >>sampling    samplers, side-band records, time-ordered merge, folded stacks
 *     >>perfdata    perf.data (pipe mode) writer
 *     >>tracepoint  tracefs discovery, format parsing, typed field access, filters
 *     >>syscalls    syscall enter/exit pairing and latency statistics
 *     >>device      uncore/device metrics (DDR, L3, PCIe, SMMU) from sysfs PMUs
 *     >>util        small helpers shared by the sections (implementation half only)
 *
 * CONFIGURATION (define before including, in the file that defines KPERF_IMPLEMENTATION
 * unless noted)
 *     KPERF_STATIC          every kperf function becomes static (define in every file
 *                           that includes kperf.h, or use a single translation unit)
 *     KPERF_MALLOC(sz), KPERF_REALLOC(p,sz), KPERF_FREE(p)
 *                           allocation hooks: define all three or none
 *     KPERF_ASSERT(x)       assertion hook (default: assert from <assert.h>)
 *
 * QUICK START
 *     #define KPERF_IMPLEMENTATION
 *     #include "kperf.h"
 *     kperf_counter *c;
 *     if (kperf_counter_open(&c, &(kperf_counter_desc){ .events = "task-clock,page-faults" }) < 0)
 *         return fprintf(stderr, "%s\n", kperf_errmsg()), 1;
 *     kperf_counter_start(c);  work();  kperf_counter_stop(c);
 *     kperf_counts n;
 *     kperf_counter_read(c, &n);
 *     kperf_counts_print(stdout, &n, 1);
 *     kperf_counter_close(c);
 *
 * ERRORS
 *     Fallible calls return int: 0 (or a count) on success, a negative errno or a negative
 *     KPERF_E* code on failure. Constructors return the object through an out-parameter
 *     that is set to NULL on failure. kperf_strerror(code) names a code; kperf_errmsg()
 *     returns a thread-local sentence that names the event, the target and the fix.
 *
 * THREAD SAFETY
 *     Objects are not shared between threads unless a function says so. Different objects
 *     may be used from different threads at once. kperf_errmsg() is per thread.
 *
 * PERMISSIONS
 *     /proc/sys/kernel/perf_event_paranoid decides what an unprivileged process may measure:
 *     2 (Debian's default) allows user-space measurement of your own processes only; 1 adds
 *     kernel-space; 0 adds CPU-wide events; -1 removes all checks. CAP_PERFMON (or
 *     CAP_SYS_ADMIN on kernels before 5.8) bypasses the paranoid level. Errors name the
 *     sysctl value or capability that a failed open needs.
 */
#ifndef KPERF_H_INCLUDED
#define KPERF_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/** Major version of kperf. */
#define KPERF_VERSION_MAJOR 0
/** Minor version of kperf. */
#define KPERF_VERSION_MINOR 1
/** Patch version of kperf. */
#define KPERF_VERSION_PATCH 0

#ifndef KPERF_API
#ifdef KPERF_STATIC
/** Linkage of every public function: static under KPERF_STATIC, extern otherwise. */
#if defined(__GNUC__)
#define KPERF_API static __attribute__((unused))
#else
#define KPERF_API static
#endif
#else
#define KPERF_API extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** @brief The library version as "MAJOR.MINOR.PATCH".
 *  @return a static string. */
KPERF_API const char *kperf_version_string(void);

// >>errors ------------------------------------------------------------------------------

/** kperf's own error codes. Functions return them negated (like -errno). They live above
 *  every errno value so that a caller can pass any return value to kperf_strerror(). */
enum kperf_error {
    KPERF_EBASE = 4096,   /**< first kperf code; not itself an error */
    KPERF_ENOTSUP,        /**< event or PMU not supported on this machine */
    KPERF_EPARSE,         /**< malformed event spec, filter or option */
    KPERF_ENOEVENT,       /**< unknown event name */
    KPERF_ENOPMU,         /**< the named PMU does not exist */
    KPERF_EPARANOID,      /**< perf_event_paranoid forbids this measurement */
    KPERF_ENOCAP,         /**< a capability (CAP_PERFMON, CAP_SYS_ADMIN) is missing */
    KPERF_ENOTARGET,      /**< the pid/tid does not exist or exited */
    KPERF_ECORRUPT,       /**< corrupt or truncated input bytes (ring, ELF, DWARF, SPE) */
    KPERF_ENOTRACEFS,     /**< tracefs is not mounted or not readable */
    KPERF_EFILTER,        /**< the kernel rejected an event filter */
    KPERF_ENOMETRIC,      /**< no PMU on this machine provides the requested metric */
    KPERF_ELIMIT,         /**< a resource limit (RLIMIT_NOFILE, mlock) was reached */
    KPERF_ESTATE,         /**< call not valid in the object's current state */
    KPERF_EEND            /**< one past the last code */
};

/** @brief Names an error code.
 *  @param err a return value of a kperf function (negative) or its absolute value.
 *  @return a static, human-readable string; never NULL. */
KPERF_API const char *kperf_strerror(int err);

/** @brief The message of the last error on the calling thread.
 *  @return a thread-local string that names what failed, for which event and target, and
 *  what to change; "" when no error has happened on this thread.
 *  *Thread safety:* each thread has its own message.
 *  *Ownership:* valid until the next kperf call on the same thread. */
KPERF_API const char *kperf_errmsg(void);

/** @brief The code of the last error on the calling thread (negative), 0 if none. */
KPERF_API int kperf_errcode(void);

/** Log levels passed to a ::kperf_log_fn. */
enum kperf_log_level { KPERF_LOG_ERROR = 0, KPERF_LOG_WARN = 1, KPERF_LOG_DEBUG = 2 };

/** A log callback: receives every error message and warning as it is produced. */
typedef void (*kperf_log_fn)(int level, const char *msg, void *user);

/** @brief Installs a process-wide log callback (kperf is silent by default).
 *  @param fn the callback, or NULL to silence kperf again.
 *  @param user passed back to @p fn.
 *  *Thread safety:* call before other threads use kperf. */
KPERF_API void kperf_set_log(kperf_log_fn fn, void *user);

// >>pmu ---------------------------------------------------------------------------------

/** One `format/<name>` field of a PMU: which attr word it lives in and its bit ranges
 *  (`config:0-7,32-35,59-60` has three ranges). */
typedef struct kperf_pmu_format {
    char name[32];          /**< term name, e.g. "event", "umask" */
    uint8_t word;           /**< 0 = config, 1 = config1, 2 = config2, 3 = config3 */
    uint8_t nranges;        /**< number of valid entries in ranges */
    struct {
        uint8_t lo, hi;     /**< inclusive bit range, lo <= hi <= 63 */
    } ranges[8];            /**< bit ranges, lowest value bits first */
} kperf_pmu_format;

/** One `events/<name>` alias of a PMU, with its optional `.scale` and `.unit` files. */
typedef struct kperf_pmu_alias {
    char *name;             /**< alias name, e.g. "flux_rd", "cas_count_read" */
    char *terms;            /**< its terms as in sysfs, e.g. "event=0x04,umask=0x03" */
    double scale;           /**< from `<name>.scale`; 1.0 when absent */
    char unit[16];          /**< from `<name>.unit`; "" when absent */
} kperf_pmu_alias;

/** One PMU under `<root>/sys/bus/event_source/devices`. */
typedef struct kperf_pmu {
    char *name;             /**< directory name, e.g. "cpu", "hisi_sccl1_ddrc0" */
    uint32_t type;          /**< the `type` file: perf_event_attr.type */
    kperf_pmu_format *formats;  /**< `format/` fields */
    size_t nformats;        /**< number of formats */
    kperf_pmu_alias *aliases;   /**< `events/` aliases, sorted by name */
    size_t naliases;        /**< number of aliases */
    int *cpus;              /**< from `cpumask` (uncore) or `cpus` (hybrid core PMU) */
    size_t ncpus;           /**< 0 when the PMU has neither file (any CPU) */
    bool cpumask_invalid;   /**< `cpumask` reads -1: the PMU has no owning CPU */
    bool is_core;           /**< a CPU core PMU ("cpu", "cpu_core", "cpu_atom", armv8_*) */
    bool is_uncore;         /**< has a `cpumask` and is not a core PMU */
} kperf_pmu;

/** The PMU registry: every PMU of one sysfs tree. Opaque. */
typedef struct kperf_pmus kperf_pmus;

/** @brief Discovers every PMU under `<root>/sys/bus/event_source/devices`.
 *  @param out receives the registry; NULL on failure.
 *  @param root the sysfs root ("/" for the real machine); NULL means the environment
 *  variable KPERF_SYSFS_ROOT, else "/".
 *  @return 0, or a negative error code.
 *  *Ownership:* free with kperf_pmus_close(). *Thread safety:* read-only after open. */
KPERF_API int kperf_pmus_open(kperf_pmus **out, const char *root);

/** @brief Frees a registry; accepts NULL. Pointers obtained from it become invalid. */
KPERF_API void kperf_pmus_close(kperf_pmus *pmus);

/** @brief Number of PMUs in the registry. */
KPERF_API size_t kperf_pmus_count(const kperf_pmus *pmus);

/** @brief The i-th PMU (sorted by name), or NULL when i is out of range. */
KPERF_API const kperf_pmu *kperf_pmus_at(const kperf_pmus *pmus, size_t i);

/** @brief The PMU with exactly this name, or NULL. */
KPERF_API const kperf_pmu *kperf_pmus_find(const kperf_pmus *pmus, const char *name);

/** @brief The sysfs root the registry was read from (never NULL, "/" for the machine). */
KPERF_API const char *kperf_pmus_root(const kperf_pmus *pmus);

/** @brief Encodes `term=value` into the config words of @p pmu through its format field.
 *  @param config the four attr words (config, config1, config2, config3), updated in place.
 *  @return 0, or -KPERF_EPARSE when the PMU has no such field or the value does not fit
 *  (the message names the field and the PMU). */
KPERF_API int kperf_pmu_encode(const kperf_pmu *pmu, const char *term, uint64_t value,
                               uint64_t config[4]);
// <<pmu

// >>topology ----------------------------------------------------------------------------
// <<topology

// >>events ------------------------------------------------------------------------------

/** Modifier bits of a parsed event (`:u :k :h :p :pp :ppp :D`, plus what kperf decides). */
enum kperf_event_flags {
    KPERF_EV_EXCLUDE_USER = 1u << 0,    /**< do not count user space */
    KPERF_EV_EXCLUDE_KERNEL = 1u << 1,  /**< do not count kernel space */
    KPERF_EV_EXCLUDE_HV = 1u << 2,      /**< do not count the hypervisor */
    KPERF_EV_PINNED = 1u << 3,          /**< `:D`, pinned: always on the PMU */
};

/** One parsed event, ready to become a perf_event_attr. */
typedef struct kperf_event {
    char *spec;             /**< the text as written, e.g. "cycles:u" (for messages) */
    char *name;             /**< display name, e.g. "cycles:u", "hisi_sccl1_ddrc0/flux_rd/" */
    char *pmu;              /**< PMU name: "cpu", "software", "tracepoint", ... */
    uint32_t type;          /**< perf_event_attr.type */
    uint64_t config[4];     /**< config, config1, config2, config3 */
    uint32_t flags;         /**< ::kperf_event_flags */
    uint8_t precise;        /**< precise_ip: 0..3 from :p, :pp, :ppp */
    int group;              /**< index of its group; events of one group share it */
    bool leader;            /**< first event of its group */
    double scale;           /**< multiply counts by this (1.0 unless sysfs says so) */
    char unit[16];          /**< unit after scaling, e.g. "MiB"; "" when none */
    const int *cpus;        /**< CPUs the PMU restricts the event to (uncore cpumask, hybrid
                                 core PMU); points into the registry; NULL = any */
    size_t ncpus;           /**< number of entries in cpus */
    char *filter;           /**< tracepoint filter from `sys:name/filter/`, or NULL */
} kperf_event;

/** A parsed event list: every event of a spec such as "{cycles,instructions},faults". */
typedef struct kperf_evlist {
    kperf_event *events;    /**< the events, in spec order; groups are contiguous */
    size_t nevents;         /**< number of events */
    int ngroups;            /**< number of groups (an event outside braces is its own) */
} kperf_evlist;

/** @brief Parses an event spec as `perf` writes them.
 *  Accepts generic hardware/software/cache names, rNNNN, pmu/term=val,.../, pmu/alias/,
 *  sys:name tracepoints (with an optional /filter/), modifiers, groups {a,b}; on hybrid
 *  machines a generic hardware event becomes one event per core PMU.
 *  @param out receives the list; NULL on failure.
 *  @param spec the spec text.
 *  @param pmus the registry to resolve PMU names in; NULL means the machine's ("/").
 *  @return 0, or -KPERF_EPARSE (message gives the position), -KPERF_ENOEVENT (message
 *  lists the closest known names), -KPERF_ENOPMU.
 *  *Ownership:* free with kperf_evlist_free(). */
KPERF_API int kperf_evlist_parse(kperf_evlist **out, const char *spec, const kperf_pmus *pmus);

/** @brief Frees a list from kperf_evlist_parse(); accepts NULL. */
KPERF_API void kperf_evlist_free(kperf_evlist *list);
// <<events

// >>counting ----------------------------------------------------------------------------
// <<counting

// >>region ------------------------------------------------------------------------------
// <<region

// >>task --------------------------------------------------------------------------------
// <<task

// >>ringbuf -----------------------------------------------------------------------------
/** Record types of a ring buffer. The values are the kernel's PERF_RECORD_* numbers, so a
 *  record's `type` can be compared with either. */
enum kperf_record_type {
    KPERF_RECORD_MMAP = 1,              /**< a mapping (old form, no inode/build id) */
    KPERF_RECORD_LOST = 2,              /**< the kernel dropped records: ring was full */
    KPERF_RECORD_COMM = 3,              /**< a thread changed its name, or exec'd */
    KPERF_RECORD_EXIT = 4,              /**< a thread exited */
    KPERF_RECORD_THROTTLE = 5,          /**< sampling throttled: too many interrupts */
    KPERF_RECORD_UNTHROTTLE = 6,        /**< sampling resumed after a throttle */
    KPERF_RECORD_FORK = 7,              /**< a process or thread was created */
    KPERF_RECORD_READ = 8,              /**< a counter read (inherit_stat) */
    KPERF_RECORD_SAMPLE = 9,            /**< a sample: see kperf_sample */
    KPERF_RECORD_MMAP2 = 10,            /**< a mapping with device/inode or build id */
    KPERF_RECORD_LOST_SAMPLES = 13,     /**< samples lost inside the PMU driver */
    KPERF_RECORD_SWITCH = 14,           /**< a context switch of the monitored thread */
    KPERF_RECORD_SWITCH_CPU_WIDE = 15,  /**< a context switch on a monitored CPU */
};

/** Sample fields. The values are the kernel's PERF_SAMPLE_* bits; kperf_sample::fields
 *  says which ones a sample carries and kperf_sampler_desc::fields asks for extra ones. */
enum kperf_sample_field {
    KPERF_SAMPLE_IP = 1u << 0,            /**< instruction pointer */
    KPERF_SAMPLE_TID = 1u << 1,           /**< pid and tid */
    KPERF_SAMPLE_TIME = 1u << 2,          /**< timestamp in the sampler's clock */
    KPERF_SAMPLE_ADDR = 1u << 3,          /**< data address (memory events) */
    KPERF_SAMPLE_READ = 1u << 4,          /**< counter value (decoded: single value only) */
    KPERF_SAMPLE_CALLCHAIN = 1u << 5,     /**< call chain (kernel and/or user frames) */
    KPERF_SAMPLE_ID = 1u << 6,            /**< event id */
    KPERF_SAMPLE_CPU = 1u << 7,           /**< CPU number */
    KPERF_SAMPLE_PERIOD = 1u << 8,        /**< events since the previous sample */
    KPERF_SAMPLE_STREAM_ID = 1u << 9,     /**< id of the (parent) event that produced it */
    KPERF_SAMPLE_RAW = 1u << 10,          /**< raw payload (tracepoint fields) */
    KPERF_SAMPLE_BRANCH_STACK = 1u << 11, /**< last branch records */
    KPERF_SAMPLE_REGS_USER = 1u << 12,    /**< user registers at the sample */
    KPERF_SAMPLE_STACK_USER = 1u << 13,   /**< a copy of the user stack */
    KPERF_SAMPLE_WEIGHT = 1u << 14,       /**< cost of the access (latency) */
    KPERF_SAMPLE_DATA_SRC = 1u << 15,     /**< memory hierarchy source of the data */
    KPERF_SAMPLE_IDENTIFIER = 1u << 16,   /**< event id at a fixed position */
    KPERF_SAMPLE_TRANSACTION = 1u << 17,  /**< transactional memory abort info */
    KPERF_SAMPLE_REGS_INTR = 1u << 18,    /**< registers at the interrupt */
    KPERF_SAMPLE_PHYS_ADDR = 1u << 19,    /**< physical data address */
    KPERF_SAMPLE_CGROUP = 1u << 21,       /**< cgroup id */
    KPERF_SAMPLE_DATA_PAGE_SIZE = 1u << 22, /**< page size of the data address */
    KPERF_SAMPLE_CODE_PAGE_SIZE = 1u << 23, /**< page size of the code address */
    KPERF_SAMPLE_WEIGHT_STRUCT = 1u << 24,  /**< weight as three parts (var1/2/3) */
};

/** Call-chain entries at or above this value are context markers, not addresses:
 *  KPERF_CONTEXT_KERNEL and KPERF_CONTEXT_USER say which frames follow. */
#define KPERF_CONTEXT_MAX ((uint64_t)-4095)
/** Call-chain marker: the following frames are kernel addresses. */
#define KPERF_CONTEXT_KERNEL ((uint64_t)-128)
/** Call-chain marker: the following frames are user addresses. */
#define KPERF_CONTEXT_USER ((uint64_t)-512)

/** One last-branch record (the kernel's perf_branch_entry). */
typedef struct kperf_branch {
    uint64_t from;   /**< branch source address */
    uint64_t to;     /**< branch target address */
    uint64_t flags;  /**< bit 0 mispredicted, bit 1 predicted, bit 2 in_tx, bit 3 abort,
                          bits 4-19 cycles, bits 20-23 branch type (kernel layout) */
} kperf_branch;

/** A decoded sample. Pointer fields point into the ring (or the ring's wrap-around copy)
 *  and stay valid until the record is consumed (the next call to the iterator). */
typedef struct kperf_sample {
    uint64_t fields;         /**< kperf_sample_field bits present in this sample */
    uint64_t id;             /**< event id (IDENTIFIER or ID) */
    uint64_t ip;             /**< instruction pointer */
    uint32_t pid;            /**< process id */
    uint32_t tid;            /**< thread id */
    uint64_t time;           /**< timestamp, in the sampler's clock (ns) */
    uint64_t addr;           /**< data address */
    uint64_t stream_id;      /**< stream id */
    uint32_t cpu;            /**< CPU the sample was taken on */
    uint64_t period;         /**< events since the previous sample */
    uint64_t read_value;     /**< counter value (KPERF_SAMPLE_READ, single-value format) */
    uint32_t nips;           /**< number of call-chain entries (markers included) */
    const uint64_t *ips;     /**< call chain, innermost first; see KPERF_CONTEXT_MAX */
    uint32_t raw_size;       /**< bytes of raw payload */
    const void *raw;         /**< raw payload (tracepoint record: common fields first) */
    uint32_t nbranches;      /**< number of branch records */
    const kperf_branch *branches; /**< branch records, most recent first */
    uint64_t branch_hw_index; /**< hardware index of the branch stack (HW_INDEX filter) */
    uint64_t regs_abi;       /**< ABI of the user registers: 0 none, 1 32-bit, 2 64-bit */
    uint32_t nregs;          /**< number of user registers (bits set in the regs mask) */
    const uint64_t *regs;    /**< user registers, in mask bit order */
    uint64_t stack_size;     /**< bytes copied from the user stack (capacity) */
    const void *stack;       /**< the user stack copy, starting at the stack pointer */
    uint64_t stack_dyn_size; /**< bytes of stack that are valid */
    uint64_t weight;         /**< access cost (WEIGHT, or var1 of WEIGHT_STRUCT) */
    uint64_t data_src;       /**< data source (perf_mem_data_src encoding) */
    uint64_t transaction;    /**< transaction flags */
    uint64_t intr_abi;       /**< ABI of the interrupt registers */
    uint32_t nintr_regs;     /**< number of interrupt registers */
    const uint64_t *intr_regs; /**< interrupt registers, in mask bit order */
    uint64_t phys_addr;      /**< physical data address */
    uint64_t cgroup;         /**< cgroup id */
    uint64_t data_page_size; /**< page size of addr */
    uint64_t code_page_size; /**< page size of ip */
} kperf_sample;

/** A decoded MMAP or MMAP2 record. */
typedef struct kperf_mmap_rec {
    uint32_t pid;              /**< process id */
    uint32_t tid;              /**< thread id */
    uint64_t addr;             /**< start address */
    uint64_t len;              /**< length in bytes */
    uint64_t pgoff;            /**< file offset of addr */
    uint32_t maj;              /**< device major (MMAP2 without build id) */
    uint32_t min;              /**< device minor */
    uint64_t ino;              /**< inode number */
    uint64_t ino_generation;   /**< inode generation */
    uint32_t prot;             /**< PROT_* bits (MMAP2) */
    uint32_t flags;            /**< MAP_* bits (MMAP2) */
    uint8_t build_id_size;     /**< bytes of build_id when the kernel sent one, else 0 */
    uint8_t build_id[20];      /**< build id (MMAP2 with the build-id flag) */
    const char *filename;      /**< mapped file, "//anon", "[vdso]", ...; NUL-terminated */
} kperf_mmap_rec;

/** A decoded COMM record. */
typedef struct kperf_comm_rec {
    uint32_t pid;        /**< process id */
    uint32_t tid;        /**< thread id */
    bool exec;           /**< true when the name changed because of exec */
    const char *comm;    /**< new name, NUL-terminated */
} kperf_comm_rec;

/** A decoded FORK or EXIT record. */
typedef struct kperf_task_rec {
    uint32_t pid;    /**< process id of the new (or exiting) thread */
    uint32_t ppid;   /**< parent process id */
    uint32_t tid;    /**< thread id */
    uint32_t ptid;   /**< parent thread id */
    uint64_t time;   /**< when it happened */
} kperf_task_rec;

/** A decoded LOST, LOST_SAMPLES, THROTTLE or UNTHROTTLE record. */
typedef struct kperf_loss_rec {
    uint64_t id;         /**< event id (LOST, THROTTLE) */
    uint64_t lost;       /**< records (LOST) or samples (LOST_SAMPLES) dropped; 0 otherwise */
    uint64_t time;       /**< THROTTLE/UNTHROTTLE time */
    uint64_t stream_id;  /**< THROTTLE/UNTHROTTLE stream id */
} kperf_loss_rec;

/** A decoded SWITCH or SWITCH_CPU_WIDE record. */
typedef struct kperf_switch_rec {
    bool out;                 /**< switched out (else in) */
    bool preempt;             /**< switched out while runnable (preempted) */
    uint32_t next_prev_pid;   /**< SWITCH_CPU_WIDE: the other process */
    uint32_t next_prev_tid;   /**< SWITCH_CPU_WIDE: the other thread */
} kperf_switch_rec;

/** One record of a ring buffer, decoded. Only the member that matches type is
 *  filled; the common fields come from the sample or from the sample_id trailer. */
typedef struct kperf_record {
    uint32_t type;        /**< kperf_record_type (other kernel types pass through) */
    uint16_t misc;        /**< header misc bits (cpumode in bits 0-2) */
    uint16_t size;        /**< bytes of the record, header included */
    uint64_t time;        /**< timestamp; 0 when the record carries none */
    uint32_t pid;         /**< pid from the sample or trailer (0 when none) */
    uint32_t tid;         /**< tid from the sample or trailer (0 when none) */
    uint32_t cpu;         /**< CPU from the sample or trailer, else the ring's CPU */
    uint64_t id;          /**< event id from the sample or trailer (0 when none) */
    int event;            /**< index of the event in the sampler, -1 when unknown */
    const void *bytes;    /**< the record exactly as the kernel wrote it (size bytes) */
    kperf_sample sample;  /**< KPERF_RECORD_SAMPLE */
    kperf_mmap_rec mmap;  /**< KPERF_RECORD_MMAP, KPERF_RECORD_MMAP2 */
    kperf_comm_rec comm;  /**< KPERF_RECORD_COMM */
    kperf_task_rec task;  /**< KPERF_RECORD_FORK, KPERF_RECORD_EXIT */
    kperf_loss_rec loss;  /**< LOST, LOST_SAMPLES, THROTTLE, UNTHROTTLE */
    kperf_switch_rec sw;  /**< KPERF_RECORD_SWITCH, KPERF_RECORD_SWITCH_CPU_WIDE */
} kperf_record;

/** A push-iteration callback. Return 0 to go on; a negative value stops the iteration
 *  and is returned by the reading function (the record counts as consumed). */
typedef int (*kperf_record_fn)(const kperf_record *rec, void *user);

/** How records are laid out: the perf_event_attr fields the decoder needs. */
typedef struct kperf_ring_layout {
    uint64_t sample_type;        /**< perf_event_attr.sample_type (kperf_sample_field) */
    uint64_t read_format;        /**< perf_event_attr.read_format (READ samples) */
    uint64_t branch_sample_type; /**< perf_event_attr.branch_sample_type (HW_INDEX matters) */
    uint64_t regs_user_mask;     /**< perf_event_attr.sample_regs_user */
    uint64_t regs_intr_mask;     /**< perf_event_attr.sample_regs_intr */
    bool sample_id_all;          /**< perf_event_attr.sample_id_all: trailer on side-band */
} kperf_ring_layout;

/** @brief Decodes one contiguous record. This is the decoder every ring, live or synthetic,
 *  and the perf.data reader use.
 *  @param bytes the record, starting at its perf_event_header; 8-byte aligned.
 *  @param size bytes available at @p bytes (at least the header's size).
 *  @param layout the attr fields the record was produced with.
 *  @param out receives the decoded record; its pointers point into @p bytes.
 *  @return 0, or -KPERF_ECORRUPT when header.size is below 8, not a multiple of 8, larger
 *  than @p size, or does not hold the fields the layout says it has. */
KPERF_API int kperf_record_parse(const void *bytes, size_t size, const kperf_ring_layout *layout,
                                 kperf_record *out);

/** A ring buffer reader. Opaque. */
typedef struct kperf_ring kperf_ring;

/** Describes a ring to read: a perf_event_mmap_page followed by the data area, either
 *  mmap'd from a perf event fd (the sampler does that) or a plain memory buffer of the same
 *  shape (tests, replay). Zero fields take the defaults documented on each. */
typedef struct kperf_ring_desc {
    void *base;          /**< the control page; 8-byte aligned; required */
    size_t size;         /**< bytes at base: control page + data area; required */
    size_t data_offset;  /**< offset of the data area; 0 = the page's data_offset field,
                              else the system page size */
    size_t data_size;    /**< bytes of data, a power of two; 0 = the page's data_size field,
                              else size - data_offset */
    kperf_ring_layout layout; /**< how records are laid out */
    int cpu;             /**< CPU reported for records that carry none (-1 = unknown) */
} kperf_ring_desc;

/** Counters a reader keeps. */
typedef struct kperf_ring_stats {
    uint64_t records;      /**< records returned */
    uint64_t samples;      /**< of which samples */
    uint64_t lost;         /**< records the kernel dropped (sum of LOST records) */
    uint64_t lost_samples; /**< samples dropped by the PMU driver (LOST_SAMPLES) */
    uint64_t throttled;    /**< THROTTLE records */
    uint64_t unthrottled;  /**< UNTHROTTLE records */
    uint64_t corrupt;      /**< times the ring was found corrupt (its content discarded) */
    uint64_t copied;       /**< records copied because they wrapped around the end */
} kperf_ring_stats;

/** @brief Opens a reader over a ring.
 *  @param out receives the reader; NULL on failure.
 *  @param desc where the ring is and how its records are laid out.
 *  @return 0, -EINVAL (bad sizes or alignment, message says which), -ENOMEM.
 *  *Ownership:* the memory at desc->base stays the caller's and must outlive the reader;
 *  free the reader with kperf_ring_close(). */
KPERF_API int kperf_ring_open(kperf_ring **out, const kperf_ring_desc *desc);

/** @brief Frees a reader (not the ring memory); accepts NULL. */
KPERF_API void kperf_ring_close(kperf_ring *r);

/** @brief Pull iteration: consumes the previous record (publishing data_tail with release)
 *  and decodes the next one.
 *  @param r the reader.
 *  @param rec receives a pointer to the decoded record, valid until the next call.
 *  @return 1 when a record was returned, 0 when the ring is empty, -KPERF_ECORRUPT when
 *  it is corrupt (its content is discarded so the next call starts clean). */
KPERF_API int kperf_ring_next(kperf_ring *r, const kperf_record **rec);

/** @brief Push iteration over every record available now.
 *  @param r the reader.
 *  @param fn called per record; a negative return stops and is returned.
 *  @param user passed to @p fn.
 *  @return the number of records delivered, fn's negative value, or -KPERF_ECORRUPT. The
 *  tail is published in every case. */
KPERF_API int kperf_ring_read(kperf_ring *r, kperf_record_fn fn, void *user);

/** @brief The reader's counters since it was opened. */
KPERF_API void kperf_ring_stats_read(const kperf_ring *r, kperf_ring_stats *out);
// <<ringbuf

// >>sampling ----------------------------------------------------------------------------
/** The clock of sample timestamps. */
typedef enum kperf_clock {
    KPERF_CLOCK_MONOTONIC = 0,  /**< CLOCK_MONOTONIC (default): lines up with clock_gettime */
    KPERF_CLOCK_MONOTONIC_RAW,  /**< CLOCK_MONOTONIC_RAW */
    KPERF_CLOCK_REALTIME,       /**< CLOCK_REALTIME */
    KPERF_CLOCK_BOOTTIME,       /**< CLOCK_BOOTTIME */
    KPERF_CLOCK_TAI,            /**< CLOCK_TAI */
    KPERF_CLOCK_PERF            /**< the kernel's perf clock (use_clockid off, like perf) */
} kperf_clock;

/** Branch-stack filter bits, the same values as libkperf's branchSampleFilter and the
 *  kernel's PERF_SAMPLE_BRANCH_*. A non-zero kperf_sampler_desc::branch_filter turns the
 *  branch stack on. */
enum kperf_branch_filter {
    KPERF_BRANCH_USER = 1u << 0,        /**< branches in user space */
    KPERF_BRANCH_KERNEL = 1u << 1,      /**< branches in the kernel */
    KPERF_BRANCH_HV = 1u << 2,          /**< branches in the hypervisor */
    KPERF_BRANCH_ANY = 1u << 3,         /**< any branch */
    KPERF_BRANCH_ANY_CALL = 1u << 4,    /**< any call */
    KPERF_BRANCH_ANY_RETURN = 1u << 5,  /**< any return */
    KPERF_BRANCH_IND_CALL = 1u << 6,    /**< indirect calls */
    KPERF_BRANCH_ABORT_TX = 1u << 7,    /**< transaction aborts */
    KPERF_BRANCH_IN_TX = 1u << 8,       /**< in a transaction */
    KPERF_BRANCH_NO_TX = 1u << 9,       /**< not in a transaction */
    KPERF_BRANCH_COND = 1u << 10,       /**< conditional branches */
    KPERF_BRANCH_CALL_STACK = 1u << 11, /**< call-stack mode (LBR call stack) */
    KPERF_BRANCH_IND_JUMP = 1u << 12,   /**< indirect jumps */
    KPERF_BRANCH_CALL = 1u << 13,       /**< direct calls */
    KPERF_BRANCH_NO_FLAGS = 1u << 14,   /**< do not record flags */
    KPERF_BRANCH_NO_CYCLES = 1u << 15,  /**< do not record cycles */
    KPERF_BRANCH_TYPE_SAVE = 1u << 16,  /**< record the branch type */
    KPERF_BRANCH_HW_INDEX = 1u << 17,   /**< record the hardware index */
};

/** What to sample and where. Zero-initialise; every zero field means its documented
 *  default, e.g. `&(kperf_sampler_desc){ .events = "cpu-clock", .freq = 999 }`. */
typedef struct kperf_sampler_desc {
    const char *events;      /**< event spec (perf syntax); NULL = "cpu-clock" */
    uint64_t freq;           /**< samples per second per thread/CPU; 0 = 1000 unless
                                  period is set */
    uint64_t period;         /**< sample every this many events; wins over freq */
    bool callchain;          /**< record call chains (frame-pointer walk by the kernel) */
    uint16_t max_stack;      /**< deepest call chain kept; 0 = the kernel's limit (127) */
    bool include_kernel;     /**< also sample kernel code (needs perf_event_paranoid <= 1
                                  or CAP_PERFMON); default: user space only */
    bool exclude_user;       /**< do not sample user code (default: user code sampled) */
    uint64_t fields;         /**< extra kperf_sample_field bits: ADDR, RAW, WEIGHT,
                                  DATA_SRC, STREAM_ID, REGS_USER, STACK_USER, ...
                                  (IP, TID, TIME, CPU, PERIOD, IDENTIFIER are always on;
                                  RAW is added for tracepoints) */
    uint64_t branch_filter;  /**< kperf_branch_filter bits; 0 = no branch stack */
    uint64_t regs_user_mask; /**< user registers for REGS_USER; 0 = the unwinding set
                                  (x86-64: ip, sp, bp; arm64: pc, sp, fp, lr) */
    uint32_t stack_user_size; /**< bytes of user stack for STACK_USER; 0 = 8192 */
    const pid_t *pids;       /**< processes to sample (all their threads); with npids */
    size_t npids;            /**< number of pids; 0 with no CPUs = the calling thread */
    const int *cpus;         /**< CPUs to sample on; with ncpus */
    size_t ncpus;            /**< number of cpus */
    bool all_cpus;           /**< every online CPU (system-wide when npids is 0) */
    bool inherit;            /**< follow threads and processes created after open */
    bool enable_on_exec;     /**< start counting at the target's next exec (for
                                  fork-then-exec launchers); start() is then not needed */
    bool no_sideband;        /**< do not ask for MMAP2/COMM/FORK/EXIT records (default:
                                  asked, on the first event) */
    bool context_switch;     /**< also ask for SWITCH / SWITCH_CPU_WIDE records */
    kperf_clock clock;       /**< timestamp clock; default CLOCK_MONOTONIC */
    uint32_t ring_pages;     /**< data pages per ring, a power of two; 0 = 128 (512 KiB) */
    uint32_t wakeup_bytes;   /**< kperf_sampler_fd() becomes readable when a ring holds this
                                  many bytes; 0 = a quarter of the ring */
} kperf_sampler_desc;

/** A sampler: events opened on the targets, one ring per CPU (or per thread). Opaque. */
typedef struct kperf_sampler kperf_sampler;

/** Counters of a sampler: totals, and the last read (or drain by next/foreach). */
typedef struct kperf_sampler_stats {
    kperf_ring_stats total; /**< since open, summed over the rings */
    kperf_ring_stats last;  /**< during the last kperf_sampler_read() or next() drain */
    uint64_t out_of_order;  /**< records older than one already returned (late writers) */
} kperf_sampler_stats;

/** @brief Opens the events of @p desc on its targets and maps the rings (disabled).
 *  @param out receives the sampler; NULL on failure.
 *  @param desc what to sample; NULL means all defaults (cpu-clock, 1000 Hz, this thread).
 *  @return 0, or a negative code with a message naming the event, target and fix
 *  (-KPERF_EPARANOID, -KPERF_ENOTSUP, -KPERF_ENOTARGET, -KPERF_ELIMIT, -EINVAL, ...).
 *  *Ownership:* close with kperf_sampler_close(). */
KPERF_API int kperf_sampler_open(kperf_sampler **out, const kperf_sampler_desc *desc);

/** @brief Disables the events, unmaps the rings and frees the sampler; accepts NULL. */
KPERF_API void kperf_sampler_close(kperf_sampler *s);

/** @brief Enables every event. @return 0 or a negative errno. */
KPERF_API int kperf_sampler_start(kperf_sampler *s);

/** @brief Disables every event. Records already in the rings stay readable, and reads
 *  after stop return all of them (no time-order holdback). @return 0 or a negative errno. */
KPERF_API int kperf_sampler_stop(kperf_sampler *s);

/** @brief Push read: delivers the records available now, from every ring, in time order
 *  (a streaming k-way merge over the ring heads). While the sampler runs, records younger
 *  than a short holdback (1 ms) stay in the ring for the next read, so that a record still
 *  being written on another CPU cannot come out of order.
 *  @param s the sampler.
 *  @param fn called per record; a negative return stops and is returned.
 *  @param user passed to @p fn.
 *  @return records delivered, fn's negative value, or -KPERF_ECORRUPT (the corrupt ring's
 *  content is discarded and counted). Consumed positions are published in every case; lost
 *  and throttle counts of this read are in kperf_sampler_stats_read()'s `last`.
 *  *Thread safety:* one reader at a time per sampler. */
KPERF_API int kperf_sampler_read(kperf_sampler *s, kperf_record_fn fn, void *user);

/** @brief Pull read: the next record in time order, consuming the previous one.
 *  @param s the sampler.
 *  @param rec receives the record, valid until the next call on @p s.
 *  @return 1 with a record, 0 when nothing more is available now, or a negative error. */
KPERF_API int kperf_sampler_next(kperf_sampler *s, const kperf_record **rec);

/** Iterates over the records available now: `KPERF_SAMPLER_FOREACH(s, rec) { ... }`.
 *  Breaking out is allowed: the unconsumed rest stays for the next read. */
#define KPERF_SAMPLER_FOREACH(s, rec)                                                      \
    for (const kperf_record *rec = NULL; kperf_sampler_next((s), &rec) > 0;)

/** @brief A file descriptor that polls readable (POLLIN) when a ring passed its wakeup
 *  watermark, for an application's own poll/epoll loop.
 *  @return the fd (owned by the sampler, do not close), or -1. */
KPERF_API int kperf_sampler_fd(const kperf_sampler *s);

/** @brief Counters: total and last read, summed over rings. */
KPERF_API void kperf_sampler_stats_read(const kperf_sampler *s, kperf_sampler_stats *out);

/** @brief Number of events the sampler opened (one per parsed event of the spec). */
KPERF_API size_t kperf_sampler_nevents(const kperf_sampler *s);

/** @brief Display name of event @p i (the record's `event` field), or NULL. */
KPERF_API const char *kperf_sampler_event_name(const kperf_sampler *s, size_t i);

/** @brief The last known name of a process, from /proc at open and from the COMM records
 *  read so far.
 *  @return the name, or NULL when unknown. *Ownership:* the sampler's, valid until close. */
KPERF_API const char *kperf_sampler_comm(const kperf_sampler *s, uint32_t pid);

/** Folded-stack aggregation (`a;b;c N` lines, the flame-graph input). Opaque. */
typedef struct kperf_folded kperf_folded;

/** Names a frame for folded output: write the name of @p addr into @p buf (size @p n,
 *  NUL-terminated) and return its length, or a negative value for "use the address". */
typedef int (*kperf_frame_name_fn)(uint64_t addr, uint32_t pid, bool kernel, char *buf,
                                   size_t n, void *user);

/** @brief Creates an empty folded-stack aggregation.
 *  @param out receives it; NULL on failure. @param name frame namer, or NULL for hex
 *  addresses. @param user passed to @p name. @return 0 or -ENOMEM. */
KPERF_API int kperf_folded_open(kperf_folded **out, kperf_frame_name_fn name, void *user);

/** @brief Adds one sample (its call chain, or its ip when it has none), weighted 1.
 *  The process name (when known) becomes the root frame. @return 0 or -ENOMEM. */
KPERF_API int kperf_folded_add(kperf_folded *f, const kperf_sample *smp, const char *comm);

/** @brief Writes `root;caller;...;leaf count` lines, sorted, to @p path ("-" = stdout).
 *  @return number of lines, or a negative errno. */
KPERF_API int kperf_folded_write(kperf_folded *f, const char *path);

/** @brief Frees an aggregation; accepts NULL. */
KPERF_API void kperf_folded_close(kperf_folded *f);
// <<sampling

// >>perfdata ----------------------------------------------------------------------------
// <<perfdata

// >>tracepoint --------------------------------------------------------------------------
// <<tracepoint

// >>syscalls ----------------------------------------------------------------------------
// <<syscalls

// >>device ------------------------------------------------------------------------------
// <<device

#ifdef __cplusplus
}
#endif
#endif // KPERF_H_INCLUDED

/* ======================================================================================
 * IMPLEMENTATION
 * ====================================================================================== */
#ifdef KPERF_IMPLEMENTATION
#ifndef KPERF_IMPL_INCLUDED
#define KPERF_IMPL_INCLUDED

#if defined(KPERF_MALLOC) && defined(KPERF_REALLOC) && defined(KPERF_FREE)
// all three hooks given
#elif !defined(KPERF_MALLOC) && !defined(KPERF_REALLOC) && !defined(KPERF_FREE)
#include <stdlib.h>
#define KPERF_MALLOC(sz) malloc(sz)
#define KPERF_REALLOC(p, sz) realloc(p, sz)
#define KPERF_FREE(p) free(p)
#else
#error "kperf: define all of KPERF_MALLOC, KPERF_REALLOC and KPERF_FREE, or none of them"
#endif
#ifndef KPERF_ASSERT
#include <assert.h>
#define KPERF_ASSERT(x) assert(x)
#endif

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Private helpers are static and may go unused in a given configuration. */
#if defined(__GNUC__)
#define KPERF__PRIV static __attribute__((unused))
#else
#define KPERF__PRIV static
#endif

#ifdef __cplusplus
#define KPERF__TLS thread_local
#else
#define KPERF__TLS __thread
#endif

#ifdef __cplusplus
extern "C" {
#endif

KPERF_API const char *kperf_version_string(void) { return "0.1.0"; }

// >>util (declarations used by every section) --------------------------------------------

/* Records an error for the calling thread and returns it negated. @p err is a positive
 * errno or KPERF_E* code. The message is formatted like printf. */
KPERF__PRIV int kperf__fail(int err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
KPERF__PRIV void *kperf__calloc(size_t n, size_t size);
KPERF__PRIV char *kperf__strdup(const char *s);
KPERF__PRIV int kperf__read_file(const char *path, char *buf, size_t size);
KPERF__PRIV long kperf__sys_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu,
                                       int group_fd, unsigned long flags);

// >>errors ------------------------------------------------------------------------------

static KPERF__TLS char kperf__errbuf[1024];
static KPERF__TLS int kperf__errno_last;
static kperf_log_fn kperf__log_fn;
static void *kperf__log_user;

static const char *const kperf__errnames[KPERF_EEND - KPERF_EBASE] = {
    "kperf: no error",
    "not supported on this machine",
    "malformed specification",
    "unknown event",
    "no such PMU",
    "forbidden by perf_event_paranoid",
    "missing capability",
    "no such process or thread",
    "corrupt or truncated data",
    "tracefs not available",
    "filter rejected by the kernel",
    "no PMU provides this metric",
    "resource limit reached",
    "invalid in the current state",
};

KPERF_API const char *kperf_strerror(int err) {
    if (err < 0) err = -err;
    if (err == 0) return "success";
    if (err > KPERF_EBASE && err < KPERF_EEND) return kperf__errnames[err - KPERF_EBASE];
    if (err < KPERF_EBASE) return strerror(err);
    return "unknown kperf error";
}

KPERF_API const char *kperf_errmsg(void) { return kperf__errbuf; }

KPERF_API int kperf_errcode(void) { return kperf__errno_last; }

KPERF_API void kperf_set_log(kperf_log_fn fn, void *user) {
    kperf__log_fn = fn;
    kperf__log_user = user;
}

static int kperf__fail(int err, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(kperf__errbuf, sizeof kperf__errbuf, fmt, ap);
    va_end(ap);
    kperf__errno_last = -err;
    if (kperf__log_fn) kperf__log_fn(KPERF_LOG_ERROR, kperf__errbuf, kperf__log_user);
    return -err;
}

// >>pmu ---------------------------------------------------------------------------------
// <<pmu

// >>topology ----------------------------------------------------------------------------
// <<topology

// >>events ------------------------------------------------------------------------------
// <<events

// >>counting ----------------------------------------------------------------------------
// <<counting

// >>region ------------------------------------------------------------------------------
// <<region

// >>task --------------------------------------------------------------------------------
// <<task

// >>ringbuf -----------------------------------------------------------------------------
/* The decoder reads fields through a bounded cursor: any read past the end marks the cursor
 * bad instead of touching memory, so one check after a whole layout is enough. */
typedef struct kperf__cur {
    const unsigned char *p, *end;
    bool bad;
} kperf__cur;

static inline uint64_t kperf__cur_u64(kperf__cur *c) {
    uint64_t v = 0;
    if (c->bad || (size_t)(c->end - c->p) < 8) {
        c->bad = true;
        return 0;
    }
    memcpy(&v, c->p, 8);
    c->p += 8;
    return v;
}

static inline void kperf__cur_u32x2(kperf__cur *c, uint32_t *a, uint32_t *b) {
    uint64_t v = kperf__cur_u64(c);
    uint32_t w[2];
    memcpy(w, &v, 8);
    *a = w[0];
    *b = w[1];
}

/* Returns a pointer to n bytes and advances, or NULL (cursor bad) when they do not fit.
 * @p align is the alignment the caller will dereference the bytes with. */
static inline const void *kperf__cur_take(kperf__cur *c, uint64_t n, size_t align) {
    if (c->bad || n > (uint64_t)(c->end - c->p) || ((uintptr_t)c->p & (align - 1))) {
        c->bad = true;
        return NULL;
    }
    const void *r = c->p;
    c->p += n;
    return r;
}

/* A NUL-terminated string that must end inside the cursor's range. */
static const char *kperf__cur_str(kperf__cur *c) {
    if (c->bad) return NULL;
    const unsigned char *z = (const unsigned char *)memchr(c->p, 0, (size_t)(c->end - c->p));
    if (!z) {
        c->bad = true;
        return NULL;
    }
    const char *s = (const char *)c->p;
    c->p = c->end;
    return s;
}

static int kperf__popcount64(uint64_t v) { return __builtin_popcountll(v); }

/* Bytes of the sample_id trailer that sample_id_all appends to non-sample records. */
static size_t kperf__trailer_size(uint64_t st) {
    size_t n = 0;
    if (st & PERF_SAMPLE_TID) n += 8;
    if (st & PERF_SAMPLE_TIME) n += 8;
    if (st & PERF_SAMPLE_ID) n += 8;
    if (st & PERF_SAMPLE_STREAM_ID) n += 8;
    if (st & PERF_SAMPLE_CPU) n += 8;
    if (st & PERF_SAMPLE_IDENTIFIER) n += 8;
    return n;
}

static void kperf__parse_trailer(kperf__cur *c, uint64_t st, kperf_record *r) {
    if (st & PERF_SAMPLE_TID) kperf__cur_u32x2(c, &r->pid, &r->tid);
    if (st & PERF_SAMPLE_TIME) r->time = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_ID) r->id = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_STREAM_ID) (void)kperf__cur_u64(c);
    if (st & PERF_SAMPLE_CPU) {
        uint32_t res;
        kperf__cur_u32x2(c, &r->cpu, &res);
    }
    if (st & PERF_SAMPLE_IDENTIFIER) r->id = kperf__cur_u64(c);
}

static void kperf__parse_read(kperf__cur *c, uint64_t rf, kperf_sample *s) {
    if (rf & PERF_FORMAT_GROUP) {
        uint64_t nr = kperf__cur_u64(c);
        size_t per = 8 + ((rf & PERF_FORMAT_ID) ? 8 : 0) + ((rf & PERF_FORMAT_LOST) ? 8 : 0);
        if (rf & PERF_FORMAT_TOTAL_TIME_ENABLED) (void)kperf__cur_u64(c);
        if (rf & PERF_FORMAT_TOTAL_TIME_RUNNING) (void)kperf__cur_u64(c);
        if (nr > (uint64_t)(c->end - c->p) / per) {
            c->bad = true;
            return;
        }
        const unsigned char *first = c->p;
        c->p += nr * per;
        if (nr) memcpy(&s->read_value, first, 8);
        return;
    }
    s->read_value = kperf__cur_u64(c);
    if (rf & PERF_FORMAT_TOTAL_TIME_ENABLED) (void)kperf__cur_u64(c);
    if (rf & PERF_FORMAT_TOTAL_TIME_RUNNING) (void)kperf__cur_u64(c);
    if (rf & PERF_FORMAT_ID) (void)kperf__cur_u64(c);
    if (rf & PERF_FORMAT_LOST) (void)kperf__cur_u64(c);
}

/* Registers: abi word, then one u64 per mask bit when abi is not 0. */
static void kperf__parse_regs(kperf__cur *c, uint64_t mask, uint64_t *abi, uint32_t *n,
                              const uint64_t **regs) {
    *abi = kperf__cur_u64(c);
    if (*abi) {
        *n = (uint32_t)kperf__popcount64(mask);
        *regs = (const uint64_t *)kperf__cur_take(c, (uint64_t)*n * 8, 8);
    }
}

/* The fields of a sample after the fixed head, in the kernel's output order. */
static void kperf__parse_sample_tail(kperf__cur *c, const kperf_ring_layout *l, kperf_sample *s) {
    uint64_t st = l->sample_type;
    if (st & PERF_SAMPLE_READ) kperf__parse_read(c, l->read_format, s);
    if (st & PERF_SAMPLE_CALLCHAIN) {
        uint64_t nr = kperf__cur_u64(c);
        if (nr > (uint64_t)(c->end - c->p) / 8) c->bad = true;
        s->nips = (uint32_t)nr;
        s->ips = (const uint64_t *)kperf__cur_take(c, nr * 8, 8);
    }
    if (st & PERF_SAMPLE_RAW) {
        uint32_t sz = 0;
        if ((size_t)(c->end - c->p) >= 4) memcpy(&sz, c->p, 4), c->p += 4;
        else c->bad = true;
        s->raw_size = sz;
        s->raw = kperf__cur_take(c, sz, 1);
    }
    if (st & PERF_SAMPLE_BRANCH_STACK) {
        uint64_t nr = kperf__cur_u64(c);
        if (l->branch_sample_type & PERF_SAMPLE_BRANCH_HW_INDEX)
            s->branch_hw_index = kperf__cur_u64(c);
        if (nr > (uint64_t)(c->end - c->p) / sizeof(kperf_branch)) c->bad = true;
        s->nbranches = (uint32_t)nr;
        s->branches = (const kperf_branch *)kperf__cur_take(c, nr * sizeof(kperf_branch), 8);
    }
    if (st & PERF_SAMPLE_REGS_USER)
        kperf__parse_regs(c, l->regs_user_mask, &s->regs_abi, &s->nregs, &s->regs);
    if (st & PERF_SAMPLE_STACK_USER) {
        s->stack_size = kperf__cur_u64(c);
        if (s->stack_size) {
            s->stack = kperf__cur_take(c, s->stack_size, 1);
            s->stack_dyn_size = kperf__cur_u64(c);
            if (s->stack_dyn_size > s->stack_size) c->bad = true;
        }
    }
    if (st & (PERF_SAMPLE_WEIGHT | PERF_SAMPLE_WEIGHT_STRUCT)) s->weight = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_DATA_SRC) s->data_src = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_TRANSACTION) s->transaction = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_REGS_INTR)
        kperf__parse_regs(c, l->regs_intr_mask, &s->intr_abi, &s->nintr_regs, &s->intr_regs);
    if (st & PERF_SAMPLE_PHYS_ADDR) s->phys_addr = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_CGROUP) s->cgroup = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_DATA_PAGE_SIZE) s->data_page_size = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_CODE_PAGE_SIZE) s->code_page_size = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_AUX) {
        uint64_t n = kperf__cur_u64(c);
        (void)kperf__cur_take(c, n, 1);
    }
}

static void kperf__parse_sample(kperf__cur *c, const kperf_ring_layout *l, kperf_record *r) {
    kperf_sample *s = &r->sample;
    uint64_t st = l->sample_type;
    memset(s, 0, sizeof *s);
    s->fields = st;
    if (st & PERF_SAMPLE_IDENTIFIER) s->id = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_IP) s->ip = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_TID) kperf__cur_u32x2(c, &s->pid, &s->tid);
    if (st & PERF_SAMPLE_TIME) s->time = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_ADDR) s->addr = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_ID) s->id = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_STREAM_ID) s->stream_id = kperf__cur_u64(c);
    if (st & PERF_SAMPLE_CPU) {
        uint32_t res;
        kperf__cur_u32x2(c, &s->cpu, &res);
    }
    if (st & PERF_SAMPLE_PERIOD) s->period = kperf__cur_u64(c);
    kperf__parse_sample_tail(c, l, s);
    r->time = s->time;
    r->pid = s->pid;
    r->tid = s->tid;
    if (st & PERF_SAMPLE_CPU) r->cpu = s->cpu;
    r->id = s->id;
}

/* Side-band bodies; @p c covers the body only (header and trailer excluded). */
static void kperf__parse_sideband(kperf__cur *c, kperf_record *r) {
    switch (r->type) {
    case PERF_RECORD_MMAP:
    case PERF_RECORD_MMAP2: {
        kperf_mmap_rec *m = &r->mmap;
        memset(m, 0, sizeof *m);
        kperf__cur_u32x2(c, &m->pid, &m->tid);
        m->addr = kperf__cur_u64(c);
        m->len = kperf__cur_u64(c);
        m->pgoff = kperf__cur_u64(c);
        if (r->type == PERF_RECORD_MMAP2) {
            const unsigned char *u = (const unsigned char *)kperf__cur_take(c, 24, 1);
            if (u && (r->misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
                m->build_id_size = u[0] > 20 ? 20 : u[0];
                memcpy(m->build_id, u + 4, 20);
            } else if (u) {
                memcpy(&m->maj, u, 4);
                memcpy(&m->min, u + 4, 4);
                memcpy(&m->ino, u + 8, 8);
                memcpy(&m->ino_generation, u + 16, 8);
            }
            kperf__cur_u32x2(c, &m->prot, &m->flags);
        }
        m->filename = kperf__cur_str(c);
        if (!(r->pid | r->tid)) r->pid = m->pid, r->tid = m->tid;
        break;
    }
    case PERF_RECORD_COMM:
        kperf__cur_u32x2(c, &r->comm.pid, &r->comm.tid);
        r->comm.exec = (r->misc & PERF_RECORD_MISC_COMM_EXEC) != 0;
        r->comm.comm = kperf__cur_str(c);
        if (!(r->pid | r->tid)) r->pid = r->comm.pid, r->tid = r->comm.tid;
        break;
    case PERF_RECORD_FORK:
    case PERF_RECORD_EXIT:
        kperf__cur_u32x2(c, &r->task.pid, &r->task.ppid);
        kperf__cur_u32x2(c, &r->task.tid, &r->task.ptid);
        r->task.time = kperf__cur_u64(c);
        if (!r->time) r->time = r->task.time;
        break;
    case PERF_RECORD_LOST:
        memset(&r->loss, 0, sizeof r->loss);
        r->loss.id = kperf__cur_u64(c);
        r->loss.lost = kperf__cur_u64(c);
        break;
    case PERF_RECORD_LOST_SAMPLES:
        memset(&r->loss, 0, sizeof r->loss);
        r->loss.lost = kperf__cur_u64(c);
        break;
    case PERF_RECORD_THROTTLE:
    case PERF_RECORD_UNTHROTTLE:
        r->loss.time = kperf__cur_u64(c);
        r->loss.id = kperf__cur_u64(c);
        r->loss.stream_id = kperf__cur_u64(c);
        r->loss.lost = 0;
        if (!r->time) r->time = r->loss.time;
        break;
    case PERF_RECORD_SWITCH:
    case PERF_RECORD_SWITCH_CPU_WIDE:
        memset(&r->sw, 0, sizeof r->sw);
        r->sw.out = (r->misc & PERF_RECORD_MISC_SWITCH_OUT) != 0;
        r->sw.preempt = (r->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT) != 0;
        if (r->type == PERF_RECORD_SWITCH_CPU_WIDE)
            kperf__cur_u32x2(c, &r->sw.next_prev_pid, &r->sw.next_prev_tid);
        break;
    default:
        break; /* other kernel records pass through undecoded */
    }
}

static const char *kperf__record_name(uint32_t type) {
    static const char *const n[] = {"?", "MMAP", "LOST", "COMM", "EXIT", "THROTTLE",
                                    "UNTHROTTLE", "FORK", "READ", "SAMPLE", "MMAP2", "AUX",
                                    "ITRACE_START", "LOST_SAMPLES", "SWITCH", "SWITCH_CPU_WIDE"};
    return type < sizeof n / sizeof n[0] ? n[type] : "record";
}

KPERF_API int kperf_record_parse(const void *bytes, size_t size, const kperf_ring_layout *l,
                                 kperf_record *out) {
    struct perf_event_header h;
    if (!bytes || !l || !out || size < sizeof h)
        return kperf__fail(KPERF_ECORRUPT, "record of %zu bytes is shorter than its header",
                           size);
    memcpy(&h, bytes, sizeof h);
    if (h.size < sizeof h || h.size > size || (h.size & 7) || ((uintptr_t)bytes & 7))
        return kperf__fail(KPERF_ECORRUPT,
                           "record header.size %u is invalid (need 8..%zu, a multiple of 8)",
                           h.size, size);
    out->type = h.type;
    out->misc = h.misc;
    out->size = h.size;
    out->bytes = bytes;
    out->time = 0;
    out->pid = out->tid = 0;
    out->cpu = UINT32_MAX;
    out->id = 0;
    kperf__cur c = {(const unsigned char *)bytes + sizeof h, (const unsigned char *)bytes + h.size,
                    false};
    if (h.type == PERF_RECORD_SAMPLE) {
        kperf__parse_sample(&c, l, out);
    } else if (h.type < PERF_RECORD_MAX || h.type < 64) {
        if (l->sample_id_all && h.type < PERF_RECORD_MAX) {
            size_t tn = kperf__trailer_size(l->sample_type);
            if (tn > (size_t)(c.end - c.p)) c.bad = true;
            else {
                kperf__cur t = {c.end - tn, c.end, false};
                kperf__parse_trailer(&t, l->sample_type, out);
                c.end -= tn;
            }
        }
        if (!c.bad) kperf__parse_sideband(&c, out);
        if (h.type != PERF_RECORD_SAMPLE) c.p = c.end; /* bodies may carry padding */
    } else {
        c.p = c.end; /* user-space (perf.data) records: not decoded here */
    }
    if (c.bad || c.p != c.end)
        return kperf__fail(KPERF_ECORRUPT,
                           "%s record of %u bytes does not fit its layout (sample_type 0x%llx)",
                           kperf__record_name(h.type), h.size,
                           (unsigned long long)l->sample_type);
    return 0;
}

/* A reader over one ring: the control page, the data area, our tail, and the record we
 * have decoded but not consumed yet (so that a k-way merge can peek at ring heads). */
struct kperf_ring {
    struct perf_event_mmap_page *page;
    unsigned char *data;
    uint64_t data_size, mask;
    kperf_ring_layout layout;
    int cpu;
    uint64_t tail, head;
    uint64_t pending;       /* bytes of the decoded record not yet consumed; 0 = none */
    kperf_record rec;
    unsigned char *scratch; /* wrap-around copies, 8-byte aligned, grows to <= data_size */
    size_t scratch_cap;
    kperf_ring_stats st;
    /* sampler-owned extras */
    int fd;
    void *map;
    size_t map_len;
    const struct kperf_sampler *owner;
};

static int kperf__ring_init(kperf_ring *r, const kperf_ring_desc *d) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (!d->base || ((uintptr_t)d->base & 7) || d->size < sizeof(struct perf_event_mmap_page))
        return kperf__fail(EINVAL, "ring: base must be 8-byte aligned and hold a control page");
    struct perf_event_mmap_page *pg = (struct perf_event_mmap_page *)d->base;
    uint64_t off = d->data_offset ? d->data_offset : (pg->data_offset ? pg->data_offset : page);
    uint64_t sz = d->data_size ? d->data_size : pg->data_size;
    if (!sz && off < d->size) sz = d->size - off;
    if (off < sizeof *pg || (off & 7) || off > d->size || sz > d->size - off || sz < 8 ||
        (sz & (sz - 1)))
        return kperf__fail(EINVAL,
                           "ring: data area at %llu, %llu bytes does not fit %zu bytes or is "
                           "not a power of two",
                           (unsigned long long)off, (unsigned long long)sz, d->size);
    r->page = pg;
    r->data = (unsigned char *)d->base + off;
    r->data_size = sz;
    r->mask = sz - 1;
    r->layout = d->layout;
    r->cpu = d->cpu;
    r->tail = __atomic_load_n(&pg->data_tail, __ATOMIC_RELAXED);
    r->head = r->tail;
    r->fd = -1;
    return 0;
}

KPERF_API int kperf_ring_open(kperf_ring **out, const kperf_ring_desc *desc) {
    if (!out) return kperf__fail(EINVAL, "kperf_ring_open: out is NULL");
    *out = NULL;
    if (!desc) return kperf__fail(EINVAL, "kperf_ring_open: desc is NULL");
    kperf_ring *r = (kperf_ring *)kperf__calloc(1, sizeof *r);
    if (!r) return kperf__fail(ENOMEM, "ring: out of memory");
    int err = kperf__ring_init(r, desc);
    if (err < 0) {
        KPERF_FREE(r);
        return err;
    }
    *out = r;
    return 0;
}

KPERF_API void kperf_ring_close(kperf_ring *r) {
    if (!r) return;
    KPERF_FREE(r->scratch);
    KPERF_FREE(r);
}

/* Consumes the pending record: the kernel may reuse its bytes once data_tail is stored. */
static void kperf__ring_consume(kperf_ring *r) {
    if (!r->pending) return;
    r->tail += r->pending;
    r->pending = 0;
    __atomic_store_n(&r->page->data_tail, r->tail, __ATOMIC_RELEASE);
}

/* Drops everything up to the head after a corrupt record and reports it. */
static int kperf__ring_corrupt(kperf_ring *r, const char *why) {
    char msg[512];
    snprintf(msg, sizeof msg, "%s", why);
    r->st.corrupt++;
    r->pending = 0;
    r->tail = r->head;
    __atomic_store_n(&r->page->data_tail, r->tail, __ATOMIC_RELEASE);
    return kperf__fail(KPERF_ECORRUPT,
                       "corrupt ring buffer (CPU %d): %s; its unread content was discarded",
                       r->cpu, msg);
}

static int kperf__ring_grow_scratch(kperf_ring *r, size_t n) {
    if (n <= r->scratch_cap) return 0;
    size_t cap = r->scratch_cap ? r->scratch_cap : 256;
    while (cap < n) cap *= 2;
    void *p = KPERF_REALLOC(r->scratch, cap);
    if (!p) return kperf__fail(ENOMEM, "ring: out of memory for a %zu-byte record", n);
    r->scratch = (unsigned char *)p;
    r->scratch_cap = cap;
    return 0;
}

/* Decodes the record at the tail without consuming it. Returns 1, 0 (empty) or < 0. */
static int kperf__ring_peek(kperf_ring *r) {
    if (r->pending) return 1;
    if (r->tail == r->head) r->head = __atomic_load_n(&r->page->data_head, __ATOMIC_ACQUIRE);
    uint64_t avail = r->head - r->tail;
    if (!avail) return 0;
    char why[160];
    if (avail > r->data_size || avail < 8 || (avail & 7) || (r->tail & 7)) {
        snprintf(why, sizeof why, "head %llu and tail %llu are %llu bytes apart (ring %llu)",
                 (unsigned long long)r->head, (unsigned long long)r->tail,
                 (unsigned long long)avail, (unsigned long long)r->data_size);
        r->head = r->tail; /* nothing trustworthy to discard up to */
        r->head = __atomic_load_n(&r->page->data_head, __ATOMIC_ACQUIRE);
        return kperf__ring_corrupt(r, why);
    }
    uint64_t off = r->tail & r->mask;
    struct perf_event_header h;
    memcpy(&h, r->data + off, sizeof h); /* 8-aligned offsets: a header never wraps */
    if (h.size < 8 || h.size > avail || (h.size & 7)) {
        snprintf(why, sizeof why, "%s record header.size %u (available %llu)",
                 kperf__record_name(h.type), h.size, (unsigned long long)avail);
        return kperf__ring_corrupt(r, why);
    }
    const unsigned char *p = r->data + off;
    if (off + h.size > r->data_size) { /* wraps: copy both pieces into scratch */
        if (kperf__ring_grow_scratch(r, h.size) < 0) return -ENOMEM;
        size_t first = (size_t)(r->data_size - off);
        memcpy(r->scratch, p, first);
        memcpy(r->scratch + first, r->data, h.size - first);
        p = r->scratch;
        r->st.copied++;
    }
    if (kperf_record_parse(p, h.size, &r->layout, &r->rec) < 0) {
        snprintf(why, sizeof why, "%.150s", kperf_errmsg());
        return kperf__ring_corrupt(r, why);
    }
    if (r->rec.cpu == UINT32_MAX) r->rec.cpu = (uint32_t)r->cpu;
    r->rec.event = -1;
    r->pending = h.size;
    return 1;
}

/* Counts a record as returned to the user. */
static void kperf__ring_account(kperf_ring_stats *st, const kperf_record *rec) {
    st->records++;
    switch (rec->type) {
    case PERF_RECORD_SAMPLE: st->samples++; break;
    case PERF_RECORD_LOST: st->lost += rec->loss.lost; break;
    case PERF_RECORD_LOST_SAMPLES: st->lost_samples += rec->loss.lost; break;
    case PERF_RECORD_THROTTLE: st->throttled++; break;
    case PERF_RECORD_UNTHROTTLE: st->unthrottled++; break;
    default: break;
    }
}

KPERF_API int kperf_ring_next(kperf_ring *r, const kperf_record **rec) {
    if (!r || !rec) return kperf__fail(EINVAL, "kperf_ring_next: NULL argument");
    *rec = NULL;
    kperf__ring_consume(r);
    int n = kperf__ring_peek(r);
    if (n <= 0) return n;
    kperf__ring_account(&r->st, &r->rec);
    *rec = &r->rec;
    return 1;
}

KPERF_API int kperf_ring_read(kperf_ring *r, kperf_record_fn fn, void *user) {
    if (!r || !fn) return kperf__fail(EINVAL, "kperf_ring_read: NULL argument");
    const kperf_record *rec;
    int n = 0, got;
    /* Bounded by what is in the ring now: the head is not re-read after it is reached. */
    uint64_t stop = __atomic_load_n(&r->page->data_head, __ATOMIC_ACQUIRE);
    while ((r->pending ? r->tail + r->pending : r->tail) != stop &&
           (got = kperf_ring_next(r, &rec)) != 0) {
        if (got < 0) return got;
        n++;
        int rc = fn(rec, user);
        if (rc < 0) {
            kperf__ring_consume(r);
            return rc;
        }
    }
    kperf__ring_consume(r);
    return n;
}

KPERF_API void kperf_ring_stats_read(const kperf_ring *r, kperf_ring_stats *out) {
    if (!out) return;
    if (!r) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = r->st;
}
// <<ringbuf

// >>sampling ----------------------------------------------------------------------------
#include <sys/epoll.h>

/* One opened fd: which event, on which target, feeding which ring. */
typedef struct kperf__sfd {
    int fd;
    int event;
    int cpu;
    pid_t pid;
    int ring;
    uint64_t id;
} kperf__sfd;

typedef struct kperf__comm_ent {
    uint32_t tid; /* 0 = empty slot */
    char comm[16];
} kperf__comm_ent;

struct kperf_sampler {
    kperf_sampler_desc d;            /* resolved copy; target arrays are not kept */
    struct perf_event_attr *attrs;   /* one per event */
    char **names;
    size_t nev;
    kperf__sfd *fds;
    size_t nfds, capfds;
    kperf_ring **rings;
    size_t nrings;
    uint64_t *ids;                   /* sorted event ids, with the event of each */
    int *id_event;
    size_t nids;
    int epfd;
    clockid_t clk;
    bool use_clk, running;
    kperf_ring_layout layout;
    /* streaming merge: a binary min-heap (by time) of rings whose head record is ready */
    kperf_ring **heap;
    size_t nheap;
    bool in_round;
    uint64_t limit, last_time;
    kperf_ring *cur;
    kperf_sampler_stats st;
    kperf__comm_ent *comms;
    size_t ncomm, capcomm;
};

/* ---- process names (tid -> comm), kept from /proc and from COMM/FORK records ---- */

static kperf__comm_ent *kperf__comm_slot(kperf__comm_ent *t, size_t cap, uint32_t tid) {
    size_t i = (tid * 2654435761u) & (cap - 1);
    while (t[i].tid && t[i].tid != tid) i = (i + 1) & (cap - 1);
    return &t[i];
}

static void kperf__comm_set(kperf_sampler *s, uint32_t tid, const char *comm) {
    if (!tid || !comm) return;
    if ((s->ncomm + 1) * 4 >= s->capcomm * 3) {
        size_t cap = s->capcomm ? s->capcomm * 2 : 64;
        kperf__comm_ent *t = (kperf__comm_ent *)kperf__calloc(cap, sizeof *t);
        if (!t) return; /* names are best effort */
        for (size_t i = 0; i < s->capcomm; i++)
            if (s->comms[i].tid) *kperf__comm_slot(t, cap, s->comms[i].tid) = s->comms[i];
        KPERF_FREE(s->comms);
        s->comms = t;
        s->capcomm = cap;
    }
    kperf__comm_ent *e = kperf__comm_slot(s->comms, s->capcomm, tid);
    if (!e->tid) s->ncomm++;
    e->tid = tid;
    snprintf(e->comm, sizeof e->comm, "%s", comm);
}

KPERF_API const char *kperf_sampler_comm(const kperf_sampler *s, uint32_t pid) {
    if (!s || !s->capcomm || !pid) return NULL;
    kperf__comm_ent *e = kperf__comm_slot(s->comms, s->capcomm, pid);
    return e->tid ? e->comm : NULL;
}

static void kperf__comm_from_proc(kperf_sampler *s, pid_t pid, pid_t tid) {
    char path[64], buf[64];
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
    if (kperf__read_file(path, buf, sizeof buf) >= 0) kperf__comm_set(s, (uint32_t)tid, buf);
}

/* Keeps the name table current as records go by. */
static void kperf__comm_track(kperf_sampler *s, const kperf_record *r) {
    if (r->type == PERF_RECORD_COMM) {
        kperf__comm_set(s, r->comm.tid, r->comm.comm);
    } else if (r->type == PERF_RECORD_FORK) {
        const char *c = kperf_sampler_comm(s, r->task.ptid);
        if (!c) c = kperf_sampler_comm(s, r->task.ppid);
        if (c) {
            char tmp[16];
            snprintf(tmp, sizeof tmp, "%s", c);
            kperf__comm_set(s, r->task.tid, tmp);
        }
    }
}

/* ---- small helpers until the shared sections provide them ---- */

/* Parses a CPU list such as "0-3,8,10-11" into a malloc'd array. */
static int kperf__sampling_cpulist(const char *text, int **out, size_t *n) {
    size_t cap = 16;
    int *v = (int *)kperf__calloc(cap, sizeof *v);
    *n = 0;
    if (!v) return -ENOMEM;
    const char *p = text;
    while (*p) {
        char *e;
        long a = strtol(p, &e, 10), b;
        if (e == p || a < 0 || a > 65535) break;
        b = a;
        if (*e == '-') {
            p = e + 1;
            b = strtol(p, &e, 10);
            if (e == p || b < a || b > 65535) break;
        }
        for (long c = a; c <= b; c++) {
            if (*n == cap) {
                int *w = (int *)KPERF_REALLOC(v, cap * 2 * sizeof *v);
                if (!w) return KPERF_FREE(v), -ENOMEM;
                v = w, cap *= 2;
            }
            v[(*n)++] = (int)c;
        }
        p = e;
        if (*p == ',') p++;
        else break;
    }
    *out = v;
    return 0;
}

static int kperf__sampling_online(int **cpus, size_t *n) {
    char buf[4096];
    if (kperf__read_file("/sys/devices/system/cpu/online", buf, sizeof buf) < 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        snprintf(buf, sizeof buf, "0-%ld", c > 0 ? c - 1 : 0);
    }
    return kperf__sampling_cpulist(buf, cpus, n);
}

/* Explains a failed perf_event_open for a sampling event. */
static int kperf__sampling_open_error(int err, const char *ev, pid_t pid, int cpu) {
    char tgt[64];
    char para[16] = "?";
    kperf__read_file("/proc/sys/kernel/perf_event_paranoid", para, sizeof para);
    if (pid > 0) snprintf(tgt, sizeof tgt, "pid %d", (int)pid);
    else if (pid == 0) snprintf(tgt, sizeof tgt, "the calling thread");
    else snprintf(tgt, sizeof tgt, "CPU %d", cpu);
    if (err == EACCES || err == EPERM)
        return kperf__fail(KPERF_EPARANOID,
                           "cannot sample %s on %s: permission denied (perf_event_paranoid is "
                           "%s; CPU-wide or kernel sampling needs <= 1 or 0, or CAP_PERFMON; "
                           "try include_kernel=false or `sysctl kernel.perf_event_paranoid=1`)",
                           ev, tgt, para);
    if (err == ESRCH)
        return kperf__fail(KPERF_ENOTARGET, "cannot sample %s on %s: no such process", ev, tgt);
    if (err == EMFILE || err == ENFILE)
        return kperf__fail(KPERF_ELIMIT,
                           "cannot sample %s on %s: out of file descriptors (raise `ulimit -n`)",
                           ev, tgt);
    if (err == ENOENT || err == EOPNOTSUPP || err == ENODEV)
        return kperf__fail(KPERF_ENOTSUP,
                           "cannot sample %s on %s: the event is not supported here (%s; a VM "
                           "without a hardware PMU cannot sample cycles: use cpu-clock)",
                           ev, tgt, strerror(err));
    return kperf__fail(err, "cannot sample %s on %s: perf_event_open: %s", ev, tgt,
                       strerror(err));
}

/* ---- events ---- */

static int kperf__sampling_add_event(kperf_sampler *s, const struct perf_event_attr *a,
                                     const char *name) {
    struct perf_event_attr *na =
        (struct perf_event_attr *)KPERF_REALLOC(s->attrs, (s->nev + 1) * sizeof *na);
    if (!na) return -ENOMEM;
    s->attrs = na;
    char **nn = (char **)KPERF_REALLOC(s->names, (s->nev + 1) * sizeof *nn);
    if (!nn) return -ENOMEM;
    s->names = nn;
    s->attrs[s->nev] = *a;
    s->names[s->nev] = kperf__strdup(name);
    if (!s->names[s->nev]) return -ENOMEM;
    s->nev++;
    return 0;
}

/* A minimal event resolver: software events and sys:name tracepoints. */
static int kperf__sampling_one_event(const char *spec, struct perf_event_attr *a) {
    static const struct {
        const char *name;
        uint32_t type;
        uint64_t config;
    } tab[] = {
        {"cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK},
        {"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
        {"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
        {"faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
        {"minor-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN},
        {"major-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ},
        {"context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
        {"cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
        {"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
        {"dummy", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY},
        {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
        {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
    };
    memset(a, 0, sizeof *a);
    a->size = sizeof *a;
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(spec, tab[i].name)) {
            a->type = tab[i].type;
            a->config = tab[i].config;
            return 0;
        }
    const char *colon = strchr(spec, ':');
    if (colon && colon != spec && colon[1] && !strchr(colon + 1, ':')) {
        char path[512], buf[32];
        snprintf(path, sizeof path, "/sys/kernel/tracing/events/%.*s/%s/id",
                 (int)(colon - spec), spec, colon + 1);
        if (kperf__read_file(path, buf, sizeof buf) < 0) {
            snprintf(path, sizeof path, "/sys/kernel/debug/tracing/events/%.*s/%s/id",
                     (int)(colon - spec), spec, colon + 1);
            if (kperf__read_file(path, buf, sizeof buf) < 0)
                return kperf__fail(KPERF_ENOEVENT,
                                   "unknown tracepoint '%s' (is tracefs mounted at "
                                   "/sys/kernel/tracing? see `kperf list`)", spec);
        }
        a->type = PERF_TYPE_TRACEPOINT;
        a->config = strtoull(buf, NULL, 10);
        return 0;
    }
    return kperf__fail(KPERF_ENOEVENT, "unknown event '%s' for sampling (try cpu-clock)", spec);
}

static int kperf__sampling_events(kperf_sampler *s, const char *spec) {
    char buf[1024];
    if (strlen(spec) >= sizeof buf) return kperf__fail(KPERF_EPARSE, "event spec too long");
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        struct perf_event_attr a;
        int err = kperf__sampling_one_event(t, &a);
        if (err < 0) return err;
        if ((err = kperf__sampling_add_event(s, &a, t)) < 0)
            return kperf__fail(ENOMEM, "out of memory");
    }
    if (!s->nev) return kperf__fail(KPERF_EPARSE, "empty event spec '%s'", spec);
    return 0;
}

/* Fills the sampling-specific attr fields from the resolved desc. */
static void kperf__sampling_attr(const kperf_sampler *s, struct perf_event_attr *a, bool first) {
    const kperf_sampler_desc *d = &s->d;
    a->size = sizeof *a;
    a->sample_type = s->layout.sample_type;
    if (a->type == PERF_TYPE_TRACEPOINT) a->sample_type |= PERF_SAMPLE_RAW;
    if (d->period) {
        a->sample_period = d->period;
    } else if (a->type == PERF_TYPE_TRACEPOINT && !d->freq) {
        a->sample_period = 1; /* every tracepoint hit, as perf record does */
    } else {
        a->freq = 1;
        a->sample_freq = d->freq ? d->freq : 1000;
    }
    a->disabled = 1;
    a->inherit = d->inherit;
    a->enable_on_exec = d->enable_on_exec;
    a->exclude_kernel = !d->include_kernel;
    a->exclude_user = d->exclude_user;
    a->exclude_hv = 1;
    a->exclude_callchain_kernel = !d->include_kernel;
    a->sample_id_all = 1;
    a->watermark = 1;
    a->wakeup_watermark = d->wakeup_bytes;
    a->sample_max_stack = d->max_stack;
    a->branch_sample_type = d->branch_filter;
    a->sample_regs_user = s->layout.regs_user_mask;
    a->sample_stack_user = (a->sample_type & PERF_SAMPLE_STACK_USER) ? d->stack_user_size : 0;
    if (d->clock != KPERF_CLOCK_PERF) {
        a->use_clockid = 1;
        a->clockid = s->clk;
    }
    if (first && !d->no_sideband) {
        a->mmap = a->mmap2 = a->comm = a->comm_exec = a->task = 1;
    }
    if (first && d->context_switch) a->context_switch = 1;
}

/* ---- targets, fds and rings ---- */

static int kperf__sampling_push_fd(kperf_sampler *s, kperf__sfd f) {
    if (s->nfds == s->capfds) {
        size_t cap = s->capfds ? s->capfds * 2 : 16;
        kperf__sfd *n = (kperf__sfd *)KPERF_REALLOC(s->fds, cap * sizeof *n);
        if (!n) return kperf__fail(ENOMEM, "out of memory");
        s->fds = n, s->capfds = cap;
    }
    s->fds[s->nfds++] = f;
    return 0;
}

/* Maps a ring for fd, or redirects fd into the ring already on the same CPU. */
static int kperf__sampling_ring_for(kperf_sampler *s, int fd, int cpu, pid_t pid) {
    for (size_t i = 0; cpu >= 0 && i < s->nrings; i++)
        if (s->rings[i]->cpu == cpu) {
            if (ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, s->rings[i]->fd) < 0)
                return kperf__fail(errno, "PERF_EVENT_IOC_SET_OUTPUT on CPU %d: %s", cpu,
                                   strerror(errno));
            return (int)i;
        }
    (void)pid;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t len = page * (1 + (size_t)s->d.ring_pages);
    void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        int e = errno;
        if (e == EPERM || e == ENOMEM)
            return kperf__fail(KPERF_ELIMIT,
                               "cannot map a %zu KiB sampling ring: %s (the per-user limit is "
                               "kernel.perf_event_mlock_kb plus RLIMIT_MEMLOCK; use fewer "
                               "ring_pages or raise them)",
                               len / 1024, strerror(e));
        return kperf__fail(e, "mmap of a sampling ring failed: %s", strerror(e));
    }
    kperf_ring **nr = (kperf_ring **)KPERF_REALLOC(s->rings, (s->nrings + 1) * sizeof *nr);
    kperf_ring *r = (kperf_ring *)kperf__calloc(1, sizeof *r);
    if (nr) s->rings = nr;
    if (!nr || !r) {
        munmap(m, len);
        KPERF_FREE(r);
        return kperf__fail(ENOMEM, "out of memory");
    }
    kperf_ring_desc rd;
    memset(&rd, 0, sizeof rd);
    rd.base = m, rd.size = len, rd.data_offset = page, rd.data_size = len - page;
    rd.layout = s->layout, rd.cpu = cpu;
    kperf__ring_init(r, &rd);
    r->fd = fd, r->map = m, r->map_len = len, r->owner = s;
    s->rings[s->nrings++] = r;
    if (s->epfd >= 0) {
        struct epoll_event ev;
        memset(&ev, 0, sizeof ev);
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)(s->nrings - 1);
        epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev);
    }
    return (int)(s->nrings - 1);
}

static int kperf__sampling_open_one(kperf_sampler *s, pid_t pid, int cpu, bool optional) {
    for (size_t e = 0; e < s->nev; e++) {
        int fd = (int)kperf__sys_perf_event_open(&s->attrs[e], pid, cpu, -1,
                                                 PERF_FLAG_FD_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            if (optional && err == ESRCH) return 0; /* a thread exited since listing */
            return kperf__sampling_open_error(err, s->names[e], pid, cpu);
        }
        kperf__sfd f = {fd, (int)e, cpu, pid, -1, 0};
        int err = kperf__sampling_push_fd(s, f);
        if (err < 0) return close(fd), err;
        int ring = kperf__sampling_ring_for(s, fd, cpu, pid);
        if (ring < 0) return ring;
        s->fds[s->nfds - 1].ring = ring;
        if (ioctl(fd, PERF_EVENT_IOC_ID, &s->fds[s->nfds - 1].id) < 0)
            return kperf__fail(errno, "PERF_EVENT_IOC_ID: %s", strerror(errno));
    }
    return 0;
}

/* Opens every thread of @p pid on every CPU of the list. */
static int kperf__sampling_open_pid(kperf_sampler *s, pid_t pid, const int *cpus, size_t ncpu) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *dir = opendir(path);
    if (!dir)
        return kperf__fail(KPERF_ENOTARGET, "cannot sample pid %d: no such process", (int)pid);
    int err = 0;
    for (struct dirent *de; !err && (de = readdir(dir));) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
        pid_t tid = (pid_t)atoi(de->d_name);
        kperf__comm_from_proc(s, pid, tid);
        for (size_t c = 0; !err && c < ncpu; c++)
            err = kperf__sampling_open_one(s, tid, cpus[c], tid != pid);
    }
    closedir(dir);
    return err;
}

static int kperf__sampling_open_targets(kperf_sampler *s, const kperf_sampler_desc *d) {
    int *cpus = NULL, err = 0;
    size_t ncpu = 0;
    bool want_cpus = d->ncpus || d->all_cpus || d->npids || d->inherit;
    if (d->ncpus) {
        cpus = (int *)kperf__calloc(d->ncpus, sizeof *cpus);
        if (!cpus) return kperf__fail(ENOMEM, "out of memory");
        memcpy(cpus, d->cpus, d->ncpus * sizeof *cpus);
        ncpu = d->ncpus;
    } else if (want_cpus && kperf__sampling_online(&cpus, &ncpu) < 0) {
        return kperf__fail(ENOMEM, "out of memory");
    }
    if (d->npids) {
        for (size_t i = 0; !err && i < d->npids; i++)
            err = kperf__sampling_open_pid(s, d->pids[i], cpus, ncpu);
    } else if (d->ncpus || d->all_cpus) {
        for (size_t c = 0; !err && c < ncpu; c++) err = kperf__sampling_open_one(s, -1, cpus[c], false);
    } else {
        pid_t self = getpid(), tid = (pid_t)syscall(SYS_gettid);
        kperf__comm_from_proc(s, self, tid);
        kperf__comm_from_proc(s, self, self);
        if (d->inherit)
            for (size_t c = 0; !err && c < ncpu; c++) err = kperf__sampling_open_one(s, 0, cpus[c], false);
        else
            err = kperf__sampling_open_one(s, 0, -1, false);
    }
    KPERF_FREE(cpus);
    return err;
}

static int kperf__u64_cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorted id -> event table, so that a record's id names its event in O(log n). */
static int kperf__sampling_ids(kperf_sampler *s) {
    uint64_t *pairs = (uint64_t *)kperf__calloc(s->nfds * 2, sizeof *pairs);
    s->ids = (uint64_t *)kperf__calloc(s->nfds, sizeof *s->ids);
    s->id_event = (int *)kperf__calloc(s->nfds, sizeof *s->id_event);
    if (!pairs || !s->ids || !s->id_event) {
        KPERF_FREE(pairs);
        return kperf__fail(ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < s->nfds; i++)
        pairs[2 * i] = s->fds[i].id, pairs[2 * i + 1] = (uint64_t)s->fds[i].event;
    qsort(pairs, s->nfds, 2 * sizeof *pairs, kperf__u64_cmp);
    for (size_t i = 0; i < s->nfds; i++)
        s->ids[i] = pairs[2 * i], s->id_event[i] = (int)pairs[2 * i + 1];
    s->nids = s->nfds;
    KPERF_FREE(pairs);
    return 0;
}

static int kperf__sampling_event_of(const kperf_sampler *s, uint64_t id) {
    size_t lo = 0, hi = s->nids;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->ids[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < s->nids && s->ids[lo] == id ? s->id_event[lo] : -1;
}

static clockid_t kperf__clockid(kperf_clock c) {
    switch (c) {
    case KPERF_CLOCK_MONOTONIC_RAW: return CLOCK_MONOTONIC_RAW;
    case KPERF_CLOCK_REALTIME: return CLOCK_REALTIME;
    case KPERF_CLOCK_BOOTTIME: return CLOCK_BOOTTIME;
    case KPERF_CLOCK_TAI: return CLOCK_TAI;
    default: return CLOCK_MONOTONIC;
    }
}

/* Every default in one place. */
static int kperf__sampling_defaults(kperf_sampler *s, const kperf_sampler_desc *in) {
    kperf_sampler_desc *d = &s->d;
    if (in) *d = *in;
    else memset(d, 0, sizeof *d);
    if (!d->events || !*d->events) d->events = "cpu-clock";
    if (!d->ring_pages) d->ring_pages = 128;
    if (d->ring_pages & (d->ring_pages - 1))
        return kperf__fail(EINVAL, "ring_pages %u is not a power of two", d->ring_pages);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (!d->wakeup_bytes) d->wakeup_bytes = (uint32_t)(d->ring_pages * page / 4);
    if (!d->stack_user_size) d->stack_user_size = 8192;
    if (d->clock > KPERF_CLOCK_PERF) return kperf__fail(EINVAL, "unknown clock %d", (int)d->clock);
    s->clk = kperf__clockid(d->clock);
    s->use_clk = d->clock != KPERF_CLOCK_PERF;
    uint64_t st = PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
                  PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | d->fields;
    if (d->callchain) st |= PERF_SAMPLE_CALLCHAIN;
    if (d->branch_filter) st |= PERF_SAMPLE_BRANCH_STACK;
    st &= ~(uint64_t)(PERF_SAMPLE_READ | PERF_SAMPLE_AUX);
    if (!d->regs_user_mask && (st & (PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER))) {
#if defined(__x86_64__)
        d->regs_user_mask = (1ull << 6) | (1ull << 7) | (1ull << 8); /* bp, sp, ip */
#elif defined(__aarch64__)
        d->regs_user_mask = (1ull << 29) | (1ull << 30) | (1ull << 31) | (1ull << 32);
#endif
    }
    if (st & PERF_SAMPLE_STACK_USER) st |= PERF_SAMPLE_REGS_USER;
    s->layout.sample_type = st;
    s->layout.branch_sample_type = d->branch_filter;
    s->layout.regs_user_mask = (st & PERF_SAMPLE_REGS_USER) ? d->regs_user_mask : 0;
    s->layout.sample_id_all = true;
    d->pids = NULL;
    d->cpus = NULL;
    return 0;
}

KPERF_API int kperf_sampler_open(kperf_sampler **out, const kperf_sampler_desc *desc) {
    if (!out) return kperf__fail(EINVAL, "kperf_sampler_open: out is NULL");
    *out = NULL;
    kperf_sampler *s = (kperf_sampler *)kperf__calloc(1, sizeof *s);
    if (!s) return kperf__fail(ENOMEM, "out of memory");
    s->epfd = -1;
    int err = kperf__sampling_defaults(s, desc);
    if (!err) err = kperf__sampling_events(s, s->d.events);
    if (!err && s->nev) {
        /* tracepoints add RAW, and every event must share one layout: decide it once */
        for (size_t i = 0; i < s->nev; i++)
            if (s->attrs[i].type == PERF_TYPE_TRACEPOINT) s->layout.sample_type |= PERF_SAMPLE_RAW;
        for (size_t i = 0; i < s->nev; i++) kperf__sampling_attr(s, &s->attrs[i], i == 0);
        s->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (s->epfd < 0) err = kperf__fail(errno, "epoll_create1: %s", strerror(errno));
    }
    if (!err) err = kperf__sampling_open_targets(s, desc ? desc : &s->d);
    if (!err) err = kperf__sampling_ids(s);
    if (err < 0) {
        kperf_sampler_close(s);
        return err;
    }
    s->running = s->d.enable_on_exec;
    *out = s;
    return 0;
}

KPERF_API void kperf_sampler_close(kperf_sampler *s) {
    if (!s) return;
    for (size_t i = 0; i < s->nfds; i++) ioctl(s->fds[i].fd, PERF_EVENT_IOC_DISABLE, 0);
    for (size_t i = 0; i < s->nrings; i++) {
        munmap(s->rings[i]->map, s->rings[i]->map_len);
        kperf_ring_close(s->rings[i]);
    }
    for (size_t i = 0; i < s->nfds; i++) close(s->fds[i].fd);
    for (size_t i = 0; i < s->nev; i++) KPERF_FREE(s->names[i]);
    if (s->epfd >= 0) close(s->epfd);
    KPERF_FREE(s->names);
    KPERF_FREE(s->attrs);
    KPERF_FREE(s->fds);
    KPERF_FREE(s->rings);
    KPERF_FREE(s->heap);
    KPERF_FREE(s->ids);
    KPERF_FREE(s->id_event);
    KPERF_FREE(s->comms);
    KPERF_FREE(s);
}

static int kperf__sampling_ioctl_all(kperf_sampler *s, unsigned long req, const char *what) {
    if (!s) return kperf__fail(EINVAL, "%s: sampler is NULL", what);
    for (size_t i = 0; i < s->nfds; i++)
        if (ioctl(s->fds[i].fd, req, 0) < 0)
            return kperf__fail(errno, "%s of %s failed: %s", what, s->names[s->fds[i].event],
                               strerror(errno));
    return 0;
}

KPERF_API int kperf_sampler_start(kperf_sampler *s) {
    int err = kperf__sampling_ioctl_all(s, PERF_EVENT_IOC_ENABLE, "kperf_sampler_start");
    if (!err) s->running = true;
    return err;
}

KPERF_API int kperf_sampler_stop(kperf_sampler *s) {
    int err = kperf__sampling_ioctl_all(s, PERF_EVENT_IOC_DISABLE, "kperf_sampler_stop");
    if (!err) s->running = false;
    return err;
}

/* ---- the streaming merge ---- */

static void kperf__heap_up(kperf_ring **h, size_t i) {
    while (i) {
        size_t p = (i - 1) / 2;
        if (h[p]->rec.time <= h[i]->rec.time) break;
        kperf_ring *t = h[p];
        h[p] = h[i], h[i] = t, i = p;
    }
}

static void kperf__heap_down(kperf_ring **h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && h[l]->rec.time < h[m]->rec.time) m = l;
        if (l + 1 < n && h[l + 1]->rec.time < h[m]->rec.time) m = l + 1;
        if (m == i) return;
        kperf_ring *t = h[m];
        h[m] = h[i], h[i] = t, i = m;
    }
}

/* Peeks at a ring's head and queues it when its record is old enough for this round. */
static int kperf__merge_offer(kperf_sampler *s, kperf_ring *r) {
    int n = kperf__ring_peek(r);
    if (n <= 0) return n;
    if (r->rec.time > s->limit) return 0;
    s->heap[s->nheap] = r;
    kperf__heap_up(s->heap, s->nheap++);
    return 0;
}

static int kperf__merge_begin(kperf_sampler *s) {
    if (!s->heap) {
        s->heap = (kperf_ring **)kperf__calloc(s->nrings, sizeof *s->heap);
        if (!s->heap) return kperf__fail(ENOMEM, "out of memory");
    }
    s->limit = UINT64_MAX;
    if (s->running && s->use_clk) {
        struct timespec ts;
        clock_gettime(s->clk, &ts);
        uint64_t now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
        s->limit = now > 1000000 ? now - 1000000 : 0; /* 1 ms holdback */
    }
    memset(&s->st.last, 0, sizeof s->st.last);
    s->nheap = 0;
    s->in_round = true;
    int first_err = 0;
    for (size_t i = 0; i < s->nrings; i++) {
        int err = kperf__merge_offer(s, s->rings[i]);
        if (err < 0 && !first_err) first_err = err;
    }
    return first_err;
}

KPERF_API int kperf_sampler_next(kperf_sampler *s, const kperf_record **rec) {
    if (!s || !rec) return kperf__fail(EINVAL, "kperf_sampler_next: NULL argument");
    *rec = NULL;
    int err = 0;
    if (s->cur) {
        kperf_ring *r = s->cur;
        s->cur = NULL;
        kperf__ring_consume(r);
        err = kperf__merge_offer(s, r);
    } else if (!s->in_round) {
        err = kperf__merge_begin(s);
    }
    if (err < 0) return err;
    if (!s->nheap) {
        s->in_round = false;
        return 0;
    }
    kperf_ring *r = s->heap[0];
    s->heap[0] = s->heap[--s->nheap];
    kperf__heap_down(s->heap, s->nheap, 0);
    s->cur = r;
    r->rec.event = kperf__sampling_event_of(s, r->rec.id);
    if (r->rec.time < s->last_time) s->st.out_of_order++;
    else s->last_time = r->rec.time;
    kperf__ring_account(&r->st, &r->rec);
    kperf__ring_account(&s->st.last, &r->rec);
    kperf__comm_track(s, &r->rec);
    *rec = &r->rec;
    return 1;
}

KPERF_API int kperf_sampler_read(kperf_sampler *s, kperf_record_fn fn, void *user) {
    if (!s || !fn) return kperf__fail(EINVAL, "kperf_sampler_read: NULL argument");
    if (s->cur || s->in_round) { /* finish a pull drain left half-way */
        if (s->cur) kperf__ring_consume(s->cur);
        s->cur = NULL;
        s->in_round = false;
    }
    const kperf_record *rec;
    int n = 0, got;
    while ((got = kperf_sampler_next(s, &rec)) > 0) {
        n++;
        int rc = fn(rec, user);
        if (rc < 0) {
            kperf__ring_consume(s->cur);
            s->cur = NULL;
            s->in_round = false;
            return rc;
        }
    }
    return got < 0 ? got : n;
}

KPERF_API int kperf_sampler_fd(const kperf_sampler *s) { return s ? s->epfd : -1; }

KPERF_API void kperf_sampler_stats_read(const kperf_sampler *s, kperf_sampler_stats *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!s) return;
    out->last = s->st.last;
    out->out_of_order = s->st.out_of_order;
    for (size_t i = 0; i < s->nrings; i++) {
        const kperf_ring_stats *r = &s->rings[i]->st;
        out->total.records += r->records;
        out->total.samples += r->samples;
        out->total.lost += r->lost;
        out->total.lost_samples += r->lost_samples;
        out->total.throttled += r->throttled;
        out->total.unthrottled += r->unthrottled;
        out->total.corrupt += r->corrupt;
        out->total.copied += r->copied;
    }
}

KPERF_API size_t kperf_sampler_nevents(const kperf_sampler *s) { return s ? s->nev : 0; }

KPERF_API const char *kperf_sampler_event_name(const kperf_sampler *s, size_t i) {
    return s && i < s->nev ? s->names[i] : NULL;
}

/* ---- folded stacks ---- */

typedef struct kperf__fold_ent {
    char *key;
    uint64_t count;
    uint64_t hash;
} kperf__fold_ent;

struct kperf_folded {
    kperf__fold_ent *t;
    size_t n, cap;
    kperf_frame_name_fn name;
    void *user;
    char *buf;
    size_t bufcap;
};

KPERF_API int kperf_folded_open(kperf_folded **out, kperf_frame_name_fn name, void *user) {
    if (!out) return kperf__fail(EINVAL, "kperf_folded_open: out is NULL");
    *out = (kperf_folded *)kperf__calloc(1, sizeof **out);
    if (!*out) return kperf__fail(ENOMEM, "out of memory");
    (*out)->name = name;
    (*out)->user = user;
    return 0;
}

KPERF_API void kperf_folded_close(kperf_folded *f) {
    if (!f) return;
    for (size_t i = 0; i < f->cap; i++) KPERF_FREE(f->t[i].key);
    KPERF_FREE(f->t);
    KPERF_FREE(f->buf);
    KPERF_FREE(f);
}

static uint64_t kperf__fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int kperf__folded_bump(kperf_folded *f, const char *key) {
    if ((f->n + 1) * 4 >= f->cap * 3) {
        size_t cap = f->cap ? f->cap * 2 : 256;
        kperf__fold_ent *t = (kperf__fold_ent *)kperf__calloc(cap, sizeof *t);
        if (!t) return kperf__fail(ENOMEM, "out of memory");
        for (size_t i = 0; i < f->cap; i++) {
            if (!f->t[i].key) continue;
            size_t j = f->t[i].hash & (cap - 1);
            while (t[j].key) j = (j + 1) & (cap - 1);
            t[j] = f->t[i];
        }
        KPERF_FREE(f->t);
        f->t = t, f->cap = cap;
    }
    uint64_t h = kperf__fnv1a(key);
    size_t j = h & (f->cap - 1);
    while (f->t[j].key && (f->t[j].hash != h || strcmp(f->t[j].key, key)))
        j = (j + 1) & (f->cap - 1);
    if (!f->t[j].key) {
        if (!(f->t[j].key = kperf__strdup(key))) return kperf__fail(ENOMEM, "out of memory");
        f->t[j].hash = h;
        f->n++;
    }
    f->t[j].count++;
    return 0;
}

/* Appends text plus ';' to the stack being built, sanitising separators. */
static int kperf__folded_append(kperf_folded *f, size_t *len, const char *text) {
    size_t tl = strlen(text), need = *len + tl + 2;
    if (need > f->bufcap) {
        size_t cap = f->bufcap ? f->bufcap * 2 : 1024;
        while (cap < need) cap *= 2;
        char *b = (char *)KPERF_REALLOC(f->buf, cap);
        if (!b) return kperf__fail(ENOMEM, "out of memory");
        f->buf = b, f->bufcap = cap;
    }
    for (size_t i = 0; i < tl; i++) {
        char ch = text[i];
        f->buf[*len + i] = (ch == ';' || ch == '\n' || ch == ' ') ? '_' : ch;
    }
    *len += tl;
    f->buf[(*len)++] = ';';
    f->buf[*len] = 0;
    return 0;
}

static int kperf__folded_frame(kperf_folded *f, size_t *len, uint64_t addr, uint32_t pid,
                               bool kernel) {
    char name[512];
    int n = f->name ? f->name(addr, pid, kernel, name, sizeof name, f->user) : -1;
    if (n < 0)
        snprintf(name, sizeof name, "0x%llx%s", (unsigned long long)addr, kernel ? "_[k]" : "");
    return kperf__folded_append(f, len, name);
}

KPERF_API int kperf_folded_add(kperf_folded *f, const kperf_sample *smp, const char *comm) {
    if (!f || !smp) return kperf__fail(EINVAL, "kperf_folded_add: NULL argument");
    size_t len = 0;
    int err = 0;
    if (comm && *comm && (err = kperf__folded_append(f, &len, comm))) return err;
    if (smp->nips) {
        /* root first; a context marker applies to the entries after it (inwards) */
        for (size_t i = smp->nips; i-- > 0;) {
            uint64_t a = smp->ips[i];
            if (a >= KPERF_CONTEXT_MAX) continue;
            bool kernel = false;
            for (size_t k = i; k-- > 0;)
                if (smp->ips[k] >= KPERF_CONTEXT_MAX) {
                    kernel = smp->ips[k] == KPERF_CONTEXT_KERNEL;
                    break;
                }
            if ((err = kperf__folded_frame(f, &len, a, smp->pid, kernel))) return err;
        }
    } else if ((err = kperf__folded_frame(f, &len, smp->ip, smp->pid, false))) {
        return err;
    }
    if (!len) return 0;
    f->buf[--len] = 0; /* drop the last ';' */
    return kperf__folded_bump(f, f->buf);
}

static int kperf__fold_cmp(const void *a, const void *b) {
    const kperf__fold_ent *x = *(const kperf__fold_ent *const *)a;
    const kperf__fold_ent *y = *(const kperf__fold_ent *const *)b;
    return strcmp(x->key, y->key);
}

KPERF_API int kperf_folded_write(kperf_folded *f, const char *path) {
    if (!f || !path) return kperf__fail(EINVAL, "kperf_folded_write: NULL argument");
    const kperf__fold_ent **v = (const kperf__fold_ent **)kperf__calloc(f->n, sizeof *v);
    if (!v) return kperf__fail(ENOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < f->cap; i++)
        if (f->t[i].key) v[n++] = &f->t[i];
    qsort(v, n, sizeof *v, kperf__fold_cmp);
    FILE *out = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!out) {
        KPERF_FREE(v);
        return kperf__fail(errno, "cannot write folded stacks to %s: %s", path, strerror(errno));
    }
    for (size_t i = 0; i < n; i++)
        fprintf(out, "%s %llu\n", v[i]->key, (unsigned long long)v[i]->count);
    KPERF_FREE(v);
    int bad = ferror(out);
    if (out != stdout) bad |= fclose(out);
    else fflush(out);
    return bad ? kperf__fail(EIO, "writing folded stacks to %s failed", path) : (int)n;
}
// <<sampling

// >>perfdata ----------------------------------------------------------------------------
// <<perfdata

// >>tracepoint --------------------------------------------------------------------------
// <<tracepoint

// >>syscalls ----------------------------------------------------------------------------
// <<syscalls

// >>device ------------------------------------------------------------------------------
// <<device

// >>util --------------------------------------------------------------------------------

KPERF__PRIV void *kperf__calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    void *p = KPERF_MALLOC(bytes ? bytes : 1);
    if (p) memset(p, 0, bytes);
    return p;
}

KPERF__PRIV char *kperf__strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = (char *)KPERF_MALLOC(n);
    if (p) memcpy(p, s, n);
    return p;
}

/* Reads a small file into buf (NUL-terminated, trailing newline stripped). Returns the
 * length, or a negative errno. */
KPERF__PRIV int kperf__read_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t n = read(fd, buf, size - 1);
    int e = errno;
    close(fd);
    if (n < 0) return -e;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) n--;
    buf[n] = 0;
    return (int)n;
}

KPERF__PRIV long kperf__sys_perf_event_open(struct perf_event_attr *attr, pid_t pid, int cpu,
                                       int group_fd, unsigned long flags) {
    return syscall(SYS_perf_event_open, attr, pid, cpu, group_fd, flags);
}
// <<util

#ifdef __cplusplus
}
#endif
#endif // KPERF_IMPL_INCLUDED
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
