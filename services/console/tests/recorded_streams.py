"""A recorded cycle as the topics carry it, built from the contracts' samples: the console's
unit tests feed it to the fake store, its integration and browser tests to a real broker.

Cycle ``cycle-0042``: dataset v2 (v1 belonged to the cycle before), a fine-tuning job with
its losses, an offline evaluation that passed, twelve scored prompts (every third one
hallucinated, one answer that is a ``<script>``), and a rollout that started, advanced to
25 % and then held on the hallucination gate. For the Data page: two accepted examples and
five rejected ones of cleaner ``cleaner-7``, and one dead letter of ``traces.raw`` whose
message (a whole one, with its envelope headers) can be republished.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from distillery_console.adapters.store import AbstractConsoleStore
from distillery_console.app import build
from distillery_console.config import ConsoleSettings
from distillery_console.adapters.data_store import AbstractDataStore
from distillery_console.adapters.fakes import FakeDataStore, FakeErasureStore
from distillery_console.handlers import Handlers
from distillery_contracts.base import Event
from distillery_contracts.common import Comparator
from distillery_contracts.registry import (
    DATASETS_BUILT,
    EVALUATIONS_COMPLETED,
    EVALUATIONS_ITEMS,
    EXAMPLES_ACCEPTED,
    EXAMPLES_REJECTED,
    FINETUNE_JOBS,
    ROLLOUT_DECISIONS,
    ROUTING_TABLE,
    TRACES_RAW,
)
from distillery_contracts.rollout import RolloutDecision
from distillery_contracts.samples import (
    sample_dead_lettered,
    sample_example_accepted,
    sample_lineage,
    sample_dataset_built,
    sample_evaluation_completed,
    sample_evaluation_item_scored,
    sample_example_rejected,
    sample_finetune_job_changed,
    sample_gate,
    sample_metrics,
    sample_rollout_decided,
    sample_route_table,
)
from distillery_runtime.consumer import delivery_of
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import FakeUnitOfWork

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
CYCLE = "cycle-0042"
RUN = "eval-0042"
ROLLOUT = "ro-0042"
STUDENT = "ft:gpt-4o-mini-2024-07-18:clinic::s42"
TEACHER = "gpt-4.1"
ITEMS = 12
SCRIPT_ANSWER = "<script>window.pwned = 1</script> Thursday at 9:30."
CLEANER = "cleaner-7"
ACCEPTED_TRACE = "tr-accepted-1"
LETTER_EVENT_ID = "tc-obs-0003"
"""Event id the dead-lettered message carries: what a republish puts back on traces.raw."""
HOLD_INTERVAL = (0.031, 0.094)
"""The hallucination rate's interval at the hold: above the threshold 0.03."""


def hallucinated(i: int) -> bool:
    return i % 3 == 0


LOGGED_STEPS = 100
"""The recorded job logs a training loss at every step and a validation loss every 10th."""


def loss_curve(last_step: int) -> list[dict[str, Any]]:
    """The losses the recorded job had logged by ``last_step``."""
    return [{"step": s, "train_loss": round(0.4 + 1.9 * math.exp(-s / 25), 4),
             "valid_loss": round(0.45 + 1.9 * math.exp(-s / 25), 4) if s % 10 == 0 else None,
             "at": (T0 + timedelta(hours=1, minutes=s)).isoformat()} for s in range(1, last_step + 1)]


def checkpoints(last_step: int) -> list[dict[str, Any]]:
    """The checkpoints the recorded job had kept by ``last_step``: one every 25 steps."""
    return [{"step": s, "model": f"{STUDENT}:ckpt-step-{s}", "train_loss": curve["train_loss"],
             "valid_loss": curve["valid_loss"], "at": curve["at"]}
            for s, curve in ((p["step"], p) for p in loss_curve(last_step)) if s % 25 == 0]


def recorded_cycle() -> list[tuple[str, Event]]:
    """(topic, event) in the order they happened."""
    cleaner = CLEANER
    events: list[tuple[str, Event]] = [
        (DATASETS_BUILT, sample_dataset_built(dataset_id="ds-0041", version=1, cycle_id="cycle-0041",
                                              cleaner_versions=[cleaner], built_at=T0 - timedelta(days=7))),
        *[(EXAMPLES_REJECTED, sample_example_rejected(rejection_id=f"rej-{i}", cleaner_version=cleaner,
                                                      reason="hallucination" if i < 3 else "too_long",
                                                      lineage=sample_lineage(observation_id=f"obs-r{i}",
                                                                             trace_id=f"tr-rejected-{i}")))
          for i in range(5)],
        *[(EXAMPLES_ACCEPTED, sample_example_accepted(
            example_id=f"ex-{i}", cleaner_version=cleaner, accepted_at=T0 - timedelta(minutes=10 - i),
            lineage=sample_lineage(observation_id=f"obs-a{i}", trace_id=ACCEPTED_TRACE if i == 0 else f"tr-a{i}",
                                   session_id=f"call-a{i}"))) for i in range(2)],
        (f"{TRACES_RAW}.dlq", dead_letter()),
        (DATASETS_BUILT, sample_dataset_built(dataset_id="ds-0042", version=2, cycle_id=CYCLE,
                                              cleaner_versions=[cleaner], built_at=T0)),
    ]
    for n, (status, step, loss) in enumerate([("queued", None, None), ("running", 50, 0.92),
                                              ("succeeded", 100, 0.41)]):
        events.append((FINETUNE_JOBS, sample_finetune_job_changed(
            job_id="job-0042", dataset_id="ds-0042", cycle_id=CYCLE, status=status,
            fine_tuned_model=STUDENT if status == "succeeded" else None,
            metrics={"step": step, "train_loss": loss, "valid_loss": None if loss is None else loss + 0.05},
            loss_curve=loss_curve(step or 0), checkpoints=checkpoints(step or 0),
            occurred_at=T0 + timedelta(hours=1 + n))))
    events.append((EVALUATIONS_COMPLETED, sample_evaluation_completed(
        run_id=RUN, cycle_id=CYCLE, candidate_model=STUDENT, teacher_model=TEACHER, dataset_id="ds-0042",
        job_id="job-0042", completed_at=T0 + timedelta(hours=5))))
    events += [(EVALUATIONS_ITEMS, item(i)) for i in range(ITEMS)]
    events += [(ROLLOUT_DECISIONS, d) for d in decisions()]
    events.append((ROUTING_TABLE, sample_route_table(
        route="voice-agent", version=3, rollout_id=ROLLOUT, updated_at=T0 + timedelta(hours=8),
        arms=[{"name": "candidate", "model": STUDENT, "provider": "openai", "weight": 25.0},
              {"name": "teacher", "model": TEACHER, "provider": "openai", "weight": 75.0}])))
    return events


def dead_letter():  # noqa: ANN201 - a DeadLettered
    """A TraceCaptured the cleaner gave up on, carried whole with its envelope headers."""
    headers = {"event-id": LETTER_EVENT_ID, "event-type": "TraceCaptured", "schema-version": "1",
               "produced-at": T0.isoformat(), "producer": "trace-ingester/1.0.0"}
    return sample_dead_lettered(consumer_group="distillery.cleaner.main", original_key="call-dl",
                                original_headers=headers, failed_at=T0 + timedelta(minutes=30),
                                original_value='{"trace_id": "tr-dl", "session_id": "call-dl", "observation_id": "obs-0003"}')


def item(i: int):  # noqa: ANN201 - an EvaluationItemScored
    bad = hallucinated(i)
    text = SCRIPT_ANSWER if i == 1 else (
        f"Dr Okafor has 9:30 and 11:{i:02d} free on Thursday." if bad else "Dr Okafor has 9:30 free on Thursday.")
    return sample_evaluation_item_scored(
        run_id=RUN, item_id=f"golden-{i:04d}", position=i, cycle_id=CYCLE, candidate_model=STUDENT,
        prompt=f"user: Can I see Dr Okafor on Thursday morning? (#{i})",
        answers=[
            {"role": "teacher", "model": TEACHER, "text": "Dr Okafor has 9:30 free on Thursday."},
            {"role": "candidate", "model": STUDENT, "text": text, "hallucinated": bad,
             "fact_check": f"11:{i:02d} is not among the slots the tool returned" if bad else None,
             "judge_outcome": "loss" if bad else "tie", "similarity": 0.8 if bad else 0.97},
        ],
        scored_at=T0 + timedelta(hours=4, minutes=i), trace_id=ACCEPTED_TRACE if i == 2 else f"tr-item-{i}")


def decisions():  # noqa: ANN201 - RolloutDecided, oldest first
    metrics = {"candidate": sample_metrics(n=400, cost_per_call_usd=0.0004),
               "teacher": sample_metrics(n=1200, cost_per_call_usd=0.004)}
    common = {"rollout_id": ROLLOUT, "cycle_id": CYCLE, "candidate_model": STUDENT, "teacher_model": TEACHER,
              "arm_metrics": metrics}
    low, high = HOLD_INTERVAL
    hold_gate = sample_gate(name="hallucination", metric="hallucination_rate", model="candidate", value=0.058,
                            threshold=0.03, comparator=Comparator.LE, passed=False, ci_low=low, ci_high=high, n=412)
    return [
        sample_rollout_decided(**common, decision_id=f"{ROLLOUT}:0:started", stage_index=0, stage_percent=10.0,
                               decision=RolloutDecision.STARTED, reason="offline evaluation passed",
                               weights={"candidate": 10.0, "teacher": 90.0}, gates=[],
                               decided_at=T0 + timedelta(hours=6)),
        sample_rollout_decided(**common, decision_id=f"{ROLLOUT}:1:advanced", stage_index=1, stage_percent=25.0,
                               decision=RolloutDecision.ADVANCED, reason="every gate held at n=412",
                               weights={"candidate": 25.0, "teacher": 75.0}, decided_at=T0 + timedelta(hours=7)),
        sample_rollout_decided(**common, decision_id=f"{ROLLOUT}:1:held", stage_index=1, stage_percent=25.0,
                               decision=RolloutDecision.HELD, reason="hallucination interval above the threshold",
                               weights={"candidate": 25.0, "teacher": 75.0}, gates=[hold_gate],
                               decided_at=T0 + timedelta(hours=8)),
    ]


async def feed(store: AbstractConsoleStore, events: list[tuple[str, Event]],
               data: AbstractDataStore | None = None) -> None:
    """Deliver each event to the handler its topic has in the console's service spec."""
    spec = build(RuntimeSettings(), ConsoleSettings())
    by_topic = {s.topic.name: s for s in spec.subscriptions}
    data = data or FakeDataStore()
    handlers = Handlers(lambda _: store, lambda _: data, lambda _: FakeErasureStore(store, data))  # type: ignore[arg-type]
    for topic, event in events:
        sub = by_topic[topic]
        bound = getattr(handlers, sub.handler.__name__)
        await bound(FakeUnitOfWork(), [delivery_of(event, topic=topic)])


def opener(store: AbstractConsoleStore) -> Callable[[], AbstractAsyncContextManager[AbstractConsoleStore]]:
    """The views' store opener over one store (a fake, or a SQL store in a test's session)."""
    @asynccontextmanager
    async def open_store() -> AsyncIterator[AbstractConsoleStore]:
        yield store

    return open_store


def fixed_clock() -> datetime:
    return T0
