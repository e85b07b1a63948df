"""The demo runs on any day: every process reads the OpenAI sandbox's rehearsed deadlines as its
lifecycle calendar, so the lifecycle guard still trains the demo's gpt-4o-mini students and the
console warns that gpt-4.1 and the students stop 38 days from now."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from distillery_cli.demo.plan import DemoPlan
from distillery_cli.entry import adopt_local_stack_environment
from distillery_contracts.routing import RouteTableUpdated
from distillery_runtime.model_calendar import ShutdownNoticeSettings, calendar_entry
from distillery_runtime.stackstate import StackState, write_stack_state


@pytest.fixture
def calendar_env(monkeypatch) -> str:
    env = DemoPlan().common_env(Path("/tmp/demo"), "127.0.0.1:9092", "postgresql://localhost/demo")
    for name in ("DISTILLERY_CONSOLE_MODEL_CALENDAR", "DISTILLERY_CONSOLE_SHUTDOWN_NOTICE_DAYS",
                 "DISTILLERY_CONSOLE_MIN_SERVICE_LIFE_DAYS"):
        monkeypatch.delenv(name, raising=False)
    for name in ("DISTILLERY_FINETUNE_CALENDAR", "DISTILLERY_FINETUNE_MIN_SERVICE_LIFE_DAYS"):
        monkeypatch.setenv(name, env[name])
    return env["DISTILLERY_FINETUNE_CALENDAR"]


def test_the_console_warns_of_the_rehearsed_shutdown_38_days_ahead(calendar_env):
    today = datetime.now(UTC).date()
    table = RouteTableUpdated(route="voice-agent", version=1, updated_at=datetime.now(UTC), arms=[
        {"name": "production", "model": "ft:gpt-4o-mini-2024-07-18:distillery::a1", "provider": "openai",
         "weight": 90.0},
        {"name": "teacher", "model": "gpt-4.1", "provider": "openai", "weight": 10.0}])
    notices = ShutdownNoticeSettings().watch().notices([table])
    assert [(n.arm, n.shutdown, n.days_left) for n in notices] == [
        ("production", today + timedelta(days=38), 38), ("teacher", today + timedelta(days=38), 38)]


def test_the_console_gives_the_demo_guards_last_day_for_gpt_4o_mini(calendar_env):
    today = datetime.now(UTC).date()
    notice = ShutdownNoticeSettings().watch().training("gpt-4o-mini-2024-07-18", "openai")
    assert (notice.last_day, notice.days_left) == (today + timedelta(days=24), 24)  # 38 days less 14


def test_the_guard_still_trains_gpt_4o_mini_in_the_demo(calendar_env):
    calendar = ShutdownNoticeSettings().model_calendar
    entry = calendar_entry(calendar, "gpt-4o-mini-2024-07-18", "openai")
    today = datetime.now(UTC).date()
    assert entry.fine_tune_until == today + timedelta(days=30)
    assert json.loads(calendar_env)["openai:*"]["fine_tune_until"] == (today + timedelta(days=30)).isoformat()


def test_status_from_another_terminal_reads_the_demos_calendar_not_the_real_one(tmp_path, monkeypatch):
    """``DISTILLERY_HOME=<demo home> distillery status`` adopts the calendar the demo wrote into
    its stack.json, as the demo's own processes read it; the real calendar would say, from
    2027-01-15, that the demo's teacher had shut down while its sandbox still answers."""
    plan = DemoPlan()
    assert plan.stack_env().items() <= plan.common_env(tmp_path, "b:9092", "postgresql://x/y").items()
    write_stack_state(tmp_path, StackState("b:9092", "postgresql://x/y", environment=plan.stack_env()))
    for name in ("DISTILLERY_CONSOLE_MODEL_CALENDAR", "DISTILLERY_FINETUNE_CALENDAR",
                 "DISTILLERY_CONSOLE_MIN_SERVICE_LIFE_DAYS", "DISTILLERY_FINETUNE_MIN_SERVICE_LIFE_DAYS"):
        # Empty is unset to the settings and to the adoption; and monkeypatch then takes back what
        # the adoption sets in this process (delenv of an unset name would not).
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("DISTILLERY_HOME", str(tmp_path))
    assert ShutdownNoticeSettings().min_service_life_days == 30  # before: the real defaults
    assert adopt_local_stack_environment() == ["DISTILLERY_FINETUNE_CALENDAR",
                                               "DISTILLERY_FINETUNE_MIN_SERVICE_LIFE_DAYS"]
    settings = ShutdownNoticeSettings()
    today = datetime.now(UTC).date()
    assert settings.min_service_life_days == 14
    assert os.environ["DISTILLERY_FINETUNE_MIN_SERVICE_LIFE_DAYS"] == "14"
    assert calendar_entry(settings.model_calendar, "gpt-4.1", "openai").shutdown == today + timedelta(days=38)
