"""Jobs remember the dates the provider publishes for their base model, as the lifecycle guard
read them, so every later event of the job carries them to the console."""

from distillery_runtime.migration_steps import Revision

revision, down_revision = "0006", "0005"

# Frozen: a later change to the jobs table comes with a revision of its own.
BASE_MODEL_DATES_V6 = Revision(
    up="alter table jobs add column base_model_dates jsonb;",
    down="alter table jobs drop column base_model_dates;",
)
upgrade, downgrade = BASE_MODEL_DATES_V6.upgrade, BASE_MODEL_DATES_V6.downgrade
