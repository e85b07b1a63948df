"""Checking the rollout-controller's signature of a routing table.

Anyone who can write to the routing topic (or answer in the controller's place) could
otherwise move the voice platform's traffic, or send a table with a huge version after which
every real table looks old. A follower given the controller's public key applies a table only
when its signature verifies over the table's routed fields; the newer-version rule then only
ever compares tables the controller signed.

The signed message is the one ``distillery_contracts.signatures`` defines (copied here, as the
table model is, so that the router depends on neither the contracts nor the runtime): a domain
line, the event type, then the canonical JSON of route, version, rollout id, update time and
each arm's name, model, provider, deployment and weight. Ed25519 comes from ``cryptography``,
imported when a follower is given keys.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from distillery_router.table import RouteTable

SIGNATURE_DOMAIN = "distillery-signature-v1"
EVENT_TYPE = "RouteTableUpdated"
SIGNED_TABLE_FIELDS = ("route", "version", "rollout_id", "updated_at")
SIGNED_ARM_FIELDS = ("name", "model", "provider", "deployment", "weight")


class TableKeyError(ValueError):
    """Trusted table keys that cannot be used; the message names where they came from."""


def signed_message(table: RouteTable) -> bytes:
    """The bytes the controller signed for ``table``."""
    data = table.model_dump(mode="json")
    content: dict[str, Any] = {name: data[name] for name in SIGNED_TABLE_FIELDS}
    content["arms"] = [{name: arm[name] for name in SIGNED_ARM_FIELDS} for arm in data["arms"]]
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return f"{SIGNATURE_DOMAIN}\n{EVENT_TYPE}\n{canonical}".encode()


class TableKeys:
    """The controller keys a router trusts, by key id (the controller's identity)."""

    def __init__(self, keys: Mapping[str, str]) -> None:
        try:
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        except ImportError as exc:  # pragma: no cover - cryptography ships with the workspace
            raise RuntimeError("verifying routing tables needs the cryptography package") from exc
        if not keys:
            raise TableKeyError("no trusted table keys given")
        self._keys = {}
        for key_id, text in keys.items():
            try:
                self._keys[key_id] = Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
            except (binascii.Error, ValueError):
                raise TableKeyError(f"the public key of {key_id!r} is not the base64 of 32 bytes") from None

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]], where: str = "table keys") -> TableKeys:
        """From ``[{"identity", "role": "controller", "public_key"}]``, the controller's public entry."""
        keys = {}
        for number, entry in enumerate(entries, start=1):
            if not isinstance(entry, Mapping) or not {"identity", "public_key"} <= entry.keys():
                raise TableKeyError(f"{where}: entry {number} needs identity and public_key")
            if entry.get("role", "controller") != "controller":
                raise TableKeyError(f"{where}: {entry['identity']!r} is a {entry['role']}, not a controller key")
            keys[str(entry["identity"])] = str(entry["public_key"])
        try:
            return cls(keys)
        except TableKeyError as exc:
            raise TableKeyError(f"{where}: {exc}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> TableKeys:
        """The entries in the JSON file the controller writes beside its key (``*.pub.json``)."""
        try:
            with open(path, encoding="utf-8") as handle:
                entries = json.load(handle)
        except (OSError, ValueError) as exc:
            raise TableKeyError(f"cannot read trusted table keys {os.fspath(path)}: {exc}") from None
        if not isinstance(entries, list):
            raise TableKeyError(f"{os.fspath(path)} must hold a JSON list of key entries")
        return cls.from_entries(entries, os.fspath(path))

    def refusal(self, table: RouteTable) -> str | None:
        """Why ``table`` must not be applied (one line), or None when a trusted key signed it."""
        from cryptography.exceptions import InvalidSignature

        where = f"route {table.route!r} version {table.version}"
        if table.signature is None:
            return f"unsigned table for {where}"
        key = self._keys.get(table.signature.key_id)
        if key is None:
            return f"table for {where} signed by unknown key {table.signature.key_id[:80]!r}"
        try:
            key.verify(base64.b64decode(table.signature.value, validate=True), signed_message(table))
        except (InvalidSignature, binascii.Error, ValueError):
            return f"table for {where} with a bad signature"
        return None
