"""The readable report of an offline run: Markdown with figures, under
``<reports>/<run_id>/report.md``: verdict, gates, metrics, the offending answers and the
worst examples side by side with the teacher's.

The examples quote prompts and answers, so they go with the run's items and answers once
those are past their retention (:func:`strip_examples`); the verdict, gates, metrics and
figures (aggregates only) stay readable."""

from __future__ import annotations

import html
import re
from pathlib import Path

from distillery_evaluator import plots
from distillery_evaluator.domain.evalset import EvalItem
from distillery_evaluator.domain.runs import RunSummary
from distillery_evaluator.domain.results import (
    CANDIDATE,
    DETERMINISTIC,
    EMBEDDING,
    LLM_HALLUCINATION,
    TEACHER,
)

WORST_SHOWN = 10
HALLUCINATED_HEADING = "## Hallucinated answers of the candidate"
WORST_HEADING = "## Least similar to the teacher"
EXAMPLES_REMOVED = ("## Examples removed\n\nThe questions and answers quoted here were removed with the run's "
                    "items and answers, past their retention (DISTILLERY_EVALUATOR_RUN_ITEM_RETENTION_DAYS).\n")


def write_report(summary: RunSummary, reports_dir: Path, figures: bool = True) -> Path:
    """Write the report and (unless ``figures`` is off) its figures; returns its path."""
    folder = reports_dir / summary.request.run_id
    folder.mkdir(parents=True, exist_ok=True)
    lines = _header(summary)
    if summary.roles:
        lines += _gates(summary) + _metrics(summary) + (_figures(summary, folder) if figures else [])
        lines += _hallucinated(summary) + _worst_similarity(summary)
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def strip_examples(reports_dir: Path, run_id: str) -> bool:
    """Cut the sections quoting prompts and answers out of the run's report; False when there
    is no report or nothing left to cut (so cutting twice is harmless)."""
    path = reports_dir / run_id / "report.md"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    starts = [i for i in (text.find(f"\n{HALLUCINATED_HEADING}"), text.find(f"\n{WORST_HEADING}")) if i >= 0]
    if not starts:
        return False
    path.write_text(text[: min(starts) + 1] + EXAMPLES_REMOVED, encoding="utf-8")
    return True


_MARKDOWN_ACTIVE = re.compile(r"([\\`*_\[\]|~])")


def _cell(text: str | None, limit: int = 400) -> str:
    """Model output (or anything else not ours) as inert text in a table cell: HTML escaped, so
    a viewer that renders HTML in Markdown shows ``<script>`` instead of running it, and the
    characters that make links, images, code or emphasis backslash-escaped, so an answer cannot
    forge a link or break out of its cell. Cut before escaping, so no entity is cut in half."""
    text = text or ""
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    text = html.escape(text, quote=False)
    return _MARKDOWN_ACTIVE.sub(r"\\\1", text).replace("\r", "").replace("\n", "<br>")


def _num(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def _header(s: RunSummary) -> list[str]:
    r = s.request
    lines = [f"# Evaluation {r.run_id}: **{s.outcome.value.upper()}**", "",
             f"- candidate: `{r.candidate.model}`", f"- teacher: `{r.teacher.model}`"]
    for role, target in r.roles().items():
        if role not in (CANDIDATE, TEACHER):
            lines.append(f"- {role}: `{target.model}`")
    lines += [f"- trigger: {r.trigger}" + (f" (job {r.job_id})" if r.job_id else ""),
              f"- dataset: {r.dataset_id or 'n/a'}, cycle: {r.cycle_id or 'n/a'}",
              "- eval sets: " + (", ".join(f"{e.name} `{e.version}` ({e.size} prompts)"
                                          for e in s.eval_sets) or "none"),
              f"- scorers that ran: {', '.join(s.scorers_ran) or 'none'}"]
    if s.skipped_scorers:
        lines.append(f"- scorers not run: {'; '.join(s.skipped_scorers)}")
    if s.gates and s.gates.skipped:
        lines.append("- gates not evaluated: " + "; ".join(s.gates.skipped))
    if s.error:
        lines += ["", f"**The run could not finish:** {_cell(s.error, 2000)}",
                  "", "An unfinished run is never a pass."]
    return lines + [""]


def _gates(s: RunSummary) -> list[str]:
    if not s.gates:
        return []
    lines = ["## Gates", "", "| gate | value | must be | threshold | n | CI | result | detail |",
             "|---|---|---|---|---|---|---|---|"]
    for g in s.gates.gates:
        ci = f"[{_num(g.ci_low)}, {_num(g.ci_high)}]" if g.ci_low is not None else ""
        lines.append(f"| {g.name} | {_num(g.value)} | {g.comparator.value} | {_num(g.threshold)} | "
                     f"{g.n} | {ci} | {'pass' if g.passed else '**FAIL**'} | {_cell(g.detail)} |")
    return lines + [""]


def _metrics(s: RunSummary) -> list[str]:
    lines = ["## Metrics per model", "",
             "| role | model | n | hallucination (CI) | win/tie/loss | similarity | p50 ms | p95 ms "
             "| errors | cost/call USD |", "|---|---|---|---|---|---|---|---|---|---|"]
    for role, st in s.roles.items():
        m = st.metrics
        wtl = (f"{_num(m.win_rate, 2)}/{_num(m.tie_rate, 2)}/{_num(m.loss_rate, 2)}"
               if m.win_rate is not None else "n/a")
        lines.append(
            f"| {role} | `{st.model}` | {m.n} | {_num(m.hallucination_rate)} "
            f"([{_num(m.hallucination_ci_low)}, {_num(m.hallucination_ci_high)}]) | {wtl} | "
            f"{_num(m.similarity_mean)} | {_num(m.latency_p50_ms, 4)} | {_num(m.latency_p95_ms, 4)} | "
            f"{_num(m.error_rate)} | {_num(m.cost_per_call_usd)} |")
    return lines + [""]


def _figures(s: RunSummary, folder: Path) -> list[str]:
    latencies: dict[str, list[float]] = {}
    for a in s.answers:
        if a.ok and a.latency_ms is not None:
            latencies.setdefault(a.role, []).append(a.latency_ms)
    drawn = [
        ("Hallucination rate", plots.hallucination_bars(s.roles, folder / "hallucination.png")),
        ("Judge outcomes", plots.judge_bars(s.roles, folder / "judge.png")),
        ("Similarity distribution", plots.similarity_histogram(s.roles, folder / "similarity.png")),
        ("Latency distribution", plots.latency_histogram(latencies, folder / "latency.png")),
    ]
    lines = ["## Figures", ""]
    lines += [f"![{title}]({name})" for title, name in drawn if name]
    return lines + [""]


def _question(item: EvalItem | None) -> str:
    if item is None:
        return ""
    users = [m for m in item.messages if m.get("role") == "user"]
    content = users[-1].get("content") if users else ""
    return content if isinstance(content, str) else ""


def _hallucinated(s: RunSummary) -> list[str]:
    flagged = []
    for score in s.scores:
        if score.role == CANDIDATE and score.scorer in (DETERMINISTIC, LLM_HALLUCINATION) \
                and score.value is not None and score.value >= 0.5:
            flagged.append(score)
    lines = [f"{HALLUCINATED_HEADING} ({len({f.item_id for f in flagged})})", ""]
    if not flagged:
        return lines + ["None found.", ""]
    lines += ["| item | question | candidate | teacher | why |", "|---|---|---|---|---|"]
    for score in sorted(flagged, key=lambda f: f.item_id):
        why = score.detail.get("findings") or score.detail.get("claims") or []
        teacher = s.answer(score.item_id, TEACHER)
        candidate = s.answer(score.item_id, CANDIDATE)
        lines.append(f"| {score.item_id} | {_cell(_question(s.items.get(score.item_id)), 160)} | "
                     f"{_cell(candidate.text if candidate else '')} | "
                     f"{_cell(teacher.text if teacher else '')} | "
                     f"{_cell(f'{score.scorer}: ' + '; '.join(map(str, why)))} |")
    return lines + [""]


def _worst_similarity(s: RunSummary) -> list[str]:
    ranked = sorted((x for x in s.scores if x.role == CANDIDATE and x.scorer == EMBEDDING
                     and x.value is not None), key=lambda x: x.value)[:WORST_SHOWN]
    if not ranked:
        return []
    lines = [WORST_HEADING, "", "| item | similarity | candidate | teacher |",
             "|---|---|---|---|"]
    for score in ranked:
        candidate, teacher = s.answer(score.item_id, CANDIDATE), s.answer(score.item_id, TEACHER)
        lines.append(f"| {score.item_id} | {score.value:.3f} | {_cell(candidate.text if candidate else '')}"
                     f" | {_cell(teacher.text if teacher else '')} |")
    return lines + [""]
