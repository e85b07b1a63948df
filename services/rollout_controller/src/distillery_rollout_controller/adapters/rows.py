"""Conversions between the controller's rows and its domain objects."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by

from distillery_contracts.common import GateResult, ModelMetrics
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_rollout_controller.adapters.tables import observations
from distillery_rollout_controller.domain.observations import Observation, TrafficSample, merge_observation
from distillery_rollout_controller.domain.rollout import Rollout, RolloutStatus
from distillery_rollout_controller.domain.routing import RouteState
from distillery_rollout_controller.domain.window import ArmSample

_GATES = TypeAdapter(list[GateResult])
_METRICS = TypeAdapter(dict[str, ModelMetrics])


def route_state_from(row: Mapping[str, Any]) -> RouteState:
    return RouteState(route=row["route"], table=RouteTableUpdated.model_validate(row["route_table"]),
                      production_model=row["production_model"])


def route_state_row(state: RouteState) -> dict[str, Any]:
    return {"route": state.route, "version": state.version, "rollout_id": state.table.rollout_id,
            "production_model": state.production_model,
            "route_table": state.table.model_dump(mode="json"), "updated_at": state.table.updated_at}


def rollout_from(row: Mapping[str, Any]) -> Rollout:
    return Rollout(
        rollout_id=row["rollout_id"], route=row["route"], candidate_model=row["candidate_model"],
        teacher_model=row["teacher_model"], previous_model=row["previous_model"],
        created_at=row["created_at"], cycle_id=row["cycle_id"], eval_run_id=row["eval_run_id"],
        status=RolloutStatus(row["status"]), stage_index=row["stage_index"],
        stage_started_at=row["stage_started_at"], decisions_made=row["decisions_made"],
        last_hold_code=row["last_hold_code"], last_evaluated_at=row["last_evaluated_at"],
        last_gates=_GATES.validate_python(row["last_gates"]),
        last_metrics=_METRICS.validate_python(row["last_metrics"]),
        ended_at=row["ended_at"], end_reason=row["end_reason"],
        candidate_provider=row["candidate_provider"], previous_provider=row["previous_provider"],
    )


def rollout_row(rollout: Rollout) -> dict[str, Any]:
    return {
        "rollout_id": rollout.rollout_id, "route": rollout.route, "eval_run_id": rollout.eval_run_id,
        "cycle_id": rollout.cycle_id, "candidate_model": rollout.candidate_model,
        "previous_model": rollout.previous_model, "teacher_model": rollout.teacher_model,
        "status": rollout.status.value, "stage_index": rollout.stage_index,
        "stage_started_at": rollout.stage_started_at, "decisions_made": rollout.decisions_made,
        "last_hold_code": rollout.last_hold_code, "last_evaluated_at": rollout.last_evaluated_at,
        "last_gates": _GATES.dump_python(rollout.last_gates, mode="json"),
        "last_metrics": _METRICS.dump_python(rollout.last_metrics, mode="json"),
        "created_at": rollout.created_at, "ended_at": rollout.ended_at, "end_reason": rollout.end_reason,
        "candidate_provider": rollout.candidate_provider, "previous_provider": rollout.previous_provider,
    }


def decision_row(decision: RolloutDecided) -> dict[str, Any]:
    return {"decision_id": decision.decision_id, "rollout_id": decision.rollout_id,
            "decision": decision.decision.value, "stage_index": decision.stage_index,
            "actor": decision.actor, "decided_at": decision.decided_at,
            "payload": decision.model_dump(mode="json")}


def merge_observations(items: Sequence[Observation]) -> list[Observation]:
    """One observation per id, in id order: an upsert may touch a row once per statement,
    and a fixed order keeps concurrent transactions from deadlocking."""
    merged: dict[str, Observation] = {}
    for item in items:
        known = merged.get(item.observation_id)
        merged[item.observation_id] = merge_observation(known, item) if known else item
    return [merged[key] for key in sorted(merged)]


def observation_row(item: Observation) -> dict[str, Any]:
    return {
        "observation_id": item.observation_id, "rollout_id": item.rollout_id,
        "stage_index": item.stage_index, "arm": item.arm, "model": item.model,
        "observed_at": item.observed_at, "latency_ms": item.latency_ms, "error": item.error,
        "cost_usd": item.cost_usd, "hallucinated": item.hallucinated,
        "judge_outcome": item.judge_outcome, "similarity": item.similarity, "scored": item.scored,
    }


def stage_sample_query(rollout_id: str, stage_index: int) -> Select[Any]:
    o = observations.c

    def count_if(condition: Any) -> Any:
        return func.count().filter(condition)

    return (
        select(
            o.arm, func.max(o.model).label("model"), func.count().label("calls"),
            count_if(o.scored).label("scored"),
            count_if(o.hallucinated.is_not(None)).label("hallucination_checked"),
            count_if(o.hallucinated.is_(True)).label("hallucinated"),
            count_if(o.judge_outcome == "win").label("wins"),
            count_if(o.judge_outcome == "tie").label("ties"),
            count_if(o.judge_outcome == "loss").label("losses"),
            func.coalesce(func.sum(o.similarity), 0.0).label("similarity_sum"),
            func.count(o.similarity).label("similarity_n"),
            count_if(o.error.is_(True)).label("errors"), func.count(o.error).label("error_known"),
            func.coalesce(func.sum(o.cost_usd), 0.0).label("cost_sum"),
            func.count(o.cost_usd).label("cost_n"),
            func.array_agg(aggregate_order_by(o.latency_ms, o.latency_ms.asc()))
            .filter(o.latency_ms.is_not(None)).label("latencies"),
        )
        .where(o.rollout_id == rollout_id, o.stage_index == stage_index)
        .group_by(o.arm)
    )


def arm_sample_from(row: Mapping[str, Any]) -> ArmSample:
    return ArmSample(
        arm=row["arm"], model=row["model"], calls=row["calls"], scored=row["scored"],
        hallucination_checked=row["hallucination_checked"], hallucinated=row["hallucinated"],
        wins=row["wins"], ties=row["ties"], losses=row["losses"],
        similarity_sum=float(row["similarity_sum"]), similarity_n=row["similarity_n"],
        errors=row["errors"], error_known=row["error_known"], cost_sum=float(row["cost_sum"]),
        cost_n=row["cost_n"], latencies=[float(v) for v in row["latencies"] or []],
    )


def traffic_rows(items: Sequence[TrafficSample]) -> list[dict[str, Any]]:
    """Samples summed per (hour, model), in key order (see merge_observations on order)."""
    grouped: dict[tuple[datetime, str], dict[str, Any]] = {}
    for item in items:
        hour = item.at.replace(minute=0, second=0, microsecond=0)
        row = grouped.setdefault((hour, item.model), {
            "hour": hour, "model": item.model, "calls": 0, "priced_calls": 0, "cost_usd": 0.0,
            "input_tokens": 0, "output_tokens": 0, "first_at": item.at, "last_at": item.at})
        row["calls"] += 1
        if item.cost_usd is not None:
            row["priced_calls"] += 1
            row["cost_usd"] += item.cost_usd
        row["input_tokens"] += item.input_tokens
        row["output_tokens"] += item.output_tokens
        row["first_at"], row["last_at"] = min(row["first_at"], item.at), max(row["last_at"], item.at)
    return [grouped[key] for key in sorted(grouped)]
