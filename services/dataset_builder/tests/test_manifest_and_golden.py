"""The manifest and event describe the same dataset; golden sets and settings fail clearly."""

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from distillery_contracts.datasets import BuildTrigger
from distillery_dataset_builder.config import DatasetBuilderSettings
from distillery_dataset_builder.domain.canonical import canonical_json, training_line
from distillery_dataset_builder.domain.golden import GoldenSetError, read_golden_set
from distillery_dataset_builder.domain.manifest import (
    DatasetIdentity,
    Lineage,
    WrittenSplit,
    build_manifest,
    dataset_built,
    manifest_bytes,
)
from distillery_dataset_builder.domain.parameters import BuildParameters
from distillery_dataset_builder.domain.plan import SelectionPlan
from distillery_dataset_builder.samples import synthetic_calls

T0 = datetime(2026, 9, 1, tzinfo=UTC)
PARAMS = BuildParameters(target_size=100, base_model="gpt-4o-mini-2024-07-18", epochs=3, pool_factor=2,
                         validation_fraction=0.05, near_duplicate_threshold=0.8, stratify_by=["intent"])


def split(name: str, examples: int, tokens: int) -> WrittenSplit:
    dropped = name == "train"
    return WrittenSplit(name=name, sha256="ab" * 32, size_bytes=examples * 100,
                        example_ids=[f"ex-{i}" for i in range(examples)], tokens=[tokens] * examples,
                        sessions=examples // 2, strata={"intent=booking": examples},
                        invalid={"too_many_tokens": 1} if dropped else {}, invalid_examples=int(dropped))


def manifest() -> dict:
    identity = DatasetIdentity("ds-0003", 3, "cycle-0003", BuildTrigger.COMMAND, PARAMS.base_model, 3)
    plan = SelectionPlan(train=[], validation=[], candidates=130, dropped_by_session_cap=4,
                         excluded={"golden_set": 2, "previous_validation": 1, "validation_split": 0}, train_quota=95)
    return build_manifest(identity, plan, split("train", 90, 1000), split("validation", 10, 800),
                          PARAMS.selection("0.1.0", "cfg-demo"), Lineage(["0.1.0"], ["cfg-demo"], T0, T0, None),
                          0.81)


def test_the_event_announces_what_the_manifest_records():
    event = dataset_built(manifest(), {"train": "file:///d/train.jsonl", "validation": "file:///d/validation.jsonl",
                                       "manifest": "file:///d/manifest.json"}, ("cd" * 32, 2048), T0)
    assert (event.dataset_id, event.version, event.cycle_id) == ("ds-0003", 3, "cycle-0003")
    assert event.counts.train_examples == 90 and event.counts.validation_sessions == 5
    assert event.token_stats.train_tokens == 90_000 and event.token_stats.p95_per_example == 1000
    assert event.excluded_eval_near_duplicates == 3
    assert event.estimated_training_cost_usd == 0.81 and event.files.manifest.size_bytes == 2048
    assert event.selection.extra["cleaner_config_hash"] == "cfg-demo"
    assert event.trigger is BuildTrigger.COMMAND


def test_the_manifest_file_is_stable_sorted_json_without_a_clock():
    first, second = manifest_bytes(manifest()), manifest_bytes(manifest())
    assert first == second
    text = first.decode()
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert "built_at" not in text and text.endswith("}\n")
    assert json.loads(text)["counts"]["invalid_dropped"] == {"train": 1, "validation": 0,
                                                             "by_rule": {"too_many_tokens": 1}}


def test_a_training_line_is_sorted_compact_json_that_keeps_utf8():
    [example] = list(synthetic_calls(1, turns=1))
    line = training_line(example)
    assert line == canonical_json(json.loads(line)) and ", " not in line[:40]
    assert canonical_json({"b": "é", "a": 1}) == '{"a":1,"b":"é"}'
    assert canonical_json({"a": "\ud800"}) == '{"a":"\\ud800"}'


def test_a_golden_set_reads_prompts_and_reference_answers():
    golden = read_golden_set([b'{"id": "g1", "messages": [{"role": "system", "content": "Be brief."}, '
                              b'{"role": "user", "content": "When do you open?"}], "reference": "At eight."}\n',
                              b"\n"])
    assert golden.ids == ["g1"] and golden.texts == ["When do you open?\nAt eight."]


@pytest.mark.parametrize(("line", "message"), [
    (b"{not json\n", "golden set line 2: not valid JSON"),
    (b'{"id": "g2"}\n', 'golden set line 2: expected an object with a "messages" list'),
    (b'{"messages": ["hi"]}\n', "golden set line 2: every message must be an object"),
])
def test_a_broken_golden_set_names_the_line(line: bytes, message: str):
    with pytest.raises(GoldenSetError, match=message):
        read_golden_set([b'{"messages": []}\n', line])


def test_settings_refuse_a_bad_cron_expression_and_s3_without_a_bucket():
    with pytest.raises(ValidationError, match="is not a cron expression"):
        DatasetBuilderSettings(schedule="every quarter")
    with pytest.raises(ValidationError, match="DISTILLERY_DATASET_S3_BUCKET is not set"):
        DatasetBuilderSettings(blob_store="s3")


def test_settings_read_stratification_from_a_comma_list_and_switch_the_schedule_off(monkeypatch):
    monkeypatch.setenv("DISTILLERY_DATASET_STRATIFY_BY", "intent, lang")
    monkeypatch.setenv("DISTILLERY_DATASET_SCHEDULE", "off")
    settings = DatasetBuilderSettings()
    assert settings.stratify_by == ["intent", "lang"] and settings.schedule == ""
