"""The operator console: pages built from the event streams, and steering of rollouts."""

__version__ = "0.1.0"

NAME = "console"
"""The service's name: ``distillery run console``, its consumer groups, its logs."""
SCHEMA = "console"
"""The PostgreSQL schema holding its read model; dropping it and replaying the topics rebuilds it."""
