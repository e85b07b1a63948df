"""The cleaner's Prometheus counters: every verdict by reason, every redaction by kind."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge

from distillery_contracts.examples import ExampleAccepted

if TYPE_CHECKING:  # services.py counts its verdicts here
    from distillery_cleaner.services import Verdict

ACCEPTED = Counter("distillery_cleaner_accepted_total", "Generations accepted as training examples",
                   ["config_hash"])
REJECTED = Counter("distillery_cleaner_rejected_total", "Generations rejected, by reason",
                   ["config_hash", "reason"])
RETRACTED = Counter("distillery_cleaner_retracted_total",
                    "Accepted examples taken back because a late score flagged them", ["config_hash"])
REDACTIONS = Counter("distillery_cleaner_redactions_total", "Personal identifiers replaced, by kind",
                     ["config_hash", "kind"])

TEXT_CACHE = Counter("distillery_cleaner_text_cache_total",
                     "Distinct texts answered from the cleaning cache (hit) or normalised and analysed for "
                     "personal data, named entities included (miss)", ["config_hash", "result"])

SENTENCE_CACHE = Counter("distillery_cleaner_sentence_cache_total",
                         "Distinct sentences of the new texts whose people were known from an earlier batch "
                         "(hit) or read by the named-entity model (miss); none with pii.ner false",
                         ["config_hash", "result"])

PII_PROCESSES = Gauge("distillery_cleaner_pii_processes",
                      "Worker processes finding personal data (DISTILLERY_CLEANER_PII_PROCESSES) with their "
                      "pipeline loaded; 0 while they start or after one died, until new ones are ready")
PII_PROCESS_DEATHS = Counter("distillery_cleaner_pii_process_deaths_total",
                             "Times a personal-data worker process died; the batch it had was analysed in the "
                             "service's own process and new workers were started")


def count_cache_answers(config_hash: str, hits: int, misses: int, sentences_known: int, sentences_read: int) -> None:
    TEXT_CACHE.labels(config_hash, "hit").inc(hits)
    TEXT_CACHE.labels(config_hash, "miss").inc(misses)
    if sentences_known or sentences_read:
        SENTENCE_CACHE.labels(config_hash, "hit").inc(sentences_known)
        SENTENCE_CACHE.labels(config_hash, "miss").inc(sentences_read)


def count_verdicts(verdicts: Iterable[Verdict], config_hash: str) -> None:
    """Count a batch's verdicts; a retraction counts as retracted, not as a new rejection."""
    for verdict in verdicts:
        event = verdict.event
        if isinstance(event, ExampleAccepted):
            ACCEPTED.labels(config_hash).inc()
            for kind, n in event.redactions.items():
                REDACTIONS.labels(config_hash, kind).inc(n)
        elif verdict.retraction:
            RETRACTED.labels(config_hash).inc()
        else:
            REJECTED.labels(config_hash, event.reason.value).inc()
