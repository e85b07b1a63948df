"""Bad configuration is one clear line naming the variable to fix."""

from __future__ import annotations

import pytest

from distillery_finetune_controller.adapters.fakes import FakeFineTuneProvider
from distillery_finetune_controller.app import build
from distillery_finetune_controller.config import FinetuneSettings, ProviderKind
from distillery_runtime.errors import ConfigError
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.worker import Worker


def build_from_the_environment() -> None:
    """Build the service as ``distillery run`` does: settings from the environment, checked."""
    build(RuntimeSettings(), provider_factory=lambda *_: FakeFineTuneProvider())


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("DISTILLERY_FINETUNE_"):
            monkeypatch.delenv(name)


def test_the_openai_provider_without_a_key_names_the_missing_variable():
    with pytest.raises(ConfigError, match="the openai provider needs DISTILLERY_FINETUNE_OPENAI_API_KEY"):
        build_from_the_environment()


def test_the_azure_provider_names_everything_it_still_needs(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DISTILLERY_FINETUNE_PROVIDER", "azure")
    monkeypatch.setenv("DISTILLERY_FINETUNE_AZURE_ENDPOINT", "https://aoai.example")
    with pytest.raises(ConfigError) as caught:
        build_from_the_environment()
    message = str(caught.value)
    assert "DISTILLERY_FINETUNE_AZURE_API_KEY" in message and "DISTILLERY_FINETUNE_AZURE_ACCOUNT" in message
    assert "DISTILLERY_FINETUNE_AZURE_ENDPOINT" not in message


def test_an_invalid_value_names_its_variable(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DISTILLERY_FINETUNE_OPENAI_API_KEY", "sk")
    monkeypatch.setenv("DISTILLERY_FINETUNE_POLL_INTERVAL_S", "-1")
    with pytest.raises(ConfigError, match="DISTILLERY_FINETUNE_POLL_INTERVAL_S"):
        build_from_the_environment()


def test_azure_runs_one_job_at_a_time_unless_told_otherwise():
    assert FinetuneSettings(provider="azure").job_slots == 1
    assert FinetuneSettings(provider="azure", max_concurrent_jobs=2).job_slots == 2
    assert FinetuneSettings().job_slots == 3


def test_keys_never_show_in_the_settings_repr():
    assert "sk-secret" not in repr(FinetuneSettings(openai_api_key="sk-secret"))


def test_one_leading_instance_moves_the_jobs_at_the_configured_pace():
    finetune = FinetuneSettings(openai_api_key="sk", worker_interval_s=0.5)
    [worker] = build(RuntimeSettings(), finetune, provider_factory=lambda *_: FakeFineTuneProvider()).background

    assert isinstance(worker, Worker)
    assert (worker.name, worker.lock, worker.interval_s) == ("advance-jobs", "finetune-controller:worker", 0.5)
    assert worker.on_lead is not None


SELFHOSTED_VARIABLES = ("DISTILLERY_FINETUNE_SELFHOSTED_TRAINER_URL", "DISTILLERY_FINETUNE_SELFHOSTED_SERVING_URL",
                        "DISTILLERY_FINETUNE_SELFHOSTED_ADAPTER_ROOT")


def test_the_selfhosted_provider_names_what_it_still_needs(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DISTILLERY_FINETUNE_PROVIDER", "selfhosted")
    monkeypatch.setenv("DISTILLERY_FINETUNE_SELFHOSTED_TRAINER_URL", "http://trainer:8090/v1")
    with pytest.raises(ConfigError) as caught:
        build_from_the_environment()
    assert str(caught.value) == ("the selfhosted provider needs DISTILLERY_FINETUNE_SELFHOSTED_SERVING_URL, "
                                 "DISTILLERY_FINETUNE_SELFHOSTED_ADAPTER_ROOT")


@pytest.mark.parametrize(("settings", "message"), [
    ({"auto_fallback": True}, "DISTILLERY_FINETUNE_AUTO_FALLBACK needs DISTILLERY_FINETUNE_FALLBACK_PROVIDER"),
    ({"fallback_provider": "selfhosted"}, "the fallback provider selfhosted needs DISTILLERY_FINETUNE_FALLBACK_MODEL"),
    ({"fallback_provider": "openai", "fallback_model": "m"},
     "DISTILLERY_FINETUNE_FALLBACK_PROVIDER must differ from DISTILLERY_FINETUNE_PROVIDER"),
    ({"fallback_provider": "selfhosted", "fallback_model": "m"},
     "the fallback provider selfhosted needs " + ", ".join(SELFHOSTED_VARIABLES)),
])
def test_a_fallback_provider_needs_a_model_and_its_own_settings(settings, message):
    with pytest.raises(ConfigError, match=message):
        FinetuneSettings(openai_api_key="sk", **settings).check()


def test_the_fallback_provider_is_built_beside_the_configured_one():
    built = []

    def factory(settings, kind):
        built.append(kind.value)
        return FakeFineTuneProvider(name=kind.value)

    finetune = FinetuneSettings(openai_api_key="sk", fallback_provider="selfhosted", fallback_model="qwen2.5-1.5b",
                                auto_fallback=True, selfhosted_trainer_url="http://t/v1",
                                selfhosted_serving_url="http://s/v1", selfhosted_adapter_root="/a")
    build(RuntimeSettings(), finetune, provider_factory=factory)
    build(RuntimeSettings(), FinetuneSettings(openai_api_key="sk"), provider_factory=factory)

    assert built == ["openai", "selfhosted", "openai"]


def test_the_self_hosted_trainer_runs_one_job_at_a_time_and_a_fallback_keeps_its_default():
    assert FinetuneSettings(provider="selfhosted").job_slots == 1
    assert FinetuneSettings(provider="selfhosted", max_concurrent_jobs=2).job_slots == 2
    assert FinetuneSettings(max_concurrent_jobs=5).job_slots_of(ProviderKind.SELFHOSTED) == 1
