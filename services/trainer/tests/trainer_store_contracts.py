"""What every trainer store must do; the fake runs it here, PostgreSQL in tests/integration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from distillery_trainer.domain.job import Checkpoint, Status, TrainingFile, TrainingJob

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def a_job(n: int, **fields: object) -> TrainingJob:
    values: dict[str, object] = dict(
        job_id=f"ftjob-{n:03d}", base_model="smollm2-135m", training_file="file-1", validation_file=None,
        suffix="clinic", seed=None, metadata={"distillery_job_id": f"j{n}"}, requested={}, settings={"epochs": 3},
        created_at=T0 + timedelta(minutes=n))
    values.update(fields)
    return TrainingJob(**values)  # type: ignore[arg-type]


class TrainerStoreContract:
    """Subclasses give a ``trainer_store`` fixture."""

    async def test_a_file_is_kept_as_uploaded(self, trainer_store):
        file = TrainingFile("file-1", "train.jsonl", "fine-tune", 10, "ab" * 32, 2, "processed", None, T0)
        await trainer_store.add_file(file)
        assert await trainer_store.get_file("file-1") == file
        assert await trainer_store.get_file("file-2") is None

    async def test_a_job_round_trips_with_its_events_in_order(self, trainer_store):
        job = a_job(1)
        job.say(T0, "Validating training file: file-1")
        await trainer_store.add_job(job)
        job.move_to(Status.RUNNING, T0 + timedelta(seconds=5), "Fine-tuning job started")
        job.say(T0, "Step 1/2: training loss=1.0000", type="metrics", data={"step": 1, "train_loss": 1.0})
        await trainer_store.save_job(job)
        stored = await trainer_store.get_job(job.job_id)
        assert stored.status is Status.RUNNING and stored.started_at == T0 + timedelta(seconds=5)
        events, more = await trainer_store.events(job.job_id, limit=2)
        assert [e.message for e in events] == ["Step 1/2: training loss=1.0000", "Fine-tuning job started"]
        assert more and events[0].data == {"step": 1, "train_loss": 1.0}
        older, more = await trainer_store.events(job.job_id, limit=2, after=events[-1].event_id)
        assert [e.message for e in older] == ["Validating training file: file-1"] and not more

    async def test_a_save_never_undoes_a_cancel_request(self, trainer_store):
        job = a_job(1)
        await trainer_store.add_job(job)
        await trainer_store.request_cancel(job.job_id)
        job.attempts = 1
        await trainer_store.save_job(job)
        stored = await trainer_store.get_job(job.job_id, for_update=True)
        assert stored.cancel_requested and stored.attempts == 1

    async def test_jobs_page_newest_first_and_filter_by_metadata(self, trainer_store):
        for n in range(1, 4):
            await trainer_store.add_job(a_job(n))
        first, more = await trainer_store.jobs(limit=2)
        assert [j.job_id for j in first] == ["ftjob-003", "ftjob-002"] and more
        rest, more = await trainer_store.jobs(limit=2, after="ftjob-002")
        assert [j.job_id for j in rest] == ["ftjob-001"] and not more
        only, _ = await trainer_store.jobs(limit=10, metadata={"distillery_job_id": "j2"})
        assert [j.job_id for j in only] == ["ftjob-002"]

    async def test_unfinished_jobs_come_oldest_first(self, trainer_store):
        await trainer_store.add_job(a_job(2))
        await trainer_store.add_job(a_job(1, status=Status.RUNNING))
        await trainer_store.add_job(a_job(3, status=Status.SUCCEEDED))
        assert await trainer_store.unfinished(limit=10) == ["ftjob-001", "ftjob-002"]

    async def test_a_checkpoint_step_is_recorded_once_newest_first(self, trainer_store):
        await trainer_store.add_job(a_job(1))
        for step, cp in ((2, "ftckpt-a"), (4, "ftckpt-b"), (2, "ftckpt-c")):
            await trainer_store.add_checkpoint("ftjob-001", Checkpoint(cp, T0, step, {"step": float(step)}, f"m:{step}"))
        found, more = await trainer_store.checkpoints("ftjob-001", limit=10)
        assert [(c.checkpoint_id, c.step) for c in found] == [("ftckpt-b", 4), ("ftckpt-a", 2)] and not more
