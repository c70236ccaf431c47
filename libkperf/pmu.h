/* pmu.h - libkperf's C API (PmuOpen ... PmuClose, traces, devices, topology) for kperf.
 * SPDX-License-Identifier: MIT
 *
 * The libkperf drop-in: these headers (pmu.h, pcerrc.h, symbol.h) are named and shaped as
 * libkperf's, and build/libkperf.so (`make`) implements them on kperf's objects. A libkperf
 * C program builds unchanged:
 *     cc prog.c -Ilibkperf -Lbuild -lkperf
 * Source compatible with libkperf programs (not binary compatible: one-bit bitfields of
 * libkperf's PmuAttr are plain unsigned fields here, the period/freq union is two fields).
 * The headers need only libc; libkperf.so itself links libelf/libdw (symbols, unwinding).
 * Thread safety: different descriptors may be used from different threads at once; one
 * descriptor from one thread at a time (do not close it while another thread reads it).
 * Perror()/Perrorno() are per thread. See docs/python.md. */
/** @file pmu.h
 *  @brief libkperf's C API: tasks (counting, sampling, SPE), traces, devices, topology. */
#ifndef KPERF_LIBKPERF_PMU_H
#define KPERF_LIBKPERF_PMU_H

#include <stdint.h>
#include <sys/types.h>

#include "pcerrc.h"
#include "symbol.h"

#ifdef __cplusplus
extern "C" {
#endif

/** What a task collects (libkperf's PmuTaskType). */
enum PmuTaskType {
    COUNTING = 0,       /**< counters: one record per event per target at each PmuRead */
    SAMPLING = 1,       /**< sampling: one record per sample */
    SPE_SAMPLING = 2,   /**< Arm SPE sampling (needs an arm_spe PMU) */
    MAX_TASK_TYPE = 3   /**< one past the last type */
};

/** Which events PmuEventList() lists (libkperf's PmuEventType). */
enum PmuEventType {
    CORE_EVENT = 0,     /**< hardware/cache events of the core PMU and its aliases */
    UNCORE_EVENT = 1,   /**< uncore PMU aliases, as `pmu/alias/` */
    TRACE_EVENT = 2,    /**< tracepoints `sys:name` */
    ALL_EVENT = 3       /**< every event kperf knows, software events included */
};

/** Symbol resolution of samples (libkperf's SymbolMode). */
enum SymbolMode {
    NO_SYMBOL_RESOLVE = 0,  /**< addresses only (Symbol::addr, no names) */
    RESOLVE_ELF = 1,        /**< function names from ELF symbol tables */
    RESOLVE_ELF_DWARF = 2   /**< function names plus file:line from DWARF */
};

/** SPE data filter: timestamps (libkperf's SpeFilter; the filter values are macros because
 *  some exceed an int). */
#define SPE_FILTER_NONE 0ULL
/** SPE data filter: enable the generic-timer timestamp. */
#define TS_ENABLE (1ULL << 0)
/** SPE data filter: collect physical addresses. */
#define PA_ENABLE (1ULL << 1)
/** SPE data filter: physical timestamps instead of virtual ones. */
#define PCT_ENABLE (1ULL << 2)
/** SPE data filter: jitter the sampling interval. */
#define JITTER (1ULL << 16)
/** SPE data filter: branches only. */
#define BRANCH_FILTER (1ULL << 32)
/** SPE data filter: loads only. */
#define LOAD_FILTER (1ULL << 33)
/** SPE data filter: stores only. */
#define STORE_FILTER (1ULL << 34)
/** SPE data filter: every bit above. */
#define SPE_DATA_ALL (TS_ENABLE | PA_ENABLE | PCT_ENABLE | JITTER | BRANCH_FILTER | \
                      LOAD_FILTER | STORE_FILTER)

/** SPE event filter (libkperf's SpeEventFilter): keep only records with these events. */
enum SpeEventFilter {
    SPE_EVENT_NONE = 0,             /**< no event filter */
    SPE_EVENT_RETIRED = 0x2,        /**< retired instructions */
    SPE_EVENT_L1DMISS = 0x8,        /**< L1D refills */
    SPE_EVENT_TLB_WALK = 0x20,      /**< TLB walks */
    SPE_EVENT_MISPREDICTED = 0x80   /**< mispredicted branches */
};

/** Branch-stack filter bits (libkperf's BranchSampleFilter; the kernel's values). */
enum BranchSampleFilter {
    KPERF_NO_BRANCH_SAMPLE = 0,             /**< no branch stack */
    KPERF_SAMPLE_BRANCH_USER = 1 << 0,      /**< targets in user space */
    KPERF_SAMPLE_BRANCH_KERNEL = 1 << 1,    /**< targets in the kernel */
    KPERF_SAMPLE_BRANCH_HV = 1 << 2,        /**< targets in the hypervisor */
    KPERF_SAMPLE_BRANCH_ANY = 1 << 3,       /**< any branch */
    KPERF_SAMPLE_BRANCH_ANY_CALL = 1 << 4,  /**< any call */
    KPERF_SAMPLE_BRANCH_ANY_RETURN = 1 << 5,/**< any return */
    KPERF_SAMPLE_BRANCH_IND_CALL = 1 << 6,  /**< indirect calls */
    KPERF_SAMPLE_BRANCH_ABORT_TX = 1 << 7,  /**< transaction aborts */
    KPERF_SAMPLE_BRANCH_IN_TX = 1 << 8,     /**< in a transaction */
    KPERF_SAMPLE_BRANCH_NO_TX = 1 << 9,     /**< not in a transaction */
    KPERF_SAMPLE_BRANCH_COND = 1 << 10,     /**< conditional branches */
    KPERF_SAMPLE_BRANCH_CALL_STACK = 1 << 11, /**< call-stack mode */
    KPERF_SAMPLE_BRANCH_IND_JUMP = 1 << 12, /**< indirect jumps */
    KPERF_SAMPLE_BRANCH_CALL = 1 << 13,     /**< direct calls */
    KPERF_SAMPLE_BRANCH_NO_FLAGES = 1 << 14,/**< no flags (libkperf's spelling) */
    KPERF_SAMPLE_BRANCH_NO_CYCLES = 1 << 15,/**< no cycles */
    KPERF_SAMPLE_BRANCH_TYPE_SAVE = 1 << 16 /**< save the branch type */
};

/** Event grouping (libkperf's EvtAttr): events with the same groupId open as one group;
 *  -1 (or no evtAttr array) means ungrouped. */
typedef struct EvtAttr {
    int groupId;            /**< group number; -1 = not grouped */
} EvtAttr;

/** What to collect (libkperf's PmuAttr). Zero-initialised: every CPU, every process, the
 *  events given, kernel and user space (like libkperf). */
typedef struct PmuAttr {
    char **evtList;         /**< event names (perf syntax); SPE_SAMPLING ignores them */
    unsigned numEvt;        /**< number of events */
    int *pidList;           /**< processes to collect (all their threads); NULL = all */
    unsigned numPid;        /**< number of pids */
    int *cpuList;           /**< CPUs to collect on; NULL = every online CPU */
    unsigned numCpu;        /**< number of CPUs */
    EvtAttr *evtAttr;       /**< numEvt group ids, or NULL (no groups) */
    unsigned period;        /**< SAMPLING: sample every this many events (useFreq = 0);
                                 0 = 4000 */
    unsigned freq;          /**< SAMPLING: samples per second (useFreq = 1); 0 = period's
                                 value, then 1000 */
    unsigned useFreq;       /**< 1: freq is a frequency; 0: period is a period */
    unsigned excludeUser;   /**< 1: do not collect user space */
    unsigned excludeKernel; /**< 1: do not collect kernel space (needed as an unprivileged
                                 user when perf_event_paranoid is 2) */
    enum SymbolMode symbolMode; /**< SAMPLING: how stacks are symbolized */
    unsigned callStack;     /**< SAMPLING: 1 = whole call chains, 0 = the top frame only;
                                 2 (a kperf extension) = whole call chains unwound with
                                 DWARF CFI from user registers and 8 KiB of stack per
                                 sample, for code built without frame pointers */
    unsigned long long dataFilter; /**< SPE_SAMPLING: SPE_* data filter bits */
    unsigned evFilter;      /**< SPE_SAMPLING: SpeEventFilter bits */
    unsigned long minLatency;   /**< SPE_SAMPLING: keep records with at least this latency */
    unsigned includeNewFork;    /**< COUNTING: threads created after the open are counted
                                     and exited ones reported as their own records */
    unsigned long branchSampleFilter; /**< SAMPLING: BranchSampleFilter bits; 0 = none */
} PmuAttr;

/** Where a CPU sits (libkperf's CpuTopology); -1 when unknown. */
typedef struct CpuTopology {
    int coreId;             /**< the CPU number (libkperf reports the logical CPU) */
    int numaId;             /**< NUMA node */
    int socketId;           /**< physical package */
} CpuTopology;

/** One branch record (libkperf's BranchSampleRecord). */
typedef struct BranchSampleRecord {
    unsigned long fromAddr; /**< branch source */
    unsigned long toAddr;   /**< branch target */
    unsigned long cycles;   /**< cycles since the previous branch (0 when unknown) */
    unsigned char misPred;  /**< 1 when mispredicted */
    unsigned char predicted;/**< 1 when predicted */
} BranchSampleRecord;

/** Extra data of SPE and branch samples (libkperf's PmuDataExt). */
typedef struct PmuDataExt {
    unsigned long pa;       /**< SPE: physical data address */
    unsigned long va;       /**< SPE: virtual data address */
    unsigned long event;    /**< SPE: event bits */
    BranchSampleRecord *branchRecords; /**< branch stack, most recent first; NULL if none */
    unsigned long nr;       /**< number of branch records */
} PmuDataExt;

/** The raw payload of a tracepoint sample (libkperf's SampleRawData): read it with
 *  PmuGetField(). */
typedef struct SampleRawData {
    char *data;             /**< the raw bytes (common_type first) */
    unsigned size;          /**< number of bytes */
} SampleRawData;

/** A tracepoint field's description (libkperf's SampleRawField). */
typedef struct SampleRawField {
    char *fieldName;        /**< the field's name */
    char *fieldStr;         /**< its declaration as tracefs writes it ("char prev_comm[16]") */
    unsigned offset;        /**< byte offset in the raw record */
    unsigned size;          /**< size in bytes */
    unsigned isSigned;      /**< 1 when signed */
} SampleRawField;

/** One record of PmuRead() (libkperf's PmuData). */
typedef struct PmuData {
    Stack *stack;           /**< SAMPLING: the call stack (top frame first); NULL otherwise */
    const char *evt;        /**< event name */
    int64_t ts;             /**< SAMPLING: timestamp (ns, CLOCK_MONOTONIC); COUNTING: the
                                 read time */
    pid_t pid;              /**< process id; -1 for a CPU-wide counter */
    int tid;                /**< thread id; -1 for a CPU-wide counter */
    int cpu;                /**< CPU; -1 for a counter that follows its thread */
    int groupId;            /**< the event's EvtAttr groupId (-1 when ungrouped) */
    CpuTopology *cpuTopo;   /**< where cpu sits (never NULL; -1 fields when unknown) */
    const char *comm;       /**< process name ("" when unknown) */
    uint64_t period;        /**< SAMPLING: events since the previous sample */
    uint64_t count;         /**< COUNTING: increase since the previous PmuRead() of the
                                 task (scaled when multiplexed); SAMPLING: 1 */
    double countPercent;    /**< COUNTING: time running / time enabled (1.0 = exact) */
    PmuDataExt *ext;        /**< SPE or branch data; NULL when none */
    SampleRawData *rawData; /**< tracepoint payload; NULL when none */
} PmuData;

/** @brief Opens a task (libkperf's PmuOpen).
 *  @param collectType COUNTING, SAMPLING or SPE_SAMPLING.
 *  @param attr what to collect.
 *  @return a task descriptor (> 0), or -1 with Perror()/Perrorno() set. */
int PmuOpen(enum PmuTaskType collectType, PmuAttr *attr);
/** @brief Starts collection. @param pd a task. @return 0, or an error code (> 0). */
int PmuEnable(int pd);
/** @brief Stops collection. @param pd a task. @return 0, or an error code (> 0). */
int PmuDisable(int pd);
/** @brief Reads what the task collected since the previous read.
 *  @param pd a task (PmuOpen or PmuDeviceOpen).
 *  @param pmuData receives an array of records (NULL when there are none).
 *  @return the number of records, or -1 with Perror() set.
 *  *Ownership:* the array is the caller's: free it with PmuDataFree(). It stays valid
 *  after PmuClose(). */
int PmuRead(int pd, PmuData **pmuData);
/** @brief Frees an array from PmuRead(); accepts NULL. @param pmuData the array. */
void PmuDataFree(PmuData *pmuData);
/** @brief Closes a task; unknown descriptors are ignored. @param pd the task. */
void PmuClose(int pd);
/** @brief Writes records as text, one line per record (libkperf's PmuDumpData).
 *  @param pmuData records from PmuRead(). @param len their number.
 *  @param filepath the file (appended to). @param dumpDwf 1: include file:line of frames.
 *  @return 0, or an error code (> 0). */
int PmuDumpData(PmuData *pmuData, unsigned len, char *filepath, int dumpDwf);
/** @brief The names of every event of a type (libkperf's PmuEventList).
 *  @param eventType which events. @param numEvt receives the count.
 *  @return an array owned by the library, valid for the process's life; NULL on error. */
const char **PmuEventList(enum PmuEventType eventType, unsigned *numEvt);
/** @brief Copies a tracepoint field of a sample into @p value (libkperf's PmuGetField).
 *  Text fields are copied NUL-terminated; other fields as their raw bytes.
 *  @param rawData PmuData::rawData. @param fieldName the field.
 *  @param value destination. @param vSize its size.
 *  @return 0, or an error code (> 0) with Perror() set. */
int PmuGetField(SampleRawData *rawData, const char *fieldName, void *value,
                          uint32_t vSize);
/** @brief Describes a tracepoint field of a sample (libkperf's PmuGetFieldExp).
 *  @return the description, owned by the library (valid for the process's life), or NULL
 *  with Perror() set. */
SampleRawField *PmuGetFieldExp(SampleRawData *rawData, const char *fieldName);

/** What PmuTraceOpen() traces (libkperf's PmuTraceType). */
enum PmuTraceType {
    TRACE_SYS_CALL = 0      /**< system calls: one record per completed call */
};

/** What to trace (libkperf's PmuTraceAttr). */
typedef struct PmuTraceAttr {
    const char **funcs;     /**< syscall names; NULL = every syscall */
    unsigned numFuncs;      /**< number of funcs */
    int *pidList;           /**< processes; NULL = every process */
    unsigned numPid;        /**< number of pids */
    int *cpuList;           /**< CPUs; NULL = every online CPU */
    unsigned numCpu;        /**< number of CPUs */
} PmuTraceAttr;

/** One completed system call (libkperf's PmuTraceData). */
typedef struct PmuTraceData {
    const char *funcs;      /**< syscall name */
    double elapsedTime;     /**< duration in milliseconds */
    int64_t startTs;        /**< entry time (ns, CLOCK_MONOTONIC) */
    pid_t pid;              /**< process id */
    int tid;                /**< thread id */
    int cpu;                /**< CPU of the entry */
    const char *comm;       /**< thread name */
} PmuTraceData;

/** @brief Opens a syscall trace (libkperf's PmuTraceOpen).
 *  @return a descriptor (> 0), or -1 with Perror() set. */
int PmuTraceOpen(enum PmuTraceType traceType, PmuTraceAttr *traceAttr);
/** @brief Starts tracing. @return 0 or an error code (> 0). */
int PmuTraceEnable(int pd);
/** @brief Stops tracing. @return 0 or an error code (> 0). */
int PmuTraceDisable(int pd);
/** @brief Reads the calls completed since the previous read.
 *  @param pd a trace (PmuTraceOpen).
 *  @param traceData receives the array (free with PmuTraceDataFree()).
 *  @return the number of calls, or -1 with Perror() set. */
int PmuTraceRead(int pd, PmuTraceData **traceData);
/** @brief Closes a trace. */
void PmuTraceClose(int pd);
/** @brief Frees an array from PmuTraceRead(); accepts NULL. */
void PmuTraceDataFree(PmuTraceData *traceData);
/** @brief The running kernel's syscall names (libkperf's PmuSysCallFuncList).
 *  @param numFunc receives the count.
 *  @return an array owned by the library (process lifetime), or NULL with Perror() set. */
const char **PmuSysCallFuncList(unsigned *numFunc);

/** Device metrics (libkperf's PmuDeviceMetric). */
enum PmuDeviceMetric {
    PMU_DDR_READ_BW = 0,    /**< DDR read bandwidth per channel */
    PMU_DDR_WRITE_BW,       /**< DDR write bandwidth per channel */
    PMU_L3_TRAFFIC,         /**< L3 traffic per core */
    PMU_L3_MISS,            /**< L3 misses per core */
    PMU_L3_REF,             /**< L3 references per core */
    PMU_L3_LAT,             /**< L3 latency per NUMA node */
    PMU_PCIE_RX_MRD_BW,     /**< PCIe RX memory-read bandwidth per device */
    PMU_PCIE_RX_MWR_BW,     /**< PCIe RX memory-write bandwidth per device */
    PMU_PCIE_TX_MRD_BW,     /**< PCIe TX memory-read bandwidth per device */
    PMU_PCIE_TX_MWR_BW,     /**< PCIe TX memory-write bandwidth per device */
    PMU_SMMU_TRAN,          /**< SMMU address translations per device */
    PMU_METRIC_INVALID      /**< one past the last metric */
};

/** One requested device metric (libkperf's PmuDeviceAttr). */
typedef struct PmuDeviceAttr {
    enum PmuDeviceMetric metric; /**< the metric */
    char *bdf;              /**< PCIe/SMMU metrics: the device; NULL = every device */
} PmuDeviceAttr;

/** How a device value is grouped (libkperf's PmuMetricMode). */
enum PmuMetricMode {
    PMU_METRIC_INVALID_MODE = 0, /**< unknown */
    PMU_METRIC_CORE,        /**< per core: coreId */
    PMU_METRIC_NUMA,        /**< per NUMA node: numaId */
    PMU_METRIC_BDF,         /**< per PCIe device: bdf */
    PMU_METRIC_CHANNEL      /**< per DDR channel: channelId, ddrNumaId, socketId */
};

/** One device metric value (libkperf's PmuDeviceData). */
typedef struct PmuDeviceData {
    enum PmuDeviceMetric metric; /**< the metric */
    double count;           /**< the value, in the metric's unit */
    enum PmuMetricMode mode;    /**< which of the fields below name the instance */
    unsigned coreId;        /**< PMU_METRIC_CORE: the CPU */
    unsigned numaId;        /**< PMU_METRIC_NUMA: the node */
    const char *bdf;        /**< PMU_METRIC_BDF: the device */
    unsigned channelId;     /**< PMU_METRIC_CHANNEL: the channel */
    unsigned ddrNumaId;     /**< PMU_METRIC_CHANNEL: the channel's node */
    unsigned socketId;      /**< PMU_METRIC_CHANNEL: the channel's socket */
} PmuDeviceData;

/** Which devices PmuDeviceBdfList() lists (libkperf's PmuBdfType). */
enum PmuBdfType {
    PMU_BDF_TYPE_PCIE = 0,  /**< PCIe devices a PCIe PMU can watch */
    PMU_BDF_TYPE_SMMU = 1   /**< devices behind an SMMU with a PMU */
};

/** @brief Opens the uncore events behind device metrics (libkperf's PmuDeviceOpen); use
 *  the descriptor with PmuEnable/PmuDisable/PmuRead/PmuClose.
 *  @return a descriptor (> 0), or -1 with Perror() set (e.g. no PMU for the metric). */
int PmuDeviceOpen(PmuDeviceAttr *attr, unsigned len);
/** @brief Computes metric values from the records of a device task's PmuRead().
 *  @param pmuData records from PmuRead() of a PmuDeviceOpen() descriptor. @param len their
 *  number. @param attr the metrics wanted. @param attrLen their number.
 *  @param data receives the values (free with DevDataFree()).
 *  @return the number of values, or -1 with Perror() set. */
int PmuGetDevMetric(PmuData *pmuData, unsigned len, PmuDeviceAttr *attr,
                              unsigned attrLen, PmuDeviceData **data);
/** @brief Frees an array from PmuGetDevMetric(); accepts NULL. */
void DevDataFree(PmuDeviceData *data);
/** @brief The devices PCIe or SMMU metrics can measure (libkperf's PmuDeviceBdfList).
 *  @param bdfType which list. @param numBdf receives the count.
 *  @return an array owned by the library (process lifetime), or NULL with Perror() set. */
const char **PmuDeviceBdfList(enum PmuBdfType bdfType, unsigned *numBdf);
/** @brief Current frequency of a CPU (libkperf's PmuGetCpuFreq).
 *  @return the frequency in Hz, or -1 with Perror() set. */
int64_t PmuGetCpuFreq(unsigned core);
/** @brief The CPUs of a cluster (libkperf's PmuGetClusterCore).
 *  @param clusterId the cluster (topology/cluster_id).
 *  @param coreList receives an array owned by the library (valid for the process's life).
 *  @return the number of CPUs, or -1 with Perror() set. */
int PmuGetClusterCore(unsigned clusterId, unsigned **coreList);
/** @brief The CPUs of a NUMA node (libkperf's PmuGetNumaCore).
 *  @param nodeId the NUMA node.
 *  @param coreList receives an array owned by the library (valid for the process's life).
 *  @return the number of CPUs, or -1 with Perror() set. */
int PmuGetNumaCore(unsigned nodeId, unsigned **coreList);

#ifdef __cplusplus
}
#endif
#endif // KPERF_LIBKPERF_PMU_H
