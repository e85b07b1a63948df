"""Fencing tokens: the worker's leader takes one when it wins the lock and every save checks it
(see ``distillery_runtime.fencing``), so a leader that lost the lock can no longer save jobs.
Jobs remember when their last create call was made, so a cancel looks for the job that call may
have made until it has settled."""

from distillery_runtime.migration_steps import apply

revision, down_revision = "0005", "0004"

# Frozen: a later change to this table comes with a revision of its own.
FENCING_TOKENS_V5 = """
create table fencing_tokens (
    name text not null,
    token bigint not null,
    primary key (name)
);
alter table jobs add column attempted_at timestamp with time zone;
"""

FENCING_TOKENS_V5_DOWN = """
alter table jobs drop column attempted_at;
drop table fencing_tokens;
"""


def upgrade() -> None:
    apply(FENCING_TOKENS_V5)


def downgrade() -> None:
    apply(FENCING_TOKENS_V5_DOWN)
