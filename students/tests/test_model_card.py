from __future__ import annotations

from datetime import datetime, timezone

import pytest
from pydantic import ValidationError

from distillery_students.domain.model_card import (AdapterMismatch, AdapterRef, BaseModelRef, DatasetRef, LossPoint,
                                                   ModelCard, check_compatible, job_fingerprint)
from distillery_students.domain.settings import TrainingSettings

SETTINGS = TrainingSettings(base_model="smollm2-135m", learning_rate=1e-3)


def card(base_sha: str = "a" * 64) -> ModelCard:
    return ModelCard(
        job=job_fingerprint(base_sha, "d" * 64, SETTINGS),
        base_model=BaseModelRef(name="smollm2-135m", sha256=base_sha),
        dataset=DatasetRef(id="ds-1", sha256="d" * 64, examples=64, tokens=9000, learned_tokens=900),
        hyperparameters=SETTINGS, adapter=AdapterRef(sha256="e" * 64, bytes=19_600_000),
        loss_curve=[LossPoint(step=1, epoch=0.1, loss=3.2), LossPoint(step=2, epoch=0.2, loss=1.1)],
        steps=2, epochs=0.2, train_seconds=9.5, device="cpu", created_at=datetime.now(timezone.utc))


def test_round_trips_through_json_with_everything_a_reader_needs():
    original = card()
    again = ModelCard.model_validate_json(original.model_dump_json())
    assert again == original
    assert again.hyperparameters.learning_rate == 1e-3
    assert (again.template.name, again.template.version) == ("distillery-chatml-tools", 1)
    assert again.final_loss == 1.1


def test_an_adapter_of_another_base_is_refused_in_one_line():
    with pytest.raises(AdapterMismatch, match=r"^adapter a1 was trained on smollm2-135m \(sha256 aaaaaaaaaaaa\), "
                                              r"not on the served base /models/qwen \(sha256 bbbbbbbbbbbb\)$"):
        check_compatible(card(), BaseModelRef(name="/models/qwen", sha256="b" * 64), "a1")
    check_compatible(card(), BaseModelRef(name="smollm2-135m", sha256="a" * 64), "a1")


def test_the_same_base_data_and_settings_are_the_same_job():
    assert job_fingerprint("a", "d", SETTINGS) == job_fingerprint("a", "d", SETTINGS.model_copy())
    assert job_fingerprint("a", "d", SETTINGS) != job_fingerprint("a", "d", SETTINGS.model_copy(update={"seed": 1}))


def test_settings_default_to_a_lora_for_a_mid_size_instruct_model():
    settings = TrainingSettings(base_model="/models/llama-8b")
    assert (settings.lora_rank, settings.lora_alpha, settings.target_modules) == (16, 32, "all-linear")
    assert (settings.learning_rate, settings.epochs, settings.batch_size, settings.max_length) == (2e-4, 3, 8, 2048)
    assert settings.accumulation_steps == 4


def test_settings_refuse_a_batch_the_micro_batches_do_not_fill():
    with pytest.raises(ValidationError, match="not a multiple"):
        TrainingSettings(base_model="x", batch_size=8, micro_batch_size=3)
    with pytest.raises(ValidationError):
        TrainingSettings(base_model="x", lora_rnak=8)
