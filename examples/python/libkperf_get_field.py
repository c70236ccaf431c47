# kperf.get_field and kperf.get_field_exp examples of document 001, unchanged (the
# get_field_exp snippet runs on the last record of the get_field loop).
import kperf
import time
from ctypes import *

evtList = ["sched:sched_switch"]
pmu_attr = kperf.PmuAttr(
    evtList=evtList
)
pd = kperf.open(kperf.PmuTaskType.SAMPLING, pmu_attr)
kperf.enable(pd)
time.sleep(1) # 采集时间为1s
kperf.disable(pd)
pmu_data = kperf.read(pd)
for data in pmu_data.iter:
    next_comm = create_string_buffer(128) #该长度可适当减少，但最好设置比最终获取的长度大，否则最终将无法获取对应结果。
    kperf.get_field(data, "next_comm", next_comm)
    next_comm = next_comm.value.decode("utf-8")

    prev_pid = c_uint(0)
    kperf.get_field(data, "prev_pid", pointer(prev_pid))

    print(f"next_comm={next_comm};prev_pid={prev_pid.value}")

field = kperf.get_field_exp(data, "prev_comm")
print("field_str={} field_name={} size={} offset={} isSigned={}"
        .format(field.field_name, field.field_str, field.size, field.offset, field.is_signed))
