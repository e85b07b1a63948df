"""On the sandbox's simulated clinic traffic, every injected defect is caught and clean calls pass.

Runs the cleaner's own batch logic with the in-memory store, as ``distillery clean`` does
(the broker and database add nothing to what is decided; test_cleaner_service.py covers
them). Generations come from the sandbox workload through the Langfuse API shape and the
trace-ingester's mapping (tests/support/cleaner_workload.py).
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import pytest
from cleaner_workload import CLINIC_PHONE, sandbox_traces


from distillery_cleaner.domain.config import CleanerConfig
from distillery_cleaner.services import OfflineCleaner
from distillery_contracts.examples import ExampleAccepted
from distillery_dataset_builder.domain.limits import limits_for
from distillery_dataset_builder.domain.validation import validate_example

pytestmark = pytest.mark.integration  # the cleaner, its named-entity model included, on 600 calls

CALLS = 600
EXPECTED = {"error": "error", "cut": "incomplete", "truncated": "truncated",
            "other_model": "not_teacher", "hallucination": "hallucination"}
"""Per-generation defects and the reason each must get, in the order reasons take precedence."""
NEAR_DUPLICATE_RECALL = 0.85
"""Share of generations of repeated calls (and no other defect) that must be rejected as
duplicates. Not 1: a repeat rewords the caller ("So, cheers, bye." for "Cheers, bye."),
and on a five-word turn that moves word-trigram Jaccard similarity below 0.8."""
CLEAN_ACCEPTED = 0.70
"""Share of defect-free generations that must be accepted. The rest may only be duplicates:
the simulated callers draw from a finite phrasebook, so openings repeat word for word."""


@pytest.fixture(scope="module")
def items():
    return list(sandbox_traces(calls=CALLS, seed=11))


@pytest.fixture(scope="module")
def judged(items):
    cleaner = OfflineCleaner(CleanerConfig(pii={"allow": [CLINIC_PHONE]}))
    outcome = {}

    async def run():
        for start in range(0, len(items), 500):
            batch = [trace for trace, _, _ in items[start:start + 500]]
            for event in await cleaner.clean(batch):
                outcome[event.lineage.observation_id] = event

    asyncio.run(run())
    return [(generation, call, outcome[generation.observation_id]) for _, generation, call in items]


def reason_of(event) -> str:
    return "accepted" if isinstance(event, ExampleAccepted) else event.reason.value


def test_every_generation_gets_exactly_one_verdict(judged):
    assert len(judged) > 5 * CALLS // 2
    assert len({generation.observation_id for generation, _, _ in judged}) == len(judged)


def test_each_per_generation_defect_is_caught_at_the_rate_it_was_injected(judged):
    injected, caught = Counter(), Counter()
    for generation, _, event in judged:
        first = next((d for d in EXPECTED if d in generation.defects), None)
        if first is not None:
            injected[first] += 1
            caught[first] += reason_of(event) == EXPECTED[first]
    assert set(injected) == set(EXPECTED), injected  # every class was injected
    assert caught == injected  # tolerance 0: each defective generation gets its own reason


def test_repeated_calls_are_rejected_as_duplicates(judged):
    repeats = [reason_of(event) for generation, _, event in judged
               if "near_duplicate" in generation.defects and not generation.defects & set(EXPECTED)]
    assert repeats
    caught = sum(r in ("duplicate_near", "duplicate_exact") for r in repeats)
    assert caught / len(repeats) >= NEAR_DUPLICATE_RECALL, Counter(repeats)


def test_spoken_personal_data_is_redacted_and_never_reaches_an_accepted_example(judged):
    with_pii = [(generation, call, event) for generation, call, event in judged if "pii" in generation.defects]
    accepted = [(call, event) for _, call, event in with_pii if isinstance(event, ExampleAccepted)]
    assert accepted
    for call, event in accepted:
        [item] = call.pii
        assert event.redactions.get(item.kind.upper(), 0) >= 1, (item.kind, event.redactions)
        assert item.value not in event.model_dump_json()


def test_patient_names_given_to_and_returned_by_the_booking_tools_never_reach_an_accepted_example(items, judged):
    """The teacher books with the caller's name (``book_appointment``'s ``patient_name``) and the
    tool returns it: a name alone in JSON, which the named-entity model misses about half the time."""
    names = {}
    for trace, _, _ in items:
        for message in trace.input_messages:
            for call in message.tool_calls or ():
                name = json.loads(call.function.arguments).get("patient_name")
                if name:
                    names.setdefault(trace.observation_id, set()).add(name)
    accepted = [event for generation, _, event in judged
                if isinstance(event, ExampleAccepted) and generation.observation_id in names]
    assert len(accepted) > 50
    for event in accepted:
        shown = event.model_dump_json()
        assert not [name for name in names[event.lineage.observation_id] if name in shown]
        assert '"patient_name": "<PERSON>"' in shown.replace('\\"', '"')


def test_clean_generations_pass_unless_they_duplicate_another_call(judged):
    clean = Counter(reason_of(event) for generation, _, event in judged if not generation.defects)
    assert set(clean) <= {"accepted", "duplicate_exact", "duplicate_near"}, clean
    assert clean["accepted"] / sum(clean.values()) >= CLEAN_ACCEPTED, clean


def test_accepted_examples_pass_the_dataset_builders_validation(judged):
    limits = limits_for("gpt-4o-mini-2024-07-18")
    for _, _, event in judged:
        if isinstance(event, ExampleAccepted):
            line = {"messages": [m.model_dump(mode="json", exclude_none=True) for m in event.messages],
                    "tools": [t.model_dump(mode="json", exclude_none=True) for t in event.tools]}
            assert validate_example(line, limits) == [], line
