"""Only an operator's signed command steers a rollout: anyone else who can write to the command
topic is refused, counted and dead-lettered with the reason, and nothing changes."""

from __future__ import annotations

import pytest
from rollout_support import OPERATOR_KEYS, TABLE_KEY, VIEWER_KEY, signed

from distillery_contracts.commands import AdvanceRollout, PauseRollout
from distillery_contracts.registry import ROUTING_TABLE
from distillery_contracts.routing import RouteTableUpdated
from distillery_rollout_controller.config import ControllerConfig
from distillery_rollout_controller.domain.authority import authority_of, refusal_kind
from distillery_rollout_controller.metrics import COMMANDS_REFUSED
from distillery_rollout_controller.services import RolloutController
from distillery_runtime.errors import PermanentError
from distillery_runtime.signing import Keyring, SignatureRefused, SigningKey

FORCE = {"rollout_id": "ro-0001", "force": True, "reason": "trust me"}


def refused(command: str, why: str) -> float:
    return COMMANDS_REFUSED.labels(command, why)._value.get()


async def assert_refused(harness, command, reason: str, why: str) -> None:
    decisions, weights, before = list(harness.repo.saved_decisions), harness.weights(), refused(command.event_type, why)
    with pytest.raises(SignatureRefused, match=reason):
        await harness.deliver(command)
    assert harness.repo.saved_decisions == decisions and harness.weights() == weights
    assert refused(command.event_type, why) == before + 1


async def test_a_forced_advance_without_credentials_is_refused_and_counted(harness):
    await harness.passed_evaluation()
    forged = AdvanceRollout(**FORCE, requested_by="ana")

    await assert_refused(harness, forged, "^unsigned AdvanceRollout: refused$", "unsigned")
    assert issubclass(SignatureRefused, PermanentError)  # dead-lettered at once, with this reason


async def test_a_command_signed_by_an_unknown_key_is_refused(harness):
    await harness.passed_evaluation()
    stranger = SigningKey.generate("ana").sign(AdvanceRollout(**FORCE, requested_by="ana"))

    await assert_refused(harness, stranger, "bad signature for key 'ana'", "bad_signature")
    mallory = SigningKey.generate("mallory").sign(AdvanceRollout(**FORCE, requested_by="mallory"))
    await assert_refused(harness, mallory, "unknown key 'mallory'", "unknown_key")


async def test_a_signed_command_changed_on_the_way_is_refused(harness):
    await harness.passed_evaluation()
    drill = signed(AdvanceRollout(rollout_id="ro-0001", requested_by="ana"))

    await assert_refused(harness, drill.model_copy(update={"force": True, "reason": "x"}),
                         "bad signature", "bad_signature")


async def test_a_command_claiming_another_identity_than_its_signers_is_refused(harness):
    await harness.passed_evaluation()
    claimed = VIEWER_KEY.sign(PauseRollout(rollout_id="ro-0001", requested_by="ana"))

    await assert_refused(harness, claimed, "claims requested_by 'ana' but is signed by 'vera'", "identity_mismatch")


async def test_forcing_needs_the_operator_role_while_a_viewer_may_pause_and_advance_through_the_gates(harness):
    await harness.passed_evaluation()

    await assert_refused(harness, signed(AdvanceRollout(**FORCE, requested_by="vera")),
                         "needs the operator role; 'vera' is a viewer", "role")
    await harness.command(PauseRollout(rollout_id="ro-0001", requested_by="vera"))
    assert harness.decisions()[-1] == "paused" and harness.repo.saved_decisions[-1].actor == "vera"
    await harness.command(AdvanceRollout(**FORCE, requested_by="ana"))
    assert harness.decisions()[-1] == "force_advanced"


def test_the_controllers_own_key_cannot_issue_commands():
    controller = RolloutController(ControllerConfig(operators=Keyring([TABLE_KEY.trusted()])))

    with pytest.raises(SignatureRefused, match="signed by 'rollout-controller', which is no operator"):
        controller.authorise(TABLE_KEY.sign(AdvanceRollout(**FORCE, requested_by="rollout-controller")))


async def test_every_table_the_controller_publishes_is_signed_by_its_key(harness):
    await harness.passed_evaluation()
    await harness.command(AdvanceRollout(**FORCE, requested_by=next(iter(OPERATOR_KEYS))))

    tables = [RouteTableUpdated.model_validate_json(m.payload) for m in harness.published(ROUTING_TABLE)]
    assert len(tables) >= 3
    keyring = Keyring([TABLE_KEY.trusted()])
    assert {keyring.verify(t).identity for t in tables} == {"rollout-controller"}
    assert [t.model_dump() for t in tables][-1] == harness.repo.routes["voice-agent"].table.model_dump()


def test_a_refusal_is_counted_under_the_kind_its_wording_names_and_any_other_as_refused():
    assert [refusal_kind(r) for r in (
        "unsigned PauseRollout: refused", "unknown key 'mallory'", "bad signature for key 'ana'",
        "AbortRollout claims requested_by 'ana' but is signed by 'vera': refused",
        "forcing an advance needs the operator role; 'vera' is a viewer: refused",
        "AdvanceRollout signed by 'rollout-controller', which is no operator (controller): refused",
        "a key file that could not be read",
    )] == ["unsigned", "unknown_key", "bad_signature", "identity_mismatch", "role", "role", "refused"]


def test_a_refusal_quotes_at_most_80_characters_of_what_a_command_claims():
    claimed = VIEWER_KEY.sign(PauseRollout(rollout_id="ro-0001", requested_by="x" * 500))
    with pytest.raises(SignatureRefused) as refused:
        authority_of(claimed, Keyring([VIEWER_KEY.trusted()]))
    assert str(refused.value) == f"PauseRollout claims requested_by {'x' * 80!r} but is signed by 'vera': refused"
