"""``distillery dataset validate`` as a user runs it: output and exit codes."""

import typer
from dataset_examples import VALID_EXAMPLE as HELLO
from typer.testing import CliRunner

from distillery_cli.dataset import dataset_app


# Mounted the way the lead registers it, so the command line reads as users type it.
app = typer.Typer()
app.add_typer(dataset_app, name="dataset")
runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["dataset", "validate", *args], env={"COLUMNS": "120", "DISTILLERY_PRICES": ""})


def test_a_valid_file_exits_zero_with_a_token_and_cost_summary(write_jsonl):
    result = run(str(write_jsonl([HELLO] * 10)))
    assert result.exit_code == 0, result.output
    assert "examples                  │ 10 (0 invalid)" in result.output
    assert "tokens, total             │ 150" in result.output
    assert "epochs                    │ 10 (OpenAI's default for this size)" in result.output
    assert "estimated training tokens │ 1,500" in result.output
    assert "estimated training cost   │ $0.0045" in result.output
    assert "✓ valid: 10 examples ready to fine-tune gpt-4o-mini-2024-07-18" in result.output


def test_an_invalid_file_exits_one_and_lists_line_numbered_errors(write_jsonl):
    lines = [HELLO] * 10
    lines[6] = {"messages": [{"role": "user", "content": "hi"}, {"role": "assitant", "content": "yo"}]}
    result = run(str(write_jsonl(lines)))
    assert result.exit_code == 1
    assert (
        'line 7: message 2 has role "assitant"; expected one of system, user, assistant, tool'
        in result.output
    )
    assert "✗ invalid: 1 error(s) in 1 of 10 example(s)" in result.output


def test_epochs_and_model_change_the_estimate(write_jsonl):
    result = run(str(write_jsonl([HELLO] * 10)), "--model", "gpt-4.1", "--epochs", "3")
    assert result.exit_code == 0, result.output
    assert "epochs                    │ 3 (given)" in result.output
    assert "estimated training tokens │ 450" in result.output
    assert "estimated training cost   │ unknown" in result.output
    assert "no training price for model 'gpt-4.1'" in result.output


def test_only_the_first_fifty_errors_are_printed_then_a_count(write_jsonl):
    result = run(str(write_jsonl(["[]"] * 80)))
    assert result.exit_code == 1
    printed = [line for line in result.output.splitlines() if line.startswith("line ")]
    assert len(printed) == 50
    assert printed[-1] == 'line 50: expected a JSON object with "messages", got a list'
    assert "... and 30 more error(s)" in result.output


def test_markup_like_text_in_errors_is_printed_as_is(write_jsonl):
    lines = [HELLO] * 10
    lines[0] = {"messages": [{"role": "[bold]x[/bold]", "content": "hi"}]}
    result = run(str(write_jsonl(lines)))
    assert 'line 1: message 1 has role "[bold]x[/bold]"' in result.output


def test_a_missing_file_is_one_clear_line_and_exit_two(tmp_path):
    result = run(str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: no such file: {tmp_path / 'nope.jsonl'}"
    assert result.stdout == ""


def test_an_unknown_model_is_one_clear_line_and_exit_two(write_jsonl):
    result = run(str(write_jsonl([HELLO] * 10)), "--model", "claude-3-haiku")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no fine-tuning limits for model 'claude-3-haiku'")
    assert "'distillery train --check --data " in result.stderr  # where an open-weights student's file is checked
    assert len(result.stderr.strip().splitlines()) == 1
