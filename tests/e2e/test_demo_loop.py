"""The whole loop as `make demo` runs it: six services as processes, both sandboxes, a real
broker and database, from production history to a student serving 90% of calls; then a
second cycle whose candidate learned from a regressed teacher and must be stopped. Run with
``--stay``: once the summary is written the operator console, still up, shows the first cycle
to a client with the local API token, and SIGTERM then stops everything cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.serial, pytest.mark.timeout(1200)]


def test_the_loop_rolls_a_student_out_to_90_10_then_stops_a_worse_successor(
        tmp_path: Path, broker, database_url: str) -> None:
    summary_path = tmp_path / "summary.json"
    home = Path(os.environ.get("TMPDIR", "/tmp")) / f"distillery-e2e-{os.getpid()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTILLERY_")}
    out, err = tmp_path / "demo.out", tmp_path / "demo.err"
    # The session's broker and a fresh database (Apache Kafka where a Docker engine answers,
    # else Tansu and the embedded PostgreSQL, as the demo would start itself).
    with out.open("w") as stdout, err.open("w") as stderr:
        demo = subprocess.Popen(
            [sys.executable, "-m", "distillery_cli", "demo", "--cycles", "2", "--teacher-regression", "0.6",
             "--time-limit", "840", "--home", str(home), "--summary-json", str(summary_path), "--stay",
             "--kafka-bootstrap", broker.bootstrap, "--database-url", database_url],
            stdout=stdout, stderr=stderr, text=True, env={**env, "COLUMNS": "160"},
        )
    try:
        summary = wait_for_summary(demo, summary_path, out, err, timeout=960)
        shown = overview_shown(summary["console_url"], (home / "keys" / "api-token").read_text().strip(), summary)
    finally:
        if demo.poll() is None:
            demo.send_signal(signal.SIGTERM)  # the demo stops its services, sandboxes and stack
        try:
            returncode = demo.wait(timeout=120)
        except subprocess.TimeoutExpired:
            demo.kill()
            raise
    printed = out.read_text()
    assert summary["finished"], (summary["reason"], printed[-3000:])
    first, second = summary["cycles"][:2]

    # Cycle 1: captured, cleaned, built, tuned, evaluated, rolled out through every stage.
    assert first["train_examples"] and first["job_status"] == "succeeded"
    assert first["evaluation"] == "passed", [g for g in first.get("gates", []) if not g["passed"]]
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

    # The console, still up after the summary, shows the first cycle completed at 90%.
    assert shown["cycle"], shown["page"][-3000:]
    assert shown["weight"], shown["page"][-3000:]
    assert "Staying up" in printed and f"Sign in: {summary['console_url']}sign-in?once=" in printed
    assert returncode == 0, printed[-3000:] + err.read_text()[-3000:]


def wait_for_summary(demo: subprocess.Popen, path: Path, out: Path, err: Path, timeout: float) -> dict:
    """The summary the demo writes (atomically) once its cycles are done, while it stays up."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert demo.poll() is None, f"the demo exited ({demo.returncode}) before its summary:\n" \
            f"{out.read_text()[-3000:]}{err.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"no summary after {timeout:.0f}s:\n{out.read_text()[-3000:]}"
        time.sleep(2)
    return json.loads(path.read_text())


def overview_shown(console_url: str, token: str, summary: dict) -> dict:
    """What the console's overview shows of the first cycle, read as a program does (the bearer
    token), waiting a little for its read model to take the last events."""
    first = summary["cycles"][0]
    model, cycle_id = re.escape(first["fine_tuned_model"] or "-"), re.escape(first["cycle_id"])
    cycle = re.compile(rf'class="cycle phase-completed"><a href="/cycles/{cycle_id}">[^<]*</a>\s*'
                       rf'<span class="phase">completed</span>\s*<span class="model">{model}</span>')
    weight = re.compile(rf'<td class="model">{model}</td><td>[^<]*</td><td>90%</td>')
    page = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = httpx.get(console_url, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert answer.status_code == 200, answer.status_code
        page = answer.text
        if cycle.search(page) and weight.search(page):
            break
        time.sleep(1)
    return {"cycle": bool(cycle.search(page)), "weight": bool(weight.search(page)), "page": page}
