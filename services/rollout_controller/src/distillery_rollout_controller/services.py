"""The controller's use cases: record calls, start a rollout, judge its stage, obey an operator.

Each runs inside one unit of work with the repository it is given. Those that change a
route first lock the route's row, so consumers, the evaluation worker and commands (in
one instance or several) change a route one at a time. A state change, its decision
event and its routing table commit together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from distillery_contracts.commands import (
    AbortRollout,
    AdvanceRollout,
    PauseRollout,
    ResumeRollout,
    RolloutCommand,
)
from distillery_contracts.envelope import Envelope
from distillery_contracts.evaluations import CallScored, EvalOutcome, EvaluationCompleted
from distillery_contracts.registry import ROLLOUT_DECISIONS, ROUTING_TABLE
from distillery_contracts.routing import RouteTableUpdated
from distillery_contracts.rollout import RolloutDecided, RolloutDecision
from distillery_contracts.traces import TraceCaptured
from distillery_rollout_controller.adapters.repository import AbstractRolloutRepository
from distillery_rollout_controller.config import ControllerConfig
from distillery_rollout_controller.domain.authority import authority_of, refusal_kind
from distillery_rollout_controller.domain.decide import Action, StageVerdict, judge_stage
from distillery_rollout_controller.domain.observations import (
    observation_from_score,
    observation_from_trace,
    traffic_from_trace,
)
from distillery_rollout_controller.domain.plan import TEACHER
from distillery_rollout_controller.domain.rollout import Rollout, RolloutStateError, RolloutStatus
from distillery_rollout_controller.domain.routing import RouteState, build_table, weights_of
from distillery_rollout_controller.metrics import COMMANDS_REFUSED
from distillery_runtime.clock import utc_now
from distillery_runtime.errors import PermanentError
from distillery_runtime.logs import get_logger
from distillery_runtime.signing import SignatureRefused
from distillery_runtime.uow import UnitOfWork

log = get_logger(__name__)


@dataclass
class RolloutController:
    """Use cases over a repository and a unit of work (see the module docstring)."""

    config: ControllerConfig
    clock: Callable[[], datetime] = field(default=utc_now)

    async def record_scores(self, repo: AbstractRolloutRepository, scores: Sequence[CallScored]) -> bool:
        """Remember the evaluator's verdicts on calls; True when a stage has new evidence."""
        if not scores:
            return False
        await repo.record_observations([observation_from_score(s) for s in scores])
        return True

    async def record_traces(self, repo: AbstractRolloutRepository, traces: Sequence[TraceCaptured]) -> bool:
        """Remember what calls cost and how long they took: per model for the cost report, per
        arm for the gates when the router tagged the call; True when a stage has new evidence."""
        prices = self.config.prices
        await repo.record_traffic([s for t in traces if (s := traffic_from_trace(t, prices)) is not None])
        calls = [o for t in traces if (o := observation_from_trace(t, prices)) is not None]
        if calls:
            await repo.record_observations(calls)
        return bool(calls)

    async def ensure_route(self, repo: AbstractRolloutRepository, uow: UnitOfWork,
                           cause: Envelope | None = None) -> RouteState:
        """Lock the route; publish the all-teacher table first if it has none yet."""
        route = self.config.route
        state = await repo.route_state(route, lock=True)
        if state is not None:
            return state
        table = self._signed(build_table(route, 1, None, {TEACHER: 100.0}, {TEACHER: self.config.teacher_model},
                                         self.config.endpoints, self.clock()))
        state = RouteState(route=route, table=table, production_model=None)
        await repo.save_route_state(state)
        uow.emit(ROUTING_TABLE, table, cause=cause)
        log.info("published the initial all-teacher table", route=route, teacher=self.config.teacher_model)
        return state

    async def start_rollout(self, repo: AbstractRolloutRepository, uow: UnitOfWork,
                            evaluation: EvaluationCompleted, cause: Envelope | None = None) -> Rollout | None:
        """Start (or queue behind the live one) a rollout of a candidate that passed offline."""
        if evaluation.outcome is not EvalOutcome.PASSED:
            return None
        state = await self.ensure_route(repo, uow, cause)
        if await repo.rollout_for_run(evaluation.run_id) is not None:
            return None
        if await self._already_routed(repo, state, evaluation.candidate_model):
            log.warning("candidate already in production or in a rollout; not starting another",
                        candidate=evaluation.candidate_model, run_id=evaluation.run_id)
            return None
        rollout = Rollout(
            rollout_id=await repo.next_rollout_id(), route=state.route,
            candidate_model=evaluation.candidate_model, teacher_model=self.config.teacher_model,
            previous_model=None, created_at=self.clock(), cycle_id=evaluation.cycle_id,
            eval_run_id=evaluation.run_id, candidate_provider=evaluation.candidate_provider,
        )
        if await repo.live_rollout(state.route) is not None:
            await repo.save_rollout(rollout)
            log.info("rollout queued behind the live one", rollout_id=rollout.rollout_id)
            return rollout
        await self._begin(repo, uow, state, rollout, cause)
        return rollout

    async def evaluate(self, repo: AbstractRolloutRepository, uow: UnitOfWork,
                       cause: Envelope | None = None) -> RolloutDecided | None:
        """Judge the live rollout's stage and act on it; the decision, if one was recorded."""
        state = await self.ensure_route(repo, uow, cause)
        rollout = await repo.live_rollout(state.route)
        if rollout is None:
            return await self._start_next(repo, uow, state, cause)
        if rollout.status is RolloutStatus.PAUSED:
            return None
        verdict = await self._judge(repo, rollout)
        return await self._act(repo, uow, state, rollout, verdict, cause)

    async def apply_command(self, repo: AbstractRolloutRepository, uow: UnitOfWork,
                            command: RolloutCommand, cause: Envelope | None = None) -> RolloutDecided | None:
        """Carry out an operator's command, recorded with who asked and why; a command not
        signed by a trusted operator as ``requested_by`` is refused (see :meth:`authorise`)."""
        self.authorise(command)
        state = await self.ensure_route(repo, uow, cause)
        rollout = await repo.rollout(command.rollout_id)
        if rollout is None:
            raise PermanentError(f"no rollout {command.rollout_id!r} on this controller")
        try:
            if isinstance(command, PauseRollout | ResumeRollout):
                return await self._pause_or_resume(repo, uow, rollout, command, cause)
            if isinstance(command, AbortRollout):
                return await self._abort(repo, uow, state, rollout, command, cause)
            if isinstance(command, AdvanceRollout):
                return await self._advance_on_request(repo, uow, state, rollout, command, cause)
        except RolloutStateError as exc:
            raise PermanentError(str(exc)) from exc
        raise PermanentError(f"unknown rollout command {type(command).__name__}")

    def authorise(self, command: RolloutCommand) -> None:
        """Refuse (SignatureRefused: logged, counted, then dead-lettered with the reason) a command
        whose signature is not a trusted operator's, that claims another identity than its
        signer's, or that forces an advance without the operator role."""
        try:
            authority_of(command, self.config.operators)
        except SignatureRefused as exc:
            COMMANDS_REFUSED.labels(command.event_type, refusal_kind(str(exc))).inc()
            log.warning("refused a rollout command", command=command.event_type, rollout_id=command.rollout_id,
                        command_id=command.command_id, reason=str(exc))
            raise

    def _signed(self, table: RouteTableUpdated) -> RouteTableUpdated:
        signer = self.config.table_signer
        return signer.sign(table) if signer is not None else table

    # --- acting on a verdict -------------------------------------------------------------

    async def _judge(self, repo: AbstractRolloutRepository, rollout: Rollout) -> StageVerdict:
        samples = await repo.stage_samples(rollout.rollout_id, rollout.stage_index)
        now = self.clock()
        started = rollout.stage_started_at or now
        verdict = judge_stage(samples, rollout.weights(self.config.plan),
                              is_last_stage=rollout.stage_index >= self.config.plan.last_stage,
                              seconds_in_stage=(now - started).total_seconds(), policy=self.config.policy)
        rollout.record_evaluation(verdict.gates, verdict.metrics, now)
        return verdict

    async def _act(self, repo: AbstractRolloutRepository, uow: UnitOfWork, state: RouteState,
                   rollout: Rollout, verdict: StageVerdict, cause: Envelope | None,
                   *, always_record_hold: bool = False) -> RolloutDecided | None:
        now, plan = self.clock(), self.config.plan
        if verdict.action is Action.HOLD:
            code = verdict.hold_code.value if verdict.hold_code else None
            changed = code != rollout.last_hold_code
            rollout.last_hold_code = code
            decision = (rollout.decide(RolloutDecision.HELD, verdict.reason, plan, now,
                                       gates=verdict.gates, metrics=verdict.metrics)
                        if changed or always_record_hold else None)
            await repo.save_rollout(rollout)
            if decision is not None:
                await self._record(repo, uow, decision, cause)
            return decision
        if verdict.action is Action.ADVANCE:
            rollout.advance(plan, now)
            kind = RolloutDecision.ADVANCED
        else:
            ending = RolloutStatus.COMPLETED if verdict.action is Action.COMPLETE else RolloutStatus.ROLLED_BACK
            rollout.finish(ending, verdict.reason, now)
            kind = RolloutDecision.COMPLETED if ending is RolloutStatus.COMPLETED else RolloutDecision.ROLLED_BACK
        decision = rollout.decide(kind, verdict.reason, plan, now, gates=verdict.gates, metrics=verdict.metrics)
        return await self._commit_change(repo, uow, state, rollout, decision, cause)

    async def _commit_change(self, repo: AbstractRolloutRepository, uow: UnitOfWork, state: RouteState,
                             rollout: Rollout, decision: RolloutDecided,
                             cause: Envelope | None) -> RolloutDecided:
        """Save the rollout, record its decision, publish its table; start the next if it ended."""
        await repo.save_rollout(rollout)
        await self._record(repo, uow, decision, cause)
        state = await self._publish(repo, uow, state, rollout, cause)
        log.info("rollout decision", rollout_id=rollout.rollout_id, decision=decision.decision.value,
                 stage=rollout.stage_index, weights=decision.weights, reason=decision.reason)
        if not rollout.is_live:
            await self._start_next(repo, uow, state, cause)
        return decision

    async def _begin(self, repo: AbstractRolloutRepository, uow: UnitOfWork, state: RouteState,
                     rollout: Rollout, cause: Envelope | None) -> RolloutDecided:
        plan = self.config.plan
        rollout.previous_model, rollout.previous_provider = state.production_model, state.production_provider
        rollout.begin(self.clock())
        against = rollout.previous_model or "the teacher alone"
        reason = (f"offline evaluation {rollout.eval_run_id or '(none)'} passed; stage 1 of "
                  f"{len(plan.percents)} at {plan.percent(0):g}%, replacing {against}")
        decision = rollout.decide(RolloutDecision.STARTED, reason, plan, self.clock())
        return await self._commit_change(repo, uow, state, rollout, decision, cause)

    async def _start_next(self, repo: AbstractRolloutRepository, uow: UnitOfWork, state: RouteState,
                          cause: Envelope | None) -> RolloutDecided | None:
        queued = await repo.queued_rollouts(state.route)
        if not queued:
            return None
        return await self._begin(repo, uow, state, queued[0], cause)

    async def _publish(self, repo: AbstractRolloutRepository, uow: UnitOfWork, state: RouteState,
                       rollout: Rollout, cause: Envelope | None) -> RouteState:
        """A new table version when the rollout's weights or models differ from the one in force."""
        table = self._signed(build_table(state.route, state.version + 1, rollout.rollout_id,
                                         rollout.weights(self.config.plan), rollout.models(),
                                         self.config.endpoints, self.clock(), rollout.providers()))
        if [a.model_dump() for a in table.arms] == [a.model_dump() for a in state.table.arms]:
            return state
        production = state.production_model if rollout.is_live else rollout.production_model_after
        new_state = RouteState(route=state.route, table=table, production_model=production)
        await repo.save_route_state(new_state)
        uow.emit(ROUTING_TABLE, table, cause=cause)
        return new_state

    async def _record(self, repo: AbstractRolloutRepository, uow: UnitOfWork, decision: RolloutDecided,
                      cause: Envelope | None) -> None:
        await repo.add_decision(decision)
        uow.emit(ROLLOUT_DECISIONS, decision, cause=cause, correlation_id=decision.cycle_id)

    # --- operator commands -----------------------------------------------------------------

    async def _pause_or_resume(self, repo: AbstractRolloutRepository, uow: UnitOfWork, rollout: Rollout,
                               command: PauseRollout | ResumeRollout,
                               cause: Envelope | None) -> RolloutDecided:
        pausing = isinstance(command, PauseRollout)
        rollout.pause() if pausing else rollout.resume()
        kind = RolloutDecision.PAUSED if pausing else RolloutDecision.RESUMED
        reason = command.reason or ("weights held by operator" if pausing else "gates evaluated again")
        decision = rollout.decide(kind, reason, self.config.plan, self.clock(), actor=command.requested_by)
        await repo.save_rollout(rollout)
        await self._record(repo, uow, decision, cause)
        return decision

    async def _abort(self, repo: AbstractRolloutRepository, uow: UnitOfWork, state: RouteState,
                     rollout: Rollout, command: AbortRollout, cause: Envelope | None) -> RolloutDecided:
        was_queued = rollout.status is RolloutStatus.QUEUED
        reason = command.reason or "aborted by operator"
        rollout.finish(RolloutStatus.ABORTED, reason, self.clock())
        if was_queued:  # it never served a call: the table in force stays as it is
            decision = rollout.decide(RolloutDecision.ABORTED, reason, self.config.plan, self.clock(),
                                      actor=command.requested_by, weights=weights_of(state.table))
            await repo.save_rollout(rollout)
            await self._record(repo, uow, decision, cause)
            return decision
        decision = rollout.decide(RolloutDecision.ABORTED, reason, self.config.plan, self.clock(),
                                  actor=command.requested_by)
        return await self._commit_change(repo, uow, state, rollout, decision, cause)

    async def _advance_on_request(self, repo: AbstractRolloutRepository, uow: UnitOfWork,
                                  state: RouteState, rollout: Rollout, command: AdvanceRollout,
                                  cause: Envelope | None) -> RolloutDecided | None:
        if not rollout.is_live:
            raise RolloutStateError(f"cannot advance rollout {rollout.rollout_id}: it is {rollout.status.value}")
        if not command.force:
            if rollout.status is RolloutStatus.PAUSED:
                raise RolloutStateError(f"rollout {rollout.rollout_id} is paused: resume it, or force the advance")
            verdict = await self._judge(repo, rollout)
            return await self._act(repo, uow, state, rollout, verdict, cause, always_record_hold=True)
        now, plan = self.clock(), self.config.plan
        reason = f"forced by {command.requested_by}: {command.reason}"
        gates, metrics = rollout.last_gates, rollout.last_metrics  # the evidence overruled, before advancing
        if rollout.stage_index >= plan.last_stage:
            rollout.finish(RolloutStatus.COMPLETED, reason, now)
            kind = RolloutDecision.COMPLETED
        else:
            rollout.advance(plan, now)
            kind = RolloutDecision.FORCE_ADVANCED
        decision = rollout.decide(kind, reason, plan, now, actor=command.requested_by,
                                  gates=gates, metrics=metrics)
        return await self._commit_change(repo, uow, state, rollout, decision, cause)

    @staticmethod
    async def _already_routed(repo: AbstractRolloutRepository, state: RouteState, model: str) -> bool:
        if state.production_model == model:
            return True
        live = await repo.live_rollout(state.route)
        queued = await repo.queued_rollouts(state.route)
        return any(r.candidate_model == model for r in ([live] if live else []) + queued)
