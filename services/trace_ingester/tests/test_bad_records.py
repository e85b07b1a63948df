"""One bad Langfuse record never stops the capture: its text is repaired, or it is dead-lettered
with a reason, and every other generation of the window is published."""

from __future__ import annotations

import json
from datetime import timedelta
from functools import partial

from ingester_support import project_capture

from distillery_contracts.deadletter import DeadLettered
from distillery_contracts.registry import TRACES_RAW
from distillery_contracts.traces import TraceCaptured, TraceScored
from distillery_trace_ingester.adapters.fakes import FakeLangfuseReader
from distillery_trace_ingester.domain.records import Outcome
from distillery_trace_ingester.samples import ANSWER, T0, sample_generation, sample_score
from distillery_trace_ingester.services import TRACES_DLQ, capture_next_window, import_export

CUT_EMOJI = "Booked for Tuesday \ud83d"
"""A transcript cut in the middle of an emoji: half a surrogate pair, legal in JSON only."""

project = partial(project_capture, chunk_size=7)


async def run_until_live(capture) -> None:
    while (await capture_next_window(capture))[0] is not None:
        pass


def traces(hub) -> dict[str, TraceCaptured]:
    return {e.observation_id: e for e in hub.on(TRACES_RAW) if isinstance(e, TraceCaptured)}


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"x": value}
    return value


async def test_a_lone_surrogate_and_a_nul_are_replaced_and_every_generation_is_published(hub, clock):
    cut = sample_generation(3, output=json.dumps({**ANSWER, "content": CUT_EMOJI}),
                            metadata={"intent": "booking\x00", "note\ud83d": "x"})
    reader = FakeLangfuseReader("clinic", [sample_generation(n) for n in range(3)] + [cut],
                                [sample_score("obs-00003", comment="caller said \ud83d")])

    await run_until_live(project(hub, reader, clock))

    published = traces(hub)
    assert len(published) == 4 and hub.on(TRACES_DLQ) == []
    repaired = published["obs-00003"]
    assert repaired.output.content == "Booked for Tuesday \ufffd"
    assert repaired.metadata == {"intent": "booking\ufffd", "note\ufffd": "x"}
    assert repaired.scores[0].comment == "caller said \ufffd"


async def test_a_late_score_with_a_lone_surrogate_is_sent_repaired(hub, clock):
    reader = FakeLangfuseReader("clinic", [sample_generation(1, start=clock.now - timedelta(minutes=5))])
    capture = project(hub, reader, clock)
    await run_until_live(capture)
    reader.score_records.append(sample_score("obs-00001", score_id="late-1", comment="\ud83d\x00",
                                             timestamp=clock.now - timedelta(minutes=1)))

    clock.now += timedelta(seconds=20)
    await capture_next_window(capture)

    [scored] = [e for e in hub.on(TRACES_RAW) if isinstance(e, TraceScored)]
    assert scored.scores[0].comment == "\ufffd\ufffd"


async def test_a_generation_nested_too_deeply_is_dead_lettered_with_the_reason(hub, clock):
    deep = sample_generation(2, metadata=nested(150))
    reader = FakeLangfuseReader("clinic", [sample_generation(n) for n in range(2)] + [deep])

    await run_until_live(project(hub, reader, clock))

    [letter] = hub.on(TRACES_DLQ)
    assert letter.original_key == "obs-00002"
    assert letter.error_message == "nested deeper than 64 levels"
    assert set(traces(hub)) == {"obs-00000", "obs-00001"}


async def test_an_unmappable_record_with_a_lone_surrogate_is_dead_lettered_repaired(hub, clock):
    broken = sample_generation(1, input=CUT_EMOJI)  # plain text: not chat messages
    await run_until_live(project(hub, FakeLangfuseReader("clinic", [sample_generation(0), broken]), clock))

    [letter] = hub.on(TRACES_DLQ)
    assert "Booked for Tuesday \ufffd" in letter.original_value
    letter.model_dump_json().encode()


async def test_a_generation_whose_event_cannot_be_emitted_is_dead_lettered_and_gets_no_late_scores(hub, clock):
    hub.refuse_emit = lambda event: getattr(event, "observation_id", None) == "obs-00002"
    reader = FakeLangfuseReader("clinic", [sample_generation(n, start=clock.now - timedelta(minutes=9, seconds=n))
                                           for n in range(4)])
    capture = project(hub, reader, clock, initial_watermark=clock.now - timedelta(minutes=10))
    await run_until_live(capture)
    reader.score_records.append(sample_score("obs-00002", score_id="late-1",
                                             timestamp=clock.now - timedelta(minutes=1)))
    clock.now += timedelta(seconds=20)
    await capture_next_window(capture)

    assert set(traces(hub)) == {"obs-00000", "obs-00001", "obs-00003"}
    [letter] = hub.on(TRACES_DLQ)
    assert letter.original_key == "obs-00002" and '"obs-00002"' in letter.original_value
    assert letter.error_message.startswith("EmitRefused while emitting the event")
    assert hub.state.published[("clinic", "obs-00002")].outcome is Outcome.DEAD_LETTERED
    assert not [e for e in hub.on(TRACES_RAW) if isinstance(e, TraceScored)]


async def test_a_dead_letter_that_cannot_be_emitted_whole_is_emitted_without_the_record(hub, clock):
    hub.refuse_emit = lambda event: ("obs-00001" in getattr(event, "original_value", "")
                                     or getattr(event, "observation_id", None) == "obs-00001")
    reader = FakeLangfuseReader("clinic", [sample_generation(n) for n in range(3)])

    await run_until_live(project(hub, reader, clock))

    [letter] = hub.on(TRACES_DLQ)
    assert isinstance(letter, DeadLettered) and letter.original_key == "obs-00001"
    assert letter.original_value == ""
    assert "the record itself could not be kept (EmitRefused)" in letter.error_message
    assert set(traces(hub)) == {"obs-00000", "obs-00002"}


async def test_an_import_reports_each_bad_or_repaired_line_by_number_and_publishes_the_rest(hub):
    lines = [json.dumps(sample_generation(1)).encode(),
             b"\xff\xfe not UTF-8",
             json.dumps(sample_generation(3, output=json.dumps({**ANSWER, "content": CUT_EMOJI}))),
             json.dumps(sample_generation(4, userId="caller\x00")),
             b'{"id": "x", "metadata": ' + b"[" * 100 + b"]" * 100 + b"}",
             json.dumps(sample_generation(6, name="x" * (5 * 1024 * 1024)))]

    report = await import_export(hub.new_uow, hub.store, "clinic", lines, file="export.jsonl", clock=lambda: T0)

    assert report.errors == ["line 2: not valid UTF-8 (byte 0xff at byte 1)",
                             "line 5: nested deeper than 64 levels",
                             "line 6: longer than 4,194,304 bytes"]
    assert report.repaired == ["line 4: 1 NUL replaced by U+FFFD"]
    assert report.run.bad_lines == 3
    published = traces(hub)
    assert set(published) == {"obs-00001", "obs-00003", "obs-00004"}
    assert published["obs-00003"].output.content == CUT_EMOJI.replace("\ud83d", "\ufffd")
    assert published["obs-00004"].user_id == "caller\ufffd"


async def test_a_generation_over_the_event_size_limit_is_dead_lettered_cut_to_fit(hub, clock):
    huge = sample_generation(1, output=json.dumps({**ANSWER, "content": "words " * 250_000}))
    await run_until_live(project(hub, FakeLangfuseReader("clinic", [sample_generation(0), huge]), clock))

    [letter] = hub.on(TRACES_DLQ)
    assert letter.original_key == "obs-00001"
    assert "over the limit of 1,000,000 bytes an event may have" in letter.error_message
    assert len(letter.model_dump_json().encode()) <= 1_000_000 < letter.original_bytes
    assert set(traces(hub)) == {"obs-00000"}
