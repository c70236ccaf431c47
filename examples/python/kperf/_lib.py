"""ctypes bindings of libkperf.so: the C structs of the libkperf drop-in (libkperf/pmu.h).

Only the standard library is used; nothing is compiled at import time. The shared library
is the one `make` builds from the headers (build/libkperf.so), the same one a libkperf C
program links with -lkperf.
"""
import ctypes
import os
from ctypes import (POINTER, Structure, c_char_p, c_double, c_int, c_int64, c_uint,
                    c_uint32, c_uint64, c_ubyte, c_ulong, c_ulonglong, c_void_p)

__all__ = ["lib", "library_path"]


def _candidates():
    env = os.environ.get("KPERF_LIBRARY")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    # BUILD/python/kperf/ (copied by `make python`) -> BUILD/libkperf.so
    yield os.path.join(os.path.dirname(os.path.dirname(here)), "libkperf.so")
    # examples/python/kperf/ in a source tree -> build/libkperf.so
    root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    build = os.environ.get("KPERF_BUILD", "build")
    yield os.path.join(root, build, "libkperf.so")
    yield os.path.join(root, "build", "libkperf.so")
    yield "libkperf.so"  # the dynamic loader's search path (e.g. after make install)


def _load():
    tried = []
    for path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError("kperf: libkperf.so not found (tried: %s); build it with `make python` "
                      "in the kperf source tree, or set KPERF_LIBRARY to its path"
                      % ", ".join(tried))


lib, library_path = _load()


class EvtAttr(Structure):
    _fields_ = [("groupId", c_int)]


class CPmuAttr(Structure):
    _fields_ = [
        ("evtList", POINTER(c_char_p)), ("numEvt", c_uint),
        ("pidList", POINTER(c_int)), ("numPid", c_uint),
        ("cpuList", POINTER(c_int)), ("numCpu", c_uint),
        ("evtAttr", POINTER(EvtAttr)),
        ("period", c_uint), ("freq", c_uint), ("useFreq", c_uint),
        ("excludeUser", c_uint), ("excludeKernel", c_uint),
        ("symbolMode", c_int), ("callStack", c_uint),
        ("dataFilter", c_ulonglong), ("evFilter", c_uint), ("minLatency", c_ulong),
        ("includeNewFork", c_uint), ("branchSampleFilter", c_ulong),
    ]


class CCpuTopology(Structure):
    _fields_ = [("coreId", c_int), ("numaId", c_int), ("socketId", c_int)]


class CSymbol(Structure):
    _fields_ = [
        ("addr", c_ulong), ("module", c_char_p), ("symbolName", c_char_p),
        ("mangleName", c_char_p), ("fileName", c_char_p), ("lineNum", c_uint),
        ("offset", c_ulong), ("codeMapEndAddr", c_ulong), ("codeMapAddr", c_ulong),
        ("count", c_uint64),
    ]


class CStack(Structure):
    pass


CStack._fields_ = [("symbol", POINTER(CSymbol)), ("next", POINTER(CStack)),
                   ("prev", POINTER(CStack)), ("count", c_uint64)]


class CBranchSampleRecord(Structure):
    _fields_ = [("fromAddr", c_ulong), ("toAddr", c_ulong), ("cycles", c_ulong),
                ("misPred", c_ubyte), ("predicted", c_ubyte)]


class CPmuDataExt(Structure):
    _fields_ = [("pa", c_ulong), ("va", c_ulong), ("event", c_ulong),
                ("branchRecords", POINTER(CBranchSampleRecord)), ("nr", c_ulong)]


class CSampleRawData(Structure):
    _fields_ = [("data", c_void_p), ("size", c_uint)]


class CSampleRawField(Structure):
    _fields_ = [("fieldName", c_char_p), ("fieldStr", c_char_p), ("offset", c_uint),
                ("size", c_uint), ("isSigned", c_uint)]


class CPmuData(Structure):
    _fields_ = [
        ("stack", POINTER(CStack)), ("evt", c_char_p), ("ts", c_int64),
        ("pid", c_int), ("tid", c_int), ("cpu", c_int), ("groupId", c_int),
        ("cpuTopo", POINTER(CCpuTopology)), ("comm", c_char_p),
        ("period", c_uint64), ("count", c_uint64), ("countPercent", c_double),
        ("ext", POINTER(CPmuDataExt)), ("rawData", POINTER(CSampleRawData)),
    ]


class CPmuTraceAttr(Structure):
    _fields_ = [("funcs", POINTER(c_char_p)), ("numFuncs", c_uint),
                ("pidList", POINTER(c_int)), ("numPid", c_uint),
                ("cpuList", POINTER(c_int)), ("numCpu", c_uint)]


class CPmuTraceData(Structure):
    _fields_ = [("funcs", c_char_p), ("elapsedTime", c_double), ("startTs", c_int64),
                ("pid", c_int), ("tid", c_int), ("cpu", c_int), ("comm", c_char_p)]


class CPmuDeviceAttr(Structure):
    _fields_ = [("metric", c_int), ("bdf", c_char_p)]


class CPmuDeviceData(Structure):
    _fields_ = [("metric", c_int), ("count", c_double), ("mode", c_int),
                ("coreId", c_uint), ("numaId", c_uint), ("bdf", c_char_p),
                ("channelId", c_uint), ("ddrNumaId", c_uint), ("socketId", c_uint)]


def _proto(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


PmuOpen = _proto("PmuOpen", c_int, c_int, POINTER(CPmuAttr))
PmuEnable = _proto("PmuEnable", c_int, c_int)
PmuDisable = _proto("PmuDisable", c_int, c_int)
PmuRead = _proto("PmuRead", c_int, c_int, POINTER(POINTER(CPmuData)))
PmuDataFree = _proto("PmuDataFree", None, c_void_p)
PmuClose = _proto("PmuClose", None, c_int)
PmuDumpData = _proto("PmuDumpData", c_int, c_void_p, c_uint, c_char_p, c_int)
PmuEventList = _proto("PmuEventList", POINTER(c_char_p), c_int, POINTER(c_uint))
PmuGetField = _proto("PmuGetField", c_int, POINTER(CSampleRawData), c_char_p, c_void_p,
                     c_uint32)
PmuGetFieldExp = _proto("PmuGetFieldExp", POINTER(CSampleRawField), POINTER(CSampleRawData),
                        c_char_p)
PmuTraceOpen = _proto("PmuTraceOpen", c_int, c_int, POINTER(CPmuTraceAttr))
PmuTraceEnable = _proto("PmuTraceEnable", c_int, c_int)
PmuTraceDisable = _proto("PmuTraceDisable", c_int, c_int)
PmuTraceRead = _proto("PmuTraceRead", c_int, c_int, POINTER(POINTER(CPmuTraceData)))
PmuTraceClose = _proto("PmuTraceClose", None, c_int)
PmuTraceDataFree = _proto("PmuTraceDataFree", None, c_void_p)
PmuSysCallFuncList = _proto("PmuSysCallFuncList", POINTER(c_char_p), POINTER(c_uint))
PmuDeviceOpen = _proto("PmuDeviceOpen", c_int, POINTER(CPmuDeviceAttr), c_uint)
PmuGetDevMetric = _proto("PmuGetDevMetric", c_int, c_void_p, c_uint, POINTER(CPmuDeviceAttr),
                         c_uint, POINTER(POINTER(CPmuDeviceData)))
DevDataFree = _proto("DevDataFree", None, c_void_p)
PmuDeviceBdfList = _proto("PmuDeviceBdfList", POINTER(c_char_p), c_int, POINTER(c_uint))
PmuGetCpuFreq = _proto("PmuGetCpuFreq", c_int64, c_uint)
PmuGetClusterCore = _proto("PmuGetClusterCore", c_int, c_uint, POINTER(POINTER(c_uint)))
PmuGetNumaCore = _proto("PmuGetNumaCore", c_int, c_uint, POINTER(POINTER(c_uint)))
Perror = _proto("Perror", c_char_p)
Perrorno = _proto("Perrorno", c_int)
