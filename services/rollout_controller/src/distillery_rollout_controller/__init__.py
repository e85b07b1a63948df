"""Progressive rollout of distilled students: gates, rollback, routing tables and costs."""

__version__ = "0.1.0"
