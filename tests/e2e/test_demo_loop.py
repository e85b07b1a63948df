"""The whole loop as `make demo` runs it: six services as processes, both sandboxes, a real
broker and database, from production history to a student serving 90% of calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1020)]


def test_one_cycle_runs_unattended_to_a_90_10_rollout(tmp_path):
    summary_path = tmp_path / "summary.json"
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"distillery-e2e-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")}
    result = subprocess.run(
        [sys.executable, "-m", "distillery_cli", "demo", "--cycles", "1", "--time-limit", "840",
         "--home", str(home), "--summary-json", str(summary_path)],
        capture_output=True, text=True, env={**env, "COLUMNS": "160"}, timeout=960,
    )
    assert summary_path.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(summary_path.read_text())
    assert summary["finished"], (summary["reason"], result.stdout[-3000:])
    first = summary["cycles"][0]
    assert first["train_examples"] and first["job_status"] == "succeeded"
    assert first["evaluation"] == "passed"
    assert first["decisions"][0].startswith("started") and first["decisions"][-1] == "completed@90%"
    stages = [d.split("@")[1] for d in first["decisions"] if d.startswith(("advanced", "started"))]
    assert stages[:5] == ["10%", "25%", "50%", "75%", "90%"]
    [weights] = summary["final_weights"].values()
    student = [a for name, a in weights.items() if name != "teacher"]
    assert weights["teacher"]["weight"] == 10 and sum(a["weight"] for a in student) == 90
    assert summary["costs"]["saving_share"] > 0.5
    assert result.returncode == 0
