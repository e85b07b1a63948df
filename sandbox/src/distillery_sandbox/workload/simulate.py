"""Simulated production traffic of the clinic's voice line: calls, turns, defects, scores.

Everything is drawn from one `random.Random(seed)`, so the same configuration always
yields the same traffic, ids and timestamps included.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from distillery_sandbox.workload.backend import run_tool, tool_definitions
from distillery_sandbox.workload.callers import CallerAgent, caller_for, plan_agenda
from distillery_sandbox.workload.clinic import default_knowledge_base
from distillery_sandbox.workload.defects import DefectRates, perturb_call
from distillery_sandbox.workload.knowledge import KnowledgeBase
from distillery_sandbox.workload.pii import spoken_pii
from distillery_sandbox.workload.records import SimulatedCall
from distillery_sandbox.workload.turns import TurnMaker


@dataclass(frozen=True)
class WorkloadConfig:
    """What traffic to simulate.

    `user_turns` bounds the caller's turns in each call. Very short calls repeat each
    other word for word (two callers asking only for the address), which a
    deduplicating cleaner rightly drops; at the default of 3 to 7 turns such natural
    near-duplicates stay around 0.5% of calls, so the injected ones stand out. Call
    start times follow a Poisson process at `calls_per_hour` from `start`.
    """

    seed: int = 7
    calls: int = 100
    user_turns: tuple[int, int] = (3, 7)
    start: datetime = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
    calls_per_hour: float = 420.0
    defects: DefectRates = field(default_factory=DefectRates)
    model: str = "gpt-4.1"
    other_models: tuple[str, ...] = ("gpt-4o-mini", "gpt-3.5-turbo")
    max_tokens: int = 256
    temperature: float = 0.3
    environment: str = "production"
    prompt_name: str = "clinic-voice-agent"
    prompt_version: int = 3
    callers: int = 5000
    clean_score_rate: float = 0.25
    knowledge_base: KnowledgeBase = field(default_factory=default_knowledge_base)

    def __post_init__(self) -> None:
        low, high = self.user_turns
        if not 1 <= low <= high:
            raise ValueError(f"user_turns must be (min, max) with 1 <= min <= max, got {self.user_turns}")
        if self.calls < 0:
            raise ValueError(f"calls must not be negative, got {self.calls}")
        if self.calls_per_hour <= 0:
            raise ValueError(f"calls_per_hour must be positive, got {self.calls_per_hour}")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC), e.g. 2026-03-02T08:00:00+00:00")
        if not 0.0 <= self.clean_score_rate <= 1.0:
            raise ValueError(f"clean_score_rate must be between 0 and 1, got {self.clean_score_rate}")


def system_prompt(kb: KnowledgeBase, config: WorkloadConfig) -> str:
    """The agent's system prompt: role, house style and the clinic's facts."""
    facts = "\n".join(f"- {fact.text}" for fact in kb.all_facts())
    return (
        f"You are the phone assistant of {kb.clinic_name}. You speak with callers on the "
        "phone, so answer in one to three short spoken sentences, without lists or markdown. "
        "Only state facts listed below or returned by the tools; use check_availability "
        "before offering times and book_appointment to book or move an appointment.\n"
        f"[prompt {config.prompt_name} v{config.prompt_version}, knowledge {kb.version}]\n"
        f"Facts:\n{facts}"
    )


@dataclass
class _Script:
    """What an original call's caller said, kept so a near-duplicate can repeat it."""

    call_id: str
    caller_index: int
    lines: list[str]


class _ScriptedCaller:
    def __init__(self, lines: list[str]):
        self._lines = list(lines)

    def next_line(self, messages: list[dict[str, Any]]) -> str | None:
        return self._lines.pop(0) if self._lines else None


def simulate_calls(config: WorkloadConfig) -> Iterator[SimulatedCall]:
    """Yield `config.calls` calls in start-time order; deterministic for a given config."""
    rng = random.Random(config.seed)
    kb = config.knowledge_base
    system = {"role": "system", "content": system_prompt(kb, config)}
    turns = TurnMaker(config, rng, tuple(tool_definitions(kb)))
    originals: list[_Script] = []
    clock = config.start
    for _ in range(config.calls):
        clock += timedelta(seconds=rng.expovariate(config.calls_per_hour / 3600.0))
        call_id = f"{rng.getrandbits(128):032x}"
        source = None
        if originals and rng.random() < config.defects.near_duplicate:
            source = rng.choice(originals)
        if source is not None:
            caller_index = source.caller_index
            speaker = _ScriptedCaller(perturb_call(kb, source.lines, rng))
            pii = None
        else:
            caller_index = rng.randrange(config.callers)
            caller = caller_for(caller_index)
            agenda = plan_agenda(kb, rng, rng.randint(*config.user_turns))
            speaker = CallerAgent(kb, rng, caller, agenda)
            pii = None
            if rng.random() < config.defects.pii:
                pii = (rng.randrange(sum(goal.turns() for goal in agenda)), spoken_pii(rng, caller.name))
        run = _CallRun(kb, turns, call_id, caller_for(caller_index).caller_id, system, source)
        call, lines = run.play(speaker, clock, pii)
        if source is None:
            originals.append(_Script(call_id, caller_index, lines))
        yield call


class _CallRun:
    """Plays one call: caller lines, the agent's generations, tool results, defects."""

    def __init__(self, kb: KnowledgeBase, turns: TurnMaker, call_id: str, caller_id: str,
                 system: dict[str, Any], source: _Script | None):
        self._kb, self._turns = kb, turns
        self._call_id, self._caller_id = call_id, caller_id
        self._messages: list[dict[str, Any]] = [system]
        self._source = source

    def play(self, speaker: Any, start: datetime, pii: tuple[int, Any] | None
             ) -> tuple[SimulatedCall, list[str]]:
        rng = self._turns.rng
        clock, generations, lines = start, [], []
        call_level = frozenset({"near_duplicate"} if self._source else ())
        ended = False
        while not ended:
            line = speaker.next_line(self._messages)
            if line is None:
                break
            lines.append(line)
            if pii is not None and len(lines) - 1 == pii[0]:
                line = f"{line} {pii[1].sentence}"
                call_level = call_level | {"pii"}
            self._messages.append({"role": "user", "content": line})
            clock += timedelta(seconds=0.6 + 0.33 * len(line.split()) * rng.uniform(0.8, 1.3))
            ended, clock = self._agent_turn(generations, clock, call_level)
        call = SimulatedCall(
            call_id=self._call_id,
            caller_id=self._caller_id,
            started_at=start,
            generations=tuple(generations),
            duplicate_of=self._source.call_id if self._source else None,
            pii=(pii[1],) if pii is not None and "pii" in call_level else (),
        )
        return call, lines

    def _agent_turn(self, generations: list, clock: datetime, call_level: frozenset[str]
                    ) -> tuple[bool, datetime]:
        """Generations until the agent speaks; True when the call ended during them."""
        failures = 0
        while True:
            generation = self._turns.make(self._ids(), self._messages, clock, len(generations),
                                          call_level)
            generations.append(generation)
            clock = generation.end_time
            if "cut" in generation.defects:
                return True, clock
            if "error" in generation.defects:
                failures += 1
                if failures > 2:
                    return True, clock
                clock += timedelta(seconds=self._turns.rng.uniform(0.2, 1.0))
                continue
            self._messages.append(generation.output)
            if not generation.output.get("tool_calls"):
                return False, clock
            for call in generation.output["tool_calls"]:
                result = run_tool(self._kb, call["function"]["name"], call["function"]["arguments"])
                self._messages.append(
                    {"role": "tool", "tool_call_id": call["id"], "content": json.dumps(result)}
                )
            clock += timedelta(seconds=self._turns.rng.uniform(0.15, 0.6))

    def _ids(self) -> dict[str, str]:
        rng = self._turns.rng
        return {
            "observation_id": f"{rng.getrandbits(64):016x}",
            "trace_id": self._call_id,
            "session_id": self._call_id,
            "user_id": self._caller_id,
            "score_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        }
