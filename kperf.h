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
/* TEMP STUB (count branch only): minimal registry and parser until core lands. */
struct kperf_pmus { char *root; kperf_pmu *v; size_t n; };
KPERF_API int kperf_pmus_open(kperf_pmus **out, const char *root) {
    *out = NULL;
    if (!root) root = getenv("KPERF_SYSFS_ROOT");
    if (!root) root = "/";
    kperf_pmus *p = (kperf_pmus *)kperf__calloc(1, sizeof *p);
    p->root = kperf__strdup(root);
    char path[4096];
    snprintf(path, sizeof path, "%s/sys/bus/event_source/devices", root);
    DIR *d = opendir(path);
    if (!d) { free(p->root); free(p); return kperf__fail(ENOENT, "no %s", path); }
    p->v = (kperf_pmu *)kperf__calloc(64, sizeof(kperf_pmu));
    struct dirent *de;
    while ((de = readdir(d)) && p->n < 64) {
        if (de->d_name[0] == '.') continue;
        kperf_pmu *u = &p->v[p->n++];
        u->name = kperf__strdup(de->d_name);
        char b[64], f[4200];
        snprintf(f, sizeof f, "%s/%s/type", path, de->d_name);
        if (kperf__read_file(f, b, sizeof b) > 0) u->type = (uint32_t)atoi(b);
        u->is_core = !strcmp(u->name, "cpu") || !strncmp(u->name, "armv8", 5);
        snprintf(f, sizeof f, "%s/%s/cpumask", path, de->d_name);
        if (!u->is_core && kperf__read_file(f, b, sizeof b) > 0) {
            u->is_uncore = true;
            u->cpus = (int *)kperf__calloc(1, sizeof(int));
            u->cpus[0] = atoi(b); u->ncpus = 1;
        }
    }
    closedir(d);
    *out = p;
    return 0;
}
KPERF_API void kperf_pmus_close(kperf_pmus *p) {
    if (!p) return;
    for (size_t i = 0; i < p->n; i++) { free(p->v[i].name); free(p->v[i].cpus); }
    free(p->v); free(p->root); free(p);
}
KPERF_API size_t kperf_pmus_count(const kperf_pmus *p) { return p->n; }
KPERF_API const kperf_pmu *kperf_pmus_at(const kperf_pmus *p, size_t i) { return i < p->n ? &p->v[i] : NULL; }
KPERF_API const kperf_pmu *kperf_pmus_find(const kperf_pmus *p, const char *name) {
    for (size_t i = 0; i < p->n; i++) if (!strcmp(p->v[i].name, name)) return &p->v[i];
    return NULL;
}
KPERF_API const char *kperf_pmus_root(const kperf_pmus *p) { return p->root; }
KPERF_API int kperf_pmu_encode(const kperf_pmu *pmu, const char *term, uint64_t value, uint64_t config[4]) {
    (void)pmu; (void)term; (void)value; (void)config; return -KPERF_EPARSE;
}
KPERF__PRIV bool kperf__has_hw_pmu(const kperf_pmus *pmus) {
    for (size_t i = 0; pmus && i < kperf_pmus_count(pmus); i++) if (kperf_pmus_at(pmus, i)->is_core) return true;
    return false;
}
KPERF__PRIV void kperf__event_attr(const kperf_event *ev, struct perf_event_attr *a) {
    memset(a, 0, sizeof *a);
    a->size = sizeof *a; a->type = ev->type; a->config = ev->config[0]; a->config1 = ev->config[1];
    a->config2 = ev->config[2];
    a->exclude_user = !!(ev->flags & KPERF_EV_EXCLUDE_USER);
    a->exclude_kernel = !!(ev->flags & KPERF_EV_EXCLUDE_KERNEL);
    a->exclude_hv = !!(ev->flags & KPERF_EV_EXCLUDE_HV);
    a->pinned = !!(ev->flags & KPERF_EV_PINNED);
    a->precise_ip = ev->precise;
}
static const struct { const char *n; uint32_t t; uint64_t c; } kperf__stub_names[] = {
    {"cycles", 0, 0}, {"instructions", 0, 1}, {"branch-misses", 0, 5},
    {"cpu-clock", 1, 0}, {"task-clock", 1, 1}, {"page-faults", 1, 2}, {"faults", 1, 2},
    {"context-switches", 1, 3}, {"cs", 1, 3}, {"cpu-migrations", 1, 4}, {"minor-faults", 1, 5},
    {"major-faults", 1, 6}, {"dummy", 1, 9},
};
KPERF_API int kperf_evlist_parse(kperf_evlist **out, const char *spec, const kperf_pmus *pmus) {
    (void)pmus;
    *out = NULL;
    kperf_evlist *l = (kperf_evlist *)kperf__calloc(1, sizeof *l);
    l->events = (kperf_event *)kperf__calloc(64, sizeof(kperf_event));
    char *s = kperf__strdup(spec), *save = NULL;
    int ingroup = 0;
    for (char *tok = strtok_r(s, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int open_g = 0, close_g = 0;
        if (*tok == '{') { open_g = 1; tok++; }
        size_t len = strlen(tok);
        if (len && tok[len - 1] == '}') { close_g = 1; tok[--len] = 0; }
        kperf_event *e = &l->events[l->nevents++];
        e->spec = kperf__strdup(tok); e->name = kperf__strdup(tok); e->scale = 1.0;
        char *mod = strchr(tok, ':');
        if (mod && mod[1] != ':' && strchr(tok, ':') == strrchr(tok, ':') && (!strcmp(mod, ":u") || !strcmp(mod, ":k"))) {
            e->flags = !strcmp(mod, ":u") ? KPERF_EV_EXCLUDE_KERNEL : KPERF_EV_EXCLUDE_USER;
            *mod = 0;
        }
        int found = 0;
        for (size_t i = 0; i < sizeof kperf__stub_names / sizeof kperf__stub_names[0]; i++)
            if (!strcmp(tok, kperf__stub_names[i].n)) {
                e->type = kperf__stub_names[i].t; e->config[0] = kperf__stub_names[i].c; found = 1;
                e->pmu = kperf__strdup(e->type == 0 ? "cpu" : "software");
            }
        if (!found && strchr(tok, ':')) {
            char sys[128], nm[128], p[512], b[32];
            if (sscanf(tok, "%127[^:]:%127s", sys, nm) == 2) {
                snprintf(p, sizeof p, "/sys/kernel/tracing/events/%s/%s/id", sys, nm);
                if (kperf__read_file(p, b, sizeof b) > 0) {
                    e->type = PERF_TYPE_TRACEPOINT; e->config[0] = strtoull(b, 0, 10); found = 1;
                    e->pmu = kperf__strdup("tracepoint");
                }
            }
        }
        if (!found) {
            int rc = kperf__fail(KPERF_ENOEVENT, "unknown event '%s'", tok);
            free(s); l->nevents--; free(e->spec); free(e->name); kperf_evlist_free(l); return rc;
        }
        e->group = l->ngroups;
        e->leader = !ingroup;
        if (open_g) ingroup = 1;
        if (close_g) ingroup = 0;
        if (!ingroup) l->ngroups++;
    }
    free(s);
    *out = l;
    return 0;
}
KPERF_API void kperf_evlist_free(kperf_evlist *l) {
    if (!l) return;
    for (size_t i = 0; i < l->nevents; i++) { free(l->events[i].spec); free(l->events[i].name); free(l->events[i].pmu); free(l->events[i].filter); }
    free(l->events); free(l);
}
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
