"""Which range each poll reads, and backfills worked through window by window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ingester_support import PACING, project_capture

from distillery_contracts.commands import BackfillRange
from distillery_contracts.registry import TRACES_RAW
from distillery_runtime.errors import ConfigError, PermanentError
from distillery_trace_ingester.adapters.fakes import FakeIngesterDatabase, FakeLangfuseReader
from distillery_trace_ingester.config import IngesterSettings
from distillery_trace_ingester.domain.windows import backfill_window, is_live, next_window
from distillery_trace_ingester.services import backfill_next_window, backfills_for, publish_generations
from distillery_trace_ingester.samples import T0, sample_generation



def test_a_poll_re_reads_the_overlap_and_stops_short_of_now():
    now = T0 + timedelta(minutes=3, microseconds=123_456)
    window = next_window(T0, now, PACING)
    assert window.start == T0 - timedelta(minutes=10)
    assert window.end == T0 + timedelta(minutes=2, seconds=30, microseconds=123_000)
    assert is_live(window, now, PACING)


def test_catching_up_reads_bounded_windows_and_is_not_live():
    now = T0 + timedelta(hours=5)
    window = next_window(T0, now, PACING)
    assert window.end - T0 == timedelta(minutes=15) and not is_live(window, now, PACING)


def test_nothing_is_read_before_the_settle_delay_has_passed():
    assert next_window(T0, T0 + timedelta(seconds=20), PACING) is None


def test_a_backfill_reads_its_range_once_and_leaves_the_present_to_live_capture():
    now = T0 + timedelta(minutes=20)
    assert backfill_window(T0, T0 + timedelta(hours=1), now, PACING).end == T0 + timedelta(minutes=15)
    assert backfill_window(T0 + timedelta(minutes=15), T0 + timedelta(hours=1), now, PACING).end == (
        now - timedelta(seconds=30))
    assert backfill_window(now - timedelta(seconds=30), T0 + timedelta(hours=1), now, PACING) is None


async def test_a_backfill_publishes_only_what_is_missing_and_finishes():
    hub = FakeIngesterDatabase()
    generations = [sample_generation(n) for n in range(200)]  # 09:00 to 09:33
    reader = FakeLangfuseReader("clinic", generations, page_size=30)
    capture = project_capture(hub, reader, clock=lambda: T0 + timedelta(days=1))
    command = BackfillRange(from_time=T0, to_time=T0 + timedelta(hours=1), requested_by="ops")
    async with hub.new_uow() as uow:  # and generations 0..99 were published before
        await hub.store(uow).add_backfills(backfills_for(command, ["clinic"]))
        await publish_generations(uow, hub.store(uow), "clinic", generations[:100], {}, source="x", now=T0)
        await uow.commit()

    while (backfill := await backfill_next_window(capture)) is not None and not backfill.done:
        pass

    assert backfill.done and backfill.counts.published == 100 and backfill.counts.already_published == 100
    assert len({e.observation_id for e in hub.on(TRACES_RAW)}) == 200 == len(hub.on(TRACES_RAW))
    assert await backfill_next_window(capture) is None


def test_a_backfill_for_every_project_names_each_configured_project():
    command = BackfillRange(from_time=T0, to_time=T0 + timedelta(hours=1), requested_by="ops")
    assert [b.project_id for b in backfills_for(command, ["a", "b"])] == ["a", "b"]


def test_a_backfill_for_a_project_this_ingester_does_not_capture_is_refused_with_the_reason():
    command = BackfillRange(from_time=T0, to_time=T0 + timedelta(hours=1), requested_by="ops", project_id="zz")
    with pytest.raises(PermanentError, match="names project 'zz'.*configured: clinic"):
        backfills_for(command, ["clinic"])


def test_the_single_project_shorthand_of_docker_compose_is_understood(monkeypatch):
    monkeypatch.delenv("DISTILLERY_INGESTER_PROJECTS", raising=False)
    monkeypatch.setenv("DISTILLERY_LANGFUSE_HOST", "http://langfuse-web:3000/")
    monkeypatch.setenv("DISTILLERY_LANGFUSE_PUBLIC_KEY", "pk-lf-x")
    monkeypatch.setenv("DISTILLERY_LANGFUSE_SECRET_KEY", "sk-lf-x")
    [project] = IngesterSettings().resolved_projects()
    assert (project.project_id, project.host, project.public_key) == ("default", "http://langfuse-web:3000", "pk-lf-x")


def test_several_projects_come_as_json(monkeypatch):
    monkeypatch.setenv("DISTILLERY_INGESTER_PROJECTS", '[{"project_id": "a", "host": "http://h1", '
                       '"public_key": "p1", "secret_key": "s1"}, {"project_id": "b", "host": "https://h2", '
                       '"public_key": "p2", "secret_key": "s2"}]')
    assert [p.project_id for p in IngesterSettings().resolved_projects()] == ["a", "b"]


def test_no_project_or_half_a_project_is_a_clear_configuration_error(monkeypatch):
    for name in ("DISTILLERY_LANGFUSE_HOST", "DISTILLERY_LANGFUSE_PUBLIC_KEY", "DISTILLERY_LANGFUSE_SECRET_KEY",
                 "DISTILLERY_INGESTER_PROJECTS"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match="no Langfuse project configured"):
        IngesterSettings().resolved_projects()
    monkeypatch.setenv("DISTILLERY_LANGFUSE_HOST", "http://h")
    with pytest.raises(ConfigError, match="also set DISTILLERY_LANGFUSE_PUBLIC_KEY, DISTILLERY_LANGFUSE_SECRET_KEY"):
        IngesterSettings().resolved_projects()


def test_a_new_project_starts_a_lookback_before_now_unless_told_where():
    now = datetime(2026, 3, 2, tzinfo=UTC)
    assert IngesterSettings(initial_lookback_s=3600).initial_watermark(now) == now - timedelta(hours=1)
    assert IngesterSettings(start_from=T0).initial_watermark(now) == T0
