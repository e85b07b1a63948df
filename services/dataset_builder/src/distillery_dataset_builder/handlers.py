"""Message handlers: each translates a batch of deliveries into one call on a repository.

The ``store_``/``retract_``/``request_`` functions hold the logic and take repositories,
so tests drive them with fakes; the ``on_`` functions are what the subscriptions call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from distillery_contracts.commands import BuildDataset
from distillery_contracts.envelope import Envelope
from distillery_contracts.examples import ExampleAccepted, ExampleRejected
from distillery_dataset_builder.adapters.example_store import AbstractExampleStore, SqlExampleStore
from distillery_dataset_builder.adapters.registry import AbstractDatasetRegistry, SqlDatasetRegistry
from distillery_dataset_builder.domain.records import records_of
from distillery_runtime.consumer import BatchHandler, Delivery
from distillery_runtime.logs import get_logger
from distillery_runtime.tokens import Tokenizer, tokenizer_for
from distillery_runtime.uow import UnitOfWork

log = get_logger(__name__)


async def store_examples(store: AbstractExampleStore, accepted: Sequence[ExampleAccepted],
                         tokenizer: Tokenizer) -> int:
    """Keep accepted examples with lineage, training line, token count and sketch; returns how many were new."""
    records = await asyncio.to_thread(records_of, accepted, tokenizer)  # CPU work; keep the loop free
    return await store.add(records)


async def retract_examples(store: AbstractExampleStore, rejected: Sequence[ExampleRejected]) -> list[str]:
    """Withdraw stored examples that the rejections take back; returns their ids."""
    retracted = await store.retract(rejected)
    if retracted:
        log.info("examples retracted", count=len(retracted))
    return retracted


async def request_builds(registry: AbstractDatasetRegistry,
                         commands: Sequence[tuple[BuildDataset, Envelope]]) -> None:
    """Queue BuildDataset commands for the builder (which runs outside the consumer)."""
    await registry.add_requests(commands)
    for command, _ in commands:
        log.info("dataset build requested", command_id=command.command_id, requested_by=command.requested_by,
                 target_size=command.target_size, base_model=command.base_model)


def accepted_handler(base_model: str) -> BatchHandler:
    """The handler of accepted examples, counting tokens with ``base_model``'s tokenizer."""
    tokenizer = tokenizer_for(base_model)

    async def on_example_accepted(uow: UnitOfWork, deliveries: list[Delivery]) -> None:
        accepted = [d.event for d in deliveries if isinstance(d.event, ExampleAccepted)]
        await store_examples(SqlExampleStore(uow.session), accepted, tokenizer)

    return on_example_accepted


async def on_example_rejected(uow: UnitOfWork, deliveries: list[Delivery]) -> None:
    rejected = [d.event for d in deliveries if isinstance(d.event, ExampleRejected)]
    await retract_examples(SqlExampleStore(uow.session), rejected)


async def on_build_dataset(uow: UnitOfWork, deliveries: list[Delivery]) -> None:
    commands = [(d.event, d.envelope) for d in deliveries if isinstance(d.event, BuildDataset)]
    await request_builds(SqlDatasetRegistry(uow.session), commands)
