"""``distillery keys ...``: the Ed25519 keys operators sign rollout commands with.

A key file stays with its owner (written 0600); the rollout-controller trusts its public entry,
given in DISTILLERY_ROLLOUT_OPERATOR_KEYS (or, for a local stack, <DISTILLERY_HOME>/keys/operators.json,
which ``--trust`` and ``distillery stack up`` write).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from distillery_cli.common import console, die, friendly, settings
from distillery_runtime.signing import ROLES, KeyFileError, SigningKey, local_keys, trust, write_key_file

keys_app = typer.Typer(help="Keys that sign operator commands.", no_args_is_help=True)


@keys_app.command("generate")
@friendly
def generate_cmd(
    identity: Annotated[str, typer.Option("--identity", help="Who signs: recorded with every command.")],
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}; only an operator may force.")]
    = "operator",
    out: Annotated[Path | None, typer.Option("--out", show_default=False,
                                             help="Key file; default <DISTILLERY_HOME>/keys/<identity>.key.")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing key file.")] = False,
    trust_locally: Annotated[bool, typer.Option(
        "--trust", help="Also make the local rollout-controller trust it (<DISTILLERY_HOME>/keys/operators.json).")]
    = False,
) -> None:
    """Create a key pair: the private key file, and the entry the rollout-controller trusts."""
    keys = local_keys(settings().home)
    path = out or keys.folder / f"{identity}.key"
    try:
        key = SigningKey.generate(identity, role)
        write_key_file(path, key, overwrite=overwrite)
    except KeyFileError as exc:
        die(str(exc))
    entry = json.dumps(key.trusted().as_dict())
    console.print(f"Wrote {path} (readable by you only). Sign with it: --key {path} or DISTILLERY_OPERATOR_KEY.")
    if trust_locally:
        trust(keys.operators, key.trusted())
        console.print(f"The local rollout-controller trusts it ({keys.operators}); restart it to apply.")
    console.print("Trusted entry, for the list in DISTILLERY_ROLLOUT_OPERATOR_KEYS:")
    console.print(entry, highlight=False, soft_wrap=True)
