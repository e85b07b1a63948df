"""The dataset-builder service: examples in, versioned training sets out (``datasets.built``).

The composition root: the stores' factories, the three subscriptions and the build loop,
a ``Worker`` that runs only while this instance holds the build lock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from distillery_contracts.commands import BuildDataset
from distillery_contracts.examples import ExampleAccepted, ExampleRejected
from distillery_contracts.registry import COMMANDS_DATASET, EXAMPLES_ACCEPTED, EXAMPLES_REJECTED, get_topic
import distillery_dataset_builder
from distillery_runtime.blobstore import AbstractBlobStore
from distillery_dataset_builder.adapters.example_store import AbstractExampleStore, SqlExampleStore
from distillery_dataset_builder.adapters.erasure_store import SqlErasureStore
from distillery_dataset_builder.adapters.example_retention import AbstractExampleRetention, SqlExampleRetention
from distillery_dataset_builder.adapters.registry import AbstractDatasetRegistry, SqlDatasetRegistry
from distillery_dataset_builder.config import DatasetBuilderSettings
from distillery_dataset_builder.domain.limits import UnknownLimitsError, limits_for
from distillery_dataset_builder.handlers import Handlers
from distillery_dataset_builder.services import BUILD_LOCK, BuildPipeline, DatasetBuilder, forget_old_examples
from distillery_runtime.consumer import Subscription
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.erasure import AbstractErasureStore, erasure_subscription
from distillery_runtime.errors import ConfigError
from distillery_runtime.pricing import PriceTable, UnknownPriceError
from distillery_runtime.retention import pruning_worker
from distillery_runtime.service import ServiceContext, ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.tokens import UnknownModelError, tokenizer_for
from distillery_runtime.uow import UnitOfWork
from distillery_runtime.worker import Worker

NAME = "dataset-builder"
SCHEMA = "dataset_builder"
MIGRATIONS = Path(__file__).parent / "migrations"


def example_store(uow: UnitOfWork) -> AbstractExampleStore:
    return SqlExampleStore(uow.session)


def dataset_registry(uow: UnitOfWork) -> AbstractDatasetRegistry:
    return SqlDatasetRegistry(uow.session)


def erasure_store(uow: UnitOfWork) -> AbstractErasureStore:
    return SqlErasureStore(uow.session)


def example_retention(uow: UnitOfWork) -> AbstractExampleRetention:
    return SqlExampleRetention(uow.session)


def blob_store(config: DatasetBuilderSettings, home: Path) -> AbstractBlobStore:
    """The configured blob store: a local directory, or an S3-compatible bucket."""
    return config.open_blob_store(config.datasets_root(home))


def prices() -> PriceTable:
    try:
        return PriceTable.from_env()
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def check_base_model(config: DatasetBuilderSettings, table: PriceTable) -> None:
    """Refuse to start for a base model whose limits, tokenizer or training price are unknown."""
    try:
        limits_for(config.base_model)
        tokenizer_for(config.base_model)
        table.training_cost(config.base_model, 0, config.epochs)
    except (UnknownLimitsError, UnknownModelError, UnknownPriceError) as exc:
        raise ConfigError(f"DISTILLERY_DATASET_BASE_MODEL: {exc}") from None


def build(settings: RuntimeSettings, config: DatasetBuilderSettings | None = None,
          blobs: AbstractBlobStore | None = None) -> ServiceSpec:
    """The service; ``config`` and ``blobs`` default to the environment's."""
    config = config or load_settings(DatasetBuilderSettings)
    table = prices()
    check_base_model(config, table)
    pipeline = BuildPipeline(example_store, dataset_registry, blobs or blob_store(config, settings.home), table)
    builder = DatasetBuilder(config, pipeline)

    async def build_datasets(ctx: ServiceContext) -> bool:
        return await builder.step(ctx.new_uow)

    builds = Worker("build_datasets", build_datasets, config.check_interval_s, lock=BUILD_LOCK, settle_s=0.5)
    handlers = Handlers(example_store, dataset_registry, tokenizer_for(config.base_model), erasure_store,
                        wake=builds.wake)

    retention = timedelta(days=config.example_retention_days)

    async def prune_examples(uow: UnitOfWork, limit: int) -> int:
        return await forget_old_examples(example_retention(uow), retention, limit, datetime.now(UTC))

    return ServiceSpec.of(
        distillery_dataset_builder,
        subscriptions=[
            Subscription(get_topic(EXAMPLES_ACCEPTED), ExampleAccepted, handlers.on_example_accepted,
                         group=f"distillery.{NAME}.accepted"),
            Subscription(get_topic(EXAMPLES_REJECTED), ExampleRejected, handlers.on_example_rejected,
                         group=f"distillery.{NAME}.rejected"),
            Subscription(get_topic(COMMANDS_DATASET), BuildDataset, handlers.on_build_dataset,
                         group=f"distillery.{NAME}.commands"),
            erasure_subscription(NAME, handlers.on_erase_caller),
        ],
        background=[builds,
                    pruning_worker("forget_old_examples", prune_examples, settings)],
    )
