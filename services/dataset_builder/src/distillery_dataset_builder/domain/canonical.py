"""One stable byte form per training example, so that rebuilds give byte-identical files.

Keys are sorted, separators carry no spaces and text stays UTF-8. The line is computed
once, when the example is stored, and written to files exactly as stored.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from pydantic import TypeAdapter

from distillery_contracts.examples import ExampleAccepted
from distillery_contracts.messages import FineTuneMessage, ToolDefinition
from distillery_contracts.shared_tools import ByIdentity

_MESSAGES = TypeAdapter(list[FineTuneMessage])
_TOOLS = TypeAdapter(list[ToolDefinition])
# One serialiser call per list: the same dicts as each model's ``model_dump``, without a
# Python call per message.


_SORTED = msgspec.json.Encoder(order="sorted")
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")


def _written_otherwise(encoded: bytes) -> bool:
    """Whether msgspec's ``encoded`` may differ from what ``json.dumps`` writes: a float in
    exponent form (``1e16``, which Python writes ``1e+16``), one Python writes so (``0.00005``,
    Python's ``5e-05``), or ``null``, which is also what msgspec makes of NaN and infinity (that
    ``json.dumps`` refuses). Checked against a million random floats and by a property test
    (``tests/test_canonical.py``). Byte searches, not a regular expression: over a 5 KB line
    one cost more than ``json.dumps`` itself."""
    if b"null" in encoded or b"0.0000" in encoded:
        return True
    # A digit before an "e" is common in text (ids, hashes): it counts only in a number, which
    # in msgspec's compact output starts the output or follows ":", "," or "[" at once.
    zeros = encoded.translate(_DIGITS_AS_ZERO)
    at = zeros.find(b"0e")
    while at != -1:
        start = at
        while start > 0 and zeros[start - 1] in b"0.-":
            start -= 1
        if start == 0 or zeros[start - 1] in b":,[":
            return True
        at = zeros.find(b"0e", at + 2)
    return False


def canonical_json(value: Any) -> str:
    """``value`` as sorted, compact JSON; non-ASCII text is kept as UTF-8.

    The bytes are :func:`json_dumps_line`'s. msgspec writes them in half the time, its check
    included; where its output could differ (``_written_otherwise``: rare in training examples,
    which hold text), ``json.dumps`` writes them.
    """
    fast = canonical_part(value)
    return fast if fast is not None else json_dumps_line(value)


def canonical_part(value: Any) -> str | None:
    """:func:`canonical_json` of ``value`` as msgspec writes it, or None where ``json.dumps`` may
    write it otherwise. Parts join into the whole: a list or object of values each written so is
    their text joined with commas (``records_of`` makes a line from its messages' parts)."""
    try:
        encoded = _SORTED.encode(value)
    except Exception:  # whatever msgspec cannot write, json.dumps writes or refuses, as before
        return None
    return None if _written_otherwise(encoded) else encoded.decode()


def json_dumps_line(value: Any) -> str:
    """The canonical line as ``json.dumps`` writes it: sorted keys, no spaces, UTF-8 kept. A
    string holding a lone surrogate (legal in JSON, not in UTF-8) cannot be stored as UTF-8,
    so such a value is written with ASCII escapes."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return text


def training_record(example: ExampleAccepted) -> dict[str, Any]:
    """The example in OpenAI's chat fine-tuning format: messages, and tools when it has any.
    The tools are shared with other records that have the same: read them, never change them."""
    record: dict[str, Any] = {"messages": _MESSAGES.dump_python(example.messages, mode="json", exclude_none=True)}
    if example.tools:
        record["tools"] = tools_record(example.tools)
    return record


_TOOL_SETS: dict[bytes, list[Any]] = {}
_TOOL_SETS_KEPT = 64
_SHARED_SETS: ByIdentity[list[Any]] = ByIdentity(_TOOL_SETS_KEPT)
"""The sets of the lists ``ExampleAccepted.decode_json`` shares between examples."""


def tools_record(tools: list[ToolDefinition]) -> list[Any]:
    """``tools`` as ``model_dump`` gives them, each distinct set dumped once. A deployment sends the
    same few sets with every call, and dumping their JSON schemas as Python values costs three
    times writing them as JSON, which is the key. Without ``null`` in it (None and NaN are both
    written so) the JSON determines the values. The lists decoded from the same bytes are the same
    objects, and are found without writing them. Records are made in worker threads: a plain
    dict's get, set and clear are each atomic."""
    shared = _SHARED_SETS.get(tools)
    return shared if shared is not None else _SHARED_SETS.put(tools, _dumped(tools))


def _dumped(tools: list[ToolDefinition]) -> list[Any]:
    key = _TOOLS.dump_json(tools, exclude_none=True)
    if b"null" in key:
        return _TOOLS.dump_python(tools, mode="json", exclude_none=True)
    dumped = _TOOL_SETS.get(key)
    if dumped is None:
        if len(_TOOL_SETS) >= _TOOL_SETS_KEPT:
            _TOOL_SETS.clear()
        dumped = _TOOL_SETS[key] = _TOOLS.dump_python(tools, mode="json", exclude_none=True)
    return dumped


def training_line(example: ExampleAccepted) -> str:
    """The line of a JSONL training file for ``example`` (without the newline)."""
    return canonical_json(training_record(example))
