"""``distillery config``: the reference lists every variable, hides secrets, and check fails in one line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict
from typer.testing import CliRunner

from distillery_cli.config_fields import SECRET, UNSET
from distillery_cli.config_registry import SettingsGroup, known_names, settings_groups
from distillery_cli.config_render import END, START, env_file, markdown, rich_tables, splice
from distillery_cli.topics_doc import TOPICS_MARKERS, topics_markdown
from distillery_cli.main import app

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


@pytest.fixture(scope="module")
def groups() -> list[SettingsGroup]:
    return settings_groups()


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No DISTILLERY_* variable of the developer's leaks in; no local stack to fall back on."""
    import os

    for name in list(os.environ):
        if name.upper().startswith("DISTILLERY_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DISTILLERY_HOME", str(tmp_path))
    return monkeypatch


def pydantic_settings_names(cls: type[BaseSettings]) -> set[str]:
    """The names pydantic-settings itself reads, nested ``__`` fields included."""
    source = EnvSettingsSource(cls)
    delimiter = cls.model_config.get("env_nested_delimiter")
    names = set()
    for name, info in cls.model_fields.items():
        for _, env_name, _ in source._extract_field_info(info, name):
            names.add(env_name.upper())
            if delimiter and isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
                names |= {f"{env_name}{delimiter}{sub}".upper() for sub in info.annotation.model_fields}
    return names


def test_every_service_and_the_runtime_have_a_group(groups):
    names = [g.name for g in groups]
    assert names[0] == "runtime" and names[-1] == "other"
    assert {"trace-ingester", "cleaner", "dataset-builder", "finetune-controller", "evaluator",
            "rollout-controller"} <= set(names)
    assert all(g.classes for g in groups[:-1])


def test_the_listing_names_every_variable_pydantic_settings_reads(groups):
    listing = runner.invoke(app, ["config", "list", "--format", "env"]).output
    listed = set(re.findall(r"^# (DISTILLERY_[A-Z0-9_]+)=", listing, re.MULTILINE))
    for group in groups:
        for cls in group.classes:
            primary = pydantic_settings_names(cls) - {a for v in group.variables() for a in v.aliases}
            assert primary and primary <= listed, f"{cls.__name__}: missing {sorted(primary - listed)}"
            assert pydantic_settings_names(cls) <= known_names(groups)


def test_every_variable_says_what_it_means(groups):
    silent = [v.name for g in groups for v in g.variables() if not v.meaning]
    assert silent == [], "add description= to these fields: " + ", ".join(silent)


def test_the_listing_holds_every_variable_the_source_mentions(groups):
    """A DISTILLERY_* name read anywhere (code, tests, compose) must be in the reference."""
    files = [*REPO.glob("*/src/**/*.py"), *REPO.glob("services/*/src/**/*.py"), *REPO.glob("**/tests/**/*.py"),
             REPO / "docker-compose.yml", REPO / "infra/docker/env.example"]
    mentioned = {name for f in files if ".venv" not in f.parts and f != Path(__file__).resolve()
                 for name in re.findall(r"DISTILLERY_[A-Z0-9_]+", f.read_text(encoding="utf-8"))
                 if not name.endswith("_")}  # a trailing _ marks a prefix
    assert mentioned - known_names(groups) == set()


def test_command_options_read_from_the_environment_are_listed(groups):
    other = {v.name: v for v in groups[-1].variables()}
    assert other["DISTILLERY_STACK_KAFKA_PORT"].default == "9092"
    assert "--kafka-port" in other["DISTILLERY_STACK_KAFKA_PORT"].meaning
    assert other["DISTILLERY_ROLLOUT_URL"].default == UNSET


class _Inner(BaseModel):
    token: SecretStr = SecretStr("inner-hunter2")


class _SecretSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DISTILLERY_FAKE_", env_nested_delimiter="__")

    password: SecretStr = Field(default=SecretStr("hunter2"), description="A password.")
    api_key: SecretStr | None = Field(default=None, description="An unset key.")
    inner: _Inner = Field(default_factory=_Inner, description="A model holding a secret.")


def test_secret_defaults_are_never_printed():
    fake = [SettingsGroup("fake", (_SecretSettings,))]
    from rich.console import Console

    console = Console(record=True, width=200)
    for table in rich_tables(fake):
        console.print(table)
    for text in (markdown(fake), env_file(fake), console.export_text()):
        assert "hunter2" not in text
        assert "DISTILLERY_FAKE_PASSWORD" in text and "DISTILLERY_FAKE_INNER__TOKEN" in text
    variables = {v.name: v for v in fake[0].variables()}
    assert variables["DISTILLERY_FAKE_PASSWORD"].default == SECRET
    assert variables["DISTILLERY_FAKE_INNER"].default == SECRET
    assert variables["DISTILLERY_FAKE_API_KEY"].default == UNSET


def test_no_real_secret_has_a_printed_default(groups):
    harmless = (UNSET, SECRET, "[]", "{}")  # an empty list of secret-holding items holds no secret
    shown = [v.name for g in groups for v in g.variables() if v.secret and v.default not in harmless]
    assert shown == []


def test_the_readme_reference_is_current(groups):
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert START in readme and END in readme
    assert splice(readme, markdown(groups)) == readme, (
        "README.md's configuration reference is stale: run `make docs` "
        "(distillery config docs, from `distillery config list --format markdown`)")


def test_docs_check_reports_a_stale_readme_and_docs_repairs_it(tmp_path, groups):
    readme = tmp_path / "README.md"
    first, last = TOPICS_MARKERS
    readme.write_text(f"# x\n\n{START}\nold\n{END}\n\n## next\n\n{first}\nold\n{last}\n")
    stale = runner.invoke(app, ["config", "docs", "--readme", str(readme), "--check"])
    assert stale.exit_code == 1 and "make docs" in stale.output
    assert runner.invoke(app, ["config", "docs", "--readme", str(readme)]).exit_code == 0
    assert readme.read_text() == (f"# x\n\n{START}\n{markdown(groups)}{END}\n\n## next\n\n"
                                  f"{first}\n{topics_markdown()}{last}\n")


def _valid_evaluator_env(env) -> None:
    env.setenv("DISTILLERY_DATABASE_URL", "postgresql://u:secret-pw@db:5432/d")


def test_check_reports_a_bad_value_in_one_line_and_exits_2(clean_env):
    _valid_evaluator_env(clean_env)
    clean_env.setenv("DISTILLERY_EVALUATOR_CONCURRENCY", "lots")
    result = runner.invoke(app, ["config", "check", "--service", "evaluator"])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        "evaluator: DISTILLERY_EVALUATOR_CONCURRENCY: Input should be a valid integer, "
        "unable to parse string as an integer (got 'lots')"]


def test_check_names_nested_and_aliased_variables_as_they_are_set(clean_env):
    _valid_evaluator_env(clean_env)
    clean_env.setenv("DISTILLERY_EVALUATOR_GATES__CONFIDENCE", "2")
    clean_env.setenv("DISTILLERY_LANGFUSE_HOST", "ftp://langfuse")
    clean_env.setenv("DISTILLERY_LANGFUSE_PUBLIC_KEY", "pk")
    clean_env.setenv("DISTILLERY_LANGFUSE_SECRET_KEY", "sk-lf-do-not-print")
    lines = runner.invoke(app, ["config", "check"]).stdout.splitlines()
    assert "evaluator: DISTILLERY_EVALUATOR_GATES__CONFIDENCE: Input should be less than 1 (got '2')" in lines
    assert any(line.startswith("trace-ingester: invalid Langfuse settings: ") for line in lines)
    assert not any("do-not-print" in line or "secret-pw" in line for line in lines)


def test_check_names_the_variable_set_of_a_fields_aliases_and_the_key_inside_it(clean_env):
    _valid_evaluator_env(clean_env)
    clean_env.setenv("DISTILLERY_FINETUNE_CALENDAR", '{"openai:gpt-4.1": {"shutdown": "someday"}}')
    lines = runner.invoke(app, ["config", "check", "--service", "console"]).stdout.splitlines()
    assert ("console: DISTILLERY_FINETUNE_CALENDAR.openai:gpt-4.1.shutdown: Input should be a valid date or "
            "datetime, input is too short (got 'someday')") in lines


def test_check_passes_a_good_environment_with_exit_0(clean_env):
    _valid_evaluator_env(clean_env)
    result = runner.invoke(app, ["config", "check", "--service", "evaluator"])
    assert result.exit_code == 0, result.output
    assert "configuration OK: runtime, evaluator" in result.stdout


def test_check_reports_a_missing_database_url(clean_env):
    result = runner.invoke(app, ["config", "check", "--service", "runtime"])
    assert result.exit_code == 2
    assert result.stdout.startswith("runtime: DISTILLERY_DATABASE_URL is not set")


def test_check_warns_about_a_variable_nothing_reads(clean_env):
    _valid_evaluator_env(clean_env)
    clean_env.setenv("DISTILLERY_CLEANER_BATCH_SIZ", "5")
    result = runner.invoke(app, ["config", "check", "--service", "runtime"])
    assert result.exit_code == 0
    assert "DISTILLERY_CLEANER_BATCH_SIZ is set but no setting reads it " \
           "(did you mean DISTILLERY_CLEANER_BATCH_SIZE?)" in result.stderr


def test_an_unknown_service_is_one_clear_line(clean_env):
    result = runner.invoke(app, ["config", "list", "--service", "nope"])
    assert result.exit_code == 2
    assert "unknown service 'nope'; choose one of: runtime, " in result.stderr


def test_a_union_reads_as_its_members_each_with_its_bounds():
    from typing import Annotated, Literal

    from distillery_cli.config_fields import describe_type

    class Example(BaseSettings):
        workers: Annotated[int, Field(ge=0, le=64)] | Literal["auto"] = "auto"
        modules: str | list[str] = "all"
        batch: int | None = Field(default=None, ge=1)

    fields = Example.model_fields
    assert describe_type(fields["workers"]) == "int, >= 0, <= 64 or auto"
    assert describe_type(fields["modules"]) == "str or JSON list"
    assert describe_type(fields["batch"]) == "int, >= 1"
