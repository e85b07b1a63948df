"""What the worker does when the provider, the files or the process let it down."""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

from distillery_contracts.finetune import JobStatus
from distillery_finetune_controller.domain.job import Phase
from distillery_finetune_controller.domain.provider_types import ProviderRejected, ProviderUnavailable

S = JobStatus


async def test_a_lost_create_answer_is_found_in_the_job_list_instead_of_creating_again(world):
    world.provider.lose_create_answers = 1
    await world.deliver(world.dataset("ds-0001"))
    await world.run(ticks=3)

    assert world.provider.created_jobs() == ["create job-ds-0001"]
    assert "find job-ds-0001" in world.provider.calls
    assert len(world.provider.jobs) == 1
    assert (await world.job()).provider_job_id == next(iter(world.provider.jobs))
    assert world.statuses() == [S.SUBMITTED, S.VALIDATING]


async def test_without_metadata_the_lost_job_is_recognised_by_its_files_and_suffix(azure_world):
    w = azure_world  # stores no metadata, like Azure's 2024-10-21 API
    w.provider.lose_create_answers = 1
    await w.deliver(w.dataset("ds-0001"))
    await w.run(ticks=3)

    assert w.provider.created_jobs() == ["create job-ds-0001"]
    assert (await w.job()).provider_job_id == next(iter(w.provider.jobs))


async def test_a_create_attempt_that_made_nothing_is_made_again(world):
    world.provider.fail_next("create", ProviderUnavailable("HTTP 503: busy"))
    await world.deliver(world.dataset("ds-0001"))
    await world.run(ticks=3)

    assert world.provider.created_jobs() == ["create job-ds-0001", "create job-ds-0001"]
    assert len(world.provider.jobs) == 1
    assert world.statuses() == [S.SUBMITTED, S.VALIDATING]


async def test_rate_limits_are_retried_with_growing_delays_that_honour_retry_after(world):
    await world.deliver(world.dataset("ds-0001"))
    world.provider.fail_next("model", ProviderUnavailable("HTTP 429", retry_after_s=2),
                             ProviderUnavailable("HTTP 429", retry_after_s=2), ProviderUnavailable("HTTP 429", 30))
    delays = []
    for _ in range(3):
        start = world.clock()
        await world.run(step_s=0)
        delays.append(((await world.job()).next_check_at - start).total_seconds())
        world.clock.now = (await world.job()).next_check_at

    assert delays == [5, 10, 30]  # retry_base_s doubling; Retry-After when longer
    await world.run()
    assert world.statuses() == [S.SUBMITTED, S.VALIDATING]
    assert (await world.job()).failures == 0


async def test_a_request_the_provider_refuses_fails_the_job_with_its_message(world):
    message = "Invalid file format: line 3 is not valid JSON"
    world.provider.fail_next("create", ProviderRejected(message, status=400, code="invalid_training_file"))
    await world.deliver(world.dataset("ds-0001"))
    await world.run(ticks=2)

    assert world.statuses() == [S.FAILED]
    assert world.published()[-1].error.model_dump() == {"code": "invalid_training_file", "message": message}
    assert world.provider.created_jobs() == ["create job-ds-0001"]


async def test_a_job_the_provider_fails_is_published_as_failed_with_the_providers_error(world):
    await world.deliver(world.dataset("ds-0001"))
    await world.run()
    world.provider.fail_job(world.provider_job(), "invalid_training_file",
                            "The job failed due to an invalid training file. Line 4: missing 'messages'.")
    await world.run()

    assert world.statuses() == [S.SUBMITTED, S.VALIDATING, S.FAILED]
    assert world.published()[-1].error.message.endswith("Line 4: missing 'messages'.")
    assert (await world.job()).phase is Phase.DONE


async def test_a_dataset_naming_a_file_outside_the_datasets_store_is_refused_and_nothing_uploaded(world, tmp_path):
    secret = tmp_path.parent / f"{tmp_path.name}-outside" / "id_ed25519"
    secret.parent.mkdir()
    secret.write_text("not for a provider\n")
    dataset = world.dataset("ds-0001")
    dataset.files.train.uri = f"file://{world.tmp}/ds-0001/../../{secret.parent.name}/{secret.name}"
    dataset.files.train.sha256 = hashlib.sha256(secret.read_bytes()).hexdigest()
    await world.deliver(dataset)
    await world.run()

    assert world.statuses() == [S.FAILED]
    error = world.published()[-1].error
    assert error.code == "dataset_file" and "is outside the datasets store" in error.message
    assert not [c for c in world.provider.calls if c.startswith("upload")]


async def test_a_dataset_file_changed_since_the_build_is_not_uploaded(world):
    dataset = world.dataset("ds-0001")
    (world.tmp / "ds-0001" / "train.jsonl").write_text('{"messages": []}\n')
    await world.deliver(dataset)
    await world.run()

    assert world.statuses() == [S.FAILED]
    assert "changed since it was built" in world.published()[-1].error.message
    assert not [c for c in world.provider.calls if c.startswith("upload")]


async def test_a_base_model_past_its_shutdown_is_refused_before_any_upload(world):
    world.provider.offer("gpt-4o-mini-2024-07-18", shutdown_date=date(2026, 10, 1))
    world.settings.fallback_model = "gpt-4.1-mini-2025-04-14"
    await world.deliver(world.dataset("ds-0001"))
    await world.run()

    assert world.statuses() == [S.REFUSED]
    refusal = world.published()[-1]
    assert refusal.error.code == "model_retired"
    assert "2026-10-01" in refusal.error.message and "gpt-4.1-mini-2025-04-14" in refusal.error.message
    assert refusal.provider_job_id is None
    assert world.provider.calls == ["model gpt-4o-mini-2024-07-18"]


async def test_a_cancelled_waiting_job_never_reaches_the_provider(azure_world):
    w = azure_world
    await w.deliver(w.dataset("ds-0001"))
    await w.deliver(w.dataset("ds-0002"))
    await w.run()
    await w.jobs.request_cancel("job-ds-0002", "wrong dataset")
    await w.run(step_s=0)

    assert w.statuses("job-ds-0002") == [S.CANCELLED]
    assert not [c for c in w.provider.calls if "ds-0002" in c]


async def test_a_cancelled_running_job_is_cancelled_at_the_provider(world):
    await world.deliver(world.dataset("ds-0001"))
    await world.run()
    world.provider.advance(world.provider_job(), "running")
    await world.run()
    await world.jobs.request_cancel("job-ds-0001", "operator")
    world.clock.advance(-3599)  # the next poll is far off: the cancel must not wait for it
    await world.run()

    assert f"cancel {world.provider_job()}" in world.provider.calls
    assert world.statuses() == [S.SUBMITTED, S.VALIDATING, S.RUNNING, S.CANCELLED]


async def test_a_cancel_request_survives_the_workers_own_saves(world):
    await world.deliver(world.dataset("ds-0001"))
    stale = await world.job()
    await world.jobs.request_cancel("job-ds-0001", "operator")
    stale.next_check_at += timedelta(seconds=1)
    await world.jobs.save(stale)

    assert (await world.job()).cancel_requested


async def test_a_dataset_over_the_training_budget_is_refused_without_calling_the_provider(make_world):
    world = make_world(max_training_cost_usd=100.0)
    await world.deliver(world.dataset("ds-0001", estimated_training_cost_usd=80.0))  # 2 epochs
    world.settings.n_epochs = 4
    await world.deliver(world.dataset("ds-0002", estimated_training_cost_usd=80.0))  # 4 epochs: $160
    await world.run()

    assert world.statuses("job-ds-0002") == [S.REFUSED]
    refusal = world.published("job-ds-0002")[0].error
    assert refusal.code == "over_budget" and "$160.00" in refusal.message and "$100.00" in refusal.message
    assert not [c for c in world.provider.calls if "ds-0002" in c]
    assert world.provider.calls.count("model gpt-4o-mini-2024-07-18") == 1  # ds-0001's check only
    assert world.statuses("job-ds-0001") == [S.SUBMITTED, S.VALIDATING]


async def test_a_cancel_the_provider_refuses_leaves_the_job_to_its_real_outcome(world):
    await world.deliver(world.dataset("ds-0001"))
    await world.run()
    pid = world.provider_job()
    world.provider.advance(pid, "succeeded", fine_tuned_model="ft:gpt-4o-mini:acme::x")
    world.provider.fail_next("cancel", ProviderRejected("Job has already completed", status=400))
    await world.jobs.request_cancel("job-ds-0001", "operator")
    await world.run(ticks=2)

    assert world.statuses() == [S.SUBMITTED, S.VALIDATING, S.SUCCEEDED]


async def _trained_on_azure(w) -> None:
    await w.deliver(w.dataset("ds-0001"))
    await w.run()
    pid = w.provider_job()
    w.provider.advance(pid, "succeeded", fine_tuned_model="gpt-4o-mini-2024-07-18.ft-abc")


async def test_an_expired_azure_token_is_retried_with_backoff_then_fails_the_job_in_one_line(azure_world):
    from distillery_finetune_controller.domain.provider_types import CredentialsRefused

    w = azure_world
    await _trained_on_azure(w)
    refusals = w.settings.credential_retries
    w.provider.fail_next("get_deployment", *[CredentialsRefused("GET deployment: credentials refused (HTTP 401): "
                                                                "token expired")] * (refusals + 5))
    delays = []
    for _ in range(refusals - 1):
        start = w.clock()
        await w.run(step_s=0)
        delays.append(((await w.job()).next_check_at - start).total_seconds())
        w.clock.now = (await w.job()).next_check_at
        assert (await w.job()).phase is Phase.DEPLOYING

    await w.run(step_s=0)

    job = await w.job()
    assert delays == sorted(delays) and delays[0] < delays[-1]  # backed off, as any outage
    assert job.phase is Phase.DONE and job.status is S.FAILED
    assert job.error is not None and job.error.code == "credentials_refused"
    assert "refused 5 times in a row" in job.error.message and "\n" not in job.error.message
    assert w.statuses()[-1] is S.FAILED


async def test_a_refused_token_renewed_in_time_lets_the_job_finish(azure_world):
    from distillery_finetune_controller.domain.provider_types import CredentialsRefused

    w = azure_world
    await _trained_on_azure(w)
    w.provider.fail_next("get_deployment", *[CredentialsRefused("credentials refused (HTTP 401)")]
                         * (w.settings.credential_retries - 1))
    await w.run(ticks=w.settings.credential_retries + 2)

    assert (await w.job()).phase is Phase.DEPLOYING  # deploying again, not failed
