"""Leadership with the one Worker loop, on a real PostgreSQL: one instance leads, and when its
lock connection dies the lead is taken again (by whichever instance wins the lock) and only
the new leader acts: nobody acts on a lock it lost."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from distillery_runtime.db import create_engine
from distillery_runtime.service import ServiceContext
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.worker import Worker

pytestmark = pytest.mark.integration


def instance(database_url: str, name: str, stopping: asyncio.Event) -> ServiceContext:
    engine = create_engine(database_url, name)  # application_name = name: the test can find it
    return ServiceContext(name=name, settings=RuntimeSettings(), engine=engine, sessions=None,  # type: ignore[arg-type]
                          new_uow=lambda: None, broker=None, stopping=stopping)  # type: ignore[arg-type,return-value]


async def test_one_instance_leads_and_the_lead_is_retaken_when_its_connection_dies(database_url: str) -> None:
    stopping = asyncio.Event()
    ran: list[str] = []
    led: list[str] = []

    async def step(ctx: ServiceContext) -> None:
        ran.append(ctx.name)

    async def on_lead(ctx: ServiceContext) -> None:
        led.append(ctx.name)

    contexts = [instance(database_url, name, stopping) for name in ("instance_a", "instance_b")]
    workers = [Worker("leader-test", step, interval_s=0.05, lock="test:leader", on_lead=on_lead,
                      backoff_s=0.05, max_backoff_s=0.1) for _ in contexts]
    tasks = [asyncio.create_task(w.run(ctx)) for w, ctx in zip(workers, contexts)]
    try:
        await asyncio.sleep(0.5)
        assert len(led) == 1 and set(ran) == set(led)  # only the leader stepped
        leader = led[0]

        admin = await asyncpg.connect(make_url(database_url).render_as_string(hide_password=False))
        await admin.execute("select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1",
                            leader)
        await admin.close()
        for _ in range(300):  # the server releases the lock once the killed backend has exited
            if len(led) > 1:
                break
            await asyncio.sleep(0.05)
        assert len(led) == 2, "nobody took the lead after the leader's connection died"
        ran.clear()
        for _ in range(200):  # a loaded machine may take a while to run the next steps
            if ran[-3:] == [led[1]] * 3:
                break
            await asyncio.sleep(0.05)
        # Whoever won the lock again (either may), only it steps from then on. The old leader may
        # still finish the one step it began after its last look at the lock, not a second.
        assert ran[-3:] == [led[1]] * 3, ran
        assert len([name for name in ran if name != led[1]]) <= 1, ran
    finally:
        stopping.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 5)
        for ctx in contexts:
            await ctx.engine.dispose()


async def test_a_lock_whose_holder_failed_mid_transaction_is_released_for_others(database_url: str) -> None:
    """A failed statement aborts the holder's transaction; the lock must still be released
    (or its connection discarded), never left held by a pooled connection."""
    from sqlalchemy import text

    from distillery_runtime.locks import advisory_lock

    holder, other = create_engine(database_url, "holder"), create_engine(database_url, "other")
    try:
        with pytest.raises(Exception, match="division by zero"):
            async with advisory_lock(holder, "test:released") as held:
                assert held is not None
                await held.conn.execute(text("select 1 / 0"))
        async with advisory_lock(other, "test:released") as taken:
            assert taken is not None
    finally:
        await holder.dispose()
        await other.dispose()


async def test_a_step_that_finds_its_fencing_token_superseded_gives_up_the_lead(database_url: str) -> None:
    """The lock connection still answers, yet a step learnt that another holder took over (its
    token was superseded): the worker must stop leading and win the lock again (a new token)
    instead of stepping on with the old one."""
    from distillery_runtime.fencing import LostLease

    stopping = asyncio.Event()
    led: list[str] = []
    steps: list[int] = []

    async def on_lead(ctx: ServiceContext) -> None:
        led.append(ctx.name)

    async def step(ctx: ServiceContext) -> None:
        steps.append(len(led))
        if len(led) == 1:
            raise LostLease("test: superseded")

    ctx = instance(database_url, "instance_fenced", stopping)
    worker = Worker("fenced-test", step, interval_s=0.05, lock="test:fenced", on_lead=on_lead,
                    backoff_s=0.05, max_backoff_s=0.1)
    task = asyncio.create_task(worker.run(ctx))
    try:
        for _ in range(200):
            if len(led) >= 2 and len(steps) >= 3:
                break
            await asyncio.sleep(0.05)
        assert len(led) >= 2, "the worker stepped on under a superseded token instead of leading anew"
        assert steps.count(1) == 1  # not one more step under the superseded lead
        assert 2 in steps  # and the work goes on under the new one
    finally:
        stopping.set()
        await asyncio.wait_for(task, 5)
        await ctx.engine.dispose()
