"""``distillery.evaluations.completed.v1`` (offline gates) and ``.online.v1`` (live scores)."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from distillery_contracts.base import Event, observation_event_id
from distillery_contracts.common import Count, GateResult, Millis, ModelMetrics, Usd


class EvalOutcome(StrEnum):
    """Overall verdict of an offline evaluation; 'error' is never a pass."""

    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"


class JudgeOutcome(StrEnum):
    """Pairwise judge verdict of a student answer against the teacher's."""

    WIN = "win"
    TIE = "tie"
    LOSS = "loss"


class EvalSetRef(BaseModel):
    """An evaluation set a run used, with the version that makes the run reproducible."""

    name: str = Field(min_length=1, description="Set name, e.g. 'golden' or 'validation'.")
    version: str = Field(min_length=1, description="Set version (content hash or dataset version).")
    size: Count | None = Field(default=None, description="Number of prompts in the set.")


class EvaluationCompleted(Event):
    """An offline evaluation of a candidate model finished: gates, metrics and verdict."""

    event_type: ClassVar[str] = "EvaluationCompleted"
    schema_version: ClassVar[int] = 1

    run_id: str = Field(min_length=1, description="Evaluation run id.")
    candidate_model: str = Field(min_length=1, description="The model under evaluation.")
    candidate_provider: str | None = Field(
        default=None, min_length=1,
        description="Provider the candidate was trained with and is served by ('openai', 'azure', "
        "'selfhosted', ...), the name its routing-table arm carries; None: not known, and the "
        "rollout-controller's configured student provider applies.",
    )
    teacher_model: str = Field(min_length=1, description="The teacher it is compared with.")
    production_model: str | None = Field(
        default=None, description="The student in production it must beat; None on the first cycle."
    )
    job_id: str | None = Field(
        default=None, description="Fine-tuning job that produced the candidate; None on command."
    )
    dataset_id: str | None = Field(
        default=None, description="Dataset the candidate was trained on."
    )
    cycle_id: str | None = Field(default=None, description="Distillation cycle.")
    eval_sets: list[EvalSetRef] = Field(default_factory=list, description="Sets the run used.")
    outcome: EvalOutcome = Field(description="passed only when every gate passed.")
    error_message: str | None = Field(default=None, description="Why the run could not finish.")
    gates: list[GateResult] = Field(
        default_factory=list, description="Every gate with its numbers."
    )
    metrics: dict[str, ModelMetrics] = Field(
        default_factory=dict, description="Metrics per model name (candidate, teacher, production)."
    )
    scorers_ran: list[str] = Field(
        default_factory=list,
        description="Scorers that ran, e.g. ['deterministic', 'judge', 'embedding'].",
    )
    report_uri: str | None = Field(
        default=None, description="Where the readable report was written."
    )
    completed_at: AwareDatetime = Field(description="When the run finished.")

    @model_validator(mode="after")
    def _outcome_agrees_with_gates(self) -> EvaluationCompleted:
        if self.outcome is EvalOutcome.PASSED and (
            not self.gates or not all(g.passed for g in self.gates)
        ):
            raise ValueError("outcome 'passed' needs at least one gate and every gate passed")
        if self.outcome is EvalOutcome.FAILED and all(g.passed for g in self.gates):
            raise ValueError("outcome 'failed' needs at least one failed gate")
        if self.outcome is EvalOutcome.ERROR and not self.error_message:
            raise ValueError("outcome 'error' needs an error_message")
        return self

    def event_id(self) -> str:
        return self.run_id

    def partition_key(self) -> str:
        return self.candidate_model


class CallScored(Event):
    """One production call of a rollout arm, scored online by the evaluator."""

    event_type: ClassVar[str] = "CallScored"
    schema_version: ClassVar[int] = 1

    observation_id: str = Field(min_length=1, description="Langfuse observation id of the call.")
    project_id: str | None = Field(
        default=None,
        description="Langfuse project of the call (absent from events scored before it was "
        "added, whose id is then the bare observation id).",
    )
    trace_id: str = Field(min_length=1, description="Langfuse trace id.")
    session_id: str | None = Field(default=None, description="Session (call) id.")
    rollout_id: str = Field(min_length=1, description="Rollout the call was served under.")
    stage_index: int = Field(
        ge=0, description="Rollout stage (0 = first) when the call was served."
    )
    arm: str = Field(
        min_length=1, description="Arm that served it: candidate, production or teacher."
    )
    model: str = Field(min_length=1, description="Model that answered.")
    hallucinated: bool | None = Field(default=None, description="Verdict; None if not checked.")
    hallucination_score: float | None = Field(
        default=None, ge=0.0, le=1.0, description="Hallucination score, 1 = certainly hallucinated."
    )
    judge_outcome: JudgeOutcome | None = Field(
        default=None, description="Judge verdict against the teacher's answer; None if not judged."
    )
    similarity: float | None = Field(
        default=None, ge=-1.0, le=1.0, description="Cosine similarity to the teacher's answer."
    )
    latency_ms: Millis | None = Field(default=None, description="Latency of the call.")
    time_to_first_token_ms: Millis | None = Field(default=None, description="Time to first token.")
    error: bool = Field(default=False, description="The call failed (level ERROR or no answer).")
    cost_usd: Usd | None = Field(
        default=None, description="Cost of the call from usage and prices."
    )
    scored_at: AwareDatetime = Field(description="When the evaluator scored the call.")

    def event_id(self) -> str:
        if self.project_id is None:
            return self.observation_id
        return observation_event_id(self.project_id, self.observation_id)

    def partition_key(self) -> str:
        return self.rollout_id


class AnswerVerdict(BaseModel):
    """One model's answer to an evaluation prompt and what the scorers said of it."""

    role: str = Field(min_length=1, description="candidate, teacher, production or baseline:<model>.")
    model: str = Field(min_length=1, description="The model that answered.")
    text: str | None = Field(default=None, description="The answer as plain text; None if the call failed.")
    error: str | None = Field(default=None, description="Why there is no answer.")
    hallucinated: bool | None = Field(default=None, description="Fact-check verdict; None if not checked.")
    fact_check: str | None = Field(default=None, description="The fact-checker's reason, in words.")
    judge_outcome: JudgeOutcome | None = Field(
        default=None, description="Judge verdict against the teacher's answer; None if not judged.")
    judge_reason: str | None = Field(default=None, description="The judge's reason, in words.")
    similarity: float | None = Field(
        default=None, ge=-1.0, le=1.0, description="Cosine similarity to the teacher's answer.")


class EvaluationItemScored(Event):
    """One prompt of an offline evaluation with every model's answer and verdicts, for
    reading a run answer by answer (the console); the run's verdict stays EvaluationCompleted."""

    event_type: ClassVar[str] = "EvaluationItemScored"
    schema_version: ClassVar[int] = 1

    run_id: str = Field(min_length=1, description="Evaluation run id.")
    item_id: str = Field(min_length=1, description="The prompt's id in its evaluation set.")
    position: Count = Field(description="The prompt's place in the run (0 = first), for stable paging.")
    eval_set: str = Field(min_length=1, description="The evaluation set the prompt belongs to.")
    cycle_id: str | None = Field(default=None, description="Distillation cycle.")
    candidate_model: str = Field(min_length=1, description="The model under evaluation.")
    prompt: str = Field(description="The conversation up to the answer, as plain text.")
    answers: list[AnswerVerdict] = Field(
        min_length=1, description="The candidate's, the teacher's and the production student's answers.")
    trace_id: str | None = Field(default=None, description="Langfuse trace the prompt came from, if any.")
    scored_at: AwareDatetime = Field(description="When the item's scoring finished.")

    def event_id(self) -> str:
        return f"{self.run_id}:{self.item_id}"

    def partition_key(self) -> str:
        return self.run_id
