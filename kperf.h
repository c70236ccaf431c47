/* kperf.h - v0.1.0 - Linux perf_event inside any program: counting, sampling, tracepoints.
 * SPDX-License-Identifier: MIT
 *
 * Do this:
 *     #define KPERF_IMPLEMENTATION
 * before you include this file in *exactly one* C or C++ file to create the implementation.
 * The same define also instantiates kperf_symbols.h and kperf_spe.h when they are included
 * after kperf.h in that file.
 *
 * CONTENTS (search for the marker to jump to a section; same order in both halves; a section
 * uses only the sections above it)
 *     >>util        small helpers with no dependencies (implementation half only, first)
 *     >>errors      error codes, kperf_strerror, thread-local kperf_errmsg, log hook
 *     >>files       safe opens: data-named files (regular, non-blocking, capped), outputs
 *     >>pmu         sysfs PMU registry: types, format fields, event aliases, cpumask
 *     >>topology    online CPUs, cpu -> core/cluster/die/socket/numa, CPU frequency
 *     >>tracepoint  tracefs discovery, format parsing, typed field access, filters
 *     >>events      event spec parser (perf syntax) -> perf_event_attr, event listing,
 *                   open-error diagnosis
 *     >>counting    counter groups over threads/processes/CPUs, scaling, plan (dry run)
 *     >>region      self-monitoring fast path (rdpmc with the kernel's seqlock protocol)
 *     >>ringbuf     mmap'd ring buffers, record decoding, lost/throttle accounting
 *     >>sampling    samplers, side-band records, time-ordered merge, folded stacks
 *     >>perfdata    perf.data writer and reader
 *     >>analysis    keyed statistics, latency histograms, two-event relations by key
 *     >>syscalls    syscall enter/exit pairing (on the >>analysis pairer), latency statistics
 *     >>device      uncore/device metrics (DDR, L3, PCIe, SMMU) from sysfs PMUs
 *     >>task        the libkperf task model: counting, sampling, tracing (SPE by a hook)
 *                   over evt/pid/cpu lists, flat records; libkperf/ is a shim over it
 *
 * PRIVATE NAMES
 *     kperf__* is private. Abbreviated sub-prefixes: pd_/pdin_ perf.data writer/reader,
 *     elf_ its build-id reader, blob_ tracing data, tp_ tracepoint formats, sc_ syscalls,
 *     dev_ devices, cur_ record cursor, blk_ task-record memory blocks; elsewhere sym_ symbolizer,
 *     dw_ DWARF, unw_ unwinding, jit_ jitdump, dinfod_ debuginfod, fg_ flame graphs, pp_
 *     pprof, pb_ protobuf encoding, spe_ SPE; in libkperf/ lk_. Other helpers are named
 *     after their object (kperf__counter_*, kperf__ring_*) or live in >>util/>>files.
 *
 * CONFIGURATION (define before including, in the file that defines KPERF_IMPLEMENTATION
 * unless noted)
 *     KPERF_STATIC          every kperf function becomes static (define in every file
 *                           that includes kperf.h, or use a single translation unit)
 *     KPERF_MALLOC(sz), KPERF_REALLOC(p,sz), KPERF_FREE(p)
 *                           allocation hooks: define all three or none
 *     KPERF_ASSERT(x)       assertion hook (default: assert from <assert.h>)
 *     KPERF_NO_SAMPLING     compile out >>ringbuf, >>sampling and >>perfdata
 *     KPERF_NO_TRACEPOINT   compile out >>tracepoint (filters and event attributes then
 *                           fail with KPERF_ENOTSUP; perf.data carries no tracing data)
 *     KPERF_NO_SYSCALLS     compile out >>syscalls (implied by the two above)
 *     KPERF_NO_DEVICE       compile out >>device
 *     KPERF_NO_REGION       compile out >>region
 *     KPERF_NO_TASK         compile out >>task (implied by SAMPLING and SYSCALLS)
 *                           Declarations stay; a call into a compiled-out section fails
 *                           to link. A counting-only build (NO_SAMPLING, NO_TRACEPOINT,
 *                           NO_DEVICE) compiles in less than half the time.
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
 * NAMING
 *     Objects that hold kernel resources or files are made by *_open and released by
 *     *_close; pure-memory objects by *_new (or *_parse) and *_free; arrays a call hands
 *     back are released by the matching *_free. Boolean fields of a desc are false by
 *     default and named for what setting them does: include_* adds (include_kernel),
 *     no_* removes (no_user, no_rdpmc). Percentages are 0..100 everywhere.
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
 *
 * INDEX (public functions by section; tests/header_index.py --write regenerates it)
 *     kperf_version_string           The library version as "MAJOR.MINOR.PATCH"
 *   >>errors
 *     kperf_strerror                 Names an error code
 *     kperf_errmsg                   The message of the last error on the calling thread
 *     kperf_errcode                  The code of the last error on the calling thread (n...
 *     kperf_set_log                  Installs a process-wide log callback (kperf is sile...
 *   >>files
 *     kperf_file_open_data           Opens, for reading, a file that untrusted data named
 *     kperf_file_create              Creates or replaces an output file (perf.data, a re...
 *   >>pmu
 *     kperf_pmus_open                Discovers every PMU under `<root>/sys/bus/event_sou...
 *     kperf_pmus_close               Frees a registry
 *     kperf_pmus_count               Number of PMUs in the registry
 *     kperf_pmus_at                  The i-th PMU (sorted by name)
 *     kperf_pmus_find                The PMU with exactly this name
 *     kperf_pmus_root                The sysfs root the registry was read from
 *     kperf_pmus_hybrid              Whether the registry describes a hybrid machine (tw...
 *     kperf_pmu_format_find          The format field name of pmu
 *     kperf_pmu_alias_find           The event alias name of pmu
 *     kperf_pmu_encode               Encodes `term=value` into the config words of pmu t...
 *   >>topology
 *     kperf_topology_open            Reads the CPU topology of `<root>/sys/devices/syste...
 *     kperf_topology_close           Frees a topology
 *     kperf_topology_cpus            The online CPUs, ascending
 *     kperf_topology_cpu             Where cpu sits
 *     kperf_topology_numa_cpus       The online CPUs of NUMA node node (libkperf's get_n...
 *     kperf_topology_cluster_cpus    The online CPUs whose `cluster_id` is cluster (libk...
 *     kperf_topology_numa_count      Number of NUMA nodes (1 on machines without `node/`)
 *     kperf_topology_freq            Current frequency of cpu, trying cpufreq, then /pro...
 *     kperf_cpulist_parse            Parses a kernel CPU list such as "0-3,8,10-11" (sys...
 *     kperf_cpulist_free             Frees an array from kperf_cpulist_parse() or kperf_...
 *   >>tracepoint
 *     kperf_tracefs_open             Finds tracefs and opens it
 *     kperf_tracefs_close            Closes a tracefs handle and frees every cached format
 *     kperf_tracefs_root             The tracefs directory in use, e.g
 *     kperf_tracefs_foreach_event    Calls fn for every event directory with a `format`...
 *     kperf_tracefs_format           The parsed format of `system:name`, read and parsed...
 *     kperf_tracefs_format_by_id     The format of the event with this id (the common_ty...
 *     kperf_tracefs_event_id         The event id (perf_event_attr.config) of `system:na...
 *     kperf_tp_format_parse          Parses the text of a format file (for fixtures and...
 *     kperf_tp_format_free           Frees a format from kperf_tp_format_parse()
 *     kperf_tp_format_field          The field named name (libkperf's get_field_exp), or...
 *     kperf_tp_field_int             Reads an integer scalar field (size 1, 2, 4 or 8),...
 *     kperf_tp_field_uint            Like kperf_tp_field_int(), as unsigned (a u64 above...
 *     kperf_tp_field_elem            Element index of an integer array field (fixed, dat...
 *     kperf_tp_field_bytes           Where a field's bytes are
 *     kperf_tp_field_str             A text field (char array, data_loc/rel_loc string,...
 *     kperf_tp_field_copy            libkperf's get_field
 *     kperf_tp_get_field             By-name get_field
 *     kperf_tp_field_snprint         Formats one field's value as text
 *     kperf_tp_format_snprint        Formats every non-common field as `name=value name=...
 *     kperf_tp_filter_set            Attaches an ftrace filter to an open tracepoint per...
 *   >>events
 *     kperf_evlist_parse             Parses an event spec as `perf` writes them
 *     kperf_evlist_free              Frees a list from kperf_evlist_parse()
 *     kperf_event_attrs_check        Says which attributes a command does not use
 *     kperf_probe_resolver_set       Installs the symbol resolver of uprobe function nam...
 *     kperf_usdt_notes               Lists the USDT probes of a 64-bit ELF image of this...
 *     kperf_usdt_notes_file          kperf_usdt_notes() on a file, read piece by piece (...
 *     kperf_events_foreach           Calls fn for every known event of kind
 *     kperf_event_names              The names of every event of kind as one array (libk...
 *     kperf_event_names_free         Frees an array from kperf_event_names()
 *   >>counting
 *     kperf_perm_read                Reads the calling process's perf permissions
 *     kperf_counter_open             Opens every event of desc->events on every target,...
 *     kperf_counter_close            Closes every fd and frees the counter
 *     kperf_counter_start            Starts counting
 *     kperf_counter_stop             Stops counting
 *     kperf_counter_reset            Zeroes every count and time
 *     kperf_counter_read             Reads every group with one read() per group fd set...
 *     kperf_counter_nfds             Number of fds the counter holds (one per event per...
 *     kperf_counts_print             Prints one line per event
 *     kperf_counter_plan             Computes every perf_event_attr that kperf_counter_o...
 *     kperf_plan_free                Frees a plan
 *     kperf_plan_format              Formats one plan entry as the line `kperf stat --pl...
 *   >>region
 *     kperf_region_open              Opens the events on the calling thread, maps their...
 *     kperf_region_close             Closes the region
 *     kperf_region_start             Takes the start snapshot of a bracket (rdpmc, or on...
 *     kperf_region_stop              Takes the end snapshot and adds the bracket's count...
 *     kperf_region_read              The sums over every bracket since the open (or reset)
 *     kperf_region_reset             Forgets every bracket (the calibration stays)
 *     kperf_region_cost_read         The calibrated overhead measured at open (empty bra...
 *   >>ringbuf
 *     kperf_record_parse             Decodes one contiguous record
 *     kperf_ring_open                Opens a reader over a ring
 *     kperf_ring_close               Frees a reader (not the ring memory)
 *     kperf_ring_next                Pull iteration
 *     kperf_ring_read                Push iteration over every record available now
 *     kperf_ring_stats_read          The reader's counters since it was opened
 *   >>sampling
 *     kperf_sampler_open             Opens the events of desc on its targets and maps th...
 *     kperf_sampler_close            Disables the events, unmaps the rings and frees the...
 *     kperf_sampler_start            Enables every event
 *     kperf_sampler_stop             Disables every event
 *     kperf_sampler_read             Push read
 *     kperf_sampler_next             Pull read
 *     kperf_sampler_fd               A file descriptor that polls readable (POLLIN) when...
 *     kperf_sampler_stats_read       Counters
 *     kperf_sampler_nevents          Number of events the sampler opened (one per parsed...
 *     kperf_sampler_event_name       Display name of event i (the record's `event` field...
 *     kperf_sampler_comm             The last known name of a process, from /proc at ope...
 *     kperf_sampler_rows_read        Drains the records available now into libkperf-shap...
 *     kperf_sample_rows_free         Frees rows from kperf_sampler_rows_read()
 *     kperf_folded_new               Creates an empty folded-stack aggregation
 *     kperf_folded_add               Adds one sample (its call chain, or its ip when it...
 *     kperf_folded_add_weight        Like kperf_folded_add(), weighted weight (off-CPU s...
 *     kperf_folded_write             Writes `root;caller;...;leaf count` lines, sorted,...
 *     kperf_folded_free              Frees an aggregation
 *   >>perfdata
 *     kperf_perfdata_open            Creates the file and writes its header
 *     kperf_perfdata_write           Appends one record as the kernel wrote it (samples...
 *     kperf_perfdata_flush           Ends a round (FINISHED_ROUND
 *     kperf_perfdata_close           Flushes and closes the file, frees the writer
 *     kperf_build_id_read            Reads the GNU build id of an ELF file (its PT_NOTE...
 *     kperf_perfdata_read            Reads a perf.data file, pipe layout (kperf's, `perf...
 *   >>analysis
 *     kperf_stat_add                 Adds one value to s (and to its histogram when it h...
 *     kperf_stat_merge               Merges src into dst (Chan's parallel variance
 *     kperf_stat_variance            Sample variance (m2 / (count - 1))
 *     kperf_stat_percentile          The value at quantile q (0..1) by nearest rank over...
 *     kperf_hist_bucket              The histogram bucket of value (0
 *     kperf_hist_bucket_lo           The smallest value of bucket b
 *     kperf_stat_free                Frees the histogram of a ::kperf_stat the caller ow...
 *     kperf_keystats_new             Creates an empty table
 *     kperf_keystats_free            Frees a table
 *     kperf_keystats_add             Adds value to the statistics of key (created at its...
 *     kperf_keystats_get             The statistics of key, or NULL when it has none
 *     kperf_keystats_count           Number of keys in the table
 *     kperf_keystats_foreach         Calls fn for every key, in no particular order (sor...
 *     kperf_keystats_merge           Adds every key of src into dst (kperf_stat_merge()...
 *     kperf_keystats_reset           Forgets every key (per-interval output
 *     kperf_pairer_new               Creates a pairer
 *     kperf_pairer_free              Frees a pairer and every pending start
 *     kperf_pairer_start             Records the first event of a pair
 *     kperf_pairer_end               Matches the second event of a pair with its start a...
 *     kperf_pairer_peek              The pending start of key, without removing it
 *     kperf_pairer_foreach           Calls fn for every pending start (the leaks, when t...
 *     kperf_pairer_counts_read       The pairer's counters
 *     kperf_pairer_start_at          Records a start whose events may be read out of tim...
 *     kperf_pairer_end_at            Matches an end with its start when the start is pen...
 *     kperf_pairer_drop              Drops the pending starts fn selects (the starts of...
 *   >>syscalls
 *     kperf_syscall_pairer_new       Creates an empty pairer
 *     kperf_syscall_pairer_free      Frees a pairer
 *     kperf_syscall_pairer_feed      Feeds one entry or exit
 *     kperf_syscall_pairer_lost      Tells the pairer that records of cpu were lost (a P...
 *     kperf_syscall_pairer_name      Names syscall number nr (learned from a per-syscall...
 *     kperf_syscall_pairer_comm      Sets the thread name reported for tid (from PERF_RE...
 *     kperf_syscall_pairer_stats     Statistics per syscall, sorted by total time (large...
 *     kperf_syscall_pairer_counts    Reads the bookkeeping counters
 *     kperf_syscall_event_decode     Decodes the raw data of a raw_syscalls:sys_enter /...
 *     kperf_syscalls_open            Opens the tracer (disabled unless enable_on_exec)
 *     kperf_syscalls_close           Closes the tracer
 *     kperf_syscalls_start           Enables tracing
 *     kperf_syscalls_stop            Disables tracing
 *     kperf_syscalls_read            Drains the rings in time order, pairs entries with...
 *     kperf_syscalls_stats           Per-syscall statistics so far (see kperf_syscall_pa...
 *     kperf_syscalls_counts          Bookkeeping
 *     kperf_syscalls_names_status    Why syscall numbers cannot be named in all-syscalls...
 *     kperf_syscalls_sampler         The underlying sampler (for kperf_sampler_fd() in a...
 *     kperf_syscall_names            The running kernel's syscall names (libkperf's sys_...
 *   >>device
 *     kperf_metric_count             Number of metrics kperf defines (the table behind k...
 *     kperf_metric_at                The i-th metric kperf defines, or NULL when i is ou...
 *     kperf_metric_check             Whether a metric can be measured with the PMUs of a...
 *     kperf_device_bdf_list          Lists the devices that the PCIe or SMMU metrics can...
 *     kperf_device_bdf_list_free     Frees a list from kperf_device_bdf_list()
 *     kperf_device_plan              Builds the plan of a device measurement without cal...
 *     kperf_device_open              Plans like kperf_device_plan(), then opens every ev...
 *     kperf_device_close             Closes the events and frees the object
 *     kperf_device_nevents           Number of events in the plan (the length of the cou...
 *     kperf_device_event_at          The i-th planned event, or NULL when i is out of range
 *     kperf_device_nitems            Number of requested items (metrics, then raw events...
 *     kperf_device_item              Name, unit and grouping of the i-th requested item
 *     kperf_device_start             Enables every event (resets first)
 *     kperf_device_stop              Disables every event
 *     kperf_device_read              Reads every event's cumulative count since kperf_de...
 *     kperf_device_compute           Computes metric values from counts (live or recorded)
 *   >>task
 *     kperf_task_open                Opens a task (libkperf's PmuOpen, or trace_open for...
 *     kperf_task_get_kind            The kind the task was opened with
 *     kperf_task_start               Starts collecting (PmuEnable)
 *     kperf_task_stop                Stops collecting (PmuDisable)
 *     kperf_task_read_each           Push read
 *     kperf_task_read                Reads every record (PmuRead)
 *     kperf_task_data_free           Frees an array from kperf_task_read() (PmuDataFree)
 *     kperf_task_close               Closes the task (PmuClose)
 * END INDEX
 */
#ifndef KPERF_H_INCLUDED
#define KPERF_H_INCLUDED

/* The implementation uses POSIX and GNU interfaces (pread, O_CLOEXEC, CLOCK_MONOTONIC, ...).
 * Ask for them before the first system header when kperf.h is included first; when another
 * header came first, the implementation half below catches up (see KPERF__LATE_GNU). */
#if defined(KPERF_IMPLEMENTATION) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE 1
#endif

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

// >>files -------------------------------------------------------------------------------

/** Size cap kperf_file_open_data() applies when given 0: 4 GiB. */
#define KPERF_FILE_MAX_DEFAULT ((uint64_t)4 << 30)

/** @brief Opens, for reading, a file that untrusted data named: a path a profiled process
 *  mapped, a build-id or debuglink path, a perf map, a jitdump, a path in a perf.data file.
 *  The open uses O_NONBLOCK, so a FIFO or device at that path cannot block the caller; only a
 *  regular file of at most @p max_size bytes is accepted. The descriptor is returned in
 *  blocking mode with O_CLOEXEC set.
 *  @param path the file.
 *  @param max_size size cap in bytes; 0 means ::KPERF_FILE_MAX_DEFAULT.
 *  @return a descriptor (the caller closes it), or a negative errno: open()'s error, -EINVAL
 *  when the path is not a regular file, -EFBIG when it is larger than the cap.
 *  *Thread safety:* safe. */
KPERF_API int kperf_file_open_data(const char *path, uint64_t max_size);

/** @brief Creates or replaces an output file (perf.data, a report, a folded stack file, an
 *  SVG) without letting another local user redirect the write.
 *  A missing file is created with O_CREAT|O_EXCL|O_NOFOLLOW. In a world-writable sticky
 *  directory such as /tmp, an existing entry (a symlink, a file, a FIFO) that belongs neither
 *  to the caller nor to the directory's owner is refused, as is a regular file with more than
 *  one hard link; elsewhere a symlink is followed as the user asked. An existing regular file is
 *  truncated only after it was opened without following a symlink and checked. A device or
 *  FIFO (`-o /dev/null`) is opened as it is.
 *  @param path the output file.
 *  @param mode permission bits for a new file (0666 and 0600 are usual; the umask applies).
 *  @return a writable descriptor with O_CLOEXEC set (the caller closes it), or a negative
 *  errno: -EPERM for an entry planted by another user, open()'s error otherwise.
 *  *Thread safety:* safe. */
KPERF_API int kperf_file_create(const char *path, unsigned mode);

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

// >>events ------------------------------------------------------------------------------

/** Modifier bits of a parsed event (`:u :k :h :p :pp :ppp :D`, plus what kperf decides). */
enum kperf_event_flags {
    KPERF_EV_EXCLUDE_USER = 1u << 0,    /**< do not count user space */
    KPERF_EV_EXCLUDE_KERNEL = 1u << 1,  /**< do not count kernel space */
    KPERF_EV_EXCLUDE_HV = 1u << 2,      /**< do not count the hypervisor */
    KPERF_EV_PINNED = 1u << 3,          /**< `:D`, pinned: always on the PMU */
    KPERF_EV_FREQ = 1u << 4,            /**< the `freq=N` term: period holds a frequency */
    KPERF_EV_MODE_SET = 1u << 5,        /**< a `u`/`k`/`h` modifier was written: the three
                                             exclude bits, not the counter's or sampler's
                                             defaults (such as include_kernel), decide what
                                             is counted (`:uk` counts the kernel too) */
};

/** Which perf-prof attributes an event carries: bits of kperf_event_attrs::set. A
 *  command checks them against the attributes it uses (kperf_event_attrs_check()). */
enum kperf_event_attr_bits {
    KPERF_EA_STACK = 1u << 0,       /**< `stack`: record the call chain */
    KPERF_EA_MAX_STACK = 1u << 1,   /**< `max-stack=N`: deepest call chain kept */
    KPERF_EA_ALIAS = 1u << 2,       /**< `alias=NAME`: the name output uses */
    KPERF_EA_KEY = 1u << 3,         /**< `key=FIELD`: correlation key (multi-trace) */
    KPERF_EA_TOP_BY = 1u << 4,      /**< `top-by=FIELD`: a top column, sorted by it */
    KPERF_EA_TOP_ADD = 1u << 5,     /**< `top-add=FIELD`: a top column */
    KPERF_EA_COMM = 1u << 6,        /**< `comm=FIELD`: the field that names the task */
    KPERF_EA_PTR = 1u << 7,         /**< `ptr=FIELD`: the pointer field (kmemleak) */
    KPERF_EA_SIZE = 1u << 8,        /**< `size=FIELD`: the size field (kmemleak) */
    KPERF_EA_NUM = 1u << 9,         /**< `num=FIELD`: a number to make a distribution of */
    KPERF_EA_UNTRACED = 1u << 10,   /**< `untraced`: shown, not paired (multi-trace) */
};

/** perf-prof's event attributes, written after the filter:
 *  `sys:name/filter/ATTR/ATTR/.../` (the filter may be empty: `sys:name//key=pid/`).
 *  The attributes run in user space; the filter runs in the kernel. A FIELD must be a
 *  field of the tracepoint's format (common_* fields included); the parser checks it. */
typedef struct kperf_event_attrs {
    uint32_t set;           /**< bits of enum kperf_event_attr_bits that were written */
    uint16_t max_stack;     /**< `max-stack=N`, 0 when not written */
    char *alias;            /**< `alias=NAME`, or NULL */
    char *key;              /**< `key=FIELD`, or NULL */
    char *top_by;           /**< `top-by=FIELD`; several are joined by ',' ("a,b") */
    char *top_add;          /**< `top-add=FIELD`; several are joined by ',' */
    char *comm;             /**< `comm=FIELD`, or NULL */
    char *ptr;              /**< `ptr=FIELD`, or NULL */
    char *size;             /**< `size=FIELD`, or NULL */
    char *num;              /**< `num=FIELD`, or NULL */
} kperf_event_attrs;

/** One parsed event, ready to become a perf_event_attr. */
typedef struct kperf_event {
    char *spec;             /**< the text as written, e.g. "cycles:u" (for messages) */
    char *name;             /**< display name, e.g. "cycles:u", "hisi_sccl1_ddrc0/flux_rd/";
                                 the `name=` term replaces it */
    char *pmu;              /**< PMU name: "cpu", "software", "tracepoint", "cpu_core" ... */
    uint32_t type;          /**< perf_event_attr.type */
    uint64_t config[4];     /**< config, config1, config2, config3 */
    uint32_t flags;         /**< bits of enum kperf_event_flags */
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
    uint64_t period;        /**< `period=N` (or `freq=N` with KPERF_EV_FREQ); 0 = unset */
    uint32_t bp_type;       /**< breakpoints (`mem:ADDR/LEN:rwx`): 1 = r, 2 = w, 3 = rw,
                                 4 = x (HW_BREAKPOINT_*); address in config[1], length in
                                 config[2]; 0 for other events */
    kperf_event_attrs attrs; /**< perf-prof attributes (`/filter/ATTR/.../`); all zero when
                                  none were written */
    char *probe_path;       /**< `uprobe:`/`uretprobe:`: the file probed (config[1] points
                                 at this string, as the uprobe PMU wants; the list owns it),
                                 `kprobe:` through the kprobe PMU: the function name; NULL
                                 for other events */
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

/** @brief Says which attributes a command does not use: an attribute written on an event
 *  of @p list that is not in @p allowed is an error naming the event and the attribute.
 *  @param list a parsed list.
 *  @param allowed bits of enum kperf_event_attr_bits the caller uses.
 *  @param who the command or library user, for the message ("kperf top").
 *  @return 0, or -KPERF_EPARSE ("sched:sched_switch: attribute 'ptr=' is not used by
 *  kperf top (it uses: key= top-by=)"). */
KPERF_API int kperf_event_attrs_check(const kperf_evlist *list, uint32_t allowed,
                                      const char *who);

/** Resolves a function name of a uprobe (`uprobe:func@"file"`) to its file offset.
 *  Returns 0 and sets *offset, or a negative error with kperf_errmsg() set. */
typedef int (*kperf_probe_resolve_fn)(const char *file, const char *func, uint64_t *offset,
                                      void *user);

/** @brief Installs the symbol resolver of uprobe function names (process-wide).
 *  kperf.h reads no ELF symbol tables itself: without a resolver only
 *  `uprobe:0xOFFSET@"file"` and `uprobe:func+0xOFF@"file"` with a resolver work;
 *  kperf_symbols.h provides kperf_probe_resolve_elf() for this hook.
 *  @param fn the resolver; NULL removes it.
 *  @param user passed to @p fn.
 *  *Thread safety:* set it once before parsing; it is read without a lock. */
KPERF_API void kperf_probe_resolver_set(kperf_probe_resolve_fn fn, void *user);

/** One USDT probe (a SystemTap `.note.stapsdt` ELF note, as <sys/sdt.h> writes them). */
typedef struct kperf_usdt_note {
    char provider[128];     /**< the provider ("libc", "python") */
    char name[128];         /**< the probe name */
    uint64_t pc;            /**< its address (link time, corrected for prelinking by
                                 `.stapsdt.base`) */
    uint64_t semaphore;     /**< the address of its semaphore, 0 when it has none */
    uint64_t offset;        /**< the file offset of pc: what a uprobe is placed at */
    uint64_t sem_offset;    /**< the file offset of the semaphore (the uprobe PMU's
                                 ref_ctr_offset), 0 when none */
} kperf_usdt_note;

/** Receives each probe of kperf_usdt_notes(); a negative return stops the walk. */
typedef int (*kperf_usdt_fn)(const kperf_usdt_note *note, void *user);

/** @brief Lists the USDT probes of a 64-bit ELF image of this machine's byte order.
 *  Every read is bounds-checked against @p size (the parser is fuzzed); notes that do not
 *  parse, or whose address lies in no loaded segment, are skipped.
 *  @param elf the file's bytes; @p size their number.
 *  @return the number of probes passed to @p fn (0 when the file has none),
 *  -KPERF_EPARSE when it is not such an ELF file, or @p fn's negative value. */
KPERF_API int kperf_usdt_notes(const void *elf, size_t size, kperf_usdt_fn fn, void *user);

/** @brief kperf_usdt_notes() on a file, read piece by piece (headers, the note section)
 *  rather than whole; only a regular file is opened (kperf_file_open_data()).
 *  @return as kperf_usdt_notes(), or the open's negative errno. */
KPERF_API int kperf_usdt_notes_file(const char *path, kperf_usdt_fn fn, void *user);

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
    enum kperf_event_kind kind; /**< its kind (never KPERF_EVENT_KIND_ALL) */
    const char *desc;           /**< sysfs terms of an alias (plus ", scale S UNIT" when
                                     sysfs gives them), a short text otherwise */
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
    bool no_user;           /**< do not count user space (with include_kernel: kernel only) */
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

/** @brief Zeroes every count and time: takes a baseline with one read() per group (the
 *  kernel's PERF_EVENT_IOC_RESET would keep exited children's counts and the times).
 *  Deltas restart; exited-thread rows are dropped.
 *  @return 0 or a negative code. */
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
    bool dwarf_callchain;    /**< record what DWARF call graphs need, as `perf record
                                  --call-graph dwarf`: user registers (regs_user_mask, 0 =
                                  every general register), a user stack copy
                                  (stack_user_size), call chains with their kernel part
                                  only, and MMAP2 records of data mappings too; the user
                                  frames come from kperf_symbolizer_unwind() */
    bool include_kernel;     /**< also sample kernel code (needs perf_event_paranoid <= 1
                                  or CAP_PERFMON); default: user space only */
    bool no_user;            /**< do not sample user code (default: user code sampled) */
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
    uint32_t ring_pages;     /**< data pages per ring, a power of two; 0 = 128 (512 KiB),
                                  512 (2 MiB) with dwarf_callchain */
    uint32_t wakeup_bytes;   /**< kperf_sampler_fd() becomes readable when a ring holds this
                                  many bytes; 0 = a quarter of the ring */
    const pid_t *tids;       /**< single threads to sample (as perf record -t), besides the
                                  pids; with ntids. Their threads created later are followed
                                  only with inherit */
    size_t ntids;            /**< number of tids */
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
 *  than a short holdback (10 ms) stay in the ring for the next read, so that a record still
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

/** One sample in the libkperf record shape (its PmuData): flat and self-contained; every
 *  pointer points into memory of the kperf_sample_rows that holds the row. */
typedef struct kperf_sample_row {
    const char *evt;       /**< event name, e.g. "cpu-clock" */
    uint64_t ts;           /**< timestamp in the sampler's clock (ns) */
    pid_t pid;             /**< process id */
    pid_t tid;             /**< thread id */
    int cpu;               /**< CPU the sample was taken on */
    kperf_cpu_topo topo;   /**< where that CPU sits (core, numa, socket, ...); fields are -1
                                when the topology is unknown */
    const char *comm;      /**< thread name when the sample was taken; "" when unknown */
    uint64_t period;       /**< events since the previous sample */
    uint64_t count;        /**< events this sample stands for (its period) */
    uint64_t ip;           /**< instruction pointer */
    const uint64_t *stack; /**< call stack, leaf first, context markers removed; just the
                                ip when no call chain was sampled */
    size_t nstack;         /**< entries in stack */
    const void *raw;       /**< raw tracepoint record, or NULL */
    uint32_t raw_size;     /**< bytes of raw */
} kperf_sample_row;

/** Rows from one kperf_sampler_rows_read(). */
typedef struct kperf_sample_rows {
    kperf_sample_row *rows; /**< the samples, in time order */
    size_t n;               /**< number of rows */
    uint64_t lost;          /**< records the kernel dropped during this read */
    uint64_t throttled;     /**< throttle events during this read */
} kperf_sample_rows;

/** @brief Drains the records available now into libkperf-shaped rows (side-band records
 *  update names and are not returned).
 *  @param s the sampler.
 *  @param out receives the rows (an empty set when nothing was available); NULL on failure.
 *  @return the number of rows, or a negative error code.
 *  *Ownership:* the library's; free with kperf_sample_rows_free(). The rows stay valid
 *  after the sampler is closed. */
KPERF_API int kperf_sampler_rows_read(kperf_sampler *s, kperf_sample_rows **out);

/** @brief Frees rows from kperf_sampler_rows_read(); accepts NULL. */
KPERF_API void kperf_sample_rows_free(kperf_sample_rows *rows);

/** Folded-stack aggregation (`a;b;c N` lines, the flame-graph input). Opaque. */
typedef struct kperf_folded kperf_folded;

/** Names a frame for folded output: write the name of @p addr into @p buf (size @p n,
 *  NUL-terminated) and return its length, or a negative value for "use the address".
 *  @p kernel says the address is a kernel one; @p leaf is false for return addresses (every
 *  frame but the innermost), which a symbolizer should look up as addr - 1. */
typedef int (*kperf_frame_name_fn)(uint64_t addr, uint32_t pid, bool kernel, bool leaf,
                                   char *buf, size_t n, void *user);

/** @brief Creates an empty folded-stack aggregation.
 *  @param out receives it; NULL on failure. @param name frame namer, or NULL for hex
 *  addresses. @param user passed to @p name. @return 0 or -ENOMEM. */
KPERF_API int kperf_folded_new(kperf_folded **out, kperf_frame_name_fn name, void *user);

/** @brief Adds one sample (its call chain, or its ip when it has none), weighted 1.
 *  The process name (when known) becomes the root frame. @return 0 or -ENOMEM. */
KPERF_API int kperf_folded_add(kperf_folded *f, const kperf_sample *smp, const char *comm);

/** @brief Like kperf_folded_add(), weighted @p weight (off-CPU stacks weighted by the
 *  microseconds spent off the CPU, allocations by bytes). @return 0 or -ENOMEM. */
KPERF_API int kperf_folded_add_weight(kperf_folded *f, const kperf_sample *smp,
                                      const char *comm, uint64_t weight);

/** @brief Writes `root;caller;...;leaf count` lines, sorted, to @p path ("-" = stdout).
 *  @return number of lines, or a negative errno. */
KPERF_API int kperf_folded_write(kperf_folded *f, const char *path);

/** @brief Frees an aggregation; accepts NULL. */
KPERF_API void kperf_folded_free(kperf_folded *f);
// <<sampling

// >>perfdata ----------------------------------------------------------------------------
/** A perf.data writer (pipe-mode layout, which `perf report`, `perf script` and
 *  `perf report -g` read from a file or a pipe). Opaque. */
typedef struct kperf_perfdata kperf_perfdata;

/** What a perf.data file is written from. Zero fields take the defaults on each. */
typedef struct kperf_perfdata_desc {
    const char *path;             /**< file to write, "-" for stdout; NULL = "perf.data" */
    const kperf_sampler *sampler; /**< the sampler whose events, ids and records are
                                       written (required); must outlive the writer */
    const pid_t *pids;            /**< already-running processes to describe (COMM and
                                       MMAP2 of every thread and executable mapping, from
                                       /proc); with npids */
    size_t npids;                 /**< number of pids */
    bool all_processes;           /**< describe every process in /proc (system-wide) */
    bool no_kernel;               /**< do not write the kernel's mapping (default: written,
                                       from /proc/kallsyms, with its build id) */
    bool no_build_ids;            /**< do not write BUILD_ID records for mapped files */
    const char *cmdline;          /**< the command line stored in the file; NULL = none */
    const char *tracefs;          /**< tracefs root the tracing data is read from; NULL =
                                       found as kperf_tracefs_open() finds it */
    bool no_tracing_data;         /**< do not write TRACING_DATA (default: written when an
                                       event is a tracepoint, so `perf script` can decode
                                       and print its fields) */
} kperf_perfdata_desc;

/** @brief Creates the file and writes its header: the pipe header, one HEADER_ATTR (with
 *  ids) per event, the EVENT_DESC feature, the tracing data when an event is a tracepoint
 *  (the trace-cmd style blob perf reads: header_page, header_event, the format file of
 *  every tracepoint recorded, printk_formats, saved_cmdlines), the kernel mapping and the
 *  described processes.
 *  @param out receives the writer; NULL on failure.
 *  @param desc what to write.
 *  @return 0, or a negative errno with a message naming the file; -KPERF_ENOTRACEFS or
 *  -KPERF_ENOEVENT when a tracepoint's format cannot be read from tracefs (set
 *  desc->no_tracing_data to write the file without tracing data).
 *  *Ownership:* close with kperf_perfdata_close(). */
KPERF_API int kperf_perfdata_open(kperf_perfdata **out, const kperf_perfdata_desc *desc);

/** @brief Appends one record as the kernel wrote it (samples and side-band alike). For a
 *  MMAP2 of a file not seen before, a BUILD_ID record is written first when the file has
 *  one. @return 0, or a negative errno. */
KPERF_API int kperf_perfdata_write(kperf_perfdata *w, const kperf_record *rec);

/** @brief Ends a round (FINISHED_ROUND: everything before it may be sorted and processed)
 *  and flushes the file. Call it after each kperf_sampler_read(). @return 0 or -errno. */
KPERF_API int kperf_perfdata_flush(kperf_perfdata *w);

/** @brief Flushes and closes the file, frees the writer; accepts NULL. */
KPERF_API void kperf_perfdata_close(kperf_perfdata *w);

/** @brief Reads the GNU build id of an ELF file (its PT_NOTE segments), without libelf.
 *  @param path the file. @param id receives up to 20 bytes.
 *  @return the id's length (1..20), 0 when the file has none, or a negative errno /
 *  -KPERF_ECORRUPT for a file that is not a well-formed ELF. */
KPERF_API int kperf_build_id_read(const char *path, uint8_t id[20]);

/** Events found in a perf.data file by kperf_perfdata_read(). */
typedef struct kperf_perfdata_events {
    size_t n;                       /**< number of events (at most 16 are kept) */
    char names[16][64];             /**< names from EVENT_DESC ("" until it was read) */
    uint64_t sample_type[16];       /**< sample_type of each event */
    uint64_t regs_user_mask[16];    /**< sample_regs_user of each event: which registers a
                                         KPERF_SAMPLE_REGS_USER sample holds, in bit order */
    uint64_t records;               /**< records delivered so far */
    uint64_t tracing_data_size;     /**< bytes of the TRACING_DATA blob (pipe files with
                                         tracepoints); 0 when the file has none */
} kperf_perfdata_events;

/** @brief Reads a perf.data file, pipe layout (kperf's, `perf record -o -`) or the seekable
 *  layout `perf record` writes by default, and delivers every kernel record, decoded by
 *  kperf_record_parse(), to @p fn in file order.
 *  @param path the file ("-" for stdin).
 *  @param fn called per record; the record's `event` indexes @p events.
 *  @param user passed to @p fn.
 *  @param events receives the events as their HEADER_ATTR and EVENT_DESC records are read;
 *  may be NULL.
 *  @return records delivered, fn's negative value, or -KPERF_ECORRUPT (the message gives
 *  the offset). Event names come from EVENT_DESC (the pipe record, or the seekable file's
 *  feature section). */
KPERF_API int kperf_perfdata_read(const char *path, kperf_record_fn fn, void *user,
                                  kperf_perfdata_events *events);
// <<perfdata

// >>analysis ----------------------------------------------------------------------------
/* In-memory analysis of events as they arrive (perf-prof's model): keyed statistics with
 * latency histograms, and two-event relations by key (start/end pairs, leaks). */

/** Buckets of a ::kperf_stat histogram: exact below 16, then 8 linear sub-buckets per power
 *  of two up to 2^63 (a value is known within 1/16 of itself). */
#define KPERF_HIST_BUCKETS 496

/** Summary statistics of a series of values (count, sum, min, max, mean, variance) and its
 *  optional log-linear histogram. Fixed size: memory per key does not grow with the
 *  number of values. */
typedef struct kperf_stat {
    uint64_t count;         /**< values added */
    uint64_t sum;           /**< their sum (wraps past 2^64) */
    uint64_t min;           /**< smallest value (0 when count is 0) */
    uint64_t max;           /**< largest value */
    double mean;            /**< running mean (Welford) */
    double m2;              /**< sum of squared deviations from the mean (Welford) */
    uint32_t *hist;         /**< KPERF_HIST_BUCKETS counts, or NULL without histograms;
                                 owned by the table (or by kperf_stat_free()) */
} kperf_stat;

/** @brief Adds one value to @p s (and to its histogram when it has one). */
KPERF_API void kperf_stat_add(kperf_stat *s, uint64_t value);

/** @brief Merges @p src into @p dst (Chan's parallel variance; histograms added bucket by
 *  bucket; @p dst gets a histogram when @p src has one).
 *  @return 0, or -ENOMEM. */
KPERF_API int kperf_stat_merge(kperf_stat *dst, const kperf_stat *src);

/** @brief Sample variance (m2 / (count - 1)); 0 with fewer than two values. */
KPERF_API double kperf_stat_variance(const kperf_stat *s);

/** @brief The value at quantile @p q (0..1) by nearest rank over the histogram: the middle of
 *  the bucket, clamped to [min, max] (within 1/16 of the true value); q <= 0 is the min,
 *  q >= 1 the max. Without a histogram: the mean. 0 when empty. */
KPERF_API uint64_t kperf_stat_percentile(const kperf_stat *s, double q);

/** @brief The histogram bucket of @p value (0 .. KPERF_HIST_BUCKETS-1). */
KPERF_API uint32_t kperf_hist_bucket(uint64_t value);

/** @brief The smallest value of bucket @p b; bucket b holds [lo(b), lo(b+1)). */
KPERF_API uint64_t kperf_hist_bucket_lo(uint32_t b);

/** @brief Frees the histogram of a ::kperf_stat the caller owns and zeroes it. */
KPERF_API void kperf_stat_free(kperf_stat *s);

/** Options of a kperf_keystats table. Zero-initialise. */
typedef struct kperf_keystats_desc {
    bool histogram;         /**< keep a latency histogram per key (about 2 KiB per key);
                                 default: summary statistics only (64 bytes per key) */
} kperf_keystats_desc;

/** A hash table of ::kperf_stat by 64-bit key (a pid, a CPU, a field value, a pointer).
 *  Opaque. *Thread safety:* none; one table per thread, merge them at the end. */
typedef struct kperf_keystats kperf_keystats;

/** @brief Creates an empty table.
 *  @param out receives it; NULL on failure.
 *  @param desc options; NULL = defaults.
 *  @return 0 or -ENOMEM. *Ownership:* free with kperf_keystats_free(). */
KPERF_API int kperf_keystats_new(kperf_keystats **out, const kperf_keystats_desc *desc);

/** @brief Frees a table; accepts NULL. */
KPERF_API void kperf_keystats_free(kperf_keystats *ks);

/** @brief Adds @p value to the statistics of @p key (created at its first value).
 *  @return 0, or -ENOMEM (the value is then not counted). */
KPERF_API int kperf_keystats_add(kperf_keystats *ks, uint64_t key, uint64_t value);

/** @brief The statistics of @p key, or NULL when it has none. Valid until the next add,
 *  merge, reset or free. */
KPERF_API const kperf_stat *kperf_keystats_get(const kperf_keystats *ks, uint64_t key);

/** @brief Number of keys in the table. */
KPERF_API size_t kperf_keystats_count(const kperf_keystats *ks);

/** Callback of kperf_keystats_foreach(); a negative return stops the walk. */
typedef int (*kperf_keystats_fn)(uint64_t key, const kperf_stat *s, void *user);

/** @brief Calls @p fn for every key, in no particular order (sort the results yourself).
 *  @return the number of keys visited, or the negative value @p fn returned. */
KPERF_API int kperf_keystats_foreach(const kperf_keystats *ks, kperf_keystats_fn fn,
                                     void *user);

/** @brief Adds every key of @p src into @p dst (kperf_stat_merge() per key).
 *  @return 0, or -ENOMEM. */
KPERF_API int kperf_keystats_merge(kperf_keystats *dst, const kperf_keystats *src);

/** @brief Forgets every key (per-interval output: print, then reset). Keeps the memory. */
KPERF_API void kperf_keystats_reset(kperf_keystats *ks);

/** One side of a two-event relation: what kperf_pairer_start() keeps of the first event
 *  and kperf_pairer_end() hands back. */
typedef struct kperf_pair_event {
    uint64_t key;           /**< the correlation key (pid, pointer, request address...) */
    uint64_t time;          /**< timestamp, ns */
    uint64_t value;         /**< a value to keep with it (an allocation's size, a state) */
    uint32_t pid;           /**< process id */
    uint32_t tid;           /**< thread id */
    uint32_t cpu;           /**< CPU */
    uint32_t nips;          /**< entries in ips */
    const uint64_t *ips;    /**< call chain (kept as a copy up to max_stack), or NULL */
} kperf_pair_event;

/** Options of a kperf_pairer. Zero-initialise. */
typedef struct kperf_pairer_desc {
    uint32_t max_stack;     /**< call chain entries kept per pending start; 0 = 127 */
} kperf_pairer_desc;

/** Counters of a pairer. */
typedef struct kperf_pairer_counts {
    uint64_t started;       /**< kperf_pairer_start() and kperf_pairer_start_at() calls */
    uint64_t matched;       /**< ends that found their start (a held end included) */
    uint64_t unmatched_end; /**< ends dropped without a start (began before tracing, lost,
                                 or pushed out of the held ends by a newer one) */
    uint64_t restarted;     /**< starts that replaced a pending one of the same key */
    uint64_t pending;       /**< starts waiting for their end now (leaks at the end) */
    uint64_t held;          /**< ends waiting now for a start older than them
                                 (kperf_pairer_end_at()) */
    uint64_t stale;         /**< starts dropped by kperf_pairer_start_at(): older than the
                                 pending start of their key */
} kperf_pairer_counts;

/** Ends of one key that kperf_pairer_end_at() holds while their start is not yet read. */
#define KPERF_PAIRER_HELD_MAX 4

/** Two events related by key (the general form of the syscall pairer): a start waits,
 *  keyed, until its end comes; what never ends is a leak. Opaque.
 *  *Thread safety:* none. */
typedef struct kperf_pairer kperf_pairer;

/** @brief Creates a pairer. @return 0 or -ENOMEM; *out is NULL on failure.
 *  *Ownership:* free with kperf_pairer_free(). */
KPERF_API int kperf_pairer_new(kperf_pairer **out, const kperf_pairer_desc *desc);

/** @brief Frees a pairer and every pending start; accepts NULL. */
KPERF_API void kperf_pairer_free(kperf_pairer *p);

/** @brief Records the first event of a pair. A pending start with the same key is
 *  replaced (counted in restarted).
 *  @return 0, 1 when it replaced one, or -ENOMEM. */
KPERF_API int kperf_pairer_start(kperf_pairer *p, const kperf_pair_event *ev);

/** @brief Matches the second event of a pair with its start and forgets the start.
 *  @param start receives the start (its ips point into the pairer, valid until the next
 *  call on it); may be NULL.
 *  @return 1 when matched, 0 when no start of that key is pending. */
KPERF_API int kperf_pairer_end(kperf_pairer *p, uint64_t key, kperf_pair_event *start);

/** @brief The pending start of @p key, without removing it. @return 1 found, 0 not. */
KPERF_API int kperf_pairer_peek(const kperf_pairer *p, uint64_t key, kperf_pair_event *start);

/** Callback of kperf_pairer_foreach(); a negative return stops the walk. */
typedef int (*kperf_pair_fn)(const kperf_pair_event *start, void *user);

/** @brief Calls @p fn for every pending start (the leaks, when tracing is over), in no
 *  particular order. @return the number visited, or the negative value @p fn returned. */
KPERF_API int kperf_pairer_foreach(const kperf_pairer *p, kperf_pair_fn fn, void *user);

/** @brief The pairer's counters. */
KPERF_API void kperf_pairer_counts_read(const kperf_pairer *p, kperf_pairer_counts *out);

/** @brief Records a start whose events may be read out of time order (per-CPU rings drained
 *  at different moments: an end can be read before its start). In order of precedence:
 *  a held end of the key at or after ev->time completes the pair at once (the earliest
 *  such end; @p ev is not kept); a pending start of the key newer than @p ev makes @p ev
 *  stale (dropped, counted); else @p ev is kept, replacing an older pending start.
 *  @param other receives the held end (return 2) or the replaced start (return 1; its
 *  ips are valid until the next call on @p p); may be NULL.
 *  @return 0 kept, 1 kept and replaced a start, 2 completed by a held end, 3 stale,
 *  or -ENOMEM. */
KPERF_API int kperf_pairer_start_at(kperf_pairer *p, const kperf_pair_event *ev,
                                    kperf_pair_event *other);

/** @brief Matches an end with its start when the start is pending and not newer than
 *  @p end (end->key, end->time); otherwise the end is held for a start still to come (up
 *  to ::KPERF_PAIRER_HELD_MAX per key: the oldest held end of the key is dropped to make
 *  room, counted in unmatched_end). A held end keeps key, time, value, pid, tid and cpu,
 *  not its call chain.
 *  @param start receives the start (as kperf_pairer_end()); may be NULL.
 *  @return 1 matched, 0 held, or -ENOMEM (the end is then dropped and counted). */
KPERF_API int kperf_pairer_end_at(kperf_pairer *p, const kperf_pair_event *end,
                                  kperf_pair_event *start);

/** Callback of kperf_pairer_drop(): nonzero drops the start. */
typedef int (*kperf_pair_drop_fn)(const kperf_pair_event *start, void *user);

/** @brief Drops the pending starts @p fn selects (the starts of a CPU whose records were
 *  lost: their ends may be gone). @return the number dropped. */
KPERF_API size_t kperf_pairer_drop(kperf_pairer *p, kperf_pair_drop_fn fn, void *user);
// <<analysis

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

/** @brief Tells the pairer that records of @p cpu were lost (a PERF_RECORD_LOST in that
 *  CPU's ring). An entry pending from that CPU may have lost its exit; left alone it would pair
 *  with the thread's next exit of the same syscall, far later, and poison the latency
 *  statistics. Such entries are dropped and counted as unfinished.
 *  @param cpu the CPU whose records were lost; negative for every CPU (a per-thread ring).
 *  @return the number of entries dropped. */
KPERF_API size_t kperf_syscall_pairer_lost(kperf_syscall_pairer *p, int32_t cpu);

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

/** What to trace (libkperf's PmuTraceAttr). Zero-initialise; zero fields are defaults. */
typedef struct kperf_syscalls_desc {
    const char *const *funcs; /**< syscall names to trace ("read", "write"); with nfuncs.
                                   0 = every syscall of the running kernel */
    size_t nfuncs;           /**< number of funcs */
    const pid_t *pids;       /**< processes to trace (all their threads); with npids */
    size_t npids;            /**< number of pids; 0 and no CPUs = the calling thread */
    const int *cpus;         /**< CPUs to trace on; with ncpus */
    size_t ncpus;            /**< number of cpus */
    bool all_cpus;           /**< every online CPU (system-wide when npids is 0) */
    bool inherit;            /**< follow threads and processes created after open */
    bool enable_on_exec;     /**< start at the target's next exec (fork-then-exec) */
    bool no_names;           /**< all-syscalls mode: do not name numbers (no ftrace
                                  instance); calls show as syscall_NR */
    uint32_t ring_pages;     /**< data pages per ring, a power of two; 0 = 256 */
    const char *tracefs;     /**< tracefs root; NULL = discovered (kperf_tracefs_open) */
    const pid_t *tids;       /**< single threads to trace, besides the pids; with ntids */
    size_t ntids;            /**< number of tids */
} kperf_syscalls_desc;

/** A live syscall tracer (libkperf's trace_open with TRACE_SYS_CALL). Opaque.
 *  With funcs it opens syscalls:sys_enter_NAME / sys_exit_NAME for each; without, it
 *  opens raw_syscalls:sys_enter / sys_exit and learns each number's name from the running
 *  kernel: a private ftrace instance (tracefs instances/kperf-NS-PID-N, NS the pid
 *  namespace; removed at close, and by the next tracer if its process died first)
 *  with the syscalls:sys_enter_* events on prints `sys_enter_NAME: __syscall_nr=N` as the
 *  targets make calls (see docs/tracepoints.md). *Thread safety:* not thread-safe. */
typedef struct kperf_syscalls kperf_syscalls;

/** @brief Opens the tracer (disabled unless enable_on_exec).
 *  @param out receives it; NULL on failure.
 *  @param desc what to trace; NULL = every syscall of the calling thread.
 *  @return 0; -KPERF_ENOEVENT for a name the kernel has no sys_enter_NAME for (message
 *  names it); -KPERF_ENOTRACEFS; the sampler's errors (permissions, limits).
 *  *Ownership:* close with kperf_syscalls_close(). */
KPERF_API int kperf_syscalls_open(kperf_syscalls **out, const kperf_syscalls_desc *desc);

/** @brief Closes the tracer; accepts NULL. Names and records it returned become invalid. */
KPERF_API void kperf_syscalls_close(kperf_syscalls *s);

/** @brief Enables tracing. @return 0 or a negative errno. */
KPERF_API int kperf_syscalls_start(kperf_syscalls *s);

/** @brief Disables tracing; what is buffered stays readable. @return 0 or a negative errno. */
KPERF_API int kperf_syscalls_stop(kperf_syscalls *s);

/** @brief Drains the rings in time order, pairs entries with exits (entries whose exit is
 *  not yet read stay pending for the next read) and calls @p fn per completed call.
 *  @param fn may be NULL (statistics only). @param user passed to @p fn.
 *  @return the number of calls completed, or a negative error (or @p fn's value). */
KPERF_API int kperf_syscalls_read(kperf_syscalls *s, kperf_syscall_fn fn, void *user);

/** @brief Per-syscall statistics so far (see kperf_syscall_pairer_stats()).
 *  @param out receives an array owned by @p s, valid until the next call on @p s.
 *  @param count receives its length. @return 0 or -ENOMEM. */
KPERF_API int kperf_syscalls_stats(kperf_syscalls *s, const kperf_syscall_stat **out,
                                   size_t *count);

/** @brief Bookkeeping: pairing counters, and records the kernel dropped (ring full).
 *  @param out receives the pairer's counters. @param lost receives the number of records
 *  lost so far (may be NULL). */
KPERF_API void kperf_syscalls_counts(const kperf_syscalls *s, kperf_syscall_counts *out,
                                     uint64_t *lost);

/** @brief Why syscall numbers cannot be named in all-syscalls mode ("" when they can, or
 *  when funcs or no_names were given): no tracefs instances (not root), or a kernel
 *  without ftrace's "fields" option (before Linux 6.5). Calls then show as syscall_NR.
 *  @return a string owned by @p s. */
KPERF_API const char *kperf_syscalls_names_status(const kperf_syscalls *s);

/** @brief The underlying sampler (for kperf_sampler_fd() in a poll loop, or comm lookups).
 *  *Ownership:* the tracer's. */
KPERF_API kperf_sampler *kperf_syscalls_sampler(const kperf_syscalls *s);

/** @brief The running kernel's syscall names (libkperf's sys_call_func_list): every
 *  `events/syscalls/sys_enter_NAME` in tracefs, sorted.
 *  @param names receives an array of @p count strings owned by @p tfs.
 *  @return 0, -KPERF_ENOTSUP when the kernel has no syscall tracepoints
 *  (CONFIG_FTRACE_SYSCALLS), or a negative error. */
KPERF_API int kperf_syscall_names(kperf_tracefs *tfs, const char *const **names, size_t *count);
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
    kperf_metric_mode mode; /**< grouping of this row; KPERF_METRIC_TOTAL for the summary */
    char where[64];         /**< instance: "hisi_sccl1_ddrc0", "cpu12", "node1",
                                 "0000:31:00.0", "uncore_imc_0@cpu20", or "total" */
    int cpu;                /**< CPU the counter ran on; -1 for the total */
    int numa;               /**< NUMA node of that CPU; -1 when unknown or total */
    int socket;             /**< socket (physical package) of that CPU; -1 when unknown */
    int channel;            /**< memory channel number for KPERF_METRIC_PER_CHANNEL, else -1 */
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
 *  their events; counts are summed. A total row (KPERF_METRIC_TOTAL) follows each item's
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

// >>task --------------------------------------------------------------------------------
/* The libkperf task model, over the sections above: one open over event/pid/cpu lists and
 * flat records for counting, sampling, syscall tracing, and (through a source hook that
 * kperf_spe.h provides) Arm SPE sampling. libkperf/ is a thin shim over it. */

/** What a task does (libkperf's PmuTaskType, plus its trace_open). */
typedef enum kperf_task_kind {
    KPERF_TASK_COUNTING = 0,     /**< count events: one record per event and thread/CPU */
    KPERF_TASK_SAMPLING = 1,     /**< sample events: one record per sample */
    KPERF_TASK_SPE_SAMPLING = 2, /**< Arm SPE: one record per SPE record; needs
                                      kperf_task_attr::source = kperf_spe_task_source()
                                      (kperf_spe.h) */
    KPERF_TASK_TRACING = 3       /**< syscalls (libkperf's trace_open with TRACE_SYS_CALL):
                                      one record per completed call */
} kperf_task_kind;

/** One flat record of a task read (libkperf's PmuData, or PmuTraceData for tracing).
 *  Fields a kind does not fill are 0 / NULL. */
typedef struct kperf_task_data {
    const char *event;      /**< event name as given (tracing: the syscall's name; SPE:
                                 "spe") */
    uint64_t ts;            /**< ns: counting the read time (CLOCK_MONOTONIC); sampling and
                                 SPE the record's time; tracing the call's entry */
    pid_t pid;              /**< process; -1 for a CPU-wide counting record */
    pid_t tid;              /**< thread; -1 for a CPU-wide counting record */
    int cpu;                /**< CPU; -1 when the record follows a thread on any CPU */
    kperf_cpu_topo topo;    /**< where cpu sits (cpuTopo: core, numa, socket...); every
                                 field -1 when cpu is -1 */
    char comm[16];          /**< the thread's (else its process's) command name; "" when
                                 unknown */
    int group;              /**< the event's group number (kperf_task_attr::groups), -1 */
    uint64_t count;         /**< counting: the (scaled) count since the previous read;
                                 other kinds: 1 */
    uint64_t total;         /**< counting: the (scaled) count since the open */
    double percent;         /**< counting: running / enabled time * 100, as kperf_value::percent;
                                 below 1 the counts are scaled estimates; 1 for a counter
                                 that never ran; other kinds 1 */
    bool exited;            /**< counting: a thread created after the open that exited */
    uint64_t period;        /**< sampling: events since the previous sample */
    const uint64_t *ips;    /**< sampling: the call chain, innermost first, context markers
                                 removed (DWARF-unwound with kperf_task_attr::unwind); just
                                 the ip without call chains. SPE: the pc */
    uint32_t nips;          /**< entries in ips */
    uint32_t raw_size;      /**< sampling: bytes of raw (tracepoints) */
    const void *raw;        /**< sampling: the raw tracepoint record, or NULL */
    const kperf_branch *branches; /**< sampling: branch stack, most recent first */
    uint32_t nbranches;     /**< entries in branches */
    uint32_t latency;       /**< SPE: total latency (cycles) */
    uint64_t addr;          /**< SPE: data virtual address */
    uint64_t phys_addr;     /**< SPE: data physical address */
    uint64_t events;        /**< SPE: EVENTS bits */
    uint64_t duration;      /**< tracing: exit minus entry, ns */
    int64_t ret;            /**< tracing: the call's return value */
    const kperf_sample *sample; /**< sampling, inside kperf_task_read_each() only: the
                                     decoded sample (registers, stack copy); else NULL */
} kperf_task_data;

/** A kperf_task_read_each() callback: one record, valid during the call; a negative
 *  return stops the read and is returned. */
typedef int (*kperf_task_fn)(const kperf_task_data *row, void *user);

struct kperf_task_attr;

/** A task kind implemented outside kperf.h (kperf_spe_task_source() for SPE): what
 *  kperf_task_open() calls for it. The task fills each row's topo and comm (when "") before
 *  passing it on. */
typedef struct kperf_task_source {
    /** Opens the kind's object into *state; 0 or a negative code with the error set. */
    int (*open)(void **state, const struct kperf_task_attr *attr);
    /** Starts collecting. */
    int (*start)(void *state);
    /** Stops collecting. */
    int (*stop)(void *state);
    /** Emits every record available now through fn; the count or a negative code. */
    int (*read)(void *state, kperf_task_fn fn, void *user);
    /** Frees the state; accepts NULL. */
    void (*close)(void *state);
} kperf_task_source;

/** Sampling with DWARF call chains: writes the call chain of @p smp (registers and stack
 *  copy described by @p regs_mask) into @p ips, innermost first, like
 *  kperf_symbolizer_unwind() (kperf_symbols.h) does. Returns the entries, or <= 0 to keep
 *  the sample's own chain. */
typedef int (*kperf_task_unwind_fn)(void *user, const kperf_sample *smp, uint64_t regs_mask,
                                    uint64_t *ips, int max);

/** What a task measures (libkperf's PmuAttr and PmuTraceAttr). Zero-initialised: every CPU
 *  system-wide, user space only, no groups; counting and sampling need events. */
typedef struct kperf_task_attr {
    const char *const *events;  /**< event specs, one per entry (evtList); SPE and tracing
                                     ignore them */
    size_t nevents;             /**< number of events */
    const pid_t *pids;          /**< processes, every thread of each (pidList); none = the
                                     CPUs of cpus system-wide (needs paranoid <= 0) */
    size_t npids;               /**< number of pids */
    const int *cpus;            /**< CPUs (cpuList); none = every online CPU system-wide,
                                     or any CPU for pids */
    size_t ncpus;               /**< number of cpus */
    const int *groups;          /**< counting: per event, its group number (evtAttr):
                                     events with the same number form one group, -1 = no
                                     group; NULL = no groups. Every kind reports it */
    bool no_user;               /**< do not measure user space (excludeUser) */
    bool include_kernel;        /**< measure kernel space (the inverse of excludeKernel;
                                     needs paranoid <= 1) */
    bool include_new_fork;      /**< count threads and children created after the open and
                                     report each exited one as its own record
                                     (includeNewFork; counting only) */
    const char *sysfs_root;     /**< sysfs root for PMUs and topology; NULL = "/" or
                                     KPERF_SYSFS_ROOT */
    uint64_t period;            /**< sampling, SPE: events between samples (period) */
    uint64_t freq;              /**< sampling: samples per second (useFreq); 0 with period
                                     0 = 1000 */
    int callchain;              /**< sampling (callStack): 0 the sampled ip only, 1 call
                                     chains by frame pointers, 2 DWARF call chains (user
                                     registers + 8 KiB of stack per sample, unwound by
                                     the unwind hook) */
    uint64_t branch_filter;     /**< sampling: kperf_branch_filter bits (branchSampleFilter) */
    uint64_t spe_data_filter;   /**< SPE: dataFilter bits */
    uint64_t spe_event_filter;  /**< SPE: evFilter bits */
    uint32_t spe_min_latency;   /**< SPE: minLatency */
    const char *const *syscalls; /**< tracing: syscall names (funcs); none = every one */
    size_t nsyscalls;           /**< number of syscalls */
    kperf_record_fn on_record;  /**< sampling: sees every record read (side-band MMAP/COMM
                                     included) before the task makes its row, e.g. to feed
                                     a symbolizer; NULL = none */
    kperf_task_unwind_fn unwind; /**< sampling with callchain 2: the unwinder */
    void *hook_user;            /**< passed to on_record and unwind */
    const kperf_task_source *source; /**< the implementation of a kind kperf.h does not
                                          build in (KPERF_TASK_SPE_SAMPLING) */
} kperf_task_attr;

/** A libkperf-style task: events over pids and CPUs, one open/start/stop/read/close. */
typedef struct kperf_task kperf_task;

/** @brief Opens a task (libkperf's PmuOpen, or trace_open for ::KPERF_TASK_TRACING).
 *  @param out receives the task; NULL on failure.
 *  @param kind what the task does.
 *  @param attr what to measure.
 *  @return 0, or a negative code: -EINVAL (no events for counting/sampling),
 *  -KPERF_ENOTSUP (an unknown kind, or SPE without attr->source), and the errors of
 *  kperf_counter_open(), kperf_sampler_open(), kperf_syscalls_open() or the source.
 *  *Ownership:* close with kperf_task_close(). */
KPERF_API int kperf_task_open(kperf_task **out, kperf_task_kind kind, const kperf_task_attr *attr);

/** @brief The kind the task was opened with. */
KPERF_API kperf_task_kind kperf_task_get_kind(const kperf_task *t);

/** @brief Starts collecting (PmuEnable). @return 0 or a negative code. */
KPERF_API int kperf_task_start(kperf_task *t);

/** @brief Stops collecting (PmuDisable). @return 0 or a negative code. */
KPERF_API int kperf_task_stop(kperf_task *t);

/** @brief Push read: passes every record available now to @p fn, without copying (the
 *  row and what it points to are valid during the call).
 *  @param t the task. @param fn the callback. @param user passed to fn.
 *  @return the number of records, fn's negative value, or a negative code. */
KPERF_API int kperf_task_read_each(kperf_task *t, kperf_task_fn fn, void *user);

/** @brief Reads every record (PmuRead): counting gives one per event and thread (or CPU),
 *  plus one per exited new thread with include_new_fork; the other kinds one per record
 *  since the previous read.
 *  @param t the task.
 *  @param out receives a new array (NULL when there is no record); free it with
 *  kperf_task_data_free().
 *  @return the number of records, or a negative code.
 *  *Ownership:* the array and what it points to are one block, independent of the task
 *  (kperf_task_data::sample is NULL there). */
KPERF_API int kperf_task_read(kperf_task *t, kperf_task_data **out);

/** @brief Frees an array from kperf_task_read() (PmuDataFree); accepts NULL. */
KPERF_API void kperf_task_data_free(kperf_task_data *data);

/** @brief Closes the task (PmuClose); accepts NULL. */
KPERF_API void kperf_task_close(kperf_task *t);
// <<task









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

/* A system header was included before kperf.h without _GNU_SOURCE, so glibc has fixed its
 * feature set already. Under -std=gnu* that set is POSIX 2008 plus the BSD/SVID extensions,
 * which is all the implementation needs. Under strict ISO C
 * (-std=c99, -std=c11) POSIX itself is off: the feature set is evaluated again with
 * _GNU_SOURCE, which works as long as only ISO C headers came first (their POSIX parts are
 * declared below); after a POSIX header (<unistd.h>, <fcntl.h>, ...) it cannot. */
#if defined(__GLIBC__) && !defined(__cplusplus) && !defined(__USE_XOPEN2K8)
#if defined(_UNISTD_H) || defined(_FCNTL_H) || defined(_SYS_STAT_H) || defined(_SYS_MMAN_H) || \
    defined(_PTHREAD_H) || defined(_SIGNAL_H) || defined(_DIRENT_H)
#error "kperf: under strict ISO C (-std=c99/c11) the file that defines KPERF_IMPLEMENTATION must include kperf.h before any POSIX header, or #define _GNU_SOURCE at its top, or be compiled with -std=gnu99/gnu11"
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#undef _FEATURES_H
#include <features.h>
#define KPERF__LATE_POSIX 1
#endif

/* Sections compiled out (KPERF_NO_*) take the sections that need them along. */
#if defined(KPERF_NO_SAMPLING) || defined(KPERF_NO_TRACEPOINT)
#ifndef KPERF_NO_SYSCALLS
#define KPERF_NO_SYSCALLS
#endif
#endif
#if defined(KPERF_NO_SAMPLING) || defined(KPERF_NO_SYSCALLS)
#ifndef KPERF_NO_TASK
#define KPERF_NO_TASK
#endif
#endif

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
#ifdef KPERF__LATE_POSIX
#include <strings.h>
/* POSIX parts of ISO C headers (<stdio.h>, <string.h>, <stdlib.h>, <time.h>) that may have
 * come before kperf.h: the same prototypes as glibc's, so a second declaration is harmless. */
FILE *fdopen(int fd, const char *mode);
ssize_t getline(char **line, size_t *cap, FILE *f);
size_t strnlen(const char *s, size_t max);
char *strtok_r(char *s, const char *delim, char **save);
char *strdup(const char *s);
char *strndup(const char *s, size_t n);
int fileno(FILE *f);
char *realpath(const char *path, char *resolved);
int clock_gettime(clockid_t clk, struct timespec *ts);
int nanosleep(const struct timespec *req, struct timespec *rem);
#ifndef CLOCK_REALTIME
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_BOOTTIME 7
#define CLOCK_TAI 11
#endif
#endif

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

// >>util (helpers with no dependencies, used by every section) ------------------------
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

/* qsort/bsearch comparator of two `char *` elements. */
KPERF__PRIV int kperf__strptr_cmp(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Frees an array of n strings and the array. */
KPERF__PRIV void kperf__names_free(char **v, size_t n) {
    for (size_t i = 0; v && i < n; i++) KPERF_FREE(v[i]);
    KPERF_FREE(v);
}

/* 64-bit FNV-1a of a string. */
KPERF__PRIV uint64_t kperf__fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* perf's cycles-to-nanoseconds scaling of the mmap page (time_mult, time_shift, and the
 * cap_user_time_short wrap of @p cyc against @p base/@p mask); the caller adds time_offset
 * or time_zero. Used by the region fast path and by SPE timestamps. */
KPERF__PRIV uint64_t kperf__perf_time_scale(uint64_t cyc, uint32_t mult, uint16_t shift,
                                            bool is_short, uint64_t base, uint64_t mask) {
    if (is_short) cyc = base + ((cyc - base) & mask);
    shift &= 63;
    uint64_t quot = cyc >> shift, rem = cyc & (((uint64_t)1 << shift) - 1);
    return quot * mult + ((rem * mult) >> shift);
}

/* Set bits of a 64-bit mask (register masks of samples). */
KPERF__PRIV int kperf__popcount64(uint64_t v) { return __builtin_popcountll(v); }

/* Monotonic nanoseconds (CLOCK_MONOTONIC). */
KPERF__PRIV uint64_t kperf__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}


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

// >>files -------------------------------------------------------------------------------

KPERF_API int kperf_file_open_data(const char *path, uint64_t max_size) {
    if (!path) return kperf__fail(EINVAL, "kperf_file_open_data: NULL path");
    if (!max_size) max_size = KPERF_FILE_MAX_DEFAULT;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return kperf__fail(e, "cannot open %s: %s", path, strerror(e));
    }
    struct stat st;
    int err = 0;
    if (fstat(fd, &st) < 0) err = errno;
    else if (!S_ISREG(st.st_mode)) err = EINVAL;
    else if ((uint64_t)st.st_size > max_size) err = EFBIG;
    else if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) err = errno;
    if (!err) return fd;
    close(fd);
    if (err == EINVAL)
        return kperf__fail(EINVAL, "%s is not a regular file (a FIFO, device or directory is "
                           "never read)", path);
    if (err == EFBIG)
        return kperf__fail(EFBIG, "%s is %lld bytes, more than the %llu-byte cap", path,
                           (long long)st.st_size, (unsigned long long)max_size);
    return kperf__fail(err, "cannot open %s: %s", path, strerror(err));
}

/* True when the entry @p st of @p path sits in a world-writable sticky directory and belongs
 * neither to us nor to the directory's owner: someone else planted it (the rule of the
 * kernel's fs.protected_symlinks and fs.protected_regular). */
KPERF__PRIV bool kperf__file_planted(const char *path, const struct stat *st) {
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    struct stat ds;
    if (stat(dir, &ds) < 0) return true; /* cannot tell: refuse */
    if (!(ds.st_mode & S_ISVTX) || !(ds.st_mode & S_IWOTH)) return false;
    if (S_ISREG(st->st_mode) && st->st_nlink > 1) return true; /* a hard link to elsewhere */
    return st->st_uid != geteuid() && st->st_uid != ds.st_uid;
}

KPERF_API int kperf_file_create(const char *path, unsigned mode) {
    if (!path || !*path) return kperf__fail(EINVAL, "kperf_file_create: no path");
    char resolved[PATH_MAX];
    for (int tries = 0; tries < 16; tries++) {
        struct stat st, fst;
        int fd;
        if (lstat(path, &st) < 0) {
            if (errno != ENOENT) break;
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);
            if (fd >= 0) return fd;
            if (errno == EEXIST) continue; /* created meanwhile: look again */
            break;
        }
        if (kperf__file_planted(path, &st))
            return kperf__fail(EPERM, "refusing to write %s: the %s there belongs to uid %u in "
                               "a world-writable sticky directory (remove it or choose another "
                               "name)", path, S_ISLNK(st.st_mode) ? "symlink" : "file",
                               (unsigned)st.st_uid);
        if (S_ISLNK(st.st_mode)) { /* ours or the directory owner's: follow it as asked */
            char target[PATH_MAX];
            if (!realpath(path, target)) {
                fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, (mode_t)mode); /* dangling */
                if (fd >= 0) return fd;
                break;
            }
            if (strcmp(target, path) == 0) break;
            memcpy(resolved, target, strlen(target) + 1);
            path = resolved;
            continue;
        }
        fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
            if (errno == ELOOP || errno == ENOENT) continue; /* replaced meanwhile */
            break;
        }
        if (fstat(fd, &fst) < 0 || fst.st_dev != st.st_dev || fst.st_ino != st.st_ino) {
            close(fd); /* replaced between lstat and open: look again */
            continue;
        }
        if (S_ISREG(fst.st_mode) && ftruncate(fd, 0) < 0) {
            int e = errno;
            close(fd);
            return kperf__fail(e, "cannot truncate %s: %s", path, strerror(e));
        }
        return fd;
    }
    int e = errno ? errno : ELOOP;
    return kperf__fail(e, "cannot create %s: %s", path, strerror(e));
}

/* stdio over kperf_file_open_data(): NULL with errno set and kperf_errmsg() filled. */
KPERF__PRIV FILE *kperf__fopen_data(const char *path, uint64_t max_size) {
    int fd = kperf_file_open_data(path, max_size);
    if (fd < 0) return errno = -fd, (FILE *)NULL;
    FILE *f = fdopen(fd, "r");
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
}

/* stdio over kperf_file_create() (mode 0666 less the umask). */
KPERF__PRIV FILE *kperf__fopen_out(const char *path) {
    int fd = kperf_file_create(path, 0666);
    if (fd < 0) return errno = -fd, (FILE *)NULL;
    FILE *f = fdopen(fd, "w");
    if (!f) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return f;
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

/* Reads the entry names of a directory (skipping dot entries; with @p dirs_only also plain
 * files) into a sorted array that kperf__names_free() releases. */
KPERF__PRIV int kperf__dir_names(const char *path, char ***out, size_t *n, bool dirs_only) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(path);
    if (!d) return -errno;
    char **v = NULL;
    size_t nv = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (dirs_only && e->d_type != DT_DIR && e->d_type != DT_UNKNOWN) continue;
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
        kperf__names_free(v, nv);
        return -ENOMEM;
    }
    if (nv > 1) qsort(v, nv, sizeof *v, kperf__strptr_cmp);
    *out = v;
    *n = nv;
    return 0;
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

/* Finds v in a sorted int array; NULL for an empty one (a memory-only NUMA node has an empty
 * cpulist, and bsearch must not be handed a NULL base). */
KPERF__PRIV const int *kperf__int_find(const int *a, size_t n, int v) {
    return n && a ? (const int *)bsearch(&v, a, n, sizeof v, kperf__int_cmp) : NULL;
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
            uint8_t lo = f->ranges[j].lo, hi = f->ranges[j].hi;
            f->ranges[j] = f->ranges[j - 1];
            f->ranges[j - 1].lo = lo;
            f->ranges[j - 1].hi = hi;
        }
    return 0;
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
    if (kperf__dir_names(kperf__path(path, sizeof path, "%s/format", dir), &names, &n, false) < 0)
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
    if (kperf__dir_names(kperf__path(path, sizeof path, "%s/events", dir), &names, &n, false) < 0)
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
    if ((rc = kperf__dir_names(devdir, &names, &n, false)) < 0)
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
                         &names, &n, false) < 0)
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
        if (kperf__int_find(t->node_cpus[i], t->node_ncpus[i], cpu))
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
    size_t pos = 0;
    kperf_topology *t = (kperf_topology *)kperf__calloc(1, sizeof *t);
    if (!t || !(t->root = kperf__strdup(root))) goto nomem;
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
    const int *p = kperf__int_find(t->cpus, t->ncpus, cpu);
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

/* The online CPUs of the machine under @p root. */
KPERF__PRIV int kperf__count_online(const char *root, int **out) {
    char path[4096], buf[4096];
    snprintf(path, sizeof path, "%s/sys/devices/system/cpu/online", root ? root : "");
    if (kperf__read_file(path, buf, sizeof buf) <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        snprintf(buf, sizeof buf, "0-%ld", n > 0 ? n - 1 : 0);
    }
    size_t n = 0;
    int rc = kperf_cpulist_parse(buf, out, &n);
    return rc < 0 ? rc : (int)n;
}

// >>tracepoint --------------------------------------------------------------------------
#ifndef KPERF_NO_TRACEPOINT

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




KPERF_API int kperf_tracefs_foreach_event(kperf_tracefs *tfs, kperf_tracefs_event_fn fn,
                                          void *user) {
    if (!tfs || !fn) return kperf__fail(EINVAL, "kperf_tracefs_foreach_event: NULL argument");
    char dir[PATH_MAX + 512];
    char **sys = NULL, **ev = NULL;
    size_t nsys = 0, nev = 0;
    snprintf(dir, sizeof dir, "%s/events", tfs->root);
    int rc = kperf__dir_names(dir, &sys, &nsys, true), visited = 0;
    if (rc < 0) return kperf__fail(-rc, "tracefs: cannot list %s: %s", dir, strerror(-rc));
    for (size_t i = 0; i < nsys && rc >= 0; i++) {
        snprintf(dir, sizeof dir, "%s/events/%s", tfs->root, sys[i]);
        if (kperf__dir_names(dir, &ev, &nev, true) < 0) continue;
        for (size_t j = 0; j < nev && rc >= 0; j++) {
            snprintf(dir, sizeof dir, "%s/events/%s/%s/format", tfs->root, sys[i], ev[j]);
            if (access(dir, F_OK) != 0) continue;
            visited++;
            rc = fn(sys[i], ev[j], user);
        }
        kperf__names_free(ev, nev);
    }
    kperf__names_free(sys, nsys);
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
            /* a dimension or product past 32 bits is no fixed array the size can describe */
            count = (*e || v < 0 || v > (long)UINT32_MAX || (v && count > (long)UINT32_MAX / v))
                        ? -1 : count * v;
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
        /* the element type follows the keyword ("__rel_loc" is 9 bytes, "__data_loc" 10) */
        f->elem_size = rl ? kperf__tp_type_size(strstr(t, "__rel_loc") + 9)
                          : kperf__tp_type_size(strstr(t, "__data_loc") + 10);
        f->count = 0;
    } else if (dims == 0 || (dims != -2 && f->size == 0)) {
        f->flags |= KPERF_TP_FIELD_FLEX;
        f->elem_size = kperf__tp_type_size(t);
        f->count = 0;
    } else if (dims != -2) {
        f->flags |= KPERF_TP_FIELD_ARRAY;
        if (dims > 0 && dims <= (long)UINT32_MAX && f->size % (uint32_t)dims == 0)
            f->elem_size = f->size / (uint32_t)dims;
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
#endif // KPERF_NO_TRACEPOINT

// >>events ------------------------------------------------------------------------------

#include <fnmatch.h> /* tracepoint globs; plain C, safe inside extern "C" */

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
KPERF__PRIV const char *kperf__tracefs_events_err(const char *root, char *buf, size_t size,
                                                  int *err) {
    static const char *const dirs[] = {"sys/kernel/tracing/events",
                                       "sys/kernel/debug/tracing/events"};
    const char *r = kperf__rp(root);
    *err = ENOENT;
    for (int i = 0; i < 2; i++) {
        struct stat st;
        kperf__path(buf, size, "%s/%s", r, dirs[i]);
        if (stat(buf, &st) == 0 && S_ISDIR(st.st_mode)) return buf;
        if (errno == EACCES || errno == EPERM) *err = errno; /* there, but not for us */
    }
    return NULL;
}

KPERF__PRIV const char *kperf__tracefs_events(const char *root, char *buf, size_t size) {
    int err;
    return kperf__tracefs_events_err(root, buf, size, &err);
}

/* ---- the parser ---------------------------------------------------------------------- */

typedef struct kperf__vars {    /* the events one spec item becomes (one per PMU) */
    kperf_event *v;
    size_t n;
    bool splice;                /* a tracepoint glob: inside braces, all join one group */
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

KPERF__PRIV void kperf__attrs_clear(kperf_event_attrs *a) {
    KPERF_FREE(a->alias);
    KPERF_FREE(a->key);
    KPERF_FREE(a->top_by);
    KPERF_FREE(a->top_add);
    KPERF_FREE(a->comm);
    KPERF_FREE(a->ptr);
    KPERF_FREE(a->size);
    KPERF_FREE(a->num);
    memset(a, 0, sizeof *a);
}

/* The string slots of an attribute set, in a fixed order (copy, check, clear). */
KPERF__PRIV char **kperf__attrs_slot(kperf_event_attrs *a, int i) {
    char **slots[8] = {&a->alias, &a->key, &a->top_by, &a->top_add,
                       &a->comm,  &a->ptr, &a->size,   &a->num};
    return i >= 0 && i < 8 ? slots[i] : NULL;
}

KPERF__PRIV int kperf__attrs_copy(kperf_event_attrs *dst, const kperf_event_attrs *src) {
    *dst = *src;
    int rc = 0;
    for (int i = 0; i < 8; i++) {
        char **d = kperf__attrs_slot(dst, i);
        if (*d && !(*d = kperf__strdup(*d))) rc = -ENOMEM;
    }
    return rc;
}

/* tracefs kprobes this process created (`kprobe:` without a kprobe PMU), each with the
 * number of parsed events that name it, copies included: when the last is cleared the probe
 * is taken out of kprobe_events again. A probe a perf event still uses stays (the kernel
 * refuses with EBUSY); one that existed before is never this process's to remove. */
typedef struct kperf__kprobe_made {
    uint64_t id;        /* its tracepoint id */
    unsigned refs;
    char *cmd;          /* "-:kperf/NAME\n" */
    char *path;         /* the kprobe_events file it was written to */
} kperf__kprobe_made;
static kperf__kprobe_made *kperf__kpm;
static size_t kperf__nkpm;
static char kperf__kpm_lock;

KPERF__PRIV void kperf__kpm_lock_(void) {
    while (__atomic_test_and_set(&kperf__kpm_lock, __ATOMIC_ACQUIRE)) sched_yield();
}
KPERF__PRIV void kperf__kpm_unlock_(void) { __atomic_clear(&kperf__kpm_lock, __ATOMIC_RELEASE); }

/* Adds @p delta references to the probe of tracepoint @p id when this process made it;
 * the last reference gone, removes it from kprobe_events. */
KPERF__PRIV void kperf__kpm_ref(uint64_t id, int delta) {
    if (!__atomic_load_n(&kperf__nkpm, __ATOMIC_ACQUIRE)) return;
    char *cmd = NULL, *path = NULL;
    kperf__kpm_lock_();
    for (size_t i = 0; i < kperf__nkpm; i++) {
        kperf__kprobe_made *m = &kperf__kpm[i];
        if (m->id != id) continue;
        m->refs = delta < 0 && m->refs < (unsigned)-delta ? 0 : m->refs + (unsigned)delta;
        if (!m->refs) {
            cmd = m->cmd, path = m->path;
            kperf__kpm[i] = kperf__kpm[--kperf__nkpm];
            if (!kperf__nkpm) KPERF_FREE(kperf__kpm), kperf__kpm = NULL;
        }
        break;
    }
    kperf__kpm_unlock_();
    if (cmd && path) {
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t w = write(fd, cmd, strlen(cmd));
            (void)w; /* EBUSY: still in use by a perf event; it stays */
            close(fd);
        }
    }
    KPERF_FREE(cmd);
    KPERF_FREE(path);
}

/* Records a probe this process just wrote to @p path (one reference). */
KPERF__PRIV int kperf__kpm_add(uint64_t id, const char *path, const char *name) {
    size_t n = strlen(name) + 16;
    char *cmd = (char *)KPERF_MALLOC(n), *p = kperf__strdup(path);
    if (cmd) snprintf(cmd, n, "-:kperf/%s\n", name);
    kperf__kpm_lock_();
    kperf__kprobe_made *v = cmd && p ? (kperf__kprobe_made *)KPERF_REALLOC(
                                           kperf__kpm, (kperf__nkpm + 1) * sizeof *v)
                                     : NULL;
    if (v) {
        kperf__kpm = v;
        v[kperf__nkpm].id = id, v[kperf__nkpm].refs = 1;
        v[kperf__nkpm].cmd = cmd, v[kperf__nkpm].path = p;
        __atomic_store_n(&kperf__nkpm, kperf__nkpm + 1, __ATOMIC_RELEASE);
    }
    kperf__kpm_unlock_();
    if (!v) {
        KPERF_FREE(cmd);
        KPERF_FREE(p);
        return -ENOMEM;
    }
    return 0;
}

/* True when this process made the probe of tracepoint @p id (and adds a reference). */
KPERF__PRIV bool kperf__kpm_take(uint64_t id) {
    bool found = false;
    kperf__kpm_lock_();
    for (size_t i = 0; i < kperf__nkpm && !found; i++)
        if (kperf__kpm[i].id == id) kperf__kpm[i].refs++, found = true;
    kperf__kpm_unlock_();
    return found;
}

KPERF__PRIV void kperf__event_clear(kperf_event *e) {
    if (e->type == PERF_TYPE_TRACEPOINT) kperf__kpm_ref(e->config[0], -1);
    kperf__attrs_clear(&e->attrs);
    KPERF_FREE(e->probe_path);
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
    if (dst->type == PERF_TYPE_TRACEPOINT) kperf__kpm_ref(dst->config[0], 1);
    dst->spec = src->spec ? kperf__strdup(src->spec) : NULL;
    dst->name = src->name ? kperf__strdup(src->name) : NULL;
    dst->pmu = src->pmu ? kperf__strdup(src->pmu) : NULL;
    dst->filter = src->filter ? kperf__strdup(src->filter) : NULL;
    dst->probe_path = src->probe_path ? kperf__strdup(src->probe_path) : NULL;
    if (dst->probe_path && src->config[1] == (uint64_t)(uintptr_t)src->probe_path)
        dst->config[1] = (uint64_t)(uintptr_t)dst->probe_path;
    int arc = kperf__attrs_copy(&dst->attrs, &src->attrs);
    dst->cpus = NULL;
    if (src->ncpus) {
        int *c = (int *)kperf__calloc(src->ncpus, sizeof(int));
        if (c) memcpy(c, src->cpus, src->ncpus * sizeof(int));
        dst->cpus = c;
    }
    if ((src->spec && !dst->spec) || (src->name && !dst->name) || (src->pmu && !dst->pmu) ||
        (src->filter && !dst->filter) || (src->ncpus && !dst->cpus) || arc < 0 ||
        (src->probe_path && !dst->probe_path)) {
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

/* perf's own terms: config/config1..3 set a whole word, period/freq a sampling rate.
 * Returns 1 when @p k was one of them. */
KPERF__PRIV int kperf__term_keyword(kperf_event *e, const char *k, uint64_t num) {
    if (!strncmp(k, "config", 6) && (!k[6] || (k[6] >= '1' && k[6] <= '3' && !k[7]))) {
        e->config[k[6] ? k[6] - '0' : 0] = num;
        return 1;
    }
    if (!strcmp(k, "period") || !strcmp(k, "freq")) {
        e->period = num;
        if (k[0] == 'f') e->flags |= KPERF_EV_FREQ;
        else e->flags &= ~(uint32_t)KPERF_EV_FREQ;
        return 1;
    }
    return 0;
}

/* A bare term that is not a format field: an alias of the PMU, or a generic hardware
 * name on a core PMU (`cpu_core/cycles/`); else -KPERF_ENOEVENT with suggestions. */
KPERF__PRIV int kperf__term_bare(kperf__parser *P, kperf_event *e, const kperf_pmu *pmu,
                                 const char *k) {
    const kperf_pmu_alias *a = kperf_pmu_alias_find(pmu, k);
    if (a) return kperf__apply_alias(P, e, pmu, a);
    uint32_t type;
    uint64_t config;
    if (pmu->is_core && kperf__generic_lookup(k, &type, &config) && type != PERF_TYPE_SOFTWARE) {
        e->type = type;
        e->config[0] = config;
        if (kperf_pmus_hybrid(P->pmus)) e->config[0] |= (uint64_t)pmu->type << PERF_PMU_TYPE_SHIFT;
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

/* `key=value` where key is neither a keyword nor a format field of the PMU. */
KPERF__PRIV int kperf__term_unknown(kperf__parser *P, const kperf_pmu *pmu, const char *k,
                                    size_t at) {
    static const char *const perf_keywords[] = {
        "time", "call-graph", "stack-size", "max-stack", "nr", "inherit", "no-inherit",
        "overwrite", "no-overwrite", "driver-config", "percore", "aux-output",
        "aux-sample-size", "metric-id", "branch_type"};
    char msg[512], list[200] = "";
    for (size_t i = 0; i < sizeof perf_keywords / sizeof perf_keywords[0]; i++)
        if (!strcmp(k, perf_keywords[i])) {
            snprintf(msg, sizeof msg,
                     "perf term '%s' is not supported by kperf (supported: config, config1, "
                     "config2, config3, name, period, freq and the PMU's format fields)", k);
            return kperf__parse_error(P, at, msg);
        }
    size_t ll = 0;
    for (size_t i = 0; i < pmu->nformats && ll + 40 < sizeof list; i++)
        ll += (size_t)snprintf(list + ll, sizeof list - ll, "%s%s", i ? ", " : "",
                               pmu->formats[i].name);
    snprintf(msg, sizeof msg, "'%s' is not a format field of %s (fields: %s)", k, pmu->name,
             pmu->nformats ? list : "none");
    return kperf__parse_error(P, at, msg);
}

/* One `key[=value]` term inside pmu/.../ (or of a sysfs alias) applied to @p e; @p at is
 * the key's offset in the spec, for messages. */
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
    if (kperf__term_keyword(e, k, num)) return 0;
    if (kperf_pmu_format_find(pmu, k)) {
        int rc = kperf_pmu_encode(pmu, k, num, e->config);
        if (rc < 0 && !from_alias) {
            kperf__strlcpy(msg, kperf_errmsg(), sizeof msg);
            return kperf__parse_error(P, has_val ? at + klen + 1 : at, msg);
        }
        return rc;
    }
    if (from_alias)
        return kperf__fail(KPERF_EPARSE, "%s: a sysfs alias uses '%s', which is not a format "
                                         "field of the PMU (the alias cannot be encoded)",
                           pmu->name, k);
    if (!has_val) return kperf__term_bare(P, e, pmu, k);
    return kperf__term_unknown(P, pmu, k, at);
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

/* Drops PMUs whose cpumask reads -1 (no online CPU) unless all are such; returns the
 * new count (0 when every PMU is offline, m[0] then names one). */
KPERF__PRIV size_t kperf__drop_offline(const kperf_pmu **m, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (!m[i]->cpumask_invalid) m[w++] = m[i];
    return w;
}

KPERF__PRIV int kperf__pmu_offline(const kperf_pmu *pmu) {
    return kperf__fail(KPERF_ENOTSUP, "%s: the PMU has no online CPU (its cpumask reads -1); "
                                      "bring a CPU of its socket/SCCL online",
                       pmu->name);
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
    nm = kperf__drop_offline(m, nm);
    if (!nm) return kperf__pmu_offline(m[0]);
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

/* The optional `/filter/` after a tracepoint (P->pos on the '/'); quotes may hold '/'. */
KPERF__PRIV int kperf__parse_filter(kperf__parser *P, char **filter) {
    *filter = NULL;
    if (P->s[P->pos] != '/') return 0;
    size_t f0 = ++P->pos;
    bool quoted = false;
    while (P->s[P->pos] && (quoted || P->s[P->pos] != '/')) {
        if (P->s[P->pos] == '"') quoted = !quoted;
        else if (P->s[P->pos] == '\\' && P->s[P->pos + 1]) P->pos++;
        P->pos++;
    }
    if (P->s[P->pos] != '/')
        return kperf__parse_error(P, P->pos, "expected '/' closing the tracepoint filter");
    if (P->pos > f0 && !(*filter = kperf__strndup(P->s + f0, P->pos - f0))) return -ENOMEM;
    P->pos++;
    return 0;
}

KPERF__PRIV int kperf__slurp(const char *path, char **out, size_t *len); /* >>tracepoint */

/* ---- perf-prof attributes: `/filter/ATTR/ATTR/.../` ---- */

static const struct kperf__attr_name {
    const char *name;
    uint32_t bit;
    int slot;                   /* kperf__attrs_slot index; -1: no string value */
} kperf__attr_names[] = {
    {"stack", KPERF_EA_STACK, -1},     {"max-stack", KPERF_EA_MAX_STACK, -1},
    {"alias", KPERF_EA_ALIAS, 0},      {"key", KPERF_EA_KEY, 1},
    {"top-by", KPERF_EA_TOP_BY, 2},    {"top-add", KPERF_EA_TOP_ADD, 3},
    {"comm", KPERF_EA_COMM, 4},        {"ptr", KPERF_EA_PTR, 5},
    {"size", KPERF_EA_SIZE, 6},        {"num", KPERF_EA_NUM, 7},
    {"untraced", KPERF_EA_UNTRACED, -1},
};
#define KPERF__NATTR (sizeof kperf__attr_names / sizeof kperf__attr_names[0])

/* One ATTR (P->pos on its first character, ending at the next '/'). */
KPERF__PRIV int kperf__parse_attr(kperf__parser *P, kperf_event_attrs *a) {
    size_t a0 = P->pos, eq = 0;
    while (P->s[P->pos] && P->s[P->pos] != '/') {
        if (P->s[P->pos] == '=' && !eq) eq = P->pos;
        P->pos++;
    }
    if (P->s[P->pos] != '/')
        return kperf__parse_error(P, P->pos, "expected '/' closing the attribute");
    size_t nlen = (eq ? eq : P->pos) - a0;
    const char *val = eq ? P->s + eq + 1 : NULL;
    size_t vlen = eq ? P->pos - eq - 1 : 0;
    const struct kperf__attr_name *an = NULL;
    for (size_t i = 0; i < KPERF__NATTR; i++)
        if (strlen(kperf__attr_names[i].name) == nlen &&
            !strncmp(kperf__attr_names[i].name, P->s + a0, nlen))
            an = &kperf__attr_names[i];
    if (!an)
        return kperf__parse_error(P, a0, "unknown attribute (known: stack max-stack=N "
                                  "alias= key= top-by= top-add= comm= ptr= size= num= "
                                  "untraced)");
    bool want_val = an->slot >= 0 || an->bit == KPERF_EA_MAX_STACK;
    if (want_val && (!val || !vlen))
        return kperf__parse_error(P, a0, "this attribute needs a value (NAME=VALUE)");
    if (!want_val && val) return kperf__parse_error(P, eq, "this attribute takes no value");
    P->pos++;
    a->set |= an->bit;
    if (an->bit == KPERF_EA_MAX_STACK) {
        uint64_t n;
        if (!kperf__parse_u64(val, vlen, &n) || n < 1 || n > 1023)
            return kperf__parse_error(P, (size_t)(val - P->s), "max-stack wants 1..1023");
        a->max_stack = (uint16_t)n;
        return 0;
    }
    if (an->slot < 0) return 0;
    char **slot = kperf__attrs_slot(a, an->slot);
    size_t old = *slot ? strlen(*slot) + 1 : 0; /* repeated: joined by ',' */
    char *nv = (char *)KPERF_REALLOC(*slot, old + vlen + 1);
    if (!nv) return -ENOMEM;
    if (old) nv[old - 1] = ',';
    memcpy(nv + old, val, vlen);
    nv[old + vlen] = 0;
    *slot = nv;
    return 0;
}

/* Every ATTR after a filter (P->pos just after the filter's closing '/'). */
KPERF__PRIV int kperf__parse_attrs(kperf__parser *P, kperf_event_attrs *a) {
    int rc = 0;
    while (rc == 0 && P->pos > 0 && P->s[P->pos - 1] == '/' && P->s[P->pos] &&
           !strchr(",}: \t", P->s[P->pos]))
        rc = kperf__parse_attr(P, a);
    return rc;
}

/* Checks every FIELD of @p a against the format of `ev/sys/name` and copies @p a into @p e. */
KPERF__PRIV int kperf__attrs_apply(kperf_event *e, const char *ev, const kperf_event_attrs *a) {
    kperf_event_attrs *ea = &e->attrs;
    if (kperf__attrs_copy(ea, a) < 0) return -ENOMEM;
    bool any = false;
    for (int i = 0; i < 8; i++) any = any || *kperf__attrs_slot(ea, i);
    if (!any || !ev || !e->name) return 0;
    char path[PATH_MAX], sys[256];
    const char *colon = strchr(e->name, ':');
    if (!colon || (size_t)(colon - e->name) >= sizeof sys) return 0;
    memcpy(sys, e->name, (size_t)(colon - e->name));
    sys[colon - e->name] = 0;
    kperf__path(path, sizeof path, "%s/%s/%s/format", ev, sys, colon + 1);
    char *text = NULL;
    size_t len = 0;
    kperf_tp_format *f = NULL;
#ifdef KPERF_NO_TRACEPOINT
    (void)text, (void)len, (void)f;
    return kperf__fail(KPERF_ENOTSUP, "%s: event attributes need the tracepoint formats, "
                       "which are compiled out (KPERF_NO_TRACEPOINT)", e->name);
#else
    if (kperf__slurp(path, &text, &len) < 0 || kperf_tp_format_parse(&f, text, len) < 0) {
        KPERF_FREE(text);
        return kperf__fail(KPERF_ENOEVENT, "%s: cannot read its format (%s) to check the "
                           "fields named by its attributes", e->name, path);
    }
    KPERF_FREE(text);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < KPERF__NATTR; k++) {
        const struct kperf__attr_name *an = &kperf__attr_names[k];
        if (an->slot < 1) continue; /* alias is a name, not a field */
        const char *v = *kperf__attrs_slot(ea, an->slot);
        while (rc == 0 && v && *v) {
            size_t l = strcspn(v, ",");
            char fname[128];
            snprintf(fname, sizeof fname, "%.*s", (int)(l < 127 ? l : 127), v);
            if (!kperf_tp_format_field(f, fname)) {
                char list[1024] = "";
                size_t n = 0;
                for (size_t j = f->ncommon; j < f->nfields && n + 1 < sizeof list; j++)
                    n += (size_t)snprintf(list + n, sizeof list - n, " %s", f->fields[j].name);
                rc = kperf__fail(KPERF_EPARSE, "%s: %s=%s: the event has no field '%s' "
                                 "(fields:%s)", e->name, an->name, fname, fname, list);
            }
            v += l + (v[l] == ',');
        }
    }
    kperf_tp_format_free(f);
    return rc;
#endif
}

KPERF_API int kperf_event_attrs_check(const kperf_evlist *list, uint32_t allowed,
                                      const char *who) {
    if (!list) return 0;
    for (size_t i = 0; i < list->nevents; i++) {
        uint32_t bad = list->events[i].attrs.set & ~allowed;
        if (!bad) continue;
        char uses[256] = "";
        size_t n = 0;
        const char *bname = "?";
        for (size_t k = 0; k < KPERF__NATTR; k++) {
            const struct kperf__attr_name *an = &kperf__attr_names[k];
            bool val = an->slot >= 0 || an->bit == KPERF_EA_MAX_STACK;
            if (bad & an->bit && !strcmp(bname, "?")) bname = an->name;
            if (allowed & an->bit && n < sizeof uses)
                n += (size_t)snprintf(uses + n, sizeof uses - n, " %s%s", an->name,
                                      val ? "=" : "");
        }
        return kperf__fail(KPERF_EPARSE, "%s: attribute '%s' is not used by %s (it uses:%s)",
                           list->events[i].name, bname, who ? who : "this command",
                           n ? uses : " none");
    }
    return 0;
}

/* Unknown tracepoint: suggestions from the same system, or from systems of similar name. */
KPERF__PRIV int kperf__unknown_tracepoint(const char *ev, const char *sys, const char *name) {
    char path[PATH_MAX], want[256], full[256], text[600];
    char **systems = NULL, **names = NULL;
    size_t nsys = 0, n = 0;
    kperf__suggest s;
    snprintf(want, sizeof want, "%s:%s", sys, name);
    kperf__suggest_init(&s, want);
    s.limit = s.limit < 3 ? 3 : s.limit;
    kperf__dir_names(ev, &systems, &nsys, false);
    for (size_t i = 0; i < nsys; i++) {
        if (strcmp(systems[i], sys) && kperf__edit_distance(systems[i], sys) > 2) continue;
        kperf__dir_names(kperf__path(path, sizeof path, "%s/%s", ev, systems[i]), &names, &n, false);
        for (size_t j = 0; j < n; j++) {
            snprintf(full, sizeof full, "%s:%s", systems[i], names[j]);
            kperf__suggest_add(full, &s);
        }
        kperf__names_free(names, n);
    }
    kperf__names_free(systems, nsys);
    kperf__suggest_text(&s, text, sizeof text);
    return kperf__fail(KPERF_ENOEVENT, "%s: unknown tracepoint (no %s/%s/%s/id)%s", want, ev, sys,
                       name, text);
}

/* Reads the id of one tracepoint: 0, -ENOENT (no such tracepoint) or -EACCES/-EPERM. */
KPERF__PRIV int kperf__tracepoint_id(const char *ev, const char *sys, const char *name,
                                     uint64_t *id) {
    char path[PATH_MAX], buf[32];
    kperf__path(path, sizeof path, "%s/%s/%s/id", ev, sys, name);
    int rc = kperf__read_file(path, buf, sizeof buf);
    if (rc == -EACCES || rc == -EPERM) return rc;
    if (rc <= 0 || !kperf__parse_u64(buf, strlen(buf), id)) return -ENOENT;
    return 0;
}

KPERF__PRIV int kperf__tracepoint_push(kperf__vars *v, const char *sys, const char *name,
                                       uint64_t id, const char *filter) {
    char nm[512];
    kperf_event *e = kperf__vars_push(v);
    if (!e) return -ENOMEM;
    e->type = PERF_TYPE_TRACEPOINT;
    e->config[0] = id;
    snprintf(nm, sizeof nm, "%s:%s", sys, name);
    if (filter && !(e->filter = kperf__strdup(filter))) return -ENOMEM;
    if (!(e->name = kperf__strdup(nm))) return -ENOMEM;
    return (e->pmu = kperf__strdup("tracepoint")) ? 0 : -ENOMEM;
}

/* `sys:name` with glob characters (* ? [) in either part: every match, sorted. */
KPERF__PRIV int kperf__tracepoint_glob(kperf__vars *v, const char *ev, const char *sys,
                                       const char *name, const char *filter) {
    char path[PATH_MAX];
    char **systems = NULL, **names = NULL;
    size_t nsys = 0, n = 0;
    int rc = 0;
    kperf__dir_names(ev, &systems, &nsys, false);
    for (size_t i = 0; i < nsys && rc >= 0; i++) {
        if (fnmatch(sys, systems[i], 0) != 0) continue;
        if (kperf__dir_names(kperf__path(path, sizeof path, "%s/%s", ev, systems[i]), &names,
                             &n, false) < 0)
            continue;
        for (size_t j = 0; j < n && rc >= 0; j++) {
            uint64_t id;
            if (fnmatch(name, names[j], 0) != 0) continue;
            if (kperf__tracepoint_id(ev, systems[i], names[j], &id) == 0)
                rc = kperf__tracepoint_push(v, systems[i], names[j], id, filter);
        }
        kperf__names_free(names, n);
    }
    kperf__names_free(systems, nsys);
    if (rc < 0) return rc;
    if (!v->n) return kperf__fail(KPERF_ENOEVENT, "%s:%s: no tracepoint matches (under %s)", sys,
                                  name, ev);
    return 0;
}

/* `sys:name[/filter/]`: P->pos is just after the name. */
KPERF__PRIV int kperf__parse_tracepoint(kperf__parser *P, kperf__vars *v, const char *sys,
                                        const char *name) {
    char dir[PATH_MAX];
    char *filter = NULL;
    uint64_t id;
    kperf_event_attrs attrs;
    memset(&attrs, 0, sizeof attrs);
    size_t n0 = v->n;
    int rc = kperf__parse_filter(P, &filter);
    if (rc == 0) rc = kperf__parse_attrs(P, &attrs);
    if (rc < 0) return KPERF_FREE(filter), kperf__attrs_clear(&attrs), rc;
    const char *root = kperf__rp(kperf_pmus_root(P->pmus));
    int terr;
    const char *ev = kperf__tracefs_events_err(kperf_pmus_root(P->pmus), dir, sizeof dir, &terr);
    if (!ev && terr != ENOENT)
        rc = kperf__fail(terr, "%s:%s: permission denied reading tracefs (%s/sys/kernel/tracing): "
                         "tracepoints need root, or a tracefs mount this user may read",
                         sys, name, root);
    else if (!ev)
        rc = kperf__fail(KPERF_ENOTRACEFS,
                         "%s:%s: tracefs is not mounted (looked in %s/sys/kernel/tracing and "
                         "%s/sys/kernel/debug/tracing); mount it with `mount -t tracefs nodev "
                         "/sys/kernel/tracing`",
                         sys, name, root, root);
    else if (strpbrk(sys, "*?[") || strpbrk(name, "*?["))
        rc = kperf__tracepoint_glob(v, ev, sys, name, filter);
    else if ((rc = kperf__tracepoint_id(ev, sys, name, &id)) == -EACCES || rc == -EPERM)
        rc = kperf__fail(-rc, "%s:%s: cannot read %s/%s/%s/id: %s (tracefs needs root; run as "
                              "root or make the tracefs mount readable)",
                         sys, name, ev, sys, name, strerror(-rc));
    else if (rc < 0)
        rc = kperf__unknown_tracepoint(ev, sys, name);
    else
        rc = kperf__tracepoint_push(v, sys, name, id, filter);
    for (size_t i = n0; rc >= 0 && i < v->n; i++) rc = kperf__attrs_apply(&v->v[i], ev, &attrs);
    KPERF_FREE(filter);
    kperf__attrs_clear(&attrs);
    v->splice = true;
    return rc;
}

/* ---- dynamic probes: uprobe:, uretprobe:, kprobe:, kretprobe: ---- */

static kperf_probe_resolve_fn kperf__probe_resolver;
static void *kperf__probe_resolver_user;

KPERF_API void kperf_probe_resolver_set(kperf_probe_resolve_fn fn, void *user) {
    kperf__probe_resolver = fn;
    kperf__probe_resolver_user = user;
}

/* `func`, `func+0xOFF` or `0xOFF` of a uprobe into a file offset. */
KPERF__PRIV int kperf__uprobe_offset(const char *spec, const char *file, const char *func,
                                     uint64_t *off) {
    char name[256];
    uint64_t add = 0;
    const char *plus = strchr(func, '+');
    size_t nl = plus ? (size_t)(plus - func) : strlen(func);
    if (nl >= sizeof name) return kperf__fail(KPERF_EPARSE, "%s: function name too long", spec);
    memcpy(name, func, nl);
    name[nl] = 0;
    if (plus && !kperf__parse_u64(plus + 1, strlen(plus + 1), &add))
        return kperf__fail(KPERF_EPARSE, "%s: bad offset '%s' (write func+0xOFF)", spec, plus + 1);
    if (kperf__parse_u64(name, nl, off)) return (*off += add), 0;
    if (!kperf__probe_resolver)
        return kperf__fail(KPERF_ENOTSUP, "%s: no symbol resolver to find '%s' in %s: "
                           "call kperf_probe_resolver_set(kperf_probe_resolve_elf, NULL) "
                           "from kperf_symbols.h, or write the file offset (0xOFF@file)",
                           spec, name, file);
    int rc = kperf__probe_resolver(file, name, off, kperf__probe_resolver_user);
    if (rc < 0) return rc;
    *off += add;
    return 0;
}

/* ---- USDT: .note.stapsdt (type 3, owner "stapsdt"); desc = pc, base, semaphore (3 x 8
 * bytes in a 64-bit file), then "provider\0name\0arguments\0" ---- */

typedef struct kperf__usdt_src {
    const uint8_t *mem;     /* the image, or NULL to read fd */
    uint64_t size;
    int fd;
} kperf__usdt_src;

/* Reads @p len bytes at @p off; false when they are not all inside the source. */
KPERF__PRIV bool kperf__usdt_read(const kperf__usdt_src *src, uint64_t off, void *buf, size_t len) {
    if (off > src->size || len > src->size - off) return false;
    if (src->mem) return memcpy(buf, src->mem + off, len), true;
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(src->fd, (char *)buf + got, len - got, (off_t)(off + got));
        if (r <= 0) return false;
        got += (size_t)r;
    }
    return true;
}

/* The file offset of @p addr from the program headers: the PT_LOAD that holds it in file
 * bytes; false when none does, or when that offset lies past the end of the file. */
KPERF__PRIV bool kperf__usdt_file_off(const kperf__usdt_src *src, uint64_t phoff, uint32_t phnum,
                                      uint64_t addr, uint64_t *off) {
    for (uint32_t i = 0; i < phnum; i++) {
        uint8_t ph[56];
        if (!kperf__usdt_read(src, phoff + (uint64_t)i * 56, ph, sizeof ph)) return false;
        uint32_t type;
        uint64_t poff, vaddr, filesz;
        memcpy(&type, ph, 4);
        memcpy(&poff, ph + 8, 8);
        memcpy(&vaddr, ph + 16, 8);
        memcpy(&filesz, ph + 32, 8);
        if (type != 1 /* PT_LOAD */ || addr < vaddr || addr - vaddr >= filesz) continue;
        if (poff > src->size || addr - vaddr >= src->size - poff) return false; /* past the end */
        *off = addr - vaddr + poff;
        return true;
    }
    return false;
}

KPERF__PRIV int kperf__usdt_walk(const kperf__usdt_src *src, kperf_usdt_fn fn, void *user) {
    uint8_t eh[64];
    static const uint8_t magic[4] = {0x7f, 'E', 'L', 'F'};
    const uint16_t one = 1;
    uint8_t data = *(const uint8_t *)&one ? 1 : 2; /* ELFDATA2LSB / MSB */
    if (!kperf__usdt_read(src, 0, eh, sizeof eh) || memcmp(eh, magic, 4) || eh[4] != 2 ||
        eh[5] != data)
        return kperf__fail(KPERF_EPARSE, "not a 64-bit ELF file of this machine's byte order");
    uint64_t phoff, shoff;
    uint16_t phentsize, phnum, shentsize, shnum, shstrndx;
    memcpy(&phoff, eh + 32, 8);
    memcpy(&shoff, eh + 40, 8);
    memcpy(&phentsize, eh + 54, 2);
    memcpy(&phnum, eh + 56, 2);
    memcpy(&shentsize, eh + 58, 2);
    memcpy(&shnum, eh + 60, 2);
    memcpy(&shstrndx, eh + 62, 2);
    if (!shoff || !shnum) return 0; /* no section headers: no notes to find */
    if (shentsize != 64 || (phnum && phentsize != 56) || shstrndx >= shnum)
        return kperf__fail(KPERF_EPARSE, "ELF header: unexpected header sizes");
    uint8_t sh[64];
    uint64_t stroff, strsize;
    if (!kperf__usdt_read(src, shoff + (uint64_t)shstrndx * 64, sh, sizeof sh))
        return kperf__fail(KPERF_EPARSE, "ELF section headers lie outside the file");
    memcpy(&stroff, sh + 24, 8);
    memcpy(&strsize, sh + 32, 8);
    if (strsize > (1u << 24)) return kperf__fail(KPERF_EPARSE, "ELF section names too large");
    char *names = (char *)KPERF_MALLOC(strsize + 1);
    if (!names) return -ENOMEM;
    if (!kperf__usdt_read(src, stroff, names, strsize)) strsize = 0;
    names[strsize] = 0;
    uint64_t note_off = 0, note_size = 0, base = 0;
    bool have_note = false, have_base = false;
    for (uint16_t i = 0; i < shnum; i++) {
        uint32_t nm, type;
        uint64_t addr, off, size;
        if (!kperf__usdt_read(src, shoff + (uint64_t)i * 64, sh, sizeof sh)) break;
        memcpy(&nm, sh, 4);
        memcpy(&type, sh + 4, 4);
        memcpy(&addr, sh + 16, 8);
        memcpy(&off, sh + 24, 8);
        memcpy(&size, sh + 32, 8);
        if (nm >= strsize) continue;
        if (!strcmp(names + nm, ".note.stapsdt") && type == 7 /* SHT_NOTE */)
            note_off = off, note_size = size, have_note = true;
        else if (!strcmp(names + nm, ".stapsdt.base"))
            base = addr, have_base = true;
    }
    KPERF_FREE(names);
    if (!have_note) return 0;
    if (note_size > (1u << 26)) return kperf__fail(KPERF_EPARSE, ".note.stapsdt too large");
    uint8_t *notes = (uint8_t *)KPERF_MALLOC(note_size ? note_size : 1);
    if (!notes) return -ENOMEM;
    if (!kperf__usdt_read(src, note_off, notes, note_size)) {
        KPERF_FREE(notes);
        return kperf__fail(KPERF_EPARSE, ".note.stapsdt lies outside the file");
    }
    int count = 0, rc = 0;
    for (uint64_t p = 0; p + 12 <= note_size && rc >= 0;) {
        uint32_t namesz, descsz, type;
        memcpy(&namesz, notes + p, 4);
        memcpy(&descsz, notes + p + 4, 4);
        memcpy(&type, notes + p + 8, 4);
        uint64_t name_at = p + 12, desc_at = name_at + (((uint64_t)namesz + 3) & ~(uint64_t)3);
        uint64_t next = desc_at + (((uint64_t)descsz + 3) & ~(uint64_t)3);
        if (next > note_size || desc_at + descsz > note_size) break;
        p = next;
        if (type != 3 || namesz != 8 || memcmp(notes + name_at, "stapsdt", 8) || descsz < 24 + 2)
            continue;
        const uint8_t *d = notes + desc_at;
        uint64_t note_base;
        kperf_usdt_note n;
        memset(&n, 0, sizeof n);
        memcpy(&n.pc, d, 8);
        memcpy(&note_base, d + 8, 8);
        memcpy(&n.semaphore, d + 16, 8);
        const char *prov = (const char *)d + 24, *end = (const char *)d + descsz;
        const char *pz = (const char *)memchr(prov, 0, (size_t)(end - prov));
        if (!pz || pz + 1 >= end) continue;
        const char *nz = (const char *)memchr(pz + 1, 0, (size_t)(end - pz - 1));
        if (!nz || (size_t)(pz - prov) >= sizeof n.provider || (size_t)(nz - pz - 1) >= sizeof n.name)
            continue;
        memcpy(n.provider, prov, (size_t)(pz - prov));
        memcpy(n.name, pz + 1, (size_t)(nz - pz - 1));
        if (have_base && note_base) { /* prelinked: everything moved by the same amount */
            n.pc += base - note_base;
            if (n.semaphore) n.semaphore += base - note_base;
        }
        if (!kperf__usdt_file_off(src, phoff, phnum, n.pc, &n.offset)) continue;
        if (n.semaphore && !kperf__usdt_file_off(src, phoff, phnum, n.semaphore, &n.sem_offset))
            continue;
        count++;
        if (fn && (rc = fn(&n, user)) < 0) break;
    }
    KPERF_FREE(notes);
    return rc < 0 ? rc : count;
}

KPERF_API int kperf_usdt_notes(const void *elf, size_t size, kperf_usdt_fn fn, void *user) {
    if (!elf) return kperf__fail(EINVAL, "kperf_usdt_notes: NULL image");
    kperf__usdt_src src = {(const uint8_t *)elf, size, -1};
    return kperf__usdt_walk(&src, fn, user);
}

KPERF_API int kperf_usdt_notes_file(const char *path, kperf_usdt_fn fn, void *user) {
    int fd = kperf_file_open_data(path, 0);
    if (fd < 0) return fd;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return kperf__fail(e, "%s: %s", path, strerror(e));
    }
    kperf__usdt_src src = {NULL, (uint64_t)st.st_size, fd};
    int rc = kperf__usdt_walk(&src, fn, user);
    close(fd);
    if (rc == -KPERF_EPARSE) {
        char m[128];
        snprintf(m, sizeof m, "%.120s", kperf_errmsg());
        kperf__fail(KPERF_EPARSE, "%s: %s", path, m);
    }
    return rc;
}

/* Creates (or finds) the tracefs kprobe `kperf/NAME` for FUNC; its id, or an error. */
KPERF__PRIV int kperf__kprobe_tracefs(const char *ev, const char *spec, const char *func,
                                      bool ret, char *name, size_t nsize, uint64_t *id) {
    size_t n = (size_t)snprintf(name, nsize, "%s%s", func, ret ? "__return" : "");
    for (size_t i = 0; i < n && i < nsize; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_') name[i] = '_';
    if (kperf__tracepoint_id(ev, "kperf", name, id) == 0) { /* made before: reused */
        kperf__kpm_take(*id);
        return 0;
    }
    char path[PATH_MAX], line[600];
    snprintf(path, sizeof path, "%.*s/kprobe_events", (int)(strlen(ev) - 7), ev); /* "/events" */
    int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return kperf__fail(errno, "%s: this kernel has no kprobe PMU, and %s cannot be opened: "
                           "%s", spec, path, strerror(errno));
    int len = snprintf(line, sizeof line, "%c:kperf/%s %s\n", ret ? 'r' : 'p', name, func);
    ssize_t w = write(fd, line, (size_t)len);
    int err = errno;
    close(fd);
    if (w != len)
        return kperf__fail(err == ENOENT || err == EINVAL ? KPERF_ENOEVENT : err,
                           "%s: the kernel refused the kprobe on '%s' (%s): no such kernel "
                           "function, or it cannot be probed (see available_filter_functions)",
                           spec, func, strerror(err));
    if (kperf__tracepoint_id(ev, "kperf", name, id) < 0)
        return kperf__fail(KPERF_ENOEVENT, "%s: kprobe created but kperf:%s has no id", spec,
                           name);
    if (kperf__kpm_add(*id, path, name) < 0) { /* cannot track it: take it out again */
        snprintf(line, sizeof line, "-:kperf/%s\n", name);
        if ((fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) >= 0) {
            w = write(fd, line, strlen(line));
            close(fd);
        }
        return kperf__fail(ENOMEM, "out of memory");
    }
    return 0;
}

/* The probe target after `uprobe:` (P->pos there): `func[+OFF]@"file"` or `func@file`. */
KPERF__PRIV int kperf__parse_probe_target(kperf__parser *P, bool user, char *func, size_t fsize,
                                          char *file, size_t psize) {
    size_t f0 = P->pos;
    while (kperf__isname(P->s[P->pos]) || P->s[P->pos] == '+' || P->s[P->pos] == '$')
        P->pos++;
    if (P->pos == f0) return kperf__parse_error(P, P->pos, "expected a function name");
    if (P->pos - f0 >= fsize) return kperf__parse_error(P, f0, "function name too long");
    memcpy(func, P->s + f0, P->pos - f0);
    func[P->pos - f0] = 0;
    file[0] = 0;
    if (!user) return 0;
    if (P->s[P->pos] != '@')
        return kperf__parse_error(P, P->pos, "expected '@' and the file: func@\"file\"");
    size_t p0 = ++P->pos;
    if (P->s[p0] == '"') {
        const char *q = strchr(P->s + p0 + 1, '"');
        if (!q) return kperf__parse_error(P, p0, "expected '\"' closing the file name");
        P->pos = (size_t)(q - P->s) + 1;
        p0++;
    } else {
        while (P->s[P->pos] && !strchr(", \t{}", P->s[P->pos])) P->pos++;
    }
    size_t plen = P->pos - p0 - (P->s[p0 - 1] == '"' ? 1 : 0);
    if (!plen) return kperf__parse_error(P, p0, "expected the file name");
    if (plen >= psize) return kperf__parse_error(P, p0, "file name too long");
    memcpy(file, P->s + p0, plen);
    file[plen] = 0;
    return 0;
}

/* `uprobe:func@"file"`, `uretprobe:...`, `kprobe:func`, `kretprobe:func`, each with an
 * optional `/filter/ATTR/.../` (P->pos just after the colon). */
KPERF__PRIV int kperf__parse_probe(kperf__parser *P, kperf__vars *v, const char *kind) {
    bool user = kind[0] == 'u', ret = strstr(kind, "ret") != NULL;
    char func[256], file[PATH_MAX], spec[PATH_MAX + 300];
    int rc = kperf__parse_probe_target(P, user, func, sizeof func, file, sizeof file);
    if (rc < 0) return rc;
    snprintf(spec, sizeof spec, user ? "%s:%s@\"%s\"" : "%s:%s", kind, func, file);
    char *filter = NULL;
    kperf_event_attrs attrs;
    memset(&attrs, 0, sizeof attrs);
    if ((rc = kperf__parse_filter(P, &filter)) == 0) rc = kperf__parse_attrs(P, &attrs);
    const kperf_pmu *pmu = kperf_pmus_find(P->pmus, user ? "uprobe" : "kprobe");
    char dir[PATH_MAX];
    const char *ev = NULL;
    if (rc == 0 && !pmu && user)
        rc = kperf__fail(KPERF_ENOPMU, "%s: this kernel has no uprobe PMU "
                         "(/sys/bus/event_source/devices/uprobe)", spec);
    if (rc == 0 && !pmu && !(ev = kperf__tracefs_events(kperf_pmus_root(P->pmus), dir, sizeof dir)))
        rc = kperf__fail(KPERF_ENOTRACEFS, "%s: no kprobe PMU and no tracefs to create the "
                         "kprobe in (mount -t tracefs nodev /sys/kernel/tracing)", spec);
    if (rc == 0 && pmu && filter)
        rc = kperf__fail(KPERF_EPARSE, "%s: a filter needs fields; probes opened through the "
                         "%s PMU have none", spec, pmu->name);
    if (rc == 0 && pmu && (attrs.set & ~(KPERF_EA_STACK | KPERF_EA_MAX_STACK | KPERF_EA_ALIAS |
                                         KPERF_EA_UNTRACED)))
        rc = kperf__fail(KPERF_EPARSE, "%s: a field attribute (key=, ptr=, ...) needs fields; "
                         "probes opened through the %s PMU have none", spec, pmu->name);
    if (rc == 0 && pmu) {
        struct stat st;
        uint64_t off = 0;
        if (user && (stat(file, &st) < 0 || !S_ISREG(st.st_mode)))
            rc = kperf__fail(ENOENT, "%s: %s is not a regular file", spec, file);
        else if (user)
            rc = kperf__uprobe_offset(spec, file, func, &off);
        kperf_event *e = rc == 0 ? kperf__vars_push(v) : NULL;
        if (rc == 0 && !e) rc = -ENOMEM;
        if (e) {
            e->type = pmu->type;
            if (!user) e->flags |= KPERF_EV_MODE_SET; /* kernel-only: see below */
            if (ret) rc = kperf_pmu_encode(pmu, "retprobe", 1, e->config);
            e->probe_path = kperf__strdup(user ? file : func);
            e->config[1] = (uint64_t)(uintptr_t)e->probe_path;
            e->config[2] = off;
            e->name = kperf__strdup(attrs.alias ? attrs.alias : spec);
            e->pmu = kperf__strdup(pmu->name);
            if (!e->probe_path || !e->name || !e->pmu) rc = -ENOMEM;
            if (rc == 0) rc = kperf__attrs_apply(e, NULL, &attrs);
        }
    } else if (rc == 0) {
        char name[300];
        uint64_t id = 0;
        size_t before = v->n;
        rc = kperf__kprobe_tracefs(ev, spec, func, ret, name, sizeof name, &id);
        if (rc == 0) rc = kperf__tracepoint_push(v, "kperf", name, id, filter);
        if (rc < 0 && v->n == before && id) kperf__kpm_ref(id, -1); /* no event holds it */
        /* A kprobe fires in the kernel only: excluding the kernel, the counter's default
         * without include_kernel, would count nothing (found on arm64, where kprobes exist).
         * Its mode is set: user and kernel, unless a modifier says otherwise. */
        if (v->n > before) v->v[v->n - 1].flags |= KPERF_EV_MODE_SET;
        if (rc == 0) rc = kperf__attrs_apply(&v->v[v->n - 1], ev, &attrs);
    }
    KPERF_FREE(filter);
    kperf__attrs_clear(&attrs);
    return rc;
}

/* `usdt:provider:name@"file"[/filter/ATTR/...]`: a uprobe at each site of the probe, with
 * its semaphore counted by the kernel (ref_ctr_offset). */
typedef struct kperf__usdt_find {
    const char *provider, *name;
    kperf_usdt_note found[16];
    size_t n, total;
    char list[512];         /* the probes there, for the message when none matches */
    size_t len;
} kperf__usdt_find;

KPERF__PRIV int kperf__usdt_match(const kperf_usdt_note *n, void *user) {
    kperf__usdt_find *f = (kperf__usdt_find *)user;
    f->total++;
    if (!strcmp(n->provider, f->provider) && !strcmp(n->name, f->name)) {
        if (f->n < sizeof f->found / sizeof f->found[0]) f->found[f->n] = *n;
        f->n++;
    } else if (f->len + strlen(n->provider) + strlen(n->name) + 6 < sizeof f->list &&
               !strstr(f->list, n->name)) {
        f->len += (size_t)snprintf(f->list + f->len, sizeof f->list - f->len, " %s:%s",
                                   n->provider, n->name);
    }
    return 0;
}

KPERF__PRIV int kperf__parse_usdt(kperf__parser *P, kperf__vars *v) {
    char prov[128], name[128], file[PATH_MAX], spec[PATH_MAX + 300];
    size_t a = P->pos;
    while (kperf__isname(P->s[P->pos])) P->pos++;
    if (P->pos == a || P->pos - a >= sizeof prov || P->s[P->pos] != ':')
        return kperf__parse_error(P, a, "expected usdt:provider:name@\"file\"");
    memcpy(prov, P->s + a, P->pos - a);
    prov[P->pos - a] = 0;
    P->pos++;
    int rc = kperf__parse_probe_target(P, true, name, sizeof name, file, sizeof file);
    if (rc < 0) return rc;
    snprintf(spec, sizeof spec, "usdt:%s:%s@\"%s\"", prov, name, file);
    char *filter = NULL;
    kperf_event_attrs attrs;
    memset(&attrs, 0, sizeof attrs);
    if ((rc = kperf__parse_filter(P, &filter)) == 0) rc = kperf__parse_attrs(P, &attrs);
    const kperf_pmu *pmu = kperf_pmus_find(P->pmus, "uprobe");
    kperf__usdt_find *f = rc == 0 ? (kperf__usdt_find *)kperf__calloc(1, sizeof *f) : NULL;
    if (rc == 0 && !f) rc = -ENOMEM;
    if (rc == 0 && !pmu)
        rc = kperf__fail(KPERF_ENOPMU, "%s: this kernel has no uprobe PMU "
                         "(/sys/bus/event_source/devices/uprobe)", spec);
    if (rc == 0 && filter)
        rc = kperf__fail(KPERF_EPARSE, "%s: a filter needs fields; USDT probes have none", spec);
    if (rc == 0 && (attrs.set & ~(KPERF_EA_STACK | KPERF_EA_MAX_STACK | KPERF_EA_ALIAS |
                                  KPERF_EA_UNTRACED)))
        rc = kperf__fail(KPERF_EPARSE, "%s: a field attribute (key=, ptr=, ...) needs fields; "
                         "USDT probes have none", spec);
    if (rc == 0) {
        f->provider = prov, f->name = name;
        int k = kperf_usdt_notes_file(file, kperf__usdt_match, f);
        char m[PATH_MAX + 256];
        snprintf(m, sizeof m, "%.*s", (int)sizeof m - 1, kperf_errmsg());
        if (k < 0) rc = kperf__fail(-k, "%s: %s", spec, m);
        else if (!f->n && !f->total)
            rc = kperf__fail(KPERF_ENOEVENT, "%s: %s has no USDT probes (.note.stapsdt)", spec, file);
        else if (!f->n)
            rc = kperf__fail(KPERF_ENOEVENT, "%s: no probe %s:%s in %s (it has:%s)", spec, prov,
                             name, file, f->list);
        else if (f->n > sizeof f->found / sizeof f->found[0])
            rc = kperf__fail(KPERF_ELIMIT, "%s: %zu sites; at most %zu", spec, f->n,
                             sizeof f->found / sizeof f->found[0]);
    }
    for (size_t i = 0; rc == 0 && i < f->n; i++) { /* one uprobe per site (inlined copies) */
        const kperf_usdt_note *n = &f->found[i];
        kperf_event *e = kperf__vars_push(v);
        if (!e) { rc = -ENOMEM; break; }
        e->type = pmu->type;
        if (n->sem_offset && (rc = kperf_pmu_encode(pmu, "ref_ctr_offset", n->sem_offset,
                                                   e->config)) < 0) {
            rc = kperf__fail(KPERF_ENOTSUP, "%s: the probe has a semaphore and this kernel's "
                             "uprobe PMU has no ref_ctr_offset (Linux 4.20+)", spec);
            break;
        }
        e->probe_path = kperf__strdup(file);
        e->config[1] = (uint64_t)(uintptr_t)e->probe_path;
        e->config[2] = n->offset;
        e->name = kperf__strdup(attrs.alias ? attrs.alias : spec);
        e->pmu = kperf__strdup(pmu->name);
        if (!e->probe_path || !e->name || !e->pmu) rc = -ENOMEM;
        if (rc == 0) rc = kperf__attrs_apply(e, NULL, &attrs);
    }
    KPERF_FREE(f);
    KPERF_FREE(filter);
    kperf__attrs_clear(&attrs);
    return rc;
}

/* `mem:ADDR[/LEN][:rwx]` hardware breakpoint (P->pos just after "mem:"). The default
 * access is rw with length 4, or x with the length of a pointer, as perf does. */
KPERF__PRIV int kperf__parse_breakpoint(kperf__parser *P, kperf__vars *v) {
    size_t a0 = P->pos;
    while (isxdigit((unsigned char)P->s[P->pos]) || P->s[P->pos] == 'x' || P->s[P->pos] == 'X')
        P->pos++;
    uint64_t addr, len = 0;
    if (!kperf__parse_u64(P->s + a0, P->pos - a0, &addr))
        return kperf__parse_error(P, a0, "expected a breakpoint address (0x hex or decimal)");
    if (P->s[P->pos] == '/') {
        size_t l0 = ++P->pos;
        while (isalnum((unsigned char)P->s[P->pos])) P->pos++;
        if (!kperf__parse_u64(P->s + l0, P->pos - l0, &len) ||
            (len != 1 && len != 2 && len != 4 && len != 8))
            return kperf__parse_error(P, l0, "breakpoint length must be 1, 2, 4 or 8");
    }
    uint32_t type = 0;
    if (P->s[P->pos] == ':' && strchr("rwx", P->s[P->pos + 1]) && P->s[P->pos + 1]) {
        P->pos++;
        for (; P->s[P->pos] && strchr("rwx", P->s[P->pos]); P->pos++)
            type |= P->s[P->pos] == 'r' ? 1u : P->s[P->pos] == 'w' ? 2u : 4u;
        if ((type & 4) && (type & 3))
            return kperf__parse_error(P, P->pos - 1, "an execute breakpoint cannot also be r/w");
    }
    if (!type) type = 3;
    if (!len) len = type == 4 ? sizeof(long) : 4;
    kperf_event *e = kperf__vars_push(v);
    if (!e) return -ENOMEM;
    e->type = PERF_TYPE_BREAKPOINT;
    e->bp_type = type;
    e->config[1] = addr;
    e->config[2] = len;
    e->period = 1; /* the kernel wants a sample period for breakpoints */
    return (e->pmu = kperf__strdup("breakpoint")) ? 0 : -ENOMEM;
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
    const kperf_pmu *offline = NULL;
    for (size_t i = 0; P->pmus && i < P->pmus->n; i++) {
        const kperf_pmu *pmu = &P->pmus->pmus[i];
        const kperf_pmu_alias *a = kperf_pmu_alias_find(pmu, word);
        if (!a) continue;
        if (pmu->cpumask_invalid) {
            offline = pmu;
            continue;
        }
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
    if (!v->n && offline) return kperf__pmu_offline(offline);
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
        *flags |= KPERF_EV_MODE_SET;
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

/* Sets spec, display name and modifiers of every event of one item. @p mods_at is the
 * offset of the modifier text (0 = none), appended to names kperf built ("pmu/x/:u"). */
KPERF__PRIV int kperf__event_finish(kperf__parser *P, kperf__vars *v, size_t start, size_t mods_at,
                                    uint32_t flags, uint8_t precise) {
    size_t end = P->pos;
    for (size_t i = 0; i < v->n; i++) {
        kperf_event *e = &v->v[i];
        e->flags |= flags;
        if (precise > e->precise) e->precise = precise;
        if (!(e->spec = kperf__strndup(P->s + start, end - start))) return -ENOMEM;
        if (!e->name) {
            if (!(e->name = kperf__strdup(e->spec))) return -ENOMEM;
        } else if (mods_at) {
            size_t nl = strlen(e->name), cl = end - mods_at;
            char *nn = (char *)KPERF_REALLOC(e->name, nl + cl + 2);
            if (!nn) return -ENOMEM;
            e->name = nn;
            if (P->s[mods_at] != ':') nn[nl++] = ':';
            memcpy(nn + nl, P->s + mods_at, cl);
            nn[nl + cl] = 0;
        }
    }
    return 0;
}

/* Length of a tracepoint name part (name characters plus glob characters). */
KPERF__PRIV size_t kperf__tp_span(const char *s) {
    size_t n = 0;
    while (kperf__isname(s[n]) || s[n] == '*' || s[n] == '?') n++;
    return n;
}

/* `word:...` : modifiers of a named event, or a tracepoint `sys:name`. */
KPERF__PRIV int kperf__parse_colon(kperf__parser *P, kperf__vars *v, const char *word,
                                   size_t *mods_at, uint32_t *flags, uint8_t *precise) {
    char word2[256];
    size_t w0 = P->pos + 1, w1 = w0 + kperf__tp_span(P->s + w0);
    uint32_t gt;
    uint64_t gc;
    if (!strcmp(word, "uprobe") || !strcmp(word, "uretprobe") || !strcmp(word, "kprobe") ||
        !strcmp(word, "kretprobe")) {
        P->pos = w0;
        return kperf__parse_probe(P, v, word);
    }
    if (!strcmp(word, "usdt")) {
        P->pos = w0;
        return kperf__parse_usdt(P, v);
    }
    if (!strpbrk(word, "*?") &&
        (kperf__all_mods(P->s + w0, w1 - w0) || kperf__generic_lookup(word, &gt, &gc))) {
        *mods_at = P->pos;
        P->pos = w0;
        int rc = kperf__parse_mods(P, flags, precise);
        return rc < 0 ? rc : kperf__parse_named(P, v, word);
    }
    if (!strcmp(word, "mem") && isdigit((unsigned char)P->s[w0])) {
        P->pos = w0;
        return kperf__parse_breakpoint(P, v);
    }
    if (w1 == w0) return kperf__parse_error(P, w0, "expected a tracepoint or modifier");
    if (w1 - w0 >= sizeof word2) return kperf__parse_error(P, w0, "name too long");
    memcpy(word2, P->s + w0, w1 - w0);
    word2[w1 - w0] = 0;
    P->pos = w1;
    return kperf__parse_tracepoint(P, v, word, word2);
}

/* One event (not a group) at P->pos into @p v. */
KPERF__PRIV int kperf__parse_event(kperf__parser *P, kperf__vars *v) {
    char word[256];
    kperf__skip_ws(P);
    size_t start = P->pos, wlen = kperf__tp_span(P->s + start);
    if (!wlen) return kperf__parse_error(P, P->pos, "expected an event name");
    if (wlen >= sizeof word) return kperf__parse_error(P, start, "event name too long");
    memcpy(word, P->s + start, wlen);
    word[wlen] = 0;
    P->pos += wlen;
    if (strpbrk(word, "*?") && P->s[P->pos] != ':')
        return kperf__parse_error(P, start + strcspn(word, "*?"),
                                  "glob characters are allowed in tracepoint names only");
    int rc;
    uint32_t flags = 0;
    uint8_t precise = 0;
    size_t mods_at = 0;
    if (P->s[P->pos] == '/') {
        rc = kperf__parse_pmu_event(P, v, word);
        /* perf also takes modifiers right after the closing slash: cpu/.../pp */
        size_t m = P->pos;
        while (kperf__isname(P->s[m])) m++;
        if (rc >= 0 && m > P->pos && kperf__all_mods(P->s + P->pos, m - P->pos)) {
            mods_at = P->pos;
            rc = kperf__parse_mods(P, &flags, &precise);
        }
    } else if (P->s[P->pos] == ':') {
        rc = kperf__parse_colon(P, v, word, &mods_at, &flags, &precise);
    } else {
        rc = kperf__parse_named(P, v, word);
    }
    if (rc < 0) return rc;
    if (!mods_at && P->s[P->pos] == ':') {
        mods_at = P->pos++;
        if ((rc = kperf__parse_mods(P, &flags, &precise)) < 0) return rc;
    }
    return kperf__event_finish(P, v, start, mods_at, flags, precise);
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
 * copied into each). Inside braces a tracepoint glob's matches all join the group. */
KPERF__PRIV int kperf__emit_group(kperf__parser *P, kperf__vars *items, size_t nitems,
                                  size_t at, bool braced) {
    size_t width = 1;
    for (size_t i = 0; i < nitems; i++)
        if (items[i].n > 1 && !(braced && items[i].splice)) {
            if (width > 1 && items[i].n != width)
                return kperf__parse_error(P, at, "events of this group expand to different "
                                                 "numbers of PMUs; group them per PMU");
            width = items[i].n;
        }
    for (size_t k = 0; k < width; k++) {
        int group = P->out->ngroups++;
        bool first = true;
        for (size_t i = 0; i < nitems; i++) {
            bool all = braced && items[i].splice;
            size_t from = all || items[i].n == 1 ? 0 : k;
            size_t to = all ? items[i].n : from + 1;
            for (size_t j = from; j < to; j++) {
                kperf_event tmp, *src = &items[i].v[j];
                bool copy = (all || items[i].n == 1) && k + 1 < width;
                if (copy && kperf__event_copy(&tmp, src) < 0) return -ENOMEM;
                int rc = kperf__emit(P, copy ? &tmp : src, group, first);
                if (rc < 0) {
                    if (copy) kperf__event_clear(&tmp);
                    return rc;
                }
                first = false;
            }
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
        if (rc >= 0) rc = kperf__emit_group(P, items, 1, at, false);
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
    if (rc >= 0) rc = kperf__emit_group(P, items, n, at, true);
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
    if (ev->type == PERF_TYPE_BREAKPOINT) attr->bp_type = ev->bp_type;
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
            const kperf_pmu_alias *a = &p->aliases[j];
            char desc[600];
            snprintf(name, sizeof name, "%s/%s/", p->name, a->name);
            if (a->scale != 1.0 || a->unit[0])
                snprintf(desc, sizeof desc, "%.500s, scale %g%s%s", a->terms, a->scale,
                         a->unit[0] ? " " : "", a->unit);
            else
                kperf__strlcpy(desc, a->terms, sizeof desc);
            int rc = kperf__list_emit(c, name, p->name, k, desc);
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
    if (!ev || kperf__dir_names(ev, &sys, &nsys, false) < 0) return 0;
    for (size_t i = 0; i < nsys && rc >= 0; i++) {
        if (kperf__dir_names(kperf__path(path, sizeof path, "%s/%s", ev, sys[i]), &evs, &nev, false) < 0)
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
    if ((err == ENOENT || err == EINVAL) && ev && !strcmp(pmu, "kprobe"))
        return kperf__fail(KPERF_ENOEVENT,
                           "%s: the kernel refused the kprobe on '%s' (%s): no such kernel "
                           "function, or it cannot be probed (see available_filter_functions)",
                           name, ev->probe_path ? ev->probe_path : "?", strerror(err));
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

// >>counting ----------------------------------------------------------------------------

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
    bool explicit_mode = ev->flags & (KPERF_EV_MODE_SET | KPERF_EV_EXCLUDE_USER |
                                      KPERF_EV_EXCLUDE_KERNEL);
    if (!explicit_mode && !uncore) {
        a->exclude_kernel = !d->include_kernel;
        a->exclude_hv = !d->include_hv;
        a->exclude_user = d->no_user;
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
    kperf__targets own = {0, 0, 0};
    const kperf__targets *use = tg;
    if (lead->cpus && lead->ncpus && !uncore && ncpus && !ngc) goto done; /* hybrid: none */
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
    bool split;
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
    split = d->per_thread && !d->ncpus && !d->all_cpus;
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
    uint64_t *raw, *ena, *run;  /* last read per fd, since the reset */
    uint64_t *base;             /* raw, ena, run (3 x nfds) at the last reset */
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
    KPERF_FREE(c->base);
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
    c->base = (uint64_t *)kperf__calloc(3 * n, sizeof *c->base);
    c->exited = (kperf__exited *)kperf__calloc(n, sizeof *c->exited);
    c->rings = (void **)kperf__calloc(n, sizeof *c->rings);
    c->counts = (kperf_count *)kperf__calloc(ne, sizeof *c->counts);
    c->caprows = n;
    c->rows = (kperf_count_row *)kperf__calloc(n, sizeof *c->rows);
    c->prev = (double *)kperf__calloc(n + ne, sizeof *c->prev);
    if (!c->fds || !c->ids || !c->gstart || !c->raw || !c->ena || !c->run || !c->base ||
        !c->exited ||
        !c->rings || !c->counts || !c->rows || !c->prev)
        return kperf__fail(ENOMEM, "out of memory for %zu counter fds", n);
    for (size_t i = 0; i < n; i++) c->fds[i] = -1;
    return 0;
}

/* The error of a group with more events than the PMU has counters for them. */
static int kperf__group_full(const kperf_event *ev, size_t counters) {
    return kperf__fail(KPERF_ELIMIT,
                       "%s: the group does not fit on PMU %s: it has %zu counters for this "
                       "group's events, the group asks for more; split the group, or list the "
                       "events without braces (the kernel then multiplexes them)",
                       ev->name, ev->pmu ? ev->pmu : "?", counters);
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
        if (err == EINVAL && group_fd >= 0) {
            /* a member the kernel takes alone but not in this group: the group needs more
             * counters than the PMU has (arm64 and x86 validate groups at open) */
            long alone = kperf__sys_perf_event_open(&p->attrs[i], e->pid, e->cpu, -1,
                                                    PERF_FLAG_FD_CLOEXEC);
            if (alone >= 0) {
                close((int)alone);
                size_t fit = 0;
                for (size_t j = (size_t)e->leader; j < i; j++)
                    fit += p->attrs[j].type == p->attrs[i].type;
                return kperf__group_full(ev, fit);
            }
        }
        int rc = kperf__open_error(err, ev, &p->attrs[i], who, e->cpu, p->pmus);
        if (rc == -KPERF_ELIMIT) {
            size_t len = strlen(kperf__errbuf);
            snprintf(kperf__errbuf + len, sizeof kperf__errbuf - len,
                     "; this counter needs %zu fds", c->nfds);
        }
        return rc;
    }
    c->fds[i] = (int)fd;
    const kperf_event *fev = &p->evl->events[p->evidx[i]];
#if defined(__aarch64__)
    /* arm_pmu validates a group without its leader while the leader is disabled: a group
     * one event larger than the counters opens and is never scheduled. A copy of the
     * leader opened as one more member is validated: if it does not fit, neither does the
     * leader (members 1..k fit and k + 1 do not: the PMU has k counters for them). */
    if (group_fd >= 0 && p->attrs[e->leader].disabled && kperf__event_is_hw(fev, p->pmus)) {
        struct perf_event_attr probe = p->attrs[i]; /* a member, with the leader's event */
        const struct perf_event_attr *la = &p->attrs[e->leader];
        probe.type = la->type, probe.config = la->config;
        probe.config1 = la->config1, probe.config2 = la->config2;
        long pfd = kperf__sys_perf_event_open(&probe, e->pid, e->cpu, group_fd,
                                              PERF_FLAG_FD_CLOEXEC);
        if (pfd >= 0) close((int)pfd);
        else if (errno == EINVAL) return kperf__group_full(fev, i - (size_t)e->leader);
    }
#endif
    if (fev->filter) { /* counted in the kernel after the filter, as perf stat does */
#ifndef KPERF_NO_TRACEPOINT
        int frc = kperf_tp_filter_set((int)fd, fev->name, fev->filter);
        if (frc < 0) return frc;
#else
        return kperf__fail(KPERF_ENOTSUP, "%s: tracepoint filters are compiled out "
                                          "(KPERF_NO_TRACEPOINT)", fev->name);
#endif
    }
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
    size_t maxg = 1;
    int rc = kperf__counter_plan(&c->plan, desc, user_access);
    if (rc < 0) goto fail;
    c->nfds = c->plan->pub.nentries;
    c->per_thread = desc->per_thread;
    if ((rc = kperf__counter_alloc(c)) < 0) goto fail;
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
        const uint64_t *b = c->base; /* since the last reset */
        c->raw[k] = c->buf[3 + 2 * j] - b[k], c->ena[k] = c->buf[1] - b[c->nfds + k];
        c->run[k] = c->buf[2] - b[2 * c->nfds + k];
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

/* A reset is a baseline taken with one read() per group: PERF_EVENT_IOC_RESET keeps what
 * exited inherited children left in their parent (child_count) and never resets the
 * enabled/running times, so scaling after it would be wrong. */
KPERF_API int kperf_counter_reset(kperf_counter *c) {
    if (!c) return kperf__fail(EINVAL, "kperf_counter_reset: counter is NULL");
    int rc = 0;
    memset(c->base, 0, 3 * c->nfds * sizeof *c->base);
    for (size_t g = 0; rc == 0 && g < c->ngroups; g++) {
        rc = kperf__counter_read_group(c, g);
        if (rc == 0 && c->per_thread) rc = kperf__counter_drain(c, g); /* exits before now */
    }
    if (rc < 0) return rc;
    memcpy(c->base, c->raw, c->nfds * sizeof *c->base);
    memcpy(c->base + c->nfds, c->ena, c->nfds * sizeof *c->base);
    memcpy(c->base + 2 * c->nfds, c->run, c->nfds * sizeof *c->base);
    /* row slots, then the per-event slots at caprows */
    memset(c->prev, 0, (c->caprows + c->plan->evl->nevents) * sizeof *c->prev);
    memset(c->exited, 0, c->nfds * sizeof *c->exited);
    c->nrows = c->nfds;
    return 0;
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
            fprintf(f, "%18s %-4s %-28s not counted\n", "<not counted>", "", k->name);
            continue;
        }
        char val[64];
        const char *unit = k->unit && k->unit[0] ? k->unit : "";
        if (!strncmp(k->name, "task-clock", 10) || !strncmp(k->name, "cpu-clock", 9)) unit = "ns";
        snprintf(val, sizeof val, iterations > 1 ? "%.2f" : "%.0f", k->v.value / div);
        fprintf(f, "%18s %-4s %-28s", val, unit, k->name);
        if (k->v.accuracy == KPERF_COUNT_SCALED) fprintf(f, " scaled (%.2f%%)\n", k->v.percent);
        else fprintf(f, " exact\n");
    }
    if (iterations > 1) fprintf(f, "%18s  (per iteration, %llu iterations)\n", "",
                                (unsigned long long)iterations);
}
// <<counting

// >>region ------------------------------------------------------------------------------
#ifndef KPERF_NO_REGION

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
        uint64_t delta = pc->time_offset +
                         kperf__perf_time_scale(cyc, pc->time_mult, pc->time_shift,
                                                pc->cap_user_time_short, pc->time_cycles,
                                                pc->time_mask);
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
    r->bracket_ns = (double)(kperf__now_ns() - t0) / (double)ROUNDS;
    kperf_counts n;
    if (rc == 0) rc = kperf_region_read(r, &n);
    for (size_t i = 0; rc == 0 && i < r->n; i++) r->overhead[i] = n.events[i].v.value / (double)ROUNDS;
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
#if defined(__aarch64__)
    /* arm64 sets cap_user_rdpmc for every event that asked (config1 rdpmc) but gives it
     * index 0, forever, while the sysctl forbids user access */
    char ua[8];
    if (kperf__read_file("/proc/sys/kernel/perf_user_access", ua, sizeof ua) > 0 && ua[0] == '0')
        r->rdpmc = false;
#endif
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
    {
        uint64_t *w = r->s_raw;
        r->s_ena = w + r->n, r->s_run = w + 2 * r->n, r->e_raw = w + 3 * r->n;
    r->e_ena = w + 4 * r->n, r->e_run = w + 5 * r->n, r->a_raw = w + 6 * r->n;
        r->a_ena = w + 7 * r->n, r->a_run = w + 8 * r->n;
    }
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
#endif // KPERF_NO_REGION

// >>ringbuf -----------------------------------------------------------------------------
#ifndef KPERF_NO_SAMPLING
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
#endif // KPERF_NO_SAMPLING

// >>sampling ----------------------------------------------------------------------------
#ifndef KPERF_NO_SAMPLING
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
    char **filters;      /* tracepoint filter per event, or NULL */
    uint32_t *evflags;   /* kperf_event_flags per event */
    uint64_t *evperiod;  /* period/freq term per event, 0 = unset */
    kperf_topology *topo; /* for rows, opened on first use */
    kperf_evlist *evlist; /* the parsed events, index = event */
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

static int kperf__sampling_online(int **cpus, size_t *n) {
    char buf[4096];
    if (kperf__read_file("/sys/devices/system/cpu/online", buf, sizeof buf) < 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        snprintf(buf, sizeof buf, "0-%ld", c > 0 ? c - 1 : 0);
    }
    return kperf_cpulist_parse(buf, cpus, n);
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

/* Events come from the shared parser; every parsed event gets its own fds (groups do not
 * matter for sampling). Modifiers written on an event (:u, :k) win over the desc. */
static int kperf__sampling_events(kperf_sampler *s, const char *spec) {
    kperf_evlist *list = NULL;
    int err = kperf_evlist_parse(&list, spec, NULL);
    if (err < 0) return err;
    s->filters = (char **)kperf__calloc(list->nevents, sizeof *s->filters);
    s->evflags = (uint32_t *)kperf__calloc(list->nevents, sizeof *s->evflags);
    s->evperiod = (uint64_t *)kperf__calloc(list->nevents, sizeof *s->evperiod);
    if (!s->filters || !s->evflags || !s->evperiod) err = kperf__fail(ENOMEM, "out of memory");
    for (size_t i = 0; !err && i < list->nevents; i++) {
        const kperf_event *ev = &list->events[i];
        struct perf_event_attr a;
        kperf__event_attr(ev, &a);
        s->evflags[s->nev] = ev->flags;
        s->evperiod[s->nev] = ev->period;
        if (ev->filter && !(s->filters[s->nev] = kperf__strdup(ev->filter)))
            err = kperf__fail(ENOMEM, "out of memory");
        if (!err && kperf__sampling_add_event(s, &a, ev->name) < 0)
            err = kperf__fail(ENOMEM, "out of memory");
    }
    s->evlist = list; /* kept: open errors name the parsed event and its PMU */
    if (!err && !s->nev) err = kperf__fail(KPERF_EPARSE, "empty event spec '%s'", spec);
    return err;
}

/* Fills the sampling-specific attr fields from the resolved desc. */
static void kperf__sampling_attr(const kperf_sampler *s, size_t i) {
    const kperf_sampler_desc *d = &s->d;
    struct perf_event_attr *a = &s->attrs[i];
    bool first = i == 0;
    uint32_t mods = s->evflags[i] & (KPERF_EV_MODE_SET | KPERF_EV_EXCLUDE_USER |
                                     KPERF_EV_EXCLUDE_KERNEL);
    a->size = sizeof *a;
    a->sample_type = s->layout.sample_type;
    if (a->type == PERF_TYPE_TRACEPOINT) a->sample_type |= PERF_SAMPLE_RAW;
    a->freq = 0;
    if (s->evperiod[i]) {
        a->freq = !!(s->evflags[i] & KPERF_EV_FREQ);
        a->sample_period = s->evperiod[i];
    } else if (d->period) {
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
    /* a tracepoint fires in the kernel: excluding the kernel would drop every hit that is
     * not at a user-mode boundary (sys_enter), so only its kernel call chain is excluded */
    bool tp = a->type == PERF_TYPE_TRACEPOINT;
    a->exclude_kernel = mods ? !!(mods & KPERF_EV_EXCLUDE_KERNEL) : !d->include_kernel && !tp;
    a->exclude_user = mods ? !!(mods & KPERF_EV_EXCLUDE_USER) : d->no_user;
    a->exclude_hv = 1;
    a->exclude_callchain_kernel = a->exclude_kernel || !d->include_kernel;
    a->exclude_callchain_user = d->dwarf_callchain; /* the stack copy gives them */
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
        a->mmap_data = d->dwarf_callchain; /* perf's unwinder reads .eh_frame_hdr through them */
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
            return kperf__open_error(err, &s->evlist->events[e], &s->attrs[e], pid, cpu, NULL);
        }
        if (s->filters[e]) { /* one implementation: it adds the kernel's reason */
#ifndef KPERF_NO_TRACEPOINT
            int frc = kperf_tp_filter_set(fd, s->names[e], s->filters[e]);
            if (frc < 0) return close(fd), frc;
#else
            return close(fd), kperf__fail(KPERF_ENOTSUP, "%s: tracepoint filters are compiled "
                                                         "out (KPERF_NO_TRACEPOINT)", s->names[e]);
#endif
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
    bool want_cpus = d->ncpus || d->all_cpus || d->npids || d->ntids || d->inherit;
    if (d->ncpus) {
        cpus = (int *)kperf__calloc(d->ncpus, sizeof *cpus);
        if (!cpus) return kperf__fail(ENOMEM, "out of memory");
        memcpy(cpus, d->cpus, d->ncpus * sizeof *cpus);
        ncpu = d->ncpus;
    } else if (want_cpus && kperf__sampling_online(&cpus, &ncpu) < 0) {
        return kperf__fail(ENOMEM, "out of memory");
    }
    if (d->npids || d->ntids) {
        for (size_t i = 0; !err && i < d->npids; i++)
            err = kperf__sampling_open_pid(s, d->pids[i], cpus, ncpu);
        for (size_t i = 0; !err && i < d->ntids; i++) { /* one thread, on every CPU */
            pid_t tgid = d->tids[i] > 0 ? kperf__tgid(d->tids[i]) : -1;
            if (tgid < 0) {
                err = kperf__fail(KPERF_ENOTARGET, "cannot sample tid %d: no such thread",
                                  (int)d->tids[i]);
                break;
            }
            kperf__comm_from_proc(s, tgid, d->tids[i]);
            for (size_t c = 0; !err && c < ncpu; c++)
                err = kperf__sampling_open_one(s, d->tids[i], cpus[c], false);
        }
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
    if (!d->ring_pages) d->ring_pages = d->dwarf_callchain ? 512 : 128; /* 8 KiB samples */
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
    if (d->dwarf_callchain) {
        st |= PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
#if defined(__x86_64__)
        if (!d->regs_user_mask) d->regs_user_mask = 0xff01ffull; /* = KPERF_UNWIND_REGS */
#elif defined(__aarch64__)
        if (!d->regs_user_mask) d->regs_user_mask = 0x1ffffffffull;
#endif
    }
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
    d->tids = NULL;
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
        for (size_t i = 0; i < s->nev; i++) kperf__sampling_attr(s, i);
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
    for (size_t i = 0; i < s->nev; i++) {
        KPERF_FREE(s->names[i]);
        if (s->filters) KPERF_FREE(s->filters[i]);
    }
    KPERF_FREE(s->filters);
    KPERF_FREE(s->evflags);
    KPERF_FREE(s->evperiod);
    if (s->epfd >= 0) close(s->epfd);
    KPERF_FREE(s->names);
    KPERF_FREE(s->attrs);
    KPERF_FREE(s->fds);
    KPERF_FREE(s->rings);
    KPERF_FREE(s->heap);
    KPERF_FREE(s->ids);
    KPERF_FREE(s->id_event);
    KPERF_FREE(s->comms);
    kperf_topology_close(s->topo);
    kperf_evlist_free(s->evlist);
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
        s->limit = now > 10000000 ? now - 10000000 : 0; /* 10 ms holdback */
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

/* ---- libkperf-shaped rows ---- */

/* The public struct first; pointers are stored as offsets while the arrays grow and are
 * fixed up once at the end. */
typedef struct kperf__rows {
    kperf_sample_rows pub;
    size_t caprows;
    uint64_t *frames;
    size_t nframes, capframes;
    char *bytes;
    size_t nbytes, capbytes;
    kperf_sampler *s;
    int err;
} kperf__rows;

static bool kperf__grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return true;
    size_t c = *cap ? *cap : 64;
    while (c < need) c *= 2;
    void *n = KPERF_REALLOC(*p, c * elem);
    if (!n) return false;
    *p = n, *cap = c;
    return true;
}

/* Copies n bytes (plus a NUL) into the byte arena; returns its offset + 1 (0 = none). */
static size_t kperf__rows_bytes(kperf__rows *r, const void *p, size_t n) {
    if (!kperf__grow((void **)&r->bytes, &r->capbytes, r->nbytes + n + 8, 1)) return 0;
    size_t off = r->nbytes;
    if (n) memcpy(r->bytes + off, p, n);
    r->bytes[off + n] = 0;
    r->nbytes += (n + 8) & ~(size_t)7;
    return off + 1;
}

static int kperf__rows_add(const kperf_record *rec, void *user) {
    kperf__rows *r = (kperf__rows *)user;
    if (rec->type != PERF_RECORD_SAMPLE) return 0;
    if (!kperf__grow((void **)&r->pub.rows, &r->caprows, r->pub.n + 1, sizeof *r->pub.rows))
        return r->err = -ENOMEM;
    const kperf_sample *smp = &rec->sample;
    kperf_sample_row *row = &r->pub.rows[r->pub.n++];
    memset(row, 0, sizeof *row);
    row->ts = rec->time;
    row->pid = (pid_t)smp->pid, row->tid = (pid_t)smp->tid, row->cpu = (int)rec->cpu;
    row->period = row->count = smp->period;
    row->ip = smp->ip;
    row->topo.cpu = row->cpu;
    row->topo.core = row->topo.cluster = row->topo.die = row->topo.socket = row->topo.numa = -1;
    if (r->s->topo) kperf_topology_cpu(r->s->topo, row->cpu, &row->topo);
    const char *evt = rec->event >= 0 ? r->s->names[rec->event] : "";
    const char *comm = kperf_sampler_comm(r->s, smp->tid);
    row->evt = (const char *)(uintptr_t)kperf__rows_bytes(r, evt, strlen(evt));
    row->comm = (const char *)(uintptr_t)kperf__rows_bytes(r, comm ? comm : "", comm ? strlen(comm) : 0);
    if (smp->raw_size) {
        row->raw = (const void *)(uintptr_t)kperf__rows_bytes(r, smp->raw, smp->raw_size);
        row->raw_size = smp->raw_size;
    }
    size_t first = r->nframes;
    uint32_t n = smp->nips;
    if (!kperf__grow((void **)&r->frames, &r->capframes, r->nframes + (n ? n : 1),
                     sizeof *r->frames))
        return r->err = -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        if (smp->ips[i] < KPERF_CONTEXT_MAX) r->frames[r->nframes++] = smp->ips[i];
    if (!n) r->frames[r->nframes++] = smp->ip;
    row->stack = (const uint64_t *)(uintptr_t)first;
    row->nstack = r->nframes - first;
    return 0;
}

KPERF_API int kperf_sampler_rows_read(kperf_sampler *s, kperf_sample_rows **out) {
    if (!out) return kperf__fail(EINVAL, "kperf_sampler_rows_read: out is NULL");
    *out = NULL;
    if (!s) return kperf__fail(EINVAL, "kperf_sampler_rows_read: sampler is NULL");
    if (!s->topo) kperf_topology_open(&s->topo, NULL); /* best effort: -1 fields without */
    kperf__rows *r = (kperf__rows *)kperf__calloc(1, sizeof *r);
    if (!r) return kperf__fail(ENOMEM, "out of memory");
    r->s = s;
    int n = kperf_sampler_read(s, kperf__rows_add, r);
    if (n < 0 || r->err) {
        kperf_sample_rows_free(&r->pub);
        return r->err ? kperf__fail(ENOMEM, "out of memory for sample rows") : n;
    }
    for (size_t i = 0; i < r->pub.n; i++) { /* offsets -> pointers */
        kperf_sample_row *row = &r->pub.rows[i];
        row->evt = r->bytes + ((uintptr_t)row->evt - 1);
        row->comm = r->bytes + ((uintptr_t)row->comm - 1);
        if (row->raw) row->raw = r->bytes + ((uintptr_t)row->raw - 1);
        row->stack = r->frames + (uintptr_t)row->stack;
    }
    r->pub.lost = s->st.last.lost;
    r->pub.throttled = s->st.last.throttled;
    *out = &r->pub;
    return (int)r->pub.n;
}

KPERF_API void kperf_sample_rows_free(kperf_sample_rows *rows) {
    if (!rows) return;
    kperf__rows *r = (kperf__rows *)rows;
    KPERF_FREE(r->pub.rows);
    KPERF_FREE(r->frames);
    KPERF_FREE(r->bytes);
    KPERF_FREE(r);
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

KPERF_API int kperf_folded_new(kperf_folded **out, kperf_frame_name_fn name, void *user) {
    if (!out) return kperf__fail(EINVAL, "kperf_folded_new: out is NULL");
    *out = (kperf_folded *)kperf__calloc(1, sizeof **out);
    if (!*out) return kperf__fail(ENOMEM, "out of memory");
    (*out)->name = name;
    (*out)->user = user;
    return 0;
}

KPERF_API void kperf_folded_free(kperf_folded *f) {
    if (!f) return;
    for (size_t i = 0; i < f->cap; i++) KPERF_FREE(f->t[i].key);
    KPERF_FREE(f->t);
    KPERF_FREE(f->buf);
    KPERF_FREE(f);
}


static int kperf__folded_bump(kperf_folded *f, const char *key, uint64_t weight) {
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
    f->t[j].count += weight;
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
                               bool kernel, bool leaf) {
    char name[512];
    int n = f->name ? f->name(addr, pid, kernel, leaf, name, sizeof name, f->user) : -1;
    if (n < 0)
        snprintf(name, sizeof name, "0x%llx%s", (unsigned long long)addr, kernel ? "_[k]" : "");
    return kperf__folded_append(f, len, name);
}

KPERF_API int kperf_folded_add(kperf_folded *f, const kperf_sample *smp, const char *comm) {
    return kperf_folded_add_weight(f, smp, comm, 1);
}

KPERF_API int kperf_folded_add_weight(kperf_folded *f, const kperf_sample *smp,
                                      const char *comm, uint64_t weight) {
    if (!f || !smp) return kperf__fail(EINVAL, "kperf_folded_add: NULL argument");
    size_t len = 0;
    int err = 0;
    if (comm && *comm && (err = kperf__folded_append(f, &len, comm))) return err;
    if (smp->nips) {
        /* root first; a context marker applies to the entries after it (inwards) */
        size_t leaf = 0;
        ptrdiff_t mk = (ptrdiff_t)smp->nips; /* the nearest marker below i; -1: none */
        while (leaf < smp->nips && smp->ips[leaf] >= KPERF_CONTEXT_MAX) leaf++;
        for (size_t i = smp->nips; i-- > 0;) {
            uint64_t a = smp->ips[i];
            if (a >= KPERF_CONTEXT_MAX || (!a && i != leaf)) continue; /* markers, chain ends */
            if (mk > (ptrdiff_t)i) /* searches never overlap: linear in the chain */
                for (mk = (ptrdiff_t)i; --mk >= 0 && smp->ips[mk] < KPERF_CONTEXT_MAX;) {}
            bool kernel = mk >= 0 && smp->ips[mk] == KPERF_CONTEXT_KERNEL;
            if ((err = kperf__folded_frame(f, &len, a, smp->pid, kernel, i == leaf))) return err;
        }
    } else if ((err = kperf__folded_frame(f, &len, smp->ip, smp->pid, false, true))) {
        return err;
    }
    if (!len) return 0;
    f->buf[--len] = 0; /* drop the last ';' */
    return kperf__folded_bump(f, f->buf, weight);
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
    FILE *out = strcmp(path, "-") ? kperf__fopen_out(path) : stdout;
    if (!out) { /* kperf_file_create's message names the file and the reason */
        int e = errno;
        KPERF_FREE(v);
        return -e;
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
#endif // KPERF_NO_SAMPLING

// >>perfdata ----------------------------------------------------------------------------
#ifndef KPERF_NO_SAMPLING
#include <sys/utsname.h>

/* perf.data in pipe mode: a 16-byte header, then a stream of records. Kernel records are
 * copied verbatim; the user-space types below describe events and the environment. */
enum {
    KPERF__PD_HEADER_ATTR = 64,
    KPERF__PD_HEADER_BUILD_ID = 67,
    KPERF__PD_FINISHED_ROUND = 68,
    KPERF__PD_HEADER_FEATURE = 80,
    KPERF__PD_FEAT_HOSTNAME = 3,
    KPERF__PD_FEAT_OSRELEASE = 4,
    KPERF__PD_FEAT_VERSION = 5,
    KPERF__PD_FEAT_ARCH = 6,
    KPERF__PD_FEAT_NRCPUS = 7,
    KPERF__PD_FEAT_CMDLINE = 11,
    KPERF__PD_FEAT_EVENT_DESC = 12,
    KPERF__PD_ATTR_SIZE = 128, /* PERF_ATTR_SIZE_VER7: what perf 6.1 reads in pipe mode */
    KPERF__PD_MISC_BUILD_ID_SIZE = 1 << 15,
};
static const uint64_t kperf__pd_magic = 0x32454c4946524550ull; /* "PERFILE2" */

struct kperf_perfdata {
    FILE *f;
    bool own;
    const kperf_sampler *s;
    uint64_t first_id;
    bool build_ids;
    char **seen; /* open-addressing set of files already given a BUILD_ID record */
    size_t nseen, capseen;
    int err;
    int scan_err; /* a resource error (EMFILE...) met while reading /proc: reported, not lost */
    unsigned char *buf; /* record assembly, 64 KiB + 8 */
    char (*tpname)[256]; /* per event: "sys:name" for EVENT_DESC when a tracepoint's own
                            name is not that ("tracepoint/config=N/"), else ""; or NULL */
};

static void kperf__pd_put(kperf_perfdata *w, const void *p, size_t n) {
    if (w->err || !n) return;
    if (fwrite(p, 1, n, w->f) != n) w->err = errno ? errno : EIO;
}

/* A record builder over w->buf: the header is filled in by kperf__pd_emit. */
typedef struct kperf__pdrec {
    unsigned char *b;
    size_t n;
} kperf__pdrec;

static void kperf__pd_add(kperf__pdrec *r, const void *p, size_t n) {
    if (r->n + n > 65528) n = r->n < 65528 ? 65528 - r->n : 0; /* records are <= 64 KiB */
    memcpy(r->b + r->n, p, n);
    r->n += n;
}
static void kperf__pd_u32(kperf__pdrec *r, uint32_t v) { kperf__pd_add(r, &v, 4); }
static void kperf__pd_u64(kperf__pdrec *r, uint64_t v) { kperf__pd_add(r, &v, 8); }
static void kperf__pd_pad(kperf__pdrec *r, size_t align) {
    static const unsigned char z[64] = {0};
    size_t n = (align - r->n % align) % align;
    kperf__pd_add(r, z, n);
}
/* A string padded with NULs to a multiple of @p align (NUL always included). */
static void kperf__pd_str(kperf__pdrec *r, const char *s, size_t align) {
    kperf__pd_add(r, s, strlen(s) + 1);
    kperf__pd_pad(r, align);
}
/* perf's feature string: u32 length (padded to 64), then the padded string. */
static void kperf__pd_fstr(kperf__pdrec *r, const char *s) {
    uint32_t len = (uint32_t)((strlen(s) + 1 + 63) & ~(size_t)63);
    kperf__pd_u32(r, len);
    size_t start = r->n;
    kperf__pd_add(r, s, strlen(s) + 1);
    static const unsigned char z[64] = {0};
    kperf__pd_add(r, z, len - (r->n - start));
}

static kperf__pdrec kperf__pd_begin(kperf_perfdata *w) {
    kperf__pdrec r = {w->buf, 8};
    return r;
}

static void kperf__pd_emit(kperf_perfdata *w, kperf__pdrec *r, uint32_t type, uint16_t misc) {
    kperf__pd_pad(r, 8);
    struct perf_event_header h = {type, misc, (uint16_t)r->n};
    memcpy(r->b, &h, sizeof h);
    kperf__pd_put(w, r->b, r->n);
}

/* The sample_id trailer of a synthesized record, in the sampler's layout. */
static void kperf__pd_trailer(kperf_perfdata *w, kperf__pdrec *r, uint32_t pid, uint32_t tid) {
    uint64_t st = w->s->layout.sample_type;
    if (st & PERF_SAMPLE_TID) kperf__pd_u32(r, pid), kperf__pd_u32(r, tid);
    if (st & PERF_SAMPLE_TIME) kperf__pd_u64(r, 0);
    if (st & PERF_SAMPLE_ID) kperf__pd_u64(r, w->first_id);
    if (st & PERF_SAMPLE_STREAM_ID) kperf__pd_u64(r, w->first_id);
    if (st & PERF_SAMPLE_CPU) kperf__pd_u64(r, 0);
    if (st & PERF_SAMPLE_IDENTIFIER) kperf__pd_u64(r, w->first_id);
}

static void kperf__pd_attrs(kperf_perfdata *w) {
    const kperf_sampler *s = w->s;
    for (size_t e = 0; e < s->nev; e++) {
        kperf__pdrec r = kperf__pd_begin(w);
        struct perf_event_attr a = s->attrs[e];
        a.size = KPERF__PD_ATTR_SIZE;
        kperf__pd_add(&r, &a, KPERF__PD_ATTR_SIZE);
        for (size_t i = 0; i < s->nfds; i++)
            if (s->fds[i].event == (int)e) kperf__pd_u64(&r, s->fds[i].id);
        kperf__pd_emit(w, &r, KPERF__PD_HEADER_ATTR, 0);
    }
}

static void kperf__pd_feature_begin(kperf__pdrec *r, uint64_t feat) { kperf__pd_u64(r, feat); }

static void kperf__pd_features(kperf_perfdata *w, const char *cmdline) {
    const kperf_sampler *s = w->s;
    struct utsname u;
    if (uname(&u) == 0) {
        const struct {
            uint64_t feat;
            const char *v;
        } strs[] = {{KPERF__PD_FEAT_HOSTNAME, u.nodename},
                    {KPERF__PD_FEAT_OSRELEASE, u.release},
                    {KPERF__PD_FEAT_VERSION, "6.1.kperf-0.1.0"},
                    {KPERF__PD_FEAT_ARCH, u.machine}};
        for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
            kperf__pdrec r = kperf__pd_begin(w);
            kperf__pd_feature_begin(&r, strs[i].feat);
            kperf__pd_fstr(&r, strs[i].v);
            kperf__pd_emit(w, &r, KPERF__PD_HEADER_FEATURE, 0);
        }
    }
    kperf__pdrec r = kperf__pd_begin(w);
    kperf__pd_feature_begin(&r, KPERF__PD_FEAT_NRCPUS);
    kperf__pd_u32(&r, (uint32_t)sysconf(_SC_NPROCESSORS_CONF));
    kperf__pd_u32(&r, (uint32_t)sysconf(_SC_NPROCESSORS_ONLN));
    kperf__pd_emit(w, &r, KPERF__PD_HEADER_FEATURE, 0);
    if (cmdline) {
        r = kperf__pd_begin(w);
        kperf__pd_feature_begin(&r, KPERF__PD_FEAT_CMDLINE);
        kperf__pd_u32(&r, 1);
        kperf__pd_fstr(&r, cmdline);
        kperf__pd_emit(w, &r, KPERF__PD_HEADER_FEATURE, 0);
    }
    /* EVENT_DESC: u32 count, u32 attr size, then per event attr, u32 nids, name, ids */
    r = kperf__pd_begin(w);
    kperf__pd_feature_begin(&r, KPERF__PD_FEAT_EVENT_DESC);
    kperf__pd_u32(&r, (uint32_t)s->nev);
    kperf__pd_u32(&r, KPERF__PD_ATTR_SIZE);
    for (size_t e = 0; e < s->nev; e++) {
        struct perf_event_attr a = s->attrs[e];
        a.size = KPERF__PD_ATTR_SIZE;
        kperf__pd_add(&r, &a, KPERF__PD_ATTR_SIZE);
        uint32_t nids = 0;
        for (size_t i = 0; i < s->nfds; i++) nids += s->fds[i].event == (int)e;
        kperf__pd_u32(&r, nids);
        kperf__pd_fstr(&r, w->tpname && w->tpname[e][0] ? w->tpname[e] : s->names[e]);
        for (size_t i = 0; i < s->nfds; i++)
            if (s->fds[i].event == (int)e) kperf__pd_u64(&r, s->fds[i].id);
    }
    kperf__pd_emit(w, &r, KPERF__PD_HEADER_FEATURE, 0);
}

/* ---- build ids ---- */

typedef struct kperf__elf {
    int fd;
    bool is64, swap;
} kperf__elf;

static uint64_t kperf__elf_word(const kperf__elf *e, const unsigned char *p, int bytes) {
    uint64_t v = 0;
    if (e->swap)
        for (int i = 0; i < bytes; i++) v = (v << 8) | p[i];
    else
        for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* Walks notes in buf; copies a GNU build id (type 3) into id. Returns its length or 0. */
static int kperf__elf_notes(const kperf__elf *e, const unsigned char *buf, size_t n,
                            uint8_t id[20]) {
    size_t off = 0;
    while (n - off >= 12) {
        uint64_t namesz = kperf__elf_word(e, buf + off, 4);
        uint64_t descsz = kperf__elf_word(e, buf + off + 4, 4);
        uint64_t type = kperf__elf_word(e, buf + off + 8, 4);
        off += 12;
        uint64_t nal = (namesz + 3) & ~3ull, dal = (descsz + 3) & ~3ull;
        if (nal > n - off || dal > n - off - nal) return 0;
        if (type == 3 && namesz == 4 && !memcmp(buf + off, "GNU", 4) && descsz > 0) {
            size_t len = descsz > 20 ? 20 : (size_t)descsz;
            memcpy(id, buf + off + nal, len);
            return (int)len;
        }
        off += nal + dal;
    }
    return 0;
}

/* Reads [off, off+len) of the file into a malloc'd buffer (len <= 1 MiB). */
static unsigned char *kperf__elf_read(const kperf__elf *e, uint64_t off, uint64_t len) {
    if (!len || len > (1u << 20)) return NULL;
    unsigned char *b = (unsigned char *)KPERF_MALLOC((size_t)len);
    if (b && pread(e->fd, b, (size_t)len, (off_t)off) != (ssize_t)len) {
        KPERF_FREE(b);
        b = NULL;
    }
    return b;
}

/* Scans a table of program (PT_NOTE = 4) or section (SHT_NOTE = 7) headers for notes. */
static int kperf__elf_scan(const kperf__elf *e, uint64_t tab, uint64_t entsz, uint64_t num,
                           bool sections, uint8_t id[20]) {
    if (!tab || num > 4096 || entsz < (e->is64 ? (sections ? 64u : 56u) : (sections ? 40u : 32u)))
        return 0;
    unsigned char *t = kperf__elf_read(e, tab, entsz * num);
    if (!t) return 0;
    int len = 0;
    for (uint64_t i = 0; !len && i < num; i++) {
        const unsigned char *h = t + i * entsz;
        uint64_t type, off, size;
        if (sections) {
            type = kperf__elf_word(e, h + 4, 4);
            off = e->is64 ? kperf__elf_word(e, h + 24, 8) : kperf__elf_word(e, h + 16, 4);
            size = e->is64 ? kperf__elf_word(e, h + 32, 8) : kperf__elf_word(e, h + 20, 4);
        } else {
            type = kperf__elf_word(e, h, 4);
            off = e->is64 ? kperf__elf_word(e, h + 8, 8) : kperf__elf_word(e, h + 4, 4);
            size = e->is64 ? kperf__elf_word(e, h + 32, 8) : kperf__elf_word(e, h + 16, 4);
        }
        if (type != (sections ? 7u : 4u)) continue;
        unsigned char *notes = kperf__elf_read(e, off, size);
        if (notes) len = kperf__elf_notes(e, notes, (size_t)size, id);
        KPERF_FREE(notes);
    }
    KPERF_FREE(t);
    return len;
}

KPERF_API int kperf_build_id_read(const char *path, uint8_t id[20]) {
    if (!path || !id) return kperf__fail(EINVAL, "kperf_build_id_read: NULL argument");
    /* a mapped path is chosen by the profiled process: never block on a FIFO there */
    kperf__elf e = {kperf_file_open_data(path, UINT64_MAX), false, false};
    if (e.fd < 0) return e.fd;
    unsigned char h[64];
    int len = 0;
    if (pread(e.fd, h, sizeof h, 0) < 52 || memcmp(h, "\177ELF", 4) || (h[4] != 1 && h[4] != 2) ||
        (h[5] != 1 && h[5] != 2)) {
        close(e.fd);
        return kperf__fail(KPERF_ECORRUPT, "%s is not an ELF file", path);
    }
    e.is64 = h[4] == 2;
    e.swap = h[5] == 2;
    uint64_t phoff = e.is64 ? kperf__elf_word(&e, h + 32, 8) : kperf__elf_word(&e, h + 28, 4);
    uint64_t shoff = e.is64 ? kperf__elf_word(&e, h + 40, 8) : kperf__elf_word(&e, h + 32, 4);
    const unsigned char *q = h + (e.is64 ? 54 : 42);
    uint64_t phentsize = kperf__elf_word(&e, q, 2), phnum = kperf__elf_word(&e, q + 2, 2);
    uint64_t shentsize = kperf__elf_word(&e, q + 4, 2), shnum = kperf__elf_word(&e, q + 6, 2);
    len = kperf__elf_scan(&e, phoff, phentsize, phnum, false, id);
    if (!len) len = kperf__elf_scan(&e, shoff, shentsize, shnum, true, id);
    close(e.fd);
    return len;
}

/* The kernel's build id from /sys/kernel/notes (a raw note stream). */
static int kperf__kernel_build_id(uint8_t id[20]) {
    unsigned char buf[4096];
    int fd = open("/sys/kernel/notes", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    kperf__elf e = {-1, true, false};
    return n > 0 ? kperf__elf_notes(&e, buf, (size_t)n, id) : 0;
}

static void kperf__pd_build_id_rec(kperf_perfdata *w, int32_t pid, const char *file,
                                   const uint8_t *id, int len, bool kernel) {
    kperf__pdrec r = kperf__pd_begin(w);
    unsigned char bid[24] = {0};
    memcpy(bid, id, (size_t)len);
    bid[20] = (unsigned char)len;
    kperf__pd_u32(&r, (uint32_t)pid);
    kperf__pd_add(&r, bid, 24);
    kperf__pd_str(&r, file, 64);
    kperf__pd_emit(w, &r, KPERF__PD_HEADER_BUILD_ID,
                   (uint16_t)((kernel ? PERF_RECORD_MISC_KERNEL : PERF_RECORD_MISC_USER) |
                              KPERF__PD_MISC_BUILD_ID_SIZE));
}

/* True the first time a file name is seen. */
static bool kperf__pd_first_seen(kperf_perfdata *w, const char *file) {
    if ((w->nseen + 1) * 2 >= w->capseen) {
        size_t cap = w->capseen ? w->capseen * 2 : 64;
        char **t = (char **)kperf__calloc(cap, sizeof *t);
        if (!t) return false;
        for (size_t i = 0; i < w->capseen; i++) {
            if (!w->seen[i]) continue;
            size_t j = kperf__fnv1a(w->seen[i]) & (cap - 1);
            while (t[j]) j = (j + 1) & (cap - 1);
            t[j] = w->seen[i];
        }
        KPERF_FREE(w->seen);
        w->seen = t, w->capseen = cap;
    }
    size_t j = kperf__fnv1a(file) & (w->capseen - 1);
    while (w->seen[j]) {
        if (!strcmp(w->seen[j], file)) return false;
        j = (j + 1) & (w->capseen - 1);
    }
    w->seen[j] = kperf__strdup(file);
    if (w->seen[j]) w->nseen++;
    return w->seen[j] != NULL;
}

static void kperf__pd_maybe_build_id(kperf_perfdata *w, uint32_t pid, const char *file) {
    if (!w->build_ids || !file || file[0] != '/' || !kperf__pd_first_seen(w, file)) return;
    uint8_t id[20];
    int len = kperf_build_id_read(file, id);
    if (len > 0) kperf__pd_build_id_rec(w, (int32_t)pid, file, id, len, false);
}

/* ---- tracing data: the trace-cmd style blob perf needs to decode tracepoint samples ----
 * PERF_RECORD_HEADER_TRACING_DATA is a 16-byte record {header, u32 size, u32 pad}; in the
 * pipe layout the blob follows it, outside the record, padded to 8 bytes (size counts the
 * padding). The blob: "\x17\x08\x44tracing", "0.6\0", endianness (0 = little), sizeof(long),
 * u32 page size; "header_page\0" + u64 size + events/header_page; "header_event\0" + u64
 * size + events/header_event; u32 count + (u64 size + format) per ftrace-system event;
 * u32 systems, per system its name, u32 count + (u64 size + format) per event; u32
 * kallsyms size (0: perf names kernel addresses from its own kernel map); u32 size +
 * printk_formats; u64 size + saved_cmdlines (version 0.6 and later). */

enum { KPERF__PD_HEADER_TRACING_DATA = 66 };

typedef struct kperf__pdblob {
    unsigned char *b;
    size_t n, cap;
    int err;
} kperf__pdblob;

#ifndef KPERF_NO_TRACEPOINT
static void kperf__blob_add(kperf__pdblob *x, const void *p, size_t n) {
    if (x->err || !n) return;
    if (n > ((size_t)1 << 30) - x->n) { x->err = EFBIG; return; }
    if (x->n + n > x->cap) {
        size_t cap = x->cap ? x->cap : 65536;
        while (cap < x->n + n) cap *= 2;
        unsigned char *nb = (unsigned char *)KPERF_REALLOC(x->b, cap);
        if (!nb) { x->err = ENOMEM; return; }
        x->b = nb, x->cap = cap;
    }
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

/* A file preceded by its size in @p width (4 or 8) bytes. An optional file that cannot be
 * read is written as size 0; a required one returns the negative errno. */
static int kperf__blob_file(kperf__pdblob *x, const char *path, int width, bool required) {
    char *text = NULL;
    size_t len = 0;
    int rc = kperf__slurp(path, &text, &len);
    if (rc < 0 && required) return rc;
    uint32_t n4 = (uint32_t)len;
    uint64_t n8 = len;
    kperf__blob_add(x, width == 4 ? (const void *)&n4 : (const void *)&n8, (size_t)width);
    kperf__blob_add(x, text, len);
    KPERF_FREE(text);
    return 0;
}

/* One tracepoint of the sampler: its tracefs system and name. */
typedef struct kperf__pdtp {
    char sys[128], name[128];
    uint32_t id;
} kperf__pdtp;

/* system:name of tracepoint @p id: the event's own name when tracefs agrees on its id, else
 * found by id (a scan of every event's id file, done once). */
static int kperf__pd_tp_resolve(kperf_tracefs *t, const char *evname, uint32_t id,
                                kperf__pdtp *tp) {
    const char *c = strchr(evname, ':');
    tp->id = id;
    if (c && c > evname) {
        snprintf(tp->sys, sizeof tp->sys, "%.*s", (int)(c - evname), evname);
        snprintf(tp->name, sizeof tp->name, "%.*s", (int)strcspn(c + 1, ":/"), c + 1);
        if (kperf_tracefs_event_id(t, tp->sys, tp->name) == (int)id) return 0;
    }
    const kperf_tp_format *f;
    int rc = kperf_tracefs_format_by_id(t, id, &f);
    if (rc < 0) return rc;
    snprintf(tp->sys, sizeof tp->sys, "%s", f->system);
    snprintf(tp->name, sizeof tp->name, "%s", f->name);
    return 0;
}

/* The format files of @p tps whose system is (or, with @p other, is not) @p sys; returns
 * how many were written, or a negative errno naming the file in *bad. */
static int kperf__pd_formats(kperf__pdblob *x, const char *root, const kperf__pdtp *tps,
                             size_t n, const char *sys, char *bad, size_t badsz) {
    uint32_t count = 0;
    for (size_t i = 0; i < n; i++) count += !strcmp(tps[i].sys, sys);
    kperf__blob_add(x, &count, 4);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(tps[i].sys, sys)) continue;
        snprintf(bad, badsz, "%s/events/%s/%s/format", root, tps[i].sys, tps[i].name);
        int rc = kperf__blob_file(x, bad, 8, true);
        if (rc < 0) return rc;
    }
    return (int)count;
}

/* Names tracepoint events perf's way ("sys:name") in w->tpname where their own name differs. */
static void kperf__pd_tp_names(kperf_perfdata *w, const kperf__pdtp *tps, size_t n) {
    const kperf_sampler *s = w->s;
    w->tpname = (char(*)[256])kperf__calloc(s->nev, sizeof *w->tpname);
    for (size_t e = 0; w->tpname && e < s->nev; e++) {
        if (s->attrs[e].type != PERF_TYPE_TRACEPOINT) continue;
        for (size_t i = 0; i < n; i++) {
            if (tps[i].id != s->attrs[e].config) continue;
            char nm[256];
            int len = snprintf(nm, sizeof nm, "%s:%s", tps[i].sys, tps[i].name);
            const char *own = s->names[e];
            if (strncmp(own, nm, (size_t)len) || (own[len] && own[len] != ':'))
                memcpy(w->tpname[e], nm, sizeof nm);
            break;
        }
    }
}

/* Builds the blob for the sampler's tracepoints into @p x (and their perf names); 0 when it
 * has none. */
static int kperf__pd_tracing_blob(kperf_perfdata *w, const char *root, kperf__pdblob *x) {
    const kperf_sampler *s = w->s;
    size_t ntp = 0;
    for (size_t e = 0; e < s->nev; e++) ntp += s->attrs[e].type == PERF_TYPE_TRACEPOINT;
    if (!ntp) return 0;
    kperf_tracefs *t = NULL;
    int rc = kperf_tracefs_open(&t, root);
    if (rc < 0) return rc;
    kperf__pdtp *tps = (kperf__pdtp *)kperf__calloc(ntp, sizeof *tps);
    size_t n = 0;
    if (!tps) rc = kperf__fail(ENOMEM, "out of memory");
    for (size_t e = 0; rc >= 0 && e < s->nev; e++) {
        const struct perf_event_attr *a = &s->attrs[e];
        if (a->type != PERF_TYPE_TRACEPOINT) continue;
        bool dup = false;
        for (size_t i = 0; i < n; i++) dup |= tps[i].id == a->config;
        if (dup) continue;
        if (a->config > UINT32_MAX || kperf__pd_tp_resolve(t, s->names[e], (uint32_t)a->config,
                                                           &tps[n]) < 0)
            rc = kperf__fail(KPERF_ENOEVENT,
                             "tracing data: tracepoint %s (id %llu) is not under %s/events; "
                             "set no_tracing_data to write the file without it",
                             s->names[e], (unsigned long long)a->config, kperf_tracefs_root(t));
        else n++;
    }
    const char *tr = kperf_tracefs_root(t);
    char path[PATH_MAX + 512];
    if (rc >= 0) {
        static const unsigned char magic[10] = {0x17, 0x08, 0x44, 't', 'r', 'a', 'c', 'i', 'n', 'g'};
        const uint16_t one = 1;
        unsigned char hdr[4 + 2] = {'0', '.', '6', 0, 0, (unsigned char)sizeof(long)};
        hdr[4] = *(const unsigned char *)&one == 1 ? 0 : 1;
        uint32_t page = (uint32_t)sysconf(_SC_PAGESIZE);
        kperf__blob_add(x, magic, sizeof magic);
        kperf__blob_add(x, hdr, sizeof hdr);
        kperf__blob_add(x, &page, 4);
        static const char *const heads[2] = {"header_page", "header_event"};
        for (int i = 0; rc >= 0 && i < 2; i++) {
            kperf__blob_add(x, heads[i], strlen(heads[i]) + 1);
            snprintf(path, sizeof path, "%s/events/%s", tr, heads[i]);
            rc = kperf__blob_file(x, path, 8, true);
        }
    }
    if (rc >= 0) kperf__pd_tp_names(w, tps, n);
    if (rc >= 0) rc = kperf__pd_formats(x, tr, tps, n, "ftrace", path, sizeof path);
    if (rc >= 0) {
        uint32_t nsys = 0;
        size_t nsys_at = x->n;
        kperf__blob_add(x, &nsys, 4);
        for (size_t i = 0; rc >= 0 && i < n; i++) {
            bool seen = !strcmp(tps[i].sys, "ftrace");
            for (size_t j = 0; j < i; j++) seen |= !strcmp(tps[j].sys, tps[i].sys);
            if (seen) continue;
            kperf__blob_add(x, tps[i].sys, strlen(tps[i].sys) + 1);
            rc = kperf__pd_formats(x, tr, tps, n, tps[i].sys, path, sizeof path);
            nsys++;
        }
        if (!x->err) memcpy(x->b + nsys_at, &nsys, 4);
    }
    if (rc >= 0) {
        uint32_t no_kallsyms = 0;
        kperf__blob_add(x, &no_kallsyms, 4);
        snprintf(path, sizeof path, "%s/printk_formats", tr);
        kperf__blob_file(x, path, 4, false);
        snprintf(path, sizeof path, "%s/saved_cmdlines", tr);
        kperf__blob_file(x, path, 8, false);
        if (x->err) rc = kperf__fail(x->err, "tracing data: %s", strerror(x->err));
    } else if (rc > -KPERF_EBASE) {
        rc = kperf__fail(-rc, "tracing data: cannot read %s: %s", path, strerror(-rc));
    }
    KPERF_FREE(tps);
    kperf_tracefs_close(t);
    return rc < 0 ? rc : (int)n;
}
#else
/* Without the >>tracepoint section a perf.data carries no tracing data. */
static int kperf__pd_tracing_blob(kperf_perfdata *w, const char *root, kperf__pdblob *x) {
    (void)w, (void)root, (void)x;
    return 0;
}
#endif // KPERF_NO_TRACEPOINT

/* The TRACING_DATA record and the blob after it (nothing when the blob is empty). */
static void kperf__pd_tracing_data(kperf_perfdata *w, const kperf__pdblob *x) {
    if (x->n) {
        static const unsigned char z[8] = {0};
        size_t pad = (8 - x->n % 8) % 8;
        struct {
            struct perf_event_header h;
            uint32_t size, pad;
        } r = {{KPERF__PD_HEADER_TRACING_DATA, 0, 16}, (uint32_t)(x->n + pad), 0};
        kperf__pd_put(w, &r, sizeof r);
        kperf__pd_put(w, x->b, x->n);
        kperf__pd_put(w, z, pad);
    }
}

/* ---- synthesized side-band: the kernel and processes that already run ---- */

static void kperf__pd_kernel(kperf_perfdata *w) {
    FILE *k = fopen("/proc/kallsyms", "r");
    unsigned long long text = 0, stext = 0;
    char line[512];
    while (k && fgets(line, sizeof line, k)) {
        unsigned long long a;
        char t, name[256];
        if (sscanf(line, "%llx %c %255s", &a, &t, name) != 3) continue;
        if (!strcmp(name, "_text")) text = a;
        if (!strcmp(name, "_stext")) stext = a;
        if (text && stext) break;
    }
    if (k) fclose(k);
    if (!text) text = stext;
    if (!text) return; /* kptr_restrict hides the kernel: nothing true to write */
    kperf__pdrec r = kperf__pd_begin(w);
    kperf__pd_u32(&r, UINT32_MAX), kperf__pd_u32(&r, 0);
    kperf__pd_u64(&r, text), kperf__pd_u64(&r, ~0ull - text), kperf__pd_u64(&r, text);
    kperf__pd_str(&r, "[kernel.kallsyms]_text", 8);
    kperf__pd_trailer(w, &r, UINT32_MAX, 0);
    kperf__pd_emit(w, &r, PERF_RECORD_MMAP, PERF_RECORD_MISC_KERNEL);
    uint8_t id[20];
    int len = w->build_ids ? kperf__kernel_build_id(id) : 0;
    if (len > 0) kperf__pd_build_id_rec(w, -1, "[kernel.kallsyms]", id, len, true);
}

static void kperf__pd_comm(kperf_perfdata *w, uint32_t pid, uint32_t tid, const char *comm) {
    kperf__pdrec r = kperf__pd_begin(w);
    kperf__pd_u32(&r, pid), kperf__pd_u32(&r, tid);
    kperf__pd_str(&r, comm, 8);
    kperf__pd_trailer(w, &r, pid, tid);
    kperf__pd_emit(w, &r, PERF_RECORD_COMM, 0);
}

/* One /proc/PID/maps line as an MMAP2 record (executable mappings only, as perf does). */
static void kperf__pd_map_line(kperf_perfdata *w, uint32_t pid, const char *line) {
    unsigned long long lo, hi, off, ino;
    unsigned maj, min;
    char perm[8], name[4096] = "";
    if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %4095[^\n]", &lo, &hi, perm, &off, &maj,
               &min, &ino, name) < 7 || perm[2] != 'x')
        return;
    char *nm = name;
    while (*nm == ' ') nm++;
    if (!*nm) nm = (char *)"//anon";
    kperf__pd_maybe_build_id(w, pid, nm);
    kperf__pdrec r = kperf__pd_begin(w);
    kperf__pd_u32(&r, pid), kperf__pd_u32(&r, pid);
    kperf__pd_u64(&r, lo), kperf__pd_u64(&r, hi - lo), kperf__pd_u64(&r, off);
    kperf__pd_u32(&r, maj), kperf__pd_u32(&r, min);
    kperf__pd_u64(&r, ino), kperf__pd_u64(&r, 0);
    uint32_t prot = (perm[0] == 'r' ? PROT_READ : 0) | (perm[1] == 'w' ? PROT_WRITE : 0) |
                    PROT_EXEC;
    kperf__pd_u32(&r, prot), kperf__pd_u32(&r, perm[3] == 's' ? MAP_SHARED : MAP_PRIVATE);
    kperf__pd_str(&r, nm, 8);
    kperf__pd_trailer(w, &r, pid, pid);
    kperf__pd_emit(w, &r, PERF_RECORD_MMAP2, PERF_RECORD_MISC_USER);
}

/* Notes an error of reading /proc that is not the process exiting or hiding from us. */
static void kperf__pd_scan_err(kperf_perfdata *w, int e) {
    if (!w->scan_err && (e == EMFILE || e == ENFILE || e == ENOMEM)) w->scan_err = e;
}

static void kperf__pd_process(kperf_perfdata *w, pid_t pid) {
    char path[64], comm[64], line[4352];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d) return kperf__pd_scan_err(w, errno); /* exited: its records will be missing */
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%d/task/%.16s/comm", (int)pid, de->d_name);
        int rc = kperf__read_file(path, comm, sizeof comm);
        if (rc < 0) {
            kperf__pd_scan_err(w, -rc);
            continue;
        }
        kperf__pd_comm(w, (uint32_t)pid, (uint32_t)atoi(de->d_name), comm);
    }
    closedir(d);
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *m = fopen(path, "re");
    if (!m) kperf__pd_scan_err(w, errno);
    while (m && fgets(line, sizeof line, m)) kperf__pd_map_line(w, (uint32_t)pid, line);
    if (m) fclose(m);
}

static void kperf__pd_all_processes(kperf_perfdata *w) {
    DIR *d = opendir("/proc");
    if (!d) return kperf__pd_scan_err(w, errno);
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] >= '1' && de->d_name[0] <= '9') kperf__pd_process(w, atoi(de->d_name));
    closedir(d);
}

KPERF_API int kperf_perfdata_open(kperf_perfdata **out, const kperf_perfdata_desc *desc) {
    if (!out) return kperf__fail(EINVAL, "kperf_perfdata_open: out is NULL");
    *out = NULL;
    if (!desc || !desc->sampler || !desc->sampler->nfds)
        return kperf__fail(EINVAL, "kperf_perfdata_open: desc->sampler is required");
    const char *path = desc->path ? desc->path : "perf.data";
    kperf_perfdata *w = (kperf_perfdata *)kperf__calloc(1, sizeof *w);
    if (w) w->buf = (unsigned char *)KPERF_MALLOC(65536 + 64);
    if (!w || !w->buf) {
        if (w) KPERF_FREE(w);
        return kperf__fail(ENOMEM, "out of memory");
    }
    w->own = strcmp(path, "-") != 0;
    int wfd = w->own ? kperf_file_create(path, 0600) : -1; /* 0600 as perf: it holds data */
    w->f = !w->own ? stdout : wfd >= 0 ? fdopen(wfd, "wb") : NULL;
    if (!w->f) {
        int e = wfd < 0 ? -wfd : errno;
        if (wfd >= 0) close(wfd);
        KPERF_FREE(w->buf);
        KPERF_FREE(w);
        return wfd < 0 ? -e : kperf__fail(e, "cannot create %s: %s", path, strerror(e));
    }
    w->s = desc->sampler;
    w->first_id = w->s->fds[0].id;
    w->build_ids = !desc->no_build_ids;
    uint64_t hdr[2] = {kperf__pd_magic, 16};
    kperf__pd_put(w, hdr, sizeof hdr);
    kperf__pdblob x = {NULL, 0, 0, 0};
    int trc = desc->no_tracing_data ? 0 : kperf__pd_tracing_blob(w, desc->tracefs, &x);
    if (trc < 0) {
        char why[320]; /* kperf__fail rewrites the message: keep the reason */
        int e = -trc;
        snprintf(why, sizeof why, "%.300s", kperf_errmsg());
        KPERF_FREE(x.b);
        kperf_perfdata_close(w);
        return kperf__fail(e, "%s: %s", path, why);
    }
    kperf__pd_attrs(w);
    kperf__pd_features(w, desc->cmdline);
    kperf__pd_tracing_data(w, &x);
    KPERF_FREE(x.b);
    if (!desc->no_kernel) kperf__pd_kernel(w);
    if (desc->all_processes) kperf__pd_all_processes(w);
    for (size_t i = 0; i < desc->npids; i++) kperf__pd_process(w, desc->pids[i]);
    if (w->scan_err && !w->err) {
        int e = w->scan_err;
        kperf_perfdata_close(w);
        return kperf__fail(e, "%s: cannot read the threads and maps of the processes under "
                           "/proc: %s%s", path, strerror(e),
                           e == EMFILE ? " (raise the descriptor limit, ulimit -n)" : "");
    }
    if (w->err) {
        int e = w->err;
        kperf_perfdata_close(w);
        return kperf__fail(e, "writing %s failed: %s", path, strerror(e));
    }
    *out = w;
    return 0;
}

KPERF_API int kperf_perfdata_write(kperf_perfdata *w, const kperf_record *rec) {
    if (!w || !rec || !rec->bytes) return kperf__fail(EINVAL, "kperf_perfdata_write: NULL argument");
    if (rec->type == PERF_RECORD_MMAP2 && (rec->mmap.prot & PROT_EXEC))
        kperf__pd_maybe_build_id(w, rec->mmap.pid, rec->mmap.filename);
    kperf__pd_put(w, rec->bytes, rec->size);
    return w->err ? kperf__fail(w->err, "writing perf.data failed: %s", strerror(w->err)) : 0;
}

KPERF_API int kperf_perfdata_flush(kperf_perfdata *w) {
    if (!w) return kperf__fail(EINVAL, "kperf_perfdata_flush: NULL writer");
    struct perf_event_header h = {KPERF__PD_FINISHED_ROUND, 0, 8};
    kperf__pd_put(w, &h, sizeof h);
    if (!w->err && fflush(w->f)) w->err = errno;
    return w->err ? kperf__fail(w->err, "writing perf.data failed: %s", strerror(w->err)) : 0;
}

KPERF_API void kperf_perfdata_close(kperf_perfdata *w) {
    if (!w) return;
    if (w->f) {
        if (w->own) fclose(w->f);
        else fflush(w->f);
    }
    for (size_t i = 0; i < w->capseen; i++) KPERF_FREE(w->seen[i]);
    KPERF_FREE(w->seen);
    KPERF_FREE(w->tpname);
    KPERF_FREE(w->buf);
    KPERF_FREE(w);
}

/* ---- reading pipe-mode files ---- */

typedef struct kperf__pdin {
    kperf_ring_layout layout[16];
    uint64_t *ids;
    int *ev;
    size_t nids, capids;
    size_t nev;
} kperf__pdin;

static int kperf__pdin_attr(kperf__pdin *in, const unsigned char *b, size_t n,
                            kperf_perfdata_events *events) {
    uint32_t asz;
    if (n < 8 + 64) return -1;
    memcpy(&asz, b + 8 + 4, 4);
    if (asz < 64 || asz > n - 8) return -1;
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    memcpy(&a, b + 8, asz < sizeof a ? asz : sizeof a);
    size_t e = in->nev < 16 ? in->nev : 15;
    kperf_ring_layout *l = &in->layout[e];
    l->sample_type = a.sample_type;
    l->read_format = a.read_format;
    l->branch_sample_type = a.branch_sample_type;
    l->regs_user_mask = a.sample_regs_user;
    l->regs_intr_mask = a.sample_regs_intr;
    l->sample_id_all = a.sample_id_all;
    size_t nids = (n - 8 - asz) / 8;
    for (size_t i = 0; i < nids; i++) {
        if (in->nids == in->capids) {
            size_t cap = in->capids ? in->capids * 2 : 64;
            uint64_t *ni = (uint64_t *)KPERF_REALLOC(in->ids, cap * sizeof *ni);
            if (ni) in->ids = ni;
            int *ne = (int *)KPERF_REALLOC(in->ev, cap * sizeof *ne);
            if (ne) in->ev = ne;
            if (!ni || !ne) return -ENOMEM;
            in->capids = cap;
        }
        memcpy(&in->ids[in->nids], b + 8 + asz + 8 * i, 8);
        in->ev[in->nids++] = (int)e;
    }
    if (in->nev < 16) in->nev++;
    if (events) {
        events->n = in->nev;
        events->sample_type[e] = a.sample_type;
        events->regs_user_mask[e] = a.sample_regs_user;
    }
    return 0;
}

static int kperf__pdin_event_of(const kperf__pdin *in, uint64_t id) {
    for (size_t i = 0; i < in->nids; i++)
        if (in->ids[i] == id) return in->ev[i];
    return -1;
}

/* EVENT_DESC: names by position; bounded walk over the feature body. */
static void kperf__pdin_event_desc(const unsigned char *b, size_t n, kperf_perfdata_events *ev) {
    uint32_t nre, asz;
    size_t off = 16;
    if (!ev || n < off + 8) return;
    memcpy(&nre, b + off, 4), memcpy(&asz, b + off + 4, 4);
    off += 8;
    for (uint32_t i = 0; i < nre && i < 16; i++) {
        uint32_t nids, len;
        if (asz > n || off > n - asz - 8) return;
        off += asz;
        memcpy(&nids, b + off, 4), memcpy(&len, b + off + 4, 4);
        off += 8;
        if (len > n - off) return;
        snprintf(ev->names[i], sizeof ev->names[i], "%.*s", (int)len, (const char *)b + off);
        off += len;
        if (nids > (n - off) / 8) return;
        off += (size_t)nids * 8;
    }
}

static int kperf__pdin_loop(FILE *f, const char *path, kperf_record_fn fn, void *user,
                            kperf_perfdata_events *events, kperf__pdin *in, uint64_t *buf,
                            uint64_t off, uint64_t end) {
    unsigned char *b = (unsigned char *)buf;
    int count = 0;
    for (;;) {
        struct perf_event_header h;
        if (off >= end) return count;
        size_t got = fread(&h, 1, sizeof h, f);
        if (got == 0) return count;
        if (got != sizeof h || h.size < 8 || h.size > end - off)
            return kperf__fail(KPERF_ECORRUPT, "%s: truncated or invalid record at offset %llu",
                               path, (unsigned long long)off);
        memcpy(b, &h, sizeof h);
        if (fread(b + 8, 1, h.size - 8u, f) != h.size - 8u)
            return kperf__fail(KPERF_ECORRUPT, "%s: record at offset %llu is truncated", path,
                               (unsigned long long)off);
        off += h.size;
        if (h.type == KPERF__PD_HEADER_ATTR) {
            if (kperf__pdin_attr(in, b, h.size, events) < 0)
                return kperf__fail(KPERF_ECORRUPT, "%s: bad HEADER_ATTR at offset %llu", path,
                                   (unsigned long long)(off - h.size));
            continue;
        }
        if (h.type == KPERF__PD_HEADER_TRACING_DATA) { /* the blob follows the record */
            uint32_t tsz = 0;
            if (h.size >= 16) memcpy(&tsz, b + 8, 4);
            if (h.size < 16 || tsz > end - off)
                return kperf__fail(KPERF_ECORRUPT, "%s: bad TRACING_DATA record at offset %llu",
                                   path, (unsigned long long)(off - h.size));
            for (uint32_t left = tsz; left;) {
                size_t step = left < 65536 ? left : 65536;
                if (fread(b, 1, step, f) != step)
                    return kperf__fail(KPERF_ECORRUPT, "%s: tracing data at offset %llu is "
                                       "truncated", path, (unsigned long long)off);
                left -= (uint32_t)step;
            }
            off += tsz;
            if (events) events->tracing_data_size = tsz;
            continue;
        }
        if (h.type == KPERF__PD_HEADER_FEATURE && h.size >= 16) {
            uint64_t feat;
            memcpy(&feat, b + 8, 8);
            if (feat == KPERF__PD_FEAT_EVENT_DESC) kperf__pdin_event_desc(b, h.size, events);
            continue;
        }
        if (h.type >= 64 || !in->nev) continue; /* other user records */
        const kperf_ring_layout *l = &in->layout[0];
        int ev = -1;
        if (l->sample_type & PERF_SAMPLE_IDENTIFIER) {
            uint64_t id = 0;
            if (h.type == PERF_RECORD_SAMPLE && h.size >= 16) memcpy(&id, b + 8, 8);
            else if (l->sample_id_all && h.size >= 16) memcpy(&id, b + h.size - 8, 8);
            ev = kperf__pdin_event_of(in, id);
            if (ev >= 0) l = &in->layout[ev];
        }
        kperf_record rec;
        if (kperf_record_parse(b, h.size, l, &rec) < 0) {
            char why[256]; /* the parser's message, copied: kperf__fail rewrites it */
            snprintf(why, sizeof why, "%.200s", kperf_errmsg());
            return kperf__fail(KPERF_ECORRUPT, "%s: record at offset %llu: %s", path,
                               (unsigned long long)(off - h.size), why);
        }
        rec.event = ev >= 0 ? ev : kperf__pdin_event_of(in, rec.id);
        if (events) events->records++;
        count++;
        int rc = fn(&rec, user);
        if (rc < 0) return rc;
    }
}

/* Event names of a seekable file: its EVENT_DESC feature section. The sections follow the
 * data, one {offset, size} per feature bit set in the header's bitmap (h[9] holds bits
 * 0..63), in bit order. A missing or damaged section leaves the names empty. */
static void kperf__pdin_file_names(FILE *f, const uint64_t *h, unsigned char *b,
                                   kperf_perfdata_events *events) {
    uint64_t bits = h[9], sec[2];
    if (!events || !(bits & (1ull << KPERF__PD_FEAT_EVENT_DESC))) return;
    unsigned idx = (unsigned)__builtin_popcountll(bits & ((1ull << KPERF__PD_FEAT_EVENT_DESC) - 1));
    if (h[5] + h[6] < h[5] || fseek(f, (long)(h[5] + h[6] + idx * 16ull), SEEK_SET) ||
        fread(sec, 8, 2, f) != 2 || sec[1] > 65536 - 16 || fseek(f, (long)sec[0], SEEK_SET) ||
        fread(b + 16, 1, sec[1], f) != sec[1])
        return;
    kperf__pdin_event_desc(b, 16 + (size_t)sec[1], events); /* as the pipe record's body */
}

/* The seekable layout `perf record` writes by default: a 104-byte header whose attrs section
 * holds {attr, ids section} entries, then the data section of records. */
static int kperf__pdin_file(FILE *f, const char *path, kperf_record_fn fn, void *user,
                            kperf_perfdata_events *events, kperf__pdin *in, uint64_t *buf) {
    uint64_t h[11]; /* magic, size, attr_size, attrs{off,size}, data{off,size}, types{off,size} */
    unsigned char *b = (unsigned char *)buf;
    if (fseek(f, 0, SEEK_SET) || fread(h, 8, 11, f) != 11)
        return kperf__fail(KPERF_ECORRUPT, "%s: truncated perf.data header", path);
    uint64_t asz = h[2], aoff = h[3], an = asz ? h[4] / asz : 0;
    if (asz < 64 + 16 || asz > 4096 || an > 4096)
        return kperf__fail(KPERF_ECORRUPT, "%s: bad attrs section (entry %llu bytes)", path,
                           (unsigned long long)asz);
    for (uint64_t i = 0; i < an; i++) {
        uint64_t sec[2];
        memset(b, 0, 8);
        if (fseek(f, (long)(aoff + i * asz), SEEK_SET) || fread(b + 8, 1, asz, f) != asz)
            return kperf__fail(KPERF_ECORRUPT, "%s: truncated attrs section", path);
        memcpy(sec, b + 8 + asz - 16, 16);
        uint32_t attr_size = (uint32_t)(asz - 16);
        memcpy(b + 8 + 4, &attr_size, 4); /* the entry's own size field may differ */
        if (sec[1] > 65536 - 8 - attr_size || (sec[1] & 7))
            return kperf__fail(KPERF_ECORRUPT, "%s: bad ids section", path);
        if (sec[1] && (fseek(f, (long)sec[0], SEEK_SET) ||
                       fread(b + 8 + attr_size, 1, sec[1], f) != sec[1]))
            return kperf__fail(KPERF_ECORRUPT, "%s: truncated ids section", path);
        if (kperf__pdin_attr(in, b, 8 + attr_size + (size_t)sec[1], events) < 0)
            return kperf__fail(KPERF_ECORRUPT, "%s: bad attr %llu", path, (unsigned long long)i);
    }
    kperf__pdin_file_names(f, h, b, events);
    if (fseek(f, (long)h[5], SEEK_SET))
        return kperf__fail(KPERF_ECORRUPT, "%s: data section out of range", path);
    return kperf__pdin_loop(f, path, fn, user, events, in, buf, h[5], h[5] + h[6]);
}

KPERF_API int kperf_perfdata_read(const char *path, kperf_record_fn fn, void *user,
                                  kperf_perfdata_events *events) {
    if (!path || !fn) return kperf__fail(EINVAL, "kperf_perfdata_read: NULL argument");
    if (events) memset(events, 0, sizeof *events);
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) return kperf__fail(errno, "cannot open %s: %s", path, strerror(errno));
    uint64_t hdr[2] = {0, 0};
    int rc;
    uint64_t *buf = (uint64_t *)KPERF_MALLOC(65536 + 64);
    kperf__pdin in;
    memset(&in, 0, sizeof in);
    if (!buf) rc = kperf__fail(ENOMEM, "out of memory");
    else if (fread(hdr, 1, sizeof hdr, f) != sizeof hdr || hdr[0] != kperf__pd_magic)
        rc = kperf__fail(KPERF_ECORRUPT, "%s is not a perf.data file", path);
    else if (hdr[1] == 16)
        rc = kperf__pdin_loop(f, path, fn, user, events, &in, buf, 16, UINT64_MAX);
    else if (hdr[1] == 104 && f != stdin)
        rc = kperf__pdin_file(f, path, fn, user, events, &in, buf);
    else
        rc = kperf__fail(KPERF_ECORRUPT, "%s: unknown perf.data header size %llu", path,
                         (unsigned long long)hdr[1]);
    if (f != stdin) fclose(f);
    KPERF_FREE(buf);
    KPERF_FREE(in.ids);
    KPERF_FREE(in.ev);
    return rc;
}
// <<perfdata
#endif // KPERF_NO_SAMPLING

// >>analysis ----------------------------------------------------------------------------

KPERF_API uint32_t kperf_hist_bucket(uint64_t v) {
    if (v < 16) return (uint32_t)v;
    uint32_t e = 63u - (uint32_t)__builtin_clzll(v); /* 4..63 */
    return 16u + (e - 4u) * 8u + (uint32_t)((v >> (e - 3u)) & 7u);
}

KPERF_API uint64_t kperf_hist_bucket_lo(uint32_t b) {
    if (b < 16) return b;
    if (b >= KPERF_HIST_BUCKETS) return UINT64_MAX;
    uint32_t e = (b - 16u) / 8u + 4u, sub = (b - 16u) % 8u;
    return (uint64_t)(8u + sub) << (e - 3u);
}

KPERF_API void kperf_stat_add(kperf_stat *s, uint64_t v) {
    if (!s) return;
    if (!s->count || v < s->min) s->min = v;
    if (!s->count || v > s->max) s->max = v;
    s->count++;
    s->sum += v;
    double d = (double)v - s->mean;
    s->mean += d / (double)s->count;
    s->m2 += d * ((double)v - s->mean);
    if (s->hist) s->hist[kperf_hist_bucket(v)]++;
}

KPERF_API int kperf_stat_merge(kperf_stat *dst, const kperf_stat *src) {
    if (!dst || !src || !src->count) return 0;
    if (src->hist && !dst->hist &&
        !(dst->hist = (uint32_t *)kperf__calloc(KPERF_HIST_BUCKETS, sizeof(uint32_t))))
        return -ENOMEM;
    if (!dst->count) {
        uint32_t *h = dst->hist;
        *dst = *src;
        dst->hist = h;
        if (h) memcpy(h, src->hist, KPERF_HIST_BUCKETS * sizeof *h);
        return 0;
    }
    double na = (double)dst->count, nb = (double)src->count, d = src->mean - dst->mean;
    dst->m2 += src->m2 + d * d * na * nb / (na + nb);
    dst->mean += d * nb / (na + nb);
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min) dst->min = src->min;
    if (src->max > dst->max) dst->max = src->max;
    for (uint32_t i = 0; src->hist && i < KPERF_HIST_BUCKETS; i++) dst->hist[i] += src->hist[i];
    return 0;
}

KPERF_API double kperf_stat_variance(const kperf_stat *s) {
    return s && s->count > 1 ? s->m2 / (double)(s->count - 1) : 0.0;
}

KPERF_API uint64_t kperf_stat_percentile(const kperf_stat *s, double q) {
    if (!s || !s->count) return 0;
    if (!s->hist) return (uint64_t)(s->mean + 0.5);
    if (q <= 0) return s->min;
    if (q >= 1) return s->max;
    uint64_t rank = (uint64_t)(q * (double)s->count + 0.999999999), seen = 0;
    if (rank < 1) rank = 1;
    for (uint32_t b = 0; b < KPERF_HIST_BUCKETS; b++) {
        seen += s->hist[b];
        if (seen < rank) continue;
        uint64_t lo = kperf_hist_bucket_lo(b), hi = kperf_hist_bucket_lo(b + 1);
        uint64_t v = b < 16 ? lo : lo + (hi - lo) / 2;
        return v < s->min ? s->min : v > s->max ? s->max : v;
    }
    return s->max;
}

KPERF_API void kperf_stat_free(kperf_stat *s) {
    if (!s) return;
    KPERF_FREE(s->hist);
    memset(s, 0, sizeof *s);
}

/* ---- an open-addressing map of u64 keys (linear probing, backward-shift delete) ---- */

KPERF__PRIV size_t kperf__an_hash(uint64_t k, size_t cap) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

typedef struct kperf__ks_slot {
    uint64_t key;
    bool used;
    kperf_stat st;
} kperf__ks_slot;

struct kperf_keystats {
    kperf__ks_slot *slots;
    size_t cap, n;
    bool histogram;
};

KPERF_API int kperf_keystats_new(kperf_keystats **out, const kperf_keystats_desc *desc) {
    if (!out) return kperf__fail(EINVAL, "kperf_keystats_new: out is NULL");
    *out = (kperf_keystats *)kperf__calloc(1, sizeof **out);
    if (!*out) return kperf__fail(ENOMEM, "out of memory");
    (*out)->histogram = desc && desc->histogram;
    return 0;
}

KPERF_API void kperf_keystats_free(kperf_keystats *ks) {
    if (!ks) return;
    for (size_t i = 0; i < ks->cap; i++) KPERF_FREE(ks->slots[i].st.hist);
    KPERF_FREE(ks->slots);
    KPERF_FREE(ks);
}

KPERF__PRIV kperf__ks_slot *kperf__ks_find(const kperf_keystats *ks, uint64_t key) {
    if (!ks || !ks->cap) return NULL;
    for (size_t h = kperf__an_hash(key, ks->cap);; h = (h + 1) & (ks->cap - 1)) {
        if (!ks->slots[h].used) return NULL;
        if (ks->slots[h].key == key) return &ks->slots[h];
    }
}

KPERF__PRIV kperf__ks_slot *kperf__ks_insert(kperf_keystats *ks, uint64_t key) {
    kperf__ks_slot *s = kperf__ks_find(ks, key);
    if (s) return s;
    if ((ks->n + 1) * 4 > ks->cap * 3) {
        size_t nc = ks->cap ? ks->cap * 2 : 64;
        kperf__ks_slot *ns = (kperf__ks_slot *)kperf__calloc(nc, sizeof *ns);
        if (!ns) return NULL;
        for (size_t i = 0; i < ks->cap; i++) {
            if (!ks->slots[i].used) continue;
            size_t h = kperf__an_hash(ks->slots[i].key, nc);
            while (ns[h].used) h = (h + 1) & (nc - 1);
            ns[h] = ks->slots[i];
        }
        KPERF_FREE(ks->slots);
        ks->slots = ns, ks->cap = nc;
    }
    size_t h = kperf__an_hash(key, ks->cap);
    while (ks->slots[h].used) h = (h + 1) & (ks->cap - 1);
    s = &ks->slots[h];
    memset(s, 0, sizeof *s);
    if (ks->histogram &&
        !(s->st.hist = (uint32_t *)kperf__calloc(KPERF_HIST_BUCKETS, sizeof(uint32_t))))
        return NULL;
    s->used = true, s->key = key;
    ks->n++;
    return s;
}

KPERF_API int kperf_keystats_add(kperf_keystats *ks, uint64_t key, uint64_t value) {
    if (!ks) return -EINVAL;
    kperf__ks_slot *s = kperf__ks_insert(ks, key);
    if (!s) return kperf__fail(ENOMEM, "out of memory");
    kperf_stat_add(&s->st, value);
    return 0;
}

KPERF_API const kperf_stat *kperf_keystats_get(const kperf_keystats *ks, uint64_t key) {
    kperf__ks_slot *s = kperf__ks_find(ks, key);
    return s ? &s->st : NULL;
}

KPERF_API size_t kperf_keystats_count(const kperf_keystats *ks) { return ks ? ks->n : 0; }

KPERF_API int kperf_keystats_foreach(const kperf_keystats *ks, kperf_keystats_fn fn,
                                     void *user) {
    int n = 0;
    for (size_t i = 0; ks && fn && i < ks->cap; i++) {
        if (!ks->slots[i].used) continue;
        int rc = fn(ks->slots[i].key, &ks->slots[i].st, user);
        if (rc < 0) return rc;
        n++;
    }
    return n;
}

KPERF_API int kperf_keystats_merge(kperf_keystats *dst, const kperf_keystats *src) {
    for (size_t i = 0; dst && src && i < src->cap; i++) {
        if (!src->slots[i].used) continue;
        kperf__ks_slot *s = kperf__ks_insert(dst, src->slots[i].key);
        if (!s || kperf_stat_merge(&s->st, &src->slots[i].st) < 0)
            return kperf__fail(ENOMEM, "out of memory");
    }
    return 0;
}

KPERF_API void kperf_keystats_reset(kperf_keystats *ks) {
    for (size_t i = 0; ks && i < ks->cap; i++) KPERF_FREE(ks->slots[i].st.hist);
    if (ks && ks->cap) memset(ks->slots, 0, ks->cap * sizeof *ks->slots);
    if (ks) ks->n = 0;
}

/* ---- two-event relations ---- */

/* One open-addressing table (linear probing) holds, per key, one slot for its start
 * (pending, or idle: the key's last start ended; kept so that a key that comes back, a
 * thread's next syscall, reuses its slot and its call-chain buffer without moving
 * anything) and the key's held ends (kperf_pairer_end_at(): up to KPERF_PAIRER_HELD_MAX).
 * Every entry of a key lies in the probe run from its home slot. Idle slots are dropped
 * when the table is rebuilt; held ends are removed with a backward shift. */
typedef struct kperf__pr_slot {
    kperf_pair_event ev;    /* ev.ips points at ips below */
    uint64_t *ips;
    uint32_t ipcap;
    bool used;
    bool held;              /* a held end */
    bool pending;           /* a start slot with a pending start (else idle) */
} kperf__pr_slot;

struct kperf_pairer {
    kperf__pr_slot *slots;
    size_t cap;
    size_t n;               /* pending starts */
    size_t nidle;           /* idle start slots */
    size_t nheld;           /* held ends */
    uint32_t max_stack;
    kperf_pairer_counts c;
    uint64_t *out_ips;      /* the last end's call chain (handed to the caller) */
    uint32_t out_cap;
};

KPERF_API int kperf_pairer_new(kperf_pairer **out, const kperf_pairer_desc *desc) {
    if (!out) return kperf__fail(EINVAL, "kperf_pairer_new: out is NULL");
    *out = (kperf_pairer *)kperf__calloc(1, sizeof **out);
    if (!*out) return kperf__fail(ENOMEM, "out of memory");
    (*out)->max_stack = desc && desc->max_stack ? desc->max_stack : 127;
    return 0;
}

KPERF_API void kperf_pairer_free(kperf_pairer *p) {
    if (!p) return;
    for (size_t i = 0; i < p->cap; i++) KPERF_FREE(p->slots[i].ips);
    KPERF_FREE(p->slots);
    KPERF_FREE(p->out_ips);
    KPERF_FREE(p);
}

/* The start slot of @p key (pending or idle), or SIZE_MAX. */
KPERF__PRIV size_t kperf__pr_slot_of(const kperf_pairer *p, uint64_t key) {
    if (!p->cap) return SIZE_MAX;
    for (size_t h = kperf__an_hash(key, p->cap);; h = (h + 1) & (p->cap - 1)) {
        const kperf__pr_slot *s = &p->slots[h];
        if (!s->used) return SIZE_MAX;
        if (s->ev.key == key && !s->held) return h;
    }
}

/* The slot of @p key's pending start, or SIZE_MAX. */
KPERF__PRIV size_t kperf__pr_find(const kperf_pairer *p, uint64_t key) {
    size_t h = kperf__pr_slot_of(p, key);
    return h != SIZE_MAX && p->slots[h].pending ? h : SIZE_MAX;
}

/* Rebuilds the table before one more entry goes in when it is 3/4 full: idle slots are
 * dropped (their buffers freed); the size doubles only when the live entries need it. */
KPERF__PRIV int kperf__pr_reserve(kperf_pairer *p) {
    size_t live = p->n + p->nheld;
    if ((live + p->nidle + 1) * 4 <= p->cap * 3) return 0;
    size_t nc = p->cap ? p->cap : 64;
    while ((live + 1) * 2 > nc) nc *= 2;
    kperf__pr_slot *ns = (kperf__pr_slot *)kperf__calloc(nc, sizeof *ns);
    if (!ns) return -ENOMEM;
    for (size_t i = 0; i < p->cap; i++) {
        kperf__pr_slot *s = &p->slots[i];
        if (!s->used) continue;
        if (!s->held && !s->pending) { KPERF_FREE(s->ips); continue; }
        size_t h = kperf__an_hash(s->ev.key, nc);
        while (ns[h].used) h = (h + 1) & (nc - 1);
        ns[h] = *s;
        if (ns[h].ev.nips) ns[h].ev.ips = ns[h].ips;
    }
    KPERF_FREE(p->slots);
    p->slots = ns, p->cap = nc, p->nidle = 0;
    return 0;
}

/* Copies @p ev's call chain into @p s (kept up to max_stack); the slot becomes pending. */
KPERF__PRIV int kperf__pr_keep(kperf_pairer *p, kperf__pr_slot *s, const kperf_pair_event *ev) {
    uint32_t n = ev->ips ? (ev->nips < p->max_stack ? ev->nips : p->max_stack) : 0;
    if (n > s->ipcap) {
        uint64_t *ni = (uint64_t *)KPERF_REALLOC(s->ips, n * sizeof *ni);
        if (!ni) return -ENOMEM;
        s->ips = ni, s->ipcap = n;
    }
    if (n) memcpy(s->ips, ev->ips, n * sizeof *s->ips);
    s->ev = *ev;
    s->ev.nips = n;
    s->ev.ips = n ? s->ips : NULL;
    s->used = true, s->held = false, s->pending = true;
    return 0;
}

/* Stores a start for a key that has no pending one (slot @p h: its idle slot, or SIZE_MAX). */
KPERF__PRIV int kperf__pr_insert(kperf_pairer *p, size_t h, const kperf_pair_event *ev) {
    if (h == SIZE_MAX) {
        if (kperf__pr_reserve(p) < 0) return kperf__fail(ENOMEM, "out of memory");
        h = kperf__an_hash(ev->key, p->cap);
        while (p->slots[h].used) h = (h + 1) & (p->cap - 1);
    } else {
        p->nidle--;
    }
    if (kperf__pr_keep(p, &p->slots[h], ev) < 0) {
        if (!p->slots[h].used) return kperf__fail(ENOMEM, "out of memory");
        p->slots[h].pending = false, p->nidle++; /* back to idle */
        return kperf__fail(ENOMEM, "out of memory");
    }
    p->n++;
    return 0;
}

KPERF_API int kperf_pairer_start(kperf_pairer *p, const kperf_pair_event *ev) {
    if (!p || !ev) return -EINVAL;
    p->c.started++;
    size_t h = kperf__pr_slot_of(p, ev->key);
    if (h != SIZE_MAX && p->slots[h].pending) {
        p->c.restarted++;
        return kperf__pr_keep(p, &p->slots[h], ev) < 0 ? kperf__fail(ENOMEM, "out of memory") : 1;
    }
    return kperf__pr_insert(p, h, ev);
}

/* Removes slot @p h, shifting later members of its probe run back (no tombstones). The
 * slot's ips buffer moves with the shifted entries; the freed buffer is released. */
KPERF__PRIV void kperf__pr_remove(kperf_pairer *p, size_t h) {
    kperf__pr_slot *s = &p->slots[h];
    if (s->held) p->nheld--;
    else if (s->pending) p->n--;
    else p->nidle--;
    KPERF_FREE(s->ips);
    memset(s, 0, sizeof *s);
    size_t j = h;
    for (;;) {
        j = (j + 1) & (p->cap - 1);
        if (!p->slots[j].used) break;
        size_t home = kperf__an_hash(p->slots[j].ev.key, p->cap);
        bool move = h <= j ? (home <= h || home > j) : (home <= h && home > j);
        if (!move) continue;
        p->slots[h] = p->slots[j];
        if (p->slots[h].ev.nips) p->slots[h].ev.ips = p->slots[h].ips;
        memset(&p->slots[j], 0, sizeof p->slots[j]);
        h = j;
    }
}

/* Copies the start in slot @p h to @p out, its chain through our own buffer. */
KPERF__PRIV void kperf__pr_copy_out(kperf_pairer *p, const kperf__pr_slot *s, kperf_pair_event *out) {
    *out = s->ev;
    if (s->ev.nips > p->out_cap) {
        uint64_t *ni = (uint64_t *)KPERF_REALLOC(p->out_ips, s->ev.nips * sizeof *ni);
        if (ni) p->out_ips = ni, p->out_cap = s->ev.nips;
    }
    out->nips = s->ev.nips <= p->out_cap ? s->ev.nips : 0;
    if (out->nips) memcpy(p->out_ips, s->ips, out->nips * sizeof *s->ips);
    out->ips = out->nips ? p->out_ips : NULL;
}

/* Hands the pending start in slot @p h out and makes the slot idle. */
KPERF__PRIV void kperf__pr_take(kperf_pairer *p, size_t h, kperf_pair_event *start) {
    kperf__pr_slot *s = &p->slots[h];
    if (start) kperf__pr_copy_out(p, s, start);
    s->pending = false;
    p->n--, p->nidle++;
}

KPERF_API int kperf_pairer_end(kperf_pairer *p, uint64_t key, kperf_pair_event *start) {
    if (!p) return 0;
    size_t h = kperf__pr_find(p, key);
    if (h == SIZE_MAX) {
        p->c.unmatched_end++;
        return 0;
    }
    p->c.matched++;
    kperf__pr_take(p, h, start);
    return 1;
}

KPERF_API int kperf_pairer_peek(const kperf_pairer *p, uint64_t key, kperf_pair_event *start) {
    size_t h = p ? kperf__pr_find(p, key) : SIZE_MAX;
    if (h == SIZE_MAX) return 0;
    if (start) *start = p->slots[h].ev;
    return 1;
}

KPERF_API int kperf_pairer_foreach(const kperf_pairer *p, kperf_pair_fn fn, void *user) {
    int n = 0;
    for (size_t i = 0; p && fn && i < p->cap; i++) {
        if (!p->slots[i].pending) continue;
        int rc = fn(&p->slots[i].ev, user);
        if (rc < 0) return rc;
        n++;
    }
    return n;
}

KPERF_API void kperf_pairer_counts_read(const kperf_pairer *p, kperf_pairer_counts *out) {
    if (!out) return;
    memset(out, 0, sizeof *out);
    if (!p) return;
    *out = p->c;
    out->pending = p->n;
    out->held = p->nheld;
}

/* The held end of @p key to pair with a start at @p t: the earliest at or after t. */
KPERF__PRIV size_t kperf__pr_held_for(const kperf_pairer *p, uint64_t key, uint64_t t) {
    size_t best = SIZE_MAX;
    for (size_t h = kperf__an_hash(key, p->cap); p->slots[h].used; h = (h + 1) & (p->cap - 1)) {
        const kperf__pr_slot *s = &p->slots[h];
        if (s->held && s->ev.key == key && s->ev.time >= t &&
            (best == SIZE_MAX || s->ev.time < p->slots[best].ev.time))
            best = h;
    }
    return best;
}

KPERF_API int kperf_pairer_start_at(kperf_pairer *p, const kperf_pair_event *ev,
                                    kperf_pair_event *other) {
    if (!p || !ev) return -EINVAL;
    p->c.started++;
    size_t h;
    if (p->nheld && (h = kperf__pr_held_for(p, ev->key, ev->time)) != SIZE_MAX) {
        p->c.matched++;
        if (other) *other = p->slots[h].ev;
        kperf__pr_remove(p, h);
        return 2;
    }
    h = kperf__pr_slot_of(p, ev->key);
    if (h == SIZE_MAX || !p->slots[h].pending) return kperf__pr_insert(p, h, ev);
    if (p->slots[h].ev.time > ev->time) {
        p->c.stale++;
        return 3;
    }
    p->c.restarted++;
    if (other) kperf__pr_copy_out(p, &p->slots[h], other);
    return kperf__pr_keep(p, &p->slots[h], ev) < 0 ? kperf__fail(ENOMEM, "out of memory") : 1;
}

KPERF_API int kperf_pairer_end_at(kperf_pairer *p, const kperf_pair_event *end,
                                  kperf_pair_event *start) {
    if (!p || !end) return -EINVAL;
    size_t h = kperf__pr_find(p, end->key);
    if (h != SIZE_MAX && p->slots[h].ev.time <= end->time) {
        p->c.matched++;
        kperf__pr_take(p, h, start);
        return 1;
    }
    size_t n = 0, oldest = SIZE_MAX; /* hold it: make room among the key's held ends */
    for (size_t i = p->cap ? kperf__an_hash(end->key, p->cap) : 0; p->cap && p->slots[i].used;
         i = (i + 1) & (p->cap - 1)) {
        const kperf__pr_slot *s = &p->slots[i];
        if (!s->held || s->ev.key != end->key) continue;
        n++;
        if (oldest == SIZE_MAX || s->ev.time < p->slots[oldest].ev.time) oldest = i;
    }
    if (n >= KPERF_PAIRER_HELD_MAX) p->c.unmatched_end++, kperf__pr_remove(p, oldest);
    if (kperf__pr_reserve(p) < 0) {
        p->c.unmatched_end++;
        return kperf__fail(ENOMEM, "out of memory");
    }
    h = kperf__an_hash(end->key, p->cap);
    while (p->slots[h].used) h = (h + 1) & (p->cap - 1);
    kperf__pr_slot *s = &p->slots[h];
    s->ev = *end;
    s->ev.nips = 0, s->ev.ips = NULL;
    s->used = true, s->held = true, s->pending = false;
    p->nheld++;
    return 0;
}

KPERF_API size_t kperf_pairer_drop(kperf_pairer *p, kperf_pair_drop_fn fn, void *user) {
    size_t n = 0;
    for (size_t i = 0; p && fn && i < p->cap; i++) {
        kperf__pr_slot *s = &p->slots[i];
        if (!s->pending || !fn(&s->ev, user)) continue;
        s->pending = false; /* idle: nothing moves */
        p->n--, p->nidle++;
        n++;
    }
    return n;
}
// <<analysis

// >>syscalls ----------------------------------------------------------------------------
#ifndef KPERF_NO_SYSCALLS

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
    int32_t alias;          /* -1, or the stat this one was merged into (syscall_NR that
                               got its name after another stat of that name existed) */
} kperf__sc_stat;

/* The pairing itself is a kperf_pairer (>>analysis) keyed by thread id, with its
 * out-of-order support (kperf_pairer_start_at/end_at: an exit read before its entry is held
 * for it). Its kperf_pair_event carries, for an entry: value = stat index << 32 | nr, cpu;
 * for an exit: value = the return value, cpu = the syscall number (an exit's CPU is not
 * used). The thread table below only names threads. */
typedef struct kperf__sc_thread {
    int32_t tid;            /* 0 = empty slot (tid 0 is the idle task: never a caller) */
    bool comm_known;
    char comm[16];
} kperf__sc_thread;

struct kperf_syscall_pairer {
    kperf__sc_stat *stats;  /* one per syscall name seen */
    size_t nstats, capstats;
    int32_t *by_name;       /* open-addressing table of stat indexes keyed by name */
    size_t capname;
    char **nrname;          /* learned names by syscall number */
    size_t nnr;
    uint32_t *nrstat;       /* raw events: stat index + 1 by number (0 = not looked up
                               yet); forgotten whenever a number gets a name */
    size_t nnrstat;
    kperf__sc_thread *thr;  /* thread names: open-addressing table keyed by tid */
    size_t capthr, nthr;
    kperf_pairer *pr;       /* pending entries (and exits read before their entry) by tid */
    kperf_syscall_stat *out;/* last result of kperf_syscall_pairer_stats */
    kperf_syscall_counts c; /* enters, exits, paired, orphan_exits (nr mismatches); the
                               rest comes from pr */
};

KPERF_API int kperf_syscall_pairer_new(kperf_syscall_pairer **out) {
    if (!out) return -EINVAL;
    *out = (kperf_syscall_pairer *)kperf__calloc(1, sizeof **out);
    if (*out && kperf_pairer_new(&(*out)->pr, NULL) < 0) {
        KPERF_FREE(*out);
        *out = NULL;
    }
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
    KPERF_FREE(p->nrstat);
    KPERF_FREE(p->stats);
    KPERF_FREE(p->by_name);
    KPERF_FREE(p->thr);
    kperf_pairer_free(p->pr);
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
    st->alias = -1;
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

/* Follows merges to the stat that now collects a syscall's calls. */
KPERF__PRIV uint32_t kperf__sc_final(const kperf_syscall_pairer *p, uint32_t i) {
    for (int hops = 0; p->stats[i].alias >= 0 && hops < 8; hops++) i = (uint32_t)p->stats[i].alias;
    return i;
}

KPERF__PRIV long kperf__sc_find(const kperf_syscall_pairer *p, const char *name) {
    if (!p->capname) return -1;
    size_t h = kperf__sc_hash(name) & (p->capname - 1);
    for (; p->by_name[h] >= 0; h = (h + 1) & (p->capname - 1))
        if (!strcmp(p->stats[p->by_name[h]].name, name)) return p->by_name[h];
    return -1;
}

/* Calls completed before number @p nr had a name were counted as "syscall_NR": give that
 * stat its name, or fold it into the stat that already has it. */
KPERF__PRIV int kperf__sc_rename(kperf_syscall_pairer *p, int32_t nr, const char *name) {
    char old[32];
    snprintf(old, sizeof old, "syscall_%d", (int)nr);
    long o = kperf__sc_find(p, old);
    if (o < 0 || p->stats[o].alias >= 0) return 0;
    long n = kperf__sc_find(p, name);
    kperf__sc_stat *a = &p->stats[o];
    if (n < 0) {
        char *nn = kperf__strdup(name);
        if (!nn) return -ENOMEM;
        KPERF_FREE(a->name);
        a->name = nn, a->s.name = nn;
        return kperf__sc_rehash_names(p, p->capname);
    }
    kperf__sc_stat *b = &p->stats[n];
    if (a->hist && !b->hist && !(b->hist = (uint64_t *)kperf__calloc(KPERF__SC_NBUCKETS, 8)))
        return -ENOMEM;
    for (uint32_t i = 0; a->hist && i < KPERF__SC_NBUCKETS; i++) b->hist[i] += a->hist[i];
    if (a->s.count && (!b->s.count || a->s.min < b->s.min)) b->s.min = a->s.min;
    if (a->s.max > b->s.max) b->s.max = a->s.max;
    b->s.count += a->s.count, b->s.errors += a->s.errors, b->s.total += a->s.total;
    b->s.unfinished += a->s.unfinished;
    memset(&a->s, 0, sizeof a->s);
    a->s.name = a->name, a->s.nr = nr;
    a->alias = (int32_t)n;
    return 0;
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
    if (p->nnrstat) memset(p->nrstat, 0, p->nnrstat * sizeof *p->nrstat);
    return kperf__sc_rename(p, nr, name);
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
KPERF__PRIV long kperf__sc_resolve_name(kperf_syscall_pairer *p, const kperf_syscall_event *ev);

KPERF__PRIV long kperf__sc_resolve(kperf_syscall_pairer *p, const kperf_syscall_event *ev) {
    if (ev->name || ev->nr < 0 || ev->nr > 65535) return kperf__sc_resolve_name(p, ev);
    if ((size_t)ev->nr < p->nnrstat && p->nrstat[ev->nr]) return (long)p->nrstat[ev->nr] - 1;
    long st = kperf__sc_resolve_name(p, ev);
    if (st < 0 || st >= (long)UINT32_MAX) return st;
    if ((size_t)ev->nr >= p->nnrstat) {
        size_t nn = p->nnrstat ? p->nnrstat : 512;
        while (nn <= (size_t)ev->nr) nn *= 2;
        uint32_t *v = (uint32_t *)KPERF_REALLOC(p->nrstat, nn * sizeof *v);
        if (!v) return st; /* no cache: still correct */
        memset(v + p->nnrstat, 0, (nn - p->nnrstat) * sizeof *v);
        p->nrstat = v, p->nnrstat = nn;
    }
    p->nrstat[ev->nr] = (uint32_t)st + 1;
    return st;
}

KPERF__PRIV long kperf__sc_resolve_name(kperf_syscall_pairer *p, const kperf_syscall_event *ev) {
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

/* The stat of an entry's pair event. */
KPERF__PRIV uint32_t kperf__sc_stat_ix(const kperf_syscall_pairer *p, const kperf_pair_event *in) {
    return kperf__sc_final(p, (uint32_t)(in->value >> 32));
}

KPERF__PRIV int kperf__sc_complete(kperf_syscall_pairer *p, const kperf_pair_event *in,
                                   const kperf_pair_event *ex, kperf_syscall_fn fn, void *user) {
    kperf__sc_stat *st = &p->stats[kperf__sc_stat_ix(p, in)];
    int32_t in_nr = (int32_t)(uint32_t)in->value, ex_nr = (int32_t)ex->cpu;
    int64_t ret = (int64_t)ex->value;
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
    if (ret < 0 && ret >= -4095) st->s.errors++;
    if (st->s.nr < 0) st->s.nr = in_nr >= 0 ? in_nr : ex_nr;
    p->c.paired++;
    if (!fn) return 1;
    kperf__sc_thread *t = kperf__sc_thread_of(p, (int32_t)in->tid);
    if (t && !t->comm_known) kperf__sc_learn_comm(t, (int32_t)in->pid, (int32_t)in->tid);
    kperf_syscall_call c;
    memset(&c, 0, sizeof c);
    c.name = st->name;
    c.nr = in_nr >= 0 ? in_nr : ex_nr;
    c.start = in->time;
    c.duration = d;
    c.pid = (int32_t)in->pid;
    c.tid = (int32_t)in->tid;
    c.cpu = (int32_t)in->cpu;
    c.ret = ret;
    if (t) memcpy(c.comm, t->comm, sizeof c.comm);
    int rc = fn(&c, user);
    return rc < 0 ? rc : 1;
}

KPERF__PRIV bool kperf__sc_same(int32_t a, int32_t b) { return a < 0 || b < 0 || a == b; }

/* An entry and the exit the pairer matched it with: one call, unless the exit is another
 * syscall's (the entry's exit was lost: it is unfinished, the exit an orphan). */
KPERF__PRIV int kperf__sc_pair(kperf_syscall_pairer *p, const kperf_pair_event *in,
                               const kperf_pair_event *ex, kperf_syscall_fn fn, void *user) {
    if (kperf__sc_same((int32_t)(uint32_t)in->value, (int32_t)ex->cpu))
        return kperf__sc_complete(p, in, ex, fn, user);
    p->stats[kperf__sc_stat_ix(p, in)].s.unfinished++;
    p->c.orphan_exits++;
    return 0;
}

KPERF_API int kperf_syscall_pairer_feed(kperf_syscall_pairer *p, const kperf_syscall_event *ev,
                                        kperf_syscall_fn fn, void *user) {
    if (!p || !ev) return -EINVAL;
    uint32_t stat = 0;
    if (!ev->is_exit || ev->name) { /* exits without a name take their entry's */
        long sx = kperf__sc_resolve(p, ev);
        if (sx < 0) return kperf__fail(ENOMEM, "syscall pairer: out of memory");
        stat = (uint32_t)sx;
    }
    kperf_pair_event pe, other;
    memset(&pe, 0, sizeof pe);
    pe.key = (uint32_t)ev->tid;
    pe.time = ev->time;
    pe.pid = (uint32_t)ev->pid;
    pe.tid = (uint32_t)ev->tid;
    int rc;
    if (ev->is_exit) {
        p->c.exits++;
        pe.value = (uint64_t)ev->ret;
        pe.cpu = (uint32_t)ev->nr;
        if ((rc = kperf_pairer_end_at(p->pr, &pe, &other)) <= 0) return rc; /* held */
        return kperf__sc_pair(p, &other, &pe, fn, user);
    }
    p->c.enters++;
    pe.value = (uint64_t)stat << 32 | (uint32_t)ev->nr;
    pe.cpu = (uint32_t)ev->cpu;
    rc = kperf_pairer_start_at(p->pr, &pe, &other);
    if (rc == 1) p->stats[kperf__sc_stat_ix(p, &other)].s.unfinished++; /* its exit never came */
    if (rc == 3) p->stats[kperf__sc_final(p, stat)].s.unfinished++;  /* an older entry, late */
    if (rc == 2) return kperf__sc_pair(p, &pe, &other, fn, user);    /* its exit was held */
    return rc < 0 ? rc : 0;
}

typedef struct kperf__sc_lost_ctx {
    kperf_syscall_pairer *p;
    int32_t cpu;
} kperf__sc_lost_ctx;

KPERF__PRIV int kperf__sc_lost_one(const kperf_pair_event *in, void *user) {
    kperf__sc_lost_ctx *x = (kperf__sc_lost_ctx *)user;
    if (x->cpu >= 0 && (int32_t)in->cpu != x->cpu) return 0;
    x->p->stats[kperf__sc_stat_ix(x->p, in)].s.unfinished++;
    return 1;
}

KPERF_API size_t kperf_syscall_pairer_lost(kperf_syscall_pairer *p, int32_t cpu) {
    if (!p) return 0;
    kperf__sc_lost_ctx x = {p, cpu};
    return kperf_pairer_drop(p->pr, kperf__sc_lost_one, &x);
}

KPERF_API void kperf_syscall_pairer_counts(const kperf_syscall_pairer *p,
                                           kperf_syscall_counts *out) {
    if (!out) return;
    if (!p) { memset(out, 0, sizeof *out); return; }
    *out = p->c;
    kperf_pairer_counts pc;
    kperf_pairer_counts_read(p->pr, &pc);
    out->pending = pc.pending;
    out->early_exits = pc.held;
    out->orphan_exits += pc.unmatched_end;
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

typedef struct kperf__sc_open_ctx {
    kperf_syscall_pairer *p;
    uint64_t *open;
} kperf__sc_open_ctx;

KPERF__PRIV int kperf__sc_open_one(const kperf_pair_event *in, void *user) {
    kperf__sc_open_ctx *x = (kperf__sc_open_ctx *)user;
    x->open[kperf__sc_stat_ix(x->p, in)]++;
    return 0;
}

KPERF_API int kperf_syscall_pairer_stats(kperf_syscall_pairer *p, const kperf_syscall_stat **out,
                                         size_t *count) {
    if (!p || !out || !count) return -EINVAL;
    kperf_syscall_stat *v = (kperf_syscall_stat *)kperf__calloc(p->nstats ? p->nstats : 1, sizeof *v);
    uint64_t *open = (uint64_t *)kperf__calloc(p->nstats ? p->nstats : 1, sizeof *open);
    if (!v || !open) {
        KPERF_FREE(v), KPERF_FREE(open);
        return kperf__fail(ENOMEM, "syscall pairer: out of memory");
    }
    kperf__sc_open_ctx oc = {p, open}; /* entries still waiting count as unfinished */
    kperf_pairer_foreach(p->pr, kperf__sc_open_one, &oc);
    size_t n = 0;
    for (size_t i = 0; i < p->nstats; i++) {
        kperf__sc_stat *st = &p->stats[i];
        if (st->alias >= 0) continue;
        v[n] = st->s;
        v[n].unfinished += open[i];
        v[n].mean = st->s.count ? st->s.total / st->s.count : 0;
        v[n].p50 = kperf__sc_pct(st, 0.50);
        v[n].p90 = kperf__sc_pct(st, 0.90);
        v[n].p99 = kperf__sc_pct(st, 0.99);
        n++;
    }
    KPERF_FREE(open);
    if (n > 1) qsort(v, n, sizeof *v, kperf__sc_by_total);
    KPERF_FREE(p->out);
    p->out = v;
    *out = v;
    *count = n;
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
        int rc = kperf__dir_names(dir, &v, &n, true);
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
            kperf__names_free(v, 0);
            return kperf__fail(KPERF_ENOTSUP, "%s has no sys_enter_* events", dir);
        }
        qsort(v, k, sizeof *v, kperf__strptr_cmp);
        tfs->sysnames = v, tfs->nsysnames = k;
    }
    *names = (const char *const *)tfs->sysnames;
    *count = tfs->nsysnames;
    return 0;
}
/* ---- the live tracer: a sampler over syscall tracepoints feeding a pairer ---- */

struct kperf__sc_ftline {         /* the last trace line of a CPU: one half of a pair */
    int pid;                    /* 0: none */
    int nr;                     /* raw_syscalls:sys_enter's NR, or -1 */
    char name[64];              /* a sys_NAME(...) line's NAME, or "" */
};

struct kperf_syscalls {
    kperf_tracefs *tfs;
    kperf_sampler *data;        /* the events whose records are paired */
    char ft_dir[PATH_MAX];      /* all-syscalls mode: the ftrace instance naming numbers */
    int ft_fd;                  /* its trace_pipe, or -1 */
    char ft_buf[4096];          /* a partial line carried between reads */
    size_t ft_len;
    bool ft_pair;               /* no "fields" option (before Linux 6.5): pair the lines */
    struct kperf__sc_ftline *ft_half; /* per CPU (ft_pair) */
    char names_msg[512];        /* why numbers cannot be named, "" when they can */
    kperf_syscall_pairer *p;
    kperf_syscall_fn fn;        /* the current read's callback */
    void *user;
    int done, err;
};

/* CPUs whose trace lines name syscall numbers by pairs (kperf__sc_ftrace_pair). */
#define KPERF__SC_CPUS 4096

/* The sampler's spec parser is given specs of at most this many characters. */
#define KPERF__SC_SPEC_MAX 4000

KPERF__PRIV int kperf__sc_spec_add(char **spec, size_t *len, size_t *cap, const char *ev) {
    size_t n = strlen(ev);
    if (*len + n + 2 > *cap) {
        size_t nc = (*cap ? *cap * 2 : 1024) + n;
        char *ns = (char *)KPERF_REALLOC(*spec, nc);
        if (!ns) return -ENOMEM;
        *spec = ns, *cap = nc;
    }
    if (*len) (*spec)[(*len)++] = ',';
    memcpy(*spec + *len, ev, n + 1);
    *len += n;
    return 0;
}

KPERF__PRIV int kperf__sc_sampler(const kperf_syscalls_desc *d, const char *spec, uint32_t pages,
                                  kperf_sampler **out) {
    kperf_sampler_desc sd;
    memset(&sd, 0, sizeof sd);
    sd.events = spec;
    sd.period = 1;
    sd.include_kernel = true; /* tracepoint records come from kernel context */
    sd.pids = d->pids, sd.npids = d->npids;
    sd.tids = d->tids, sd.ntids = d->ntids;
    sd.cpus = d->cpus, sd.ncpus = d->ncpus;
    sd.all_cpus = d->all_cpus;
    sd.inherit = d->inherit;
    sd.enable_on_exec = d->enable_on_exec;
    sd.ring_pages = pages;
    return kperf_sampler_open(out, &sd);
}

/* ---- naming numbers from the running kernel ----
 * tracefs has no number -> name table, and perf events on every syscalls:sys_enter_NAME
 * would cost one RCU grace period each when closed (about 12 s for 360 of them in a VM).
 * So kperf makes a private ftrace instance, enables the sys_enter_NAME events there (one
 * tracepoint probe for all of them: nothing per event to tear down) with the "fields"
 * option, and reads `sys_enter_NAME: __syscall_nr=0x27 (39)` lines from its trace_pipe. */

KPERF__PRIV int kperf__sc_write(const char *dir, const char *file, const char *text) {
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) return -errno;
    ssize_t w = write(fd, text, strlen(text));
    int e = errno;
    close(fd);
    return w < 0 ? -e : 0;
}

KPERF__PRIV void kperf__sc_ftrace_close(kperf_syscalls *s) {
    if (s->ft_fd >= 0) close(s->ft_fd);
    s->ft_fd = -1;
    KPERF_FREE(s->ft_half);
    s->ft_half = NULL;
    s->ft_pair = false;
    if (s->ft_dir[0]) {
        kperf__sc_write(s->ft_dir, "tracing_on", "0");
        rmdir(s->ft_dir); /* disables its events and frees its buffers */
        s->ft_dir[0] = 0;
    }
}

KPERF__PRIV void kperf__sc_ftrace_read(kperf_syscalls *s);

/* The inode of this process's pid namespace: instance names carry it, so that a pid in
 * an instance name is only ever checked in the namespace it belongs to. */
KPERF__PRIV unsigned long long kperf__sc_pidns(void) {
    char link[64] = "";
    unsigned long long ino = 0;
    ssize_t k = readlink("/proc/self/ns/pid", link, sizeof link - 1);
    if (k > 0) link[k] = 0, sscanf(link, "pid:[%llu]", &ino);
    return ino;
}

/* Removes the instances that tracers of this pid namespace left behind when their process
 * died before closing them (kperf-NS-PID-N with PID gone). */
KPERF__PRIV void kperf__sc_ftrace_sweep(const char *root, unsigned long long ns) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%.3000s/instances", root);
    DIR *dh = opendir(dir);
    for (struct dirent *e; dh && (e = readdir(dh));) {
        unsigned long long ens;
        int pid, seq, end = 0;
        if (sscanf(e->d_name, "kperf-%llu-%d-%d%n", &ens, &pid, &seq, &end) != 3 ||
            e->d_name[end] || ens != ns || pid <= 0)
            continue;
        if (kill(pid, 0) == 0 || errno != ESRCH) continue; /* alive (or not ours to judge) */
        char inst[PATH_MAX + 256];
        snprintf(inst, sizeof inst, "%s/%s", dir, e->d_name);
        kperf__sc_write(inst, "tracing_on", "0");
        rmdir(inst);
    }
    if (dh) closedir(dh);
}

KPERF__PRIV int kperf__sc_ftrace_open(kperf_syscalls *s, const kperf_syscalls_desc *d) {
    static int seq;
    const char *const *names;
    size_t n;
    int rc = kperf_syscall_names(s->tfs, &names, &n);
    if (rc < 0) return rc;
    unsigned long long ns = kperf__sc_pidns();
    kperf__sc_ftrace_sweep(s->tfs->root, ns);
    snprintf(s->ft_dir, sizeof s->ft_dir, "%.3000s/instances/kperf-%llu-%d-%d", s->tfs->root, ns,
             (int)getpid(), __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED));
    if (mkdir(s->ft_dir, 0700) < 0) {
        int e = errno;
        s->ft_dir[0] = 0;
        return kperf__fail(e, "cannot create the ftrace instance that names syscall numbers "
                           "(%s/instances: %s); names show as syscall_NR", s->tfs->root, strerror(e));
    }
    if (kperf__sc_write(s->ft_dir, "options/fields", "1") < 0) {
        /* Before Linux 6.5: sys_enter_NAME prints "sys_NAME(args)" without its number, so
         * raw_syscalls:sys_enter ("sys_enter: NR 172 (...)") is enabled too; the two
         * lines one syscall writes follow each other on its CPU. */
        s->ft_half = (struct kperf__sc_ftline *)kperf__calloc(KPERF__SC_CPUS, sizeof *s->ft_half);
        if (!s->ft_half ||
            (rc = kperf__sc_write(s->ft_dir, "events/raw_syscalls/sys_enter/enable", "1")) < 0) {
            kperf__sc_ftrace_close(s);
            return kperf__fail(s->ft_half ? -rc : ENOMEM,
                               "this kernel's ftrace has neither the 'fields' option (Linux "
                               "6.5+) nor raw_syscalls:sys_enter; syscall numbers show as "
                               "syscall_NR");
        }
        s->ft_pair = true;
    }
    (void)d; /* machine-wide on purpose: any process teaches a number (ftrace's pid filter
              * can miss a task that moves between CPUs), and each event is switched off
              * as soon as it has named its number, so the cost is one line per syscall */
    for (size_t i = 0; i < n; i++) {
        char f[300];
        snprintf(f, sizeof f, "events/syscalls/sys_enter_%s/enable", names[i]);
        kperf__sc_write(s->ft_dir, f, "1");
    }
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/trace_pipe", s->ft_dir);
    s->ft_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (s->ft_fd < 0) {
        int e = errno;
        kperf__sc_ftrace_close(s);
        return kperf__fail(e, "cannot read %s: %s", path, strerror(e));
    }
    /* The machine's frequent syscalls name themselves within milliseconds; switching them
     * off now keeps them from flooding the instance's buffer (which overwrites its oldest
     * lines) while the targets make their rarer calls. */
    for (int i = 0; i < 5; i++) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
        kperf__sc_ftrace_read(s);
    }
    return 0;
}

/* Names @p nr @p name unless known; switches sys_enter_NAME off once learned. */
KPERF__PRIV void kperf__sc_ftrace_learn(kperf_syscalls *s, long nr, const char *name) {
    if (nr < 0 || nr > 65535) return;
    if ((size_t)nr >= s->p->nnr || !s->p->nrname[nr]) {
        char f[200];
        kperf_syscall_pairer_name(s->p, (int32_t)nr, name);
        snprintf(f, sizeof f, "events/syscalls/sys_enter_%s/enable", name);
        kperf__sc_write(s->ft_dir, f, "0"); /* learned: quiet from now on */
    }
}

/* ft_pair: one line "COMM-PID [CPU] FLAGS TS: sys_NAME(args)" or "...: sys_enter: NR 39
 * (args)"; the other half of its pair is the previous line of the same CPU and task. */
KPERF__PRIV void kperf__sc_ftrace_pair(kperf_syscalls *s, const char *line) {
    const char *br = strstr(line, "] "), *ob, *ev;
    if (!br || !(ev = strstr(br, ": "))) return;
    for (ob = br; ob > line && ob[-1] != '['; ob--) {}
    if (ob == line || ob - 1 == line) return;
    long cpu = strtol(ob, NULL, 10);
    const char *dash = ob - 1;
    while (dash > line && *dash != '-') dash--;
    int pid = (int)strtol(dash + 1, NULL, 10);
    if (cpu < 0 || cpu >= KPERF__SC_CPUS || pid <= 0) return;
    struct kperf__sc_ftline cur, *h = &s->ft_half[cpu];
    memset(&cur, 0, sizeof cur);
    cur.pid = pid, cur.nr = -1;
    ev += 2;
    if (!strncmp(ev, "sys_enter: NR ", 14)) {
        char *end;
        long nr = strtol(ev + 14, &end, 10);
        if (end == ev + 14 || nr < 0 || nr > 65535) return;
        cur.nr = (int)nr;
    } else if (!strncmp(ev, "sys_", 4)) {
        const char *par = strchr(ev, '(');
        size_t len = par ? (size_t)(par - ev - 4) : 0;
        if (!len || len >= sizeof cur.name) return;
        memcpy(cur.name, ev + 4, len);
        cur.name[len] = 0;
    } else {
        h->pid = 0;
        return;
    }
    if (h->pid == pid && (cur.nr >= 0) != (h->nr >= 0)) { /* the two halves of one call */
        kperf__sc_ftrace_learn(s, cur.nr >= 0 ? cur.nr : h->nr, cur.nr >= 0 ? h->name : cur.name);
        h->pid = 0;
        return;
    }
    *h = cur;
}

/* Learns from one trace_pipe line: "... sys_enter_NAME: __syscall_nr=0x27 (39) ...". */
KPERF__PRIV void kperf__sc_ftrace_line(kperf_syscalls *s, const char *line) {
    if (s->ft_pair) {
        kperf__sc_ftrace_pair(s, line);
        return;
    }
    const char *a = strstr(line, ": sys_enter_"), *b;
    if (!a || !(b = strstr(a, ": __syscall_nr="))) return;
    a += 12;
    char name[128];
    size_t len = (size_t)(b - a);
    if (len == 0 || len >= sizeof name) return;
    memcpy(name, a, len), name[len] = 0;
    char *end;
    long nr = strtol(b + 15, &end, 0);
    if (end == b + 15) return;
    kperf__sc_ftrace_learn(s, nr, name);
}

KPERF__PRIV void kperf__sc_ftrace_read(kperf_syscalls *s) {
    if (s->ft_fd < 0) return;
    for (int rounds = 0; rounds < 64; rounds++) { /* bounded: the pipe refills while we read */
        ssize_t r = read(s->ft_fd, s->ft_buf + s->ft_len, sizeof s->ft_buf - 1 - s->ft_len);
        if (r <= 0) break;
        s->ft_len += (size_t)r;
        s->ft_buf[s->ft_len] = 0;
        char *p = s->ft_buf, *nl;
        while ((nl = strchr(p, '\n'))) {
            *nl = 0;
            kperf__sc_ftrace_line(s, p);
            p = nl + 1;
        }
        s->ft_len = strlen(p);
        if (s->ft_len == sizeof s->ft_buf - 1) s->ft_len = 0; /* an absurd line: drop it */
        memmove(s->ft_buf, p, s->ft_len);
    }
}

KPERF_API int kperf_syscalls_open(kperf_syscalls **out, const kperf_syscalls_desc *desc) {
    if (!out) return kperf__fail(EINVAL, "kperf_syscalls_open: out is NULL");
    *out = NULL;
    kperf_syscalls_desc d;
    memset(&d, 0, sizeof d);
    if (desc) d = *desc;
    kperf_syscalls *s = (kperf_syscalls *)kperf__calloc(1, sizeof *s);
    if (!s) return kperf__fail(ENOMEM, "syscalls: out of memory");
    s->ft_fd = -1;
    int rc = kperf_tracefs_open(&s->tfs, d.tracefs);
    if (rc == 0) rc = kperf_syscall_pairer_new(&s->p);
    char *spec = NULL, ev[300];
    size_t len = 0, cap = 0;
    for (size_t i = 0; rc == 0 && i < d.nfuncs; i++) {
        const char *f = d.funcs[i];
        char name[280];
        snprintf(name, sizeof name, "sys_enter_%s", f ? f : "");
        if (!f || kperf_tracefs_event_id(s->tfs, "syscalls", name) < 0) {
            rc = kperf__fail(KPERF_ENOEVENT, "syscall '%s' has no tracepoint syscalls:%s in "
                             "this kernel ('kperf syscalls --list' shows the names)",
                             f ? f : "(null)", name);
            break;
        }
        snprintf(ev, sizeof ev, "syscalls:sys_enter_%s,syscalls:sys_exit_%s", f, f);
        if (kperf__sc_spec_add(&spec, &len, &cap, ev) < 0) rc = kperf__fail(ENOMEM, "out of memory");
    }
    if (rc == 0 && d.nfuncs && len > KPERF__SC_SPEC_MAX)
        rc = kperf__fail(KPERF_ELIMIT, "syscalls: %zu names are too many to trace one by one; "
                         "trace every syscall (no funcs) instead", d.nfuncs);
    if (rc == 0 && !d.nfuncs && kperf__sc_spec_add(&spec, &len, &cap,
                                                   "raw_syscalls:sys_enter,raw_syscalls:sys_exit") < 0)
        rc = kperf__fail(ENOMEM, "out of memory");
    if (rc == 0) { /* cache the formats now: no id index scan at the first record */
        const kperf_tp_format *f;
        if (!d.nfuncs) {
            kperf_tracefs_format(s->tfs, "raw_syscalls", "sys_enter", &f);
            kperf_tracefs_format(s->tfs, "raw_syscalls", "sys_exit", &f);
        }
        for (size_t i = 0; i < d.nfuncs; i++) {
            snprintf(ev, sizeof ev, "sys_enter_%s", d.funcs[i]);
            kperf_tracefs_format(s->tfs, "syscalls", ev, &f);
            snprintf(ev, sizeof ev, "sys_exit_%s", d.funcs[i]);
            kperf_tracefs_format(s->tfs, "syscalls", ev, &f);
        }
        rc = kperf__sc_sampler(&d, spec, d.ring_pages ? d.ring_pages : 256, &s->data);
    }
    if (rc == 0 && !d.nfuncs && !d.no_names && kperf__sc_ftrace_open(s, &d) < 0)
        snprintf(s->names_msg, sizeof s->names_msg, "%.500s", kperf_errmsg()); /* best effort */
    KPERF_FREE(spec);
    if (rc < 0) {
        kperf_syscalls_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

KPERF_API void kperf_syscalls_close(kperf_syscalls *s) {
    if (!s) return;
    kperf__sc_ftrace_close(s);
    kperf_sampler_close(s->data);
    kperf_syscall_pairer_free(s->p);
    kperf_tracefs_close(s->tfs);
    KPERF_FREE(s);
}

KPERF_API int kperf_syscalls_start(kperf_syscalls *s) {
    if (!s) return -EINVAL;
    kperf__sc_ftrace_read(s);
    return kperf_sampler_start(s->data);
}

KPERF_API int kperf_syscalls_stop(kperf_syscalls *s) {
    if (!s) return -EINVAL;
    return kperf_sampler_stop(s->data);
}

KPERF__PRIV int kperf__sc_on_data(const kperf_record *rec, void *user) {
    kperf_syscalls *s = (kperf_syscalls *)user;
    if (rec->type == KPERF_RECORD_COMM) {
        kperf_syscall_pairer_comm(s->p, (int32_t)rec->comm.tid, rec->comm.comm);
        return 0;
    }
    if (rec->type == KPERF_RECORD_LOST) { /* the exits of that CPU's pending entries may be gone */
        kperf_syscall_pairer_lost(s->p, rec->cpu > (uint32_t)INT32_MAX ? -1 : (int32_t)rec->cpu);
        return 0;
    }
    if (rec->type != KPERF_RECORD_SAMPLE || !rec->sample.raw) return 0;
    kperf_syscall_event ev;
    memset(&ev, 0, sizeof ev);
    int rc = kperf_syscall_event_decode(s->tfs, rec->sample.raw, rec->sample.raw_size, &ev);
    if (rc <= 0) return 0; /* not ours, or a truncated record: skip it */
    ev.time = rec->time;
    ev.pid = (int32_t)rec->pid;
    ev.tid = (int32_t)rec->tid;
    ev.cpu = (int32_t)rec->cpu;
    kperf__sc_thread *t = s->fn ? kperf__sc_thread_of(s->p, ev.tid) : NULL;
    if (t && !t->comm_known) { /* the sampler knows names from /proc and COMM records */
        const char *c = kperf_sampler_comm(s->data, rec->pid);
        if (c) kperf_syscall_pairer_comm(s->p, ev.tid, c);
    }
    rc = kperf_syscall_pairer_feed(s->p, &ev, s->fn, s->user);
    if (rc < 0) return s->err = rc;
    s->done += rc;
    return 0;
}

KPERF_API int kperf_syscalls_read(kperf_syscalls *s, kperf_syscall_fn fn, void *user) {
    if (!s) return kperf__fail(EINVAL, "kperf_syscalls_read: NULL tracer");
    kperf__sc_ftrace_read(s); /* learn names first, then pair */
    s->fn = fn, s->user = user, s->done = 0, s->err = 0;
    int rc = kperf_sampler_read(s->data, kperf__sc_on_data, s);
    if (s->err < 0) return s->err;
    if (rc < 0) return rc;
    return s->done;
}

KPERF_API int kperf_syscalls_stats(kperf_syscalls *s, const kperf_syscall_stat **out,
                                   size_t *count) {
    if (!s) return -EINVAL;
    return kperf_syscall_pairer_stats(s->p, out, count);
}

KPERF_API void kperf_syscalls_counts(const kperf_syscalls *s, kperf_syscall_counts *out,
                                     uint64_t *lost) {
    kperf_syscall_pairer_counts(s ? s->p : NULL, out);
    if (lost) {
        kperf_sampler_stats st;
        memset(&st, 0, sizeof st);
        if (s && s->data) kperf_sampler_stats_read(s->data, &st);
        *lost = st.total.lost + st.total.lost_samples;
    }
}

KPERF_API const char *kperf_syscalls_names_status(const kperf_syscalls *s) {
    return s ? s->names_msg : "";
}

KPERF_API kperf_sampler *kperf_syscalls_sampler(const kperf_syscalls *s) {
    return s ? s->data : NULL;
}
// <<syscalls
#endif // KPERF_NO_SYSCALLS



// >>device ------------------------------------------------------------------------------
#ifndef KPERF_NO_DEVICE

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

static bool kperf__dev_row_matches(const kperf__metric_row *r, const kperf_pmu *p) {
    return kperf__dev_match(r->pmu, p->name) && (!r->need || kperf_pmu_format_find(p, r->need));
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
    qsort(list, n, sizeof *list, kperf__strptr_cmp);
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
    kperf_topology *topo; /* CPU -> NUMA node and socket; NULL when the tree has none */
    kperf__bdfs pcie, smmu;
    bool have_pcie, have_smmu;
};

static void kperf__dev_topo(kperf_device *d, int cpu, int *node, int *socket) {
    kperf_cpu_topo t;
    *node = *socket = -1;
    if (d->topo && kperf_topology_cpu(d->topo, cpu, &t) == 0) *node = t.numa, *socket = t.socket;
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

/* Parses "pmu/terms[,extra]/" with the event parser (the PMU's format files and aliases). */
static int kperf__dev_parse(kperf_device *d, const char *pmu, const char *terms, const char *extra,
                            kperf_evlist **out) {
    char spec[160];
    int n = snprintf(spec, sizeof spec, "%s/%s%s%s/", pmu, terms, extra && *extra ? "," : "",
                     extra ? extra : "");
    if (n < 0 || (size_t)n >= sizeof spec)
        return kperf__fail(KPERF_EPARSE, "%s/%s/: event too long", pmu, terms);
    int rc = kperf_evlist_parse(out, spec, d->pmus);
    if (rc == 0 && (*out)->nevents != 1) {
        kperf_evlist_free(*out);
        *out = NULL;
        return kperf__fail(KPERF_EPARSE, "%s: expected one event", spec);
    }
    return rc;
}

/* Appends one parsed event on cpu to the plan. */
static int kperf__dev_add(kperf_device *d, const kperf_event *ev, int cpu, int leader, int key,
                          int role, double weight) {
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
    snprintf(e->spec, sizeof e->spec, "%s", ev->name);
    snprintf(e->pmu, sizeof e->pmu, "%s", ev->pmu);
    e->type = ev->type;
    memcpy(e->config, ev->config, sizeof e->config);
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
    size_t n = 0;
    const int *online = d->topo ? kperf_topology_cpus(d->topo, &n) : NULL;
    if (!online || !n) return cpus[0] = 0, 1;
    if (mode != KPERF_METRIC_PER_CORE && !p->is_core) n = 1;
    for (size_t i = 0; i < n && i < (size_t)cap; i++) cpus[i] = online[i];
    return (int)(n < (size_t)cap ? n : (size_t)cap);
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
 * row's events (so that the parts of a ratio start and stop together). */
static int kperf__dev_plan_row(kperf_device *d, int item, const kperf__metric_row *r,
                               const kperf_pmu *p, const char *want) {
    int *cpus = (int *)kperf__calloc(KPERF__DEV_MAXCPU, sizeof(int));
    kperf__dev_target *t = (kperf__dev_target *)kperf__calloc(64, sizeof *t);
    int rc = cpus && t ? 0 : kperf__fail(ENOMEM, "kperf_device: out of memory");
    int ncpu = rc ? 0 : kperf__dev_cpus(d, p, r->mode, r->metric, cpus, KPERF__DEV_MAXCPU);
    int nt = 1;
    if (ncpu < 0) rc = ncpu;
    else if (r->filter != KPERF__MF_NONE) nt = kperf__dev_targets(d, r, p, want, t, 64);
    for (int k = 0; rc == 0 && k < nt; k++) {
        kperf_evlist *ev[3] = {NULL, NULL, NULL};
        for (int e = 0; rc == 0 && e < 3 && r->ev[e]; e++)
            rc = kperf__dev_parse(d, p->name, r->ev[e], t[k].extra, &ev[e]);
        for (int c = 0; rc == 0 && c < ncpu; c++) {
            int node, sock, ch = r->channel >= 0 ? r->channel : kperf__dev_channel(p->name);
            kperf__dev_topo(d, cpus[c], &node, &sock);
            if (r->filter == KPERF__MF_NONE)
                kperf__dev_where(t[k].where, sizeof t[k].where, p, r->mode, cpus[c], ncpu, ch, node);
            int key = kperf__dev_key_get(d, item, t[k].where, cpus[c],
                                         r->mode == KPERF_METRIC_PER_CHANNEL ? ch : -1);
            if (key < 0) rc = key;
            int leader = (int)d->nev;
            for (int e = 0; rc == 0 && e < 3 && ev[e]; e++)
                rc = kperf__dev_add(d, &ev[e]->events[0], cpus[c], leader, key, e,
                                    e == 0 ? r->scale : 1.0);
        }
        for (int e = 0; e < 3; e++) kperf_evlist_free(ev[e]);
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

/* Plans one raw uncore event "pmu/terms/" through the event parser, which expands a PMU
 * name without its instance suffix to every instance; one value per instance (and CPU of
 * its cpumask), with the alias's .scale applied and its .unit reported. */
static int kperf__dev_plan_event(kperf_device *d, const char *spec, size_t len) {
    int item = kperf__dev_item_new(d, spec, len);
    if (item < 0) return item;
    kperf__dev_item *it = &d->items[item];
    it->kind = KPERF__MK_SUM, it->mode = KPERF_METRIC_PER_PMU;
    kperf_evlist *l = NULL;
    int rc = kperf_evlist_parse(&l, it->name, d->pmus);
    for (size_t i = 0; rc == 0 && i < l->nevents; i++) {
        const kperf_event *ev = &l->events[i];
        const kperf_pmu *p = kperf_pmus_find(d->pmus, ev->pmu);
        if (!p) {
            rc = kperf__fail(KPERF_ENOPMU, "%s: not a PMU event", it->name);
            break;
        }
        if (i == 0) snprintf(it->unit, sizeof it->unit, "%s", ev->unit);
        int cpus[KPERF__DEV_MAXCPU / 8];
        int n = kperf__dev_cpus(d, p, KPERF_METRIC_PER_PMU, it->name, cpus,
                                (int)(sizeof cpus / sizeof cpus[0]));
        if (n < 0) rc = n;
        for (int c = 0; rc == 0 && c < n; c++) {
            char where[64];
            kperf__dev_where(where, sizeof where, p, KPERF_METRIC_PER_PMU, cpus[c], n, -1, -1);
            int key = kperf__dev_key_get(d, item, where, cpus[c], -1);
            rc = key < 0 ? key : kperf__dev_add(d, ev, cpus[c], -1, key, 0, ev->scale);
        }
    }
    kperf_evlist_free(l);
    return rc;
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
    kperf_topology_close(d->topo);
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
    if (rc == 0 && kperf_topology_open(&d->topo, kperf_pmus_root(d->pmus)) < 0) d->topo = NULL;
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
#endif // KPERF_NO_DEVICE

// >>task --------------------------------------------------------------------------------
#ifndef KPERF_NO_TASK

/* ---- blocks: the records of one read, their strings and arrays in one allocation ------
 * (kperf_task_read, and the libkperf shim's PmuData/PmuTraceData arrays) */

typedef struct kperf__blk_chunk {
    struct kperf__blk_chunk *next;
    size_t used, cap;
} kperf__blk_chunk;

#define KPERF__BLK_MAGIC 0x6b70657266646174ull /* "kperfdat" */

typedef struct kperf__blk {
    uint64_t magic;
    kperf__blk_chunk *chunks;
    size_t n, cap;          /* records used / allocated */
    void *data;             /* the record array, after two back pointers */
    int kind;               /* for the block's owner (the shim: the task kind) */
    int pd;                 /* for the block's owner (the shim: the descriptor) */
    uint64_t elapsed_ns;    /* for the block's owner (the shim: device reads) */
    void *extra;            /* freed with the block (the shim: device counts) */
} kperf__blk;

static void *kperf__blk_alloc(kperf__blk *b, size_t size) {
    size = (size + 15) & ~(size_t)15;
    kperf__blk_chunk *c = b->chunks;
    if (!c || c->cap - c->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        c = (kperf__blk_chunk *)KPERF_MALLOC(sizeof(kperf__blk_chunk) + 16 + cap);
        if (!c) return NULL;
        c->next = b->chunks, c->used = 0, c->cap = cap;
        b->chunks = c;
    }
    char *base = (char *)(((uintptr_t)(c + 1) + 15) & ~(uintptr_t)15);
    void *p = base + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

static char *kperf__blk_strdup(kperf__blk *b, const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *p = (char *)kperf__blk_alloc(b, n);
    if (p) memcpy(p, s, n);
    return p;
}

static void *kperf__blk_memdup(kperf__blk *b, const void *s, size_t n) {
    if (!s || !n) return NULL;
    void *p = kperf__blk_alloc(b, n);
    if (p) memcpy(p, s, n);
    return p;
}

static kperf__blk *kperf__blk_new(size_t elem, int kind, int pd) {
    kperf__blk *b = (kperf__blk *)KPERF_MALLOC(sizeof *b);
    if (!b) return NULL;
    memset(b, 0, sizeof *b);
    b->magic = KPERF__BLK_MAGIC, b->kind = kind, b->pd = pd;
    b->cap = 64;
    b->data = KPERF_MALLOC(sizeof(kperf__blk *) * 2 + elem * b->cap);
    if (!b->data) return KPERF_FREE(b), (kperf__blk *)NULL;
    return b;
}

/* The record array is preceded by a pointer back to its block (two slots keep the array
 * 16-byte aligned). */
static void *kperf__blk_records(kperf__blk *b) { return (kperf__blk **)b->data + 2; }

static kperf__blk *kperf__blk_of(const void *records) {
    if (!records) return NULL;
    kperf__blk *b = ((kperf__blk *const *)records)[-2];
    return b && b->magic == KPERF__BLK_MAGIC ? b : NULL;
}

/* Appends one zeroed record; NULL on out of memory. */
static void *kperf__blk_push(kperf__blk *b, size_t elem) {
    if (b->n == b->cap) {
        size_t cap = b->cap * 2;
        void *d = KPERF_REALLOC(b->data, sizeof(kperf__blk *) * 2 + elem * cap);
        if (!d) return NULL;
        b->data = d, b->cap = cap;
    }
    char *r = (char *)kperf__blk_records(b) + elem * b->n++;
    memset(r, 0, elem);
    return r;
}

static void kperf__blk_free(kperf__blk *b) {
    if (!b) return;
    for (kperf__blk_chunk *c = b->chunks, *nx; c; c = nx) nx = c->next, KPERF_FREE(c);
    KPERF_FREE(b->extra);
    b->magic = 0;
    KPERF_FREE(b->data);
    KPERF_FREE(b);
}

/* Hands the records to the caller: NULL when empty (the block is freed then). */
static int kperf__blk_finish(kperf__blk *b, void **out) {
    int n = (int)b->n;
    ((kperf__blk **)b->data)[0] = b;
    ((kperf__blk **)b->data)[1] = b;
    if (n == 0 && !b->extra) {
        kperf__blk_free(b);
        *out = NULL;
        return 0;
    }
    *out = kperf__blk_records(b);
    return n;
}

/* ---- the task ------------------------------------------------------------------------ */

struct kperf_task {
    kperf_task_kind kind;
    kperf_counter *counter;     /* COUNTING */
    kperf_sampler *sampler;     /* SAMPLING */
    kperf_syscalls *sys;        /* TRACING */
    const kperf_task_source *source; /* SPE_SAMPLING (kperf_spe.h) */
    void *src_state;
    kperf_topology *topo;
    char **names;               /* per opened event: the caller's name, NULL = the library's */
    int *groups;                /* per opened event: its group number */
    size_t nnames;
    double *debt;               /* COUNTING: per event, count drops not yet subtracted */
    size_t ndebt;
    int callchain;              /* SAMPLING */
    kperf_record_fn on_record;
    kperf_task_unwind_fn unwind;
    void *hook_user;
    uint64_t *ips;              /* SAMPLING: the row's call chain */
    pid_t comm_tid[8];          /* a small tid -> comm cache */
    char comm[8][16];
    unsigned comm_next;
};

/* Builds the perf spec of a task: with @p braces, events with the same group number
 * become one {group} at the place of the first (a number used once is no group); -1 (or
 * no groups) stands alone. names[]/groups[] receive each entry's name and group number in
 * spec order (the names point into @p a). */
static int kperf__task_spec(const kperf_task_attr *a, bool braces, char **spec,
                            const char ***names, int **groups) {
    size_t len = 1;
    for (size_t i = 0; i < a->nevents; i++) {
        if (!a->events[i] || !a->events[i][0])
            return kperf__fail(EINVAL, "kperf_task_open: event %zu is empty", i);
        len += strlen(a->events[i]) + 3;
    }
    char *s = (char *)kperf__calloc(len, 1);
    const char **nm = (const char **)kperf__calloc(a->nevents + 1, sizeof *nm);
    int *gr = (int *)kperf__calloc(a->nevents + 1, sizeof *gr);
    bool *done = (bool *)kperf__calloc(a->nevents + 1, sizeof *done);
    if (!s || !nm || !gr || !done) {
        KPERF_FREE(s), KPERF_FREE(nm), KPERF_FREE(gr), KPERF_FREE(done);
        return kperf__fail(ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < a->nevents; i++) {
        if (done[i]) continue;
        int g = a->groups ? a->groups[i] : -1;
        bool grouped = false;
        for (size_t j = i + 1; braces && g >= 0 && j < a->nevents && !grouped; j++)
            grouped = a->groups[j] == g;
        strcat(s, *s ? "," : "");
        strcat(s, grouped ? "{" : "");
        for (size_t j = i; j < a->nevents; j++) {
            if (done[j] || (j != i && (!grouped || a->groups[j] != g))) continue;
            if (j != i) strcat(s, ",");
            strcat(s, a->events[j]);
            done[j] = true, nm[k] = a->events[j], gr[k++] = a->groups ? a->groups[j] : -1;
        }
        strcat(s, grouped ? "}" : "");
    }
    KPERF_FREE(done);
    *spec = s, *names = nm, *groups = gr;
    return 0;
}

/* Gives each of the @p nopened events a name and a group: the caller's name when its entry
 * opened one event, NULL (the library's name) when it expanded to several (a glob, a PMU
 * without its instance suffix). */
static int kperf__task_names(kperf_task *t, const char **nm, const int *gr, size_t nent,
                             size_t nopened) {
    t->names = (char **)kperf__calloc(nopened + 1, sizeof *t->names);
    t->groups = (int *)kperf__calloc(nopened + 1, sizeof *t->groups);
    if (!t->names || !t->groups) return kperf__fail(ENOMEM, "out of memory");
    t->nnames = nopened;
    size_t k = 0;
    for (size_t i = 0; i < nent && k < nopened; i++) {
        size_t n = 1;
        if (nopened != nent) {
            kperf_evlist *l = NULL;
            if (kperf_evlist_parse(&l, nm[i], NULL) == 0) n = l->nevents;
            kperf_evlist_free(l);
        }
        for (size_t j = 0; j < n && k < nopened; j++, k++) {
            t->names[k] = n == 1 ? kperf__strdup(nm[i]) : NULL;
            if (n == 1 && !t->names[k]) return kperf__fail(ENOMEM, "out of memory");
            t->groups[k] = gr[i];
        }
    }
    for (; k < nopened; k++) t->groups[k] = -1;
    return 0;
}

static int kperf__task_open_counting(kperf_task *t, const kperf_task_attr *a) {
    char *spec = NULL;
    const char **nm = NULL;
    int *gr = NULL;
    int rc = kperf__task_spec(a, true, &spec, &nm, &gr);
    if (rc < 0) return rc;
    kperf_counter_desc d;
    memset(&d, 0, sizeof d);
    d.events = spec, d.sysfs_root = a->sysfs_root;
    d.pids = a->pids, d.npids = a->npids, d.cpus = a->cpus, d.ncpus = a->ncpus;
    d.all_cpus = !a->npids && !a->ncpus;
    d.include_kernel = a->include_kernel, d.no_user = a->no_user;
    d.inherit = d.per_thread = a->include_new_fork && a->npids;
    rc = kperf_counter_open(&t->counter, &d);
    KPERF_FREE(spec);
    if (rc == 0)
        rc = kperf__task_names(t, nm, gr, a->nevents, t->counter->plan->evl->nevents);
    KPERF_FREE(nm), KPERF_FREE(gr);
    return rc;
}

static int kperf__task_open_sampling(kperf_task *t, const kperf_task_attr *a) {
    char *spec = NULL;
    const char **nm = NULL;
    int *gr = NULL;
    int rc = kperf__task_spec(a, false, &spec, &nm, &gr);
    if (rc < 0) return rc;
    kperf_sampler_desc d;
    memset(&d, 0, sizeof d);
    d.events = spec;
    d.freq = a->freq, d.period = a->period;
    d.callchain = a->callchain != 0;
    d.dwarf_callchain = a->callchain == 2;
    d.include_kernel = a->include_kernel, d.no_user = a->no_user;
    d.branch_filter = a->branch_filter;
    d.pids = a->pids, d.npids = a->npids, d.cpus = a->cpus, d.ncpus = a->ncpus;
    d.all_cpus = !a->npids && !a->ncpus;
    d.inherit = a->npids > 0;
    rc = kperf_sampler_open(&t->sampler, &d);
    KPERF_FREE(spec);
    if (rc == 0)
        rc = kperf__task_names(t, nm, gr, a->nevents, kperf_sampler_nevents(t->sampler));
    KPERF_FREE(nm), KPERF_FREE(gr);
    t->callchain = a->callchain;
    t->on_record = a->on_record, t->unwind = a->unwind, t->hook_user = a->hook_user;
    if (rc == 0 && !(t->ips = (uint64_t *)kperf__calloc(256, sizeof *t->ips)))
        rc = kperf__fail(ENOMEM, "out of memory");
    return rc;
}

static int kperf__task_open_tracing(kperf_task *t, const kperf_task_attr *a) {
    kperf_syscalls_desc d;
    memset(&d, 0, sizeof d);
    d.funcs = a->syscalls, d.nfuncs = a->nsyscalls;
    d.pids = a->pids, d.npids = a->npids, d.cpus = a->cpus, d.ncpus = a->ncpus;
    d.all_cpus = !a->npids && !a->ncpus;
    d.inherit = a->npids > 0;
    return kperf_syscalls_open(&t->sys, &d);
}

KPERF_API int kperf_task_open(kperf_task **out, kperf_task_kind kind, const kperf_task_attr *attr) {
    if (!out) return kperf__fail(EINVAL, "kperf_task_open: out is NULL");
    *out = NULL;
    if (!attr) return kperf__fail(EINVAL, "kperf_task_open: attr is NULL");
    if ((kind == KPERF_TASK_COUNTING || kind == KPERF_TASK_SAMPLING) &&
        (!attr->nevents || !attr->events))
        return kperf__fail(EINVAL, "kperf_task_open: no events (attr.events, attr.nevents)");
    if ((attr->npids && !attr->pids) || (attr->ncpus && !attr->cpus) ||
        (attr->nsyscalls && !attr->syscalls))
        return kperf__fail(EINVAL, "kperf_task_open: a count is set but its list is NULL");
    kperf_task *t = (kperf_task *)kperf__calloc(1, sizeof *t);
    if (!t) return kperf__fail(ENOMEM, "out of memory");
    t->kind = kind;
    int rc;
    switch (kind) {
    case KPERF_TASK_COUNTING: rc = kperf__task_open_counting(t, attr); break;
    case KPERF_TASK_SAMPLING: rc = kperf__task_open_sampling(t, attr); break;
    case KPERF_TASK_TRACING: rc = kperf__task_open_tracing(t, attr); break;
    case KPERF_TASK_SPE_SAMPLING:
        if (!attr->source) {
            rc = kperf__fail(KPERF_ENOTSUP, "kperf_task_open: SPE sampling needs "
                                            "attr.source = kperf_spe_task_source() (kperf_spe.h)");
            break;
        }
        t->source = attr->source;
        rc = t->source->open(&t->src_state, attr);
        break;
    default:
        rc = kperf__fail(KPERF_ENOTSUP, "kperf_task_open: unknown task kind %d", (int)kind);
    }
    if (rc == 0 && kind != KPERF_TASK_TRACING) rc = kperf_topology_open(&t->topo, attr->sysfs_root);
    if (rc < 0) return kperf_task_close(t), rc;
    *out = t;
    return 0;
}

KPERF_API kperf_task_kind kperf_task_get_kind(const kperf_task *t) {
    return t ? t->kind : KPERF_TASK_COUNTING;
}

KPERF_API int kperf_task_start(kperf_task *t) {
    if (!t) return kperf__fail(EINVAL, "kperf_task_start: task is NULL");
    switch (t->kind) {
    case KPERF_TASK_COUNTING: return kperf_counter_start(t->counter);
    case KPERF_TASK_SAMPLING: return kperf_sampler_start(t->sampler);
    case KPERF_TASK_TRACING: return kperf_syscalls_start(t->sys);
    default: return t->source->start(t->src_state);
    }
}

KPERF_API int kperf_task_stop(kperf_task *t) {
    if (!t) return kperf__fail(EINVAL, "kperf_task_stop: task is NULL");
    switch (t->kind) {
    case KPERF_TASK_COUNTING: return kperf_counter_stop(t->counter);
    case KPERF_TASK_SAMPLING: return kperf_sampler_stop(t->sampler);
    case KPERF_TASK_TRACING: return kperf_syscalls_stop(t->sys);
    default: return t->source->stop(t->src_state);
    }
}

/* The command name of a thread, else of its process, else "" (a small cache by tid). */
static void kperf__task_comm(kperf_task *t, pid_t pid, pid_t tid, char comm[16]) {
    char path[64], buf[32];
    comm[0] = 0;
    if (tid <= 0) tid = pid;
    if (tid <= 0) return;
    for (unsigned i = 0; i < 8; i++)
        if (t->comm_tid[i] == tid) {
            memcpy(comm, t->comm[i], 16);
            return;
        }
    snprintf(path, sizeof path, "/proc/%d/task/%d/comm", (int)(pid > 0 ? pid : tid), (int)tid);
    if (kperf__read_file(path, buf, sizeof buf) <= 0) {
        snprintf(path, sizeof path, "/proc/%d/comm", (int)(pid > 0 ? pid : tid));
        if (kperf__read_file(path, buf, sizeof buf) <= 0) return;
    }
    buf[15] = 0; /* TASK_COMM_LEN */
    memcpy(comm, buf, strlen(buf) + 1);
    unsigned k = t->comm_next++ % 8;
    t->comm_tid[k] = tid;
    memcpy(t->comm[k], comm, 16);
}

static uint64_t kperf__task_u64(double v) { return v <= 0 ? 0 : (uint64_t)(v + 0.5); }

/* Fills the fields every kind shares: topology of the CPU, the command name when "". */
static void kperf__task_common(kperf_task *t, kperf_task_data *x) {
    memset(&x->topo, 0xff, sizeof x->topo); /* every field -1 */
    if (x->cpu >= 0 && t->topo) kperf_topology_cpu(t->topo, x->cpu, &x->topo);
    if (!x->comm[0] && (x->tid > 0 || x->pid > 0)) kperf__task_comm(t, x->pid, x->tid, x->comm);
}

static const char *kperf__task_evname(const kperf_task *t, size_t e, const char *fallback) {
    return e < t->nnames && t->names[e] ? t->names[e] : (fallback ? fallback : "");
}

static int kperf__task_read_counting(kperf_task *t, kperf_task_fn fn, void *user) {
    kperf_counts n;
    int rc = kperf_counter_read(t->counter, &n);
    if (rc < 0) return rc;
    /* A thread that exits between two reads can move its count from its parent's row to
     * its own exited row: the parent's delta is then negative. Such a drop is kept as a
     * per-event debt and taken from the event's positive deltas, so that the sum of an
     * event's counts over reads stays exact. */
    if (t->ndebt < n.nevents) {
        double *nd = (double *)KPERF_REALLOC(t->debt, (n.nevents + 1) * sizeof *nd);
        if (!nd) return kperf__fail(ENOMEM, "out of memory");
        for (size_t e = t->ndebt; e <= n.nevents; e++) nd[e] = 0;
        t->debt = nd, t->ndebt = n.nevents;
    }
    for (size_t i = 0; i < n.nrows; i++)
        if (n.rows[i].v.delta < 0 && (size_t)n.rows[i].event < n.nevents)
            t->debt[n.rows[i].event] -= n.rows[i].v.delta;
    uint64_t ts = kperf__now_ns();
    for (size_t i = 0; i < n.nrows; i++) {
        const kperf_count_row *r = &n.rows[i];
        size_t e = (size_t)r->event;
        kperf_task_data x;
        memset(&x, 0, sizeof x);
        x.event = kperf__task_evname(t, e, e < n.nevents ? n.events[e].name : NULL);
        x.group = e < t->nnames ? t->groups[e] : -1;
        x.ts = ts;
        x.pid = r->pid, x.tid = r->tid, x.cpu = r->cpu, x.exited = r->exited;
        kperf__task_common(t, &x);
        double delta = r->v.delta > 0 ? r->v.delta : 0;
        if (delta > 0 && e < n.nevents && t->debt[e] > 0) {
            double pay = t->debt[e] < delta ? t->debt[e] : delta;
            delta -= pay, t->debt[e] -= pay;
        }
        x.count = kperf__task_u64(delta), x.total = kperf__task_u64(r->v.value);
        /* libkperf's countPercent: 1 for a counter that never had to share (or never ran) */
        x.percent = r->v.enabled ? 100.0 * (double)r->v.running / (double)r->v.enabled : 100.0;
        if ((rc = fn(&x, user)) < 0) return rc;
    }
    return (int)n.nrows;
}

typedef struct kperf__task_rd {
    kperf_task *t;
    kperf_task_fn fn;
    void *user;
    int n, err;
} kperf__task_rd;

static int kperf__task_on_record(const kperf_record *rec, void *user) {
    kperf__task_rd *r = (kperf__task_rd *)user;
    kperf_task *t = r->t;
    if (t->on_record) t->on_record(rec, t->hook_user);
    if (rec->type != KPERF_RECORD_SAMPLE) return 0;
    const kperf_sample *smp = &rec->sample;
    kperf_task_data x;
    memset(&x, 0, sizeof x);
    size_t e = rec->event >= 0 ? (size_t)rec->event : (size_t)-1;
    x.event = kperf__task_evname(t, e, kperf_sampler_event_name(t->sampler, e));
    x.group = e < t->nnames ? t->groups[e] : -1;
    x.ts = smp->time;
    x.pid = (pid_t)smp->pid, x.tid = (pid_t)smp->tid, x.cpu = (int)smp->cpu;
    x.period = smp->period, x.count = 1, x.percent = 100.0;
    const char *comm = kperf_sampler_comm(t->sampler, smp->pid);
    if (comm) snprintf(x.comm, sizeof x.comm, "%s", comm);
    kperf__task_common(t, &x);
    /* the call chain: the sampled ip, the kernel's chain, or the unwinder's */
    const uint64_t *ips = &smp->ip;
    uint32_t nips = 1;
    if (t->callchain && smp->nips) ips = smp->ips, nips = smp->nips;
    if (t->callchain == 2 && t->unwind && smp->stack && smp->regs_abi) {
        int k = t->unwind(t->hook_user, smp, t->sampler->layout.regs_user_mask, t->ips, 256);
        if (k > 0) ips = t->ips, nips = (uint32_t)k;
    }
    uint32_t k = 0;
    for (uint32_t i = 0; i < nips && k < 256; i++)
        if (ips[i] < KPERF_CONTEXT_MAX) t->ips[k++] = ips[i]; /* in place when ips is t->ips */
    x.ips = t->ips, x.nips = k;
    x.raw = smp->raw_size ? smp->raw : NULL, x.raw_size = smp->raw_size;
    x.branches = smp->nbranches ? smp->branches : NULL, x.nbranches = smp->nbranches;
    x.sample = smp;
    int rc = r->fn(&x, r->user);
    if (rc < 0) return r->err = rc;
    r->n++;
    return 0;
}

static int kperf__task_on_call(const kperf_syscall_call *c, void *user) {
    kperf__task_rd *r = (kperf__task_rd *)user;
    kperf_task_data x;
    memset(&x, 0, sizeof x);
    x.event = c->name ? c->name : "";
    x.ts = c->start, x.duration = c->duration, x.ret = c->ret;
    x.pid = c->pid, x.tid = c->tid, x.cpu = c->cpu, x.group = -1;
    x.count = 1, x.percent = 100.0;
    snprintf(x.comm, sizeof x.comm, "%s", c->comm);
    memset(&x.topo, 0xff, sizeof x.topo);
    int rc = r->fn(&x, r->user);
    if (rc < 0) return r->err = rc;
    r->n++;
    return 0;
}

/* A source's row: the task adds topology and comm before passing it on. */
static int kperf__task_on_source(const kperf_task_data *row, void *user) {
    kperf__task_rd *r = (kperf__task_rd *)user;
    kperf_task_data x = *row;
    kperf__task_common(r->t, &x);
    int rc = r->fn(&x, r->user);
    if (rc < 0) return r->err = rc;
    r->n++;
    return 0;
}

KPERF_API int kperf_task_read_each(kperf_task *t, kperf_task_fn fn, void *user) {
    if (!t || !fn) return kperf__fail(EINVAL, "kperf_task_read_each: NULL argument");
    if (t->kind == KPERF_TASK_COUNTING) return kperf__task_read_counting(t, fn, user);
    kperf__task_rd r;
    memset(&r, 0, sizeof r);
    r.t = t, r.fn = fn, r.user = user;
    int rc;
    switch (t->kind) {
    case KPERF_TASK_SAMPLING: rc = kperf_sampler_read(t->sampler, kperf__task_on_record, &r); break;
    case KPERF_TASK_TRACING: rc = kperf_syscalls_read(t->sys, kperf__task_on_call, &r); break;
    default: rc = t->source->read(t->src_state, kperf__task_on_source, &r); break;
    }
    if (r.err) return r.err;
    return rc < 0 ? rc : r.n;
}

typedef struct kperf__task_collect {
    kperf__blk *b;
    const char *last_event, *last_copy; /* consecutive rows of one event share a copy */
} kperf__task_collect;

static int kperf__task_keep(const kperf_task_data *row, void *user) {
    kperf__task_collect *c = (kperf__task_collect *)user;
    kperf_task_data *x = (kperf_task_data *)kperf__blk_push(c->b, sizeof *x);
    if (!x) return -ENOMEM;
    *x = *row;
    if (row->event != c->last_event || !c->last_copy)
        c->last_copy = kperf__blk_strdup(c->b, row->event), c->last_event = row->event;
    x->event = c->last_copy;
    x->sample = NULL;
    x->ips = (const uint64_t *)kperf__blk_memdup(c->b, row->ips, row->nips * sizeof *row->ips);
    x->raw = kperf__blk_memdup(c->b, row->raw, row->raw_size);
    x->branches = (const kperf_branch *)kperf__blk_memdup(c->b, row->branches,
                                                         row->nbranches * sizeof *row->branches);
    if (!x->event || (row->nips && !x->ips) || (row->raw_size && !x->raw) ||
        (row->nbranches && !x->branches))
        return -ENOMEM;
    return 0;
}

KPERF_API int kperf_task_read(kperf_task *t, kperf_task_data **out) {
    if (!t || !out) return kperf__fail(EINVAL, "kperf_task_read: NULL argument");
    *out = NULL;
    kperf__task_collect c;
    memset(&c, 0, sizeof c);
    if (!(c.b = kperf__blk_new(sizeof(kperf_task_data), (int)t->kind, 0)))
        return kperf__fail(ENOMEM, "out of memory");
    int rc = kperf_task_read_each(t, kperf__task_keep, &c);
    if (rc < 0) {
        kperf__blk_free(c.b);
        return rc == -ENOMEM ? kperf__fail(ENOMEM, "kperf_task_read: out of memory") : rc;
    }
    return kperf__blk_finish(c.b, (void **)out);
}

KPERF_API void kperf_task_data_free(kperf_task_data *data) { kperf__blk_free(kperf__blk_of(data)); }

KPERF_API void kperf_task_close(kperf_task *t) {
    if (!t) return;
    kperf_counter_close(t->counter);
    kperf_sampler_close(t->sampler);
    kperf_syscalls_close(t->sys);
    if (t->source) t->source->close(t->src_state);
    kperf_topology_close(t->topo);
    for (size_t i = 0; i < t->nnames; i++) KPERF_FREE(t->names[i]);
    KPERF_FREE(t->names);
    KPERF_FREE(t->groups);
    KPERF_FREE(t->debt);
    KPERF_FREE(t->ips);
    KPERF_FREE(t);
}
// <<task
#endif // KPERF_NO_TASK

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
