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
    uint32_t flags;         /**< bits of enum kperf_event_flags */
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
// <<ringbuf

// >>sampling ----------------------------------------------------------------------------
// <<sampling

// >>perfdata ----------------------------------------------------------------------------
// <<perfdata

// >>tracepoint --------------------------------------------------------------------------

/** A tracefs mount plus a cache of parsed event formats. Opaque.
 *  *Thread safety:* not thread-safe; use one per thread or lock around it. */
typedef struct kperf_tracefs kperf_tracefs;

/** Kind bits of a ::kperf_tp_field (several may be set). */
enum kperf_tp_field_flags {
    KPERF_TP_FIELD_SIGNED = 1u << 0,    /**< integer elements are signed (`signed:1`) */
    KPERF_TP_FIELD_ARRAY = 1u << 1,     /**< a fixed array `type name[N]`: count elements */
    KPERF_TP_FIELD_DATA_LOC = 1u << 2,  /**< `__data_loc`: a u32 (len << 16 | offset) */
    KPERF_TP_FIELD_REL_LOC = 1u << 3,   /**< `__rel_loc`: like data_loc, offset counted from
                                             the end of the field */
    KPERF_TP_FIELD_FLEX = 1u << 4,      /**< `type name[]` of size 0: runs to the record end */
    KPERF_TP_FIELD_STRING = 1u << 5,    /**< char elements: read it as text */
    KPERF_TP_FIELD_POINTER = 1u << 6,   /**< a pointer type (`const char *`): an address */
    KPERF_TP_FIELD_COMMON = 1u << 7,    /**< a `common_*` header field */
};

/** One field of a tracepoint format (libkperf's SampleRawField, get_field_exp). Look it
 *  up once with kperf_tp_format_field(), then read samples through it. */
typedef struct kperf_tp_field {
    char *name;             /**< field name, e.g. "prev_comm" */
    char *type;             /**< declared type as tracefs writes it, without the name and
                                 array brackets of the name: "char", "__data_loc char[]",
                                 "const char *", "unsigned long" */
    uint32_t offset;        /**< byte offset in the raw record */
    uint32_t size;          /**< bytes at offset (4 for data_loc/rel_loc, 0 for flex) */
    uint32_t elem_size;     /**< bytes of one element (1, 2, 4 or 8; == size for scalars) */
    uint32_t count;         /**< elements of a fixed array, 1 for a scalar, 0 for
                                 dynamic (data_loc, rel_loc, flex) fields */
    uint32_t flags;         /**< bits of enum kperf_tp_field_flags */
    bool is_signed;         /**< same as flags & KPERF_TP_FIELD_SIGNED */
} kperf_tp_field;

/** A parsed `events/<system>/<name>/format` file. */
typedef struct kperf_tp_format {
    char *system;           /**< "sched"; "" when parsed from text without a system */
    char *name;             /**< "sched_switch" (the `name:` line) */
    uint32_t id;            /**< the `ID:` line: perf_event_attr.config and common_type */
    kperf_tp_field *fields; /**< every field in file order, common_* first */
    size_t nfields;         /**< number of fields */
    size_t ncommon;         /**< how many leading fields are common_* */
    char *print_fmt;        /**< the `print fmt:` text, "" when absent */
} kperf_tp_format;

/** @brief Finds tracefs and opens it.
 *  @param out receives the handle; NULL on failure.
 *  @param root the tracefs directory; NULL means the environment variable
 *  KPERF_TRACEFS_ROOT, else /sys/kernel/tracing, else /sys/kernel/debug/tracing (the first
 *  whose `events/` directory is readable). Tests point it at a fixture tree.
 *  @return 0, or -KPERF_ENOTRACEFS with a message naming every path tried and the mount
 *  command (`mount -t tracefs nodev /sys/kernel/tracing`).
 *  *Ownership:* close with kperf_tracefs_close(); formats it returns live as long as it. */
KPERF_API int kperf_tracefs_open(kperf_tracefs **out, const char *root);

/** @brief Closes a tracefs handle and frees every cached format; accepts NULL. */
KPERF_API void kperf_tracefs_close(kperf_tracefs *tfs);

/** @brief The tracefs directory in use, e.g. "/sys/kernel/tracing". */
KPERF_API const char *kperf_tracefs_root(const kperf_tracefs *tfs);

/** Callback of kperf_tracefs_foreach_event(): one event `system:name`. Return a negative
 *  value to stop; it is passed back. */
typedef int (*kperf_tracefs_event_fn)(const char *system, const char *name, void *user);

/** @brief Calls @p fn for every event directory with a `format` file, sorted by system then
 *  name. @return the number of events visited, or a negative error (or @p fn's). */
KPERF_API int kperf_tracefs_foreach_event(kperf_tracefs *tfs, kperf_tracefs_event_fn fn,
                                          void *user);

/** @brief The parsed format of `system:name`, read and parsed once, then cached.
 *  @param out receives a pointer owned by @p tfs (valid until kperf_tracefs_close()).
 *  @return 0; -KPERF_ENOEVENT when tracefs has no such event (message names the
 *  directory); -KPERF_ECORRUPT when the format does not parse; a negative errno. */
KPERF_API int kperf_tracefs_format(kperf_tracefs *tfs, const char *system, const char *name,
                                   const kperf_tp_format **out);

/** @brief The format of the event with this id (the common_type of a raw record), from
 *  the cache; on a miss it indexes every event's `id` file once.
 *  @return 0, or -KPERF_ENOEVENT when no event has that id. */
KPERF_API int kperf_tracefs_format_by_id(kperf_tracefs *tfs, uint32_t id,
                                         const kperf_tp_format **out);

/** @brief The event id (perf_event_attr.config) of `system:name`, or a negative error. */
KPERF_API int kperf_tracefs_event_id(kperf_tracefs *tfs, const char *system, const char *name);

/** @brief Parses the text of a format file (for fixtures and captured formats).
 *  @param out receives a new format; NULL on failure.
 *  @param text the file's bytes; need not be NUL-terminated.
 *  @param len number of bytes in @p text.
 *  @return 0, or -KPERF_ECORRUPT naming the line that does not parse.
 *  Never reads outside text[0..len), never loops without progress.
 *  *Ownership:* free with kperf_tp_format_free(). */
KPERF_API int kperf_tp_format_parse(kperf_tp_format **out, const char *text, size_t len);

/** @brief Frees a format from kperf_tp_format_parse(); accepts NULL. Do not free formats
 *  owned by a ::kperf_tracefs. */
KPERF_API void kperf_tp_format_free(kperf_tp_format *fmt);

/** @brief The field named @p name (libkperf's get_field_exp), or NULL. Linear search:
 *  look up once, keep the pointer for the hot path. */
KPERF_API const kperf_tp_field *kperf_tp_format_field(const kperf_tp_format *fmt,
                                                      const char *name);

/** @brief Reads an integer scalar field (size 1, 2, 4 or 8), sign-extended when the field
 *  is signed, zero-extended otherwise.
 *  @param raw the PERF_SAMPLE_RAW bytes of one record (starts with common_type).
 *  @param size number of readable bytes at @p raw.
 *  @return 0; -KPERF_ECORRUPT when the field lies outside @p size; -EINVAL for a field that
 *  is not an integer scalar (arrays, data_loc). Never reads past raw + size. */
KPERF_API int kperf_tp_field_int(const kperf_tp_field *f, const void *raw, size_t size,
                                 int64_t *out);

/** @brief Like kperf_tp_field_int(), as unsigned (a u64 above INT64_MAX stays exact). */
KPERF_API int kperf_tp_field_uint(const kperf_tp_field *f, const void *raw, size_t size,
                                  uint64_t *out);

/** @brief Element @p index of an integer array field (fixed, data_loc, rel_loc or flex),
 *  sign-correct; a scalar field has one element.
 *  @return 0; -ERANGE when index is past the last element; -KPERF_ECORRUPT when the data
 *  lies outside @p size. */
KPERF_API int kperf_tp_field_elem(const kperf_tp_field *f, const void *raw, size_t size,
                                  size_t index, int64_t *out);

/** @brief Where a field's bytes are: a fixed field's size bytes, a data_loc/rel_loc
 *  field's payload, or a flex field's bytes up to the end of the record.
 *  @param data receives a pointer into @p raw (no copy).
 *  @param len receives the byte length.
 *  @return 0, or -KPERF_ECORRUPT when the location points outside @p size. */
KPERF_API int kperf_tp_field_bytes(const kperf_tp_field *f, const void *raw, size_t size,
                                   const void **data, size_t *len);

/** @brief A text field (char array, data_loc/rel_loc string, flex buffer) without a copy.
 *  @param str receives a pointer into @p raw; not necessarily NUL-terminated.
 *  @param len receives the length up to the first NUL (or the field's end).
 *  @return 0, or -KPERF_ECORRUPT when the field lies outside @p size. */
KPERF_API int kperf_tp_field_str(const kperf_tp_field *f, const void *raw, size_t size,
                                 const char **str, size_t *len);

/** @brief libkperf's get_field: copies the field's value into a caller's buffer.
 *  Text fields are copied up to their NUL and NUL-terminated; every other field is copied
 *  as its raw bytes (an int field into an int32_t, a u64 into a uint64_t, ...).
 *  @param buf destination; @p bufsize its size in bytes.
 *  @return the number of bytes written (a string's count includes its NUL); -ENOSPC when
 *  @p bufsize is too small (nothing useful is left in buf: it holds "" for text);
 *  -KPERF_ECORRUPT when the record is too short. */
KPERF_API int kperf_tp_field_copy(const kperf_tp_field *f, const void *raw, size_t size,
                                  void *buf, size_t bufsize);

/** @brief By-name get_field: looks up @p name in @p fmt and calls kperf_tp_field_copy().
 *  Convenient, but does a name search per call; hot paths keep the field pointer.
 *  @return as kperf_tp_field_copy(), or -KPERF_ENOEVENT when the format has no such field. */
KPERF_API int kperf_tp_get_field(const kperf_tp_format *fmt, const void *raw, size_t size,
                                 const char *name, void *buf, size_t bufsize);

/** @brief Formats one field's value as text: strings as they are, pointers as 0x..., other
 *  integers in decimal (sign-correct), integer arrays as {a,b,...}.
 *  @return the length the full text needs (like snprintf), or a negative error. */
KPERF_API int kperf_tp_field_snprint(const kperf_tp_field *f, const void *raw, size_t size,
                                     char *buf, size_t n);

/** @brief Formats every non-common field as `name=value name=value ...` (kperf trace).
 *  @return the length the full text needs (like snprintf), or a negative error; a field
 *  that lies outside the record prints as `name=<truncated>`. */
KPERF_API int kperf_tp_format_snprint(const kperf_tp_format *fmt, const void *raw,
                                      size_t size, char *buf, size_t n);

/** @brief Attaches an ftrace filter to an open tracepoint perf event
 *  (PERF_EVENT_IOC_SET_FILTER), e.g. "pid>1000 && prio<10".
 *  @param fd the perf event fd.
 *  @param event "system:name", for the message and the diagnosis.
 *  @param filter the filter text; NULL or "" does nothing.
 *  @return 0, or -KPERF_EFILTER with a message naming the filter, the event and, when
 *  tracefs can tell (the event's ftrace filter is unused), the kernel's reason.
 *  Callers that open events with kperf_event.filter set call this after the open. */
KPERF_API int kperf_tp_filter_set(int fd, const char *event, const char *filter);
// <<tracepoint

// >>syscalls ----------------------------------------------------------------------------

/** One syscall entry or exit as the pairing state machine consumes it. Sources:
 *  raw_syscalls:sys_enter/sys_exit (nr from `id`, name NULL) or
 *  syscalls:sys_enter_NAME/sys_exit_NAME (nr from `__syscall_nr`, name NAME). */
typedef struct kperf_syscall_event {
    bool is_exit;           /**< false: an entry; true: an exit */
    uint64_t time;          /**< timestamp in ns (PERF_SAMPLE_TIME) */
    int32_t pid;            /**< process id */
    int32_t tid;            /**< thread id: entries and exits pair per thread */
    int32_t cpu;            /**< CPU it happened on; -1 when unknown */
    int32_t nr;             /**< syscall number; -1 when unknown */
    const char *name;       /**< syscall name ("write"), or NULL to resolve nr through the
                                 names learned so far; copied, need not outlive the call */
    int64_t ret;            /**< return value (exits only) */
} kperf_syscall_event;

/** One completed syscall (libkperf's PmuTraceData). */
typedef struct kperf_syscall_call {
    const char *name;       /**< syscall name; "syscall_NR" when the number was never named.
                                 Owned by the pairer, valid until it is freed */
    int32_t nr;             /**< syscall number, -1 when unknown */
    uint64_t start;         /**< entry timestamp in ns */
    uint64_t duration;      /**< exit minus entry, ns */
    int32_t pid;            /**< process id */
    int32_t tid;            /**< thread id */
    int32_t cpu;            /**< CPU of the entry */
    int64_t ret;            /**< return value; -4095..-1 is an error (-errno) */
    char comm[16];          /**< thread name (set by kperf_syscall_pairer_comm or /proc) */
} kperf_syscall_call;

/** Statistics of one syscall over every completed call. */
typedef struct kperf_syscall_stat {
    const char *name;       /**< syscall name, owned by the pairer */
    int32_t nr;             /**< syscall number, -1 when unknown */
    uint64_t count;         /**< completed calls */
    uint64_t errors;        /**< calls that returned -4095..-1 */
    uint64_t unfinished;    /**< entries that never saw their exit (exit_group, a thread
                                 killed, a lost record); not part of the latencies */
    uint64_t total;         /**< sum of durations, ns */
    uint64_t min;           /**< shortest call, ns */
    uint64_t max;           /**< longest call, ns */
    uint64_t mean;          /**< total / count, ns */
    uint64_t p50;           /**< median duration, ns (log-linear histogram, within 1/64) */
    uint64_t p90;           /**< 90th percentile, ns */
    uint64_t p99;           /**< 99th percentile, ns */
} kperf_syscall_stat;

/** Pairs syscall entries with exits per thread and keeps statistics. Opaque. State
 *  survives between feeds, so an entry read in one batch pairs with its exit in the next.
 *  *Thread safety:* not thread-safe. */
typedef struct kperf_syscall_pairer kperf_syscall_pairer;

/** Receives each completed call; return a negative value to stop (it is passed back). */
typedef int (*kperf_syscall_fn)(const kperf_syscall_call *call, void *user);

/** @brief Creates an empty pairer. @return 0 or -ENOMEM.
 *  *Ownership:* free with kperf_syscall_pairer_free(). */
KPERF_API int kperf_syscall_pairer_new(kperf_syscall_pairer **out);

/** @brief Frees a pairer; accepts NULL. */
KPERF_API void kperf_syscall_pairer_free(kperf_syscall_pairer *p);

/** @brief Feeds one entry or exit. An exit pairs with its thread's pending entry of the
 *  same syscall; an exit that arrives before its entry (a read boundary between two CPUs'
 *  rings) is held and pairs with the entry when it comes.
 *  @param fn called once per completed call; may be NULL.
 *  @return 1 when a call completed, 0 when the event was kept or dropped, -ENOMEM, or the
 *  negative value @p fn returned. */
KPERF_API int kperf_syscall_pairer_feed(kperf_syscall_pairer *p, const kperf_syscall_event *ev,
                                        kperf_syscall_fn fn, void *user);

/** @brief Names syscall number @p nr (learned from a per-syscall event, or given).
 *  @return 0, -EINVAL for a negative nr, -ENOMEM. */
KPERF_API int kperf_syscall_pairer_name(kperf_syscall_pairer *p, int32_t nr, const char *name);

/** @brief Sets the thread name reported for @p tid (from PERF_RECORD_COMM); without it the
 *  pairer reads /proc/PID/task/TID/comm once per thread. */
KPERF_API void kperf_syscall_pairer_comm(kperf_syscall_pairer *p, int32_t tid, const char *comm);

/** @brief Statistics per syscall, sorted by total time (largest first).
 *  @param out receives an array owned by the pairer, valid until the next call on it.
 *  @param count receives the number of entries.
 *  @return 0 or -ENOMEM. Entries still pending count as unfinished. */
KPERF_API int kperf_syscall_pairer_stats(kperf_syscall_pairer *p, const kperf_syscall_stat **out,
                                         size_t *count);

/** Bookkeeping counters of a pairer. */
typedef struct kperf_syscall_counts {
    uint64_t enters;        /**< entries fed */
    uint64_t exits;         /**< exits fed */
    uint64_t paired;        /**< completed calls */
    uint64_t pending;       /**< entries now waiting for their exit */
    uint64_t early_exits;   /**< exits now held waiting for their entry */
    uint64_t orphan_exits;  /**< exits dropped: no entry ever came (tracing started inside
                                 the call) or a different syscall was pending */
} kperf_syscall_counts;

/** @brief Reads the bookkeeping counters. */
KPERF_API void kperf_syscall_pairer_counts(const kperf_syscall_pairer *p,
                                           kperf_syscall_counts *out);

/** @brief Decodes the raw data of a raw_syscalls:sys_enter / sys_exit or a
 *  syscalls:sys_enter_NAME / sys_exit_NAME record: sets is_exit, nr, name (NAME for the
 *  per-syscall events, else NULL) and ret. The caller fills time, pid, tid and cpu from the
 *  sample. The event's field descriptors are found at its first record and cached in @p tfs.
 *  @param raw the PERF_SAMPLE_RAW bytes; @p size their length.
 *  @return 1 when decoded; 0 when the record is not a syscall event; -KPERF_ECORRUPT for a
 *  truncated record; -KPERF_ENOEVENT when no tracefs event has its common_type. */
KPERF_API int kperf_syscall_event_decode(kperf_tracefs *tfs, const void *raw, size_t size,
                                         kperf_syscall_event *ev);

/** @brief The running kernel's syscall names (libkperf's sys_call_func_list): every
 *  `events/syscalls/sys_enter_NAME` in tracefs, sorted.
 *  @param names receives an array of @p count strings owned by @p tfs.
 *  @return 0, -KPERF_ENOTSUP when the kernel has no syscall tracepoints
 *  (CONFIG_FTRACE_SYSCALLS), or a negative error. */
KPERF_API int kperf_syscall_names(kperf_tracefs *tfs, const char *const **names, size_t *count);
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
// <<ringbuf

// >>sampling ----------------------------------------------------------------------------
// <<sampling

// >>perfdata ----------------------------------------------------------------------------
// <<perfdata

// >>tracepoint --------------------------------------------------------------------------

/* One cached format: by name always, by id through a direct-index table (event ids are
 * the u16 common_type, so the table never exceeds 65536 entries). */
typedef struct kperf__tp_entry {
    char *key;              /* "system/name" */
    kperf_tp_format *fmt;   /* NULL while only the id is known */
    uint32_t id;            /* 0 until known */
    /* >>syscalls' decoding of this event, worked out at its first record: kind 0 = not
     * yet, -1 = not a syscall event, 1/2 = raw_syscalls enter/exit, 3/4 = per-syscall */
    int sc_kind;
    const kperf_tp_field *sc_nr, *sc_ret;
    const char *sc_name;
} kperf__tp_entry;

struct kperf_tracefs {
    char root[PATH_MAX];
    kperf__tp_entry *ents;  /* every event seen so far, unsorted */
    size_t nents, cap;
    int32_t *by_id;         /* id -> index into ents, or -1 */
    size_t nby_id;
    bool indexed;           /* every event's id has been read */
    char **sysnames;        /* syscall names, sorted; NULL until asked */
    size_t nsysnames;
};

#define KPERF__TP_MAXID 65536u

KPERF__PRIV bool kperf__tracefs_usable(const char *root, int *err) {
    char p[PATH_MAX + 16];
    snprintf(p, sizeof p, "%s/events", root);
    if (access(p, R_OK | X_OK) == 0) return true;
    *err = errno;
    return false;
}

KPERF_API int kperf_tracefs_open(kperf_tracefs **out, const char *root) {
    if (!out) return kperf__fail(EINVAL, "kperf_tracefs_open: out is NULL");
    *out = NULL;
    if (!root || !*root) root = getenv("KPERF_TRACEFS_ROOT");
    const char *found = NULL;
    int e1 = 0, e2 = 0;
    if (root && *root) {
        if (!kperf__tracefs_usable(root, &e1))
            return kperf__fail(KPERF_ENOTRACEFS, "tracefs: %s/events is not readable (%s)",
                               root, strerror(e1));
        found = root;
    } else if (kperf__tracefs_usable("/sys/kernel/tracing", &e1)) {
        found = "/sys/kernel/tracing";
    } else if (kperf__tracefs_usable("/sys/kernel/debug/tracing", &e2)) {
        found = "/sys/kernel/debug/tracing";
    } else {
        return kperf__fail(KPERF_ENOTRACEFS,
                           "tracefs is not mounted or not readable: /sys/kernel/tracing (%s), "
                           "/sys/kernel/debug/tracing (%s); as root run "
                           "'mount -t tracefs nodev /sys/kernel/tracing'%s",
                           strerror(e1), strerror(e2),
                           (e1 == EACCES || e2 == EACCES) ? " or make it readable (chmod)" : "");
    }
    kperf_tracefs *t = (kperf_tracefs *)kperf__calloc(1, sizeof *t);
    if (!t) return kperf__fail(ENOMEM, "tracefs: out of memory");
    snprintf(t->root, sizeof t->root, "%s", found);
    *out = t;
    return 0;
}

KPERF_API void kperf_tracefs_close(kperf_tracefs *tfs) {
    if (!tfs) return;
    for (size_t i = 0; i < tfs->nents; i++) {
        KPERF_FREE(tfs->ents[i].key);
        kperf_tp_format_free(tfs->ents[i].fmt);
    }
    for (size_t i = 0; i < tfs->nsysnames; i++) KPERF_FREE(tfs->sysnames[i]);
    KPERF_FREE(tfs->sysnames);
    KPERF_FREE(tfs->ents);
    KPERF_FREE(tfs->by_id);
    KPERF_FREE(tfs);
}

KPERF_API const char *kperf_tracefs_root(const kperf_tracefs *tfs) {
    return tfs ? tfs->root : "";
}

/* Reads a whole (small, < 1 MiB) file into a new NUL-terminated buffer. tracefs files
 * report size 0, so read until EOF. */
KPERF__PRIV int kperf__slurp(const char *path, char **out, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t cap = 4096, n = 0;
    char *buf = (char *)KPERF_MALLOC(cap);
    while (buf) {
        if (n + 1 >= cap) {
            if (cap >= (1u << 20)) break;
            char *nb = (char *)KPERF_REALLOC(buf, cap * 2);
            if (!nb) { KPERF_FREE(buf); buf = NULL; break; }
            buf = nb, cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { int e = errno; close(fd); KPERF_FREE(buf); return -e; }
        if (r == 0) break;
        n += (size_t)r;
    }
    close(fd);
    if (!buf) return -ENOMEM;
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

/* Returns the index of the cache entry for "system/name", creating it when asked. */
KPERF__PRIV long kperf__tp_entry_find(kperf_tracefs *t, const char *sys, const char *name,
                                      bool create) {
    char key[512];
    if ((size_t)snprintf(key, sizeof key, "%s/%s", sys, name) >= sizeof key) return -ENAMETOOLONG;
    for (size_t i = 0; i < t->nents; i++)
        if (!strcmp(t->ents[i].key, key)) return (long)i;
    if (!create) return -ENOENT;
    if (t->nents == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 64;
        kperf__tp_entry *ne = (kperf__tp_entry *)KPERF_REALLOC(t->ents, nc * sizeof *ne);
        if (!ne) return -ENOMEM;
        t->ents = ne, t->cap = nc;
    }
    kperf__tp_entry *e = &t->ents[t->nents];
    memset(e, 0, sizeof *e);
    if (!(e->key = kperf__strdup(key))) return -ENOMEM;
    return (long)t->nents++;
}

KPERF__PRIV int kperf__tp_index_id(kperf_tracefs *t, uint32_t id, size_t idx) {
    if (id >= KPERF__TP_MAXID) return 0;
    if (id >= t->nby_id) {
        size_t nn = t->nby_id ? t->nby_id : 1024;
        while (nn <= id) nn *= 2;
        if (nn > KPERF__TP_MAXID) nn = KPERF__TP_MAXID;
        int32_t *nb = (int32_t *)KPERF_REALLOC(t->by_id, nn * sizeof *nb);
        if (!nb) return -ENOMEM;
        for (size_t i = t->nby_id; i < nn; i++) nb[i] = -1;
        t->by_id = nb, t->nby_id = nn;
    }
    t->by_id[id] = (int32_t)idx;
    t->ents[idx].id = id;
    return 0;
}

/* Events names are identifiers; refuse anything that could walk out of events/. */
KPERF__PRIV bool kperf__tp_name_ok(const char *s) {
    if (!s || !*s || strlen(s) > 200) return false;
    for (; *s; s++)
        if (*s == '/' || (unsigned char)*s <= ' ') return false;
    return true;
}

KPERF_API int kperf_tracefs_format(kperf_tracefs *tfs, const char *system, const char *name,
                                   const kperf_tp_format **out) {
    if (!tfs || !out) return kperf__fail(EINVAL, "kperf_tracefs_format: NULL argument");
    *out = NULL;
    if (!kperf__tp_name_ok(system) || !kperf__tp_name_ok(name) || !strcmp(system, "..") ||
        !strcmp(name, ".."))
        return kperf__fail(KPERF_ENOEVENT, "tracepoint '%s:%s': not a valid event name",
                           system ? system : "", name ? name : "");
    long idx = kperf__tp_entry_find(tfs, system, name, false);
    if (idx >= 0 && tfs->ents[idx].fmt) return *out = tfs->ents[idx].fmt, 0;
    char path[PATH_MAX + 512], *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/events/%s/%s/format", tfs->root, system, name);
    int rc = kperf__slurp(path, &text, &len);
    if (rc == -ENOENT)
        return kperf__fail(KPERF_ENOEVENT, "tracepoint '%s:%s' does not exist (no %s); "
                           "'kperf list tracepoint' shows the events of this kernel",
                           system, name, path);
    if (rc < 0) return kperf__fail(-rc, "tracepoint '%s:%s': cannot read %s: %s", system, name,
                                   path, strerror(-rc));
    kperf_tp_format *fmt;
    rc = kperf_tp_format_parse(&fmt, text, len);
    KPERF_FREE(text);
    if (rc < 0) {
        char msg[700];
        snprintf(msg, sizeof msg, "%.600s", kperf_errmsg());
        return kperf__fail(-rc, "%s: %s", path, msg);
    }
    KPERF_FREE(fmt->system);
    fmt->system = kperf__strdup(system);
    if (!fmt->system || (idx < 0 && (idx = kperf__tp_entry_find(tfs, system, name, true)) < 0) ||
        kperf__tp_index_id(tfs, fmt->id, (size_t)idx) < 0) {
        kperf_tp_format_free(fmt);
        return kperf__fail(ENOMEM, "tracepoint '%s:%s': out of memory", system, name);
    }
    tfs->ents[idx].fmt = fmt;
    *out = fmt;
    return 0;
}

KPERF__PRIV int kperf__name_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Lists the subdirectories of dir (sorted, skipping dot entries and plain files). */
KPERF__PRIV int kperf__list_dirs(const char *dir, char ***out, size_t *count) {
    DIR *d = opendir(dir);
    if (!d) return -errno;
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)) continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nv = (char **)KPERF_REALLOC(v, nc * sizeof *nv);
            if (!nv) { rc = -ENOMEM; break; }
            v = nv, cap = nc;
        }
        if (!(v[n] = kperf__strdup(de->d_name))) { rc = -ENOMEM; break; }
        n++;
    }
    closedir(d);
    if (rc < 0) {
        for (size_t i = 0; i < n; i++) KPERF_FREE(v[i]);
        KPERF_FREE(v);
        return rc;
    }
    if (n) qsort(v, n, sizeof *v, kperf__name_cmp);
    *out = v;
    *count = n;
    return 0;
}

KPERF__PRIV void kperf__free_names(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) KPERF_FREE(v[i]);
    KPERF_FREE(v);
}

KPERF_API int kperf_tracefs_foreach_event(kperf_tracefs *tfs, kperf_tracefs_event_fn fn,
                                          void *user) {
    if (!tfs || !fn) return kperf__fail(EINVAL, "kperf_tracefs_foreach_event: NULL argument");
    char dir[PATH_MAX + 512];
    char **sys = NULL, **ev = NULL;
    size_t nsys = 0, nev = 0;
    snprintf(dir, sizeof dir, "%s/events", tfs->root);
    int rc = kperf__list_dirs(dir, &sys, &nsys), visited = 0;
    if (rc < 0) return kperf__fail(-rc, "tracefs: cannot list %s: %s", dir, strerror(-rc));
    for (size_t i = 0; i < nsys && rc >= 0; i++) {
        snprintf(dir, sizeof dir, "%s/events/%s", tfs->root, sys[i]);
        if (kperf__list_dirs(dir, &ev, &nev) < 0) continue;
        for (size_t j = 0; j < nev && rc >= 0; j++) {
            snprintf(dir, sizeof dir, "%s/events/%s/%s/format", tfs->root, sys[i], ev[j]);
            if (access(dir, F_OK) != 0) continue;
            visited++;
            rc = fn(sys[i], ev[j], user);
        }
        kperf__free_names(ev, nev);
    }
    kperf__free_names(sys, nsys);
    return rc < 0 ? rc : visited;
}

/* Reads events/SYS/NAME/id; returns the id or a negative errno. */
KPERF__PRIV long kperf__tp_read_id(kperf_tracefs *t, const char *sys, const char *name) {
    char path[PATH_MAX + 512], buf[32];
    snprintf(path, sizeof path, "%s/events/%s/%s/id", t->root, sys, name);
    int rc = kperf__read_file(path, buf, sizeof buf);
    if (rc < 0) return rc;
    char *end;
    unsigned long v = strtoul(buf, &end, 10);
    if (end == buf || v > UINT32_MAX) return -KPERF_ECORRUPT;
    return (long)v;
}

KPERF_API int kperf_tracefs_event_id(kperf_tracefs *tfs, const char *system, const char *name) {
    if (!tfs || !kperf__tp_name_ok(system) || !kperf__tp_name_ok(name))
        return kperf__fail(KPERF_ENOEVENT, "tracepoint '%s:%s': not a valid event name",
                           system ? system : "", name ? name : "");
    long idx = kperf__tp_entry_find(tfs, system, name, false);
    if (idx >= 0 && tfs->ents[idx].id) return (int)tfs->ents[idx].id;
    long id = kperf__tp_read_id(tfs, system, name);
    if (id < 0)
        return kperf__fail(KPERF_ENOEVENT, "tracepoint '%s:%s' does not exist under %s/events",
                           system, name, tfs->root);
    return (int)id;
}

KPERF__PRIV int kperf__tp_index_one(const char *sys, const char *name, void *user) {
    kperf_tracefs *t = (kperf_tracefs *)user;
    long id = kperf__tp_read_id(t, sys, name);
    if (id < 0 || id >= (long)KPERF__TP_MAXID) return 0;
    if (t->nby_id > (size_t)id && t->by_id[id] >= 0) return 0;
    long idx = kperf__tp_entry_find(t, sys, name, true);
    if (idx < 0) return (int)idx;
    return kperf__tp_index_id(t, (uint32_t)id, (size_t)idx);
}

KPERF_API int kperf_tracefs_format_by_id(kperf_tracefs *tfs, uint32_t id,
                                         const kperf_tp_format **out) {
    if (!tfs || !out) return kperf__fail(EINVAL, "kperf_tracefs_format_by_id: NULL argument");
    *out = NULL;
    if (id < tfs->nby_id && tfs->by_id[id] >= 0 && tfs->ents[tfs->by_id[id]].fmt)
        return *out = tfs->ents[tfs->by_id[id]].fmt, 0;
    if ((id >= tfs->nby_id || tfs->by_id[id] < 0) && !tfs->indexed) {
        int rc = kperf_tracefs_foreach_event(tfs, kperf__tp_index_one, tfs);
        if (rc < 0) return rc;
        tfs->indexed = true;
    }
    if (id >= tfs->nby_id || tfs->by_id[id] < 0)
        return kperf__fail(KPERF_ENOEVENT, "no tracepoint has id %u under %s/events", id,
                           tfs->root);
    char key[512], *slash;
    snprintf(key, sizeof key, "%s", tfs->ents[tfs->by_id[id]].key);
    if (!(slash = strchr(key, '/'))) return kperf__fail(KPERF_ECORRUPT, "bad cache key");
    *slash = 0;
    return kperf_tracefs_format(tfs, key, slash + 1, out);
}

/* ---- format text parsing ---- */

/* Element size of a dynamic array's element type ("u32", "unsigned long", "char"). */
KPERF__PRIV uint32_t kperf__tp_type_size(const char *t) {
    static const struct { const char *n; uint32_t s; } tab[] = {
        {"char", 1}, {"u8", 1}, {"s8", 1}, {"__u8", 1}, {"uint8_t", 1}, {"bool", 1},
        {"short", 2}, {"u16", 2}, {"s16", 2}, {"__u16", 2}, {"uint16_t", 2}, {"__be16", 2},
        {"int", 4}, {"u32", 4}, {"s32", 4}, {"__u32", 4}, {"uint32_t", 4}, {"__be32", 4},
        {"long", sizeof(long)}, {"u64", 8}, {"s64", 8}, {"__u64", 8}, {"uint64_t", 8},
        {"pid_t", 4}, {"size_t", sizeof(size_t)},
    };
    char base[64];
    size_t n = 0;
    for (const char *p = t; *p && *p != '[' && n + 1 < sizeof base; p++) base[n++] = *p;
    base[n] = 0;
    while (n && base[n - 1] == ' ') base[--n] = 0;
    if (strchr(base, '*')) return sizeof(void *);
    const char *last = strrchr(base, ' ');
    last = last ? last + 1 : base;
    if (!strcmp(last, "long") && strstr(base, "long long")) return 8;
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (!strcmp(last, tab[i].n)) return tab[i].s;
    return 1;
}

KPERF__PRIV bool kperf__tp_is_char_type(const char *t) {
    char base[64];
    size_t n = 0;
    for (const char *p = t; *p && *p != '[' && n + 1 < sizeof base; p++) base[n++] = *p;
    base[n] = 0;
    while (n && base[n - 1] == ' ') base[--n] = 0;
    const char *last = strrchr(base, ' ');
    last = last ? last + 1 : base;
    return !strcmp(last, "char") && !strchr(base, '*');
}

/* Copies [s, s+n) into a new string with surrounding blanks removed. */
KPERF__PRIV char *kperf__strndup_trim(const char *s, size_t n) {
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    char *r = (char *)KPERF_MALLOC(n + 1);
    if (r) memcpy(r, s, n), r[n] = 0;
    return r;
}

/* Finds "key:" inside line[0..n) and parses its unsigned value. */
KPERF__PRIV bool kperf__tp_attr(const char *line, size_t n, const char *key, uint64_t *v) {
    size_t kl = strlen(key);
    for (size_t i = 0; i + kl < n; i++) {
        if (memcmp(line + i, key, kl) != 0 || (i && isalnum((unsigned char)line[i - 1])))
            continue;
        uint64_t x = 0;
        size_t j = i + kl, digits = 0;
        while (j < n && isdigit((unsigned char)line[j]) && digits < 19)
            x = x * 10 + (uint64_t)(line[j++] - '0'), digits++;
        if (!digits) return false;
        return *v = x, true;
    }
    return false;
}

/* Splits the declaration "TYPE NAME[dims]" of one field line into f->type, f->name and
 * the fixed element count (product of the dims; 0 for "[]"; -1 when a dim is not a plain
 * number such as [TASK_COMM_LEN]). */
KPERF__PRIV int kperf__tp_decl(const char *d, size_t n, kperf_tp_field *f, long *dims) {
    while (n && (isspace((unsigned char)d[n - 1]) || d[n - 1] == ';')) n--;
    size_t end = n;
    long count = 1;
    bool arr = false;
    while (end && d[end - 1] == ']') {   /* array dims after the name, last first */
        size_t open = end - 1;
        while (open && d[open - 1] != '[') open--;
        if (!open) return -1;
        open--;
        char num[24];
        size_t ln = end - 1 - (open + 1);
        if (ln == 0) count = 0;
        else if (ln < sizeof num && count > 0) {
            memcpy(num, d + open + 1, ln), num[ln] = 0;
            char *e;
            long v = strtol(num, &e, 0);
            count = (*e || v < 0) ? -1 : count * v;
        } else count = -1;
        arr = true;
        end = open;
    }
    size_t ne = end;
    while (ne && (isalnum((unsigned char)d[ne - 1]) || d[ne - 1] == '_')) ne--;
    if (ne == end) return -1;
    f->name = kperf__strndup_trim(d + ne, end - ne);
    f->type = kperf__strndup_trim(d, ne);
    if (!f->name || !f->type) return -2;
    *dims = arr ? count : -2;   /* -2: no brackets after the name */
    return 0;
}

/* Fills the derived fields (flags, elem_size, count) of a parsed field. */
KPERF__PRIV void kperf__tp_classify(kperf_tp_field *f, long dims, int sgn) {
    const char *t = f->type;
    bool dl = strstr(t, "__data_loc") != NULL, rl = strstr(t, "__rel_loc") != NULL;
    f->flags = 0;
    if (!strncmp(f->name, "common_", 7)) f->flags |= KPERF_TP_FIELD_COMMON;
    if (dl || rl) {
        f->flags |= rl ? KPERF_TP_FIELD_REL_LOC : KPERF_TP_FIELD_DATA_LOC;
        f->elem_size = kperf__tp_type_size(strstr(t, rl ? "__rel_loc" : "__data_loc") + 10);
        f->count = 0;
    } else if (dims == 0 || (dims != -2 && f->size == 0)) {
        f->flags |= KPERF_TP_FIELD_FLEX;
        f->elem_size = kperf__tp_type_size(t);
        f->count = 0;
    } else if (dims != -2) {
        f->flags |= KPERF_TP_FIELD_ARRAY;
        if (dims > 0 && f->size % (uint32_t)dims == 0) f->elem_size = f->size / (uint32_t)dims;
        else f->elem_size = kperf__tp_type_size(t);
        if (!f->elem_size || f->size % f->elem_size) f->elem_size = 1;
        f->count = f->size / f->elem_size;
    } else {
        f->elem_size = f->size;
        f->count = 1;
    }
    if (strchr(t, '*') && !(f->flags & (KPERF_TP_FIELD_DATA_LOC | KPERF_TP_FIELD_REL_LOC)))
        f->flags |= KPERF_TP_FIELD_POINTER;
    else if (kperf__tp_is_char_type(dl || rl ? strstr(t, "loc") + 3 : t) &&
             (f->flags & (KPERF_TP_FIELD_ARRAY | KPERF_TP_FIELD_FLEX | KPERF_TP_FIELD_DATA_LOC |
                          KPERF_TP_FIELD_REL_LOC)))
        f->flags |= KPERF_TP_FIELD_STRING;
    if (sgn < 0) /* no signed: attribute (old kernels): guess from the type */
        sgn = !strstr(t, "unsigned") && !strchr(t, '*') && strncmp(t, "u", 1) != 0 &&
              strncmp(t, "__u", 3) != 0 && !strstr(t, "size_t") && !strstr(t, "bool");
    if (sgn) f->flags |= KPERF_TP_FIELD_SIGNED;
    f->is_signed = sgn != 0;
}

/* Parses one "field:..." line into a new entry of fmt->fields. */
KPERF__PRIV int kperf__tp_field_line(kperf_tp_format *fmt, const char *line, size_t n,
                                     size_t *cap, int lineno) {
    const char *semi = (const char *)memchr(line, ';', n);
    const char *colon = (const char *)memchr(line, ':', n);
    uint64_t off, size, sgn = 0;
    if (!semi || !colon || colon > semi || !kperf__tp_attr(semi, n - (size_t)(semi - line), "offset:", &off) ||
        !kperf__tp_attr(semi, n - (size_t)(semi - line), "size:", &size) || off > UINT32_MAX ||
        size > UINT32_MAX)
        return kperf__fail(KPERF_ECORRUPT, "format line %d: expected 'field:TYPE NAME; "
                           "offset:N; size:N; signed:N;'", lineno);
    bool has_sign = kperf__tp_attr(semi, n - (size_t)(semi - line), "signed:", &sgn);
    if (fmt->nfields == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        if (nc > 4096) return kperf__fail(KPERF_ECORRUPT, "format line %d: too many fields", lineno);
        kperf_tp_field *nf = (kperf_tp_field *)KPERF_REALLOC(fmt->fields, nc * sizeof *nf);
        if (!nf) return kperf__fail(ENOMEM, "format: out of memory");
        fmt->fields = nf, *cap = nc;
    }
    kperf_tp_field *f = &fmt->fields[fmt->nfields];
    memset(f, 0, sizeof *f);
    long dims;
    int rc = kperf__tp_decl(colon + 1, (size_t)(semi - colon - 1), f, &dims);
    if (rc < 0) {
        KPERF_FREE(f->name), KPERF_FREE(f->type);
        return rc == -2 ? kperf__fail(ENOMEM, "format: out of memory")
                        : kperf__fail(KPERF_ECORRUPT, "format line %d: no field name in "
                                      "'%.*s'", lineno, (int)(semi - colon - 1), colon + 1);
    }
    fmt->nfields++;
    f->offset = (uint32_t)off;
    f->size = (uint32_t)size;
    kperf__tp_classify(f, dims, has_sign ? (sgn != 0) : -1);
    if (f->count == 1 && f->size != 1 && f->size != 2 && f->size != 4 && f->size != 8 &&
        !(f->flags & KPERF_TP_FIELD_POINTER))
        f->elem_size = 1, f->count = f->size, f->flags |= KPERF_TP_FIELD_ARRAY; /* a struct */
    return 0;
}

KPERF_API int kperf_tp_format_parse(kperf_tp_format **out, const char *text, size_t len) {
    if (!out || (!text && len)) return kperf__fail(EINVAL, "kperf_tp_format_parse: NULL argument");
    *out = NULL;
    kperf_tp_format *fmt = (kperf_tp_format *)kperf__calloc(1, sizeof *fmt);
    if (!fmt) return kperf__fail(ENOMEM, "format: out of memory");
    size_t cap = 0, pos = 0;
    int lineno = 0, rc = 0;
    bool have_id = false;
    while (pos < len && rc == 0) {
        const char *line = text + pos;
        const char *nl = (const char *)memchr(line, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - line) : len - pos;
        pos += n + (nl ? 1 : 0);
        lineno++;
        size_t sk = 0;
        while (sk < n && (line[sk] == ' ' || line[sk] == '\t')) sk++;
        line += sk, n -= sk;
        if (n >= 6 && !memcmp(line, "field:", 6)) {
            rc = kperf__tp_field_line(fmt, line, n, &cap, lineno);
        } else if (n >= 5 && !memcmp(line, "name:", 5) && !fmt->name) {
            if (!(fmt->name = kperf__strndup_trim(line + 5, n - 5))) rc = -ENOMEM;
        } else if (n >= 3 && !memcmp(line, "ID:", 3)) {
            uint64_t id = 0;
            if (!kperf__tp_attr(line, n, "ID: ", &id) && !kperf__tp_attr(line, n, "ID:", &id))
                rc = kperf__fail(KPERF_ECORRUPT, "format line %d: bad ID line", lineno);
            fmt->id = (uint32_t)id, have_id = true;
        } else if (n >= 10 && !memcmp(line, "print fmt:", 10) && !fmt->print_fmt) {
            /* print fmt is the rest of the file's line; keep it for display */
            if (!(fmt->print_fmt = kperf__strndup_trim(line + 10, n - 10))) rc = -ENOMEM;
        }
    }
    if (rc == 0 && !fmt->name) fmt->name = kperf__strdup("");
    if (rc == 0 && !fmt->print_fmt) fmt->print_fmt = kperf__strdup("");
    if (rc == 0 && !(fmt->system = kperf__strdup(""))) rc = -ENOMEM;
    if (rc == 0 && (!fmt->name || !fmt->print_fmt)) rc = -ENOMEM;
    if (rc == 0 && fmt->nfields == 0)
        rc = kperf__fail(KPERF_ECORRUPT, "format '%s': no 'field:' lines", fmt->name);
    if (rc == 0 && !have_id)
        rc = kperf__fail(KPERF_ECORRUPT, "format '%s': no 'ID:' line", fmt->name);
    if (rc == -ENOMEM) kperf__fail(ENOMEM, "format: out of memory");
    if (rc < 0) {
        kperf_tp_format_free(fmt);
        return rc;
    }
    while (fmt->ncommon < fmt->nfields && (fmt->fields[fmt->ncommon].flags & KPERF_TP_FIELD_COMMON))
        fmt->ncommon++;
    *out = fmt;
    return 0;
}

KPERF_API void kperf_tp_format_free(kperf_tp_format *fmt) {
    if (!fmt) return;
    for (size_t i = 0; i < fmt->nfields; i++) {
        KPERF_FREE(fmt->fields[i].name);
        KPERF_FREE(fmt->fields[i].type);
    }
    KPERF_FREE(fmt->fields);
    KPERF_FREE(fmt->system);
    KPERF_FREE(fmt->name);
    KPERF_FREE(fmt->print_fmt);
    KPERF_FREE(fmt);
}

KPERF_API const kperf_tp_field *kperf_tp_format_field(const kperf_tp_format *fmt,
                                                      const char *name) {
    if (!fmt || !name) return NULL;
    for (size_t i = 0; i < fmt->nfields; i++)
        if (!strcmp(fmt->fields[i].name, name)) return &fmt->fields[i];
    return NULL;
}

/* ---- typed access (every read is bounds-checked against the record size) ---- */

/* Loads an integer of 1/2/4/8 bytes at p (host byte order), sign- or zero-extended. */
KPERF__PRIV uint64_t kperf__tp_load(const unsigned char *p, uint32_t sz, bool sgn) {
    switch (sz) {
    case 1: { uint8_t v; memcpy(&v, p, 1); return sgn ? (uint64_t)(int64_t)(int8_t)v : v; }
    case 2: { uint16_t v; memcpy(&v, p, 2); return sgn ? (uint64_t)(int64_t)(int16_t)v : v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return sgn ? (uint64_t)(int64_t)(int32_t)v : v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

KPERF_API int kperf_tp_field_bytes(const kperf_tp_field *f, const void *raw, size_t size,
                                   const void **data, size_t *len) {
    if (!f || (!raw && size) || !data || !len) return -EINVAL;
    const unsigned char *r = (const unsigned char *)raw;
    uint64_t off = f->offset, n = f->size;
    if (f->flags & (KPERF_TP_FIELD_DATA_LOC | KPERF_TP_FIELD_REL_LOC)) {
        if (f->size != 4 || off + 4 > size) return -KPERF_ECORRUPT;
        uint32_t loc;
        memcpy(&loc, r + off, 4);
        n = loc >> 16;
        off = (loc & 0xffff) + ((f->flags & KPERF_TP_FIELD_REL_LOC) ? f->offset + 4u : 0u);
    } else if (f->flags & KPERF_TP_FIELD_FLEX) {
        if (off > size) return -KPERF_ECORRUPT;
        n = size - off;
    }
    if (off > size || n > size - off) return -KPERF_ECORRUPT;
    *data = r + off;
    *len = (size_t)n;
    return 0;
}

KPERF_API int kperf_tp_field_uint(const kperf_tp_field *f, const void *raw, size_t size,
                                  uint64_t *out) {
    if (!f || !out || (!raw && size)) return -EINVAL;
    if (f->count != 1 || (f->size != 1 && f->size != 2 && f->size != 4 && f->size != 8))
        return -EINVAL;
    if ((uint64_t)f->offset + f->size > size) return -KPERF_ECORRUPT;
    *out = kperf__tp_load((const unsigned char *)raw + f->offset, f->size, f->is_signed);
    return 0;
}

KPERF_API int kperf_tp_field_int(const kperf_tp_field *f, const void *raw, size_t size,
                                 int64_t *out) {
    uint64_t v = 0;
    int rc = kperf_tp_field_uint(f, raw, size, &v);
    if (rc == 0 && out) *out = (int64_t)v;
    return rc;
}

KPERF_API int kperf_tp_field_elem(const kperf_tp_field *f, const void *raw, size_t size,
                                  size_t index, int64_t *out) {
    const void *d;
    size_t n;
    if (!out) return -EINVAL;
    int rc = kperf_tp_field_bytes(f, raw, size, &d, &n);
    if (rc < 0) return rc;
    uint32_t es = f->elem_size;
    if (es != 1 && es != 2 && es != 4 && es != 8) return -EINVAL;
    if (index >= n / es) return -ERANGE;
    *out = (int64_t)kperf__tp_load((const unsigned char *)d + index * es, es, f->is_signed);
    return 0;
}

KPERF_API int kperf_tp_field_str(const kperf_tp_field *f, const void *raw, size_t size,
                                 const char **str, size_t *len) {
    const void *d;
    size_t n;
    if (!str || !len) return -EINVAL;
    int rc = kperf_tp_field_bytes(f, raw, size, &d, &n);
    if (rc < 0) return rc;
    const char *nul = (const char *)memchr(d, 0, n);
    *str = (const char *)d;
    *len = nul ? (size_t)(nul - (const char *)d) : n;
    return 0;
}

KPERF_API int kperf_tp_field_copy(const kperf_tp_field *f, const void *raw, size_t size,
                                  void *buf, size_t bufsize) {
    if (!f || !buf) return -EINVAL;
    if (f->flags & KPERF_TP_FIELD_STRING) {
        const char *s;
        size_t n;
        int rc = kperf_tp_field_str(f, raw, size, &s, &n);
        if (bufsize) ((char *)buf)[0] = 0;
        if (rc < 0) return rc;
        if (n + 1 > bufsize) return -ENOSPC;
        memcpy(buf, s, n);
        ((char *)buf)[n] = 0;
        return (int)(n + 1);
    }
    const void *d;
    size_t n;
    int rc = kperf_tp_field_bytes(f, raw, size, &d, &n);
    if (rc < 0) return rc;
    if (n > bufsize || n > INT_MAX) return -ENOSPC;
    memcpy(buf, d, n);
    return (int)n;
}

KPERF_API int kperf_tp_get_field(const kperf_tp_format *fmt, const void *raw, size_t size,
                                 const char *name, void *buf, size_t bufsize) {
    const kperf_tp_field *f = kperf_tp_format_field(fmt, name);
    if (!f)
        return kperf__fail(KPERF_ENOEVENT, "tracepoint '%s' has no field '%s'",
                           fmt ? fmt->name : "(null)", name ? name : "(null)");
    return kperf_tp_field_copy(f, raw, size, buf, bufsize);
}

/* Appends printf output to buf[*pos..n), tracking the length the whole text needs. */
KPERF__PRIV void kperf__tp_cat(char *buf, size_t n, size_t *pos, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
KPERF__PRIV void kperf__tp_cat(char *buf, size_t n, size_t *pos, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(*pos < n ? buf + *pos : NULL, *pos < n ? n - *pos : 0, fmt, ap);
    va_end(ap);
    if (w > 0) *pos += (size_t)w;
}

KPERF__PRIV void kperf__tp_cat_int(char *buf, size_t n, size_t *pos, const kperf_tp_field *f,
                                   uint64_t v, uint32_t es) {
    if (f->flags & KPERF_TP_FIELD_POINTER) kperf__tp_cat(buf, n, pos, "0x%llx", (unsigned long long)v);
    else if (f->is_signed) kperf__tp_cat(buf, n, pos, "%lld", (long long)v);
    else if (es == 8 && v > 0xffffffffull) kperf__tp_cat(buf, n, pos, "0x%llx", (unsigned long long)v);
    else kperf__tp_cat(buf, n, pos, "%llu", (unsigned long long)v);
}

KPERF_API int kperf_tp_field_snprint(const kperf_tp_field *f, const void *raw, size_t size,
                                     char *buf, size_t n) {
    size_t pos = 0;
    if (!f) return -EINVAL;
    if (n) buf[0] = 0;
    if (f->flags & KPERF_TP_FIELD_STRING) {
        const char *s;
        size_t len;
        int rc = kperf_tp_field_str(f, raw, size, &s, &len);
        if (rc < 0) return rc;
        kperf__tp_cat(buf, n, &pos, "%.*s", (int)(len > 4096 ? 4096 : len), s);
        return (int)pos;
    }
    if (f->count == 1) {
        uint64_t v;
        int rc = kperf_tp_field_uint(f, raw, size, &v);
        if (rc < 0) return rc;
        kperf__tp_cat_int(buf, n, &pos, f, v, f->size);
        return (int)pos;
    }
    const void *d;
    size_t len;
    int rc = kperf_tp_field_bytes(f, raw, size, &d, &len);
    if (rc < 0) return rc;
    uint32_t es = f->elem_size;
    if (es != 1 && es != 2 && es != 4 && es != 8) es = 1;
    size_t cnt = len / es, shown = cnt > 64 ? 64 : cnt;
    kperf__tp_cat(buf, n, &pos, "{");
    for (size_t i = 0; i < shown; i++) {
        if (i) kperf__tp_cat(buf, n, &pos, ",");
        kperf__tp_cat_int(buf, n, &pos, f, kperf__tp_load((const unsigned char *)d + i * es, es,
                                                          f->is_signed), es);
    }
    kperf__tp_cat(buf, n, &pos, cnt > shown ? ",...}" : "}");
    return (int)pos;
}

KPERF_API int kperf_tp_format_snprint(const kperf_tp_format *fmt, const void *raw,
                                      size_t size, char *buf, size_t n) {
    if (!fmt || (!buf && n)) return -EINVAL;
    size_t pos = 0;
    if (n) buf[0] = 0;
    for (size_t i = fmt->ncommon; i < fmt->nfields; i++) {
        const kperf_tp_field *f = &fmt->fields[i];
        kperf__tp_cat(buf, n, &pos, "%s%s=", i > fmt->ncommon ? " " : "", f->name);
        int w = kperf_tp_field_snprint(f, raw, size, pos < n ? buf + pos : NULL,
                                       pos < n ? n - pos : 0);
        if (w < 0) kperf__tp_cat(buf, n, &pos, "<truncated>");
        else pos += (size_t)w;
    }
    return pos > INT_MAX ? INT_MAX : (int)pos;
}

/* Asks tracefs why the kernel rejects @p filter for SYSTEM:NAME by writing it to the
 * event's ftrace filter file, reading the error back, and clearing it again. Only done
 * when that file says "none" (nobody uses the ftrace filter), so nothing is disturbed. */
KPERF__PRIV void kperf__tp_filter_reason(const char *event, const char *filter, char *why,
                                         size_t n) {
    why[0] = 0;
    kperf_tracefs *t;
    char path[PATH_MAX + 600], sys[256], cur[4096];
    const char *colon = strchr(event, ':');
    if (!colon || (size_t)(colon - event) >= sizeof sys || kperf_tracefs_open(&t, NULL) < 0) return;
    memcpy(sys, event, (size_t)(colon - event));
    sys[colon - event] = 0;
    snprintf(path, sizeof path, "%s/events/%s/%s/filter", t->root, sys, colon + 1);
    kperf_tracefs_close(t);
    if (kperf__read_file(path, cur, sizeof cur) < 0 || strcmp(cur, "none") != 0) return;
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return;
    ssize_t w = write(fd, filter, strlen(filter));
    close(fd);
    if (w >= 0) { /* accepted by ftrace after all: undo and give no reason */
        if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) >= 0) {
            if (write(fd, "0", 1) < 0) { /* nothing more to do */ }
            close(fd);
        }
        return;
    }
    if (kperf__read_file(path, cur, sizeof cur) > 0) {
        /* "### global filter ###\nfilter string: ...\n   ^\nparse_error: Field not found" */
        const char *e = strstr(cur, "error:");
        const char *line = e;
        while (line && line > cur && line[-1] != '\n') line--;
        if (line) snprintf(why, n, "%.400s", line);
        for (char *p = why; *p; p++)
            if (*p == '\n') *p = ' ';
    }
    if ((fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC)) >= 0) {
        if (write(fd, "0", 1) < 0) { /* the error text stays; harmless */ }
        close(fd);
    }
}

KPERF_API int kperf_tp_filter_set(int fd, const char *event, const char *filter) {
    if (!filter || !*filter) return 0;
    if (!event) event = "(tracepoint)";
    if (ioctl(fd, PERF_EVENT_IOC_SET_FILTER, filter) == 0) return 0;
    int e = errno;
    char why[512];
    kperf__tp_filter_reason(event, filter, why, sizeof why);
    return kperf__fail(KPERF_EFILTER,
                       "the kernel rejected filter '%s' on %s (%s)%s%s; filters use ftrace "
                       "syntax over the event's fields, e.g. 'pid>1000 && prio<10' or "
                       "'comm==\"bash\"' (see %s's format)",
                       filter, event, strerror(e), why[0] ? ": " : "", why, event);
}
// <<tracepoint

// >>syscalls ----------------------------------------------------------------------------

/* Latency histogram: exact below 128 ns, then 64 linear sub-buckets per power of two
 * (relative error under 1/64), clamped at 2^41 ns (about 36 minutes). */
#define KPERF__SC_EXACT 128u
#define KPERF__SC_SUB 64u
#define KPERF__SC_MAXEXP 41u
#define KPERF__SC_NBUCKETS (KPERF__SC_EXACT + (KPERF__SC_MAXEXP - 7u + 1u) * KPERF__SC_SUB)

KPERF__PRIV uint32_t kperf__sc_bucket(uint64_t v) {
    if (v < KPERF__SC_EXACT) return (uint32_t)v;
    if (v >= (1ull << (KPERF__SC_MAXEXP + 1))) v = (1ull << (KPERF__SC_MAXEXP + 1)) - 1;
    uint32_t e = 63u - (uint32_t)__builtin_clzll(v); /* 7..41 */
    uint32_t sub = (uint32_t)(v >> (e - 6)) & (KPERF__SC_SUB - 1);
    return KPERF__SC_EXACT + (e - 7) * KPERF__SC_SUB + sub;
}

/* The middle of bucket b (its exact value below 128). */
KPERF__PRIV uint64_t kperf__sc_bucket_value(uint32_t b) {
    if (b < KPERF__SC_EXACT) return b;
    uint32_t e = (b - KPERF__SC_EXACT) / KPERF__SC_SUB + 7, sub = (b - KPERF__SC_EXACT) % KPERF__SC_SUB;
    uint64_t lo = (1ull << e) + ((uint64_t)sub << (e - 6));
    return lo + (1ull << (e - 6)) / 2;
}

typedef struct kperf__sc_stat {
    kperf_syscall_stat s;   /* s.name points at name below */
    char *name;
    uint64_t *hist;         /* KPERF__SC_NBUCKETS counts, allocated at the first call */
} kperf__sc_stat;

typedef struct kperf__sc_half {
    bool valid;
    int32_t nr, cpu, pid;
    uint32_t stat;          /* index of the syscall's stat */
    uint64_t time;
    int64_t ret;
} kperf__sc_half;

#define KPERF__SC_EARLY 4
typedef struct kperf__sc_thread {
    int32_t tid;            /* 0 = empty slot (tid 0 is the idle task: never a caller) */
    bool comm_known;
    char comm[16];
    kperf__sc_half pending;
    kperf__sc_half early[KPERF__SC_EARLY];
} kperf__sc_thread;

struct kperf_syscall_pairer {
    kperf__sc_stat *stats;  /* one per syscall name seen */
    size_t nstats, capstats;
    int32_t *by_name;       /* open-addressing table of stat indexes keyed by name */
    size_t capname;
    char **nrname;          /* learned names by syscall number */
    size_t nnr;
    kperf__sc_thread *thr;  /* open-addressing table keyed by tid */
    size_t capthr, nthr;
    kperf_syscall_stat *out;/* last result of kperf_syscall_pairer_stats */
    kperf_syscall_counts c;
};

KPERF_API int kperf_syscall_pairer_new(kperf_syscall_pairer **out) {
    if (!out) return -EINVAL;
    *out = (kperf_syscall_pairer *)kperf__calloc(1, sizeof **out);
    return *out ? 0 : kperf__fail(ENOMEM, "syscall pairer: out of memory");
}

KPERF_API void kperf_syscall_pairer_free(kperf_syscall_pairer *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nstats; i++) {
        KPERF_FREE(p->stats[i].name);
        KPERF_FREE(p->stats[i].hist);
    }
    for (size_t i = 0; i < p->nnr; i++) KPERF_FREE(p->nrname[i]);
    KPERF_FREE(p->nrname);
    KPERF_FREE(p->stats);
    KPERF_FREE(p->by_name);
    KPERF_FREE(p->thr);
    KPERF_FREE(p->out);
    KPERF_FREE(p);
}

KPERF__PRIV uint32_t kperf__sc_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

KPERF__PRIV int kperf__sc_rehash_names(kperf_syscall_pairer *p, size_t cap) {
    int32_t *t = (int32_t *)KPERF_MALLOC(cap * sizeof *t);
    if (!t) return -ENOMEM;
    for (size_t i = 0; i < cap; i++) t[i] = -1;
    for (size_t i = 0; i < p->nstats; i++) {
        size_t h = kperf__sc_hash(p->stats[i].name) & (cap - 1);
        while (t[h] >= 0) h = (h + 1) & (cap - 1);
        t[h] = (int32_t)i;
    }
    KPERF_FREE(p->by_name);
    p->by_name = t, p->capname = cap;
    return 0;
}

/* Index of the stat for this name, created on first use; negative errno on failure. */
KPERF__PRIV long kperf__sc_stat_of(kperf_syscall_pairer *p, const char *name, int32_t nr) {
    if (p->capname) {
        size_t h = kperf__sc_hash(name) & (p->capname - 1);
        for (; p->by_name[h] >= 0; h = (h + 1) & (p->capname - 1))
            if (!strcmp(p->stats[p->by_name[h]].name, name)) return p->by_name[h];
    }
    if (p->nstats == p->capstats) {
        size_t nc = p->capstats ? p->capstats * 2 : 32;
        kperf__sc_stat *ns = (kperf__sc_stat *)KPERF_REALLOC(p->stats, nc * sizeof *ns);
        if (!ns) return -ENOMEM;
        p->stats = ns, p->capstats = nc;
    }
    kperf__sc_stat *st = &p->stats[p->nstats];
    memset(st, 0, sizeof *st);
    if (!(st->name = kperf__strdup(name))) return -ENOMEM;
    st->s.name = st->name;
    st->s.nr = nr;
    p->nstats++;
    if (p->nstats * 2 > p->capname) { /* grow; the rehash inserts the new entry too */
        if (kperf__sc_rehash_names(p, p->capname ? p->capname * 2 : 64) < 0) {
            KPERF_FREE(st->name);
            p->nstats--;
            return -ENOMEM;
        }
    } else {
        size_t h = kperf__sc_hash(name) & (p->capname - 1);
        while (p->by_name[h] >= 0) h = (h + 1) & (p->capname - 1);
        p->by_name[h] = (int32_t)(p->nstats - 1);
    }
    return (long)(p->nstats - 1);
}

KPERF_API int kperf_syscall_pairer_name(kperf_syscall_pairer *p, int32_t nr, const char *name) {
    if (!p || nr < 0 || nr > 65535 || !name) return -EINVAL;
    if ((size_t)nr >= p->nnr) {
        size_t nn = p->nnr ? p->nnr : 512;
        while (nn <= (size_t)nr) nn *= 2;
        char **v = (char **)KPERF_REALLOC(p->nrname, nn * sizeof *v);
        if (!v) return -ENOMEM;
        memset(v + p->nnr, 0, (nn - p->nnr) * sizeof *v);
        p->nrname = v, p->nnr = nn;
    }
    if (p->nrname[nr] && !strcmp(p->nrname[nr], name)) return 0;
    char *s = kperf__strdup(name);
    if (!s) return -ENOMEM;
    KPERF_FREE(p->nrname[nr]);
    p->nrname[nr] = s;
    return 0;
}

KPERF__PRIV kperf__sc_thread *kperf__sc_thread_of(kperf_syscall_pairer *p, int32_t tid) {
    if (tid == 0) tid = INT32_MIN; /* keep 0 as the empty marker */
    if ((p->nthr + 1) * 2 > p->capthr) {
        size_t nc = p->capthr ? p->capthr * 2 : 64;
        kperf__sc_thread *nt = (kperf__sc_thread *)kperf__calloc(nc, sizeof *nt);
        if (!nt) return NULL;
        for (size_t i = 0; i < p->capthr; i++) {
            if (!p->thr[i].tid) continue;
            size_t h = ((uint32_t)p->thr[i].tid * 2654435761u) & (nc - 1);
            while (nt[h].tid) h = (h + 1) & (nc - 1);
            nt[h] = p->thr[i];
        }
        KPERF_FREE(p->thr);
        p->thr = nt, p->capthr = nc;
    }
    size_t h = ((uint32_t)tid * 2654435761u) & (p->capthr - 1);
    while (p->thr[h].tid && p->thr[h].tid != tid) h = (h + 1) & (p->capthr - 1);
    if (!p->thr[h].tid) p->thr[h].tid = tid, p->nthr++;
    return &p->thr[h];
}

KPERF_API void kperf_syscall_pairer_comm(kperf_syscall_pairer *p, int32_t tid, const char *comm) {
    if (!p || !comm) return;
    kperf__sc_thread *t = kperf__sc_thread_of(p, tid);
    if (!t) return;
    snprintf(t->comm, sizeof t->comm, "%s", comm);
    t->comm_known = true;
}

KPERF__PRIV void kperf__sc_learn_comm(kperf__sc_thread *t, int32_t pid, int32_t tid) {
    char path[64];
    t->comm_known = true;
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)pid, (int)tid);
    if (kperf__read_file(path, t->comm, sizeof t->comm) < 0) t->comm[0] = 0;
}

/* Resolves the stat index of an event: its name, else the learned name of its number. */
KPERF__PRIV long kperf__sc_resolve(kperf_syscall_pairer *p, const kperf_syscall_event *ev) {
    char buf[32];
    const char *name = ev->name;
    if (name && ev->nr >= 0) {
        if (((size_t)ev->nr >= p->nnr || !p->nrname[ev->nr] || strcmp(p->nrname[ev->nr], name)) &&
            kperf_syscall_pairer_name(p, ev->nr, name) < 0)
            return -ENOMEM;
    }
    if (!name && ev->nr >= 0 && (size_t)ev->nr < p->nnr) name = p->nrname[ev->nr];
    if (!name) {
        snprintf(buf, sizeof buf, "syscall_%d", (int)ev->nr);
        name = buf;
    }
    return kperf__sc_stat_of(p, name, ev->nr);
}

KPERF__PRIV int kperf__sc_complete(kperf_syscall_pairer *p, kperf__sc_thread *t,
                                   const kperf__sc_half *in, const kperf__sc_half *ex,
                                   kperf_syscall_fn fn, void *user) {
    kperf__sc_stat *st = &p->stats[in->stat];
    uint64_t d = ex->time - in->time;
    if (!st->hist) {
        st->hist = (uint64_t *)kperf__calloc(KPERF__SC_NBUCKETS, sizeof *st->hist);
        if (!st->hist) return kperf__fail(ENOMEM, "syscall pairer: out of memory");
    }
    st->hist[kperf__sc_bucket(d)]++;
    if (!st->s.count || d < st->s.min) st->s.min = d;
    if (d > st->s.max) st->s.max = d;
    st->s.count++;
    st->s.total += d;
    if (ex->ret < 0 && ex->ret >= -4095) st->s.errors++;
    if (st->s.nr < 0) st->s.nr = in->nr >= 0 ? in->nr : ex->nr;
    p->c.paired++;
    if (!fn) return 1;
    kperf_syscall_call c;
    memset(&c, 0, sizeof c);
    c.name = st->name;
    c.nr = in->nr >= 0 ? in->nr : ex->nr;
    c.start = in->time;
    c.duration = d;
    c.pid = in->pid;
    c.tid = t->tid == INT32_MIN ? 0 : t->tid;
    c.cpu = in->cpu;
    c.ret = ex->ret;
    memcpy(c.comm, t->comm, sizeof c.comm);
    int rc = fn(&c, user);
    return rc < 0 ? rc : 1;
}

KPERF__PRIV bool kperf__sc_same(int32_t a, int32_t b) { return a < 0 || b < 0 || a == b; }

KPERF__PRIV int kperf__sc_enter(kperf_syscall_pairer *p, kperf__sc_thread *t, kperf__sc_half *h,
                                kperf_syscall_fn fn, void *user) {
    int best = -1;
    for (int i = 0; i < KPERF__SC_EARLY; i++) /* an exit that overtook this entry */
        if (t->early[i].valid && t->early[i].time >= h->time && kperf__sc_same(t->early[i].nr, h->nr) &&
            (best < 0 || t->early[i].time < t->early[best].time))
            best = i;
    if (best >= 0) {
        kperf__sc_half ex = t->early[best];
        t->early[best].valid = false;
        p->c.early_exits--;
        return kperf__sc_complete(p, t, h, &ex, fn, user);
    }
    if (t->pending.valid && t->pending.time > h->time) { /* an older entry, late: no exit */
        p->stats[h->stat].s.unfinished++;
        return 0;
    }
    if (t->pending.valid) p->stats[t->pending.stat].s.unfinished++, p->c.pending--;
    t->pending = *h;
    p->c.pending++;
    return 0;
}

KPERF__PRIV int kperf__sc_exit(kperf_syscall_pairer *p, kperf__sc_thread *t, kperf__sc_half *h,
                               kperf_syscall_fn fn, void *user) {
    if (t->pending.valid && t->pending.time <= h->time) {
        kperf__sc_half in = t->pending;
        t->pending.valid = false;
        p->c.pending--;
        if (kperf__sc_same(in.nr, h->nr)) return kperf__sc_complete(p, t, &in, h, fn, user);
        p->stats[in.stat].s.unfinished++; /* its exit was lost; this exit has no entry */
        p->c.orphan_exits++;
        return 0;
    }
    int slot = 0;
    for (int i = 0; i < KPERF__SC_EARLY; i++) {
        if (!t->early[i].valid) { slot = i; break; }
        if (t->early[i].time < t->early[slot].time) slot = i;
    }
    if (t->early[slot].valid) p->c.orphan_exits++, p->c.early_exits--;
    t->early[slot] = *h;
    p->c.early_exits++;
    return 0;
}

KPERF_API int kperf_syscall_pairer_feed(kperf_syscall_pairer *p, const kperf_syscall_event *ev,
                                        kperf_syscall_fn fn, void *user) {
    if (!p || !ev) return -EINVAL;
    kperf__sc_thread *t = kperf__sc_thread_of(p, ev->tid);
    if (!t) return kperf__fail(ENOMEM, "syscall pairer: out of memory");
    if (!t->comm_known) kperf__sc_learn_comm(t, ev->pid, ev->tid);
    kperf__sc_half h;
    memset(&h, 0, sizeof h);
    h.valid = true;
    h.nr = ev->nr;
    h.cpu = ev->cpu;
    h.pid = ev->pid;
    h.time = ev->time;
    h.ret = ev->ret;
    if (!ev->is_exit || ev->name) { /* exits without a name take their entry's */
        long s = kperf__sc_resolve(p, ev);
        if (s < 0) return kperf__fail(ENOMEM, "syscall pairer: out of memory");
        h.stat = (uint32_t)s;
    }
    if (ev->is_exit) {
        p->c.exits++;
        return kperf__sc_exit(p, t, &h, fn, user);
    }
    p->c.enters++;
    return kperf__sc_enter(p, t, &h, fn, user);
}

KPERF_API void kperf_syscall_pairer_counts(const kperf_syscall_pairer *p,
                                           kperf_syscall_counts *out) {
    if (!out) return;
    if (!p) { memset(out, 0, sizeof *out); return; }
    *out = p->c;
}

/* Nearest-rank percentile q (0..1) from a histogram, clamped to [min, max]. */
KPERF__PRIV uint64_t kperf__sc_pct(const kperf__sc_stat *st, double q) {
    if (!st->s.count || !st->hist) return 0;
    uint64_t rank = (uint64_t)(q * (double)st->s.count + 0.999999999), seen = 0;
    if (rank < 1) rank = 1;
    for (uint32_t b = 0; b < KPERF__SC_NBUCKETS; b++) {
        seen += st->hist[b];
        if (seen >= rank) {
            uint64_t v = kperf__sc_bucket_value(b);
            return v < st->s.min ? st->s.min : v > st->s.max ? st->s.max : v;
        }
    }
    return st->s.max;
}

KPERF__PRIV int kperf__sc_by_total(const void *a, const void *b) {
    const kperf_syscall_stat *x = (const kperf_syscall_stat *)a, *y = (const kperf_syscall_stat *)b;
    if (x->total != y->total) return x->total > y->total ? -1 : 1;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    return strcmp(x->name, y->name);
}

KPERF_API int kperf_syscall_pairer_stats(kperf_syscall_pairer *p, const kperf_syscall_stat **out,
                                         size_t *count) {
    if (!p || !out || !count) return -EINVAL;
    kperf_syscall_stat *v = (kperf_syscall_stat *)kperf__calloc(p->nstats ? p->nstats : 1, sizeof *v);
    if (!v) return kperf__fail(ENOMEM, "syscall pairer: out of memory");
    for (size_t i = 0; i < p->nstats; i++) {
        kperf__sc_stat *st = &p->stats[i];
        v[i] = st->s;
        v[i].mean = st->s.count ? st->s.total / st->s.count : 0;
        v[i].p50 = kperf__sc_pct(st, 0.50);
        v[i].p90 = kperf__sc_pct(st, 0.90);
        v[i].p99 = kperf__sc_pct(st, 0.99);
    }
    for (size_t i = 0; i < p->capthr; i++)
        if (p->thr[i].tid && p->thr[i].pending.valid) v[p->thr[i].pending.stat].unfinished++;
    if (p->nstats > 1) qsort(v, p->nstats, sizeof *v, kperf__sc_by_total);
    KPERF_FREE(p->out);
    p->out = v;
    *out = v;
    *count = p->nstats;
    return 0;
}

/* Works out once how records of this event become syscall events. */
KPERF__PRIV void kperf__sc_classify(kperf__tp_entry *e) {
    const kperf_tp_format *f = e->fmt;
    e->sc_kind = -1;
    if (!strcmp(e->key, "raw_syscalls/sys_enter") || !strcmp(e->key, "raw_syscalls/sys_exit")) {
        e->sc_nr = kperf_tp_format_field(f, "id");
        e->sc_kind = e->key[18] == 'n' ? 1 : 2;
    } else if (!strncmp(e->key, "syscalls/sys_enter_", 19)) {
        e->sc_nr = kperf_tp_format_field(f, "__syscall_nr");
        e->sc_kind = 3, e->sc_name = f->name + 10;
    } else if (!strncmp(e->key, "syscalls/sys_exit_", 18)) {
        e->sc_nr = kperf_tp_format_field(f, "__syscall_nr");
        e->sc_kind = 4, e->sc_name = f->name + 9;
    }
    if (e->sc_kind == 2 || e->sc_kind == 4) e->sc_ret = kperf_tp_format_field(f, "ret");
    if (e->sc_kind > 0 && (!e->sc_nr || ((e->sc_kind == 2 || e->sc_kind == 4) && !e->sc_ret)))
        e->sc_kind = -1; /* a layout we do not know: not usable as a syscall event */
}

KPERF_API int kperf_syscall_event_decode(kperf_tracefs *tfs, const void *raw, size_t size,
                                         kperf_syscall_event *ev) {
    if (!tfs || !ev || (!raw && size)) return -EINVAL;
    if (size < 8) return -KPERF_ECORRUPT;
    uint16_t type;
    memcpy(&type, raw, 2);
    if (type >= tfs->nby_id || tfs->by_id[type] < 0 || !tfs->ents[tfs->by_id[type]].fmt) {
        const kperf_tp_format *f;
        int rc = kperf_tracefs_format_by_id(tfs, type, &f);
        if (rc < 0) return rc;
    }
    kperf__tp_entry *e = &tfs->ents[tfs->by_id[type]];
    if (!e->sc_kind) kperf__sc_classify(e);
    if (e->sc_kind < 0) return 0;
    int64_t nr = -1, ret = 0;
    int rc = kperf_tp_field_int(e->sc_nr, raw, size, &nr);
    if (rc == 0 && e->sc_ret) rc = kperf_tp_field_int(e->sc_ret, raw, size, &ret);
    if (rc < 0) return rc;
    ev->is_exit = e->sc_kind == 2 || e->sc_kind == 4;
    ev->nr = nr < INT32_MIN || nr > INT32_MAX ? -1 : (int32_t)nr;
    ev->name = e->sc_name;
    ev->ret = ret;
    return 1;
}

KPERF_API int kperf_syscall_names(kperf_tracefs *tfs, const char *const **names, size_t *count) {
    if (!tfs || !names || !count) return kperf__fail(EINVAL, "kperf_syscall_names: NULL argument");
    if (!tfs->sysnames) {
        char dir[PATH_MAX + 32], **v;
        size_t n, k = 0;
        snprintf(dir, sizeof dir, "%s/events/syscalls", tfs->root);
        int rc = kperf__list_dirs(dir, &v, &n);
        if (rc == -ENOENT)
            return kperf__fail(KPERF_ENOTSUP, "this kernel has no syscall tracepoints (%s is "
                               "missing; it needs CONFIG_FTRACE_SYSCALLS)", dir);
        if (rc < 0) return kperf__fail(-rc, "cannot list %s: %s", dir, strerror(-rc));
        for (size_t i = 0; i < n; i++) {
            if (strncmp(v[i], "sys_enter_", 10) != 0) { KPERF_FREE(v[i]); continue; }
            memmove(v[i], v[i] + 10, strlen(v[i] + 10) + 1);
            v[k++] = v[i];
        }
        if (!k) {
            kperf__free_names(v, 0);
            return kperf__fail(KPERF_ENOTSUP, "%s has no sys_enter_* events", dir);
        }
        qsort(v, k, sizeof *v, kperf__name_cmp);
        tfs->sysnames = v, tfs->nsysnames = k;
    }
    *names = (const char *const *)tfs->sysnames;
    *count = tfs->nsysnames;
    return 0;
}
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
