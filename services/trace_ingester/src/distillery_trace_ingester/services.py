"""The trace-ingester's use cases.

The offline-export API below is what the CLI (`distillery clean`) uses to read a Langfuse
export without a running service; its names stay here whatever else changes.
"""

from __future__ import annotations

from distillery_trace_ingester.domain.export_rows import BadLine, read_line
from distillery_trace_ingester.domain.mapping import UnmappableObservation, observation_to_trace
from distillery_trace_ingester.domain.scores import group_by_observation

__all__ = [
    # The offline-export API the CLI uses (distillery_cli.clean): keep these names here.
    "BadLine",
    "UnmappableObservation",
    "group_by_observation",
    "observation_to_trace",
    "read_line",
]
