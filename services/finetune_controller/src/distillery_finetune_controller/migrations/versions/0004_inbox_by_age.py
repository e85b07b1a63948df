"""The inbox indexed by consumer and age, for its retention (see ``distillery_runtime.migration_steps``)."""

from distillery_runtime.migration_steps import inbox_by_age

revision, down_revision = "0004", "0003"
upgrade, downgrade = inbox_by_age.upgrade, inbox_by_age.downgrade
