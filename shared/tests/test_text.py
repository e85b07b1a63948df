"""The text-safety edge: what every input passes before a store or a stream sees it."""

import io
import json

import pytest

from distillery_runtime.text import UnsafeInput, parse_json_line, read_lines, scrub, scrub_json


def test_a_lone_surrogate_and_a_nul_become_the_replacement_character():
    assert scrub("call me\ud83d at\x00 noon") == "call me\ufffd at\ufffd noon"
    assert scrub("plain text") == "plain text"


def test_a_surrogate_pair_split_in_two_code_points_is_joined_not_replaced():
    split = b'"\xed\xa0\xbd\xed\xb8\x80"'.decode("utf-8", "surrogatepass")
    assert scrub(split) == '"\U0001F600"'
    assert scrub_json(split).found is None


def test_scrubbed_json_is_encodable_and_says_what_it_replaced():
    value = json.loads('{"in\\u0000put": ["\\ud83d", {"x": "\\ud83d\\u0000"}], "n": 3}')
    scrubbed = scrub_json(value)
    json.dumps(scrubbed.value, ensure_ascii=False).encode("utf-8")
    assert scrubbed.value == {"in\ufffdput": ["\ufffd", {"x": "\ufffd\ufffd"}], "n": 3}
    assert (scrubbed.surrogates, scrubbed.nuls) == (2, 2)
    assert scrubbed.repaired == "2 lone surrogates and 2 NULs replaced by U+FFFD"


def test_nesting_deeper_than_the_limit_is_refused():
    assert scrub_json([[["ok"]]], max_depth=3).value == [[["ok"]]]
    with pytest.raises(UnsafeInput, match="nested deeper than 3 levels"):
        scrub_json([[[["deep"]]]], max_depth=3)


@pytest.mark.parametrize(("line", "reason"), [
    (b"\xff{}", "not valid UTF-8 (byte 0xff at byte 1)"),
    (b"{nope", "not valid JSON"),
    (b'{"cost": NaN}', "NaN is not a JSON value"),
    (b"[" * 65 + b"]" * 65, "nested deeper than 64 levels"),
    (b"[" * 5000 + b"]" * 5000, "nested deeper than 64 levels"),
    (b'{"a": "' + b"x" * 100 + b'"}', "longer than 100 bytes"),
])
def test_a_line_that_cannot_be_read_safely_is_refused_with_a_reason(line, reason):
    with pytest.raises(UnsafeInput) as refused:
        parse_json_line(line, max_bytes=None if line.startswith(b"[") else 100)
    assert reason in refused.value.reason
    assert "xxxx" not in refused.value.reason  # reasons never quote the line


def test_a_line_of_exactly_the_limit_is_read_and_a_blank_line_is_nothing():
    assert parse_json_line(b'{"a": "xxxxxxx"}\r\n', max_bytes=16).value == {"a": "xxxxxxx"}
    assert parse_json_line(b"  \n") is None


def test_an_over_long_line_is_cut_and_the_lines_after_it_are_read_as_they_are():
    handle = io.BytesIO(b"first\n" + b"y" * 50 + b"\nthird\n" + b"z" * 11)
    lines = list(read_lines(handle, max_bytes=10))
    assert lines == [b"first\n", b"y" * 11, b"third\n", b"z" * 11]
    with pytest.raises(UnsafeInput, match="longer than 10 bytes"):
        parse_json_line(lines[1], max_bytes=10)
