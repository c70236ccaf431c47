# kperf.trace_open / trace_enable / trace_disable / trace_read examples of document 001,
# unchanged; the enable/sleep/disable lines are the reference's kperf.enable example.
# python代码示例
import time
import kperf
funcs = ["read", "write"]
pmu_trace_attr = kperf.PmuTraceAttr(funcs=funcs)
pd = kperf.trace_open(kperf.PmuTraceType.TRACE_SYS_CALL, pmu_trace_attr)
if pd == -1:
    print(kperf.error())
    exit(1)

kperf.trace_enable(pd)
time.sleep(1)
with open("/proc/self/stat") as f:  # added: make sure at least one read happens
    f.read()
kperf.trace_disable(pd)

pmu_trace_data = kperf.trace_read(pd)
for pmu_trace in pmu_trace_data.iter:
    print("funcs: %s, elapsedTime: %d, pid: %d, tid: %d, cpu: %d, comm: %s" % (pmu_trace.funcs, pmu_trace.elapsedTime, pmu_trace.pid, pmu_trace.tid, pmu_trace.cpu, pmu_trace.comm))
kperf.trace_close(pd)
