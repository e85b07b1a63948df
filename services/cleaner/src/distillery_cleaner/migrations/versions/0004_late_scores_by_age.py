"""Late scores indexed by when they last changed, for their retention
(CleanerSettings.late_score_retention_days)."""

from distillery_runtime.migration_steps import Revision

revision, down_revision = "0004", "0003"

# Frozen, like 0001: a later change to the late scores comes with a revision of its own.
LATE_SCORES_BY_AGE_V4 = Revision(
    up="create index late_scores_updated_at_idx on late_scores (updated_at);",
    down="drop index late_scores_updated_at_idx;",
)
upgrade, downgrade = LATE_SCORES_BY_AGE_V4.upgrade, LATE_SCORES_BY_AGE_V4.downgrade
