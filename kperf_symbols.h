/* kperf_symbols.h - v0.1.0 - addresses to `function (file:line)` with inline frames.
 * SPDX-License-Identifier: MIT
 *
 * Part of kperf. Include kperf.h first. Needs libelf and libdw (link -lelf -ldw).
 * The implementation is instantiated by the same `#define KPERF_IMPLEMENTATION` that
 * instantiates kperf.h (in exactly one file).
 *
 * CONTENTS
 *     >>symbols     symbolizer (modules, ELF, DWARF lines and inlines, kernel, JIT),
 *                   demangling, flame graph SVG writer, pprof writer (gzip, zlib) and
 *                   kperf_pprof_profile_self() for /debug/pprof/profile endpoints
 *
 * QUICK START
 *     kperf_symbolizer *s;
 *     kperf_symbolizer_open(&s, NULL);                  // ELF + DWARF
 *     kperf_frame f[16];
 *     int n = kperf_symbolizer_lookup(s, pid, ip, f, 16); // innermost frame first
 *     for (int i = 0; i < n; i++) printf("%s %s:%u\n", f[i].function, f[i].file, f[i].line);
 *     kperf_symbolizer_close(s);
 *
 * THREAD SAFETY
 *     Lookups may run from several threads at once and concurrently with add calls:
 *     indexes are built under a mutex and immutable once published; process maps sit
 *     behind a read-write lock, which a lookup skips while its thread's last mapping is
 *     still current. gnu_compat mode (addr2line emulation) depends on call order.
 *
 * PERMISSIONS
 *     Other users' processes need ptrace access (/proc/PID/mem for the vDSO,
 *     /proc/PID/map_files for deleted files); kernel addresses need root or
 *     kernel.kptr_restrict=0 for /proc/kallsyms.
 *
 * INDEX (public functions by section; tests/header_index.py --write regenerates it)
 *   >>symbols
 *     kperf_symbolizer_open          Creates a symbolizer
 *     kperf_symbolizer_close         Frees a symbolizer and every string its frames poin...
 *     kperf_symbolizer_add_pid       Adds every file mapping of a live process from `/pr...
 *     kperf_symbolizer_add_module    Adds one mapping (from an MMAP2 record, or a file f...
 *     kperf_symbolizer_add_fork      Records that process pid was forked from ppid (a FO...
 *     kperf_symbolizer_lookup        Symbolizes one address of process pid, with its inl...
 *     kperf_symbolizer_lookup_batch  Symbolizes many addresses of one process
 *     kperf_symbolizer_preload       Indexes ahead what looking up these addresses will...
 *     kperf_symbolizer_lookup_all    Symbolizes many addresses with their inline chains...
 *     kperf_frames_free              Frees the buffers of a ::kperf_frames (not the strings
 *     kperf_demangle                 Demangles a C++ (Itanium ABI) name with the C++ run...
 *     kperf_flamegraph_write         Writes an SVG flame graph (searchable and zoomable...
 *     -- unwinding (DWARF call graphs)
 *     kperf_symbolizer_unwind        Unwinds the user stack of a sample with DWARF call-...
 *     -- pprof (profile.proto, gzip-compressed)
 *     kperf_pprof_new                Creates an empty pprof profile
 *     kperf_pprof_add                Adds one sample
 *     kperf_pprof_add_event          Adds one sample of one of several events, as kperf_...
 *     kperf_pprof_encode             Encodes the profile as pprof writes it
 *     kperf_pprof_write              Encodes the profile (as kperf_pprof_encode()) into...
 *     kperf_pprof_free               Frees a profile
 *     kperf_pprof_buffer_free        Frees a buffer returned by kperf_pprof_encode() or...
 *     kperf_pprof_profile_self       Profiles the calling process (every thread, and thr...
 *     kperf_probe_resolve_elf        The file offset of function func in the ELF file fi...
 * END INDEX
 */
#ifndef KPERF_SYMBOLS_H_INCLUDED
#define KPERF_SYMBOLS_H_INCLUDED
#ifndef KPERF_H_INCLUDED
#error "kperf_symbols.h: include kperf.h before kperf_symbols.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

// >>symbols -----------------------------------------------------------------------------

/** What a ::kperf_symbolizer resolves (libkperf's symbol modes). */
typedef enum kperf_symbol_mode {
    KPERF_SYMBOL_DWARF = 0, /**< ELF symbols plus DWARF file:line and inline chains (default);
                                 modules are opened when added */
    KPERF_SYMBOL_ELF,       /**< ELF symbols only: function names, no file:line */
    KPERF_SYMBOL_NONE,      /**< nothing is read: frames carry the module and offset only */
    KPERF_SYMBOL_DELAYED    /**< like KPERF_SYMBOL_DWARF, but a module is opened only when
                                 the first lookup lands in it (resolve at report time) */
} kperf_symbol_mode;

/** Options of kperf_symbolizer_open(). Zero-initialised means the defaults. */
typedef struct kperf_symbolizer_desc {
    kperf_symbol_mode mode;    /**< what to resolve; default KPERF_SYMBOL_DWARF */
    bool include_kernel;       /**< resolve kernel addresses from kallsyms; default false */
    bool gnu_compat;           /**< choose names and files exactly as GNU addr2line does
                                    (nearest preceding symbol whatever its size, no PLT
                                    names); used by `kperf symbolize`; default false */
    const char *debug_dir;     /**< root of separate debug files; NULL = "/usr/lib/debug" */
    const char *kallsyms_path; /**< NULL = "/proc/kallsyms" */
    const char *perf_map_dir;  /**< where perf-PID.map files live; NULL = "/tmp" */
    const char *proc_dir;      /**< where /proc is; NULL = "/proc" */
    bool perf_map_any_owner;   /**< read a perf-PID.map whoever owns it; default false: only
                                    a map owned by root or by the process's user is read (any
                                    local user can write /tmp). The environment variable
                                    KPERF_PERF_MAP_ANY_OWNER=1 sets it too */
    bool no_debuginfod;        /**< never ask debuginfod servers; default: when a module has
                                    no local debug info and `DEBUGINFOD_URLS` is set, its
                                    build-id is fetched through libdebuginfod (elfutils'
                                    client, libdebuginfod.so.1 found at run time; files are
                                    cached in its cache, `DEBUGINFOD_CACHE_PATH`) */
    uint32_t debuginfod_timeout_ms; /**< longest wait for one fetch; 0 = 10000. When a
                                    server cannot be reached (or the wait runs out) one
                                    KPERF_LOG_WARN message is logged and the symbolizer asks
                                    no more */
    int threads;               /**< threads kperf_symbolizer_preload() indexes compile units
                                    on; 0 = the online CPUs (at most 8), 1 = the caller's
                                    only */
} kperf_symbolizer_desc;

/** One mapping of a file into a process, as /proc/PID/maps or a PERF_RECORD_MMAP2 gives it. */
typedef struct kperf_module_desc {
    pid_t pid;                 /**< process the mapping belongs to */
    uint64_t start;            /**< first mapped address */
    uint64_t len;              /**< length of the mapping in bytes */
    uint64_t pgoff;            /**< file offset mapped at @ref start */
    const char *path;          /**< file path as the process sees it ("[vdso]" allowed) */
    const uint8_t *build_id;   /**< optional GNU build-id (MMAP2 with PERF_RECORD_MISC_MMAP_BUILD_ID) */
    size_t build_id_size;      /**< bytes in @ref build_id, at most 20 */
    bool file_vaddr;           /**< addresses of @ref pid are the file's own ELF virtual
                                    addresses (what addr2line -e takes); start, len and pgoff
                                    are ignored and the module covers every address */
} kperf_module_desc;

/** One frame of a symbolized address. Strings belong to the symbolizer and stay valid until
 *  kperf_symbolizer_close(). */
typedef struct kperf_frame {
    uint64_t addr;          /**< the address that was looked up */
    uint64_t module_addr;   /**< @ref addr in the module's ELF virtual address space */
    uint64_t symbol_addr;   /**< ELF virtual address where @ref function starts; 0 unknown */
    const char *module;     /**< module path, "[kernel.kallsyms]", a kernel module name
                                 ("[ext4]") or "[jit]"; NULL when nothing maps addr */
    const char *function;   /**< demangled function name; NULL when unknown */
    const char *mangled;    /**< the name as the ELF or DWARF spells it; NULL when unknown */
    const char *file;       /**< source file path; NULL when unknown */
    uint32_t line;          /**< source line; 0 when unknown */
    uint32_t column;        /**< source column; 0 when unknown */
    uint32_t discriminator; /**< DWARF discriminator of the line row; 0 when none */
    bool inlined;           /**< this frame's code was inlined into the next frame */
} kperf_frame;

/** A symbolizer: processes' module maps and a cache of indexed modules. Opaque. */
typedef struct kperf_symbolizer kperf_symbolizer;

/** @brief Creates a symbolizer.
 *  @param out receives the symbolizer; NULL on failure.
 *  @param desc options; NULL means all defaults.
 *  @return 0, or a negative error code.
 *  *Ownership:* free with kperf_symbolizer_close().
 *  *Thread safety:* lookups may run from several threads at once, and concurrently with
 *  add calls; modules are indexed under a mutex, and indexes are immutable once built. */
KPERF_API int kperf_symbolizer_open(kperf_symbolizer **out, const kperf_symbolizer_desc *desc);

/** @brief Frees a symbolizer and every string its frames pointed to; accepts NULL. */
KPERF_API void kperf_symbolizer_close(kperf_symbolizer *s);

/** @brief Adds every file mapping of a live process from `/proc/PID/maps` (files are
 *  opened through `/proc/PID/root` for containers and `/proc/PID/map_files` for deleted
 *  files; the vDSO is read from the process memory).
 *  @param s the symbolizer.
 *  @param pid the process.
 *  @return the number of mappings added, or a negative error code
 *  (-KPERF_ENOTARGET when the process does not exist). */
KPERF_API int kperf_symbolizer_add_pid(kperf_symbolizer *s, pid_t pid);

/** @brief Adds one mapping (from an MMAP2 record, or a file for addr2line-style lookups),
 *  so that addresses of a process that has exited still resolve.
 *  @param s the symbolizer.
 *  @param m the mapping; its strings are copied.
 *  @return 0, or a negative error code. A file that cannot be read or parsed is not an
 *  error here in KPERF_SYMBOL_DELAYED mode; otherwise it is (-ENOENT, -KPERF_ECORRUPT with
 *  the path), and the mapping stays so that its frames still name the module. */
KPERF_API int kperf_symbolizer_add_module(kperf_symbolizer *s, const kperf_module_desc *m);

/** @brief Records that process @p pid was forked from @p ppid (a FORK record whose pid
 *  differs from its ppid): @p pid starts with a copy of the mappings known for @p ppid,
 *  as the kernel copies them, so that a child that never maps anything itself (no MMAP2
 *  record of its own) still resolves after it has exited. Later add_module calls for
 *  @p pid replace what they overlap (an exec maps the new program over the old one).
 *  @param s the symbolizer.
 *  @param ppid the parent process; a parent never added leaves @p pid unknown (0).
 *  @param pid the new process.
 *  @return the number of mappings copied, or a negative error code. */
KPERF_API int kperf_symbolizer_add_fork(kperf_symbolizer *s, pid_t ppid, pid_t pid);

/** @brief Symbolizes one address of process @p pid, with its inline chain.
 *  @param s the symbolizer.
 *  @param pid the process; a pid never added is added from /proc first.
 *  Kernel addresses (include_kernel) resolve whatever the pid.
 *  @param addr the address (for a return address, pass addr - 1).
 *  @param frames receives up to @p max frames, innermost (inlined) first, the real
 *  function last.
 *  @param max capacity of @p frames.
 *  @return the number of frames written (0 when no module maps @p addr; 1 frame with
 *  function NULL when the module is known but has no symbol there), or a negative error
 *  code (-KPERF_ECORRUPT naming the file when the module cannot be parsed).
 *  *Thread safety:* may be called from several threads at once. */
KPERF_API int kperf_symbolizer_lookup(kperf_symbolizer *s, pid_t pid, uint64_t addr,
                                      kperf_frame *frames, size_t max);

/** @brief Symbolizes many addresses of one process: one frame each, the innermost
 *  (function, file and line of the code at that address).
 *  @param s the symbolizer.
 *  @param pid the process.
 *  @param addrs the addresses.
 *  @param n number of addresses.
 *  @param out receives @p n frames; out[i].function is NULL for an unknown address.
 *  @return the number of addresses that resolved to a function, or a negative error code.
 *  *Thread safety:* as kperf_symbolizer_lookup(). */
KPERF_API int kperf_symbolizer_lookup_batch(kperf_symbolizer *s, pid_t pid,
                                            const uint64_t *addrs, size_t n, kperf_frame *out);

/** @brief Indexes ahead what looking up these addresses will need: the compile units of
 *  their modules' DWARF that are not indexed yet, built on desc.threads threads at once
 *  (a CU is otherwise indexed by the first lookup that lands in it, on that thread). The
 *  answers of later lookups are the same either way, only warm.
 *  @param s the symbolizer.
 *  @param pid the process (as for kperf_symbolizer_lookup(); a process not known yet is
 *  skipped: the lookups add it).
 *  @param addrs the addresses.
 *  @param n number of addresses.
 *  @return the number of compile units indexed, or a negative error code.
 *  *Thread safety:* as kperf_symbolizer_lookup(); lookups that need an index wait while
 *  one is built. */
KPERF_API int kperf_symbolizer_preload(kperf_symbolizer *s, pid_t pid, const uint64_t *addrs,
                                       size_t n);

/** The frames of many addresses, from kperf_symbolizer_lookup_all(). Zero it before the
 *  first call; reuse it for the next batch (its buffers are kept); free it with
 *  kperf_frames_free(). */
typedef struct kperf_frames {
    const kperf_frame **at;        /**< n entries: the frames of addrs[i] start at at[i] */
    int *rc;                       /**< n entries: what kperf_symbolizer_lookup() returned for
                                        addrs[i]: its number of frames at at[i], 0, or a
                                        negative error code */
    size_t cap;                    /**< entries at and rc have room for */
    struct kperf__frames_ws *ws;   /**< the threads' frame buffers, kept between calls */
} kperf_frames;

/** @brief Symbolizes many addresses with their inline chains on desc.threads threads,
 *  giving exactly the frames that kperf_symbolizer_lookup() called on each address in order
 *  would give, gnu_compat's order-dependent names included (BFD names a function without
 *  a linkage name after the ELF symbol its first lookup lands in: the lookups run sorted
 *  by address, and those frames are named afterwards in the order of @p addrs). Index the
 *  addresses' compile units
 *  first with kperf_symbolizer_preload() to use every thread for that too.
 *  @param s the symbolizer.
 *  @param pid the process (as for kperf_symbolizer_lookup()).
 *  @param addrs the addresses.
 *  @param n number of addresses.
 *  @param max the most frames kept per address (as kperf_symbolizer_lookup()'s max).
 *  @param out receives the frames, valid until the next call with @p out (the strings until
 *  kperf_symbolizer_close()).
 *  @return 0, or a negative error code (-ENOMEM; bad arguments). One address's error is in
 *  out->rc, not here.
 *  *Thread safety:* as kperf_symbolizer_lookup(); gnu_compat names are in order only among
 *  the addresses of one call. */
KPERF_API int kperf_symbolizer_lookup_all(kperf_symbolizer *s, pid_t pid, const uint64_t *addrs,
                                          size_t n, size_t max, kperf_frames *out);

/** @brief Frees the buffers of a ::kperf_frames (not the strings: those belong to the
 *  symbolizer); accepts NULL and zeroes @p f. */
KPERF_API void kperf_frames_free(kperf_frames *f);

/** @brief Demangles a C++ (Itanium ABI) name with the C++ runtime's __cxa_demangle, found
 *  at run time (no link-time dependency).
 *  @param mangled the name.
 *  @return a new string the caller frees with free(), or NULL when @p mangled is not a
 *  mangled name or no C++ runtime is available. */
KPERF_API char *kperf_demangle(const char *mangled);

/** One folded stack ("main;work;leaf") and its sample count, for kperf_flamegraph_write(). */
typedef struct kperf_folded_stack {
    const char *stack;      /**< frames root first, separated by ';' */
    uint64_t count;         /**< samples (or any weight) of this stack */
} kperf_folded_stack;

/** Input and options of kperf_flamegraph_write(). Zero-initialised means the defaults. */
typedef struct kperf_flamegraph_desc {
    const char *folded;             /**< folded text: lines "a;b;c COUNT"; or NULL */
    const char *folded_path;        /**< a file of folded lines; used when folded is NULL */
    const kperf_folded_stack *stacks; /**< in-memory stacks; used when both above are NULL */
    size_t nstacks;                 /**< number of @ref stacks */
    const char *title;              /**< NULL = "Flame Graph" */
    const char *count_name;         /**< unit of counts; NULL = "samples" */
    uint32_t width;                 /**< SVG width in pixels; 0 = 1200 */
} kperf_flamegraph_desc;

/** @brief Writes an SVG flame graph (searchable and zoomable in a browser, no external
 *  script) from folded stacks.
 *  @param svg_path the output file ("-" for stdout).
 *  @param desc the stacks and options.
 *  @return the number of stacks drawn, or a negative error code
 *  (-KPERF_EPARSE naming the line for malformed folded text). */
KPERF_API int kperf_flamegraph_write(const char *svg_path, const kperf_flamegraph_desc *desc);

/* ---- unwinding (DWARF call graphs) ---------------------------------------------------- */

/** perf `sample_regs_user` mask of the x86-64 registers DWARF unwinding uses: ax, bx, cx,
 *  dx, si, di, bp, sp, ip and r8-r15 (flags and segment registers left out). */
#define KPERF_UNWIND_REGS_X86_64 0xff01ffull
/** perf `sample_regs_user` mask of the arm64 registers DWARF unwinding uses: x0-x30, sp, pc. */
#define KPERF_UNWIND_REGS_ARM64 0x1ffffffffull
/** The unwinding register mask of the machine kperf is built for (0 where unwinding is not
 *  supported): put it in kperf_sampler_desc::regs_user_mask together with
 *  `KPERF_SAMPLE_REGS_USER | KPERF_SAMPLE_STACK_USER` in kperf_sampler_desc::fields. */
#if defined(__x86_64__)
#define KPERF_UNWIND_REGS KPERF_UNWIND_REGS_X86_64
#elif defined(__aarch64__)
#define KPERF_UNWIND_REGS KPERF_UNWIND_REGS_ARM64
#else
#define KPERF_UNWIND_REGS 0ull
#endif

/** @brief Unwinds the user stack of a sample with DWARF call-frame information (.eh_frame
 *  and .debug_frame, through libdwfl), as `perf report` does for `perf record --call-graph
 *  dwarf`: code built without frame pointers still gets whole call chains.
 *  @param s the symbolizer; its maps of the sample's process (kperf_symbolizer_add_pid(),
 *  kperf_symbolizer_add_module(); a pid never seen is read from /proc) say which file is
 *  mapped where. The per-process unwinding state is cached and rebuilt when that process's
 *  maps change.
 *  @param smp the sample: pid, the user registers (regs_abi, regs, nregs from
 *  KPERF_SAMPLE_REGS_USER) and the stack copy (stack, stack_dyn_size from
 *  KPERF_SAMPLE_STACK_USER). Kernel frames of its call chain, when it has some, are kept.
 *  @param regs_mask the `sample_regs_user` mask the registers were recorded with
 *  (kperf_sampler_desc::regs_user_mask, or kperf_perfdata_events::regs_user_mask); 0 = one
 *  of the usual sets, told apart by the number of registers: KPERF_UNWIND_REGS
 *  (kperf_sampler_desc::dwarf_callchain), `perf record --call-graph dwarf`'s (x86-64), or
 *  the sampler's default bp, sp, ip (x86-64; arm64: fp, lr, sp, pc).
 *  It must hold ip and sp; the more registers, the fewer frames are lost to code that keeps
 *  its frame base in a callee-saved register.
 *  @param ips receives the chain in the layout of kperf_sample::ips, innermost first: the
 *  sampled user ip, then return addresses (look those up as addr - 1). When kernel frames
 *  are kept they come first, after KPERF_CONTEXT_KERNEL, and the user frames follow
 *  KPERF_CONTEXT_USER; without kernel frames there are no markers.
 *  @param max capacity of @p ips.
 *  @return the entries written (at least the sampled ip: unwinding stops quietly where the
 *  stack copy, the registers or the CFI run out), or a negative error code: -EINVAL (no
 *  user registers, a mask that lacks ip or sp or does not match the number of registers),
 *  -KPERF_ENOTARGET (a process never added
 *  that has exited), -KPERF_ENOTSUP (an architecture without a register table, or a process
 *  added with file_vaddr), -KPERF_ECORRUPT (none of the process's modules can be read).
 *  *Thread safety:* may be called from several threads; unwinds of one symbolizer are
 *  serialised (a libdwfl session is single-threaded). */
KPERF_API int kperf_symbolizer_unwind(kperf_symbolizer *s, const kperf_sample *smp,
                                      uint64_t regs_mask, uint64_t *ips, size_t max);

/* ---- pprof (profile.proto, gzip-compressed) ------------------------------------------- */

/** A pprof profile being built from samples (the format of `go tool pprof`, Parca,
 *  Grafana Pyroscope and Google Cloud Profiler). Opaque. */
typedef struct kperf_pprof kperf_pprof;

/** Options of kperf_pprof_new(). Zero-initialised means the defaults. */
typedef struct kperf_pprof_desc {
    kperf_symbolizer *symbolizer; /**< names frames (functions with file and line, inline
                                       frames) and gives mappings with build-ids; it must
                                       outlive the builder; NULL = addresses only */
    const char *event;     /**< the sampled event as named in the spec; "cpu-clock" and
                                "task-clock" (modifiers allowed) give sample types
                                samples/count and cpu/nanoseconds, "wall" (off-CPU
                                time: each sample's period is the nanoseconds it
                                stood for) samples/count and wall/nanoseconds, any
                                other event samples/count and EVENT/count;
                                NULL = "cpu-clock" */
    const char *const *events; /**< several events (at most 16), in the order
                                kperf_pprof_add_event() numbers them: each gets its own
                                value column after samples/count, named as @ref event
                                says; the period type is the first's. Used instead of
                                @ref event when nevents > 1 */
    size_t nevents;        /**< number of @ref events */
    uint64_t period;       /**< the sampling period (nanoseconds for the clocks, events
                                otherwise) for the profile's period field, and the value of
                                a sample whose period is 0; 0 = unknown */
    const char *comment;   /**< a comment, e.g. the command that was profiled; NULL = none */
    int64_t time_nanos;    /**< when the profile started (ns since the epoch); 0 = now */
    int64_t duration_nanos; /**< how long it covers; 0 = unknown */
    bool no_labels;        /**< do not label samples with `comm` and `pid`; default false */
} kperf_pprof_desc;

/** @brief Creates an empty pprof profile.
 *  @param out receives it; NULL on failure. @param desc options; NULL = all defaults.
 *  @return 0, or a negative error code. *Ownership:* free with kperf_pprof_free(). */
KPERF_API int kperf_pprof_new(kperf_pprof **out, const kperf_pprof_desc *desc);

/** @brief Adds one sample: its call chain (kperf_sample::ips with context markers, as the
 *  sampler or kperf_symbolizer_unwind() gives it; its ip when it has none), its pid and
 *  period. Samples with the same stack, comm and pid are merged into one pprof sample
 *  whose values are summed. Every address is symbolized once (return addresses as
 *  addr - 1), into one pprof Location whose Lines are the inline chain, innermost first.
 *  @param p the profile. @param smp the sample. @param comm the process's name (label
 *  `comm`), or NULL.
 *  @return 0, or a negative error code (-ENOMEM). */
KPERF_API int kperf_pprof_add(kperf_pprof *p, const kperf_sample *smp, const char *comm);

/** @brief Adds one sample of one of several events, as kperf_pprof_add() does: @p event
 *  is an index in kperf_pprof_desc::events; the sample's period goes to that event's value
 *  column, the other events' columns get 0, and samples/count counts it.
 *  @return 0, or a negative error code (-EINVAL for an event out of range). */
KPERF_API int kperf_pprof_add_event(kperf_pprof *p, const kperf_sample *smp, const char *comm,
                                    int event);

/** @brief Encodes the profile as pprof writes it: profile.proto, gzip-compressed.
 *  @param p the profile (it can still take samples afterwards).
 *  @param out receives the bytes; free them with kperf_pprof_buffer_free().
 *  @param len receives the number of bytes.
 *  @return 0, or a negative error code. */
KPERF_API int kperf_pprof_encode(kperf_pprof *p, uint8_t **out, size_t *len);

/** @brief Encodes the profile (as kperf_pprof_encode()) into a file.
 *  @param p the profile. @param path the file ("-" = stdout).
 *  @return the number of pprof samples written, or a negative error code. */
KPERF_API int kperf_pprof_write(kperf_pprof *p, const char *path);

/** @brief Frees a profile; accepts NULL. */
KPERF_API void kperf_pprof_free(kperf_pprof *p);

/** @brief Frees a buffer returned by kperf_pprof_encode() or kperf_pprof_profile_self();
 *  accepts NULL. */
KPERF_API void kperf_pprof_buffer_free(uint8_t *buf);

/** Options of kperf_pprof_profile_self(). Zero-initialised means the defaults. */
typedef struct kperf_pprof_profile_desc {
    double seconds;        /**< how long to sample; 0 = 30 (as `/debug/pprof/profile`) */
    uint64_t freq;         /**< samples per second per thread; 0 = 100 (as Go's profiler) */
    const char *events;    /**< event spec; NULL = "cpu-clock" */
    bool include_kernel;   /**< also sample kernel code; default false */
    volatile const int *cancel; /**< when non-NULL and it becomes non-zero, sampling stops
                                     early (checked every 50 ms) */
} kperf_pprof_profile_desc;

/** @brief Profiles the calling process (every thread, and threads it starts meanwhile)
 *  with call chains for a while and returns the pprof profile, symbolized, as a
 *  `/debug/pprof/profile?seconds=N` endpoint serves it. The calling thread sleeps in poll()
 *  meanwhile (it is not sampled while it waits), draining the rings as they fill.
 *  @param desc options; NULL = all defaults.
 *  @param out receives the gzip-compressed profile; free with kperf_pprof_buffer_free().
 *  @param len receives its size in bytes.
 *  @return the number of samples taken, or a negative error code (kperf_errmsg() says
 *  why: perf_event_paranoid, no such event, ...).
 *  *Thread safety:* any thread may call it; two calls at once each open their own events. */
KPERF_API int kperf_pprof_profile_self(const kperf_pprof_profile_desc *desc, uint8_t **out,
                                       size_t *len);

/** @brief The file offset of function @p func in the ELF file @p file, for a uprobe: the
 *  defined function symbol (.symtab, else .dynsym) mapped through the PT_LOAD segment
 *  that holds it. Matches the ::kperf_probe_resolve_fn type:
 *  `kperf_probe_resolver_set(kperf_probe_resolve_elf, NULL)` lets kperf_evlist_parse()
 *  take `uprobe:func@"file"`.
 *  @param file the ELF file (opened only if it is a regular file).
 *  @param func the symbol name (unversioned, e.g. "malloc").
 *  @param offset receives the file offset.
 *  @param user unused.
 *  @return 0; -KPERF_ENOEVENT when the file has no such defined function (the message
 *  names both); -KPERF_ECORRUPT when it is not ELF; a negative errno. */
KPERF_API int kperf_probe_resolve_elf(const char *file, const char *func, uint64_t *offset,
                                      void *user);

// <<symbols

#ifdef __cplusplus
}
#endif
#endif // KPERF_SYMBOLS_H_INCLUDED

#ifdef KPERF_IMPLEMENTATION
#ifndef KPERF_SYMBOLS_IMPL_INCLUDED
#define KPERF_SYMBOLS_IMPL_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

// >>symbols -----------------------------------------------------------------------------
/* Design: a module file ("dso") is opened once and cached (key: build-id, else device and
 * inode, else path). Its ELF symbols become one sorted array; its DWARF is split by
 * compilation unit (CU): a sorted array of CU address ranges is built when the module is
 * opened, and a CU's line rows, scope tree (subprograms, inlined subroutines) and the ELF
 * symbols' edges are merged into one sorted array of cells the first time a lookup lands in
 * it (kperf__sym_cu_cells). A warm lookup reads a bucket entry, a cell, then the scope, its
 * parent and the symbol in parallel. Strings point into the mapped ELF/DWARF data (kept open
 * until close).
 * Concurrency: all building happens under s->mu; a built index is published with a release
 * store and never changes again, so readers load it with acquire and take no lock. Process
 * maps change under a rwlock; lookups skip it through a per-thread hint (kperf__sym_hint). */
#include <dlfcn.h>
#include <inttypes.h>
#include <gelf.h>
#include <libelf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwelf.h>
#include <dwarf.h>

#define KPERF__SYM_NONE UINT32_MAX
#define KPERF__SYM_LANG_UNKNOWN 2 /* culang_c: not read yet (kperf__sym_units_aranges) */
#define KPERF__SYM_MAX_RANGES 100000000u /* hostile-input ceiling on entries per array */

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Maps the whole pages inside [p, p + n) in one call, before they are read (write false:
 * mapped file data) or filled (write true: fresh memory). Each page touched for the first
 * time otherwise costs the CPU a trap, and on virtual machines a trap costs 10-15 us where
 * the kernel maps a page in well under 1 us: the 250 fresh pages of a 1 MiB array take 3 ms
 * one by one and 0.15 ms in one call. Advice only: kernels before 5.14 answer EINVAL and
 * the pages then fault in as they are touched; ranges under 64 KiB are left alone. */
static void kperf__sym_populate(void *p, size_t n, bool write) {
    if (!p || n < 65536) return;
    long psz = sysconf(_SC_PAGESIZE);
    uintptr_t pg = psz > 0 ? (uintptr_t)psz : 4096;
    uintptr_t lo = ((uintptr_t)p + pg - 1) & ~(pg - 1), hi = ((uintptr_t)p + n) & ~(pg - 1);
    if (hi > lo) (void)madvise((void *)lo, hi - lo, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ);
}

/* Memory that asks for transparent huge pages: 2 MiB-aligned mappings, where one fault
 * maps 2 MiB (about 0.15 ms here) instead of 512 faults of 4 KiB (3-7 ms on this kind of
 * VM even after kperf__sym_populate, as the hypervisor still maps each page on its first
 * touch). Under AddressSanitizer everything comes from malloc, so overflows are caught. */
#if defined(__SANITIZE_ADDRESS__)
#define KPERF__SYM_NO_ARENA 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KPERF__SYM_NO_ARENA 1
#endif
#endif
#define KPERF__SYM_CHUNK ((size_t)2 << 20)

#ifndef KPERF__SYM_NO_ARENA
/* size bytes (a multiple of KPERF__SYM_CHUNK) of such memory, or NULL. */
static uint8_t *kperf__sym_huge_map(size_t size) {
    size_t map = size + KPERF__SYM_CHUNK;
    uint8_t *m = (uint8_t *)mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == (uint8_t *)MAP_FAILED) return NULL;
    uint8_t *a = (uint8_t *)(((uintptr_t)m + KPERF__SYM_CHUNK - 1) & ~(uintptr_t)(KPERF__SYM_CHUNK - 1));
    if (a > m) munmap(m, (size_t)(a - m));
    if (a + size < m + map) munmap(a + size, (size_t)(m + map - (a + size)));
#ifdef MADV_HUGEPAGE
    madvise(a, size, MADV_HUGEPAGE);
#endif
    return a;
}
#endif

/* A large array of n bytes (64-aligned) in such memory when it is 512 KiB or more (below
 * that, zeroing a whole 2 MiB page costs more than the 4 KiB faults it saves), else from
 * malloc; freed with kperf__sym_big_free. A 64-byte header in front says which. */
#define KPERF__SYM_BIG_MIN ((size_t)512 << 10)
static void *kperf__sym_big(size_t n) {
    if (n > ((size_t)1 << 40)) return NULL;
    size_t need = n + 64, map = 0;
    uint8_t *base = NULL;
#ifndef KPERF__SYM_NO_ARENA
    if (need >= KPERF__SYM_BIG_MIN) {
        map = (need + KPERF__SYM_CHUNK - 1) & ~(KPERF__SYM_CHUNK - 1);
        base = kperf__sym_huge_map(map);
    }
#endif
    if (!base) {
        map = 0;
        if (!(base = (uint8_t *)KPERF_MALLOC(need))) return NULL;
    }
    memcpy(base, &map, sizeof map);
    return base + 64;
}

static void kperf__sym_big_free(void *p) {
    if (!p) return;
    uint8_t *base = (uint8_t *)p - 64;
    size_t map;
    memcpy(&map, base, sizeof map);
    if (map) munmap(base, map);
    else KPERF_FREE(base);
}

/* A bucket index over a sorted array of 64-bit addresses (the first field of each element,
 * elements `stride` bytes apart): 32-bit offsets from the first address, plus a table that
 * maps (offset >> shift) to the first element of that bucket. A lookup reads one bucket
 * entry and a few offsets in one or two cache lines instead of ~log2(n) scattered
 * elements. Spans of 4 GiB or more keep b == NULL and fall back to a plain binary search. */
typedef struct kperf__sym_bix {
    uint64_t base;
    uint32_t shift, nb;
    uint32_t *b;   /* nb + 1 entries: first element of each bucket, b[nb] = n */
    uint32_t *off; /* n entries: address - base */
} kperf__sym_bix;

static uint64_t kperf__sym_at(const void *arr, size_t stride, size_t i) {
    uint64_t v;
    memcpy(&v, (const char *)arr + i * stride, sizeof v);
    return v;
}

static void kperf__sym_bix_free(kperf__sym_bix *x) {
    KPERF_FREE(x->b);
    KPERF_FREE(x->off);
    memset(x, 0, sizeof *x);
}

static int kperf__sym_bix_build(kperf__sym_bix *x, const void *arr, size_t n, size_t stride) {
    memset(x, 0, sizeof *x);
    if (n < 8 || n >= UINT32_MAX) return 0;
    uint64_t base = kperf__sym_at(arr, stride, 0), span = kperf__sym_at(arr, stride, n - 1) - base;
    if (span >> 32) return 0;
    uint32_t shift = 0;
    while (shift < 31 && (span >> shift) > n) shift++;
    uint32_t nb = (uint32_t)(span >> shift) + 1;
    x->b = (uint32_t *)KPERF_MALLOC(((size_t)nb + 1) * sizeof *x->b);
    x->off = (uint32_t *)KPERF_MALLOC(n * sizeof *x->off);
    if (!x->b || !x->off) {
        kperf__sym_bix_free(x);
        return -ENOMEM;
    }
    size_t i = 0;
    for (uint32_t k = 0; k <= nb; k++) {
        uint64_t start = (uint64_t)k << shift;
        while (i < n && kperf__sym_at(arr, stride, i) - base < start) i++;
        x->b[k] = (uint32_t)i;
    }
    x->b[nb] = (uint32_t)n;
    for (i = 0; i < n; i++) x->off[i] = (uint32_t)(kperf__sym_at(arr, stride, i) - base);
    x->base = base, x->shift = shift, x->nb = nb;
    return 0;
}

/* A search in two steps, so that several searches' cache misses can overlap: first the
 * bucket (lo, hi), then kperf__sym_bix_end. Returns 0 with a range to search, or the
 * final answer + 2 (1 = -1 "before everything", n + 1 = the last element). */
static inline size_t kperf__sym_bix_start(const kperf__sym_bix *x, size_t n, uint64_t a,
                                          size_t *lo, size_t *hi) {
    *lo = 0, *hi = n;
    if (!x->b) return 0;
    if (a < x->base) return 1;
    uint64_t o = a - x->base;
    if ((o >> 32) || (o >> x->shift) >= x->nb) return n + 1;
    uint32_t k = (uint32_t)(o >> x->shift);
    *lo = x->b[k], *hi = x->b[k + 1];
    return 0;
}

/* Last index in [0, n) whose address is <= a, or -1, searching only [lo, hi) (which the
 * answer + 1 lies in). */
static ptrdiff_t kperf__sym_bix_end(const kperf__sym_bix *x, const void *arr, size_t stride,
                                    size_t lo, size_t hi, uint64_t a) {
    if (x->b && hi - lo > 8) { /* a long bucket: the packed offsets */
        uint32_t off = (uint32_t)(a - x->base);
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (x->off[mid] <= off) lo = mid + 1;
            else hi = mid;
        }
        return (ptrdiff_t)lo - 1;
    }
    while (lo < hi) { /* a short bucket (or no index): the elements themselves */
        size_t mid = lo + (hi - lo) / 2;
        if (kperf__sym_at(arr, stride, mid) <= a) lo = mid + 1;
        else hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

/* Last index whose address is <= a, or -1. */
static ptrdiff_t kperf__sym_bix_find(const kperf__sym_bix *x, const void *arr, size_t n,
                                     size_t stride, uint64_t a) {
    size_t lo, hi, r = kperf__sym_bix_start(x, n, a, &lo, &hi);
    return r ? (ptrdiff_t)r - 2 : kperf__sym_bix_end(x, arr, stride, lo, hi, a);
}

typedef struct kperf__sym_ent {
    uint64_t lo, size;
    const char *name;
    const char *srcfile; /* gnu_compat: the STT_FILE name BFD would report */
    uint32_t order;      /* position in the symbol table (BFD tie-breaks in this order) */
    uint16_t shndx;
    uint8_t type, bind;
    uint8_t plt, vis;
    char *dem;           /* lazily demangled name, (char *)1 = not mangled (kperf__sym_dem) */
} kperf__sym_ent;

typedef struct kperf__sym_row {
    uint64_t addr;
    uint32_t file; /* index in cu->files; KPERF__SYM_NONE marks an end of sequence */
    uint32_t line;
    uint32_t col;
    uint32_t disc;
} kperf__sym_row;

/* The answer for [base + off, the next cell's): a CU's line rows, its scope segments and
 * the ELF symbols' edges merged into one sorted array over the CU's span, so that one
 * search finds the line, the scopes and the symbol. Neighbours never hold the same answer.
 * 32 bytes: two to a cache line. */
typedef struct kperf__sym_cell {
    uint32_t off;   /* address - cu->base */
    uint32_t file;  /* index in cu->files; KPERF__SYM_NONE: no line row (a gap, an end of
                       sequence); KPERF__SYM_NONE - 1: a row whose file has no name */
    uint32_t line, col, disc;
    uint32_t scope; /* innermost scope, KPERF__SYM_NONE for none */
    uint32_t sym;   /* the ELF symbol kperf__sym_find_from() gives (index in d->syms), NONE */
} kperf__sym_cell;

typedef struct kperf__sym_scope {
    const char *name;
    uint64_t entry;     /* low end of the first range (BFD's arange.low) */
    uint32_t parent;    /* enclosing scope for an inlined subroutine, else NONE */
    uint32_t call_file; /* index in cu->files, NONE when absent */
    uint32_t call_line, call_col;
    uint8_t linkage;    /* name is a linkage name (or from a C-like language) */
    uint8_t inlined;
    char *dem;          /* lazily demangled name, (char *)1 = not mangled (kperf__sym_dem) */
} kperf__sym_scope;

typedef struct kperf__sym_seg {
    uint64_t lo;
    uint32_t scope; /* innermost scope covering [lo, next lo), NONE for a gap */
} kperf__sym_seg;

typedef struct kperf__sym_cu {
    const char **files;
    size_t nfiles;
    kperf__sym_scope *scopes;
    size_t nscopes;
    kperf__sym_cell *cells;
    size_t ncells;
    /* Bucket index over cells: b[k] = number of cells whose off <= k << shift, nb + 1
     * entries (b[nb] = ncells); b == NULL: search all cells. */
    uint64_t base, span; /* the CU's lowest address; cells cover [base, base + span) */
    uint32_t shift, nb;
    uint32_t *b;
    char **owned; /* file names joined with the compilation directory */
    size_t nowned;
    uint32_t *gsym; /* gnu_compat: BFD's per-function name cache (see kperf__sym_gnu_name) */
    bool arena;     /* cells, b, scopes and gsym live in one block of the module's arena */
} kperf__sym_cu;

typedef struct kperf__sym_curange {
    uint64_t lo, hi;
    uint32_t cu;
} kperf__sym_curange;

typedef struct kperf__sym_sec {
    uint64_t addr, size;
    uint32_t alloc;
    uint32_t first; /* no allocated section of a lower index overlaps this one */
} kperf__sym_sec;

/* Scratch arrays of CU builds, kept from one build to the next: on a virtual machine a
 * fresh page costs more than the work done on it. One per building thread. */
typedef struct kperf__sym_scratch {
    struct kperf__dw_lrow *lrows;
    size_t caplrows;
    struct kperf__sym_ord *lord; /* kperf__dw_sort_rows's keys */
    size_t caplord;
    struct kperf__sym_row *rows;
    size_t caprows;
    struct kperf__sym_seg *segs;
    size_t capsegs;
    struct kperf__sym_range *ranges, *stack;
    size_t capranges, capstack;
    uint64_t *edges;
    size_t capedges;
    struct kperf__sym_ord *rord; /* kperf__sym_sort_ranges's keys */
    size_t caprord;
    struct kperf__sym_cell *cells;
    size_t capcells;
    uint8_t *ap;             /* the arena chunk this thread carves CU arrays from */
    size_t aused, acap;
} kperf__sym_scratch;

static void kperf__sym_scratch_free(kperf__sym_scratch *sc) {
    kperf__sym_big_free(sc->lrows); /* all grown by kperf__sym_grow_big */
    kperf__sym_big_free(sc->lord);
    kperf__sym_big_free(sc->rord);
    kperf__sym_big_free(sc->rows);
    kperf__sym_big_free(sc->segs);
    kperf__sym_big_free(sc->ranges);
    kperf__sym_big_free(sc->stack);
    kperf__sym_big_free(sc->edges);
    kperf__sym_big_free(sc->cells);
    memset(sc, 0, sizeof *sc); /* the arena chunk belongs to the module */
}

typedef struct kperf__sym_dsec { /* a DWARF section's bytes, as libelf holds them */
    const uint8_t *p;
    size_t n;
    int fd;        /* >= 0: p is the file's mapping at offset foff (kperf__sym_dsec_read) */
    uint64_t foff;
} kperf__sym_dsec;

/* Copies n bytes at off of a section (off + n within it): with pread when the section is a
 * view of a mapped file, which does not map the page (a first touch of a mapped page costs
 * 10-30 us on this kind of VM: see kperf__sym_populate); else from memory. */
static void kperf__sym_dsec_read(const kperf__sym_dsec *sec, uint64_t off, void *out, size_t n) {
    if (sec->fd >= 0 && pread(sec->fd, out, n, (off_t)(sec->foff + off)) == (ssize_t)n) return;
    memcpy(out, sec->p + off, n);
}

typedef struct kperf__sym_dso {
    char *path;       /* as the process names it */
    char *open_path;  /* what we open */
    uint8_t build_id[20];
    size_t nbuild_id;
    dev_t dev;
    ino_t ino;
    int state; /* 0 not opened, 1 ready, < 0 the error of opening it */
    char *err;
    int fd, dfd;
    void *mem;                 /* in-memory image (vDSO, zstd-decompressed copy) */
    size_t memsz;
    Elf *elf, *delf;          /* main file, separate debug file (may be NULL) */
    Elf *zelf;                /* copy with zstd sections inflated, for libdw */
    void *zmem;
    Dwarf *dw;
    kperf__sym_dsec dline, dlinestr, dstr; /* for the line programs decoded here */
    kperf__sym_dsec dinfo, dabbrev, dstroff, daddr, dranges, drnglists; /* DIEs read here */
    kperf__sym_dsec daranges; /* .debug_aranges (kperf__sym_units_aranges) */
    bool own_lines;           /* decode line programs here (else libdw's) */
    bool own_dies;            /* read DIE trees here (kperf__dw_walk; else libdw's) */
    bool strict;              /* KPERF_SYMBOLS_STRICT=1: say when a CU falls back to libdw */
    uint64_t *cuhdr;          /* per CU: offset of its unit header in .debug_info */
    int elfclass;
    GElf_Half etype;
    struct { uint64_t off, filesz, vaddr; } *loads;
    size_t nloads;
    kperf__sym_sec *secs;     /* sections of the main file, by index */
    size_t nsecs;
    kperf__sym_sec *gsecs;    /* sections of the file gnu_compat's symbols come from */
    size_t ngsecs;
    kperf__sym_ent *syms;
    size_t nsyms;
    kperf__sym_bix yix;
    kperf__sym_curange *curanges;
    size_t ncuranges;
    kperf__sym_bix cix;       /* bucket index over curanges */
    Dwarf_Off *cuoffs;        /* CU DIE offsets */
    uint64_t *cuspan;         /* per CU: lowest and highest address of its ranges */
    uint8_t *culang_c;        /* CU of a C-like language (BFD's non_mangled) */
    kperf__sym_cu **cus;      /* published with release, read with acquire */
    struct kperf__sym_scratch scratch; /* CU builds under s->mu */
    struct kperf__sym_scratch wscratch[7]; /* the other preload threads' (kperf__sym_pre_build) */
    void *chunks;             /* arena chunks (kperf__sym_arena), a list pushed atomically */
    size_t ncus;
    char *debug_path;
    char **owned;             /* strings made here ("name@plt") */
    size_t nowned, capowned;
} kperf__sym_dso;

typedef struct kperf__sym_map {
    uint64_t start, end, pgoff;
    kperf__sym_dso *dso;
} kperf__sym_map;

struct kperf__sym_tent { uint64_t lo, hi; const char *name, *module; };
struct kperf__sym_tline { uint64_t addr; const char *file; uint32_t line; };
typedef struct kperf__sym_tab { /* kallsyms, perf maps: sorted, no sizes or own sizes */
    struct kperf__sym_tent *e;
    size_t n;
    char *pool;
    char **dem;
    int state; /* 1 ready, < 0 error */
    uint64_t src_size;              /* JIT files: the size of the file this was read from */
    struct kperf__sym_tab *retired; /* JIT files: the next replaced table (freed at close) */
    char *err;
    struct kperf__sym_tline *lines;
    size_t nlines; /* jitdump debug info: sorted by addr */
} kperf__sym_tab;

typedef struct kperf__sym_proc {
    pid_t pid;
    bool file_vaddr;
    kperf__sym_dso *fdso;
    kperf__sym_map *maps;
    size_t nmaps, capmaps;
    kperf__sym_tab *jit; /* perf-PID.map; published with release */
    kperf__sym_tab *jitd; /* jit-PID.dump; published with release */
    char *jitdump; /* path of a jit-PID.dump the process mapped (the JIT's marker) */
    bool jit_tried;
    uint64_t jit_next_ns; /* JIT files: when to look at them again after a miss */
    kperf__sym_tab *jit_retired; /* replaced tables, which lock-free readers may still use */
} kperf__sym_proc;

struct kperf_symbolizer {
    kperf_symbolizer_desc d;
    char *debug_dir, *kallsyms_path, *perf_map_dir, *proc_dir;
    pthread_mutex_t mu;
    pthread_rwlock_t maplock;
    uint64_t gen; /* changes whenever maps change (under maplock); see kperf__sym_hint */
    kperf__sym_dso **dsos;
    size_t ndsos, capdsos;
    kperf__sym_proc **procs; /* sorted by pid */
    size_t nprocs, capprocs;
    kperf__sym_tab *kernel;  /* published with release */
    bool kernel_tried;
    int dinfod;              /* debuginfod: 0 not tried, 1 reachable, -1 off (under mu) */
    struct kperf__unw *unw;  /* DWARF unwinding sessions (see "unwinding"), lazily made */
    bool dem_started, dem_thread_ok; /* kperf__sym_demangler_ahead (under mu) */
    pthread_t dem_thread;
};

/* This thread's last answer of the map lookup, used while the symbolizer's generation is
 * unchanged: a lookup then takes no lock (two atomic read-modify-writes on a shared line,
 * a quarter of a warm lookup's time). Modules are freed only by kperf_symbolizer_close(),
 * so a hint that is stale by a moment still names live modules. */
typedef struct kperf__sym_hint {
    const kperf_symbolizer *s;
    uint64_t gen;
    pid_t pid;
    kperf__sym_map m;     /* m.dso NULL: the process takes file addresses, fdso */
    kperf__sym_dso *fdso;
} kperf__sym_hint;
static KPERF__TLS kperf__sym_hint kperf__sym_last;

/* Releases the write lock on the maps, with a new generation that retires every thread's
 * hint. Every writer of the maps ends with this instead of a plain unlock. */
static void kperf__sym_maps_wrunlock(kperf_symbolizer *s) {
    __atomic_add_fetch(&s->gen, 1, __ATOMIC_RELEASE);
    pthread_rwlock_unlock(&s->maplock);
}

/* The capacity an array of capacity cap grows to for n items (doubling from first); 0
 * past the hostile-input ceiling. */
static size_t kperf__sym_cap_for(size_t cap, size_t n, size_t first) {
    if (n > KPERF__SYM_MAX_RANGES) return 0;
    size_t c = cap ? cap * 2 : first;
    while (c < n) c *= 2;
    return c;
}

/* Grows *p (an array of elem-sized items with capacity *cap) to hold n items. */
static int kperf__sym_grow(void *pp, size_t *cap, size_t n, size_t elem) {
    void **p = (void **)pp;
    if (n <= *cap) return 0;
    size_t c = kperf__sym_cap_for(*cap, n, 16);
    if (!c) return -ENOMEM;
    void *q = KPERF_REALLOC(*p, c * elem);
    if (!q) return -ENOMEM;
    kperf__sym_populate((uint8_t *)q + *cap * elem, (c - *cap) * elem, true);
    *p = q;
    *cap = c;
    return 0;
}

/* kperf__sym_grow for the scratch arrays of CU builds (kept from build to build): once
 * they reach KPERF__SYM_BIG_MIN they move to huge-page memory (kperf__sym_big), filling
 * whole 2 MiB pages; freed with kperf__sym_big_free. */
static int kperf__sym_grow_big(void *pp, size_t *cap, size_t n, size_t elem) {
    void **p = (void **)pp;
    if (n <= *cap) return 0;
    size_t c = kperf__sym_cap_for(*cap, n, 256);
    if (!c) return -ENOMEM;
    if (c * elem + 64 >= KPERF__SYM_BIG_MIN) /* the rest of the last 2 MiB page too */
        c = ((((c * elem + 64) + KPERF__SYM_CHUNK - 1) & ~(KPERF__SYM_CHUNK - 1)) - 64) / elem;
    void *q = kperf__sym_big(c * elem);
    if (!q) return -ENOMEM;
    if (*p && *cap) memcpy(q, *p, *cap * elem);
    kperf__sym_big_free(*p);
    *p = q;
    *cap = c;
    return 0;
}

/* snprintf into a path buffer; false when it did not fit. */
static bool kperf__sym_path(char *out, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static bool kperf__sym_path(char *out, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < size;
}

// ---- demangling ------------------------------------------------------------------------

typedef char *(*kperf__cxa_demangle_fn)(const char *, char *, size_t *, int *);
static kperf__cxa_demangle_fn kperf__sym_demangle_fn;
static void kperf__sym_demangler_find(void) {
    void *f = dlsym(RTLD_DEFAULT, "__cxa_demangle");
    if (!f) {
        void *h = dlopen("libstdc++.so.6", RTLD_LAZY | RTLD_LOCAL);
        if (h) f = dlsym(h, "__cxa_demangle"); /* kept loaded for the process lifetime */
    }
    memcpy(&kperf__sym_demangle_fn, &f, sizeof f);
}
/* The C++ runtime's demangler, found once per process (a second caller waits for the
 * first: see kperf__sym_demangler_ahead). */
static kperf__cxa_demangle_fn kperf__sym_demangler(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, kperf__sym_demangler_find);
    return kperf__sym_demangle_fn;
}
static void *kperf__sym_demangler_run(void *arg) {
    (void)arg;
    kperf__sym_demangler();
    return NULL;
}
/* Finds the demangler on another thread, started when a module with mangled names is read
 * (caller holds s->mu): in a C program that means loading libstdc++, 2-3 ms that otherwise
 * come after the module is indexed, before its first C++ answer. Joined at close. */
static void kperf__sym_demangler_ahead(kperf_symbolizer *s) {
    if (s->dem_started) return;
    s->dem_started = true;
    s->dem_thread_ok = pthread_create(&s->dem_thread, NULL, kperf__sym_demangler_run, NULL) == 0;
}

KPERF_API char *kperf_demangle(const char *mangled) {
    if (!mangled || mangled[0] != '_' || mangled[1] != 'Z') return NULL;
    kperf__cxa_demangle_fn fn = kperf__sym_demangler();
    if (!fn) return NULL;
    int st = 0;
    char *r = fn(mangled, NULL, NULL, &st);
    if (st != 0) {
        free(r);
        return NULL;
    }
    return r;
}

static bool kperf__sym_mangled(const char *name) { return name && name[0] == '_' && name[1] == 'Z'; }

/* The demangled form of name, cached in *slot (lock-free: the first writer wins). A slot
 * holding (char *)1 means "not mangled": the index builders set it so that a lookup never
 * has to read the name's bytes. */
static const char *kperf__sym_dem(char **slot, const char *name) {
    char *d = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (d == (char *)1) return name;
    if (d) return d;
    if (!kperf__sym_mangled(name)) return name;
    char *n = kperf_demangle(name);
    char *want = n ? n : (char *)1;
    char *exp = NULL;
    if (__atomic_compare_exchange_n(slot, &exp, want, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        d = want;
    else {
        free(n);
        d = exp;
    }
    return d == (char *)1 ? name : d;
}

// ---- CRC32 (gnu_debuglink) ----------------------------------------------------------------

static uint32_t kperf__sym_crc32(uint32_t crc, const unsigned char *p, size_t n) {
    static uint32_t tab[256];
    static int init;
    if (!__atomic_load_n(&init, __ATOMIC_ACQUIRE)) {
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
            tab[i] = c;
        }
        __atomic_store_n(&init, 1, __ATOMIC_RELEASE);
    }
    crc = ~crc;
    while (n--) crc = tab[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static int kperf__sym_file_crc(int fd, uint32_t *out) {
    unsigned char buf[65536];
    uint32_t crc = 0;
    ssize_t r;
    off_t off = 0;
    while ((r = pread(fd, buf, sizeof buf, off)) > 0) {
        crc = kperf__sym_crc32(crc, buf, (size_t)r);
        off += r;
    }
    if (r < 0) return -errno;
    *out = crc;
    return 0;
}

// ---- ELF -------------------------------------------------------------------------------

static int kperf__sym_corrupt(kperf__sym_dso *d, const char *what) {
    return kperf__fail(KPERF_ECORRUPT, "symbols: %s: %s (%s); the file is truncated or "
                       "corrupt, rebuild or reinstall it", d->open_path, what,
                       elf_errmsg(-1) ? elf_errmsg(-1) : "bad data");
}

/* Sections of one ELF file, by index (bounded by e_shnum, which libelf checked). */
static int kperf__sym_read_secs(Elf *elf, kperf__sym_sec **out, size_t *n) {
    size_t shnum = 0;
    if (elf_getshdrnum(elf, &shnum) != 0) return -KPERF_ECORRUPT;
    kperf__sym_sec *s = (kperf__sym_sec *)kperf__calloc(shnum ? shnum : 1, sizeof *s);
    if (!s) return -ENOMEM;
    for (size_t i = 1; i < shnum; i++) {
        Elf_Scn *scn = elf_getscn(elf, i);
        GElf_Shdr sh;
        if (!scn || !gelf_getshdr(scn, &sh)) continue;
        s[i].addr = sh.sh_addr;
        s[i].size = sh.sh_type == SHT_NOBITS && !(sh.sh_flags & SHF_TLS) ? sh.sh_size
                    : sh.sh_type == SHT_NOBITS ? 0 : sh.sh_size;
        s[i].alloc = (sh.sh_flags & SHF_ALLOC) ? 1 + !!(sh.sh_flags & SHF_EXECINSTR) : 0;
    }
    for (size_t i = 1; i < shnum && shnum <= 512; i++) { /* for kperf__sym_sec_find's cache */
        s[i].first = 1;
        for (size_t j = 1; j < i && s[i].alloc; j++)
            if (s[j].alloc && s[j].addr < s[i].addr + s[i].size && s[i].addr < s[j].addr + s[j].size)
                s[i].first = 0;
    }
    *out = s;
    *n = shnum;
    return 0;
}

/* A truncated file: 0 when every section, segment and header table lies inside the file;
 * else the index of the first section (> 0) or -1 - index of the first segment outside. */
static int kperf__sym_check_extent(Elf *elf) {
    size_t fsize = 0, shnum = 0, phnum = 0;
    GElf_Ehdr eh;
    if (!elf_rawfile(elf, &fsize) || !gelf_getehdr(elf, &eh)) return 1;
    uint64_t shtab = (uint64_t)(eh.e_shnum ? eh.e_shnum : 1) * eh.e_shentsize;
    uint64_t phtab = (uint64_t)eh.e_phnum * eh.e_phentsize;
    if (eh.e_shoff && (eh.e_shoff > fsize || shtab > fsize - eh.e_shoff)) return 1;
    if (eh.e_phoff > fsize || phtab > fsize - eh.e_phoff) return -1;
    if (elf_getshdrnum(elf, &shnum) != 0) return 1;
    for (size_t i = 1; i < shnum; i++) {
        Elf_Scn *scn = elf_getscn(elf, i);
        GElf_Shdr sh;
        if (!scn || !gelf_getshdr(scn, &sh)) return (int)i;
        if (sh.sh_type != SHT_NOBITS && (sh.sh_offset > fsize || sh.sh_size > fsize - sh.sh_offset))
            return (int)i;
    }
    if (elf_getphdrnum(elf, &phnum) != 0) return -1;
    for (size_t i = 0; i < phnum && i < 65536; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(elf, (int)i, &ph)) return -1 - (int)i;
        if (ph.p_type == PT_LOAD && (ph.p_offset > fsize || ph.p_filesz > fsize - ph.p_offset))
            return -1 - (int)i;
    }
    return 0;
}

static Elf_Scn *kperf__sym_scn_by_name(Elf *elf, const char *name, GElf_Shdr *sh) {
    size_t shstrndx;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0) return NULL;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        if (!gelf_getshdr(scn, sh)) continue;
        const char *n = elf_strptr(elf, shstrndx, sh->sh_name);
        if (n && !strcmp(n, name)) return scn;
    }
    return NULL;
}

/* Appends the symbols of every SHT_SYMTAB (and, if want_dyn, SHT_DYNSYM) section of elf.
 * gnu: record the STT_FILE name BFD would attach to each symbol. */
/* Room for n symbols in d->syms (huge-page memory: kperf__sym_big); *cap is its capacity.
 * The first call sizes it for every symbol table entry of the module's files. */
static int kperf__sym_syms_room(kperf__sym_dso *d, size_t *cap, size_t n) {
    if (n <= *cap) return 0;
    size_t c = *cap ? *cap * 2 : 64;
    if (!*cap) { /* every entry of the symbol tables, plus some PLT names */
        Elf *files[2] = {d->elf, d->delf};
        for (int f = 0; f < 2; f++)
            for (Elf_Scn *scn = files[f] ? elf_nextscn(files[f], NULL) : NULL; scn;
                 scn = elf_nextscn(files[f], scn)) {
                GElf_Shdr sh;
                if (gelf_getshdr(scn, &sh) && (sh.sh_type == SHT_SYMTAB || sh.sh_type == SHT_DYNSYM) &&
                    sh.sh_entsize && sh.sh_size / sh.sh_entsize < KPERF__SYM_MAX_RANGES)
                    c += sh.sh_size / sh.sh_entsize;
            }
    }
    while (c < n) c *= 2;
    if (c > KPERF__SYM_MAX_RANGES) return -ENOMEM;
    if (c * sizeof *d->syms + 64 >= KPERF__SYM_BIG_MIN) /* the rest of the last 2 MiB page too */
        c = ((((c * sizeof *d->syms + 64) + KPERF__SYM_CHUNK - 1) & ~(KPERF__SYM_CHUNK - 1)) - 64) /
            sizeof *d->syms;
    kperf__sym_ent *q = (kperf__sym_ent *)kperf__sym_big(c * sizeof *q);
    if (!q) return -ENOMEM;
    if (d->nsyms) memcpy(q, d->syms, d->nsyms * sizeof *q);
    kperf__sym_big_free(d->syms);
    d->syms = q, *cap = c;
    return 0;
}

static int kperf__sym_add_table(kperf__sym_dso *d, Elf *elf, int type, size_t *cap,
                                bool gnu) {
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || (int)sh.sh_type != type) continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (!data || !sh.sh_entsize) continue;
        size_t n = data->d_size / gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT);
        const char *file = NULL;
        int state = 0; /* 0 nothing seen, 1 symbol seen, 2 file after symbol */
        for (size_t i = 1; i < n; i++) {
            GElf_Sym sym;
            if (!gelf_getsym(data, (int)i, &sym)) break;
            int st = GELF_ST_TYPE(sym.st_info), bind = GELF_ST_BIND(sym.st_info);
            const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
            if (st == STT_FILE) {
                file = name;
                if (state == 1) state = 2;
                continue;
            }
            if (state == 0) state = 1;
            if (st == STT_SECTION || st == STT_OBJECT || st == STT_TLS || st == STT_COMMON)
                continue;
            if (sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE) continue;
            if (!name || !name[0] || name[0] == '$') continue;
            if (gnu && sym.st_size == 0 && bind == STB_LOCAL && st == STT_NOTYPE &&
                GELF_ST_VISIBILITY(sym.st_other) == STV_HIDDEN)
                continue;
            if (kperf__sym_syms_room(d, cap, d->nsyms + 1)) return -ENOMEM;
            kperf__sym_ent *e = &d->syms[d->nsyms++];
            memset(e, 0, sizeof *e);
            e->lo = sym.st_value;
            e->size = sym.st_size;
            e->name = name;
            e->order = (uint32_t)d->nsyms;
            e->shndx = (uint16_t)sym.st_shndx;
            e->type = (uint8_t)st;
            e->bind = (uint8_t)bind;
            e->vis = (uint8_t)GELF_ST_VISIBILITY(sym.st_other);
            if (gnu && file && (bind == STB_LOCAL || state != 2)) e->srcfile = file;
        }
    }
    return 0;
}

/* PLT entries become name@plt symbols (x86_64 .plt/.plt.sec, aarch64 .plt). */
static int kperf__sym_add_plt(kperf__sym_dso *d, Elf *elf, size_t *cap) {
    GElf_Shdr rsh, psh, dsh;
    Elf_Scn *rel = kperf__sym_scn_by_name(elf, ".rela.plt", &rsh);
    if (!rel) rel = kperf__sym_scn_by_name(elf, ".rel.plt", &rsh);
    Elf_Scn *plt = kperf__sym_scn_by_name(elf, ".plt.sec", &psh);
    uint64_t first = 0, ent = 16;
    if (!plt) {
        plt = kperf__sym_scn_by_name(elf, ".plt", &psh);
        GElf_Ehdr eh;
        if (!plt || !gelf_getehdr(elf, &eh)) return 0;
        first = eh.e_machine == EM_AARCH64 ? 32 : 16;
    }
    if (!rel || !plt || psh.sh_type != SHT_PROGBITS) return 0;
    Elf_Scn *dyn = elf_getscn(elf, rsh.sh_link);
    if (!dyn || !gelf_getshdr(dyn, &dsh)) return 0;
    Elf_Data *rd = elf_getdata(rel, NULL), *dd = elf_getdata(dyn, NULL);
    if (!rd || !dd || !rsh.sh_entsize) return 0;
    size_t n = rd->d_size / rsh.sh_entsize;
    for (size_t i = 0; i < n; i++) {
        uint64_t info;
        if (rsh.sh_type == SHT_RELA) {
            GElf_Rela r;
            if (!gelf_getrela(rd, (int)i, &r)) break;
            info = r.r_info;
        } else {
            GElf_Rel r;
            if (!gelf_getrel(rd, (int)i, &r)) break;
            info = r.r_info;
        }
        GElf_Sym sym;
        size_t si = d->elfclass == ELFCLASS32 ? ELF32_R_SYM(info) : GELF_R_SYM(info);
        if (!si || !gelf_getsym(dd, (int)si, &sym)) continue;
        const char *name = elf_strptr(elf, dsh.sh_link, sym.st_name);
        uint64_t at = psh.sh_addr + first + i * ent;
        if (!name || !name[0] || at + ent > psh.sh_addr + psh.sh_size) continue;
        if (kperf__sym_syms_room(d, cap, d->nsyms + 1) ||
            kperf__sym_grow(&d->owned, &d->capowned, d->nowned + 1, sizeof *d->owned))
            return -ENOMEM;
        size_t nl = strlen(name);
        char *pn = (char *)KPERF_MALLOC(nl + 5);
        if (!pn) return -ENOMEM;
        memcpy(pn, name, nl);
        memcpy(pn + nl, "@plt", 5);
        d->owned[d->nowned++] = pn;
        kperf__sym_ent *e = &d->syms[d->nsyms++];
        memset(e, 0, sizeof *e);
        e->lo = at;
        e->size = ent;
        e->name = pn;
        e->order = (uint32_t)d->nsyms;
        e->type = STT_FUNC;
        e->bind = STB_GLOBAL;
        e->plt = 1;
    }
    return 0;
}

static int kperf__sym_underscores(const char *s) {
    int n = 0;
    while (s[n] == '_') n++;
    return n;
}

/* Alias choice in one address: functions, then sized, then global over weak over local,
 * then fewer leading underscores, unversioned, shorter, alphabetical. > 0: a is better. */
static int kperf__sym_better(const kperf__sym_ent *a, const kperf__sym_ent *b) {
    int fa = a->type == STT_FUNC || a->type == STT_GNU_IFUNC;
    int fb = b->type == STT_FUNC || b->type == STT_GNU_IFUNC;
    if (fa != fb) return fa - fb;
    if ((a->size > 0) != (b->size > 0)) return (a->size > 0) - (b->size > 0);
    int ba = a->bind == STB_GLOBAL ? 2 : a->bind == STB_WEAK ? 1 : 0;
    int bb = b->bind == STB_GLOBAL ? 2 : b->bind == STB_WEAK ? 1 : 0;
    if (ba != bb) return ba - bb;
    int ua = kperf__sym_underscores(a->name), ub = kperf__sym_underscores(b->name);
    if (ua != ub) return ub - ua;
    int va = strchr(a->name, '@') != NULL, vb = strchr(b->name, '@') != NULL;
    if (va != vb) return vb - va;
    size_t la = strlen(a->name), lb = strlen(b->name);
    if (la != lb) return la < lb ? 1 : -1;
    return strcmp(b->name, a->name);
}

static int kperf__sym_ent_cmp(const void *x, const void *y) {
    const kperf__sym_ent *a = (const kperf__sym_ent *)x, *b = (const kperf__sym_ent *)y;
    if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

typedef struct kperf__sym_ord {
    uint64_t a;
    size_t i;
} kperf__sym_ord;
static int kperf__sym_radix(kperf__sym_ord *v, size_t n);
static int kperf__sym_radix_with(kperf__sym_ord *v, size_t n, kperf__sym_ord *tmp);

/* Reorders n elements of elem bytes (at most 64) so that arr[k] becomes the old
 * arr[v[k].i]: followed cycle by cycle, in place (fresh pages cost more than the moves);
 * v's indexes are spent. */
static void kperf__sym_permute(void *arr, size_t elem, kperf__sym_ord *v, size_t n) {
    uint8_t *a = (uint8_t *)arr, first[64];
    for (size_t k = 0; k < n; k++) {
        if (v[k].i == k || v[k].i == SIZE_MAX) continue;
        memcpy(first, a + k * elem, elem);
        size_t j = k;
        while (v[j].i != k) {
            size_t from = v[j].i;
            memcpy(a + j * elem, a + from * elem, elem);
            v[j].i = SIZE_MAX;
            j = from;
        }
        memcpy(a + j * elem, first, elem);
        v[j].i = SIZE_MAX;
    }
}

/* Sorts the symbols as kperf__sym_ent_cmp orders them: by address, then in table order
 * (order grows with the index), which a stable radix sort of the addresses gives without
 * a comparison per step (tens of thousands of symbols: a third of the time to first
 * answer with qsort). */
static void kperf__sym_sort_syms(kperf__sym_dso *d, size_t cap) {
    size_t n = d->nsyms;
    /* the keys and the radix buffer go in the symbol array's room to spare when they fit
     * (the rest of its 2 MiB page, already touched: no fresh memory before the first
     * answer), else in fresh memory */
    bool room = n > 64 && (cap - n) * sizeof *d->syms >= 2 * n * sizeof(kperf__sym_ord);
    kperf__sym_ord *v = room ? (kperf__sym_ord *)(void *)(d->syms + n)
                      : n > 64 ? (kperf__sym_ord *)kperf__sym_big(2 * n * sizeof *v) : NULL;
    if (!v) {
        if (n) qsort(d->syms, n, sizeof *d->syms, kperf__sym_ent_cmp);
        return;
    }
    for (size_t i = 0; i < n; i++) v[i].a = d->syms[i].lo, v[i].i = i;
    kperf__sym_radix_with(v, n, v + n);
    kperf__sym_permute(d->syms, sizeof *d->syms, v, n);
    if (!room) kperf__sym_big_free(v);
}

/* Sorts the symbols; outside gnu_compat keeps one (the best alias) per address. */
static void kperf__sym_finish_syms(kperf__sym_dso *d, bool gnu, size_t cap) {
    kperf__sym_sort_syms(d, cap);
    if (gnu) return;
    size_t w = 0;
    for (size_t i = 0; i < d->nsyms; i++) {
        if (w && d->syms[w - 1].lo == d->syms[i].lo) {
            if (kperf__sym_better(&d->syms[i], &d->syms[w - 1]) > 0) d->syms[w - 1] = d->syms[i];
            if (!d->syms[w - 1].size) d->syms[w - 1].size = d->syms[i].size;
            continue;
        }
        d->syms[w++] = d->syms[i];
    }
    d->nsyms = w;
}

/* Last index with syms[i].lo <= a, or -1. */
static ptrdiff_t kperf__sym_sym_upper(const kperf__sym_dso *d, uint64_t a) {
    return kperf__sym_bix_find(&d->yix, d->syms, d->nsyms, sizeof *d->syms, a);
}

/* The symbol covering a (sizes honoured; a size-0 symbol reaches the next symbol). */
/* i = kperf__sym_sym_upper(d, a), found by the caller. */
static const kperf__sym_ent *kperf__sym_find_from(const kperf__sym_dso *d, uint64_t a,
                                                  ptrdiff_t i, size_t *idx) {
    for (int k = 0; i >= 0 && k < 8; i--, k++) {
        const kperf__sym_ent *e = &d->syms[i];
        bool in = e->size ? a - e->lo < e->size
                          : (k == 0 && ((size_t)i + 1 == d->nsyms || a < d->syms[i + 1].lo));
        if (in) {
            *idx = (size_t)i;
            return e;
        }
    }
    return NULL;
}

/* The first allocated section (by index) holding a, or NULL. A lookup usually lands in the
 * section the thread's previous one did: that one is tried first when no section before
 * it overlaps it (then it is also the first). */
static KPERF__TLS struct { const kperf__sym_sec *t; size_t k; } kperf__sym_lastsec[2];
static const kperf__sym_sec *kperf__sym_sec_find(const kperf__sym_sec *secs, size_t n, uint64_t a,
                                                 int slot) {
    size_t k = kperf__sym_lastsec[slot].k;
    if (kperf__sym_lastsec[slot].t == secs && k < n && secs[k].first &&
        a - secs[k].addr < secs[k].size)
        return &secs[k];
    for (k = 1; k < n; k++)
        if (secs[k].alloc && a - secs[k].addr < secs[k].size) {
            kperf__sym_lastsec[slot].t = secs, kperf__sym_lastsec[slot].k = k;
            return &secs[k];
        }
    return NULL;
}

static int kperf__sym_is_func(const kperf__sym_ent *e) {
    return e->type == STT_FUNC || e->type == STT_GNU_IFUNC;
}

/* BFD's better_fit(): should e replace the current best b (both start at or before a). */
static bool kperf__sym_gnu_better(const kperf__sym_ent *b, const kperf__sym_ent *e, uint64_t a) {
    uint64_t bs = b->size ? b->size : 1, es = e->size ? e->size : 1;
    if (e->lo > a || e->lo < b->lo) return false;
    if (e->lo > b->lo) return true;
    if (b->lo + bs < a) return es > bs;
    if (e->lo + es < a) return false;
    if (kperf__sym_is_func(b) && !kperf__sym_is_func(e)) return false;
    if (kperf__sym_is_func(e) && !kperf__sym_is_func(b)) return true;
    if (b->type == STT_NOTYPE && e->type != STT_NOTYPE) return true;
    if (e->type == STT_NOTYPE && b->type != STT_NOTYPE) return false;
    return es < bs;
}

/* BFD's _bfd_elf_find_function(): nearest preceding symbol in a's section. */
static const kperf__sym_ent *kperf__sym_find_gnu(const kperf__sym_dso *d, uint64_t a, size_t *idx) {
    ptrdiff_t i = kperf__sym_sym_upper(d, a);
    const kperf__sym_sec *sec = kperf__sym_sec_find(d->gsecs, d->ngsecs, a, 1);
    if (!sec) return NULL;
    for (int k = 0; i >= 0 && k < 256; i--, k++) {
        const kperf__sym_ent *e = &d->syms[i];
        if (e->shndx >= d->ngsecs || &d->gsecs[e->shndx] != sec) continue;
        ptrdiff_t j = i; /* first of the same address, then walk in table order */
        while (j > 0 && d->syms[j - 1].lo == e->lo) j--;
        const kperf__sym_ent *best = NULL;
        for (; j <= i; j++) {
            const kperf__sym_ent *c = &d->syms[j];
            if (c->shndx >= d->ngsecs || &d->gsecs[c->shndx] != sec) continue;
            if (!best || kperf__sym_gnu_better(best, c, a)) best = c, *idx = (size_t)j;
        }
        return best;
    }
    return NULL;
}

// ---- DWARF -----------------------------------------------------------------------------

static bool kperf__sym_lang_c(int lang) { /* BFD's non_mangled(): names are linkage names */
    switch (lang) {
    case DW_LANG_C89: case DW_LANG_C: case DW_LANG_Ada83: case DW_LANG_Cobol74:
    case DW_LANG_Cobol85: case DW_LANG_Fortran77: case DW_LANG_Pascal83: case DW_LANG_C99:
    case DW_LANG_Ada95: case DW_LANG_PLI: case DW_LANG_UPC: case DW_LANG_C11:
    case DW_LANG_Mips_Assembler:
        return true;
    default:
        return false;
    }
}

static int kperf__sym_curange_cmp(const void *x, const void *y) {
    const kperf__sym_curange *a = (const kperf__sym_curange *)x, *b = (const kperf__sym_curange *)y;
    if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
    return a->cu < b->cu ? -1 : a->cu > b->cu;
}

static int kperf__sym_units_aranges(kperf__sym_dso *d);
static bool kperf__sym_reference(void);

/* Lists the compile units and their address ranges: from the unit headers and
 * .debug_aranges where those name every unit (kperf__sym_units_aranges), else through
 * libdw (reads CU headers and CU DIEs). */
static int kperf__sym_dwarf_units(kperf__sym_dso *d) {
    int fast = kperf__sym_units_aranges(d);
    if (fast <= 0) return fast;
    size_t capr = 0, capc = 0, capl = 0, capu = 0, caps = 0, caph = 0;
    Dwarf_Off off = 0, next;
    size_t hsize;
    Dwarf_Half ver;
    uint8_t asz, osz;
    for (size_t guard = 0; guard < 10000000; guard++) {
        int r = dwarf_next_unit(d->dw, off, &next, &hsize, &ver, NULL, &asz, &osz, NULL, NULL);
        if (r != 0 || next <= off) break;
        Dwarf_Die cu;
        Dwarf_Off dieoff = off + hsize, hdr = off;
        off = next;
        if (!dwarf_offdie(d->dw, dieoff, &cu)) continue;
        int tag = dwarf_tag(&cu);
        if (tag != DW_TAG_compile_unit && tag != DW_TAG_partial_unit) continue;
        uint32_t idx = (uint32_t)d->ncus;
        if (kperf__sym_grow(&d->cuoffs, &capc, d->ncus + 1, sizeof *d->cuoffs) ||
            kperf__sym_grow(&d->cuhdr, &caph, d->ncus + 1, sizeof *d->cuhdr) ||
            kperf__sym_grow(&d->culang_c, &capl, d->ncus + 1, 1) ||
            kperf__sym_grow(&d->cus, &capu, d->ncus + 1, sizeof *d->cus))
            return -ENOMEM;
        if (kperf__sym_grow(&d->cuspan, &caps, 2 * (d->ncus + 1), sizeof *d->cuspan))
            return -ENOMEM;
        d->cuoffs[idx] = dieoff;
        d->cuhdr[idx] = hdr;
        d->cuspan[2 * idx] = UINT64_MAX, d->cuspan[2 * idx + 1] = 0;
        d->culang_c[idx] = kperf__sym_lang_c(dwarf_srclang(&cu));
        d->cus[idx] = NULL;
        d->ncus++;
        Dwarf_Addr base, lo, hi;
        ptrdiff_t ro = 0;
        for (int k = 0; k < 1000000 && (ro = dwarf_ranges(&cu, ro, &base, &lo, &hi)) > 0; k++) {
            if (hi <= lo) continue;
            if (kperf__sym_grow(&d->curanges, &capr, d->ncuranges + 1, sizeof *d->curanges))
                return -ENOMEM;
            d->curanges[d->ncuranges++] = (kperf__sym_curange){lo, hi, idx};
            if (lo < d->cuspan[2 * idx]) d->cuspan[2 * idx] = lo;
            if (hi > d->cuspan[2 * idx + 1]) d->cuspan[2 * idx + 1] = hi;
        }
    }
    if (d->ncuranges)
        qsort(d->curanges, d->ncuranges, sizeof *d->curanges, kperf__sym_curange_cmp);
    return kperf__sym_bix_build(&d->cix, d->curanges, d->ncuranges, sizeof *d->curanges);
}

/* The CU whose ranges contain a (a few steps back cover overlapping ranges). */
static ptrdiff_t kperf__sym_find_cu(const kperf__sym_dso *d, uint64_t a) {
    ptrdiff_t i = kperf__sym_bix_find(&d->cix, d->curanges, d->ncuranges, sizeof *d->curanges, a);
    for (ptrdiff_t k = 0; i >= 0 && k < 16; i--, k++)
        if (a < d->curanges[i].hi) return d->curanges[i].cu;
    return -1;
}

/* Pointer -> index map used while one CU is indexed (file names from libdw). */
typedef struct kperf__sym_pmap {
    const void **keys;
    uint32_t *vals;
    size_t cap, n;
} kperf__sym_pmap;

static int kperf__sym_pmap_get(kperf__sym_pmap *m, const void *k, uint32_t *v) {
    if (!m->cap) return 0;
    size_t h = ((uintptr_t)k >> 3) * 0x9e3779b97f4a7c15ull & (m->cap - 1);
    for (; m->keys[h]; h = (h + 1) & (m->cap - 1))
        if (m->keys[h] == k) return *v = m->vals[h], 1;
    return 0;
}

static int kperf__sym_pmap_put(kperf__sym_pmap *m, const void *k, uint32_t v) {
    if ((m->n + 1) * 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 64;
        const void **nk = (const void **)kperf__calloc(nc, sizeof *nk);
        uint32_t *nv = (uint32_t *)kperf__calloc(nc, sizeof *nv);
        if (!nk || !nv) return KPERF_FREE(nk), KPERF_FREE(nv), -ENOMEM;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i]) continue;
            size_t h = ((uintptr_t)m->keys[i] >> 3) * 0x9e3779b97f4a7c15ull & (nc - 1);
            while (nk[h]) h = (h + 1) & (nc - 1);
            nk[h] = m->keys[i];
            nv[h] = m->vals[i];
        }
        KPERF_FREE(m->keys);
        KPERF_FREE(m->vals);
        m->keys = nk, m->vals = nv, m->cap = nc;
    }
    size_t h = ((uintptr_t)k >> 3) * 0x9e3779b97f4a7c15ull & (m->cap - 1);
    while (m->keys[h]) h = (h + 1) & (m->cap - 1);
    m->keys[h] = k;
    m->vals[h] = v;
    m->n++;
    return 0;
}

struct kperf__sym_range { uint64_t lo, hi; uint32_t scope, depth; };
typedef struct kperf__sym_cubuild {
    kperf__sym_cu *cu;
    kperf__sym_pmap fmap;
    const char *comp_dir;
    kperf__sym_row *rows; /* the line table, then merged with segs into cu->cells */
    size_t nrows;
    kperf__sym_seg *segs; /* non-overlapping scope segments */
    size_t nsegs, capsegs;
    size_t capfiles, caprows, capscopes, capowned;
    struct kperf__sym_range *ranges;
    size_t nranges, capranges;
    struct kperf__dw_ltab *lt; /* the line table decoded here, if any */
    bool own;                  /* lines decoded here (lt NULL: the CU has none) */
    kperf__sym_scratch *sc;    /* where rows, segs, ranges, the stack, edges, cells live */
} kperf__sym_cubuild;

static uint32_t kperf__sym_file_id(kperf__sym_cubuild *b, const char *name) {
    uint32_t v;
    if (!name) return KPERF__SYM_NONE;
    if (kperf__sym_pmap_get(&b->fmap, name, &v)) return v;
    if (kperf__sym_grow(&b->cu->files, &b->capfiles, b->cu->nfiles + 1, sizeof *b->cu->files))
        return KPERF__SYM_NONE;
    v = (uint32_t)b->cu->nfiles;
    const char *full = name;
    if (name[0] != '/' && b->comp_dir && b->comp_dir[0]) { /* relative: as BFD and LLVM */
        size_t lc = strlen(b->comp_dir), ln = strlen(name);
        char *j = (char *)KPERF_MALLOC(lc + ln + 2);
        if (!j || kperf__sym_grow(&b->cu->owned, &b->capowned, b->cu->nowned + 1,
                                  sizeof *b->cu->owned)) {
            KPERF_FREE(j);
            return KPERF__SYM_NONE;
        }
        memcpy(j, b->comp_dir, lc);
        j[lc] = '/';
        memcpy(j + lc + 1, name, ln + 1);
        b->cu->owned[b->cu->nowned++] = j;
        full = j;
    }
    b->cu->files[b->cu->nfiles++] = full;
    if (kperf__sym_pmap_put(&b->fmap, name, v)) return KPERF__SYM_NONE;
    return v;
}

/* ---- line programs, decoded here ----------------------------------------------------- */
/* libdw's dwarf_getsrclines() allocates and sorts a record per row and is most of the time
 * of indexing a CU; the program is decoded here instead (DWARF 2-5, little-endian, one
 * operation per instruction), into the same rows in the same order libdw gives: sorted by
 * address, an end of sequence before a row at the same address, else in program order.
 * Anything else (VLIW op_index, DW_LNE_define_file, odd forms) returns 1 and the CU is
 * indexed through libdw as before. File names are made as libdw makes them: a relative
 * name joined to its directory entry (DWARF < 5: entry 0 is DW_AT_comp_dir and file 0 is
 * libdw's "???"). Reads only the mapped sections: safe to run on several threads. */
typedef struct kperf__dw_cur {
    const uint8_t *p, *end;
    bool bad;
} kperf__dw_cur;

static uint64_t kperf__dw_un(kperf__dw_cur *c, unsigned n) {
    if ((size_t)(c->end - c->p) < n) {
        c->bad = true, c->p = c->end;
        return 0;
    }
    uint64_t v = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    switch (n) { /* the sizes DWARF uses, as single loads */
    case 1: v = c->p[0]; break;
    case 2: { uint16_t x; memcpy(&x, c->p, 2); v = x; break; }
    case 4: { uint32_t x; memcpy(&x, c->p, 4); v = x; break; }
    case 8: memcpy(&v, c->p, 8); break;
    default: for (unsigned i = 0; i < n; i++) v |= (uint64_t)c->p[i] << (8 * i);
    }
#else
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)c->p[i] << (8 * i);
#endif
    c->p += n;
    return v;
}

/* The compile units from the unit headers of .debug_info and their ranges from
 * .debug_aranges, when that names every unit: then no CU DIE is read until a lookup needs
 * its CU (opening a big program is then a walk over ~100 headers and one small section,
 * not libdw reading every CU DIE and range list: 4-5 ms of the time to first answer
 * here). Returns 0 done, 1 (nothing kept) for libdw's listing: the reference path, no
 * .debug_aranges, a unit it does not name (another compiler's object), split or
 * supplementary units, anything malformed. -ENOMEM. */
static int kperf__sym_units_aranges(kperf__sym_dso *d) {
    const kperf__sym_dsec *in = &d->dinfo, *ar = &d->daranges;
    if (!d->own_dies || !ar->n || kperf__sym_reference()) return 1;
    size_t n = 0, cap = 0, capr = 0;
    uint64_t *hdr = NULL; /* per unit: its header's offset, its first DIE's */
    kperf__sym_curange *rg = NULL;
    uint8_t *seen = NULL;
    int rc = 1;
    for (uint64_t off = 0; off < in->n;) { /* the units */
        uint8_t h[24]; /* the longest header up to its first DIE */
        size_t hn = in->n - off < sizeof h ? (size_t)(in->n - off) : sizeof h;
        kperf__sym_dsec_read(in, off, h, hn);
        kperf__dw_cur c = {h, h + hn, false};
        uint64_t len = kperf__dw_un(&c, 4);
        bool dw64 = len == 0xffffffffu;
        if (dw64) len = kperf__dw_un(&c, 8);
        else if (len >= 0xfffffff0u) goto out;
        uint64_t at = off + (uint64_t)(c.p - h); /* where the length ends */
        if (c.bad || len > in->n - at || len < 2) goto out;
        uint64_t next = at + len;
        unsigned ver = (unsigned)kperf__dw_un(&c, 2);
        unsigned osz = dw64 ? 8 : 4, ut = 1; /* DW_UT_compile */
        if (ver == 5) ut = (unsigned)kperf__dw_un(&c, 1), kperf__dw_un(&c, 1), kperf__dw_un(&c, osz);
        else kperf__dw_un(&c, osz), kperf__dw_un(&c, 1);
        uint64_t die0 = off + (uint64_t)(c.p - h);
        if (c.bad || ver < 2 || ver > 5 || die0 > next) goto out;
        if (ut == DW_UT_compile || ut == DW_UT_partial) {
            if (kperf__sym_grow(&hdr, &cap, 2 * (n + 1), sizeof *hdr)) goto oom;
            hdr[2 * n] = off, hdr[2 * n + 1] = die0, n++;
        } else if (ut != DW_UT_type) {
            goto out; /* skeleton or split units: their DIEs live in .dwo files */
        }
        off = next;
    }
    if (!n || !(seen = (uint8_t *)kperf__calloc(n, 1))) goto out;
    for (uint64_t off = 0; off < ar->n;) { /* the address-range sets */
        kperf__dw_cur c = {ar->p + off, ar->p + ar->n, false};
        uint64_t len = kperf__dw_un(&c, 4);
        bool dw64 = len == 0xffffffffu;
        if (dw64) len = kperf__dw_un(&c, 8);
        else if (len >= 0xfffffff0u) goto out;
        if (c.bad || len > (uint64_t)(c.end - c.p)) goto out;
        const uint8_t *start = ar->p + off, *end = c.p + len;
        c.end = end;
        unsigned ver = (unsigned)kperf__dw_un(&c, 2);
        uint64_t at = kperf__dw_un(&c, dw64 ? 8 : 4);
        unsigned asz = (unsigned)kperf__dw_un(&c, 1), ssz = (unsigned)kperf__dw_un(&c, 1);
        if (c.bad || ver != 2 || ssz || (asz != 4 && asz != 8)) goto out;
        size_t lo = 0, hi = n; /* the unit at that offset */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (hdr[2 * mid] < at) lo = mid + 1;
            else hi = mid;
        }
        if (lo == n || hdr[2 * lo] != at) goto out;
        uint32_t cu = (uint32_t)lo;
        seen[cu] = 1;
        size_t pad = (size_t)(c.p - start) % (2 * asz); /* tuples start at a multiple of their size */
        if (pad) c.p += 2 * asz - pad;
        while (c.p < end) {
            uint64_t a = kperf__dw_un(&c, asz), l = kperf__dw_un(&c, asz);
            if (c.bad) goto out;
            if (!a && !l) break;
            if (!l || a + l <= a) continue;
            if (kperf__sym_grow(&rg, &capr, d->ncuranges + 1, sizeof *rg)) goto oom;
            rg[d->ncuranges++] = (kperf__sym_curange){a, a + l, cu};
        }
        off = (uint64_t)(end - ar->p);
    }
    for (size_t i = 0; i < n; i++)
        if (!seen[i]) goto out; /* a unit it does not name: libdw reads them all */
    if (!(d->cuoffs = (Dwarf_Off *)KPERF_MALLOC(n * sizeof *d->cuoffs)) ||
        !(d->cuhdr = (uint64_t *)KPERF_MALLOC(n * sizeof *d->cuhdr)) ||
        !(d->cuspan = (uint64_t *)KPERF_MALLOC(2 * n * sizeof *d->cuspan)) ||
        !(d->culang_c = (uint8_t *)KPERF_MALLOC(n)) ||
        !(d->cus = (kperf__sym_cu **)kperf__calloc(n, sizeof *d->cus)))
        goto oom;
    for (size_t i = 0; i < n; i++) {
        d->cuhdr[i] = hdr[2 * i], d->cuoffs[i] = (Dwarf_Off)hdr[2 * i + 1];
        d->cuspan[2 * i] = UINT64_MAX, d->cuspan[2 * i + 1] = 0;
        d->culang_c[i] = KPERF__SYM_LANG_UNKNOWN; /* read with the CU */
    }
    for (size_t k = 0; k < d->ncuranges; k++) {
        uint64_t *sp = &d->cuspan[2 * rg[k].cu];
        if (rg[k].lo < sp[0]) sp[0] = rg[k].lo;
        if (rg[k].hi > sp[1]) sp[1] = rg[k].hi;
    }
    if (d->ncuranges) qsort(rg, d->ncuranges, sizeof *rg, kperf__sym_curange_cmp);
    d->curanges = rg, d->ncus = n;
    KPERF_FREE(hdr);
    KPERF_FREE(seen);
    return kperf__sym_bix_build(&d->cix, d->curanges, d->ncuranges, sizeof *d->curanges) ? -ENOMEM : 0;
oom:
    rc = -ENOMEM;
out:
    KPERF_FREE(hdr);
    KPERF_FREE(rg);
    KPERF_FREE(seen);
    KPERF_FREE(d->cuoffs);
    KPERF_FREE(d->cuhdr);
    KPERF_FREE(d->cuspan);
    KPERF_FREE(d->culang_c);
    KPERF_FREE(d->cus);
    d->cuoffs = NULL, d->cuhdr = NULL, d->cuspan = NULL, d->culang_c = NULL, d->cus = NULL;
    d->ncuranges = 0;
    return rc;
}

static uint64_t kperf__dw_uleb(kperf__dw_cur *c) {
    if (c->p < c->end && !(*c->p & 0x80)) return *c->p++; /* most values: one byte */
    uint64_t v = 0;
    for (unsigned shift = 0; c->p < c->end; shift += 7) {
        uint8_t b = *c->p++;
        if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    c->bad = true;
    return v;
}

static int64_t kperf__dw_sleb(kperf__dw_cur *c) {
    uint64_t v = 0;
    unsigned shift = 0;
    while (c->p < c->end) {
        uint8_t b = *c->p++;
        if (shift < 64) v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40)) v |= ~(uint64_t)0 << shift;
            return (int64_t)v;
        }
    }
    c->bad = true;
    return (int64_t)v;
}

static const char *kperf__dw_cstr(kperf__dw_cur *c) { /* an inline string */
    const uint8_t *z = c->p < c->end ? (const uint8_t *)memchr(c->p, 0, (size_t)(c->end - c->p)) : NULL;
    if (!z) {
        c->bad = true, c->p = c->end;
        return NULL;
    }
    const char *s = (const char *)c->p;
    c->p = z + 1;
    return s;
}

/* A string at an offset of a string section, NULL when it does not end inside it. */
static const char *kperf__dw_sstr(const kperf__sym_dsec *sec, uint64_t off) {
    if (!sec->p || off >= sec->n || !memchr(sec->p + off, 0, sec->n - off)) return NULL;
    return (const char *)sec->p + off;
}

typedef struct kperf__dw_lrow {
    uint64_t addr;
    uint32_t file, line, col, disc;
    uint32_t seq; /* program order */
    bool end;
} kperf__dw_lrow;

struct kperf__dw_lfile {
    const char *name;
    uint64_t dir;
    uint32_t id; /* index in cu->files + 1; 0 = not yet */
};

typedef struct kperf__dw_ltab {
    const char **dirs;
    size_t ndirs;
    struct kperf__dw_lfile *files;
    size_t nfiles;
    bool placeholder0; /* DWARF < 5: file 0 is libdw's "???" */
    kperf__dw_lrow *rows;
    size_t nrows, caprows;
    struct kperf__sym_ord *ord; /* sort keys and their radix buffer (the scratch's) */
    size_t capord;
    /* Rows streamed straight into a CU build (kperf__sym_stream_row) while they come in
     * libdw's order, instead of being kept and sorted: */
    struct kperf__sym_cubuild *stream;
    size_t nstream;
    uint64_t last_addr;
    bool last_end;
} kperf__dw_ltab;

static void kperf__dw_ltab_free(kperf__dw_ltab *t) { /* rows belong to the scratch */
    KPERF_FREE(t->dirs);
    KPERF_FREE(t->files);
    t->dirs = NULL, t->files = NULL, t->ndirs = t->nfiles = t->nrows = 0;
}

/* One attribute value of a DWARF 5 directory/file entry: a string or a number. Returns 1
 * for a form this reader does not take. */
static int kperf__dw_lform(kperf__dw_cur *c, const kperf__sym_dso *d, uint64_t form, bool dw64,
                           const char **str, uint64_t *num) {
    *str = NULL, *num = 0;
    switch (form) {
    case DW_FORM_string: *str = kperf__dw_cstr(c); return 0;
    case DW_FORM_line_strp: *str = kperf__dw_sstr(&d->dlinestr, kperf__dw_un(c, dw64 ? 8 : 4)); return *str ? 0 : 1;
    case DW_FORM_strp: *str = kperf__dw_sstr(&d->dstr, kperf__dw_un(c, dw64 ? 8 : 4)); return *str ? 0 : 1;
    case DW_FORM_udata: *num = kperf__dw_uleb(c); return 0;
    case DW_FORM_data1: *num = kperf__dw_un(c, 1); return 0;
    case DW_FORM_data2: *num = kperf__dw_un(c, 2); return 0;
    case DW_FORM_data4: *num = kperf__dw_un(c, 4); return 0;
    case DW_FORM_data8: *num = kperf__dw_un(c, 8); return 0;
    case DW_FORM_data16: kperf__dw_un(c, 8), kperf__dw_un(c, 8); return 0;
    case DW_FORM_block: {
        uint64_t n = kperf__dw_uleb(c);
        if (n > (uint64_t)(c->end - c->p)) return c->bad = true, 0;
        c->p += n;
        return 0;
    }
    default: return 1;
    }
}

/* DWARF 5 directory or file table: entry formats, then the entries. */
static int kperf__dw_ltable5(kperf__dw_cur *c, const kperf__sym_dso *d, bool dw64, bool files,
                             kperf__dw_ltab *t) {
    uint64_t fmt[2 * 16];
    unsigned nfmt = (unsigned)kperf__dw_un(c, 1);
    if (nfmt > 16) return 1;
    for (unsigned i = 0; i < nfmt; i++) fmt[2 * i] = kperf__dw_uleb(c), fmt[2 * i + 1] = kperf__dw_uleb(c);
    uint64_t n = kperf__dw_uleb(c);
    if (c->bad || n > (uint64_t)(c->end - c->p)) return 1; /* each entry takes a byte or more */
    if (files) t->files = (struct kperf__dw_lfile *)kperf__calloc(n ? n : 1, sizeof *t->files);
    else t->dirs = (const char **)kperf__calloc(n ? n : 1, sizeof *t->dirs);
    if (files ? !t->files : !t->dirs) return -ENOMEM;
    for (uint64_t k = 0; k < n; k++) {
        const char *name = NULL;
        uint64_t dir = 0;
        for (unsigned i = 0; i < nfmt; i++) {
            const char *s;
            uint64_t v;
            if (kperf__dw_lform(c, d, fmt[2 * i + 1], dw64, &s, &v)) return 1;
            if (fmt[2 * i] == DW_LNCT_path) {
                if (!s) return 1;
                name = s;
            } else if (fmt[2 * i] == DW_LNCT_directory_index) {
                dir = v;
            }
        }
        if (c->bad || !name) return 1;
        if (files) t->files[k].name = name, t->files[k].dir = dir;
        else t->dirs[k] = name;
    }
    if (files) t->nfiles = n;
    else t->ndirs = n;
    return 0;
}

/* DWARF 2-4 include_directories and file_names (index 0: comp_dir and libdw's "???"). */
static int kperf__dw_ltable4(kperf__dw_cur *c, const char *comp_dir, kperf__dw_ltab *t) {
    const uint8_t *start = c->p;
    size_t n = 1;
    while (c->p < c->end && *c->p) kperf__dw_cstr(c), n++;
    kperf__dw_un(c, 1);
    if (c->bad) return 1;
    t->dirs = (const char **)KPERF_MALLOC(n * sizeof *t->dirs);
    if (!t->dirs) return -ENOMEM;
    t->dirs[0] = comp_dir;
    c->p = start;
    for (t->ndirs = 1; t->ndirs < n; t->ndirs++) t->dirs[t->ndirs] = kperf__dw_cstr(c);
    kperf__dw_un(c, 1);
    start = c->p;
    n = 1;
    while (c->p < c->end && *c->p) kperf__dw_cstr(c), kperf__dw_uleb(c), kperf__dw_uleb(c), kperf__dw_uleb(c), n++;
    kperf__dw_un(c, 1);
    if (c->bad) return 1;
    t->files = (struct kperf__dw_lfile *)kperf__calloc(n, sizeof *t->files);
    if (!t->files) return -ENOMEM;
    t->files[0].name = "???";
    t->placeholder0 = true;
    c->p = start;
    for (t->nfiles = 1; t->nfiles < n; t->nfiles++) {
        t->files[t->nfiles].name = kperf__dw_cstr(c);
        t->files[t->nfiles].dir = kperf__dw_uleb(c);
        kperf__dw_uleb(c), kperf__dw_uleb(c);
    }
    kperf__dw_un(c, 1);
    return c->bad ? 1 : 0;
}

static int kperf__dw_lrow_cmp(const void *x, const void *y) {
    const kperf__dw_lrow *a = (const kperf__dw_lrow *)x, *b = (const kperf__dw_lrow *)y;
    if (a->addr != b->addr) return a->addr < b->addr ? -1 : 1;
    if (a->end != b->end) return a->end ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int kperf__sym_stream_row(kperf__dw_ltab *t, const kperf__dw_lrow *l);

/* One row of the line program: kept in t->rows, or streamed (2: out of order, stop). */
static int kperf__dw_lemit(kperf__dw_ltab *t, const kperf__dw_lrow *r) {
    if (t->stream) return kperf__sym_stream_row(t, r);
    if (t->nrows == t->caprows && kperf__sym_grow_big(&t->rows, &t->caprows, t->nrows + 1, sizeof *t->rows))
        return -ENOMEM;
    t->rows[t->nrows] = *r;
    t->rows[t->nrows].seq = (uint32_t)t->nrows;
    t->nrows++;
    return 0;
}

/* Runs the line program [c->p, end) into t->rows. */
static int kperf__dw_lprogram(kperf__dw_cur *c, kperf__dw_ltab *t, uint8_t min_inst,
                              bool default_stmt, int8_t line_base, uint8_t line_range,
                              uint8_t opcode_base, const uint8_t *std_len) {
    (void)default_stmt;
    int e;
    kperf__dw_lrow st = {0, 1, 1, 0, 0, 0, false};
    while (c->p < c->end && !c->bad) {
        uint8_t op = *c->p++;
        if (op >= opcode_base) { /* special opcode */
            unsigned adj = (unsigned)(op - opcode_base);
            st.addr += (uint64_t)min_inst * (adj / line_range);
            st.line += (uint32_t)(int32_t)(line_base + (int)(adj % line_range));
            if ((e = kperf__dw_lemit(t, &st)) != 0) return e;
            st.disc = 0;
            continue;
        }
        switch (op) {
        case 0: { /* extended */
            uint64_t len = kperf__dw_uleb(c);
            if (c->bad || len == 0 || len > (uint64_t)(c->end - c->p)) return 1;
            const uint8_t *next = c->p + len;
            uint8_t sub = *c->p++;
            if (sub == DW_LNE_end_sequence) {
                st.end = true;
                if ((e = kperf__dw_lemit(t, &st)) != 0) return e;
                st = (kperf__dw_lrow){0, 1, 1, 0, 0, 0, false};
            } else if (sub == DW_LNE_set_address) {
                if (len != 5 && len != 9) return 1;
                st.addr = kperf__dw_un(c, (unsigned)(len - 1));
            } else if (sub == DW_LNE_set_discriminator) {
                st.disc = (uint32_t)kperf__dw_uleb(c);
            } else if (sub == DW_LNE_define_file) {
                return 1;
            }
            c->p = next;
            break;
        }
        case DW_LNS_copy:
            if ((e = kperf__dw_lemit(t, &st)) != 0) return e;
            st.disc = 0;
            break;
        case DW_LNS_advance_pc: st.addr += (uint64_t)min_inst * kperf__dw_uleb(c); break;
        case DW_LNS_advance_line: st.line += (uint32_t)kperf__dw_sleb(c); break;
        case DW_LNS_set_file: st.file = (uint32_t)kperf__dw_uleb(c); break;
        case DW_LNS_set_column: st.col = (uint32_t)kperf__dw_uleb(c); break;
        case DW_LNS_negate_stmt: case DW_LNS_set_basic_block: break;
        case DW_LNS_const_add_pc:
            st.addr += (uint64_t)min_inst * ((255u - opcode_base) / line_range);
            break;
        case DW_LNS_fixed_advance_pc: st.addr += kperf__dw_un(c, 2); break;
        case DW_LNS_set_prologue_end: case DW_LNS_set_epilogue_begin: break;
        case DW_LNS_set_isa: kperf__dw_uleb(c); break;
        default: /* an opcode this version does not know: skip its ULEB operands */
            for (unsigned k = 0; k < std_len[op - 1]; k++) kperf__dw_uleb(c);
        }
    }
    return c->bad ? 1 : 0;
}

/* Sorts the rows as kperf__dw_lrow_cmp orders them (by address, ends of sequence first,
 * then program order): a stable radix sort by address of the rows listed ends first, each
 * part in program order (qsort's merge buffer is fresh memory every CU). */
static void kperf__dw_sort_rows(kperf__dw_ltab *t) {
    size_t n = t->nrows, k = 0;
    if (kperf__sym_grow_big(&t->ord, &t->capord, 2 * n, sizeof *t->ord)) {
        qsort(t->rows, n, sizeof *t->rows, kperf__dw_lrow_cmp);
        return;
    }
    kperf__sym_ord *v = t->ord;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < n; i++)
            if (t->rows[i].end == (pass == 0)) v[k].a = t->rows[i].addr, v[k++].i = i;
    kperf__sym_radix_with(v, n, v + n);
    kperf__sym_permute(t->rows, sizeof *t->rows, v, n);
}

/* Decodes the line table at .debug_line offset off into t (rows sorted as libdw sorts). */
static int kperf__dw_lines(const kperf__sym_dso *d, uint64_t off, const char *comp_dir,
                           kperf__dw_ltab *t) {
    if (!d->dline.p || off >= d->dline.n) return 1;
    kperf__dw_cur c = {d->dline.p + off, d->dline.p + d->dline.n, false};
    uint64_t len = kperf__dw_un(&c, 4);
    bool dw64 = len == 0xffffffffu;
    if (dw64) len = kperf__dw_un(&c, 8);
    if (c.bad || len > (uint64_t)(c.end - c.p)) return 1;
    c.end = c.p + len;
    unsigned ver = (unsigned)kperf__dw_un(&c, 2);
    if (ver < 2 || ver > 5) return 1;
    if (ver >= 5) {
        unsigned asz = (unsigned)kperf__dw_un(&c, 1);
        if ((asz != 4 && asz != 8) || kperf__dw_un(&c, 1) != 0) return 1;
    }
    uint64_t hlen = kperf__dw_un(&c, dw64 ? 8 : 4);
    if (c.bad || hlen > (uint64_t)(c.end - c.p)) return 1;
    const uint8_t *prog = c.p + hlen;
    uint8_t min_inst = (uint8_t)kperf__dw_un(&c, 1);
    if (ver >= 4 && kperf__dw_un(&c, 1) != 1) return 1; /* VLIW: libdw's path */
    bool stmt = kperf__dw_un(&c, 1) != 0;
    int8_t line_base = (int8_t)kperf__dw_un(&c, 1);
    uint8_t line_range = (uint8_t)kperf__dw_un(&c, 1), opcode_base = (uint8_t)kperf__dw_un(&c, 1);
    if (c.bad || !line_range || !opcode_base || (size_t)(prog - c.p) < opcode_base - 1u) return 1;
    const uint8_t *std_len = c.p;
    c.p += opcode_base - 1;
    int rc = ver >= 5 ? kperf__dw_ltable5(&c, d, dw64, false, t) : kperf__dw_ltable4(&c, comp_dir, t);
    if (!rc && ver >= 5) rc = kperf__dw_ltable5(&c, d, dw64, true, t);
    for (size_t i = 0; !rc && i < t->nfiles; i++)
        if (t->files[i].dir >= t->ndirs && !(t->placeholder0 && i == 0)) rc = 1;
    if (!rc && c.p > prog) rc = 1;
    c.p = prog;
    if (!rc) rc = kperf__dw_lprogram(&c, t, min_inst, stmt, line_base, line_range, opcode_base, std_len);
    bool sorted = true;
    for (size_t i = 1; !rc && sorted && i < t->nrows; i++)
        sorted = kperf__dw_lrow_cmp(&t->rows[i - 1], &t->rows[i]) < 0;
    if (!rc && !sorted) kperf__dw_sort_rows(t);
    if (rc) kperf__dw_ltab_free(t);
    return rc;
}

/* The index in cu->files of file entry k of the table (libdw's name, then as
 * kperf__sym_file_id joins it), NONE for none. */
static uint32_t kperf__dw_file_id(kperf__sym_cubuild *b, kperf__dw_ltab *t, uint64_t k) {
    if (k >= t->nfiles) return KPERF__SYM_NONE;
    struct kperf__dw_lfile *f = &t->files[k];
    if (f->id) return f->id - 1;
    const char *name = f->name, *dir = f->dir < t->ndirs ? t->dirs[f->dir] : NULL;
    if (name[0] != '/' && dir && !(t->placeholder0 && k == 0)) {
        size_t ld = strlen(dir), ln = strlen(name);
        char *j = (char *)KPERF_MALLOC(ld + ln + 2);
        if (!j || kperf__sym_grow(&b->cu->owned, &b->capowned, b->cu->nowned + 1,
                                  sizeof *b->cu->owned)) {
            KPERF_FREE(j);
            return KPERF__SYM_NONE;
        }
        memcpy(j, dir, ld);
        j[ld] = '/';
        memcpy(j + ld + 1, name, ln + 1);
        b->cu->owned[b->cu->nowned++] = j;
        name = j;
    }
    uint32_t v = kperf__sym_file_id(b, name);
    f->id = v == KPERF__SYM_NONE ? 0 : v + 1;
    return v;
}

/* Appends a row (sorted input): of several rows at one address the last one wins, as in
 * BFD and LLVM, except that an end marker never hides a row of another sequence. */
static int kperf__sym_add_row(kperf__sym_cubuild *b, const kperf__sym_row *r) {
    if (b->nrows && b->rows[b->nrows - 1].addr == r->addr) {
        if (r->file == KPERF__SYM_NONE && b->rows[b->nrows - 1].file != KPERF__SYM_NONE)
            return 0;
        b->rows[b->nrows - 1] = *r;
        return 0;
    }
    if (b->nrows && b->rows[b->nrows - 1].addr > r->addr) return 0; /* unsorted: drop */
    if (kperf__sym_grow_big(&b->rows, &b->caprows, b->nrows + 1, sizeof *b->rows)) return -ENOMEM;
    b->rows[b->nrows++] = *r;
    return 0;
}

/* Copies the CU's line table into flat rows sorted by address (libdw sorts it already:
 * an end-of-sequence row precedes a row starting at the same address). */
static int kperf__sym_cu_lines(kperf__sym_cubuild *b, Dwarf_Die *cudie) {
    Dwarf_Lines *lines;
    size_t n;
    if (dwarf_getsrclines(cudie, &lines, &n) != 0) return 0; /* a CU without lines */
    for (size_t i = 0; i < n; i++) {
        Dwarf_Line *l = dwarf_onesrcline(lines, i);
        Dwarf_Addr addr;
        bool end = false;
        if (!l || dwarf_lineaddr(l, &addr) != 0) continue;
        dwarf_lineendsequence(l, &end);
        kperf__sym_row r = {addr, KPERF__SYM_NONE, 0, 0, 0};
        if (!end) {
            int line = 0, col = 0;
            unsigned disc = 0;
            dwarf_lineno(l, &line);
            dwarf_linecol(l, &col);
            dwarf_linediscriminator(l, &disc);
            r.file = kperf__sym_file_id(b, dwarf_linesrc(l, NULL, NULL));
            if (r.file == KPERF__SYM_NONE) r.file = KPERF__SYM_NONE - 1; /* unnamed file */
            r.line = line > 0 ? (uint32_t)line : 0;
            r.col = col > 0 ? (uint32_t)col : 0;
            r.disc = disc;
        }
        if (kperf__sym_add_row(b, &r)) return -ENOMEM;
    }
    return 0;
}

/* Row l of table t as a CU row (file names joined and numbered for the CU). */
static kperf__sym_row kperf__sym_lrow_row(kperf__sym_cubuild *b, kperf__dw_ltab *t,
                                          const kperf__dw_lrow *l) {
    kperf__sym_row r = {l->addr, KPERF__SYM_NONE, 0, 0, 0};
    if (!l->end) {
        r.file = kperf__dw_file_id(b, t, l->file);
        if (r.file == KPERF__SYM_NONE) r.file = KPERF__SYM_NONE - 1; /* unnamed file */
        r.line = (int32_t)l->line > 0 ? l->line : 0;
        r.col = (int32_t)l->col > 0 ? l->col : 0;
        r.disc = l->disc;
    }
    return r;
}

/* A row straight from the line program into the CU build, while the program's order is the
 * sorted order (addresses never go down; at one address ends of sequence come first): the
 * usual case, which then needs no row array and no sort. 2: out of that order. */
static int kperf__sym_stream_row(kperf__dw_ltab *t, const kperf__dw_lrow *l) {
    if (t->nstream &&
        (l->addr < t->last_addr || (l->addr == t->last_addr && l->end && !t->last_end)))
        return 2;
    t->nstream++, t->last_addr = l->addr, t->last_end = l->end;
    kperf__sym_row r = kperf__sym_lrow_row(t->stream, t, l);
    return kperf__sym_add_row(t->stream, &r) ? -ENOMEM : 0;
}

/* The same rows from the line program decoded here: 0, 1 when libdw must do it, or
 * -ENOMEM. On 0, b->lt holds the file table for the scopes' call files. */
static int kperf__sym_cu_lines_own(kperf__sym_cubuild *b, const kperf__sym_dso *d,
                                   bool has_lines, uint64_t off, kperf__dw_ltab *t) {
    if (!has_lines) return 0; /* a CU without lines (libdw finds none either) */
    t->stream = b, t->nstream = 0;
    int rc = kperf__dw_lines(d, off, b->comp_dir, t);
    t->stream = NULL;
    if (!rc) return b->lt = t, 0;
    b->nrows = 0; /* nothing streamed stays: the rows again, sorted (2), or libdw's (1) */
    if (rc != 2) return rc;
    if ((rc = kperf__dw_lines(d, off, b->comp_dir, t)) != 0) return rc;
    b->lt = t;
    for (size_t i = 0; i < t->nrows; i++) {
        kperf__sym_row r = kperf__sym_lrow_row(b, t, &t->rows[i]);
        if (kperf__sym_add_row(b, &r)) return -ENOMEM;
    }
    return 0;
}

/* Name of a subprogram/inlined DIE: a linkage name anywhere along abstract_origin and
 * specification links wins, else the first DW_AT_name (a linkage name in C-like languages,
 * as BFD treats it). */
static const char *kperf__sym_die_name(Dwarf_Die *die, bool lang_c, uint8_t *linkage) {
    Dwarf_Die cur = *die, mem;
    const char *name = NULL;
    for (int hop = 0; hop < 8; hop++) {
        Dwarf_Attribute at;
        const char *ln = NULL;
        if (dwarf_attr(&cur, DW_AT_linkage_name, &at) ||
            dwarf_attr(&cur, DW_AT_MIPS_linkage_name, &at))
            ln = dwarf_formstring(&at);
        if (ln) return *linkage = 1, ln;
        if (!name && dwarf_attr(&cur, DW_AT_name, &at)) name = dwarf_formstring(&at);
        if (!dwarf_attr(&cur, DW_AT_abstract_origin, &at) &&
            !dwarf_attr(&cur, DW_AT_specification, &at))
            break;
        if (!dwarf_formref_die(&at, &mem)) break;
        cur = mem;
    }
    *linkage = name && lang_c;
    return name;
}

/* One DIE that has code: a scope plus its ranges. */
static int kperf__sym_cu_scope(kperf__sym_cubuild *b, Dwarf_Die *die, Dwarf_Files *files,
                               size_t nfiles, bool lang_c, uint32_t parent, uint32_t depth,
                               uint32_t *out) {
    Dwarf_Addr base, lo, hi;
    ptrdiff_t ro = 0;
    uint64_t entry = 0;
    size_t first = b->nranges;
    uint32_t idx = (uint32_t)b->cu->nscopes;
    for (int k = 0; k < 100000 && (ro = dwarf_ranges(die, ro, &base, &lo, &hi)) > 0; k++) {
        if (hi <= lo) continue;
        if (b->nranges == first) entry = lo;
        if (kperf__sym_grow_big(&b->ranges, &b->capranges, b->nranges + 1, sizeof *b->ranges))
            return -ENOMEM;
        b->ranges[b->nranges++] = (struct kperf__sym_range){lo, hi, idx, depth};
    }
    *out = KPERF__SYM_NONE;
    if (b->nranges == first) return 0;
    if (kperf__sym_grow(&b->cu->scopes, &b->capscopes, b->cu->nscopes + 1,
                        sizeof *b->cu->scopes))
        return -ENOMEM;
    kperf__sym_scope *s = &b->cu->scopes[b->cu->nscopes++];
    memset(s, 0, sizeof *s);
    s->entry = entry;
    s->name = kperf__sym_die_name(die, lang_c, &s->linkage);
    s->inlined = dwarf_tag(die) == DW_TAG_inlined_subroutine;
    s->parent = s->inlined ? parent : KPERF__SYM_NONE;
    s->call_file = KPERF__SYM_NONE;
    if (s->inlined) {
        Dwarf_Attribute at;
        Dwarf_Word w;
        if (dwarf_attr(die, DW_AT_call_file, &at) && dwarf_formudata(&at, &w) == 0) {
            if (b->lt) s->call_file = kperf__dw_file_id(b, b->lt, w);
            else if (files && w < nfiles)
                s->call_file = kperf__sym_file_id(b, dwarf_filesrc(files, w, NULL, NULL));
        }
        if (dwarf_attr(die, DW_AT_call_line, &at) && dwarf_formudata(&at, &w) == 0)
            s->call_line = (uint32_t)w;
        if (dwarf_attr(die, DW_AT_call_column, &at) && dwarf_formudata(&at, &w) == 0)
            s->call_col = (uint32_t)w;
    }
    *out = idx;
    return 0;
}

static bool kperf__sym_descend(int tag) {
    switch (tag) {
    case DW_TAG_structure_type: case DW_TAG_class_type: case DW_TAG_union_type:
    case DW_TAG_enumeration_type: case DW_TAG_subroutine_type: case DW_TAG_array_type:
    case DW_TAG_formal_parameter: case DW_TAG_variable: case DW_TAG_member:
    case DW_TAG_call_site: case DW_TAG_GNU_call_site: case DW_TAG_typedef:
    case DW_TAG_base_type: case DW_TAG_pointer_type: case DW_TAG_const_type:
        return false;
    default:
        return true;
    }
}

/* Walks the CU's DIE tree iteratively (bounded depth) collecting scopes. */
static int kperf__sym_cu_walk(kperf__sym_cubuild *b, Dwarf_Die *cudie, bool lang_c) {
    enum { MAXD = 128 };
    Dwarf_Die stack[MAXD];
    uint32_t scope[MAXD];
    Dwarf_Files *files = NULL;
    size_t nfiles = 0;
    if (!b->own && dwarf_getsrcfiles(cudie, &files, &nfiles) != 0) files = NULL, nfiles = 0;
    int sp = 0;
    if (dwarf_child(cudie, &stack[0]) != 0) return 0;
    scope[0] = KPERF__SYM_NONE;
    for (size_t guard = 0; guard < 100000000; guard++) {
        Dwarf_Die *die = &stack[sp];
        int tag = dwarf_tag(die);
        uint32_t parent = scope[sp], mine = parent;
        if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine ||
            tag == DW_TAG_entry_point) {
            int r = kperf__sym_cu_scope(b, die, files, nfiles, lang_c, parent, (uint32_t)sp,
                                        &mine);
            if (r) return r;
            if (mine == KPERF__SYM_NONE) mine = tag == DW_TAG_subprogram ? KPERF__SYM_NONE : parent;
        }
        if (sp + 1 < MAXD && kperf__sym_descend(tag) && dwarf_haschildren(die) &&
            dwarf_child(die, &stack[sp + 1]) == 0) {
            scope[++sp] = mine;
            continue;
        }
        for (;;) { /* next sibling, or pop */
            int r = dwarf_siblingof(&stack[sp], &stack[sp]);
            if (r == 0) break;
            if (sp == 0) return 0;
            sp--;
        }
    }
    return 0;
}

/* ---- DIE trees, read here --------------------------------------------------------------
 * libdw's DIE calls serialise every CU build on one lock and are a good part of its time;
 * the tree is read here instead, without a lock, into exactly the scopes kperf__sym_cu_walk
 * gets from libdw: the same DIEs visited in the same order (DW_AT_sibling followed as libdw
 * follows it, the same depth limit), the same ranges (dwarf_ranges: low/high pc, else
 * DW_AT_ranges in .debug_ranges or .debug_rnglists), the same names (kperf__sym_die_name)
 * and call sites. DWARF 2-5, the DW_FORM_* of both, strx/addrx/rnglistx with their base
 * attributes. Anything else (split or supplementary units, references into another unit or
 * a type unit, DW_FORM_indirect, a missing base, a malformed entry) returns 1 and the CU is
 * read through libdw as before. Every read is bounded by its section. */
enum {
    KPERF__DWA_SIB, KPERF__DWA_LOW, KPERF__DWA_HIGH, KPERF__DWA_RANGES, KPERF__DWA_NAME,
    KPERF__DWA_LINK, KPERF__DWA_MIPS, KPERF__DWA_AO, KPERF__DWA_SPEC, KPERF__DWA_CFILE,
    KPERF__DWA_CLINE, KPERF__DWA_CCOL, KPERF__DWA_ENTRY, KPERF__DWA_COMPDIR, KPERF__DWA_STMT,
    KPERF__DWA_STROFF, KPERF__DWA_ADDRB, KPERF__DWA_RNGB, KPERF__DWA_DWO, KPERF__DWA_LANG,
    KPERF__DWA_N,
    KPERF__DWA_NONE = 0xff
};

/* What a form's value is (kperf__dw_form). */
enum {
    KPERF__DWK_OTHER, /* blocks, flags, location lists...: no value used here */
    KPERF__DWK_CONST, /* data1/2/4/8, udata, sdata, implicit_const */
    KPERF__DWK_ADDR, KPERF__DWK_ADDRX, KPERF__DWK_REF /* unit-relative */, KPERF__DWK_REFADDR,
    KPERF__DWK_STR /* inline: v is its offset in .debug_info */, KPERF__DWK_STRP,
    KPERF__DWK_LSTRP, KPERF__DWK_STRX, KPERF__DWK_SECOFF, KPERF__DWK_RNGX,
    KPERF__DWK_FAIL /* a form this reader does not take */
};

static uint8_t kperf__dw_slot(uint64_t at) {
    switch (at) {
    case DW_AT_sibling: return KPERF__DWA_SIB;
    case DW_AT_low_pc: return KPERF__DWA_LOW;
    case DW_AT_high_pc: return KPERF__DWA_HIGH;
    case DW_AT_ranges: return KPERF__DWA_RANGES;
    case DW_AT_name: return KPERF__DWA_NAME;
    case DW_AT_linkage_name: return KPERF__DWA_LINK;
    case DW_AT_MIPS_linkage_name: return KPERF__DWA_MIPS;
    case DW_AT_abstract_origin: return KPERF__DWA_AO;
    case DW_AT_specification: return KPERF__DWA_SPEC;
    case DW_AT_call_file: return KPERF__DWA_CFILE;
    case DW_AT_call_line: return KPERF__DWA_CLINE;
    case DW_AT_call_column: return KPERF__DWA_CCOL;
    case DW_AT_entry_pc: return KPERF__DWA_ENTRY;
    case DW_AT_comp_dir: return KPERF__DWA_COMPDIR;
    case DW_AT_stmt_list: return KPERF__DWA_STMT;
    case DW_AT_str_offsets_base: return KPERF__DWA_STROFF;
    case DW_AT_addr_base: return KPERF__DWA_ADDRB;
    case DW_AT_rnglists_base: return KPERF__DWA_RNGB;
    case DW_AT_language: return KPERF__DWA_LANG;
    case DW_AT_dwo_name: case DW_AT_GNU_dwo_name: case DW_AT_GNU_addr_base:
    case DW_AT_GNU_ranges_base: case DW_AT_GNU_dwo_id:
        return KPERF__DWA_DWO;
    default: return KPERF__DWA_NONE;
    }
}

typedef struct kperf__dw_aspec {
    uint32_t form;
    uint8_t slot;
    int64_t implicit;
} kperf__dw_aspec;

typedef struct kperf__dw_abbrev {
    uint32_t tag; /* 0: no such code */
    uint8_t children;
    uint32_t first, n; /* specs[first, first + n) */
    int32_t fixed;     /* bytes of its values when every form has a fixed size, else -1 */
    int32_t sibpos;    /* where its DW_AT_sibling value starts among them, -1 none or unknown */
    uint32_t sibform;
} kperf__dw_abbrev;

typedef struct kperf__dw_unit {
    const kperf__sym_dso *d;
    const uint8_t *info;       /* .debug_info */
    uint64_t uoff, uend, die0; /* the unit's extent in it, its first DIE */
    unsigned ver, asz, osz;
    bool dw64;
    uint64_t base, stroff, addrb, rngb;
    bool has_stroff, has_addrb, has_rngb;
    kperf__dw_abbrev *ab;
    size_t nab;
    kperf__dw_aspec *specs;
    size_t nspecs;
    const char *comp_dir;
    int lang; /* DW_AT_language of the CU, -1 none (dwarf_srclang) */
    bool has_stmt;
    uint64_t stmt;
    uint64_t *work, budget; /* entries parsed so far, and the most a walk may parse */
} kperf__dw_unit;

typedef struct kperf__dw_val {
    uint8_t kind;
    uint64_t v;
} kperf__dw_val;

typedef struct kperf__dw_die {
    uint64_t off, end; /* in .debug_info: the entry, the byte after its attributes */
    uint32_t tag;
    bool children;
    uint32_t has; /* bit per KPERF__DWA_* slot filled (the first such attribute wins) */
    kperf__dw_val a[KPERF__DWA_N];
} kperf__dw_die;

static void kperf__dw_unit_free(kperf__dw_unit *u) {
    KPERF_FREE(u->ab);
    KPERF_FREE(u->specs);
    u->ab = NULL, u->specs = NULL;
}

/* Bytes a value of this form takes in unit u when that does not depend on the value; -1
 * for strings, LEB128s, blocks and the forms kperf__dw_form leaves to libdw. */
static int kperf__dw_fixed_size(const kperf__dw_unit *u, uint32_t form) {
    switch (form) {
    case DW_FORM_flag_present: case DW_FORM_implicit_const: return 0;
    case DW_FORM_data1: case DW_FORM_ref1: case DW_FORM_flag: case DW_FORM_strx1: case DW_FORM_addrx1:
        return 1;
    case DW_FORM_data2: case DW_FORM_ref2: case DW_FORM_strx2: case DW_FORM_addrx2: return 2;
    case DW_FORM_strx3: case DW_FORM_addrx3: return 3;
    case DW_FORM_data4: case DW_FORM_ref4: case DW_FORM_strx4: case DW_FORM_addrx4: return 4;
    case DW_FORM_data8: case DW_FORM_ref8: return 8;
    case DW_FORM_data16: return 16;
    case DW_FORM_addr: return (int)u->asz;
    case DW_FORM_ref_addr: return (int)(u->ver == 2 ? u->asz : u->osz);
    case DW_FORM_strp: case DW_FORM_line_strp: case DW_FORM_sec_offset: return (int)u->osz;
    default: return -1;
    }
}

/* An abbreviation's fixed size and where its sibling value lies (kperf__dw_die_read's
 * shortcut for entries a walk steps over). */
static void kperf__dw_abbrev_shape(const kperf__dw_unit *u, kperf__dw_abbrev *a) {
    int32_t at = 0;
    a->fixed = a->sibpos = -1;
    for (uint32_t k = 0; k < a->n; k++) {
        const kperf__dw_aspec *sp = &u->specs[a->first + k];
        if (sp->slot == KPERF__DWA_SIB && a->sibpos < 0 && at >= 0) a->sibpos = at, a->sibform = sp->form;
        int n = kperf__dw_fixed_size(u, sp->form);
        if (n < 0 || at < 0 || at > 1 << 20) at = -1;
        else at += n;
    }
    a->fixed = at;
}

/* The abbreviation table at off: codes must be dense enough for a direct table. */
static int kperf__dw_abbrevs(kperf__dw_unit *u, uint64_t off) {
    const kperf__sym_dsec *s = &u->d->dabbrev;
    if (off >= s->n) return 1;
    kperf__dw_cur c = {s->p + off, s->p + s->n, false};
    size_t capab = 0, capsp = 0;
    for (size_t guard = 0; guard < 1000000; guard++) {
        uint64_t code = kperf__dw_uleb(&c);
        if (c.bad) return 1;
        if (!code) return 0;
        uint64_t tag = kperf__dw_uleb(&c);
        uint8_t ch = (uint8_t)kperf__dw_un(&c, 1);
        if (c.bad || code > 65536 || tag > UINT32_MAX || ch > 1) return 1;
        if (code >= u->nab) {
            if (kperf__sym_grow(&u->ab, &capab, (size_t)code + 1, sizeof *u->ab)) return -ENOMEM;
            memset(&u->ab[u->nab], 0, ((size_t)code + 1 - u->nab) * sizeof *u->ab);
            u->nab = (size_t)code + 1;
        }
        kperf__dw_abbrev *a = &u->ab[code];
        if (a->tag) return 1; /* a code defined twice */
        a->tag = tag ? (uint32_t)tag : UINT32_MAX, a->children = ch, a->first = (uint32_t)u->nspecs;
        for (;;) {
            uint64_t at = kperf__dw_uleb(&c), form = kperf__dw_uleb(&c);
            int64_t imp = form == DW_FORM_implicit_const ? kperf__dw_sleb(&c) : 0;
            if (c.bad || u->nspecs >= UINT32_MAX - 1) return 1;
            if (!at && !form) break;
            if (kperf__sym_grow(&u->specs, &capsp, u->nspecs + 1, sizeof *u->specs)) return -ENOMEM;
            u->specs[u->nspecs++] = (kperf__dw_aspec){(uint32_t)(form > UINT32_MAX ? UINT32_MAX : form),
                                                     kperf__dw_slot(at), imp};
            a->n++;
        }
        kperf__dw_abbrev_shape(u, a);
    }
    return 1;
}

/* Reads one value of the form at c; its kind, and v (see KPERF__DWK_*). */
static int kperf__dw_form(const kperf__dw_unit *u, kperf__dw_cur *c, const kperf__dw_aspec *sp,
                          uint64_t *v) {
    unsigned osz = u->osz;
    *v = 0;
    switch (sp->form) {
    case DW_FORM_addr: *v = kperf__dw_un(c, u->asz); return KPERF__DWK_ADDR;
    case DW_FORM_addrx: *v = kperf__dw_uleb(c); return KPERF__DWK_ADDRX;
    case DW_FORM_addrx1: case DW_FORM_addrx2: case DW_FORM_addrx3: case DW_FORM_addrx4:
        *v = kperf__dw_un(c, sp->form - DW_FORM_addrx1 + 1);
        return KPERF__DWK_ADDRX;
    case DW_FORM_data1: *v = kperf__dw_un(c, 1); return KPERF__DWK_CONST;
    case DW_FORM_data2: *v = kperf__dw_un(c, 2); return KPERF__DWK_CONST;
    case DW_FORM_data4: *v = kperf__dw_un(c, 4); return KPERF__DWK_CONST;
    case DW_FORM_data8: *v = kperf__dw_un(c, 8); return KPERF__DWK_CONST;
    case DW_FORM_udata: *v = kperf__dw_uleb(c); return KPERF__DWK_CONST;
    case DW_FORM_sdata: *v = (uint64_t)kperf__dw_sleb(c); return KPERF__DWK_CONST;
    case DW_FORM_implicit_const: *v = (uint64_t)sp->implicit; return KPERF__DWK_CONST;
    case DW_FORM_data16: kperf__dw_un(c, 8), kperf__dw_un(c, 8); return KPERF__DWK_OTHER;
    case DW_FORM_flag: kperf__dw_un(c, 1); return KPERF__DWK_OTHER;
    case DW_FORM_flag_present: return KPERF__DWK_OTHER;
    case DW_FORM_ref1: *v = kperf__dw_un(c, 1); return KPERF__DWK_REF;
    case DW_FORM_ref2: *v = kperf__dw_un(c, 2); return KPERF__DWK_REF;
    case DW_FORM_ref4: *v = kperf__dw_un(c, 4); return KPERF__DWK_REF;
    case DW_FORM_ref8: *v = kperf__dw_un(c, 8); return KPERF__DWK_REF;
    case DW_FORM_ref_udata: *v = kperf__dw_uleb(c); return KPERF__DWK_REF;
    case DW_FORM_ref_addr: *v = kperf__dw_un(c, u->ver == 2 ? u->asz : osz); return KPERF__DWK_REFADDR;
    case DW_FORM_string: {
        *v = (uint64_t)(c->p - u->info);
        kperf__dw_cstr(c);
        return KPERF__DWK_STR;
    }
    case DW_FORM_strp: *v = kperf__dw_un(c, osz); return KPERF__DWK_STRP;
    case DW_FORM_line_strp: *v = kperf__dw_un(c, osz); return KPERF__DWK_LSTRP;
    case DW_FORM_strx: *v = kperf__dw_uleb(c); return KPERF__DWK_STRX;
    case DW_FORM_strx1: case DW_FORM_strx2: case DW_FORM_strx3: case DW_FORM_strx4:
        *v = kperf__dw_un(c, sp->form - DW_FORM_strx1 + 1);
        return KPERF__DWK_STRX;
    case DW_FORM_sec_offset: *v = kperf__dw_un(c, osz); return KPERF__DWK_SECOFF;
    case DW_FORM_rnglistx: *v = kperf__dw_uleb(c); return KPERF__DWK_RNGX;
    case DW_FORM_loclistx: kperf__dw_uleb(c); return KPERF__DWK_OTHER;
    case DW_FORM_ref_sig8: kperf__dw_un(c, 8); return KPERF__DWK_FAIL;
    case DW_FORM_block1: case DW_FORM_block2: case DW_FORM_block4: case DW_FORM_block:
    case DW_FORM_exprloc: {
        uint64_t n = sp->form == DW_FORM_block1 ? kperf__dw_un(c, 1)
                     : sp->form == DW_FORM_block2 ? kperf__dw_un(c, 2)
                     : sp->form == DW_FORM_block4 ? kperf__dw_un(c, 4) : kperf__dw_uleb(c);
        if (n > (uint64_t)(c->end - c->p)) c->bad = true, c->p = c->end;
        else c->p += n;
        return KPERF__DWK_OTHER;
    }
    default: return KPERF__DWK_FAIL; /* indirect, supplementary and alternate files, GNU split */
    }
}

/* Parses the entry at offset off of .debug_info: 0, 1 (not readable here: use libdw).
 * die->tag 0 is a null entry. full false: only what a walk needs to step over the entry
 * (its tag, end, children flag and DW_AT_sibling), with no value read when its
 * abbreviation has a fixed size and no sibling: most entries (variables, parameters,
 * types) are only stepped over. */
static int kperf__dw_die_read(const kperf__dw_unit *u, uint64_t off, kperf__dw_die *die, bool full) {
    die->off = off, die->has = 0, die->tag = 0, die->children = false;
    if (off < u->die0 || off >= u->uend) return 1;
    if (u->work && ++*u->work > u->budget) return 1; /* a tree that loops back: libdw's turn */
    kperf__dw_cur c = {u->info + off, u->info + u->uend, false};
    uint64_t code = kperf__dw_uleb(&c);
    if (c.bad) return 1;
    if (!code) return die->end = (uint64_t)(c.p - u->info), 0;
    if (code >= u->nab || !u->ab[code].tag) return 1;
    const kperf__dw_abbrev *a = &u->ab[code];
    die->tag = a->tag, die->children = a->children;
    if (!full && a->fixed >= 0) {
        if ((uint64_t)(c.end - c.p) < (uint64_t)a->fixed) return 1;
        if (a->sibpos >= 0) {
            kperf__dw_cur sc = {c.p + a->sibpos, c.end, false};
            kperf__dw_aspec sp = {a->sibform, KPERF__DWA_SIB, 0};
            uint64_t v;
            int kind = kperf__dw_form(u, &sc, &sp, &v);
            if (kind == KPERF__DWK_FAIL || sc.bad) return 1;
            die->has = 1u << KPERF__DWA_SIB;
            die->a[KPERF__DWA_SIB].kind = (uint8_t)kind, die->a[KPERF__DWA_SIB].v = v;
        }
        die->end = (uint64_t)(c.p - u->info) + (uint64_t)a->fixed;
        return 0;
    }
    const kperf__dw_aspec *sp = &u->specs[a->first];
    for (uint32_t k = 0; k < a->n; k++, sp++) {
        uint64_t v;
        int kind = kperf__dw_form(u, &c, sp, &v);
        if (kind == KPERF__DWK_FAIL || c.bad) return 1;
        if (sp->slot != KPERF__DWA_NONE && !(die->has & (1u << sp->slot)) &&
            (full || sp->slot == KPERF__DWA_SIB)) {
            die->has |= 1u << sp->slot;
            die->a[sp->slot].kind = (uint8_t)kind, die->a[sp->slot].v = v;
        }
    }
    die->end = (uint64_t)(c.p - u->info);
    return 0;
}

static int kperf__dw_die_at(const kperf__dw_unit *u, uint64_t off, kperf__dw_die *die) {
    return kperf__dw_die_read(u, off, die, true);
}

/* An entry the walk meets: read in full when it is a scope (kperf__dw_scope reads its
 * attributes), else only as far as stepping over it needs. */
static int kperf__dw_die_walk(const kperf__dw_unit *u, uint64_t off, kperf__dw_die *die) {
    bool full = false;
    if (off >= u->die0 && off < u->uend) {
        kperf__dw_cur c = {u->info + off, u->info + u->uend, false};
        uint64_t code = kperf__dw_uleb(&c);
        uint32_t tag = !c.bad && code && code < u->nab ? u->ab[code].tag : 0;
        full = tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine || tag == DW_TAG_entry_point;
    }
    return kperf__dw_die_read(u, off, die, full);
}

/* A string value (dwarf_formstring): *out NULL when the form is not a string's. */
static int kperf__dw_string(const kperf__dw_unit *u, const kperf__dw_val *val, const char **out) {
    const kperf__sym_dso *d = u->d;
    uint64_t off = val->v;
    *out = NULL;
    switch (val->kind) {
    case KPERF__DWK_STR: *out = (const char *)u->info + off; return 0; /* checked by cstr */
    case KPERF__DWK_STRP: *out = kperf__dw_sstr(&d->dstr, off); return *out ? 0 : 1;
    case KPERF__DWK_LSTRP: *out = kperf__dw_sstr(&d->dlinestr, off); return *out ? 0 : 1;
    case KPERF__DWK_STRX: {
        if (!u->has_stroff || off > (d->dstroff.n >> 2)) return 1;
        uint64_t at = u->stroff + off * u->osz;
        if (at > d->dstroff.n || d->dstroff.n - at < u->osz) return 1;
        kperf__dw_cur c = {d->dstroff.p + at, d->dstroff.p + d->dstroff.n, false};
        *out = kperf__dw_sstr(&d->dstr, kperf__dw_un(&c, u->osz));
        return *out ? 0 : 1;
    }
    default: return 0;
    }
}

/* An address value (dwarf_formaddr): 0, -1 when the form is not an address's, 1. */
static int kperf__dw_address(const kperf__dw_unit *u, const kperf__dw_val *val, uint64_t *out) {
    const kperf__sym_dsec *s = &u->d->daddr;
    if (val->kind == KPERF__DWK_ADDR) return *out = val->v, 0;
    if (val->kind != KPERF__DWK_ADDRX) return -1;
    if (!u->has_addrb || val->v > s->n) return 1;
    uint64_t at = u->addrb + val->v * u->asz;
    if (at > s->n || s->n - at < u->asz) return 1;
    kperf__dw_cur c = {s->p + at, s->p + s->n, false};
    *out = kperf__dw_un(&c, u->asz);
    return 0;
}

static int kperf__dw_addrx(const kperf__dw_unit *u, uint64_t idx, uint64_t *out) {
    kperf__dw_val v = {KPERF__DWK_ADDRX, idx};
    return kperf__dw_address(u, &v, out) ? 1 : 0;
}

/* Appends [lo, hi) of scope idx (empty ones are skipped, as kperf__sym_cu_scope does). */
static int kperf__dw_range(kperf__sym_cubuild *b, uint64_t lo, uint64_t hi, uint32_t idx,
                           uint32_t depth, size_t *n, uint64_t *entry) {
    if (++*n > 100000) return 1; /* kperf__sym_cu_scope's ceiling: libdw decides */
    if (hi <= lo) return 0;
    if (*entry == UINT64_MAX) *entry = lo;
    if (kperf__sym_grow_big(&b->ranges, &b->capranges, b->nranges + 1, sizeof *b->ranges))
        return -ENOMEM;
    b->ranges[b->nranges++] = (struct kperf__sym_range){lo, hi, idx, depth};
    return 0;
}

/* The ranges of a DIE as dwarf_ranges() gives them. *entry: the low end of the first. */
static int kperf__dw_ranges(kperf__sym_cubuild *b, const kperf__dw_unit *u, const kperf__dw_die *die,
                            uint32_t idx, uint32_t depth, uint64_t *entry) {
    const kperf__sym_dso *d = u->d;
    size_t n = 0;
    *entry = UINT64_MAX;
    uint64_t lo = 0, hi = 0;
    int rl = die->has & (1u << KPERF__DWA_LOW) ? kperf__dw_address(u, &die->a[KPERF__DWA_LOW], &lo) : -1;
    if (rl > 0) return 1;
    if (die->has & (1u << KPERF__DWA_HIGH)) { /* dwarf_highpc, then dwarf_lowpc */
        const kperf__dw_val *h = &die->a[KPERF__DWA_HIGH];
        int rh = kperf__dw_address(u, h, &hi);
        if (rh > 0) return 1;
        bool ok = rh == 0 || (rl == 0 && h->kind == KPERF__DWK_CONST);
        if (rh < 0 && ok) hi = lo + h->v;
        if (ok && rl == 0) return kperf__dw_range(b, lo, hi, idx, depth, &n, entry);
    }
    if (!(die->has & (1u << KPERF__DWA_RANGES))) return 0;
    const kperf__dw_val *r = &die->a[KPERF__DWA_RANGES];
    uint64_t base = u->base, off;
    if (u->ver < 5) {
        if (r->kind != KPERF__DWK_SECOFF) return 1;
        off = r->v;
        const kperf__sym_dsec *s = &d->dranges;
        if (!s->p || off >= s->n) return 1;
        kperf__dw_cur c = {s->p + off, s->p + s->n, false};
        uint64_t esc = u->asz == 8 ? UINT64_MAX : 0xffffffffu;
        for (;;) {
            uint64_t a = kperf__dw_un(&c, u->asz), z = kperf__dw_un(&c, u->asz);
            if (c.bad) return 1;
            if (a == esc) {
                if (z == esc) return 1;
                base = z;
                continue;
            }
            if (!a && !z) return 0;
            int rc = kperf__dw_range(b, a + base, z + base, idx, depth, &n, entry);
            if (rc) return rc;
        }
    }
    const kperf__sym_dsec *s = &d->drnglists;
    if (!s->p) return 1;
    if (r->kind == KPERF__DWK_SECOFF) {
        off = r->v;
    } else if (r->kind == KPERF__DWK_RNGX) {
        if (!u->has_rngb || u->rngb > s->n || r->v > s->n) return 1;
        uint64_t at = u->rngb + r->v * u->osz;
        if (at > s->n || s->n - at < u->osz) return 1;
        kperf__dw_cur c = {s->p + at, s->p + s->n, false};
        off = kperf__dw_un(&c, u->osz) + u->rngb;
    } else {
        return 1;
    }
    if (off >= s->n) return 1;
    kperf__dw_cur c = {s->p + off, s->p + s->n, false};
    for (;;) {
        unsigned kind = (unsigned)kperf__dw_un(&c, 1);
        uint64_t a = 0, z = 0;
        if (c.bad) return 1;
        switch (kind) {
        case DW_RLE_end_of_list: return 0;
        case DW_RLE_base_addressx:
            if (kperf__dw_addrx(u, kperf__dw_uleb(&c), &base)) return 1;
            continue;
        case DW_RLE_startx_endx:
            if (kperf__dw_addrx(u, kperf__dw_uleb(&c), &a) || kperf__dw_addrx(u, kperf__dw_uleb(&c), &z))
                return 1;
            break;
        case DW_RLE_startx_length:
            if (kperf__dw_addrx(u, kperf__dw_uleb(&c), &a)) return 1;
            z = a + kperf__dw_uleb(&c);
            break;
        case DW_RLE_offset_pair:
            a = kperf__dw_uleb(&c), z = kperf__dw_uleb(&c);
            a += base, z += base;
            break;
        case DW_RLE_base_address: base = kperf__dw_un(&c, u->asz); continue;
        case DW_RLE_start_end: a = kperf__dw_un(&c, u->asz), z = kperf__dw_un(&c, u->asz); break;
        case DW_RLE_start_length: a = kperf__dw_un(&c, u->asz), z = a + kperf__dw_uleb(&c); break;
        default: return 1;
        }
        if (c.bad) return 1;
        int rc = kperf__dw_range(b, a, z, idx, depth, &n, entry);
        if (rc) return rc;
    }
}

/* The DIE a reference attribute names, inside this unit (else 1: libdw follows it). */
static int kperf__dw_ref(const kperf__dw_unit *u, const kperf__dw_val *v, kperf__dw_die *out) {
    uint64_t off;
    if (v->kind == KPERF__DWK_REF) off = u->uoff + v->v;
    else if (v->kind == KPERF__DWK_REFADDR) off = v->v;
    else return -1; /* not a reference: dwarf_formref_die fails */
    if (off < u->uoff || off < v->v) return 1;
    return kperf__dw_die_at(u, off, out) || !out->tag ? 1 : 0;
}

/* kperf__sym_die_name over the DIEs read here. */
static int kperf__dw_name(const kperf__dw_unit *u, const kperf__dw_die *die, bool lang_c,
                          const char **out, uint8_t *linkage) {
    kperf__dw_die hop[2];
    const kperf__dw_die *cur = die;
    const char *name = NULL;
    *out = NULL, *linkage = 0;
    for (int k = 0; k < 8; k++) {
        const char *ln = NULL;
        int slot = cur->has & (1u << KPERF__DWA_LINK) ? KPERF__DWA_LINK
                   : cur->has & (1u << KPERF__DWA_MIPS) ? KPERF__DWA_MIPS : -1;
        if (slot >= 0 && kperf__dw_string(u, &cur->a[slot], &ln)) return 1;
        if (ln) return *out = ln, *linkage = 1, 0;
        if (!name && (cur->has & (1u << KPERF__DWA_NAME)) &&
            kperf__dw_string(u, &cur->a[KPERF__DWA_NAME], &name))
            return 1;
        slot = cur->has & (1u << KPERF__DWA_AO) ? KPERF__DWA_AO
               : cur->has & (1u << KPERF__DWA_SPEC) ? KPERF__DWA_SPEC : -1;
        if (slot < 0) break;
        kperf__dw_die *next = &hop[k & 1];
        int r = kperf__dw_ref(u, &cur->a[slot], next);
        if (r < 0) break;
        if (r) return 1;
        cur = next;
    }
    *out = name, *linkage = name && lang_c;
    return 0;
}

/* dwarf_formudata of call_file/line/column: false when the form is not a constant. */
static bool kperf__dw_const(const kperf__dw_die *die, int slot, uint64_t *v) {
    if (!(die->has & (1u << slot)) || die->a[slot].kind != KPERF__DWK_CONST) return false;
    *v = die->a[slot].v;
    return true;
}

/* kperf__sym_cu_scope for a DIE read here. */
static int kperf__dw_scope(kperf__sym_cubuild *b, const kperf__dw_unit *u, const kperf__dw_die *die,
                           bool lang_c, uint32_t parent, uint32_t depth, uint32_t *out) {
    uint32_t idx = (uint32_t)b->cu->nscopes;
    uint64_t entry;
    *out = KPERF__SYM_NONE;
    int rc = kperf__dw_ranges(b, u, die, idx, depth, &entry);
    if (rc || entry == UINT64_MAX) return rc;
    const char *name;
    uint8_t linkage;
    if (kperf__dw_name(u, die, lang_c, &name, &linkage)) return 1;
    if (kperf__sym_grow(&b->cu->scopes, &b->capscopes, b->cu->nscopes + 1, sizeof *b->cu->scopes))
        return -ENOMEM;
    kperf__sym_scope *s = &b->cu->scopes[b->cu->nscopes++];
    memset(s, 0, sizeof *s);
    s->entry = entry;
    s->name = name, s->linkage = linkage;
    s->inlined = die->tag == DW_TAG_inlined_subroutine;
    s->parent = s->inlined ? parent : KPERF__SYM_NONE;
    s->call_file = KPERF__SYM_NONE;
    if (s->inlined) {
        uint64_t w;
        if (b->lt && kperf__dw_const(die, KPERF__DWA_CFILE, &w))
            s->call_file = kperf__dw_file_id(b, b->lt, w);
        if (kperf__dw_const(die, KPERF__DWA_CLINE, &w)) s->call_line = (uint32_t)w;
        if (kperf__dw_const(die, KPERF__DWA_CCOL, &w)) s->call_col = (uint32_t)w;
    }
    *out = idx;
    return 0;
}

/* Opens unit i: its header, abbreviations and unit DIE. 0, 1 (use libdw), -ENOMEM. */
static int kperf__dw_unit_open(const kperf__sym_dso *d, size_t i, kperf__dw_unit *u) {
    memset(u, 0, sizeof *u);
    u->d = d;
    const kperf__sym_dsec *s = &d->dinfo;
    if (!d->own_dies || !d->cuhdr || d->cuhdr[i] >= s->n) return 1;
    u->info = s->p, u->uoff = d->cuhdr[i];
    kperf__dw_cur c = {s->p + u->uoff, s->p + s->n, false};
    uint64_t len = kperf__dw_un(&c, 4);
    u->dw64 = len == 0xffffffffu;
    if (u->dw64) len = kperf__dw_un(&c, 8);
    else if (len >= 0xfffffff0u) return 1;
    if (c.bad || len > (uint64_t)(c.end - c.p)) return 1;
    u->uend = (uint64_t)(c.p - s->p) + len;
    c.end = s->p + u->uend;
    u->osz = u->dw64 ? 8 : 4;
    u->ver = (unsigned)kperf__dw_un(&c, 2);
    uint64_t aoff;
    if (u->ver < 2 || u->ver > 5) return 1;
    if (u->ver == 5) {
        unsigned ut = (unsigned)kperf__dw_un(&c, 1);
        if (ut != DW_UT_compile && ut != DW_UT_partial) return 1;
        u->asz = (unsigned)kperf__dw_un(&c, 1);
        aoff = kperf__dw_un(&c, u->osz);
    } else {
        aoff = kperf__dw_un(&c, u->osz);
        u->asz = (unsigned)kperf__dw_un(&c, 1);
    }
    if (c.bad || (u->asz != 4 && u->asz != 8)) return 1;
    u->die0 = (uint64_t)(c.p - s->p);
    if (u->die0 != (uint64_t)d->cuoffs[i]) return 1;
    int rc = kperf__dw_abbrevs(u, aoff);
    if (rc) return rc;
    kperf__dw_die cu;
    if (kperf__dw_die_at(u, u->die0, &cu) || !cu.tag || (cu.has & (1u << KPERF__DWA_DWO))) return 1;
    const kperf__dw_val *a = cu.a;
    if (cu.has & (1u << KPERF__DWA_STROFF)) {
        if (a[KPERF__DWA_STROFF].kind != KPERF__DWK_SECOFF) return 1;
        u->stroff = a[KPERF__DWA_STROFF].v, u->has_stroff = true;
    }
    if (cu.has & (1u << KPERF__DWA_ADDRB)) {
        if (a[KPERF__DWA_ADDRB].kind != KPERF__DWK_SECOFF) return 1;
        u->addrb = a[KPERF__DWA_ADDRB].v, u->has_addrb = true;
    }
    if (cu.has & (1u << KPERF__DWA_RNGB)) {
        if (a[KPERF__DWA_RNGB].kind != KPERF__DWK_SECOFF) return 1;
        u->rngb = a[KPERF__DWA_RNGB].v, u->has_rngb = true;
    }
    /* the base address: DW_AT_low_pc, else DW_AT_entry_pc, else 0 (as libdw) */
    int r = cu.has & (1u << KPERF__DWA_LOW) ? kperf__dw_address(u, &a[KPERF__DWA_LOW], &u->base) : -1;
    if (r < 0 && (cu.has & (1u << KPERF__DWA_ENTRY)))
        r = kperf__dw_address(u, &a[KPERF__DWA_ENTRY], &u->base);
    if (r > 0) return 1;
    if (r < 0) u->base = 0;
    if ((cu.has & (1u << KPERF__DWA_COMPDIR)) && kperf__dw_string(u, &a[KPERF__DWA_COMPDIR], &u->comp_dir))
        return 1;
    u->lang = -1;
    if (cu.has & (1u << KPERF__DWA_LANG)) {
        if (a[KPERF__DWA_LANG].kind != KPERF__DWK_CONST || a[KPERF__DWA_LANG].v > INT32_MAX) return 1;
        u->lang = (int)a[KPERF__DWA_LANG].v;
    }
    if (cu.has & (1u << KPERF__DWA_STMT)) {
        const kperf__dw_val *st = &a[KPERF__DWA_STMT];
        if (st->kind != KPERF__DWK_SECOFF && st->kind != KPERF__DWK_CONST) return 1;
        if (st->kind == KPERF__DWK_CONST && u->ver >= 4) return 1;
        u->stmt = st->v, u->has_stmt = true;
    }
    return 0;
}

/* The next entry at the level of e (dwarf_siblingof): *next 0 for none, and then *endp is
 * where the level ended (its null entry, or the unit's end). With a sibling attribute that
 * is where it is; otherwise the entries after e and its children. */
static int kperf__dw_sibling(const kperf__dw_unit *u, const kperf__dw_die *e, uint64_t *next,
                             uint64_t *endp) {
    kperf__dw_die cur; /* only what stepping over entries reads (not all of *e's values) */
    cur.off = e->off, cur.end = e->end, cur.tag = e->tag, cur.children = e->children;
    cur.has = e->has & (1u << KPERF__DWA_SIB);
    cur.a[KPERF__DWA_SIB] = e->a[KPERF__DWA_SIB];
    int level = 0;
    *next = 0, *endp = u->uend;
    for (size_t guard = 0; guard < 100000000; guard++) {
        uint64_t addr;
        if (cur.has & (1u << KPERF__DWA_SIB)) {
            const kperf__dw_val *v = &cur.a[KPERF__DWA_SIB];
            if (v->kind != KPERF__DWK_REF) return 1;
            if (v->v >= u->uend - u->uoff || v->v <= cur.off - u->uoff) return 1;
            addr = u->uoff + v->v;
        } else {
            addr = cur.end;
            if (cur.children) level++;
        }
        for (;;) {
            if (addr >= u->uend) return 0;
            if (u->info[addr]) break;
            if (level-- == 0) return *endp = addr, 0;
            addr++;
        }
        if (level <= 0) return *next = addr, 0;
        if (kperf__dw_die_read(u, addr, &cur, false) || !cur.tag) return 1;
    }
    return 1;
}

/* kperf__sym_cu_walk over the DIEs read here: 0, 1 (use libdw), -ENOMEM. */
static int kperf__dw_walk(kperf__sym_cubuild *b, const kperf__dw_unit *u, bool lang_c) {
    enum { MAXD = 128 };
    kperf__dw_die *stack = (kperf__dw_die *)KPERF_MALLOC(MAXD * sizeof *stack);
    uint32_t scope[MAXD];
    int sp = 0, rc = 0;
    if (!stack) return -ENOMEM;
    uint64_t work = 0, endp = 0;
    bool popped = false;
    kperf__dw_unit *wu = (kperf__dw_unit *)u; /* only its work counter changes */
    wu->work = &work, wu->budget = 16 * (u->uend - u->die0) + 4096;
    kperf__dw_die *cu = &stack[0];
    if (kperf__dw_die_at(u, u->die0, cu) || !cu->tag) rc = 1;
    else if (!cu->children || cu->end >= u->uend || !u->info[cu->end]) goto done; /* no child */
    else if (kperf__dw_die_walk(u, cu->end, &stack[0]) || !stack[0].tag) rc = 1;
    scope[0] = KPERF__SYM_NONE;
    for (size_t guard = 0; !rc && guard < 100000000; guard++) {
        kperf__dw_die *die = &stack[sp];
        uint32_t tag = die->tag, parent = scope[sp], mine = parent;
        if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine || tag == DW_TAG_entry_point) {
            rc = kperf__dw_scope(b, u, die, lang_c, parent, (uint32_t)sp, &mine);
            if (rc) break;
            if (mine == KPERF__SYM_NONE) mine = tag == DW_TAG_subprogram ? KPERF__SYM_NONE : parent;
        }
        if (sp + 1 < MAXD && tag <= INT32_MAX && kperf__sym_descend((int)tag) && die->children &&
            die->end < u->uend && u->info[die->end]) {
            if (kperf__dw_die_walk(u, die->end, &stack[sp + 1]) || !stack[sp + 1].tag) {
                rc = 1;
                break;
            }
            scope[++sp] = mine;
            continue;
        }
        for (;;) { /* next sibling, or pop */
            uint64_t next = 0;
            if (popped && !(stack[sp].has & (1u << KPERF__DWA_SIB))) {
                /* its children ended at the null entry at endp: what dwarf_siblingof's
                 * skipping of them would find, without reading them again */
                uint64_t a = endp < u->uend ? endp + 1 : u->uend;
                if (a >= u->uend) endp = u->uend;
                else if (u->info[a]) next = a;
                else endp = a;
            } else if (kperf__dw_sibling(u, &stack[sp], &next, &endp)) {
                rc = 1;
                break;
            }
            popped = false;
            if (next) {
                if (kperf__dw_die_walk(u, next, &stack[sp]) || !stack[sp].tag) rc = 1;
                break;
            }
            if (sp == 0) goto done;
            sp--;
            popped = true;
        }
    }
done:
    wu->work = NULL;
    KPERF_FREE(stack);
    return rc;
}

static int kperf__sym_range_cmp(const void *x, const void *y) {
    const struct kperf__sym_range *a = (const struct kperf__sym_range *)x;
    const struct kperf__sym_range *b = (const struct kperf__sym_range *)y;
    if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
    if (a->depth != b->depth) return a->depth < b->depth ? -1 : 1;
    if (a->hi != b->hi) return a->hi > b->hi ? -1 : 1;
    return a->scope < b->scope ? -1 : a->scope > b->scope;
}

static int kperf__sym_emit(kperf__sym_cubuild *b, uint64_t lo, uint32_t scope) {
    if (b->nsegs && b->segs[b->nsegs - 1].lo == lo) {
        b->segs[b->nsegs - 1].scope = scope;
        if (b->nsegs > 1 && b->segs[b->nsegs - 2].scope == scope) b->nsegs--;
        return 0;
    }
    if (b->nsegs && b->segs[b->nsegs - 1].scope == scope) return 0;
    if (kperf__sym_grow_big(&b->segs, &b->capsegs, b->nsegs + 1, sizeof *b->segs)) return -ENOMEM;
    b->segs[b->nsegs++] = (kperf__sym_seg){lo, scope};
    return 0;
}

/* Sorts the ranges as kperf__sym_range_cmp orders them: a radix sort by address in the
 * scratch (qsort's merge buffer is fresh memory every CU, and its comparisons were most of
 * this step), then each run of one address (a function and what is inlined at its
 * entry) by the rest of the order. */
static void kperf__sym_sort_ranges(kperf__sym_cubuild *b) {
    size_t n = b->nranges;
    kperf__sym_scratch *sc = b->sc;
    if (n < 32 || kperf__sym_grow_big(&sc->rord, &sc->caprord, 2 * n, sizeof *sc->rord)) {
        qsort(b->ranges, n, sizeof *b->ranges, kperf__sym_range_cmp);
        return;
    }
    kperf__sym_ord *v = sc->rord;
    for (size_t i = 0; i < n; i++) v[i].a = b->ranges[i].lo, v[i].i = i;
    kperf__sym_radix_with(v, n, v + n);
    for (size_t s0 = 0; s0 < n;) {
        size_t e = s0 + 1;
        while (e < n && v[e].a == v[s0].a) e++;
        for (size_t k = s0 + 1; k < e; k++) { /* insertion: runs are short */
            kperf__sym_ord x = v[k];
            size_t j = k;
            while (j > s0 && kperf__sym_range_cmp(&b->ranges[v[j - 1].i], &b->ranges[x.i]) > 0) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        s0 = e;
    }
    kperf__sym_permute(b->ranges, sizeof *b->ranges, v, n);
}

/* Flattens nested scope ranges into non-overlapping segments, each naming the innermost
 * scope (a sweep with a stack; a range poking out of its parent is clipped). */
static int kperf__sym_cu_flatten(kperf__sym_cubuild *b) {
    size_t sp = 0;
    if (!b->nranges) return 0;
    kperf__sym_sort_ranges(b);
    if (kperf__sym_grow_big(&b->sc->stack, &b->sc->capstack, b->nranges, sizeof *b->sc->stack))
        return -ENOMEM;
    struct kperf__sym_range *st = b->sc->stack;
    int rc = 0;
    for (size_t i = 0; i < b->nranges && !rc; i++) {
        struct kperf__sym_range r = b->ranges[i];
        while (sp && st[sp - 1].hi <= r.lo && !rc) {
            uint64_t h = st[--sp].hi;
            rc = kperf__sym_emit(b, h, sp ? st[sp - 1].scope : KPERF__SYM_NONE);
        }
        if (sp && r.hi > st[sp - 1].hi) r.hi = st[sp - 1].hi;
        if (r.hi <= r.lo || rc) continue;
        rc = kperf__sym_emit(b, r.lo, r.scope);
        st[sp++] = r;
    }
    while (sp && !rc) {
        uint64_t h = st[--sp].hi;
        rc = kperf__sym_emit(b, h, sp ? st[sp - 1].scope : KPERF__SYM_NONE);
    }
    return rc;
}

static int kperf__sym_u64_cmp(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* Where the answer of kperf__sym_find_from() may change inside [lo, hi): the starts and
 * ends of the symbols there, and of the few before them it can reach back to. Sorted,
 * unique, lo first. */
static int kperf__sym_sym_edges(const kperf__sym_dso *d, uint64_t lo, uint64_t hi,
                                kperf__sym_scratch *sc, size_t *n) {
    *n = 0;
    ptrdiff_t first = kperf__sym_sym_upper(d, lo), last = kperf__sym_sym_upper(d, hi - 1);
    first = first < 8 ? 0 : first - 8;
    size_t cap = 2 * (size_t)(last - first + 1) + 1;
    if (kperf__sym_grow_big(&sc->edges, &sc->capedges, cap, sizeof *sc->edges)) return -ENOMEM;
    uint64_t *e = sc->edges;
    size_t k = 0;
    e[k++] = lo;
    for (ptrdiff_t j = first; j <= last && j >= 0; j++) {
        uint64_t a = d->syms[j].lo, z = a + d->syms[j].size;
        if (a > lo && a < hi) e[k++] = a;
        if (d->syms[j].size && z > a && z > lo && z < hi) e[k++] = z;
    }
    qsort(e, k, sizeof *e, kperf__sym_u64_cmp);
    size_t w = 0;
    for (size_t i = 0; i < k; i++)
        if (!w || e[i] != e[w - 1]) e[w++] = e[i];
    *n = w;
    return 0;
}

/* Merges the line rows, the scope segments and the symbol edges inside the CU's span
 * [lo, hi) (all sorted, addresses unique) into cells: at each address where any of them
 * changes, the row, the segment and the symbol in force there. Lookups land in a CU only
 * inside its span, so cells cover just that (a span of 4 GiB or more is cut short). */
static int kperf__sym_cu_cells(kperf__sym_cubuild *b, const kperf__sym_dso *d, uint64_t lo,
                               uint64_t hi) {
    kperf__sym_cu *cu = b->cu;
    if (hi <= lo) return 0; /* no ranges: no lookup lands here */
    if (hi - lo > UINT32_MAX) hi = lo + UINT32_MAX;
    cu->base = lo, cu->span = hi - lo;
    size_t nse = 0, i = 0, j = 0, k = 0, ncells = 0;
    if (kperf__sym_sym_edges(d, lo, hi, b->sc, &nse)) return -ENOMEM;
    const uint64_t *se = b->sc->edges;
    size_t n = b->nrows + b->nsegs + nse;
    if (kperf__sym_grow_big(&b->sc->cells, &b->sc->capcells, n, sizeof *b->sc->cells))
        return -ENOMEM;
    kperf__sym_cell *cells = b->sc->cells; /* copied out at the end, at their size */
    ptrdiff_t up = -1; /* kperf__sym_sym_upper(d, a), moving forward with a */
    kperf__sym_cell c = {0, KPERF__SYM_NONE, 0, 0, 0, KPERF__SYM_NONE, KPERF__SYM_NONE};
    while (i < b->nrows || j < b->nsegs || k < nse) {
        uint64_t a = i < b->nrows ? b->rows[i].addr : UINT64_MAX;
        if (j < b->nsegs && b->segs[j].lo < a) a = b->segs[j].lo;
        if (k < nse && se[k] < a) a = se[k];
        if (a >= hi) break;
        if (i < b->nrows && b->rows[i].addr == a) {
            const kperf__sym_row *r = &b->rows[i++];
            c.file = r->file, c.line = r->line, c.col = r->col, c.disc = r->disc;
        }
        if (j < b->nsegs && b->segs[j].lo == a) c.scope = b->segs[j++].scope;
        if (k < nse && se[k] == a) k++;
        if (a < lo) continue; /* before the span: only the state carried into it counts */
        size_t si;
        c.off = (uint32_t)(a - lo);
        if (up < 0) up = kperf__sym_sym_upper(d, a);
        while ((size_t)(up + 1) < d->nsyms && d->syms[up + 1].lo <= a) up++;
        c.sym = kperf__sym_find_from(d, a, up, &si) ? (uint32_t)si : KPERF__SYM_NONE;
        kperf__sym_cell *prev = ncells ? &cells[ncells - 1] : NULL;
        if (prev && prev->file == c.file && prev->line == c.line && prev->col == c.col &&
            prev->disc == c.disc && prev->scope == c.scope && prev->sym == c.sym)
            continue; /* the same answer: the previous cell reaches further */
        cells[ncells++] = c;
    }
    cu->cells = cells; /* in the scratch until kperf__sym_cu_place() copies them out */
    cu->ncells = ncells;
    return 0;
}

/* The shape of the bucket index over cu->cells (kperf__sym_cu_buckets): about one cell a
 * bucket, so a lookup reads one bucket entry and one or two neighbouring cells. nb 0: none. */
static void kperf__sym_cu_shape(kperf__sym_cu *cu) {
    size_t n = cu->ncells;
    cu->shift = cu->nb = 0;
    if (n < 8 || n >= UINT32_MAX || !cu->span) return;
    uint32_t shift = 0;
    while (shift < 31 && (cu->span >> shift) >= n) shift++;
    cu->shift = shift, cu->nb = (uint32_t)(cu->span >> shift) + 1;
}

/* Fills cu->b (nb + 1 entries, allocated by the caller). */
static void kperf__sym_cu_buckets(kperf__sym_cu *cu) {
    size_t n = cu->ncells;
    uint32_t shift = cu->shift, nb = cu->nb;
    size_t i = 0;
    for (uint32_t k = 0; k < nb; k++) {
        uint64_t start = (uint64_t)k << shift;
        while (i < n && cu->cells[i].off <= start) i++;
        cu->b[k] = (uint32_t)i;
    }
    cu->b[nb] = (uint32_t)n;
}

/* First step of a cell search for a: [*lo, *hi) holds the first cell past a's; every cell
 * before *lo starts at or before a, every cell from *hi on after it. Split from the second
 * step so that the caller can prefetch. */
static inline void kperf__sym_cell_start(const kperf__sym_cu *cu, uint64_t a, size_t *lo,
                                         size_t *hi) {
    uint64_t o = a - cu->base;
    *lo = 0, *hi = cu->ncells;
    if (a < cu->base || o >= cu->span) {
        *hi = 0; /* outside the cells: no answer */
        return;
    }
    if (!cu->b) return;
    uint64_t k = o >> cu->shift;
    *lo = cu->b[k], *hi = cu->b[k + 1];
}

/* The cell covering a (the last one starting at or before it), or NULL. */
static inline const kperf__sym_cell *kperf__sym_cell_end(const kperf__sym_cu *cu, size_t lo,
                                                         size_t hi, uint64_t a) {
    uint32_t o = (uint32_t)(a - cu->base);
    while (hi - lo > 4) {
        size_t mid = lo + (hi - lo) / 2;
        if (cu->cells[mid].off <= o) lo = mid + 1;
        else hi = mid;
    }
    while (lo < hi && cu->cells[lo].off <= o) lo++;
    return lo ? &cu->cells[lo - 1] : NULL;
}

static const kperf__sym_cell *kperf__sym_find_cell(const kperf__sym_cu *cu, uint64_t a) {
    size_t lo, hi;
    kperf__sym_cell_start(cu, a, &lo, &hi);
    return kperf__sym_cell_end(cu, lo, hi, a);
}

/* ---- the module's arena ---------------------------------------------------------------
 * A finished CU's cells, scopes and buckets are copied into one block of a chunk of
 * 2 MiB-aligned memory that asks for transparent huge pages: on a virtual machine a 4 KiB
 * page fault costs more than indexing the bytes on it, and the cells of a large program
 * are tens of MB. Each building thread carves blocks from its own chunk (its scratch's);
 * chunks are pushed on the module's list atomically and unmapped when it is freed. Under
 * AddressSanitizer the blocks come from malloc, so that overflows are still caught. */

typedef struct kperf__sym_chunk {
    struct kperf__sym_chunk *next;
    size_t size;
} kperf__sym_chunk;

/* n bytes (64-aligned) from sc's chunk, a new chunk when it is full; NULL: use malloc. */
static void *kperf__sym_arena(kperf__sym_dso *d, kperf__sym_scratch *sc, size_t n) {
#ifdef KPERF__SYM_NO_ARENA
    (void)d, (void)sc, (void)n;
    return NULL;
#else
    n = (n + 63) & ~(size_t)63;
    if (sc->ap && sc->acap - sc->aused >= n) {
        void *r = sc->ap + sc->aused;
        sc->aused += n;
        return r;
    }
    if (n > ((size_t)1 << 40)) return NULL;
    const size_t hdr = 64, size = (hdr + n + KPERF__SYM_CHUNK - 1) & ~(KPERF__SYM_CHUNK - 1);
    uint8_t *a = kperf__sym_huge_map(size);
    if (!a) return NULL;
    kperf__sym_chunk *c = (kperf__sym_chunk *)(void *)a;
    c->size = size;
    void *head = __atomic_load_n(&d->chunks, __ATOMIC_RELAXED);
    do c->next = (kperf__sym_chunk *)head;
    while (!__atomic_compare_exchange_n(&d->chunks, &head, (void *)c, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
    if (hdr + n < size || !sc->ap) /* keep the chunk with more room */
        if (!sc->ap || size - hdr - n > sc->acap - sc->aused)
            sc->ap = a, sc->acap = size, sc->aused = hdr + n;
    return a + hdr;
#endif
}

static void kperf__sym_arena_free(kperf__sym_dso *d) {
    kperf__sym_chunk *c = (kperf__sym_chunk *)d->chunks;
    while (c) {
        kperf__sym_chunk *next = c->next;
        munmap((void *)c, c->size);
        c = next;
    }
    d->chunks = NULL;
}

/* Copies the built CU's cells (in the scratch) and scopes into one block (the arena's, else
 * malloc's) with its buckets and gnu_compat cache after them. */
static int kperf__sym_cu_place(kperf__sym_dso *d, kperf__sym_scratch *sc, kperf__sym_cu *cu) {
    kperf__sym_cu_shape(cu);
    size_t nc = cu->ncells * sizeof *cu->cells, ns = cu->nscopes * sizeof *cu->scopes;
    size_t ng = cu->nscopes * sizeof(uint32_t), nb = cu->nb ? ((size_t)cu->nb + 1) * sizeof(uint32_t) : 0;
    size_t total = nc + ns + ng + nb;
    uint8_t *blk = (uint8_t *)kperf__sym_arena(d, sc, total ? total : 1);
    cu->arena = blk != NULL;
    if (!blk && !(blk = (uint8_t *)KPERF_MALLOC(total ? total : 1))) return -ENOMEM;
    /* scopes first: they hold pointers (8-byte aligned, as the block is); the cells and the
     * 32-bit arrays after them need 4 */
    if (ns) memcpy(blk, cu->scopes, ns);
    KPERF_FREE(cu->scopes);
    cu->scopes = (kperf__sym_scope *)(void *)blk;
    kperf__sym_cell *cells = (kperf__sym_cell *)(void *)(blk + ns);
    if (nc) memcpy(cells, cu->cells, nc);
    cu->cells = cells;
    cu->gsym = (uint32_t *)(void *)(blk + ns + nc);
    memset(cu->gsym, 0, ng);
    cu->b = nb ? (uint32_t *)(void *)(blk + ns + nc + ng) : NULL;
    if (cu->b) kperf__sym_cu_buckets(cu);
    return 0;
}

static void kperf__sym_cu_free(kperf__sym_cu *cu) {
    if (!cu) return;
    for (size_t i = 0; i < cu->nscopes; i++)
        if (cu->scopes[i].dem && cu->scopes[i].dem != (char *)1) free(cu->scopes[i].dem);
    for (size_t i = 0; i < cu->nowned; i++) KPERF_FREE(cu->owned[i]);
    KPERF_FREE(cu->owned);
    KPERF_FREE(cu->files);
    if (!cu->gsym) KPERF_FREE(cu->scopes); /* not placed: cells are the scratch's */
    else if (!cu->arena) KPERF_FREE(cu->scopes); /* the block: scopes, cells, gsym, b */
    KPERF_FREE(cu);
}

/* Indexes CU i and publishes it. The caller holds s->mu; several threads may build
 * different CUs at once, each with its own scratch, when they share dwlock: libdw is not
 * thread-safe, so every libdw call happens under it (the DIE walk); decoding the lines,
 * flattening and merging do not. */
static kperf__sym_cu *kperf__sym_cu_build(kperf__sym_dso *d, size_t i, kperf__sym_scratch *sc,
                                          pthread_mutex_t *dwlock) {
    kperf__sym_cu *done = __atomic_load_n(&d->cus[i], __ATOMIC_ACQUIRE);
    if (done) return done;
    kperf__sym_cubuild b;
    kperf__dw_ltab lt;
    memset(&b, 0, sizeof b);
    memset(&lt, 0, sizeof lt);
    b.sc = sc;
    b.rows = sc->rows, b.caprows = sc->caprows;
    b.segs = sc->segs, b.capsegs = sc->capsegs;
    b.ranges = sc->ranges, b.capranges = sc->capranges;
    lt.rows = sc->lrows, lt.caprows = sc->caplrows;
    lt.ord = sc->lord, lt.capord = sc->caplord;
    b.cu = (kperf__sym_cu *)kperf__calloc(1, sizeof *b.cu);
    if (!b.cu) return NULL;
    Dwarf_Die cudie;
    int rc = 0;
    kperf__dw_unit u;
    /* the unit read here (no lock), else through libdw */
    int own = kperf__dw_unit_open(d, i, &u);
    bool have = own == 0, has_lines = false, walked = false;
    Dwarf_Word off = 0;
    if (own < 0) rc = own;
    int lang = d->culang_c[i]; /* KPERF__SYM_LANG_UNKNOWN: from the CU DIE read here */
    if (have) b.comp_dir = u.comp_dir, has_lines = u.has_stmt, off = u.stmt;
    if (have && lang == KPERF__SYM_LANG_UNKNOWN) lang = kperf__sym_lang_c(u.lang);
    if (own == 1) {
        if (dwlock) pthread_mutex_lock(dwlock);
        have = dwarf_offdie(d->dw, d->cuoffs[i], &cudie) != NULL;
        if (have) {
            Dwarf_Attribute at;
            if (lang == KPERF__SYM_LANG_UNKNOWN) lang = kperf__sym_lang_c(dwarf_srclang(&cudie));
            if (dwarf_attr(&cudie, DW_AT_comp_dir, &at)) b.comp_dir = dwarf_formstring(&at);
            has_lines = dwarf_attr(&cudie, DW_AT_stmt_list, &at) && dwarf_formudata(&at, &off) == 0;
        }
        if (dwlock) pthread_mutex_unlock(dwlock);
    }
    if (have) {
        rc = d->own_lines ? kperf__sym_cu_lines_own(&b, d, has_lines, off, &lt) : 1;
        b.own = rc == 0;
        if (!rc && own == 0) {
            rc = kperf__dw_walk(&b, &u, lang == 1);
            walked = rc == 0;
            if (rc == 1) { /* libdw reads this tree: drop what was collected */
                for (size_t k = 0; k < b.cu->nscopes; k++) b.cu->scopes[k].dem = NULL;
                b.cu->nscopes = 0, b.nranges = 0, rc = 0;
            }
        }
        if (d->strict && (rc == 1 || (!rc && !walked))) /* for the tests: this CU is libdw's */
            fprintf(stderr, "kperf: KPERF_SYMBOLS_STRICT: %s: compile unit at 0x%llx read by libdw (%s)\n",
                    d->open_path ? d->open_path : "?", (unsigned long long)d->cuoffs[i],
                    rc == 1 ? "line program" : own ? "unit header" : "DIE tree");
        if (rc == 1 || (!rc && !walked)) {
            if (dwlock) pthread_mutex_lock(dwlock);
            bool ok = own == 1 || dwarf_offdie(d->dw, d->cuoffs[i], &cudie) != NULL;
            if (rc == 1) { /* libdw's rows instead (nothing was added) */
                kperf__dw_ltab_free(&lt);
                b.lt = NULL;
                rc = ok ? kperf__sym_cu_lines(&b, &cudie) : 0;
            }
            if (!rc && ok) rc = kperf__sym_cu_walk(&b, &cudie, lang == 1);
            if (dwlock) pthread_mutex_unlock(dwlock);
        }
        if (!rc) rc = kperf__sym_cu_flatten(&b);
    }
    kperf__dw_unit_free(&u);
    for (size_t k = 0; !rc && k < b.cu->nscopes; k++) /* lookups need not touch names */
        if (!kperf__sym_mangled(b.cu->scopes[k].name)) b.cu->scopes[k].dem = (char *)1;
    if (!rc) rc = kperf__sym_cu_cells(&b, d, d->cuspan[2 * i], d->cuspan[2 * i + 1]);
    if (!rc) rc = kperf__sym_cu_place(d, sc, b.cu);
    kperf__dw_ltab_free(&lt);
    KPERF_FREE(b.fmap.keys);
    KPERF_FREE(b.fmap.vals);
    sc->rows = b.rows, sc->caprows = b.caprows; /* kept for the next build */
    sc->segs = b.segs, sc->capsegs = b.capsegs;
    sc->ranges = b.ranges, sc->capranges = b.capranges;
    sc->lrows = lt.rows, sc->caplrows = lt.caprows;
    sc->lord = lt.ord, sc->caplord = lt.capord;
    if (rc) {
        kperf__sym_cu_free(b.cu);
        return NULL;
    }
    __atomic_store_n(&d->cus[i], b.cu, __ATOMIC_RELEASE);
    return b.cu;
}

static const char *kperf__sym_cu_file(const kperf__sym_cu *cu, uint32_t f) {
    return f < cu->nfiles ? cu->files[f] : NULL;
}

// ---- modules ---------------------------------------------------------------------------

static int kperf__sym_unzstd(kperf__sym_dso *d, Elf *src, Elf **out, void **mem);

static bool kperf__sym_has_dwarf(Elf *elf) {
    GElf_Shdr sh;
    Elf_Scn *scn = kperf__sym_scn_by_name(elf, ".debug_info", &sh);
    if (!scn) scn = kperf__sym_scn_by_name(elf, ".zdebug_info", &sh);
    return scn && sh.sh_type != SHT_NOBITS && sh.sh_size > 0;
}

/* Size cap of a module or debug file (mapped, never read whole). */
#define KPERF__SYM_ELF_MAX ((uint64_t)64 << 30)

/* Opens an ELF file a process mapped or a debug link named: regular files only, never
 * blocking (kperf_file_open_data). */
static int kperf__sym_elf_open(const char *path, int *fd, Elf **elf) {
    *elf = NULL;
    *fd = kperf_file_open_data(path, KPERF__SYM_ELF_MAX);
    if (*fd < 0) return *fd;
    *elf = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
    if (!*elf || elf_kind(*elf) != ELF_K_ELF) {
        if (*elf) elf_end(*elf);
        close(*fd);
        *fd = -1, *elf = NULL;
        return -KPERF_ECORRUPT;
    }
    return 0;
}

/* A defined function @p func in the symbol table section @p scn: its address, or 0. */
static uint64_t kperf__sym_find_func(Elf *elf, Elf_Scn *scn, const char *func) {
    GElf_Shdr sh;
    Elf_Data *data = gelf_getshdr(scn, &sh) ? elf_getdata(scn, NULL) : NULL;
    if (!data || !sh.sh_entsize) return 0;
    size_t n = sh.sh_size / sh.sh_entsize;
    for (size_t i = 0; i < n; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, (int)i, &sym)) break;
        if (GELF_ST_TYPE(sym.st_info) != STT_FUNC && GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC)
            continue;
        if (sym.st_shndx == SHN_UNDEF || !sym.st_value) continue;
        const char *nm = elf_strptr(elf, sh.sh_link, sym.st_name);
        if (nm && !strcmp(nm, func)) return sym.st_value;
    }
    return 0;
}

KPERF_API int kperf_probe_resolve_elf(const char *file, const char *func, uint64_t *offset,
                                      void *user) {
    (void)user;
    if (!file || !func || !offset) return kperf__fail(EINVAL, "kperf_probe_resolve_elf: NULL");
    elf_version(EV_CURRENT);
    int fd;
    Elf *elf;
    int rc = kperf__sym_elf_open(file, &fd, &elf);
    if (rc < 0) return kperf__fail(-rc, "%s: cannot read it as ELF (%s)", file, kperf_strerror(rc));
    uint64_t addr = 0;
    for (int pass = 0; pass < 2 && !addr; pass++) {
        Elf_Scn *scn = NULL;
        GElf_Shdr sh;
        while (!addr && (scn = elf_nextscn(elf, scn)) != NULL)
            if (gelf_getshdr(scn, &sh) && sh.sh_type == (pass ? SHT_DYNSYM : SHT_SYMTAB))
                addr = kperf__sym_find_func(elf, scn, func);
    }
    size_t nph = 0;
    rc = addr ? -KPERF_ECORRUPT : kperf__fail(KPERF_ENOEVENT, "%s: no function '%s' defined in "
                                               "%s (.symtab/.dynsym)", func, func, file);
    if (addr && elf_getphdrnum(elf, &nph) == 0)
        for (size_t i = 0; i < nph; i++) {
            GElf_Phdr ph;
            if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD) continue;
            if (addr >= ph.p_vaddr && addr < ph.p_vaddr + ph.p_filesz) {
                *offset = addr - ph.p_vaddr + ph.p_offset;
                rc = 0;
                break;
            }
        }
    if (rc == -KPERF_ECORRUPT)
        rc = kperf__fail(KPERF_ECORRUPT, "%s: '%s' lies in no loadable segment", file, func);
    elf_end(elf);
    close(fd);
    return rc;
}

/* Tries one candidate separate debug file; keeps it when it matches. */
static bool kperf__sym_try_debug(kperf__sym_dso *d, const char *path, bool check_crc,
                                 uint32_t crc) {
    int fd;
    Elf *e;
    if (kperf__sym_elf_open(path, &fd, &e) != 0) return false;
    bool ok = kperf__sym_has_dwarf(e) && kperf__sym_check_extent(e) == 0;
    if (ok && check_crc) {
        uint32_t c;
        ok = kperf__sym_file_crc(fd, &c) == 0 && c == crc;
    } else if (ok && d->nbuild_id) {
        const void *bid;
        ssize_t n = dwelf_elf_gnu_build_id(e, &bid);
        ok = n == (ssize_t)d->nbuild_id && !memcmp(bid, d->build_id, d->nbuild_id);
    }
    if (!ok) {
        elf_end(e);
        close(fd);
        return false;
    }
    d->delf = e;
    d->dfd = fd;
    d->debug_path = kperf__strdup(path);
    return true;
}

// ---- debuginfod ------------------------------------------------------------------------
/* libdebuginfod (elfutils' client) loaded at run time, so that kperf needs it neither to
 * build nor to link. Its functions, as debuginfod.h declares them. */
typedef struct kperf__dinfod_api {
    void *(*begin)(void);
    int (*find)(void *client, const unsigned char *id, int len, char **path);
    void (*progress)(void *client, int (*fn)(void *client, long a, long b));
    void (*set_user)(void *client, void *data);
    void *(*get_user)(void *client);
    void (*end)(void *client);
} kperf__dinfod_api;

static const kperf__dinfod_api *kperf__dinfod_api_get(void) {
    static kperf__dinfod_api api;
    static int state; /* 0 not tried, 1 loaded, -1 missing */
    int st = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
    if (st) return st > 0 ? &api : NULL;
    void *h = dlopen("libdebuginfod.so.1", RTLD_LAZY | RTLD_LOCAL); /* kept loaded */
    const char *names[6] = {"debuginfod_begin", "debuginfod_find_debuginfo",
                            "debuginfod_set_progressfn", "debuginfod_set_user_data",
                            "debuginfod_get_user_data", "debuginfod_end"};
    void *f[6] = {NULL, NULL, NULL, NULL, NULL, NULL};
    bool ok = h != NULL;
    for (int i = 0; ok && i < 6; i++) ok = (f[i] = dlsym(h, names[i])) != NULL;
    if (ok) {
        memcpy(&api.begin, &f[0], sizeof f[0]);
        memcpy(&api.find, &f[1], sizeof f[1]);
        memcpy(&api.progress, &f[2], sizeof f[2]);
        memcpy(&api.set_user, &f[3], sizeof f[3]);
        memcpy(&api.get_user, &f[4], sizeof f[4]);
        memcpy(&api.end, &f[5], sizeof f[5]);
    }
    __atomic_store_n(&state, ok ? 1 : -1, __ATOMIC_RELEASE);
    return ok ? &api : NULL;
}

typedef struct kperf__dinfod_wait {
    const kperf__dinfod_api *api;
    struct timespec deadline;
    bool expired;
} kperf__dinfod_wait;

/* libdebuginfod calls this while it waits (about every second even with no data): a
 * non-zero return cancels the fetch. */
static int kperf__dinfod_progress(void *client, long a, long b) {
    (void)a, (void)b;
    kperf__dinfod_wait *w = NULL;
    const kperf__dinfod_api *api = kperf__dinfod_api_get();
    if (api) w = (kperf__dinfod_wait *)api->get_user(client);
    if (!w) return 0;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > w->deadline.tv_sec ||
        (now.tv_sec == w->deadline.tv_sec && now.tv_nsec >= w->deadline.tv_nsec))
        w->expired = true;
    return w->expired;
}

/* Logs one warning through kperf_set_log()'s callback (KPERF_LOG_WARN). */
static void kperf__sym_warn(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
static void kperf__sym_warn(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (kperf__log_fn) kperf__log_fn(KPERF_LOG_WARN, msg, kperf__log_user);
}

/* Fetches d's debug info by build-id from the DEBUGINFOD_URLS servers into libdebuginfod's
 * cache and uses it. A server that cannot be reached (anything but "not found") turns
 * debuginfod off for this symbolizer, with one warning. Called under s->mu. */
static void kperf__sym_debuginfod(kperf_symbolizer *s, kperf__sym_dso *d) {
    const char *urls = getenv("DEBUGINFOD_URLS");
    if (s->d.no_debuginfod || s->dinfod < 0 || d->nbuild_id < 2 || !urls || !*urls) return;
    const kperf__dinfod_api *api = kperf__dinfod_api_get();
    if (!api) {
        s->dinfod = -1;
        kperf__sym_warn("debuginfod: DEBUGINFOD_URLS is set but libdebuginfod.so.1 cannot be "
                        "loaded (install libdebuginfod1); debug info is not fetched");
        return;
    }
    void *c = api->begin();
    if (!c) return;
    uint32_t ms = s->d.debuginfod_timeout_ms ? s->d.debuginfod_timeout_ms : 10000;
    kperf__dinfod_wait w;
    memset(&w, 0, sizeof w);
    w.api = api;
    clock_gettime(CLOCK_MONOTONIC, &w.deadline);
    w.deadline.tv_sec += (time_t)(ms / 1000);
    w.deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (w.deadline.tv_nsec >= 1000000000L) w.deadline.tv_sec++, w.deadline.tv_nsec -= 1000000000L;
    api->set_user(c, &w);
    api->progress(c, kperf__dinfod_progress);
    char *path = NULL;
    int fd = api->find(c, d->build_id, (int)d->nbuild_id, &path);
    api->end(c);
    if (fd >= 0) {
        close(fd);
        s->dinfod = 1;
        if (path) kperf__sym_try_debug(d, path, false, 0);
    } else if (fd != -ENOENT || w.expired) { /* not a miss: the server is not answering */
        s->dinfod = -1;
        kperf__sym_warn("debuginfod: cannot fetch debug info from %s: %s; not asking again",
                        urls, w.expired ? "no answer in time" : strerror(-fd));
    }
    free(path);
}

/* Separate debug info: build-id path, then .gnu_debuglink (same dir, .debug/, debug_dir). */
static void kperf__sym_find_debug(kperf_symbolizer *s, kperf__sym_dso *d) {
    char p[PATH_MAX];
    if (d->nbuild_id >= 2) {
        int k = snprintf(p, sizeof p, "%s/.build-id/%02x/", s->debug_dir, d->build_id[0]);
        for (size_t i = 1; i < d->nbuild_id && k < (int)sizeof p - 8; i++)
            k += snprintf(p + k, sizeof p - (size_t)k, "%02x", d->build_id[i]);
        snprintf(p + k, sizeof p - (size_t)k, ".debug");
        if (kperf__sym_try_debug(d, p, false, 0)) return;
    }
    GElf_Word crc = 0;
    const char *link = d->elf ? dwelf_elf_gnu_debuglink(d->elf, &crc) : NULL;
    if (!link || !link[0] || strchr(link, '/') || !d->open_path) {
        kperf__sym_debuginfod(s, d);
        return;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", d->open_path);
    char *slash = strrchr(dir, '/');
    if (slash) slash[0] = 0;
    else snprintf(dir, sizeof dir, ".");
    const char *fmt[] = {"%s/%s", "%s/.debug/%s"};
    for (int i = 0; i < 2; i++) {
        if (kperf__sym_path(p, sizeof p, fmt[i], dir, link) && strcmp(p, d->open_path) && kperf__sym_try_debug(d, p, true, crc)) return;
    }
    /* /usr/lib/debug/<dir of the file as the process names it>/link */
    char pdir[PATH_MAX];
    snprintf(pdir, sizeof pdir, "%s", d->path);
    slash = strrchr(pdir, '/');
    if (slash) {
        slash[0] = 0;
        if (kperf__sym_path(p, sizeof p, "%s%s/%s", s->debug_dir, pdir, link) &&
            kperf__sym_try_debug(d, p, true, crc))
            return;
    }
    kperf__sym_debuginfod(s, d);
}

/* The bytes of one DWARF section of e, as libdw left it (inflated); false when absent or
 * still compressed. */
static bool kperf__sym_dsec_get(Elf *e, const char *name, kperf__sym_dsec *out) {
    GElf_Shdr sh;
    Elf_Scn *scn = kperf__sym_scn_by_name(e, name, &sh);
    memset(out, 0, sizeof *out);
    out->fd = -1;
    if (!scn || sh.sh_type == SHT_NOBITS || (sh.sh_flags & SHF_COMPRESSED)) return false;
    Elf_Data *data = elf_getdata(scn, NULL);
    if (!data || !data->d_buf) return false;
    out->p = (const uint8_t *)data->d_buf, out->n = data->d_size, out->fd = -1;
    return true;
}

/* KPERF_SYMBOLS_REFERENCE=1 in the environment selects the reference path the tests
 * compare against: libdw's line decoder and no indexing ahead (each CU is indexed by the
 * first lookup that needs it, on that thread). */
static bool kperf__sym_reference(void) {
    const char *ref = getenv("KPERF_SYMBOLS_REFERENCE");
    return ref && ref[0] == '1';
}

/* Whether line programs are decoded here: a linked little-endian file whose .debug_line is
 * readable. */
static void kperf__sym_own_sections(kperf__sym_dso *d, Elf *de) {
    const unsigned char *id = (const unsigned char *)elf_getident(de, NULL);
    GElf_Ehdr eh;
    d->own_lines = false;
    if (kperf__sym_reference() || !id || id[EI_DATA] != ELFDATA2LSB || !gelf_getehdr(de, &eh) ||
        eh.e_type == ET_REL)
        return;
    d->own_lines = kperf__sym_dsec_get(de, ".debug_line", &d->dline);
    kperf__sym_dsec_get(de, ".debug_line_str", &d->dlinestr);
    kperf__sym_dsec_get(de, ".debug_str", &d->dstr);
    const char *strict = getenv("KPERF_SYMBOLS_STRICT");
    d->strict = strict && strict[0] == '1';
    d->own_dies = d->own_lines && kperf__sym_dsec_get(de, ".debug_info", &d->dinfo) &&
                  kperf__sym_dsec_get(de, ".debug_abbrev", &d->dabbrev);
    size_t rawn = 0;
    const uint8_t *raw = (const uint8_t *)elf_rawfile(de, &rawn);
    int fd = de == d->elf ? d->fd : de == d->delf ? d->dfd : -1;
    if (d->own_dies && raw && fd >= 0 && d->dinfo.p >= raw && d->dinfo.n <= rawn &&
        (size_t)(d->dinfo.p - raw) <= rawn - d->dinfo.n) /* the unit headers: kperf__sym_units_aranges */
        d->dinfo.fd = fd, d->dinfo.foff = (uint64_t)(d->dinfo.p - raw);
    kperf__sym_dsec_get(de, ".debug_str_offsets", &d->dstroff);
    kperf__sym_dsec_get(de, ".debug_addr", &d->daddr);
    kperf__sym_dsec_get(de, ".debug_ranges", &d->dranges);
    kperf__sym_dsec_get(de, ".debug_rnglists", &d->drnglists);
    kperf__sym_dsec_get(de, ".debug_aranges", &d->daranges);
}

static int kperf__sym_load_elf(kperf_symbolizer *s, kperf__sym_dso *d) {
    GElf_Ehdr eh;
    if (!gelf_getehdr(d->elf, &eh)) return kperf__sym_corrupt(d, "bad ELF header");
    d->etype = eh.e_type;
    d->elfclass = gelf_getclass(d->elf);
    const void *bid;
    ssize_t nb = dwelf_elf_gnu_build_id(d->elf, &bid);
    if (nb > 0 && nb <= 20 && !d->nbuild_id) memcpy(d->build_id, bid, (size_t)nb), d->nbuild_id = (size_t)nb;
    size_t nph = 0, cap = 0;
    if (elf_getphdrnum(d->elf, &nph) != 0) nph = 0;
    for (size_t i = 0; i < nph && i < 65536; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(d->elf, (int)i, &ph) || ph.p_type != PT_LOAD) continue;
        if (kperf__sym_grow(&d->loads, &cap, d->nloads + 1, sizeof *d->loads)) return -ENOMEM;
        d->loads[d->nloads].off = ph.p_offset;
        d->loads[d->nloads].filesz = ph.p_filesz;
        d->loads[d->nloads++].vaddr = ph.p_vaddr;
    }
    if (kperf__sym_read_secs(d->elf, &d->secs, &d->nsecs) != 0)
        return kperf__sym_corrupt(d, "bad section headers");
    int trunc = kperf__sym_check_extent(d->elf);
    if (trunc) {
        char what[96];
        snprintf(what, sizeof what, "truncated: %s %d lies past the end of the file",
                 trunc > 0 ? "section" : "segment", trunc > 0 ? trunc : -trunc - 1);
        return kperf__sym_corrupt(d, what);
    }
    if (s->d.mode == KPERF_SYMBOL_NONE) return 0;
    bool want_dwarf = s->d.mode != KPERF_SYMBOL_ELF;
    bool main_dwarf = kperf__sym_has_dwarf(d->elf);
    if ((want_dwarf || s->d.gnu_compat) && !main_dwarf) kperf__sym_find_debug(s, d);
    size_t scap = 0;
    int rc = 0;
    if (s->d.gnu_compat) { /* one table, as BFD picks it */
        Elf *src = d->delf ? d->delf : d->elf;
        GElf_Shdr sh;
        bool has = false;
        for (Elf_Scn *scn = elf_nextscn(src, NULL); scn; scn = elf_nextscn(src, scn))
            if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) has = true;
        if (!has) src = d->elf;
        for (Elf_Scn *scn = elf_nextscn(src, NULL); scn && !has; scn = elf_nextscn(src, scn))
            if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB) has = true;
        rc = kperf__sym_add_table(d, src, has ? SHT_SYMTAB : SHT_DYNSYM, &scap, true);
        if (!rc && kperf__sym_read_secs(src, &d->gsecs, &d->ngsecs) != 0)
            return kperf__sym_corrupt(d, "bad section headers");
    } else {
        rc = kperf__sym_add_table(d, d->elf, SHT_SYMTAB, &scap, false);
        if (!rc) rc = kperf__sym_add_table(d, d->elf, SHT_DYNSYM, &scap, false);
        if (!rc && d->delf) rc = kperf__sym_add_table(d, d->delf, SHT_SYMTAB, &scap, false);
        if (!rc) rc = kperf__sym_add_plt(d, d->elf, &scap);
    }
    if (rc) return kperf__fail(-rc, "symbols: %s: out of memory reading symbols", d->open_path);
    kperf__sym_finish_syms(d, s->d.gnu_compat, scap);
    if (kperf__sym_bix_build(&d->yix, d->syms, d->nsyms, sizeof *d->syms))
        return kperf__fail(ENOMEM, "symbols: out of memory");
    bool mangled = false;
    for (size_t k = 0; k < d->nsyms; k++) {
        bool m = kperf__sym_mangled(d->syms[k].name);
        d->syms[k].dem = m ? NULL : (char *)1;
        mangled |= m;
    }
    if (mangled) kperf__sym_demangler_ahead(s);
    if (!want_dwarf) return 0;
    Elf *de = main_dwarf ? d->elf : d->delf;
    if (!de) return 0; /* no DWARF anywhere: ELF symbols only */
    rc = kperf__sym_unzstd(d, de, &d->zelf, &d->zmem);
    if (rc) return rc;
    if (d->zelf) de = d->zelf;
    d->dw = dwarf_begin_elf(de, DWARF_C_READ, NULL);
    if (!d->dw)
        return kperf__fail(KPERF_ECORRUPT, "symbols: %s: unreadable DWARF (%s); rebuild it or "
                           "use KPERF_SYMBOL_ELF", main_dwarf ? d->open_path : d->debug_path,
                           dwarf_errmsg(-1));
    kperf__sym_own_sections(d, de);
    if (kperf__sym_dwarf_units(d)) return kperf__fail(ENOMEM, "symbols: out of memory");
    return 0;
}

/* The /proc/PID/root (or map_files) path a module was named by dies with its process, and
 * a module is opened lazily: then the path as recorded is opened instead, kept only when
 * its build-id matches the recorded one (when there is one), so that names do not depend
 * on whether the process was still alive. Returns 0, or @p rc unchanged. */
static int kperf__sym_open_recorded(kperf__sym_dso *d, int rc) {
    if (!d->path || d->path[0] != '/' || !strcmp(d->path, d->open_path)) return rc;
    int fd;
    Elf *e;
    if (kperf__sym_elf_open(d->path, &fd, &e) != 0) return rc;
    if (d->nbuild_id) {
        const void *bid;
        ssize_t n = dwelf_elf_gnu_build_id(e, &bid);
        if (n != (ssize_t)d->nbuild_id || memcmp(bid, d->build_id, d->nbuild_id)) {
            elf_end(e), close(fd);
            return rc; /* another file by that name (a container's, a rebuilt one) */
        }
    }
    char *op = kperf__strdup(d->path);
    if (!op) return elf_end(e), close(fd), -ENOMEM;
    KPERF_FREE(d->open_path);
    d->open_path = op, d->fd = fd, d->elf = e;
    return 0;
}

/* Opens and indexes a module (caller holds s->mu). */
static int kperf__sym_dso_load(kperf_symbolizer *s, kperf__sym_dso *d) {
    if (d->state) return d->state < 0 ? d->state : 0;
    int rc;
    if (d->mem) {
        d->elf = elf_memory((char *)d->mem, d->memsz);
        rc = d->elf && elf_kind(d->elf) == ELF_K_ELF ? 0 : -KPERF_ECORRUPT;
    } else {
        rc = kperf__sym_elf_open(d->open_path, &d->fd, &d->elf);
        if (rc < 0 && rc != -KPERF_ECORRUPT) rc = kperf__sym_open_recorded(d, rc);
    }
    if (rc == -KPERF_ECORRUPT)
        rc = kperf__sym_corrupt(d, "not an ELF file");
    else if (rc < 0)
        rc = kperf__fail(-rc, "symbols: cannot open %s: %s", d->open_path, strerror(-rc));
    else
        rc = kperf__sym_load_elf(s, d);
    if (rc < 0) d->err = kperf__strdup(kperf_errmsg());
    __atomic_store_n(&d->state, rc < 0 ? rc : 1, __ATOMIC_RELEASE);
    return rc;
}

static void kperf__sym_dso_free(kperf__sym_dso *d) {
    if (!d) return;
    for (size_t i = 0; i < d->ncus; i++) kperf__sym_cu_free(d->cus[i]);
    kperf__sym_scratch_free(&d->scratch);
    for (int t = 0; t < 7; t++) kperf__sym_scratch_free(&d->wscratch[t]);
    kperf__sym_arena_free(d);
    for (size_t i = 0; i < d->nsyms; i++)
        if (d->syms[i].dem && d->syms[i].dem != (char *)1) free(d->syms[i].dem);
    for (size_t i = 0; i < d->nowned; i++) KPERF_FREE(d->owned[i]);
    KPERF_FREE(d->owned);
    if (d->dw) dwarf_end(d->dw);
    if (d->zelf) elf_end(d->zelf);
    KPERF_FREE(d->zmem);
    if (d->delf) elf_end(d->delf);
    if (d->elf) elf_end(d->elf);
    if (d->fd > 0) close(d->fd);
    if (d->dfd > 0) close(d->dfd);
    KPERF_FREE(d->mem);
    KPERF_FREE(d->path);
    KPERF_FREE(d->open_path);
    KPERF_FREE(d->debug_path);
    KPERF_FREE(d->err);
    KPERF_FREE(d->loads);
    KPERF_FREE(d->secs);
    KPERF_FREE(d->gsecs);
    kperf__sym_big_free(d->syms);
    kperf__sym_bix_free(&d->yix);
    kperf__sym_bix_free(&d->cix);
    KPERF_FREE(d->curanges);
    KPERF_FREE(d->cuoffs);
    KPERF_FREE(d->cuhdr);
    KPERF_FREE(d->cuspan);
    KPERF_FREE(d->culang_c);
    KPERF_FREE(d->cus);
    KPERF_FREE(d);
}

/* Finds or creates the cached module for a file (caller holds s->mu). */
static kperf__sym_dso *kperf__sym_dso_get(kperf_symbolizer *s, const char *path,
                                          const char *open_path, const uint8_t *bid,
                                          size_t nbid, void *mem, size_t memsz) {
    struct stat st;
    bool have_st = !mem && open_path && stat(open_path, &st) == 0;
    if (nbid > 20) nbid = 20;
    for (size_t i = 0; i < s->ndsos; i++) {
        kperf__sym_dso *d = s->dsos[i];
        bool same = nbid ? d->nbuild_id == nbid && !memcmp(d->build_id, bid, nbid)
                  : have_st ? d->dev == st.st_dev && d->ino == st.st_ino && !d->mem
                            : !strcmp(d->open_path, open_path ? open_path : path) &&
                                  !d->mem && !mem; /* not the process's name: containers */
        if (same) {
            KPERF_FREE(mem);
            return d;
        }
    }
    kperf__sym_dso *d = (kperf__sym_dso *)kperf__calloc(1, sizeof *d);
    if (!d || kperf__sym_grow(&s->dsos, &s->capdsos, s->ndsos + 1, sizeof *s->dsos)) {
        KPERF_FREE(d);
        KPERF_FREE(mem);
        return NULL;
    }
    d->path = kperf__strdup(path);
    d->open_path = kperf__strdup(open_path ? open_path : path);
    d->fd = d->dfd = -1;
    d->mem = mem;
    d->memsz = memsz;
    if (nbid) memcpy(d->build_id, bid, nbid), d->nbuild_id = nbid;
    if (have_st) d->dev = st.st_dev, d->ino = st.st_ino;
    s->dsos[s->ndsos++] = d;
    return d;
}

/* ELF virtual address of a runtime address inside map m. */
static uint64_t kperf__sym_map_vaddr(const kperf__sym_map *m, uint64_t addr) {
    uint64_t off = addr - m->start + m->pgoff;
    const kperf__sym_dso *d = m->dso;
    for (size_t i = 0; i < d->nloads; i++)
        if (off - d->loads[i].off < d->loads[i].filesz) return off - d->loads[i].off + d->loads[i].vaddr;
    if (d->nloads) return off - d->loads[0].off + d->loads[0].vaddr;
    return off;
}

/* libelf before 0.189 cannot inflate zstd sections (ELFCOMPRESS_ZSTD): make an in-memory
 * copy of the file in which they are decompressed with libzstd (found at run time), for
 * libdw to read. Leaves *out NULL when no section needs it. */
static int kperf__sym_unzstd(kperf__sym_dso *d, Elf *src, Elf **out, void **mem) {
    *out = NULL;
    size_t shnum = 0, fsize = 0;
    GElf_Ehdr eh;
    if (elf_getshdrnum(src, &shnum) != 0 || !gelf_getehdr(src, &eh)) return 0;
    uint64_t extra = 0;
    for (size_t i = 1; i < shnum; i++) {
        Elf_Scn *scn = elf_getscn(src, i);
        GElf_Shdr sh;
        GElf_Chdr ch;
        if (!scn || !gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_COMPRESSED)) continue;
        if (!gelf_getchdr(scn, &ch) || ch.ch_type != 2 /* ELFCOMPRESS_ZSTD */) continue;
        if (ch.ch_size > (1ull << 30) || ch.ch_size > 256 * sh.sh_size + (1u << 20))
            return kperf__sym_corrupt(d, "implausible zstd section size");
        extra += (ch.ch_size + 15) & ~15ull;
    }
    if (!extra) return 0;
    static const union { uint16_t u; uint8_t b[2]; } endian = {1};
    if (eh.e_ident[EI_DATA] != (endian.b[0] ? ELFDATA2LSB : ELFDATA2MSB))
        return kperf__fail(KPERF_ENOTSUP, "symbols: %s: zstd sections in a foreign-endian file",
                           d->open_path);
    void *h = dlopen("libzstd.so.1", RTLD_LAZY | RTLD_LOCAL);
    void *fd = h ? dlsym(h, "ZSTD_decompress") : NULL, *fe = h ? dlsym(h, "ZSTD_isError") : NULL;
    if (!fd || !fe)
        return kperf__fail(KPERF_ENOTSUP, "symbols: %s has zstd-compressed debug sections; "
                           "install libzstd1 (libzstd.so.1 was not found)", d->open_path);
    size_t (*dec)(void *, size_t, const void *, size_t);
    unsigned (*iserr)(size_t);
    memcpy(&dec, &fd, sizeof dec);
    memcpy(&iserr, &fe, sizeof iserr);
    char *raw = elf_rawfile(src, &fsize);
    if (!raw) return kperf__sym_corrupt(d, "unreadable file image");
    size_t base = (fsize + 15) & ~(size_t)15, pos = base;
    char *img = (char *)KPERF_MALLOC(base + extra);
    if (!img) return kperf__fail(ENOMEM, "symbols: out of memory inflating %s", d->open_path);
    memcpy(img, raw, fsize);
    bool is64 = gelf_getclass(src) == ELFCLASS64;
    size_t chsz = is64 ? sizeof(Elf64_Chdr) : sizeof(Elf32_Chdr);
    for (size_t i = 1; i < shnum; i++) {
        Elf_Scn *scn = elf_getscn(src, i);
        GElf_Shdr sh;
        GElf_Chdr ch;
        if (!scn || !gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_COMPRESSED)) continue;
        if (!gelf_getchdr(scn, &ch) || ch.ch_type != 2) continue;
        Elf_Data *rd = elf_rawdata(scn, NULL);
        uint64_t at = eh.e_shoff + i * eh.e_shentsize;
        if (!rd || rd->d_size < chsz || at + eh.e_shentsize > fsize ||
            eh.e_shentsize < (is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr)))
            goto bad;
        size_t got = dec(img + pos, ch.ch_size, (const char *)rd->d_buf + chsz, rd->d_size - chsz);
        if (iserr(got) || got != ch.ch_size) goto bad;
        if (is64) {
            Elf64_Shdr s64;
            memcpy(&s64, img + at, sizeof s64);
            s64.sh_offset = pos, s64.sh_size = ch.ch_size, s64.sh_flags &= ~(uint64_t)SHF_COMPRESSED;
            s64.sh_addralign = ch.ch_addralign;
            memcpy(img + at, &s64, sizeof s64);
        } else {
            Elf32_Shdr s32;
            memcpy(&s32, img + at, sizeof s32);
            s32.sh_offset = (uint32_t)pos, s32.sh_size = (uint32_t)ch.ch_size;
            s32.sh_flags &= ~(uint32_t)SHF_COMPRESSED;
            s32.sh_addralign = (uint32_t)ch.ch_addralign;
            memcpy(img + at, &s32, sizeof s32);
        }
        pos += (ch.ch_size + 15) & ~15ull;
    }
    *out = elf_memory(img, pos);
    if (!*out) goto bad;
    *mem = img;
    return 0;
bad:
    KPERF_FREE(img);
    return kperf__sym_corrupt(d, "bad zstd-compressed section");
}

// ---- kallsyms and perf maps ------------------------------------------------------------

static int kperf__sym_tent_cmp(const void *x, const void *y) {
    const struct kperf__sym_tent *a = (const struct kperf__sym_tent *)x;
    const struct kperf__sym_tent *b = (const struct kperf__sym_tent *)y;
    if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
    return a->hi < b->hi ? -1 : a->hi > b->hi; /* hi holds the line number while sorting */
}

static void kperf__sym_tab_free(kperf__sym_tab *t) {
    if (!t) return;
    if (t->dem)
        for (size_t i = 0; i < t->n; i++)
            if (t->dem[i] && t->dem[i] != (char *)1) free(t->dem[i]);
    KPERF_FREE(t->dem);
    KPERF_FREE(t->e);
    KPERF_FREE(t->pool);
    KPERF_FREE(t->err);
    KPERF_FREE(t->lines);
    KPERF_FREE(t);
}

/* Opens a file whose name came from data (a perf map, a jitdump) only if it is a regular
 * file of at most max bytes, without blocking (a FIFO planted there never stalls us).
 * Returns the descriptor, or a negative error code with the message set. */
static int kperf__sym_open_regular(const char *path, uint64_t max, uint64_t *size) {
    int fd = kperf_file_open_data(path, max); /* never blocks, regular files only, capped */
    struct stat st;
    if (fd < 0) return errno = -fd, fd;
    *size = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return fd;
}

/* Reads kallsyms ("ADDR TYPE NAME [MODULE]", kernel text only) or a perf map
 * ("START SIZE NAME") into a sorted table. */
static kperf__sym_tab *kperf__sym_tab_read(const char *path, bool kallsyms, long owner) {
    kperf__sym_tab *t = (kperf__sym_tab *)kperf__calloc(1, sizeof *t);
    if (!t) return NULL;
    uint64_t fsize;
    int fd = kallsyms ? open(path, O_RDONLY | O_CLOEXEC)
                      : kperf__sym_open_regular(path, 1ull << 30, &fsize); /* named by pid */
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f && fd >= 0) close(fd);
    struct stat st;
    if (f && owner >= 0 && (fstat(fileno(f), &st) < 0 || (st.st_uid && st.st_uid != (uid_t)owner))) {
        fclose(f);
        f = NULL;
        kperf__fail(EPERM, "%s belongs to uid %u, neither root nor the process's user %ld: "
                    "ignored (set KPERF_PERF_MAP_ANY_OWNER=1 to read it)", path,
                    (unsigned)st.st_uid, owner);
        errno = EPERM;
    } else if (!f && kallsyms) {
        kperf__fail(errno, "symbols: cannot read %s: %s", path, strerror(errno));
    }
    if (!f) { /* the message names the file and the reason */
        t->state = -errno;
        t->err = kperf__strdup(kperf_errmsg());
        return t;
    }
    size_t cap = 0, pcap = 0, plen = 0, lineno = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    bool any_nonzero = false;
    while ((len = getline(&line, &lcap, f)) > 0) {
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        char *p = line, *endp;
        uint64_t lo = strtoull(p, &endp, 16), size = 0;
        if (endp == p || *endp != ' ') continue;
        p = endp + 1;
        const char *mod = NULL;
        if (kallsyms) {
            char ty = p[0];
            if (!ty || p[1] != ' ') continue;
            if (ty != 't' && ty != 'T' && ty != 'w' && ty != 'W') continue;
            p += 2;
            char *tab = strchr(p, '\t');
            if (tab) {
                *tab = 0;
                mod = tab + 1;
            }
        } else {
            size = strtoull(p, &endp, 16);
            if (endp == p || *endp != ' ') continue;
            p = endp + 1;
        }
        if (!*p) continue;
        any_nonzero |= lo != 0;
        size_t nl = strlen(p) + 1, ml = mod ? strlen(mod) + 1 : 0;
        if (kperf__sym_grow(&t->e, &cap, t->n + 1, sizeof *t->e) ||
            kperf__sym_grow(&t->pool, &pcap, plen + nl + ml, 1))
            break;
        struct kperf__sym_tent *e = &t->e[t->n++];
        e->lo = lo;
        e->hi = kallsyms ? lineno : size; /* fixed below */
        e->name = (const char *)(uintptr_t)plen;
        memcpy(t->pool + plen, p, nl);
        plen += nl;
        e->module = (const char *)(uintptr_t)SIZE_MAX;
        if (mod) {
            e->module = (const char *)(uintptr_t)plen;
            memcpy(t->pool + plen, mod, ml); /* "[ext4]" as kallsyms writes it */
            plen += ml;
        }
    }
    free(line);
    fclose(f);
    for (size_t i = 0; i < t->n; i++) {
        t->e[i].name = t->pool + (uintptr_t)t->e[i].name;
        t->e[i].module = (uintptr_t)t->e[i].module == SIZE_MAX ? NULL
                                                                : t->pool + (uintptr_t)t->e[i].module;
    }
    if (kallsyms) {
        if (t->n && !any_nonzero) {
            t->state = kperf__fail(KPERF_EPARANOID, "symbols: %s hides kernel addresses (all "
                                   "zero); run as root or set kernel.kptr_restrict=0", path);
            t->err = kperf__strdup(kperf_errmsg());
            return t;
        }
        for (size_t i = 0; i < t->n; i++) t->e[i].hi = i; /* stable order */
        if (t->n > 1) qsort(t->e, t->n, sizeof *t->e, kperf__sym_tent_cmp);
        size_t w = 0;
        for (size_t i = 0; i < t->n; i++)
            if (!w || t->e[w - 1].lo != t->e[i].lo) t->e[w++] = t->e[i];
        t->n = w;
        for (size_t i = 0; i < t->n; i++)
            t->e[i].hi = i + 1 < t->n ? t->e[i + 1].lo : t->e[i].lo + 4096;
    } else {
        struct kperf__sym_tent *tmp = t->e;
        for (size_t i = 0; i < t->n; i++) { /* later lines win: sort by (lo, line) */
            uint64_t sz = tmp[i].hi;
            tmp[i].hi = i;
            tmp[i].module = (const char *)(uintptr_t)sz;
        }
        if (t->n > 1) qsort(t->e, t->n, sizeof *t->e, kperf__sym_tent_cmp); /* e NULL if empty */
        size_t w = 0;
        for (size_t i = 0; i < t->n; i++) {
            if (w && t->e[w - 1].lo == t->e[i].lo) w--;
            t->e[w] = t->e[i];
            t->e[w].hi = t->e[i].lo + (uint64_t)(uintptr_t)t->e[i].module;
            t->e[w++].module = "[jit]";
        }
        t->n = w;
    }
    t->dem = (char **)kperf__calloc(t->n ? t->n : 1, sizeof *t->dem);
    t->state = t->dem ? 1 : -ENOMEM;
    return t;
}

/* jitdump (jit-PID.dump, the format of perf's jitdump specification, which `perf inject
 * --jit` reads): a 40-byte header (magic 'JiTD' 0x4A695444 in the writer's byte order,
 * version, header size, e_machine, pad, pid, timestamp, flags), then records of a 16-byte
 * prefix (id, total size, timestamp). CODE_LOAD (0): pid, tid, vma, code_addr, code_size,
 * code_index, a NUL-terminated name, the code bytes. CODE_MOVE (1): pid, tid, vma,
 * old_code_addr, new_code_addr, code_size, code_index. DEBUG_INFO (2): code_addr, nr_entry,
 * then entries of addr, line, discriminator and a NUL-terminated file name ("\xff\0" = the
 * previous entry's). Other records are skipped by their size. */
enum { KPERF__JIT_MAGIC = 0x4A695444, KPERF__JIT_MAX = 1 << 30 };

typedef struct kperf__sym_jitb {
    kperf__sym_tab *t;
    size_t cap, pcap, plen, lcap;
    uint64_t *index; /* code_index of each entry (for CODE_MOVE) */
    size_t icap;
} kperf__sym_jitb;

static uint64_t kperf__jit_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t kperf__jit_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Copies a string into the pool; returns its offset (fixed up into a pointer at the end). */
static int kperf__jit_str(kperf__sym_jitb *b, const char *str, size_t n, uintptr_t *off) {
    if (kperf__sym_grow(&b->t->pool, &b->pcap, b->plen + n + 1, 1)) return -ENOMEM;
    memcpy(b->t->pool + b->plen, str, n);
    b->t->pool[b->plen + n] = 0;
    *off = b->plen;
    b->plen += n + 1;
    return 0;
}

static int kperf__jit_entry(kperf__sym_jitb *b, uint64_t lo, uint64_t size, uintptr_t name,
                            uint64_t index) {
    kperf__sym_tab *t = b->t;
    if (kperf__sym_grow(&t->e, &b->cap, t->n + 1, sizeof *t->e) ||
        kperf__sym_grow(&b->index, &b->icap, t->n + 1, sizeof *b->index))
        return -ENOMEM;
    struct kperf__sym_tent *e = &t->e[t->n];
    e->lo = lo, e->hi = t->n; /* load order while sorting; the end is set after */
    e->name = (const char *)name, e->module = (const char *)(uintptr_t)size;
    b->index[t->n++] = index;
    return 0;
}

/* One record of r bytes (prefix included). Returns 0, or -1 for a malformed record. */
static int kperf__jit_record(kperf__sym_jitb *b, const uint8_t *r, size_t n) {
    uint32_t id = kperf__jit_u32(r);
    if (id == 0) { /* CODE_LOAD */
        if (n < 56) return -1;
        uint64_t addr = kperf__jit_u64(r + 32), size = kperf__jit_u64(r + 40);
        const char *name = (const char *)r + 56;
        size_t nl = strnlen(name, n - 56);
        uintptr_t off;
        if (nl == n - 56 || size >> 32 || kperf__jit_str(b, name, nl, &off)) return -1;
        return kperf__jit_entry(b, addr, size, off, kperf__jit_u64(r + 48));
    }
    if (id == 1) { /* CODE_MOVE: the code of code_index, now at new_code_addr */
        if (n < 64) return -1;
        uint64_t index = kperf__jit_u64(r + 56);
        for (size_t i = b->t->n; i-- > 0;)
            if (b->index[i] == index)
                return kperf__jit_entry(b, kperf__jit_u64(r + 40), kperf__jit_u64(r + 48),
                                        (uintptr_t)b->t->e[i].name, index);
        return 0;
    }
    if (id != 2) return 0; /* CLOSE, UNWINDING_INFO, ...: nothing to name */
    if (n < 32) return -1;
    uint64_t nent = kperf__jit_u64(r + 24);
    size_t at = 32;
    uintptr_t prev = SIZE_MAX;
    for (uint64_t k = 0; k < nent; k++) {
        if (n - at < 17) return -1;
        const char *file = (const char *)r + at + 16;
        size_t fl = strnlen(file, n - at - 16);
        if (fl == n - at - 16) return -1;
        uintptr_t off = prev;
        if (!((uint8_t)file[0] == 0xff && fl == 1) && kperf__jit_str(b, file, fl, &off)) return -1;
        if (off == SIZE_MAX) return -1; /* "same file" with no previous one */
        kperf__sym_tab *t = b->t;
        if (kperf__sym_grow(&t->lines, &b->lcap, t->nlines + 1, sizeof *t->lines)) return -1;
        t->lines[t->nlines].addr = kperf__jit_u64(r + at);
        t->lines[t->nlines].line = kperf__jit_u32(r + at + 8);
        t->lines[t->nlines++].file = (const char *)off;
        prev = off;
        at += 16 + fl + 1;
    }
    return 0;
}

static int kperf__jit_line_cmp(const void *x, const void *y) {
    const struct kperf__sym_tline *a = (const struct kperf__sym_tline *)x;
    const struct kperf__sym_tline *b = (const struct kperf__sym_tline *)y;
    return a->addr < b->addr ? -1 : a->addr > b->addr;
}

/* Sorts the entries (a later load at the same address wins) and turns pool offsets into
 * pointers. */
static void kperf__jit_finish(kperf__sym_tab *t) {
    if (t->n > 1) qsort(t->e, t->n, sizeof *t->e, kperf__sym_tent_cmp); /* e is NULL when empty */
    size_t w = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (w && t->e[w - 1].lo == t->e[i].lo) w--;
        t->e[w] = t->e[i];
        t->e[w].hi = t->e[i].lo + (uint64_t)(uintptr_t)t->e[i].module;
        t->e[w].name = t->pool + (uintptr_t)t->e[i].name;
        t->e[w++].module = "[jit]";
    }
    t->n = w;
    for (size_t i = 0; i < t->nlines; i++) t->lines[i].file = t->pool + (uintptr_t)t->lines[i].file;
    if (t->nlines > 1) qsort(t->lines, t->nlines, sizeof *t->lines, kperf__jit_line_cmp);
}

/* Reads the whole file (a regular file, size-capped) and decodes it into b->t. */
static int kperf__jit_parse(kperf__sym_jitb *b, const char *path) {
    uint64_t size;
    int fd = kperf__sym_open_regular(path, KPERF__JIT_MAX, &size);
    if (fd < 0) return fd;
    uint8_t *buf = (uint8_t *)KPERF_MALLOC(size ? size : 1);
    size_t got = 0;
    while (buf && got < size) {
        ssize_t k = pread(fd, buf + got, size - got, (off_t)got);
        if (k <= 0) break;
        got += (size_t)k;
    }
    close(fd);
    if (!buf) return kperf__fail(ENOMEM, "symbols: out of memory reading %s", path);
    int rc = 0;
    uint32_t magic = got >= 40 ? kperf__jit_u32(buf) : 0, hsz = got >= 40 ? kperf__jit_u32(buf + 8) : 0;
    if (magic != KPERF__JIT_MAGIC || hsz < 40 || hsz > got)
        rc = kperf__fail(KPERF_ECORRUPT, "symbols: %s is not a jitdump of this byte order "
                         "(magic 0x%08x, header %u bytes, file %zu bytes)", path, magic, hsz, got);
    for (size_t off = hsz; !rc && got - off >= 16;) { /* a torn last record is ignored */
        uint32_t rs = kperf__jit_u32(buf + off + 4);
        if (rs < 16 || rs > got - off) break;
        if (kperf__jit_record(b, buf + off, rs))
            rc = kperf__fail(KPERF_ECORRUPT, "symbols: %s: bad jitdump record at offset %zu",
                             path, off);
        off += rs;
    }
    KPERF_FREE(buf);
    return rc;
}

static kperf__sym_tab *kperf__sym_jitdump_read(const char *path) {
    kperf__sym_tab *t = (kperf__sym_tab *)kperf__calloc(1, sizeof *t);
    if (!t) return NULL;
    kperf__sym_jitb b;
    memset(&b, 0, sizeof b);
    b.t = t;
    int rc = kperf__jit_parse(&b, path);
    KPERF_FREE(b.index);
    if (rc < 0 && !t->n) { /* keep what decoded before a bad record */
        for (size_t i = 0; i < t->nlines; i++) t->lines[i].file = NULL;
        t->nlines = 0;
        t->state = rc;
        t->err = kperf__strdup(kperf_errmsg());
        return t;
    }
    kperf__jit_finish(t);
    t->dem = (char **)kperf__calloc(t->n ? t->n : 1, sizeof *t->dem);
    t->state = t->dem ? 1 : -ENOMEM;
    return t;
}

static const struct kperf__sym_tent *kperf__sym_tab_find(const kperf__sym_tab *t, uint64_t a,
                                                         size_t *idx) {
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->e[mid].lo <= a) lo = mid + 1;
        else hi = mid;
    }
    if (!lo || a >= t->e[lo - 1].hi) return NULL;
    *idx = lo - 1;
    return &t->e[lo - 1];
}

static int kperf__sym_tab_frame(kperf__sym_tab *t, uint64_t addr, kperf_frame *f,
                                const char *module) {
    size_t i;
    const struct kperf__sym_tent *e = kperf__sym_tab_find(t, addr, &i);
    memset(f, 0, sizeof *f);
    f->addr = f->module_addr = addr;
    f->module = module;
    if (!e) return module ? 1 : 0;
    f->module = e->module ? e->module : module;
    f->mangled = e->name;
    f->function = kperf__sym_dem(&t->dem[i], e->name);
    f->symbol_addr = e->lo;
    size_t lo = 0, hi = t->nlines; /* jitdump: the last line row at or before addr */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->lines[mid].addr <= addr) lo = mid + 1;
        else hi = mid;
    }
    if (lo && t->lines[lo - 1].addr >= e->lo)
        f->file = t->lines[lo - 1].file, f->line = t->lines[lo - 1].line;
    return 1;
}

// ---- lookups ---------------------------------------------------------------------------

static void kperf__sym_set_sym(kperf__sym_dso *d, kperf_frame *f, size_t si) {
    f->mangled = d->syms[si].name;
    f->function = kperf__sym_dem(&d->syms[si].dem, d->syms[si].name);
    f->symbol_addr = d->syms[si].lo;
}

static void kperf__sym_set_scope(kperf__sym_cu *cu, kperf_frame *f, uint32_t sc) {
    kperf__sym_scope *S = &cu->scopes[sc];
    f->mangled = S->name;
    f->function = kperf__sym_dem(&S->dem, S->name);
    f->symbol_addr = S->entry;
}

static int kperf__sym_ready(kperf_symbolizer *s, kperf__sym_dso *d) {
    int st = __atomic_load_n(&d->state, __ATOMIC_ACQUIRE);
    if (st == 0) {
        pthread_mutex_lock(&s->mu);
        st = kperf__sym_dso_load(s, d);
        pthread_mutex_unlock(&s->mu);
        st = __atomic_load_n(&d->state, __ATOMIC_ACQUIRE);
    }
    if (st < 0) return kperf__fail(-st, "%s", d->err ? d->err : "symbols: module unusable");
    return 0;
}

static kperf__sym_cu *kperf__sym_cu_for(kperf_symbolizer *s, kperf__sym_dso *d, uint64_t rel) {
    if (!d->dw) return NULL;
    ptrdiff_t ci = kperf__sym_find_cu(d, rel);
    if (ci < 0) return NULL;
    kperf__sym_cu *cu = __atomic_load_n(&d->cus[ci], __ATOMIC_ACQUIRE);
    if (!cu) {
        pthread_mutex_lock(&s->mu);
        cu = kperf__sym_cu_build(d, (size_t)ci, &d->scratch, NULL);
        pthread_mutex_unlock(&s->mu);
    }
    return cu;
}

static bool kperf__sym_in_alloc(const kperf__sym_dso *d, uint64_t rel) {
    return kperf__sym_sec_find(d->secs, d->nsecs, rel, 0) != NULL;
}

/* gnu_compat naming of the innermost function, as BFD 2.40 does it: a function whose name
 * is a linkage name keeps it. Otherwise the first lookup that lands in the function prints
 * the nearest preceding ELF symbol (and remembers it as the function's name when that
 * symbol starts where the function does); later lookups print the remembered name. The
 * state lives in cu->gsym: 0 unseen, 1 DWARF name, 2 + i ELF symbol i. Returns true when
 * the ELF symbol was consulted (BFD then also takes its STT_FILE name). */
static bool kperf__sym_gnu_name(kperf__sym_dso *d, kperf__sym_cu *cu, uint32_t sc,
                                const kperf__sym_ent *sym, size_t si, kperf_frame *f) {
    const kperf__sym_scope *S = &cu->scopes[sc];
    if (S->linkage) return false;
    uint32_t gs = __atomic_load_n(&cu->gsym[sc], __ATOMIC_RELAXED);
    if (gs == 1) return false;
    if (gs > 1) {
        kperf__sym_set_sym(d, f, gs - 2);
        return false;
    }
    gs = sym && sym->lo == S->entry ? (uint32_t)si + 2 : 1;
    __atomic_store_n(&cu->gsym[sc], gs, __ATOMIC_RELAXED);
    if (!sym) return false;
    kperf__sym_set_sym(d, f, si);
    return true;
}

/* kperf_symbolizer_lookup_all: while a worker thread looks up its share of the addresses
 * (in address order, not the caller's), the frames whose gnu_compat name depends on earlier
 * lookups (kperf__sym_gnu_name's cache) are listed here instead of named, and named
 * afterwards in the order of the caller's list. */
typedef struct kperf__sym_gnudef {
    kperf__sym_dso *d;
    kperf__sym_cu *cu;
    uint32_t sc, si; /* the scope; the ELF symbol (innermost frame), NONE for none */
    size_t frame;    /* index in the worker's frames */
    size_t idx;      /* the address's index in the caller's list */
    bool inner;      /* the innermost frame (may set the cache), else an outer one (reads it) */
} kperf__sym_gnudef;
typedef struct kperf__sym_defer {
    kperf__sym_gnudef *v;
    size_t n, cap;
    size_t base; /* index of the current lookup's first frame in the worker's frames */
    size_t idx;  /* the current lookup's index in the caller's list */
    bool failed; /* out of memory: lookup_all fails with -ENOMEM */
} kperf__sym_defer;
static KPERF__TLS kperf__sym_defer *kperf__sym_deferring;

static void kperf__sym_defer_add(kperf__sym_dso *d, kperf__sym_cu *cu, uint32_t sc, uint32_t si,
                                 size_t frame, bool inner) {
    kperf__sym_defer *q = kperf__sym_deferring;
    if (kperf__sym_grow(&q->v, &q->cap, q->n + 1, sizeof *q->v)) {
        q->failed = true;
        return;
    }
    q->v[q->n++] = (kperf__sym_gnudef){d, cu, sc, si, q->base + frame, q->idx, inner};
}

/* Frames of ELF address rel in module d, innermost first. */
static int kperf__sym_dso_frames(kperf_symbolizer *s, kperf__sym_dso *d, uint64_t addr,
                                 uint64_t rel, kperf_frame *fr, size_t max) {
    bool gnu = s->d.gnu_compat;
    memset(&fr[0], 0, sizeof fr[0]);
    fr[0].addr = addr, fr[0].module_addr = rel, fr[0].module = d->path;
    if (s->d.mode == KPERF_SYMBOL_NONE) return 1;
    int rc = kperf__sym_ready(s, d);
    if (rc) return rc;
    if (gnu && !kperf__sym_in_alloc(d, rel)) return 0;
    size_t si = 0;
    const kperf__sym_ent *sym = NULL;
    const kperf__sym_cell *cell = NULL;
    uint32_t sc = KPERF__SYM_NONE;
    kperf__sym_cu *cu;
    if (gnu) {
        /* the cell first, then its scope loads while the ELF symbol is searched */
        cu = kperf__sym_cu_for(s, d, rel);
        cell = cu ? kperf__sym_find_cell(cu, rel) : NULL;
        if (cell && cell->scope < cu->nscopes) {
            __builtin_prefetch(&cu->scopes[cell->scope]);
            __builtin_prefetch(&cu->gsym[cell->scope]);
        }
        sym = kperf__sym_find_gnu(d, rel, &si);
    } else {
        /* One search finds the cell, which names the line row, the scope and the ELF
         * symbol; the scope and symbol then load in parallel. */
        cu = kperf__sym_cu_for(s, d, rel);
        if (cu) {
            size_t clo, chi;
            kperf__sym_cell_start(cu, rel, &clo, &chi);
            if (clo) __builtin_prefetch(&cu->cells[clo - 1]);
            if (clo < chi) __builtin_prefetch(&cu->cells[clo]);
            cell = kperf__sym_cell_end(cu, clo, chi, rel);
        }
        if (cell) {
            if (cell->scope < cu->nscopes) __builtin_prefetch(&cu->scopes[cell->scope]);
            if (cell->sym < d->nsyms) sym = &d->syms[si = cell->sym];
        } else {
            sym = kperf__sym_find_from(d, rel, kperf__sym_sym_upper(d, rel), &si);
        }
    }
    kperf_frame *f = &fr[0];
    if (cell) {
        sc = cell->scope;
        if (cell->file != KPERF__SYM_NONE) {
            f->file = kperf__sym_cu_file(cu, cell->file);
            f->line = cell->line, f->column = cell->col, f->discriminator = cell->disc;
        }
    }
    if (sc == KPERF__SYM_NONE || sc >= cu->nscopes) {
        if (sym) kperf__sym_set_sym(d, f, si);
        if (sym && gnu && !f->file) f->file = sym->srcfile;
        return sym || (cell && cell->file != KPERF__SYM_NONE) || !gnu ? 1 : 0;
    }
    const kperf__sym_scope *S = &cu->scopes[sc];
    kperf__sym_set_scope(cu, f, sc);
    if (gnu && kperf__sym_deferring) {
        if (!S->linkage) kperf__sym_defer_add(d, cu, sc, sym ? (uint32_t)si : KPERF__SYM_NONE, 0, true);
    } else if (gnu) {
        if (kperf__sym_gnu_name(d, cu, sc, sym, si, f) && !f->file) f->file = sym->srcfile;
    } else if (sym && !S->inlined) {
        kperf__sym_set_sym(d, f, si);
    }
    size_t n = 1;
    while (S->inlined && S->parent < sc && n < max) { /* parents precede children */
        fr[n - 1].inlined = true;
        kperf_frame *g = &fr[n++];
        memset(g, 0, sizeof *g);
        g->addr = addr, g->module_addr = rel, g->module = d->path;
        g->file = kperf__sym_cu_file(cu, S->call_file);
        g->line = S->call_line, g->column = S->call_col;
        sc = S->parent;
        S = &cu->scopes[sc];
        kperf__sym_set_scope(cu, g, sc);
        uint32_t gs = gnu && !kperf__sym_deferring ? __atomic_load_n(&cu->gsym[sc], __ATOMIC_RELAXED) : 0;
        if (gnu && kperf__sym_deferring && !S->linkage) kperf__sym_defer_add(d, cu, sc, 0, n - 1, false);
        if (gs > 1) kperf__sym_set_sym(d, g, gs - 2);
        if (!gnu && !S->inlined && sym) kperf__sym_set_sym(d, g, si);
    }
    return (int)n;
}

static bool kperf__sym_is_kernel(uint64_t addr) {
    return sizeof(void *) == 8 ? (int64_t)addr < 0 : addr >= 0xc0000000u;
}

static int kperf__sym_kernel_frames(kperf_symbolizer *s, uint64_t addr, kperf_frame *f) {
    kperf__sym_tab *t = __atomic_load_n(&s->kernel, __ATOMIC_ACQUIRE);
    if (!t) {
        pthread_mutex_lock(&s->mu);
        if (!s->kernel) __atomic_store_n(&s->kernel, kperf__sym_tab_read(s->kallsyms_path, true, -1),
                                         __ATOMIC_RELEASE);
        t = s->kernel;
        pthread_mutex_unlock(&s->mu);
        if (!t) return kperf__fail(ENOMEM, "symbols: out of memory");
    }
    if (t->state < 0) return kperf__fail(-t->state, "%s", t->err ? t->err : "kallsyms");
    return kperf__sym_tab_frame(t, addr, f, "[kernel.kallsyms]");
}

static ptrdiff_t kperf__sym_proc_idx(kperf_symbolizer *s, pid_t pid, bool *found) {
    size_t lo = 0, hi = s->nprocs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->procs[mid]->pid < pid) lo = mid + 1;
        else hi = mid;
    }
    *found = lo < s->nprocs && s->procs[lo]->pid == pid;
    return (ptrdiff_t)lo;
}

/* The process entry, created when missing (caller holds maplock for writing). */
static kperf__sym_proc *kperf__sym_proc_get(kperf_symbolizer *s, pid_t pid) {
    bool found;
    ptrdiff_t i = kperf__sym_proc_idx(s, pid, &found);
    if (found) return s->procs[i];
    kperf__sym_proc *p = (kperf__sym_proc *)kperf__calloc(1, sizeof *p);
    if (!p || kperf__sym_grow(&s->procs, &s->capprocs, s->nprocs + 1, sizeof *s->procs)) {
        KPERF_FREE(p);
        return NULL;
    }
    p->pid = pid;
    memmove(&s->procs[i + 1], &s->procs[i], (s->nprocs - (size_t)i) * sizeof *s->procs);
    s->procs[i] = p;
    s->nprocs++;
    return p;
}

/* Inserts a mapping; older mappings it overlaps are trimmed, split or dropped (as mmap). */
static int kperf__sym_map_insert(kperf__sym_proc *p, kperf__sym_map m) {
    size_t w = 0, n = p->nmaps;
    kperf__sym_map tail = {0, 0, 0, NULL};
    for (size_t i = 0; i < n; i++) {
        kperf__sym_map o = p->maps[i];
        if (o.end <= m.start || o.start >= m.end) {
            p->maps[w++] = o;
            continue;
        }
        if (o.end > m.end) { /* the part after the new mapping survives */
            tail = o;
            tail.pgoff += m.end - o.start;
            tail.start = m.end;
        }
        if (o.start < m.start) {
            o.end = m.start;
            p->maps[w++] = o;
        }
    }
    p->nmaps = w;
    size_t need = p->nmaps + 2;
    if (kperf__sym_grow(&p->maps, &p->capmaps, need, sizeof *p->maps)) return -ENOMEM;
    kperf__sym_map add[2] = {m, tail};
    for (int k = 0; k < 2; k++) {
        if (!add[k].dso) continue;
        size_t i = p->nmaps;
        while (i && p->maps[i - 1].start > add[k].start) i--;
        memmove(&p->maps[i + 1], &p->maps[i], (p->nmaps - i) * sizeof *p->maps);
        p->maps[i] = add[k];
        p->nmaps++;
    }
    return 0;
}

static const kperf__sym_map *kperf__sym_map_find(const kperf__sym_proc *p, uint64_t a) {
    size_t lo = 0, hi = p->nmaps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->maps[mid].start <= a) lo = mid + 1;
        else hi = mid;
    }
    return lo && a < p->maps[lo - 1].end ? &p->maps[lo - 1] : NULL;
}

/* Whose perf-PID.map to believe: the process's user (root is always believed), or -1 for
 * anyone's when the caller asked. A process that is gone is taken to be ours, as perf does. */
static long kperf__sym_map_owner(kperf_symbolizer *s, pid_t pid) {
    const char *env = getenv("KPERF_PERF_MAP_ANY_OWNER");
    if (s->d.perf_map_any_owner || (env && *env && strcmp(env, "0"))) return -1;
    char p[PATH_MAX];
    struct stat st;
    snprintf(p, sizeof p, "%s/%d", s->proc_dir, (int)pid);
    return stat(p, &st) == 0 ? (long)st.st_uid : (long)geteuid();
}

/* The pid of a process inside its own pid namespace (the last NSpid field of
 * /proc/PID/status), which names its perf map and jitdump; pid itself when unknown. */
static pid_t kperf__sym_nspid(kperf_symbolizer *s, pid_t pid) {
    char path[PATH_MAX], line[512];
    snprintf(path, sizeof path, "%s/%d/status", s->proc_dir, (int)pid);
    FILE *f = fopen(path, "re");
    pid_t ns = pid;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "NSpid:", 6)) continue;
        for (char *t = strtok(line + 6, " \t\n"); t; t = strtok(NULL, " \t\n")) ns = atoi(t);
        break;
    }
    if (f) fclose(f);
    return ns > 0 ? ns : pid;
}

/* Reads the first candidate of a JIT file that exists: inside the process's root (its mount
 * namespace) under its own pid number, then the host's path. */
static kperf__sym_tab *kperf__sym_jit_load(kperf_symbolizer *s, pid_t pid, pid_t nspid,
                                           const char *mapped, bool dump, uint64_t known,
                                           bool *same) {
    char cand[3][PATH_MAX];
    const char *fmt = dump ? "%s/jit-%d.dump" : "%s/perf-%d.map";
    int nc = 0;
    if (mapped) { /* the jitdump the process mapped, by the path it used */
        if (kperf__sym_path(cand[nc], PATH_MAX, "%s/%d/root%s", s->proc_dir, (int)pid, mapped))
            nc++;
        snprintf(cand[nc++], PATH_MAX, "%s", mapped);
    } else {
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, fmt, s->perf_map_dir, (int)nspid);
        if (s->perf_map_dir[0] == '/' &&
            kperf__sym_path(cand[nc], PATH_MAX, "%s/%d/root%s", s->proc_dir, (int)pid, rel))
            nc++;
        snprintf(cand[nc++], PATH_MAX, fmt, s->perf_map_dir, (int)pid);
    }
    long owner = kperf__sym_map_owner(s, pid); /* /tmp is anyone's: whose files to believe */
    for (int i = 0; i < nc; i++) {
        struct stat st;
        if (stat(cand[i], &st) != 0) continue;
        if (dump && owner >= 0 && st.st_uid && st.st_uid != (uid_t)owner) continue;
        if ((uint64_t)st.st_size == known) { /* what we have: not read again */
            *same = true;
            return NULL;
        }
        kperf__sym_tab *t = dump ? kperf__sym_jitdump_read(cand[i])
                                 : kperf__sym_tab_read(cand[i], false, owner);
        if (t) t->src_size = (uint64_t)st.st_size;
        return t;
    }
    return NULL;
}

/* (Re)reads the process's jitdump and perf map: at the first JIT lookup, then after a miss
 * at most every 250 ms when a file has grown (a live JIT keeps appending). A replaced table
 * is retired, not freed: lookups read tables without a lock. Called under s->mu. */
static void kperf__sym_jit_refresh(kperf_symbolizer *s, kperf__sym_proc *p) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (p->jit_tried && now < p->jit_next_ns) return;
    p->jit_next_ns = now + 250000000u;
    pid_t ns = kperf__sym_nspid(s, p->pid);
    pthread_rwlock_rdlock(&s->maplock); /* p->jitdump is set under it */
    char *mapped = p->jitdump ? kperf__strdup(p->jitdump) : NULL;
    pthread_rwlock_unlock(&s->maplock);
    for (int dump = 1; dump >= 0; dump--) {
        kperf__sym_tab **slot = dump ? &p->jitd : &p->jit, *old = *slot;
        uint64_t known = old ? old->src_size : UINT64_MAX;
        bool same = false;
        kperf__sym_tab *t = kperf__sym_jit_load(s, p->pid, ns, dump ? mapped : NULL, dump != 0,
                                                known, &same);
        if (!t && !same && dump && mapped) /* named in the maps but not there: the usual place */
            t = kperf__sym_jit_load(s, p->pid, ns, NULL, true, known, &same);
        if (!t) continue;
        if (old) old->retired = p->jit_retired, p->jit_retired = old;
        __atomic_store_n(slot, t, __ATOMIC_RELEASE);
    }
    KPERF_FREE(mapped);
    __atomic_store_n(&p->jit_tried, true, __ATOMIC_RELEASE);
}

/* JIT code: the process's jitdump (names and lines), then its perf map (names); after a
 * miss, the files are looked at again (kperf__sym_jit_refresh) and the lookup retried. */
static int kperf__sym_jit_frames(kperf_symbolizer *s, kperf__sym_proc *p, uint64_t addr,
                                 kperf_frame *f) {
    for (int attempt = 0; attempt < 2; attempt++) {
        if (attempt || !__atomic_load_n(&p->jit_tried, __ATOMIC_ACQUIRE)) {
            pthread_mutex_lock(&s->mu);
            kperf__sym_jit_refresh(s, p);
            pthread_mutex_unlock(&s->mu);
        }
        kperf__sym_tab *t[2] = {__atomic_load_n(&p->jitd, __ATOMIC_ACQUIRE),
                                __atomic_load_n(&p->jit, __ATOMIC_ACQUIRE)};
        for (int i = 0; i < 2; i++) {
            if (!t[i] || t[i]->state < 0) continue;
            if (kperf__sym_tab_frame(t[i], addr, f, NULL) && f->function) return 1;
        }
    }
    memset(f, 0, sizeof *f);
    return 0;
}

// ---- unwinding -------------------------------------------------------------------------
/* DWARF unwinding of sampled user stacks through libdwfl. Per process, a Dwfl session holds
 * the process's modules (reported from the symbolizer's maps: each file once, placed where
 * its offset 0 is mapped) and is attached with callbacks that serve the sample being unwound:
 * its registers (mapped from perf's order to DWARF numbers) and its stack copy. Sessions
 * are cached and rebuilt when the process's maps change (a hash of the maps, checked when
 * the symbolizer's generation moved). libdwfl is single-threaded per session: unwinds hold
 * u->mu. Lock order: u->mu, then maplock or s->mu (never the other way). */
#include <elfutils/libdwfl.h>

#define KPERF__UNW_NDW 33        /* DWARF registers kept: x86-64 0-16, arm64 0-32 */
#define KPERF__UNW_PROCS 16      /* cached sessions (each keeps its modules' files open) */
#define KPERF__UNW_MAX_DEPTH 4096

typedef struct kperf__unw_proc {
    pid_t pid;
    Dwfl *dwfl;     /* NULL: free slot */
    uint64_t gen;   /* s->gen when the maps were last found unchanged */
    uint64_t sig;   /* hash of the maps the session was built from */
    uint64_t used;  /* LRU clock */
} kperf__unw_proc;

/* The sample being unwound: what the callbacks serve. */
typedef struct kperf__unw_cur {
    pid_t pid;
    Dwarf_Word dw[KPERF__UNW_NDW];
    uint64_t dwset; /* bit i: dw[i] is known */
    uint64_t pc, sp;
    const unsigned char *stack;
    uint64_t stack_len;
    unsigned sp_regno;
    uint64_t *ips;
    size_t n, max, frames;
    uint64_t last_sp;
} kperf__unw_cur;

typedef struct kperf__unw {
    pthread_mutex_t mu;
    kperf__unw_proc procs[KPERF__UNW_PROCS];
    uint64_t clock;
    char *debuginfo_path;
    Dwfl_Callbacks cbs;
    kperf__unw_cur cur;
} kperf__unw;

static void kperf__unw_free(kperf__unw *u) {
    if (!u) return;
    for (size_t i = 0; i < KPERF__UNW_PROCS; i++)
        if (u->procs[i].dwfl) dwfl_end(u->procs[i].dwfl);
    pthread_mutex_destroy(&u->mu);
    KPERF_FREE(u->debuginfo_path);
    KPERF_FREE(u);
}

/* perf register index -> DWARF register number; -2 = the pc, -1 = not used. */
#if defined(__x86_64__) || defined(__i386__)
static const int8_t kperf__unw_x86_64[24] = {0, 3, 2, 1, 4, 5, 6, 7, -2, -1, -1, -1,
                                             -1, -1, -1, -1, 8, 9, 10, 11, 12, 13, 14, 15};
static const int8_t kperf__unw_i386[24] = {0, 3, 1, 2, 6, 7, 5, 4, -2, -1, -1, -1,
                                           -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
#define KPERF__UNW_PERF_SP 7
#elif defined(__aarch64__)
static const int8_t kperf__unw_arm64[33] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                            11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
                                            22, 23, 24, 25, 26, 27, 28, 29, 30, 31, -2};
#define KPERF__UNW_PERF_SP 31
#else
#define KPERF__UNW_PERF_SP 64u /* no table: kperf__unw_regs fails before using it */
#endif

/* Fills c's registers from the sample's (mask order); false when ip or sp is missing. */
static int kperf__unw_regs(kperf__unw_cur *c, const kperf_sample *smp, uint64_t mask) {
    const int8_t *map = NULL;
    size_t nmap = 0;
#if defined(__x86_64__) || defined(__i386__)
    map = smp->regs_abi == 1 ? kperf__unw_i386 : kperf__unw_x86_64, nmap = 24;
    c->sp_regno = smp->regs_abi == 1 ? 4 : 7;
#elif defined(__aarch64__)
    map = kperf__unw_arm64, nmap = 33;
    c->sp_regno = 31;
#endif
    if (!map)
        return kperf__fail(KPERF_ENOTSUP, "unwind: no register table for this architecture");
    if (!smp->regs_abi || !smp->regs || !smp->nregs)
        return kperf__fail(EINVAL, "unwind: sample of pid %u has no user registers (sample "
                           "with KPERF_SAMPLE_REGS_USER)", smp->pid);
    if (!mask) /* kperf's dwarf_callchain set, perf's --call-graph dwarf set, bp/sp/ip */
        mask = smp->nregs == (uint32_t)kperf__popcount64(KPERF_UNWIND_REGS) ? KPERF_UNWIND_REGS
#if defined(__aarch64__)
                                                                   : 0x1e0000000ull;
#else
             : smp->nregs == 20 ? 0xff0fffull : 0x1c0ull;
#endif
    if ((uint32_t)kperf__popcount64(mask) != smp->nregs)
        return kperf__fail(EINVAL, "unwind: the sample holds %u registers, the mask 0x%" PRIx64
                           " names %d: pass the mask it was recorded with", smp->nregs, mask,
                           kperf__popcount64(mask));
    bool have_pc = false, have_sp = false;
    uint32_t k = 0;
    for (unsigned bit = 0; bit < 64 && k < smp->nregs; bit++) {
        if (!(mask >> bit & 1)) continue;
        uint64_t v = smp->regs[k++];
        if (bit >= nmap || map[bit] == -1) continue;
        if (bit == KPERF__UNW_PERF_SP) c->sp = v, have_sp = true;
        if (map[bit] == -2) {
            c->pc = v, have_pc = true;
        } else {
            c->dw[map[bit]] = v;
            c->dwset |= 1ull << map[bit];
        }
    }
    if (!have_pc || !have_sp)
        return kperf__fail(EINVAL, "unwind: the register mask 0x%" PRIx64 " lacks the %s "
                           "(record with KPERF_UNWIND_REGS)", mask, have_pc ? "sp" : "ip");
    return 0;
}

static pid_t kperf__unw_next_thread(Dwfl *dwfl, void *arg, void **targ) {
    (void)dwfl;
    if (*targ) return 0;
    *targ = arg;
    return ((kperf__unw *)arg)->cur.pid;
}

static bool kperf__unw_get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **targ) {
    (void)dwfl, (void)tid;
    *targ = arg;
    return true;
}

/* A word of a module's file image (read-only data a CFI expression may dereference). */
static bool kperf__unw_mem_elf(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *out) {
    Dwfl_Module *m = dwfl_addrmodule(dwfl, addr);
    Dwarf_Addr bias = 0;
    Elf *e = m ? dwfl_module_getelf(m, &bias) : NULL;
    size_t sz = 0, nph = 0;
    const char *raw = e ? elf_rawfile(e, &sz) : NULL;
    if (!raw || elf_getphdrnum(e, &nph)) return false;
    uint64_t va = addr - bias;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD) continue;
        uint64_t in = va - ph.p_vaddr;
        if (in >= ph.p_filesz || ph.p_filesz - in < 8) continue;
        uint64_t off = ph.p_offset + in;
        if (off > sz || sz - off < 8) return false;
        memcpy(out, raw + off, 8);
        return true;
    }
    return false;
}

static bool kperf__unw_mem(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *out, void *arg) {
    const kperf__unw_cur *c = &((kperf__unw *)arg)->cur;
    uint64_t in = addr - c->sp;
    if (in < c->stack_len && c->stack_len - in >= 8) {
        memcpy(out, c->stack + in, 8);
        return true;
    }
    return kperf__unw_mem_elf(dwfl, addr, out);
}

static bool kperf__unw_set_regs(Dwfl_Thread *th, void *targ) {
    const kperf__unw_cur *c = &((kperf__unw *)targ)->cur;
    for (int i = 0; i < KPERF__UNW_NDW;) {
        if (!(c->dwset >> i & 1)) {
            i++;
            continue;
        }
        int j = i;
        while (j < KPERF__UNW_NDW && (c->dwset >> j & 1)) j++;
        if (!dwfl_thread_state_registers(th, i, (unsigned)(j - i), c->dw + i)) return false;
        i = j;
    }
    dwfl_thread_state_register_pc(th, c->pc);
    return true;
}

static const Dwfl_Thread_Callbacks kperf__unw_thread_cbs = {
    kperf__unw_next_thread, kperf__unw_get_thread, kperf__unw_mem, kperf__unw_set_regs,
    NULL, NULL};

/* Per frame: keep its pc; stop at pc 0, a full buffer, or a stack pointer that does not
 * move up (a loop in hostile data). */
static int kperf__unw_frame(Dwfl_Frame *st, void *arg) {
    kperf__unw_cur *c = (kperf__unw_cur *)arg;
    Dwarf_Addr pc;
    bool act;
    if (!dwfl_frame_pc(st, &pc, &act) || !pc) return DWARF_CB_ABORT;
    Dwarf_Word sp = 0;
    bool have_sp = dwfl_frame_reg(st, c->sp_regno, &sp) == 0;
    if (c->frames && have_sp && sp <= c->last_sp && !act) return DWARF_CB_ABORT;
    if (have_sp) c->last_sp = sp;
    c->ips[c->n++] = pc;
    c->frames++;
    return c->n < c->max && c->frames < KPERF__UNW_MAX_DEPTH ? DWARF_CB_OK : DWARF_CB_ABORT;
}

/* libdwfl asks for this only for modules it did not get a file for: none. */
static int kperf__unw_find_elf(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr base,
                               char **file_name, Elf **elfp) {
    (void)mod, (void)ud, (void)name, (void)base, (void)file_name;
    *elfp = NULL;
    return -1;
}

/* Hash of a process's maps (caller holds maplock). */
static uint64_t kperf__unw_sig(const kperf__sym_proc *p) {
    uint64_t h = 1469598103934665603ull ^ p->nmaps;
    for (size_t i = 0; i < p->nmaps; i++) {
        const kperf__sym_map *m = &p->maps[i];
        uint64_t v[4] = {m->start, m->end, m->pgoff, (uint64_t)(uintptr_t)m->dso};
        for (int k = 0; k < 4; k++) h = (h ^ v[k]) * 1099511628211ull;
    }
    return h;
}

/* Reports one module to the session: a file through the symbolizer's open descriptor when
 * it has one (the /proc/PID/root path it was opened by dies with that process), else by
 * path; an in-memory image (the vDSO) through a memfd. base: where file offset 0 is (or
 * would be) mapped. */
static void kperf__unw_report(Dwfl *dwfl, kperf__sym_dso *d, uint64_t base) {
    const char *name = strrchr(d->path, '/');
    name = name ? name + 1 : d->path;
    int fd = -1;
    if (__atomic_load_n(&d->state, __ATOMIC_ACQUIRE) == 1 && d->fd >= 0) {
        fd = fcntl(d->fd, F_DUPFD_CLOEXEC, 0);
    } else if (!d->mem) {
        fd = kperf_file_open_data(d->open_path, KPERF__SYM_ELF_MAX);
        if (fd < 0) fd = kperf_file_open_data(d->path, KPERF__SYM_ELF_MAX);
        if (fd < 0) return;
    } else {
        fd = (int)syscall(SYS_memfd_create, "kperf-unwind", 1u /* MFD_CLOEXEC */);
        if (fd < 0) return;
        if (write(fd, d->mem, d->memsz) != (ssize_t)d->memsz) {
            close(fd);
            return;
        }
    }
    /* !add_p_vaddr: base is where the first segment (file offset 0) is mapped */
    Dwfl_Module *mod = dwfl_report_elf(dwfl, name, d->open_path, fd, base, false);
    if (!mod) {
        if (fd >= 0) close(fd);
        return;
    }
    void **ud = NULL;
    dwfl_module_info(mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
    if (ud) *ud = d; /* kperf__unw_find_debuginfo hands libdwfl the file kperf checked */
}

/* Separate debug info for the unwinder: the debug file the symbolizer already opened and
 * checked (regular, matching build-id or CRC), never a path libdwfl would open itself from
 * the module's debug link (which could name a FIFO). */
static int kperf__unw_find_debuginfo(Dwfl_Module *mod, void **ud, const char *modname,
                                     Dwarf_Addr base, const char *file_name,
                                     const char *debuglink_file, GElf_Word debuglink_crc,
                                     char **debuginfo_file_name) {
    (void)mod, (void)modname, (void)base, (void)file_name, (void)debuglink_file;
    (void)debuglink_crc, (void)debuginfo_file_name;
    kperf__sym_dso *d = ud ? (kperf__sym_dso *)*ud : NULL;
    if (!d || __atomic_load_n(&d->state, __ATOMIC_ACQUIRE) != 1 || d->dfd < 0) return -1;
    return fcntl(d->dfd, F_DUPFD_CLOEXEC, 0);
}

/* A new session for process p's maps (a snapshot m of n of them). */
static Dwfl *kperf__unw_build(kperf__unw *u, const kperf__sym_map *m,
                              size_t n) {
    Dwfl *dwfl = dwfl_begin(&u->cbs);
    if (!dwfl) return NULL;
    dwfl_report_begin(dwfl);
    for (size_t i = 0; i < n; i++) {
        /* One report per file, from its mapping of the lowest file offset (offset 0: the
         * first segment). libdwfl reads the program headers itself; the symbolizer's copy
         * is not needed, so modules stay unopened in KPERF_SYMBOL_DELAYED mode. */
        size_t best = i;
        for (size_t k = 0; k < n; k++)
            if (m[k].dso == m[i].dso && (m[k].pgoff < m[best].pgoff || (m[k].pgoff ==
                                         m[best].pgoff && m[k].start < m[best].start)))
                best = k;
        if (best == i && m[i].dso) kperf__unw_report(dwfl, m[i].dso, m[i].start - m[i].pgoff);
    }
    dwfl_report_end(dwfl, NULL, NULL);
    if (!dwfl_attach_state(dwfl, NULL, u->cur.pid, &kperf__unw_thread_cbs, u)) {
        dwfl_end(dwfl);
        return NULL;
    }
    return dwfl;
}

static kperf__unw *kperf__unw_get(kperf_symbolizer *s) {
    kperf__unw *u = __atomic_load_n(&s->unw, __ATOMIC_ACQUIRE);
    if (u) return u;
    pthread_mutex_lock(&s->mu);
    if (!s->unw && (u = (kperf__unw *)kperf__calloc(1, sizeof *u)) != NULL) {
        char *path = (char *)KPERF_MALLOC(strlen(s->debug_dir) + 16);
        if (path) sprintf(path, ":.debug:%s", s->debug_dir);
        pthread_mutex_init(&u->mu, NULL);
        u->debuginfo_path = path;
        u->cbs.find_elf = kperf__unw_find_elf;
        u->cbs.find_debuginfo = kperf__unw_find_debuginfo;
        u->cbs.section_address = dwfl_offline_section_address;
        u->cbs.debuginfo_path = path ? &u->debuginfo_path : NULL;
        __atomic_store_n(&s->unw, u, __ATOMIC_RELEASE);
    }
    u = s->unw;
    pthread_mutex_unlock(&s->mu);
    return u;
}

/* Copies the maps of pid (added from /proc when never seen) and their hash; 0 or an error. */
static int kperf__unw_maps(kperf_symbolizer *s, pid_t pid, kperf__sym_map **out, size_t *n,
                           uint64_t *sig, uint64_t *gen) {
    for (int attempt = 0; attempt < 2; attempt++) {
        bool found;
        int rc = 0;
        pthread_rwlock_rdlock(&s->maplock);
        *gen = __atomic_load_n(&s->gen, __ATOMIC_RELAXED);
        ptrdiff_t i = kperf__sym_proc_idx(s, pid, &found);
        const kperf__sym_proc *p = found ? s->procs[i] : NULL;
        if (p && p->file_vaddr) {
            rc = kperf__fail(KPERF_ENOTSUP, "unwind: pid %d was added with file addresses "
                             "(file_vaddr): no process maps to unwind in", (int)pid);
        } else if (p && out) {
            *out = (kperf__sym_map *)KPERF_MALLOC((p->nmaps + 1) * sizeof **out);
            if (!*out) rc = kperf__fail(ENOMEM, "unwind: out of memory");
            else if (p->nmaps) memcpy(*out, p->maps, p->nmaps * sizeof **out); /* none yet: NULL */
        }
        if (p) *n = p->nmaps, *sig = kperf__unw_sig(p);
        pthread_rwlock_unlock(&s->maplock);
        if (p || rc) return rc;
        if (attempt || pid <= 0) break;
        if ((rc = kperf_symbolizer_add_pid(s, pid)) < 0) return rc;
    }
    return kperf__fail(KPERF_ENOTARGET, "unwind: no maps of pid %d", (int)pid);
}

/* The session for pid: cached while its maps are unchanged, else (re)built. NULL with an
 * error set. Caller holds u->mu. */
static Dwfl *kperf__unw_session(kperf_symbolizer *s, kperf__unw *u, pid_t pid, int *err) {
    kperf__unw_proc *slot = NULL, *lru = &u->procs[0];
    for (size_t i = 0; i < KPERF__UNW_PROCS; i++) {
        kperf__unw_proc *p = &u->procs[i];
        if (p->dwfl && p->pid == pid) slot = p;
        if (!p->dwfl || (lru->dwfl && p->used < lru->used)) lru = p;
    }
    u->clock++;
    uint64_t gen = __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE), sig = 0, g2 = 0;
    size_t n = 0;
    if (slot && slot->gen == gen) return slot->used = u->clock, slot->dwfl;
    if (slot) { /* the generation moved: did this process's maps change? */
        if ((*err = kperf__unw_maps(s, pid, NULL, &n, &sig, &g2)) < 0) return NULL;
        if (sig == slot->sig) return slot->gen = g2, slot->used = u->clock, slot->dwfl;
        dwfl_end(slot->dwfl);
        slot->dwfl = NULL;
        lru = slot;
    }
    kperf__sym_map *maps = NULL;
    if ((*err = kperf__unw_maps(s, pid, &maps, &n, &sig, &g2)) < 0) return NULL;
    if (lru->dwfl) dwfl_end(lru->dwfl);
    lru->dwfl = kperf__unw_build(u, maps, n);
    KPERF_FREE(maps);
    if (!lru->dwfl) {
        *err = kperf__fail(KPERF_ECORRUPT, "unwind: none of the %zu mappings of pid %d could "
                           "be read (%s)", n, (int)pid, dwfl_errmsg(-1));
        return NULL;
    }
    lru->pid = pid, lru->gen = g2, lru->sig = sig, lru->used = u->clock;
    return lru->dwfl;
}

/* Copies the kernel part of a call chain (with its marker) to ips; returns entries. */
static size_t kperf__unw_kernel(const kperf_sample *smp, uint64_t *ips, size_t max) {
    size_t n = 0;
    bool kernel = false;
    for (uint32_t i = 0; i < smp->nips && smp->ips; i++) {
        uint64_t a = smp->ips[i];
        if (a >= KPERF_CONTEXT_MAX) {
            kernel = a == KPERF_CONTEXT_KERNEL;
            if (!kernel) break;
        }
        if (kernel && n < max) ips[n++] = a;
    }
    if (n == 1) n = 0; /* a marker without frames */
    if (n && n < max) ips[n++] = KPERF_CONTEXT_USER;
    return n < max ? n : 0;
}

KPERF_API int kperf_symbolizer_unwind(kperf_symbolizer *s, const kperf_sample *smp,
                                      uint64_t regs_mask, uint64_t *ips, size_t max) {
    if (!s || !smp || (!ips && max))
        return kperf__fail(EINVAL, "kperf_symbolizer_unwind: NULL argument");
    if (!max) return 0;
    kperf__unw *u = kperf__unw_get(s);
    if (!u) return kperf__fail(ENOMEM, "unwind: out of memory");
    pthread_mutex_lock(&u->mu);
    kperf__unw_cur *c = &u->cur;
    memset(c, 0, sizeof *c);
    c->pid = (pid_t)smp->pid;
    Dwfl *dwfl = NULL;
    size_t nk;
    int rc = kperf__unw_regs(c, smp, regs_mask);
    if (rc < 0) goto out;
    c->stack = (const unsigned char *)smp->stack;
    c->stack_len = smp->stack ? (smp->stack_dyn_size < smp->stack_size ? smp->stack_dyn_size
                                                                         : smp->stack_size) : 0;
    nk = kperf__unw_kernel(smp, ips, max);
    c->ips = ips + nk, c->max = max - nk;
    dwfl = kperf__unw_session(s, u, c->pid, &rc);
    if (!dwfl) goto out;
    dwfl_getthread_frames(dwfl, c->pid, kperf__unw_frame, c);
    if (!c->n) c->ips[c->n++] = c->pc; /* no module there, or no CFI: the ip alone */
    rc = (int)(nk + c->n);
out:
    pthread_mutex_unlock(&u->mu);
    return rc;
}

// ---- public ----------------------------------------------------------------------------

KPERF_API int kperf_symbolizer_open(kperf_symbolizer **out, const kperf_symbolizer_desc *desc) {
    if (!out) return kperf__fail(EINVAL, "kperf_symbolizer_open: out is NULL");
    *out = NULL;
    if (desc && (unsigned)desc->mode > KPERF_SYMBOL_DELAYED)
        return kperf__fail(EINVAL, "kperf_symbolizer_open: unknown mode %d", (int)desc->mode);
    if (elf_version(EV_CURRENT) == EV_NONE)
        return kperf__fail(KPERF_ENOTSUP, "symbols: libelf is too old (elf_version failed)");
    kperf_symbolizer *s = (kperf_symbolizer *)kperf__calloc(1, sizeof *s);
    if (!s) return kperf__fail(ENOMEM, "kperf_symbolizer_open: out of memory");
    if (desc) s->d = *desc;
    s->debug_dir = kperf__strdup(s->d.debug_dir ? s->d.debug_dir : "/usr/lib/debug");
    s->kallsyms_path = kperf__strdup(s->d.kallsyms_path ? s->d.kallsyms_path : "/proc/kallsyms");
    s->perf_map_dir = kperf__strdup(s->d.perf_map_dir ? s->d.perf_map_dir : "/tmp");
    s->proc_dir = kperf__strdup(s->d.proc_dir ? s->d.proc_dir : "/proc");
    s->d.debug_dir = s->d.kallsyms_path = s->d.perf_map_dir = s->d.proc_dir = NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_rwlock_init(&s->maplock, NULL);
    struct timespec ts; /* a generation no earlier symbolizer at this address had */
    clock_gettime(CLOCK_MONOTONIC, &ts);
    s->gen = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (!s->debug_dir || !s->kallsyms_path || !s->perf_map_dir || !s->proc_dir) {
        kperf_symbolizer_close(s);
        return kperf__fail(ENOMEM, "kperf_symbolizer_open: out of memory");
    }
    *out = s;
    return 0;
}

KPERF_API void kperf_symbolizer_close(kperf_symbolizer *s) {
    if (!s) return;
    if (s->dem_thread_ok) pthread_join(s->dem_thread, NULL);
    kperf__unw_free(s->unw); /* first: its sessions point at the modules' files */
    for (size_t i = 0; i < s->ndsos; i++) kperf__sym_dso_free(s->dsos[i]);
    for (size_t i = 0; i < s->nprocs; i++) {
        kperf__sym_tab_free(s->procs[i]->jit);
        kperf__sym_tab_free(s->procs[i]->jitd);
        for (kperf__sym_tab *t = s->procs[i]->jit_retired, *n; t; t = n) {
            n = t->retired;
            kperf__sym_tab_free(t);
        }
        KPERF_FREE(s->procs[i]->jitdump);
        KPERF_FREE(s->procs[i]->maps);
        KPERF_FREE(s->procs[i]);
    }
    kperf__sym_tab_free(s->kernel);
    KPERF_FREE(s->dsos);
    KPERF_FREE(s->procs);
    KPERF_FREE(s->debug_dir);
    KPERF_FREE(s->kallsyms_path);
    KPERF_FREE(s->perf_map_dir);
    KPERF_FREE(s->proc_dir);
    pthread_mutex_destroy(&s->mu);
    pthread_rwlock_destroy(&s->maplock);
    KPERF_FREE(s);
}

/* Reads the vDSO image of a process from its memory. */
static void *kperf__sym_read_mem(kperf_symbolizer *s, pid_t pid, uint64_t start, uint64_t len) {
    char p[PATH_MAX];
    if (len == 0 || len > (64u << 20)) return NULL;
    snprintf(p, sizeof p, "%s/%d/mem", s->proc_dir, (int)pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    void *buf = KPERF_MALLOC(len);
    ssize_t r = buf ? pread(fd, buf, len, (off_t)start) : -1;
    close(fd);
    if (r != (ssize_t)len) {
        KPERF_FREE(buf);
        return NULL;
    }
    return buf;
}

/* The vDSO of a process that has exited (a recorded file): the kernel maps the same image
 * into every process, so this process's copy stands in when it has the recorded length
 * and, when the record carries one, the same build-id. */
static void *kperf__sym_own_vdso(uint64_t len, const uint8_t *bid, size_t nbid) {
    FILE *f = fopen("/proc/self/maps", "re");
    char line[512];
    uint64_t lo = 0, hi = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "[vdso]") && sscanf(line, "%" SCNx64 "-%" SCNx64, &lo, &hi) == 2) break;
    if (f) fclose(f);
    if (!lo || hi - lo != len) return NULL;
    void *buf = KPERF_MALLOC(len);
    if (!buf) return NULL;
    memcpy(buf, (const void *)(uintptr_t)lo, len);
    Elf *e = elf_memory((char *)buf, len);
    const void *b;
    ssize_t k = e ? dwelf_elf_gnu_build_id(e, &b) : -1;
    bool ok = e && (!nbid || (k == (ssize_t)nbid && !memcmp(b, bid, nbid)));
    if (e) elf_end(e);
    if (!ok) KPERF_FREE(buf);
    return ok ? buf : NULL;
}

/* The path to open for a mapped file: deleted files through map_files, others through the
 * process's root (containers). */
static void kperf__sym_open_path(kperf_symbolizer *s, const kperf_module_desc *m, char *out,
                                 size_t size) {
    const char *path = m->path;
    size_t n = strlen(path);
    const char *del = " (deleted)";
    if (n > 10 && !strcmp(path + n - 10, del)) {
        snprintf(out, size, "%s/%d/map_files/%" PRIx64 "-%" PRIx64, s->proc_dir, (int)m->pid,
                 m->start, m->start + m->len);
        if (access(out, R_OK) == 0) return;
        snprintf(out, size, "%.*s", (int)(n - 10), path);
        return;
    }
    if (m->pid > 0 && path[0] == '/') {
        snprintf(out, size, "%s/%d/root%s", s->proc_dir, (int)m->pid, path);
        if (access(out, R_OK) == 0) return;
    }
    snprintf(out, size, "%s", path);
}

/* A JIT maps its jit-PID.dump (executable, so that perf records the mapping): that is
 * how a recording says where the dump is. */
static bool kperf__sym_is_jitdump(const char *path) {
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    size_t n = strlen(b);
    if (n < 10 || strncmp(b, "jit-", 4) || strcmp(b + n - 5, ".dump")) return false;
    for (size_t i = 4; i < n - 5; i++)
        if (b[i] < '0' || b[i] > '9') return false;
    return true;
}

static int kperf__sym_add_jitdump(kperf_symbolizer *s, const kperf_module_desc *m) {
    char *path = kperf__strdup(m->path);
    if (!path) return kperf__fail(ENOMEM, "symbols: out of memory");
    pthread_rwlock_wrlock(&s->maplock);
    kperf__sym_proc *p = kperf__sym_proc_get(s, m->pid);
    if (p && !p->jitdump) p->jitdump = path, path = NULL;
    kperf__sym_maps_wrunlock(s);
    KPERF_FREE(path);
    return 0;
}

/* A mapping whose image cannot be read (a vDSO of a process that has exited): it stays in
 * the maps so that its frames still name the module; returns err. */
static int kperf__sym_add_unreadable(kperf_symbolizer *s, const kperf_module_desc *m, int err) {
    pthread_mutex_lock(&s->mu);
    kperf__sym_dso *d = kperf__sym_dso_get(s, m->path, m->path, NULL, 0, NULL, 0);
    if (d && !d->state) {
        d->err = kperf__strdup(kperf_errmsg());
        __atomic_store_n(&d->state, err, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&s->mu);
    if (!d) return err;
    pthread_rwlock_wrlock(&s->maplock);
    kperf__sym_proc *p = kperf__sym_proc_get(s, m->pid);
    if (p) kperf__sym_map_insert(p, (kperf__sym_map){m->start, m->start + m->len, m->pgoff, d});
    kperf__sym_maps_wrunlock(s);
    return err;
}

KPERF_API int kperf_symbolizer_add_module(kperf_symbolizer *s, const kperf_module_desc *m) {
    if (!s || !m || !m->path || !m->path[0])
        return kperf__fail(EINVAL, "kperf_symbolizer_add_module: symbolizer, mapping and path "
                           "are required");
    if (!m->file_vaddr && (m->len == 0 || m->start + m->len < m->start))
        return kperf__fail(EINVAL, "kperf_symbolizer_add_module: %s: empty or wrapping range",
                           m->path);
    bool vdso = !strcmp(m->path, "[vdso]");
    if (m->path[0] == '[' && !vdso) return 0; /* heap, stack, anon: no file to read */
    if (!strcmp(m->path, "//anon")) return 0; /* anonymous (JIT) code: perf map, jitdump */
    if (kperf__sym_is_jitdump(m->path)) return kperf__sym_add_jitdump(s, m);
    char open_path[PATH_MAX];
    void *mem = NULL;
    uint8_t bid[20];
    size_t nbid = m->build_id && m->build_id_size ? m->build_id_size : 0;
    if (nbid > 20) nbid = 20;
    if (nbid) memcpy(bid, m->build_id, nbid);
    if (vdso) {
        mem = kperf__sym_read_mem(s, m->pid, m->start, m->len);
        if (!mem) mem = kperf__sym_own_vdso(m->len, nbid ? bid : NULL, nbid);
        if (!mem) /* the mapping stays (frames name the module), as for unreadable files */
            return kperf__sym_add_unreadable(s, m, kperf__fail(ENOENT, "symbols: cannot read "
                                             "the vDSO of pid %d from %s/%d/mem", (int)m->pid,
                                             s->proc_dir, (int)m->pid));
        Elf *e = elf_memory((char *)mem, m->len);
        const void *b;
        ssize_t k = e ? dwelf_elf_gnu_build_id(e, &b) : -1;
        if (k > 0 && k <= 20 && !nbid) memcpy(bid, b, (size_t)k), nbid = (size_t)k;
        if (e) elf_end(e);
        snprintf(open_path, sizeof open_path, "[vdso]");
    } else if (m->file_vaddr) {
        snprintf(open_path, sizeof open_path, "%s", m->path);
    } else {
        kperf__sym_open_path(s, m, open_path, sizeof open_path);
    }
    pthread_mutex_lock(&s->mu);
    kperf__sym_dso *d = kperf__sym_dso_get(s, m->path, open_path, nbid ? bid : NULL, nbid,
                                           mem, vdso ? m->len : 0);
    int rc = d ? 0 : kperf__fail(ENOMEM, "symbols: out of memory");
    if (d && s->d.mode != KPERF_SYMBOL_DELAYED && s->d.mode != KPERF_SYMBOL_NONE)
        rc = kperf__sym_dso_load(s, d);
    pthread_mutex_unlock(&s->mu);
    if (!d) return rc;
    pthread_rwlock_wrlock(&s->maplock);
    kperf__sym_proc *p = kperf__sym_proc_get(s, m->pid);
    int r2 = p ? 0 : -ENOMEM;
    if (p && m->file_vaddr) {
        p->file_vaddr = true;
        p->fdso = d;
    } else if (p) {
        r2 = kperf__sym_map_insert(p, (kperf__sym_map){m->start, m->start + m->len, m->pgoff, d});
    }
    kperf__sym_maps_wrunlock(s);
    if (r2) return kperf__fail(ENOMEM, "symbols: out of memory");
    return rc;
}

KPERF_API int kperf_symbolizer_add_pid(kperf_symbolizer *s, pid_t pid) {
    if (!s) return kperf__fail(EINVAL, "kperf_symbolizer_add_pid: symbolizer is NULL");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%d/maps", s->proc_dir, (int)pid);
    FILE *f = fopen(path, "re");
    if (!f) {
        int e = errno;
        pthread_rwlock_wrlock(&s->maplock);
        kperf__sym_proc_get(s, pid); /* remember it: no retry on every lookup */
        kperf__sym_maps_wrunlock(s);
        return kperf__fail(e == ENOENT ? KPERF_ENOTARGET : e, "symbols: cannot read %s: %s%s",
                           path, strerror(e), e == ENOENT ? " (the process has exited)" : "");
    }
    char *line = NULL;
    size_t cap = 0;
    int added = 0;
    while (getline(&line, &cap, f) > 0) {
        uint64_t lo, hi, off;
        char perms[8];
        int pos = 0;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %*s %*s %n", &lo, &hi, perms,
                   &off, &pos) < 4 || !pos)
            continue;
        char *p = line + pos;
        p[strcspn(p, "\n")] = 0;
        if (!strchr(perms, 'x') || !p[0] || (p[0] == '[' && strcmp(p, "[vdso]"))) continue;
        kperf_module_desc md;
        memset(&md, 0, sizeof md);
        md.pid = pid, md.start = lo, md.len = hi - lo, md.pgoff = off, md.path = p;
        int rc = kperf_symbolizer_add_module(s, &md);
        if (rc == 0 || rc == -KPERF_ECORRUPT || rc == -ENOENT) added++;
    }
    free(line);
    fclose(f);
    pthread_rwlock_wrlock(&s->maplock);
    kperf__sym_proc_get(s, pid);
    kperf__sym_maps_wrunlock(s);
    return added;
}

KPERF_API int kperf_symbolizer_add_fork(kperf_symbolizer *s, pid_t ppid, pid_t pid) {
    if (!s) return kperf__fail(EINVAL, "kperf_symbolizer_add_fork: symbolizer is NULL");
    if (ppid == pid) return 0; /* a thread shares its process's mappings */
    pthread_rwlock_wrlock(&s->maplock);
    bool found;
    ptrdiff_t i = kperf__sym_proc_idx(s, ppid, &found);
    kperf__sym_proc *pp = found ? s->procs[i] : NULL;
    kperf__sym_proc *c = pp ? kperf__sym_proc_get(s, pid) : NULL;
    int rc = 0;
    if (pp && !c) rc = -ENOMEM;
    else if (c && kperf__sym_grow(&c->maps, &c->capmaps, pp->nmaps + 1, sizeof *c->maps))
        rc = -ENOMEM;
    else if (c) {
        if (pp->nmaps) memcpy(c->maps, pp->maps, pp->nmaps * sizeof *c->maps); /* modules are shared */
        c->nmaps = pp->nmaps;
        c->file_vaddr = pp->file_vaddr, c->fdso = pp->fdso;
        rc = (int)c->nmaps;
    }
    kperf__sym_maps_wrunlock(s);
    return rc < 0 ? kperf__fail(ENOMEM, "symbols: out of memory") : rc;
}

KPERF_API int kperf_symbolizer_lookup(kperf_symbolizer *s, pid_t pid, uint64_t addr,
                                      kperf_frame *frames, size_t max) {
    if (!s || (!frames && max)) return kperf__fail(EINVAL, "kperf_symbolizer_lookup: NULL argument");
    if (!max) return 0;
    if (s->d.include_kernel && kperf__sym_is_kernel(addr))
        return kperf__sym_kernel_frames(s, addr, frames);
    kperf__sym_hint *h = &kperf__sym_last;
    if (h->s == s && h->pid == pid && h->gen == __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE)) {
        if (h->fdso) return kperf__sym_dso_frames(s, h->fdso, addr, addr, frames, max);
        if (addr - h->m.start < h->m.end - h->m.start)
            return kperf__sym_dso_frames(s, h->m.dso, addr, kperf__sym_map_vaddr(&h->m, addr),
                                         frames, max);
    }
    kperf__sym_proc *p = NULL;
    kperf__sym_map m = {0, 0, 0, NULL};
    kperf__sym_dso *fd = NULL;
    uint64_t gen = 0;
    for (int attempt = 0; attempt < 2 && !p; attempt++) {
        bool found;
        pthread_rwlock_rdlock(&s->maplock); /* one shared section per lookup */
        gen = __atomic_load_n(&s->gen, __ATOMIC_RELAXED);
        ptrdiff_t i = kperf__sym_proc_idx(s, pid, &found);
        if (found) {
            p = s->procs[i];
            const kperf__sym_map *pm = p->file_vaddr ? NULL : kperf__sym_map_find(p, addr);
            if (pm) m = *pm;
            fd = p->file_vaddr ? p->fdso : NULL;
        }
        pthread_rwlock_unlock(&s->maplock);
        if (!p && (attempt || pid <= 0)) return 0;
        if (!p) {
            int rc = kperf_symbolizer_add_pid(s, pid);
            if (rc < 0) return rc;
        }
    }
    if (fd) {
        *h = (kperf__sym_hint){s, gen, pid, {0, 0, 0, NULL}, fd};
        return kperf__sym_dso_frames(s, fd, addr, addr, frames, max);
    }
    if (!m.dso) return kperf__sym_jit_frames(s, p, addr, frames);
    int rc = kperf__sym_ready(s, m.dso);
    if (rc) return rc;
    *h = (kperf__sym_hint){s, gen, pid, m, NULL};
    return kperf__sym_dso_frames(s, m.dso, addr, kperf__sym_map_vaddr(&m, addr), frames, max);
}


static int kperf__sym_ord_cmp(const void *x, const void *y) {
    const kperf__sym_ord *a = (const kperf__sym_ord *)x, *b = (const kperf__sym_ord *)y;
    return a->a < b->a ? -1 : a->a > b->a;
}

/* LSD radix sort on the address bits that vary (11 bits a pass; 3 passes for addresses
 * within 8 GiB of each other). Returns -ENOMEM when no scratch space (caller falls back). */
static int kperf__sym_radix_with(kperf__sym_ord *v, size_t n, kperf__sym_ord *tmp) {
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i].a < lo) lo = v[i].a;
        if (v[i].a > hi) hi = v[i].a;
    }
    uint64_t span = hi - lo;
    for (unsigned shift = 0; shift < 64 && (span >> shift); shift += 11) {
        size_t cnt[2048] = {0};
        for (size_t i = 0; i < n; i++) cnt[((v[i].a - lo) >> shift) & 2047]++;
        size_t sum = 0;
        for (int k = 0; k < 2048; k++) {
            size_t c = cnt[k];
            cnt[k] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) tmp[cnt[((v[i].a - lo) >> shift) & 2047]++] = v[i];
        memcpy(v, tmp, n * sizeof *v);
    }
    return 0;
}

static int kperf__sym_radix(kperf__sym_ord *v, size_t n) {
    kperf__sym_ord *tmp = (kperf__sym_ord *)kperf__sym_big(n * sizeof *tmp);
    if (!tmp) return -ENOMEM;
    kperf__sym_radix_with(v, n, tmp);
    kperf__sym_big_free(tmp);
    return 0;
}

/* Sorted by address, the batch walks each module's arrays in order (cache-friendly) and
 * takes the map lock once. */
KPERF_API int kperf_symbolizer_lookup_batch(kperf_symbolizer *s, pid_t pid,
                                            const uint64_t *addrs, size_t n, kperf_frame *out) {
    if (!s || (n && (!addrs || !out)))
        return kperf__fail(EINVAL, "kperf_symbolizer_lookup_batch: NULL argument");
    if (!n) return 0;
    kperf_symbolizer_preload(s, pid, addrs, n); /* only faster: errors show below */
    kperf__sym_ord *ord = (kperf__sym_ord *)KPERF_MALLOC(n * sizeof *ord);
    if (!ord) return kperf__fail(ENOMEM, "kperf_symbolizer_lookup_batch: out of memory");
    for (size_t i = 0; i < n; i++) ord[i].a = addrs[i], ord[i].i = i;
    if (kperf__sym_radix(ord, n) != 0) qsort(ord, n, sizeof *ord, kperf__sym_ord_cmp);
    kperf_frame probe; /* adds the process on first use */
    if (kperf_symbolizer_lookup(s, pid, ord[0].a, &probe, 1) == -KPERF_ENOTARGET) {
        KPERF_FREE(ord);
        return -KPERF_ENOTARGET;
    }
    int found = 0;
    pthread_rwlock_rdlock(&s->maplock);
    bool have;
    ptrdiff_t pi = kperf__sym_proc_idx(s, pid, &have);
    kperf__sym_proc *p = have ? s->procs[pi] : NULL;
    const kperf__sym_map *m = NULL;
    for (size_t k = 0; k < n; k++) {
        uint64_t a = ord[k].a;
        kperf_frame *f = &out[ord[k].i];
        int r = 0;
        if (s->d.include_kernel && kperf__sym_is_kernel(a)) {
            r = kperf__sym_kernel_frames(s, a, f);
        } else if (p && p->file_vaddr) {
            r = kperf__sym_dso_frames(s, p->fdso, a, a, f, 1);
        } else if (p) {
            if (!m || a < m->start || a >= m->end) m = kperf__sym_map_find(p, a);
            if (m && kperf__sym_ready(s, m->dso) == 0)
                r = kperf__sym_dso_frames(s, m->dso, a, kperf__sym_map_vaddr(m, a), f, 1);
            else if (!m)
                r = kperf__sym_jit_frames(s, p, a, f);
        }
        if (r <= 0) {
            memset(f, 0, sizeof *f);
            f->addr = a;
        }
        found += f->function != NULL;
    }
    pthread_rwlock_unlock(&s->maplock);
    KPERF_FREE(ord);
    return found;
}

// ---- indexing ahead on several threads --------------------------------------------------

typedef struct kperf__sym_pre {
    kperf__sym_dso *d;
    const uint32_t *todo; /* CU indices to build */
    size_t n;
    size_t next;          /* taken with an atomic add */
    pthread_mutex_t dwlock;
    int built;
} kperf__sym_pre;

typedef struct kperf__sym_worker {
    kperf__sym_pre *pre;
    kperf__sym_scratch *sc;
} kperf__sym_worker;

static void *kperf__sym_pre_run(void *arg) {
    kperf__sym_worker *w = (kperf__sym_worker *)arg;
    kperf__sym_pre *p = w->pre;
    for (;;) {
        size_t k = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (k >= p->n) break;
        if (kperf__sym_cu_build(p->d, p->todo[k], w->sc, &p->dwlock))
            __atomic_fetch_add(&p->built, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static int kperf__sym_threads(const kperf_symbolizer *s) {
    long n = s->d.threads > 0 ? s->d.threads : sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

/* Builds the listed CUs of d on the symbolizer's threads (caller holds s->mu). */
static int kperf__sym_pre_build(kperf_symbolizer *s, kperf__sym_dso *d, const uint32_t *todo,
                                size_t n) {
    kperf__sym_pre p;
    memset(&p, 0, sizeof p);
    p.d = d, p.todo = todo, p.n = n;
    pthread_mutex_init(&p.dwlock, NULL);
    kperf__sym_worker w[8]; /* at most 8 threads: d->scratch and d->wscratch[0..6] */
    pthread_t th[8];
    int nt = kperf__sym_threads(s), started = 0;
    if ((size_t)nt > n) nt = (int)n;
    memset(w, 0, sizeof w);
    for (int t = 0; t < nt; t++) w[t].pre = &p, w[t].sc = t ? &d->wscratch[t - 1] : &d->scratch;
    for (int t = 1; t < nt; t++) { /* a thread that does not start leaves its share to us */
        if (pthread_create(&th[t], NULL, kperf__sym_pre_run, &w[t]) != 0) break;
        started = t;
    }
    kperf__sym_pre_run(&w[0]);
    for (int t = 1; t <= started; t++) pthread_join(th[t], NULL);
    pthread_mutex_destroy(&p.dwlock);
    return p.built;
}

/* The module and ELF address of addr in pid, as a lookup finds them, the module opened as
 * a lookup would open it (caller holds the map lock for reading); NULL for none. */
static kperf__sym_dso *kperf__sym_pre_where(kperf_symbolizer *s, kperf__sym_proc *p,
                                            uint64_t addr, uint64_t *rel) {
    if (p->file_vaddr) return *rel = addr, p->fdso;
    const kperf__sym_map *m = kperf__sym_map_find(p, addr);
    if (!m || kperf__sym_ready(s, m->dso) != 0) return NULL;
    *rel = kperf__sym_map_vaddr(m, addr);
    return m->dso;
}

KPERF_API int kperf_symbolizer_preload(kperf_symbolizer *s, pid_t pid, const uint64_t *addrs,
                                       size_t n) {
    if (!s || (n && !addrs)) return kperf__fail(EINVAL, "kperf_symbolizer_preload: NULL argument");
    if (s->d.mode == KPERF_SYMBOL_NONE || s->d.mode == KPERF_SYMBOL_ELF || !n ||
        kperf__sym_reference())
        return 0;
    bool found;
    pthread_rwlock_rdlock(&s->maplock);
    ptrdiff_t pi = kperf__sym_proc_idx(s, pid, &found);
    kperf__sym_proc *p = found ? s->procs[pi] : NULL;
    if (p && p->file_vaddr && p->fdso) {
        pthread_rwlock_unlock(&s->maplock);
        int rc = kperf__sym_ready(s, p->fdso); /* opens it now: lookups would */
        if (rc) return rc;
        pthread_rwlock_rdlock(&s->maplock);
    }
    /* (module, CU) pairs not built yet, one list per module in order of first need */
    kperf__sym_dso *cur = NULL;
    uint32_t *todo = NULL;
    uint8_t *seen = NULL;
    size_t ntodo = 0, captodo = 0;
    int built = 0, rc = 0;
    for (size_t k = 0; p && k <= n && !rc; k++) {
        uint64_t rel = 0;
        kperf__sym_dso *d = k < n && !(s->d.include_kernel && kperf__sym_is_kernel(addrs[k]))
                                ? kperf__sym_pre_where(s, p, addrs[k], &rel) : NULL;
        if (k < n && (!d || !d->dw)) continue;
        if (d != cur || k == n) { /* another module (or the end): build what was listed */
            if (cur && ntodo) {
                pthread_mutex_lock(&s->mu);
                built += kperf__sym_pre_build(s, cur, todo, ntodo);
                pthread_mutex_unlock(&s->mu);
            }
            ntodo = 0;
            KPERF_FREE(seen);
            seen = NULL, cur = d;
            if (d && !(seen = (uint8_t *)kperf__calloc(d->ncus + 1, 1))) rc = -ENOMEM;
        }
        if (k == n || rc) break;
        ptrdiff_t ci = kperf__sym_find_cu(d, rel);
        if (ci < 0 || seen[ci] || __atomic_load_n(&d->cus[ci], __ATOMIC_ACQUIRE)) continue;
        seen[ci] = 1;
        if (kperf__sym_grow(&todo, &captodo, ntodo + 1, sizeof *todo)) rc = -ENOMEM;
        else todo[ntodo++] = (uint32_t)ci;
    }
    pthread_rwlock_unlock(&s->maplock);
    KPERF_FREE(seen);
    KPERF_FREE(todo);
    return rc ? kperf__fail(-rc, "kperf_symbolizer_preload: out of memory") : built;
}

/* The frame buffers of kperf_symbolizer_lookup_all's threads, kept in a kperf_frames from
 * call to call (fresh memory costs more than the lookups that fill it). */
struct kperf__frames_ws {
    kperf_frame *fr[8];
    size_t capfr[8];
    size_t *off; /* per address: where its frames start in its worker's buffer */
    struct kperf__sym_ord *ord, *tmp; /* the addresses sorted (cap entries each) */
};

/* One worker of kperf_symbolizer_lookup_all: addrs[lo, hi) in order, or with ord the
 * addresses ord[lo, hi) (sorted by address), frames in its buffer, gnu_compat names
 * deferred (kperf__sym_defer). */
typedef struct kperf__sym_all {
    kperf_symbolizer *s;
    pid_t pid;
    const uint64_t *addrs;
    const struct kperf__sym_ord *ord;
    size_t lo, hi, max;
    int *rc;
    size_t *off;
    kperf_frame **fr;
    size_t *capfr, nfr;
    kperf__sym_defer defer;
    bool deferring; /* gnu_compat, looking up out of the caller's order */
    bool oom;
} kperf__sym_all;

static void *kperf__sym_all_run(void *arg) {
    kperf__sym_all *w = (kperf__sym_all *)arg;
    kperf__sym_deferring = w->deferring ? &w->defer : NULL;
    for (size_t p = w->lo; p < w->hi && !w->oom && !w->defer.failed; p++) {
        if (*w->capfr - w->nfr < w->max &&
            kperf__sym_grow_big(w->fr, w->capfr, w->nfr + w->max, sizeof **w->fr)) {
            w->oom = true;
            break;
        }
        size_t i = w->ord ? w->ord[p].i : p;
        w->defer.idx = i;
        w->defer.base = w->off[i] = w->nfr;
        int k = kperf_symbolizer_lookup(w->s, w->pid, w->addrs[i], *w->fr + w->nfr, w->max);
        w->rc[i] = k;
        if (k > 0) w->nfr += (size_t)k;
    }
    kperf__sym_deferring = NULL;
    return NULL;
}

/* Names one deferred frame as kperf__sym_gnu_name and the outer-frame rule would have
 * (called in the order of the caller's list). */
static void kperf__sym_gnu_replay(const kperf__sym_gnudef *g, kperf_frame *f) {
    kperf__sym_dso *d = g->d;
    kperf__sym_cu *cu = g->cu;
    uint32_t gs = __atomic_load_n(&cu->gsym[g->sc], __ATOMIC_RELAXED);
    if (!g->inner) {
        if (gs > 1) kperf__sym_set_sym(d, f, gs - 2);
        return;
    }
    const kperf__sym_ent *sym = g->si != KPERF__SYM_NONE ? &d->syms[g->si] : NULL;
    if (kperf__sym_gnu_name(d, cu, g->sc, sym, g->si, f) && !f->file) f->file = sym->srcfile;
}

/* The deferred gnu_compat names of all workers, named in the order of the caller's list
 * (a stable counting sort by address index: one address's frames stay in frame order). */
static int kperf__sym_gnu_replay_all(kperf__sym_all *w, int nt, size_t n) {
    size_t total = 0;
    for (int t = 0; t < nt; t++) total += w[t].defer.n;
    if (!total) return 0;
    size_t *cnt = (size_t *)kperf__calloc(n + 1, sizeof *cnt);
    const kperf__sym_gnudef **v = (const kperf__sym_gnudef **)KPERF_MALLOC(total * sizeof *v);
    kperf_frame **f = (kperf_frame **)KPERF_MALLOC(total * sizeof *f);
    if (!cnt || !v || !f) {
        KPERF_FREE(cnt);
        KPERF_FREE((void *)v);
        KPERF_FREE(f);
        return -ENOMEM;
    }
    for (int t = 0; t < nt; t++)
        for (size_t k = 0; k < w[t].defer.n; k++) cnt[w[t].defer.v[k].idx + 1]++;
    for (size_t i = 0; i < n; i++) cnt[i + 1] += cnt[i];
    for (int t = 0; t < nt; t++)
        for (size_t k = 0; k < w[t].defer.n; k++) {
            const kperf__sym_gnudef *g = &w[t].defer.v[k];
            size_t at = cnt[g->idx]++;
            v[at] = g, f[at] = *w[t].fr + g->frame;
        }
    for (size_t k = 0; k < total; k++) kperf__sym_gnu_replay(v[k], f[k]);
    KPERF_FREE(cnt);
    KPERF_FREE((void *)v);
    KPERF_FREE(f);
    return 0;
}

KPERF_API int kperf_symbolizer_lookup_all(kperf_symbolizer *s, pid_t pid, const uint64_t *addrs,
                                          size_t n, size_t max, kperf_frames *out) {
    if (!s || !out || (n && !addrs) || !max)
        return kperf__fail(EINVAL, "kperf_symbolizer_lookup_all: NULL argument or max 0");
    if (!out->ws && !(out->ws = (struct kperf__frames_ws *)kperf__calloc(1, sizeof *out->ws)))
        return kperf__fail(ENOMEM, "kperf_symbolizer_lookup_all: out of memory");
    if (n > out->cap) {
        const kperf_frame **at = (const kperf_frame **)KPERF_REALLOC((void *)out->at, n * sizeof *at);
        if (at) out->at = at;
        int *rc = (int *)KPERF_REALLOC(out->rc, n * sizeof *rc);
        if (rc) out->rc = rc;
        size_t *off = (size_t *)KPERF_REALLOC(out->ws->off, n * sizeof *off);
        if (off) out->ws->off = off;
        kperf__sym_ord *ord = (kperf__sym_ord *)KPERF_REALLOC(out->ws->ord, n * sizeof *ord);
        if (ord) out->ws->ord = ord;
        kperf__sym_ord *tmp = (kperf__sym_ord *)KPERF_REALLOC(out->ws->tmp, n * sizeof *tmp);
        if (tmp) out->ws->tmp = tmp;
        if (!at || !rc || !off || !ord || !tmp)
            return kperf__fail(ENOMEM, "kperf_symbolizer_lookup_all: out of memory");
        out->cap = n;
    }
    /* The addresses are looked up in address order: each module's cells, scopes and
     * symbols are then walked forwards (about 3x faster than random order on a program
     * larger than the caches). Each thread takes a contiguous share of that order; a share
     * of under 1024 addresses is not worth a thread. The answers do not depend on the
     * order, except gnu_compat's names (BFD names a function without a linkage name after
     * the ELF symbol its first lookup lands in): those frames are named afterwards, in the
     * order of the caller's list. The reference path looks up in the caller's order. */
    bool ref = kperf__sym_reference(), sorted = !ref && n > 1;
    int nt = ref ? 1 : kperf__sym_threads(s);
    if ((size_t)nt > n / 1024) nt = n / 1024 > 1 ? (int)(n / 1024) : 1;
    if (sorted) {
        for (size_t i = 0; i < n; i++) out->ws->ord[i].a = addrs[i], out->ws->ord[i].i = i;
        kperf__sym_radix_with(out->ws->ord, n, out->ws->tmp);
    }
    kperf__sym_all w[8];
    pthread_t th[8];
    memset(w, 0, sizeof w);
    for (int t = 0; t < nt; t++) {
        kperf__sym_all *x = &w[t];
        x->s = s, x->pid = pid, x->addrs = addrs, x->max = max, x->rc = out->rc, x->off = out->ws->off;
        x->ord = sorted ? out->ws->ord : NULL;
        x->lo = n * (size_t)t / (size_t)nt, x->hi = n * (size_t)(t + 1) / (size_t)nt;
        x->fr = &out->ws->fr[t], x->capfr = &out->ws->capfr[t];
        x->deferring = s->d.gnu_compat && (nt > 1 || sorted);
    }
    int started = 0;
    for (int t = 1; t < nt; t++) { /* a thread that does not start: its share is done below */
        if (pthread_create(&th[t], NULL, kperf__sym_all_run, &w[t]) != 0) break;
        started = t;
    }
    kperf__sym_all_run(&w[0]);
    for (int t = 1; t <= started; t++) pthread_join(th[t], NULL);
    for (int t = started + 1; t < nt; t++) kperf__sym_all_run(&w[t]);
    int rc = 0;
    for (int t = 0; t < nt; t++)
        if (w[t].oom || w[t].defer.failed) rc = -ENOMEM;
    if (!rc) rc = kperf__sym_gnu_replay_all(w, nt, n);
    for (int t = 0; t < nt; t++) {
        for (size_t p = w[t].lo; !rc && p < w[t].hi; p++) {
            size_t i = sorted ? out->ws->ord[p].i : p;
            out->at[i] = *w[t].fr + out->ws->off[i];
        }
        KPERF_FREE(w[t].defer.v);
    }
    return rc ? kperf__fail(-rc, "kperf_symbolizer_lookup_all: out of memory") : 0;
}

KPERF_API void kperf_frames_free(kperf_frames *f) {
    if (!f) return;
    if (f->ws) {
        for (int t = 0; t < 8; t++) kperf__sym_big_free(f->ws->fr[t]);
        KPERF_FREE(f->ws->off);
        KPERF_FREE(f->ws->ord);
        KPERF_FREE(f->ws->tmp);
        KPERF_FREE(f->ws);
    }
    KPERF_FREE((void *)f->at);
    KPERF_FREE(f->rc);
    memset(f, 0, sizeof *f);
}

// ---- flame graph -----------------------------------------------------------------------

typedef struct kperf__fg_stack {
    const char *s; /* frames separated by ';', NUL-terminated */
    uint64_t n;
} kperf__fg_stack;

/* Frame-wise order: ';' sorts before every other byte, so stacks sharing leading frames
 * are adjacent and merge into one tree node. */
static int kperf__fg_cmp(const void *x, const void *y) {
    const unsigned char *a = (const unsigned char *)((const kperf__fg_stack *)x)->s;
    const unsigned char *b = (const unsigned char *)((const kperf__fg_stack *)y)->s;
    for (;; a++, b++) {
        int ca = *a == ';' ? 1 : *a ? *a + 1 : 0, cb = *b == ';' ? 1 : *b ? *b + 1 : 0;
        if (ca != cb) return ca - cb;
        if (!ca) return 0;
    }
}

static void kperf__fg_xml(FILE *f, const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '&') fputs("&amp;", f);
        else if (c == '<') fputs("&lt;", f);
        else if (c == '>') fputs("&gt;", f);
        else if (c == '"') fputs("&quot;", f);
        else if (c < 0x20) fputc('?', f);
        else fputc(c, f);
    }
}

static const char kperf__fg_js[] =
    "<script type=\"text/ecmascript\"><![CDATA[\n"
    "var svg=document.documentElement,W=+svg.getAttribute('data-w'),PAD=10,det,sb,zb,mt,cur=null;\n"
    "function fr(){return svg.querySelectorAll('g.f');}\n"
    "function fit(g){var r=g.querySelector('rect'),t=g.querySelector('text'),w=+r.getAttribute('width');\n"
    " var name=g.getAttribute('data-n'),m=Math.floor((w-6)/7);t.setAttribute('x',+r.getAttribute('x')+3);\n"
    " t.textContent=m<3?'':(name.length<=m?name:name.substr(0,m-2)+'..');}\n"
    "function place(g,x,w){var r=g.querySelector('rect');r.setAttribute('x',x);r.setAttribute('width',Math.max(w,0));fit(g);}\n"
    "function zoom(g){var x0=+g.getAttribute('data-x'),w0=+g.getAttribute('data-w'),d0=+g.getAttribute('data-d'),s=(W-2*PAD)/w0;\n"
    " cur=g;zb.style.opacity=1;fr().forEach(function(e){var x=+e.getAttribute('data-x'),w=+e.getAttribute('data-w'),d=+e.getAttribute('data-d');\n"
    "  var inside=x>=x0&&x+w<=x0+w0+1e-9,anc=d<d0&&x<=x0&&x+w>=x0+w0-1e-9;\n"
    "  if(inside&&d>=d0){e.style.display='';e.style.opacity=1;place(e,PAD+(x-x0)*s,w*s);}\n"
    "  else if(anc){e.style.display='';e.style.opacity=0.5;place(e,PAD,W-2*PAD);}\n"
    "  else e.style.display='none';});}\n"
    "function unzoom(){cur=null;zb.style.opacity=0;fr().forEach(function(e){e.style.display='';e.style.opacity=1;\n"
    " place(e,+e.getAttribute('data-px'),+e.getAttribute('data-pw'));});}\n"
    "function search(re){var tot=+svg.getAttribute('data-total'),hits=[];if(!re){reset();return;}\n"
    " var rx;try{rx=new RegExp(re);}catch(err){return;}\n"
    " fr().forEach(function(e){var r=e.querySelector('rect');if(rx.test(e.getAttribute('data-n'))){\n"
    "  if(!r.getAttribute('data-o'))r.setAttribute('data-o',r.getAttribute('fill'));r.setAttribute('fill','rgb(230,0,230)');\n"
    "  hits.push([+e.getAttribute('data-x'),+e.getAttribute('data-w')]);}\n"
    "  else if(r.getAttribute('data-o')){r.setAttribute('fill',r.getAttribute('data-o'));r.removeAttribute('data-o');}});\n"
    " hits.sort(function(a,b){return a[0]-b[0]||b[1]-a[1];});var c=0,end=-1;\n"
    " hits.forEach(function(h){if(h[0]>=end){c+=h[1];end=h[0]+h[1];}else if(h[0]+h[1]>end){c+=h[0]+h[1]-end;end=h[0]+h[1];}});\n"
    " mt.textContent=hits.length?'Matched: '+(100*c/tot).toFixed(1)+'%':'';sb.textContent='Reset Search';sb.setAttribute('data-on','1');}\n"
    "function reset(){fr().forEach(function(e){var r=e.querySelector('rect');if(r.getAttribute('data-o')){r.setAttribute('fill',r.getAttribute('data-o'));r.removeAttribute('data-o');}});\n"
    " mt.textContent='';sb.textContent='Search';sb.removeAttribute('data-on');}\n"
    "function init(){det=document.getElementById('details');sb=document.getElementById('search');zb=document.getElementById('unzoom');mt=document.getElementById('matched');\n"
    " fr().forEach(function(e){e.addEventListener('click',function(ev){zoom(e);ev.stopPropagation();});\n"
    "  e.addEventListener('mouseover',function(){det.textContent=e.querySelector('title').textContent;});\n"
    "  e.addEventListener('mouseout',function(){det.textContent=' ';});fit(e);});\n"
    " zb.addEventListener('click',unzoom);\n"
    " sb.addEventListener('click',function(){if(sb.getAttribute('data-on'))reset();else search(prompt('Search (regular expression)',''));});\n"
    " window.addEventListener('keydown',function(ev){if(ev.keyCode===114||((ev.ctrlKey||ev.metaKey)&&ev.keyCode===70)){ev.preventDefault();search(prompt('Search (regular expression)',''));}\n"
    "  else if(ev.keyCode===27){unzoom();reset();}});\n"
    " var q=location.hash.match(/s=([^&]*)/);if(q)search(decodeURIComponent(q[1]));\n"
    " var z=location.hash.match(/z=([^&]*)/);if(z){var want=decodeURIComponent(z[1]);fr().forEach(function(e){if(!cur&&e.getAttribute('data-n')===want)zoom(e);});}}\n"
    "window.addEventListener('load',init);\n"
    "]]></script>\n";

/* Writes one frame box. x and w are in samples; the layout maps them to pixels. */
static void kperf__fg_box(FILE *f, const char *name, size_t nlen, uint64_t x, uint64_t w,
                          int depth, uint64_t total, double scale, int height, const char *unit) {
    double px = 10 + (double)x * scale, pw = (double)w * scale;
    if (pw < 0.1) return;
    int y = height - 40 - (depth + 1) * 16;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < nlen; i++) h = (h ^ (unsigned char)name[i]) * 16777619u;
    int r = 205 + (int)(h % 50), g = (int)((h >> 8) % 230), b = (int)((h >> 16) % 55);
    fprintf(f, "<g class=\"f\" data-x=\"%" PRIu64 "\" data-w=\"%" PRIu64 "\" data-d=\"%d\" "
            "data-px=\"%.2f\" data-pw=\"%.2f\" data-n=\"", x, w, depth, px, pw);
    kperf__fg_xml(f, name, nlen);
    fputs("\"><title>", f);
    kperf__fg_xml(f, name, nlen);
    fprintf(f, " (%" PRIu64 " %s, %.2f%%)</title><rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
            "height=\"15\" fill=\"rgb(%d,%d,%d)\" rx=\"2\" ry=\"2\"/><text x=\"%.2f\" y=\"%d\">",
            w, unit, total ? 100.0 * (double)w / (double)total : 0.0, px, y, pw, r, g, b, px + 3,
            y + 11);
    /* the label is in the file (viewers without JavaScript, <img> embeds), cut to the box as
     * the script's fit() cuts it: about 7 px a character, ".." when it does not fit */
    long m = (long)((pw - 6) / 7);
    if (m >= 3 && (size_t)m >= nlen) {
        kperf__fg_xml(f, name, nlen);
    } else if (m >= 3) {
        size_t k = (size_t)m - 2;
        while (k > 0 && ((unsigned char)name[k] & 0xC0) == 0x80) k--; /* whole UTF-8 chars */
        kperf__fg_xml(f, name, k);
        fputs("..", f);
    }
    fputs("</text></g>\n", f);
}

/* Collects stacks from folded text (modified in place: stacks become NUL-terminated). */
static int kperf__fg_parse(char *text, kperf__fg_stack **out, size_t *n, size_t *cap) {
    size_t lineno = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = 0;
        lineno++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\r' || line[len - 1] == ' ')) line[--len] = 0;
        if (len) {
            char *sp = strrchr(line, ' ');
            char *end = NULL;
            unsigned long long c = sp ? strtoull(sp + 1, &end, 10) : 0;
            if (!sp || !end || *end || end == sp + 1)
                return kperf__fail(KPERF_EPARSE, "flame graph: line %zu is not \"frame;frame;... "
                                   "COUNT\": %.80s", lineno, line);
            *sp = 0;
            if (kperf__sym_grow(out, cap, *n + 1, sizeof **out)) return -ENOMEM;
            (*out)[(*n)++] = (kperf__fg_stack){line, (uint64_t)c};
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

/* Lays the sorted stacks out as a tree (merging common leading frames) and draws it. */
static void kperf__fg_draw(FILE *f, const kperf__fg_stack *st, size_t n, uint64_t total,
                           double scale, int height, const char *unit) {
    enum { MAXD = 1024 };
    struct { const char *name; size_t len; uint64_t x; } open[MAXD];
    int depth = 0;
    uint64_t x = 0;
    for (size_t i = 0; i <= n; i++) {
        const char *p = i < n ? st[i].s : "";
        int d = 0; /* frames of this stack matching the open path */
        const char *q = p;
        while (i < n && d < depth && d < MAXD) {
            size_t l = strcspn(q, ";");
            if (l != open[d].len || memcmp(q, open[d].name, l)) break;
            d++;
            q += l;
            if (*q == ';') q++;
            else break;
        }
        while (depth > d) {
            depth--;
            kperf__fg_box(f, open[depth].name, open[depth].len, open[depth].x, x - open[depth].x,
                          depth + 1, total, scale, height, unit);
        }
        if (i == n) break;
        while (*q && depth < MAXD - 1) {
            size_t l = strcspn(q, ";");
            open[depth].name = q, open[depth].len = l, open[depth].x = x;
            depth++;
            q += l;
            if (*q == ';') q++;
        }
        x += st[i].n;
    }
}

static int kperf__fg_svg(FILE *f, kperf__fg_stack *st, size_t n, const kperf_flamegraph_desc *d) {
    qsort(st, n, sizeof *st, kperf__fg_cmp);
    size_t w = 0; /* identical stacks add up */
    for (size_t i = 0; i < n; i++) {
        if (w && !kperf__fg_cmp(&st[w - 1], &st[i])) st[w - 1].n += st[i].n;
        else st[w++] = st[i];
    }
    n = w;
    uint64_t total = 0;
    int maxd = 1;
    for (size_t i = 0; i < n; i++) {
        total += st[i].n;
        int dd = 1;
        for (const char *p = st[i].s; *p; p++) dd += *p == ';';
        if (dd > maxd) maxd = dd;
    }
    if (maxd > 1023) maxd = 1023;
    unsigned width = d->width ? d->width : 1200;
    int height = (maxd + 1) * 16 + 80;
    const char *title = d->title ? d->title : "Flame Graph";
    const char *unit = d->count_name ? d->count_name : "samples";
    double scale = total ? (double)(width - 20) / (double)total : 0;
    fprintf(f, "<?xml version=\"1.0\" standalone=\"no\"?>\n<svg version=\"1.1\" width=\"%u\" "
            "height=\"%d\" viewBox=\"0 0 %u %d\" xmlns=\"http://www.w3.org/2000/svg\" "
            "data-w=\"%u\" data-total=\"%" PRIu64 "\">\n", width, height, width, height, width, total);
    fputs("<style>text{font-family:Verdana,sans-serif;font-size:12px;fill:#000}"
          "g.f{cursor:pointer}g.f:hover rect{stroke:#000;stroke-width:0.5}"
          "#title{font-size:17px;text-anchor:middle}.btn{cursor:pointer}#unzoom{opacity:0}"
          "</style>\n", f);
    fputs(kperf__fg_js, f);
    fprintf(f, "<rect x=\"0\" y=\"0\" width=\"%u\" height=\"%d\" fill=\"#f8f8f0\"/>\n", width, height);
    fprintf(f, "<text id=\"title\" x=\"%u\" y=\"24\">", width / 2);
    kperf__fg_xml(f, title, strlen(title));
    fprintf(f, "</text>\n<text id=\"unzoom\" class=\"btn\" x=\"10\" y=\"24\">Reset Zoom</text>\n"
            "<text id=\"search\" class=\"btn\" x=\"%u\" y=\"24\">Search</text>\n"
            "<text id=\"matched\" x=\"%u\" y=\"%d\"> </text>\n"
            "<text id=\"details\" x=\"10\" y=\"%d\"> </text>\n", width - 110, width - 110,
            height - 15, height - 15);
    kperf__fg_box(f, "all", 3, 0, total, 0, total, scale, height, unit);
    kperf__fg_draw(f, st, n, total, scale, height, unit);
    fputs("</svg>\n", f);
    return (int)n;
}

KPERF_API int kperf_flamegraph_write(const char *svg_path, const kperf_flamegraph_desc *desc) {
    if (!svg_path || !desc)
        return kperf__fail(EINVAL, "kperf_flamegraph_write: path and desc are required");
    char *text = NULL;
    kperf__fg_stack *st = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    if (desc->folded || desc->folded_path) {
        if (desc->folded) {
            text = kperf__strdup(desc->folded);
        } else {
            FILE *in = fopen(desc->folded_path, "re");
            if (!in) return kperf__fail(errno, "flame graph: cannot read %s: %s",
                                        desc->folded_path, strerror(errno));
            size_t tcap = 0, len = 0, r;
            char buf[65536];
            while ((r = fread(buf, 1, sizeof buf, in)) > 0) {
                if (kperf__sym_grow(&text, &tcap, len + r + 1, 1)) break;
                memcpy(text + len, buf, r);
                len += r;
            }
            fclose(in);
            if (text) text[len] = 0;
            else text = kperf__strdup("");
        }
        if (!text) return kperf__fail(ENOMEM, "flame graph: out of memory");
        rc = kperf__fg_parse(text, &st, &n, &cap);
    } else {
        for (size_t i = 0; i < desc->nstacks && !rc; i++) {
            if (!desc->stacks[i].stack) continue;
            if (kperf__sym_grow(&st, &cap, n + 1, sizeof *st)) rc = -ENOMEM;
            else st[n++] = (kperf__fg_stack){desc->stacks[i].stack, desc->stacks[i].count};
        }
    }
    FILE *f = NULL;
    if (!rc) {
        f = strcmp(svg_path, "-") ? kperf__fopen_out(svg_path) : stdout;
        if (!f) rc = -errno; /* kperf_file_create's message names the file and the reason */
    }
    if (!rc) {
        rc = kperf__fg_svg(f, st, n, desc);
        if (f != stdout ? fclose(f) != 0 : fflush(f) != 0)
            rc = kperf__fail(EIO, "flame graph: writing %s failed", svg_path);
    }
    if (rc == -ENOMEM) kperf__fail(ENOMEM, "flame graph: out of memory");
    KPERF_FREE(st);
    KPERF_FREE(text);
    return rc;
}

// ---- pprof -----------------------------------------------------------------------------
/* profile.proto, encoded by hand (protobuf wire format: varints, and length-delimited
 * fields for strings, nested messages and packed repeated integers), gzip-compressed with
 * zlib. Strings, functions, mappings, locations and samples are interned in open-addressing
 * tables of indexes (kperf__pp_tab); ids in the file are index + 1. */
#include <zlib.h>

typedef struct kperf__pp_tab {
    uint32_t *v; /* index + 1; 0 = empty */
    uint64_t *h;
    size_t cap, n;
} kperf__pp_tab;

typedef struct kperf__pp_func { uint32_t name, sys, file; } kperf__pp_func;
typedef struct kperf__pp_line { uint32_t func, line; } kperf__pp_line;
typedef struct kperf__pp_map {
    uint64_t start, end, pgoff;
    const void *dso;
    uint32_t file, bid;
} kperf__pp_map;
typedef struct kperf__pp_loc {
    uint64_t addr;
    uint32_t pid, map, line0, nlines; /* map: id, 0 = none */
} kperf__pp_loc;
typedef struct kperf__pp_smp {
    uint32_t loc0, nloc, comm, pid;
    uint32_t raw0, nraw; /* the addresses as sampled (the key), in p->raw */
    uint64_t count;      /* samples; the events' values are p->vals[index * p->ntypes ...] */
} kperf__pp_smp;

struct kperf_pprof {
    kperf_pprof_desc d;
    char **strs;
    size_t nstrs, capstrs;
    kperf__pp_func *funcs;
    size_t nfuncs, capfuncs;
    kperf__pp_map *maps;
    size_t nmaps, capmaps;
    kperf__pp_loc *locs;
    size_t nlocs, caplocs;
    kperf__pp_line *lines;
    size_t nlines, caplines;
    kperf__pp_smp *smps;
    size_t nsmps, capsmps;
    uint32_t *stk; /* location ids of every sample's stack, leaf first */
    size_t nstk, capstk;
    uint64_t *raw; /* every sample's addresses as sampled (markers dropped), leaf first */
    size_t nraw, capraw;
    const char *last_comm; /* the comm pointer of the previous sample, and its string */
    uint32_t last_comm_idx;
    uint32_t last_smp;     /* the previous sample's entry + 1 (0 = none): repeats skip the hash */
    kperf__pp_tab tstr, tfunc, tmap, tloc, tsmp;
    uint32_t comment, key_comm, key_pid, samples, count; /* string indexes */
    uint32_t ntypes, type[16], unit[16]; /* the events' value columns */
    uint64_t *vals; /* ntypes values per sample */
    size_t capvals;
    const char *comm;  /* of the sample being added */
    size_t main;       /* mapping of the program (its name starts with the comm): id 1, as
                          pprof takes the first mapping for the main binary */
    bool has_main;
};

/* Mapping ids: p->main first. */
static uint64_t kperf__pp_map_num(const kperf_pprof *p, size_t i) {
    if (!p->has_main) return i + 1;
    return i == p->main ? 1 : i < p->main ? i + 2 : i + 1;
}

/* The slot of the element equal to the key (eq), or the empty slot where it goes. */
static uint32_t *kperf__pp_find(kperf__pp_tab *t, uint64_t h,
                                bool (*eq)(const kperf_pprof *, uint32_t, const void *),
                                const kperf_pprof *p, const void *key) {
    size_t j = h & (t->cap - 1);
    while (t->v[j] && (t->h[j] != h || !eq(p, t->v[j] - 1, key))) j = (j + 1) & (t->cap - 1);
    return &t->v[j];
}

/* Makes room for one more element (call before kperf__pp_find when inserting). */
static int kperf__pp_reserve(kperf__pp_tab *t) {
    if ((t->n + 1) * 2 <= t->cap) return 0;
    size_t cap = t->cap ? t->cap * 2 : 256;
    uint32_t *v = (uint32_t *)kperf__calloc(cap, sizeof *v);
    uint64_t *h = (uint64_t *)kperf__calloc(cap, sizeof *h);
    if (!v || !h) {
        KPERF_FREE(v);
        KPERF_FREE(h);
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->v[i]) continue;
        size_t j = t->h[i] & (cap - 1);
        while (v[j]) j = (j + 1) & (cap - 1);
        v[j] = t->v[i], h[j] = t->h[i];
    }
    KPERF_FREE(t->v);
    KPERF_FREE(t->h);
    t->v = v, t->h = h, t->cap = cap;
    return 0;
}

static uint64_t kperf__pp_mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

static bool kperf__pp_str_eq(const kperf_pprof *p, uint32_t i, const void *key) {
    return !strcmp(p->strs[i], (const char *)key);
}

/* The string table index of s (interned). */
static int kperf__pp_str(kperf_pprof *p, const char *s, uint32_t *out) {
    if (!s) s = "";
    uint64_t h = 1469598103934665603ull;
    for (const char *c = s; *c; c++) h = (h ^ (unsigned char)*c) * 1099511628211ull;
    if (kperf__pp_reserve(&p->tstr)) return -ENOMEM;
    uint32_t *slot = kperf__pp_find(&p->tstr, h, kperf__pp_str_eq, p, s);
    if (!*slot) {
        char *c = kperf__strdup(s);
        if (!c || kperf__sym_grow(&p->strs, &p->capstrs, p->nstrs + 1, sizeof *p->strs)) {
            KPERF_FREE(c);
            return -ENOMEM;
        }
        p->strs[p->nstrs++] = c;
        *slot = (uint32_t)p->nstrs;
        p->tstr.h[slot - p->tstr.v] = h;
        p->tstr.n++;
    }
    *out = *slot - 1;
    return 0;
}

static bool kperf__pp_func_eq(const kperf_pprof *p, uint32_t i, const void *key) {
    return !memcmp(&p->funcs[i], key, sizeof(kperf__pp_func));
}

/* The function id of one frame. */
static int kperf__pp_func_id(kperf_pprof *p, const kperf_frame *f, uint32_t *id) {
    kperf__pp_func k;
    if (kperf__pp_str(p, f->function, &k.name) ||
        kperf__pp_str(p, f->mangled ? f->mangled : f->function, &k.sys) ||
        kperf__pp_str(p, f->file, &k.file) || kperf__pp_reserve(&p->tfunc))
        return -ENOMEM;
    uint64_t h = kperf__pp_mix(kperf__pp_mix(kperf__pp_mix(0, k.name), k.sys), k.file);
    uint32_t *slot = kperf__pp_find(&p->tfunc, h, kperf__pp_func_eq, p, &k);
    if (!*slot) {
        if (kperf__sym_grow(&p->funcs, &p->capfuncs, p->nfuncs + 1, sizeof *p->funcs))
            return -ENOMEM;
        p->funcs[p->nfuncs++] = k;
        *slot = (uint32_t)p->nfuncs;
        p->tfunc.h[slot - p->tfunc.v] = h;
        p->tfunc.n++;
    }
    *id = *slot;
    return 0;
}

static bool kperf__pp_map_eq(const kperf_pprof *p, uint32_t i, const void *key) {
    const kperf__pp_map *a = &p->maps[i], *b = (const kperf__pp_map *)key;
    return a->start == b->start && a->end == b->end && a->pgoff == b->pgoff && a->dso == b->dso;
}

/* The mapping id of addr in pid (0 when no file maps it: JIT code, the kernel). */
static int kperf__pp_map_id(kperf_pprof *p, pid_t pid, uint64_t a, uint32_t *id) {
    kperf_symbolizer *s = p->d.symbolizer;
    *id = 0;
    if (!s || (s->d.include_kernel && kperf__sym_is_kernel(a))) return 0;
    bool found;
    kperf__sym_map m = {0, 0, 0, NULL};
    pthread_rwlock_rdlock(&s->maplock);
    ptrdiff_t i = kperf__sym_proc_idx(s, pid, &found);
    const kperf__sym_map *pm = found && !s->procs[i]->file_vaddr
                                   ? kperf__sym_map_find(s->procs[i], a) : NULL;
    if (pm) m = *pm;
    pthread_rwlock_unlock(&s->maplock);
    if (!m.dso) return 0;
    kperf__pp_map k = {m.start, m.end, m.pgoff, m.dso, 0, 0};
    uint64_t h = kperf__pp_mix(kperf__pp_mix(kperf__pp_mix(0, m.start), m.pgoff),
                               (uint64_t)(uintptr_t)m.dso);
    if (kperf__pp_reserve(&p->tmap)) return -ENOMEM;
    uint32_t *slot = kperf__pp_find(&p->tmap, h, kperf__pp_map_eq, p, &k);
    if (!*slot) {
        char hex[41] = "";
        pthread_mutex_lock(&s->mu); /* the build-id is filled in when the file is loaded */
        for (size_t b = 0; b < m.dso->nbuild_id; b++)
            snprintf(hex + 2 * b, 3, "%02x", m.dso->build_id[b]);
        pthread_mutex_unlock(&s->mu);
        if (kperf__pp_str(p, m.dso->path, &k.file) || kperf__pp_str(p, hex, &k.bid) ||
            kperf__sym_grow(&p->maps, &p->capmaps, p->nmaps + 1, sizeof *p->maps))
            return -ENOMEM;
        slot = kperf__pp_find(&p->tmap, h, kperf__pp_map_eq, p, &k); /* tables unchanged */
        const char *base = strrchr(m.dso->path, '/');
        base = base ? base + 1 : m.dso->path;
        if (!p->has_main && p->comm && *p->comm && !strncmp(base, p->comm, strlen(p->comm)))
            p->has_main = true, p->main = p->nmaps;
        p->maps[p->nmaps++] = k;
        *slot = (uint32_t)p->nmaps;
        p->tmap.h[slot - p->tmap.v] = h;
        p->tmap.n++;
    }
    *id = *slot;
    return 0;
}

typedef struct kperf__pp_lockey { uint64_t addr; uint32_t pid; } kperf__pp_lockey;

static bool kperf__pp_loc_eq(const kperf_pprof *p, uint32_t i, const void *key) {
    const kperf__pp_lockey *k = (const kperf__pp_lockey *)key;
    return p->locs[i].addr == k->addr && p->locs[i].pid == k->pid;
}

/* A new location for (pid, a): its mapping and the inline chain of a. */
static int kperf__pp_loc_new(kperf_pprof *p, uint32_t pid, uint64_t a) {
    kperf__pp_loc l = {a, pid, 0, (uint32_t)p->nlines, 0};
    kperf_frame fr[16];
    int nf = 0;
    if (p->d.symbolizer) {
        nf = kperf_symbolizer_lookup(p->d.symbolizer, (pid_t)pid, a, fr, 16);
        if (kperf__pp_map_id(p, (pid_t)pid, a, &l.map)) return -ENOMEM;
    }
    for (int i = 0; i < nf && fr[i].function; i++) {
        if (kperf__sym_grow(&p->lines, &p->caplines, p->nlines + 1, sizeof *p->lines))
            return -ENOMEM;
        kperf__pp_line *ln = &p->lines[p->nlines];
        if (kperf__pp_func_id(p, &fr[i], &ln->func)) return -ENOMEM;
        ln->line = fr[i].line;
        p->nlines++, l.nlines++;
    }
    if (kperf__sym_grow(&p->locs, &p->caplocs, p->nlocs + 1, sizeof *p->locs)) return -ENOMEM;
    p->locs[p->nlocs++] = l;
    return 0;
}

/* The location id of address a of pid (looked up as given). */
static int kperf__pp_loc_id(kperf_pprof *p, uint32_t pid, uint64_t a, uint32_t *id) {
    kperf__pp_lockey k = {a, pid};
    uint64_t h = kperf__pp_mix(kperf__pp_mix(0, a), pid);
    if (kperf__pp_reserve(&p->tloc)) return -ENOMEM;
    uint32_t *slot = kperf__pp_find(&p->tloc, h, kperf__pp_loc_eq, p, &k);
    if (!*slot) {
        size_t at = (size_t)(slot - p->tloc.v);
        if (kperf__pp_loc_new(p, pid, a)) return -ENOMEM;
        slot = &p->tloc.v[at]; /* the lookup may have interned strings, not locations */
        *slot = (uint32_t)p->nlocs;
        p->tloc.h[at] = h;
        p->tloc.n++;
    }
    *id = *slot;
    return 0;
}

static bool kperf__pp_smp_eq(const kperf_pprof *p, uint32_t i, const void *key) {
    const kperf__pp_smp *a = &p->smps[i], *b = (const kperf__pp_smp *)key;
    return a->nraw == b->nraw && a->comm == b->comm && a->pid == b->pid &&
           (!a->nraw || !memcmp(p->raw + a->raw0, p->raw + b->raw0, a->nraw * sizeof *p->raw));
}

KPERF_API int kperf_pprof_new(kperf_pprof **out, const kperf_pprof_desc *desc) {
    if (!out) return kperf__fail(EINVAL, "kperf_pprof_new: out is NULL");
    *out = NULL;
    kperf_pprof *p = (kperf_pprof *)kperf__calloc(1, sizeof *p);
    if (!p) return kperf__fail(ENOMEM, "kperf_pprof_new: out of memory");
    if (desc) p->d = *desc;
    if (p->d.nevents > 16) {
        KPERF_FREE(p);
        return kperf__fail(EINVAL, "kperf_pprof_new: %zu events, at most 16", desc->nevents);
    }
    if (!p->d.time_nanos) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        p->d.time_nanos = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    uint32_t empty;
    int rc = kperf__pp_str(p, "", &empty); /* string 0 must be "" */
    p->ntypes = p->d.nevents > 1 ? (uint32_t)p->d.nevents : 1;
    for (uint32_t i = 0; i < p->ntypes && !rc; i++) {
        const char *ev = p->d.nevents > 1 ? p->d.events[i] : p->d.event;
        if (!ev || !*ev) ev = "cpu-clock";
        size_t evlen = strcspn(ev, ":/");
        bool cpu = (evlen == 9 && !strncmp(ev, "cpu-clock", 9)) ||
                   (evlen == 10 && !strncmp(ev, "task-clock", 10));
        bool wall = evlen == 4 && !strncmp(ev, "wall", 4); /* off-CPU time */
        rc = kperf__pp_str(p, cpu ? "cpu" : ev, &p->type[i]);
        if (!rc) rc = kperf__pp_str(p, cpu || wall ? "nanoseconds" : "count", &p->unit[i]);
    }
    if (!rc) rc = kperf__pp_str(p, p->d.comment, &p->comment);
    if (!rc) rc = kperf__pp_str(p, "comm", &p->key_comm);
    if (!rc) rc = kperf__pp_str(p, "pid", &p->key_pid);
    if (!rc) rc = kperf__pp_str(p, "samples", &p->samples);
    if (!rc) rc = kperf__pp_str(p, "count", &p->count);
    p->d.event = p->d.comment = NULL; /* not kept: the caller's strings */
    p->d.events = NULL;
    if (rc) {
        kperf_pprof_free(p);
        return kperf__fail(ENOMEM, "kperf_pprof_new: out of memory");
    }
    *out = p;
    return 0;
}

KPERF_API void kperf_pprof_free(kperf_pprof *p) {
    if (!p) return;
    for (size_t i = 0; i < p->nstrs; i++) KPERF_FREE(p->strs[i]);
    KPERF_FREE(p->strs);
    KPERF_FREE(p->funcs);
    KPERF_FREE(p->maps);
    KPERF_FREE(p->locs);
    KPERF_FREE(p->lines);
    KPERF_FREE(p->smps);
    KPERF_FREE(p->stk);
    KPERF_FREE(p->raw);
    KPERF_FREE(p->vals);
    kperf__pp_tab *t[5] = {&p->tstr, &p->tfunc, &p->tmap, &p->tloc, &p->tsmp};
    for (int i = 0; i < 5; i++) KPERF_FREE(t[i]->v), KPERF_FREE(t[i]->h);
    KPERF_FREE(p);
}

KPERF_API void kperf_pprof_buffer_free(uint8_t *buf) { KPERF_FREE(buf); }

/* Appends smp's addresses to p->raw (from p->nraw, *n of them), leaf first: the frames
 * kperf_folded_add() names (markers and chain ends skipped). */
static int kperf__pp_raw(kperf_pprof *p, const kperf_sample *smp, size_t *n) {
    const uint64_t *ips = smp->nips ? smp->ips : &smp->ip;
    size_t nips = smp->nips ? smp->nips : 1, leaf = 0;
    while (leaf < nips && ips[leaf] >= KPERF_CONTEXT_MAX) leaf++;
    if (kperf__sym_grow(&p->raw, &p->capraw, p->nraw + nips + 1, sizeof *p->raw)) return -ENOMEM;
    for (size_t i = leaf; i < nips; i++) {
        uint64_t a = ips[i];
        if (a >= KPERF_CONTEXT_MAX || (!a && i != leaf)) continue;
        p->raw[p->nraw + (*n)++] = a;
    }
    return 0;
}

/* The location ids of a new sample's addresses into p->stk: every frame but the leaf is a
 * return address, looked up as addr - 1. */
static int kperf__pp_locs(kperf_pprof *p, kperf__pp_smp *k) {
    if (kperf__sym_grow(&p->stk, &p->capstk, p->nstk + k->nraw, sizeof *p->stk)) return -ENOMEM;
    k->loc0 = (uint32_t)p->nstk;
    for (uint32_t i = 0; i < k->nraw; i++) {
        uint64_t a = p->raw[k->raw0 + i];
        if (kperf__pp_loc_id(p, k->pid, i == 0 ? a : a - 1, &p->stk[p->nstk + i])) return -ENOMEM;
    }
    k->nloc = k->nraw;
    p->nstk += k->nraw;
    return 0;
}

/* The string index of comm; the previous sample's is reused when it is the same string. */
static int kperf__pp_comm(kperf_pprof *p, const char *comm, uint32_t *idx) {
    *idx = 0;
    if (!comm || !*comm) return 0;
    if (p->last_comm == comm && !strcmp(p->strs[p->last_comm_idx], comm)) {
        *idx = p->last_comm_idx;
        return 0;
    }
    if (kperf__pp_str(p, comm, idx)) return -ENOMEM;
    p->last_comm = comm, p->last_comm_idx = *idx;
    return 0;
}

/* True when smp has the same pid, comm and addresses as sample e (compared as they are
 * filtered, without a copy): consecutive samples often repeat a stack. */
static bool kperf__pp_same(const kperf_pprof *p, const kperf__pp_smp *e, const kperf_sample *smp,
                           const char *comm) {
    if (e->pid != smp->pid) return false;
    if (!p->d.no_labels && (e->comm ? !comm || strcmp(p->strs[e->comm], comm) : comm && *comm))
        return false;
    const uint64_t *ips = smp->nips ? smp->ips : &smp->ip, *raw = p->raw + e->raw0;
    size_t nips = smp->nips ? smp->nips : 1, leaf = 0, k = 0;
    while (leaf < nips && ips[leaf] >= KPERF_CONTEXT_MAX) leaf++;
    for (size_t i = leaf; i < nips; i++) {
        uint64_t a = ips[i];
        if (a >= KPERF_CONTEXT_MAX || (!a && i != leaf)) continue;
        if (k == e->nraw || raw[k++] != a) return false;
    }
    return k == e->nraw;
}

/* Samples are keyed by their addresses as sampled (with comm and pid): a stack seen before
 * costs one hash and one compare, and no location lookups. */
KPERF_API int kperf_pprof_add(kperf_pprof *p, const kperf_sample *smp, const char *comm) {
    return kperf_pprof_add_event(p, smp, comm, 0);
}

KPERF_API int kperf_pprof_add_event(kperf_pprof *p, const kperf_sample *smp, const char *comm,
                                    int event) {
    if (!p || !smp) return kperf__fail(EINVAL, "kperf_pprof_add: NULL argument");
    if (event < 0 || (uint32_t)event >= p->ntypes)
        return kperf__fail(EINVAL, "kperf_pprof_add_event: event %d of %u", event, p->ntypes);
    uint64_t value = smp->period ? smp->period : p->d.period;
    p->comm = comm;
    if (p->last_smp && kperf__pp_same(p, &p->smps[p->last_smp - 1], smp, comm)) {
        p->smps[p->last_smp - 1].count++;
        p->vals[(size_t)(p->last_smp - 1) * p->ntypes + (uint32_t)event] += value;
        return 0;
    }
    kperf__pp_smp k;
    memset(&k, 0, sizeof k);
    k.count = 1;
    k.pid = smp->pid, k.raw0 = (uint32_t)p->nraw;
    size_t n = 0;
    if (!p->d.no_labels && kperf__pp_comm(p, comm, &k.comm)) goto nomem;
    if (kperf__pp_raw(p, smp, &n)) goto nomem;
    k.nraw = (uint32_t)n;
    {
        uint64_t h = kperf__pp_mix(kperf__pp_mix(0, k.comm), k.pid);
        for (size_t i = 0; i < n; i++) h = kperf__pp_mix(h, p->raw[k.raw0 + i]);
        if (kperf__pp_reserve(&p->tsmp)) goto nomem;
        uint32_t *slot = kperf__pp_find(&p->tsmp, h, kperf__pp_smp_eq, p, &k);
        if (*slot) { /* a stack seen before: its addresses are dropped from p->raw */
            p->smps[*slot - 1].count++;
            p->vals[(size_t)(*slot - 1) * p->ntypes + (uint32_t)event] += value;
            p->last_smp = *slot;
            return 0;
        }
        size_t at = (size_t)(slot - p->tsmp.v);
        if (kperf__pp_locs(p, &k) ||
            kperf__sym_grow(&p->smps, &p->capsmps, p->nsmps + 1, sizeof *p->smps) ||
            kperf__sym_grow(&p->vals, &p->capvals, (p->nsmps + 1) * p->ntypes, sizeof *p->vals))
            goto nomem;
        memset(p->vals + p->nsmps * p->ntypes, 0, p->ntypes * sizeof *p->vals);
        p->vals[p->nsmps * p->ntypes + (uint32_t)event] = value;
        p->smps[p->nsmps++] = k;
        p->nraw += n;
        p->tsmp.v[at] = p->last_smp = (uint32_t)p->nsmps; /* lookups leave this table alone */
        p->tsmp.h[at] = h;
        p->tsmp.n++;
    }
    return 0;
nomem:
    return kperf__fail(ENOMEM, "kperf_pprof_add: out of memory");
}

/* ---- protobuf wire format ---- */
typedef struct kperf__pb {
    uint8_t *p;
    size_t n, cap;
    int err;
} kperf__pb;

static uint8_t *kperf__pb_room(kperf__pb *b, size_t k) {
    if (b->err) return NULL;
    if (kperf__sym_grow(&b->p, &b->cap, b->n + k, 1)) {
        b->err = -ENOMEM;
        return NULL;
    }
    return b->p + b->n;
}

static void kperf__pb_varint(kperf__pb *b, uint64_t v) {
    uint8_t *o = kperf__pb_room(b, 10);
    if (!o) return;
    size_t k = 0;
    for (; v >= 0x80; v >>= 7) o[k++] = (uint8_t)(v | 0x80);
    o[k++] = (uint8_t)v;
    b->n += k;
}

/* A varint field (wire type 0); zero is the default and is left out. */
static void kperf__pb_uint(kperf__pb *b, uint32_t field, uint64_t v) {
    if (!v) return;
    kperf__pb_varint(b, (uint64_t)field << 3);
    kperf__pb_varint(b, v);
}

/* A length-delimited field (wire type 2): bytes, a string, a message, a packed list. */
static void kperf__pb_bytes(kperf__pb *b, uint32_t field, const void *data, size_t n) {
    kperf__pb_varint(b, (uint64_t)field << 3 | 2);
    kperf__pb_varint(b, n);
    uint8_t *o = kperf__pb_room(b, n);
    if (o && n) memcpy(o, data, n), b->n += n;
}

static void kperf__pb_msg(kperf__pb *b, uint32_t field, kperf__pb *sub) {
    kperf__pb_bytes(b, field, sub->p, sub->n);
    if (sub->err) b->err = sub->err;
    sub->n = 0;
}

/* ValueType { type = 1, unit = 2 } */
static void kperf__pp_value_type(kperf__pb *b, uint32_t field, kperf__pb *t, uint32_t type,
                                 uint32_t unit) {
    kperf__pb_uint(t, 1, type);
    kperf__pb_uint(t, 2, unit);
    kperf__pb_msg(b, field, t);
}

/* Sample { location_id = 1 (packed), value = 2 (packed), label = 3 } */
static void kperf__pp_enc_samples(const kperf_pprof *p, kperf__pb *b, kperf__pb *m, kperf__pb *t) {
    for (size_t i = 0; i < p->nsmps; i++) {
        const kperf__pp_smp *s = &p->smps[i];
        for (uint32_t k = 0; k < s->nloc; k++) kperf__pb_varint(t, p->stk[s->loc0 + k]);
        kperf__pb_msg(m, 1, t);
        kperf__pb_varint(t, s->count);
        for (uint32_t e = 0; e < p->ntypes; e++)
            kperf__pb_varint(t, p->vals[i * p->ntypes + e]);
        kperf__pb_msg(m, 2, t);
        if (s->comm) { /* Label { key = 1, str = 2, num = 3 } */
            kperf__pb_uint(t, 1, p->key_comm);
            kperf__pb_uint(t, 2, s->comm);
            kperf__pb_msg(m, 3, t);
        }
        if (!p->d.no_labels) {
            kperf__pb_uint(t, 1, p->key_pid); /* Label { key = 1, num = 3 } */
            kperf__pb_uint(t, 3, s->pid);
            kperf__pb_msg(m, 3, t);
        }
        kperf__pb_msg(b, 2, m);
    }
}

/* Mapping = 3, Location = 4 (Line = 4 inside), Function = 5. */
static void kperf__pp_enc_tables(const kperf_pprof *p, kperf__pb *b, kperf__pb *m, kperf__pb *t) {
    for (size_t j = 0; j < p->nmaps; j++) { /* in id order: the main program first */
        size_t i = !p->has_main ? j : j == 0 ? p->main : j <= p->main ? j - 1 : j;
        const kperf__pp_map *x = &p->maps[i];
        kperf__pb_uint(m, 1, kperf__pp_map_num(p, i));
        kperf__pb_uint(m, 2, x->start);
        kperf__pb_uint(m, 3, x->end);
        kperf__pb_uint(m, 4, x->pgoff);
        kperf__pb_uint(m, 5, x->file);
        kperf__pb_uint(m, 6, x->bid);
        for (uint32_t f = 7; f <= 10; f++) kperf__pb_uint(m, f, 1); /* symbolized here */
        kperf__pb_msg(b, 3, m);
    }
    for (size_t i = 0; i < p->nlocs; i++) {
        const kperf__pp_loc *l = &p->locs[i];
        kperf__pb_uint(m, 1, i + 1);
        kperf__pb_uint(m, 2, l->map ? kperf__pp_map_num(p, l->map - 1) : 0);
        kperf__pb_uint(m, 3, l->addr);
        for (uint32_t k = 0; k < l->nlines; k++) {
            kperf__pb_uint(t, 1, p->lines[l->line0 + k].func);
            kperf__pb_uint(t, 2, p->lines[l->line0 + k].line);
            kperf__pb_msg(m, 4, t);
        }
        kperf__pb_msg(b, 4, m);
    }
    for (size_t i = 0; i < p->nfuncs; i++) {
        kperf__pb_uint(m, 1, i + 1);
        kperf__pb_uint(m, 2, p->funcs[i].name);
        kperf__pb_uint(m, 3, p->funcs[i].sys);
        kperf__pb_uint(m, 4, p->funcs[i].file);
        kperf__pb_msg(b, 5, m);
    }
}

/* The uncompressed Profile message. */
static void kperf__pp_enc(const kperf_pprof *p, kperf__pb *b) {
    kperf__pb m = {NULL, 0, 0, 0}, t = {NULL, 0, 0, 0};
    kperf__pp_value_type(b, 1, &t, p->samples, p->count);
    for (uint32_t e = 0; e < p->ntypes; e++)
        kperf__pp_value_type(b, 1, &t, p->type[e], p->unit[e]);
    kperf__pp_enc_samples(p, b, &m, &t);
    kperf__pp_enc_tables(p, b, &m, &t);
    for (size_t i = 0; i < p->nstrs; i++) kperf__pb_bytes(b, 6, p->strs[i], strlen(p->strs[i]));
    kperf__pb_uint(b, 9, (uint64_t)p->d.time_nanos);
    kperf__pb_uint(b, 10, (uint64_t)p->d.duration_nanos);
    kperf__pp_value_type(b, 11, &t, p->type[0], p->unit[0]);
    kperf__pb_uint(b, 12, p->d.period);
    if (p->comment) {
        kperf__pb_varint(b, 13u << 3);
        kperf__pb_varint(b, p->comment);
    }
    if (m.err || t.err) b->err = -ENOMEM;
    KPERF_FREE(m.p);
    KPERF_FREE(t.p);
}

/* gzip (RFC 1952) of in, through zlib's deflate with a gzip wrapper. */
static int kperf__pp_gzip(const uint8_t *in, size_t n, uint8_t **out, size_t *len) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return kperf__fail(ENOMEM, "pprof: zlib deflateInit2 failed");
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    uint8_t *o = (uint8_t *)KPERF_MALLOC(cap);
    if (!o) {
        deflateEnd(&z);
        return kperf__fail(ENOMEM, "pprof: out of memory");
    }
    z.next_in = (Bytef *)(uintptr_t)in, z.avail_in = (uInt)n;
    z.next_out = o, z.avail_out = (uInt)cap;
    int zr = deflate(&z, Z_FINISH);
    *len = cap - z.avail_out;
    deflateEnd(&z);
    if (zr != Z_STREAM_END) {
        KPERF_FREE(o);
        return kperf__fail(EIO, "pprof: zlib deflate failed (%d)", zr);
    }
    *out = o;
    return 0;
}

KPERF_API int kperf_pprof_encode(kperf_pprof *p, uint8_t **out, size_t *len) {
    if (!p || !out || !len) return kperf__fail(EINVAL, "kperf_pprof_encode: NULL argument");
    *out = NULL, *len = 0;
    kperf__pb b = {NULL, 0, 0, 0};
    kperf__pp_enc(p, &b);
    if (b.err || (uint64_t)b.n >> 32) {
        KPERF_FREE(b.p);
        return kperf__fail(ENOMEM, "pprof: out of memory (or a profile over 4 GiB)");
    }
    int rc = kperf__pp_gzip(b.p, b.n, out, len);
    KPERF_FREE(b.p);
    return rc;
}

KPERF_API int kperf_pprof_write(kperf_pprof *p, const char *path) {
    if (!p || !path) return kperf__fail(EINVAL, "kperf_pprof_write: NULL argument");
    uint8_t *buf;
    size_t len;
    int rc = kperf_pprof_encode(p, &buf, &len);
    if (rc) return rc;
    FILE *f = strcmp(path, "-") ? kperf__fopen_out(path) : stdout; /* no planted symlink */
    if (!f) {
        rc = -errno; /* kperf_file_create's message names the file and the reason */
    } else {
        bool bad = fwrite(buf, 1, len, f) != len;
        bad |= f != stdout ? fclose(f) != 0 : fflush(f) != 0;
        if (bad) rc = kperf__fail(EIO, "pprof: writing %s failed", path);
    }
    kperf_pprof_buffer_free(buf);
    return rc ? rc : (int)(p->nsmps > INT32_MAX ? INT32_MAX : p->nsmps);
}

#ifndef KPERF_NO_SAMPLING
/* ---- profiling the calling process ---- */
typedef struct kperf__pp_self {
    kperf_sampler *s;
    kperf_symbolizer *sym;
    kperf_pprof *p;
    uint64_t n;
} kperf__pp_self;

static int kperf__pp_self_rec(const kperf_record *rec, void *user) {
    kperf__pp_self *c = (kperf__pp_self *)user;
    if (rec->type == KPERF_RECORD_MMAP2 && (rec->mmap.prot & 4 /* PROT_EXEC */)) {
        kperf_module_desc md = {(pid_t)rec->mmap.pid, rec->mmap.addr, rec->mmap.len,
                                rec->mmap.pgoff, rec->mmap.filename, rec->mmap.build_id,
                                rec->mmap.build_id_size, false};
        kperf_symbolizer_add_module(c->sym, &md); /* a library loaded meanwhile */
        return 0;
    }
    if (rec->type != KPERF_RECORD_SAMPLE) return 0;
    c->n++;
    return kperf_pprof_add(c->p, &rec->sample, kperf_sampler_comm(c->s, rec->sample.tid));
}

/* Samples until the time is up or *cancel, draining the rings as they fill. */
static int kperf__pp_self_run(kperf__pp_self *c, double seconds, volatile const int *cancel) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct pollfd pfd = {kperf_sampler_fd(c->s), POLLIN, 0};
    int rc = kperf_sampler_start(c->s);
    for (;;) {
        if (rc < 0 && rc != -KPERF_ECORRUPT) return rc;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double el = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
        if (el >= seconds || (cancel && *cancel)) break;
        double left = (seconds - el) * 1000.0;
        poll(&pfd, 1, left < 50.0 ? (int)left + 1 : 50);
        rc = kperf_sampler_read(c->s, kperf__pp_self_rec, c);
    }
    kperf_sampler_stop(c->s);
    rc = kperf_sampler_read(c->s, kperf__pp_self_rec, c);
    return rc < 0 && rc != -KPERF_ECORRUPT ? rc : 0;
}

KPERF_API int kperf_pprof_profile_self(const kperf_pprof_profile_desc *desc, uint8_t **out,
                                       size_t *len) {
    if (!out || !len) return kperf__fail(EINVAL, "kperf_pprof_profile_self: out and len are required");
    *out = NULL, *len = 0;
    kperf_pprof_profile_desc d;
    memset(&d, 0, sizeof d);
    if (desc) d = *desc;
    if (!(d.seconds >= 0) || d.seconds > 86400.0)
        return kperf__fail(EINVAL, "kperf_pprof_profile_self: seconds must be 0..86400");
    if (d.seconds == 0) d.seconds = 30;
    if (!d.freq) d.freq = 100;
    const char *ev = d.events ? d.events : "cpu-clock";
    pid_t self = getpid();
    kperf__pp_self c;
    memset(&c, 0, sizeof c);
    kperf_sampler_desc sd;
    memset(&sd, 0, sizeof sd);
    sd.events = ev, sd.freq = d.freq, sd.callchain = true, sd.pids = &self, sd.npids = 1;
    sd.inherit = true, sd.include_kernel = d.include_kernel;
    char comment[128];
    snprintf(comment, sizeof comment, "kperf_pprof_profile_self: pid %d, %s at %llu Hz for %g s",
             (int)self, ev, (unsigned long long)d.freq, d.seconds);
    kperf_symbolizer_desc yd;
    memset(&yd, 0, sizeof yd);
    yd.mode = KPERF_SYMBOL_DELAYED, yd.include_kernel = d.include_kernel;
    kperf_pprof_desc pd;
    memset(&pd, 0, sizeof pd);
    pd.event = ev, pd.period = 1000000000ull / d.freq, pd.comment = comment;
    pd.duration_nanos = (int64_t)(d.seconds * 1e9);
    int rc = kperf_sampler_open(&c.s, &sd);
    if (!rc) rc = kperf_symbolizer_open(&c.sym, &yd);
    if (!rc) pd.symbolizer = c.sym, rc = kperf_pprof_new(&c.p, &pd);
    if (!rc) kperf_symbolizer_add_pid(c.sym, self);
    if (!rc) rc = kperf__pp_self_run(&c, d.seconds, d.cancel);
    if (!rc) rc = kperf_pprof_encode(c.p, out, len);
    kperf_pprof_free(c.p);
    kperf_symbolizer_close(c.sym);
    kperf_sampler_close(c.s);
    if (rc < 0) return rc;
    return c.n > INT32_MAX ? INT32_MAX : (int)c.n;
}
#endif // KPERF_NO_SAMPLING

// <<symbols

#ifdef __cplusplus
}
#endif
#endif // KPERF_SYMBOLS_IMPL_INCLUDED
#endif // KPERF_IMPLEMENTATION
