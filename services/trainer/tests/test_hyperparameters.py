"""A job's settings: the trainer's defaults, adjusted by OpenAI's three knobs."""

import pytest

from distillery_trainer.domain.hyperparameters import HyperparameterError, Requested, TrainingDefaults, resolve


def test_defaults_apply_when_the_job_asks_for_nothing():
    settings = resolve("smollm2-135m", TrainingDefaults(), Requested(), None)
    assert (settings.epochs, settings.batch_size, settings.learning_rate, settings.seed) == (3, 8, 2e-4, 42)
    assert (settings.lora_rank, settings.lora_alpha, settings.target_modules) == (16, 32, "all-linear")


def test_the_learning_rate_multiplier_scales_the_default_rate_and_the_seed_is_the_jobs():
    settings = resolve("m", TrainingDefaults(learning_rate=1e-3), Requested(n_epochs=2, learning_rate_multiplier=0.5), 7)
    assert settings.learning_rate == pytest.approx(5e-4)
    assert (settings.epochs, settings.seed) == (2, 7)


def test_a_batch_size_the_micro_batch_does_not_divide_still_trains_whole_batches():
    settings = resolve("m", TrainingDefaults(micro_batch_size=4), Requested(batch_size=6), None)
    assert (settings.batch_size, settings.micro_batch_size, settings.accumulation_steps) == (6, 2, 3)


def test_an_impossible_value_is_one_line_naming_openais_field():
    with pytest.raises(HyperparameterError, match=r"^hyperparameters.n_epochs: .*less than or equal to 100"):
        resolve("m", TrainingDefaults(), Requested(n_epochs=500), None)
