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


def exact_ranks(n: int, q: float, confidence: float) -> tuple[int | None, int | None]:
    """The order-statistic ranks of the quantile's interval, from the binomial in integers."""
    from fractions import Fraction

    p, tail = Fraction(q).limit_denominator(1_000), Fraction(1 - confidence).limit_denominator(1_000) / 2
    a, b = p.numerator, p.denominator  # P(B = k) = comb(n, k) a^k (b - a)^(n - k) / b^n
    low_limit, high_limit = tail * b ** n, (1 - tail) * b ** n
    low = high = None
    term, total = (b - a) ** n, 0  # term: b^n P(B = k), from k = 0
    for rank in range(1, n + 1):  # total: b^n P(B <= rank - 1)
        k = rank - 1
        total += term
        term = term * (n - k) * a // ((k + 1) * (b - a)) if k < n else 0
        if total <= low_limit:
            low = rank
        if high is None and total >= high_limit:
            high = rank
    return low, high


@pytest.mark.parametrize("n", [1, 2, 3, 5, 20, 71, 72, 100, 300])
@pytest.mark.parametrize(("q", "confidence"), [(0.5, 0.95), (0.95, 0.95), (0.99, 0.9), (0.01, 0.95), (0.5, 0.8)])
def test_a_quantiles_bounds_are_the_order_statistics_the_binomial_names(n, q, confidence):
    values = [float(rank) for rank in range(1, n + 1)]  # the value of each rank is the rank
    interval = quantile_interval(values, q, confidence)
    low, high = exact_ranks(n, q, confidence)
    assert (interval.low, interval.high) == (low and float(low), high and float(high))
    assert interval.estimate == pytest.approx(1 + (n - 1) * q)


def test_a_quantile_interpolates_between_its_neighbours_as_numpy_does():
    import numpy as np

    from distillery_runtime.stats import quantile

    rng = random.Random(11)
    for size in (1, 2, 3, 10, 101):
        values = sorted(rng.uniform(0, 100) for _ in range(size))
        for q in (0.0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1.0):
            assert quantile(values, q) == pytest.approx(float(np.quantile(values, q)), abs=1e-9), (size, q)
    with pytest.raises(ValueError, match="^no values$"):
        quantile([], 0.5)


def test_a_large_samples_bounds_from_the_normal_curve_are_the_exact_ones_within_a_rank():
    """Past 5,000 values the binomial is the normal curve with a continuity correction: the
    median's bounds are the exact ranks, a tail quantile's (skewed) at most one rank off."""
    n = 6_000
    values = [float(rank) for rank in range(1, n + 1)]
    assert (quantile_interval(values, 0.5).low, quantile_interval(values, 0.5).high) == exact_ranks(n, 0.5, 0.95)
    for q in (0.05, 0.95):
        interval = quantile_interval(values, q)
        low, high = exact_ranks(n, q, 0.95)
        assert abs(interval.low - low) <= 1 and abs(interval.high - high) <= 1, q


def test_every_interval_is_at_the_confidence_asked_for_and_within_what_a_rate_can_be():
    from statistics import NormalDist

    from distillery_runtime.stats import z_value

    assert z_value(0.95) == pytest.approx(1.959964, abs=1e-6) and z_value(0.8) == pytest.approx(1.281552, abs=1e-6)
    for confidence in (0.5, 1.0, 1.5):
        with pytest.raises(ValueError, match=f"^confidence must be between 0.5 and 1, got {confidence}$"):
            z_value(confidence)
    assert wilson(1, 1).estimate == 1.0 and wilson(10, 10).high == 1.0 and wilson(0, 1).low == 0.0
    narrow, wide = wilson(30, 100, 0.8), wilson(30, 100, 0.99)
    assert wide.low < narrow.low < 0.3 < narrow.high < wide.high
    z = NormalDist().inv_cdf(0.9)
    p1, p2 = 56 / 70, 48 / 80
    first, second = wilson(56, 70, 0.8), wilson(48, 80, 0.8)
    difference = newcombe_difference(56, 70, 48, 80, confidence=0.8)
    assert z_value(0.8) == pytest.approx(z)
    assert difference.low == pytest.approx(p1 - p2 - math.hypot(p1 - first.low, second.high - p2))
    assert difference.high == pytest.approx(p1 - p2 + math.hypot(first.high - p1, p2 - second.low))
    for q in (0.0, 1.0):
        with pytest.raises(ValueError, match=f"^q must be between 0 and 1, got {q}$"):
            quantile_interval([1.0, 2.0], q)
    with pytest.raises(ValueError, match="^successes must be within 0..10, got -1$"):
        wilson(-1, 10)
    with pytest.raises(ValueError, match="^a proportion needs at least one trial$"):
        wilson(0, -1)
