"""Indexed examples by when they were accepted, for the near-duplicate index's retention
(CleanerSettings.index_retention_days)."""

from distillery_runtime.migration_steps import Revision

revision, down_revision = "0005", "0004"

# Frozen, like 0001: a later change to the index comes with a revision of its own.
EXAMPLES_BY_AGE_V5 = Revision(
    up="create index examples_accepted_at_idx on examples (accepted_at);",
    down="drop index examples_accepted_at_idx;",
)
upgrade, downgrade = EXAMPLES_BY_AGE_V5.upgrade, EXAMPLES_BY_AGE_V5.downgrade
