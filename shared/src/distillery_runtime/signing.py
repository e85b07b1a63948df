"""Ed25519 signatures of operator commands and routing tables (see ``distillery_contracts.signatures``).

Who may sign what is configuration, never the message: a verifier holds a :class:`Keyring` of
trusted public keys, each with an identity and a role (``operator`` may force a rollout,
``viewer`` may only pause, resume, abort or advance through the gates; the controller's key
signs tables). A message is trusted only when its signature's key is in the keyring and the
signature verifies over the message's signed content; everything else is refused with a
one-line reason that names no secret.

A key file is JSON, ``{"identity": ..., "role": ..., "private_key": <PKCS#8 PEM>}``, written
owner-only by :func:`write_key_file` (``distillery keys generate``). A public key is the
base64 of its 32 raw bytes, short enough for an environment variable.

Python callers (the CLI, the console) sign with ``SigningKey.load(path).sign(command)``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol, Self, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from distillery_contracts.signatures import Signature, signed_message
from distillery_runtime.errors import PermanentError

OPERATOR = "operator"
VIEWER = "viewer"
CONTROLLER = "controller"
ROLES = (OPERATOR, VIEWER, CONTROLLER)


class Signable(Protocol):
    """A payload with a signature field and the content its signature covers."""

    event_type: ClassVar[str]
    signature: Signature | None

    def signed_content(self) -> Any: ...

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self: ...


S = TypeVar("S", bound=Signable)


class SignatureRefused(PermanentError):
    """A message whose signature is missing, unknown, invalid or not allowed what it asks.

    Permanent: the same bytes will never verify, so the message is dead-lettered at once with
    this reason instead of being retried."""


class KeyFileError(ValueError):
    """A key file or trusted-key entry that cannot be used; the message names it, never its content."""


@dataclass(frozen=True)
class SigningKey:
    """A private key with the identity and role it signs as."""

    identity: str
    role: str
    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls, identity: str, role: str = OPERATOR) -> SigningKey:
        _check_identity(identity, role)
        return cls(identity, role, Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """The key in a key file; KeyFileError naming the file when it is unusable."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            identity, role = str(data["identity"]), str(data.get("role", OPERATOR))
            private = serialization.load_pem_private_key(data["private_key"].encode(), password=None)
        except FileNotFoundError:
            raise KeyFileError(f"key file {path} does not exist: create one with 'distillery keys generate'") from None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise KeyFileError(f"key file {path} is not a Distillery key file ({type(exc).__name__})") from None
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyFileError(f"key file {path} holds no Ed25519 key")
        _check_identity(identity, role)
        return cls(identity, role, private)

    def trusted(self) -> TrustedKey:
        """The entry a verifier adds to its keyring to trust this key."""
        return TrustedKey(self.identity, self.role, public_text(self.private_key.public_key()))

    def sign(self, payload: S) -> S:
        """``payload`` with this key's signature of its signed content (replacing any other)."""
        message = signed_message(payload.event_type, payload.signed_content())
        value = base64.b64encode(self.private_key.sign(message)).decode()
        return payload.model_copy(update={"signature": Signature(key_id=self.identity, value=value)})

    def file_text(self) -> str:
        pem = self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()).decode()
        return json.dumps({"identity": self.identity, "role": self.role, "private_key": pem}, indent=2) + "\n"


@dataclass(frozen=True)
class TrustedKey:
    """A public key a verifier trusts, with the identity and role it grants."""

    identity: str
    role: str
    public_key: str

    def as_dict(self) -> dict[str, str]:
        return {"identity": self.identity, "role": self.role, "public_key": self.public_key}


class Keyring:
    """The trusted keys of one verifier, by identity."""

    def __init__(self, keys: Iterable[TrustedKey] = ()) -> None:
        self._keys: dict[str, tuple[TrustedKey, Ed25519PublicKey]] = {}
        for key in keys:
            _check_identity(key.identity, key.role)
            self._keys[key.identity] = (key, _public_key(key))

    @classmethod
    def parse(cls, entries: Any, where: str) -> Keyring:
        """A keyring from a JSON list of ``{"identity", "role", "public_key"}``; KeyFileError naming ``where``."""
        if isinstance(entries, str | bytes):
            try:
                entries = json.loads(entries)
            except ValueError:
                raise KeyFileError(f"{where} is not JSON") from None
        if not isinstance(entries, list):
            raise KeyFileError(f"{where} must be a JSON list of {{identity, role, public_key}}")
        keys = []
        for number, entry in enumerate(entries, start=1):
            try:
                keys.append(TrustedKey(str(entry["identity"]), str(entry["role"]), str(entry["public_key"])))
            except (KeyError, TypeError):
                raise KeyFileError(f"{where}: entry {number} needs identity, role and public_key") from None
        try:
            return cls(keys)
        except KeyFileError as exc:
            raise KeyFileError(f"{where}: {exc}") from None

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise KeyFileError(f"cannot read trusted keys {path}: {exc.strerror or exc}") from None
        return cls.parse(text, str(path))

    def __len__(self) -> int:
        return len(self._keys)

    def identities(self) -> list[str]:
        return sorted(self._keys)

    def verify(self, payload: Signable) -> TrustedKey:
        """The trusted key that signed ``payload``; SignatureRefused with the reason otherwise."""
        signature = payload.signature
        if signature is None:
            raise SignatureRefused(f"unsigned {payload.event_type}: refused")
        found = self._keys.get(signature.key_id)
        if found is None:
            raise SignatureRefused(f"{payload.event_type} signed by unknown key {signature.key_id[:80]!r}: refused")
        trusted, public = found
        try:
            raw = base64.b64decode(signature.value, validate=True)
            public.verify(raw, signed_message(payload.event_type, payload.signed_content()))
        except (InvalidSignature, binascii.Error, ValueError):
            raise SignatureRefused(
                f"{payload.event_type} with a bad signature for key {trusted.identity!r}: refused") from None
        return trusted


def public_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()


def write_key_file(path: Path, key: SigningKey, *, overwrite: bool = False) -> Path:
    """Write ``key`` owner-readable only (0600); refuses to replace a key unless told."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} exists: give another path, or --overwrite to replace the key") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key.file_text())
    return path


def _public_key(key: TrustedKey) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(key.public_key, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"the public key of {key.identity!r} is not the base64 of 32 bytes") from None


def _check_identity(identity: str, role: str) -> None:
    if not identity or len(identity) > 200 or not identity.isprintable():
        raise KeyFileError("a key's identity must be 1 to 200 printable characters")
    if role not in ROLES:
        raise KeyFileError(f"role {role!r} of {identity!r} is not one of {', '.join(ROLES)}")


def load_or_create(path: Path, identity: str, role: str) -> SigningKey:
    """The key in ``path``; a new one written there (with its public entry beside it, as a
    one-key trust list ``<name>.pub.json``) when there is none yet, like a host key."""
    path = Path(path)
    if not path.exists():
        key = SigningKey.generate(identity, role)
        try:
            write_key_file(path, key)
        except KeyFileError:  # another process created it first: use theirs
            pass
    key = SigningKey.load(path)
    public = public_entry_path(path)
    if not public.exists():
        public.write_text(json.dumps([key.trusted().as_dict()], indent=2) + "\n", encoding="utf-8")
    return key


def public_entry_path(key_path: Path) -> Path:
    """Where the public entry of the key in ``key_path`` is written: ``x.key`` → ``x.pub.json``."""
    return Path(key_path).with_suffix(".pub.json")


def trust(path: Path, key: TrustedKey) -> None:
    """Add ``key`` to the trust list in ``path`` (created when missing), replacing its identity's entry."""
    path = Path(path)
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    entries = [e for e in entries if e.get("identity") != key.identity] + [key.as_dict()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class LocalKeys:
    """The keys of a local stack, under ``<DISTILLERY_HOME>/keys``: what ``distillery stack up``,
    the demo and the test fixtures create so that nothing needs setting up by hand."""

    folder: Path

    @property
    def operator_key(self) -> Path:
        """The CLI's key (DISTILLERY_OPERATOR_KEY when unset)."""
        return self.folder / "operator.key"

    @property
    def operators(self) -> Path:
        """The operators the local rollout-controller trusts."""
        return self.folder / "operators.json"

    @property
    def controller(self) -> Path:
        """The local rollout-controller's table key."""
        return self.folder / "rollout-controller.key"

    @property
    def table_keys(self) -> Path:
        """The public entry routers trust tables by."""
        return public_entry_path(self.controller)

    def controller_key(self, path: Path | None = None) -> SigningKey:
        return load_or_create(path or self.controller, "rollout-controller", CONTROLLER)

    def ensure(self, operator: str = "local-operator") -> SigningKey:
        """The local operator key (created when missing), trusted by the local controller, the
        controller's table key, so routers can be given its public entry before it starts, and
        the services' API token (see ``distillery_runtime.auth``)."""
        from distillery_runtime.auth import local_token

        key = load_or_create(self.operator_key, operator, OPERATOR)
        trust(self.operators, key.trusted())
        self.controller_key()
        local_token(self.folder.parent)
        return key


def local_keys(home: Path) -> LocalKeys:
    return LocalKeys(Path(home) / "keys")
