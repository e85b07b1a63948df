"""The configuration: its hash identifies a version of the cleaned data; bad files say why."""

from __future__ import annotations

import pytest

from distillery_cleaner.config import load_cleaner_config
from distillery_cleaner.domain.config import CleanerConfig
from distillery_runtime.errors import ConfigError


def test_the_hash_is_stable_and_changes_with_any_setting():
    assert CleanerConfig().config_hash == CleanerConfig().config_hash
    assert len(CleanerConfig().config_hash) == 16
    changed = CleanerConfig(near_duplicates={"threshold": 0.85})
    assert changed.config_hash != CleanerConfig().config_hash


def test_json_and_toml_files_load_and_defaults_fill_the_rest(tmp_path):
    as_json = tmp_path / "cleaner.json"
    as_json.write_text('{"teacher_models": ["gpt-4.1"], "pii": {"action": "drop"}}')
    as_toml = tmp_path / "cleaner.toml"
    as_toml.write_text('teacher_models = ["gpt-4.1"]\n[pii]\naction = "drop"\n')
    assert load_cleaner_config(as_json) == load_cleaner_config(as_toml)
    assert load_cleaner_config(as_json).pii.action == "drop"
    assert load_cleaner_config(None) == CleanerConfig()


def test_a_bad_file_is_one_clear_error(tmp_path):
    broken = tmp_path / "cleaner.json"
    broken.write_text('{"near_duplicates": {"threshold": 2}, "colour": "red"}')
    with pytest.raises(ConfigError) as caught:
        load_cleaner_config(broken)
    assert "near_duplicates.threshold" in str(caught.value) and "colour" in str(caught.value)
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_cleaner_config(broken)
    with pytest.raises(ConfigError, match="cannot read"):
        load_cleaner_config(tmp_path / "missing.json")


def test_an_invalid_error_pattern_is_rejected():
    with pytest.raises(ValueError, match="not a valid regex"):
        CleanerConfig(error_status_pattern="(unclosed")


def test_the_environment_turns_named_entities_off_and_that_is_a_new_configuration(tmp_path, monkeypatch):
    from distillery_cleaner.config import CleanerSettings

    rules = tmp_path / "cleaner.json"
    rules.write_text('{"pii": {"allow": ["+353 1 555 0142"]}}')
    monkeypatch.setenv("DISTILLERY_CLEANER_CONFIG_FILE", str(rules))
    with_ner = CleanerSettings().cleaner_config()
    monkeypatch.setenv("DISTILLERY_CLEANER_PII_NER", "false")
    without = CleanerSettings().cleaner_config()
    assert with_ner.pii.ner and not without.pii.ner
    assert without.pii.allow == ("+353 1 555 0142",)
    assert without.config_hash != with_ner.config_hash


@pytest.mark.parametrize(("setting", "ner", "cpus", "workers"), [
    ("auto", True, 1, 0),  # one core: the service's own process
    ("auto", True, 2, 2),
    ("auto", True, 3, 3),
    ("auto", True, 4, 3),  # the service's own core keeps about three busy
    ("auto", True, 64, 3),
    ("auto", False, 8, 0),  # the patterns alone cost less than the trip to a worker
    (0, True, 8, 0),
    (5, False, 1, 5),  # a number set is started as set
])
def test_auto_starts_a_personal_data_worker_per_core_with_named_entities_on(setting, ner, cpus, workers):
    from distillery_cleaner.config import pii_process_count

    assert pii_process_count(setting, ner, cpus) == workers


def test_the_worker_count_is_auto_by_default_a_number_or_one_clear_error(monkeypatch):
    from distillery_cleaner import config
    from distillery_cleaner.config import CleanerSettings, load_cleaner_settings

    monkeypatch.delenv("DISTILLERY_CLEANER_PII_PROCESSES", raising=False)
    monkeypatch.setattr(config, "cpu_count", lambda: 2)  # the cores this process may use
    assert CleanerSettings().pii_processes == "auto"
    assert CleanerSettings().pii_workers(CleanerConfig()) == 2
    assert CleanerSettings().pii_workers(CleanerConfig(pii={"ner": False})) == 0
    monkeypatch.setenv("DISTILLERY_CLEANER_PII_PROCESSES", "1")
    assert CleanerSettings().pii_workers(CleanerConfig()) == 1
    for bad in ("-1", "65", "many"):
        monkeypatch.setenv("DISTILLERY_CLEANER_PII_PROCESSES", bad)
        with pytest.raises(ConfigError) as caught:
            load_cleaner_settings()
        assert str(caught.value).startswith("invalid configuration: DISTILLERY_CLEANER_PII_PROCESSES: a number of worker")
        assert "\n" not in str(caught.value)
