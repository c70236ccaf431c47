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
// <<ringbuf

// >>sampling ----------------------------------------------------------------------------
// <<sampling

// >>perfdata ----------------------------------------------------------------------------
// <<perfdata

// >>tracepoint --------------------------------------------------------------------------
// <<tracepoint

// >>syscalls ----------------------------------------------------------------------------
// <<syscalls

// >>device ------------------------------------------------------------------------------

/** How the values of a metric are grouped (libkperf's aggregation modes, plus the summary). */
typedef enum kperf_metric_mode {
    KPERF_METRIC_TOTAL = 0,     /**< one value over every instance: the summary row */
    KPERF_METRIC_PER_CORE,      /**< one value per CPU (core PMU events, e.g. L3 traffic) */
    KPERF_METRIC_PER_CLUSTER,   /**< one value per L3 cache instance (cluster / CCX) */
    KPERF_METRIC_PER_NUMA,      /**< one value per NUMA node */
    KPERF_METRIC_PER_CHANNEL,   /**< one value per memory channel (DDR controller PMU) */
    KPERF_METRIC_PER_BDF,       /**< one value per PCIe device (bus:device.function) */
    KPERF_METRIC_PER_PORT,      /**< one value per PCIe root port */
    KPERF_METRIC_PER_PMU        /**< one value per uncore PMU instance (raw uncore events) */
} kperf_metric_mode;

/** Static description of one device metric that kperf knows (whether or not the machine
 *  has a PMU for it). */
typedef struct kperf_metric_info {
    const char *name;       /**< libkperf's name without "PMU_", e.g. "DDR_READ_BW" */
    const char *unit;       /**< unit of its values, e.g. "MiB/s", "count", "%", "cycles" */
    const char *brief;      /**< one line: what it measures */
    const char *needs;      /**< the kind of PMU it needs, e.g. "DDR controller PMU" */
} kperf_metric_info;

/** @brief Number of metrics kperf defines (the table behind kperf_metric_at()). */
KPERF_API size_t kperf_metric_count(void);

/** @brief The i-th metric kperf defines, or NULL when i is out of range.
 *  *Ownership:* static storage. */
KPERF_API const kperf_metric_info *kperf_metric_at(size_t i);

/** @brief Whether a metric can be measured with the PMUs of a registry.
 *  @param pmus the registry (kperf_pmus_open()); NULL means the machine's.
 *  @param name a metric name, case-insensitive, with or without libkperf's "PMU_" prefix.
 *  @return 0 when supported; -KPERF_ENOMETRIC when no PMU provides it (the message names
 *  the metric and the PMU name patterns that were looked for); -KPERF_EPARSE for an unknown
 *  name (the message lists the known names). */
KPERF_API int kperf_metric_check(const kperf_pmus *pmus, const char *name);

/** Which device list kperf_device_bdf_list() returns (libkperf's PmuBdfType). */
typedef enum kperf_bdf_type {
    KPERF_BDF_PCIE = 0,     /**< PCIe endpoints below a root port that a hisi_pcie PMU watches */
    KPERF_BDF_SMMU = 1      /**< PCI devices behind an SMMU that has an smmuv3_pmcg PMU */
} kperf_bdf_type;

/** @brief Lists the devices that the PCIe or SMMU metrics can measure (libkperf's
 *  device_bdf_list), from `<root>/sys/devices/pci*` and `<root>/sys/class/iommu`.
 *  @param pmus the registry (its root is used for the PCI and IOMMU trees); NULL means the
 *  machine's.
 *  @param type ::KPERF_BDF_PCIE or ::KPERF_BDF_SMMU.
 *  @param out receives a NULL-terminated, sorted array of "DDDD:BB:DD.F" strings (never
 *  NULL on success, possibly empty).
 *  @return the number of devices, or a negative error code.
 *  *Ownership:* free with kperf_device_bdf_list_free(). */
KPERF_API int kperf_device_bdf_list(const kperf_pmus *pmus, kperf_bdf_type type, char ***out);

/** @brief Frees a list from kperf_device_bdf_list(); accepts NULL. */
KPERF_API void kperf_device_bdf_list_free(char **list);

/** What to measure: metrics by name and/or raw uncore events. Zero-initialised = nothing;
 *  at least one of metrics and events must be set. */
typedef struct kperf_device_desc {
    const char *metrics;    /**< comma-separated metric names, e.g. "DDR_READ_BW,L3_LAT";
                                 NULL = none */
    const char *events;     /**< comma-separated uncore events `pmu/terms/`; a PMU name
                                 without its instance suffix (`hisi_sccl1_ddrc/flux_rd/`,
                                 `uncore_imc/cas_count_read/`) means every instance; NULL =
                                 none */
    const char *bdf;        /**< PCIe/SMMU metrics: the device ("0000:31:00.0" or
                                 "31:00.0"); NULL = every device in kperf_device_bdf_list() */
    const kperf_pmus *pmus; /**< registry to resolve PMUs in; NULL = open one from root */
    const char *root;       /**< sysfs root when pmus is NULL; NULL = KPERF_SYSFS_ROOT or "/" */
} kperf_device_desc;

/** One perf event of a device measurement: what kperf opens (or would open) with
 *  perf_event_open(attr, pid = -1, cpu, group_fd). */
typedef struct kperf_device_event {
    char spec[160];         /**< the event as perf writes it, e.g. "hisi_sccl1_ddrc0/event=0x1/" */
    char pmu[64];           /**< PMU instance name, e.g. "hisi_sccl1_ddrc0" */
    uint32_t type;          /**< perf_event_attr.type (the PMU's `type` file) */
    uint64_t config[3];     /**< perf_event_attr config, config1, config2 */
    int cpu;                /**< the CPU it is opened on (uncore: from the PMU's cpumask) */
    int leader;             /**< index of its group leader in the event list (itself if leader) */
    int item;               /**< which requested metric or event (0-based, in desc order) */
} kperf_device_event;

/** A counter reading as the kernel reports it (read_format TOTAL_TIME_ENABLED|RUNNING). */
typedef struct kperf_device_count {
    uint64_t value;         /**< raw count */
    uint64_t time_enabled;  /**< ns the event was enabled */
    uint64_t time_running;  /**< ns it was on the PMU; 0 = it did not run (not counted) */
} kperf_device_count;

/** One computed value: a metric (or raw uncore event) for one instance, or its total. */
typedef struct kperf_metric_value {
    const char *name;       /**< metric name, or the uncore event as requested */
    const char *unit;       /**< unit of value, e.g. "MiB/s"; "" for a raw event without one */
    kperf_metric_mode mode; /**< grouping of this row; ::KPERF_METRIC_TOTAL for the summary */
    char where[64];         /**< instance: "hisi_sccl1_ddrc0", "cpu12", "node1",
                                 "0000:31:00.0", "uncore_imc_0@cpu20", or "total" */
    int cpu;                /**< CPU the counter ran on; -1 for the total */
    int numa;               /**< NUMA node of that CPU; -1 when unknown or total */
    int socket;             /**< socket (physical package) of that CPU; -1 when unknown */
    int channel;            /**< memory channel number for ::KPERF_METRIC_PER_CHANNEL, else -1 */
    double value;           /**< the value in unit; NaN when not counted or when a ratio's
                                 denominator is 0 */
    bool counted;           /**< false when a counter behind the value did not run
                                 (time_running 0): report "not counted", never 0 */
    bool scaled;            /**< a counter was multiplexed and its count was scaled up */
} kperf_metric_value;

/** A device measurement: the planned (or opened) uncore events of some metrics. Opaque. */
typedef struct kperf_device kperf_device;

/** @brief Builds the plan of a device measurement without calling the kernel: which PMU
 *  instances, events, config words and CPUs the metrics need.
 *  @param out receives the object; NULL on failure.
 *  @param desc what to measure.
 *  @return 0; -KPERF_ENOMETRIC when the machine has no PMU for a metric (the message names
 *  the metric and the missing PMU); -KPERF_ENOTSUP when a PMU's cpumask reads -1 (no owning
 *  CPU); -KPERF_ENOTARGET when a PCIe/SMMU metric has no device (or not the one asked);
 *  -KPERF_EPARSE, -KPERF_ENOPMU, -KPERF_ENOEVENT for a bad event.
 *  *Ownership:* free with kperf_device_close(). */
KPERF_API int kperf_device_plan(kperf_device **out, const kperf_device_desc *desc);

/** @brief Plans like kperf_device_plan(), then opens every event (disabled) on its CPU.
 *  Uncore events are opened once per CPU of the PMU's cpumask, never per thread.
 *  @return 0 or a negative error code (the message names the event and CPU). */
KPERF_API int kperf_device_open(kperf_device **out, const kperf_device_desc *desc);

/** @brief Closes the events and frees the object; accepts NULL. */
KPERF_API void kperf_device_close(kperf_device *dev);

/** @brief Number of events in the plan (the length of the counts arrays). */
KPERF_API size_t kperf_device_nevents(const kperf_device *dev);

/** @brief The i-th planned event, or NULL when i is out of range. */
KPERF_API const kperf_device_event *kperf_device_event_at(const kperf_device *dev, size_t i);

/** @brief Number of requested items (metrics, then raw events), the range of
 *  kperf_device_event::item. */
KPERF_API size_t kperf_device_nitems(const kperf_device *dev);

/** @brief Name, unit and grouping of the i-th requested item.
 *  @return 0, or -EINVAL when i is out of range. Any out-pointer may be NULL. */
KPERF_API int kperf_device_item(const kperf_device *dev, size_t i, const char **name,
                                const char **unit, kperf_metric_mode *mode);

/** @brief Enables every event (resets first).
 *  @return 0, or -KPERF_ESTATE for a plan-only object, or a negative errno. */
KPERF_API int kperf_device_start(kperf_device *dev);

/** @brief Disables every event. @return 0 or a negative error code. */
KPERF_API int kperf_device_stop(kperf_device *dev);

/** @brief Reads every event's cumulative count since kperf_device_start().
 *  @param counts array of kperf_device_nevents() entries, filled in event order.
 *  @return 0, or a negative error code. For interval reports subtract the previous
 *  reading field by field. */
KPERF_API int kperf_device_read(kperf_device *dev, kperf_device_count *counts);

/** @brief Computes metric values from counts (live or recorded).
 *  Each count is first scaled for multiplexing (value * enabled / running); a count with
 *  time_running 0 makes its row not counted. Then, per instance of each item: bandwidths
 *  are sum(count) * bytes-per-count / elapsed; ratios and latencies divide the sums of
 *  their events; counts are summed. A total row (::KPERF_METRIC_TOTAL) follows each item's
 *  instance rows.
 *  @param dev the plan the counts belong to.
 *  @param counts kperf_device_nevents() counts, in event order.
 *  @param elapsed_ns the wall-clock time the counts cover (for rates); must be > 0 when an
 *  item is a rate.
 *  @param out array of cap values, filled in item order; may be NULL when cap is 0.
 *  @param cap capacity of out.
 *  @return the number of values the computation yields (may exceed cap: call again with a
 *  larger array), or a negative error code. */
KPERF_API int kperf_device_compute(const kperf_device *dev, const kperf_device_count *counts,
                                   uint64_t elapsed_ns, kperf_metric_value *out, size_t cap);
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
// <<tracepoint

// >>syscalls ----------------------------------------------------------------------------
// <<syscalls

// >>device ------------------------------------------------------------------------------

/* NaN marks a value that cannot be computed (not counted, or a zero denominator). */
#if defined(__GNUC__)
#define KPERF__NAN __builtin_nan("")
#else
#define KPERF__NAN (0.0 / 0.0)
#endif

/* How a metric row's event sums become a value. */
enum {
    KPERF__MK_BW,    /* sum(ev0 * bytes) / 2^20 / seconds: MiB/s */
    KPERF__MK_SUM,   /* sum(ev0 * scale) */
    KPERF__MK_RATIO, /* scale * sum(ev0) / sum(ev1); NaN when sum(ev1) is 0 */
    KPERF__MK_LAT3   /* scale * sum(ev0) / (sum(ev1) - sum(ev2)); NaN when <= 0 */
};
/* The device filter a row's events carry. */
enum {
    KPERF__MF_NONE,
    KPERF__MF_BDF,    /* hisi_pcie `bdf` field = requester bus:dev.fn of the endpoint */
    KPERF__MF_PORT,   /* hisi_pcie `port` bitmap = the root port above the endpoint */
    KPERF__MF_STREAM  /* smmuv3_pmcg `filter_stream_id` = the device's stream id (its RID) */
};

/* One way a chip provides a metric. The metric's unit and description are in
 * kperf__metric_infos; everything about measuring it is here, so supporting a new chip
 * means adding rows. PMU patterns: %d = decimal digits, %x = hex digits, else literal,
 * matched against the whole PMU name. `need`: a format field the PMU must have (it tells
 * PMU generations or vendors apart when names are equal). Events are encoded through the
 * PMU's own format files; the values are the kernel drivers' event codes. */
typedef struct kperf__metric_row {
    const char *metric;
    const char *pmu;
    const char *need;
    const char *ev[3];
    double scale;      /* bytes per count (bandwidths), or the ratio's multiplier */
    uint8_t kind;      /* KPERF__MK_* */
    uint8_t mode;      /* kperf_metric_mode */
    uint8_t filter;    /* KPERF__MF_* */
    int8_t channel;    /* memory channel the event itself selects (amd_df), else -1 */
} kperf__metric_row;

#define KPERF__CH KPERF_METRIC_PER_CHANNEL
#define KPERF__NOF KPERF__MF_NONE
static const kperf__metric_row kperf__metric_rows[] = {
    /* HiSilicon v1 DDRC (Hip08, hisi_uncore_ddrc_pmu): flux_wr 0x00, flux_rd 0x01; one
     * flux count is 32 bytes (libkperf). */
    {"DDR_READ_BW", "hisi_sccl%d_ddrc%d", NULL, {"event=0x01"}, 32, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    {"DDR_WRITE_BW", "hisi_sccl%d_ddrc%d", NULL, {"event=0x00"}, 32, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    {"DDR_BW", "hisi_sccl%d_ddrc%d", NULL, {"event=0x01"}, 32, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    {"DDR_BW", "hisi_sccl%d_ddrc%d", NULL, {"event=0x00"}, 32, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    /* HiSilicon v2 DDRC (Hip09, hisi_sccl<N>_ddrc<M>_<K>): flux_wr 0x83, flux_rd 0x84. */
    {"DDR_READ_BW", "hisi_sccl%d_ddrc%d_%d", NULL, {"event=0x84"}, 32, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    {"DDR_WRITE_BW", "hisi_sccl%d_ddrc%d_%d", NULL, {"event=0x83"}, 32, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    {"DDR_BW", "hisi_sccl%d_ddrc%d_%d", NULL, {"event=0x84"}, 32, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    {"DDR_BW", "hisi_sccl%d_ddrc%d_%d", NULL, {"event=0x83"}, 32, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    /* Intel uncore_imc: CAS_COUNT event 0x04, umask 0x03 read, 0x0c write, 0x0f all; each
     * CAS moves one 64-byte line (the driver's .scale 6.103515625e-5 MiB = 64 B). */
    {"DDR_READ_BW", "uncore_imc_%d", NULL, {"event=0x04,umask=0x03"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    {"DDR_WRITE_BW", "uncore_imc_%d", NULL, {"event=0x04,umask=0x0c"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    {"DDR_BW", "uncore_imc_%d", NULL, {"event=0x04,umask=0x0f"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    /* AMD amd_umc (Zen 4+): umc_cas_cmd event 0x0a, rdwrmask 1 read, 2 write; 64 B each. */
    {"DDR_READ_BW", "amd_umc_%d", NULL, {"event=0x0a,rdwrmask=0x1"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    {"DDR_WRITE_BW", "amd_umc_%d", NULL, {"event=0x0a,rdwrmask=0x2"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    {"DDR_BW", "amd_umc_%d", NULL, {"event=0x0a"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, -1},
    /* AMD amd_df (Zen 2/3): DRAM channel data, event 0x07 + 0x40 * channel, umask 0x38,
     * 64 B per count; reads and writes are not told apart. Codes above 0xff use the split
     * format config:0-7,32-35,59-60. */
    {"DDR_BW", "amd_df", NULL, {"event=0x007,umask=0x38"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, 0},
    {"DDR_BW", "amd_df", NULL, {"event=0x047,umask=0x38"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, 1},
    {"DDR_BW", "amd_df", NULL, {"event=0x087,umask=0x38"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, 2},
    {"DDR_BW", "amd_df", NULL, {"event=0x0c7,umask=0x38"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, 3},
    {"DDR_BW", "amd_df", NULL, {"event=0x107,umask=0x38"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, 4},
    {"DDR_BW", "amd_df", NULL, {"event=0x147,umask=0x38"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, 5},
    {"DDR_BW", "amd_df", NULL, {"event=0x187,umask=0x38"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, 6},
    {"DDR_BW", "amd_df", NULL, {"event=0x1c7,umask=0x38"}, 64, KPERF__MK_BW, KPERF__CH, KPERF__NOF, 7},
    /* Arm core PMU, per CPU: LL_CACHE 0x32, LL_CACHE_MISS 0x33 (libkperf); 64-byte lines. */
    {"L3_TRAFFIC", "armv8_pmuv3_%d", NULL, {"event=0x32"}, 64, KPERF__MK_BW, KPERF_METRIC_PER_CORE, KPERF__NOF, -1},
    {"L3_MISS", "armv8_pmuv3_%d", NULL, {"event=0x33"}, 1, KPERF__MK_SUM, KPERF_METRIC_PER_CORE, KPERF__NOF, -1},
    {"L3_REF", "armv8_pmuv3_%d", NULL, {"event=0x32"}, 1, KPERF__MK_SUM, KPERF_METRIC_PER_CORE, KPERF__NOF, -1},
    /* Intel core PMU (its `pc` format field tells it from AMD's "cpu"), per CPU:
     * LONGEST_LAT_CACHE event 0x2e, umask 0x4f reference, 0x41 miss. */
    {"L3_TRAFFIC", "cpu", "pc", {"event=0x2e,umask=0x4f"}, 64, KPERF__MK_BW, KPERF_METRIC_PER_CORE, KPERF__NOF, -1},
    {"L3_MISS", "cpu", "pc", {"event=0x2e,umask=0x41"}, 1, KPERF__MK_SUM, KPERF_METRIC_PER_CORE, KPERF__NOF, -1},
    {"L3_REF", "cpu", "pc", {"event=0x2e,umask=0x4f"}, 1, KPERF__MK_SUM, KPERF_METRIC_PER_CORE, KPERF__NOF, -1},
    /* AMD amd_l3 (Zen 2+), one counter per CCX: L3 lookup state event 0x04, umask 0xff all
     * requests, 0x01 misses (the driver adds the slice and thread masks itself). */
    {"L3_TRAFFIC", "amd_l3", NULL, {"event=0x04,umask=0xff"}, 64, KPERF__MK_BW, KPERF_METRIC_PER_CLUSTER, KPERF__NOF, -1},
    {"L3_MISS", "amd_l3", NULL, {"event=0x04,umask=0x01"}, 1, KPERF__MK_SUM, KPERF_METRIC_PER_CLUSTER, KPERF__NOF, -1},
    {"L3_REF", "amd_l3", NULL, {"event=0x04,umask=0xff"}, 1, KPERF__MK_SUM, KPERF_METRIC_PER_CLUSTER, KPERF__NOF, -1},
    /* HiSilicon v2 L3C (has tt_core): total latency 0x80, l3c_ref 0xb8, retry_alloc 0xce,
     * traced for every core (tt_core=0xff); latency = lat / (ref - retry) (libkperf). */
    {"L3_LAT", "hisi_sccl%d_l3c%d", "tt_core",
     {"event=0x80,tt_core=0xff", "event=0xb8,tt_core=0xff", "event=0xce,tt_core=0xff"}, 1,
     KPERF__MK_LAT3, KPERF_METRIC_PER_CLUSTER, KPERF__NOF, -1},
    /* HiSilicon PCIe PMU (Hip09): bandwidth = flux (in DW) * 4 / time, filtered by the
     * endpoint's BDF; latency = latency / count, filtered by root port. */
    {"PCIE_RX_MRD_BW", "hisi_pcie%d_core%d", NULL, {"event=0x0804", "event=0x10804"}, 4, KPERF__MK_RATIO, KPERF_METRIC_PER_BDF, KPERF__MF_BDF, -1},
    {"PCIE_RX_MWR_BW", "hisi_pcie%d_core%d", NULL, {"event=0x0104", "event=0x10104"}, 4, KPERF__MK_RATIO, KPERF_METRIC_PER_BDF, KPERF__MF_BDF, -1},
    {"PCIE_TX_MRD_BW", "hisi_pcie%d_core%d", NULL, {"event=0x0405", "event=0x10405"}, 4, KPERF__MK_RATIO, KPERF_METRIC_PER_BDF, KPERF__MF_BDF, -1},
    {"PCIE_TX_MWR_BW", "hisi_pcie%d_core%d", NULL, {"event=0x0105", "event=0x10105"}, 4, KPERF__MK_RATIO, KPERF_METRIC_PER_BDF, KPERF__MF_BDF, -1},
    {"PCIE_RX_MRD_LAT", "hisi_pcie%d_core%d", NULL, {"event=0x0210", "event=0x10210"}, 1, KPERF__MK_RATIO, KPERF_METRIC_PER_PORT, KPERF__MF_PORT, -1},
    {"PCIE_RX_MWR_LAT", "hisi_pcie%d_core%d", NULL, {"event=0x0010", "event=0x10010"}, 1, KPERF__MK_RATIO, KPERF_METRIC_PER_PORT, KPERF__MF_PORT, -1},
    {"PCIE_TX_MRD_LAT", "hisi_pcie%d_core%d", NULL, {"event=0x0011", "event=0x10011"}, 1, KPERF__MK_RATIO, KPERF_METRIC_PER_PORT, KPERF__MF_PORT, -1},
    /* Arm SMMUv3 PMCG (arm_smmuv3_pmu): transaction 0x01 for one stream id. */
    {"SMMU_TRAN", "smmuv3_pmcg_%x", NULL, {"event=0x01,filter_enable=1"}, 1, KPERF__MK_SUM, KPERF_METRIC_PER_BDF, KPERF__MF_STREAM, -1},
    /* HiSilicon HHA v1/v2: rx_ops_num 0x00 all requests, rx_outer 0x01 from the other
     * socket, rx_sccl 0x02 from the other SCCL (NUMA node); shown as a percentage. */
    {"HHA_CROSS_NUMA", "hisi_sccl%d_hha%d", NULL, {"event=0x02", "event=0x00"}, 100, KPERF__MK_RATIO, KPERF_METRIC_PER_NUMA, KPERF__NOF, -1},
    {"HHA_CROSS_SOCKET", "hisi_sccl%d_hha%d", NULL, {"event=0x01", "event=0x00"}, 100, KPERF__MK_RATIO, KPERF_METRIC_PER_NUMA, KPERF__NOF, -1},
};
#undef KPERF__CH
#undef KPERF__NOF

static const kperf_metric_info kperf__metric_infos[] = {
    {"DDR_READ_BW", "MiB/s", "DDR read bandwidth per memory channel", "DDR controller PMU"},
    {"DDR_WRITE_BW", "MiB/s", "DDR write bandwidth per memory channel", "DDR controller PMU"},
    {"DDR_BW", "MiB/s", "DDR read+write bandwidth per memory channel",
     "DDR controller or data fabric PMU"},
    {"L3_TRAFFIC", "MiB/s", "bytes through the L3 cache (64 per access)",
     "PMU with L3 cache events"},
    {"L3_MISS", "count", "L3 cache misses", "PMU with L3 cache events"},
    {"L3_REF", "count", "L3 cache accesses", "PMU with L3 cache events"},
    {"L3_LAT", "cycles", "average L3 access latency per L3 instance",
     "L3 cache PMU with latency events"},
    {"PCIE_RX_MRD_BW", "B/ns", "PCIe inbound memory read bandwidth per device", "PCIe PMU"},
    {"PCIE_RX_MWR_BW", "B/ns", "PCIe inbound memory write bandwidth per device", "PCIe PMU"},
    {"PCIE_TX_MRD_BW", "B/ns", "PCIe outbound memory read bandwidth per device", "PCIe PMU"},
    {"PCIE_TX_MWR_BW", "B/ns", "PCIe outbound memory write bandwidth per device", "PCIe PMU"},
    {"PCIE_RX_MRD_LAT", "ns", "PCIe inbound memory read latency per root port", "PCIe PMU"},
    {"PCIE_RX_MWR_LAT", "ns", "PCIe inbound memory write latency per root port", "PCIe PMU"},
    {"PCIE_TX_MRD_LAT", "ns", "PCIe outbound memory read latency per root port", "PCIe PMU"},
    {"SMMU_TRAN", "count", "SMMU address translations per device", "SMMUv3 PMCG PMU"},
    {"HHA_CROSS_NUMA", "%", "share of HHA requests from another NUMA node, per node",
     "HiSilicon HHA PMU"},
    {"HHA_CROSS_SOCKET", "%", "share of HHA requests from another socket, per node",
     "HiSilicon HHA PMU"},
};
#define KPERF__NMETRICS (sizeof kperf__metric_infos / sizeof kperf__metric_infos[0])
#define KPERF__NROWS (sizeof kperf__metric_rows / sizeof kperf__metric_rows[0])

KPERF_API size_t kperf_metric_count(void) { return KPERF__NMETRICS; }

KPERF_API const kperf_metric_info *kperf_metric_at(size_t i) {
    return i < KPERF__NMETRICS ? &kperf__metric_infos[i] : NULL;
}

/* Whole-name match of a PMU name against a row pattern (%d digits, %x hex digits). */
static bool kperf__dev_match(const char *p, const char *s) {
    while (*p) {
        if (p[0] == '%' && (p[1] == 'd' || p[1] == 'x')) {
            int n = 0;
            while (p[1] == 'd' ? isdigit((unsigned char)*s) : isxdigit((unsigned char)*s)) s++, n++;
            if (!n) return false;
            p += 2;
        } else if (*p++ != *s++) {
            return false;
        }
    }
    return *s == 0;
}

static bool kperf__dev_has_format(const kperf_pmu *p, const char *name) {
    for (size_t i = 0; i < p->nformats; i++)
        if (!strcmp(p->formats[i].name, name)) return true;
    return false;
}

static bool kperf__dev_row_matches(const kperf__metric_row *r, const kperf_pmu *p) {
    return kperf__dev_match(r->pmu, p->name) && (!r->need || kperf__dev_has_format(p, r->need));
}

/* The canonical metric name for a user's spelling ("pmu_ddr_read_bw" -> "DDR_READ_BW"). */
static const kperf_metric_info *kperf__dev_metric_find(const char *name, size_t len) {
    if (len >= 4 && !strncasecmp(name, "PMU_", 4)) name += 4, len -= 4;
    for (size_t i = 0; i < KPERF__NMETRICS; i++) {
        const char *m = kperf__metric_infos[i].name;
        if (strlen(m) == len && !strncasecmp(m, name, len)) return &kperf__metric_infos[i];
    }
    return NULL;
}

static int kperf__dev_unknown_metric(const char *name, size_t len) {
    char known[512] = "";
    for (size_t i = 0; i < KPERF__NMETRICS; i++) {
        size_t l = strlen(known);
        snprintf(known + l, sizeof known - l, "%s%s", i ? ", " : "", kperf__metric_infos[i].name);
    }
    return kperf__fail(KPERF_EPARSE, "unknown metric '%.*s'; kperf knows: %s", (int)len, name,
                       known);
}

/* "DDR_READ_BW: no DDR controller PMU (hisi_sccl*_ddrc*, uncore_imc_*, ...) on this
 * machine": the metric, the kind of PMU, and every name pattern that was looked for. */
static int kperf__dev_nometric(const kperf_metric_info *m, const char *root) {
    char pats[16][48], list[600] = "";
    size_t np = 0;
    for (size_t i = 0; i < KPERF__NROWS; i++) {
        if (strcmp(kperf__metric_rows[i].metric, m->name)) continue;
        char pat[48];
        size_t k = 0;
        for (const char *s = kperf__metric_rows[i].pmu; *s && k + 2 < sizeof pat; s++) {
            if (s[0] == '%' && (s[1] == 'd' || s[1] == 'x')) pat[k++] = '*', s++;
            else pat[k++] = *s;
        }
        pat[k] = 0;
        bool seen = false;
        for (size_t j = 0; j < np; j++) seen |= !strcmp(pats[j], pat);
        if (seen || np == 16) continue;
        memcpy(pats[np++], pat, k + 1);
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%s", l ? ", " : "", pat);
    }
    bool machine = !root || !strcmp(root, "/");
    return kperf__fail(KPERF_ENOMETRIC, "%s: no %s (%s) on %s%s", m->name, m->needs, list,
                       machine ? "this machine" : "the sysfs tree ", machine ? "" : root);
}

/* Opens the machine's registry when the caller passed none. */
static int kperf__dev_registry(const kperf_pmus *pmus, const char *root, const kperf_pmus **use,
                               kperf_pmus **owned) {
    *owned = NULL;
    *use = pmus;
    if (pmus) return 0;
    int rc = kperf_pmus_open(owned, root);
    if (rc < 0) return rc;
    *use = *owned;
    return 0;
}

static int kperf__dev_check(const kperf_pmus *pmus, const kperf_metric_info *m) {
    size_t np = kperf_pmus_count(pmus);
    for (size_t i = 0; i < KPERF__NROWS; i++) {
        if (strcmp(kperf__metric_rows[i].metric, m->name)) continue;
        for (size_t j = 0; j < np; j++)
            if (kperf__dev_row_matches(&kperf__metric_rows[i], kperf_pmus_at(pmus, j))) return 0;
    }
    return kperf__dev_nometric(m, kperf_pmus_root(pmus));
}

KPERF_API int kperf_metric_check(const kperf_pmus *pmus, const char *name) {
    if (!name) return kperf__fail(EINVAL, "kperf_metric_check: name is NULL");
    const kperf_metric_info *m = kperf__dev_metric_find(name, strlen(name));
    if (!m) return kperf__dev_unknown_metric(name, strlen(name));
    const kperf_pmus *use;
    kperf_pmus *owned;
    int rc = kperf__dev_registry(pmus, NULL, &use, &owned);
    if (rc < 0) return rc;
    rc = kperf__dev_check(use, m);
    kperf_pmus_close(owned);
    return rc;
}

/* ---- topology and device trees under the sysfs root ---- */

#define KPERF__DEV_MAXCPU 8192

/* Parses a cpulist ("0-19,40-59") into out[] (ascending as written). Returns the number
 * of CPUs, or -1 on malformed text or more than cap CPUs. */
static int kperf__dev_cpulist(const char *s, int *out, int cap) {
    int n = 0;
    while (*s && *s != '\n') {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s || a < 0 || a >= KPERF__DEV_MAXCPU) return -1;
        s = end;
        if (*s == '-') {
            b = strtol(s + 1, &end, 10);
            if (end == s + 1 || b < a || b >= KPERF__DEV_MAXCPU) return -1;
            s = end;
        }
        for (long c = a; c <= b; c++) {
            if (n >= cap) return -1;
            out[n++] = (int)c;
        }
        if (*s == ',') s++;
        else if (*s && *s != '\n') return -1;
    }
    return n;
}

static void kperf__dev_path(char *buf, size_t size, const char *root, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void kperf__dev_path(char *buf, size_t size, const char *root, const char *fmt, ...) {
    int k = snprintf(buf, size, "%s", strcmp(root, "/") ? root : "");
    if (k < 0 || (size_t)k >= size) k = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + k, size - (size_t)k, fmt, ap);
    va_end(ap);
}

/* Reads one integer file (decimal or 0x hex); returns def when absent or malformed. */
static long kperf__dev_read_long(const char *path, long def) {
    char buf[64];
    if (kperf__read_file(path, buf, sizeof buf) <= 0) return def;
    char *end;
    long v = strtol(buf, &end, 0);
    return end == buf ? def : v;
}

/* The online CPUs of the tree (cpu/online), at most cap. */
static int kperf__dev_online(const char *root, int *out, int cap) {
    char path[PATH_MAX], buf[4096];
    kperf__dev_path(path, sizeof path, root, "/sys/devices/system/cpu/online");
    if (kperf__read_file(path, buf, sizeof buf) <= 0) return out[0] = 0, 1;
    int n = kperf__dev_cpulist(buf, out, cap);
    return n > 0 ? n : (out[0] = 0, 1);
}

/* NUMA node of a CPU from node/node<N>/cpulist; -1 when the tree has no NUMA info. */
static int kperf__dev_cpu_node(const char *root, int cpu) {
    char path[PATH_MAX], buf[4096];
    int cpus[KPERF__DEV_MAXCPU / 8];
    for (int node = 0; node < 1024; node++) {
        kperf__dev_path(path, sizeof path, root, "/sys/devices/system/node/node%d/cpulist", node);
        if (kperf__read_file(path, buf, sizeof buf) < 0) {
            if (node > 64) break;
            continue;
        }
        int n = kperf__dev_cpulist(buf, cpus, (int)(sizeof cpus / sizeof cpus[0]));
        for (int i = 0; i < n; i++)
            if (cpus[i] == cpu) return node;
    }
    return -1;
}

static int kperf__dev_cpu_topo(const char *root, int cpu, const char *file) {
    char path[PATH_MAX];
    kperf__dev_path(path, sizeof path, root, "/sys/devices/system/cpu/cpu%d/topology/%s", cpu,
                    file);
    return (int)kperf__dev_read_long(path, -1);
}

/* ---- PCI tree: <root>/sys/devices/pciDDDD:BB/.../DDDD:BB:DD.F ---- */

typedef struct kperf__pci_dev {
    char name[16];      /* "0000:31:00.0" */
    unsigned bus, dev, fn;
    unsigned cls;       /* the `class` file, e.g. 0x060400 for a PCI bridge */
    int parent;         /* index of the upstream PCI device, -1 below a host bridge */
} kperf__pci_dev;

typedef struct kperf__pci {
    kperf__pci_dev *d;
    size_t n, cap;
} kperf__pci;

static bool kperf__pci_parse(const char *s, unsigned *dom, unsigned *bus, unsigned *dev,
                             unsigned *fn) {
    char tail;
    if (sscanf(s, "%x:%x:%x.%x%c", dom, bus, dev, fn, &tail) == 4)
        return *dom <= 0xffff && *bus <= 0xff && *dev <= 0x1f && *fn <= 7;
    *dom = 0;
    if (sscanf(s, "%x:%x.%x%c", bus, dev, fn, &tail) == 3)
        return *bus <= 0xff && *dev <= 0x1f && *fn <= 7;
    return false;
}

static bool kperf__pci_is_bridge(const kperf__pci_dev *d) { return (d->cls >> 8) == 0x0604; }

static void kperf__pci_walk(kperf__pci *pci, const char *dir, int parent, int depth) {
    DIR *dp = depth < 8 ? opendir(dir) : NULL;
    if (!dp) return;
    struct dirent *e;
    while ((e = readdir(dp)) && pci->n < 4096) {
        unsigned dom, bus, dev, fn;
        if (strlen(e->d_name) != 12 || !kperf__pci_parse(e->d_name, &dom, &bus, &dev, &fn))
            continue;
        char path[PATH_MAX], buf[32];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) continue;
        if (pci->n == pci->cap) {
            size_t cap = pci->cap ? pci->cap * 2 : 16;
            void *p = KPERF_REALLOC(pci->d, cap * sizeof *pci->d);
            if (!p) break;
            pci->d = (kperf__pci_dev *)p, pci->cap = cap;
        }
        kperf__pci_dev *d = &pci->d[pci->n];
        snprintf(d->name, sizeof d->name, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
        d->bus = bus, d->dev = dev, d->fn = fn, d->parent = parent;
        snprintf(path, sizeof path, "%s/%s/class", dir, e->d_name);
        d->cls = kperf__read_file(path, buf, sizeof buf) > 0 ? (unsigned)strtoul(buf, NULL, 16) : 0;
        int me = (int)pci->n++;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        kperf__pci_walk(pci, path, me, depth + 1);
    }
    closedir(dp);
}

static void kperf__pci_scan(kperf__pci *pci, const char *root) {
    char dir[PATH_MAX];
    kperf__dev_path(dir, sizeof dir, root, "/sys/devices");
    DIR *dp = opendir(dir);
    if (!dp) return;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (!strncmp(e->d_name, "pci", 3)) {
            char path[PATH_MAX];
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            kperf__pci_walk(pci, path, -1, 0);
        }
    closedir(dp);
}

/* The root port above device i that sits on `bus` (and in [bdf_min, bdf_max] when the
 * PMU has them), or -1. */
static int kperf__pci_root_port(const kperf__pci *pci, size_t i, long bus, long bmin, long bmax) {
    for (int p = pci->d[i].parent, hops = 0; p >= 0 && hops < 16; p = pci->d[p].parent, hops++) {
        const kperf__pci_dev *d = &pci->d[p];
        long bdf = (long)(d->bus << 8 | d->dev << 3 | d->fn);
        if (kperf__pci_is_bridge(d) && (long)d->bus == bus &&
            (bmin < 0 || (bdf >= bmin && bdf <= bmax)))
            return p;
    }
    return -1;
}

/* The PCIe PMU's root bus and optional root port range, from its sysfs directory. */
static long kperf__pcie_pmu_bus(const char *root, const char *pmu, long *bmin, long *bmax) {
    char path[PATH_MAX];
    kperf__dev_path(path, sizeof path, root, "/sys/bus/event_source/devices/%s/bdf_min", pmu);
    *bmin = kperf__dev_read_long(path, -1);
    kperf__dev_path(path, sizeof path, root, "/sys/bus/event_source/devices/%s/bdf_max", pmu);
    *bmax = kperf__dev_read_long(path, -1);
    if (*bmin < 0 || *bmax < 0) *bmin = *bmax = -1;
    kperf__dev_path(path, sizeof path, root, "/sys/bus/event_source/devices/%s/bus", pmu);
    return kperf__dev_read_long(path, -1);
}

/* ---- IOMMU tree: <root>/sys/class/iommu/smmu3.0x<base>/devices/<BDF> ---- */

/* The PMCG PMU of an SMMU: the driver names it after its page frame, and the PMCG
 * registers sit 0x20000 above the SMMU base ("smmu3.0x0000000148000000" ->
 * "smmuv3_pmcg_148020"). Returns false for a name that is not an SMMUv3. */
static bool kperf__smmu_pmcg_name(const char *iommu, char *out, size_t size) {
    unsigned long long base;
    char tail;
    if (sscanf(iommu, "smmu3.0x%llx%c", &base, &tail) != 1) return false;
    snprintf(out, size, "smmuv3_pmcg_%llx", (base + 0x20000ull) >> 12);
    return true;
}

typedef struct kperf__bdfs {
    char (*v)[16];
    char (*owner)[64];  /* PCIe PMU or SMMU PMCG that sees the device */
    char (*port)[16];   /* PCIe: the root port above it */
    size_t n, cap;
} kperf__bdfs;

static int kperf__bdfs_add(kperf__bdfs *b, const char *bdf, const char *owner, const char *port) {
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->v[i], bdf) && !strcmp(b->owner[i], owner)) return 0;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        void *v = KPERF_REALLOC(b->v, cap * sizeof *b->v);
        if (v) b->v = (char(*)[16])v;
        void *o = KPERF_REALLOC(b->owner, cap * sizeof *b->owner);
        if (o) b->owner = (char(*)[64])o;
        void *p = KPERF_REALLOC(b->port, cap * sizeof *b->port);
        if (p) b->port = (char(*)[16])p;
        if (!v || !o || !p) return -ENOMEM;
        b->cap = cap;
    }
    snprintf(b->v[b->n], 16, "%s", bdf);
    snprintf(b->owner[b->n], 64, "%s", owner);
    snprintf(b->port[b->n], 16, "%s", port ? port : "");
    b->n++;
    return 0;
}

static void kperf__bdfs_free(kperf__bdfs *b) {
    KPERF_FREE(b->v);
    KPERF_FREE(b->owner);
    KPERF_FREE(b->port);
    memset(b, 0, sizeof *b);
}

/* Endpoints below the root ports of every PCIe PMU that a BDF-filtered row names. */
static int kperf__bdfs_pcie(kperf__bdfs *b, const kperf_pmus *pmus) {
    const char *root = kperf_pmus_root(pmus);
    kperf__pci pci;
    memset(&pci, 0, sizeof pci);
    kperf__pci_scan(&pci, root);
    int rc = 0;
    for (size_t j = 0; j < kperf_pmus_count(pmus) && rc == 0; j++) {
        const kperf_pmu *p = kperf_pmus_at(pmus, j);
        bool pcie = false;
        for (size_t r = 0; r < KPERF__NROWS; r++)
            if (kperf__metric_rows[r].filter == KPERF__MF_BDF &&
                kperf__dev_row_matches(&kperf__metric_rows[r], p))
                pcie = true;
        long bmin, bmax, bus = pcie ? kperf__pcie_pmu_bus(root, p->name, &bmin, &bmax) : -1;
        for (size_t i = 0; bus > 0 && i < pci.n && rc == 0; i++) {
            if (kperf__pci_is_bridge(&pci.d[i])) continue;
            int rp = kperf__pci_root_port(&pci, i, bus, bmin, bmax);
            if (rp >= 0) rc = kperf__bdfs_add(b, pci.d[i].name, p->name, pci.d[rp].name);
        }
    }
    KPERF_FREE(pci.d);
    return rc;
}

/* PCI devices listed under an SMMU whose PMCG PMU is in the registry. */
static int kperf__bdfs_smmu(kperf__bdfs *b, const kperf_pmus *pmus) {
    char dir[PATH_MAX];
    kperf__dev_path(dir, sizeof dir, kperf_pmus_root(pmus), "/sys/class/iommu");
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(dp))) {
        char pmcg[64], sub[PATH_MAX];
        if (!kperf__smmu_pmcg_name(e->d_name, pmcg, sizeof pmcg) || !kperf_pmus_find(pmus, pmcg))
            continue;
        snprintf(sub, sizeof sub, "%s/%s/devices", dir, e->d_name);
        DIR *dd = opendir(sub);
        struct dirent *f;
        while (dd && rc == 0 && (f = readdir(dd))) {
            unsigned dom, bus, dev, fn;
            char name[16];
            if (!kperf__pci_parse(f->d_name, &dom, &bus, &dev, &fn) || strchr(f->d_name, '.') == NULL)
                continue;
            snprintf(name, sizeof name, "%04x:%02x:%02x.%x", dom, bus, dev, fn);
            rc = kperf__bdfs_add(b, name, pmcg, NULL);
        }
        if (dd) closedir(dd);
    }
    closedir(dp);
    return rc;
}

static int kperf__str_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

KPERF_API int kperf_device_bdf_list(const kperf_pmus *pmus, kperf_bdf_type type, char ***out) {
    if (!out) return kperf__fail(EINVAL, "kperf_device_bdf_list: out is NULL");
    *out = NULL;
    const kperf_pmus *use;
    kperf_pmus *owned;
    int rc = kperf__dev_registry(pmus, NULL, &use, &owned);
    if (rc < 0) return rc;
    kperf__bdfs b;
    memset(&b, 0, sizeof b);
    rc = type == KPERF_BDF_SMMU ? kperf__bdfs_smmu(&b, use) : kperf__bdfs_pcie(&b, use);
    char **list = rc == 0 ? (char **)kperf__calloc(b.n + 1, sizeof *list) : NULL;
    size_t n = 0;
    for (size_t i = 0; list && i < b.n; i++) {
        bool dup = false;
        for (size_t k = 0; k < n; k++) dup |= !strcmp(list[k], b.v[i]);
        if (!dup && !(list[n] = kperf__strdup(b.v[i]))) break;
        if (!dup) n++;
    }
    kperf__bdfs_free(&b);
    kperf_pmus_close(owned);
    if (!list) return kperf__fail(ENOMEM, "kperf_device_bdf_list: out of memory");
    qsort(list, n, sizeof *list, kperf__str_cmp);
    *out = list;
    return (int)n;
}

KPERF_API void kperf_device_bdf_list_free(char **list) {
    for (size_t i = 0; list && list[i]; i++) KPERF_FREE(list[i]);
    KPERF_FREE(list);
}

/* ---- the device object: plan, open, read, compute ---- */

typedef struct kperf__dev_item {
    char name[160];     /* metric name, or the raw event spec as requested */
    char unit[16];
    uint8_t kind, mode;
    bool mode_set;
} kperf__dev_item;

typedef struct kperf__dev_key {  /* one instance row of an item */
    int item;
    char where[64];
    int cpu, numa, socket, channel;
} kperf__dev_key;

typedef struct kperf__dev_evx {  /* private part of a planned event */
    int key;
    int role;           /* which of the row's events: 0, 1 or 2 */
    double weight;      /* multiplies the count before summing (bytes, .scale) */
} kperf__dev_evx;

struct kperf_device {
    const kperf_pmus *pmus;
    kperf_pmus *owned;
    kperf__dev_item *items;
    size_t nitems;
    kperf_device_event *ev;
    kperf__dev_evx *evx;
    size_t nev, capev;
    kperf__dev_key *keys;
    size_t nkeys, capkeys;
    int *fds;           /* NULL for a plan */
    int *node, *socket; /* per CPU topology cache; -2 = not read yet */
    int ncpu_cache;
    kperf__bdfs pcie, smmu;
    bool have_pcie, have_smmu;
};

static void kperf__dev_topo(kperf_device *d, int cpu, int *node, int *socket) {
    *node = *socket = -1;
    if (cpu < 0 || cpu >= KPERF__DEV_MAXCPU) return;
    if (!d->node) {
        d->node = (int *)kperf__calloc(KPERF__DEV_MAXCPU, sizeof(int));
        d->socket = (int *)kperf__calloc(KPERF__DEV_MAXCPU, sizeof(int));
        if (!d->node || !d->socket) return;
        for (int i = 0; i < KPERF__DEV_MAXCPU; i++) d->node[i] = d->socket[i] = -2;
    }
    if (d->node[cpu] == -2) {
        const char *root = kperf_pmus_root(d->pmus);
        d->node[cpu] = kperf__dev_cpu_node(root, cpu);
        d->socket[cpu] = kperf__dev_cpu_topo(root, cpu, "physical_package_id");
    }
    *node = d->node[cpu], *socket = d->socket[cpu];
}

static int kperf__dev_terms(const kperf_pmu *p, const char *terms, uint64_t cfg[4],
                            double *scale, char *unit, int depth);

static const kperf_pmu_alias *kperf__dev_alias(const kperf_pmu *p, const char *name, size_t len) {
    for (size_t i = 0; i < p->naliases; i++)
        if (strlen(p->aliases[i].name) == len && !strncmp(p->aliases[i].name, name, len))
            return &p->aliases[i];
    return NULL;
}

/* Encodes one term ("event=0x84", "config2=0x5", "flux_rd", "filter_enable") into cfg. */
static int kperf__dev_term(const kperf_pmu *p, const char *t, size_t len, uint64_t cfg[4],
                           double *scale, char *unit, int depth) {
    const char *eq = (const char *)memchr(t, '=', len);
    size_t klen = eq ? (size_t)(eq - t) : len;
    char key[64], val[64];
    if (klen == 0 || klen >= sizeof key || (eq && len - klen - 1 >= sizeof val))
        return kperf__fail(KPERF_EPARSE, "%s: malformed term '%.*s'", p->name, (int)len, t);
    memcpy(key, t, klen), key[klen] = 0;
    uint64_t v = 1;
    if (eq) {
        memcpy(val, eq + 1, len - klen - 1), val[len - klen - 1] = 0;
        char *end;
        errno = 0;
        v = strtoull(val, &end, 0);
        if (end == val || *end || errno)
            return kperf__fail(KPERF_EPARSE, "%s: term '%s' has a bad value '%s' (a number "
                               "such as 0x1f or 31)", p->name, key, val);
    }
    static const char *const words[] = {"config", "config1", "config2", "config3"};
    for (int w = 0; w < 4; w++)
        if (!strcmp(key, words[w])) return cfg[w] = v, 0;
    if (!eq && depth < 2) {
        const kperf_pmu_alias *a = kperf__dev_alias(p, key, klen);
        if (a) {
            if (scale) *scale = a->scale;
            if (unit) snprintf(unit, 16, "%s", a->unit);
            return kperf__dev_terms(p, a->terms, cfg, NULL, NULL, depth + 1);
        }
    }
    if (!kperf__dev_has_format(p, key))
        return kperf__fail(KPERF_ENOEVENT, "%s has no event or format field '%s' (see %s/events "
                           "and %s/format in sysfs)", p->name, key, p->name, p->name);
    return kperf_pmu_encode(p, key, v, cfg);
}

/* Encodes a comma-separated term list through the PMU's format files and aliases. */
static int kperf__dev_terms(const kperf_pmu *p, const char *terms, uint64_t cfg[4],
                            double *scale, char *unit, int depth) {
    const char *s = terms;
    while (*s) {
        while (*s == ',' || *s == ' ') s++;
        size_t len = strcspn(s, ",");
        while (len && s[len - 1] == ' ') len--;
        if (len) {
            int rc = kperf__dev_term(p, s, len, cfg, scale, unit, depth);
            if (rc < 0) return rc;
        }
        s += strcspn(s, ",");
    }
    return 0;
}

static int kperf__dev_key_get(kperf_device *d, int item, const char *where, int cpu, int channel) {
    for (size_t k = d->nkeys; k-- > 0;) {
        if (d->keys[k].item != item) break;
        if (!strcmp(d->keys[k].where, where)) return (int)k;
    }
    if (d->nkeys == d->capkeys) {
        size_t cap = d->capkeys ? d->capkeys * 2 : 32;
        void *p = KPERF_REALLOC(d->keys, cap * sizeof *d->keys);
        if (!p) return kperf__fail(ENOMEM, "kperf_device: out of memory");
        d->keys = (kperf__dev_key *)p, d->capkeys = cap;
    }
    kperf__dev_key *k = &d->keys[d->nkeys];
    memset(k, 0, sizeof *k);
    k->item = item, k->cpu = cpu, k->channel = channel;
    snprintf(k->where, sizeof k->where, "%s", where);
    kperf__dev_topo(d, cpu, &k->numa, &k->socket);
    return (int)d->nkeys++;
}

/* Appends one event "pmu/terms[,extra]/" on cpu to the plan. */
static int kperf__dev_add(kperf_device *d, const kperf_pmu *p, const char *terms,
                          const char *extra, int cpu, int leader, int key, int role,
                          double weight) {
    if (d->nev == d->capev) {
        size_t cap = d->capev ? d->capev * 2 : 64;
        void *a = KPERF_REALLOC(d->ev, cap * sizeof *d->ev);
        if (a) d->ev = (kperf_device_event *)a;
        void *b = KPERF_REALLOC(d->evx, cap * sizeof *d->evx);
        if (b) d->evx = (kperf__dev_evx *)b;
        if (!a || !b) return kperf__fail(ENOMEM, "kperf_device: out of memory");
        d->capev = cap;
    }
    kperf_device_event *e = &d->ev[d->nev];
    memset(e, 0, sizeof *e);
    uint64_t cfg[4] = {0, 0, 0, 0};
    int rc = kperf__dev_terms(p, terms, cfg, NULL, NULL, 0);
    if (rc == 0 && extra && *extra) rc = kperf__dev_terms(p, extra, cfg, NULL, NULL, 0);
    if (rc < 0) return rc;
    snprintf(e->spec, sizeof e->spec, "%s/%s%s%s/", p->name, terms, extra && *extra ? "," : "",
             extra ? extra : "");
    snprintf(e->pmu, sizeof e->pmu, "%s", p->name);
    e->type = p->type;
    memcpy(e->config, cfg, sizeof e->config);
    e->cpu = cpu;
    e->leader = leader < 0 ? (int)d->nev : leader;
    e->item = d->keys[key].item;
    d->evx[d->nev] = (kperf__dev_evx){key, role, weight};
    d->nev++;
    return 0;
}

/* The channel number in a DDR PMU name: the first number after its last letter
 * ("hisi_sccl1_ddrc3_0" -> 3, "uncore_imc_4" -> 4); -1 when there is none. */
static int kperf__dev_channel(const char *name) {
    const char *s = name, *last = NULL;
    for (; *s; s++)
        if (isalpha((unsigned char)*s)) last = s;
    if (!last) return -1;
    for (s = last + 1; *s && !isdigit((unsigned char)*s); s++) {}
    return *s ? atoi(s) : -1;
}

/* The CPUs a row's events open on: an uncore PMU on the CPUs of its cpumask (one counter
 * per CPU listed, never per thread); a core PMU on every CPU it covers. */
static int kperf__dev_cpus(kperf_device *d, const kperf_pmu *p, int mode, const char *what,
                           int *cpus, int cap) {
    if (p->cpumask_invalid)
        return kperf__fail(KPERF_ENOTSUP, "%s: PMU %s has no owning CPU: its cpumask reads -1 "
                           "(every CPU it serves is offline); bring one online with echo 1 > "
                           "/sys/devices/system/cpu/cpuN/online", what, p->name);
    if (p->ncpus) {
        int n = 0;
        for (size_t i = 0; i < p->ncpus && n < cap; i++) cpus[n++] = p->cpus[i];
        return n;
    }
    int n = kperf__dev_online(kperf_pmus_root(d->pmus), cpus, cap);
    return mode == KPERF_METRIC_PER_CORE || p->is_core ? n : 1;
}

/* One instance of a row: where its values go and the filter term its events carry. */
typedef struct kperf__dev_target {
    char where[64];
    char extra[48];
} kperf__dev_target;

static bool kperf__dev_bdf_eq(const char *a, const char *b) {
    unsigned d1, b1, v1, f1, d2, b2, v2, f2;
    return kperf__pci_parse(a, &d1, &b1, &v1, &f1) && kperf__pci_parse(b, &d2, &b2, &v2, &f2) &&
           d1 == d2 && b1 == b2 && v1 == v2 && f1 == f2;
}

static unsigned kperf__dev_bdf16(const char *bdf) {
    unsigned dom, bus, dev, fn;
    return kperf__pci_parse(bdf, &dom, &bus, &dev, &fn) ? (bus << 8 | dev << 3 | fn) : 0;
}

/* hisi_pcie `port` bitmap bit of a root port: two bits per device number, counted from
 * the PMU's first root port (kernel doc: 00:00.0 -> bit 0, 00:04.0 -> bit 8). */
static unsigned kperf__dev_port_bit(const kperf_device *d, const char *pmu, const char *port) {
    long bmin, bmax;
    kperf__pcie_pmu_bus(kperf_pmus_root(d->pmus), pmu, &bmin, &bmax);
    unsigned slot = (kperf__dev_bdf16(port) >> 3) & 0x1f;
    unsigned first = bmin >= 0 ? ((unsigned)bmin >> 3) & 0x1f : 0;
    return slot >= first ? (slot - first) * 2 : 99;
}

/* Device targets of a filtered row on PMU p (PCIe endpoints or ports, SMMU streams). */
static int kperf__dev_targets(kperf_device *d, const kperf__metric_row *r, const kperf_pmu *p,
                              const char *want, kperf__dev_target *t, int cap) {
    const kperf__bdfs *b = r->filter == KPERF__MF_STREAM ? &d->smmu : &d->pcie;
    int n = 0;
    for (size_t i = 0; i < b->n && n < cap; i++) {
        if (strcmp(b->owner[i], p->name)) continue;
        bool port = r->filter == KPERF__MF_PORT;
        if (want && !kperf__dev_bdf_eq(want, b->v[i]) && !(port && kperf__dev_bdf_eq(want, b->port[i])))
            continue;
        const char *where = port ? b->port[i] : b->v[i];
        bool dup = false;
        for (int k = 0; k < n; k++) dup |= !strcmp(t[k].where, where);
        if (dup) continue;
        snprintf(t[n].where, sizeof t[n].where, "%s", where);
        if (r->filter == KPERF__MF_BDF)
            snprintf(t[n].extra, sizeof t[n].extra, "bdf=0x%x", kperf__dev_bdf16(where));
        else if (r->filter == KPERF__MF_STREAM)
            snprintf(t[n].extra, sizeof t[n].extra, "filter_stream_id=0x%x", kperf__dev_bdf16(where));
        else {
            unsigned bit = kperf__dev_port_bit(d, p->name, where);
            if (bit > 15) continue;
            snprintf(t[n].extra, sizeof t[n].extra, "port=0x%x", 1u << bit);
        }
        n++;
    }
    return n;
}

static void kperf__dev_where(char *out, size_t size, const kperf_pmu *p, int mode, int cpu,
                             int ncpus, int channel, int node) {
    if (mode == KPERF_METRIC_PER_CORE) {
        snprintf(out, size, "cpu%d", cpu);
    } else if (mode == KPERF_METRIC_PER_NUMA && node >= 0) {
        snprintf(out, size, "node%d", node);
    } else {
        char at[24] = "", ch[16] = "";
        if (ncpus > 1) snprintf(at, sizeof at, "@cpu%d", cpu);
        if (channel >= 0 && mode == KPERF_METRIC_PER_CHANNEL && kperf__dev_channel(p->name) != channel)
            snprintf(ch, sizeof ch, "/ch%d", channel);
        snprintf(out, size, "%s%s%s", p->name, ch, at);
    }
}

/* Adds the events of one row on one PMU: per CPU, per device target, one group of the
 * row's events (so that ratio parts start and stop together). */
static int kperf__dev_plan_row(kperf_device *d, int item, const kperf__metric_row *r,
                               const kperf_pmu *p, const char *want) {
    int *cpus = (int *)kperf__calloc(KPERF__DEV_MAXCPU, sizeof(int));
    kperf__dev_target *t = (kperf__dev_target *)kperf__calloc(64, sizeof *t);
    int rc = cpus && t ? 0 : kperf__fail(ENOMEM, "kperf_device: out of memory");
    int ncpu = rc ? 0 : kperf__dev_cpus(d, p, r->mode, r->metric, cpus, KPERF__DEV_MAXCPU);
    int nt = 1;
    if (ncpu < 0) rc = ncpu;
    else if (r->filter != KPERF__MF_NONE) nt = kperf__dev_targets(d, r, p, want, t, 64);
    for (int c = 0; rc == 0 && c < ncpu; c++) {
        for (int k = 0; rc == 0 && k < nt; k++) {
            int node, sock, ch = r->channel >= 0 ? r->channel : kperf__dev_channel(p->name);
            kperf__dev_topo(d, cpus[c], &node, &sock);
            if (r->filter == KPERF__MF_NONE)
                kperf__dev_where(t[k].where, sizeof t[k].where, p, r->mode, cpus[c], ncpu, ch, node);
            int key = kperf__dev_key_get(d, item, t[k].where, cpus[c],
                                         r->mode == KPERF_METRIC_PER_CHANNEL ? ch : -1);
            int leader = -1;
            for (int e = 0; rc == 0 && e < 3 && r->ev[e] && key >= 0; e++) {
                rc = kperf__dev_add(d, p, r->ev[e], t[k].extra, cpus[c], leader, key, e,
                                    e == 0 ? r->scale : 1.0);
                if (leader < 0) leader = (int)d->nev - 1;
            }
            if (key < 0) rc = key;
        }
    }
    KPERF_FREE(cpus);
    KPERF_FREE(t);
    return rc;
}

static int kperf__dev_item_new(kperf_device *d, const char *name, size_t len) {
    void *p = KPERF_REALLOC(d->items, (d->nitems + 1) * sizeof *d->items);
    if (!p) return kperf__fail(ENOMEM, "kperf_device: out of memory");
    d->items = (kperf__dev_item *)p;
    kperf__dev_item *it = &d->items[d->nitems];
    memset(it, 0, sizeof *it);
    snprintf(it->name, sizeof it->name, "%.*s", (int)(len < 159 ? len : 159), name);
    return (int)d->nitems++;
}

/* Plans one metric: every row whose PMU pattern matches a PMU of the registry. */
static int kperf__dev_plan_metric(kperf_device *d, const kperf_metric_info *m, const char *want) {
    int item = kperf__dev_item_new(d, m->name, strlen(m->name));
    if (item < 0) return item;
    kperf__dev_item *it = &d->items[item];
    snprintf(it->unit, sizeof it->unit, "%s", m->unit);
    size_t before = d->nev;
    bool matched = false, filtered = false;
    for (size_t i = 0; i < KPERF__NROWS; i++) {
        const kperf__metric_row *r = &kperf__metric_rows[i];
        if (strcmp(r->metric, m->name)) continue;
        for (size_t j = 0; j < kperf_pmus_count(d->pmus); j++) {
            const kperf_pmu *p = kperf_pmus_at(d->pmus, j);
            if (!kperf__dev_row_matches(r, p)) continue;
            if (!d->items[item].mode_set)
                d->items[item].kind = r->kind, d->items[item].mode = r->mode,
                d->items[item].mode_set = true;
            matched = true;
            filtered |= r->filter != KPERF__MF_NONE;
            int rc = kperf__dev_plan_row(d, item, r, p, want);
            if (rc < 0) return rc;
        }
    }
    if (!matched) return kperf__dev_nometric(m, kperf_pmus_root(d->pmus));
    if (d->nev == before && filtered)
        return kperf__fail(KPERF_ENOTARGET, "%s: %s%s%s; kperf_device_bdf_list() (kperf list "
                           "--metrics) lists the devices it can measure", m->name,
                           want ? "no such device " : "no device behind its PMU found under ",
                           want ? want : kperf_pmus_root(d->pmus),
                           want ? "" : "/sys/devices/pci* or /sys/class/iommu");
    return 0;
}

/* Whether `name` is an instance of the instance-less PMU name `base`: base followed by a
 * suffix of digits and underscores ("hisi_sccl1_ddrc" -> "hisi_sccl1_ddrc0",
 * "hisi_sccl1_ddrc3_0"; "uncore_imc" -> "uncore_imc_4"). */
static bool kperf__dev_instance_of(const char *name, const char *base, size_t blen) {
    if (strncmp(name, base, blen)) return false;
    const char *s = name + blen;
    bool digit = false;
    for (; *s; s++) {
        if (isdigit((unsigned char)*s)) digit = true;
        else if (*s != '_') return false;
    }
    return digit;
}

/* Plans one raw uncore event "pmu/terms/": on that PMU, or on every instance when the
 * name has no instance suffix; per instance values with .scale and .unit applied. */
static int kperf__dev_plan_event(kperf_device *d, const char *spec, size_t len) {
    const char *slash = (const char *)memchr(spec, '/', len);
    if (!slash || spec[len - 1] != '/' || slash == spec || slash + 1 >= spec + len - 1)
        return kperf__fail(KPERF_EPARSE, "'%.*s': an uncore event is written pmu/terms/, e.g. "
                           "hisi_sccl1_ddrc/flux_rd/ or uncore_imc/event=0x04,umask=0x03/",
                           (int)len, spec);
    size_t blen = (size_t)(slash - spec);
    char base[64], terms[128];
    if (blen >= sizeof base || len - blen - 2 >= sizeof terms)
        return kperf__fail(KPERF_EPARSE, "'%.*s': too long", (int)len, spec);
    memcpy(base, spec, blen), base[blen] = 0;
    memcpy(terms, slash + 1, len - blen - 2), terms[len - blen - 2] = 0;
    int item = kperf__dev_item_new(d, spec, len);
    if (item < 0) return item;
    d->items[item].kind = KPERF__MK_SUM, d->items[item].mode = KPERF_METRIC_PER_PMU;
    const kperf_pmu *exact = kperf_pmus_find(d->pmus, base);
    size_t found = 0;
    for (size_t j = 0; j < kperf_pmus_count(d->pmus); j++) {
        const kperf_pmu *p = kperf_pmus_at(d->pmus, j);
        if (exact ? p != exact : !kperf__dev_instance_of(p->name, base, blen)) continue;
        double scale = 1.0;
        char unit[16] = "";
        uint64_t cfg[4] = {0, 0, 0, 0};
        int rc = kperf__dev_terms(p, terms, cfg, &scale, unit, 0);
        if (rc < 0) return rc;
        if (!found++) snprintf(d->items[item].unit, sizeof d->items[item].unit, "%s", unit);
        kperf__metric_row r = {d->items[item].name, p->name, NULL, {terms, NULL, NULL}, scale, KPERF__MK_SUM,
                               KPERF_METRIC_PER_PMU, KPERF__MF_NONE, -1};
        rc = kperf__dev_plan_row(d, item, &r, p, NULL);
        if (rc < 0) return rc;
    }
    if (!found)
        return kperf__fail(KPERF_ENOPMU, "'%.*s': no PMU named %s or %s<N> under %s"
                           "/sys/bus/event_source/devices", (int)len, spec, base, base,
                           strcmp(kperf_pmus_root(d->pmus), "/") ? kperf_pmus_root(d->pmus) : "");
    return 0;
}

/* Splits a comma-separated list at commas outside `/.../` and calls fn on each part. */
static int kperf__dev_each(kperf_device *d, const char *list, const char *want, bool events) {
    const char *s = list;
    while (s && *s) {
        while (*s == ',' || *s == ' ') s++;
        size_t len = 0;
        bool in = false;
        for (; s[len] && (in || s[len] != ','); len++)
            if (s[len] == '/') in = !in;
        while (len && s[len - 1] == ' ') len--;
        if (len) {
            int rc;
            if (events) {
                rc = kperf__dev_plan_event(d, s, len);
            } else {
                const kperf_metric_info *m = kperf__dev_metric_find(s, len);
                rc = m ? kperf__dev_plan_metric(d, m, want) : kperf__dev_unknown_metric(s, len);
            }
            if (rc < 0) return rc;
        }
        s += len;
        while (*s && *s != ',') s++;
    }
    return 0;
}

KPERF_API void kperf_device_close(kperf_device *d) {
    if (!d) return;
    for (size_t i = 0; d->fds && i < d->nev; i++)
        if (d->fds[i] >= 0) close(d->fds[i]);
    KPERF_FREE(d->fds);
    KPERF_FREE(d->items);
    KPERF_FREE(d->ev);
    KPERF_FREE(d->evx);
    KPERF_FREE(d->keys);
    KPERF_FREE(d->node);
    KPERF_FREE(d->socket);
    kperf__bdfs_free(&d->pcie);
    kperf__bdfs_free(&d->smmu);
    kperf_pmus_close(d->owned);
    KPERF_FREE(d);
}

KPERF_API int kperf_device_plan(kperf_device **out, const kperf_device_desc *desc) {
    if (!out) return kperf__fail(EINVAL, "kperf_device_plan: out is NULL");
    *out = NULL;
    if (!desc || ((!desc->metrics || !*desc->metrics) && (!desc->events || !*desc->events)))
        return kperf__fail(EINVAL, "kperf_device_plan: name at least one metric (e.g. "
                           "DDR_READ_BW) or uncore event in the desc");
    kperf_device *d = (kperf_device *)kperf__calloc(1, sizeof *d);
    if (!d) return kperf__fail(ENOMEM, "kperf_device_plan: out of memory");
    int rc = kperf__dev_registry(desc->pmus, desc->root, &d->pmus, &d->owned);
    unsigned dom, bus, dv, fn;
    if (rc == 0 && desc->bdf && !kperf__pci_parse(desc->bdf, &dom, &bus, &dv, &fn))
        rc = kperf__fail(KPERF_EPARSE, "bad PCI address '%s': write it as 0000:31:00.0 or "
                         "31:00.0", desc->bdf);
    if (rc == 0) rc = kperf__bdfs_pcie(&d->pcie, d->pmus);
    if (rc == 0) rc = kperf__bdfs_smmu(&d->smmu, d->pmus);
    if (rc == 0) rc = kperf__dev_each(d, desc->metrics, desc->bdf, false);
    if (rc == 0) rc = kperf__dev_each(d, desc->events, NULL, true);
    if (rc < 0) {
        kperf_device_close(d);
        return rc;
    }
    *out = d;
    return 0;
}

KPERF_API size_t kperf_device_nevents(const kperf_device *d) { return d ? d->nev : 0; }

KPERF_API const kperf_device_event *kperf_device_event_at(const kperf_device *d, size_t i) {
    return d && i < d->nev ? &d->ev[i] : NULL;
}

KPERF_API size_t kperf_device_nitems(const kperf_device *d) { return d ? d->nitems : 0; }

KPERF_API int kperf_device_item(const kperf_device *d, size_t i, const char **name,
                                const char **unit, kperf_metric_mode *mode) {
    if (!d || i >= d->nitems) return kperf__fail(EINVAL, "kperf_device_item: no item %zu", i);
    if (name) *name = d->items[i].name;
    if (unit) *unit = d->items[i].unit;
    if (mode) *mode = (kperf_metric_mode)d->items[i].mode;
    return 0;
}

static int kperf__dev_open_one(kperf_device *d, size_t i) {
    const kperf_device_event *e = &d->ev[i];
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = e->type;
    a.config = e->config[0];
    a.config1 = e->config[1];
    a.config2 = e->config[2];
    a.read_format = PERF_FORMAT_TOTAL_TIME_ENABLED | PERF_FORMAT_TOTAL_TIME_RUNNING;
    a.disabled = e->leader == (int)i;  /* members follow their leader */
    int group = e->leader == (int)i ? -1 : d->fds[e->leader];
    long fd = kperf__sys_perf_event_open(&a, -1, e->cpu, group, PERF_FLAG_FD_CLOEXEC);
    if (fd >= 0) return d->fds[i] = (int)fd, 0;
    int err = errno;
    if (err == EACCES || err == EPERM)
        return kperf__fail(KPERF_EPARANOID, "%s on cpu %d: CPU-wide uncore counting needs "
                           "CAP_PERFMON (or root) or kernel.perf_event_paranoid <= 0 (%s)",
                           e->spec, e->cpu, strerror(err));
    return kperf__fail(err, "%s on cpu %d: perf_event_open failed: %s (the %s driver rejected "
                       "the event or CPU)", e->spec, e->cpu, strerror(err), e->pmu);
}

KPERF_API int kperf_device_open(kperf_device **out, const kperf_device_desc *desc) {
    int rc = kperf_device_plan(out, desc);
    if (rc < 0) return rc;
    kperf_device *d = *out;
    d->fds = (int *)kperf__calloc(d->nev ? d->nev : 1, sizeof(int));
    if (!d->fds) rc = kperf__fail(ENOMEM, "kperf_device_open: out of memory");
    for (size_t i = 0; d->fds && i < d->nev; i++) d->fds[i] = -1;
    for (size_t i = 0; rc == 0 && i < d->nev; i++) rc = kperf__dev_open_one(d, i);
    if (rc < 0) {
        kperf_device_close(d);
        *out = NULL;
    }
    return rc;
}

static int kperf__dev_ioctl_all(kperf_device *d, unsigned long req, const char *what) {
    if (!d || !d->fds)
        return kperf__fail(KPERF_ESTATE, "kperf_device_%s: the device was planned, not opened "
                           "(use kperf_device_open)", what);
    for (size_t i = 0; i < d->nev; i++) {
        if (d->ev[i].leader != (int)i && req != PERF_EVENT_IOC_RESET) continue;
        if (ioctl(d->fds[i], req, 0) < 0)
            return kperf__fail(errno, "kperf_device_%s: %s on cpu %d: %s", what, d->ev[i].spec,
                               d->ev[i].cpu, strerror(errno));
    }
    return 0;
}

KPERF_API int kperf_device_start(kperf_device *d) {
    int rc = kperf__dev_ioctl_all(d, PERF_EVENT_IOC_RESET, "start");
    return rc < 0 ? rc : kperf__dev_ioctl_all(d, PERF_EVENT_IOC_ENABLE, "start");
}

KPERF_API int kperf_device_stop(kperf_device *d) {
    return kperf__dev_ioctl_all(d, PERF_EVENT_IOC_DISABLE, "stop");
}

KPERF_API int kperf_device_read(kperf_device *d, kperf_device_count *counts) {
    if (!d || !d->fds || !counts)
        return kperf__fail(KPERF_ESTATE, "kperf_device_read: needs an opened device and a "
                           "counts array of kperf_device_nevents() entries");
    for (size_t i = 0; i < d->nev; i++) {
        uint64_t v[3];
        if (read(d->fds[i], v, sizeof v) != (ssize_t)sizeof v)
            return kperf__fail(errno ? errno : EIO, "kperf_device_read: %s on cpu %d: %s",
                               d->ev[i].spec, d->ev[i].cpu, strerror(errno ? errno : EIO));
        counts[i].value = v[0], counts[i].time_enabled = v[1], counts[i].time_running = v[2];
    }
    return 0;
}

/* The value of a row from its event sums s[role]. */
static double kperf__dev_value(int kind, const double s[3], double secs) {
    switch (kind) {
    case KPERF__MK_BW: return s[0] / 1048576.0 / secs;
    case KPERF__MK_SUM: return s[0];
    case KPERF__MK_RATIO: return s[1] != 0 ? s[0] / s[1] : KPERF__NAN;
    default: return s[1] - s[2] > 0 ? s[0] / (s[1] - s[2]) : KPERF__NAN;
    }
}

/* Sums the (multiplex-scaled, weighted) counts of one instance row by role. */
static void kperf__dev_sum(const kperf_device *d, const kperf_device_count *c, size_t key,
                           double s[3], bool *counted, bool *scaled) {
    s[0] = s[1] = s[2] = 0;
    *counted = true, *scaled = false;
    for (size_t i = 0; i < d->nev; i++) {
        if (d->evx[i].key != (int)key) continue;
        if (c[i].time_running == 0) {
            *counted = false;
            continue;
        }
        double v = (double)c[i].value;
        if (c[i].time_running < c[i].time_enabled) {
            v = v * (double)c[i].time_enabled / (double)c[i].time_running;
            *scaled = true;
        }
        s[d->evx[i].role] += v * d->evx[i].weight;
    }
}

static void kperf__dev_emit(kperf_metric_value *out, size_t cap, size_t n,
                            const kperf__dev_item *it, const kperf__dev_key *k, double value,
                            bool counted, bool scaled) {
    if (n >= cap) return;
    kperf_metric_value *v = &out[n];
    memset(v, 0, sizeof *v);
    v->name = it->name, v->unit = it->unit;
    v->mode = k ? (kperf_metric_mode)it->mode : KPERF_METRIC_TOTAL;
    snprintf(v->where, sizeof v->where, "%s", k ? k->where : "total");
    v->cpu = k ? k->cpu : -1, v->numa = k ? k->numa : -1;
    v->socket = k ? k->socket : -1, v->channel = k ? k->channel : -1;
    v->value = counted ? value : KPERF__NAN;
    v->counted = counted, v->scaled = scaled;
}

KPERF_API int kperf_device_compute(const kperf_device *d, const kperf_device_count *counts,
                                   uint64_t elapsed_ns, kperf_metric_value *out, size_t cap) {
    if (!d || (!counts && d->nev) || (!out && cap))
        return kperf__fail(EINVAL, "kperf_device_compute: NULL device, counts or out");
    double secs = (double)elapsed_ns / 1e9;
    size_t n = 0;
    for (size_t i = 0; i < d->nitems; i++) {
        const kperf__dev_item *it = &d->items[i];
        if (it->kind == KPERF__MK_BW && elapsed_ns == 0)
            return kperf__fail(EINVAL, "kperf_device_compute: %s is a rate and needs the "
                               "elapsed time (elapsed_ns is 0)", it->name);
        double tot[3] = {0, 0, 0};
        bool tcounted = true, tscaled = false;
        for (size_t k = 0; k < d->nkeys; k++) {
            if (d->keys[k].item != (int)i) continue;
            double s[3];
            bool counted, scaled;
            kperf__dev_sum(d, counts, k, s, &counted, &scaled);
            kperf__dev_emit(out, cap, n++, it, &d->keys[k], kperf__dev_value(it->kind, s, secs),
                            counted, scaled);
            for (int r = 0; r < 3; r++) tot[r] += s[r];
            tcounted &= counted, tscaled |= scaled;
        }
        kperf__dev_emit(out, cap, n++, it, NULL, kperf__dev_value(it->kind, tot, secs), tcounted,
                        tscaled);
    }
    return (int)n;
}
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
