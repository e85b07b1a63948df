"""Lines that break JSONL readers, and what ``distillery clean`` and ``distillery dataset validate``
must still do with a file of them: finish, report each unreadable line by number and reason,
and write nothing a store or a stream cannot hold.

``bad_line`` draws from a seeded ``random.Random`` so the tests run without hypothesis;
the hypothesis tests (test_bad_lines_hypothesis.py) feed the same checks arbitrary bytes.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from distillery_cli.main import app
from distillery_runtime.text import UnsafeInput, parse_json_line, scrub_json
from distillery_trace_ingester.samples import sample_generation

EXAMPLE = {"messages": [{"role": "user", "content": "Can I book a cleaning?"},
                        {"role": "assistant", "content": "Yes, Tuesday at 9:30.", "weight": 1}]}

_WEIRD: list[Any] = [None, 0, -1, 10**400, 1.5, True, "", [], {}, [[]], {"a": {"b": None}}, "x" * 5000,
                     "\ud83d", "\udc00 tail", "nul\x00here", "\ud83d\ude00"]


def bad_line(rng: random.Random) -> bytes:
    """One line (without its newline) that some reader along the way could choke on."""
    base: dict[str, Any] = rng.choice([sample_generation(rng.randrange(1000)), EXAMPLE])
    kind = rng.randrange(10)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(60))).replace(b"\n", b" ")
    if kind == 1:
        text = json.dumps(base).encode()
        return text[:rng.randrange(len(text))]
    if kind == 2:
        depth = rng.choice([63, 64, 65, 199, 201, 300, 3000])
        return b'{"id": "deep", "messages": ' + b"[" * depth + b"]" * depth + b"}"
    if kind == 3:
        return rng.choice([b"", b"   ", b"\r", b"\xef\xbb\xbf{}", b"NaN", b'{"id": Infinity}', b"[1, 2]", b'"text"'])
    if kind == 4:  # raw surrogate bytes (CESU-8), not an escape
        return json.dumps(base).encode().replace(b'"id": "', b'"id": "\xed\xa0\xbd', 1)
    record = dict(base)
    for _ in range(rng.randrange(1, 4)):
        key = rng.choice([*record, "metadata", "messages", "tools"])
        record[key] = _nested(rng) if kind == 5 else rng.choice(_WEIRD)
    if kind == 6 and isinstance(base.get("input"), str):  # inside the JSON text Langfuse keeps input in
        record["input"] = base["input"].replace("blood test", rng.choice(["\\ud83d", "\\u0000", "\\udfff\\ud800"]))
    return json.dumps(record).encode()


def _nested(rng: random.Random) -> Any:
    value: Any = rng.choice(_WEIRD)
    for _ in range(rng.randrange(1, 80)):
        value = rng.choice([[value], {"k": value}])
    return value


def invoke(*args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200", "NO_COLOR": "1"})


def unreadable(line: bytes) -> str | None:
    """Why the text edge refuses ``line``, or None when it reads (maybe repaired)."""
    try:
        parse_json_line(line)
    except UnsafeInput as exc:
        return exc.reason
    return None


def check_clean(lines: list[bytes], folder: Path) -> None:
    """``distillery clean`` finishes, names each unreadable line, and writes only safe UTF-8 JSON."""
    source, accepted, rejected = folder / "observations.jsonl", folder / "accepted.jsonl", folder / "rejected.jsonl"
    source.write_bytes(b"".join(line + b"\n" for line in lines))
    result = invoke("clean", "--input", str(source), "--accepted", str(accepted), "--rejected", str(rejected),
                    "--pii-processes", "0")  # many runs: no worker processes to start for each
    assert result.exit_code == 0, (result.output, result.exception)
    notes = {int(m.group(1)): m.group(2) for m in re.finditer(
        r"^skipped observations\.jsonl line (\d+): (.*)$", result.output, re.MULTILINE)}
    shown = len(notes) < 20  # the command shows the first twenty
    for number, line in enumerate(lines, start=1):
        reason = unreadable(line)
        if reason is not None and shown:
            assert notes.get(number) == reason, (number, line[:80], result.output)
    for path in (accepted, rejected):
        for text in path.read_bytes().decode("utf-8").splitlines():
            assert scrub_json(json.loads(text)).found is None


def check_validate(lines: list[bytes], folder: Path) -> None:
    """``distillery dataset validate`` finishes with a verdict and names each unreadable line."""
    from distillery_dataset_builder.views import validate_file

    source = folder / "train.jsonl"
    source.write_bytes(b"".join(line + b"\n" for line in lines))
    result = invoke("dataset", "validate", str(source))
    assert result.exit_code in (0, 1), (result.output, result.exception)
    report = validate_file(source, "gpt-4o-mini", None)
    reported = {(error.line, error.message) for error in report.errors}
    for number, line in enumerate(lines, start=1):
        body = line[3:] if number == 1 and line.startswith(b"\xef\xbb\xbf") else line
        reason = unreadable(body)
        if reason is not None and body.strip() and not reason.startswith("longer than"):
            assert (number, reason) in reported, (number, line[:80], reported)
        parsed = None if reason else parse_json_line(body)
        if parsed is not None and parsed.refused:
            assert (number, parsed.refused) in reported
