"""The Pythonic layer over libkperf's API: exceptions, context managers, iterators, and a
`profiler` that runs a program and reads event groups periodically (performance-features
style)."""
import os
import time

from . import pmu as _p

__all__ = ["KperfError", "Task", "Trace", "check", "counting", "sampling", "profiler",
           "list_events"]


class KperfError(RuntimeError):
    """A kperf failure. str(e) and e.args[0] are the library's message, e.errno its code.
    A RuntimeError, so code written for performance-features' profiler catches it."""

    def __init__(self, message, errno=0):
        super().__init__(message)
        self.errno = errno
        self.message = message


def _raise(what):
    code = _p.errorno()
    raise KperfError("%s: %s" % (what, _p.error()) if what else _p.error(), code)


def check(rc, what=""):
    """Raises KperfError when rc is an error (a negative descriptor or a non-zero code)."""
    if rc != 0 and (rc < 0 or _p.errorno() != 0):
        _raise(what)
    return rc


class Task:
    """An open task: `with kperf.Task(kperf.PmuTaskType.COUNTING, attr) as t: ...`.
    Methods raise KperfError with the library's message."""

    def __init__(self, collector_type, pmu_attr):
        self.pd = _p.open(collector_type, pmu_attr)
        if self.pd < 0:
            _raise("kperf.open")

    def enable(self):
        if _p.enable(self.pd):
            _raise("kperf.enable")
        return self

    def disable(self):
        if _p.disable(self.pd):
            _raise("kperf.disable")
        return self

    def read(self):
        """A PmuData (a context manager and an iterable of records)."""
        data = _p.read(self.pd)
        if data.len == 0 and _p.errorno():
            _raise("kperf.read")
        return data

    def __iter__(self):
        """Reads once and yields each record."""
        return iter(self.read())

    def counts(self):
        """Reads once and sums the counts per event: {evt: count}."""
        out = {}
        with self.read() as data:
            for rec in data:
                out[rec.evt] = out.get(rec.evt, 0) + rec.count
        return out

    def close(self):
        if self.pd > 0:
            _p.close(self.pd)
            self.pd = -1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Trace(Task):
    """A syscall trace: `with kperf.Trace(funcs=["read"], pidList=[pid]) as t: ...`."""

    def __init__(self, funcs=None, pidList=None, cpuList=None):
        self.pd = _p.trace_open(_p.PmuTraceType.TRACE_SYS_CALL,
                                _p.PmuTraceAttr(funcs=funcs, pidList=pidList, cpuList=cpuList))
        if self.pd < 0:
            _raise("kperf.trace_open")

    def enable(self):
        if _p.trace_enable(self.pd):
            _raise("kperf.trace_enable")
        return self

    def disable(self):
        if _p.trace_disable(self.pd):
            _raise("kperf.trace_disable")
        return self

    def read(self):
        data = _p.trace_read(self.pd)
        if data.len == 0 and _p.errorno():
            _raise("kperf.trace_read")
        return data

    def close(self):
        if self.pd > 0:
            _p.trace_close(self.pd)
            self.pd = -1


def counting(events, **attr):
    """A COUNTING Task over events (a list or a comma-free single name)."""
    if isinstance(events, str):
        events = [events]
    return Task(_p.PmuTaskType.COUNTING, _p.PmuAttr(evtList=events, **attr))


def sampling(events, **attr):
    """A SAMPLING Task over events."""
    if isinstance(events, str):
        events = [events]
    return Task(_p.PmuTaskType.SAMPLING, _p.PmuAttr(evtList=events, **attr))


# performance-features spells events as perf_event_open's enum names
_PERF_NAMES = {
    "PERF_COUNT_HW_CPU_CYCLES": "cycles", "PERF_COUNT_HW_INSTRUCTIONS": "instructions",
    "PERF_COUNT_HW_CACHE_REFERENCES": "cache-references",
    "PERF_COUNT_HW_CACHE_MISSES": "cache-misses",
    "PERF_COUNT_HW_BRANCH_INSTRUCTIONS": "branch-instructions",
    "PERF_COUNT_HW_BRANCH_MISSES": "branch-misses", "PERF_COUNT_HW_BUS_CYCLES": "bus-cycles",
    "PERF_COUNT_HW_STALLED_CYCLES_FRONTEND": "stalled-cycles-frontend",
    "PERF_COUNT_HW_STALLED_CYCLES_BACKEND": "stalled-cycles-backend",
    "PERF_COUNT_HW_REF_CPU_CYCLES": "ref-cycles",
    "PERF_COUNT_SW_CPU_CLOCK": "cpu-clock", "PERF_COUNT_SW_TASK_CLOCK": "task-clock",
    "PERF_COUNT_SW_PAGE_FAULTS": "page-faults",
    "PERF_COUNT_SW_CONTEXT_SWITCHES": "context-switches",
    "PERF_COUNT_SW_CPU_MIGRATIONS": "cpu-migrations",
    "PERF_COUNT_SW_PAGE_FAULTS_MIN": "minor-faults",
    "PERF_COUNT_SW_PAGE_FAULTS_MAJ": "major-faults",
    "PERF_COUNT_SW_ALIGNMENT_FAULTS": "alignment-faults",
    "PERF_COUNT_SW_EMULATION_FAULTS": "emulation-faults",
}


class profiler:
    """Runs a program and reads event groups every sample_period seconds.

        perf = kperf.profiler(program_args=['/bin/sleep', '1'],
                              events_groups=[['task-clock'], ['page-faults', 'context-switches']])
        series = perf.run(sample_period=0.01)

    run() returns one time series per group: series[g][i] is the list of the group's event
    values (increase during interval i), in the order the group names them. Counting starts
    right before the program's exec and follows its threads and children. Raises KperfError
    (a RuntimeError) with the library's message when an event cannot be opened.
    """

    def __init__(self, program_args, events_groups):
        if not program_args:
            raise ValueError("profiler: program_args is empty")
        self.program_args = [str(a) for a in program_args]
        self.events_groups = [[_PERF_NAMES.get(e, e) for e in g] for g in events_groups]
        self.returncode = None
        self.timestamps = []

    def _spawn(self):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: wait until the counters are open, then exec
            try:
                os.close(w)
                os.read(r, 1)
                os.execvp(self.program_args[0], self.program_args)
            except BaseException:
                pass
            os._exit(127)
        os.close(r)
        return pid, w

    def run(self, sample_period=0.01):
        evts, groups = [], []
        for g, names in enumerate(self.events_groups):
            for name in names:
                evts.append(name)
                groups.append(g if len(names) > 1 else -1)
        owner = [g for g, names in enumerate(self.events_groups) for _ in names]
        pid, gate = self._spawn()
        pd = -1
        try:
            pd = _p.open(_p.PmuTaskType.COUNTING,
                         _p.PmuAttr(evtList=evts, evtAttr=groups, pidList=[pid],
                                    includeNewFork=True, excludeKernel=False))
            if pd < 0:
                _raise("profiler")
            check(_p.enable(pd), "profiler")
            os.write(gate, b"x")
            os.close(gate)
            gate = None
            series = [[] for _ in self.events_groups]
            t0 = time.monotonic()
            done = False
            while not done:
                time.sleep(sample_period)
                wpid, status = os.waitpid(pid, os.WNOHANG)
                if wpid == pid:
                    done = True
                    self.returncode = os.waitstatus_to_exitcode(status) if hasattr(
                        os, "waitstatus_to_exitcode") else status
                self._sample(pd, evts, owner, series)
                self.timestamps.append(time.monotonic() - t0)
            return series
        finally:
            if gate is not None:
                os.close(gate)
                try:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                except OSError:
                    pass
            if pd > 0:
                _p.close(pd)

    def _sample(self, pd, evts, owner, series):
        sums = [0] * len(evts)
        index = {}
        for i, e in enumerate(evts):
            index.setdefault(e, []).append(i)
        with _p.read(pd) as data:
            if data.len == 0 and _p.errorno():
                _raise("profiler")
            for rec in data:
                ids = index.get(rec.evt, [])
                # the same name in two groups: the record's groupId tells them apart
                i = next((j for j in ids if len(ids) == 1 or owner[j] == rec.groupId), None)
                if i is not None:
                    sums[i] += rec.count
        for g, names in enumerate(self.events_groups):
            series[g].append([sums[i] for i in range(len(evts)) if owner[i] == g])


class list_events:
    """performance-features' event listing: PMUs and event names of this machine."""

    def get_supported_pmus(self):
        root = "/sys/bus/event_source/devices"
        try:
            return sorted(os.listdir(root))
        except OSError:
            return []

    def get_supported_events(self):
        return list(_p.event_list(_p.PmuEventType.ALL_EVENT))
