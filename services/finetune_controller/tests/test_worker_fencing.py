"""Two workers that both think they lead, and a cancel that meets a create whose answer was lost:
neither may leave a second paid job, nor one running that nobody tracks."""

from __future__ import annotations

import pytest

from distillery_contracts.finetune import JobStatus
from distillery_finetune_controller.domain.job import Phase
from distillery_finetune_controller.domain.provider_types import ProviderUnavailable
from distillery_finetune_controller.services import advance_safely, take_lead, tick
from distillery_runtime.fencing import LostLease

S = JobStatus


async def _job_about_to_be_created(world) -> None:
    """A job that reached CREATING and waits there (the provider was busy checking its files)."""
    await world.deliver(world.dataset("ds-0001"))
    world.provider.fail_next("get_file", ProviderUnavailable("HTTP 503: busy"))
    await world.run()
    assert (await world.job()).phase is Phase.CREATING and (await world.job()).create_attempts == 0


async def test_a_leader_that_lost_the_lock_cannot_create_a_second_paid_job(world):
    old = world.context
    await take_lead(old)
    await _job_about_to_be_created(world)
    stale = await world.job()  # what the old leader read before it was cut off

    new = world.context
    await take_lead(new)  # another instance won the lock meanwhile, and creates the job
    await tick(new)
    assert world.provider.created_jobs() == ["create job-ds-0001"]

    with pytest.raises(LostLease):
        await advance_safely(old, stale)

    assert world.provider.created_jobs() == ["create job-ds-0001"]
    assert (await world.job()).provider_job_id == world.provider_job()


async def test_nothing_a_superseded_leader_does_is_saved(world):
    await world.deliver(world.dataset("ds-0001"))
    old = world.context
    await take_lead(old)
    await take_lead(world.context)

    with pytest.raises(LostLease):
        await tick(old)

    assert (await world.job()).phase is Phase.WAITING
    assert world.published() == [] and world.provider.created_jobs() == []


async def test_the_leader_holding_the_newest_token_moves_jobs(world):
    await take_lead(world.context)
    lead = world.context
    await take_lead(lead)
    await world.deliver(world.dataset("ds-0001"))

    await tick(lead)

    assert world.provider.created_jobs() == ["create job-ds-0001"]


async def test_a_cancel_while_creating_cancels_the_job_a_lost_answer_made_once_it_is_listed(world):
    world.provider.lose_create_answers = 1
    world.provider.lists_late = True
    await world.deliver(world.dataset("ds-0001"))
    await world.run(step_s=30)  # created at the provider, answer lost, not listed yet
    await world.jobs.request_cancel("job-ds-0001", "operator")

    await world.run(ticks=4, step_s=30)
    assert (await world.job()).phase is Phase.CREATING  # still looking, never marked cancelled blind
    assert world.provider.created_jobs() == ["create job-ds-0001"]  # and never created again

    world.provider.unlisted.clear()  # the list catches up
    await world.run(step_s=30)

    pid = world.provider_job()
    assert world.provider.jobs[pid].raw_status == "cancelled"
    assert f"cancel {pid}" in world.provider.calls
    assert (await world.job()).provider_job_id == pid
    assert world.statuses()[-1] is S.CANCELLED


async def test_a_cancel_while_creating_ends_the_job_once_the_last_create_can_no_longer_appear(world):
    world.provider.fail_next("create", ProviderUnavailable("HTTP 503: busy"))  # made nothing
    await world.deliver(world.dataset("ds-0001"))
    await world.run(step_s=30)
    await world.jobs.request_cancel("job-ds-0001", "operator")

    await world.run(step_s=30)
    assert (await world.job()).phase is Phase.CREATING

    await world.run(ticks=2, step_s=3600)
    assert world.statuses()[-1] is S.CANCELLED
    assert world.provider.jobs == {} and world.provider.created_jobs() == ["create job-ds-0001"]


async def test_a_create_retry_waits_until_the_last_call_can_no_longer_have_made_a_job(world):
    world.provider.lose_create_answers = 1
    world.provider.lists_late = True
    await world.deliver(world.dataset("ds-0001"))

    await world.run(ticks=6, step_s=30)  # well within the SDK's retries of one create call
    assert world.provider.created_jobs() == ["create job-ds-0001"]

    world.provider.unlisted.clear()
    await world.run(step_s=30)
    assert world.provider.created_jobs() == ["create job-ds-0001"]
    assert (await world.job()).provider_job_id == world.provider_job()
