"""The dates a provider publishes for a job's base model (Azure's deprecation), as the job's events
carry them: the overview warns of an arm on that provider by them."""

from distillery_runtime.migration_steps import Revision

revision, down_revision = "0006", "0005"

# Frozen, like 0001 to 0005: a later change to this table comes with a revision of its own.
JOB_BASE_MODEL_DATES_V6 = Revision(
    up="""
alter table job_events add column base_model_dates jsonb;
comment on column job_events.base_model_dates is 'What the provider publishes for base_model (PublishedDates), as the lifecycle guard read it: the overview warns of that provider''s arms by it.';
""",
    down="""
alter table job_events drop column base_model_dates;
""",
)
upgrade, downgrade = JOB_BASE_MODEL_DATES_V6.upgrade, JOB_BASE_MODEL_DATES_V6.downgrade
