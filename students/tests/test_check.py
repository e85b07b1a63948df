from __future__ import annotations

import json

import pytest

from distillery_students.domain.check import check_examples, compare_with_builder
from distillery_students.domain.dataset import parse_line
from distillery_students.domain.labels import tokenize
from distillery_students.domain.settings import TrainingSettings

SHORT = {"messages": [{"role": "system", "content": "You answer the phone for the clinic."},
                      {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
LONG = {"messages": [{"role": "user", "content": "word " * 30}, {"role": "assistant", "content": "Fine"}]}


def examples(*records: dict[str, object]):
    return [parse_line(json.dumps(record), number) for number, record in enumerate(records, 1)]


def settings(**overrides: object) -> TrainingSettings:
    return TrainingSettings.model_validate({"base_model": "smollm2-135m", **overrides})


def length_of(record: dict[str, object], tokenizer) -> int:
    return tokenize(examples(record)[0].rendered, tokenizer, 10**6).length


def test_the_cut_is_told_apart_by_what_it_takes_from_the_answer(tokenizer):
    # The short example ends: "\n", "Hello", "<|im_end|>" (both learned), "\n" (not learned).
    n = length_of(SHORT, tokenizer)
    verdicts = {}
    for max_length in (n, n - 1, n - 2, n - 3):
        check = check_examples(examples(SHORT), tokenizer, settings(max_length=max_length))
        verdicts[n - max_length] = (check.cut_lines, check.partial_lines, check.unusable_lines,
                                    check.length_keeping_answers, check.trainable)
    assert verdicts == {
        0: ([], [], [], 0, True),  # exactly max_length tokens: nothing is cut
        1: ([1], [], [], 0, True),  # only the trailing newline goes: the answer is whole
        2: ([1], [1], [], n, True),  # the end marker goes: part of the answer is taught
        3: ([1], [], [1], n, False),  # nothing learned is left: the example is skipped
    }


def test_lines_lengths_and_tokens_follow_the_file(tokenizer):
    short, long = length_of(SHORT, tokenizer), length_of(LONG, tokenizer)
    check = check_examples(examples(SHORT, LONG, SHORT), tokenizer, settings(max_length=short))

    assert check.lines == [1, 2, 3] and check.lengths == [short, long, short]
    assert check.cut_lines == check.unusable_lines == [2] and check.usable == 2
    assert check.length_keeping_answers == long
    assert check.tokens_per_epoch == 2 * short  # the skipped example is not read
    assert check.learned_per_epoch == 2 * 2  # "Hello" and its end marker, twice


@pytest.mark.parametrize(("usable", "batch", "micro", "epochs", "max_steps", "expected"), [
    (16, 8, 2, 3, None, (2, 6)),  # 8 batches of 2, 4 to a step
    (17, 8, 2, 3, None, (3, 9)),  # a ninth batch makes a last, partial step
    (10, 4, 2, 1.5, None, (3, 5)),  # 5 batches, 2 to a step; 1.5 epochs round up
    (3, 8, 2, 1, None, (1, 1)),  # fewer examples than a step: one step
    (16, 8, 2, 3, 10, (2, 10)),  # max_steps wins over epochs
], ids=["whole", "partial-step", "fractional-epochs", "under-a-step", "max-steps"])
def test_steps_are_counted_as_the_trainer_counts_them(tokenizer, usable, batch, micro, epochs, max_steps, expected):
    check = check_examples(examples(*[SHORT] * usable), tokenizer,
                           settings(batch_size=batch, micro_batch_size=micro, epochs=epochs, max_steps=max_steps))
    assert (check.steps_per_epoch, check.steps) == expected


def test_a_file_with_nothing_left_to_learn_takes_no_step(tokenizer):
    check = check_examples(examples(LONG), tokenizer, settings(max_length=16))
    assert not check.trainable and (check.steps_per_epoch, check.steps) == (0, 0)


def test_the_warning_names_what_the_cut_takes_and_the_length_that_takes_nothing(tokenizer):
    n = length_of(SHORT, tokenizer)
    whole = check_examples(examples(SHORT), tokenizer, settings(max_length=n - 1))
    assert whole.warning() is None  # only a trailing newline went
    both = check_examples(examples(SHORT, LONG), tokenizer, settings(max_length=n - 2))
    assert both.warning() == (f"max_length {n - 2} cuts a taught answer in 1 example(s) and everything learned "
                              f"from 1 (skipped): max_length {length_of(LONG, tokenizer)} keeps every answer whole")
    assert both.summary() == (f"2 examples read as smollm2-135m reads them: 1 to train on, {n - 2} tokens an epoch "
                              "(1 carry loss), 3 optimizer steps")


def test_the_dataset_builders_limit_keeps_the_largest_ratio_within_max_length():
    compared = compare_with_builder([1200, 1340, 900, 7], [1000, 1000, 800, 0], 2048, "gpt-4o-mini")
    assert compared is not None
    assert (compared.lowest, compared.highest) == (1.125, 1.34)  # an example the builder counts as 0 is left out
    assert compared.limit == 1528  # 2048 / 1.34 = 1528.4, rounded down: 1529 would let a 2,049 through
    assert compare_with_builder([5], [0], 2048, "gpt-4o-mini") is None


def test_the_warning_names_only_the_harm_there_is(tokenizer):
    n = length_of(SHORT, tokenizer)
    long = length_of(LONG, tokenizer)
    cut = check_examples(examples(SHORT), tokenizer, settings(max_length=n - 2)).warning()
    assert cut == f"max_length {n - 2} cuts a taught answer in 1 example(s): max_length {n} keeps every answer whole"
    skipped = check_examples(examples(LONG), tokenizer, settings(max_length=n - 2)).warning()
    assert skipped == (f"max_length {n - 2} cuts everything learned from 1 (skipped): "
                       f"max_length {long} keeps every answer whole")


def test_the_comparison_names_the_builders_model_and_counts_an_example_of_one_token():
    compared = compare_with_builder([3, 4], [1, 4], 2048, "gpt-4.1-2025-04-14")
    assert compared is not None and compared.model == "gpt-4.1-2025-04-14"
    assert (compared.lowest, compared.highest, compared.limit) == (1.0, 3.0, 682)
