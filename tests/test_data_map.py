"""The README's data map says how long each place keeps callers' data; this keeps it true.

Every topic of the registry that is kept for a time is in the map with the registry's
retention, every setting the map names is a real setting with the default it states, each
retention the map states in days is proven by a test on PostgreSQL (named in
``RETENTION_TESTS``), and each service that answers `distillery privacy erase` is one the
CLI waits for.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from distillery_cli.privacy_erase import ERASING_SERVICES
from distillery_contracts.registry import DAY_MS, TOPICS

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Personal data: where it lives and for how long"

RETENTION_TESTS = {
    "DISTILLERY_INBOX_RETENTION_MARGIN_DAYS": (
        "tests/integration/test_retention.py", "test_inbox_rows_past_their_topics_retention_go_in_batches_and_the_rest_stay"),
    "DISTILLERY_INGESTER_RETENTION_DAYS": (
        "tests/integration/test_retention_per_store.py",
        "test_generations_started_longer_than_the_ingester_retention_before_the_watermark_are_forgotten"),
    "DISTILLERY_CLEANER_LATE_SCORE_RETENTION_DAYS": (
        "tests/integration/test_retention.py", "test_late_scores_unchanged_for_longer_than_traces_raw_keeps_generations_go"),
    "DISTILLERY_CLEANER_INDEX_RETENTION_DAYS": (
        "tests/integration/test_retention.py",
        "test_examples_accepted_longer_ago_than_the_index_retention_leave_the_index_with_their_band_keys"),
    "DISTILLERY_DATASET_EXAMPLE_RETENTION_DAYS": (
        "tests/integration/test_example_retention.py",
        "test_examples_stored_longer_than_the_retention_go_in_batches_except_a_builds"),
    "DISTILLERY_EVALUATOR_ONLINE_RETENTION_DAYS": (
        "tests/integration/test_retention.py", "test_live_calls_queued_longer_than_the_retention_go_with_their_scores"),
    "DISTILLERY_EVALUATOR_RUN_ITEM_RETENTION_DAYS": (
        "tests/integration/test_retention_per_store.py",
        "test_a_finished_runs_items_answers_and_report_examples_go_after_the_run_item_retention"),
    **{setting: ("tests/integration/test_console_privacy.py", "test_each_table_keeps_a_row_for_its_retention_and_no_longer")
       for setting in ("DISTILLERY_CONSOLE_ITEM_RETENTION_DAYS", "DISTILLERY_CONSOLE_EXAMPLE_RETENTION_DAYS",
                       "DISTILLERY_CONSOLE_DEAD_LETTER_RETENTION_DAYS")},
}
"""The test that proves each store's retention on a real PostgreSQL: a row just past it goes, a
younger one stays, through the code the service runs. A store the map does not name (yet) may
have an entry here; one it names must."""


def data_map() -> list[list[str]]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", len(SECTION))]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| where")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]


def test_the_map_has_a_row_for_each_kind_of_place_and_says_whether_erase_reaches_it() -> None:
    rows = data_map()
    assert all(len(row) == 5 for row in rows), "where | what | kept | setting | erase"
    places = " ".join(row[0] for row in rows)
    for place in ("traces.raw", "<topic>.dlq", "inbox", "outbox", "late_scores", "online_queue",
                  "dataset files", "logs", "Langfuse"):
        assert place in places


@pytest.mark.parametrize("topic", ["traces.raw", "examples.accepted", "examples.rejected", "evaluations.online",
                                   "evaluations.items"])
def test_each_topic_holding_callers_data_is_mapped_with_the_registrys_retention(topic: str) -> None:
    [row] = [row for row in data_map() if f"`{topic}`" in row[0] or f"`examples.accepted` / `{topic}`" in row[0]
             or f"`{topic}` / " in row[0]]
    days = TOPICS[f"distillery.{topic}.v1"].retention_ms // DAY_MS
    assert re.match(rf"{days} days\b", row[2]), (topic, row[2], days)


def test_dead_letters_are_mapped_with_their_retention() -> None:
    from distillery_contracts.registry import DLQ_RETENTION_MS

    [row] = [row for row in data_map() if "<topic>.dlq" in row[0]]
    assert row[2] == f"{DLQ_RETENTION_MS // DAY_MS} days"


def test_every_setting_the_map_names_exists_with_the_retention_it_states() -> None:
    from distillery_cleaner.config import CleanerSettings
    from distillery_dataset_builder.config import DatasetBuilderSettings
    from distillery_evaluator.config import EvaluatorSettings
    from distillery_runtime.settings import RuntimeSettings
    from distillery_trace_ingester.config import IngesterSettings

    defaults = {
        "DISTILLERY_INBOX_RETENTION_MARGIN_DAYS": RuntimeSettings.model_fields["inbox_retention_margin_days"].default,
        "DISTILLERY_CLEANER_LATE_SCORE_RETENTION_DAYS":
            CleanerSettings.model_fields["late_score_retention_days"].default,
        "DISTILLERY_DATASET_EXAMPLE_RETENTION_DAYS":
            DatasetBuilderSettings.model_fields["example_retention_days"].default,
        "DISTILLERY_EVALUATOR_ONLINE_RETENTION_DAYS": EvaluatorSettings.model_fields["online_retention_days"].default,
        "DISTILLERY_EVALUATOR_RUN_ITEM_RETENTION_DAYS":
            EvaluatorSettings.model_fields["run_item_retention_days"].default,
        "DISTILLERY_INGESTER_RETENTION_DAYS": IngesterSettings.model_fields["retention_days"].default,
    }
    named = {row[3].strip("`"): row[2] for row in data_map() if row[3].startswith("`DISTILLERY_")}
    for setting, default in defaults.items():
        assert setting in named, f"{setting} is not in the data map"
        assert re.search(rf"\b{int(default)} days\b", named[setting]), (setting, named[setting], default)


def test_every_setting_the_map_names_is_a_setting_and_a_retention_in_days_is_its_default() -> None:
    from distillery_cli.config_registry import settings_groups

    variables = {v.name: v for group in settings_groups() for v in group.variables()}
    named = {row[3].strip("`"): row[2] for row in data_map() if row[3].startswith("`DISTILLERY_")}
    for setting, kept in named.items():
        assert setting in variables, f"the data map names {setting}, which no settings class reads"
        if re.search(r"\b\d+ days\b", kept):
            default = int(float(variables[setting].default))
            assert re.search(rf"\b{default} days\b", kept), (setting, kept, default)


def test_every_retention_the_map_states_in_days_has_a_test_on_postgresql() -> None:
    kept_for_days = {row[3].strip("`") for row in data_map()
                     if row[3].startswith("`DISTILLERY_") and re.search(r"\b\d+ days\b", row[2])}
    assert kept_for_days <= set(RETENTION_TESTS), f"no retention test for {kept_for_days - set(RETENTION_TESTS)}"
    for path, name in (RETENTION_TESTS[setting] for setting in kept_for_days):
        tree = ast.parse((ROOT / path).read_text())
        tests = {node.name for node in tree.body if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)}
        assert name in tests, f"{path} has no {name}"
        assert "pytest.mark.integration" in (ROOT / path).read_text(), f"{path} does not run on PostgreSQL"


def test_every_service_the_map_says_erase_reaches_answers_the_cli() -> None:
    erased = " ".join(row[0] for row in data_map() if row[4].startswith("**yes**"))
    for service in ("trace-ingester", "cleaner", "dataset-builder", "evaluator"):
        assert service in erased and service in ERASING_SERVICES
