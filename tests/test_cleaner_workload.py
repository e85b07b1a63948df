"""The cleaner benchmarks' workload makes every sentence of a caller's line its call's own: the
named-entity model reads sentences, and caches them, so a line made unique by one word at its end
would still bring the sandbox's shared sentences ("Great, thank you.") to the cache."""

from __future__ import annotations

import pytest
from spacy.lang.en import English
from spacy.pipeline import Sentencizer

import cleaner_workload as workload

_NLP = English()
_SENTENCIZER = Sentencizer()


def sentences(text: str) -> list[str]:
    """``text``'s sentences as the cleaner's named-entity engine splits them."""
    return [s.text.strip() for s in _SENTENCIZER(_NLP.make_doc(text)).sents if s.text.strip()]


@pytest.mark.parametrize("line", [
    "Cheers, bye.",
    "How much do your services cost? Also, are you open on Wednesday?",
    "yes please",
    "Great, thank you! Bye.",
    "Wait...  is it at 10:30?",
    "Mail jane.doe@example.com. Thanks",
    "Ok. ",
])
def test_each_sentence_of_a_line_carries_its_calls_word(line):
    word = workload.call_word("call-1")
    marked = workload.with_call_word(line, word)
    assert len(sentences(marked)) == len(sentences(line))
    assert all(word in sentence for sentence in sentences(marked)), sentences(marked)
    assert marked.replace(f" {word}", "") == line  # nothing else changed


def test_two_calls_saying_the_same_line_share_no_sentence():
    line = "Great, thank you. Which insurance do you accept? Bye!"
    one, two = (workload.with_call_word(line, workload.call_word(c)) for c in ("call-1", "call-2"))
    assert not set(sentences(one)) & set(sentences(two))
    assert workload.call_word("call-1").isalpha() and " " not in workload.call_word("call-1")
