"""Settings read from the environment, with bad values named."""

from __future__ import annotations

import pytest

from distillery_rollout_controller.config import RolloutSettings
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.errors import ConfigError


def test_stages_come_from_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("DISTILLERY_ROLLOUT_STAGES", "20, 50, 80")
    monkeypatch.setenv("DISTILLERY_ROLLOUT_TEACHER_FLOOR_PERCENT", "20")
    monkeypatch.setenv("DISTILLERY_ROLLOUT_MIN_SCORED_CALLS", "40")

    settings = load_settings(RolloutSettings)

    assert settings.plan().percents == (20.0, 50.0, 80.0)
    assert settings.policy().min_scored_calls == 40


def test_a_plan_that_skips_the_teacher_floor_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("DISTILLERY_ROLLOUT_STAGES", "10,25,50,75,100")

    with pytest.raises(ConfigError, match="last stage must be 90%"):
        load_settings(RolloutSettings)
