from __future__ import annotations

import re
from typing import Any

import pytest

_PIECES = re.compile(r"<\|im_start\|>|<\|im_end\|>|\w+|\s|[^\w\s]")


class WordTokenizer:
    """Splits like a BPE tokenizer would at the places that matter: markers, words, spaces."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.pieces: dict[int, str] = {}

    def __call__(self, text: str, *, add_special_tokens: bool = False,
                 return_offsets_mapping: bool = False) -> dict[str, Any]:
        ids, offsets = [], []
        for match in _PIECES.finditer(text):
            piece = match.group()
            token = self.vocab.setdefault(piece, len(self.vocab) + 3)
            self.pieces[token] = piece
            ids.append(token)
            offsets.append(match.span())
        return {"input_ids": ids, "offset_mapping": offsets}

    def decode(self, ids: list[int]) -> str:
        return "".join(self.pieces[token] for token in ids)


@pytest.fixture
def tokenizer() -> WordTokenizer:
    return WordTokenizer()


BOOKING_TOOL = {"type": "function", "function": {
    "name": "book_appointment", "description": "Book a slot.",
    "parameters": {"type": "object", "properties": {"day": {"type": "string"}}, "required": ["day"]}}}


@pytest.fixture
def tool_conversation() -> dict[str, Any]:
    """A multi-turn clinic call: a learned answer, a tool call and its result, a weight-0 turn."""
    return {
        "tools": [BOOKING_TOOL],
        "messages": [
            {"role": "system", "content": "You answer the phone for Bright Smile."},
            {"role": "user", "content": "Can I come on Monday?"},
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": "call_1", "type": "function",
                "function": {"name": "book_appointment", "arguments": "{\"day\": \"Monday\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"booked\": true}"},
            {"role": "assistant", "content": "Booked for Monday.", "weight": 0},
            {"role": "user", "content": "Thanks, bye"},
            {"role": "assistant", "content": "Goodbye!", "weight": 1},
        ],
    }
