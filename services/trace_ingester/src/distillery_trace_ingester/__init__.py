"""The trace-ingester: captures Langfuse generations into ``distillery.traces.raw.v1``."""

__version__ = "0.1.0"
