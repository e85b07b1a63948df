"""How one dataset differs from another: sizes, token distribution and tag mix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Shift:
    """One figure in both datasets."""

    name: str
    before: float
    after: float

    @property
    def change(self) -> float:
        return self.after - self.before

    @property
    def relative(self) -> float | None:
        """Change as a fraction of the first value (None when that is zero)."""
        return None if self.before == 0 else self.change / self.before


@dataclass(frozen=True)
class TagShift:
    """A tag's share of the examples in both datasets."""

    tag: str
    before: int
    after: int
    share_before: float
    share_after: float

    @property
    def points(self) -> float:
        """Change of the share in percentage points."""
        return 100.0 * (self.share_after - self.share_before)


def figure_shifts(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[Shift]:
    """Counts, tokens and cost of two manifests side by side."""

    def figures(manifest: Mapping[str, Any]) -> dict[str, float]:
        files, tokens = manifest["files"], manifest["token_stats"]
        per = tokens.get("train_per_example") or {}
        return {
            "train examples": files["train"]["examples"],
            "validation examples": files["validation"]["examples"],
            "train sessions": files["train"]["sessions"],
            "train tokens": tokens["train_tokens"],
            "tokens per example, mean": per.get("mean", 0),
            "tokens per example, p50": per.get("p50", 0),
            "tokens per example, p95": per.get("p95", 0),
            "tokens per example, max": per.get("max", 0),
            "estimated training cost (USD)": manifest["estimated_training"]["cost_usd"],
            "excluded near-duplicates": manifest["counts"]["excluded_eval_near_duplicates"]["total"],
        }

    before, after = figures(first), figures(second)
    return [Shift(name, float(before[name]), float(after[name])) for name in before]


def tag_shifts(first: Mapping[str, int], first_total: int, second: Mapping[str, int],
               second_total: int) -> list[TagShift]:
    """Every tag's share in both datasets, largest move first."""
    shifts = [
        TagShift(tag, first.get(tag, 0), second.get(tag, 0), _share(first.get(tag, 0), first_total),
                 _share(second.get(tag, 0), second_total))
        for tag in sorted(set(first) | set(second))
    ]
    return sorted(shifts, key=lambda s: (-abs(s.points), s.tag))


def _share(count: int, total: int) -> float:
    return count / total if total else 0.0
