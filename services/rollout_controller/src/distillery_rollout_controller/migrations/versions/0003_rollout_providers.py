"""Rollouts remember the provider serving their candidate and the student it replaces, so a
cycle trained on another provider (self-hosted after OpenAI) is routed to where it runs."""

from distillery_runtime.migration_steps import apply

revision, down_revision = "0003", "0002"

# Frozen, like 0001: a later change to the rollouts table comes with a revision of its own.
ROLLOUT_PROVIDERS_V3 = """
alter table rollouts add column candidate_provider text;
alter table rollouts add column previous_provider text;
"""

ROLLOUT_PROVIDERS_V3_DOWN = """
alter table rollouts drop column previous_provider;
alter table rollouts drop column candidate_provider;
"""


def upgrade() -> None:
    apply(ROLLOUT_PROVIDERS_V3)


def downgrade() -> None:
    apply(ROLLOUT_PROVIDERS_V3_DOWN)
