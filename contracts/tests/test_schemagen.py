"""The committed schemas are current, and the generator refuses stale or breaking ones."""

import json
import shutil
from pathlib import Path

import pytest

from distillery_contracts import TraceCaptured
from distillery_contracts.schemagen import SCHEMAS_DIR, main, plan

TRACE = "distillery.traces.raw.v1/TraceCaptured.v1.json"


def test_committed_schemas_are_not_stale():
    result = plan(SCHEMAS_DIR)
    assert (list(result.writes), result.deletions) == ([], []), (
        "contracts/schemas is stale: run `python -m distillery_contracts.schemagen`"
    )


def test_committed_schemas_have_no_breaking_change_against_the_models():
    assert plan(SCHEMAS_DIR).breaking == []


def test_schema_files_are_sorted_indented_and_end_with_a_newline():
    text = (SCHEMAS_DIR / TRACE).read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    assert "do not edit" in (SCHEMAS_DIR / "README.md").read_text()


@pytest.fixture
def committed(tmp_path) -> Path:
    """A copy of the committed schemas that a test may tamper with."""
    out = tmp_path / "schemas"
    shutil.copytree(SCHEMAS_DIR, out)
    return out


def _edit(folder: Path, path: str, change) -> None:
    schema = json.loads((folder / path).read_text())
    change(schema)
    (folder / path).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")


def _check(folder: Path, capsys) -> tuple[int, str]:
    code = main(["--check", "--out", str(folder)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_check_passes_on_a_faithful_copy(committed, capsys):
    assert _check(committed, capsys) == (0, "")


def test_check_fails_when_the_model_dropped_a_committed_field(committed, capsys):
    _edit(committed, TRACE, lambda s: s["properties"].update(caller_phone={"type": "string"}))
    code, output = _check(committed, capsys)
    assert code == 1
    assert f"stale: {TRACE}" in output
    assert f"{TRACE}: TraceCaptured.caller_phone: property removed" in output
    assert "Publish a new topic version" in output


def test_check_fails_when_the_model_retyped_a_field(committed, capsys):
    _edit(
        committed, TRACE, lambda s: s["properties"]["latency_ms"].update(anyOf=[{"type": "string"}])
    )
    code, output = _check(committed, capsys)
    assert code == 1
    assert "TraceCaptured.latency_ms: changed type from string to null | number" in output


def test_check_fails_when_the_model_made_a_field_required(committed, capsys):
    _edit(committed, TRACE, lambda s: s["required"].remove("ingested_at"))
    code, output = _check(committed, capsys)
    assert code == 1
    assert "TraceCaptured.ingested_at: optional property became required" in output


def test_an_added_optional_field_is_only_stale_and_regenerates(committed, capsys):
    _edit(committed, TRACE, lambda s: s["properties"].pop("tags"))
    code, output = _check(committed, capsys)
    assert code == 1 and f"stale: {TRACE}" in output and "Breaking" not in output
    assert main(["--out", str(committed)]) == 0
    assert _check(committed, capsys)[0] == 0


def test_writing_refuses_a_breaking_change_and_leaves_the_files_alone(committed, capsys):
    _edit(committed, TRACE, lambda s: s["properties"].update(caller_phone={"type": "string"}))
    before = (committed / TRACE).read_text()
    assert main(["--out", str(committed)]) == 1
    assert "caller_phone: property removed" in capsys.readouterr().err
    assert (committed / TRACE).read_text() == before


def test_allow_breaking_overwrites_the_committed_schema(committed, capsys):
    _edit(committed, TRACE, lambda s: s["properties"].update(caller_phone={"type": "string"}))
    assert main(["--out", str(committed), "--allow-breaking"]) == 0
    assert _check(committed, capsys)[0] == 0


def test_a_schema_whose_event_left_its_topic_is_breaking(committed, capsys):
    shutil.copy(committed / TRACE, committed / "distillery.traces.raw.v1/TraceRedacted.v1.json")
    code, output = _check(committed, capsys)
    assert code == 1
    assert "TraceRedacted.v1.json: event schema removed" in output


def test_a_new_event_version_is_checked_against_the_previous_one(committed, capsys, monkeypatch):
    monkeypatch.setattr(TraceCaptured, "schema_version", 2)
    assert main(["--out", str(committed)]) == 0
    assert (committed / "distillery.traces.raw.v1/TraceCaptured.v2.json").exists()
    assert (committed / TRACE).exists(), "older versions stay as history"

    _edit(committed, TRACE, lambda s: s["properties"].update(caller_phone={"type": "string"}))
    (committed / "distillery.traces.raw.v1/TraceCaptured.v2.json").unlink()
    code, output = _check(committed, capsys)
    assert code == 1 and "TraceCaptured.caller_phone: property removed" in output


def test_a_missing_schemas_folder_is_reported_stale(tmp_path, capsys):
    code, output = _check(tmp_path / "nowhere", capsys)
    assert code == 1 and f"stale: {TRACE}" in output
