"""The simulated clinic's generations as the cleaner receives them, for its tests and benchmark.

The sandbox workload (typical defect rates, several turns, about 6 KB per generation)
goes through the Langfuse API shape and the trace-ingester's own mapping, so what the
cleaner judges is what it would read from ``traces.raw``; each generation comes with its
ground truth (the defects injected) to check the verdicts against. The benchmarks make each
sentence of a call's caller lines its own (``with_unique_caller_lines``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from distillery_contracts.traces import TraceCaptured
from distillery_sandbox.langfuse.records import FIELD_GROUPS, records_from_calls
from distillery_sandbox.langfuse.render import render_observation, render_score
from distillery_sandbox.workload import DefectRates, SimulatedCall, WorkloadConfig, simulate_calls
from distillery_trace_ingester.services import group_by_observation, observation_to_trace

PROJECT = "clinic"
CLINIC_PHONE = "+353 1 555 0142"
"""The simulated clinic's own number: public, so the cleaner is told to keep it."""


def sandbox_traces(calls: int, seed: int = 7, defects: DefectRates | None = None,
                   ) -> Iterator[tuple[TraceCaptured, Any, SimulatedCall]]:
    """Simulated generations as ``TraceCaptured`` (via the Langfuse API shape and the
    ingester's mapping, scores attached), each with its ground-truth generation and call."""
    config = WorkloadConfig(seed=seed, calls=calls, defects=defects or DefectRates.typical())
    groups = tuple(g for g in FIELD_GROUPS if g != "core")
    ingested_at = datetime.now(UTC)
    for call in simulate_calls(config):
        yield from _call_traces(call, groups, ingested_at)


def _call_traces(call: SimulatedCall, groups: tuple[str, ...],
                 ingested_at: datetime) -> Iterator[tuple[TraceCaptured, Any, SimulatedCall]]:
    observations, scores = records_from_calls([call], PROJECT)
    by_observation = group_by_observation(render_score(s, ("details", "subject")) for s in scores)
    for record, generation in zip(observations, call.generations, strict=True):
        rendered = json.loads(json.dumps(render_observation(record, groups, frozenset())))
        trace = observation_to_trace(rendered, by_observation.get(record["id"], []), PROJECT, ingested_at)
        yield trace, generation, call


_CALL_WORDS = ("apple", "birch", "cedar", "delta", "ember", "fjord", "grove", "harbour", "island", "juniper",
               "kettle", "lantern", "meadow", "nectar", "orchard", "pebble", "quartz", "river", "saffron",
               "thistle", "umber", "valley", "willow", "yarrow", "zephyr", "amber", "basil", "clover",
               "dune", "fern", "granite", "hazel")


def call_word(call: str) -> str:
    """Four words naming ``call`` (32^4 combinations) as one made-up word ("cedarfernbasilriver"):
    what makes its caller's sentences its own, one token more each for the named-entity model,
    without the digit runs a hexadecimal id would add for the phone and card recognisers to
    examine. The model takes about one in 400 for a name; four words apart ("(as in cedar fern
    basil river)", seven tokens) it took one in 30."""
    digest = hashlib.sha256(call.encode()).digest()
    return "".join(_CALL_WORDS[b % len(_CALL_WORDS)] for b in digest[:4])


_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)")
"""Where a sentence ends, as spaCy's sentencizer (the named-entity model's) splits a caller's line."""


def with_call_word(line: str, word: str) -> str:
    """``line`` with ``word`` in each of its sentences, before the sentence's closing punctuation
    (or at its end): every sentence of the line is its call's own, for the named-entity model's
    sentence cache as for the text caches."""
    marked = _SENTENCE_END.sub(lambda end: f" {word}{end.group(0)}", line)
    last = line.rstrip()[-1:]
    return marked if not last or last in ".!?…" else f"{marked} {word}"  # an unended last sentence too


def with_unique_caller_lines(trace: TraceCaptured) -> TraceCaptured:
    """``trace`` with each sentence of each caller line made its call's own (the sandbox reuses
    some lines across calls, and many more sentences: "Great, thank you."), which a cache would
    answer: the same line stays the same in every turn of its call."""
    word = call_word(trace.session_id or trace.trace_id)
    messages = [m.model_copy(update={"content": with_call_word(m.content, word)})
                if m.role.value == "user" and isinstance(m.content, str) else m for m in trace.input_messages]
    return trace.model_copy(update={"input_messages": messages})
