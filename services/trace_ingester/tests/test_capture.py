"""Continuous capture with a fake Langfuse and a fake database: once, in order, nothing lost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial
from types import SimpleNamespace

import pytest
from ingester_support import PACING, project_capture

from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.registry import TRACES_RAW
from distillery_contracts.traces import TraceCaptured, TraceScored
from distillery_runtime.errors import ConfigError, TransientError
from distillery_runtime.settings import RuntimeSettings
from distillery_trace_ingester.adapters.fakes import FakeLangfuseReader, SimulatedCrash
from distillery_trace_ingester.adapters.langfuse_client import LangfuseConfigError, LangfuseError
from distillery_trace_ingester.app import build
from distillery_trace_ingester.config import IngesterSettings, LangfuseProject
from distillery_trace_ingester.services import (
    TRACES_DLQ,
    ProjectCapture,
    capture_next_window,
    capture_step,
    forget_old,
)
from distillery_trace_ingester.samples import sample_generation, sample_score


project = partial(project_capture, chunk_size=7)  # several transactions per window


async def run_until_live(capture: ProjectCapture) -> int:
    windows = 0
    while (await capture_next_window(capture))[0] is not None:
        windows += 1
    return windows


def traces(hub) -> list[TraceCaptured]:
    return [e for e in hub.on(TRACES_RAW) if isinstance(e, TraceCaptured)]


async def test_publishes_every_generation_once_across_pages_and_windows(hub, clock):
    generations = [sample_generation(n) for n in range(300)]  # 50 minutes of traffic
    reader = FakeLangfuseReader("clinic", generations, page_size=25)

    windows = await run_until_live(project(hub, reader, clock))

    assert windows == 4
    ids = [t.observation_id for t in traces(hub)]
    assert sorted(ids) == sorted(g["id"] for g in generations) and len(ids) == len(set(ids))
    assert hub.state.watermarks["clinic"] == clock.now - PACING.settle_delay


async def test_one_calls_turns_are_published_oldest_first_although_langfuse_pages_newest_first(hub, clock):
    turns = [sample_generation(n, session="call-7") for n in range(40)]
    await run_until_live(project(hub, FakeLangfuseReader("clinic", turns, page_size=6), clock))

    published = [t for t in traces(hub) if t.session_id == "call-7"]
    assert [t.start_time for t in published] == sorted(t.start_time for t in published)
    assert {key for topic, _, key in hub.events if topic == TRACES_RAW} == {"call-7"}


async def test_re_reading_the_overlap_publishes_nothing_twice(hub, clock):
    reader = FakeLangfuseReader("clinic", [sample_generation(n) for n in range(300)])
    capture = project(hub, reader, clock)
    await run_until_live(capture)
    before = len(hub.events)

    clock.now += timedelta(minutes=1)
    window, counts = await capture_next_window(capture)

    assert window.start == hub.state.watermarks["clinic"] - timedelta(minutes=1) - PACING.overlap
    assert counts.already_published > 0 and counts.published == 0
    assert len(hub.events) == before


async def test_a_generation_that_shows_up_late_inside_the_overlap_is_captured(hub, clock):
    reader = FakeLangfuseReader("clinic", [sample_generation(n) for n in range(10)])
    capture = project(hub, reader, clock)
    await run_until_live(capture)
    late = sample_generation(999, start=clock.now - timedelta(minutes=6))
    reader.observations.append(late)  # ingested at 6 minutes' lag

    clock.now += timedelta(seconds=20)
    await capture_next_window(capture)

    assert "obs-00999" in [t.observation_id for t in traces(hub)]


@pytest.mark.parametrize("crash_at", range(1, 12))
async def test_a_crash_before_any_commit_loses_nothing_and_repeats_nothing(hub, clock, crash_at):
    generations = [sample_generation(n) for n in range(120)]
    capture = project(hub, FakeLangfuseReader("clinic", generations, page_size=9), clock)
    hub.crash_at_commit = crash_at

    with pytest.raises(SimulatedCrash):
        await run_until_live(capture)
    await run_until_live(capture)  # the restarted process

    ids = [t.observation_id for t in traces(hub)]
    assert sorted(ids) == sorted(g["id"] for g in generations)
    assert len(ids) == len(set(ids))


async def test_a_langfuse_outage_mid_window_keeps_the_watermark_and_the_retry_completes(hub, clock):
    reader = FakeLangfuseReader("clinic", [sample_generation(n) for n in range(60)], page_size=10)
    capture = project(hub, reader, clock)
    reader.fail_after_pages = 2

    with pytest.raises(LangfuseError):
        await capture_next_window(capture)
    assert "clinic" not in hub.state.watermarks and traces(hub) == []

    reader.fail_after_pages = None
    await run_until_live(capture)
    assert len(traces(hub)) == 60


async def test_an_unmappable_generation_is_dead_lettered_once_and_the_others_published(hub, clock):
    broken = sample_generation(5, input="caller audio transcript unavailable")
    reader = FakeLangfuseReader("clinic", [sample_generation(n) for n in range(5)] + [broken])
    capture = project(hub, reader, clock)

    await run_until_live(capture)
    clock.now += timedelta(minutes=1)
    await run_until_live(capture)  # the overlap reads it again

    [letter] = hub.on(TRACES_DLQ)
    assert isinstance(letter, DeadLettered) and letter.source_topic == "langfuse:clinic"
    assert letter.error_message == "input is plain text, not a list of chat messages"
    assert letter.original_key == "obs-00005" and '"obs-00005"' in letter.original_value
    assert len(traces(hub)) == 5


async def test_scores_known_at_publication_travel_with_the_generation_and_are_not_sent_again(hub, clock):
    reader = FakeLangfuseReader("clinic", [sample_generation(1)], [sample_score("obs-00001")])
    capture = project(hub, reader, clock)
    await run_until_live(capture)
    clock.now += timedelta(minutes=1)
    await run_until_live(capture)

    [trace] = traces(hub)
    assert [s.score_id for s in trace.scores] == ["score-1"]
    assert not [e for e in hub.on(TRACES_RAW) if isinstance(e, TraceScored)]


async def test_a_score_that_arrives_after_publication_is_sent_once_as_trace_scored(hub, clock):
    reader = FakeLangfuseReader("clinic", [sample_generation(1, start=clock.now - timedelta(minutes=5))])
    capture = project(hub, reader, clock)
    await run_until_live(capture)
    reader.score_records.append(sample_score("obs-00001", score_id="late-1", value=1.0,
                                             timestamp=clock.now - timedelta(minutes=1)))

    for _ in range(3):
        clock.now += timedelta(seconds=20)
        await capture_next_window(capture)

    [scored] = [e for e in hub.on(TRACES_RAW) if isinstance(e, TraceScored)]
    assert (scored.observation_id, scored.trace_id) == ("obs-00001", "trace-00001")
    assert [(s.score_id, s.value) for s in scored.scores] == [("late-1", 1.0)]
    assert scored.partition_key() == traces(hub)[0].partition_key()


async def test_a_generation_still_running_is_left_for_the_next_poll_then_published_complete(hub, clock):
    running = sample_generation(1, start=clock.now - timedelta(minutes=2), endTime=None, output=None)
    reader = FakeLangfuseReader("clinic", [running])
    capture = project(hub, reader, clock, initial_watermark=clock.now - timedelta(minutes=5))

    _, counts = await capture_next_window(capture)
    assert counts.deferred == 1 and traces(hub) == []

    reader.observations[0] = sample_generation(1, start=clock.now - timedelta(minutes=2))
    clock.now += timedelta(seconds=20)
    await capture_next_window(capture)
    [trace] = traces(hub)
    assert trace.output is not None and trace.end_time is not None


async def test_generations_older_than_the_retention_are_forgotten_behind_the_watermark(hub, clock):
    reader = FakeLangfuseReader("clinic", [sample_generation(n) for n in range(30)])
    capture = project(hub, reader, clock, retention=timedelta(minutes=57))
    await run_until_live(capture)

    forgotten = await forget_old(capture)

    kept = {key[1] for key in hub.state.published}
    assert forgotten == 15 and kept == {f"obs-{n:05d}" for n in range(15, 30)}


async def test_wrong_langfuse_keys_stop_the_capture_step_with_a_configuration_error(hub, clock):
    reader = FakeLangfuseReader("clinic", [sample_generation(1)])

    async def refused(start, end):
        raise LangfuseConfigError("langfuse refused the keys of project clinic")

    reader.scores = refused
    with pytest.raises(ConfigError, match="refused the keys"):
        await capture_step(project(hub, reader, clock))


async def test_a_langfuse_outage_in_a_capture_step_is_transient_so_the_worker_retries_it(hub, clock):
    reader = FakeLangfuseReader("clinic", [sample_generation(n) for n in range(20)], page_size=5)
    reader.fail_after_pages = 1
    with pytest.raises(TransientError, match="clinic"):
        await capture_step(project(hub, reader, clock))


async def test_a_capture_step_says_more_work_is_waiting_until_capture_is_live(hub, clock):
    reader = FakeLangfuseReader("clinic", [sample_generation(n) for n in range(300)])
    capture = project(hub, reader, clock)
    steps = 1
    while await capture_step(capture):
        steps += 1
    assert steps == 4 and len(traces(hub)) == 300


async def test_the_service_stops_with_one_configuration_error_when_langfuse_refuses_the_keys(hub):
    refusing = FakeLangfuseReader("clinic")
    refusing.config_error = "Langfuse refused the API keys of project 'clinic'"
    config = IngesterSettings(projects=[LangfuseProject(project_id="clinic", host="http://lf", public_key="pk",
                                                        secret_key="sk")])
    spec = build(RuntimeSettings(), config, make_reader=lambda project: refusing, store=hub.store)
    ctx = SimpleNamespace(new_uow=hub.new_uow, stopping=asyncio.Event(), name="trace-ingester")

    [capture] = spec.background
    with pytest.raises(ConfigError, match="refused the API keys"):
        await capture(ctx)


async def test_the_capture_workers_publish_every_project_until_the_service_stops(hub):
    now = datetime.now(UTC)
    readers = {p: FakeLangfuseReader(p, [sample_generation(n, start=now - timedelta(minutes=10, seconds=-n))
                                         for n in range(20)]) for p in ("a", "b")}
    config = IngesterSettings(start_from=now - timedelta(minutes=20), poll_interval_s=0.05, projects=[
        LangfuseProject(project_id=p, host="http://lf", public_key="pk", secret_key="sk") for p in readers])
    spec = build(RuntimeSettings(), config, make_reader=lambda project: readers[project.project_id],
                 store=hub.store)
    ctx = SimpleNamespace(new_uow=hub.new_uow, stopping=asyncio.Event(), name="trace-ingester")

    [capture] = spec.background
    task = asyncio.create_task(capture(ctx))
    for _ in range(200):
        if len(traces(hub)) == 40:
            break
        await asyncio.sleep(0.02)
    ctx.stopping.set()
    await asyncio.wait_for(task, 5)

    assert sorted((t.project_id, t.observation_id) for t in traces(hub)) == sorted(
        (p, f"obs-{n:05d}") for p in readers for n in range(20))
    assert set(hub.state.watermarks) == {"a", "b"}
