"""libkperf's Python API (kperf.open, enable, read, ...) over kperf's C layer.

Names and return conventions follow libkperf: functions return -1 (open) or an error code
(> 0) and kperf.error()/kperf.errorno() describe the failure. Data returned by read()
stays valid until .free() is called or the object is garbage-collected, also after
kperf.close().
"""
import ctypes
from ctypes import POINTER, byref, c_char_p, c_int, c_uint, c_void_p
from enum import IntEnum, IntFlag

from . import _lib as L

__all__ = [
    "PmuTaskType", "PmuEventType", "SymbolMode", "SpeFilter", "SpeEventFilter",
    "BranchSampleFilter", "PmuTraceType", "PmuDeviceMetric", "PmuMetricMode", "PmuBdfType",
    "PmuAttr", "PmuTraceAttr", "PmuDeviceAttr", "PmuData", "ImplPmuData", "Stack", "Symbol",
    "CpuTopology", "PmuDataExt", "BranchRecords", "SampleRawData", "SampleRawField",
    "PmuTraceData", "ImplPmuTraceData", "PmuDeviceData", "ImplPmuDeviceData",
    "open", "enable", "disable", "read", "close", "dump", "get_field", "get_field_exp",
    "event_list", "trace_open", "trace_enable", "trace_disable", "trace_read", "trace_close",
    "sys_call_func_list", "device_open", "get_device_metric", "device_bdf_list",
    "get_cpu_freq", "get_cluster_core", "get_numa_core", "error", "errorno",
]


# ---- enums ------------------------------------------------------------------------------

class PmuTaskType(IntEnum):
    COUNTING = 0
    COUTING = 0          # libkperf's documented spelling
    SAMPLING = 1
    SPE_SAMPLING = 2
    MAX_TASK_TYPE = 3


class PmuEventType(IntEnum):
    CORE_EVENT = 0
    UNCORE_EVENT = 1
    TRACE_EVENT = 2
    ALL_EVENT = 3


class SymbolMode(IntEnum):
    NO_SYMBOL_RESOLVE = 0
    RESOLVE_ELF = 1
    RESOLVE_ELF_DWARF = 2


class SpeFilter(IntFlag):
    SPE_FILTER_NONE = 0
    TS_ENABLE = 1 << 0
    PA_ENABLE = 1 << 1
    PCT_ENABLE = 1 << 2
    JITTER = 1 << 16
    BRANCH_FILTER = 1 << 32
    LOAD_FILTER = 1 << 33
    STORE_FILTER = 1 << 34
    SPE_DATA_ALL = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 16) | (1 << 32) | (1 << 33) | (1 << 34)


class SpeEventFilter(IntFlag):
    SPE_EVENT_NONE = 0
    SPE_EVENT_RETIRED = 0x2
    SPE_EVENT_L1DMISS = 0x8
    SPE_EVENT_TLB_WALK = 0x20
    SPE_EVENT_MISPREDICTED = 0x80


class BranchSampleFilter(IntFlag):
    KPERF_NO_BRANCH_SAMPLE = 0
    KPERF_SAMPLE_BRANCH_USER = 1 << 0
    KPERF_SAMPLE_BRANCH_KERNEL = 1 << 1
    KPERF_SAMPLE_BRANCH_HV = 1 << 2
    KPERF_SAMPLE_BRANCH_ANY = 1 << 3
    KPERF_SAMPLE_BRANCH_ANY_CALL = 1 << 4
    KPERF_SAMPLE_BRANCH_ANY_RETURN = 1 << 5
    KPERF_SAMPLE_BRANCH_IND_CALL = 1 << 6
    KPERF_SAMPLE_BRANCH_ABORT_TX = 1 << 7
    KPERF_SAMPLE_BRANCH_IN_TX = 1 << 8
    KPERF_SAMPLE_BRANCH_NO_TX = 1 << 9
    KPERF_SAMPLE_BRANCH_COND = 1 << 10
    KPERF_SAMPLE_BRANCH_CALL_STACK = 1 << 11
    KPERF_SAMPLE_BRANCH_IND_JUMP = 1 << 12
    KPERF_SAMPLE_BRANCH_CALL = 1 << 13
    KPERF_SAMPLE_BRANCH_NO_FLAGES = 1 << 14
    KPERF_SAMPLE_BRANCH_NO_CYCLES = 1 << 15
    KPERF_SAMPLE_BRANCH_TYPE_SAVE = 1 << 16


class PmuTraceType(IntEnum):
    TRACE_SYS_CALL = 0


class PmuDeviceMetric(IntEnum):
    PMU_DDR_READ_BW = 0
    PMU_DDR_WRITE_BW = 1
    PMU_L3_TRAFFIC = 2
    PMU_L3_MISS = 3
    PMU_L3_REF = 4
    PMU_L3_LAT = 5
    PMU_PCIE_RX_MRD_BW = 6
    PMU_PCIE_RX_MWR_BW = 7
    PMU_PCIE_TX_MRD_BW = 8
    PMU_PCIE_TX_MWR_BW = 9
    PMU_SMMU_TRAN = 10


class PmuMetricMode(IntEnum):
    PMU_METRIC_INVALID = 0
    PMU_METRIC_CORE = 1
    PMU_METRIC_NUMA = 2
    PMU_METRIC_BDF = 3
    PMU_METRIC_CHANNEL = 4


class PmuBdfType(IntEnum):
    PMU_BDF_TYPE_PCIE = 0
    PMU_BDF_TYPE_SMMU = 1


# ---- helpers ----------------------------------------------------------------------------

def _s(b):
    """bytes from C (or None) -> str."""
    return b.decode("utf-8", "replace") if b is not None else ""


def _ints(values):
    values = list(values or [])
    return (c_int * len(values))(*values) if values else None, len(values)


def _strs(values):
    values = [v.encode() if isinstance(v, str) else bytes(v) for v in (values or [])]
    return (c_char_p * len(values))(*values) if values else None, len(values)


# ---- attributes -------------------------------------------------------------------------

class PmuAttr:
    """What to collect (libkperf's PmuAttr). sampleRate is a frequency with useFreq=True,
    else a period."""

    def __init__(self, evtList=None, pidList=None, cpuList=None, evtAttr=None,
                 sampleRate=0, useFreq=False, excludeUser=False, excludeKernel=False,
                 symbolMode=SymbolMode.NO_SYMBOL_RESOLVE, callStack=False,
                 blockedSample=False, dataFilter=SpeFilter.SPE_FILTER_NONE,
                 evFilter=SpeEventFilter.SPE_EVENT_NONE, minLatency=0,
                 includeNewFork=False, branchSampleFilter=0, **unsupported):
        if unsupported:
            raise TypeError("PmuAttr: unknown argument(s): %s" % ", ".join(sorted(unsupported)))
        self.evtList = list(evtList or [])
        self.pidList = list(pidList or [])
        self.cpuList = list(cpuList or [])
        self.evtAttr = list(evtAttr or [])
        self.sampleRate = sampleRate
        self.useFreq = useFreq
        self.excludeUser = excludeUser
        self.excludeKernel = excludeKernel
        self.symbolMode = symbolMode
        self.callStack = callStack
        self.blockedSample = blockedSample
        self.dataFilter = dataFilter
        self.evFilter = evFilter
        self.minLatency = minLatency
        self.includeNewFork = includeNewFork
        self.branchSampleFilter = branchSampleFilter

    def _c(self):
        """The C struct, plus the arrays it points to (keep them alive with it)."""
        c = L.CPmuAttr()
        evts, c.numEvt = _strs(self.evtList)
        pids, c.numPid = _ints(self.pidList)
        cpus, c.numCpu = _ints(self.cpuList)
        keep = [evts, pids, cpus]
        c.evtList, c.pidList, c.cpuList = evts, pids, cpus
        if self.evtAttr:
            if len(self.evtAttr) != len(self.evtList):
                raise ValueError("PmuAttr: evtAttr needs one group id per event (%d events, "
                                 "%d ids)" % (len(self.evtList), len(self.evtAttr)))
            groups = (L.EvtAttr * len(self.evtAttr))(*[L.EvtAttr(int(g)) for g in self.evtAttr])
            keep.append(groups)
            c.evtAttr = groups
        c.period = c.freq = int(self.sampleRate or 0)
        c.useFreq = int(bool(self.useFreq))
        c.excludeUser = int(bool(self.excludeUser))
        c.excludeKernel = int(bool(self.excludeKernel))
        c.symbolMode = int(self.symbolMode)
        c.callStack = int(self.callStack)  # True/1: frame pointers, 2: DWARF (kperf)
        c.dataFilter = int(self.dataFilter)
        c.evFilter = int(self.evFilter)
        c.minLatency = int(self.minLatency)
        c.includeNewFork = int(bool(self.includeNewFork))
        c.branchSampleFilter = int(self.branchSampleFilter)
        return c, keep


class PmuTraceAttr:
    """What to trace (libkperf's PmuTraceAttr): syscall names, pids, cpus."""

    def __init__(self, funcs=None, pidList=None, cpuList=None):
        self.funcs = list(funcs or [])
        self.pidList = list(pidList or [])
        self.cpuList = list(cpuList or [])

    def _c(self):
        c = L.CPmuTraceAttr()
        funcs, c.numFuncs = _strs(self.funcs)
        pids, c.numPid = _ints(self.pidList)
        cpus, c.numCpu = _ints(self.cpuList)
        c.funcs, c.pidList, c.cpuList = funcs, pids, cpus
        return c, [funcs, pids, cpus]


class PmuDeviceAttr:
    """One device metric to collect (libkperf's PmuDeviceAttr)."""

    def __init__(self, metric=None, bdf=None):
        self.metric = metric
        self.bdf = bdf


def _dev_attrs(dev_attr):
    dev_attr = list(dev_attr or [])
    arr = (L.CPmuDeviceAttr * max(len(dev_attr), 1))()
    for i, a in enumerate(dev_attr):
        arr[i].metric = int(a.metric)
        arr[i].bdf = a.bdf.encode() if a.bdf else None
    return arr, len(dev_attr)


# ---- records ----------------------------------------------------------------------------

class CpuTopology:
    __slots__ = ("coreId", "numaId", "socketId")

    def __init__(self, c):
        self.coreId, self.numaId, self.socketId = c.coreId, c.numaId, c.socketId

    def __repr__(self):
        return "CpuTopology(coreId=%d, numaId=%d, socketId=%d)" % (
            self.coreId, self.numaId, self.socketId)


class Symbol:
    """A symbolized address (libkperf's Symbol)."""
    __slots__ = ("addr", "module", "symbolName", "mangleName", "fileName", "lineNum", "offset",
                 "codeMapEndAddr", "codeMapAddr", "count")

    def __init__(self, c):
        self.addr = c.addr
        self.module = _s(c.module)
        self.symbolName = _s(c.symbolName)
        self.mangleName = _s(c.mangleName)
        self.fileName = _s(c.fileName)
        self.lineNum = c.lineNum
        self.offset = c.offset
        self.codeMapEndAddr = c.codeMapEndAddr
        self.codeMapAddr = c.codeMapAddr
        self.count = c.count

    def __repr__(self):
        return "Symbol(%s @ 0x%x in %s%s)" % (
            self.symbolName or "?", self.addr, self.module or "?",
            " %s:%d" % (self.fileName, self.lineNum) if self.fileName else "")


class Stack:
    """One frame of a call stack; next goes to the caller, prev to the callee."""

    def __init__(self, ptr, owner):
        self._p, self._owner = ptr, owner

    @property
    def symbol(self):
        s = self._p.contents.symbol
        return Symbol(s.contents) if s else None

    @property
    def next(self):
        n = self._p.contents.next
        return Stack(n, self._owner) if n else None

    @property
    def prev(self):
        p = self._p.contents.prev
        return Stack(p, self._owner) if p else None

    @property
    def count(self):
        return self._p.contents.count

    def __iter__(self):
        """Frames from this one to the outermost caller."""
        f = self
        while f is not None:
            yield f
            f = f.next


class BranchRecords:
    def __init__(self, ext, owner):
        self._ext, self._owner = ext, owner

    @property
    def len(self):
        return self._ext.nr

    def __len__(self):
        return self._ext.nr

    @property
    def iter(self):
        return iter(self)

    def __iter__(self):
        for i in range(self._ext.nr):
            b = self._ext.branchRecords[i]
            yield BranchSampleRecord(b.fromAddr, b.toAddr, b.cycles, b.misPred, b.predicted)


class BranchSampleRecord:
    __slots__ = ("fromAddr", "toAddr", "cycles", "misPred", "predicted")

    def __init__(self, fromAddr, toAddr, cycles, misPred, predicted):
        self.fromAddr, self.toAddr, self.cycles = fromAddr, toAddr, cycles
        self.misPred, self.predicted = misPred, predicted


class PmuDataExt:
    """SPE and branch-stack data of a sample."""

    def __init__(self, ptr, owner):
        c = ptr.contents
        self.pa, self.va, self.event = c.pa, c.va, c.event
        self.branchRecords = BranchRecords(c, owner)


class SampleRawData:
    """A tracepoint sample's payload; read fields with kperf.get_field()."""

    def __init__(self, ptr, owner):
        self._p, self._owner = ptr, owner

    @property
    def size(self):
        return self._p.contents.size

    def bytes(self):
        c = self._p.contents
        return ctypes.string_at(c.data, c.size)


class ImplPmuData:
    """One record of read(). Valid as long as its PmuData (it keeps it alive)."""
    __slots__ = ("_owner", "_c")

    def __init__(self, owner, c):
        self._owner, self._c = owner, c

    def _live(self):
        if self._owner._ptr is None:
            raise ValueError("kperf: this record's PmuData was freed")
        return self._c

    @property
    def stack(self):
        p = self._live().stack
        return Stack(p, self._owner) if p else None

    @property
    def symbol(self):
        """The symbol of the sampled instruction (top of the stack), or None."""
        p = self._live().stack
        return Symbol(p.contents.symbol.contents) if p and p.contents.symbol else None

    @property
    def evt(self):
        return _s(self._live().evt)

    @property
    def ts(self):
        return self._live().ts

    @property
    def pid(self):
        return self._live().pid

    @property
    def tid(self):
        return self._live().tid

    @property
    def cpu(self):
        return self._live().cpu

    @property
    def groupId(self):
        return self._live().groupId

    @property
    def cpuTopo(self):
        p = self._live().cpuTopo
        return CpuTopology(p.contents) if p else None

    @property
    def comm(self):
        return _s(self._live().comm)

    @property
    def period(self):
        return self._live().period

    @property
    def count(self):
        return self._live().count

    @property
    def countPercent(self):
        return self._live().countPercent

    @property
    def ext(self):
        p = self._live().ext
        return PmuDataExt(p, self._owner) if p else None

    @property
    def rawData(self):
        p = self._live().rawData
        return SampleRawData(p, self._owner) if p else None

    def __repr__(self):
        c = self._live()
        return "ImplPmuData(evt=%r, pid=%d, tid=%d, cpu=%d, count=%d, period=%d, ts=%d)" % (
            _s(c.evt), c.pid, c.tid, c.cpu, c.count, c.period, c.ts)


class _Array:
    """An array returned by the C layer, freed by free() or when garbage-collected."""
    _free = None
    _item = None

    def __init__(self, ptr, n):
        self._ptr = ptr if n > 0 else None
        self._n = max(n, 0)

    @property
    def len(self):
        return self._n

    def __len__(self):
        return self._n

    @property
    def iter(self):
        return iter(self)

    def __iter__(self):
        for i in range(self._n):
            yield self[i]

    def __getitem__(self, i):
        if self._ptr is None:
            raise IndexError("kperf: data freed") if self._n else IndexError(i)
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        return self._item(self, self._ptr[i])

    def free(self):
        """Releases the C memory now (records obtained from it become unusable)."""
        p, self._ptr = self._ptr, None
        if p is not None:
            type(self)._free(ctypes.cast(p, c_void_p))

    def __del__(self):
        try:
            self.free()
        except Exception:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.free()
        return False


class PmuData(_Array):
    """The records of one read() (libkperf's PmuData): len, iter, free."""
    _free = staticmethod(L.PmuDataFree)
    _item = ImplPmuData


class ImplPmuTraceData:
    __slots__ = ("funcs", "startTs", "elapsedTime", "pid", "tid", "cpu", "comm")

    def __init__(self, owner, c):
        self.funcs, self.startTs, self.elapsedTime = _s(c.funcs), c.startTs, c.elapsedTime
        self.pid, self.tid, self.cpu, self.comm = c.pid, c.tid, c.cpu, _s(c.comm)

    def __repr__(self):
        return "ImplPmuTraceData(funcs=%r, elapsedTime=%.6f ms, pid=%d, tid=%d, cpu=%d)" % (
            self.funcs, self.elapsedTime, self.pid, self.tid, self.cpu)


class PmuTraceData(_Array):
    """The system calls of one trace_read(): len, iter, free."""
    _free = staticmethod(L.PmuTraceDataFree)
    _item = ImplPmuTraceData


class ImplPmuDeviceData:
    __slots__ = ("metric", "count", "mode", "coreId", "numaId", "bdf", "channelId",
                 "ddrNumaId", "socketId")

    def __init__(self, owner, c):
        self.metric = PmuDeviceMetric(c.metric)
        self.count, self.mode = c.count, PmuMetricMode(c.mode)
        self.coreId, self.numaId, self.bdf = c.coreId, c.numaId, _s(c.bdf)
        self.channelId, self.ddrNumaId, self.socketId = c.channelId, c.ddrNumaId, c.socketId


class PmuDeviceData(_Array):
    """Device metric values of get_device_metric(): len, iter, free."""
    _free = staticmethod(L.DevDataFree)
    _item = ImplPmuDeviceData


class SampleRawField:
    """A tracepoint field's description (get_field_exp)."""

    def __init__(self, c):
        self.fieldName = _s(c.fieldName)
        self.fieldStr = _s(c.fieldStr)
        self.offset, self.size, self.isSigned = c.offset, c.size, c.isSigned

    # the snake_case names used by libkperf's documentation example
    field_name = property(lambda self: self.fieldName)
    field_str = property(lambda self: self.fieldStr)
    is_signed = property(lambda self: self.isSigned)

    def __repr__(self):
        return "SampleRawField(%r, %r, offset=%d, size=%d, isSigned=%d)" % (
            self.fieldName, self.fieldStr, self.offset, self.size, self.isSigned)


# ---- the functions ----------------------------------------------------------------------

def open(collector_type, pmu_attr):
    """Opens a task; returns its descriptor (> 0), or -1 (see error())."""
    c, keep = pmu_attr._c()
    pd = L.PmuOpen(int(collector_type), byref(c))
    del keep
    return pd


def enable(pd):
    """Starts collection; 0 on success, else an error code."""
    return L.PmuEnable(pd)


def disable(pd):
    """Stops collection; 0 on success, else an error code."""
    return L.PmuDisable(pd)


def read(pd):
    """What the task collected since the previous read, as a PmuData (empty on error:
    see error())."""
    ptr = POINTER(L.CPmuData)()
    n = L.PmuRead(pd, byref(ptr))
    return PmuData(ptr, n)


def close(pd):
    """Closes a task. Data already read stays valid."""
    L.PmuClose(pd)


def dump(pmuData, filepath, dump_dwf=0):
    """Appends the records as text lines to filepath; 0 on success, else an error code."""
    if pmuData._ptr is None:
        return 0 if not pmuData._n else L.Perrorno()
    return L.PmuDumpData(ctypes.cast(pmuData._ptr, c_void_p), pmuData._n,
                         filepath.encode(), int(dump_dwf))


def _value_ref(value):
    """Pointer and size of a ctypes destination: a buffer, a pointer(c_xxx), a c_xxx."""
    if isinstance(value, ctypes._Pointer):
        return ctypes.cast(value, c_void_p), ctypes.sizeof(value._type_)
    if isinstance(value, (ctypes.Array, ctypes._SimpleCData, ctypes.Structure)):
        return ctypes.cast(ctypes.pointer(value), c_void_p), ctypes.sizeof(value)
    raise TypeError("get_field: value must be a ctypes buffer, pointer or scalar")


def get_field(pmu_data, field_name, value):
    """Copies a tracepoint field of a sample into value; 0 on success, else an error code."""
    raw = pmu_data.rawData
    ptr, size = _value_ref(value)
    rawp = raw._p if raw is not None else POINTER(L.CSampleRawData)()
    return L.PmuGetField(rawp, field_name.encode(), ptr, size)


def get_field_exp(pmu_data, field_name):
    """Describes a tracepoint field of a sample (a SampleRawField), or None (see error())."""
    raw = pmu_data.rawData
    rawp = raw._p if raw is not None else POINTER(L.CSampleRawData)()
    p = L.PmuGetFieldExp(rawp, field_name.encode())
    return SampleRawField(p.contents) if p else None


def _strlist(arr, n):
    return [_s(arr[i]) for i in range(n)] if arr else []


def event_list(event_type):
    """Names of every event of a type, as an iterator of str."""
    n = c_uint(0)
    arr = L.PmuEventList(int(event_type), byref(n))
    return iter(_strlist(arr, n.value))


def trace_open(trace_type, pmu_trace_attr):
    """Opens a syscall trace; returns its descriptor (> 0), or -1 (see error())."""
    c, keep = pmu_trace_attr._c()
    pd = L.PmuTraceOpen(int(trace_type), byref(c))
    del keep
    return pd


def trace_enable(pd):
    return L.PmuTraceEnable(pd)


def trace_disable(pd):
    return L.PmuTraceDisable(pd)


def trace_read(pd):
    """The system calls completed since the previous read, as a PmuTraceData."""
    ptr = POINTER(L.CPmuTraceData)()
    n = L.PmuTraceRead(pd, byref(ptr))
    return PmuTraceData(ptr, n)


def trace_close(pd):
    L.PmuTraceClose(pd)


def sys_call_func_list():
    """The running kernel's system call names, as an iterator of str."""
    n = c_uint(0)
    arr = L.PmuSysCallFuncList(byref(n))
    return iter(_strlist(arr, n.value))


def device_open(dev_attr):
    """Opens the uncore events of device metrics; returns a descriptor for enable, read,
    disable and close, or -1 (see error())."""
    arr, n = _dev_attrs(dev_attr)
    return L.PmuDeviceOpen(arr, n)


def get_device_metric(pmu_data, device_attr):
    """Metric values computed from the records of a device descriptor's read()."""
    arr, n = _dev_attrs(device_attr)
    ptr = POINTER(L.CPmuDeviceData)()
    src = ctypes.cast(pmu_data._ptr, c_void_p) if pmu_data._ptr is not None else None
    cnt = L.PmuGetDevMetric(src, pmu_data._n, arr, n, byref(ptr))
    return PmuDeviceData(ptr, cnt)


def device_bdf_list(bdf_type):
    """The PCIe or SMMU devices whose metrics can be measured, as a list of str."""
    n = c_uint(0)
    arr = L.PmuDeviceBdfList(int(bdf_type), byref(n))
    return _strlist(arr, n.value)


def get_cpu_freq(core):
    """The current frequency of a CPU in Hz, or -1 (see error())."""
    return L.PmuGetCpuFreq(core)


def _cores(fn, ident):
    arr = POINTER(c_uint)()
    n = fn(ident, byref(arr))
    return [arr[i] for i in range(n)] if n > 0 else []


def get_cluster_core(clusterId):
    """The CPUs of a cluster (empty on error)."""
    return _cores(L.PmuGetClusterCore, clusterId)


def get_numa_core(numaId):
    """The CPUs of a NUMA node (empty on error)."""
    return _cores(L.PmuGetNumaCore, numaId)


def error():
    """The message of the last error on this thread ("success" when the last call worked)."""
    return _s(L.Perror())


def errorno():
    """The code of the last error on this thread (0 when the last call worked)."""
    return L.Perrorno()
