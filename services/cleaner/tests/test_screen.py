"""What screening hands to deduplication: the candidate's hash, id, token count and fingerprint.

The filters' verdicts are in test_filters.py; here, a generation that passes them.
"""

from __future__ import annotations

import json
from array import array

from cleaner_samples import CALL, SYSTEM, TOOLS, text_turn, trace

from rensa import RMinHash

from distillery_cleaner.domain.config import CleanerConfig, NearDuplicates
from distillery_cleaner.domain.screen import Candidate, Cleaner, scope_id_of
from distillery_contracts.examples import RejectReason, derive_example_id

QUIET = CleanerConfig(pii={"ner": False})
"""Names found by pattern only: these tests are about what comes after PII."""


def candidate(t, config: CleanerConfig = QUIET, version: str = "0.1.0") -> Candidate:
    result = Cleaner(config, version).screen(t)
    assert isinstance(result, Candidate), result
    return result


def test_the_scope_of_an_index_is_a_stable_signed_64_bit_number():
    # Stored with every indexed example: a new release must find the ids its predecessor wrote.
    assert scope_id_of("0.1.0", "74c769ab86d6b9f7") == 2637278931294970618
    assert scope_id_of("0.3.0", "74c769ab86d6b9f7") == -4341173992597412537
    assert Cleaner(QUIET, "0.1.0").scope_id == scope_id_of("0.1.0", QUIET.config_hash)


def test_the_same_conversation_in_another_call_has_the_same_hash_and_id():
    first = candidate(trace(1, session="call-a"))
    again = candidate(trace(2, session="call-b"))
    assert first.content_hash == again.content_hash
    assert first.example_id == again.example_id == derive_example_id(first.content_hash, "0.1.0",
                                                                      QUIET.config_hash)
    assert candidate(trace(1), version="0.2.0").example_id != first.example_id


def test_a_different_message_or_tool_list_changes_the_hash():
    base = candidate(trace()).content_hash
    other_line = [*CALL[:-1], {"role": "user", "content": "Half nine works, thanks."}]
    assert candidate(trace(messages=other_line)).content_hash != base
    assert candidate(trace(tools=TOOLS[::-1])).content_hash != base
    assert candidate(trace(tools=TOOLS[:1] + TOOLS[1:])).content_hash == base


def test_the_hash_separates_messages_so_moving_text_between_them_changes_it():
    one = text_turn(1, "Hi. Is the clinic open", "Yes, until six o'clock today.", session="a")
    two = text_turn(2, "Hi. Is the clinic open Yes,", " until six o'clock today.", session="b")
    assert candidate(one).content_hash != candidate(two).content_hash


def test_a_tools_list_is_hashed_and_counted_as_written():
    messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Are you open on Saturday?"}]
    answer = {"role": "assistant", "content": "Yes, from nine until one."}
    with_tools = candidate(trace(messages=messages, output=answer))
    without = candidate(trace(messages=messages, output=answer, tools=[]))
    assert with_tools.content_hash != without.content_hash
    cleaner = Cleaner(QUIET, "0.1.0")
    for made in (with_tools, without):
        assert made.token_count == cleaner.tokenizer.count_example(made.example.as_dict())
    assert with_tools.token_count > without.token_count
    # What the accepted event writes as the example's tools: the list as JSON, "[]" for none.
    assert json.loads(with_tools.tools_json) == [t.model_dump(mode="json")
                                                 for t in with_tools.example.tools]
    assert with_tools.example.tools and without.tools_json == b"[]"


def test_the_token_count_is_what_the_fine_tuning_line_costs():
    made = candidate(text_turn(1, "Is the clinic open on Saturday?", "Yes, from nine until one.", session="a"))
    cleaner = Cleaner(QUIET, "0.1.0")
    assert made.token_count == cleaner.tokenizer.count_example(made.example.as_dict())


def test_the_signature_signs_the_conversation_not_the_system_prompt_and_only_when_near_duplicates_are_on():
    cleaner = Cleaner(QUIET, "0.1.0")
    made = candidate(text_turn(1, "Is the clinic open on Saturday?", "Yes, from nine until one.", session="a"))
    fingerprints = cleaner.fingerprints
    # The caller's line alone (the assistant's free text is not shingled by default).
    asked = fingerprints.text_signature("Is the clinic open on Saturday?")
    assert made.signature == asked and len(asked) == 4 * QUIET.near_duplicates.num_perm
    assert "is the clinic" in fingerprints.shingles("Is the clinic open on Saturday?")
    other_prompt = text_turn(1, "Is the clinic open on Saturday?", "Yes, from nine until one.", session="a")
    other_prompt = other_prompt.model_copy(update={"input_messages": [
        other_prompt.input_messages[0].model_copy(update={"content": "You work for another clinic."}),
        *other_prompt.input_messages[1:]]})
    assert candidate(other_prompt).signature == made.signature
    off = CleanerConfig(pii={"ner": False}, near_duplicates=NearDuplicates(enabled=False))
    assert (candidate(trace(), off).signature, candidate(trace(), off).band_keys) == (None, [])


def test_an_examples_signature_is_the_minhash_of_all_its_texts_shingles_together():
    """Each text is signed once and an example's signature is their least values: exactly the
    MinHash of the union of their shingles, as one signing of every shingle would give."""
    cleaner = Cleaner(QUIET, "0.1.0")
    made = cleaner.screen(trace())
    assert isinstance(made, Candidate)
    texts = list(cleaner.fingerprints.texts(m.as_dict() for m in made.example.messages))
    assert len(texts) >= 3
    every_shingle = [s for text in texts for s in cleaner.fingerprints.shingles(text)]
    at_once = RMinHash(QUIET.near_duplicates.num_perm, QUIET.near_duplicates.seed)
    at_once.update(every_shingle)
    assert made.signature == array("I", at_once.digest()).tobytes()
    assert made.band_keys == cleaner.fingerprints.band_keys(made.signature)
    assert len(made.band_keys) == cleaner.fingerprints.layout.bands


def test_a_conversation_without_words_to_shingle_has_no_signature():
    cleaner = Cleaner(QUIET, "0.1.0")
    silent = cleaner.screen(text_turn(1, "?!", "Yes, from nine until one.", session="a"))
    assert isinstance(silent, Candidate)
    assert (silent.signature, silent.band_keys) == (None, [])
    assert cleaner.fingerprints.union([b"", b""]) == b""


def test_band_keys_are_stable_per_version_and_configuration():
    # The index stores them: the same conversation must map to the same keys after a restart.
    made = Cleaner(QUIET, "0.1.0").screen(trace())
    copy = Cleaner(QUIET, "0.1.0").screen(trace(2, session="other"))
    assert copy.band_keys == made.band_keys
    moved = Cleaner(QUIET, "0.2.0").screen(trace())
    assert moved.signature == made.signature and moved.band_keys != made.band_keys


def test_prime_hands_every_message_of_the_answered_generations_to_pii_at_once():
    cleaner = Cleaner(QUIET, "0.1.0")
    seen = []
    cleaner.messages.prime = lambda messages: seen.append(list(messages))  # type: ignore[method-assign]
    answered, unanswered = trace(1), trace(2, output=None, messages=[{"role": "user", "content": "Hello?"}])
    cleaner.prime([answered, unanswered])
    assert len(seen) == 1
    assert [m.content for m in seen[0]] == [m.content for m in (*answered.input_messages, answered.output)]


def test_pii_drop_names_every_kind_found_and_a_redaction_alone_does_not_drop():
    drop_cards = CleanerConfig(pii={"ner": False, "drop": ["CARD"]})
    with_phone = trace()
    assert isinstance(Cleaner(drop_cards, "0.1.0").screen(with_phone), Candidate)
    card = text_turn(1, "My card is 4111 1111 1111 1111, call me on 087 765 4321.", "Thanks, noted.", session="a")
    dropped = Cleaner(drop_cards, "0.1.0").screen(card)
    assert dropped.reason is RejectReason.PII
    assert dropped.detail == "personal data found: CARD×1, PHONE×2"  # the clinic's own number too


def test_a_candidate_carries_its_generation():
    t = trace(3, session="call-q")
    made = candidate(t)
    assert made.trace == t
    assert (made.session_key, made.order_key) == ("call-q", (t.start_time, "obs-0003"))


GERMAN_TOOL = {"type": "function", "function": {
    "name": "find_slot", "description": "Freie Termine für eine Behandlung",
    "parameters": {"type": "object", "properties": {"day": {"type": "string"}}}}}
OPEN_ON_SATURDAY = ([{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Are you open on Saturday?"}],
                    {"role": "assistant", "content": "Yes, from nine until one."})


def test_content_hashes_do_not_change_between_builds_of_one_version():
    # The version names the index's scope, and a fix ships without a version bump: if the hash of
    # the same conversation changed, a re-cleaned call would not be found as its own duplicate.
    messages, answer = OPEN_ON_SATURDAY
    assert candidate(trace(messages=messages, output=answer, tools=[GERMAN_TOOL])).content_hash == \
        "9b9082f74efaff6b59893596fc35e960a985fd5082a211bcf82f6cf68120ca0a"
    assert candidate(trace(messages=messages, output=answer, tools=[])).content_hash == \
        "cb899a53927aa0f68cf39bd79074a9436b17438795019061f52d3580c424c9e3"


def test_the_key_order_of_a_tools_schema_does_not_change_the_hash():
    messages, answer = OPEN_ON_SATURDAY
    reordered = {"function": {"parameters": {"properties": {"day": {"type": "string"}}, "type": "object"},
                              "description": GERMAN_TOOL["function"]["description"], "name": "find_slot"},
                 "type": "function"}
    assert candidate(trace(messages=messages, output=answer, tools=[reordered])).content_hash == \
        candidate(trace(messages=messages, output=answer, tools=[GERMAN_TOOL])).content_hash


def test_tools_lists_shared_by_decoding_are_looked_up_by_identity_and_never_confused(monkeypatch):
    """Generations decoded from the same tools JSON share one list: its JSON, hash input and token
    cost are found without writing it again; another list, though screened next, is its own."""
    from distillery_cleaner.domain import screen
    from distillery_contracts.traces import TraceCaptured

    def decoded(t):
        return TraceCaptured.decode_json(t.model_dump_json().encode())

    first, again = decoded(trace(1, session="a")), decoded(trace(2, session="b"))
    more = [*TOOLS, {"type": "function", "function": {"name": "cancel_appointment"}}]
    wider = decoded(trace(3, session="c", tools=more))
    assert again.tools is first.tools and wider.tools is not first.tools
    cleaner = Cleaner(QUIET, "0.1.0")
    made = cleaner.screen(first)
    real = screen._TOOLS

    class Refusing:
        def dump_json(self, *args, **kwargs):
            raise AssertionError("the shared list was written again")

    monkeypatch.setattr(screen, "_TOOLS", Refusing())
    repeated = cleaner.screen(again)
    assert (repeated.tools_json, repeated.token_count) == (made.tools_json, made.token_count)
    monkeypatch.setattr(screen, "_TOOLS", real)
    own = cleaner.screen(wider)
    assert own.tools_json == real.dump_json(wider.tools) != made.tools_json
    assert own.token_count > made.token_count
    assert own.token_count == cleaner.tokenizer.count_example(own.example.as_dict())
