"""Selection: newest first, capped per session, stratified, inside the file-size limit."""

from collections import Counter
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


def test_the_remainder_goes_to_the_largest_fractions_one_each():
    # 5 of 6/3/1: exactly 3, 1.5 and 0.5; the one left goes to the larger fraction, "b" before "c".
    assert allocate({"a": 6, "b": 3, "c": 1}, 5, "proportional") == {"a": 3, "b": 2, "c": 0}
    assert allocate({"a": 7, "b": 2, "c": 1}, 6, "proportional") == {"a": 4, "b": 1, "c": 1}  # 4.2, 1.2, 0.6
    assert allocate({"a": 5}, 1, "balanced") == {"a": 1}
    assert allocate({"a": 5, "b": 5}, 0, "balanced") == {"a": 0, "b": 0}


def test_a_file_counts_each_line_and_its_newline():
    assert file_bytes([candidate(1, size=10), candidate(2, size=20)]) == 32 and file_bytes([]) == 0


def test_a_quota_shrunk_for_the_size_limit_keeps_the_strata_shares_of_its_mode():
    pool = [candidate(n, size=99) for n in range(10)]
    chosen, quota = select_within_bytes(pool, 10, "proportional", max_bytes=950)
    assert (len(chosen), quota, file_bytes(chosen)) == (9, 9, 900)
    mixed = [candidate(n, stratum="intent=booking", size=99) for n in range(8)]
    mixed += [candidate(100 + n, stratum="intent=prices", size=99) for n in range(8)]
    mixed += [candidate(200 + n, stratum="intent=hours", size=99) for n in range(2)]
    chosen, quota = select_within_bytes(mixed, 12, "proportional", max_bytes=1_000)
    assert quota == 10 and sorted(Counter(c.stratum for c in chosen).items()) == [  # 4.4, 1.1, 4.4
        ("intent=booking", 5), ("intent=hours", 1), ("intent=prices", 4)]
    chosen, _ = select_within_bytes(mixed, 12, "balanced", max_bytes=1_000)
    assert sorted(Counter(c.stratum for c in chosen).items()) == [
        ("intent=booking", 4), ("intent=hours", 2), ("intent=prices", 4)]


def test_the_intent_field_names_only_the_intent_stratum():
    assert stratum_of("booking", ["lang:de"], ["intent", "lang"]) == "intent=booking|lang=de"
    assert stratum_of("", ["intent:prices"], ["intent"]) == "intent=prices"
