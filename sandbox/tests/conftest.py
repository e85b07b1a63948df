"""Shared fixtures: the Langfuse OpenAPI document as a validator, one large traffic sample,
and the OpenAI/Azure sandbox serving a test module."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from distillery_sandbox.openai import (
    JobTimings,
    LatencyProfile,
    RunningSandbox,
    SandboxConfig,
    run_in_thread,
)
from distillery_sandbox.workload import DefectRates, WorkloadConfig, simulate_calls
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

# Rates high enough that a few thousand calls measure each one tightly.
TEST_RATES = DefectRates(cut=0.03, truncated=0.05, error=0.03, hallucination=0.08,
                         near_duplicate=0.08, pii=0.10, other_model=0.05)
LARGE_SAMPLE_CALLS = 4500  # a little over 25,000 generations
# A whole fine-tuning job in well under a second.
FAST_JOBS = JobTimings(validating=0.1, queued=0.05, running=0.4, file_processing=0.05,
                      deployment=0.2)


def specs_dir() -> Path:
    """DISTILLERY_SPECS_DIR, else the shared specs folder beside the repository."""
    configured = os.environ.get("DISTILLERY_SPECS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[2].parent / "shared" / "specs"


class SpecValidator:
    """Validates JSON against a component schema of the Langfuse OpenAPI document."""

    def __init__(self, spec: dict):
        registry = Registry().with_resource(
            "urn:langfuse", Resource.from_contents(spec, default_specification=DRAFT4)
        )
        self._registry = registry
        self._validators: dict[str, OAS30Validator] = {}

    def errors(self, instance: object, schema_name: str) -> list[str]:
        validator = self._validators.get(schema_name)
        if validator is None:
            validator = OAS30Validator(
                {"$ref": f"urn:langfuse#/components/schemas/{schema_name}"},
                registry=self._registry,
                format_checker=oas30_format_checker,
            )
            self._validators[schema_name] = validator
        return [
            f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
            for error in validator.iter_errors(instance)
        ]

    def check(self, instance: object, schema_name: str) -> None:
        problems = self.errors(instance, schema_name)
        assert not problems, f"not a valid {schema_name}:\n" + "\n".join(problems[:20])


@pytest.fixture(scope="session")
def langfuse_spec() -> SpecValidator:
    path = specs_dir() / "langfuse-openapi.yml"
    with path.open() as handle:
        spec = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return SpecValidator(spec)


@pytest.fixture(scope="session")
def large_sample() -> tuple[WorkloadConfig, list]:
    """About 25,000 generations with every defect injected, shared by the slow tests."""
    config = WorkloadConfig(seed=2026, calls=LARGE_SAMPLE_CALLS, defects=TEST_RATES)
    return config, list(simulate_calls(config))


@pytest.fixture(scope="module")
def sandbox_timings() -> JobTimings:
    """How long the jobs of a module's sandbox take; a module overrides it to change them."""
    return FAST_JOBS


@pytest.fixture(scope="module")
def sandbox(sandbox_timings: JobTimings) -> Iterator[RunningSandbox]:
    """The OpenAI/Azure sandbox, in a thread for the whole module, answering chats at once."""
    config = SandboxConfig(timings=sandbox_timings, latency=LatencyProfile(scale=0))
    with run_in_thread(config) as running:
        yield running
