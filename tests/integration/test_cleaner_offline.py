"""``distillery clean`` on a Langfuse export: the service's logic, files out, a summary, bad lines skipped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from distillery_cli.clean import clean
from distillery_sandbox.langfuse.records import FIELD_GROUPS, records_from_calls
from distillery_sandbox.langfuse.render import render_observation, render_score
from distillery_sandbox.workload import DefectRates, WorkloadConfig, simulate_calls

pytestmark = pytest.mark.integration  # the whole command, the named-entity model included

app = typer.Typer()
app.command()(clean)
CLINIC_PHONE = "+353 1 555 0142"


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> tuple[Path, Path, int]:
    """An observations export (v2 API objects, one span and two broken lines mixed in) and its scores."""
    calls = list(simulate_calls(WorkloadConfig(seed=5, calls=60, defects=DefectRates.typical())))
    observations, scores = records_from_calls(calls, "clinic")
    groups = tuple(g for g in FIELD_GROUPS if g != "core")
    folder = tmp_path_factory.mktemp("export")
    lines = [json.dumps(render_observation(o, groups, frozenset())) for o in observations]
    span = {**json.loads(lines[0]), "id": "span-1", "type": "SPAN"}
    lines[3:3] = ["{not json", json.dumps(span), '["an", "array"]']
    lines.append(lines[10])  # an overlapping export repeats an observation
    (folder / "observations.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "scores.jsonl").write_text(
        "\n".join(json.dumps(render_score(s, ("details", "subject"))) for s in scores) + "\n")
    (folder / "cleaner.json").write_text(json.dumps({"pii": {"allow": [CLINIC_PHONE]}}))
    return folder, folder / "observations.jsonl", len(observations)


def run(export, *extra: str) -> tuple[object, Path, Path]:
    folder, observations, _ = export
    accepted, rejected = folder / "accepted.jsonl", folder / "rejected.jsonl"
    result = CliRunner().invoke(app, ["--input", str(observations), "--scores", str(folder / "scores.jsonl"),
                                      "--accepted", str(accepted), "--rejected", str(rejected),
                                      "--config", str(folder / "cleaner.json"), "--project", "clinic", *extra])
    return result, accepted, rejected


def summary_row(output: str, label: str) -> int:
    """The count in the summary table's row ``label`` (box characters vary with the terminal)."""
    [match] = [m for m in (re.search(rf"^\W+{label}\W+([\d,]+)\W*$", line) for line in output.splitlines()) if m]
    return int(match.group(1).replace(",", ""))


def test_every_generation_ends_in_one_of_the_two_files_and_the_summary_adds_up(export):
    result, accepted, rejected = run(export)
    assert result.exit_code == 0, result.output
    good = [json.loads(line) for line in accepted.read_text().splitlines()]
    bad = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert len(good) + len(bad) == export[2]
    assert {r["lineage"]["observation_id"] for r in good + bad} == {
        json.loads(line)["id"] for line in export[1].read_text().splitlines()
        if line.startswith("{\"") and '"GENERATION"' in line}
    assert summary_row(result.output, "generations in") == export[2]
    assert summary_row(result.output, "hallucination") == sum(r["reason"] == "hallucination" for r in bad) > 0
    kinds = {kind for r in good for kind in r["redactions"]}
    assert kinds
    for kind in kinds:
        assert summary_row(result.output, f"redacted {kind}") == sum(r["redactions"].get(kind, 0) for r in good)
    assert {r["config_hash"] for r in good + bad} == {good[0]["config_hash"]}


def test_bad_lines_are_reported_with_their_numbers_and_skipped(export):
    result, _, _ = run(export)
    assert "skipped observations.jsonl line 4: not valid JSON" in result.output
    assert "skipped observations.jsonl line 6: not a JSON object" in result.output
    assert "other observation types" in result.output
    assert f"line {export[2] + 4}: the observation of line 11 again" in result.output


def test_late_scores_from_the_scores_file_reject_hallucinations(export):
    _, _, rejected = run(export)
    reasons = [json.loads(line)["reason"] for line in rejected.read_text().splitlines()]
    assert "hallucination" in reasons


def test_the_openai_format_writes_fine_tuning_lines(export):
    result, accepted, _ = run(export, "--format", "openai")
    assert result.exit_code == 0
    first = json.loads(accepted.read_text().splitlines()[0])
    assert set(first) == {"messages", "tools"}
    assert first["messages"][-1]["weight"] == 1


def test_the_same_export_cleans_to_the_same_ids_every_time(export):
    _, accepted, rejected = run(export)
    before = accepted.read_text(), [json.loads(line)["rejection_id"] for line in rejected.read_text().splitlines()]
    _, accepted, rejected = run(export)
    after_ids = [json.loads(line)["rejection_id"] for line in rejected.read_text().splitlines()]
    assert [json.loads(line)["example_id"] for line in before[0].splitlines()] == [
        json.loads(line)["example_id"] for line in accepted.read_text().splitlines()]
    assert before[1] == after_ids


def test_a_missing_input_or_a_bad_configuration_is_one_clear_error(export, tmp_path):
    folder, observations, _ = export
    missing = CliRunner().invoke(app, ["--input", str(tmp_path / "nope.jsonl"), "--accepted", "a", "--rejected", "r"])
    assert missing.exit_code == 2 and "no such file" in missing.output
    (tmp_path / "bad.json").write_text('{"near_duplicates": {"threshold": 3}}')
    bad = CliRunner().invoke(app, ["--input", str(observations), "--accepted", str(tmp_path / "a"),
                                   "--rejected", str(tmp_path / "r"), "--config", str(tmp_path / "bad.json")])
    assert bad.exit_code == 2 and "near_duplicates.threshold" in bad.output


def test_a_lone_surrogate_an_oversized_line_and_a_nul_are_each_reported_by_number_and_the_rest_written(tmp_path):
    good = [render_observation(o, tuple(g for g in FIELD_GROUPS if g != "core"), frozenset())
            for o in records_from_calls(list(simulate_calls(WorkloadConfig(seed=9, calls=3))), "clinic")[0]]
    cut = {**good[1], "userId": "caller \ud83d", "name": "turn \ud83d\ud83d"}  # a transcript cut mid-emoji
    lines = [json.dumps(good[0]), json.dumps(cut), json.dumps({**good[2], "name": "x" * (5 * 1024 * 1024)}),
             json.dumps({**good[3], "sessionId": "call\u0000-9"}), *(json.dumps(o) for o in good[4:])]
    observations = tmp_path / "observations.jsonl"
    observations.write_text("\n".join(lines) + "\n")
    accepted, rejected = tmp_path / "accepted.jsonl", tmp_path / "rejected.jsonl"

    result = CliRunner().invoke(app, ["--input", str(observations), "--accepted", str(accepted),
                                      "--rejected", str(rejected)])

    assert result.exit_code == 0, result.output
    assert [line for line in result.output.splitlines() if line.startswith(("skipped", "repaired"))] == [
        "repaired observations.jsonl line 2: 3 lone surrogates replaced by U+FFFD",
        "skipped observations.jsonl line 3: longer than 4,194,304 bytes",
        "repaired observations.jsonl line 4: 1 NUL replaced by U+FFFD",
    ]
    assert summary_row(result.output, "repaired lines") == 1 + 1
    written = [json.loads(line) for path in (accepted, rejected) for line in path.read_text().splitlines()]
    assert sorted(r["lineage"]["observation_id"] for r in written) == sorted(
        o["id"] for index, o in enumerate(good) if index != 2)
    assert {r["lineage"]["session_id"] for r in written} >= {"call\ufffd-9"}
