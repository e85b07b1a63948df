"""Presidio and spaCy, imported without the PyTorch and transformers they would load for nothing.

Presidio's analyzer imports its Hugging Face engine (so ``transformers``) and looks for a CUDA
device through ``torch``; thinc, under spaCy, imports ``torch`` too, wherever they are
installed. The cleaner depends on neither: its spaCy pipelines run on the CPU through thinc's
numpy operations (``domain.pii._pipeline``) and it uses no transformer engine. A cleaner's own
process already hides both (``distillery_runtime.imports``); this module does it for every
other process that cleans text in the one development environment (``distillery clean``, the
benchmarks, a test session), only while these libraries are imported. There it took the import
of ``domain.pii`` from 7.4 s and 467 MiB to 3.5 s and 318 MiB. The cleaner imports Presidio
through this module only.
"""

from __future__ import annotations

from distillery_runtime.imports import undeclared_hidden

with undeclared_hidden("distillery-cleaner"):
    import thinc.api  # noqa: F401  # thinc decides here, once a process, whether PyTorch is installed
    from presidio_analyzer import (
        AnalyzerEngine,
        EntityRecognizer,
        Pattern,
        PatternRecognizer,
        RecognizerRegistry,
        RecognizerResult,
    )
    from presidio_analyzer.context_aware_enhancers import ContextAwareEnhancer
    from presidio_analyzer.nlp_engine import NerModelConfiguration, NlpArtifacts, SpacyNlpEngine
    from presidio_analyzer.pattern_recognizer import REGEX_TIMEOUT_SECONDS
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        PhoneRecognizer,
        SpacyRecognizer,
        UkNinoRecognizer,
    )
    from presidio_anonymizer import AnonymizerEngine
    from spacy.pipeline import Sentencizer
    from spacy.util import filter_spans

__all__ = [
    "REGEX_TIMEOUT_SECONDS", "AnalyzerEngine", "AnonymizerEngine", "ContextAwareEnhancer", "CreditCardRecognizer",
    "EmailRecognizer", "EntityRecognizer", "IbanRecognizer", "NerModelConfiguration", "NlpArtifacts", "Pattern",
    "PatternRecognizer", "PhoneRecognizer", "RecognizerRegistry", "RecognizerResult", "Sentencizer",
    "SpacyNlpEngine", "SpacyRecognizer", "UkNinoRecognizer", "filter_spans",
]
