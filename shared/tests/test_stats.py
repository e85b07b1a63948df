"""The intervals behind the gates, checked against published values."""

from __future__ import annotations

import math
import random

import pytest

from distillery_runtime.stats import newcombe_difference, quantile_interval, wilson


def test_wilson_interval_matches_the_textbook_value():
    # Newcombe (1998), table I: 81/263 -> 0.2553 .. 0.3662.
    interval = wilson(81, 263)
    assert interval.low == pytest.approx(0.2553, abs=1e-4)
    assert interval.high == pytest.approx(0.3662, abs=1e-4)


def test_wilson_interval_of_zero_events_still_has_an_upper_bound():
    interval = wilson(0, 100)
    assert interval.low == 0.0 and interval.high == pytest.approx(0.0370, abs=1e-4)


def test_newcombe_difference_matches_the_published_example():
    # Newcombe (1998), method 10, example (a): 56/70 - 48/80 -> 0.0524 .. 0.3339.
    interval = newcombe_difference(56, 70, 48, 80)
    assert interval.estimate == pytest.approx(0.2)
    assert interval.low == pytest.approx(0.0524, abs=1e-4)
    assert interval.high == pytest.approx(0.3339, abs=1e-4)


def test_p95_has_no_upper_bound_from_too_few_calls():
    assert quantile_interval(list(range(71)), 0.95).high is None
    assert quantile_interval(list(range(72)), 0.95).high == 71


def test_p95_interval_covers_the_true_quantile_about_95_percent_of_the_time():
    rng = random.Random(7)
    true_p95 = -math.log(0.05)  # of the exponential distribution with rate 1
    covered = 0
    for _ in range(400):
        sample = sorted(rng.expovariate(1.0) for _ in range(300))
        interval = quantile_interval(sample, 0.95)
        covered += interval.low <= true_p95 <= interval.high
    assert 0.92 <= covered / 400 <= 0.99


def test_large_samples_use_the_normal_approximation_and_stay_tight():
    values = [i / 20_000 for i in range(20_000)]
    interval = quantile_interval(values, 0.95)
    assert interval.low < 0.95 < interval.high and interval.high - interval.low < 0.01


def test_bad_input_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="at least one trial"):
        wilson(0, 0)
    with pytest.raises(ValueError, match="within 0..10"):
        wilson(11, 10)
