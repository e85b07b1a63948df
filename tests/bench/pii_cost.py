"""Cost of PII detection per distinct text (µs), named entities on and off, one by one and batched.

Every text, and every sentence of it, is new to the redactor (cache-cold): the worst case. The
named-entity model's sentence cache is emptied before each measurement and each sentence carries
its text's number. Times are the process's CPU time, so a machine shared with other work still
gives comparable figures. The cleaner sees most texts again (turns repeat earlier turns, every
call repeats the system prompt), which its cache answers in about a microsecond, and many
sentences of its new texts too; ``tests/bench/bench_cleaner.py`` measures whole generations.

    .venv/bin/python tests/bench/pii_cost.py [--texts 600]
"""

from __future__ import annotations

import argparse
import re
import time

from distillery_cleaner.domain.config import PiiConfig
from distillery_cleaner.domain.lru import CACHE_ENTRIES
from distillery_cleaner.domain.pii import PiiRedactor
from distillery_cleaner.pii_evaluation import load_utterances
from distillery_runtime.lru import Lru


_SENTENCE_END = re.compile(r"(?<=[^\s.!?])(?=[.!?]+(?:\s|$))")


def texts(count: int) -> list[str]:
    """Distinct caller turns: the labelled utterances, each sentence numbered so that none repeats."""
    base = [u.text for u in load_utterances("all")]
    return [_SENTENCE_END.sub(f" (turn {i})", f"{base[i % len(base)]} (turn {i})") for i in range(count)]


def cost(ner: bool, batched: bool, sample: list[str]) -> float:
    redactor = PiiRedactor(PiiConfig(ner=ner))
    redactor.redact("warm up the pipeline and the recognisers")
    redactor._analyzer.nlp_engine._entities = Lru(CACHE_ENTRIES)  # no sentence known from an earlier run
    started = time.process_time()
    if batched:
        redactor.prime(sample)
    for text in sample:
        redactor.redact(text)
    return (time.process_time() - started) / len(sample) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=600)
    sample = texts(parser.parse_args().texts)
    print(f"{len(sample)} distinct texts, {sum(map(len, sample)) / len(sample):.0f} characters on average")
    for ner in (True, False):
        for batched in (False, True):
            print(f"NER {'on ' if ner else 'off'} {'batched (nlp.pipe)' if batched else 'one by one        '}"
                  f" {cost(ner, batched, sample):8.0f} µs/text")
    redactor = PiiRedactor(PiiConfig())
    redactor.redact(sample[0])
    started = time.process_time()
    for _ in range(10_000):
        redactor.redact(sample[0])
    print(f"a text seen before (cache)      {(time.process_time() - started) / 10_000 * 1e6:8.2f} µs/text")


if __name__ == "__main__":
    main()
