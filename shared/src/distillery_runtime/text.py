"""Text every store and stream can hold: the one check each input passes at the edge.

JSON can carry two things UTF-8 and PostgreSQL cannot: a lone surrogate (``"\\ud83d"``,
half an emoji, common where a transcript was cut mid-character) and NUL (``"\\u0000"``).
Either makes an event unserialisable or a row unstorable far from where it came in, and
a service that meets it there stops or retries the same record for ever. So every input
(Langfuse pages, exports, JSONL files, training files) passes through here first.

Two policies, chosen by the caller:

- **replace** (what we capture: Langfuse generations, exports, ``distillery clean``):
  each lone surrogate and each NUL becomes U+FFFD, the character any UTF-8 decoder shows
  for the same damage. One broken character must not lose a whole call turn, and the
  record is reported as repaired, with the count;
- **refuse** (what we train on: ``distillery dataset validate``, the trainer's upload):
  the line is reported with its number. A training file is someone's deliberate output;
  altering it silently would train on text nobody wrote, and tokenizers raise on
  surrogates.

Either way, a line that is not UTF-8, not JSON, too long or nested too deeply is
refused with the reason (``UnsafeInput``), never with its content: reasons reach logs
and dead letters, where callers' words must not go.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

REPLACEMENT = "\ufffd"

MAX_DEPTH = 64
"""Deepest nesting of arrays and objects accepted. Real records nest a dozen levels
(tool schemas in metadata); pydantic stops parsing at 200 levels and serialising a little
deeper, so a record nested beyond that would be readable here and poison downstream."""

MAX_LINE_BYTES = 4 * 1024 * 1024
"""Longest JSONL line read from an export. A training example holds at most 65,536
tokens (some 300 kB of text); a line over 4 MiB can never become one, and cleaning it
would hold the whole run up."""

_UNSAFE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class UnsafeInput(ValueError):
    """Input that cannot be read safely; ``reason`` says why without quoting it, ``code``
    names the rule for machine-readable reports: ``line_too_long``, ``invalid_utf8``,
    ``invalid_json`` or ``nested_too_deeply``."""

    def __init__(self, reason: str, code: str = "invalid_json") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class Scrubbed:
    """A JSON value with safe text, and how many characters were replaced to make it so."""

    value: Any
    surrogates: int = 0
    nuls: int = 0

    @property
    def found(self) -> str | None:
        """What was unsafe, as a report reads it (``1 lone surrogate and 2 NULs``); None if nothing."""
        parts = [_plural(self.surrogates, "lone surrogate"), _plural(self.nuls, "NUL")]
        said = [part for part in parts if part]
        return " and ".join(said) or None

    @property
    def repaired(self) -> str | None:
        """The repair as a report reads it; None when the value was safe as it came."""
        return f"{self.found} replaced by U+FFFD" if self.found else None

    @property
    def refused(self) -> str | None:
        """Why a line that must be taken as written is refused; None when its text is safe."""
        if not self.found:
            return None
        it, its = ("it", "its") if self.surrogates + self.nuls == 1 else ("them", "their")
        return (f"holds {self.found}, which tokenizers and stores cannot read: remove {it} or "
                f"write U+FFFD in {its} place")


def scrub(text: str) -> str:
    """``text`` with each lone surrogate and each NUL replaced by U+FFFD.

    A surrogate pair split into two code points (CESU-8 read with ``surrogatepass``) is
    joined back into its character rather than replaced.
    """
    if not _UNSAFE.search(text):
        return text
    if _SURROGATE.search(text):
        text = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return text.replace("\x00", REPLACEMENT)


def scrub_json(value: Any, max_depth: int = MAX_DEPTH) -> Scrubbed:
    """``value`` (as ``json.loads`` returns it) with every string, keys too, scrubbed.

    Raises UnsafeInput when arrays and objects nest deeper than ``max_depth``.
    """
    counts = [0, 0]

    def text(s: str) -> str:
        if not _UNSAFE.search(s):
            return s
        clean, nuls = scrub(s), s.count("\x00")
        counts[0] += clean.count(REPLACEMENT) - s.count(REPLACEMENT) - nuls  # a joined pair is no loss
        counts[1] += nuls
        return clean

    def walk(v: Any, depth: int) -> Any:
        if isinstance(v, str):
            return text(v)
        if isinstance(v, dict | list) and depth >= max_depth:
            raise UnsafeInput(f"nested deeper than {max_depth} levels", "nested_too_deeply")
        if isinstance(v, dict):
            return {text(k) if isinstance(k, str) else k: walk(item, depth + 1) for k, item in v.items()}
        if isinstance(v, list):
            return [walk(item, depth + 1) for item in v]
        return v

    clean = walk(value, 0)
    return Scrubbed(clean, surrogates=counts[0], nuls=counts[1])


def read_lines(handle: IO[bytes], max_bytes: int = MAX_LINE_BYTES) -> Iterator[bytes]:
    """The lines of a binary file, one at a time; a line over ``max_bytes`` is cut to
    ``max_bytes + 1`` bytes (so ``parse_json_line`` refuses it) and the rest of it is
    skipped, never held in memory whole."""
    while line := handle.readline(max_bytes + 1):
        if len(line) > max_bytes and not line.endswith(b"\n"):
            while (rest := handle.readline(max_bytes + 1)) and not rest.endswith(b"\n"):
                pass
        yield line


def parse_json_line(line: bytes | str, *, max_bytes: int | None = MAX_LINE_BYTES,
                    max_depth: int = MAX_DEPTH) -> Scrubbed | None:
    """One JSONL line as a JSON value with safe text; None for a blank line.

    Raises UnsafeInput when the line is over ``max_bytes`` (None: any length), not
    UTF-8, not JSON (NaN and Infinity are not JSON), or nested deeper than ``max_depth``.
    The caller decides what a repair means: ``Scrubbed.repaired`` to report it,
    ``Scrubbed.found`` to refuse the line.
    """
    raw = (line.encode("utf-8", "surrogatepass") if isinstance(line, str) else line).rstrip(b"\r\n")
    if max_bytes is not None and len(raw) > max_bytes:
        raise UnsafeInput(f"longer than {max_bytes:,} bytes", "line_too_long")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start:exc.start + 1].hex()
        raise UnsafeInput(f"not valid UTF-8 (byte 0x{bad} at byte {exc.start + 1})", "invalid_utf8") from None
    if not text.strip():
        return None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise UnsafeInput(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise UnsafeInput(f"nested deeper than {max_depth} levels", "nested_too_deeply") from None
    return scrub_json(value, max_depth)


def _refuse_constant(name: str) -> None:
    raise UnsafeInput(f"not valid JSON ({name} is not a JSON value)")


def _plural(n: int, noun: str) -> str:
    return "" if n == 0 else f"1 {noun}" if n == 1 else f"{n:,} {noun}s"
