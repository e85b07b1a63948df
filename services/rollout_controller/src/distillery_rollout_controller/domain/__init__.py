"""Pure rollout logic: plans, statistics, gates, decisions and cost accounting (no I/O)."""
