"""A job event's loss curve: optional, ordered by step, bounded, and it survives the wire."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from distillery_contracts.finetune import MAX_LOSS_POINTS, FinetuneJobChanged, LossPoint, bounded_curve
from distillery_contracts.samples import sample_finetune_job_changed

T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)


def points(n: int) -> list[LossPoint]:
    return [LossPoint(step=s, train_loss=2.0 / s, valid_loss=2.1 / s if s % 10 == 0 else None,
                      at=T0 + timedelta(seconds=s)) for s in range(1, n + 1)]


def test_a_loss_curve_survives_a_round_trip_point_for_point():
    event = sample_finetune_job_changed(loss_curve=points(25))
    back = FinetuneJobChanged.model_validate_json(event.model_dump_json())
    assert back.loss_curve == event.loss_curve
    assert [p.step for p in back.loss_curve] == list(range(1, 26))
    assert back.loss_curve[9].valid_loss == pytest.approx(0.21) and back.loss_curve[8].valid_loss is None


def test_an_event_without_a_curve_reads_as_an_empty_one():
    payload = sample_finetune_job_changed().model_dump(mode="json")
    del payload["loss_curve"]
    assert FinetuneJobChanged.model_validate(payload).loss_curve == []


def test_a_curve_out_of_step_order_or_with_a_step_twice_is_refused():
    with pytest.raises(ValidationError, match="increasing step order"):
        sample_finetune_job_changed(loss_curve=[{"step": 2, "train_loss": 1.0}, {"step": 1, "train_loss": 1.1}])
    with pytest.raises(ValidationError, match="increasing step order"):
        sample_finetune_job_changed(loss_curve=[{"step": 2, "train_loss": 1.0}, {"step": 2, "train_loss": 1.1}])


def test_a_curve_longer_than_the_bound_is_refused():
    with pytest.raises(ValidationError, match="at most 2000"):
        sample_finetune_job_changed(loss_curve=points(MAX_LOSS_POINTS + 1))


def test_bounding_keeps_a_short_curve_whole_and_thins_a_long_one_evenly_keeping_both_ends():
    short = points(MAX_LOSS_POINTS)
    assert bounded_curve(short) == short

    long = points(10_001)
    kept = bounded_curve(long)
    assert len(kept) == MAX_LOSS_POINTS
    assert kept[0] == long[0] and kept[-1] == long[-1]
    gaps = {b.step - a.step for a, b in zip(kept, kept[1:], strict=False)}
    assert gaps <= {5, 6}  # 10,000 steps over 1,999 gaps: evenly spaced
    assert bounded_curve(points(7), limit=3) == [points(7)[0], points(7)[3], points(7)[6]]


def test_a_full_curve_keeps_the_event_far_below_the_message_limit():
    event = sample_finetune_job_changed(loss_curve=bounded_curve(points(50_000)))
    assert len(event.model_dump_json().encode()) < 300_000  # the broker takes 1,048,588 bytes
