"""performance-features' module name: `from profiler import profiler, list_events` works
unchanged on top of kperf (reference document 002)."""
from kperf import list_events, profiler  # noqa: F401

__all__ = ["profiler", "list_events"]
