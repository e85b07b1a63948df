"""The README's topic reference comes from the registry and stays current."""

from __future__ import annotations

from pathlib import Path

from distillery_cli.config_render import splice
from distillery_cli.topics_doc import TOPICS_MARKERS, topics_markdown
from distillery_contracts.registry import all_topic_specs

REPO = Path(__file__).resolve().parents[2]


def test_every_topic_but_the_dead_letters_has_a_row_and_the_dead_letters_a_paragraph():
    table = topics_markdown()
    for spec in all_topic_specs():
        if spec.name.endswith(".dlq"):
            continue
        assert f"| `{spec.name}` |" in table
    assert "`<topic>.dlq`" in table and ".dlq`" not in table.replace("`<topic>.dlq`", "")


def test_the_readme_topic_reference_is_current():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert splice(readme, topics_markdown(), TOPICS_MARKERS) == readme, (
        "README.md's topic reference is stale: run `make docs`")
