"""Queued live calls indexed by when they were queued, for their retention
(EvaluatorSettings.online_retention_days)."""

from distillery_runtime.migration_steps import Revision

revision, down_revision = "0004", "0003"

# Frozen, like 0001: a later change to the online queue comes with a revision of its own.
ONLINE_QUEUE_BY_AGE_V4 = Revision(
    up="create index online_queue_enqueued_at_idx on online_queue (enqueued_at);",
    down="drop index online_queue_enqueued_at_idx;",
)
upgrade, downgrade = ONLINE_QUEUE_BY_AGE_V4.upgrade, ONLINE_QUEUE_BY_AGE_V4.downgrade
