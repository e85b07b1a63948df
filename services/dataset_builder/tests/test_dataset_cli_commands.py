"""``distillery dataset build/list/show/diff`` refuse bad input with one clear line."""

import typer
from typer.testing import CliRunner

from distillery_cli.dataset import dataset_app

app = typer.Typer()
app.add_typer(dataset_app, name="dataset")


def run(tmp_path, *args: str):
    env = {"COLUMNS": "200", "DISTILLERY_HOME": str(tmp_path), "DISTILLERY_DATABASE_URL": "",
           "DISTILLERY_KAFKA_BOOTSTRAP": "127.0.0.1:1"}
    return CliRunner().invoke(app, ["dataset", *args], env=env)


def test_a_build_for_a_model_without_known_limits_is_refused_before_anything_is_sent(tmp_path):
    result = run(tmp_path, "build", "--base-model", "llama-3-8b")
    assert result.exit_code == 2
    assert "no fine-tuning limits for model 'llama-3-8b'" in result.output


def test_a_target_below_the_provider_minimum_is_refused(tmp_path):
    result = run(tmp_path, "build", "--target-size", "5")
    assert result.exit_code == 2
    assert "Invalid value for '--target-size': Input should be greater than or equal to 10" in result.output


def test_reading_datasets_without_a_database_says_how_to_get_one(tmp_path):
    for args in (("list",), ("show", "ds-0001"), ("diff", "ds-0001", "ds-0002")):
        result = run(tmp_path, *args)
        assert result.exit_code == 2, result.output
        assert "DISTILLERY_DATABASE_URL is not set and no local stack is running" in result.output
