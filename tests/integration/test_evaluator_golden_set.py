"""The simulated clinic's golden set, written by the sandbox as the demo does, read by the
evaluator's golden set file loader: the evaluator itself never imports the simulator."""

from __future__ import annotations

from distillery_evaluator.adapters.sources import golden_from_file
from distillery_sandbox.golden import write_golden_set


def test_the_sandbox_golden_set_covers_the_clinic_with_facts_and_reference_answers(tmp_path):
    path = tmp_path / "golden.jsonl"
    written = write_golden_set(path)

    golden = golden_from_file(path)
    assert len(golden) == written >= 25
    write_golden_set(tmp_path / "again.jsonl")
    assert golden_from_file(tmp_path / "again.jsonl").version == golden.version
    by_id = {item.item_id: item for item in golden.items}
    skin = by_id["golden-prices-skin_check"]
    assert "A skin check costs €90." in skin.facts and "€90" in skin.reference
    assert skin.messages[0]["role"] == "system" and skin.messages[-1]["role"] == "user"
    assert by_id["golden-hours-sunday"].facts == ["Closed on Sunday."]


def test_a_limit_keeps_the_first_items(tmp_path):
    assert write_golden_set(tmp_path / "golden.jsonl", limit=6) == 6
    assert len(golden_from_file(tmp_path / "golden.jsonl")) == 6
