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
 *  (`config:0-7,32-35,59-60` has three ranges). Value bits fill the ranges in order,
 *  lowest value bits into the first (lowest) range, as the kernel and perf do. */
typedef struct kperf_pmu_format {
    char name[32];          /**< term name, e.g. "event", "umask" */
    uint8_t word;           /**< 0 = config, 1 = config1, 2 = config2, 3 = config3 */
    uint8_t nranges;        /**< number of valid entries in ranges */
    /** An inclusive bit range of the attr word. */
    struct kperf_pmu_range {
        uint8_t lo;         /**< lowest bit, 0..63 */
        uint8_t hi;         /**< highest bit, lo <= hi <= 63 */
    } ranges[8];            /**< bit ranges, sorted by lo (lowest value bits first) */
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
    kperf_pmu_format *formats;  /**< `format/` fields, sorted by name */
    size_t nformats;        /**< number of formats */
    kperf_pmu_alias *aliases;   /**< `events/` aliases, sorted by name */
    size_t naliases;        /**< number of aliases */
    int *cpus;              /**< from `cpumask` (uncore) or `cpus` (core PMU), ascending */
    size_t ncpus;           /**< 0 when the PMU has neither file, or cpumask reads -1 */
    bool cpumask_invalid;   /**< `cpumask` reads -1: no online CPU owns the PMU (HiSilicon
                                 uncore PMUs whose CPUs are all offline); it cannot count */
    bool is_core;           /**< a CPU core PMU: "cpu", "cpu_core", "cpu_atom", "armv8_*",
                                 "armv9_*", or a PMU with a `cpus` file */
    bool is_uncore;         /**< has a `cpumask`, is not a core PMU and not arm_spe_* */
} kperf_pmu;

/** The PMU registry: every PMU of one sysfs tree. Opaque. */
typedef struct kperf_pmus kperf_pmus;

/** @brief Discovers every PMU under `<root>/sys/bus/event_source/devices`.
 *  Entries may be directories (fake trees) or symlinks (real sysfs); an entry without a
 *  readable `type` file is skipped.
 *  @param out receives the registry; NULL on failure.
 *  @param root the sysfs root ("/" for the real machine); NULL means the environment
 *  variable KPERF_SYSFS_ROOT, else "/".
 *  @return 0, or a negative error code (-ENOENT when the devices directory is missing).
 *  *Ownership:* free with kperf_pmus_close(). *Thread safety:* read-only after open. */
KPERF_API int kperf_pmus_open(kperf_pmus **out, const char *root);

/** @brief Frees a registry; accepts NULL. Pointers obtained from it become invalid.
 *  @param pmus the registry. */
KPERF_API void kperf_pmus_close(kperf_pmus *pmus);

/** @brief Number of PMUs in the registry.
 *  @param pmus the registry.
 *  @return the count (0 for NULL). */
KPERF_API size_t kperf_pmus_count(const kperf_pmus *pmus);

/** @brief The i-th PMU (sorted by name).
 *  @param pmus the registry.
 *  @param i index, 0 <= i < kperf_pmus_count().
 *  @return the PMU (owned by the registry), or NULL when i is out of range. */
KPERF_API const kperf_pmu *kperf_pmus_at(const kperf_pmus *pmus, size_t i);

/** @brief The PMU with exactly this name.
 *  @param pmus the registry.
 *  @param name e.g. "cpu", "uncore_imc_0".
 *  @return the PMU (owned by the registry), or NULL. */
KPERF_API const kperf_pmu *kperf_pmus_find(const kperf_pmus *pmus, const char *name);

/** @brief The sysfs root the registry was read from.
 *  @param pmus the registry.
 *  @return the root, never NULL ("/" for the machine). */
KPERF_API const char *kperf_pmus_root(const kperf_pmus *pmus);

/** @brief Whether the registry describes a hybrid machine (two or more core PMUs such as
 *  cpu_core and cpu_atom), where a generic hardware event becomes one event per core PMU.
 *  @param pmus the registry.
 *  @return true on hybrid machines. */
KPERF_API bool kperf_pmus_hybrid(const kperf_pmus *pmus);

/** @brief The format field @p name of @p pmu.
 *  @param pmu a PMU of a registry.
 *  @param name a term name such as "event".
 *  @return the field (owned by the registry), or NULL. */
KPERF_API const kperf_pmu_format *kperf_pmu_format_find(const kperf_pmu *pmu, const char *name);

/** @brief The event alias @p name of @p pmu.
 *  @param pmu a PMU of a registry.
 *  @param name an alias name such as "cas_count_read".
 *  @return the alias (owned by the registry), or NULL. */
KPERF_API const kperf_pmu_alias *kperf_pmu_alias_find(const kperf_pmu *pmu, const char *name);

/** @brief Encodes `term=value` into the config words of @p pmu through its format field.
 *  The field's bits are cleared first, so a later term overrides an earlier one.
 *  @param pmu the PMU.
 *  @param term a format field name ("event", "umask", ...).
 *  @param value the value; its low bits fill the field's ranges lowest first.
 *  @param config the four attr words (config, config1, config2, config3), updated in place.
 *  @return 0, or -KPERF_EPARSE when the PMU has no such field or the value does not fit
 *  (the message names the field and the PMU). */
KPERF_API int kperf_pmu_encode(const kperf_pmu *pmu, const char *term, uint64_t value,
                               uint64_t config[4]);
// <<pmu

// >>topology ----------------------------------------------------------------------------

/** Where one CPU sits. Every field is the kernel's sysfs value, -1 when unknown. */
typedef struct kperf_cpu_topo {
    int cpu;                /**< logical CPU number */
    int core;               /**< `topology/core_id` (unique within a socket, not globally) */
    int cluster;            /**< `topology/cluster_id` (-1 on kernels without clusters) */
    int die;                /**< `topology/die_id` */
    int socket;             /**< `topology/physical_package_id` */
    int numa;               /**< NUMA node from `node/nodeN/cpulist`; 0 without NUMA */
} kperf_cpu_topo;

/** CPU topology of one sysfs tree: online CPUs and where each sits. Opaque. */
typedef struct kperf_topology kperf_topology;

/** How kperf_topology_freq() obtained a frequency. */
enum kperf_freq_source {
    KPERF_FREQ_CPUFREQ = 0,     /**< cpufreq `scaling_cur_freq` / `cpuinfo_cur_freq` */
    KPERF_FREQ_CPUINFO = 1,     /**< the "cpu MHz" line of /proc/cpuinfo */
    KPERF_FREQ_TSC = 2,         /**< measured: TSC ticks over a 20 ms CLOCK_MONOTONIC window
                                     (x86 only; the TSC rate, not the current clock) */
};

/** @brief Reads the CPU topology of `<root>/sys/devices/system` (cpu/online,
 *  cpuN/topology/ *, node/nodeN/cpulist).
 *  @param out receives the topology; NULL on failure.
 *  @param root the sysfs root; NULL means KPERF_SYSFS_ROOT, else "/".
 *  @return 0, or a negative error code (-ENOENT when cpu/online is missing).
 *  *Ownership:* free with kperf_topology_close(). *Thread safety:* read-only after open. */
KPERF_API int kperf_topology_open(kperf_topology **out, const char *root);

/** @brief Frees a topology; accepts NULL.
 *  @param t the topology. */
KPERF_API void kperf_topology_close(kperf_topology *t);

/** @brief The online CPUs, ascending.
 *  @param t the topology.
 *  @param n receives the number of online CPUs.
 *  @return the array (owned by @p t). */
KPERF_API const int *kperf_topology_cpus(const kperf_topology *t, size_t *n);

/** @brief Where @p cpu sits.
 *  @param t the topology.
 *  @param cpu a logical CPU number.
 *  @param out receives the placement.
 *  @return 0, or -ENOENT when @p cpu is not online. */
KPERF_API int kperf_topology_cpu(const kperf_topology *t, int cpu, kperf_cpu_topo *out);

/** @brief The online CPUs of NUMA node @p node (libkperf's get_numa_core).
 *  @param t the topology.
 *  @param node the node number.
 *  @param cpus receives the CPUs, ascending (owned by @p t).
 *  @param n receives their number.
 *  @return 0, or -ENOENT when the node does not exist. */
KPERF_API int kperf_topology_numa_cpus(const kperf_topology *t, int node, const int **cpus,
                                       size_t *n);

/** @brief The online CPUs whose `cluster_id` is @p cluster (libkperf's get_cluster_core).
 *  @param t the topology.
 *  @param cluster a cluster id as in kperf_cpu_topo::cluster.
 *  @param cpus receives a new array of CPUs, ascending; free it with kperf_cpulist_free().
 *  @param n receives their number.
 *  @return 0, or -ENOENT when no CPU is in that cluster, -ENOMEM. */
KPERF_API int kperf_topology_cluster_cpus(const kperf_topology *t, int cluster, int **cpus,
                                          size_t *n);

/** @brief Number of NUMA nodes (1 on machines without `node/`).
 *  @param t the topology.
 *  @return the count. */
KPERF_API int kperf_topology_numa_count(const kperf_topology *t);

/** @brief Current frequency of @p cpu, trying cpufreq, then /proc/cpuinfo, then a TSC
 *  measurement (on x86; it takes about 20 ms).
 *  @param t the topology (its root locates cpufreq and `proc/cpuinfo`; the TSC step runs
 *  only for the root "/").
 *  @param cpu a logical CPU number.
 *  @param khz receives the frequency in kHz.
 *  @return a ::kperf_freq_source (>= 0) naming the source used, or -ENOTSUP when every
 *  source failed. */
KPERF_API int kperf_topology_freq(const kperf_topology *t, int cpu, uint64_t *khz);

/** @brief Parses a kernel CPU list such as "0-3,8,10-11" (sysfs cpulist format).
 *  @param text the list; whitespace and a trailing newline are allowed; "" is empty.
 *  @param cpus receives a new array, ascending and without duplicates (NULL when empty);
 *  free it with kperf_cpulist_free().
 *  @param n receives the number of CPUs.
 *  @return 0, -KPERF_EPARSE (message gives the position), or -ENOMEM. CPU numbers above
 *  65535 are rejected. */
KPERF_API int kperf_cpulist_parse(const char *text, int **cpus, size_t *n);

/** @brief Frees an array from kperf_cpulist_parse() or kperf_topology_cluster_cpus();
 *  accepts NULL.
 *  @param cpus the array. */
KPERF_API void kperf_cpulist_free(int *cpus);
// <<topology

// >>events ------------------------------------------------------------------------------

/** Modifier bits of a parsed event (`:u :k :h :p :pp :ppp :D`, plus what kperf decides). */
enum kperf_event_flags {
    KPERF_EV_EXCLUDE_USER = 1u << 0,    /**< do not count user space */
    KPERF_EV_EXCLUDE_KERNEL = 1u << 1,  /**< do not count kernel space */
    KPERF_EV_EXCLUDE_HV = 1u << 2,      /**< do not count the hypervisor */
    KPERF_EV_PINNED = 1u << 3,          /**< `:D`, pinned: always on the PMU */
    KPERF_EV_FREQ = 1u << 4,            /**< the `freq=N` term: period holds a frequency */
};

/** One parsed event, ready to become a perf_event_attr. */
typedef struct kperf_event {
    char *spec;             /**< the text as written, e.g. "cycles:u" (for messages) */
    char *name;             /**< display name, e.g. "cycles:u", "hisi_sccl1_ddrc0/flux_rd/";
                                 the `name=` term replaces it */
    char *pmu;              /**< PMU name: "cpu", "software", "tracepoint", "cpu_core" ... */
    uint32_t type;          /**< perf_event_attr.type */
    uint64_t config[4];     /**< config, config1, config2, config3 */
    uint32_t flags;         /**< ::kperf_event_flags */
    uint8_t precise;        /**< precise_ip: 0..3 from :p, :pp, :ppp */
    int group;              /**< index of its group; events of one group share it */
    bool leader;            /**< first event of its group */
    double scale;           /**< multiply counts by this (1.0 unless sysfs says so) */
    char unit[16];          /**< unit after scaling, e.g. "MiB"; "" when none */
    const int *cpus;        /**< CPUs the event must be opened on: an uncore PMU's cpumask,
                                 or a hybrid core PMU's `cpus` (CPU-wide counting only);
                                 NULL = any CPU. Owned by the list. */
    size_t ncpus;           /**< number of entries in cpus */
    char *filter;           /**< tracepoint filter from `sys:name/filter/`, or NULL */
    uint64_t period;        /**< `period=N` (or `freq=N` with ::KPERF_EV_FREQ); 0 = unset */
} kperf_event;

/** A parsed event list: every event of a spec such as "{cycles,instructions},faults". */
typedef struct kperf_evlist {
    kperf_event *events;    /**< the events, in spec order; groups are contiguous */
    size_t nevents;         /**< number of events */
    int ngroups;            /**< number of groups (an event outside braces is its own) */
} kperf_evlist;

/** @brief Parses an event spec as `perf` writes them.
 *
 *  Accepts, separated by commas: generic hardware names (cycles, instructions, ...),
 *  software names (task-clock, page-faults, ...), cache names (L1-dcache-load-misses,
 *  LLC-loads, dTLB-load-misses, ...), `rNNNN` raw hex, `pmu/term=val,term,.../`,
 *  `pmu/alias/` and `pmu/alias,term=val/`, a bare alias name found in any PMU,
 *  `sys:name` tracepoints with an optional `/filter/` suffix, modifiers `:u :k :h :p :pp
 *  :ppp :D` (combinable, e.g. `:uk`), groups `{a,b}` with optional group modifiers.
 *  A PMU name may omit its `_N` suffix (`uncore_imc/cas_count_read/` means every
 *  uncore_imc_N); such an event, a bare alias found in several PMUs, and a generic
 *  hardware event on a hybrid machine (one per core PMU, PMU type in config bits 32-63)
 *  each become one event per PMU; inside braces this yields one group per PMU.
 *  @param out receives the list; NULL on failure.
 *  @param spec the spec text.
 *  @param pmus the registry to resolve PMU names in; NULL means the machine's (root from
 *  KPERF_SYSFS_ROOT, else "/"). Tracepoints are looked up in the tracefs of the registry's
 *  root (`<root>/sys/kernel/tracing`, then `<root>/sys/kernel/debug/tracing`).
 *  @return 0, or -KPERF_EPARSE (message gives the position and a caret line),
 *  -KPERF_ENOEVENT (message lists the closest known names), -KPERF_ENOPMU (message lists
 *  the PMUs that exist), -KPERF_ENOTRACEFS, -ENOMEM.
 *  *Ownership:* free with kperf_evlist_free(). The list does not point into @p pmus. */
KPERF_API int kperf_evlist_parse(kperf_evlist **out, const char *spec, const kperf_pmus *pmus);

/** @brief Frees a list from kperf_evlist_parse(); accepts NULL.
 *  @param list the list. */
KPERF_API void kperf_evlist_free(kperf_evlist *list);

/** Kinds of events for kperf_events_foreach() (libkperf's event_list types). */
enum kperf_event_kind {
    KPERF_EVENT_KIND_ALL = 0,       /**< every kind below */
    KPERF_EVENT_KIND_CORE = 1,      /**< generic hardware and cache names (only when a core
                                         PMU exists) and aliases of core PMUs */
    KPERF_EVENT_KIND_UNCORE = 2,    /**< aliases of uncore PMUs, as `pmu/alias/` */
    KPERF_EVENT_KIND_TRACEPOINT = 3,/**< `sys:name` from tracefs */
    KPERF_EVENT_KIND_SOFTWARE = 4,  /**< software names (task-clock, page-faults, ...) */
    KPERF_EVENT_KIND_OTHER = 5,     /**< aliases of other PMUs (msr/tsc/, arm_spe_0/...) */
};

/** One listed event. */
typedef struct kperf_event_info {
    const char *name;           /**< a spec that kperf_evlist_parse() accepts */
    const char *pmu;            /**< PMU name ("software", "tracepoint", "cpu", ...) */
    enum kperf_event_kind kind; /**< its kind (never ::KPERF_EVENT_KIND_ALL) */
    const char *desc;           /**< sysfs terms of an alias, a short text otherwise */
} kperf_event_info;

/** Callback of kperf_events_foreach(); a negative return stops the walk. */
typedef int (*kperf_event_fn)(const kperf_event_info *info, void *user);

/** @brief Calls @p fn for every known event of @p kind: generic names, aliases of the
 *  registry's PMUs (sorted by PMU then name) and tracepoints of its tracefs.
 *  @param pmus the registry; NULL means the machine's.
 *  @param kind which events.
 *  @param fn the callback; the info is valid during the call only.
 *  @param user passed to @p fn.
 *  @return the number of events visited, or the negative value @p fn returned, or a
 *  negative error code. A missing tracefs lists no tracepoints (not an error). */
KPERF_API int kperf_events_foreach(const kperf_pmus *pmus, enum kperf_event_kind kind,
                                   kperf_event_fn fn, void *user);

/** @brief The names of every event of @p kind as one array (libkperf's PmuEventList).
 *  @param pmus the registry; NULL means the machine's.
 *  @param kind which events.
 *  @param names receives a new array of new strings; free with kperf_event_names_free().
 *  @param n receives the count.
 *  @return 0, or a negative error code. */
KPERF_API int kperf_event_names(const kperf_pmus *pmus, enum kperf_event_kind kind,
                                char ***names, size_t *n);

/** @brief Frees an array from kperf_event_names(); accepts NULL.
 *  @param names the array.
 *  @param n its count. */
KPERF_API void kperf_event_names_free(char **names, size_t n);
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

#define KPERF__MAX_CPU 65536

struct kperf_pmus {
    char *root;
    kperf_pmu *pmus;
    size_t n;
};

/* The sysfs root to use: the argument, else $KPERF_SYSFS_ROOT, else "/". */
KPERF__PRIV const char *kperf__sysfs_root(const char *root) {
    if (root && *root) return root;
    const char *env = getenv("KPERF_SYSFS_ROOT");
    return env && *env ? env : "/";
}

/* The root as a path prefix: "" for "/", so that paths read "/sys/..." not "//sys/...". */
KPERF__PRIV const char *kperf__rp(const char *root) { return strcmp(root, "/") ? root : ""; }

/* snprintf into a path buffer; "" when it does not fit, so that open() fails cleanly. */
KPERF__PRIV const char *kperf__path(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
KPERF__PRIV const char *kperf__path(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size) buf[0] = 0;
    return buf;
}

static int kperf__int_cmp(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Parses a cpulist ("0-3,8"). On failure returns -KPERF_EPARSE with *pos set to the byte
 * offset of the problem (no message recorded). */
KPERF__PRIV int kperf__cpulist(const char *s, int **out, size_t *n, size_t *pos) {
    int *v = NULL;
    size_t nv = 0, cap = 0;
    const char *p = s;
    *out = NULL;
    *n = 0;
    while (isspace((unsigned char)*p)) p++;
    while (*p) {
        char *end;
        if (!isdigit((unsigned char)*p)) goto bad;
        long lo = strtol(p, &end, 10), hi = lo;
        p = end;
        if (*p == '-') {
            p++;
            if (!isdigit((unsigned char)*p)) goto bad;
            hi = strtol(p, &end, 10);
            p = end;
        }
        if (lo > hi || hi >= KPERF__MAX_CPU) goto bad;
        for (long c = lo; c <= hi; c++) {
            if (nv == cap) {
                size_t nc = cap ? cap * 2 : 16;
                int *nvp = (int *)KPERF_REALLOC(v, nc * sizeof *v);
                if (!nvp) return KPERF_FREE(v), -ENOMEM;
                v = nvp;
                cap = nc;
            }
            v[nv++] = (int)c;
        }
        while (isspace((unsigned char)*p)) p++;
        if (*p == ',') {
            p++;
            while (isspace((unsigned char)*p)) p++;
            if (!*p) goto bad;
        } else if (*p) {
            goto bad;
        }
    }
    if (nv > 1) {
        qsort(v, nv, sizeof *v, kperf__int_cmp);
        size_t w = 1;
        for (size_t i = 1; i < nv; i++)
            if (v[i] != v[w - 1]) v[w++] = v[i];
        nv = w;
    }
    *out = v;
    *n = nv;
    return 0;
bad:
    if (pos) *pos = (size_t)(p - s);
    KPERF_FREE(v);
    return -KPERF_EPARSE;
}

/* Parses one format file ("config1:0-7,32-35" or "config:63"). */
KPERF__PRIV int kperf__format_parse(const char *text, kperf_pmu_format *f) {
    const char *p = text;
    if (strncmp(p, "config", 6) != 0) return -KPERF_EPARSE;
    p += 6;
    f->word = 0;
    if (*p >= '1' && *p <= '3') f->word = (uint8_t)(*p++ - '0');
    if (*p++ != ':') return -KPERF_EPARSE;
    f->nranges = 0;
    while (*p) {
        char *end;
        if (!isdigit((unsigned char)*p)) return -KPERF_EPARSE;
        long lo = strtol(p, &end, 10), hi = lo;
        p = end;
        if (*p == '-') {
            if (!isdigit((unsigned char)p[1])) return -KPERF_EPARSE;
            hi = strtol(p + 1, &end, 10);
            p = end;
        }
        if (lo > hi || hi > 63 || f->nranges == 8) return -KPERF_EPARSE;
        f->ranges[f->nranges].lo = (uint8_t)lo;
        f->ranges[f->nranges].hi = (uint8_t)hi;
        f->nranges++;
        if (*p == ',') p++;
        else if (*p && !isspace((unsigned char)*p)) return -KPERF_EPARSE;
        else break;
    }
    if (!f->nranges) return -KPERF_EPARSE;
    for (int i = 1; i < f->nranges; i++) /* insertion sort by lo */
        for (int j = i; j > 0 && f->ranges[j].lo < f->ranges[j - 1].lo; j--) {
            struct kperf_pmu_range t = f->ranges[j];
            f->ranges[j] = f->ranges[j - 1];
            f->ranges[j - 1] = t;
        }
    return 0;
}

static int kperf__strptr_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}
static int kperf__format_cmp(const void *a, const void *b) {
    return strcmp(((const kperf_pmu_format *)a)->name, ((const kperf_pmu_format *)b)->name);
}
static int kperf__alias_cmp(const void *a, const void *b) {
    return strcmp(((const kperf_pmu_alias *)a)->name, ((const kperf_pmu_alias *)b)->name);
}
static int kperf__pmu_cmp(const void *a, const void *b) {
    return strcmp(((const kperf_pmu *)a)->name, ((const kperf_pmu *)b)->name);
}

/* Reads every entry name of a directory (skipping dot files) into a sorted array. */
KPERF__PRIV int kperf__dir_names(const char *path, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(path);
    if (!d) return -errno;
    char **v = NULL;
    size_t nv = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (nv == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **nvp = (char **)KPERF_REALLOC(v, nc * sizeof *v);
            if (!nvp) break;
            v = nvp;
            cap = nc;
        }
        if (!(v[nv] = kperf__strdup(e->d_name))) break;
        nv++;
    }
    closedir(d);
    if (e) { /* allocation failed mid-way */
        for (size_t i = 0; i < nv; i++) KPERF_FREE(v[i]);
        KPERF_FREE(v);
        return -ENOMEM;
    }
    if (nv > 1) qsort(v, nv, sizeof *v, kperf__strptr_cmp);
    *out = v;
    *n = nv;
    return 0;
}

KPERF__PRIV void kperf__names_free(char **v, size_t n) {
    for (size_t i = 0; v && i < n; i++) KPERF_FREE(v[i]);
    KPERF_FREE(v);
}

/* Copies with truncation; always NUL-terminates. */
KPERF__PRIV void kperf__strlcpy(char *dst, const char *src, size_t size) {
    size_t n = strlen(src);
    if (n >= size) n = size - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

KPERF__PRIV bool kperf__has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

KPERF__PRIV int kperf__pmu_read_formats(kperf_pmu *pmu, const char *dir) {
    char path[PATH_MAX], buf[256];
    char **names;
    size_t n;
    if (kperf__dir_names(kperf__path(path, sizeof path, "%s/format", dir), &names, &n) < 0)
        return 0; /* no format directory: software, tracepoint, ... */
    pmu->formats = (kperf_pmu_format *)kperf__calloc(n, sizeof *pmu->formats);
    if (!pmu->formats) return kperf__names_free(names, n), -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        kperf_pmu_format *f = &pmu->formats[pmu->nformats];
        if (strlen(names[i]) >= sizeof f->name) continue;
        if (kperf__read_file(kperf__path(path, sizeof path, "%s/format/%s", dir, names[i]), buf,
                             sizeof buf) < 0)
            continue;
        if (kperf__format_parse(buf, f) < 0) continue; /* unknown syntax: skip the field */
        strcpy(f->name, names[i]);
        pmu->nformats++;
    }
    kperf__names_free(names, n);
    qsort(pmu->formats, pmu->nformats, sizeof *pmu->formats, kperf__format_cmp);
    return 0;
}

KPERF__PRIV int kperf__pmu_read_aliases(kperf_pmu *pmu, const char *dir) {
    char path[PATH_MAX], buf[4096];
    char **names;
    size_t n;
    if (kperf__dir_names(kperf__path(path, sizeof path, "%s/events", dir), &names, &n) < 0)
        return 0;
    pmu->aliases = (kperf_pmu_alias *)kperf__calloc(n, sizeof *pmu->aliases);
    if (!pmu->aliases) return kperf__names_free(names, n), -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *nm = names[i];
        if (kperf__has_suffix(nm, ".scale") || kperf__has_suffix(nm, ".unit") ||
            kperf__has_suffix(nm, ".per-pkg") || kperf__has_suffix(nm, ".snapshot"))
            continue;
        if (kperf__read_file(kperf__path(path, sizeof path, "%s/events/%s", dir, nm), buf,
                             sizeof buf) < 0)
            continue;
        kperf_pmu_alias *a = &pmu->aliases[pmu->naliases];
        a->scale = 1.0;
        if (!(a->name = kperf__strdup(nm)) || !(a->terms = kperf__strdup(buf))) {
            KPERF_FREE(a->name);
            kperf__names_free(names, n);
            return -ENOMEM;
        }
        pmu->naliases++;
        if (kperf__read_file(kperf__path(path, sizeof path, "%s/events/%s.scale", dir, nm), buf,
                             sizeof buf) > 0) {
            char *end;
            double s = strtod(buf, &end);
            if (end != buf && s > 0) a->scale = s;
        }
        if (kperf__read_file(kperf__path(path, sizeof path, "%s/events/%s.unit", dir, nm), buf,
                             sizeof buf) > 0)
            kperf__strlcpy(a->unit, buf, sizeof a->unit);
    }
    kperf__names_free(names, n);
    qsort(pmu->aliases, pmu->naliases, sizeof *pmu->aliases, kperf__alias_cmp);
    return 0;
}

KPERF__PRIV bool kperf__pmu_name_is_core(const char *name) {
    return !strcmp(name, "cpu") || !strcmp(name, "cpu_core") || !strcmp(name, "cpu_atom") ||
           !strncmp(name, "armv8_", 6) || !strncmp(name, "armv9_", 6) ||
           !strncmp(name, "armv7_", 6);
}

KPERF__PRIV int kperf__pmu_read_cpus(kperf_pmu *pmu, const char *dir) {
    char path[PATH_MAX], buf[4096];
    bool has_mask = false, has_cpus = false;
    if (kperf__read_file(kperf__path(path, sizeof path, "%s/cpumask", dir), buf, sizeof buf) >= 0)
        has_mask = true;
    else if (kperf__read_file(kperf__path(path, sizeof path, "%s/cpus", dir), buf, sizeof buf) >=
             0)
        has_cpus = true;
    pmu->is_core = kperf__pmu_name_is_core(pmu->name) || has_cpus;
    pmu->is_uncore = has_mask && !pmu->is_core && strncmp(pmu->name, "arm_spe", 7) != 0;
    if (!has_mask && !has_cpus) return 0;
    char *p = buf;
    while (isspace((unsigned char)*p)) p++;
    if (!strncmp(p, "-1", 2)) {
        pmu->cpumask_invalid = true;
        return 0;
    }
    int rc = kperf__cpulist(p, &pmu->cpus, &pmu->ncpus, NULL);
    return rc == -ENOMEM ? rc : 0; /* a malformed list means "any CPU" */
}

KPERF__PRIV void kperf__pmu_free(kperf_pmu *pmu) {
    for (size_t i = 0; i < pmu->naliases; i++) {
        KPERF_FREE(pmu->aliases[i].name);
        KPERF_FREE(pmu->aliases[i].terms);
    }
    KPERF_FREE(pmu->aliases);
    KPERF_FREE(pmu->formats);
    KPERF_FREE(pmu->cpus);
    KPERF_FREE(pmu->name);
}

KPERF_API void kperf_pmus_close(kperf_pmus *pmus) {
    if (!pmus) return;
    for (size_t i = 0; i < pmus->n; i++) kperf__pmu_free(&pmus->pmus[i]);
    KPERF_FREE(pmus->pmus);
    KPERF_FREE(pmus->root);
    KPERF_FREE(pmus);
}

KPERF__PRIV int kperf__pmu_load(kperf_pmu *pmu, const char *devdir, const char *name) {
    char dir[PATH_MAX], path[PATH_MAX], buf[64];
    kperf__path(dir, sizeof dir, "%s/%s", devdir, name);
    if (kperf__read_file(kperf__path(path, sizeof path, "%s/type", dir), buf, sizeof buf) <= 0)
        return 1; /* not a PMU */
    char *end;
    unsigned long t = strtoul(buf, &end, 0);
    if (end == buf || t > UINT32_MAX) return 1;
    memset(pmu, 0, sizeof *pmu);
    pmu->type = (uint32_t)t;
    if (!(pmu->name = kperf__strdup(name))) return -ENOMEM;
    int rc = kperf__pmu_read_formats(pmu, dir);
    if (!rc) rc = kperf__pmu_read_aliases(pmu, dir);
    if (!rc) rc = kperf__pmu_read_cpus(pmu, dir);
    if (rc) kperf__pmu_free(pmu);
    return rc;
}

KPERF_API int kperf_pmus_open(kperf_pmus **out, const char *root) {
    char devdir[PATH_MAX];
    char **names = NULL;
    size_t n = 0;
    int rc;
    if (!out) return kperf__fail(EINVAL, "kperf_pmus_open: out is NULL");
    *out = NULL;
    root = kperf__sysfs_root(root);
    kperf__path(devdir, sizeof devdir, "%s/sys/bus/event_source/devices", kperf__rp(root));
    if ((rc = kperf__dir_names(devdir, &names, &n)) < 0)
        return kperf__fail(-rc, "cannot read the PMU list %s: %s (is sysfs mounted? is the root "
                                "'%s' right?)", devdir, strerror(-rc), root);
    kperf_pmus *p = (kperf_pmus *)kperf__calloc(1, sizeof *p);
    if (!p || !(p->root = kperf__strdup(root)) ||
        !(p->pmus = (kperf_pmu *)kperf__calloc(n, sizeof *p->pmus))) {
        kperf__names_free(names, n);
        kperf_pmus_close(p);
        return kperf__fail(ENOMEM, "out of memory reading %s", devdir);
    }
    for (size_t i = 0; i < n; i++) {
        rc = kperf__pmu_load(&p->pmus[p->n], devdir, names[i]);
        if (rc < 0) {
            kperf__names_free(names, n);
            kperf_pmus_close(p);
            return kperf__fail(-rc, "out of memory reading PMU %s", names[i]);
        }
        if (rc == 0) p->n++;
    }
    kperf__names_free(names, n);
    qsort(p->pmus, p->n, sizeof *p->pmus, kperf__pmu_cmp);
    *out = p;
    return 0;
}

KPERF_API size_t kperf_pmus_count(const kperf_pmus *pmus) { return pmus ? pmus->n : 0; }

KPERF_API const kperf_pmu *kperf_pmus_at(const kperf_pmus *pmus, size_t i) {
    return pmus && i < pmus->n ? &pmus->pmus[i] : NULL;
}

KPERF_API const kperf_pmu *kperf_pmus_find(const kperf_pmus *pmus, const char *name) {
    if (!pmus || !name || !pmus->n) return NULL;
    kperf_pmu key;
    memset(&key, 0, sizeof key);
    key.name = (char *)name;
    return (const kperf_pmu *)bsearch(&key, pmus->pmus, pmus->n, sizeof key, kperf__pmu_cmp);
}

KPERF_API const char *kperf_pmus_root(const kperf_pmus *pmus) {
    return pmus && pmus->root ? pmus->root : "/";
}

KPERF_API bool kperf_pmus_hybrid(const kperf_pmus *pmus) {
    size_t ncore = 0;
    for (size_t i = 0; pmus && i < pmus->n; i++) ncore += pmus->pmus[i].is_core;
    return ncore > 1;
}

/* True when a CPU core PMU exists (hardware events can be counted). */
KPERF__PRIV bool kperf__has_hw_pmu(const kperf_pmus *pmus) {
    for (size_t i = 0; pmus && i < pmus->n; i++)
        if (pmus->pmus[i].is_core) return true;
    return false;
}

KPERF_API const kperf_pmu_format *kperf_pmu_format_find(const kperf_pmu *pmu, const char *name) {
    if (!pmu || !name || !pmu->nformats || strlen(name) >= sizeof pmu->formats[0].name)
        return NULL;
    kperf_pmu_format key;
    memset(&key, 0, sizeof key);
    strcpy(key.name, name);
    return (const kperf_pmu_format *)bsearch(&key, pmu->formats, pmu->nformats, sizeof key,
                                             kperf__format_cmp);
}

KPERF_API const kperf_pmu_alias *kperf_pmu_alias_find(const kperf_pmu *pmu, const char *name) {
    if (!pmu || !name || !pmu->naliases) return NULL;
    kperf_pmu_alias key;
    memset(&key, 0, sizeof key);
    key.name = (char *)name;
    return (const kperf_pmu_alias *)bsearch(&key, pmu->aliases, pmu->naliases, sizeof key,
                                            kperf__alias_cmp);
}

/* Number of value bits a format field holds. */
KPERF__PRIV int kperf__format_bits(const kperf_pmu_format *f) {
    int bits = 0;
    for (int i = 0; i < f->nranges; i++) bits += f->ranges[i].hi - f->ranges[i].lo + 1;
    return bits;
}

KPERF__PRIV void kperf__format_put(const kperf_pmu_format *f, uint64_t value, uint64_t config[4]) {
    uint64_t *w = &config[f->word];
    for (int i = 0; i < f->nranges; i++) {
        int len = f->ranges[i].hi - f->ranges[i].lo + 1;
        uint64_t mask = len == 64 ? ~0ull : ((1ull << len) - 1);
        *w &= ~(mask << f->ranges[i].lo);
        *w |= (value & mask) << f->ranges[i].lo;
        value = len == 64 ? 0 : value >> len;
    }
}

KPERF_API int kperf_pmu_encode(const kperf_pmu *pmu, const char *term, uint64_t value,
                               uint64_t config[4]) {
    if (!pmu || !term || !config) return kperf__fail(EINVAL, "kperf_pmu_encode: NULL argument");
    const kperf_pmu_format *f = kperf_pmu_format_find(pmu, term);
    if (!f) {
        char list[512] = "";
        size_t len = 0;
        for (size_t i = 0; i < pmu->nformats && len + 40 < sizeof list; i++)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                                    pmu->formats[i].name);
        return kperf__fail(KPERF_EPARSE, "%s: '%s' is not a format field of this PMU (fields: %s)",
                           pmu->name, term, pmu->nformats ? list : "none");
    }
    int bits = kperf__format_bits(f);
    if (bits < 64 && value >> bits)
        return kperf__fail(KPERF_EPARSE,
                           "%s: %s=0x%llx does not fit the field's %d bits (max 0x%llx)",
                           pmu->name, term, (unsigned long long)value, bits,
                           (unsigned long long)((1ull << bits) - 1));
    kperf__format_put(f, value, config);
    return 0;
}
// <<pmu

// >>topology ----------------------------------------------------------------------------

struct kperf_topology {
    char *root;
    int *cpus;                  /* online CPUs, ascending */
    size_t ncpus;
    kperf_cpu_topo *topo;       /* one per online CPU, same order */
    int nnodes;                 /* node count; node_cpus[i] belongs to node_ids[i] */
    int *node_ids;
    int **node_cpus;
    size_t *node_ncpus;
};

KPERF_API int kperf_cpulist_parse(const char *text, int **cpus, size_t *n) {
    size_t pos = 0;
    if (!cpus || !n) return kperf__fail(EINVAL, "kperf_cpulist_parse: NULL argument");
    if (!text) text = "";
    int rc = kperf__cpulist(text, cpus, n, &pos);
    if (rc == -ENOMEM) return kperf__fail(ENOMEM, "out of memory parsing CPU list '%s'", text);
    if (rc < 0)
        return kperf__fail(KPERF_EPARSE,
                           "CPU list '%s': unexpected '%.1s' at position %zu (expected a list "
                           "like 0-3,8 with CPUs below %d)",
                           text, text[pos] ? text + pos : "", pos, KPERF__MAX_CPU);
    return 0;
}

KPERF_API void kperf_cpulist_free(int *cpus) { KPERF_FREE(cpus); }

KPERF_API void kperf_topology_close(kperf_topology *t) {
    if (!t) return;
    for (int i = 0; i < t->nnodes; i++) KPERF_FREE(t->node_cpus[i]);
    KPERF_FREE(t->node_cpus);
    KPERF_FREE(t->node_ncpus);
    KPERF_FREE(t->node_ids);
    KPERF_FREE(t->topo);
    KPERF_FREE(t->cpus);
    KPERF_FREE(t->root);
    KPERF_FREE(t);
}

/* An integer sysfs file, or -1. */
KPERF__PRIV int kperf__read_int(const char *path) {
    char buf[64], *end;
    if (kperf__read_file(path, buf, sizeof buf) <= 0) return -1;
    long v = strtol(buf, &end, 10);
    return end == buf || v < INT_MIN || v > INT_MAX ? -1 : (int)v;
}

/* Reads node/nodeN/cpulist for every node of the tree. */
KPERF__PRIV int kperf__topology_nodes(kperf_topology *t) {
    char path[PATH_MAX], buf[4096];
    char **names;
    size_t n;
    if (kperf__dir_names(kperf__path(path, sizeof path, "%s/sys/devices/system/node", t->root),
                         &names, &n) < 0)
        return 0; /* no NUMA: every CPU on node 0 (filled by the caller) */
    t->node_ids = (int *)kperf__calloc(n, sizeof(int));
    t->node_cpus = (int **)kperf__calloc(n, sizeof(int *));
    t->node_ncpus = (size_t *)kperf__calloc(n, sizeof(size_t));
    if (!t->node_ids || !t->node_cpus || !t->node_ncpus) return kperf__names_free(names, n), -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        char *end;
        if (strncmp(names[i], "node", 4) || !isdigit((unsigned char)names[i][4])) continue;
        long id = strtol(names[i] + 4, &end, 10);
        if (*end || id > INT_MAX) continue;
        if (kperf__read_file(kperf__path(path, sizeof path, "%s/sys/devices/system/node/%s/cpulist",
                                         kperf__rp(t->root), names[i]),
                             buf, sizeof buf) < 0)
            continue;
        int k = t->nnodes;
        if (kperf__cpulist(buf, &t->node_cpus[k], &t->node_ncpus[k], NULL) == -ENOMEM)
            return kperf__names_free(names, n), -ENOMEM;
        t->node_ids[k] = (int)id;
        t->nnodes++;
    }
    kperf__names_free(names, n);
    return 0;
}

KPERF__PRIV void kperf__topology_cpu_fill(kperf_topology *t, kperf_cpu_topo *c, int cpu) {
    char path[PATH_MAX];
    const char *base = "%s/sys/devices/system/cpu/cpu%d/topology/%s";
    c->cpu = cpu;
    c->core = kperf__read_int(kperf__path(path, sizeof path, base, kperf__rp(t->root), cpu, "core_id"));
    c->cluster = kperf__read_int(kperf__path(path, sizeof path, base, kperf__rp(t->root), cpu, "cluster_id"));
    c->die = kperf__read_int(kperf__path(path, sizeof path, base, kperf__rp(t->root), cpu, "die_id"));
    c->socket = kperf__read_int(
        kperf__path(path, sizeof path, base, kperf__rp(t->root), cpu, "physical_package_id"));
    c->numa = t->nnodes ? -1 : 0;
    for (int i = 0; i < t->nnodes; i++)
        if (bsearch(&cpu, t->node_cpus[i], t->node_ncpus[i], sizeof(int), kperf__int_cmp))
            c->numa = t->node_ids[i];
}

KPERF_API int kperf_topology_open(kperf_topology **out, const char *root) {
    char path[PATH_MAX], buf[4096];
    if (!out) return kperf__fail(EINVAL, "kperf_topology_open: out is NULL");
    *out = NULL;
    root = kperf__sysfs_root(root);
    kperf__path(path, sizeof path, "%s/sys/devices/system/cpu/online", kperf__rp(root));
    int rc = kperf__read_file(path, buf, sizeof buf);
    if (rc < 0) return kperf__fail(-rc, "cannot read %s: %s (is the sysfs root '%s' right?)", path,
                                   strerror(-rc), root);
    kperf_topology *t = (kperf_topology *)kperf__calloc(1, sizeof *t);
    if (!t || !(t->root = kperf__strdup(root))) goto nomem;
    size_t pos = 0;
    rc = kperf__cpulist(buf, &t->cpus, &t->ncpus, &pos);
    if (rc == -ENOMEM) goto nomem;
    if (rc < 0) {
        kperf_topology_close(t);
        return kperf__fail(KPERF_EPARSE, "%s: malformed CPU list '%s' at position %zu", path, buf,
                           pos);
    }
    if (kperf__topology_nodes(t) < 0) goto nomem;
    if (!(t->topo = (kperf_cpu_topo *)kperf__calloc(t->ncpus, sizeof *t->topo))) goto nomem;
    for (size_t i = 0; i < t->ncpus; i++) kperf__topology_cpu_fill(t, &t->topo[i], t->cpus[i]);
    *out = t;
    return 0;
nomem:
    kperf_topology_close(t);
    return kperf__fail(ENOMEM, "out of memory reading the CPU topology under %s", root);
}

KPERF_API const int *kperf_topology_cpus(const kperf_topology *t, size_t *n) {
    if (n) *n = t ? t->ncpus : 0;
    return t ? t->cpus : NULL;
}

KPERF__PRIV const kperf_cpu_topo *kperf__topology_find(const kperf_topology *t, int cpu) {
    if (!t) return NULL;
    const int *p = (const int *)bsearch(&cpu, t->cpus, t->ncpus, sizeof(int), kperf__int_cmp);
    return p ? &t->topo[p - t->cpus] : NULL;
}

KPERF_API int kperf_topology_cpu(const kperf_topology *t, int cpu, kperf_cpu_topo *out) {
    const kperf_cpu_topo *c = kperf__topology_find(t, cpu);
    if (!c) return kperf__fail(ENOENT, "CPU %d is not online (see /sys/devices/system/cpu/online)",
                               cpu);
    if (out) *out = *c;
    return 0;
}

KPERF_API int kperf_topology_numa_count(const kperf_topology *t) {
    return t && t->nnodes ? t->nnodes : 1;
}

KPERF_API int kperf_topology_numa_cpus(const kperf_topology *t, int node, const int **cpus,
                                       size_t *n) {
    if (!t || !cpus || !n) return kperf__fail(EINVAL, "kperf_topology_numa_cpus: NULL argument");
    if (!t->nnodes && node == 0) { /* no node/ directory: one node with every CPU */
        *cpus = t->cpus;
        *n = t->ncpus;
        return 0;
    }
    for (int i = 0; i < t->nnodes; i++)
        if (t->node_ids[i] == node) {
            *cpus = t->node_cpus[i];
            *n = t->node_ncpus[i];
            return 0;
        }
    *cpus = NULL;
    *n = 0;
    return kperf__fail(ENOENT, "NUMA node %d does not exist (the machine has %d)", node,
                       kperf_topology_numa_count(t));
}

KPERF_API int kperf_topology_cluster_cpus(const kperf_topology *t, int cluster, int **cpus,
                                          size_t *n) {
    if (!t || !cpus || !n) return kperf__fail(EINVAL, "kperf_topology_cluster_cpus: NULL argument");
    *cpus = NULL;
    *n = 0;
    size_t k = 0;
    for (size_t i = 0; i < t->ncpus; i++) k += t->topo[i].cluster == cluster;
    if (!k || cluster < 0)
        return kperf__fail(ENOENT, "no online CPU is in cluster %d (see topology/cluster_id)",
                           cluster);
    int *v = (int *)kperf__calloc(k, sizeof(int));
    if (!v) return kperf__fail(ENOMEM, "out of memory");
    k = 0;
    for (size_t i = 0; i < t->ncpus; i++)
        if (t->topo[i].cluster == cluster) v[k++] = t->cpus[i];
    *cpus = v;
    *n = k;
    return 0;
}

/* "cpu MHz" of @p cpu in a /proc/cpuinfo text (x86 format; "processor : N" opens a block). */
KPERF__PRIV int kperf__cpuinfo_mhz(const char *path, int cpu, uint64_t *khz) {
    FILE *f = fopen(path, "re");
    if (!f) return -errno;
    char line[512];
    int cur = -1, rc = -ENOENT;
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        if (!strncmp(line, "processor", 9)) cur = atoi(colon + 1);
        else if (cur == cpu && !strncmp(line, "cpu MHz", 7)) {
            double mhz = strtod(colon + 1, NULL);
            if (mhz > 0) {
                *khz = (uint64_t)(mhz * 1000.0 + 0.5);
                rc = 0;
            }
            break;
        }
    }
    fclose(f);
    return rc;
}

#if defined(__x86_64__) || defined(__i386__)
KPERF__PRIV uint64_t kperf__rdtsc(void) {
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
KPERF__PRIV uint64_t kperf__mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
/* TSC ticks per ms over a 20 ms window (the TSC is invariant across CPUs on machines
 * that expose no cpufreq, so @p cpu does not matter). */
KPERF__PRIV int kperf__tsc_khz(int cpu, uint64_t *khz) {
    (void)cpu;
    uint64_t t0 = kperf__mono_ns(), c0 = kperf__rdtsc(), t1, c1;
    do {
        t1 = kperf__mono_ns();
        c1 = kperf__rdtsc();
    } while (t1 - t0 < 20000000ull);
    if (c1 <= c0) return -ENOTSUP;
    *khz = (uint64_t)((double)(c1 - c0) * 1e6 / (double)(t1 - t0) + 0.5);
    return 0;
}
#endif

KPERF_API int kperf_topology_freq(const kperf_topology *t, int cpu, uint64_t *khz) {
    char path[PATH_MAX], buf[64];
    const char *root = t && t->root ? t->root : kperf__sysfs_root(NULL);
    static const char *const files[] = {"scaling_cur_freq", "cpuinfo_cur_freq"};
    if (!khz) return kperf__fail(EINVAL, "kperf_topology_freq: khz is NULL");
    for (int i = 0; i < 2; i++) {
        kperf__path(path, sizeof path, "%s/sys/devices/system/cpu/cpu%d/cpufreq/%s", kperf__rp(root), cpu,
                    files[i]);
        if (kperf__read_file(path, buf, sizeof buf) > 0) {
            char *end;
            unsigned long long v = strtoull(buf, &end, 10);
            if (end != buf && v > 0) return *khz = v, KPERF_FREQ_CPUFREQ;
        }
    }
    if (kperf__cpuinfo_mhz(kperf__path(path, sizeof path, "%s/proc/cpuinfo", kperf__rp(root)), cpu, khz) == 0)
        return KPERF_FREQ_CPUINFO;
#if defined(__x86_64__) || defined(__i386__)
    if (!strcmp(root, "/") && kperf__tsc_khz(cpu, khz) == 0) return KPERF_FREQ_TSC;
#endif
    return kperf__fail(ENOTSUP, "CPU %d: no frequency source (no cpufreq under %s, no 'cpu MHz' "
                                "in /proc/cpuinfo, no TSC)", cpu, root);
}
// <<topology

// >>events ------------------------------------------------------------------------------

/* A generic event name: hardware (type 0) or software (type 1). The first name of each
 * (type, config) pair is the primary one; the others are synonyms. */
typedef struct kperf__generic {
    const char *name;
    uint32_t type;
    uint64_t config;
} kperf__generic;

static const kperf__generic kperf__generics[] = {
    {"cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    {"cpu-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES},
    {"instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS},
    {"cache-references", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_REFERENCES},
    {"cache-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_CACHE_MISSES},
    {"branches", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
    {"branch-instructions", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_INSTRUCTIONS},
    {"branch-misses", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BRANCH_MISSES},
    {"bus-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_BUS_CYCLES},
    {"stalled-cycles-frontend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND},
    {"idle-cycles-frontend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_FRONTEND},
    {"stalled-cycles-backend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
    {"idle-cycles-backend", PERF_TYPE_HARDWARE, PERF_COUNT_HW_STALLED_CYCLES_BACKEND},
    {"ref-cycles", PERF_TYPE_HARDWARE, PERF_COUNT_HW_REF_CPU_CYCLES},
    {"cpu-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_CLOCK},
    {"task-clock", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_TASK_CLOCK},
    {"page-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
    {"faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS},
    {"context-switches", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
    {"cs", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CONTEXT_SWITCHES},
    {"cpu-migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
    {"migrations", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_CPU_MIGRATIONS},
    {"minor-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MIN},
    {"major-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_PAGE_FAULTS_MAJ},
    {"alignment-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_ALIGNMENT_FAULTS},
    {"emulation-faults", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_EMULATION_FAULTS},
    {"dummy", PERF_TYPE_SOFTWARE, PERF_COUNT_SW_DUMMY},
    {"bpf-output", PERF_TYPE_SOFTWARE, 10},
    {"cgroup-switches", PERF_TYPE_SOFTWARE, 11},
};
#define KPERF__NGENERIC (sizeof kperf__generics / sizeof kperf__generics[0])

/* Cache event words (perf's legacy cache names): the first word of each row is the one
 * listed; the others are accepted synonyms. */
static const char *const kperf__cache_names[7][5] = {
    {"L1-dcache", "l1-d", "l1d", "L1-data", NULL},
    {"L1-icache", "l1-i", "l1i", "L1-instruction", NULL},
    {"LLC", "L2", NULL},
    {"dTLB", "d-tlb", "Data-TLB", NULL},
    {"iTLB", "i-tlb", "Instruction-TLB", NULL},
    {"branch", "branches", "bpu", "btb", "bpc"},
    {"node", NULL},
};
static const char *const kperf__cache_ops[3][5] = {
    {"load", "loads", "read", NULL},
    {"store", "stores", "write", NULL},
    {"prefetch", "prefetches", "speculative-read", "speculative-load", NULL},
};
static const char *const kperf__cache_results[2][5] = {
    {"refs", "Reference", "ops", "access", NULL},
    {"misses", "miss", NULL},
};
/* Which ops each cache supports (bit per op), as perf lists them. */
static const uint8_t kperf__cache_valid_ops[7] = {7, 5, 7, 7, 1, 1, 7};

KPERF__PRIV bool kperf__ncaseeq(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return false;
    return true;
}

/* Matches one of @p words (case-insensitively) at the start of @p s, followed by '-' or
 * the end; the longest match wins. Returns its length, 0 when none. */
KPERF__PRIV size_t kperf__word_match(const char *s, const char *const *words, int nwords) {
    size_t best = 0;
    for (int i = 0; i < nwords && words[i]; i++) {
        size_t n = strlen(words[i]);
        if (n > best && kperf__ncaseeq(s, words[i], n) && (s[n] == 0 || s[n] == '-')) best = n;
    }
    return best;
}

/* Decodes a cache name such as "L1-dcache-load-misses" into a PERF_TYPE_HW_CACHE config.
 * Returns false when @p name is not one. */
KPERF__PRIV bool kperf__cache_decode(const char *name, uint64_t *config) {
    int cache = -1, op = -1, res = -1;
    size_t n = 0;
    for (int i = 0; i < 7 && cache < 0; i++)
        if ((n = kperf__word_match(name, kperf__cache_names[i], 5))) cache = i;
    if (cache < 0) return false;
    const char *p = name + n;
    while (*p == '-') {
        p++;
        size_t m = 0;
        int found = 0;
        for (int i = 0; i < 3 && !found && op < 0; i++)
            if ((m = kperf__word_match(p, kperf__cache_ops[i], 5))) op = i, found = 1;
        for (int i = 0; i < 2 && !found && res < 0; i++)
            if ((m = kperf__word_match(p, kperf__cache_results[i], 5))) res = i, found = 1;
        if (!found) return false;
        p += m;
    }
    if (*p) return false;
    if (op < 0) op = 0;
    if (res < 0) res = 0;
    *config = (uint64_t)cache | ((uint64_t)op << 8) | ((uint64_t)res << 16);
    return true;
}

/* The listed cache names: "<cache>-<ops>" and "<cache>-<op>-misses" for valid ops. Calls
 * @p fn with each; returns fn's first negative value or 0. */
KPERF__PRIV int kperf__cache_foreach(int (*fn)(const char *name, void *u), void *u) {
    char buf[64];
    for (int c = 0; c < 7; c++)
        for (int o = 0; o < 3; o++) {
            if (!(kperf__cache_valid_ops[c] & (1 << o))) continue;
            for (int r = 0; r < 2; r++) {
                if (r == 0)
                    snprintf(buf, sizeof buf, "%s-%s", kperf__cache_names[c][0],
                             kperf__cache_ops[o][1]);
                else
                    snprintf(buf, sizeof buf, "%s-%s-%s", kperf__cache_names[c][0],
                             kperf__cache_ops[o][0], kperf__cache_results[1][0]);
                int rc = fn(buf, u);
                if (rc < 0) return rc;
            }
        }
    return 0;
}

/* Levenshtein distance of two short names, case-insensitive; long names are "far". */
KPERF__PRIV int kperf__edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 1000;
    int row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0];
        row[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            int v = diag + cost;
            if (row[j] + 1 < v) v = row[j] + 1;
            if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
        }
    }
    return row[lb];
}

/* Collects "did you mean" candidates: the best few names by edit distance. */
typedef struct kperf__suggest {
    const char *want;
    int limit;                  /* largest distance worth suggesting */
    char names[6][96];
    int dist[6];
    int n;
} kperf__suggest;

KPERF__PRIV void kperf__suggest_init(kperf__suggest *s, const char *want) {
    memset(s, 0, sizeof *s);
    s->want = want;
    size_t len = strlen(want);
    s->limit = len < 6 ? 2 : (int)(len / 3);
}

KPERF__PRIV int kperf__suggest_add(const char *name, void *u) {
    kperf__suggest *s = (kperf__suggest *)u;
    int d = kperf__edit_distance(s->want, name);
    if (d > s->limit || strlen(name) >= sizeof s->names[0]) return 0;
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->names[i], name)) return 0;
    int at = s->n;
    while (at > 0 && s->dist[at - 1] > d) at--;
    if (at >= 6) return 0;
    int last = s->n < 6 ? s->n : 5;
    for (int i = last; i > at; i--) {
        s->dist[i] = s->dist[i - 1];
        memcpy(s->names[i], s->names[i - 1], sizeof s->names[0]);
    }
    s->dist[at] = d;
    strcpy(s->names[at], name);
    if (s->n < 6) s->n++;
    return 0;
}

/* Writes "; did you mean a, b?" (or "") into buf. Generic names bring their synonyms:
 * "cyclez" suggests "cycles, cpu-cycles". */
KPERF__PRIV void kperf__suggest_text(const kperf__suggest *s, char *buf, size_t size) {
    size_t len = 0;
    int shown = 0;
    const char *seen[12];
    int nseen = 0;
    buf[0] = 0;
    for (int i = 0; i < s->n && shown < 3; i++) {
        const char *group[8];
        int ng = 0;
        group[ng++] = s->names[i];
        for (size_t g = 0; g < KPERF__NGENERIC; g++)
            if (!strcmp(kperf__generics[g].name, s->names[i]))
                for (size_t h = 0; h < KPERF__NGENERIC && ng < 8; h++)
                    if (h != g && kperf__generics[h].type == kperf__generics[g].type &&
                        kperf__generics[h].config == kperf__generics[g].config)
                        group[ng++] = kperf__generics[h].name;
        for (int k = 0; k < ng && nseen < 12; k++) {
            bool dup = false;
            for (int m = 0; m < nseen; m++) dup |= !strcmp(seen[m], group[k]);
            if (dup) continue;
            seen[nseen++] = group[k];
            int w = snprintf(buf + len, size - len, "%s%s", len ? ", " : "; did you mean ",
                             group[k]);
            if (w < 0 || (size_t)w >= size - len) {
                buf[len] = 0;
                return;
            }
            len += (size_t)w;
        }
        shown++;
    }
    if (len && len + 1 < size) strcpy(buf + len, "?");
}

/* The tracefs "events" directory under @p root, or NULL. */
KPERF__PRIV const char *kperf__tracefs_events(const char *root, char *buf, size_t size) {
    static const char *const dirs[] = {"sys/kernel/tracing/events",
                                       "sys/kernel/debug/tracing/events"};
    const char *r = kperf__rp(root);
    for (int i = 0; i < 2; i++) {
        struct stat st;
        kperf__path(buf, size, "%s/%s", r, dirs[i]);
        if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) return buf;
    }
    return NULL;
}

/* ---- the parser ---------------------------------------------------------------------- */

typedef struct kperf__vars {    /* the events one spec item becomes (one per PMU) */
    kperf_event *v;
    size_t n;
} kperf__vars;

typedef struct kperf__parser {
    const char *s;              /* the whole spec */
    size_t pos;
    const kperf_pmus *pmus;
    kperf_evlist *out;
    size_t cap;
} kperf__parser;

KPERF__PRIV bool kperf__isname(char c) {
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

KPERF__PRIV void kperf__skip_ws(kperf__parser *P) {
    while (isspace((unsigned char)P->s[P->pos])) P->pos++;
}

/* A parse error at byte @p at: message with the position and a caret line. */
KPERF__PRIV int kperf__parse_error(kperf__parser *P, size_t at, const char *what) {
    size_t len = strlen(P->s);
    if (at > len) at = len;
    if (len > 200)
        return kperf__fail(KPERF_EPARSE, "%.200s...: %s at position %zu", P->s, what, at);
    return kperf__fail(KPERF_EPARSE, "%s: %s at position %zu\n%s\n%*s^", P->s, what, at, P->s,
                       (int)at, "");
}

KPERF__PRIV void kperf__event_clear(kperf_event *e) {
    KPERF_FREE(e->spec);
    KPERF_FREE(e->name);
    KPERF_FREE(e->pmu);
    KPERF_FREE(e->filter);
    KPERF_FREE((void *)e->cpus);
    memset(e, 0, sizeof *e);
}

KPERF__PRIV void kperf__vars_free(kperf__vars *v) {
    for (size_t i = 0; i < v->n; i++) kperf__event_clear(&v->v[i]);
    KPERF_FREE(v->v);
    v->v = NULL;
    v->n = 0;
}

/* Appends a zeroed event to @p v; NULL on ENOMEM. */
KPERF__PRIV kperf_event *kperf__vars_push(kperf__vars *v) {
    kperf_event *nv = (kperf_event *)KPERF_REALLOC(v->v, (v->n + 1) * sizeof *nv);
    if (!nv) return NULL;
    v->v = nv;
    kperf_event *e = &nv[v->n++];
    memset(e, 0, sizeof *e);
    e->scale = 1.0;
    return e;
}

KPERF__PRIV char *kperf__strndup(const char *s, size_t n) {
    char *p = (char *)KPERF_MALLOC(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

KPERF__PRIV int kperf__event_copy(kperf_event *dst, const kperf_event *src) {
    *dst = *src;
    dst->spec = src->spec ? kperf__strdup(src->spec) : NULL;
    dst->name = src->name ? kperf__strdup(src->name) : NULL;
    dst->pmu = src->pmu ? kperf__strdup(src->pmu) : NULL;
    dst->filter = src->filter ? kperf__strdup(src->filter) : NULL;
    dst->cpus = NULL;
    if (src->ncpus) {
        int *c = (int *)kperf__calloc(src->ncpus, sizeof(int));
        if (c) memcpy(c, src->cpus, src->ncpus * sizeof(int));
        dst->cpus = c;
    }
    if ((src->spec && !dst->spec) || (src->name && !dst->name) || (src->pmu && !dst->pmu) ||
        (src->filter && !dst->filter) || (src->ncpus && !dst->cpus)) {
        kperf__event_clear(dst);
        return -ENOMEM;
    }
    return 0;
}

/* Restricts @p e to the CPUs of @p pmu when the PMU requires it (uncore cpumask, hybrid
 * core PMU). */
KPERF__PRIV int kperf__event_set_pmu(kperf__parser *P, kperf_event *e, const kperf_pmu *pmu) {
    KPERF_FREE(e->pmu);
    if (!(e->pmu = kperf__strdup(pmu->name))) return -ENOMEM;
    bool need = pmu->is_uncore || (pmu->is_core && kperf_pmus_hybrid(P->pmus));
    if (need && pmu->ncpus) {
        int *c = (int *)kperf__calloc(pmu->ncpus, sizeof(int));
        if (!c) return -ENOMEM;
        memcpy(c, pmu->cpus, pmu->ncpus * sizeof(int));
        KPERF_FREE((void *)e->cpus);
        e->cpus = c;
        e->ncpus = pmu->ncpus;
    }
    return 0;
}

/* Parses "0x1f" or "31" (whole string). */
KPERF__PRIV bool kperf__parse_u64(const char *s, size_t n, uint64_t *v) {
    char buf[32];
    if (!n || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    int base = (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X')) ? 16 : 10;
    if (base == 16 && !buf[2]) return false;
    for (size_t i = base == 16 ? 2 : 0; i < n; i++)
        if (!(base == 16 ? isxdigit((unsigned char)buf[i]) : isdigit((unsigned char)buf[i])))
            return false;
    errno = 0;
    *v = strtoull(buf, NULL, base);
    return errno == 0;
}

/* The core PMUs of the registry, for hybrid expansion. */
KPERF__PRIV size_t kperf__core_pmus(const kperf_pmus *pmus, const kperf_pmu **out, size_t max) {
    size_t n = 0;
    for (size_t i = 0; pmus && i < pmus->n && n < max; i++)
        if (pmus->pmus[i].is_core) out[n++] = &pmus->pmus[i];
    return n;
}

/* A generic hardware/cache event: one event, or one per core PMU on hybrid machines. */
KPERF__PRIV int kperf__generic_vars(kperf__parser *P, kperf__vars *v, uint32_t type,
                                    uint64_t config, const char *word, const kperf_pmu *only) {
    const kperf_pmu *core[16];
    size_t nc = kperf__core_pmus(P->pmus, core, 16);
    bool hybrid = nc > 1 && type != PERF_TYPE_SOFTWARE;
    if (only) core[0] = only, nc = 1;
    for (size_t i = 0; i < (hybrid ? nc : 1); i++) {
        kperf_event *e = kperf__vars_push(v);
        if (!e) return -ENOMEM;
        e->type = type;
        e->config[0] = config;
        if (type == PERF_TYPE_SOFTWARE) {
            if (!(e->pmu = kperf__strdup("software"))) return -ENOMEM;
            continue;
        }
        if (hybrid) e->config[0] |= (uint64_t)core[i]->type << PERF_PMU_TYPE_SHIFT;
        if (nc) {
            if (kperf__event_set_pmu(P, e, core[i]) < 0) return -ENOMEM;
        } else if (!(e->pmu = kperf__strdup("cpu"))) {
            return -ENOMEM;
        }
        if (hybrid) {
            char buf[256];
            snprintf(buf, sizeof buf, "%s/%s/", core[i]->name, word);
            if (!(e->name = kperf__strdup(buf))) return -ENOMEM;
        }
    }
    return 0;
}

/* Looks @p word up as a generic, cache or raw name. */
KPERF__PRIV bool kperf__generic_lookup(const char *word, uint32_t *type, uint64_t *config) {
    for (size_t i = 0; i < KPERF__NGENERIC; i++)
        if (!strcmp(word, kperf__generics[i].name)) {
            *type = kperf__generics[i].type;
            *config = kperf__generics[i].config;
            return true;
        }
    if (kperf__cache_decode(word, config)) {
        *type = PERF_TYPE_HW_CACHE;
        return true;
    }
    return false;
}

/* Unknown event: -KPERF_ENOEVENT with suggestions from generic names, cache names and
 * aliases of every PMU. */
KPERF__PRIV int kperf__unknown_event(kperf__parser *P, const char *word) {
    kperf__suggest s;
    char text[400];
    kperf__suggest_init(&s, word);
    for (size_t i = 0; i < KPERF__NGENERIC; i++) kperf__suggest_add(kperf__generics[i].name, &s);
    kperf__cache_foreach(kperf__suggest_add, &s);
    for (size_t i = 0; P->pmus && i < P->pmus->n; i++)
        for (size_t j = 0; j < P->pmus->pmus[i].naliases; j++)
            kperf__suggest_add(P->pmus->pmus[i].aliases[j].name, &s);
    kperf__suggest_text(&s, text, sizeof text);
    return kperf__fail(KPERF_ENOEVENT, "%s: unknown event%s%s", word, text,
                       s.n ? "" : " (`kperf list` shows the events of this machine)");
}

KPERF__PRIV int kperf__parse_terms(kperf__parser *P, kperf_event *e, const kperf_pmu *pmu,
                                   const char *terms, size_t len, size_t base, bool from_alias);

/* Applies an alias's terms, scale and unit to @p e. */
KPERF__PRIV int kperf__apply_alias(kperf__parser *P, kperf_event *e, const kperf_pmu *pmu,
                                   const kperf_pmu_alias *a) {
    int rc = kperf__parse_terms(P, e, pmu, a->terms, strlen(a->terms), 0, true);
    if (rc < 0) return rc;
    e->scale = a->scale;
    memcpy(e->unit, a->unit, sizeof e->unit);
    return 0;
}

/* One `key[=value]` term inside pmu/.../ applied to @p e. */
KPERF__PRIV int kperf__apply_term(kperf__parser *P, kperf_event *e, const kperf_pmu *pmu,
                                  const char *key, size_t klen, const char *val, size_t vlen,
                                  bool has_val, size_t at, bool from_alias) {
    char k[64], msg[512];
    uint64_t num = 1;
    if (klen >= sizeof k) return kperf__parse_error(P, at, "term name too long");
    memcpy(k, key, klen);
    k[klen] = 0;
    if (has_val && !strcmp(k, "name")) {
        KPERF_FREE(e->name);
        return (e->name = kperf__strndup(val, vlen)) ? 0 : -ENOMEM;
    }
    if (has_val && !kperf__parse_u64(val, vlen, &num)) {
        if (from_alias)
            return kperf__fail(KPERF_EPARSE, "%s: sysfs alias has a bad value in '%.*s=%.*s'",
                               pmu->name, (int)klen, key, (int)vlen, val);
        snprintf(msg, sizeof msg, "bad value for '%s' (expected a decimal or 0x hex number)", k);
        return kperf__parse_error(P, at + klen + 1, msg);
    }
    if (!strncmp(k, "config", 6) && (!k[6] || (k[6] >= '1' && k[6] <= '3' && !k[7]))) {
        e->config[k[6] ? k[6] - '0' : 0] = num;
        return 0;
    }
    if (!strcmp(k, "period") || !strcmp(k, "freq")) {
        e->period = num;
        if (k[0] == 'f') e->flags |= KPERF_EV_FREQ;
        else e->flags &= ~(uint32_t)KPERF_EV_FREQ;
        return 0;
    }
    if (kperf_pmu_format_find(pmu, k)) return kperf_pmu_encode(pmu, k, num, e->config);
    if (!has_val && !from_alias) {
        const kperf_pmu_alias *a = kperf_pmu_alias_find(pmu, k);
        if (a) return kperf__apply_alias(P, e, pmu, a);
        uint32_t type;
        uint64_t config;
        if (pmu->is_core && kperf__generic_lookup(k, &type, &config) &&
            type != PERF_TYPE_SOFTWARE) {
            e->type = type;
            e->config[0] = config;
            if (kperf_pmus_hybrid(P->pmus))
                e->config[0] |= (uint64_t)pmu->type << PERF_PMU_TYPE_SHIFT;
            return 0;
        }
        kperf__suggest s;
        char text[400];
        kperf__suggest_init(&s, k);
        for (size_t i = 0; i < pmu->naliases; i++) kperf__suggest_add(pmu->aliases[i].name, &s);
        for (size_t i = 0; i < pmu->nformats; i++) kperf__suggest_add(pmu->formats[i].name, &s);
        kperf__suggest_text(&s, text, sizeof text);
        return kperf__fail(KPERF_ENOEVENT, "%s/%s/: PMU %s has no event or format field '%s'%s",
                           pmu->name, k, pmu->name, k, text);
    }
    if (from_alias) return 0; /* a keyword of perf's json aliases we do not need */
    static const char *const perf_keywords[] = {
        "time", "call-graph", "stack-size", "max-stack", "nr", "inherit", "no-inherit",
        "overwrite", "no-overwrite", "driver-config", "percore", "aux-output",
        "aux-sample-size", "metric-id", "branch_type"};
    for (size_t i = 0; i < sizeof perf_keywords / sizeof perf_keywords[0]; i++)
        if (!strcmp(k, perf_keywords[i])) {
            snprintf(msg, sizeof msg,
                     "perf term '%s' is not supported by kperf (supported: config, config1, "
                     "config2, config3, name, period, freq and the PMU's format fields)", k);
            return kperf__parse_error(P, at, msg);
        }
    char list[200] = "";
    size_t ll = 0;
    for (size_t i = 0; i < pmu->nformats && ll + 40 < sizeof list; i++)
        ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s%s", i ? ", " : "",
                               pmu->formats[i].name);
    snprintf(msg, sizeof msg, "'%s' is not a format field of %s (fields: %s)", k, pmu->name,
             pmu->nformats ? list : "none");
    return kperf__parse_error(P, at, msg);
}

/* Parses "term=val,term,..." of length @p len; @p base is its offset in the spec. */
KPERF__PRIV int kperf__parse_terms(kperf__parser *P, kperf_event *e, const kperf_pmu *pmu,
                                   const char *terms, size_t len, size_t base, bool from_alias) {
    size_t i = 0;
    while (i < len) {
        while (i < len && isspace((unsigned char)terms[i])) i++;
        if (i == len) break;
        size_t k0 = i;
        while (i < len && kperf__isname(terms[i])) i++;
        size_t klen = i - k0;
        if (!klen) {
            if (from_alias)
                return kperf__fail(KPERF_EPARSE, "%s: malformed sysfs alias terms '%.*s'",
                                   pmu->name, (int)len, terms);
            return kperf__parse_error(P, base + i, "expected a term name");
        }
        const char *val = NULL;
        size_t vlen = 0;
        bool has_val = false;
        while (i < len && isspace((unsigned char)terms[i])) i++;
        if (i < len && terms[i] == '=') {
            i++;
            while (i < len && isspace((unsigned char)terms[i])) i++;
            val = terms + i;
            while (i < len && terms[i] != ',' && !isspace((unsigned char)terms[i])) i++;
            vlen = (size_t)(terms + i - val);
            has_val = true;
            while (i < len && isspace((unsigned char)terms[i])) i++;
        }
        int rc = kperf__apply_term(P, e, pmu, terms + k0, klen, val, vlen, has_val, base + k0,
                                   from_alias);
        if (rc < 0) return rc;
        if (i < len) {
            if (terms[i] != ',') {
                if (from_alias)
                    return kperf__fail(KPERF_EPARSE, "%s: malformed sysfs alias terms '%.*s'",
                                       pmu->name, (int)len, terms);
                return kperf__parse_error(P, base + i, "expected ',' or '/'");
            }
            i++;
        }
    }
    return 0;
}

/* PMUs named @p name: the exact one, else those named name_N / nameN (perf's wildcard). */
KPERF__PRIV size_t kperf__pmus_match(const kperf_pmus *pmus, const char *name,
                                     const kperf_pmu **out, size_t max) {
    const kperf_pmu *p = kperf_pmus_find(pmus, name);
    if (p) return out[0] = p, 1;
    size_t n = 0, len = strlen(name);
    for (size_t i = 0; pmus && i < pmus->n && n < max; i++) {
        const char *nm = pmus->pmus[i].name;
        if (strncmp(nm, name, len)) continue;
        const char *r = nm + len;
        if (*r == '_') r++;
        if (!isdigit((unsigned char)*r)) continue;
        while (isdigit((unsigned char)*r) || (*r == '_' && isdigit((unsigned char)r[1]))) r++;
        if (!*r) out[n++] = &pmus->pmus[i];
    }
    return n;
}

KPERF__PRIV int kperf__unknown_pmu(kperf__parser *P, const char *name) {
    char list[600];
    size_t len = 0;
    list[0] = 0;
    for (size_t i = 0; P->pmus && i < P->pmus->n; i++) {
        int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "",
                         P->pmus->pmus[i].name);
        if (w < 0 || (size_t)w >= sizeof list - len - 5) {
            strcpy(list + len, ", ...");
            break;
        }
        len += (size_t)w;
    }
    return kperf__fail(KPERF_ENOPMU, "%s: no PMU named '%s' under %s/sys/bus/event_source/devices "
                                     "(PMUs here: %s)",
                       P->s, name, kperf__rp(kperf_pmus_root(P->pmus)),
                       list);
}

/* `pmu/terms/`: P->pos is on the opening '/'. */
KPERF__PRIV int kperf__parse_pmu_event(kperf__parser *P, kperf__vars *v, const char *name) {
    size_t open = P->pos++, t0 = P->pos;
    while (P->s[P->pos] && P->s[P->pos] != '/') P->pos++;
    if (P->s[P->pos] != '/') return kperf__parse_error(P, P->pos, "expected '/' closing the terms");
    size_t tlen = P->pos - t0;
    P->pos++;
    const kperf_pmu *m[256];
    size_t nm = kperf__pmus_match(P->pmus, name, m, 256);
    if (!nm) return kperf__unknown_pmu(P, name);
    (void)open;
    for (size_t i = 0; i < nm; i++) {
        kperf_event *e = kperf__vars_push(v);
        if (!e) return -ENOMEM;
        e->type = m[i]->type;
        int rc = kperf__parse_terms(P, e, m[i], P->s + t0, tlen, t0, false);
        if (rc < 0) return rc;
        if (kperf__event_set_pmu(P, e, m[i]) < 0) return -ENOMEM;
        if (!e->name) {
            char buf[512];
            snprintf(buf, sizeof buf, "%s/%.*s/", m[i]->name, (int)tlen, P->s + t0);
            if (!(e->name = kperf__strdup(buf))) return -ENOMEM;
        }
    }
    return 0;
}

/* `sys:name[/filter/]`: P->pos is just after the name. */
KPERF__PRIV int kperf__parse_tracepoint(kperf__parser *P, kperf__vars *v, const char *sys,
                                        const char *name) {
    char dir[PATH_MAX], path[PATH_MAX], buf[32];
    char *filter = NULL;
    if (P->s[P->pos] == '/') {
        size_t f0 = ++P->pos;
        bool quoted = false;
        while (P->s[P->pos] && (quoted || P->s[P->pos] != '/')) {
            if (P->s[P->pos] == '"' ) quoted = !quoted;
            else if (P->s[P->pos] == '\\' && P->s[P->pos + 1]) P->pos++;
            P->pos++;
        }
        if (P->s[P->pos] != '/')
            return kperf__parse_error(P, P->pos, "expected '/' closing the tracepoint filter");
        if (P->pos > f0 && !(filter = kperf__strndup(P->s + f0, P->pos - f0))) return -ENOMEM;
        P->pos++;
    }
    const char *ev = kperf__tracefs_events(kperf_pmus_root(P->pmus), dir, sizeof dir);
    if (!ev) {
        KPERF_FREE(filter);
        return kperf__fail(KPERF_ENOTRACEFS,
                           "%s:%s: tracefs is not mounted (looked in %s/sys/kernel/tracing and "
                           "%s/sys/kernel/debug/tracing); mount it with `mount -t tracefs nodev "
                           "/sys/kernel/tracing`",
                           sys, name, kperf__rp(kperf_pmus_root(P->pmus)),
                           kperf__rp(kperf_pmus_root(P->pmus)));
    }
    kperf__path(path, sizeof path, "%s/%s/%s/id", ev, sys, name);
    int rc = kperf__read_file(path, buf, sizeof buf);
    uint64_t id;
    if (rc == -EACCES || rc == -EPERM) {
        KPERF_FREE(filter);
        return kperf__fail(-rc, "%s:%s: cannot read %s: %s (tracefs needs root or a tracing "
                                "group; run as root or chmod the tracefs mount)",
                           sys, name, path, strerror(-rc));
    }
    if (rc <= 0 || !kperf__parse_u64(buf, strlen(buf), &id)) {
        KPERF_FREE(filter);
        kperf__suggest s;
        char want[256], text[600];
        char **names = NULL;
        size_t n = 0;
        snprintf(want, sizeof want, "%s:%s", sys, name);
        kperf__suggest_init(&s, want);
        s.limit = s.limit < 3 ? 3 : s.limit;
        char **systems = NULL;
        size_t nsys = 0;
        kperf__dir_names(ev, &systems, &nsys);
        for (size_t i = 0; i < nsys; i++) {
            if (strcmp(systems[i], sys) && kperf__edit_distance(systems[i], sys) > 2) continue;
            kperf__dir_names(kperf__path(path, sizeof path, "%s/%s", ev, systems[i]), &names, &n);
            for (size_t j = 0; j < n; j++) {
                char full[256];
                snprintf(full, sizeof full, "%s:%s", systems[i], names[j]);
                kperf__suggest_add(full, &s);
            }
            kperf__names_free(names, n);
        }
        kperf__names_free(systems, nsys);
        kperf__suggest_text(&s, text, sizeof text);
        return kperf__fail(KPERF_ENOEVENT, "%s: unknown tracepoint (no %s/%s/%s/id)%s", want, ev,
                           sys, name, text);
    }
    kperf_event *e = kperf__vars_push(v);
    if (!e) return KPERF_FREE(filter), -ENOMEM;
    e->type = PERF_TYPE_TRACEPOINT;
    e->config[0] = id;
    e->filter = filter;
    return (e->pmu = kperf__strdup("tracepoint")) ? 0 : -ENOMEM;
}

/* A bare name: generic, cache, raw rNNNN, or an alias of one or more PMUs. */
KPERF__PRIV int kperf__parse_named(kperf__parser *P, kperf__vars *v, const char *word) {
    uint32_t type;
    uint64_t config;
    if (kperf__generic_lookup(word, &type, &config))
        return kperf__generic_vars(P, v, type, config, word, NULL);
    if (word[0] == 'r' && word[1]) {
        size_t n = strlen(word + 1);
        bool hex = n <= 16;
        for (size_t i = 1; word[i] && hex; i++) hex = isxdigit((unsigned char)word[i]);
        if (hex) {
            kperf_event *e = kperf__vars_push(v);
            const kperf_pmu *core[1];
            if (!e) return -ENOMEM;
            e->type = PERF_TYPE_RAW;
            e->config[0] = strtoull(word + 1, NULL, 16);
            if (kperf__core_pmus(P->pmus, core, 1)) return kperf__event_set_pmu(P, e, core[0]);
            return (e->pmu = kperf__strdup("cpu")) ? 0 : -ENOMEM;
        }
    }
    for (size_t i = 0; P->pmus && i < P->pmus->n; i++) {
        const kperf_pmu *pmu = &P->pmus->pmus[i];
        const kperf_pmu_alias *a = kperf_pmu_alias_find(pmu, word);
        if (!a) continue;
        kperf_event *e = kperf__vars_push(v);
        if (!e) return -ENOMEM;
        e->type = pmu->type;
        int rc = kperf__apply_alias(P, e, pmu, a);
        if (rc < 0) return rc;
        if (kperf__event_set_pmu(P, e, pmu) < 0) return -ENOMEM;
        char buf[256];
        snprintf(buf, sizeof buf, "%s/%s/", pmu->name, word);
        if (!(e->name = kperf__strdup(buf))) return -ENOMEM;
    }
    return v->n ? 0 : kperf__unknown_event(P, word);
}

/* Modifiers after ':' (P->pos on the first letter): u k h p pp ppp D, combinable. */
KPERF__PRIV int kperf__parse_mods(kperf__parser *P, uint32_t *flags, uint8_t *precise) {
    unsigned ukh = 0, p = 0;
    size_t start = P->pos;
    for (;; P->pos++) {
        char c = P->s[P->pos];
        if (c == 'u') ukh |= 1;
        else if (c == 'k') ukh |= 2;
        else if (c == 'h') ukh |= 4;
        else if (c == 'p') p++;
        else if (c == 'D') *flags |= KPERF_EV_PINNED;
        else break;
    }
    if (kperf__isname(P->s[P->pos])) {
        char msg[96];
        snprintf(msg, sizeof msg, "unknown modifier '%c' (known: u k h p pp ppp D)",
                 P->s[P->pos]);
        return kperf__parse_error(P, P->pos, msg);
    }
    if (P->pos == start) return kperf__parse_error(P, P->pos, "expected a modifier (u k h p D)");
    if (p > 3) return kperf__parse_error(P, start, "at most 3 'p' modifiers (:ppp)");
    if (ukh) {
        if (!(ukh & 1)) *flags |= KPERF_EV_EXCLUDE_USER;
        if (!(ukh & 2)) *flags |= KPERF_EV_EXCLUDE_KERNEL;
        if (!(ukh & 4)) *flags |= KPERF_EV_EXCLUDE_HV;
    }
    if (p > *precise) *precise = (uint8_t)p;
    return 0;
}

KPERF__PRIV bool kperf__all_mods(const char *s, size_t n) {
    if (!n) return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("ukhpD", s[i])) return false;
    return true;
}

/* One event (not a group) at P->pos into @p v. */
KPERF__PRIV int kperf__parse_event(kperf__parser *P, kperf__vars *v) {
    char word[256], word2[256];
    kperf__skip_ws(P);
    size_t start = P->pos;
    while (kperf__isname(P->s[P->pos])) P->pos++;
    size_t wlen = P->pos - start;
    if (!wlen) return kperf__parse_error(P, P->pos, "expected an event name");
    if (wlen >= sizeof word) return kperf__parse_error(P, start, "event name too long");
    memcpy(word, P->s + start, wlen);
    word[wlen] = 0;
    int rc;
    uint32_t flags = 0;
    uint8_t precise = 0;
    bool mods_done = false;
    size_t mods_at = 0;
    if (P->s[P->pos] == '/') {
        rc = kperf__parse_pmu_event(P, v, word);
    } else if (P->s[P->pos] == ':') {
        size_t w0 = P->pos + 1, w1 = w0;
        while (kperf__isname(P->s[w1])) w1++;
        uint32_t gt;
        uint64_t gc;
        if (kperf__all_mods(P->s + w0, w1 - w0) || kperf__generic_lookup(word, &gt, &gc)) {
            mods_at = P->pos;
            P->pos = w0;
            if ((rc = kperf__parse_mods(P, &flags, &precise)) < 0) return rc;
            mods_done = true;
            rc = kperf__parse_named(P, v, word);
        } else {
            if (w1 == w0) return kperf__parse_error(P, w0, "expected a tracepoint or modifier");
            if (w1 - w0 >= sizeof word2) return kperf__parse_error(P, w0, "name too long");
            memcpy(word2, P->s + w0, w1 - w0);
            word2[w1 - w0] = 0;
            P->pos = w1;
            rc = kperf__parse_tracepoint(P, v, word, word2);
        }
    } else {
        rc = kperf__parse_named(P, v, word);
    }
    if (rc < 0) return rc;
    if (!mods_done && P->s[P->pos] == ':') {
        mods_at = P->pos++;
        if ((rc = kperf__parse_mods(P, &flags, &precise)) < 0) return rc;
    }
    size_t end = P->pos;
    for (size_t i = 0; i < v->n; i++) {
        kperf_event *e = &v->v[i];
        e->flags |= flags;
        if (precise > e->precise) e->precise = precise;
        if (!(e->spec = kperf__strndup(P->s + start, end - start))) return -ENOMEM;
        if (!e->name) {
            if (!(e->name = kperf__strdup(e->spec))) return -ENOMEM;
        } else if (mods_at) { /* "pmu/x/" + ":mods" as written */
            size_t nl = strlen(e->name), cl = end - mods_at;
            char *nn = (char *)KPERF_REALLOC(e->name, nl + cl + 1);
            if (!nn) return -ENOMEM;
            memcpy(nn + nl, P->s + mods_at, cl);
            nn[nl + cl] = 0;
            e->name = nn;
        }
    }
    return 0;
}

/* Appends @p e (moved) to the output list as a member of group @p group. */
KPERF__PRIV int kperf__emit(kperf__parser *P, kperf_event *e, int group, bool leader) {
    kperf_evlist *L = P->out;
    if (L->nevents == P->cap) {
        size_t nc = P->cap ? P->cap * 2 : 8;
        kperf_event *ne = (kperf_event *)KPERF_REALLOC(L->events, nc * sizeof *ne);
        if (!ne) return -ENOMEM;
        L->events = ne;
        P->cap = nc;
    }
    e->group = group;
    e->leader = leader;
    L->events[L->nevents++] = *e;
    memset(e, 0, sizeof *e);
    return 0;
}

/* Emits one group of items: with a multi-PMU item, one group per PMU (every other item
 * copied into each). */
KPERF__PRIV int kperf__emit_group(kperf__parser *P, kperf__vars *items, size_t nitems,
                                  size_t at) {
    size_t width = 1;
    for (size_t i = 0; i < nitems; i++)
        if (items[i].n > 1) {
            if (width > 1 && items[i].n != width)
                return kperf__parse_error(P, at, "events of this group expand to different "
                                                 "numbers of PMUs; group them per PMU");
            width = items[i].n;
        }
    for (size_t k = 0; k < width; k++) {
        int group = P->out->ngroups++;
        for (size_t i = 0; i < nitems; i++) {
            kperf_event tmp;
            kperf_event *src = &items[i].v[items[i].n > 1 ? k : 0];
            if (items[i].n == 1 && k + 1 < width) {
                if (kperf__event_copy(&tmp, src) < 0) return -ENOMEM;
                src = &tmp;
            }
            int rc = kperf__emit(P, src, group, i == 0);
            if (rc < 0) return rc;
        }
    }
    return 0;
}

/* A group `{a,b}[:mods]` (P->pos on '{') or a single event. */
KPERF__PRIV int kperf__parse_item(kperf__parser *P) {
    kperf__vars items[64];
    size_t n = 0;
    int rc = 0;
    kperf__skip_ws(P);
    size_t at = P->pos;
    memset(items, 0, sizeof items);
    if (P->s[P->pos] != '{') {
        rc = kperf__parse_event(P, &items[0]);
        n = 1;
        if (rc >= 0) rc = kperf__emit_group(P, items, 1, at);
        kperf__vars_free(&items[0]);
        return rc;
    }
    P->pos++;
    for (;;) {
        if (n == 64) {
            rc = kperf__parse_error(P, P->pos, "more than 64 events in one group");
            break;
        }
        if ((rc = kperf__parse_event(P, &items[n++])) < 0) break;
        kperf__skip_ws(P);
        if (P->s[P->pos] == ',') {
            P->pos++;
            continue;
        }
        if (P->s[P->pos] == '}') {
            P->pos++;
            break;
        }
        rc = kperf__parse_error(P, P->pos, P->s[P->pos] == '{' ? "groups cannot nest" : "expected '}'");
        break;
    }
    if (rc >= 0 && P->s[P->pos] == ':') {
        uint32_t flags = 0;
        uint8_t precise = 0;
        P->pos++;
        rc = kperf__parse_mods(P, &flags, &precise);
        for (size_t i = 0; rc >= 0 && i < n; i++)
            for (size_t j = 0; j < items[i].n; j++) {
                items[i].v[j].flags |= flags;
                if (precise > items[i].v[j].precise) items[i].v[j].precise = precise;
            }
    }
    if (rc >= 0) rc = kperf__emit_group(P, items, n, at);
    for (size_t i = 0; i < n; i++) kperf__vars_free(&items[i]);
    return rc;
}

KPERF_API void kperf_evlist_free(kperf_evlist *list) {
    if (!list) return;
    for (size_t i = 0; i < list->nevents; i++) kperf__event_clear(&list->events[i]);
    KPERF_FREE(list->events);
    KPERF_FREE(list);
}

KPERF_API int kperf_evlist_parse(kperf_evlist **out, const char *spec, const kperf_pmus *pmus) {
    if (!out) return kperf__fail(EINVAL, "kperf_evlist_parse: out is NULL");
    *out = NULL;
    if (!spec) return kperf__fail(EINVAL, "kperf_evlist_parse: spec is NULL");
    kperf_pmus *own = NULL;
    if (!pmus) {
        int rc = kperf_pmus_open(&own, NULL);
        if (rc < 0) return rc;
        pmus = own;
    }
    kperf__parser P;
    memset(&P, 0, sizeof P);
    P.s = spec;
    P.pmus = pmus;
    P.out = (kperf_evlist *)kperf__calloc(1, sizeof *P.out);
    int rc = P.out ? 0 : -ENOMEM;
    while (rc >= 0) {
        if ((rc = kperf__parse_item(&P)) < 0) break;
        kperf__skip_ws(&P);
        if (!P.s[P.pos]) break;
        if (P.s[P.pos] != ',') {
            rc = kperf__parse_error(&P, P.pos, P.s[P.pos] == '}' ? "unexpected '}' (no group is "
                                                                  "open)" : "expected ','");
            break;
        }
        P.pos++;
    }
    kperf_pmus_close(own);
    if (rc < 0) {
        kperf_evlist_free(P.out);
        if (rc == -ENOMEM) return kperf__fail(ENOMEM, "%s: out of memory", spec);
        return rc;
    }
    *out = P.out;
    return 0;
}

/* Fills @p attr from @p ev: type, size, config words, exclude_* bits, precise_ip, pinned
 * (leaders only, as the kernel wants) and period/freq. Everything else is zero. */
KPERF__PRIV void kperf__event_attr(const kperf_event *ev, struct perf_event_attr *attr) {
    memset(attr, 0, sizeof *attr);
    attr->size = sizeof *attr;
    attr->type = ev->type;
    attr->config = ev->config[0];
    attr->config1 = ev->config[1];
    attr->config2 = ev->config[2];
#ifdef PERF_ATTR_SIZE_VER8
    attr->config3 = ev->config[3];
#endif
    attr->exclude_user = !!(ev->flags & KPERF_EV_EXCLUDE_USER);
    attr->exclude_kernel = !!(ev->flags & KPERF_EV_EXCLUDE_KERNEL);
    attr->exclude_hv = !!(ev->flags & KPERF_EV_EXCLUDE_HV);
    attr->precise_ip = ev->precise & 3;
    attr->pinned = ev->leader && (ev->flags & KPERF_EV_PINNED);
    if (ev->period) {
        attr->freq = !!(ev->flags & KPERF_EV_FREQ);
        attr->sample_period = ev->period; /* a union with sample_freq */
    }
}

/* ---- listing ------------------------------------------------------------------------- */

typedef struct kperf__list_ctx {
    kperf_event_fn fn;
    void *user;
    int count;
    enum kperf_event_kind kind;
} kperf__list_ctx;

KPERF__PRIV int kperf__list_emit(kperf__list_ctx *c, const char *name, const char *pmu,
                                 enum kperf_event_kind kind, const char *desc) {
    kperf_event_info info;
    info.name = name;
    info.pmu = pmu;
    info.kind = kind;
    info.desc = desc;
    int rc = c->fn(&info, c->user);
    if (rc < 0) return rc;
    c->count++;
    return 0;
}

KPERF__PRIV int kperf__list_cache_cb(const char *name, void *u) {
    return kperf__list_emit((kperf__list_ctx *)u, name, "cpu", KPERF_EVENT_KIND_CORE,
                            "hardware cache event");
}

KPERF__PRIV int kperf__list_generic(kperf__list_ctx *c, uint32_t type, enum kperf_event_kind k) {
    for (size_t i = 0; i < KPERF__NGENERIC; i++) {
        const kperf__generic *g = &kperf__generics[i];
        if (g->type != type || (i && kperf__generics[i - 1].type == type &&
                                kperf__generics[i - 1].config == g->config))
            continue; /* synonyms follow their primary name */
        char desc[96] = "";
        const char *syn = NULL;
        if (i + 1 < KPERF__NGENERIC && kperf__generics[i + 1].type == type &&
            kperf__generics[i + 1].config == g->config)
            syn = kperf__generics[i + 1].name;
        snprintf(desc, sizeof desc, "%s event%s%s", type == PERF_TYPE_SOFTWARE ? "software"
                                                                              : "hardware",
                 syn ? ", also " : "", syn ? syn : "");
        int rc = kperf__list_emit(c, g->name, type == PERF_TYPE_SOFTWARE ? "software" : "cpu", k,
                                  desc);
        if (rc < 0) return rc;
    }
    return 0;
}

KPERF__PRIV int kperf__list_aliases(kperf__list_ctx *c, const kperf_pmus *pmus,
                                    enum kperf_event_kind k) {
    char name[512];
    for (size_t i = 0; i < pmus->n; i++) {
        const kperf_pmu *p = &pmus->pmus[i];
        enum kperf_event_kind pk = p->is_core     ? KPERF_EVENT_KIND_CORE
                                   : p->is_uncore ? KPERF_EVENT_KIND_UNCORE
                                                  : KPERF_EVENT_KIND_OTHER;
        if (pk != k) continue;
        for (size_t j = 0; j < p->naliases; j++) {
            snprintf(name, sizeof name, "%s/%s/", p->name, p->aliases[j].name);
            int rc = kperf__list_emit(c, name, p->name, k, p->aliases[j].terms);
            if (rc < 0) return rc;
        }
    }
    return 0;
}

KPERF__PRIV int kperf__list_tracepoints(kperf__list_ctx *c, const kperf_pmus *pmus) {
    char dir[PATH_MAX], path[PATH_MAX], name[512];
    const char *ev = kperf__tracefs_events(kperf_pmus_root(pmus), dir, sizeof dir);
    char **sys = NULL, **evs = NULL;
    size_t nsys = 0, nev = 0;
    int rc = 0;
    if (!ev || kperf__dir_names(ev, &sys, &nsys) < 0) return 0;
    for (size_t i = 0; i < nsys && rc >= 0; i++) {
        if (kperf__dir_names(kperf__path(path, sizeof path, "%s/%s", ev, sys[i]), &evs, &nev) < 0)
            continue;
        for (size_t j = 0; j < nev && rc >= 0; j++) {
            kperf__path(path, sizeof path, "%s/%s/%s/id", ev, sys[i], evs[j]);
            if (access(path, F_OK) != 0) continue;
            snprintf(name, sizeof name, "%s:%s", sys[i], evs[j]);
            rc = kperf__list_emit(c, name, "tracepoint", KPERF_EVENT_KIND_TRACEPOINT,
                                  "tracepoint");
        }
        kperf__names_free(evs, nev);
    }
    kperf__names_free(sys, nsys);
    return rc;
}

KPERF_API int kperf_events_foreach(const kperf_pmus *pmus, enum kperf_event_kind kind,
                                   kperf_event_fn fn, void *user) {
    if (!fn) return kperf__fail(EINVAL, "kperf_events_foreach: fn is NULL");
    kperf_pmus *own = NULL;
    if (!pmus) {
        int rc = kperf_pmus_open(&own, NULL);
        if (rc < 0) return rc;
        pmus = own;
    }
    kperf__list_ctx c;
    c.fn = fn;
    c.user = user;
    c.count = 0;
    c.kind = kind;
    bool all = kind == KPERF_EVENT_KIND_ALL;
    int rc = 0;
    if ((all || kind == KPERF_EVENT_KIND_CORE) && kperf__has_hw_pmu(pmus)) {
        rc = kperf__list_generic(&c, PERF_TYPE_HARDWARE, KPERF_EVENT_KIND_CORE);
        if (rc >= 0) rc = kperf__cache_foreach(kperf__list_cache_cb, &c);
    }
    if (rc >= 0 && (all || kind == KPERF_EVENT_KIND_CORE))
        rc = kperf__list_aliases(&c, pmus, KPERF_EVENT_KIND_CORE);
    if (rc >= 0 && (all || kind == KPERF_EVENT_KIND_SOFTWARE))
        rc = kperf__list_generic(&c, PERF_TYPE_SOFTWARE, KPERF_EVENT_KIND_SOFTWARE);
    if (rc >= 0 && (all || kind == KPERF_EVENT_KIND_UNCORE))
        rc = kperf__list_aliases(&c, pmus, KPERF_EVENT_KIND_UNCORE);
    if (rc >= 0 && (all || kind == KPERF_EVENT_KIND_OTHER))
        rc = kperf__list_aliases(&c, pmus, KPERF_EVENT_KIND_OTHER);
    if (rc >= 0 && (all || kind == KPERF_EVENT_KIND_TRACEPOINT))
        rc = kperf__list_tracepoints(&c, pmus);
    kperf_pmus_close(own);
    return rc < 0 ? rc : c.count;
}

typedef struct kperf__names_ctx {
    char **v;
    size_t n, cap;
    bool oom;
} kperf__names_ctx;

KPERF__PRIV int kperf__names_cb(const kperf_event_info *info, void *u) {
    kperf__names_ctx *c = (kperf__names_ctx *)u;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 64;
        char **nv = (char **)KPERF_REALLOC(c->v, nc * sizeof *nv);
        if (!nv) return c->oom = true, -ENOMEM;
        c->v = nv;
        c->cap = nc;
    }
    if (!(c->v[c->n] = kperf__strdup(info->name))) return c->oom = true, -ENOMEM;
    c->n++;
    return 0;
}

KPERF_API int kperf_event_names(const kperf_pmus *pmus, enum kperf_event_kind kind,
                                char ***names, size_t *n) {
    if (!names || !n) return kperf__fail(EINVAL, "kperf_event_names: NULL argument");
    *names = NULL;
    *n = 0;
    kperf__names_ctx c;
    memset(&c, 0, sizeof c);
    int rc = kperf_events_foreach(pmus, kind, kperf__names_cb, &c);
    if (rc < 0) {
        kperf__names_free(c.v, c.n);
        return c.oom ? kperf__fail(ENOMEM, "out of memory listing events") : rc;
    }
    *names = c.v;
    *n = c.n;
    return 0;
}

KPERF_API void kperf_event_names_free(char **names, size_t n) { kperf__names_free(names, n); }
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
        if (kperf__metric_rows[i].need)
            snprintf(pat + k, sizeof pat - k, " with %s", kperf__metric_rows[i].need);
        bool seen = false;
        for (size_t j = 0; j < np; j++) seen |= !strcmp(pats[j], pat);
        if (seen || np == 16) continue;
        memcpy(pats[np++], pat, sizeof pat);
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
            char path[PATH_MAX + 260];
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
        char pmcg[64], sub[PATH_MAX + 270];
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
    if (d->nev == before && filtered && want)
        return kperf__fail(KPERF_ENOTARGET, "%s: device %s is not behind any of its PMUs; "
                           "'kperf list --metrics' lists the devices it can measure", m->name,
                           want);
    if (d->nev == before && filtered)
        return kperf__fail(KPERF_ENOTARGET, "%s: no PCI device behind its PMUs (looked in "
                           "%s/sys/devices/pci* and /sys/class/iommu)", m->name,
                           strcmp(kperf_pmus_root(d->pmus), "/") ? kperf_pmus_root(d->pmus) : "");
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
