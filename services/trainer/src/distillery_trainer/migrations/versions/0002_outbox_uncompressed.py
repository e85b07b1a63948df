"""Outbox payloads inline and uncompressed (see ``distillery_runtime.migration_steps``)."""

from distillery_runtime.migration_steps import outbox_uncompressed

revision, down_revision = "0002", "0001"
upgrade, downgrade = outbox_uncompressed.upgrade, outbox_uncompressed.downgrade
