"""What a user sees must not change by accident: every ``--help`` and ``distillery clean`` on a
fixed export are compared with transcripts committed before a refactoring.

A deliberate change regenerates them: ``GOLDEN_UPDATE=1 pytest cli/tests/test_golden_transcripts.py``,
then review the diff like any other change.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from distillery_cli.main import app

GOLDEN = Path(__file__).parent / "golden"
EXPORT = GOLDEN / "clean-export"
UPDATE = os.environ.get("GOLDEN_UPDATE") == "1"
ENV = {"COLUMNS": "100", "TERMINAL_WIDTH": "100", "NO_COLOR": "1", "TERM": "dumb", "_TYPER_FORCE_DISABLE_TERMINAL": "1"}
STAMP = re.compile(r'"(accepted_at|rejected_at)":"[^"]+"')


def command_paths(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command and group under ``command`` (typer vendors its own click: duck-typed)."""
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        if not sub.hidden:
            yield from command_paths(sub, (*path, name))


PATHS = list(command_paths(typer.main.get_command(app)))


def check(name: str, actual: str) -> None:
    golden = GOLDEN / name
    if UPDATE:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(actual)
    assert golden.exists(), f"no transcript {golden.name}; run with GOLDEN_UPDATE=1 and review it"
    assert actual == golden.read_text(), f"{name} changed; if deliberate, regenerate (see module docstring)"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "distillery")
def test_help_reads_as_it_did(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env=ENV, terminal_width=100)
    assert result.exit_code == 0, result.output
    check(f"help/{'_'.join(path) or 'distillery'}.txt", result.output)


def test_every_command_has_a_transcript() -> None:
    names = {f"{'_'.join(p) or 'distillery'}.txt" for p in PATHS}
    assert names == {p.name for p in (GOLDEN / "help").glob("*.txt")}


# In this process (0), and in two worker processes: the default, auto, is one of them on a machine with two cores.
@pytest.mark.parametrize("workers", [["--pii-processes", "0"],
                                     pytest.param(["--pii-processes", "2"], marks=pytest.mark.integration)])
def test_clean_on_a_fixed_export_writes_what_it_did(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    workers: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, [
        "clean", "--input", str(EXPORT / "observations.jsonl"), "--scores", str(EXPORT / "scores.jsonl"),
        "--config", str(EXPORT / "cleaner.json"), "--project", "clinic",
        "--accepted", "accepted.jsonl", "--rejected", "rejected.jsonl", *workers], env=ENV, terminal_width=100)
    assert result.exit_code == 0, result.output
    check("clean/summary.txt" if workers[-1] == "0" else f"clean/summary-{workers[-1]}-processes.txt", result.output)
    for name in ("accepted.jsonl", "rejected.jsonl"):
        lines = [STAMP.sub(r'"\1":"<time>"', line) for line in (tmp_path / name).read_text().splitlines()]
        assert all(json.loads(line) for line in lines)
        check(f"clean/{name}", "\n".join(lines) + "\n")


@pytest.mark.parametrize("value", ["lots", "-1", "65"])
def test_a_bad_worker_count_is_one_line_and_nothing_is_written(tmp_path: Path, value: str) -> None:
    result = CliRunner().invoke(app, [
        "clean", "--input", str(EXPORT / "observations.jsonl"), "--accepted", str(tmp_path / "accepted.jsonl"),
        "--rejected", str(tmp_path / "rejected.jsonl"), "--pii-processes", value], env=ENV, terminal_width=100)
    assert result.exit_code == 2
    assert result.output.strip() == "error: --pii-processes: a number of worker processes from 0 to 64, or auto"
    assert not list(tmp_path.iterdir())
