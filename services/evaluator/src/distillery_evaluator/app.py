"""The evaluator service: subscriptions, the offline-run worker and the live-call scorer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from distillery_contracts.envelope import Envelope
from distillery_contracts.registry import EVALUATIONS_COMPLETED, get_topic
from distillery_evaluator import __version__
from distillery_evaluator.adapters.chat import AbstractChatClient, EndpointError, OpenAIChatClient
from distillery_evaluator.adapters.embeddings import AbstractEmbedder, MiniLmEmbedder
from distillery_evaluator.adapters.langfuse_sink import AbstractLangfuseSink, LangfuseSdkSink
from distillery_evaluator.adapters.repository import (
    AbstractEvalRepository,
    RunRecord,
    SqlEvalRepository,
)
from distillery_evaluator.adapters.sources import GoldenLoader, golden_loader, read_lines
from distillery_evaluator.calls import CallPolicy
from distillery_evaluator.config import EvaluatorSettings, load_config
from distillery_evaluator.domain.metrics import CostFn
from distillery_evaluator.domain.requests import ModelTarget
from distillery_evaluator.domain.results import Usage
from distillery_evaluator.handlers import Handlers, subscriptions_of
from distillery_evaluator.offline import OfflineEvaluator, RunDeferred, RunLimits
from distillery_evaluator.online import OnlineEvaluator
from distillery_evaluator.scorers import (
    DeterministicHallucinationScorer,
    EmbeddingSimilarityScorer,
    LlmHallucinationScorer,
    PairwiseJudgeScorer,
    Scorer,
)

from distillery_runtime.logs import get_logger
from distillery_runtime.pricing import PriceTable, UnknownPriceError
from distillery_runtime.service import ServiceContext, ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.waiting import sleep_unless_stopped

log = get_logger(__name__)


class UnconfiguredChatClient(AbstractChatClient):
    """Stands in when no API key is set: every call fails at once, saying what to set."""

    def __init__(self, variable: str) -> None:
        self.variable = variable

    async def complete(self, target, messages, **_: object):  # type: ignore[override]
        raise EndpointError(f"no model endpoint configured: set {self.variable}", retryable=False)


@dataclass
class Wiring:
    """The outside world of the evaluator; tests replace parts of it with fakes."""

    models: AbstractChatClient
    judge: AbstractChatClient | None
    embedder: AbstractEmbedder | None
    golden: GoldenLoader
    langfuse: AbstractLangfuseSink | None = None
    cost_of: CostFn = field(default_factory=lambda: price_lookup(PriceTable.from_env()))
    read_lines: Callable = read_lines


def price_lookup(prices: PriceTable) -> CostFn:
    def cost_of(model: str, usage: Usage) -> float | None:
        try:
            return prices.cost_of_call(model, usage.input_tokens, usage.output_tokens,
                                       min(usage.cached_input_tokens, usage.input_tokens))
        except (UnknownPriceError, ValueError):
            return None

    return cost_of


def default_wiring(config: EvaluatorSettings) -> Wiring:
    key = config.api_key
    if key is None:
        variable = ("DISTILLERY_EVALUATOR_AZURE_API_KEY" if config.provider == "azure"
                    else "DISTILLERY_EVALUATOR_OPENAI_API_KEY")
        models: AbstractChatClient = UnconfiguredChatClient(variable)
    else:
        models = OpenAIChatClient(api_key=key, base_url=config.openai_base_url,
                                  azure=config.provider == "azure",
                                  azure_endpoint=config.azure_endpoint,
                                  api_version=config.azure_api_version)
    langfuse = None
    if config.langfuse_configured:
        secret = config.langfuse_secret_key.get_secret_value() if config.langfuse_secret_key else ""
        langfuse = LangfuseSdkSink(config.langfuse_host or "", config.langfuse_public_key or "",
                                   secret, config.langfuse_environment)
    golden = golden_loader(config.golden_source, path=config.golden_path,
                           dataset=config.golden_dataset, limit=config.golden_limit,
                           langfuse_client=(lambda: langfuse.client) if langfuse else None)
    return Wiring(models=models, judge=models if key and config.judge_enabled else None,
                  embedder=MiniLmEmbedder() if config.embedding_enabled else None,
                  golden=golden, langfuse=langfuse)


def build_scorers(config: EvaluatorSettings, wiring: Wiring, policy: CallPolicy
                  ) -> tuple[list[Scorer], list[str]]:
    """The scorers that can run here, and why the others cannot."""
    scorers: list[Scorer] = [DeterministicHallucinationScorer()]
    skipped = []
    if wiring.judge is not None:
        judge = ModelTarget(model=config.judge_model or config.teacher_model,
                            deployment=config.judge_deployment or (
                                None if config.judge_model else config.teacher_deployment))
        scorers += [LlmHallucinationScorer(wiring.judge, judge, policy, config.concurrency),
                    PairwiseJudgeScorer(wiring.judge, judge, policy, config.concurrency)]
    else:
        reason = "disabled by configuration" if not config.judge_enabled else "no judge endpoint"
        skipped.append(f"LLM judges ({reason})")
    if wiring.embedder is not None:
        scorers.append(EmbeddingSimilarityScorer(wiring.embedder))
    else:
        skipped.append("embedding similarity (disabled by configuration)")
    return scorers, skipped


def repo_for(uow: UnitOfWork) -> AbstractEvalRepository:
    return SqlEvalRepository(uow.session)


def build(settings: RuntimeSettings, config: EvaluatorSettings | None = None,
          wiring: Wiring | None = None) -> ServiceSpec:
    config = config or load_config()
    wiring = wiring or default_wiring(config)
    teacher = ModelTarget(model=config.teacher_model, deployment=config.teacher_deployment)
    handlers = Handlers(repo_for, teacher, config.route, config.online_sample_rate)
    policy = CallPolicy(config.attempts, config.retry_backoff_s, timeout_s=config.request_timeout_s)
    scorers, skipped = build_scorers(config, wiring, policy)
    reports = config.reports_dir or settings.home / "reports"
    workers = Workers(config, wiring, teacher, policy, scorers, skipped, Path(reports))
    return ServiceSpec(
        name="evaluator", version=__version__, schema="evaluator",
        migrations_dir=Path(__file__).parent / "migrations",
        subscriptions=subscriptions_of(handlers),
        background=[workers.run_offline, workers.run_online],
        extra={"config": config, "wiring": wiring},
    )


@dataclass
class Workers:
    """The two background loops; both stop when the service is asked to."""

    config: EvaluatorSettings
    wiring: Wiring
    teacher: ModelTarget
    policy: CallPolicy
    scorers: list[Scorer]
    skipped: list[str]
    reports_dir: Path

    def offline(self, ctx: ServiceContext) -> OfflineEvaluator:
        @asynccontextmanager
        async def store() -> AsyncIterator[AbstractEvalRepository]:
            async with ctx.new_uow() as uow:
                yield repo_for(uow)
                await uow.commit()

        c = self.config
        limits = RunLimits(c.concurrency, self.policy, c.max_failed_share, c.max_tokens,
                           c.temperature, c.validation_limit, timedelta(seconds=c.lease_s))
        return OfflineEvaluator(store, self.wiring.models, self.scorers, self.wiring.golden,
                                self.wiring.read_lines, self.wiring.cost_of, c.gates,
                                self.reports_dir, limits, self.wiring.langfuse, self.skipped)

    async def run_offline(self, ctx: ServiceContext) -> None:
        evaluator = self.offline(ctx)
        lease = timedelta(seconds=self.config.lease_s)
        while not ctx.stopping.is_set():
            try:
                async with ctx.new_uow() as uow:
                    record = await repo_for(uow).claim_run(datetime.now(UTC), lease)
                    await uow.commit()
                if record is None:
                    await sleep_unless_stopped(ctx.stopping, self.config.poll_s)
                    continue
                await self._evaluate(ctx, evaluator, record)
            except Exception as exc:  # the database is down: the run's lease lets it resume later
                log.warning("evaluation worker paused by a failure", error=repr(exc))
                await sleep_unless_stopped(ctx.stopping, 5.0)

    async def _evaluate(self, ctx: ServiceContext, evaluator: OfflineEvaluator,
                        record: RunRecord) -> None:
        log.info("evaluation started", run_id=record.run_id, model=record.request.candidate.model)
        try:
            event, notes = await evaluator.execute(record)
        except RunDeferred as exc:
            log.info("evaluation deferred", run_id=record.run_id, reason=str(exc))
            async with ctx.new_uow() as uow:  # the lease runs out soon and the run is retaken
                await repo_for(uow).renew_lease(record.run_id, datetime.now(UTC) + timedelta(seconds=2))
                await uow.commit()
            return
        cause = Envelope.model_validate(record.cause) if record.cause else None
        async with ctx.new_uow() as uow:
            await repo_for(uow).finish_run(record.run_id, event.outcome.value,
                                           event.model_dump(mode="json"), notes, event.completed_at)
            uow.emit(EVALUATIONS_COMPLETED, event, cause=cause,
                     correlation_id=(cause.correlation_id if cause else None) or event.cycle_id)
            await uow.commit()
        log.info("evaluation finished", run_id=record.run_id, outcome=event.outcome.value,
                 report=event.report_uri)

    async def run_online(self, ctx: ServiceContext) -> None:
        c = self.config
        evaluator = OnlineEvaluator(ctx.new_uow, repo_for, self.wiring.models, self.teacher,
                                    self.scorers, self.wiring.cost_of, self.policy, c.online_attempts,
                                    c.online_batch, timedelta(seconds=c.lease_s), self.wiring.langfuse)
        while not ctx.stopping.is_set():
            try:
                if not await evaluator.score_pending():
                    await sleep_unless_stopped(ctx.stopping, self.config.poll_s)
            except Exception as exc:  # claimed calls come back when their lease runs out
                log.warning("online scoring paused by a failure", error=repr(exc))
                await sleep_unless_stopped(ctx.stopping, 5.0)
