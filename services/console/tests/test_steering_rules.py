"""The console's use cases at their edges: what an operator may send, what is kept of every
operator action, how retention shares its limit, and what a Data-page row carries.

The pages' tests (``test_pages.py``, ``test_data_page.py``) drive these through HTTP; here each
rule is pinned at its boundary, with the one-line message an operator reads.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from recorded_streams import LETTER_EVENT_ID, T0, checkpoints, dead_letter, fixed_clock, loss_curve

from distillery_console.adapters.fakes import FakeConsoleStore, FakeDataStore
from distillery_console.adapters.store import OperatorAction
from distillery_console.domain.data import (
    MAX_MESSAGE_CHARS,
    accepted_row,
    callers_named,
    letter_row,
    rejected_row,
    trace_url,
)
from distillery_console.services import (
    MAX_OPERATOR,
    MAX_REASON,
    SteeringRefused,
    forget_old_rows,
    record_commands,
    record_evaluations,
    record_job_changes,
    republish_dead_letter,
    steer_rollout,
)
from distillery_contracts.commands import AbortRollout, AdvanceRollout, PauseRollout, ResumeRollout
from distillery_contracts.finetune import JobStatus
from distillery_contracts.messages import FineTuneMessage
from distillery_contracts.registry import ROUTING_TABLE
from distillery_contracts.samples import (
    sample_evaluation_completed,
    sample_example_accepted,
    sample_example_rejected,
    sample_finetune_job_changed,
    sample_lineage,
)
from distillery_runtime.signing import SigningKey
from distillery_runtime.uow import FakeUnitOfWork

ROLLOUT = "ro-9"


def steer(action: str = "pause", operator: str = "ana", reason: str = "checking", confirmed: bool = True,
          signers: dict[str, SigningKey] | None = None):  # noqa: ANN201 - the command sent
    return steer_rollout(FakeUnitOfWork(), action, ROLLOUT, operator, reason, confirmed, fixed_clock, signers)


def refusal(**asked: object) -> str:
    with pytest.raises(SteeringRefused) as refused:
        steer(**asked)  # type: ignore[arg-type]
    return str(refused.value)


@pytest.mark.parametrize(("operator", "reason", "sent"), [
    ("a" * MAX_OPERATOR, "r" * MAX_REASON, True), (" ana ", " why ", True),
    ("a" * (MAX_OPERATOR + 1), "why", False), ("ana", "r" * (MAX_REASON + 1), False),
])
def test_an_operator_and_a_reason_are_each_one_to_their_limit_of_characters(operator, reason, sent):
    if sent:
        command = steer(operator=operator, reason=reason)
        assert (command.requested_by, command.reason) == (operator.strip(), reason.strip())
    else:
        assert refusal(operator=operator, reason=reason) in (
            f"say who you are (1 to {MAX_OPERATOR} characters)", f"give a reason (1 to {MAX_REASON} characters)")


def test_each_refusal_says_what_is_missing():
    assert refusal(operator="  ") == "say who you are (1 to 200 characters)"
    assert refusal(reason="\t") == "give a reason (1 to 2000 characters)"
    assert refusal(action="launch") == "unknown action 'launch'; one of pause, resume, abort, advance"
    assert refusal(confirmed=False) == f"confirm that you mean to pause rollout {ROLLOUT}"
    keys = {k.identity: k for k in (SigningKey.generate("bo@clinic"), SigningKey.generate("ana@clinic"))}
    assert refusal(operator="mallory", signers=keys) == \
        "'mallory' has no key in this console; one of ana@clinic, bo@clinic"


@pytest.mark.parametrize(("action", "kind"), [
    ("pause", PauseRollout), ("resume", ResumeRollout), ("abort", AbortRollout), ("advance", AdvanceRollout),
])
async def test_each_action_sends_its_command_stamped_by_the_clock(action, kind):
    uow = FakeUnitOfWork()
    command = steer_rollout(uow, action, ROLLOUT, "ana", "why", True, fixed_clock)
    assert type(command) is kind and command.requested_at == T0 and command.rollout_id == ROLLOUT
    await uow.commit()
    assert [m.envelope.event_type for m in uow.committed] == [kind.event_type]


async def test_every_operator_action_on_the_commands_topic_is_kept_with_its_name():
    store = FakeConsoleStore()
    pause = PauseRollout(rollout_id=ROLLOUT, requested_by="ana", requested_at=T0, reason="night")
    advance = AdvanceRollout(rollout_id=ROLLOUT, requested_by="bo", requested_at=T0 + timedelta(hours=1),
                             reason="gates fine")
    await record_commands(store, [(pause.event_type, pause), (advance.event_type, advance),
                                  ("FutureCommand", pause.model_copy(update={"command_id": "c-future"}))])
    assert await store.operator_actions(ROLLOUT) == [
        OperatorAction(pause.command_id, ROLLOUT, "pause", "ana", "night", T0),
        OperatorAction("c-future", ROLLOUT, "FutureCommand", "ana", "night", T0),  # a newer kind: named as sent
        OperatorAction(advance.command_id, ROLLOUT, "advance", "bo", "gates fine", T0 + timedelta(hours=1)),
    ]


async def test_republishing_refuses_with_a_reason_and_records_the_operators():
    data = FakeDataStore()
    await data.save_letters([letter_row(LETTER_EVENT_ID, dead_letter())])

    async def refusal_of(letter_id: str = LETTER_EVENT_ID, confirmed: bool = True) -> str:
        with pytest.raises(SteeringRefused) as refused:
            await republish_dead_letter(data, letter_id, "ana", "fixed", confirmed, fixed_clock)
        return str(refused.value)

    assert await refusal_of("nope") == "no dead letter 'nope' in the console's read model"
    assert await refusal_of(confirmed=False) == f"confirm that you mean to republish {LETTER_EVENT_ID}"
    letter = data.letter_rows[LETTER_EVENT_ID]
    data.letter_rows["table"] = replace(letter, letter_id="table", source_topic=ROUTING_TABLE)
    assert await refusal_of("table") == \
        "only the rollout-controller writes the routing table; a letter of it is not republished"
    data.letter_rows["bare"] = replace(letter, letter_id="bare", original_headers={"event-type": "TraceCaptured"})
    assert (await refusal_of("bare")).startswith("bare cannot be republished: the message lacks the header(s) ")
    data.letter_rows["odd"] = replace(letter, letter_id="odd", original_headers={
        **letter.original_headers, "schema-version": "one"})
    assert (await refusal_of("odd")).startswith("odd cannot be republished: its headers are unreadable (")

    assert await republish_dead_letter(data, LETTER_EVENT_ID, " ana ", " fixed ", True, fixed_clock) == \
        letter.source_topic
    done = data.letter_rows[LETTER_EVENT_ID]
    assert (done.republished_by, done.republish_reason, done.republished_at) == ("ana", "fixed", T0)
    [message] = data.outbox
    assert (message.topic, message.key, message.payload) == (
        letter.source_topic, letter.original_key, letter.original_value.encode())
    assert message.envelope.event_id == LETTER_EVENT_ID


@pytest.mark.parametrize(("limit", "left"), [(2, (1, 2)), (3, (0, 2)), (4, (0, 1)), (9, (0, 0))])
async def test_retention_gives_the_first_table_its_rows_before_the_next_and_never_exceeds_the_limit(limit, left):
    data = FakeDataStore()
    old = T0 - timedelta(days=100)
    await data.save_examples([accepted_row(sample_example_accepted(
        example_id=f"ex-{i}", accepted_at=old, lineage=sample_lineage(observation_id=f"obs-{i}"))) for i in range(3)])
    await data.save_letters([letter_row(f"l-{i}", dead_letter().model_copy(update={"failed_at": old}))
                             for i in range(2)])
    retention = {"examples": timedelta(days=30), "dead_letters": timedelta(days=30)}
    assert await forget_old_rows(data, T0, retention, limit) == 5 - sum(left)
    assert (len(data.example_rows), len(data.letter_rows)) == left


async def test_a_jobs_loss_curve_is_kept_when_it_carries_either_losses_or_checkpoints():
    store = FakeConsoleStore()
    running = {"status": JobStatus.RUNNING, "fine_tuned_model": None}
    curve = sample_finetune_job_changed(job_id="j-curve", loss_curve=loss_curve(20), checkpoints=[], **running)
    points = sample_finetune_job_changed(job_id="j-points", loss_curve=[], checkpoints=checkpoints(50), **running)
    plain = sample_finetune_job_changed(job_id="j-plain", loss_curve=[], checkpoints=[], **running)
    await record_job_changes(store, [("e1", curve), ("e2", points), ("e0", plain)])
    assert set(store.curve_rows) == {"j-curve", "j-points"}
    assert store.cycle_rows[curve.cycle_id].phase == "fine-tuning (running)"
    succeeded = sample_finetune_job_changed(status=JobStatus.SUCCEEDED, occurred_at=curve.occurred_at + timedelta(1))
    await record_job_changes(store, [("e3", succeeded)])
    assert store.cycle_rows[curve.cycle_id].phase == "fine-tuned"


async def test_an_evaluation_moves_its_cycle():
    store = FakeConsoleStore()
    evaluation = sample_evaluation_completed()
    assert evaluation.outcome.value == "passed"
    await record_evaluations(store, [evaluation])
    assert store.cycle_rows[evaluation.cycle_id].phase == "evaluated"


def test_an_accepted_row_keeps_each_message_cut_and_a_tool_call_named():
    long = "x" * (MAX_MESSAGE_CHARS + 5)
    messages = [FineTuneMessage.model_validate(m) for m in (
        {"role": "user", "content": long},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "book", "arguments": "{}"}}]},
        {"role": "tool", "content": "", "tool_call_id": "c1"},
        {"role": "assistant", "content": "Booked."})]
    example = sample_example_accepted(messages=messages)
    row = accepted_row(example)
    assert row.messages == [{"role": "user", "content": "x" * MAX_MESSAGE_CHARS},
                            {"role": "assistant", "content": "(tool call)"}, {"role": "tool", "content": ""},
                            {"role": "assistant", "content": "Booked."}]
    lineage = example.lineage
    assert (row.example_id, row.kind, row.cleaner_version, row.reason, row.detail, row.project_id, row.trace_id,
            row.session_id, row.observation_id, row.at) == (
        example.example_id, "accepted", example.cleaner_version, None, None, lineage.project_id, lineage.trace_id,
        lineage.session_id, lineage.observation_id, example.accepted_at)


def test_a_rejected_row_keeps_its_reason_and_lineage_but_no_words():
    rejected = sample_example_rejected()
    row = rejected_row(rejected)
    lineage = rejected.lineage
    assert (row.example_id, row.kind, row.reason, row.detail, row.trace_id, row.session_id, row.observation_id,
            row.messages, row.at) == (
        rejected.rejection_id, "rejected", rejected.reason.value, rejected.detail, lineage.trace_id,
        lineage.session_id, lineage.observation_id, None, rejected.rejected_at)


def test_a_letter_row_is_the_letter_as_the_runtime_wrote_it():
    letter = dead_letter().model_copy(update={"original_bytes": 123})
    row = letter_row("l-1", letter)
    assert (row.letter_id, row.source_topic, row.source_partition, row.source_offset, row.consumer_group,
            row.error_type, row.error_message, row.attempts, row.failed_at, row.original_key, row.original_headers,
            row.original_value, row.original_bytes, row.session_id, row.trace_id) == (
        "l-1", letter.source_topic, letter.partition, letter.offset, letter.consumer_group, letter.error_type,
        letter.error_message, letter.attempts, letter.failed_at, letter.original_key, letter.original_headers,
        letter.original_value, 123, "call-dl", "tr-dl")


@pytest.mark.parametrize(("body", "named"), [
    ('{"trace": {"session_id": "s3", "trace_id": "t3"}}', ("s3", "t3")),  # a TraceScored names its trace
    ('{"session_id": "s0", "lineage": {"session_id": "s1", "trace_id": "t1"}}', ("s0", "t1")),  # the top first
    ('{"session_id": "", "lineage": {"session_id": "s1"}}', ("s1", None)), ('["s1"]', (None, None)),
    ('{"session_id": 7}', (None, None)),
])
def test_a_letter_names_the_caller_wherever_its_message_puts_them(body, named):
    assert callers_named(body) == named


def test_a_trace_link_escapes_the_project_and_the_trace_whole():
    assert trace_url("https://lf.clinic.test//", "eu/clinic", "t/1?x") == \
        "https://lf.clinic.test/project/eu%2Fclinic/traces/t%2F1%3Fx"
