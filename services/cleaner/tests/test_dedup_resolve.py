"""Which candidate of a batch is kept and which is whose duplicate, on hand-made signatures.

``resolve_duplicates`` is pure: candidates with content hashes, MinHash signatures and band
keys, plus what the index holds. Signatures here have four 32-bit values (``num_perm=4``),
so a similarity is a count of equal values out of four; band keys are plain numbers.
"""

from __future__ import annotations

from array import array

from cleaner_samples import trace
from hypothesis import given, settings
from hypothesis import strategies as st

from distillery_cleaner.domain.dedup import IndexedExample, resolve_duplicates
from distillery_cleaner.domain.screen import Candidate
from distillery_contracts.examples import RejectReason

PERM = 4


def sig(*values: int) -> bytes:
    return array("I", values).tobytes()


def candidate(n: int, *, session: str | None = None, content: str | None = None, signature: bytes | None = None,
              bands: tuple[int, ...] = (), **trace_fields) -> Candidate:
    """Generation ``n`` (later for a higher ``n``), in its own call unless ``session`` is given."""
    return Candidate(trace=trace(n, session=session or f"call-{n}", **trace_fields), example=None,  # type: ignore[arg-type]
                     token_count=10, content_hash=content or f"hash-{n}", example_id=f"ex-{n}",
                     signature=signature, band_keys=list(bands))


def indexed(name: str, signature: bytes, bands: tuple[int, ...], rank: int, session: str = "old-call") -> IndexedExample:
    return IndexedExample(example_id=name, session_key=session, signature=signature, band_keys=bands, rank=rank)


def verdicts(candidates, exact=None, near=(), threshold=0.75):
    """{example id: (reason, duplicate of)} or {example id: None} when kept; and the keeping order."""
    result = resolve_duplicates(candidates, exact or {}, near, threshold, PERM)
    return ({c.example_id: None if r is None else (r.reason, r.duplicate_of) for c, r in result},
            [c.example_id for c, _ in result])


def test_an_exact_copy_of_an_indexed_example_is_its_duplicate():
    result = resolve_duplicates([candidate(1, content="h")], {"h": "ex-old"}, [], 0.75, PERM)
    (_, rejection), = result
    assert rejection.reason is RejectReason.DUPLICATE_EXACT
    assert rejection.duplicate_of == "ex-old"
    assert rejection.detail == "same normalised conversation as the kept example"
    assert verdicts([candidate(1, content="other")], exact={"h": "ex-old"})[0] == {"ex-1": None}


def test_within_a_batch_the_earlier_generation_is_kept_whatever_the_input_order():
    later, earlier = candidate(2, content="h"), candidate(1, content="h")
    outcome, order = verdicts([later, earlier])
    assert outcome == {"ex-1": None, "ex-2": (RejectReason.DUPLICATE_EXACT, "ex-1")}
    assert order == ["ex-1", "ex-2"]


def test_at_the_same_start_time_the_observation_id_decides():
    first, second = candidate(1, content="h"), candidate(1, content="h", observation_id="obs-0000")
    second.example_id = "ex-0"
    outcome, order = verdicts([first, second])
    assert order == ["ex-0", "ex-1"]
    assert outcome["ex-1"] == (RejectReason.DUPLICATE_EXACT, "ex-0")


def test_a_rejected_copy_is_not_what_a_third_copy_duplicates():
    # 2 is 1's exact copy; 3 is 2's near copy but not 1's: only a kept example is compared with.
    one = candidate(1, content="h", signature=sig(9, 9, 9, 9), bands=(1,))
    two = candidate(2, content="h", signature=sig(1, 2, 3, 4), bands=(1,))
    three = candidate(3, signature=sig(1, 2, 3, 5), bands=(1,))
    outcome, _ = verdicts([one, two, three])
    assert outcome == {"ex-1": None, "ex-2": (RejectReason.DUPLICATE_EXACT, "ex-1"), "ex-3": None}


def test_a_near_copy_at_the_threshold_is_a_duplicate_and_one_below_is_kept():
    near = [indexed("ex-old", sig(1, 2, 3, 4), (7,), rank=1)]
    at = resolve_duplicates([candidate(1, signature=sig(1, 2, 3, 0), bands=(7,))], {}, near, 0.75, PERM)
    rejection = at[0][1]
    assert (rejection.reason, rejection.duplicate_of) == (RejectReason.DUPLICATE_NEAR, "ex-old")
    assert rejection.detail == "estimated Jaccard similarity 0.75 >= 0.75 with the kept example"
    below = verdicts([candidate(1, signature=sig(1, 2, 0, 0), bands=(7,))], near=near)[0]
    assert below == {"ex-1": None}


def test_only_examples_sharing_a_band_are_compared():
    near = [indexed("ex-old", sig(1, 2, 3, 4), (7,), rank=1)]
    assert verdicts([candidate(1, signature=sig(1, 2, 3, 4), bands=(8,))], near=near)[0] == {"ex-1": None}


def test_the_turns_of_one_call_are_never_near_duplicates():
    near = [indexed("ex-old", sig(1, 2, 3, 4), (7,), rank=1, session="call-a")]
    same_call = candidate(1, session="call-a", signature=sig(1, 2, 3, 4), bands=(7,))
    assert verdicts([same_call], near=near)[0] == {"ex-1": None}
    turn_one = candidate(1, session="call-b", signature=sig(1, 2, 3, 4), bands=(7,))
    turn_two = candidate(2, session="call-b", signature=sig(1, 2, 3, 4), bands=(7,))
    assert verdicts([turn_one, turn_two])[0] == {"ex-1": None, "ex-2": None}


def test_a_call_without_a_session_is_its_own_call():
    one = candidate(1, session="trace-1", signature=sig(1, 2, 3, 4), bands=(7,), session_id=None)
    two = candidate(2, session="trace-2", signature=sig(1, 2, 3, 4), bands=(7,), session_id=None)
    assert verdicts([one, two])[0] == {"ex-1": None, "ex-2": (RejectReason.DUPLICATE_NEAR, "ex-1")}


def test_the_most_similar_kept_example_is_named_then_the_earliest_indexed():
    # Named against their order of indexing: the rank decides, not the name.
    near = [indexed("ex-a-late", sig(1, 2, 3, 4), (7,), rank=9), indexed("ex-close", sig(1, 2, 3, 0), (8,), rank=5),
            indexed("ex-z-early", sig(1, 2, 3, 4), (8,), rank=2)]
    probe = candidate(1, signature=sig(1, 2, 3, 4), bands=(7, 8))
    assert verdicts([probe], near=near)[0] == {"ex-1": (RejectReason.DUPLICATE_NEAR, "ex-z-early")}
    # More alike beats indexed earlier.
    assert verdicts([probe], near=near[:2])[0] == {"ex-1": (RejectReason.DUPLICATE_NEAR, "ex-a-late")}


def test_an_indexed_example_wins_over_a_batch_example_as_similar():
    # The batch's kept examples rank after every indexed one, whatever order the lookup returned them in.
    near = [indexed("ex-old", sig(1, 2, 3, 4), (7,), rank=3), indexed("ex-older", sig(5, 6, 7, 8), (9,), rank=1)]
    kept = candidate(1, signature=sig(1, 2, 9, 9), bands=(7,))  # half like ex-old: kept
    probe = candidate(2, signature=sig(1, 2, 3, 9), bands=(7,))  # three quarters like both
    outcome, _ = verdicts([kept, probe], near=near)
    assert outcome == {"ex-1": None, "ex-2": (RejectReason.DUPLICATE_NEAR, "ex-old")}


def test_an_exact_copy_is_reported_as_exact_even_when_it_is_also_near():
    near = [indexed("ex-old", sig(1, 2, 3, 4), (7,), rank=1)]
    copy = candidate(1, content="h", signature=sig(1, 2, 3, 4), bands=(7,))
    assert verdicts([copy], exact={"h": "ex-old-exact"}, near=near)[0] == {
        "ex-1": (RejectReason.DUPLICATE_EXACT, "ex-old-exact")}


def test_without_signatures_only_exact_copies_are_found():
    near = [indexed("ex-old", sig(1, 2, 3, 4), (7,), rank=1)]
    plain = candidate(1, bands=(7,))
    copy = candidate(2, content="hash-1", bands=(7,))
    assert verdicts([plain, copy], near=near)[0] == {"ex-1": None, "ex-2": (RejectReason.DUPLICATE_EXACT, "ex-1")}


def test_a_turn_of_the_same_call_sharing_the_band_does_not_hide_another_calls_copy():
    near = [indexed("ex-same-call", sig(1, 2, 3, 4), (7,), rank=1, session="call-a"),
            indexed("ex-other-call", sig(1, 2, 3, 4), (7,), rank=2, session="call-b")]
    probe = candidate(1, session="call-a", signature=sig(1, 2, 3, 4), bands=(7,))
    assert verdicts([probe], near=near)[0] == {"ex-1": (RejectReason.DUPLICATE_NEAR, "ex-other-call")}


@settings(max_examples=100, deadline=None)
@given(st.integers(16, 200).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 2**32 - 1), min_size=n, max_size=n),
    st.lists(st.one_of(st.just(0), st.integers(0, 31).map(lambda bit: 1 << bit), st.integers(1, 2**32 - 1)),
             min_size=n, max_size=n))))
def test_the_similarity_is_the_share_of_equal_values_whatever_bit_of_a_value_differs(values_and_changes):
    """Two signatures differing in some values (by one bit anywhere in the value, or by many): the
    estimate is exactly the share of values that are equal, a duplicate at that threshold and
    not just above it."""
    values, changes = values_and_changes
    share = sum(c == 0 for c in changes) / len(values)
    near = [indexed("ex-old", sig(*values), (7,), rank=1)]
    probe = candidate(1, signature=sig(*(v ^ c for v, c in zip(values, changes, strict=True))), bands=(7,))
    (_, at), = resolve_duplicates([probe], {}, near, share, len(values))
    assert at is not None and at.detail == f"estimated Jaccard similarity {share:.2f} >= {share} with the kept example"
    (_, above), = resolve_duplicates([probe], {}, near, share + 0.5 / len(values), len(values))
    assert above is None
