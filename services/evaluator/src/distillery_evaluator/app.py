"""The evaluator service's composition root: its clients, store, subscriptions and the
workers (offline runs, live calls, forgetting old live calls and finished runs' items); every decision is in services.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from distillery_contracts import registry as r
from distillery_contracts.commands import RunEvaluation
from distillery_contracts.datasets import DatasetBuilt
from distillery_contracts.finetune import FinetuneJobChanged
from distillery_contracts.rollout import RolloutDecided
from distillery_contracts.routing import RouteTableUpdated
from distillery_contracts.traces import TraceCaptured
import distillery_evaluator
from distillery_evaluator.adapters.chat import (
    AbstractChatClient,
    CallPolicy,
    ChatEndpoints,
    OpenAIChatClient,
    UnconfiguredChatClient,
)
from distillery_evaluator.adapters.erasure_store import SqlErasureStore
from distillery_runtime.erasure import AbstractErasureStore, erasure_subscription
from distillery_evaluator.adapters.embeddings import AbstractEmbedder, MiniLmEmbedder
from distillery_evaluator.adapters.langfuse_sink import AbstractLangfuseSink, LangfuseSdkSink
from distillery_evaluator.adapters.repository import AbstractEvalRepository, SqlEvalRepository
from distillery_evaluator.adapters.sources import GoldenLoader, confined, golden_loader, read_lines
from distillery_evaluator.config import Endpoint, EvaluatorSettings, load_config
from distillery_evaluator.domain.metrics import CostFn
from distillery_evaluator.domain.requests import ModelTarget
from distillery_evaluator.domain.results import Usage
from distillery_evaluator.handlers import Handlers
from distillery_evaluator.services import (
    OfflineEvaluator,
    OnlineEvaluator,
    RunLimits,
    forget_old_calls,
    forget_old_run_details,
)
from distillery_evaluator.scorers import (
    DeterministicHallucinationScorer,
    EmbeddingSimilarityScorer,
    LlmHallucinationScorer,
    PairwiseJudgeScorer,
    Scorer,
)

from distillery_runtime.blobstore import LocalBlobStore
from distillery_runtime.consumer import Subscription
from distillery_runtime.pricing import PriceTable, UnknownPriceError
from distillery_runtime.retention import pruning_worker
from distillery_runtime.service import ServiceContext, ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Worker


NO_KEY = "none"
"""The API key sent to a server of your own that asks for none (the SDK needs a string)."""


@dataclass
class Wiring:
    """The outside world of the evaluator; tests replace parts of it with fakes.

    ``models`` is the default endpoint: it serves the teacher unless ``teacher`` is given,
    and every student whose provider has no endpoint in ``students``.
    """

    models: AbstractChatClient
    judge: AbstractChatClient | None
    embedder: AbstractEmbedder | None
    golden: GoldenLoader
    langfuse: AbstractLangfuseSink | None = None
    cost_of: CostFn = field(default_factory=lambda: price_lookup(PriceTable.from_env()))
    read_lines: Callable[[str], Awaitable[list[str]]] = read_lines
    teacher: AbstractChatClient | None = None
    students: Mapping[str, AbstractChatClient] = field(default_factory=dict)


def price_lookup(prices: PriceTable) -> CostFn:
    def cost_of(model: str, usage: Usage) -> float | None:
        try:
            return prices.cost_of_call(model, usage.input_tokens, usage.output_tokens,
                                       min(usage.cached_input_tokens, usage.input_tokens))
        except (UnknownPriceError, ValueError):
            return None

    return cost_of


def chat_client(endpoint: Endpoint) -> OpenAIChatClient:
    key = endpoint.api_key.get_secret_value() if endpoint.api_key else NO_KEY
    return OpenAIChatClient(api_key=key, base_url=endpoint.base_url, azure=endpoint.kind == "azure",
                            azure_endpoint=endpoint.azure_endpoint, api_version=endpoint.api_version)


def default_wiring(config: EvaluatorSettings) -> Wiring:
    default = config.default_endpoint
    models = chat_client(default) if default else UnconfiguredChatClient(config.default_key_variable)
    teacher = chat_client(config.teacher_endpoint) if config.teacher_endpoint else models
    judge = chat_client(config.judge_endpoint) if config.judge_endpoint else teacher
    judge_served = bool(config.judge_endpoint or config.teacher_endpoint or default)
    langfuse = None
    if config.langfuse_configured:
        secret = config.langfuse_secret_key.get_secret_value() if config.langfuse_secret_key else ""
        langfuse = LangfuseSdkSink(config.langfuse_host or "", config.langfuse_public_key or "",
                                   secret, config.langfuse_environment)
    golden = golden_loader(config.golden_source, path=config.golden_path,
                           dataset=config.golden_dataset, limit=config.golden_limit,
                           langfuse_client=(lambda: langfuse.client) if langfuse else None)
    return Wiring(models=models, judge=judge if judge_served and config.judge_enabled else None,
                  embedder=MiniLmEmbedder() if config.embedding_enabled else None,
                  golden=golden, langfuse=langfuse, teacher=teacher,
                  students={name: chat_client(e) for name, e in config.candidate_endpoints.items()})


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


def erasure_store(uow: UnitOfWork) -> AbstractErasureStore:
    return SqlErasureStore(uow.session)


def subscriptions_of(handlers: Handlers) -> list[Subscription[Any]]:
    """The service's subscriptions, in the order it subscribes."""
    return [Subscription(r.get_topic(r.DATASETS_BUILT), DatasetBuilt, handlers.on_dataset_built),
            Subscription(r.get_topic(r.FINETUNE_JOBS), FinetuneJobChanged, handlers.on_finetune_job_changed),
            Subscription(r.get_topic(r.COMMANDS_EVAL), RunEvaluation, handlers.on_run_evaluation),
            Subscription(r.get_topic(r.ROUTING_TABLE), RouteTableUpdated, handlers.on_route_table_updated),
            Subscription(r.get_topic(r.ROLLOUT_DECISIONS), RolloutDecided, handlers.on_rollout_decided),
            Subscription(r.get_topic(r.TRACES_RAW), TraceCaptured, handlers.on_trace_captured),
            erasure_subscription("evaluator", handlers.on_erase_caller)]


def build(settings: RuntimeSettings, config: EvaluatorSettings | None = None,
          wiring: Wiring | None = None) -> ServiceSpec:
    """The service; ``config`` defaults to the DISTILLERY_EVALUATOR_* environment."""
    c = config or load_config()
    wiring = wiring or default_wiring(c)
    endpoints = ChatEndpoints(teacher=wiring.teacher or wiring.models, default=wiring.models,
                              default_kind=c.provider, by_provider=wiring.students)
    teacher = ModelTarget(model=c.teacher_model, deployment=c.teacher_deployment)
    handlers = Handlers(repo_for, teacher, c.route, c.online_sample_rate, erasure_store)
    policy = CallPolicy(c.attempts, c.retry_backoff_s, timeout_s=c.request_timeout_s)
    scorers, skipped = build_scorers(c, wiring, policy)
    reports = Path(c.reports_dir or settings.home / "reports")
    read_validation = confined(wiring.read_lines, LocalBlobStore(c.datasets_dir or settings.home / "datasets"))
    lease = timedelta(seconds=c.lease_s)
    retention = timedelta(days=c.online_retention_days)
    run_item_retention = timedelta(days=c.run_item_retention_days)
    limits = RunLimits(c.concurrency, policy, c.max_failed_share, c.max_tokens, c.temperature,
                       c.validation_limit, lease)

    def offline(ctx: ServiceContext) -> OfflineEvaluator:
        return OfflineEvaluator(ctx.new_uow, repo_for, endpoints, scorers, wiring.golden,
                                read_validation, wiring.cost_of, c.gates, reports, limits,
                                wiring.langfuse, skipped)

    def online(ctx: ServiceContext) -> OnlineEvaluator:
        return OnlineEvaluator(ctx.new_uow, repo_for, endpoints.teacher, teacher, scorers, wiring.cost_of,
                               policy, c.online_attempts, c.online_batch, lease, wiring.langfuse)

    async def evaluate_runs(ctx: ServiceContext) -> bool:
        return await offline(ctx).run_next()

    async def score_live_calls(ctx: ServiceContext) -> bool:
        return await online(ctx).score_pending() > 0

    async def prune_calls(uow: UnitOfWork, limit: int) -> int:
        return await forget_old_calls(repo_for(uow), retention, limit, datetime.now(UTC))

    async def prune_run_details(uow: UnitOfWork, limit: int) -> int:
        return await forget_old_run_details(repo_for(uow), reports, run_item_retention, limit, datetime.now(UTC))

    # A failed round (the database is down) is retried every 5 s, as before; a run's lease
    # and a claimed call's lease let another instance resume what this one left.
    workers = [Worker("evaluate_runs", evaluate_runs, c.poll_s, backoff_s=5.0, max_backoff_s=5.0),
               Worker("score_live_calls", score_live_calls, c.poll_s, backoff_s=5.0, max_backoff_s=5.0),
               pruning_worker("forget_old_calls", prune_calls, settings),
               pruning_worker("forget_old_run_details", prune_run_details, settings)]
    return ServiceSpec.of(distillery_evaluator, subscriptions=subscriptions_of(handlers), background=workers)
