"""The real embedding scorer: all-MiniLM-L6-v2 from its PyPI package, loaded offline.

The one evaluator test that imports PyTorch and loads the model (tens of seconds on a busy
2-core machine); every other evaluator test uses the fake embedder.
"""

from __future__ import annotations

import pytest

from distillery_evaluator.adapters.embeddings import MiniLmEmbedder, cosine
from distillery_evaluator.domain.evalset import GOLDEN, EvalItem
from distillery_evaluator.domain.results import Answer
from distillery_evaluator.scorers import EmbeddingSimilarityScorer, ScoringCase

pytestmark = pytest.mark.integration


async def test_paraphrases_score_close_to_the_teacher_and_unrelated_answers_far(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = MiniLmEmbedder()
    item = EvalItem("g-1", GOLDEN, [{"role": "user", "content": "How much is a skin check?"}],
                    ["A skin check costs €90."])
    teacher = Answer("g-1", "teacher", "gpt-4.1", "A skin check costs €90 and takes 30 minutes.")
    paraphrase = Answer("g-1", "candidate", "s", "It's €90 for a skin check, about half an hour.")
    unrelated = Answer("g-1", "production", "p", "We're closed on Sundays, I'm afraid.")

    scores = await EmbeddingSimilarityScorer(embedder).score(
        [ScoringCase(item, paraphrase, teacher), ScoringCase(item, unrelated, teacher)])

    close, far = (s.value for s in scores)
    assert close > 0.6 > far
    assert scores[0].detail == {"model": "all-MiniLM-L6-v2"}
    [a, b] = await embedder.embed(["same words", "same words"])
    assert cosine(a, b) > 0.999 and len(a) == 384
