# kperf.open example of libkperf's Python API reference (document 001), unchanged.
# Without a hardware PMU it prints kperf's message and exits with status 1.
# python代码示例
import time
import kperf
evtList = ["cycles", "branch-misses"]
pmu_attr = kperf.PmuAttr(evtList=evtList)
pd = kperf.open(kperf.PmuTaskType.COUNTING, pmu_attr)
if pd == -1:
    print(kperf.error())
    exit(1)
