"""Duplicates: exact by content hash, near by MinHash LSH, kept deterministically, across batches."""

from __future__ import annotations

from datetime import UTC, datetime

from cleaner_samples import SYSTEM, trace

from distillery_cleaner.services import clean_batch
from distillery_cleaner.domain.config import CleanerConfig, NearDuplicates
from distillery_cleaner.domain.fingerprint import BandLayout
from distillery_cleaner.domain.screen import Cleaner
from distillery_contracts.examples import ExampleAccepted, RejectReason

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LINES = [
    "Hi there, I'd like to book an extended consultation for my father next week.",
    "Thursday would be best for him, ideally in the morning before eleven.",
    "Half eight is perfect, he can get the Luas in from Phibsborough.",
    "Does he need to bring anything with him, like his medication list?",
]


def booking_call(n: int, session: str, lines: list[str]):
    """A four-turn booking call, as its last generation (the earlier turns are its input)."""
    messages = [{"role": "system", "content": SYSTEM}]
    for line in lines[:-1]:
        messages += [{"role": "user", "content": line},
                     {"role": "assistant", "content": "Of course. Let me note that down for you."}]
    messages.append({"role": "user", "content": lines[-1]})
    answer = {"role": "assistant", "content": "Just his medication list and photo ID. See you Thursday!"}
    return trace(n, session=session, messages=messages, output=answer, tools=[])


def outcomes(verdicts):
    return {v.source[1]: (v.event.reason if not isinstance(v.event, ExampleAccepted) else "accepted")
            for v in verdicts}


async def test_an_exact_copy_in_another_call_is_a_duplicate_of_the_earlier_one(cleaner, repo):
    later, earlier = trace(2, session="call-b"), trace(1, session="call-a")
    verdicts = await clean_batch(cleaner, repo, [later, earlier], [], NOW)
    by_obs = {v.source[1]: v.event for v in verdicts}
    assert isinstance(by_obs["obs-0001"], ExampleAccepted)
    assert by_obs["obs-0002"].reason is RejectReason.DUPLICATE_EXACT
    assert by_obs["obs-0002"].duplicate_of == by_obs["obs-0001"].example_id
    assert [v.source[1] for v in verdicts] == ["obs-0002", "obs-0001"]  # verdicts keep input order


async def test_the_turns_of_one_call_are_not_each_others_near_duplicates(cleaner, repo):
    turns = [booking_call(i, "call-a", LINES[:i]) for i in range(2, 5)]
    verdicts = await clean_batch(cleaner, repo, turns, [], NOW)
    assert set(outcomes(verdicts).values()) == {"accepted"}


async def test_a_reworded_repeat_of_a_call_is_a_near_duplicate(cleaner, repo):
    reworded = ["Um, " + LINES[0].replace("I'd like", "I would like"), *LINES[1:3], "So, " + LINES[3]]
    original, repeat = booking_call(1, "call-a", LINES), booking_call(2, "call-b", reworded)
    verdicts = await clean_batch(cleaner, repo, [original, repeat], [], NOW)
    rejection = verdicts[1].event
    assert rejection.reason is RejectReason.DUPLICATE_NEAR
    assert rejection.duplicate_of == verdicts[0].event.example_id
    assert "estimated Jaccard similarity" in rejection.detail


async def test_a_different_call_with_the_same_system_prompt_is_kept(cleaner, repo):
    other = ["Can I move my blood test from Monday to Friday afternoon?", "Three o'clock if possible.",
             "Grand, and is it still forty euro?", "Lovely, thanks a million."]
    verdicts = await clean_batch(cleaner, repo, [booking_call(1, "a", LINES), booking_call(2, "b", other)], [], NOW)
    assert set(outcomes(verdicts).values()) == {"accepted"}


async def test_the_index_persists_so_a_later_batch_is_deduplicated_against_an_earlier_one(cleaner, repo):
    await clean_batch(cleaner, repo, [booking_call(1, "call-a", LINES)], [], NOW)
    verdicts = await clean_batch(cleaner, repo, [booking_call(9, "call-z", LINES)], [], NOW)
    assert outcomes(verdicts) == {"obs-0009": RejectReason.DUPLICATE_EXACT}


async def test_each_batch_looks_duplicates_up_once_whatever_its_size(cleaner, repo):
    batch = [booking_call(i, f"call-{i}", LINES[: 2 + i % 3]) for i in range(40)]
    await clean_batch(cleaner, repo, batch, [], NOW)
    assert repo.calls == ["late_scores_for", "find_exact", "find_near", "add_examples"]


async def test_a_new_configuration_has_an_index_of_its_own(repo):
    first = Cleaner(CleanerConfig(), "0.1.0")
    second = Cleaner(CleanerConfig(near_duplicates=NearDuplicates(threshold=0.9)), "0.1.0")
    await clean_batch(first, repo, [booking_call(1, "call-a", LINES)], [], NOW)
    verdicts = await clean_batch(second, repo, [booking_call(1, "call-a", LINES)], [], NOW)
    assert isinstance(verdicts[0].event, ExampleAccepted)
    assert verdicts[0].event.config_hash == second.config_hash != first.config_hash


async def test_near_duplicate_detection_can_be_switched_off(repo):
    cleaner = Cleaner(CleanerConfig(near_duplicates=NearDuplicates(enabled=False)), "0.1.0")
    reworded = ["Um, " + LINES[0], *LINES[1:]]
    verdicts = await clean_batch(cleaner, repo, [booking_call(1, "a", LINES), booking_call(2, "b", reworded)], [], NOW)
    assert set(outcomes(verdicts).values()) == {"accepted"}


def test_bands_find_a_pair_at_the_threshold_almost_always():
    layout = BandLayout.for_threshold(0.8, 128)
    assert (layout.bands, layout.rows) == (18, 7)
    assert 1 - (1 - 0.8**layout.rows) ** layout.bands >= 0.98
