"""``distillery clean`` removes every value of the issue's example lines; ``privacy eval`` reports and gates."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from distillery_cleaner import pii_evaluation
from distillery_cli.main import app

EXPORT = Path(__file__).parent / "golden" / "clean-export"
ISSUE_LINES = {
    "My card is 4111.1111.1111.1111 thanks": ["4111"],
    "Card 4111\u200b1111\u200b1111\u200b1111 please": ["4111"],
    "I was born on 14 March 1987, my name is Jane Doe, I live at 221B Baker Street":
        ["1987", "Jane", "Doe", "221B", "Baker"],
    "jane dot doe at example dot com": ["jane", "example"],
    "card number 4111111111111111": ["4111"],
    "My SSN is 123-45-6789": ["6789"],
    "(415) 555-0132": ["0132"],
    "DE89370400440532013000": ["DE89"],
}


def small_export(folder: Path) -> Path:
    """One generation per line of the issue, as the caller's last turn, in a Langfuse v2 export."""
    template = json.loads((EXPORT / "observations.jsonl").read_text().splitlines()[0])
    lines = []
    for n, said in enumerate(ISSUE_LINES):
        observation = dict(template, id=f"obs-issue-{n}", traceId=f"trace-issue-{n}", sessionId=f"call-issue-{n}")
        request = json.loads(template["input"])
        request["messages"] = [request["messages"][0], {"role": "user", "content": said}]
        observation["input"] = json.dumps(request)
        lines.append(json.dumps(observation))
    path = folder / "observations.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_clean_redacts_every_value_of_the_issues_lines(tmp_path: Path) -> None:
    observations = small_export(tmp_path)
    accepted, rejected = tmp_path / "accepted.jsonl", tmp_path / "rejected.jsonl"
    result = CliRunner().invoke(app, ["clean", "--input", str(observations), "--project", "clinic",
                                      "--config", str(EXPORT / "cleaner.json"),
                                      "--accepted", str(accepted), "--rejected", str(rejected),
                                      "--pii-processes", "0"])
    assert result.exit_code == 0, result.output
    examples = [json.loads(line) for line in accepted.read_text().splitlines()]
    assert len(examples) == len(ISSUE_LINES) and not rejected.read_text().strip()
    users = {m["content"] for e in examples for m in e["messages"] if m["role"] == "user"}
    assert len(users) == len(ISSUE_LINES)
    for user in users:
        assert "<" in user, user
        for fragments in ISSUE_LINES.values():
            for fragment in fragments:
                assert fragment not in user, user
    assert "+353 1 555 0142" in examples[0]["messages"][0]["content"]  # the clinic's number stays


def test_privacy_eval_prints_the_figures_and_passes_on_the_shipped_set() -> None:
    result = CliRunner().invoke(app, ["privacy", "eval", "--half", "first"])
    assert result.exit_code == 0, result.output
    assert "154 utterances (first)" in result.output
    for kind in ("CARD", "IBAN", "EMAIL", "PHONE", "SSN", "NINO", "PERSON", "DATE_OF_BIRTH", "ADDRESS",
                 "BOOKING_REF", "CLINIC_FACT", "PRICE", "TIME", "utterances still examples"):
        assert kind in result.output


def test_privacy_eval_exits_non_zero_naming_the_target_missed(monkeypatch) -> None:
    # Without the named-entity model, 5 of the 62 labelled names are missed (recall 0.919): under a
    # target of 0.95 that is a miss. (The patterns alone clear the shipped 0.90 since "it's for
    # <name>" introduces a name.)
    monkeypatch.setitem(pii_evaluation.RECALL_TARGETS, "PERSON", 0.95)
    result = CliRunner().invoke(app, ["privacy", "eval", "--no-ner"])
    assert result.exit_code == 1
    assert "target missed: recall of PERSON 0.919 < 0.95" in result.output
