"""One configuration of the cleaner as a pure pipeline: filters → PII → normalisation → size.

:meth:`Cleaner.screen` judges a generation on its own; what survives is a
:class:`Candidate` carrying its example, content hash and MinHash signature, ready for the
deduplication of its batch (``distillery_cleaner.domain.dedup``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from pydantic import TypeAdapter

from distillery_contracts.common import Score
from distillery_contracts.examples import RejectReason, derive_example_id
from distillery_contracts.messages import ToolDefinition
from distillery_contracts.shared_tools import ByIdentity
from distillery_contracts.traces import TraceCaptured
from distillery_cleaner.domain import filters
from distillery_cleaner.domain.config import CleanerConfig
from distillery_cleaner.domain.fingerprint import Fingerprinter
from distillery_cleaner.domain.messages import MessageCleaner
from distillery_cleaner.domain.normalise import Example, build_example
from distillery_cleaner.domain.pii import PiiRedactor
from distillery_cleaner.domain.text import TextCleaner
from distillery_cleaner.domain.verdicts import Rejection
from distillery_runtime.tokens import tokenizer_for

TRACE_FILTERS = (
    filters.check_error,
    filters.check_incomplete,
    filters.check_truncated,
    filters.check_teacher,
)
"""Filters on the raw generation, in the order their reasons take precedence."""

_TOOLS = TypeAdapter(list[ToolDefinition])
"""A tools list as one JSON serialisation: the key of its cached facts."""
ToolFacts = tuple[bytes, bytes, int]
"""A tools list's JSON, hash input and token cost (``Cleaner._tool_facts``)."""


@dataclass
class Candidate:
    """A generation that passed every filter; deduplication decides the rest."""

    trace: TraceCaptured
    example: Example
    token_count: int
    content_hash: str
    example_id: str
    signature: bytes | None = None
    """MinHash of the example's shingles; None when it has none (or near duplicates are off)."""
    band_keys: list[int] = field(default_factory=list)
    tools_json: bytes = b"[]"
    """The tools list as the accepted event writes it (``events.accepted_body``)."""

    @property
    def session_key(self) -> str:
        """The call: turns of the same call are prefixes of each other, not duplicates."""
        return self.trace.session_id or self.trace.trace_id

    @property
    def order_key(self) -> tuple[datetime, str]:
        """Within a batch, the earlier generation is kept and the later one is the duplicate."""
        return (self.trace.start_time, self.trace.observation_id)


def scope_id_of(version: str, config_hash: str) -> int:
    """Signed 64-bit id of one (code version, configuration): the scope of its dedup index."""
    digest = hashlib.sha256(f"{version}\x1f{config_hash}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Cleaner:
    """The pure cleaning logic of one configuration and one code version."""

    def __init__(self, config: CleanerConfig, version: str) -> None:
        self.config = config
        self.version = version
        self.config_hash = config.config_hash
        self.scope_id = scope_id_of(version, self.config_hash)
        self.fingerprints = Fingerprinter(config.near_duplicates, salt=f"{version}:{self.config_hash}".encode())
        self.tokenizer = tokenizer_for(config.base_model)
        self.messages = MessageCleaner(TextCleaner(PiiRedactor(config.pii)), self.tokenizer, self.fingerprints)
        self._priming = self.tokenizer.count_example({})  # the reply priming every example costs
        self._tool_facts_by_json = lru_cache(maxsize=1024)(self._tool_facts_of)
        self._tools_by_identity: ByIdentity[ToolFacts] = ByIdentity()

    def prime(self, traces: Iterable[TraceCaptured]) -> None:
        """Analyse the new texts of ``traces`` together, before ``screen`` judges them one by one.

        Named-entity detection is far cheaper per text on a batch; the service runs this in a
        worker thread, so the event loop keeps serving the broker and the database meanwhile.
        """
        self.messages.prime(m for t in traces if t.output is not None for m in (*t.input_messages, t.output))

    def screen(self, trace: TraceCaptured, late_scores: Iterable[Score] = ()) -> Candidate | Rejection:
        """Judge one generation alone: a rejection, or the candidate example it makes."""
        for check in TRACE_FILTERS:
            rejection = check(trace, self.config)
            if rejection is not None:
                return rejection
        rejection = filters.check_hallucination([*trace.scores, *late_scores],
                                                self.config.hallucination_scores)
        if rejection is not None:
            return rejection
        example = build_example(trace, self.messages)
        if isinstance(example, Rejection):
            return example
        rejection = filters.check_structure(example) or filters.check_bounds(example, self.config.bounds)
        if rejection is not None:
            return rejection
        if self.config.pii.drops(k for k, n in example.redactions.items() if n):
            found = ", ".join(f"{kind}×{n}" for kind, n in sorted(example.redactions.items()))
            return Rejection(RejectReason.PII, f"personal data found: {found}")
        return self._candidate(trace, example)

    def _candidate(self, trace: TraceCaptured, example: Example) -> Candidate | Rejection:
        """Token count (within bounds), content hash and shingles of a screened example."""
        tools_json, tools_canonical, tools_tokens = self._tool_facts(example.tools)
        tokens = self._priming + tools_tokens + sum(m.tokens for m in example.messages)
        rejection = filters.check_tokens(tokens, self.config.bounds, self.config.base_model)
        if rejection is not None:
            return rejection
        digest = hashlib.sha256(b"\x1e".join([*(m.canonical for m in example.messages), tools_canonical]))
        content_hash = digest.hexdigest()
        signature = self.fingerprints.union(m.signature for m in example.messages) or None
        return Candidate(trace=trace, example=example, token_count=tokens, content_hash=content_hash,
                         example_id=derive_example_id(content_hash, self.version, self.config_hash),
                         signature=signature,
                         band_keys=self.fingerprints.band_keys(signature) if signature is not None else [],
                         tools_json=tools_json or b"[]")

    def _tool_facts(self, tools: list[ToolDefinition]) -> tuple[bytes, bytes, int]:
        """A tools list's JSON, hash input and token cost. The same few lists recur in every call,
        most as the very objects ``TraceCaptured.decode_json`` shares between generations: those
        are looked up by identity; others by their JSON."""
        if not tools:
            return b"", b"", 0
        shared = self._tools_by_identity.get(tools)
        if shared is not None:
            return shared
        tools_json = _TOOLS.dump_json(tools)
        return self._tools_by_identity.put(tools, (tools_json, *self._tool_facts_by_json(tools_json)))

    def _tool_facts_of(self, tools_json: bytes) -> tuple[bytes, int]:
        """Hash input and token cost of a tools list, by its JSON."""
        tools = json.loads(tools_json)
        canonical = json.dumps(tools, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        tokens = self.tokenizer.count_example({"tools": tools}) - self._priming
        return canonical.encode(), tokens
