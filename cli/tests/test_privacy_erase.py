"""`distillery privacy erase` refuses to guess whom to erase, and says what it cannot reach."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from distillery_cli.privacy_erase import erase_cmd, remains_elsewhere

cli = typer.Typer()
cli.command("noop")(lambda: None)
cli.command("erase")(erase_cmd)


def test_it_names_exactly_one_caller_before_touching_the_broker():
    for args in ([], ["--session", "call-1", "--trace", "tr-1"]):
        result = CliRunner().invoke(cli, ["erase", *args], env={"DISTILLERY_KAFKA_BOOTSTRAP": "127.0.0.1:1"})
        assert result.exit_code == 2
        assert "name exactly one caller: --session ID or --trace ID" in result.output


def test_what_remains_elsewhere_names_each_system_it_does_not_own_with_the_registrys_retention():
    remains = dict(remains_elsewhere())
    assert set(remains) == {"Langfuse", "Kafka", "fine-tuning providers", "published datasets"}
    assert "traces.raw keeps the call for 30 days" in remains["Kafka"]
