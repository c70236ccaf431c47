# kperf.profiler with software events: run a program, read two event groups every 10 ms.
import kperf

groups = [['task-clock'], ['page-faults', 'context-switches']]
perf = kperf.profiler(program_args=['/bin/sh', '-c', 'ls -R /usr/share/doc > /dev/null'],
                      events_groups=groups)
series = perf.run(sample_period=0.01)
for group, samples in zip(groups, series):
    totals = [sum(s[i] for s in samples) for i in range(len(group))]
    print(f"{group}: {len(samples)} samples, totals {dict(zip(group, totals))}")
    print(f"  first samples: {samples[:3]}")
