"""``distillery config``: every environment variable, and whether the current ones work."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from distillery_cli.common import console, err_console, friendly
from distillery_cli.config_check import check_groups, unknown_variables, with_runtime
from distillery_cli.config_registry import known_names, select_groups, settings_groups
from distillery_cli.config_render import END, START, env_file, markdown, rich_tables, write_readme

config_app = typer.Typer(help="List every setting, or check the environment's.", no_args_is_help=True)

ServiceOption = typer.Option(None, "--service", "-s", show_default=False,
                             help="runtime, other or a service name (default: all).")


class Format(StrEnum):
    table = "table"
    markdown = "markdown"
    env = "env"


@config_app.command("list")
@friendly
def list_cmd(service: str | None = ServiceOption,
             format: Format = typer.Option(Format.table, "--format", "-f", help="table, markdown or env.")) -> None:
    """Every variable with its default, type and meaning; secrets' defaults are never shown.

    ``--format env`` prints a commented-out env file; ``--format markdown`` is what the
    README's configuration reference holds.
    """
    groups = select_groups(settings_groups(), service)
    if format is Format.table:
        for table in rich_tables(groups):
            console.print(table)
    else:
        text = markdown(groups) if format is Format.markdown else env_file(groups)
        typer.echo(text, nl=False)


@config_app.command("check")
@friendly
def check_cmd(service: str | None = ServiceOption) -> None:
    """Load the settings from this environment; one line per problem, exit 2 if any."""
    groups = settings_groups()
    chosen = with_runtime(groups, select_groups(groups, service))
    for warning in unknown_variables(known_names(groups)):
        err_console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    problems = check_groups(chosen)
    for line in problems:
        typer.echo(line)
    if problems:
        raise typer.Exit(2)
    typer.echo(f"configuration OK: {', '.join(g.name for g in chosen)}")


@config_app.command("docs")
@friendly
def docs_cmd(readme: Path = typer.Option(Path("README.md"), help="The README holding the markers."),
             check: bool = typer.Option(False, "--check", help="Only compare; exit 1 when stale.")) -> None:
    """Regenerate the README's configuration and topic references (what ``make docs`` runs)."""
    from distillery_cli.topics_doc import TOPICS_MARKERS, topics_markdown

    for what, section, markers in (("configuration reference", markdown(settings_groups()), (START, END)),
                                   ("topic reference", topics_markdown(), TOPICS_MARKERS)):
        current = write_readme(readme, section, check=check, markers=markers)
        if check and not current:
            err_console.print(f"{readme} {what} is stale: run 'make docs'", highlight=False)
            raise typer.Exit(1)
        typer.echo(f"{readme}: {what} {'is current' if current else 'regenerated'}")
