"""One generation of the voice agent: the teacher's answer, its defects, usage and timing."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from distillery_sandbox.workload.defects import ERROR_MESSAGES, hallucinate, truncate
from distillery_sandbox.workload.records import (
    Cost,
    SimulatedGeneration,
    SimulatedScore,
    Usage,
    estimate_message_tokens,
    estimate_tokens,
    estimate_tools_tokens,
)
from distillery_sandbox.workload.teacher import answer_with_intent

if TYPE_CHECKING:
    from distillery_sandbox.workload.simulate import WorkloadConfig

# Median time to first token (s) and decode speed (tokens/s) of each model.
_SPEED = {"gpt-4.1": (0.55, 75.0), "gpt-4o-mini": (0.35, 120.0), "gpt-3.5-turbo": (0.30, 110.0)}
_DEFAULT_SPEED = (0.5, 80.0)
GENERATION_NAME = "agent-turn"
TRACE_NAME = "clinic-call"
TAGS = ("voice", "clinic-line")


class TurnMaker:
    """Builds generations for the simulator, drawing every random choice from `rng`."""

    def __init__(self, config: WorkloadConfig, rng: random.Random, tools: tuple[dict, ...]):
        self.config, self.rng, self.tools = config, rng, tools
        self.kb = config.knowledge_base
        self._tools_tokens = estimate_tools_tokens(list(tools))
        if config.defects.other_model > 0 and not config.other_models:
            raise ValueError("other_model defects need at least one model in other_models")

    def make(self, ids: dict[str, str], messages: list[dict[str, Any]], start: datetime,
             index: int, call_level: frozenset[str]) -> SimulatedGeneration:
        rng, config = self.rng, self.config
        answer, intent = answer_with_intent(self.kb, messages)
        is_text = not answer.get("tool_calls")
        defect = config.defects.draw_turn_defect(rng, is_text)
        model = config.model
        if rng.random() < config.defects.other_model:
            model = rng.choice(config.other_models)
        defects = set(call_level) | ({defect} if defect else set())
        if model != config.model:
            defects.add("other_model")
        output, finish_reason, hallucination = self._shape_output(defect, answer)
        input_tokens = estimate_message_tokens(messages) + self._tools_tokens
        timing = self._timing(model, defect, output)
        usage = None if defect == "error" else Usage(input_tokens, timing["output_tokens"])
        metadata = {"intent": intent, "channel": "voice",
                    "call_turn": index, "kb_version": self.kb.version}
        if finish_reason:
            metadata["finish_reason"] = finish_reason
        end = start + timedelta(seconds=timing["latency"])
        first_token = timing["ttft"]
        generation = SimulatedGeneration(
            observation_id=ids["observation_id"], trace_id=ids["trace_id"],
            session_id=ids["session_id"], user_id=ids["user_id"], name=GENERATION_NAME,
            trace_name=TRACE_NAME, index=index, start_time=start,
            completion_start_time=None if first_token is None else start + timedelta(seconds=first_token),
            end_time=end, messages=tuple(messages), tools=self.tools,
            output=output, model=model,
            model_parameters={"max_tokens": config.max_tokens, "temperature": config.temperature},
            usage=usage, cost=Cost.of(model, usage) if usage else None,
            level="ERROR" if defect == "error" else "DEFAULT",
            status_message=rng.choice(ERROR_MESSAGES) if defect == "error" else None,
            tags=TAGS, metadata=metadata, environment=config.environment,
            prompt_name=config.prompt_name, prompt_version=config.prompt_version,
            intent=metadata["intent"], defects=frozenset(defects), expected_output=answer,
            hallucination=hallucination,
        )
        return _with_scores(generation, self._scores(ids, generation, defect, is_text, end))

    def _shape_output(self, defect: str | None, answer: dict[str, Any]):
        """The output as served, its finish reason, and what a hallucination changed."""
        rng = self.rng
        if defect == "cut":
            return rng.choice((None, {"role": "assistant", "content": ""})), None, None
        if defect == "error":
            return None, None, None
        if defect == "truncated":
            return {"role": "assistant", "content": truncate(answer["content"], rng)}, "length", None
        if defect == "hallucination":
            text, what = hallucinate(self.kb, answer["content"], rng)
            return {"role": "assistant", "content": text}, "stop", what
        return answer, "tool_calls" if answer.get("tool_calls") else "stop", None

    def _timing(self, model: str, defect: str | None, output: dict[str, Any] | None):
        rng = self.rng
        median_ttft, speed = _SPEED.get(model, _DEFAULT_SPEED)
        ttft = median_ttft * rng.lognormvariate(0.0, 0.35)
        tokens_per_second = speed * rng.uniform(0.75, 1.2)
        if defect == "error":
            return {"ttft": None, "latency": rng.uniform(8.0, 30.0), "output_tokens": 0}
        if defect == "truncated":
            tokens = self.config.max_tokens
        elif output is None:
            return {"ttft": None, "latency": ttft * rng.uniform(0.3, 0.9), "output_tokens": 0}
        else:
            tokens = _output_tokens(output)
        return {"ttft": ttft, "latency": ttft + tokens / tokens_per_second, "output_tokens": tokens}

    def _scores(self, ids: dict[str, str], generation: SimulatedGeneration, defect: str | None,
                is_text: bool, end: datetime) -> tuple[SimulatedScore, ...]:
        rng = self.rng
        scored = defect == "hallucination" or (
            defect is None and is_text and rng.random() < self.config.clean_score_rate
        )
        if not scored:
            return ()
        if defect == "hallucination":
            what = generation.hallucination
            value = 1.0
            comment = f"Contradicts the knowledge base: {what.kind} {what.correct} -> {what.wrong}"
        else:
            value, comment = 0.0, "Consistent with the knowledge base."
        return (
            SimulatedScore(
                score_id=ids["score_id"], name="hallucination", value=value,
                trace_id=generation.trace_id, observation_id=generation.observation_id,
                timestamp=end + timedelta(seconds=rng.uniform(5.0, 300.0)),
                environment=generation.environment, comment=comment,
            ),
        )


def _output_tokens(output: dict[str, Any]) -> int:
    tokens = estimate_tokens(output.get("content") or "")
    for call in output.get("tool_calls") or []:
        tokens += 8 + estimate_tokens(call["function"]["name"] + call["function"]["arguments"])
    return tokens


def _with_scores(generation: SimulatedGeneration, scores: tuple[SimulatedScore, ...]):
    return replace(generation, scores=scores) if scores else generation
