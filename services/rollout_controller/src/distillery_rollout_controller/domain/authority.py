"""Who may steer a rollout: the one decision between a command on the topic and a change of traffic.

Anyone who can write to the command topic can put a command there, so a command counts only
when a trusted operator key signed it, its ``requested_by`` names that key's holder, and, to
force an advance past the gates, that holder has the operator role (a viewer may pause, resume,
abort and advance through the gates). The controller's own key signs routing tables and is no
operator: a command it signed is refused like a stranger's.
"""

from __future__ import annotations

from distillery_contracts.commands import AdvanceRollout, RolloutCommand
from distillery_runtime.signing import OPERATOR, VIEWER, Keyring, SignatureRefused, TrustedKey

REFUSAL_KINDS = (
    ("unsigned", "unsigned"),
    ("unknown key", "unknown_key"),
    ("bad signature", "bad_signature"),
    ("claims requested_by", "identity_mismatch"),
    ("needs the operator role", "role"),
    ("which is no operator", "role"),
)
"""A refusal's wording → the short label it is counted under."""


def authority_of(command: RolloutCommand, operators: Keyring) -> TrustedKey:
    """The key whose holder may give ``command``; :class:`SignatureRefused` saying why otherwise."""
    signer = operators.verify(command)
    if signer.role not in (OPERATOR, VIEWER):
        raise SignatureRefused(f"{command.event_type} signed by {signer.identity!r}, which is no "
                               f"operator ({signer.role}): refused")
    if command.requested_by != signer.identity:
        raise SignatureRefused(f"{command.event_type} claims requested_by {command.requested_by[:80]!r} "
                               f"but is signed by {signer.identity!r}: refused")
    if isinstance(command, AdvanceRollout) and command.force and signer.role != OPERATOR:
        raise SignatureRefused(f"forcing an advance needs the operator role; {signer.identity!r} "
                               f"is a {signer.role}: refused")
    return signer


def refusal_kind(reason: str) -> str:
    """The label a refusal is counted under, from its wording ("refused" when none fits)."""
    return next((kind for marker, kind in REFUSAL_KINDS if marker in reason), "refused")
