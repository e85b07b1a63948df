"""Selection: newest first, capped per session, stratified, inside the file-size limit."""

from datetime import UTC, datetime, timedelta

from distillery_dataset_builder.domain.selection import (
    Candidate,
    allocate,
    cap_per_session,
    file_bytes,
    select_stratified,
    select_within_bytes,
    stratum_of,
)

T0 = datetime(2026, 9, 1, tzinfo=UTC)


def candidate(n: int, session: str = "s", stratum: str = "intent=booking", size: int = 100) -> Candidate:
    return Candidate(f"ex-{n:04d}", session, T0 + timedelta(minutes=n), stratum, size)


def test_the_cap_keeps_the_newest_examples_of_each_session():
    pool = [candidate(n, "long-call") for n in range(10)] + [candidate(100 + n, "short-call") for n in range(2)]
    kept = cap_per_session(pool, 3)
    assert [c.example_id for c in kept if c.session_key == "long-call"] == ["ex-0009", "ex-0008", "ex-0007"]
    assert len([c for c in kept if c.session_key == "short-call"]) == 2


def test_equally_new_examples_are_ordered_by_id_whatever_the_input_order():
    same_time = [Candidate(f"ex-{c}", "s", T0, "all", 1) for c in "dbca"]
    assert [c.example_id for c in cap_per_session(same_time, None)] == ["ex-a", "ex-b", "ex-c", "ex-d"]


def test_proportional_quotas_follow_the_strata_sizes_and_sum_to_the_target():
    quotas = allocate({"booking": 600, "prices": 300, "hours": 100}, 100, "proportional")
    assert quotas == {"booking": 60, "prices": 30, "hours": 10}


def test_balanced_quotas_give_a_small_stratum_all_it_has_and_share_the_rest():
    quotas = allocate({"booking": 600, "prices": 300, "hours": 10}, 100, "balanced")
    assert quotas == {"booking": 45, "prices": 45, "hours": 10}


def test_quotas_never_exceed_what_there_is():
    assert allocate({"a": 3, "b": 4}, 100, "proportional") == {"a": 3, "b": 4}
    assert allocate({"a": 0, "b": 4}, 2, "balanced") == {"a": 0, "b": 2}


def test_rounding_is_by_largest_remainder_with_ties_broken_by_name():
    assert allocate({"b": 1, "a": 1, "c": 1}, 2, "balanced") == {"a": 1, "b": 1, "c": 0}


def test_stratified_selection_takes_the_newest_of_each_stratum():
    pool = [candidate(n, stratum="intent=booking") for n in range(8)]
    pool += [candidate(100 + n, stratum="intent=prices") for n in range(2)]
    chosen = select_stratified(pool, 5, "proportional")
    assert sorted(c.example_id for c in chosen) == ["ex-0004", "ex-0005", "ex-0006", "ex-0007", "ex-0101"]


def test_the_train_file_is_kept_under_the_size_limit_by_shrinking_the_quota():
    pool = [candidate(n, size=99) for n in range(100)]
    chosen, quota = select_within_bytes(pool, 100, "proportional", max_bytes=2_500)
    assert file_bytes(chosen) <= 2_500
    assert len(chosen) == 25 == quota


def test_stratum_reads_the_intent_field_first_then_tags():
    assert stratum_of("booking", ["intent:prices"], ["intent"]) == "intent=booking"
    assert stratum_of(None, ["lang:de", "intent:prices"], ["intent", "lang"]) == "intent=prices|lang=de"
    assert stratum_of(None, [], ["intent"]) == "intent=(none)"
    assert stratum_of("booking", [], []) == "all"
