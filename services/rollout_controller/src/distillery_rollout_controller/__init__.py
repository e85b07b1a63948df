"""Progressive rollout of distilled students: gates, rollback, routing tables and costs."""

__version__ = "0.1.0"

NAME = "rollout-controller"
"""The service's name: ``distillery run rollout-controller``, its consumer groups, its logs."""
SCHEMA = "rollout_controller"
"""The PostgreSQL schema holding its tables; the service and its views open it by this name."""
