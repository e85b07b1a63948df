"""A dead letter shortens itself to fit the broker's message limit and still says why and where."""

from distillery_contracts.samples import sample_dead_lettered, sample_trace_captured


def size(letter) -> int:
    return len(letter.model_dump_json().encode())


def test_a_letter_that_fits_is_kept_whole():
    letter = sample_dead_lettered()
    assert letter.shortened_to(size(letter)) is letter
    assert letter.original_bytes is None


def test_a_long_body_is_cut_from_its_end_to_fit_and_its_length_is_kept():
    body = sample_trace_captured(metadata={"note": "é" * 40_000}).model_dump_json()
    letter = sample_dead_lettered(original_value=body)

    short = letter.shortened_to(20_000)
    assert 19_990 < size(short) <= 20_000
    assert body.startswith(short.original_value)
    assert short.original_bytes == len(body.encode())
    assert short.original_headers == letter.original_headers  # the body went first
    assert (short.error_type, short.error_message, short.source_topic, short.partition, short.offset) == (
        letter.error_type, letter.error_message, letter.source_topic, letter.partition, letter.offset)


def test_headers_key_and_reason_go_only_when_the_body_alone_is_not_enough():
    letter = sample_dead_lettered(original_value="v" * 5_000, original_key="k" * 5_000,
                                  original_headers={"h": "w" * 5_000}, error_message="why " * 500)

    short = letter.shortened_to(3_000)
    assert 2_990 < size(short) <= 3_000
    assert (short.original_value, short.original_headers) == ("", {})
    assert short.original_key and "k" * 5_000 != short.original_key
    assert short.error_message == letter.error_message and short.original_bytes == 5_000

    shortest = letter.shortened_to(1_000)
    assert size(shortest) <= 1_000 and shortest.original_key == ""
    assert shortest.error_message.startswith("why why") and shortest.source_topic == letter.source_topic
