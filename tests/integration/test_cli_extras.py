"""An operator installs only what it runs: the CLI with one service's extra works for that
service and says, in one line, what to install for the rest."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
UV = shutil.which("uv") or str(REPO / ".tools" / "bin" / "uv")


@pytest.fixture(scope="module")
def rollout_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with `distillery-cli[rollout-controller]`, from the lock file."""
    venv = tmp_path_factory.mktemp("cli-rollout-only") / "venv"
    subprocess.run([UV, "sync", "--frozen", "--no-dev", "--package", "distillery-cli", "--extra", "rollout-controller"],
                   cwd=REPO, env={**os.environ, "UV_PROJECT_ENVIRONMENT": str(venv)}, check=True,
                   capture_output=True)
    return venv / "bin" / "distillery"


def distillery(cli: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(cli), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "COLUMNS": "100", "NO_COLOR": "1"})


def test_the_installed_service_runs_and_its_commands_work(rollout_only: Path) -> None:
    assert distillery(rollout_only, "services").stdout.split() == ["rollout-controller"]
    assert distillery(rollout_only, "rollout", "status", "--help").returncode == 0


@pytest.mark.parametrize(("command", "extra"), [
    (["clean", "--input", "calls.jsonl"], "cleaner"),
    (["eval", "list"], "evaluator"),
    (["demo"], "all"),
    (["stack", "up"], "stack"),
])
def test_a_command_of_a_part_not_installed_says_which_extra_to_install(
        rollout_only: Path, command: list[str], extra: str) -> None:
    result = distillery(rollout_only, *command)
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: this command is not installed here: pip install 'distillery-cli[{extra}]'"


def test_help_lists_what_is_not_installed(rollout_only: Path) -> None:
    listing = distillery(rollout_only, "--help").stdout
    assert "not installed: pip install 'distillery-cli[cleaner]'" in listing
    assert "Watch and steer progressive rollouts" in listing
