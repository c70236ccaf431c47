# kperf.device_open example of document 001, unchanged (wrapped in a function because the
# reference indents it). Without an L3 PMU it prints kperf's message and exits with 1.
import kperf


def main():
    # python代码示例
    dev_attr = [
        kperf.PmuDeviceAttr(metric=kperf.PmuDeviceMetric.PMU_L3_TRAFFIC)
    ]
    pd = kperf.device_open(dev_attr)
    if pd == -1:
        print(kperf.error())
        exit(1)
    # added: read one second and print the per-core values
    kperf.enable(pd)
    import time
    time.sleep(1)
    kperf.disable(pd)
    pmu_data = kperf.read(pd)
    for v in kperf.get_device_metric(pmu_data, dev_attr).iter:
        print(f"metric={v.metric.name} core={v.coreId} count={v.count}")
    kperf.close(pd)


main()
