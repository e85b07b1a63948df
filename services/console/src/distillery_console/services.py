"""The console's use cases: keep the read model from what the topics carry, and steer a rollout.

Recording is idempotent per event (the inbox claims each once, and every write is keyed by
the event's own id), so replaying the topics into an empty schema rebuilds the same pages.
Steering sends the very command the CLI sends, through the outbox, so it is published if
and only if the request was accepted; republishing a dead letter puts its message back on its
topic the same way, with the operator recorded in that transaction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from distillery_console.adapters.data_store import AbstractDataStore
from distillery_console.adapters.store import AbstractConsoleStore, OperatorAction
from distillery_console.domain.answers import is_failing
from distillery_console.domain.cycles import CycleStep, dataset_step, decision_step, evaluation_step, job_step
from distillery_console.domain.data import accepted_row, letter_row, rejected_row
from distillery_contracts.commands import AbortRollout, AdvanceRollout, PauseRollout, ResumeRollout, RolloutCommand
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.envelope import Envelope
from distillery_contracts.evaluations import EvaluationCompleted, EvaluationItemScored
from distillery_contracts.examples import ExampleAccepted, ExampleRejected
from distillery_contracts.privacy import EraseCaller
from distillery_contracts.finetune import FinetuneJobChanged
from distillery_contracts.registry import COMMANDS_ROLLOUT, ROUTING_TABLE
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_runtime import erasure
from distillery_runtime.erasure import AbstractErasureStore
from distillery_runtime.model_calendar import ServingNotice, ShutdownWatch, TrainingNotice
from distillery_runtime.outbox import OutgoingMessage
from distillery_runtime.signing import SigningKey
from distillery_runtime.uow import UnitOfWork

STEERING: dict[str, type[RolloutCommand]] = {
    "pause": PauseRollout, "resume": ResumeRollout, "abort": AbortRollout, "advance": AdvanceRollout,
}
"""What an operator may ask from the page, and the command each sends."""
MAX_OPERATOR = 200
MAX_REASON = 2_000


class SteeringRefused(ValueError):
    """A steering or republishing request the console will not send; the message says why in one line."""


async def record_route_tables(store: AbstractConsoleStore, tables: Iterable[RouteTableUpdated]) -> None:
    for table in tables:
        await store.save_route_table(table)


async def lifecycle_outlook(store: AbstractConsoleStore,
                            watch: ShutdownWatch) -> tuple[list[ServingNotice], TrainingNotice | None]:
    """Every routed model with a known shutdown day, soonest first; and the last day the lifecycle
    guard accepts the base model the latest job trained, however far (None: no job, or no day); by
    the calendar and what the providers publish for the base models jobs trained."""
    watch = watch.with_published(await store.published_dates())
    trained = await store.latest_training()
    training = watch.training_known(trained.base_model, trained.provider) if trained else None
    return watch.every_known(await store.route_tables()), training


async def record_datasets(store: AbstractConsoleStore, datasets: Iterable[DatasetBuilt]) -> None:
    for dataset in datasets:
        await store.save_dataset(dataset)
        await _step(store, dataset_step(dataset))


async def record_job_changes(store: AbstractConsoleStore, changes: Iterable[tuple[str, FinetuneJobChanged]]) -> None:
    """Each event's state and latest metrics; its loss curve and checkpoints replace the job's
    when it is the latest event to carry either (events from before they existed carry none)."""
    for event_id, job in changes:
        await store.save_job_event(event_id, job)
        if job.loss_curve or job.checkpoints:
            await store.save_loss_curve(job)
        await _step(store, job_step(job))


async def record_evaluations(store: AbstractConsoleStore, evaluations: Iterable[EvaluationCompleted]) -> None:
    for evaluation in evaluations:
        await store.save_evaluation(evaluation)
        await _step(store, evaluation_step(evaluation))


async def record_items(store: AbstractConsoleStore, items: Iterable[EvaluationItemScored]) -> None:
    await store.save_items([(item, is_failing(item)) for item in items])


async def record_decisions(store: AbstractConsoleStore, decisions: Iterable[RolloutDecided]) -> None:
    for decision in decisions:
        await store.save_decision(decision)
        await _step(store, decision_step(decision))


async def record_rejections(store: AbstractConsoleStore, data: AbstractDataStore,
                            rejected: Sequence[ExampleRejected]) -> None:
    """Counts for the cycle page (kept for ever: they hold no caller's words), rows for the Data page."""
    await store.add_rejections(dict(Counter((r.cleaner_version, r.reason.value) for r in rejected)))
    await data.save_examples([rejected_row(r) for r in rejected])


async def record_accepted(data: AbstractDataStore, accepted: Iterable[ExampleAccepted]) -> None:
    await data.save_examples([accepted_row(a) for a in accepted])


async def record_dead_letters(data: AbstractDataStore, letters: Iterable[tuple[str, DeadLettered]]) -> None:
    """(event id, letter): the id is the message's position and group, so a letter is kept once."""
    await data.save_letters([letter_row(letter_id, letter) for letter_id, letter in letters])


async def erase_callers(uow: UnitOfWork, store: AbstractErasureStore, commands: Sequence[EraseCaller]) -> None:
    await erasure.erase_callers(uow, store, "console", commands)


async def forget_old_rows(data: AbstractDataStore, now: datetime, retention: Mapping[str, timedelta],
                          limit: int) -> int:
    """Delete at most ``limit`` rows past their table's retention (``eval_items``, ``examples``,
    ``dead_letters``), the first table first; how many went."""
    forget = {"eval_items": data.forget_items, "examples": data.forget_examples, "dead_letters": data.forget_letters}
    deleted = 0
    for table, keep in retention.items():
        if deleted < limit:
            deleted += await forget[table](now - keep, limit - deleted)
    return deleted


async def republish_dead_letter(data: AbstractDataStore, letter_id: str, operator: str, reason: str,
                                confirmed: bool, clock: Callable[[], datetime],
                                signers: Mapping[str, SigningKey] | None = None) -> str:
    """Put a dead letter's message back on its topic, as it was (key, headers, body), and record
    the operator; the operator rules are steering's. Returns the topic it went to."""
    operator, reason = _operator_and_reason(operator, reason, signers)
    letter = await data.letter(letter_id)
    if letter is None:
        raise SteeringRefused(f"no dead letter {letter_id!r} in the console's read model")
    if not confirmed:
        raise SteeringRefused(f"confirm that you mean to republish {letter_id}")
    if letter.republished_at is not None:
        raise SteeringRefused(f"{letter_id} was republished by {letter.republished_by} already")
    if letter.source_topic == ROUTING_TABLE:
        raise SteeringRefused("only the rollout-controller writes the routing table; a letter of it is not republished")
    if (why := letter.why_not_republishable) is not None:
        raise SteeringRefused(f"{letter_id} cannot be republished: {why}")
    try:
        envelope = Envelope.from_headers([(k, v.encode()) for k, v in letter.original_headers.items()])
    except ValueError as exc:
        raise SteeringRefused(f"{letter_id} cannot be republished: its headers are unreadable ({exc})") from None
    message = OutgoingMessage(letter.source_topic, letter.original_key, envelope, letter.original_value.encode())
    await data.republish(letter_id, message, operator, reason, clock())
    return letter.source_topic


async def record_commands(store: AbstractConsoleStore, commands: Iterable[tuple[str, RolloutCommand]]) -> None:
    """Operator requests as the commands topic carries them, from the page or the CLI."""
    for event_type, command in commands:
        await store.save_operator_action(OperatorAction(
            action_id=command.command_id, rollout_id=command.rollout_id, action=_action_name(event_type),
            operator=command.requested_by, reason=command.reason, requested_at=command.requested_at))


def steer_rollout(uow: UnitOfWork, action: str, rollout_id: str, operator: str, reason: str,
                  confirmed: bool, clock: Callable[[], datetime],
                  signers: Mapping[str, SigningKey] | None = None) -> RolloutCommand:
    """Queue the operator's command for the rollout-controller (published at commit).

    With ``signers`` (the operators' keys by identity) the operator must be one of them and
    the command carries that operator's signature, as the controller verifies; without, it
    is sent unsigned, as the CLI sent commands before operators signed them."""
    command_type = STEERING.get(action)
    if command_type is None:
        raise SteeringRefused(f"unknown action {action!r}; one of {', '.join(STEERING)}")
    operator, reason = _operator_and_reason(operator, reason, signers)
    if not confirmed:
        raise SteeringRefused(f"confirm that you mean to {action} rollout {rollout_id}")
    command = command_type(rollout_id=rollout_id, requested_by=operator, requested_at=clock(), reason=reason)
    if signers:
        command = signers[operator].sign(command)
    uow.emit(COMMANDS_ROLLOUT, command)
    return command


def _operator_and_reason(operator: str, reason: str, signers: Mapping[str, SigningKey] | None) -> tuple[str, str]:
    """Who asks and why, as every operator action needs them: with ``signers``, one of them."""
    operator, reason = operator.strip(), reason.strip()
    if not operator or len(operator) > MAX_OPERATOR:
        raise SteeringRefused(f"say who you are (1 to {MAX_OPERATOR} characters)")
    if not reason or len(reason) > MAX_REASON:
        raise SteeringRefused(f"give a reason (1 to {MAX_REASON} characters)")
    if signers and operator not in signers:
        raise SteeringRefused(f"{operator!r} has no key in this console; one of {', '.join(sorted(signers))}")
    return operator, reason


def _action_name(event_type: str) -> str:
    return next((name for name, kind in STEERING.items() if kind.event_type == event_type), event_type)


async def _step(store: AbstractConsoleStore, step: CycleStep | None) -> None:
    if step is not None:
        await store.apply_cycle_step(step)
