"""Turning Langfuse records into events, inside one unit of work.

Shared by continuous capture, backfills and imports. A generation is claimed in the
``published`` table in the same transaction as its outbox row, so it reaches the stream
once whoever reads it and however often it is read; the same holds for each score id.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from distillery_contracts.base import stable_hash
from distillery_contracts.common import Score
from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.registry import TRACES_RAW, get_topic
from distillery_contracts.traces import TraceCaptured, TraceScored
from distillery_runtime.logs import get_logger
from distillery_trace_ingester.adapters.uow import AbstractIngesterUnitOfWork
from distillery_trace_ingester.domain.mapping import UnmappableObservation, observation_to_trace
from distillery_trace_ingester.domain.records import Claim, Counts, Outcome
from distillery_trace_ingester.domain.scores import score_from_langfuse
from distillery_trace_ingester.metrics import GENERATIONS, LATE_SCORES, UNREADABLE_SCORES

log = get_logger(__name__)

TRACES_DLQ = get_topic(TRACES_RAW).dlq


def observation_key(observation: dict[str, Any]) -> str:
    """The observation id; a content hash for a record that lacks one (so it is claimed once)."""
    key = observation.get("id")
    if isinstance(key, str) and key:
        return key
    return "sha256:" + stable_hash(json.dumps(observation, sort_keys=True, default=str))


def dead_letter(record: dict[str, Any], reason: str, source: str, now: datetime) -> DeadLettered:
    """A Langfuse record the ingester cannot map, kept whole for inspection and replay."""
    return DeadLettered(
        error_type="UnmappableObservation", error_message=reason, source_topic=source, attempts=1,
        failed_at=now, original_key=observation_key(record),
        original_value=json.dumps(record, ensure_ascii=False, default=str),
    )


async def publish_generations(uow: AbstractIngesterUnitOfWork, project_id: str,
                              observations: Sequence[dict[str, Any]],
                              scores_by_observation: dict[str, list[dict[str, Any]]],
                              *, source: str, now: datetime) -> Counts:
    """Emit each unclaimed generation (with its known scores) or its dead letter."""
    unique = {observation_key(o): o for o in observations}
    outcomes = [_outcome(key, obs, scores_by_observation.get(key, []), project_id, source, now)
                for key, obs in unique.items()]
    claimed = await uow.repo.claim(project_id, [claim for claim, _ in outcomes])
    counts = Counts()
    sent_scores: list[tuple[str, str]] = []
    for claim, event in outcomes:
        if claim.observation_id not in claimed:
            counts.already_published += 1
        elif isinstance(event, TraceCaptured):
            uow.emit(TRACES_RAW, event)
            counts.published += 1
            sent_scores += [(claim.observation_id, s.score_id) for s in event.scores]
        else:
            uow.emit(TRACES_DLQ, event)
            counts.dead_lettered += 1
            log.warning("generation dead-lettered", project=project_id,
                        observation_id=claim.observation_id, reason=event.error_message)
    await uow.repo.claim_scores(project_id, sent_scores)
    for outcome in ("published", "dead_lettered", "already_published"):
        GENERATIONS.labels(project_id, outcome).inc(getattr(counts, outcome))
    return counts


def _outcome(key: str, observation: dict[str, Any], scores: list[dict[str, Any]], project_id: str,
             source: str, now: datetime) -> tuple[Claim, TraceCaptured | DeadLettered]:
    try:
        trace = observation_to_trace(observation, scores, project_id, now)
    except Exception as exc:  # one odd record must not stop the capture of all the others
        reason = exc.reason if isinstance(exc, UnmappableObservation) else (
            f"unexpected {type(exc).__name__} while mapping: a defect of the ingester; "
            "republish this record once it is fixed")
        session = observation.get("sessionId")
        claim = Claim(key, str(observation.get("traceId") or ""),
                      session if isinstance(session, str) else None, None, Outcome.DEAD_LETTERED)
        return claim, dead_letter(observation, reason, source, now)
    return Claim(key, trace.trace_id, trace.session_id, trace.start_time, Outcome.PUBLISHED), trace


async def publish_late_scores(uow: AbstractIngesterUnitOfWork, project_id: str,
                              scores_by_observation: dict[str, list[dict[str, Any]]],
                              *, source: str, now: datetime) -> int:
    """Emit a TraceScored for each published generation that has scores not yet sent.

    A score that cannot be read is dead-lettered once, like an unmappable generation.
    Returns how many scores were sent.
    """
    if not scores_by_observation:
        return 0
    targets = await uow.repo.targets(project_id, list(scores_by_observation))
    sent = await uow.repo.sent_scores(project_id, list(targets)) if targets else {}
    fresh: dict[str, list[Score]] = {}
    unreadable: dict[tuple[str, str], DeadLettered] = {}
    for observation_id in targets:
        for raw in scores_by_observation[observation_id]:
            score_id = str(raw.get("id"))
            if score_id in sent.get(observation_id, ()):
                continue
            try:
                fresh.setdefault(observation_id, []).append(score_from_langfuse(raw))
            except UnmappableObservation as exc:
                unreadable[(observation_id, score_id)] = dead_letter(raw, exc.reason, f"{source}/scores", now)
    pairs = [(o, s.score_id) for o, scores in fresh.items() for s in scores]
    claimed = await uow.repo.claim_scores(project_id, pairs + list(unreadable))
    for pair, letter in unreadable.items():
        if pair in claimed:
            uow.emit(TRACES_DLQ, letter)
            UNREADABLE_SCORES.labels(project_id).inc()
    total = 0
    for observation_id, scores in fresh.items():
        mine = sorted((s for s in scores if (observation_id, s.score_id) in claimed),
                      key=lambda s: (s.timestamp, s.score_id))
        if mine:
            target = targets[observation_id]
            uow.emit(TRACES_RAW, TraceScored(project_id=project_id, observation_id=observation_id,
                                             trace_id=target.trace_id, session_id=target.session_id,
                                             scores=mine))
            total += len(mine)
    LATE_SCORES.labels(project_id).inc(total)
    return total
