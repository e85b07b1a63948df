"""The cleaner service over a real Tansu broker and PostgreSQL: verdicts, replays, versions."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from cleaner_workload import CLINIC_PHONE, sandbox_traces
from db_helpers import count_rows, fetch_rows
from kafka_helpers import ReadMessage, read_topic, wait_until


from distillery_cleaner.app import build
from distillery_cleaner.domain.config import CleanerConfig
from distillery_cleaner.services import OfflineCleaner
from distillery_cli.replay import Target, apply, plan
from distillery_cli.topics import group_lag, partitions
from distillery_contracts.common import Score
from distillery_contracts.registry import (
    EXAMPLES_ACCEPTED,
    EXAMPLES_REJECTED,
    TRACES_RAW,
    all_topic_specs,
)
from distillery_contracts.traces import TraceScored
from distillery_runtime.kafka import ensure_topics, publish_events
from distillery_runtime.service import ServiceRunner
from distillery_runtime.settings import RuntimeSettings

pytestmark = pytest.mark.integration
TRACES = [trace for trace, _, _ in sandbox_traces(calls=20, seed=3)]


class RunningCleaner:
    """The cleaner service running in-process under one configuration file."""

    def __init__(self, bootstrap: str, database_url: str, config: dict, tmp_path: Path, monkeypatch) -> None:
        self.config_hash = CleanerConfig.model_validate(config).config_hash
        path = tmp_path / f"cleaner-{self.config_hash}.json"
        path.write_text(json.dumps(config))
        monkeypatch.setenv("DISTILLERY_CLEANER_CONFIG_FILE", str(path))
        self.settings = RuntimeSettings(kafka_bootstrap=bootstrap, database_url=database_url,
                                        consumer_batch_timeout_ms=50, outbox_poll_s=0.1, http_port=0,
                                        api_tokens="cleaner-test-token")
        self.spec = build(self.settings)
        self.group = self.spec.subscriptions[0].group
        self._runner: ServiceRunner | None = None
        self._task: asyncio.Task | None = None

    async def __aenter__(self) -> RunningCleaner:
        self._runner = ServiceRunner(self.spec, self.settings)
        self._task = asyncio.create_task(self._runner.run())
        return self

    @property
    def port(self) -> int:
        return self._runner.http.port

    async def __aexit__(self, *exc) -> None:
        self._runner.stopping.set()
        await asyncio.wait_for(self._task, 30)


@pytest.fixture
async def topics(broker) -> AsyncIterator[str]:
    await ensure_topics(broker.bootstrap, all_topic_specs())
    yield broker.bootstrap


async def verdicts(bootstrap: str, count: int, timeout: float = 40.0) -> list[ReadMessage]:
    """Every message on both output topics once ``count`` are there (and a moment more, to catch extras).

    Counted by reading: Tansu's end offsets lag the messages actually stored.
    """
    found = await read_topic(bootstrap, EXAMPLES_ACCEPTED, EXAMPLES_REJECTED, expect=count, timeout=timeout)
    assert len(found) >= count, f"{len(found)} verdicts published, expected {count}"
    return found


async def committed(bootstrap: str, group: str) -> int:
    """Sum of ``group``'s committed offsets on traces.raw."""
    lag = await group_lag(bootstrap, group, TRACES_RAW, await partitions(bootstrap, TRACES_RAW))
    return sum(max(offset or 0, 0) for offset in lag.committed.values())


async def rewind(bootstrap: str, group: str) -> None:
    """Reset ``group`` to the beginning of traces.raw, as ``distillery replay --to-earliest`` does."""
    await apply(bootstrap, group, TRACES_RAW, await plan(bootstrap, group, TRACES_RAW, Target(earliest=True)))


CONFIG = {"pii": {"allow": [CLINIC_PHONE]}}


async def test_every_generation_gets_one_verdict_with_its_lineage_and_a_late_flag_retracts(
        topics, database_url, tmp_path, monkeypatch):
    await publish_events(topics, TRACES_RAW, TRACES, producer="ingester/test", correlation_id="cycle-1")
    async with RunningCleaner(topics, database_url, CONFIG, tmp_path, monkeypatch) as cleaner:
        published = await verdicts(topics, len(TRACES))
        bodies = [json.loads(m.value) for m in published]
        assert sorted(b["lineage"]["observation_id"] for b in bodies) == sorted(t.observation_id for t in TRACES)
        assert {m.headers["causation-id"] for m in published} == {f"{t.project_id}:{t.observation_id}" for t in TRACES}
        assert {m.headers["producer"] for m in published} == {"cleaner/0.1.0"}
        assert {m.headers["correlation-id"] for m in published} == {"cycle-1"}
        assert {b["config_hash"] for b in bodies} == {cleaner.config_hash}
        sessions = {t.observation_id: t.session_id for t in TRACES}
        assert all(m.key == sessions[json.loads(m.value)["lineage"]["observation_id"]] for m in published)
        async with httpx.AsyncClient() as http:
            shown = (await http.get(f"http://127.0.0.1:{cleaner.port}/config",
                                    headers={"Authorization": "Bearer cleaner-test-token"})).json()
        assert (shown["config_hash"], shown["consumer_group"]) == (cleaner.config_hash, cleaner.group)
        accepted = [b for m, b in zip(published, bodies) if m.topic == EXAMPLES_ACCEPTED]
        assert accepted and all(b["messages"][-1]["weight"] == 1 for b in accepted)

        victim = next(t for t in TRACES if t.observation_id == accepted[0]["lineage"]["observation_id"])
        flag = TraceScored(project_id=victim.project_id, observation_id=victim.observation_id,
                           trace_id=victim.trace_id, session_id=victim.session_id,
                           scores=[Score(score_id="late-1", name="hallucination", value=1.0, data_type="NUMERIC",
                                         source="ANNOTATION", timestamp=victim.start_time)])
        [envelope] = await publish_events(topics, TRACES_RAW, [flag], producer="ingester/test")
        after = await verdicts(topics, len(TRACES) + 1)
    [retraction] = [m for m in after if m.headers["causation-id"] == envelope.event_id]
    body = json.loads(retraction.value)
    assert retraction.topic == EXAMPLES_REJECTED and body["reason"] == "hallucination"
    assert body["lineage"]["observation_id"] == victim.observation_id
    assert accepted[0]["example_id"] in body["detail"]


async def test_replaying_from_the_beginning_in_the_same_group_adds_nothing(
        topics, database_url, tmp_path, monkeypatch):
    await publish_events(topics, TRACES_RAW, TRACES, producer="ingester/test")
    cleaner = RunningCleaner(topics, database_url, CONFIG, tmp_path, monkeypatch)
    async with cleaner:
        first = await verdicts(topics, len(TRACES))
        assert await wait_until(lambda: _caught_up(topics, cleaner.group, len(TRACES)))
    await rewind(topics, cleaner.group)
    assert await committed(topics, cleaner.group) == 0
    async with RunningCleaner(topics, database_url, CONFIG, tmp_path, monkeypatch):
        assert await wait_until(lambda: _caught_up(topics, cleaner.group, len(TRACES)), timeout=40)
        await asyncio.sleep(1.0)  # give the relay its chance to publish anything new
    assert len(await verdicts(topics, len(TRACES))) == len(first) == len(TRACES)
    assert await count_rows(database_url, "cleaner.examples") == sum(m.topic == EXAMPLES_ACCEPTED for m in first)
    assert await _registered(database_url) == [("0.1.0", cleaner.config_hash)]  # once, though it ran twice


async def test_a_new_configuration_produces_a_complete_second_version(topics, database_url, tmp_path, monkeypatch):
    await publish_events(topics, TRACES_RAW, TRACES, producer="ingester/test")
    async with RunningCleaner(topics, database_url, CONFIG, tmp_path, monkeypatch) as first:
        await verdicts(topics, len(TRACES))
    stricter = {**CONFIG, "near_duplicates": {"threshold": 0.9}}
    async with RunningCleaner(topics, database_url, stricter, tmp_path, monkeypatch) as second:
        published = await verdicts(topics, 2 * len(TRACES))
    assert sorted(await _registered(database_url)) == sorted([("0.1.0", first.config_hash),
                                                              ("0.1.0", second.config_hash)])
    by_version = {}
    for message in published:
        body = json.loads(message.value)
        by_version.setdefault(body["config_hash"], []).append(body["lineage"]["observation_id"])
    assert len(by_version) == 2
    for observations in by_version.values():
        assert sorted(observations) == sorted(t.observation_id for t in TRACES)
    ids = [{json.loads(m.value).get("example_id") for m in published if json.loads(m.value)["config_hash"] == h}
           for h in by_version]
    assert not (ids[0] - {None}) & (ids[1] - {None})  # the second version has ids of its own


async def test_with_personal_data_worker_processes_the_verdicts_are_those_of_the_cleaner_alone(
        topics, database_url, tmp_path, monkeypatch):
    await publish_events(topics, TRACES_RAW, TRACES, producer="ingester/test")
    alone = {e.lineage.observation_id: e for e in await OfflineCleaner(CleanerConfig.model_validate(CONFIG)).clean(TRACES)}
    monkeypatch.setenv("DISTILLERY_CLEANER_PII_PROCESSES", "2")
    async with RunningCleaner(topics, database_url, CONFIG, tmp_path, monkeypatch) as cleaner:
        published = await verdicts(topics, len(TRACES))
        async with httpx.AsyncClient() as http:
            metrics = (await http.get(f"http://127.0.0.1:{cleaner.port}/metrics",
                                      headers={"Authorization": "Bearer cleaner-test-token"})).text
    assert "distillery_cleaner_pii_processes 2.0" in metrics
    bodies = [json.loads(m.value) for m in published]
    assert sorted(b["lineage"]["observation_id"] for b in bodies) == sorted(alone)
    redacted = 0
    for body in bodies:
        expected = alone[body["lineage"]["observation_id"]]
        assert body.get("reason") == (expected.reason.value if hasattr(expected, "reason") else None)
        if "messages" in body:
            assert body["messages"] == [m.model_dump(mode="json") for m in expected.messages]
            assert body["redactions"] == expected.redactions
            redacted += bool(body["redactions"])
    assert redacted  # the calls hold personal data, found in the workers


async def _caught_up(bootstrap: str, group: str, total: int) -> bool:
    return await committed(bootstrap, group) >= total


async def _registered(database_url: str) -> list[tuple[str, str]]:
    """The (version, configuration hash) pairs the cleaner recorded running under."""
    rows = await fetch_rows(database_url, "select cleaner_version, config_hash from cleaner.config_versions")
    return [(row["cleaner_version"], row["config_hash"]) for row in rows]
