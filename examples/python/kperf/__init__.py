"""kperf for Python: libkperf's Python API (kperf.open/enable/read/...) over kperf's C
library, plus a Pythonic layer (KperfError, context managers, iterators, profiler).

    import kperf
    pd = kperf.open(kperf.PmuTaskType.COUNTING, kperf.PmuAttr(evtList=["task-clock"]))
    kperf.enable(pd); work(); kperf.disable(pd)
    for data in kperf.read(pd):
        print(data.evt, data.pid, data.count)
    kperf.close(pd)

Pure standard library + ctypes: it loads build/libkperf.so, the libkperf drop-in library
that `make` (and `make python`) builds from libkperf/; nothing is compiled at import time.
"""
from .pmu import *  # noqa: F401,F403  (libkperf's names)
from .pmu import __all__ as _pmu_all
from .pythonic import *  # noqa: F401,F403
from .pythonic import __all__ as _py_all
from ._lib import library_path  # noqa: F401

__version__ = "0.1.0"
__all__ = list(_pmu_all) + list(_py_all) + ["library_path", "__version__"]
