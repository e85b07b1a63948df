"""Confidence intervals behind every "better" or "not worse" a gate says, the
evaluator's before a rollout and the rollout-controller's during it: one computation, so
both read the same numbers off the same calls.

Rates use Wilson score intervals, differences of rates Newcombe's hybrid score
interval (method 10), quantiles the distribution-free order-statistic interval from
the exact binomial distribution. All are two-sided at the given confidence.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import NormalDist

# Above this many samples the binomial is replaced by its normal approximation (with a
# continuity correction): the bounds are then the exact ranks at the median and at most one
# rank off in the skewed tails (shared/tests/test_stats.py checks both at 6,000 values).
_EXACT_BINOMIAL_LIMIT = 5_000


@dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence bounds; a bound is None when the data
    cannot support one (a quantile from too few samples)."""

    estimate: float
    low: float | None
    high: float | None


def z_value(confidence: float) -> float:
    """The two-sided normal quantile for ``confidence`` (1.96 at 0.95)."""
    if not 0.5 < confidence < 1:
        raise ValueError(f"confidence must be between 0.5 and 1, got {confidence}")
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def wilson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval of a proportion ``successes / n``."""
    if n <= 0:
        raise ValueError("a proportion needs at least one trial")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be within 0..{n}, got {successes}")
    z = z_value(confidence)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe_difference(k1: int, n1: int, k2: int, n2: int, confidence: float = 0.95) -> Interval:
    """Interval of ``k1/n1 - k2/n2`` from the two Wilson intervals (Newcombe 1998, method 10)."""
    first, second = wilson(k1, n1, confidence), wilson(k2, n2, confidence)
    assert first.low is not None and first.high is not None
    assert second.low is not None and second.high is not None
    p1, p2 = first.estimate, second.estimate
    below = math.sqrt((p1 - first.low) ** 2 + (second.high - p2) ** 2)
    above = math.sqrt((first.high - p1) ** 2 + (p2 - second.low) ** 2)
    return Interval(p1 - p2, p1 - p2 - below, p1 - p2 + above)


def quantile(ordered: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted values (linear interpolation, as numpy's default)."""
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def quantile_interval(ordered: Sequence[float], q: float, confidence: float = 0.95) -> Interval:
    """Distribution-free interval of the ``q`` quantile from the order statistics.

    The number of values below the true quantile is Binomial(n, q); the bounds are the
    order statistics whose ranks leave at most (1 - confidence)/2 probability outside
    on each side. With too few values a bound does not exist and is None (for the p95
    at 95% the upper bound needs at least 72 values).
    """
    if not 0 < q < 1:
        raise ValueError(f"q must be between 0 and 1, got {q}")
    n = len(ordered)
    estimate = quantile(ordered, q)
    tail = (1 - confidence) / 2
    cdf = _binomial_cdf(n, q)
    # Lower bound X_(l), 1-based: largest l with P(B <= l - 1) <= tail.
    low_rank = 0
    while low_rank < n and cdf(low_rank) <= tail:
        low_rank += 1
    # Upper bound X_(u): smallest u with P(B >= u) <= tail, i.e. P(B <= u - 1) >= 1 - tail.
    high_rank = n + 1
    for rank in range(max(1, low_rank), n + 1):
        if cdf(rank - 1) >= 1 - tail:
            high_rank = rank
            break
    low = ordered[low_rank - 1] if low_rank >= 1 else None
    high = ordered[high_rank - 1] if high_rank <= n else None
    return Interval(estimate, low, high)


def _binomial_cdf(n: int, p: float) -> Callable[[int], float]:
    if n > _EXACT_BINOMIAL_LIMIT:
        normal = NormalDist(n * p, math.sqrt(n * p * (1 - p)))
        return lambda k: normal.cdf(k + 0.5)
    cumulative: list[float] = []
    total = 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    for k in range(n + 1):
        total += math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                          + k * log_p + (n - k) * log_q)
        cumulative.append(total)
    return cumulative.__getitem__  # asked only for 0..n: B <= k for k below n, and u - 1 for u in 1..n
