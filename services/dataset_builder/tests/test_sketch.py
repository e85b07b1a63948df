"""A conversation's shingles made text by text are the shingles of its whole text."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from distillery_dataset_builder.domain.sketch import (
    conversation_shingles,
    conversation_text,
    shingles,
    sketch_spoken,
    sketch_texts,
    spoken_texts,
)

# Words, short texts (a text of one or two words makes shingles that run across three texts),
# and characters that NFKC or case folding change: ligatures, full-width letters, combining
# marks at the start of a text, "ß", Greek capitals.
_PIECES = st.sampled_from(["book", "me", "in", "Tuesday", "ﬁne", "Ｔｕｅｓｄａｙ", "\u0301e", "e\u0301",
                           "Straße", "ΣΟΦΙΑ", "9:30", "-", "...", " ", "\n", "_"])
_TEXTS = st.lists(st.lists(_PIECES, max_size=8).map(" ".join) | st.text(max_size=12), max_size=7)


@given(_TEXTS)
def test_shingles_made_text_by_text_are_those_of_the_joined_text(texts):
    assert conversation_shingles(texts) == shingles("\n".join(texts))


def test_shingles_run_across_short_texts_and_a_text_without_words_adds_none():
    assert conversation_shingles(["Hi", "...", "yes please", "Done."]) == ["hi yes please", "yes please done"]
    assert conversation_shingles(["Hi", ""]) == ["hi"]
    assert conversation_shingles(["", "..."]) == []


def test_a_conversation_is_sketched_as_its_text():
    messages = [{"role": "system", "content": "You are the clinic's assistant."},
                {"role": "user", "content": "Can I book a check-up on Tuesday?"},
                {"role": "assistant", "content": [{"type": "text", "text": "Yes,"}, {"type": "text", "text": "at 9:30."}]},
                {"role": "tool", "content": "{}", "tool_call_id": "1"},
                {"role": "user", "content": "Great"}]
    conversations = [messages, messages[:2], [{"role": "system", "content": "Only a prompt."}]]
    expected = sketch_texts([conversation_text(m) for m in conversations])
    assert np.array_equal(sketch_spoken([spoken_texts(m) for m in conversations]), expected)
