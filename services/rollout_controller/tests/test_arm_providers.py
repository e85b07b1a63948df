"""A student's arm names the provider it was trained with, so a cycle can change provider
(OpenAI this quarter, self-hosted the next) and the router sends each arm where it runs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from distillery_rollout_controller.domain.routing import ArmEndpoints

CONFIGURED = ArmEndpoints(student_provider="azure", student_deployment="distillery-{model}")


@pytest.fixture
def harness(harness):
    """The shared harness, with a student provider other than the teacher's."""
    return replace(harness, endpoints=CONFIGURED)


def arm(harness, name: str):
    return next(a for a in harness.repo.routes["voice-agent"].table.arms if a.name == name)


async def test_a_self_hosted_candidate_is_published_on_a_selfhosted_arm(harness, models):
    await harness.passed_evaluation(provider="selfhosted")

    candidate = arm(harness, "candidate")
    assert candidate.model == models["student"] and candidate.provider == "selfhosted"
    assert candidate.deployment is None, "the configured Azure deployments are not where it runs"
    assert harness.repo.rollouts["ro-0001"].candidate_provider == "selfhosted"


async def test_without_the_candidates_provider_the_configured_student_provider_serves_it(harness, models):
    await harness.passed_evaluation(provider=None)

    candidate = arm(harness, "candidate")
    assert candidate.provider == "azure" and candidate.deployment == f"distillery-{models['student']}"


async def test_a_promoted_self_hosted_student_stays_self_hosted_while_the_next_cycle_replaces_it(
        harness, models, good, behaviour):
    await harness.passed_evaluation(provider="selfhosted")
    for stage in range(5):
        await harness.pass_stage(stage)
    assert harness.providers() == {"production": "selfhosted", "teacher": "openai"}

    await harness.passed_evaluation(candidate=models["next_student"], run_id="eval-2", provider="openai")
    assert harness.providers() == {"candidate": "openai", "production": "selfhosted", "teacher": "openai"}

    await harness.serve_stage(0, behaviour(hallucinations=30), good, rollout_id="ro-0002",
                              baseline_arm="production")
    assert (await harness.evaluate()).decision.value == "rolled_back"
    assert harness.providers() == {"production": "selfhosted", "teacher": "openai"}
    assert arm(harness, "production").model == models["student"]
