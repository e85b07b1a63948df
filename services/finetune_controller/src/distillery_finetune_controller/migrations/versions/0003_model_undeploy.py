"""Registry models record when their deployment (a self-hosted adapter) is to be released, and when it was."""

from distillery_runtime.migration_steps import apply

revision, down_revision = "0003", "0002"

# Frozen, like 0001: a later change to the models table comes with a revision of its own.
MODELS_UNDEPLOY_V3 = """
alter table models add column undeploy_due_at timestamp with time zone;
alter table models add column undeploy_failures integer default 0 not null;
alter table models add column undeployed_at timestamp with time zone;
"""

MODELS_UNDEPLOY_V3_DOWN = """
alter table models drop column undeployed_at;
alter table models drop column undeploy_failures;
alter table models drop column undeploy_due_at;
"""


def upgrade() -> None:
    apply(MODELS_UNDEPLOY_V3)


def downgrade() -> None:
    apply(MODELS_UNDEPLOY_V3_DOWN)
