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


def test_an_identity_is_1_to_200_printable_characters_and_a_role_one_of_three():
    assert SigningKey.generate("a" * 200).identity == "a" * 200
    for identity in ("", "a" * 201, "ana\n", "ana\x00"):
        with pytest.raises(KeyFileError, match="^a key's identity must be 1 to 200 printable characters$"):
            SigningKey.generate(identity)
    with pytest.raises(KeyFileError, match="^role 'root' of 'ana' is not one of operator, viewer, controller$"):
        SigningKey.generate("ana", "root")


def test_a_key_file_is_indented_json_holding_its_role_and_a_pkcs8_pem(tmp_path):
    viewer = SigningKey.generate("vera", VIEWER)
    text = viewer.file_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2) + "\n" and list(data) == ["identity", "role", "private_key"]
    assert (data["identity"], data["role"]) == ("vera", "viewer")
    assert data["private_key"].startswith("-----BEGIN PRIVATE KEY-----\n")
    path = write_key_file(tmp_path / "a" / "b" / "vera.key", viewer)
    assert SigningKey.load(path).role == VIEWER  # a viewer's file never loads as an operator's
    del data["role"]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert SigningKey.load(path).role == OPERATOR  # files from before roles were operators'


def test_a_key_file_that_is_not_one_is_refused_with_what_it_is(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    path = tmp_path / "k.key"
    path.write_text("not json", encoding="utf-8")
    with pytest.raises(KeyFileError, match=rf"^key file {path} is not a Distillery key file \(JSONDecodeError\)$"):
        SigningKey.load(path)
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    path.write_text(json.dumps({"identity": "ana", "private_key": pem}), encoding="utf-8")
    with pytest.raises(KeyFileError, match=rf"^key file {path} holds no Ed25519 key$"):
        SigningKey.load(path)


def test_a_trust_list_is_read_from_its_file_or_refused_naming_it(tmp_path):
    from distillery_runtime.signing import trust

    path = tmp_path / "operators.json"
    with pytest.raises(KeyFileError, match=rf"^cannot read trusted keys {path}: No such file or directory$"):
        Keyring.load(path)
    path.write_text("{}", encoding="utf-8")
    with pytest.raises(KeyFileError, match=rf"^{path} must be a JSON list of {{identity, role, public_key}}$"):
        Keyring.load(path)
    path.unlink()
    path = tmp_path / "new" / "folder" / "operators.json"
    trust(path, ALICE.trusted())
    viewer = SigningKey.generate("vera", VIEWER)
    trust(path, viewer.trusted())
    trust(path, MALLORY.trusted())  # alice's new key replaces her old one
    entries = [viewer.trusted().as_dict(), MALLORY.trusted().as_dict()]
    assert path.read_text(encoding="utf-8") == json.dumps(entries, indent=2) + "\n"
    keyring = Keyring.load(path)
    assert keyring.identities() == ["alice", "vera"] and keyring.verify(MALLORY.sign(advance())).role == OPERATOR
    with pytest.raises(SignatureRefused, match="bad signature"):
        keyring.verify(ALICE.sign(advance()))


def test_a_signature_or_public_key_with_anything_but_base64_in_it_is_refused():
    keyring = Keyring([ALICE.trusted()])
    signed = ALICE.sign(advance())
    padded = signed.model_copy(update={"signature": Signature(key_id="alice", value=signed.signature.value + "!")})
    with pytest.raises(SignatureRefused, match="^AdvanceRollout with a bad signature for key 'alice': refused$"):
        keyring.verify(padded)
    entry = {**ALICE.trusted().as_dict(), "public_key": ALICE.trusted().public_key + "!"}
    with pytest.raises(KeyFileError, match="'alice' is not the base64 of 32 bytes"):
        Keyring.parse([entry], "K")
    stranger = SigningKey.generate("m" * 200).sign(advance(requested_by="m" * 200))
    with pytest.raises(SignatureRefused) as refused:
        keyring.verify(stranger)
    assert str(refused.value) == f"AdvanceRollout signed by unknown key {'m' * 80!r}: refused"


def test_a_local_stack_makes_its_keys_once_and_its_controller_trusts_its_operator(tmp_path):
    from distillery_runtime.signing import CONTROLLER, load_or_create, local_keys

    keys = local_keys(tmp_path / "home")
    assert keys.folder == tmp_path / "home" / "keys"
    operator = keys.ensure("ops")
    assert (keys.operator_key.name, keys.operators.name, keys.controller.name, keys.table_keys.name) == (
        "operator.key", "operators.json", "rollout-controller.key", "rollout-controller.pub.json")
    assert SigningKey.load(keys.operator_key).trusted() == operator.trusted() and operator.role == OPERATOR
    assert Keyring.load(keys.operators).identities() == ["ops"]
    controller = SigningKey.load(keys.controller)
    assert (controller.identity, controller.role) == ("rollout-controller", CONTROLLER)
    assert keys.table_keys.read_text(encoding="utf-8") == json.dumps([controller.trusted().as_dict()], indent=2) + "\n"
    for made in (keys.operator_key, keys.controller, tmp_path / "home" / "keys" / "api-token"):
        assert stat.S_IMODE(made.stat().st_mode) == 0o600, made
    assert keys.ensure("ops").trusted() == operator.trusted()  # a second start changes nothing
    assert keys.controller_key().trusted() == controller.trusted()
    assert Keyring.load(keys.operators).identities() == ["ops"]
    # A key written by another process first is the one used; its public entry is written once.
    other = tmp_path / "other.key"
    write_key_file(other, SigningKey.generate("first", VIEWER))
    assert load_or_create(other, "second", OPERATOR).identity == "first"
    (tmp_path / "other.pub.json").write_text("[]", encoding="utf-8")
    load_or_create(other, "second", OPERATOR)
    assert (tmp_path / "other.pub.json").read_text(encoding="utf-8") == "[]"
    assert local_keys(tmp_path / "fresh").ensure().identity == "local-operator"
    elsewhere = keys.controller_key(tmp_path / "ctl.key")
    assert elsewhere.identity == "rollout-controller" and (tmp_path / "ctl.pub.json").exists()
