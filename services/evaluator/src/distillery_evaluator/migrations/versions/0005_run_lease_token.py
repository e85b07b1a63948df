"""Runs carry a fencing token, taken anew by every claim and checked by every save under the
lease (see ``distillery_runtime.fencing``): an instance whose lease ran out, the run claimed
again by another, can no longer save answers, scores or a verdict."""

from distillery_runtime.migration_steps import apply

revision, down_revision = "0005", "0004"

# Frozen: a later change to the runs table comes with a revision of its own.
RUNS_LEASE_TOKEN_V5 = """
alter table runs add column lease_token bigint default 0 not null;
"""

RUNS_LEASE_TOKEN_V5_DOWN = """
alter table runs drop column lease_token;
"""


def upgrade() -> None:
    apply(RUNS_LEASE_TOKEN_V5)


def downgrade() -> None:
    apply(RUNS_LEASE_TOKEN_V5_DOWN)
