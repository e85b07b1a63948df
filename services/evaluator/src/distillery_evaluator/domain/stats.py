"""Small statistics for release decisions: proportions with Wilson intervals and
percentiles (the runtime's, which the rollout-controller's gates read too), and a one-sided
non-inferiority bound for paired judge preferences."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from distillery_runtime import stats as intervals


@dataclass(frozen=True)
class Proportion:
    """k successes out of n, with a Wilson score interval."""

    k: int
    n: int
    low: float | None
    high: float | None

    @property
    def rate(self) -> float | None:
        return self.k / self.n if self.n else None


def wilson(k: int, n: int, confidence: float = 0.95) -> Proportion:
    """Wilson score interval: honest near 0 and 1 and for small n, unlike the normal one;
    no bounds without a single trial."""
    if n == 0:
        return Proportion(k, n, None, None)
    interval = intervals.wilson(k, n, confidence)
    return Proportion(k, n, interval.low, interval.high)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation; None without values."""
    if not values:
        return None
    return intervals.quantile(sorted(values), q / 100)


def mean(values: Sequence[float]) -> float | None:
    return float(np.mean(values)) if values else None


@dataclass(frozen=True)
class MeanBound:
    """A mean and its one-sided lower confidence bound (Student's t)."""

    mean: float | None
    lower: float | None
    n: int


def lower_bound(values: Sequence[float], confidence: float = 0.95) -> MeanBound:
    """Mean of ``values`` and the bound it exceeds with ``confidence`` (one-sided).

    With fewer than two values there is no spread to judge from: the bound is None,
    and a gate reading it fails for lack of evidence.
    """
    n = len(values)
    if n < 2:
        return MeanBound(mean(values), None, n)
    arr = np.asarray(values, dtype=float)
    centre = float(arr.mean())
    spread = float(arr.std(ddof=1)) / math.sqrt(n)  # none: the bound is the mean
    t = float(stats.t.ppf(confidence, df=n - 1))
    return MeanBound(centre, centre - t * spread, n)
