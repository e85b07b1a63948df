"""Near-duplicates of evaluation examples: found by MinHash, whatever the system prompt."""

import numpy as np

from distillery_dataset_builder.domain.neardup import NO_MATCH, NearDuplicateIndex, rows_per_band
from distillery_dataset_builder.domain.sketch import conversation_text, shingles, sketch_texts

CALL = ("Hi, I would like to book a check-up with Doctor Okafor next Tuesday morning if possible. "
        "Dr. Okafor is free on Tuesday at nine thirty, shall I book that slot for you today?")
OTHER = ("What are your opening hours on Saturday? We are open from eight in the morning until "
         "one in the afternoon on Saturdays, and closed on Sundays and public holidays.")


def index(**groups: list[str]) -> NearDuplicateIndex:
    return NearDuplicateIndex.of([(name, sketch_texts(texts)) for name, texts in groups.items()], 0.8)


def test_a_copy_with_a_changed_word_is_a_near_duplicate_and_another_call_is_not():
    found = index(golden_set=[CALL]).match(sketch_texts([CALL.replace("Tuesday morning", "Tuesday mornin"),
                                                          OTHER]))
    assert found.tolist() == [0, NO_MATCH]


def test_the_system_prompt_and_tool_messages_do_not_count():
    messages = [{"role": "system", "content": "You are the clinic's assistant."},
                {"role": "user", "content": "Book me in."}, {"role": "tool", "content": "{}", "tool_call_id": "1"},
                {"role": "assistant", "content": "Done."}]
    assert conversation_text(messages) == "Book me in.\nDone."


def test_texts_without_words_are_never_near_duplicates():
    empty = sketch_texts(["", "..."])
    assert index(golden_set=["", "..."]).match(empty).tolist() == [NO_MATCH, NO_MATCH]


def test_a_match_is_attributed_to_the_first_source_that_holds_it():
    found = index(golden_set=[CALL], previous_validation=[CALL, OTHER]).match(sketch_texts([CALL, OTHER]))
    assert found.tolist() == [0, 1]


def test_shingles_are_word_trigrams_after_case_folding():
    assert shingles("Book ME in, please") == ["book me in", "me in please"]
    assert shingles("Hi there") == ["hi there"]
    assert shingles("") == []


def test_bands_are_narrow_enough_to_find_almost_every_pair_at_the_threshold():
    rows = rows_per_band(0.8)
    assert 1 - (1 - 0.8**rows) ** (128 // rows) >= 0.99
    assert rows_per_band(0.95) > rows


def test_matching_many_candidates_against_many_eval_examples_finds_exactly_the_copies():
    rng = np.random.default_rng(3)
    vocab = np.array([f"w{i}" for i in range(5000)])
    evals = [" ".join(rng.choice(vocab, 60)) for _ in range(300)]
    candidates = [" ".join(rng.choice(vocab, 60)) for _ in range(2000)] + evals[:25]
    found = index(validation_split=evals).match(sketch_texts(candidates))
    assert np.flatnonzero(found != NO_MATCH).tolist() == list(range(2000, 2025))


def test_alike_calls_in_one_bucket_get_the_first_source_that_holds_a_copy_as_exhaustive_comparison_does():
    # A clinic's calls are alike: thousands of train and validation examples share a band's
    # bucket. Each candidate must still get exactly the lowest source holding a copy.
    rng = np.random.default_rng(5)
    centers = rng.integers(0, 2**32, (4, 128), dtype=np.uint64).astype(np.uint32)

    def alike(n: int, noise: float, of: slice = slice(None)) -> np.ndarray:
        among = centers[of]
        rows = among[rng.integers(0, len(among), n)].copy()
        changed = rng.random(rows.shape) < noise
        rows[changed] = rng.integers(0, 2**32, int(changed.sum()), dtype=np.uint64).astype(np.uint32)
        return rows

    groups = [("golden_set", alike(5, 0.05, slice(0, 1))), ("previous_validation", alike(40, 0.05, slice(0, 2))),
              ("validation_split", alike(400, 0.05, slice(0, 3)))]
    candidates = np.concatenate([alike(3000, 0.05), alike(300, 0.5)])
    built = NearDuplicateIndex.of(groups, 0.8)
    found = built.match(candidates)

    similar = (candidates[:, None, :] == built.signatures[None, :, :]).mean(axis=2) >= 0.8
    expected = [built.sources[row].min() if row.any() else NO_MATCH for row in similar]
    assert found.tolist() == expected
    assert {0, 1, 2, NO_MATCH} <= set(found.tolist())
