"""Outbox payloads inline and uncompressed: the ingester publishes one ~7 KB event per
generation, read back once by the relay (see
``distillery_runtime.migrations.store_outbox_payloads_uncompressed``).

Databases created after this change already have it from 0001; running it again is harmless.
"""

from alembic import op

from distillery_runtime.migrations import store_outbox_payloads_compressed, store_outbox_payloads_uncompressed

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    store_outbox_payloads_uncompressed(op.get_bind())


def downgrade() -> None:
    store_outbox_payloads_compressed(op.get_bind())
