"""The simulated voice platform: callers talk, the routed chat client answers.

Every assistant turn goes through :class:`distillery_router.client.RoutedChatClient`, so
the arm choice, the model's answer and the Langfuse record follow the code paths a real
voice platform would use. Callers' words come from the sandbox workload's scripts; the
answers are whatever the routed model says, and tool calls are executed against the
clinic's booking backend.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from distillery_router.client import RoutedChatClient
from distillery_runtime.waiting import sleep_unless_stopped
from distillery_sandbox.workload import (
    DefectRates,
    KnowledgeBase,
    SimulatedCall,
    WorkloadConfig,
    run_tool,
    simulate_calls,
)


@dataclass
class VoiceStats:
    calls_started: int = 0
    calls_finished: int = 0
    turns: int = 0
    failures: int = 0
    fallbacks: int = 0
    by_arm: Counter[str] = field(default_factory=Counter)
    by_model: Counter[str] = field(default_factory=Counter)
    usage: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    """Per model: (calls, input tokens, output tokens), from the providers' answers."""

    def add_usage(self, model: str, usage: Any) -> None:
        calls, tokens_in, tokens_out = self.usage.get(model, (0, 0, 0))
        self.usage[model] = (calls + 1, tokens_in + (getattr(usage, "prompt_tokens", 0) or 0),
                             tokens_out + (getattr(usage, "completion_tokens", 0) or 0))


class VoicePlatform:
    """Places calls at ``calls_per_second`` until stopped, at most ``concurrency`` at once."""

    def __init__(self, chat: RoutedChatClient, kb: KnowledgeBase, *, seed: int,
                 calls_per_second: float, concurrency: int = 8, max_tokens: int = 256) -> None:
        self.chat = chat
        self.kb = kb
        self.calls_per_second = calls_per_second
        self.max_tokens = max_tokens
        self.stats = VoiceStats()
        self._slots = asyncio.Semaphore(concurrency)
        self._seed = seed
        self._rng = random.Random(seed)

    def scripts(self) -> Any:
        """Endless clean call scripts (defects come from production history, not from here)."""
        batch = 0
        while True:
            config = WorkloadConfig(seed=self._seed * 1000 + batch, calls=200, defects=DefectRates(),
                                    knowledge_base=self.kb, start=datetime.now(UTC))
            yield from simulate_calls(config)
            batch += 1

    async def run(self, stop: asyncio.Event) -> None:
        tasks: set[asyncio.Task[None]] = set()
        for script in self.scripts():
            if stop.is_set():
                break
            await self._slots.acquire()
            task = asyncio.create_task(self._call(script))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            await sleep_unless_stopped(stop, self._rng.expovariate(self.calls_per_second))
        if tasks:
            await asyncio.wait(tasks, timeout=30)

    async def _call(self, script: SimulatedCall) -> None:
        self.stats.calls_started += 1
        call_id = f"live-{script.call_id}"
        try:
            first = script.generations[0]
            history: list[dict[str, Any]] = [dict(first.messages[0])]
            tools = [dict(t) for t in first.tools]
            for generation in script.generations:
                last = generation.messages[-1]
                if last.get("role") != "user":
                    continue  # a tool-result turn of the script: this platform runs its own tools
                history.append({"role": "user", "content": last["content"]})
                await self._answer(call_id, history, tools)
            self.stats.calls_finished += 1
        except Exception:
            self.stats.failures += 1
        finally:
            self._slots.release()

    async def _answer(self, call_id: str, history: list[dict[str, Any]], tools: list[dict[str, Any]]) -> None:
        for _ in range(3):  # an answer may need a tool call and then a spoken reply
            result = await self.chat.create(call_id=call_id, messages=history, tools=tools or None,
                                            max_tokens=self.max_tokens)
            self.stats.turns += 1
            self.stats.by_arm[result.arm.name] += 1
            self.stats.by_model[result.arm.model] += 1
            self.stats.fallbacks += int(result.fell_back)
            if result.completion.usage is not None:
                self.stats.add_usage(result.arm.model, result.completion.usage)
            message = result.completion.choices[0].message
            calls = message.tool_calls or []
            history.append(_assistant(message.content, calls))
            if not calls:
                return
            for call in calls:
                output = run_tool(self.kb, call.function.name, json.loads(call.function.arguments or "{}"))
                history.append({"role": "tool", "tool_call_id": call.id,
                                "content": output if isinstance(output, str) else json.dumps(output)})


def _assistant(content: str | None, calls: list[Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [{"id": c.id, "type": "function",
                                  "function": {"name": c.function.name, "arguments": c.function.arguments}}
                                 for c in calls]
    return message
