"""`python -m distillery_trace_ingester`: the trace-ingester service, with only what its package depends on importable."""

from distillery_runtime.entrypoint import run_entry_point

run_entry_point("trace-ingester")
