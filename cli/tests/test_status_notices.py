"""``distillery status`` names the routed models going away, one line each: yellow while they
still answer, red once stopped, with model names taken as text rather than as markup."""

from __future__ import annotations

from datetime import date

from rich.console import Console

from distillery_cli.status import render_notices
from distillery_runtime.model_calendar import ServingNotice


def notice(model: str, days_left: int, arm: str = "candidate") -> ServingNotice:
    return ServingNotice("voice-agent", arm, model, "openai", 90.0, date(2027, 1, 14), days_left)


def printed(markup: str) -> str:
    console = Console(record=True, width=400, color_system="truecolor")
    console.print(markup)
    return console.export_text()


def test_each_notice_is_a_line_under_a_heading_coloured_by_whether_the_model_still_answers():
    markup = render_notices([notice("ft:gpt-4o-mini-2024-07-18:clinic::s42", 38), notice("gpt-4.1", 0, "teacher")])
    lines = markup.splitlines()
    assert lines[0] == "[bold]Going away[/]"
    assert lines[1].startswith("[yellow]ft:gpt-4o-mini-2024-07-18:clinic::s42 (openai), the candidate arm")
    assert lines[2].startswith("[red]gpt-4.1 (openai), the teacher arm") and "shut down on 2027-01-14;" in lines[2]


def test_a_model_name_with_brackets_is_printed_as_it_is():
    text = printed(render_notices([notice("ft:gpt-4o-mini:[red]x[/]::1", 3)]))
    assert "ft:gpt-4o-mini:[red]x[/]::1 (openai)" in text
