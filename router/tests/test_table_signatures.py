"""A follower given the controller's key applies only tables the controller signed: a forged or
out-of-sequence table, whatever its version, leaves the last good table in force."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from distillery_router import RouteTable, Router, TableKeyError, TableKeys
from distillery_router.signature import signed_message
from distillery_router.table import TableSignature
from routing_api import ROUTE, FakeRoutingApi, TableFactory, follower_for

CONTROLLER = Ed25519PrivateKey.generate()
IMPOSTOR = Ed25519PrivateKey.generate()


def public(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


KEYS = TableKeys({"rollout-controller": public(CONTROLLER)})


def signed(table: RouteTable, key: Ed25519PrivateKey = CONTROLLER, key_id: str = "rollout-controller") -> RouteTable:
    value = base64.b64encode(key.sign(signed_message(table))).decode()
    return table.model_copy(update={"signature": TableSignature(key_id=key_id, value=value)})


async def test_an_out_of_sequence_or_forged_table_keeps_the_last_good_one(
    api: FakeRoutingApi, router: Router, table_of: TableFactory, caplog: pytest.LogCaptureFixture
) -> None:
    good = signed(table_of(version=5, student=10, teacher=90))
    api.serve(good)
    async with follower_for(api, router, table_keys=KEYS) as follower:
        forged_huge = table_of(version=2**62, student=100, teacher=0)
        older = signed(table_of(version=4, student=100, teacher=0))
        impostor = signed(table_of(version=6, student=100, teacher=0), IMPOSTOR)
        stranger = signed(table_of(version=6, student=100, teacher=0), IMPOSTOR, "someone")
        altered = good.model_copy(update={"version": 7})
        with caplog.at_level(logging.WARNING):
            for table in (forged_huge, older, impostor, stranger, altered):
                assert not await follower.apply(table)
        assert router.table(ROUTE).version == 5 and router.choose(ROUTE, "c").name in ("student", "teacher")
        assert follower.refused == 4  # the older one is signed: Router refuses it as not newer
        assert "unsigned table for route 'voice-agent' version 4611686018427387904" in caplog.text
        assert "signed by unknown key 'someone'" in caplog.text and "with a bad signature" in caplog.text

        newer = signed(table_of(version=6, student=25, teacher=75))
        api.serve(newer)
        assert await follower.refresh() == 1  # the forged huge version blocks nothing
    assert router.table(ROUTE) == newer


async def test_a_table_served_over_http_without_a_signature_is_not_applied(
    api: FakeRoutingApi, router: Router, table_of: TableFactory
) -> None:
    api.serve(table_of(version=1, student=100))
    async with follower_for(api, router, table_keys=KEYS) as follower:
        assert follower.refused == 1 and router.table(ROUTE) is None


def test_table_keys_come_from_the_controllers_public_entry_file(tmp_path: Path, table_of: TableFactory) -> None:
    path = tmp_path / "rollout-controller.pub.json"
    path.write_text(json.dumps([{"identity": "rollout-controller", "role": "controller",
                                 "public_key": public(CONTROLLER)}]))
    assert TableKeys.load(path).refusal(signed(table_of(version=1, student=100))) is None
    path.write_text(json.dumps([{"identity": "ana", "role": "operator", "public_key": public(CONTROLLER)}]))
    with pytest.raises(TableKeyError, match="'ana' is a operator, not a controller key"):
        TableKeys.load(path)
    with pytest.raises(TableKeyError, match="not the base64 of 32 bytes"):
        TableKeys({"x": "AAAA"})


SIGNED_VECTOR = {
    "route": "voice-agent", "version": 7, "rollout_id": "ro-0003", "updated_at": "2026-12-07T04:00:00Z",
    "arms": [{"name": "teacher", "model": "gpt-4.1", "provider": "openai", "deployment": None, "weight": 10.0},
             {"name": "student", "model": "clinic-ü-v3", "provider": "vllm", "deployment": "lora-3",
              "weight": 90.0}],
}
"""One table and, below, the bytes the controller signs for it: ``contracts/tests/test_signatures.py``
holds the same pair, so the router's copy of the signed message and the contracts' stay one."""
SIGNED_VECTOR_MESSAGE = (
    'distillery-signature-v1\nRouteTableUpdated\n{"arms":[{"deployment":null,"model":"gpt-4.1","name":"teacher",'
    '"provider":"openai","weight":10.0},{"deployment":"lora-3","model":"clinic-ü-v3","name":"student",'
    '"provider":"vllm","weight":90.0}],"rollout_id":"ro-0003","route":"voice-agent",'
    '"updated_at":"2026-12-07T04:00:00Z","version":7}').encode()


def test_the_signed_message_is_the_controllers_byte_for_byte_and_covers_every_arm():
    table = RouteTable.model_validate(SIGNED_VECTOR)
    assert signed_message(table) == SIGNED_VECTOR_MESSAGE
    good = signed(table)
    assert KEYS.refusal(good) is None
    shifted = good.model_copy(update={"arms": tuple(
        arm.model_copy(update={"weight": 100.0 - arm.weight}) for arm in good.arms)})
    assert KEYS.refusal(shifted) == "table for route 'voice-agent' version 7 with a bad signature"


def test_a_signature_with_anything_but_base64_in_it_is_refused(table_of: TableFactory) -> None:
    good = signed(table_of(version=1, student=100))
    padded = good.model_copy(update={"signature": TableSignature(key_id="rollout-controller",
                                                                 value=good.signature.value + "!")})
    assert KEYS.refusal(padded) == "table for route 'voice-agent' version 1 with a bad signature"


def test_a_key_file_that_cannot_be_used_is_one_line_naming_the_file_and_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "keys.pub.json"
    for content, message in [
        ("{", f"cannot read trusted table keys {path}: "),
        ("{}", f"{path} must hold a JSON list of key entries"),
        ("[]", f"{path}: no trusted table keys given"),
        (json.dumps([{"identity": "rollout-controller", "public_key": public(CONTROLLER)}, {"identity": "x"}]),
         f"{path}: entry 2 needs identity and public_key"),
        (json.dumps(["rollout-controller"]), f"{path}: entry 1 needs identity and public_key"),
        (json.dumps([{"identity": "c", "public_key": "AAAA"}]), f"{path}: the public key of 'c' is not the base64"),
        (json.dumps([{"identity": "c", "public_key": public(CONTROLLER) + "!"}]), f"{path}: the public key of 'c'"),
    ]:
        path.write_text(content, encoding="utf-8")
        with pytest.raises(TableKeyError) as refused:
            TableKeys.load(path)
        assert str(refused.value).startswith(message), content
    # An entry without a role is the controller's, as the controller writes it.
    path.write_text(json.dumps([{"identity": "c", "public_key": public(CONTROLLER)}]), encoding="utf-8")
    assert TableKeys.load(path).refusal(signed(RouteTable.model_validate(SIGNED_VECTOR), key_id="c")) is None
    with pytest.raises(TableKeyError, match="^table keys: no trusted table keys given$"):
        TableKeys.from_entries([])


def test_a_refusal_quotes_at_most_80_characters_of_an_unknown_key_id(table_of: TableFactory) -> None:
    table = signed(table_of(version=1, student=100), IMPOSTOR, "k" * 200)
    assert KEYS.refusal(table) == f"table for route 'voice-agent' version 1 signed by unknown key {'k' * 80!r}"
