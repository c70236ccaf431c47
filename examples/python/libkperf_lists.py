# The list and topology examples of document 001, unchanged (wrapped in a function because
# the reference indents them; the print lines at the end are added).
import kperf


def main():
    # python代码示例
    for evt in kperf.event_list(kperf.PmuEventType.CORE_EVENT):
        print(f"event name: {evt}")

    # python代码示例
    for func_name in kperf.sys_call_func_list():
        print(f"syscall function name: {func_name}")

    # python代码示例
    bdf_type = kperf.PmuBdfType.PMU_BDF_TYPE_SMMU
    bdf_list = kperf.device_bdf_list(bdf_type)
    print(bdf_list)

    # python代码示例
    core = 6
    cpu6_freq = kperf.get_cpu_freq(core)

    # python代码示例
    clusterId = 1
    cluster_cores = kperf.get_cluster_core(clusterId)

    # python代码示例
    numaId = 1
    numa_cores = kperf.get_numa_core(numaId)

    print(f"cpu6_freq={cpu6_freq} cluster_cores={cluster_cores} numa_cores={numa_cores}")
    print(f"cpu0_freq={kperf.get_cpu_freq(0)} numa0_cores={kperf.get_numa_core(0)}")


main()
