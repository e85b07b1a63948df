"""Signatures that let a consumer refuse what is forged, where broker ACLs cannot be relied on.

An operator's command is signed with the operator's Ed25519 key, a routing table with the
rollout-controller's. The signature travels in the payload (not a Kafka header), so it goes
through the outbox, the compacted topic and the controller's HTTP API unchanged, and a router
polling HTTP verifies exactly what a router following the topic verifies.

What is signed is :func:`signed_message`: a domain string naming the event type (a signed table
cannot be replayed as a command) followed by the canonical JSON of the signed content (keys
sorted, no spaces, UTF-8). ``distillery_runtime.signing`` signs and verifies;
``distillery_router`` verifies tables with its own copy of the same few lines.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

SIGNATURE_DOMAIN = "distillery-signature-v1"


class Signature(BaseModel):
    """Who signed a payload, and the Ed25519 signature of its signed message."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    key_id: str = Field(min_length=1, max_length=200,
                        description="Identity of the signing key: an operator's name or the controller's.")
    value: str = Field(min_length=1, max_length=200,
                       description="Base64 of the 64-byte Ed25519 signature of the signed message.")


def canonical_json(content: Any) -> bytes:
    """One byte string per JSON value: sorted keys, no whitespace, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def signed_message(event_type: str, content: Any) -> bytes:
    """The bytes a signature covers: the domain, the event type, then the canonical content."""
    return f"{SIGNATURE_DOMAIN}\n{event_type}\n".encode() + canonical_json(content)
