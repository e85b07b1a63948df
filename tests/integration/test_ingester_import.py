"""``distillery ingest import``: a Langfuse export file into the traces stream, once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from kafka_helpers import read_topic
from typer.testing import CliRunner

from distillery_cli.ingest import ingest_app
from distillery_contracts.registry import TRACES_RAW, all_topic_specs
from distillery_runtime.kafka import ensure_topics
from distillery_trace_ingester.samples import T0, sample_generation, sample_score

pytestmark = pytest.mark.integration


def write_lines(path, records) -> None:
    path.write_text("".join(r if isinstance(r, str) else json.dumps(r) + "\n" for r in records))


async def invoke(*args: str, env: dict) -> tuple[int, str]:
    """Exit code and output with Rich's line wrapping undone."""
    result = await asyncio.to_thread(CliRunner().invoke, ingest_app, list(args), env=env)
    return result.exit_code, " ".join(result.output.split())


async def test_an_export_is_published_once_with_bad_lines_reported_and_late_scores_sent(
        broker, database_url, tmp_path):
    await ensure_topics(broker.bootstrap, all_topic_specs())
    env = {"DISTILLERY_KAFKA_BOOTSTRAP": broker.bootstrap, "DISTILLERY_DATABASE_URL": database_url,
           "DISTILLERY_HOME": str(tmp_path)}
    export, scores, later = tmp_path / "observations.jsonl", tmp_path / "scores.jsonl", tmp_path / "later.jsonl"
    write_lines(export, [
        *(sample_generation(n) for n in range(1, 21)),
        '{"id": "obs-broken", "type": "GENERATION", "startTime": \n',
        sample_generation(90, type="SPAN"),
        sample_generation(91, input="caller audio transcript unavailable"),
        "\n",
    ])
    write_lines(scores, [sample_score("obs-00002", score_id="s-2")])
    write_lines(later, [sample_score("obs-00005", score_id="s-5", timestamp=T0 + timedelta(hours=1))])

    code, first = await invoke("import", str(export), "--scores", str(scores), "--project", "clinic", env=env)
    _, again = await invoke("import", str(export), "--scores", str(later), "--project", "clinic", env=env)

    assert code == 1, first
    assert "line 21: not valid JSON" in first
    assert "20 published, 0 already captured before, 1 dead-lettered" in first
    assert "1 other observations skipped" in first
    assert "0 published, 21 already captured before, 0 dead-lettered" in again
    assert "1 late scores" in again

    messages = await read_topic(broker.bootstrap, TRACES_RAW, expect=21, settle=1.5)
    captured = [json.loads(m.value) for m in messages if m.headers["event-type"] == "TraceCaptured"]
    [scored] = [json.loads(m.value) for m in messages if m.headers["event-type"] == "TraceScored"]
    assert sorted(c["observation_id"] for c in captured) == [f"obs-{n:05d}" for n in range(1, 21)]
    assert [s["score_id"] for c in captured if c["observation_id"] == "obs-00002" for s in c["scores"]] == ["s-2"]
    assert (scored["observation_id"], [s["score_id"] for s in scored["scores"]]) == ("obs-00005", ["s-5"])
    [letter] = await read_topic(broker.bootstrap, f"{TRACES_RAW}.dlq", expect=1)
    assert json.loads(letter.value)["source_topic"] == "langfuse-export:clinic"


async def test_importing_without_a_project_when_none_is_configured_says_what_to_add(tmp_path, monkeypatch):
    for name in ("DISTILLERY_INGESTER_PROJECTS", "DISTILLERY_LANGFUSE_HOST"):
        monkeypatch.delenv(name, raising=False)
    export = tmp_path / "observations.jsonl"
    write_lines(export, [sample_generation(1)])
    code, output = await invoke("import", str(export), env={})
    assert code == 2 and "--project NAME" in output


async def test_importing_a_missing_file_fails_with_its_name(tmp_path):
    code, output = await invoke("import", str(tmp_path / "nope.jsonl"), "--project", "clinic", env={})
    assert code == 2 and "no such file" in output and "nope.jsonl" in output
