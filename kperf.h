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

/** How far a counter value can be trusted (multiplexing). */
typedef enum kperf_accuracy {
    KPERF_COUNT_EXACT = 0,       /**< counted the whole time it was enabled: exact */
    KPERF_COUNT_SCALED = 1,      /**< multiplexed: value = raw * enabled / running, estimate */
    KPERF_COUNT_NOT_COUNTED = 2, /**< never on the PMU while enabled: value is 0, unknown */
} kperf_accuracy;

/** One counter value with its times and accuracy. */
typedef struct kperf_value {
    uint64_t raw;           /**< raw count summed over the fds behind this value */
    uint64_t enabled;       /**< ns the event was enabled (summed like raw) */
    uint64_t running;       /**< ns the event was on the PMU (summed like raw) */
    double value;           /**< estimate: raw scaled by enabled/running per fd, times the
                                 sysfs `.scale` of the event; equals raw when exact */
    double delta;           /**< change of value since the previous kperf_counter_read() */
    double percent;         /**< running / enabled * 100 (libkperf countPercent); 100 when
                                 exact, 0 when not counted */
    kperf_accuracy accuracy;    /**< exact, scaled or not counted */
} kperf_value;

/** Totals of one event over every target of a counter. */
typedef struct kperf_count {
    const char *name;       /**< event display name, e.g. "task-clock" */
    const char *unit;       /**< unit after sysfs scaling ("" when none; "msec" is not
                                 applied: task-clock values are ns) */
    kperf_value v;          /**< the value */
} kperf_count;

/** One value of one event on one target (fd set): the flat rows of a read, the raw
 *  material of the libkperf task records. */
typedef struct kperf_count_row {
    int event;              /**< index into kperf_counts::events */
    pid_t pid;              /**< process id; -1 for a CPU-wide row */
    pid_t tid;              /**< thread id; -1 for a CPU-wide row */
    int cpu;                /**< CPU of the fd; -1 when it follows the thread */
    bool exited;            /**< a thread that inherited the counter and exited (per_thread
                                 split); its value is final */
    kperf_value v;          /**< the value */
} kperf_count_row;

/** The result of kperf_counter_read(). All pointers point into storage owned by the
 *  counter: valid until the next read or close of that counter. */
typedef struct kperf_counts {
    const kperf_count *events;  /**< totals per event, in spec order */
    size_t nevents;             /**< number of events */
    const kperf_count_row *rows;    /**< per-target values: one per event and fd set, plus
                                         one per exited thread with per_thread */
    size_t nrows;               /**< number of rows */
    uint64_t interval_ns;       /**< monotonic ns since the previous read (or the open) */
    uint64_t lost;              /**< exited-thread records lost (per_thread ring overflow) */
    uint64_t iterations;        /**< brackets summed by kperf_region_read(); 0 for counters */
} kperf_counts;

/** What the calling process may measure, from perf_event_paranoid and its capabilities. */
typedef struct kperf_perm {
    int paranoid;           /**< /proc/sys/kernel/perf_event_paranoid (3 if unreadable) */
    bool cap_perfmon;       /**< effective CAP_PERFMON */
    bool cap_sys_admin;     /**< effective CAP_SYS_ADMIN */
    bool kernel;            /**< kernel space may be counted (paranoid <= 1 or a capability) */
    bool cpu_wide;          /**< whole CPUs may be counted (paranoid <= 0 or a capability) */
} kperf_perm;

/** @brief Reads the calling process's perf permissions. Tools use it to count kernel space
 *  when allowed (`.include_kernel = perm.kernel`), as `perf stat` does.
 *  @param out receives the permissions.
 *  @return 0 (unreadable files count as the most restrictive answer). */
KPERF_API int kperf_perm_read(kperf_perm *out);

/** A set of event groups opened over a set of targets. Opaque. */
typedef struct kperf_counter kperf_counter;

/** What to count, where. Zero-initialised means: task-clock, the calling thread, user
 *  space only, enabled by kperf_counter_start(). */
typedef struct kperf_counter_desc {
    const char *events;     /**< event spec as `perf stat -e` takes it; NULL = "task-clock" */
    const kperf_pmus *pmus; /**< registry to resolve events in; NULL = open one from
                                 sysfs_root (kept for the counter's lifetime) */
    const char *sysfs_root; /**< sysfs root when pmus is NULL; NULL = KPERF_SYSFS_ROOT or "/" */
    const pid_t *pids;      /**< processes: every thread of each (from /proc/PID/task) */
    size_t npids;           /**< number of pids */
    const pid_t *tids;      /**< single threads */
    size_t ntids;           /**< number of tids */
    const int *cpus;        /**< CPUs to count on; with pids/tids: those threads on those
                                 CPUs, without: everything on those CPUs */
    size_t ncpus;           /**< number of cpus */
    bool all_cpus;          /**< every online CPU (like `perf stat -a`); needs
                                 perf_event_paranoid <= 0 or CAP_PERFMON */
    bool inherit;           /**< threads and processes the targets create after the open
                                 are counted too (added to their parent's fds) */
    bool per_thread;        /**< implies inherit: each inherited thread that exits becomes
                                 its own row, with its pid and tid (PERF_RECORD_READ through a
                                 small ring per group leader); live threads stay in their
                                 parent's row */
    bool include_kernel;    /**< count kernel space too (needs paranoid <= 1); events with
                                 an explicit :u/:k modifier keep it */
    bool include_hv;        /**< count the hypervisor too */
    bool enable_on_exec;    /**< start counting when the target execs (kperf stat -- cmd);
                                 start() is then not needed */
} kperf_counter_desc;

/** @brief Opens every event of desc->events on every target, as groups.
 *  Each `{...}` group (and each event outside braces) is one kernel group per target: one
 *  ioctl starts it, one read() reads it. Uncore events (a PMU with a cpumask) open on their
 *  PMU's CPUs only, never per thread.
 *  @param out receives the counter, stopped and zeroed; NULL on failure.
 *  @param desc what to count; NULL = every default.
 *  @return 0, or a negative code; kperf_errmsg() says which event and target failed and
 *  what to change (-KPERF_ENOTSUP, -KPERF_EPARANOID, -KPERF_ENOCAP, -KPERF_ELIMIT,
 *  -KPERF_ENOTARGET, -KPERF_ENOEVENT, -KPERF_EPARSE, ...).
 *  *Ownership:* close with kperf_counter_close(). */
KPERF_API int kperf_counter_open(kperf_counter **out, const kperf_counter_desc *desc);

/** @brief Closes every fd and frees the counter; accepts NULL. */
KPERF_API void kperf_counter_close(kperf_counter *c);

/** @brief Starts counting: one PERF_EVENT_IOC_ENABLE per group fd set.
 *  @return 0 or a negative errno. *Thread safety:* one thread at a time per counter. */
KPERF_API int kperf_counter_start(kperf_counter *c);

/** @brief Stops counting: one PERF_EVENT_IOC_DISABLE per group fd set.
 *  @return 0 or a negative errno. */
KPERF_API int kperf_counter_stop(kperf_counter *c);

/** @brief Zeroes every count: one PERF_EVENT_IOC_RESET per group fd set. Deltas restart.
 *  @return 0 or a negative errno. */
KPERF_API int kperf_counter_reset(kperf_counter *c);

/** @brief Reads every group with one read() per group fd set (members matched by id).
 *  Works while running or stopped. Totals are since the open (or the last reset); deltas
 *  since the previous read, which makes repeated reads interval reads.
 *  @param c the counter.
 *  @param out receives pointers into counter-owned storage (no allocation on this path
 *  except when new exited threads are recorded with per_thread).
 *  @return 0 or a negative code. */
KPERF_API int kperf_counter_read(kperf_counter *c, kperf_counts *out);

/** @brief Number of fds the counter holds (one per event per target). */
KPERF_API size_t kperf_counter_nfds(const kperf_counter *c);

/** @brief Prints one line per event: the value divided by @p iterations, the name, and
 *  "(xx.xx%)" when the value was scaled or "<not counted>".
 *  @param f where to print.
 *  @param n a read result.
 *  @param iterations divisor for per-iteration values; 0 or 1 prints totals. */
KPERF_API void kperf_counts_print(void *f, const kperf_counts *n, uint64_t iterations);

/** One fd that a counter would open: its perf_event_attr and where it goes. */
typedef struct kperf_plan_entry {
    const char *event;      /**< event spec as written, e.g. "task-clock:u" */
    const char *pmu;        /**< PMU name, e.g. "software", "uncore_imc_0" */
    uint32_t type;          /**< attr.type */
    uint64_t config[4];     /**< attr.config, config1, config2, config3 */
    int cpu;                /**< cpu argument of perf_event_open (-1 = any) */
    pid_t pid;              /**< pid argument (-1 = every task on cpu, 0 = caller) */
    int leader;             /**< index of this fd's group leader entry (itself if leader) */
    const void *attr;       /**< the complete struct perf_event_attr (cast it) */
    size_t attr_size;       /**< sizeof(struct perf_event_attr) as compiled */
} kperf_plan_entry;

/** A dry run: every fd a request would open, in open order. */
typedef struct kperf_plan {
    kperf_plan_entry *entries;  /**< the fds, group leaders before their members */
    size_t nentries;            /**< number of fds */
} kperf_plan;

/** @brief Computes every perf_event_attr that kperf_counter_open() would open for @p desc
 *  without calling the kernel (pids are still listed from /proc).
 *  @param out receives the plan; NULL on failure.
 *  @return 0 or a negative code (the same parse and target errors as the open).
 *  *Ownership:* free with kperf_plan_free(). */
KPERF_API int kperf_counter_plan(kperf_plan **out, const kperf_counter_desc *desc);

/** @brief Frees a plan; accepts NULL. */
KPERF_API void kperf_plan_free(kperf_plan *plan);

/** @brief Formats one plan entry as the line `kperf stat --plan` prints:
 *  `event=<spec> pmu=<name> type=<n> config=0x<hex> config1=0x<hex> config2=0x<hex>
 *  cpu=<n> pid=<n> leader=<spec>` (no newline).
 *  @return the length snprintf would have written. */
KPERF_API int kperf_plan_format(const kperf_plan *plan, size_t i, char *buf, size_t size);
// <<counting

// >>region ------------------------------------------------------------------------------

/** A self-monitoring region counter: events of the calling thread, enabled once, read at
 *  every kperf_region_start()/kperf_region_stop() bracket through rdpmc where the PMU
 *  allows user access (no syscall), else with one read() per group. Opaque. */
typedef struct kperf_region kperf_region;

/** What a region counts. Zero-initialised: task-clock, user space, rdpmc when possible,
 *  overhead calibrated at open and not subtracted. */
typedef struct kperf_region_desc {
    const char *events;     /**< event spec; NULL = "task-clock" */
    const kperf_pmus *pmus; /**< registry; NULL = open one from sysfs_root */
    const char *sysfs_root; /**< sysfs root when pmus is NULL */
    bool include_kernel;    /**< count kernel space too (paranoid <= 1) */
    bool no_rdpmc;          /**< always use read(), even where rdpmc would work */
    bool subtract_overhead; /**< kperf_region_read() subtracts the calibrated cost of an
                                 empty bracket from every bracket (clamped at 0) */
} kperf_region_desc;

/** @brief Opens the events on the calling thread, maps their user pages, enables them and
 *  calibrates the cost of an empty start/stop bracket.
 *  @param out receives the region; NULL on failure.
 *  @param desc what to count; NULL = defaults.
 *  @return 0 or a negative code (see kperf_counter_open()).
 *  *Thread safety:* use the region only on the thread that opened it. */
KPERF_API int kperf_region_open(kperf_region **out, const kperf_region_desc *desc);

/** @brief Closes the region; accepts NULL. */
KPERF_API void kperf_region_close(kperf_region *r);

/** @brief Takes the start snapshot of a bracket (rdpmc, or one read() per group).
 *  @return 0 or a negative code. */
KPERF_API int kperf_region_start(kperf_region *r);

/** @brief Takes the end snapshot and adds the bracket's counts to the region's sums.
 *  @return 0 or a negative code (-KPERF_ESTATE without a matching start). */
KPERF_API int kperf_region_stop(kperf_region *r);

/** @brief The sums over every bracket since the open (or reset): value per event, scaled
 *  by the summed enabled/running times, with kperf_counts::iterations set to the number
 *  of brackets. Deltas are since the previous kperf_region_read().
 *  @param r the region.
 *  @param out receives pointers into region-owned storage, valid until the next read.
 *  @return 0 or a negative code. */
KPERF_API int kperf_region_read(kperf_region *r, kperf_counts *out);

/** @brief Forgets every bracket (the calibration stays). @return 0. */
KPERF_API int kperf_region_reset(kperf_region *r);

/** The calibration of a region: what an empty bracket costs. */
typedef struct kperf_region_cost {
    bool rdpmc;             /**< brackets read the counters with rdpmc (no syscall) */
    double bracket_ns;      /**< wall-clock ns of one empty start/stop pair */
    const double *per_event;    /**< per event (spec order): its value in an empty bracket;
                                     region-owned */
    size_t nevents;         /**< entries in per_event */
} kperf_region_cost;

/** @brief The calibrated overhead measured at open (empty brackets), so that callers can
 *  subtract it themselves or judge how small a region may be.
 *  @param r the region.
 *  @param out receives the costs; per_event stays valid until kperf_region_close(). */
KPERF_API void kperf_region_cost_read(const kperf_region *r, kperf_region_cost *out);
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

/* ---- permissions and open-error diagnosis (used by every section that opens events) -- */

KPERF_API int kperf_perm_read(kperf_perm *out) {
    char buf[4096];
    memset(out, 0, sizeof *out);
    out->paranoid = 3;
    if (kperf__read_file("/proc/sys/kernel/perf_event_paranoid", buf, sizeof buf) > 0)
        out->paranoid = atoi(buf);
    if (kperf__read_file("/proc/self/status", buf, sizeof buf) > 0) {
        const char *p = strstr(buf, "CapEff:");
        if (p) {
            unsigned long long eff = strtoull(p + 7, NULL, 16);
            out->cap_perfmon = (eff >> 38) & 1;     /* CAP_PERFMON */
            out->cap_sys_admin = (eff >> 21) & 1;   /* CAP_SYS_ADMIN */
        }
    }
    bool priv = out->cap_perfmon || out->cap_sys_admin;
    out->kernel = priv || out->paranoid <= 1;
    out->cpu_wide = priv || out->paranoid <= 0;
    return 0;
}

/* Whether an event needs a CPU's hardware PMU (cycles, cache events, raw codes, core PMU). */
static bool kperf__event_is_hw(const kperf_event *ev, const kperf_pmus *pmus) {
    if (ev->type == PERF_TYPE_HARDWARE || ev->type == PERF_TYPE_HW_CACHE ||
        ev->type == PERF_TYPE_RAW)
        return true;
    const kperf_pmu *p = (pmus && ev->pmu) ? kperf_pmus_find(pmus, ev->pmu) : NULL;
    return p && p->is_core;
}

static int kperf__perm_error(const char *name, const struct perf_event_attr *attr, pid_t pid,
                             int cpu) {
    kperf_perm pm;
    kperf_perm_read(&pm);
    bool cpu_wide = pid == -1, kernel = attr && !attr->exclude_kernel;
    int need = cpu_wide ? 0 : kernel ? 1 : 2;
    if (!pm.cap_perfmon && !pm.cap_sys_admin && pm.paranoid > need) {
        const char *what = cpu_wide ? "counting every task on a CPU (-a, a cpu list, uncore)"
                                    : "counting kernel space (include_kernel or :k)";
        if (!cpu_wide && !kernel) what = "any perf_event_open by an unprivileged user";
        return kperf__fail(KPERF_EPARANOID,
                           "%s (pid %d, cpu %d): /proc/sys/kernel/perf_event_paranoid is %d, and "
                           "%s needs %d or lower: run `sysctl kernel.perf_event_paranoid=%d` as "
                           "root%s, or give the program CAP_PERFMON",
                           name, (int)pid, cpu, pm.paranoid, what, need, need,
                           kernel && !cpu_wide ? ", count user space only (:u)" : "");
    }
    struct stat st;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    if (pid > 0 && stat(path, &st) == 0 && st.st_uid != geteuid())
        return kperf__fail(KPERF_ENOCAP,
                           "%s: pid %d belongs to uid %u, not to you (uid %u): measuring another "
                           "user's process needs CAP_PERFMON (or CAP_SYS_PTRACE); run as that user "
                           "or as root",
                           name, (int)pid, (unsigned)st.st_uid, (unsigned)geteuid());
    return kperf__fail(KPERF_ENOCAP,
                       "%s (pid %d, cpu %d): the kernel refused although perf_event_paranoid is "
                       "%d: this needs CAP_PERFMON (or CAP_SYS_ADMIN); a seccomp filter or a "
                       "security module (SELinux, AppArmor, lockdown) may also forbid "
                       "perf_event_open",
                       name, (int)pid, cpu, pm.paranoid);
}

/* Turns a failed perf_event_open (err = positive errno) into a kperf error whose message
 * names the event, the target and the fix. @p attr may be NULL (then ev->flags decide).
 * Returns the negative code. Shared by counting, sampling, tracepoints and devices. */
KPERF__PRIV int kperf__open_error(int err, const kperf_event *ev,
                                  const struct perf_event_attr *attr, pid_t pid, int cpu,
                                  const kperf_pmus *pmus) {
    const char *name = ev ? ev->name : "event";
    const char *pmu = ev && ev->pmu ? ev->pmu : "?";
    struct perf_event_attr a0;
    if (!attr && ev) {
        memset(&a0, 0, sizeof a0);
        a0.type = ev->type, a0.config = ev->config[0];
        a0.exclude_kernel = !!(ev->flags & KPERF_EV_EXCLUDE_KERNEL);
        attr = &a0;
    }
    if (err == EMFILE) {
        struct rlimit rl = {0, 0};
        getrlimit(RLIMIT_NOFILE, &rl);
        return kperf__fail(KPERF_ELIMIT,
                           "%s: too many open files: RLIMIT_NOFILE is %llu (ulimit -n); raise it "
                           "(ulimit -n 65536, or setrlimit(RLIMIT_NOFILE)) or count fewer events "
                           "or targets",
                           name, (unsigned long long)rl.rlim_cur);
    }
    if (err == ENFILE)
        return kperf__fail(KPERF_ELIMIT,
                           "%s: the system-wide file table is full (sysctl fs.file-max)", name);
    if (err == ESRCH)
        return kperf__fail(KPERF_ENOTARGET, "%s: pid %d does not exist or exited", name,
                           (int)pid);
    if (err == EACCES || err == EPERM) return kperf__perm_error(name, attr, pid, cpu);
    if (ev && kperf__event_is_hw(ev, pmus) && !kperf__has_hw_pmu(pmus))
        return kperf__fail(KPERF_ENOTSUP,
                           "%s: not supported here: no hardware PMU is exposed (virtual "
                           "machine?); software events (task-clock, page-faults, "
                           "context-switches) and tracepoints still work",
                           name);
    unsigned long long cfg = attr ? (unsigned long long)attr->config : 0;
    switch (err) {
    case ENODEV:
        return kperf__fail(KPERF_ENOTSUP,
                           "%s: PMU %s cannot count on cpu %d (offline, or outside the PMU's "
                           "cpumask)",
                           name, pmu, cpu);
    case ENOENT:
        return kperf__fail(KPERF_ENOTSUP,
                           "%s: the kernel does not know this event on PMU %s (type %u, config "
                           "0x%llx)",
                           name, pmu, attr ? attr->type : 0, cfg);
    case EOPNOTSUPP:
        return kperf__fail(KPERF_ENOTSUP,
                           "%s: PMU %s does not support this mode (pid %d, cpu %d): uncore PMUs "
                           "count whole CPUs only, some PMUs cannot sample or exclude modes",
                           name, pmu, (int)pid, cpu);
    case EBUSY:
        return kperf__fail(EBUSY,
                           "%s: PMU %s is busy: another user holds it exclusively, or the NMI "
                           "watchdog holds a counter (sysctl kernel.nmi_watchdog=0)",
                           name, pmu);
    case EINVAL:
        if (cpu >= 0 && cpu >= (int)sysconf(_SC_NPROCESSORS_CONF))
            return kperf__fail(EINVAL, "%s: cpu %d does not exist (this machine has %ld)", name,
                               cpu, sysconf(_SC_NPROCESSORS_CONF));
        return kperf__fail(EINVAL,
                           "%s: the kernel rejected the attribute (EINVAL): pmu %s type %u "
                           "config 0x%llx, pid %d, cpu %d; check the event's terms and modifiers "
                           "(uncore PMUs reject :u/:k and per-thread use)",
                           name, pmu, attr ? attr->type : 0, cfg, (int)pid, cpu);
    default:
        return kperf__fail(err, "%s: perf_event_open(pid %d, cpu %d) failed: %s", name,
                           (int)pid, cpu, strerror(err));
    }
}

/* ---- small helpers ------------------------------------------------------------------ */

static uint64_t kperf__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Parses a cpulist such as "0-3,8,10-11" into a new array. Returns the count or -errno. */
static int kperf__count_cpulist(const char *s, int **out) {
    size_t n = 0, cap = 16;
    int *v = (int *)KPERF_MALLOC(cap * sizeof *v);
    if (!v) return -ENOMEM;
    while (*s) {
        char *end;
        long a = strtol(s, &end, 10), b = a;
        if (end == s || a < 0 || a > 65535) break;
        if (*end == '-') b = strtol(end + 1, &end, 10);
        if (b < a || b > 65535) break;
        for (long c = a; c <= b; c++) {
            if (n == cap) {
                int *nv = (int *)KPERF_REALLOC(v, (cap *= 2) * sizeof *v);
                if (!nv) return KPERF_FREE(v), -ENOMEM;
                v = nv;
            }
            v[n++] = (int)c;
        }
        s = end;
        if (*s == ',') s++;
        else break;
    }
    *out = v;
    return (int)n;
}

/* The online CPUs of the machine under @p root. */
static int kperf__count_online(const char *root, int **out) {
    char path[4096], buf[4096];
    snprintf(path, sizeof path, "%s/sys/devices/system/cpu/online", root ? root : "");
    if (kperf__read_file(path, buf, sizeof buf) <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        snprintf(buf, sizeof buf, "0-%ld", n > 0 ? n - 1 : 0);
    }
    return kperf__count_cpulist(buf, out);
}

/* ---- targets ------------------------------------------------------------------------ */

/* One place an event group opens: the perf_event_open pid and cpu, and who it is. */
typedef struct kperf__target {
    pid_t open_pid; /* pid argument: 0 = caller, -1 = CPU-wide, else a tid */
    pid_t pid, tid; /* process and thread for rows (-1, -1 for CPU-wide) */
    int cpu;
} kperf__target;

typedef struct kperf__targets {
    kperf__target *v;
    size_t n, cap;
} kperf__targets;

static int kperf__targets_add(kperf__targets *t, pid_t open_pid, pid_t pid, pid_t tid, int cpu) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        kperf__target *v = (kperf__target *)KPERF_REALLOC(t->v, cap * sizeof *v);
        if (!v) return kperf__fail(ENOMEM, "out of memory listing targets");
        t->v = v, t->cap = cap;
    }
    t->v[t->n++] = (kperf__target){open_pid, pid, tid, cpu};
    return 0;
}

/* The process (Tgid) of a thread, or -1 when it does not exist. */
static pid_t kperf__tgid(pid_t tid) {
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/status", (int)tid);
    if (kperf__read_file(path, buf, sizeof buf) <= 0) return -1;
    const char *p = strstr(buf, "\nTgid:");
    return p ? (pid_t)atoi(p + 6) : -1;
}

/* Adds (tid x cpus) for every thread of process @p pid, from /proc/PID/task. */
static int kperf__targets_process(kperf__targets *t, pid_t pid, const int *cpus, size_t ncpus) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = pid > 0 ? opendir(path) : NULL;
    if (!d) return kperf__fail(KPERF_ENOTARGET, "pid %d does not exist or exited", (int)pid);
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0])) continue;
        pid_t tid = (pid_t)atoi(de->d_name);
        for (size_t c = 0; rc == 0 && c < (ncpus ? ncpus : 1); c++)
            rc = kperf__targets_add(t, tid, pid, tid, ncpus ? cpus[c] : -1);
    }
    closedir(d);
    return rc;
}

/* Expands the desc's targets: threads (of processes, single tids, or the caller) times
 * CPUs, or CPUs alone. */
static int kperf__targets_build(kperf__targets *t, const kperf_counter_desc *d, const int *cpus,
                                size_t ncpus, bool threads_per_cpu) {
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < d->npids; i++)
        rc = kperf__targets_process(t, d->pids[i], cpus, ncpus);
    for (size_t i = 0; rc == 0 && i < d->ntids; i++) {
        pid_t tgid = d->tids[i] > 0 ? kperf__tgid(d->tids[i]) : -1;
        if (tgid < 0)
            return kperf__fail(KPERF_ENOTARGET, "tid %d does not exist or exited",
                               (int)d->tids[i]);
        for (size_t c = 0; rc == 0 && c < (ncpus ? ncpus : 1); c++)
            rc = kperf__targets_add(t, d->tids[i], tgid, d->tids[i], ncpus ? cpus[c] : -1);
    }
    if (rc || d->npids || d->ntids) return rc;
    pid_t self = getpid(), tid = (pid_t)syscall(SYS_gettid);
    for (size_t c = 0; rc == 0 && c < ncpus; c++)
        rc = threads_per_cpu ? kperf__targets_add(t, 0, self, tid, cpus[c])
                             : kperf__targets_add(t, -1, -1, -1, cpus[c]);
    return ncpus ? rc : kperf__targets_add(t, 0, self, tid, -1);
}

/* ---- plan --------------------------------------------------------------------------- */

/* The plan with the private data the counter and the other sections need per entry. */
typedef struct kperf__plan {
    kperf_plan pub;
    struct perf_event_attr *attrs;
    int *evidx;          /* event index in evl (or the caller's numbering) */
    pid_t *rpid, *rtid;  /* who the row is about */
    char **strs;         /* owned copies: event and pmu names, 2 per entry */
    size_t cap;
    kperf_evlist *evl;   /* owned */
    kperf_pmus *own_pmus;
    const kperf_pmus *pmus;
    bool user_access;    /* ask core PMUs for user-space counter reads (arm64 rdpmc) */
} kperf__plan;

/* Appends one fd to a plan; @p leader is the index of the group leader entry, or -1 when
 * this entry leads. Returns the entry index or a negative code. Other sections build their
 * plans with it. */
KPERF__PRIV int kperf__plan_add(kperf__plan *p, const struct perf_event_attr *attr,
                                const char *event, const char *pmu, int evidx, pid_t open_pid,
                                pid_t pid, pid_t tid, int cpu, int leader) {
    if (p->pub.nentries == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        void *e = KPERF_REALLOC(p->pub.entries, cap * sizeof *p->pub.entries);
        if (e) p->pub.entries = (kperf_plan_entry *)e;
        void *a = e ? KPERF_REALLOC(p->attrs, cap * sizeof *p->attrs) : NULL;
        if (a) p->attrs = (struct perf_event_attr *)a;
        void *x = a ? KPERF_REALLOC(p->evidx, cap * sizeof *p->evidx) : NULL;
        if (x) p->evidx = (int *)x;
        void *y = x ? KPERF_REALLOC(p->rpid, cap * sizeof *p->rpid) : NULL;
        if (y) p->rpid = (pid_t *)y;
        void *z = y ? KPERF_REALLOC(p->rtid, cap * sizeof *p->rtid) : NULL;
        if (z) p->rtid = (pid_t *)z;
        void *s = z ? KPERF_REALLOC(p->strs, cap * 2 * sizeof *p->strs) : NULL;
        if (!s) return kperf__fail(ENOMEM, "out of memory planning %s", event);
        p->strs = (char **)s;
        p->cap = cap;
    }
    size_t i = p->pub.nentries;
    char *ev = kperf__strdup(event), *pm = kperf__strdup(pmu ? pmu : "");
    if (!ev || !pm) {
        KPERF_FREE(ev), KPERF_FREE(pm);
        return kperf__fail(ENOMEM, "out of memory planning %s", event);
    }
    p->strs[2 * i] = ev, p->strs[2 * i + 1] = pm;
    p->attrs[i] = *attr;
    p->evidx[i] = evidx, p->rpid[i] = pid, p->rtid[i] = tid;
    kperf_plan_entry *e = &p->pub.entries[i];
    memset(e, 0, sizeof *e);
    e->event = ev, e->pmu = pm, e->type = attr->type;
    e->config[0] = attr->config, e->config[1] = attr->config1, e->config[2] = attr->config2;
#ifdef PERF_ATTR_SIZE_VER8
    e->config[3] = attr->config3;
#endif
    e->cpu = cpu, e->pid = open_pid, e->leader = leader < 0 ? (int)i : leader;
    e->attr_size = sizeof *attr;
    p->pub.nentries++;
    for (size_t k = 0; k < p->pub.nentries; k++) p->pub.entries[k].attr = &p->attrs[k];
    return (int)i;
}

KPERF_API void kperf_plan_free(kperf_plan *plan) {
    if (!plan) return;
    kperf__plan *p = (kperf__plan *)plan;
    for (size_t i = 0; i < 2 * p->pub.nentries; i++) KPERF_FREE(p->strs[i]);
    KPERF_FREE(p->strs), KPERF_FREE(p->pub.entries), KPERF_FREE(p->attrs);
    KPERF_FREE(p->evidx), KPERF_FREE(p->rpid), KPERF_FREE(p->rtid);
    kperf_evlist_free(p->evl);
    kperf_pmus_close(p->own_pmus);
    KPERF_FREE(p);
}

KPERF_API int kperf_plan_format(const kperf_plan *plan, size_t i, char *buf, size_t size) {
    if (!plan || i >= plan->nentries) return kperf__fail(EINVAL, "plan entry %zu out of range", i);
    const kperf_plan_entry *e = &plan->entries[i];
    return snprintf(buf, size,
                    "event=%s pmu=%s type=%u config=0x%llx config1=0x%llx config2=0x%llx "
                    "cpu=%d pid=%d leader=%s",
                    e->event, e->pmu, e->type, (unsigned long long)e->config[0],
                    (unsigned long long)e->config[1], (unsigned long long)e->config[2], e->cpu,
                    (int)e->pid, plan->entries[e->leader].event);
}

/* The counting attr of one event: the event's encoding plus read format, group state,
 * inheritance and the default privilege modes. */
static void kperf__count_attr(const kperf_counter_desc *d, const kperf_event *ev, bool leader,
                              bool task, bool uncore, struct perf_event_attr *a) {
    kperf__event_attr(ev, a);
    a->size = sizeof *a;
    a->read_format = PERF_FORMAT_GROUP | PERF_FORMAT_ID | PERF_FORMAT_TOTAL_TIME_ENABLED |
                     PERF_FORMAT_TOTAL_TIME_RUNNING;
    a->disabled = leader;
    a->inherit = task && (d->inherit || d->per_thread);
    a->inherit_stat = a->inherit && d->per_thread;
    a->enable_on_exec = leader && d->enable_on_exec;
    bool explicit_mode = ev->flags & (KPERF_EV_EXCLUDE_USER | KPERF_EV_EXCLUDE_KERNEL);
    if (!explicit_mode && !uncore) {
        a->exclude_kernel = !d->include_kernel;
        a->exclude_hv = !d->include_hv;
    }
}

/* Self-monitoring: PMUs whose format has an `rdpmc` field (arm64's config1:1) grant
 * user-space counter reads only when asked; x86 grants them through sysfs `rdpmc`. */
static void kperf__count_user_access(const kperf_pmus *pmus, const kperf_event *ev,
                                     struct perf_event_attr *a) {
    const kperf_pmu *pmu = ev->pmu ? kperf_pmus_find(pmus, ev->pmu) : NULL;
    for (size_t i = 0; pmu && i < pmu->nformats; i++) {
        if (strcmp(pmu->formats[i].name, "rdpmc") != 0) continue;
        uint64_t cfg[4] = {a->config, a->config1, a->config2, 0};
        if (kperf_pmu_encode(pmu, "rdpmc", 1, cfg) == 0)
            a->config = cfg[0], a->config1 = cfg[1], a->config2 = cfg[2];
    }
}

/* The CPUs one group opens on: uncore PMUs on their cpumask CPUs (intersected with the
 * requested CPUs when that leaves any), hybrid core PMUs on their CPUs among the requested
 * ones, everything else on the requested CPUs. Returns the count written to @p out. */
static size_t kperf__group_cpus(const kperf_event *lead, const kperf_pmus *pmus, const int *cpus,
                                size_t ncpus, bool *uncore, int *out) {
    const kperf_pmu *pmu = lead->pmu ? kperf_pmus_find(pmus, lead->pmu) : NULL;
    *uncore = lead->cpus && lead->ncpus && !(pmu && pmu->is_core);
    if (!lead->cpus || !lead->ncpus) {
        if (ncpus) memcpy(out, cpus, ncpus * sizeof *out);
        return ncpus;
    }
    size_t n = 0;
    for (size_t i = 0; i < lead->ncpus; i++)
        for (size_t j = 0; j < ncpus; j++)
            if (cpus[j] == lead->cpus[i]) out[n++] = lead->cpus[i];
    if (n || !*uncore) return n;
    memcpy(out, lead->cpus, lead->ncpus * sizeof *out);
    return lead->ncpus;
}

/* Adds every fd of group @p g (events [e0, e1) of the list) over the targets. */
static int kperf__plan_group(kperf__plan *p, const kperf_counter_desc *d, size_t e0, size_t e1,
                             const kperf__targets *tg, const int *cpus, size_t ncpus) {
    const kperf_event *lead = &p->evl->events[e0];
    size_t cap = ncpus + lead->ncpus + 1;
    int *gc = (int *)kperf__calloc(cap, sizeof *gc);
    if (!gc) return kperf__fail(ENOMEM, "out of memory planning %s", lead->name);
    bool uncore = false;
    size_t ngc = kperf__group_cpus(lead, p->pmus, cpus, ncpus, &uncore, gc);
    int rc = 0;
    if (lead->cpus && lead->ncpus && !uncore && ncpus && !ngc) goto done; /* hybrid: none */
    kperf__targets own = {0, 0, 0};
    const kperf__targets *use = tg;
    if (uncore || (lead->cpus && lead->ncpus && ncpus)) {
        for (size_t c = 0; rc == 0 && c < ngc; c++)
            rc = kperf__targets_add(&own, -1, -1, -1, gc[c]);
        use = &own;
    }
    for (size_t t = 0; rc == 0 && t < use->n; t++) {
        const kperf__target *x = &use->v[t];
        int leader = -1;
        for (size_t e = e0; rc >= 0 && e < e1; e++) {
            struct perf_event_attr a;
            const kperf_event *ev = &p->evl->events[e];
            kperf__count_attr(d, ev, e == e0, x->open_pid != -1, uncore, &a);
            if (p->user_access) kperf__count_user_access(p->pmus, ev, &a);
            rc = kperf__plan_add(p, &a, ev->name, ev->pmu, (int)e, x->open_pid, x->pid, x->tid,
                                 x->cpu, leader);
            if (e == e0) leader = rc;
        }
        if (rc > 0) rc = 0;
    }
    KPERF_FREE(own.v);
done:
    KPERF_FREE(gc);
    return rc < 0 ? rc : 0;
}

/* Parses the events and builds the plan of a counter desc (shared by plan and open). */
static int kperf__counter_plan(kperf__plan **out, const kperf_counter_desc *d,
                               bool user_access) {
    kperf__plan *p = (kperf__plan *)kperf__calloc(1, sizeof *p);
    kperf__targets tg = {0, 0, 0};
    int *cpus = NULL, rc = 0;
    size_t ncpus = 0;
    *out = NULL;
    if (!p) return kperf__fail(ENOMEM, "out of memory");
    p->user_access = user_access;
    p->pmus = d->pmus;
    if (!p->pmus && (rc = kperf_pmus_open(&p->own_pmus, d->sysfs_root)) < 0) goto fail;
    if (!p->pmus) p->pmus = p->own_pmus;
    if ((rc = kperf_evlist_parse(&p->evl, d->events ? d->events : "task-clock", p->pmus)) < 0)
        goto fail;
    /* The kernel maps no ring of an inherited per-task fd with cpu -1: the per-thread split
     * opens each thread's group once per online CPU, each with its own small ring. */
    bool split = d->per_thread && !d->ncpus && !d->all_cpus;
    if (d->all_cpus || split) {
        rc = kperf__count_online(kperf_pmus_root(p->pmus), &cpus);
        if (rc < 0) goto fail;
        ncpus = (size_t)rc;
    } else if (d->ncpus) {
        cpus = (int *)kperf__calloc(d->ncpus, sizeof *cpus);
        if (!cpus) { rc = kperf__fail(ENOMEM, "out of memory"); goto fail; }
        memcpy(cpus, d->cpus, d->ncpus * sizeof *cpus);
        ncpus = d->ncpus;
    }
    if ((rc = kperf__targets_build(&tg, d, cpus, ncpus, split)) < 0) goto fail;
    for (size_t e0 = 0; e0 < p->evl->nevents;) {
        size_t e1 = e0 + 1;
        while (e1 < p->evl->nevents && p->evl->events[e1].group == p->evl->events[e0].group) e1++;
        if ((rc = kperf__plan_group(p, d, e0, e1, &tg, cpus, ncpus)) < 0) goto fail;
        e0 = e1;
    }
    KPERF_FREE(cpus), KPERF_FREE(tg.v);
    *out = p;
    return 0;
fail:
    KPERF_FREE(cpus), KPERF_FREE(tg.v);
    kperf_plan_free(&p->pub);
    return rc;
}

KPERF_API int kperf_counter_plan(kperf_plan **out, const kperf_counter_desc *desc) {
    kperf_counter_desc zero;
    if (!out) return kperf__fail(EINVAL, "kperf_counter_plan: out is NULL");
    *out = NULL;
    if (!desc) memset(&zero, 0, sizeof zero), desc = &zero;
    kperf__plan *p;
    int rc = kperf__counter_plan(&p, desc, false);
    if (rc == 0) *out = &p->pub;
    return rc;
}

/* ---- the counter -------------------------------------------------------------------- */

/* Running sums per fd of what exited inherited threads took with them (per_thread). */
typedef struct kperf__exited {
    uint64_t raw, ena, run;
} kperf__exited;

struct kperf_counter {
    kperf__plan *plan;
    int *fds;
    uint64_t *ids;
    size_t nfds;
    size_t *gstart, ngroups;    /* first entry of each kernel group (leader) */
    uint64_t *buf;              /* one group read */
    size_t bufwords;
    uint64_t *raw, *ena, *run;  /* last read per fd */
    kperf__exited *exited;      /* per fd, per_thread only */
    void **rings;               /* per kernel group, per_thread only */
    int *pins;                  /* per target thread, per_thread only: see kperf__counter_pin */
    pid_t *pinpid;
    size_t npins;
    size_t ringsize;
    kperf_count *counts;        /* per event */
    kperf_count_row *rows;      /* nfds per-fd rows, then exited-thread rows */
    size_t nrows, caprows;
    double *prev;               /* per row and per event (after the rows' slots) */
    uint64_t last_ns, lost;
    bool per_thread;
};

KPERF_API void kperf_counter_close(kperf_counter *c) {
    if (!c) return;
    for (size_t g = 0; c->rings && g < c->ngroups; g++)
        if (c->rings[g]) munmap(c->rings[g], c->ringsize);
    for (size_t i = 0; c->fds && i < c->nfds; i++)
        if (c->fds[i] >= 0) close(c->fds[i]);
    for (size_t i = 0; i < c->npins; i++) close(c->pins[i]);
    KPERF_FREE(c->pins), KPERF_FREE(c->pinpid);
    KPERF_FREE(c->fds), KPERF_FREE(c->ids), KPERF_FREE(c->gstart), KPERF_FREE(c->buf);
    KPERF_FREE(c->raw), KPERF_FREE(c->ena), KPERF_FREE(c->run), KPERF_FREE(c->exited);
    KPERF_FREE(c->rings), KPERF_FREE(c->counts), KPERF_FREE(c->rows), KPERF_FREE(c->prev);
    kperf_plan_free(c->plan ? &c->plan->pub : NULL);
    KPERF_FREE(c);
}

static int kperf__counter_alloc(kperf_counter *c) {
    size_t n = c->nfds, ne = c->plan->evl->nevents;
    c->fds = (int *)kperf__calloc(n, sizeof *c->fds);
    c->ids = (uint64_t *)kperf__calloc(n, sizeof *c->ids);
    c->gstart = (size_t *)kperf__calloc(n, sizeof *c->gstart);
    c->raw = (uint64_t *)kperf__calloc(n, sizeof *c->raw);
    c->ena = (uint64_t *)kperf__calloc(n, sizeof *c->ena);
    c->run = (uint64_t *)kperf__calloc(n, sizeof *c->run);
    c->exited = (kperf__exited *)kperf__calloc(n, sizeof *c->exited);
    c->rings = (void **)kperf__calloc(n, sizeof *c->rings);
    c->counts = (kperf_count *)kperf__calloc(ne, sizeof *c->counts);
    c->caprows = n;
    c->rows = (kperf_count_row *)kperf__calloc(n, sizeof *c->rows);
    c->prev = (double *)kperf__calloc(n + ne, sizeof *c->prev);
    if (!c->fds || !c->ids || !c->gstart || !c->raw || !c->ena || !c->run || !c->exited ||
        !c->rings || !c->counts || !c->rows || !c->prev)
        return kperf__fail(ENOMEM, "out of memory for %zu counter fds", n);
    for (size_t i = 0; i < n; i++) c->fds[i] = -1;
    return 0;
}

/* Opens the fd of plan entry @p i (its leader is already open). */
static int kperf__counter_open_fd(kperf_counter *c, size_t i) {
    kperf__plan *p = c->plan;
    const kperf_plan_entry *e = &p->pub.entries[i];
    int group_fd = e->leader == (int)i ? -1 : c->fds[e->leader];
    long fd = kperf__sys_perf_event_open(&p->attrs[i], e->pid, e->cpu, group_fd,
                                         PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        const kperf_event *ev = &p->evl->events[p->evidx[i]];
        pid_t who = e->pid == 0 ? getpid() : e->pid;
        int rc = kperf__open_error(err, ev, &p->attrs[i], who, e->cpu, p->pmus);
        if (rc == -KPERF_ELIMIT) {
            size_t len = strlen(kperf__errbuf);
            snprintf(kperf__errbuf + len, sizeof kperf__errbuf - len,
                     "; this counter needs %zu fds", c->nfds);
        }
        return rc;
    }
    c->fds[i] = (int)fd;
    if (ioctl((int)fd, PERF_EVENT_IOC_ID, &c->ids[i]) < 0)
        return kperf__fail(errno, "%s: PERF_EVENT_IOC_ID failed: %s", e->event, strerror(errno));
    if (e->leader == (int)i) c->gstart[c->ngroups++] = i;
    return 0;
}

/* per_thread: keeps the kernel from swapping a target thread's perf context with a child's
 * on a direct switch (the clone optimisation): a swapped-away original context exits with
 * its thread but emits no PERF_RECORD_READ. One non-inherited event in the context makes
 * the children's contexts non-clones (inherited_all = 0). */
static int kperf__counter_pin(kperf_counter *c, pid_t pid) {
    for (size_t i = 0; i < c->npins; i++)
        if (c->pinpid[i] == pid) return 0;
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a, a.type = PERF_TYPE_SOFTWARE, a.config = PERF_COUNT_SW_DUMMY;
    a.disabled = 1, a.exclude_kernel = 1, a.exclude_hv = 1;
    long fd = kperf__sys_perf_event_open(&a, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
    if (fd < 0) return kperf__open_error(errno, NULL, &a, pid == 0 ? getpid() : pid, -1, NULL);
    c->pins[c->npins] = (int)fd, c->pinpid[c->npins++] = pid;
    return 0;
}

/* per_thread: a small ring on each leader receives PERF_RECORD_READ of exiting children. */
static int kperf__counter_rings(kperf_counter *c) {
    c->ringsize = (size_t)sysconf(_SC_PAGESIZE) * 9; /* header page + 8 data pages */
    c->pins = (int *)kperf__calloc(c->ngroups, sizeof *c->pins);
    c->pinpid = (pid_t *)kperf__calloc(c->ngroups, sizeof *c->pinpid);
    if (!c->pins || !c->pinpid) return kperf__fail(ENOMEM, "out of memory");
    for (size_t g = 0; g < c->ngroups; g++) {
        size_t i = c->gstart[g];
        if (!c->plan->attrs[i].inherit) continue;
        int rc = kperf__counter_pin(c, c->plan->pub.entries[i].pid);
        if (rc < 0) return rc;
        void *m = mmap(NULL, c->ringsize, PROT_READ | PROT_WRITE, MAP_SHARED, c->fds[i], 0);
        if (m == MAP_FAILED)
            return kperf__fail(errno == EPERM ? KPERF_ELIMIT : errno,
                               "%s: cannot map the per-thread ring (%s): the locked-memory "
                               "limit for perf (sysctl kernel.perf_event_mlock_kb, ulimit -l) "
                               "is too small",
                               c->plan->pub.entries[i].event, strerror(errno));
        c->rings[g] = m;
    }
    return 0;
}

/* Opens a counter; @p user_access asks for user-space reads (the region's rdpmc). */
static int kperf__counter_open_as(kperf_counter **out, const kperf_counter_desc *desc,
                                  bool user_access) {
    kperf_counter *c = (kperf_counter *)kperf__calloc(1, sizeof *c);
    if (!c) return kperf__fail(ENOMEM, "out of memory");
    int rc = kperf__counter_plan(&c->plan, desc, user_access);
    if (rc < 0) goto fail;
    c->nfds = c->plan->pub.nentries;
    c->per_thread = desc->per_thread;
    if ((rc = kperf__counter_alloc(c)) < 0) goto fail;
    size_t maxg = 1;
    for (size_t i = 0; i < c->nfds; i++) {
        if ((rc = kperf__counter_open_fd(c, i)) < 0) goto fail;
        size_t n = i - (size_t)c->plan->pub.entries[i].leader + 1;
        if (n > maxg) maxg = n;
        kperf_count_row *r = &c->rows[i];
        r->event = c->plan->evidx[i], r->pid = c->plan->rpid[i], r->tid = c->plan->rtid[i];
        r->cpu = c->plan->pub.entries[i].cpu;
    }
    c->nrows = c->nfds;
    c->bufwords = 3 + 2 * maxg;
    if (!(c->buf = (uint64_t *)kperf__calloc(c->bufwords, sizeof *c->buf))) {
        rc = kperf__fail(ENOMEM, "out of memory");
        goto fail;
    }
    if (desc->per_thread && (rc = kperf__counter_rings(c)) < 0) goto fail;
    for (size_t e = 0; e < c->plan->evl->nevents; e++) {
        c->counts[e].name = c->plan->evl->events[e].name;
        c->counts[e].unit = c->plan->evl->events[e].unit;
    }
    c->last_ns = kperf__now_ns();
    *out = c;
    return 0;
fail:
    kperf_counter_close(c);
    return rc;
}

KPERF_API int kperf_counter_open(kperf_counter **out, const kperf_counter_desc *desc) {
    kperf_counter_desc zero;
    if (!out) return kperf__fail(EINVAL, "kperf_counter_open: out is NULL");
    *out = NULL;
    if (!desc) memset(&zero, 0, sizeof zero), desc = &zero;
    return kperf__counter_open_as(out, desc, false);
}

KPERF_API size_t kperf_counter_nfds(const kperf_counter *c) { return c ? c->nfds : 0; }

/* One ioctl per kernel group: PERF_IOC_FLAG_GROUP applies it to every member. */
static int kperf__counter_ioctl(kperf_counter *c, unsigned long req, const char *what) {
    if (!c) return kperf__fail(EINVAL, "kperf_counter_%s: counter is NULL", what);
    for (size_t g = 0; g < c->ngroups; g++) {
        size_t i = c->gstart[g];
        if (ioctl(c->fds[i], req, PERF_IOC_FLAG_GROUP) < 0)
            return kperf__fail(errno, "%s: %s failed: %s", c->plan->pub.entries[i].event, what,
                               strerror(errno));
    }
    return 0;
}

KPERF_API int kperf_counter_start(kperf_counter *c) {
    return kperf__counter_ioctl(c, PERF_EVENT_IOC_ENABLE, "start");
}

KPERF_API int kperf_counter_stop(kperf_counter *c) {
    return kperf__counter_ioctl(c, PERF_EVENT_IOC_DISABLE, "stop");
}

KPERF_API int kperf_counter_reset(kperf_counter *c) {
    int rc = kperf__counter_ioctl(c, PERF_EVENT_IOC_RESET, "reset");
    if (rc == 0) {
        memset(c->prev, 0, (c->nfds + c->plan->evl->nevents) * sizeof *c->prev);
        memset(c->exited, 0, c->nfds * sizeof *c->exited);
        c->nrows = c->nfds;
    }
    return rc;
}

/* Fills a value from raw/enabled/running: scaled per fd, with the event's sysfs scale. */
static void kperf__value_set(kperf_value *v, uint64_t raw, uint64_t ena, uint64_t run,
                             double scale) {
    v->raw = raw, v->enabled = ena, v->running = run;
    if (run == 0) {
        v->value = 0, v->percent = 0, v->accuracy = KPERF_COUNT_NOT_COUNTED;
    } else if (run >= ena) {
        v->value = (double)raw * scale, v->percent = 100, v->accuracy = KPERF_COUNT_EXACT;
    } else {
        v->value = (double)raw * ((double)ena / (double)run) * scale;
        v->percent = 100.0 * (double)run / (double)ena;
        v->accuracy = KPERF_COUNT_SCALED;
    }
}

/* Index of the fd with kernel id @p id within group [g0, g0 + n). */
static size_t kperf__member(const kperf_counter *c, size_t g0, size_t n, size_t j, uint64_t id) {
    if (j < n && c->ids[g0 + j] == id) return g0 + j;
    for (size_t k = 0; k < n; k++)
        if (c->ids[g0 + k] == id) return g0 + k;
    return (size_t)-1;
}

/* Reads one kernel group with one read() and stores each member's values. */
static int kperf__counter_read_group(kperf_counter *c, size_t g) {
    size_t g0 = c->gstart[g];
    size_t n = (g + 1 < c->ngroups ? c->gstart[g + 1] : c->nfds) - g0;
    ssize_t got = read(c->fds[g0], c->buf, (3 + 2 * n) * sizeof(uint64_t));
    if (got < 0)
        return kperf__fail(errno, "%s: read failed: %s", c->plan->pub.entries[g0].event,
                           strerror(errno));
    uint64_t nr = c->buf[0];
    if ((size_t)got < (3 + 2 * nr) * sizeof(uint64_t) || nr > n)
        return kperf__fail(KPERF_ECORRUPT, "%s: short group read (%zd bytes)",
                           c->plan->pub.entries[g0].event, got);
    for (size_t j = 0; j < nr; j++) {
        size_t k = kperf__member(c, g0, n, j, c->buf[4 + 2 * j]);
        if (k == (size_t)-1) continue;
        c->raw[k] = c->buf[3 + 2 * j], c->ena[k] = c->buf[1], c->run[k] = c->buf[2];
    }
    return 0;
}

/* Adds one exited thread's values (a PERF_RECORD_READ body) to the rows. */
static int kperf__counter_exited(kperf_counter *c, size_t g, const uint64_t *rec, size_t words) {
    size_t g0 = c->gstart[g];
    size_t n = (g + 1 < c->ngroups ? c->gstart[g + 1] : c->nfds) - g0;
    uint32_t pid = (uint32_t)rec[0], tid = (uint32_t)(rec[0] >> 32);
    uint64_t nr = rec[1], ena = rec[2], run = rec[3];
    if (words < 4 || nr > n || words < 4 + 2 * nr) return 0;
    for (size_t j = 0; j < nr; j++) {
        size_t k = kperf__member(c, g0, n, j, rec[5 + 2 * j]);
        if (k == (size_t)-1) continue;
        uint64_t raw = rec[4 + 2 * j];
        c->exited[k].raw += raw, c->exited[k].ena += ena, c->exited[k].run += run;
        run = ena; /* one CPU's piece of the thread: not multiplexed (kperf__fd_task_on_cpu) */
        kperf_count_row *r = NULL;
        for (size_t x = c->nfds; x < c->nrows && !r; x++)
            if (c->rows[x].tid == (pid_t)tid && c->rows[x].event == c->plan->evidx[k])
                r = &c->rows[x];
        if (!r) {
            if (c->nrows == c->caprows) {
                size_t cap = c->caprows * 2;
                kperf_count_row *nr_ = (kperf_count_row *)KPERF_REALLOC(c->rows, cap * sizeof *nr_);
                double *np = (double *)KPERF_REALLOC(c->prev, (cap + c->plan->evl->nevents) * sizeof *np);
                if (nr_) c->rows = nr_;
                if (np) c->prev = np;
                if (!nr_ || !np) return kperf__fail(ENOMEM, "out of memory for thread rows");
                /* the per-event slots follow the row slots: move them up */
                memmove(c->prev + cap, c->prev + c->caprows, c->plan->evl->nevents * sizeof *np);
                c->caprows = cap;
            }
            r = &c->rows[c->nrows];
            memset(r, 0, sizeof *r);
            c->prev[c->nrows++] = 0;
            r->event = c->plan->evidx[k], r->pid = (pid_t)pid, r->tid = (pid_t)tid;
            r->cpu = -1, r->exited = true;
        }
        uint64_t e2 = r->v.enabled > ena ? r->v.enabled : ena;
        kperf__value_set(&r->v, r->v.raw + raw, e2, e2, c->plan->evl->events[r->event].scale);
    }
    return 0;
}

/* Drains the per-thread ring of group @p g: acquire head, copy wrapped records, release
 * tail. */
static int kperf__counter_drain(kperf_counter *c, size_t g) {
    struct perf_event_mmap_page *mp = (struct perf_event_mmap_page *)c->rings[g];
    if (!mp) return 0;
    unsigned char *data = (unsigned char *)mp + mp->data_offset;
    uint64_t size = mp->data_size, head = __atomic_load_n(&mp->data_head, __ATOMIC_ACQUIRE);
    uint64_t tail = mp->data_tail;
    uint64_t rec[64];
    int rc = 0;
    while (rc == 0 && head - tail >= sizeof(struct perf_event_header)) {
        struct perf_event_header h;
        for (size_t b = 0; b < sizeof h; b++) ((unsigned char *)&h)[b] = data[(tail + b) % size];
        if (h.size < sizeof h || h.size > head - tail) break;
        size_t body = h.size - sizeof h, words = body / 8 < 64 ? body / 8 : 64;
        for (size_t b = 0; b < words * 8; b++)
            ((unsigned char *)rec)[b] = data[(tail + sizeof h + b) % size];
        if (h.type == PERF_RECORD_READ) rc = kperf__counter_exited(c, g, rec, words);
        else if (h.type == PERF_RECORD_LOST && words >= 2) c->lost += rec[1];
        tail += h.size;
    }
    __atomic_store_n(&mp->data_tail, tail, __ATOMIC_RELEASE);
    return rc;
}

/* A thread counted on one CPU of several (the per-thread split, or tids x cpus): running <
 * enabled there means the thread ran elsewhere, not multiplexing, so it is not scaled.
 * Multiplexing on such fds goes undetected (documented). */
static bool kperf__fd_task_on_cpu(const kperf_counter *c, size_t i) {
    return c->plan->pub.entries[i].pid != -1 && c->plan->pub.entries[i].cpu >= 0;
}

/* Recomputes rows and per-event totals from the last group reads. An event's total is the
 * sum of its fds' scaled values; its flag follows from the summed times (one scaled fd makes
 * running < enabled). Rows of fds with exited threads hold what the threads left behind. */
static void kperf__counter_sum(kperf_counter *c) {
    size_t ne = c->plan->evl->nevents;
    double *eprev = c->prev + c->caprows;
    for (size_t e = 0; e < ne; e++) memset(&c->counts[e].v, 0, sizeof c->counts[e].v);
    for (size_t i = 0; i < c->nfds; i++) {
        kperf_count_row *r = &c->rows[i];
        const kperf__exited *x = &c->exited[i];
        double scale = c->plan->evl->events[r->event].scale;
        kperf_value *v = &c->counts[r->event].v, all;
        bool piece = kperf__fd_task_on_cpu(c, i);
        kperf__value_set(&all, c->raw[i], c->ena[i], piece ? c->ena[i] : c->run[i], scale);
        v->raw += all.raw, v->enabled += all.enabled, v->running += all.running;
        v->value += all.value;
        if (x->ena) /* the kernel's sums and the exit records agree to within rounding */
            kperf__value_set(&r->v, c->raw[i] > x->raw ? c->raw[i] - x->raw : 0,
                             c->ena[i] > x->ena ? c->ena[i] - x->ena : 0,
                             piece              ? c->ena[i] - x->ena
                             : c->run[i] > x->run ? c->run[i] - x->run
                                                  : 0,
                             scale);
        else r->v = all;
        r->v.delta = r->v.value - c->prev[i], c->prev[i] = r->v.value;
    }
    for (size_t x = c->nfds; x < c->nrows; x++) {
        c->rows[x].v.delta = c->rows[x].v.value - c->prev[x];
        c->prev[x] = c->rows[x].v.value;
    }
    for (size_t e = 0; e < ne; e++) {
        kperf_value *v = &c->counts[e].v;
        double value = v->value;
        kperf__value_set(v, v->raw, v->enabled, v->running, 1.0);
        v->value = value;
        v->delta = value - eprev[e], eprev[e] = value;
    }
}

KPERF_API int kperf_counter_read(kperf_counter *c, kperf_counts *out) {
    if (!c || !out) return kperf__fail(EINVAL, "kperf_counter_read: NULL argument");
    int rc = 0;
    for (size_t g = 0; rc == 0 && g < c->ngroups; g++) {
        rc = kperf__counter_read_group(c, g);
        if (rc == 0 && c->per_thread) rc = kperf__counter_drain(c, g);
    }
    if (rc < 0) return rc;
    kperf__counter_sum(c);
    uint64_t now = kperf__now_ns();
    memset(out, 0, sizeof *out);
    out->events = c->counts, out->nevents = c->plan->evl->nevents;
    out->rows = c->rows, out->nrows = c->nrows;
    out->interval_ns = now - c->last_ns, out->lost = c->lost;
    c->last_ns = now;
    return 0;
}

KPERF_API void kperf_counts_print(void *stream, const kperf_counts *n, uint64_t iterations) {
    FILE *f = (FILE *)stream;
    double div = iterations > 1 ? (double)iterations : 1.0;
    for (size_t e = 0; n && e < n->nevents; e++) {
        const kperf_count *k = &n->events[e];
        if (k->v.accuracy == KPERF_COUNT_NOT_COUNTED) {
            fprintf(f, "%18s  %-28s not counted\n", "<not counted>", k->name);
            continue;
        }
        char val[64];
        snprintf(val, sizeof val, iterations > 1 ? "%.2f" : "%.0f", k->v.value / div);
        fprintf(f, "%18s  %-28s", val, k->name);
        if (k->v.accuracy == KPERF_COUNT_SCALED) fprintf(f, " scaled (%.2f%%)\n", k->v.percent);
        else fprintf(f, " exact\n");
    }
    if (iterations > 1) fprintf(f, "%18s  (per iteration, %llu iterations)\n", "",
                                (unsigned long long)iterations);
}
// <<counting

// >>region ------------------------------------------------------------------------------

/* The arithmetic of a self-monitoring read, on a consistent view of the user page (inside
 * the seqlock, or a synthetic page in tests): @p pmc is the raw value rdpmc returned for
 * index - 1, @p cyc the timestamp counter (rdtsc, cntvct_el0). Returns -1 when the page
 * says to use read() instead (no user access, or index 0: the event is not on a counter).
 * Follows the protocol documented in include/uapi/linux/perf_event.h. */
KPERF__PRIV int kperf__mmap_compute(const struct perf_event_mmap_page *pc, uint64_t pmc,
                                    uint64_t cyc, uint64_t *count, uint64_t *enabled,
                                    uint64_t *running) {
    if (!pc->cap_user_rdpmc || pc->index == 0) return -1;
    uint16_t width = pc->pmc_width;
    int64_t v = pc->offset;
    if (width > 0 && width < 64) /* sign-extend the width-bit hardware value */
        v += (int64_t)(pmc << (64 - width)) >> (64 - width);
    else
        v += (int64_t)pmc;
    uint64_t ena = pc->time_enabled, run = pc->time_running;
    if (pc->cap_user_time) {
        uint64_t c = cyc;
        if (pc->cap_user_time_short)
            c = pc->time_cycles + ((c - pc->time_cycles) & pc->time_mask);
        uint16_t shift = pc->time_shift;
        uint64_t quot = c >> shift, rem = c & (((uint64_t)1 << shift) - 1);
        uint64_t delta = pc->time_offset + quot * pc->time_mult + ((rem * pc->time_mult) >> shift);
        ena += delta, run += delta; /* index != 0: the event is running now */
    }
    *count = (uint64_t)v, *enabled = ena, *running = run;
    return 0;
}

#if defined(__x86_64__) || defined(__i386__)
#define KPERF__HAVE_RDPMC 1
static inline uint64_t kperf__rdpmc(uint32_t counter) {
    uint32_t lo, hi;
    __asm__ volatile("rdpmc" : "=a"(lo), "=d"(hi) : "c"(counter));
    return lo | (uint64_t)hi << 32;
}
static inline uint64_t kperf__cycles(void) {
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return lo | (uint64_t)hi << 32;
}
#elif defined(__aarch64__)
#define KPERF__HAVE_RDPMC 1
/* Counter index - 1 selects PMEVCNTR<n>_EL0 through PMSELR_EL0; 31 is the cycle counter.
 * The kernel grants EL0 access when the event asks for it (config1 bit "rdpmc"). */
static inline uint64_t kperf__rdpmc(uint32_t counter) {
    uint64_t v;
    if (counter == 31) {
        __asm__ volatile("mrs %0, pmccntr_el0" : "=r"(v));
        return v;
    }
    __asm__ volatile("msr pmselr_el0, %1\n\tisb\n\tmrs %0, pmxevcntr_el0"
                     : "=r"(v)
                     : "r"((uint64_t)counter));
    return v;
}
static inline uint64_t kperf__cycles(void) {
    uint64_t v;
    __asm__ volatile("isb\n\tmrs %0, cntvct_el0" : "=r"(v));
    return v;
}
#endif

/* One self-monitoring read under the page's seqlock. -1: use read(). */
static int kperf__mmap_read(const struct perf_event_mmap_page *pc, uint64_t *count,
                            uint64_t *enabled, uint64_t *running) {
#ifdef KPERF__HAVE_RDPMC
    for (int tries = 0; tries < 64; tries++) {
        uint32_t seq = __atomic_load_n(&pc->lock, __ATOMIC_RELAXED);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        uint32_t idx = pc->index;
        if (!pc->cap_user_rdpmc || idx == 0) return -1;
        uint64_t pmc = kperf__rdpmc(idx - 1);
        uint64_t cyc = pc->cap_user_time ? kperf__cycles() : 0;
        int rc = kperf__mmap_compute(pc, pmc, cyc, count, enabled, running);
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        if (__atomic_load_n(&pc->lock, __ATOMIC_RELAXED) == seq) return rc;
    }
#else
    (void)pc, (void)count, (void)enabled, (void)running;
#endif
    return -1;
}

struct kperf_region {
    kperf_counter *c;
    struct perf_event_mmap_page **pages; /* per fd; NULL where not mapped */
    size_t pagesz, n;
    bool rdpmc;                 /* every page allowed user reads at open */
    bool subtract, started;
    uint64_t *s_raw, *s_ena, *s_run;    /* start snapshot */
    uint64_t *e_raw, *e_ena, *e_run;    /* end snapshot */
    uint64_t *a_raw, *a_ena, *a_run;    /* sums over brackets */
    uint64_t brackets;
    double *overhead, bracket_ns;
    kperf_count *counts;
    double *prev;
    uint64_t last_ns;
};

KPERF_API void kperf_region_close(kperf_region *r) {
    if (!r) return;
    for (size_t i = 0; r->pages && i < r->n; i++)
        if (r->pages[i]) munmap(r->pages[i], r->pagesz);
    kperf_counter_close(r->c);
    KPERF_FREE(r->pages), KPERF_FREE(r->s_raw), KPERF_FREE(r->overhead), KPERF_FREE(r->counts);
    KPERF_FREE(r);
}

/* Takes a snapshot of every fd: rdpmc where every page allows it, else one read() per
 * group (the region has one target, so fd i is event i). */
static int kperf__region_snap(kperf_region *r, uint64_t *raw, uint64_t *ena, uint64_t *run) {
    size_t i = 0;
    if (r->rdpmc)
        for (; i < r->n; i++)
            if (kperf__mmap_read(r->pages[i], &raw[i], &ena[i], &run[i]) < 0) break;
    if (i == r->n) return 0;
    kperf_counter *c = r->c;
    for (size_t g = 0; g < c->ngroups; g++) {
        int rc = kperf__counter_read_group(c, g);
        if (rc < 0) return rc;
    }
    memcpy(raw, c->raw, r->n * sizeof *raw);
    memcpy(ena, c->ena, r->n * sizeof *ena);
    memcpy(run, c->run, r->n * sizeof *run);
    return 0;
}

KPERF_API int kperf_region_start(kperf_region *r) {
    if (!r) return kperf__fail(EINVAL, "kperf_region_start: region is NULL");
    int rc = kperf__region_snap(r, r->s_raw, r->s_ena, r->s_run);
    r->started = rc == 0;
    return rc;
}

KPERF_API int kperf_region_stop(kperf_region *r) {
    if (!r || !r->started)
        return kperf__fail(KPERF_ESTATE, "kperf_region_stop without kperf_region_start");
    int rc = kperf__region_snap(r, r->e_raw, r->e_ena, r->e_run);
    if (rc < 0) return rc;
    for (size_t i = 0; i < r->n; i++) {
        r->a_raw[i] += r->e_raw[i] - r->s_raw[i];
        r->a_ena[i] += r->e_ena[i] - r->s_ena[i];
        r->a_run[i] += r->e_run[i] - r->s_run[i];
    }
    r->brackets++;
    r->started = false;
    return 0;
}

KPERF_API int kperf_region_reset(kperf_region *r) {
    if (!r) return kperf__fail(EINVAL, "kperf_region_reset: region is NULL");
    memset(r->a_raw, 0, 3 * r->n * sizeof *r->a_raw);
    memset(r->prev, 0, r->n * sizeof *r->prev);
    r->brackets = 0, r->started = false;
    return 0;
}

KPERF_API int kperf_region_read(kperf_region *r, kperf_counts *out) {
    if (!r || !out) return kperf__fail(EINVAL, "kperf_region_read: NULL argument");
    for (size_t i = 0; i < r->n; i++) {
        kperf_value *v = &r->counts[i].v;
        kperf__value_set(v, r->a_raw[i], r->a_ena[i], r->a_run[i],
                         r->c->plan->evl->events[i].scale);
        if (r->subtract) {
            double o = r->overhead[i] * (double)r->brackets;
            v->value = v->value > o ? v->value - o : 0;
        }
        v->delta = v->value - r->prev[i], r->prev[i] = v->value;
    }
    uint64_t now = kperf__now_ns();
    memset(out, 0, sizeof *out);
    out->events = r->counts, out->nevents = r->n;
    out->interval_ns = now - r->last_ns, out->iterations = r->brackets;
    r->last_ns = now;
    return 0;
}

KPERF_API void kperf_region_cost_read(const kperf_region *r, kperf_region_cost *out) {
    memset(out, 0, sizeof *out);
    if (!r) return;
    out->rdpmc = r->rdpmc, out->bracket_ns = r->bracket_ns;
    out->per_event = r->overhead, out->nevents = r->n;
}

/* Measures empty brackets: their counts per event and their wall-clock cost. */
static int kperf__region_calibrate(kperf_region *r) {
    enum { WARM = 16, ROUNDS = 256 };
    int rc = 0;
    for (int i = 0; rc == 0 && i < WARM; i++)
        if ((rc = kperf_region_start(r)) == 0) rc = kperf_region_stop(r);
    kperf_region_reset(r);
    uint64_t t0 = kperf__now_ns();
    for (int i = 0; rc == 0 && i < ROUNDS; i++)
        if ((rc = kperf_region_start(r)) == 0) rc = kperf_region_stop(r);
    r->bracket_ns = (double)(kperf__now_ns() - t0) / ROUNDS;
    kperf_counts n;
    if (rc == 0) rc = kperf_region_read(r, &n);
    for (size_t i = 0; rc == 0 && i < r->n; i++) r->overhead[i] = n.events[i].v.value / ROUNDS;
    kperf_region_reset(r);
    return rc;
}

/* Maps the first page of every fd; rdpmc is used when every page allows user reads. */
static void kperf__region_map(kperf_region *r, bool no_rdpmc) {
    r->pagesz = (size_t)sysconf(_SC_PAGESIZE);
    r->rdpmc = !no_rdpmc;
    for (size_t i = 0; i < r->n; i++) {
        void *m = mmap(NULL, r->pagesz, PROT_READ, MAP_SHARED, r->c->fds[i], 0);
        r->pages[i] = m == MAP_FAILED ? NULL : (struct perf_event_mmap_page *)m;
        if (!r->pages[i] || !r->pages[i]->cap_user_rdpmc) r->rdpmc = false;
    }
#ifndef KPERF__HAVE_RDPMC
    r->rdpmc = false;
#endif
}

KPERF_API int kperf_region_open(kperf_region **out, const kperf_region_desc *desc) {
    kperf_region_desc zero;
    if (!out) return kperf__fail(EINVAL, "kperf_region_open: out is NULL");
    *out = NULL;
    if (!desc) memset(&zero, 0, sizeof zero), desc = &zero;
    kperf_region *r = (kperf_region *)kperf__calloc(1, sizeof *r);
    if (!r) return kperf__fail(ENOMEM, "out of memory");
    kperf_counter_desc cd;
    memset(&cd, 0, sizeof cd);
    cd.events = desc->events, cd.pmus = desc->pmus, cd.sysfs_root = desc->sysfs_root;
    cd.include_kernel = desc->include_kernel;
    int rc = kperf__counter_open_as(&r->c, &cd, true);
    if (rc < 0) goto fail;
    r->n = r->c->nfds;
    if (r->n != r->c->plan->evl->nevents) {
        rc = kperf__fail(KPERF_ENOTSUP,
                         "%s: a region counts the calling thread; uncore events count whole "
                         "CPUs (use kperf_counter_open with cpus)",
                         desc->events);
        goto fail;
    }
    r->subtract = desc->subtract_overhead;
    r->pages = (struct perf_event_mmap_page **)kperf__calloc(r->n, sizeof *r->pages);
    r->s_raw = (uint64_t *)kperf__calloc(12 * r->n, sizeof *r->s_raw);
    r->overhead = (double *)kperf__calloc(2 * r->n, sizeof *r->overhead);
    r->counts = (kperf_count *)kperf__calloc(r->n, sizeof *r->counts);
    if (!r->pages || !r->s_raw || !r->overhead || !r->counts) {
        rc = kperf__fail(ENOMEM, "out of memory");
        goto fail;
    }
    uint64_t *w = r->s_raw;
    r->s_ena = w + r->n, r->s_run = w + 2 * r->n, r->e_raw = w + 3 * r->n;
    r->e_ena = w + 4 * r->n, r->e_run = w + 5 * r->n, r->a_raw = w + 6 * r->n;
    r->a_ena = w + 7 * r->n, r->a_run = w + 8 * r->n;
    r->prev = r->overhead + r->n;
    for (size_t i = 0; i < r->n; i++) r->counts[i] = r->c->counts[i];
    kperf__region_map(r, desc->no_rdpmc);
    if ((rc = kperf_counter_start(r->c)) < 0 || (rc = kperf__region_calibrate(r)) < 0) goto fail;
    r->last_ns = kperf__now_ns();
    *out = r;
    return 0;
fail:
    kperf_region_close(r);
    return rc;
}
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
