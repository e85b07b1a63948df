"""A job's events carry every training loss its provider logged: the curve the console plots."""

from __future__ import annotations

from datetime import timedelta

import pytest

from distillery_contracts.finetune import MAX_LOSS_POINTS, JobStatus
from distillery_finetune_controller.domain.metrics import loss_curve
from distillery_finetune_controller.domain.provider_types import ProviderCheckpoint, ProviderEvent
from finetune_support import TODAY

S = JobStatus
MODEL = "ft:gpt-4o-mini:acme:distillery:abc"


def steps_and_losses(event) -> list[tuple[int, float, float | None]]:
    return [(p.step, p.train_loss, p.valid_loss) for p in event.loss_curve]


async def test_running_and_succeeded_events_carry_every_logged_loss_with_checkpoints_validation(world):
    await world.deliver(world.dataset("ds-0001"))
    await world.run()
    pid = world.provider_job()
    world.provider.add_event(pid, "Fine-tuning job started")
    world.provider.add_event(pid, "Step 1/3: training loss=2.10", {"step": 1, "train_loss": 2.1})
    world.provider.add_event(pid, "Step 2/3: training loss=1.40, validation loss=1.60",
                             {"step": 2, "train_loss": 1.4, "valid_loss": 1.6})
    world.provider.advance(pid, "running")
    await world.run()
    # an event without data still says its loss in its message, as OpenAI's do
    world.provider.add_event(pid, "Step 3/3: training loss=0.90, validation loss=1.10")
    world.provider.add_checkpoint(pid, 3, train_loss=0.9, valid_loss=1.1, full_valid_loss=1.05)
    world.provider.advance(pid, "succeeded", fine_tuned_model=MODEL)
    await world.run()

    assert world.statuses() == [S.SUBMITTED, S.VALIDATING, S.RUNNING, S.SUCCEEDED]
    submitted, _, running, succeeded = world.published()
    assert submitted.loss_curve == []
    assert steps_and_losses(running) == [(1, 2.1, None), (2, 1.4, 1.6)]
    assert steps_and_losses(succeeded) == [(1, 2.1, None), (2, 1.4, 1.6), (3, 0.9, 1.05)]
    assert all(p.at == world.provider.now for p in succeeded.loss_curve)
    assert running.checkpoints == []
    [checkpoint] = succeeded.checkpoints
    assert (checkpoint.step, checkpoint.train_loss, checkpoint.valid_loss) == (3, 0.9, 1.05)  # the whole file's
    assert checkpoint.model.startswith("ft:") and checkpoint.at == world.provider.now


async def test_azure_announces_the_whole_curve_once_deployed(azure_world):
    w = azure_world
    await w.deliver(w.dataset("ds-0001"))
    await w.run()
    pid = w.provider_job()
    w.provider.advance(pid, "running")
    for step in range(1, 6):
        w.provider.add_event(pid, f"Step {step}/5: training loss={1 / step:.2f}", {"step": step, "train_loss": 1 / step})
    w.provider.advance(pid, "succeeded", fine_tuned_model="gpt-4o-mini-2024-07-18.ft-abc")
    w.provider.deployment_state_after_put = "Succeeded"
    await w.run(ticks=2)

    assert w.statuses()[-1] is S.SUCCEEDED
    assert [p.step for p in w.published()[-1].loss_curve] == [1, 2, 3, 4, 5]


async def test_a_failed_job_publishes_the_losses_logged_before_it_failed(world):
    await world.deliver(world.dataset("ds-0001"))
    await world.run()
    pid = world.provider_job()
    world.provider.add_event(pid, "Step 1/9: training loss=2.00", {"step": 1, "train_loss": 2.0})
    world.provider.advance(pid, "failed")
    await world.run()

    assert world.published()[-1].status is S.FAILED
    assert steps_and_losses(world.published()[-1]) == [(1, 2.0, None)]


def event(n: int, message: str, data: dict | None = None) -> ProviderEvent:
    return ProviderEvent(event_id=f"ev-{n:05d}", created_at=TODAY + timedelta(seconds=n), level="info",
                         message=message, data=data)


def test_the_curve_takes_steps_in_order_skips_steps_without_a_training_loss_and_ignores_junk():
    events = [
        event(1, "Step 2/4: training loss=1.5", {"step": 2, "train_loss": 1.5}),
        event(2, "Step 1/4: training loss=1.9", {"step": 1, "train_loss": 1.9}),
        event(3, "validation only", {"step": 3, "valid_loss": 1.2}),
        event(4, "a NaN", {"step": 4, "train_loss": float("nan")}),
        event(5, "Checkpoint created at step 2"),
        event(6, "Step 4/4: training loss=0.7000"),
    ]
    checkpoint = ProviderCheckpoint("ckpt-1", TODAY, 2, "ft:ckpt", {"step": 2.0, "full_valid_loss": 1.3})
    assert [(p.step, p.train_loss, p.valid_loss) for p in loss_curve(events, [checkpoint])] == [
        (1, 1.9, None), (2, 1.5, 1.3), (4, 0.7, None)]


def test_a_long_run_is_thinned_to_the_bound_keeping_its_last_step():
    events = [event(n, f"Step {n}/5000: training loss=1", {"step": n, "train_loss": 1.0}) for n in range(1, 5001)]
    curve = loss_curve(events, [])
    assert len(curve) == MAX_LOSS_POINTS
    assert (curve[0].step, curve[-1].step) == (1, 5000)


@pytest.mark.parametrize("message", ["Step 3/10: training loss=n/a", "Step three: training loss=1.0", ""])
def test_a_message_that_does_not_say_a_loss_adds_no_point(message):
    assert loss_curve([event(1, message)], []) == []
