"""Figures for the run report (matplotlib, drawn off-screen to PNG files)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display: files only

import matplotlib.pyplot as plt  # noqa: E402

from distillery_evaluator.domain.metrics import RoleStats  # noqa: E402


def _save(fig, path: Path) -> str:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def latency_histogram(latencies: Mapping[str, list[float]], path: Path) -> str | None:
    """One histogram per model of answer latencies."""
    shown = {role: values for role, values in latencies.items() if values}
    return _histograms(shown, path, "latency (ms)", "Latency per model")


def similarity_histogram(roles: Mapping[str, RoleStats], path: Path) -> str | None:
    shown = {role: s.similarities for role, s in roles.items() if s.similarities}
    return _histograms(shown, path, "cosine similarity to the teacher's answer", "Similarity to the teacher",
                       value_range=lambda values: (min(0.0, min(values)), 1.0))


def _histograms(shown: Mapping[str, list[float]], path: Path, xlabel: str, title: str,
                value_range: Callable[[list[float]], tuple[float, float]] | None = None) -> str | None:
    """The models' histograms over each other, counting answers; None when no model has values."""
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for role, values in shown.items():
        ax.hist(values, bins=20, range=value_range(values) if value_range else None, alpha=0.5, label=role)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("answers")
    ax.set_title(title)
    ax.legend()
    return _save(fig, path)


def hallucination_bars(roles: Mapping[str, RoleStats], path: Path) -> str | None:
    """Hallucination rate per model with its confidence interval as an error bar."""
    shown = [(role, s.hallucination) for role, s in roles.items() if s.hallucination.n]
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.2))
    names = [role for role, _ in shown]
    rates = [p.rate or 0.0 for _, p in shown]
    lows = [max(0.0, (p.rate or 0.0) - (p.low or 0.0)) for _, p in shown]
    highs = [max(0.0, (p.high or 0.0) - (p.rate or 0.0)) for _, p in shown]
    ax.bar(names, rates, yerr=[lows, highs], capsize=6, color="#c0504d")
    ax.set_ylabel("share of answers")
    ax.set_title("Hallucination rate (Wilson interval)")
    return _save(fig, path)


def judge_bars(roles: Mapping[str, RoleStats], path: Path) -> str | None:
    """Win / tie / loss against the teacher, stacked, per student."""
    shown = [(role, s.metrics) for role, s in roles.items() if s.preferences]
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(7, 3.2))
    names = [role for role, _ in shown]
    win = [m.win_rate or 0.0 for _, m in shown]
    tie = [m.tie_rate or 0.0 for _, m in shown]
    loss = [m.loss_rate or 0.0 for _, m in shown]
    ax.barh(names, win, color="#4f81bd", label="win")
    ax.barh(names, tie, left=win, color="#bfbfbf", label="tie")
    ax.barh(names, loss, left=[w + t for w, t in zip(win, tie)], color="#c0504d", label="loss")
    ax.set_xlim(0, 1)
    ax.set_title("Pairwise judge against the teacher (both orders)")
    ax.legend(loc="lower right")
    return _save(fig, path)
