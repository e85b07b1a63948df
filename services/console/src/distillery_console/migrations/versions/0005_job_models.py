"""Which base model each job event fine-tunes, and on which provider: the overview says when the
lifecycle guard starts refusing the one the latest cycle trained."""

from distillery_runtime.migration_steps import Revision

revision, down_revision = "0005", "0004"

# Frozen, like 0001 to 0004: a later change to this table comes with a revision of its own.
JOB_MODELS_V5 = Revision(
    up="""
alter table job_events add column provider text;
alter table job_events add column base_model text;
comment on column job_events.base_model is 'The model the job fine-tunes (on provider): the overview warns before the lifecycle guard refuses it.';
""",
    down="""
alter table job_events drop column base_model;
alter table job_events drop column provider;
""",
)
upgrade, downgrade = JOB_MODELS_V5.upgrade, JOB_MODELS_V5.downgrade
