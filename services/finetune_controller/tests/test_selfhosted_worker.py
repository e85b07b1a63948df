"""A self-hosted job: trained by the trainer, then served once its adapter is loaded, under the
fine-tuned model's own name."""

from __future__ import annotations

from finetune_support import OPEN_BASE

from distillery_contracts.finetune import JobStatus
from distillery_finetune_controller.domain.job import Phase
from distillery_finetune_controller.domain.provider_types import Deployment, ProviderUnavailable

S = JobStatus


async def test_a_trained_adapter_is_loaded_under_the_model_name_before_success_is_announced(selfhosted_world):
    w = selfhosted_world
    model = await w.train(base_model=OPEN_BASE)
    await w.run()

    assert w.statuses() == [S.SUBMITTED, S.VALIDATING, S.RUNNING, S.SUCCEEDED]
    assert f"deploy {model}" in w.provider.calls
    assert w.provider.calls.index(f"get_deployment {model}") < w.provider.calls.index(f"deploy {model}")
    done = w.published()[-1]
    assert (done.provider, done.fine_tuned_model, done.deployment_name) == ("selfhosted", model, model)
    [registered] = await w.registry.list_models()
    assert (registered.deployment_name, registered.provider, registered.base_model) == (model, "selfhosted", OPEN_BASE)


async def test_an_adapter_the_engine_refuses_fails_the_job_with_the_engines_words(selfhosted_world):
    w = selfhosted_world
    w.provider.deployment_state_after_put = "Failed"
    w.provider.deployment_detail = "the serving engine refused the adapter at /srv/adapters/ftjob-1: base mismatch"
    model = await w.train(base_model=OPEN_BASE)
    await w.run(ticks=3)

    assert w.statuses() == [S.SUBMITTED, S.VALIDATING, S.RUNNING, S.FAILED]
    error = w.published()[-1].error
    assert error.code == "deployment_failed"
    assert error.message == (f"deployment {model} failed: the serving engine refused the adapter at "
                             "/srv/adapters/ftjob-1: base mismatch")
    assert w.provider.calls.count(f"deploy {model}") == 1  # failed for good, not tried again


async def test_an_unreachable_engine_is_tried_again_until_it_loads_the_adapter(selfhosted_world):
    w = selfhosted_world
    model = await w.train(base_model=OPEN_BASE)
    w.provider.fail_next("deploy", ProviderUnavailable("load adapter: ConnectError: connection refused"),
                         ProviderUnavailable("load adapter: ConnectError: connection refused"))
    await w.run(step_s=0)
    job = await w.job()
    assert (job.phase, job.failures, (job.next_check_at - w.clock()).total_seconds()) == (Phase.DEPLOYING, 1, 5)

    w.clock.now = job.next_check_at
    await w.run(ticks=2)

    assert w.statuses()[-1] is S.SUCCEEDED
    assert w.provider.calls.count(f"deploy {model}") == 3


async def test_an_adapter_loaded_from_elsewhere_under_the_same_name_is_not_replaced(selfhosted_world):
    w = selfhosted_world
    model = await w.train(base_model=OPEN_BASE)
    w.provider.deployments[model] = Deployment(model, "Succeeded", model="the adapter at /elsewhere/ftjob-9")
    await w.run()

    error = w.published()[-1].error
    assert error.code == "deployment_conflict"
    assert error.message == f"deployment {model} already serves the adapter at /elsewhere/ftjob-9; not replacing it"
    assert f"deploy {model}" not in w.provider.calls


async def test_a_loaded_adapter_found_after_a_restart_is_not_loaded_twice(selfhosted_world):
    w = selfhosted_world
    model = await w.train(base_model=OPEN_BASE)
    w.provider.deployments[model] = Deployment(model, "Succeeded", model=model)  # loaded before a crash
    await w.run()

    assert w.statuses()[-1] is S.SUCCEEDED
    assert f"deploy {model}" not in w.provider.calls


async def test_the_self_hosted_trainer_runs_one_job_at_a_time(selfhosted_world):
    w = selfhosted_world
    await w.deliver(w.dataset("ds-0001", base_model=OPEN_BASE))
    await w.deliver(w.dataset("ds-0002", base_model=OPEN_BASE))
    await w.run(ticks=2)

    assert w.provider.created_jobs() == ["create job-ds-0001"]
