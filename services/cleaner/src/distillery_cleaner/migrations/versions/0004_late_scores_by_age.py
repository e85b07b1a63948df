"""Late scores indexed by when they last changed, for their retention
(CleanerSettings.late_score_retention_days)."""

from distillery_runtime.migration_steps import apply

revision, down_revision = "0004", "0003"

# Frozen, like 0001: a later change to the late scores comes with a revision of its own.
LATE_SCORES_BY_AGE_V4 = """
create index late_scores_updated_at_idx on late_scores (updated_at);
"""

LATE_SCORES_BY_AGE_V4_DOWN = """
drop index late_scores_updated_at_idx;
"""


def upgrade() -> None:
    apply(LATE_SCORES_BY_AGE_V4)


def downgrade() -> None:
    apply(LATE_SCORES_BY_AGE_V4_DOWN)
