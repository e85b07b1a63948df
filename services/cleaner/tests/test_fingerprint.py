"""What the near-duplicate index stores of an example: its shingles' MinHash, cut into band keys.

Shingles are word n-grams of the configured parts of the conversation; an example's signature
is the least of its texts' signatures in each position; a band key is the band's number over
a CRC of its values.
"""

from __future__ import annotations

import zlib
from array import array

from rensa import RMinHash

from distillery_cleaner.domain.config import NearDuplicates
from distillery_cleaner.domain.fingerprint import BandLayout, Fingerprinter

THREE = NearDuplicates(num_perm=16)


def packed(*values: int) -> bytes:
    return array("I", values).tobytes()


def test_shingles_are_runs_of_words_and_a_short_text_is_one_shingle():
    three = Fingerprinter(THREE)
    assert three.shingles("Is the clinic, open? Today") == ["is the clinic", "the clinic open", "clinic open today"]
    assert three.shingles("Open today?") == ["open today"]
    assert three.shingles("Open the clinic") == ["open the clinic"]
    assert three.shingles("?!") == []
    assert Fingerprinter(NearDuplicates(shingle_words=1)).shingles("Open, open today") == ["open", "open", "today"]
    assert Fingerprinter(NearDuplicates(shingle_words=2)).shingles("a b c") == ["a b", "b c"]


def test_the_shingled_texts_are_the_configured_roles_and_tool_calls_as_name_and_arguments():
    call = {"id": "c1", "type": "function", "function": {"name": "book", "arguments": '{"day": "monday"}'}}
    messages = [{"role": "system", "content": "You are the clinic."}, {"role": "user", "content": "Book me in"},
                {"role": "assistant", "content": "Done", "tool_calls": [call]},
                {"role": "tool", "content": "booked", "tool_call_id": "c1"}]
    assert list(Fingerprinter(NearDuplicates()).texts(messages)) == [
        "Book me in", 'book {"day": "monday"}', "booked"]
    only_users = Fingerprinter(NearDuplicates(roles=("user", "assistant")))
    assert list(only_users.texts(messages)) == ["Book me in", "Done"]


def test_a_texts_signature_is_the_minhash_of_its_shingles_and_none_without_words():
    fingerprints = Fingerprinter(THREE)
    expected = RMinHash(16, THREE.seed)
    expected.update(["is the clinic", "the clinic open"])
    assert fingerprints.text_signature("Is the clinic open") == array("I", expected.digest()).tobytes()
    assert fingerprints.text_signature("...") == b""
    assert fingerprints.signature([{"role": "user", "content": "..."}]) == b""
    off = Fingerprinter(NearDuplicates(enabled=False, num_perm=16))
    assert off.signature([{"role": "user", "content": "Is the clinic open"}]) == b""
    assert fingerprints.text_signature.cache_info().maxsize == 16_384


def test_the_union_is_the_least_value_in_each_position():
    one, two, three = packed(5, 1, 9, 4), packed(3, 8, 9, 6), packed(7, 2, 0, 5)
    assert Fingerprinter.union([one, b"", two, three]) == packed(3, 1, 0, 4)
    assert Fingerprinter.union([one, two]) == packed(3, 1, 9, 4)
    assert Fingerprinter.union([b"", two]) == two
    assert Fingerprinter.union([b"", b""]) == b"" == Fingerprinter.union([])


def test_each_band_key_is_its_number_over_the_crc_of_its_own_values():
    fingerprints = Fingerprinter(NearDuplicates(num_perm=16, threshold=0.9), salt=b"scope")
    layout = fingerprints.layout
    assert (layout.bands, layout.rows) == (4, 4)
    signature = packed(*range(16))
    keys = fingerprints.band_keys(signature)
    assert [key >> 32 for key in keys] == [0, 1, 2, 3]
    assert keys[2] & 0xFFFFFFFF == zlib.crc32(packed(8, 9, 10, 11), zlib.crc32(b"scope"))
    changed = fingerprints.band_keys(packed(*range(8), 99, *range(9, 16)))  # a value of band 2 only
    assert [a == b for a, b in zip(keys, changed, strict=True)] == [True, True, False, True]


def test_the_layout_is_the_most_selective_that_finds_a_pair_at_the_threshold():
    def recall(t: float, bands: int, rows: int) -> float:
        return 1 - (1 - t**rows) ** bands

    assert BandLayout.for_threshold(0.8, 128) == BandLayout(18, 7)
    assert recall(0.8, 18, 7) >= 0.98 > recall(0.8, 16, 8)  # eight rows a band would miss pairs
    assert BandLayout.for_threshold(0.9, 16) == BandLayout(4, 4)
    assert BandLayout.for_threshold(0.5, 16) == BandLayout(16, 1)
    # No layout of 16 values finds a pair at 0.01 98% of the time: then every value is its own band.
    assert recall(0.01, 16, 1) < 0.98
    assert BandLayout.for_threshold(0.01, 16) == BandLayout(16, 1)
