"""An uploaded training file is read as JSONL is written: by "\\n" lines, through the runtime's
text edge, so a line a tokenizer cannot read is named at upload, not hours into a job."""

from __future__ import annotations

import json

from trainer_fixtures import GOOD_LINE, jsonl


def with_content(text: str) -> dict:
    messages = GOOD_LINE["messages"]
    return {"messages": [*messages[:-1], {**messages[-1], "content": text}]}


async def test_a_lone_surrogate_or_a_nul_is_named_by_its_line(trainer):
    cut = await trainer.upload_file("cut.jsonl", jsonl(GOOD_LINE, with_content("Booked \ud83d")), "fine-tune")
    nul = await trainer.upload_file("nul.jsonl", jsonl(with_content("$120\x00"), GOOD_LINE), "fine-tune")

    assert (cut.status, cut.status_details) == (
        "error", "cut.jsonl line 2: holds 1 lone surrogate, which tokenizers and stores cannot read: "
                 "remove it or write U+FFFD in its place")
    assert nul.status == "error" and nul.status_details.startswith("nul.jsonl line 1: holds 1 NUL")


async def test_a_line_separator_inside_a_json_string_does_not_split_the_line(trainer):
    data = (json.dumps(with_content("A cleaning is $120.\u2028Fillings vary."), ensure_ascii=False) + "\n").encode()

    file = await trainer.upload_file("train.jsonl", data + jsonl(GOOD_LINE), "fine-tune")

    assert (file.status, file.status_details, file.examples) == ("processed", None, 2)


async def test_a_line_nested_too_deeply_is_named_instead_of_failing_the_upload(trainer):
    file = await trainer.upload_file("deep.jsonl", jsonl(GOOD_LINE) + b"[" * 5000 + b"]" * 5000 + b"\n",
                                     "fine-tune")

    assert (file.status, file.status_details) == ("error", "deep.jsonl line 2: nested deeper than 64 levels")
