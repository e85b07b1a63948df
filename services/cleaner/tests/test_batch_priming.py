"""A delivery batch's texts reach the redactor together, once each, off the event loop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from cleaner_samples import SYSTEM, text_turn

from distillery_cleaner.domain.pii import Counts, PiiRedactor
from distillery_cleaner.domain.screen import Cleaner
from distillery_cleaner.domain.text import TextCleaner
from distillery_cleaner.services import clean_batch


class RecordingRedactor:
    """Stands in for (or wraps) the redactor and records what it was asked, from which thread."""

    def __init__(self, inner: PiiRedactor | None = None) -> None:
        self.inner = inner
        self.primed: list[list[str]] = []
        self.redacted: list[str] = []
        self.prime_threads: set[int] = set()

    @property
    def sentences_known(self) -> int:
        return self.inner.sentences_known if self.inner is not None else 0

    @property
    def sentences_read(self) -> int:
        return self.inner.sentences_read if self.inner is not None else 0

    def prime(self, texts: list[str]) -> None:
        self.primed.append(list(texts))
        self.prime_threads.add(threading.get_ident())
        if self.inner is not None:
            self.inner.prime(texts)

    def redact(self, text: str) -> tuple[str, Counts]:
        self.redacted.append(text)
        return self.inner.redact(text) if self.inner is not None else (text.upper(), ())


def test_priming_cleans_each_new_text_once_in_one_batch_and_counts_cache_hits():
    redactor = RecordingRedactor()
    text = TextCleaner(redactor)  # type: ignore[arg-type]
    text.prime(["call me  on 087", "hello", "call me  on 087"])
    assert redactor.primed == [["call me on 087", "hello"]], "normalised, each distinct text once, one call"
    assert text.clean("call me  on 087") == ("CALL ME ON 087", ())
    assert redactor.redacted == ["call me on 087", "hello"], "clean answered from the cache"
    text.prime(["hello", "bye"])
    assert redactor.primed[-1] == ["bye"], "only texts not cleaned before"
    assert (text.hits, text.misses) == (2, 3), "hits: the repeat in the first batch, 'hello' in the second"
    text.clean("new text")
    assert (text.hits, text.misses) == (2, 4)


async def test_a_batch_is_primed_off_the_event_loop_and_judged_as_without_priming(cleaner: Cleaner, repo):
    traces = [text_turn(n, f"Hi, this is caller {n}, can I book a check-up?", "Yes, Tuesday at ten.",
                        session=f"call-{n}") for n in range(1, 5)]
    plain = Cleaner(cleaner.config, cleaner.version)
    expected = await clean_batch(plain, type(repo)(), traces, [], datetime(2026, 9, 1, tzinfo=UTC))
    recording = RecordingRedactor(cleaner.messages.text.redactor)
    cleaner.messages.text.redactor = recording  # type: ignore[assignment]
    verdicts = await clean_batch(cleaner, repo, traces, [], datetime(2026, 9, 1, tzinfo=UTC))
    assert [v.event for v in verdicts] == [v.event for v in expected]
    assert len(recording.primed) == 1 and SYSTEM.strip() in recording.primed[0]
    assert all(f"caller {n}" in " ".join(recording.primed[0]) for n in range(1, 5))
    assert recording.prime_threads and threading.get_ident() not in recording.prime_threads
