"""The keys of the rollout-controller's unit tests: two operators, a viewer and the controller's
table key, and signing a command as the CLI does."""

from __future__ import annotations

from typing import TypeVar

from distillery_contracts.commands import RolloutCommand
from distillery_runtime.signing import CONTROLLER, OPERATOR, VIEWER, SigningKey

C = TypeVar("C", bound=RolloutCommand)

OPERATOR_KEYS = {name: SigningKey.generate(name, OPERATOR) for name in ("ana", "ben")}
VIEWER_KEY = SigningKey.generate("vera", VIEWER)
TABLE_KEY = SigningKey.generate("rollout-controller", CONTROLLER)


def signed(command: C) -> C:
    """``command`` signed by the test key of its ``requested_by`` (the viewer's for anyone else)."""
    return (OPERATOR_KEYS.get(command.requested_by) or VIEWER_KEY).sign(command)
