# The "Sampling events" example of performance-features (document 002), unchanged. Its
# first group is a hardware event: without a hardware PMU it prints kperf's message.
from profiler import profiler
try:
    events= [['PERF_COUNT_HW_INSTRUCTIONS'], 
            ['PERF_COUNT_HW_BRANCH_INSTRUCTIONS','PERF_COUNT_HW_BRANCH_MISSES'],
            ['PERF_COUNT_SW_PAGE_FAULTS']]
            
    perf= profiler(program_args= ['/bin/sleep','1'], events_groups=events)
    data= perf.run(sample_period= 0.01)
    print(data)
except RuntimeError as e:
    print(e.args[0])
