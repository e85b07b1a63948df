"""The cleaner's use cases: clean a batch of ``traces.raw`` and publish the verdicts,
record the configuration an instance runs under, and clean an export offline
(``distillery clean``) with the same logic over the in-memory store.

Stores come in as arguments (``app.py`` injects the SQL store's factory); only the
offline use case builds its own, the in-memory store, as it runs without a database.

The screening needs no database but a generation's late scores (rare), so the consumer
runs it ahead (:class:`ScreenedAhead`, the subscription's ``prepare``): a batch is
screened while the transaction of the batch before it is in flight, and its handler
screens again only a generation whose late scores it then finds.

Per batch, in a fixed number of store round trips: store the late scores, read the late
scores of the batch's generations, screen every generation (its MinHash signature included),
look up exact and near duplicates for the whole batch at once, index what is kept, and
retract what late scores flagged.

Several instances share the index. An exact duplicate is always caught (the index's key
decides which instance indexed the content first; the other's candidate becomes its
duplicate). Two near-duplicates judged by two instances in the same instant may both be
kept: each looked the index up before the other wrote.

Late scores (``TraceScored``). A score can reach Langfuse minutes after its generation
was published, so the cleaner keeps every late score per observation (``late_scores``):

- a ``TraceScored`` read before its ``TraceCaptured`` (or in the same batch) is applied
  when the generation is screened: it is rejected as ``hallucination`` outright;
- a flagging ``TraceScored`` read after its generation was accepted produces an
  ``ExampleRejected`` (reason ``hallucination``) for that observation under the same
  version. The dataset-builder treats a rejection of an accepted example's observation
  as a retraction. The example also leaves the near-duplicate index, so later calls that
  merely resemble it can be accepted; it stays in the exact index, because an exact copy
  is the same text, hence the same hallucination (and would carry the same example id);
- a late score under its threshold changes nothing, and a flag is never withdrawn: a
  lower score later does not bring a rejected example back (rerun under a new
  configuration to re-judge);
- late scores are forgotten once traces.raw no longer holds their generations
  (``forget_old_late_scores``).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from distillery_contracts.common import Score
from distillery_contracts.envelope import Envelope
from distillery_contracts.examples import ExampleAccepted, ExampleRejected, Lineage, RejectReason
from distillery_contracts.privacy import EraseCaller
from distillery_contracts.registry import EXAMPLES_ACCEPTED, EXAMPLES_REJECTED
from distillery_contracts.traces import TraceCaptured, TraceScored
from distillery_cleaner import __version__
from distillery_cleaner.adapters.memory import MemoryCleanerRepository
from distillery_cleaner.adapters.pii_processes import PiiProcesses
from distillery_cleaner.adapters.repository import AbstractCleanerRepository, ObservationKey
from distillery_cleaner.domain import filters
from distillery_cleaner.domain.config import CleanerConfig
from distillery_cleaner.domain.dedup import resolve_duplicates
from distillery_cleaner.domain.events import accepted_body, accepted_event, lineage_of, rejected_event
from distillery_cleaner.domain.screen import Candidate, Cleaner
from distillery_cleaner.domain.verdicts import Rejection
from distillery_cleaner.metrics import count_cache_answers, count_verdicts
from distillery_runtime import erasure
from distillery_runtime.erasure import AbstractErasureStore
from distillery_runtime.uow import UnitOfWork

T = TypeVar("T")
Caused = tuple[T, Envelope]
"""An event and the envelope it came in (the cause of what is emitted for it)."""
RepositoryFactory = Callable[[UnitOfWork], AbstractCleanerRepository]
"""The store inside a unit of work; ``app.py`` passes the SQL store's, tests a fake's."""


@dataclass(frozen=True)
class Verdict:
    """An event to publish and the observation it judges."""

    event: ExampleAccepted | ExampleRejected
    source: ObservationKey
    retraction: bool = False
    """True when a late score caused it (its cause is the ``TraceScored``)."""
    body: bytes | None = None
    """The event's JSON when already written: an accepted example's, joined from its messages'
    (``events.accepted_body``)."""

    @property
    def topic(self) -> str:
        return EXAMPLES_ACCEPTED if isinstance(self.event, ExampleAccepted) else EXAMPLES_REJECTED


def key_of(event: TraceCaptured | TraceScored) -> ObservationKey:
    return (event.project_id, event.observation_id)


Screened = Candidate | Rejection
"""What screening makes of one generation."""


@asynccontextmanager
async def _counting_cache_answers(cleaner: Cleaner) -> AsyncIterator[None]:
    """Count the text cache's answers, and the sentence cache's of the named-entity model, while
    screening (under the screening lock, so each once)."""
    text, redactor = cleaner.messages.text, cleaner.messages.text.redactor
    hits, misses, known, read = text.hits, text.misses, redactor.sentences_known, redactor.sentences_read
    try:
        yield
    finally:
        count_cache_answers(cleaner.config_hash, text.hits - hits, text.misses - misses,
                            redactor.sentences_known - known, redactor.sentences_read - read)


class ScreenedAhead:
    """Generations screened before their batch's transaction, by event id, for its handler.

    The screening's caches are shared with the handler's: a lock keeps the named-entity
    thread of one from running beside the other's screening. What the last few batches
    screened is kept; a batch rewound and fetched again is screened again.
    """

    def __init__(self, cleaner: Cleaner, batches: int = 2) -> None:
        self.cleaner = cleaner
        self.lock = asyncio.Lock()
        self._batches: deque[dict[str, Screened]] = deque(maxlen=batches)

    async def screen(self, traces: Sequence[Caused[TraceCaptured]]) -> None:
        """Screen ``traces`` (as if no late score had come for them)."""
        if not traces:
            return
        async with self.lock, _counting_cache_answers(self.cleaner):
            await asyncio.to_thread(self.cleaner.prime, [t for t, _ in traces])
            screened: dict[str, Screened] = {}
            for trace, envelope in traces:  # a redelivered event's first delivery is the one applied
                if envelope.event_id not in screened:
                    screened[envelope.event_id] = self.cleaner.screen(trace)
        self._batches.append(screened)

    def take(self, traces: Sequence[Caused[TraceCaptured]]) -> dict[ObservationKey, Screened]:
        """What was screened ahead of ``traces``, by observation (taken: a retry screens again)."""
        found: dict[ObservationKey, Screened] = {}
        seen: set[ObservationKey] = set()
        for trace, envelope in traces:
            outcome = next((b.pop(envelope.event_id) for b in self._batches if envelope.event_id in b), None)
            if key_of(trace) not in seen:  # clean_batch judges an observation's first generation
                seen.add(key_of(trace))
                if outcome is not None:
                    found[key_of(trace)] = outcome
        return found


async def clean_and_publish(uow: UnitOfWork, repo: AbstractCleanerRepository, cleaner: Cleaner,
                            traces: Sequence[Caused[TraceCaptured]], late: Sequence[Caused[TraceScored]],
                            ahead: ScreenedAhead | None = None) -> list[Verdict]:
    """Judge a batch of ``traces.raw`` and emit each verdict, caused by what it judges."""
    verdicts = await clean_batch(cleaner, repo, [t for t, _ in traces], [s for s, _ in late], datetime.now(UTC),
                                 ahead=ahead.take(traces) if ahead is not None else None,
                                 lock=ahead.lock if ahead is not None else None)
    publish_verdicts(uow, verdicts, {key_of(t): e for t, e in traces}, {key_of(s): e for s, e in late})
    count_verdicts(verdicts, cleaner.config_hash)
    return verdicts


def publish_verdicts(uow: UnitOfWork, verdicts: Sequence[Verdict], causes: Mapping[ObservationKey, Envelope],
                     late_causes: Mapping[ObservationKey, Envelope]) -> None:
    """Emit each verdict to its topic; a retraction's cause is the late score, not the trace."""
    for verdict in verdicts:
        cause = (late_causes if verdict.retraction else causes)[verdict.source]
        uow.emit(verdict.topic, verdict.event, cause=cause, body=verdict.body)


async def forget_old_late_scores(repo: AbstractCleanerRepository, retention: timedelta, limit: int,
                                 now: datetime) -> int:
    """Delete at most ``limit`` observations' late scores unchanged for ``retention``: a generation
    screened after that long is no longer in traces.raw to be read (see CleanerSettings)."""
    return await repo.forget_late_scores(now - retention, limit)


async def forget_old_indexed_examples(repo: AbstractCleanerRepository, retention: timedelta, limit: int,
                                      now: datetime) -> int:
    """Take at most ``limit`` examples accepted ``retention`` ago out of the near-duplicate index
    (see CleanerSettings.index_retention_days)."""
    return await repo.forget_indexed_examples(now - retention, limit)


async def erase_callers(uow: UnitOfWork, store: AbstractErasureStore, commands: Sequence[EraseCaller]) -> None:
    """Remove each caller's rows from the dedup index and their late scores."""
    await erasure.erase_callers(uow, store, "cleaner", commands)


async def register_configuration(uow: UnitOfWork, repo: AbstractCleanerRepository, cleaner: Cleaner) -> None:
    """Record the (version, configuration) this instance cleans under, so every scope in the
    index can be traced to its rules; idempotent, committed at once."""
    await repo.register_scope(cleaner.scope_id, cleaner.version, cleaner.config_hash,
                              cleaner.config.canonical_json())
    await uow.commit()


class OfflineCleaner:
    """``distillery clean``: the service's exact screening and dedup on an export, in one process
    (and its personal-data workers, if any).

    Its index is a :class:`MemoryCleanerRepository` built here: an offline run has no
    database, and the index lives as long as the run. With ``pii_processes``, personal data is
    found in that many worker processes, as the service does (:meth:`close` stops them).
    """

    def __init__(self, config: CleanerConfig, pii_processes: int = 0) -> None:
        self.cleaner = Cleaner(config, __version__)
        self.repo = MemoryCleanerRepository()
        self._pii = (PiiProcesses.serving(self.cleaner.messages.text.redactor, config.pii, pii_processes)
                     if pii_processes else None)

    def close(self) -> None:
        if self._pii is not None:
            self._pii.close()

    @property
    def version(self) -> str:
        return self.cleaner.version

    @property
    def config_hash(self) -> str:
        return self.cleaner.config_hash

    async def clean(self, traces: Sequence[TraceCaptured]) -> list[ExampleAccepted | ExampleRejected]:
        """One verdict per observation of ``traces``, in their order; later batches dedup against earlier ones."""
        return [v.event for v in await clean_batch(self.cleaner, self.repo, traces, [], datetime.now(UTC))]

    def reject_unmappable(self, lineage: Lineage, reason: str) -> ExampleRejected:
        """The rejection of a generation the ingester's mapping cannot read (its lineage is known)."""
        return rejected_event(self.cleaner, lineage, Rejection(RejectReason.UNMAPPABLE, reason), datetime.now(UTC))


async def clean_batch(cleaner: Cleaner, repo: AbstractCleanerRepository, traces: Sequence[TraceCaptured],
                      late: Sequence[TraceScored], now: datetime, *,
                      ahead: Mapping[ObservationKey, Screened] | None = None,
                      lock: asyncio.Lock | None = None) -> list[Verdict]:
    """Verdicts for ``traces`` (one per observation, in their order) and retractions caused by
    ``late``. An observation listed twice is judged once. ``ahead`` holds generations already
    screened without late scores (``lock`` is the one their screening held)."""
    first: dict[ObservationKey, TraceCaptured] = {}
    for trace in traces:
        first.setdefault(key_of(trace), trace)
    traces = list(first.values())
    new_scores = _group_scores(late)
    if new_scores:
        await repo.add_late_scores(new_scores)
    verdicts: list[Verdict] = []
    if traces:
        verdicts = await _judge_traces(cleaner, repo, traces, now, ahead or {}, lock or asyncio.Lock())
    if new_scores:
        verdicts += await _retract_flagged(cleaner, repo, new_scores, now)
    return verdicts


async def _judge_traces(cleaner: Cleaner, repo: AbstractCleanerRepository, traces: Sequence[TraceCaptured],
                        now: datetime, ahead: Mapping[ObservationKey, Screened], lock: asyncio.Lock,
                        ) -> list[Verdict]:
    stored = await repo.late_scores_for([key_of(t) for t in traces])
    unscreened = [t for t in traces if key_of(t) not in ahead or stored.get(key_of(t))]
    if unscreened:  # the lock only then: waiting for it would wait for the next batch's screening
        async with lock, _counting_cache_answers(cleaner):
            # Their new texts are analysed together first (named entities, in a worker thread).
            await asyncio.to_thread(cleaner.prime, unscreened)
            screened = [_screened(cleaner, t, ahead.get(key_of(t)), stored.get(key_of(t), ())) for t in traces]
    else:
        screened = [ahead[key_of(t)] for t in traces]
    candidates = [c for c in screened if isinstance(c, Candidate)]
    decided: dict[ObservationKey, Rejection | None] = {}
    if candidates:
        decided = await _deduplicate(cleaner, repo, candidates)
    by_key = {key_of(c.trace): c for c in candidates}
    verdicts = []
    for trace, outcome in zip(traces, screened, strict=True):
        key = key_of(trace)
        rejection = outcome if isinstance(outcome, Rejection) else decided[key]
        if rejection is None:
            accepted = accepted_event(cleaner, by_key[key], now)
            verdicts.append(Verdict(accepted, key, body=accepted_body(accepted, by_key[key])))
        else:
            verdicts.append(Verdict(rejected_event(cleaner, lineage_of(trace), rejection, now), key))
    return verdicts


def _screened(cleaner: Cleaner, trace: TraceCaptured, ahead: Screened | None, late_scores: Sequence[Score]) -> Screened:
    """The screening of ``trace``: the one done ahead, unless late scores came for it since."""
    return ahead if ahead is not None and not late_scores else cleaner.screen(trace, late_scores)


async def _deduplicate(cleaner: Cleaner, repo: AbstractCleanerRepository,
                       candidates: list[Candidate]) -> dict[ObservationKey, Rejection | None]:
    scope = cleaner.scope_id
    exact = await repo.find_exact(scope, sorted({c.content_hash for c in candidates}))
    keys = sorted({k for c in candidates for k in c.band_keys})
    near = await repo.find_near(scope, keys) if keys else []
    near_config = cleaner.config.near_duplicates
    resolved = resolve_duplicates(candidates, exact, near, near_config.threshold, near_config.num_perm)
    kept = [c for c, rejection in resolved if rejection is None]
    decided = {key_of(c.trace): rejection for c, rejection in resolved}
    inserted = await repo.add_examples(scope, kept)
    lost = [c for c in kept if c.content_hash not in inserted]
    if lost:  # another instance indexed the same content since our lookup
        winners = await repo.find_exact(scope, [c.content_hash for c in lost])
        for candidate in lost:
            decided[key_of(candidate.trace)] = Rejection(
                RejectReason.DUPLICATE_EXACT, "same normalised conversation as the kept example",
                duplicate_of=winners[candidate.content_hash])
    return decided


async def _retract_flagged(cleaner: Cleaner, repo: AbstractCleanerRepository,
                           new_scores: dict[ObservationKey, list[Score]], now: datetime) -> list[Verdict]:
    flagged: dict[ObservationKey, Rejection] = {}
    for key, scores in new_scores.items():
        rejection = filters.check_hallucination(scores, cleaner.config.hallucination_scores)
        if rejection is not None:
            flagged[key] = rejection
    if not flagged:
        return []
    verdicts = []
    for retracted in await repo.retract(cleaner.scope_id, list(flagged)):
        key = (retracted.lineage.project_id, retracted.lineage.observation_id)
        why = flagged[key]
        rejection = Rejection(why.reason, f"late {why.detail}; retracts {retracted.example_id}")
        verdicts.append(Verdict(rejected_event(cleaner, retracted.lineage, rejection, now), key, retraction=True))
    return verdicts


def _group_scores(late: Sequence[TraceScored]) -> dict[ObservationKey, list[Score]]:
    grouped: dict[ObservationKey, dict[str, Score]] = defaultdict(dict)
    for event in late:
        grouped[key_of(event)].update((s.score_id, s) for s in event.scores)
    return {key: list(scores.values()) for key, scores in grouped.items()}
