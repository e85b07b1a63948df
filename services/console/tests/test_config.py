"""Console settings: operator keys load by identity, and an unusable key file is one line."""

from __future__ import annotations

import pytest

from distillery_console.config import ConsoleSettings
from distillery_runtime.errors import ConfigError
from distillery_runtime.signing import SigningKey, write_key_file


def test_operator_keys_are_read_from_a_comma_separated_list(tmp_path, monkeypatch):
    paths = [write_key_file(tmp_path / f"{n}.json", SigningKey.generate(f"{n}@clinic")) for n in ("ana", "bo")]
    monkeypatch.setenv("DISTILLERY_CONSOLE_OPERATOR_KEYS", f"{paths[0]}, {paths[1]}")
    assert sorted(ConsoleSettings().signers()) == ["ana@clinic", "bo@clinic"]


def test_a_missing_key_file_is_one_line_naming_the_variable(tmp_path):
    with pytest.raises(ConfigError, match=r"^DISTILLERY_CONSOLE_OPERATOR_KEYS: key file .*nope.json does not exist"):
        ConsoleSettings(operator_keys=[tmp_path / "nope.json"]).signers()


def test_health_urls_are_name_url_pairs(monkeypatch):
    monkeypatch.setenv("DISTILLERY_CONSOLE_HEALTH_URLS", "cleaner=http://cleaner:8080/, evaluator=http://ev:8080")
    assert ConsoleSettings().health_targets() == {"cleaner": "http://cleaner:8080", "evaluator": "http://ev:8080"}
    monkeypatch.setenv("DISTILLERY_CONSOLE_HEALTH_URLS", "http://cleaner:8080")
    with pytest.raises(ValueError, match="name=url pairs"):
        ConsoleSettings()
