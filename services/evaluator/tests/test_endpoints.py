"""Each role asks its own endpoint: a self-hosted candidate is judged against a hosted teacher."""

from __future__ import annotations

import pytest
from evaluator_support import PROD, STUDENT, TEACHER, make_evaluator, queued, teacher_like

from distillery_contracts.evaluations import EvalOutcome
from distillery_evaluator.adapters.chat import ChatEndpoints, MissingEndpoint
from distillery_evaluator.adapters.fakes import FakeChatClient
from distillery_evaluator.domain.requests import ModelTarget


def student(provider: str | None) -> ModelTarget:
    return ModelTarget(model=STUDENT, provider=provider)


async def test_a_self_hosted_candidate_answers_from_its_own_endpoint_and_the_hosted_teacher_judges(
        repo, request_, tmp_path):
    hosted, selfhosted = FakeChatClient(teacher_like), FakeChatClient(teacher_like)
    request = request_.model_copy(update={"candidate": student("selfhosted"),
                                          "production": ModelTarget(model=PROD, provider="openai")})
    evaluator = make_evaluator(repo, hosted, tmp_path, students={"selfhosted": selfhosted})

    event, _ = await evaluator.execute(await queued(repo, request))

    assert event.outcome is EvalOutcome.PASSED, event.error_message
    assert event.candidate_provider == "selfhosted"
    assert [name for name, _ in selfhosted.calls] == [STUDENT] * 5
    assert hosted.calls_to(STUDENT) == 0 and hosted.calls_to(PROD) == 5
    assert hosted.calls_to(TEACHER) > 5, "the teacher's answers and every judge call"


async def test_a_candidate_no_endpoint_serves_ends_its_run_with_one_configuration_line(
        repo, request_, tmp_path):
    hosted, selfhosted = FakeChatClient(teacher_like), FakeChatClient(teacher_like)
    request = request_.model_copy(update={"candidate": student("azure")})
    evaluator = make_evaluator(repo, hosted, tmp_path, students={"selfhosted": selfhosted})

    event, _ = await evaluator.execute(await queued(repo, request))

    assert event.outcome is EvalOutcome.ERROR
    assert "provider 'azure'" in event.error_message
    assert "DISTILLERY_EVALUATOR_CANDIDATE_ENDPOINTS" in event.error_message
    assert "\n" not in event.error_message
    assert hosted.calls == [] and selfhosted.calls == [], "not a run of failed calls"


def test_students_go_to_their_providers_endpoint_else_to_the_default_of_their_kind():
    teacher, default, own = (FakeChatClient(teacher_like) for _ in range(3))
    endpoints = ChatEndpoints(teacher=teacher, default=default, default_kind="openai",
                              by_provider={"selfhosted": own})

    assert endpoints.for_role("teacher", ModelTarget(model=TEACHER)) is teacher
    assert endpoints.for_role("candidate", student("selfhosted")) is own
    assert endpoints.for_role("production", ModelTarget(model=PROD, provider="selfhosted")) is own
    assert endpoints.for_role("candidate", student("openai")) is default
    assert endpoints.for_role("candidate", student(None)) is default, "a model never seen trained"
    with pytest.raises(MissingEndpoint, match="'azure'"):
        endpoints.for_role("candidate", student("azure"))
