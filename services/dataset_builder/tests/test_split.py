"""The split: by session, stable from build to build, with a usable validation side."""

from datetime import UTC, datetime

from distillery_dataset_builder.domain.selection import Candidate
from distillery_dataset_builder.domain.split import session_position, split_by_session

T0 = datetime(2026, 9, 1, tzinfo=UTC)


def calls(sessions: int, turns: int = 4, prefix: str = "call") -> list[Candidate]:
    return [Candidate(f"ex-{prefix}-{s}-{t}", f"{prefix}-{s}", T0, "all", 10)
            for s in range(sessions) for t in range(turns)]


def test_no_session_is_on_both_sides():
    sides = split_by_session(calls(400), 0.05, min_validation=10)
    assert {c.session_key for c in sides.train}.isdisjoint({c.session_key for c in sides.validation})
    assert len(sides.train) + len(sides.validation) == 1600


def test_about_the_requested_fraction_of_sessions_goes_to_validation():
    sides = split_by_session(calls(4000, turns=1), 0.05, min_validation=10)
    assert 0.04 < len(sides.validation) / 4000 < 0.06


def test_a_session_stays_on_its_side_when_other_calls_arrive():
    before = split_by_session(calls(400), 0.05, min_validation=10)
    after = split_by_session(calls(400) + calls(400, prefix="later"), 0.05, min_validation=10)
    assert before.validation_sessions <= after.validation_sessions
    assert {c.session_key for c in before.train}.isdisjoint(after.validation_sessions)


def test_sessions_of_an_earlier_validation_split_stay_in_validation():
    trained_before = next(c.session_key for c in split_by_session(calls(50), 0.05, min_validation=10).train)
    sides = split_by_session(calls(50), 0.05, min_validation=10, held_out={trained_before})
    assert trained_before in sides.validation_sessions


def test_a_small_pool_gets_the_provider_minimum_in_validation_from_the_next_lowest_hashes():
    pool = calls(30, turns=5)
    sides = split_by_session(pool, 0.05, min_validation=10)
    assert len(sides.validation) >= 10
    lowest = sorted({c.session_key for c in pool}, key=session_position)
    assert sides.validation_sessions == frozenset(lowest[: len(sides.validation_sessions)])


def test_the_position_of_a_session_is_a_stable_hash():
    assert session_position("call-7f3a") == session_position("call-7f3a")
    assert 0 <= session_position("call-7f3a") < 1
    assert session_position("call-7f3a") != session_position("call-7f3b")


def test_the_top_up_takes_whole_sessions_by_lowest_hash_until_exactly_the_minimum():
    pool = calls(30, turns=4)
    by_position = sorted({c.session_key for c in pool}, key=session_position)
    # No session hashes below a zero fraction: validation is the top-up alone, three sessions of
    # four calls reaching a minimum of twelve exactly (the fourth is not needed).
    sides = split_by_session(pool, 0.0, min_validation=12)
    assert sides.validation_sessions == frozenset(by_position[:3])
    assert len(sides.validation) == 12 and len(sides.train) == 108
    sides = split_by_session(pool, 0.0, min_validation=13)
    assert sides.validation_sessions == frozenset(by_position[:4])


def test_a_session_hashed_exactly_at_the_fraction_trains():
    pool = calls(30, turns=1)
    edge = sorted({c.session_key for c in pool}, key=session_position)[5]
    sides = split_by_session(pool, session_position(edge), min_validation=0)
    assert edge not in sides.validation_sessions
    assert len(sides.validation_sessions) == 5


def test_held_out_sessions_absent_from_this_build_are_not_named():
    sides = split_by_session(calls(10), 0.0, min_validation=0, held_out={"call-3", "gone"})
    assert sides.validation_sessions == frozenset({"call-3"})
    assert [c.session_key for c in sides.validation] == ["call-3"] * 4
