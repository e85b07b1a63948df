"""Settings and URLs: what a user types is accepted, what cannot work is one clear line."""

from __future__ import annotations

import json

import pytest
from pydantic import AliasChoices, BaseModel, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from distillery_runtime.blobstore import LocalBlobStore
from distillery_runtime.db import async_url, redacted
from distillery_runtime.errors import ConfigError
from distillery_runtime.settings import BlobStoreSettings, RuntimeSettings
from distillery_runtime.stackstate import StackState, adopt_stack_environment, read_stack_state, write_stack_state


def test_plain_postgres_urls_are_used_with_asyncpg():
    assert async_url("postgresql://u:p@db:5432/x") == "postgresql+asyncpg://u:p@db:5432/x"
    assert async_url("postgres://u@db/x") == "postgresql+asyncpg://u@db/x"


def test_non_postgres_url_is_refused_with_the_variable_named():
    with pytest.raises(ConfigError, match="DISTILLERY_DATABASE_URL must point to PostgreSQL"):
        async_url("sqlite:///x.db")


def test_passwords_never_appear_in_redacted_urls():
    assert "secret" not in redacted("postgresql://u:secret@db/x")


def test_local_stack_state_fills_unset_addresses(tmp_path, monkeypatch):
    monkeypatch.delenv("DISTILLERY_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.delenv("DISTILLERY_DATABASE_URL", raising=False)
    (tmp_path / "stack.json").write_text(json.dumps(
        {"kafka_bootstrap": "127.0.0.1:19092", "database_url": "postgresql://postgres@127.0.0.1:5433/distillery"}))
    settings = RuntimeSettings(home=tmp_path)
    assert settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.require_database_url().endswith(":5433/distillery")


def test_a_command_adopts_the_stacks_environment_only_where_its_own_is_silent(tmp_path):
    write_stack_state(tmp_path, StackState("127.0.0.1:19092", "postgresql://localhost/x", environment={
        "DISTILLERY_FINETUNE_CALENDAR": '{"*": {"shutdown": "2031-01-01"}}',
        "DISTILLERY_FINETUNE_MIN_SERVICE_LIFE_DAYS": "14", "DISTILLERY_CONSOLE_SHUTDOWN_NOTICE_DAYS": "90"}))
    environ = {"DISTILLERY_FINETUNE_MIN_SERVICE_LIFE_DAYS": "30", "DISTILLERY_CONSOLE_SHUTDOWN_NOTICE_DAYS": ""}
    assert adopt_stack_environment(tmp_path, environ) == [
        "DISTILLERY_CONSOLE_SHUTDOWN_NOTICE_DAYS", "DISTILLERY_FINETUNE_CALENDAR"]
    assert environ == {"DISTILLERY_FINETUNE_CALENDAR": '{"*": {"shutdown": "2031-01-01"}}',
                       "DISTILLERY_FINETUNE_MIN_SERVICE_LIFE_DAYS": "30",  # the command's own wins
                       "DISTILLERY_CONSOLE_SHUTDOWN_NOTICE_DAYS": "90"}  # an empty value is unset


def test_without_a_stack_nothing_is_adopted_and_an_older_stack_file_still_reads(tmp_path):
    environ: dict[str, str] = {}
    assert adopt_stack_environment(tmp_path, environ) == [] and environ == {}
    (tmp_path / "stack.json").write_text(json.dumps(
        {"kafka_bootstrap": "127.0.0.1:19092", "database_url": "postgresql://localhost/x", "extra": {"demo": True}}))
    assert read_stack_state(tmp_path).environment == {}
    assert adopt_stack_environment(tmp_path, environ) == [] and environ == {}


def test_missing_database_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.delenv("DISTILLERY_DATABASE_URL", raising=False)
    with pytest.raises(ConfigError, match="run 'distillery stack up' or set DISTILLERY_DATABASE_URL"):
        RuntimeSettings(home=tmp_path).require_database_url()


def test_secrets_do_not_show_in_settings_repr(monkeypatch):
    monkeypatch.setenv("DISTILLERY_DATABASE_URL", "postgresql://u:hunter2@db/x")
    assert "hunter2" not in repr(RuntimeSettings())


def test_a_bad_value_is_named_with_the_settings_own_prefix(monkeypatch):
    from pydantic import Field
    from pydantic_settings import BaseSettings, SettingsConfigDict

    from distillery_runtime.entrypoint import load_settings
    from distillery_runtime.errors import ConfigError

    class BuilderSettings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="DISTILLERY_DATASET_")
        build_threshold: int = Field(default=10)

    monkeypatch.setenv("DISTILLERY_DATASET_BUILD_THRESHOLD", "many")
    with pytest.raises(ConfigError, match=r"^invalid configuration: DISTILLERY_DATASET_BUILD_THRESHOLD: "):
        load_settings(BuilderSettings)


def test_a_json_variable_that_is_not_json_is_one_line_naming_it(monkeypatch):
    from pydantic_settings import BaseSettings, SettingsConfigDict

    from distillery_runtime.entrypoint import load_settings
    from distillery_runtime.errors import ConfigError

    class GateSettings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="DISTILLERY_EVALUATOR_")
        gates: dict[str, float] = {}

    monkeypatch.setenv("DISTILLERY_EVALUATOR_GATES", "{margin: 0.1}")
    with pytest.raises(ConfigError, match=r"^DISTILLERY_EVALUATOR_GATES: not valid JSON \(Expecting property name"):
        load_settings(GateSettings)


class _CalendarSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISTILLERY_CONSOLE_")
    calendar: dict[str, dict[str, int]] = Field(
        default_factory=dict,
        validation_alias=AliasChoices("DISTILLERY_CONSOLE_MODEL_CALENDAR", "DISTILLERY_FINETUNE_CALENDAR"))
    refresh_s: float = 5.0


def test_a_bad_value_names_the_variable_that_was_set_of_a_fields_aliases(monkeypatch):
    from distillery_runtime.entrypoint import load_settings
    from distillery_runtime.errors import ConfigError

    monkeypatch.setenv("DISTILLERY_FINETUNE_CALENDAR", '{"gpt-4.1": {"days": "soon"}}')
    monkeypatch.setenv("DISTILLERY_CONSOLE_REFRESH_S", "often")
    with pytest.raises(ConfigError) as caught:
        load_settings(_CalendarSettings)
    assert str(caught.value) == (
        "invalid configuration: DISTILLERY_FINETUNE_CALENDAR.gpt-4.1.days: Input should be a valid integer, "
        "unable to parse string as an integer (got 'soon'); DISTILLERY_CONSOLE_REFRESH_S: Input should be a valid "
        "number, unable to parse string as a number (got 'often')")
    monkeypatch.setenv("DISTILLERY_CONSOLE_MODEL_CALENDAR", "{nope")
    with pytest.raises(ConfigError, match=r"^DISTILLERY_CONSOLE_MODEL_CALENDAR: not valid JSON \("):
        load_settings(_CalendarSettings)


def test_a_class_that_reads_nested_variables_names_the_nested_one(monkeypatch):
    from distillery_runtime.entrypoint import load_settings
    from distillery_runtime.errors import ConfigError

    class Gates(BaseModel):
        judge_margin: float = 0.1

    class GateSettings(BaseSettings):
        model_config = SettingsConfigDict(env_prefix="DISTILLERY_EVALUATOR_", env_nested_delimiter="__")
        gates: Gates = Field(default_factory=Gates)

    monkeypatch.setenv("DISTILLERY_EVALUATOR_GATES__JUDGE_MARGIN", "wide")
    with pytest.raises(ConfigError, match=r"^invalid configuration: DISTILLERY_EVALUATOR_GATES__JUDGE_MARGIN: "):
        load_settings(GateSettings)


class _AdapterSettings(BlobStoreSettings):
    model_config = SettingsConfigDict(env_prefix="DISTILLERY_TRAINER_")
    s3_prefix: str = "adapters"


def test_blob_store_settings_read_the_services_prefix_and_refuse_s3_without_a_bucket(monkeypatch, tmp_path):
    monkeypatch.setenv("DISTILLERY_TRAINER_BLOB_STORE", "s3")
    with pytest.raises(ValidationError, match="blob_store is s3 but DISTILLERY_TRAINER_S3_BUCKET is not set"):
        _AdapterSettings()
    monkeypatch.setenv("DISTILLERY_TRAINER_S3_BUCKET", "students")
    settings = _AdapterSettings()
    assert (settings.s3_bucket, settings.s3_prefix) == ("students", "adapters")


def test_blob_store_settings_open_a_local_store_under_the_directory_given(monkeypatch, tmp_path):
    monkeypatch.delenv("DISTILLERY_TRAINER_BLOB_STORE", raising=False)
    store = _AdapterSettings().open_blob_store(tmp_path / "files")
    assert isinstance(store, LocalBlobStore) and store.root == (tmp_path / "files").resolve()
