"""How traces and online scores become the calls the gates and the cost report count."""

from __future__ import annotations

from datetime import timedelta

import pytest

from distillery_contracts.samples import sample_call_scored, sample_trace_captured
from distillery_contracts.traces import ObservationLevel
from distillery_rollout_controller.adapters.fakes import FakeRolloutRepository
from distillery_rollout_controller.domain.observations import (
    observation_from_score,
    observation_from_trace,
    traffic_from_trace,
)
from distillery_runtime.pricing import PriceTable

PRICES = PriceTable()
TAGS = {"arm": "candidate", "rollout_id": "ro-0007", "stage": 1, "call_id": "call-7f3a"}


def test_trace_tagged_by_the_router_is_a_call_of_its_arm_and_stage():
    trace = sample_trace_captured(metadata={**TAGS, "stage": "1"}, model="ft:gpt-4o-mini-2024-07-18:x::y")

    call = observation_from_trace(trace, PRICES)

    assert (call.rollout_id, call.stage_index, call.arm) == ("ro-0007", 1, "candidate")
    assert call.latency_ms == 820.0 and call.error is False
    # 116 uncached + 896 cached input tokens and 18 output tokens at fine-tuned gpt-4o-mini prices.
    assert call.cost_usd == pytest.approx((116 * 0.30 + 896 * 0.15 + 18 * 1.20) / 1e6)


@pytest.mark.parametrize("metadata", [
    {"arm": "teacher", "call_id": "call-7f3a"},
    {**TAGS, "stage": "first"},
    {**TAGS, "fallback_from": "candidate", "arm": "teacher"},
    {**TAGS, "cancelled": True},
])
def test_traces_that_are_no_evidence_about_an_arm_stay_out_of_the_gates(metadata):
    assert observation_from_trace(sample_trace_captured(metadata=metadata), PRICES) is None


def test_failed_generation_counts_as_an_error():
    trace = sample_trace_captured(metadata=TAGS, level=ObservationLevel.ERROR, output=None)
    assert observation_from_trace(trace, PRICES).error is True


def test_every_trace_with_a_model_counts_as_traffic_priced_from_its_tokens():
    sample = traffic_from_trace(sample_trace_captured(), PRICES)
    assert sample.model == "gpt-4.1-2025-04-14" and (sample.input_tokens, sample.output_tokens) == (1012, 18)
    assert sample.cost_usd == pytest.approx((116 * 2.0 + 896 * 0.5 + 18 * 8.0) / 1e6)


async def test_a_trace_and_its_score_arrive_in_either_order_and_count_as_one_call():
    trace = sample_trace_captured(observation_id="obs-1", metadata=TAGS,
                                  model="ft:gpt-4o-mini-2024-07-18:x::y")
    score = sample_call_scored(observation_id="obs-1", stage_index=1, arm="candidate",
                               hallucinated=True, latency_ms=None, scored_at=trace.start_time + timedelta(minutes=9))
    for order in ([observation_from_trace(trace, PRICES), observation_from_score(score)],
                  [observation_from_score(score), observation_from_trace(trace, PRICES)]):
        repo = FakeRolloutRepository()
        for call in order:
            await repo.record_observations([call])

        [sample] = (await repo.stage_samples("ro-0007", 1)).values()

        assert (sample.calls, sample.scored, sample.hallucinated, sample.latencies) == (1, 1, 1, [820.0])
