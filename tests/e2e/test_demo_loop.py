"""The whole loop as `make demo` runs it: six services as processes, both sandboxes, a real
broker and database, from production history to a student serving 90% of calls; then a
second cycle whose candidate learned from a regressed teacher and must be stopped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1020)]


def test_the_loop_rolls_a_student_out_to_90_10_then_stops_a_worse_successor(tmp_path):
    summary_path = tmp_path / "summary.json"
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"distillery-e2e-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")}
    result = subprocess.run(
        [sys.executable, "-m", "distillery_cli", "demo", "--cycles", "2", "--teacher-regression", "0.6",
         "--time-limit", "840", "--home", str(home), "--summary-json", str(summary_path)],
        capture_output=True, text=True, env={**env, "COLUMNS": "160"}, timeout=960,
    )
    assert summary_path.exists(), result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(summary_path.read_text())
    assert summary["finished"], (summary["reason"], result.stdout[-3000:])
    first, second = summary["cycles"][:2]

    # Cycle 1: captured, cleaned, built, tuned, evaluated, rolled out through every stage.
    assert first["train_examples"] and first["job_status"] == "succeeded"
    assert first["evaluation"] == "passed"
    assert first["decisions"][0].startswith("started") and first["decisions"][-1] == "completed@90%"
    stages = [d.split("@")[1] for d in first["decisions"] if d.startswith(("advanced", "started"))]
    assert stages[:5] == ["10%", "25%", "50%", "75%", "90%"]

    # Cycle 2 learned the regressed teacher's wrong facts: the evaluator stops it against
    # the production student, and no call ever reaches it.
    assert second["job_status"] == "succeeded" and second["evaluation"] == "failed"
    failed = {g["name"] for g in second["gates"] if not g["passed"]}
    assert "vs_production_hallucination" in failed
    assert second["decisions"] == []
    assert second["fine_tuned_model"] not in summary["traffic"]["by_model"]

    [weights] = summary["final_weights"].values()
    assert weights["teacher"]["weight"] == 10
    assert {a["model"]: a["weight"] for n, a in weights.items() if n != "teacher"} == {first["fine_tuned_model"]: 90}
    assert summary["costs"]["saving_share"] > 0.5
    assert result.returncode == 0
