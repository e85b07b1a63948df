"""distillery keys generate: a private key only its owner reads, and the entry a controller trusts."""

from __future__ import annotations

import json
import stat

from typer.testing import CliRunner

from distillery_cli.main import app
from distillery_contracts.commands import AdvanceRollout
from distillery_runtime.signing import Keyring, SigningKey, local_keys


def test_a_generated_key_signs_what_its_printed_entry_verifies_and_trust_adds_it_locally(tmp_path):
    env = {"DISTILLERY_HOME": str(tmp_path), "COLUMNS": "400"}
    made = CliRunner().invoke(app, ["keys", "generate", "--identity", "ana", "--trust"], env=env)

    assert made.exit_code == 0, made.output
    path = tmp_path / "keys" / "ana.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    entry = json.loads(made.output.strip().splitlines()[-1])
    command = SigningKey.load(path).sign(AdvanceRollout(rollout_id="ro-1", requested_by="ana", force=True, reason="x"))
    assert Keyring.parse([entry], "printed").verify(command).role == "operator"
    assert Keyring.load(local_keys(tmp_path).operators).identities() == ["ana"]

    again = CliRunner().invoke(app, ["keys", "generate", "--identity", "ana"], env=env)
    assert again.exit_code == 2 and "exists: give another path, or --overwrite" in again.output
    bad = CliRunner().invoke(app, ["keys", "generate", "--identity", "bo", "--role", "root"], env=env)
    assert bad.exit_code == 2 and "role 'root' of 'bo' is not one of operator, viewer, controller" in bad.output
