"""``distillery privacy``: how callers' personal data is found and kept out of training data."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from distillery_cli.extras import install_hint, missing_extra

if TYPE_CHECKING:
    from distillery_cleaner.views import Evaluation

privacy_app = typer.Typer(help="Personal data: how well it is found, and erasing a caller's.",
                          no_args_is_help=True)
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


class Half(StrEnum):
    first = "first"
    all = "all"


@privacy_app.command("eval")
def eval_cmd(
    half: Annotated[Half, typer.Option(
        "--half", help="first: the half committed before the detection was tuned; all: every utterance.",
    )] = Half.all,
    ner: Annotated[bool, typer.Option(
        "--ner/--no-ner", help="Find names with the named-entity model too (the cleaner's default).",
    )] = True,
    show_misses: Annotated[bool, typer.Option(
        "--show-misses", help="Also print every missed value, wrong redaction and lost kept text.",
    )] = False,
) -> None:
    """Recall and precision of the cleaner's PII detection on its labelled caller utterances.

    Exits 0 when every target is met, 1 when one is missed (each named on its own line).
    """
    try:
        from distillery_cleaner.views import RECALL_TARGETS, SURVIVAL_TARGET, pii_evaluation
    except ModuleNotFoundError as exc:
        err_console.print(install_hint(missing_extra(exc) or "cleaner"))
        raise typer.Exit(2) from None

    result = pii_evaluation(half.value, ner=ner)
    console.print(f"{result.utterances} utterances ({half.value}), named entities {'on' if ner else 'off'}")
    console.print(_detection_table(result, RECALL_TARGETS))
    console.print(_survival_table(result, SURVIVAL_TARGET))
    if show_misses:
        for line in result.misses:
            console.print(line, markup=False)
    failures = result.failures()
    for failure in failures:
        err_console.print(f"target missed: {failure}", markup=False)
    if failures:
        raise typer.Exit(1)


def _detection_table(result: Evaluation, targets: dict[str, float]) -> Table:
    from distillery_cleaner.views import PRECISION_TARGET

    table = Table(title="Personal data found")
    for column in ("kind", "labelled", "recall", "target", "redactions", "precision"):
        table.add_column(column, justify="left" if column == "kind" else "right")
    for kind, target in targets.items():
        table.add_row(kind, str(result.labelled[kind]), f"{result.recall(kind):.3f}", f"≥ {target:.2f}",
                      str(result.redactions[kind]), f"{result.precision(kind):.3f}")
    table.add_row("all", str(sum(result.labelled.values())), "", "", str(sum(result.redactions.values())),
                  f"{result.precision():.3f} (≥ {PRECISION_TARGET:.2f})")
    return table


def _survival_table(result: Evaluation, target: float) -> Table:
    from distillery_cleaner.views import STAYS_TARGET

    table = Table(title="What must survive")
    for column in ("kept text", "occurrences", "survived", "target"):
        table.add_column(column, justify="left" if column == "kept text" else "right")
    for kind in sorted(result.kept):
        table.add_row(kind, str(result.kept[kind]), f"{result.survival(kind):.3f}", f"≥ {target:.2f}")
    table.add_row("utterances still examples", str(result.utterances), f"{result.stays:.3f}",
                  f"≥ {STAYS_TARGET:.2f}")
    return table


# `distillery privacy erase` lives in its own module (helper H3); registered here with the group.
from distillery_cli.privacy_erase import erase_cmd  # noqa: E402

privacy_app.command("erase")(erase_cmd)
