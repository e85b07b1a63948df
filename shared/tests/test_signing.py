"""Only a trusted key's signature over exactly what a message says makes it trusted."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime

import pytest

from distillery_contracts.commands import AdvanceRollout, PauseRollout
from distillery_contracts.samples import sample_route_table
from distillery_contracts.signatures import Signature
from distillery_runtime.errors import PermanentError
from distillery_runtime.signing import (
    OPERATOR,
    VIEWER,
    Keyring,
    KeyFileError,
    SignatureRefused,
    SigningKey,
    write_key_file,
)

ALICE = SigningKey.generate("alice", OPERATOR)
MALLORY = SigningKey.generate("alice", OPERATOR)  # same name, another key


def advance(**changes) -> AdvanceRollout:
    values = {"rollout_id": "ro-1", "requested_by": "alice", "force": True, "reason": "hotfix",
              "requested_at": datetime(2026, 12, 2, tzinfo=UTC), "command_id": "c-1"}
    return AdvanceRollout(**{**values, **changes})


def test_a_command_signed_by_a_trusted_key_verifies_after_travelling_as_json():
    signed = ALICE.sign(advance())
    travelled = AdvanceRollout.model_validate_json(signed.model_dump_json())

    assert Keyring([ALICE.trusted()]).verify(travelled) == ALICE.trusted()


@pytest.mark.parametrize("tamper", [
    {"force": False}, {"rollout_id": "ro-2"}, {"requested_by": "bob"}, {"reason": "other"},
    {"command_id": "c-2"}, {"requested_at": datetime(2026, 12, 3, tzinfo=UTC)},
])
def test_changing_any_field_of_a_signed_command_breaks_its_signature(tamper):
    changed = ALICE.sign(advance()).model_copy(update=tamper)
    with pytest.raises(SignatureRefused, match="bad signature for key 'alice'"):
        Keyring([ALICE.trusted()]).verify(changed)


def test_unsigned_unknown_and_impostor_signatures_are_refused_with_the_reason():
    keyring = Keyring([ALICE.trusted()])
    with pytest.raises(SignatureRefused, match="^unsigned AdvanceRollout: refused$"):
        keyring.verify(advance())
    with pytest.raises(SignatureRefused, match="signed by unknown key 'bob'"):
        keyring.verify(SigningKey.generate("bob").sign(advance()))
    with pytest.raises(SignatureRefused, match="bad signature"):
        keyring.verify(MALLORY.sign(advance()))
    garbage = advance(signature=Signature(key_id="alice", value="not base64!"))
    with pytest.raises(SignatureRefused, match="bad signature"):
        keyring.verify(garbage)
    assert issubclass(SignatureRefused, PermanentError)


def test_a_signature_binds_the_event_type_so_a_table_signature_is_no_command_signature():
    paused = ALICE.sign(PauseRollout(rollout_id="ro-1", requested_by="alice"))
    as_advance = AdvanceRollout(**paused.model_dump())
    with pytest.raises(SignatureRefused, match="bad signature"):
        Keyring([ALICE.trusted()]).verify(as_advance)


def test_a_table_signature_covers_the_routed_fields():
    controller = SigningKey.generate("rollout-controller", "controller")
    table = controller.sign(sample_route_table(version=7))
    keyring = Keyring([controller.trusted()])
    assert keyring.verify(table).identity == "rollout-controller"
    arms = [arm.model_copy(update={"weight": 100.0 - arm.weight}) for arm in table.arms]
    for forged in (table.model_copy(update={"version": 10**9}), table.model_copy(update={"arms": arms})):
        with pytest.raises(SignatureRefused):
            keyring.verify(forged)


def test_key_files_round_trip_owner_only_and_are_never_overwritten_by_accident(tmp_path):
    path = write_key_file(tmp_path / "keys" / "alice.key", ALICE)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = SigningKey.load(path)
    assert loaded.trusted() == ALICE.trusted() and loaded.role == OPERATOR
    with pytest.raises(KeyFileError, match="exists"):
        write_key_file(path, MALLORY)
    write_key_file(path, MALLORY, overwrite=True)
    assert SigningKey.load(path).trusted() == MALLORY.trusted()


def test_bad_key_files_and_keyrings_are_one_line_naming_the_place(tmp_path):
    with pytest.raises(KeyFileError, match="does not exist: create one with 'distillery keys generate'"):
        SigningKey.load(tmp_path / "none.key")
    (tmp_path / "bad.key").write_text('{"identity": "x"}')
    with pytest.raises(KeyFileError, match="bad.key is not a Distillery key file"):
        SigningKey.load(tmp_path / "bad.key")
    with pytest.raises(KeyFileError, match="^OPERATOR_KEYS is not JSON$"):
        Keyring.parse("[", "OPERATOR_KEYS")
    with pytest.raises(KeyFileError, match="entry 1 needs identity, role and public_key"):
        Keyring.parse('[{"identity": "a"}]', "OPERATOR_KEYS")
    with pytest.raises(KeyFileError, match="'a' is not the base64 of 32 bytes"):
        Keyring.parse('[{"identity": "a", "role": "viewer", "public_key": "AAAA"}]', "OPERATOR_KEYS")
    with pytest.raises(KeyFileError, match="role 'root' of 'a' is not one of"):
        Keyring.parse(json.dumps([{**ALICE.trusted().as_dict(), "identity": "a", "role": "root"}]), "K")
    assert Keyring.parse(json.dumps([SigningKey.generate("v", VIEWER).trusted().as_dict()]), "K").identities() == ["v"]
