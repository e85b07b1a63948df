"""The lifecycle guard's way out: a refusal names the self-hosted fallback, and with
DISTILLERY_FINETUNE_AUTO_FALLBACK the job continues there instead."""

from __future__ import annotations

from datetime import date

from finetune_support import BASE, OPEN_BASE

from distillery_contracts.finetune import JobStatus, PublishedDates
from distillery_finetune_controller.domain.job import Phase

S = JobStatus


async def test_with_auto_fallback_a_refused_job_is_trained_on_the_fallback_with_the_fallback_model(fallback_world):
    w = fallback_world(auto_fallback=True)
    await w.deliver(w.dataset("ds-0001"))
    await w.run()

    assert w.provider.calls == [f"model {BASE}"]  # refused there before any upload
    assert w.fallback.calls[:3] == [f"model {OPEN_BASE}", "upload ds-0001-train.jsonl",
                                    "upload ds-0001-validation.jsonl"]
    [request] = w.fallback.requests.values()
    assert (request.base_model, request.job_id) == (OPEN_BASE, "job-ds-0001")
    job = await w.job()
    assert (job.provider, job.base_model, w.jobs.accounts[job.job_id]) == (
        "selfhosted", OPEN_BASE, "selfhosted:http://trainer:8090/v1")
    assert [(e.status, e.provider, e.base_model) for e in w.published()] == [
        (S.SUBMITTED, "selfhosted", OPEN_BASE), (S.VALIDATING, "selfhosted", OPEN_BASE)]


async def test_the_refused_providers_dates_do_not_follow_the_job_to_the_fallback(fallback_world):
    w = fallback_world(auto_fallback=True)
    await w.deliver(w.dataset("ds-0001"))
    await w.run()
    assert [e.base_model_dates for e in w.published()] == [None, None]  # OPEN_BASE's own: none


async def test_a_refusal_carries_the_dates_it_was_refused_by(fallback_world):
    w = fallback_world()
    await w.deliver(w.dataset("ds-0001"))
    await w.run()
    [refused] = w.published()
    assert refused.status is S.REFUSED
    assert refused.base_model_dates == PublishedDates(source="fake provider", shutdown=date(2026, 12, 1))


async def test_the_job_says_why_it_moved_to_the_fallback(fallback_world):
    w = fallback_world(auto_fallback=True)
    await w.deliver(w.dataset("ds-0001"))
    await w.run()

    [note] = [e for e in await w.jobs.events("job-ds-0001") if e.type == "fallback"]
    assert note.level == "warning"
    assert note.message == (
        f"openai refused base model {BASE}: {BASE} shuts down on 2026-12-01 (fake provider), 29 days from "
        "2026-11-02, inside the minimum service life of 30 days; continuing on the selfhosted provider with "
        f"base model {OPEN_BASE} (DISTILLERY_FINETUNE_AUTO_FALLBACK)")
    assert note.data == {"refusal": "shutdown_too_soon", "from_provider": "openai", "from_model": BASE,
                         "to_provider": "selfhosted", "to_model": OPEN_BASE}


async def test_a_fallback_job_is_trained_and_its_adapter_loaded_by_the_fallback(fallback_world):
    w = fallback_world(auto_fallback=True)
    await w.deliver(w.dataset("ds-0001"))
    await w.run()
    [pid] = w.fallback.jobs
    model = f"ft:{OPEN_BASE}:distillery:{pid}"
    w.fallback.advance(pid, "succeeded", fine_tuned_model=model)
    await w.run()

    assert w.statuses()[-1] is S.SUCCEEDED
    assert w.published()[-1].deployment_name == model
    assert model in w.fallback.deployments
    assert [c for c in w.provider.calls if c != f"model {BASE}"] == []


async def test_without_auto_fallback_the_refusal_names_the_fallback_and_the_setting(fallback_world):
    w = fallback_world()
    await w.deliver(w.dataset("ds-0001"))
    await w.run()

    assert w.statuses() == [S.REFUSED]
    error = w.published()[-1].error
    assert error.code == "shutdown_too_soon"
    assert error.message.endswith(
        f"; the configured fallback is base model {OPEN_BASE} on the selfhosted provider; "
        "set DISTILLERY_FINETUNE_AUTO_FALLBACK=true to continue there automatically")
    assert w.fallback.calls == []


async def test_a_job_over_budget_is_refused_not_moved_to_the_fallback(fallback_world):
    w = fallback_world(auto_fallback=True, max_training_cost_usd=10.0)
    await w.deliver(w.dataset("ds-0001", estimated_training_cost_usd=80.0))
    await w.run()

    assert w.statuses() == [S.REFUSED]
    assert w.published()[-1].error.code == "over_budget"
    assert w.provider.calls == [] and w.fallback.calls == []


async def test_a_model_the_provider_still_offers_is_not_moved(fallback_world):
    w = fallback_world(auto_fallback=True)
    w.provider.offer(BASE)  # no shutdown date
    await w.deliver(w.dataset("ds-0001"))
    await w.run()

    assert (await w.job()).provider == "openai"
    assert w.fallback.calls == []


async def test_a_fallback_model_the_trainer_lacks_is_refused_with_nowhere_further_to_go(fallback_world):
    w = fallback_world(auto_fallback=True, fallback_model="/srv/models/missing")
    await w.deliver(w.dataset("ds-0001"))
    await w.run(ticks=2)

    assert w.statuses() == [S.REFUSED]
    error = w.published()[-1].error
    assert error.code == "model_unknown"
    assert error.message == (
        "refused before any upload: base model /srv/models/missing is not offered by the provider; the job already "
        "runs on the fallback (DISTILLERY_FINETUNE_FALLBACK_PROVIDER, DISTILLERY_FINETUNE_FALLBACK_MODEL): there "
        "is nothing further to fall back to")
    assert w.fallback.calls == ["model /srv/models/missing"]
    assert (await w.job()).phase is Phase.DONE


async def test_fallback_jobs_wait_for_the_fallbacks_own_slot(fallback_world):
    w = fallback_world(auto_fallback=True)
    await w.deliver(w.dataset("ds-0001"))
    await w.deliver(w.dataset("ds-0002"))
    await w.run(ticks=2)

    assert w.fallback.created_jobs() == ["create job-ds-0001"]  # the self-hosted trainer: one at a time
    assert (await w.job("job-ds-0002")).provider == "selfhosted"


async def test_a_job_cancelled_while_waiting_for_the_fallback_says_nothing_of_the_refused_models_dates(
        fallback_world):
    w = fallback_world(auto_fallback=True)
    await w.deliver(w.dataset("ds-0001"))
    await w.deliver(w.dataset("ds-0002"))
    await w.run(ticks=2)
    await w.jobs.request_cancel("job-ds-0002", "wrong dataset")  # moved, waiting for the trainer's slot
    await w.run(step_s=0)

    [cancelled] = [e for e in w.published() if e.job_id == "job-ds-0002"]
    assert (cancelled.status, cancelled.provider, cancelled.base_model) == (S.CANCELLED, "selfhosted", OPEN_BASE)
    assert cancelled.base_model_dates is None  # not OpenAI's dates for BASE


async def test_a_restarted_worker_resumes_the_jobs_of_both_providers(fallback_world):
    from distillery_finetune_controller.services import resume

    w = fallback_world(auto_fallback=True)
    w.provider.offer("gpt-4.1-mini")
    await w.deliver(w.dataset("ds-0001"))
    await w.deliver(w.dataset("ds-0002", base_model="gpt-4.1-mini"))
    await w.run(step_s=0)

    assert await resume(w.context) == 2
    assert {j: w.jobs.accounts[j] for j in ("job-ds-0001", "job-ds-0002")} == {
        "job-ds-0001": "selfhosted:http://trainer:8090/v1", "job-ds-0002": w.settings.provider_account}
