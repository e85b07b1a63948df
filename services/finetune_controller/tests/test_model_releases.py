"""A retired student's adapter is unloaded from the serving engine: a rollback or a newer
student in production is an unload, recorded by the consumer and done by the worker."""

from __future__ import annotations

from datetime import timedelta

from finetune_support import OPEN_BASE

from distillery_contracts.rollout import RolloutDecision as D
from distillery_finetune_controller.domain.provider_types import ProviderUnavailable
from distillery_finetune_controller.domain.registry import ModelStatus

DELAY = timedelta(seconds=60)  # the default DISTILLERY_FINETUNE_UNDEPLOY_DELAY_S


async def serving(w, dataset_id: str = "ds-0001") -> str:
    model = await w.train(dataset_id, base_model=OPEN_BASE)
    await w.run()
    assert model in w.provider.deployments
    return model


async def registered(w, model: str):
    [found] = [m for m in await w.registry.list_models() if m.fine_tuned_model == model]
    return found


async def test_a_rolled_back_student_is_unloaded_by_the_worker_once_routers_have_let_go(selfhosted_world):
    w = selfhosted_world
    model = await serving(w)
    await w.decide(D.STARTED, model)
    calls = len(w.provider.calls)
    await w.decide(D.ROLLED_BACK, model)

    retired = await registered(w, model)
    assert (retired.status, retired.undeploy_due_at) == (ModelStatus.RETIRED, w.clock() + DELAY)
    assert len(w.provider.calls) == calls  # the consumer only recorded it

    w.clock.advance(DELAY.total_seconds() - 1)
    await w.run(step_s=1)
    assert model in w.provider.deployments  # routers may still send it calls
    await w.run(step_s=0)

    assert w.provider.undeployed == [model]
    released = await registered(w, model)
    assert (released.undeploy_due_at, released.undeployed_at) == (None, w.clock())


async def test_a_release_is_done_once_however_often_the_worker_runs_or_the_decision_arrives(selfhosted_world):
    w = selfhosted_world
    model = await serving(w)
    await w.decide(D.STARTED, model)
    await w.decide(D.ROLLED_BACK, model)
    w.clock.advance(DELAY.total_seconds())
    await w.run(ticks=3)
    await w.decide(D.ROLLED_BACK, model)  # a replay of the decision changes nothing
    await w.run(ticks=2)

    assert w.provider.calls.count(f"undeploy {model}") == 1
    assert (await registered(w, model)).undeploy_due_at is None


async def test_a_student_replaced_in_production_is_unloaded_and_its_successor_kept(selfhosted_world):
    w = selfhosted_world
    old = await serving(w, "ds-0001")
    await w.decide(D.STARTED, old, rollout_id="ro-1")
    await w.decide(D.COMPLETED, old, rollout_id="ro-1")
    new = await serving(w, "ds-0002")
    await w.decide(D.STARTED, new, previous=old, rollout_id="ro-2")
    await w.decide(D.COMPLETED, new, previous=old, rollout_id="ro-2")
    w.clock.advance(DELAY.total_seconds())
    await w.run()

    assert w.provider.undeployed == [old]
    assert new in w.provider.deployments
    assert ((await registered(w, old)).status, (await registered(w, new)).status) == (
        ModelStatus.RETIRED, ModelStatus.PRODUCTION)


async def test_an_unreachable_engine_is_asked_again_with_growing_delays(selfhosted_world):
    w = selfhosted_world
    model = await serving(w)
    await w.decide(D.STARTED, model)
    await w.decide(D.ROLLED_BACK, model)
    w.provider.fail_next("undeploy", ProviderUnavailable("unload adapter: ConnectError"),
                         ProviderUnavailable("unload adapter: ConnectError"))
    w.clock.advance(DELAY.total_seconds())
    delays = []
    for _ in range(2):
        start = w.clock()
        await w.run(step_s=0)
        due = (await registered(w, model)).undeploy_due_at
        delays.append((due - start).total_seconds())
        w.clock.now = due

    assert delays == [5, 10]  # retry_base_s, doubling
    await w.run(step_s=0)
    assert w.provider.undeployed == [model]
    assert (await registered(w, model)).undeploy_failures == 0


async def test_a_student_back_in_rollout_before_its_release_keeps_its_adapter(selfhosted_world):
    w = selfhosted_world
    model = await serving(w)
    await w.decide(D.STARTED, model, rollout_id="ro-1")
    await w.decide(D.ROLLED_BACK, model, rollout_id="ro-1")
    await w.decide(D.STARTED, model, rollout_id="ro-2")
    w.clock.advance(DELAY.total_seconds())
    await w.run(ticks=2)

    assert f"undeploy {model}" not in w.provider.calls
    assert model in w.provider.deployments


async def test_azure_keeps_the_deployments_of_retired_models(azure_world):
    w = azure_world
    model = await w.train()
    w.provider.deployment_state_after_put = "Succeeded"
    await w.run()
    await w.decide(D.STARTED, "distillery-ds-0001")
    await w.decide(D.ROLLED_BACK, "distillery-ds-0001")
    w.clock.advance(DELAY.total_seconds())
    await w.run(ticks=2)

    assert w.provider.calls.count("undeploy distillery-ds-0001") == 1  # asked once; it keeps it
    assert "distillery-ds-0001" in w.provider.deployments
    kept = await registered(w, model)
    assert (kept.undeploy_due_at, kept.undeployed_at) == (None, None)
