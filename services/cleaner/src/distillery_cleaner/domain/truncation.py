"""Does a text answer stop in the middle of a sentence?

A model stopped by its token limit leaves text like ``"Dr. Okafor is free on Tuesday
at"``: no terminal punctuation, the last word complete-looking or dangling after a comma.
Complete answers end in punctuation, a question mark, a closing quote or bracket, a
number ("It's €95"), an emoji, or a placeholder such as ``<PHONE>``. One-word replies
("Okay") are complete as they are. Tool-call outputs are never judged here.
"""

from __future__ import annotations

import re
import unicodedata

_DANGLING = frozenset(",;:-–—&/(+=")
_ADDRESS_LIKE = re.compile(r"(@|/|\w\.\w{2,}$)")


def stops_mid_sentence(text: str) -> bool:
    """True when ``text`` looks cut off: see the module docstring for what counts."""
    text = text.rstrip()
    if not text:
        return False
    last = text[-1]
    if last in _DANGLING:
        return True
    # Only a letter can end a cut-off word: terminal punctuation, closing quotes and brackets,
    # digits, symbols (emoji, currency) and emoji joiners all end a complete answer. (Listing
    # them one by one was a check no input could reach differently: mutation testing showed it.)
    if not unicodedata.category(last).startswith("L"):
        return False
    words = text.split()
    if len(words) < 2:
        return False
    return not _ADDRESS_LIKE.search(words[-1])
