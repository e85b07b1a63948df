"""The simulated clinic's golden set, written by the sandbox as the demo does, read by the
evaluator's golden set file loader: the evaluator itself never imports the simulator."""

from __future__ import annotations

import pytest

from distillery_evaluator.adapters.sources import golden_from_file
from distillery_sandbox.golden import write_golden_set

pytestmark = pytest.mark.integration


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
    # Prices and hours are asked three ways each: a candidate that misquotes some of them is
    # caught on enough items to tell it from one that does not.
    asked = {by_id[f"golden-prices-skin_check{suffix}"].messages[-1]["content"] for suffix in ("", "-2", "-3")}
    assert len(asked) == 3 and all(by_id[f"golden-prices-skin_check{s}"].facts == skin.facts for s in ("-2", "-3"))
    assert len({by_id[f"golden-hours-monday{s}"].messages[-1]["content"] for s in ("", "-2", "-3")}) == 3


def test_a_limit_keeps_the_first_items_one_question_a_fact_first(tmp_path):
    assert write_golden_set(tmp_path / "golden.jsonl", limit=32) == 32
    kept = golden_from_file(tmp_path / "golden.jsonl")
    assert len(kept) == 32 and not any(item.item_id.endswith(("-2", "-3")) for item in kept.items)
    assert {"golden-front-desk", "golden-insurance-vhi", "golden-directions-where"} <= {i.item_id for i in kept.items}
