"""The dataset-builder's consumers: each turns a batch of typed deliveries into one use-case call.

The stores come from factories the composition root injects (one store per unit of
work), so tests hand in the fakes of ``adapters/fakes.py``.
"""

from __future__ import annotations

from collections.abc import Callable

from distillery_contracts.commands import BuildDataset
from distillery_contracts.examples import ExampleAccepted, ExampleRejected
from distillery_contracts.privacy import EraseCaller
from distillery_dataset_builder import services
from distillery_dataset_builder.services import ExampleStoreFactory, RegistryFactory
from distillery_runtime.consumer import Delivery
from distillery_runtime.erasure import AbstractErasureStore
from distillery_runtime.tokens import Tokenizer
from distillery_runtime.uow import UnitOfWork


class Handlers:
    """One handler per subscription; accepted examples are counted with ``tokenizer``.

    ``wake`` nudges the build worker once a build request has committed, so ``distillery
    dataset build`` starts one at once rather than at the worker's next check (of this
    instance: when another instance leads the builds, its own next check starts it)."""

    def __init__(self, examples: ExampleStoreFactory, registry: RegistryFactory, tokenizer: Tokenizer,
                 erasures: Callable[[UnitOfWork], AbstractErasureStore] | None = None,
                 wake: Callable[[], None] = lambda: None) -> None:
        self.examples = examples
        self.registry = registry
        self.tokenizer = tokenizer
        self.erasures = erasures
        self.wake = wake

    async def on_example_accepted(self, uow: UnitOfWork, deliveries: list[Delivery[ExampleAccepted]]) -> None:
        await services.record_examples(self.examples(uow), [d.event for d in deliveries], self.tokenizer)

    async def on_example_rejected(self, uow: UnitOfWork, deliveries: list[Delivery[ExampleRejected]]) -> None:
        await services.record_rejections(self.examples(uow), [d.event for d in deliveries])

    async def on_build_dataset(self, uow: UnitOfWork, deliveries: list[Delivery[BuildDataset]]) -> None:
        await services.request_builds(self.registry(uow), [(d.event, d.envelope) for d in deliveries])
        uow.after_commit(self.wake)

    async def on_erase_caller(self, uow: UnitOfWork, deliveries: list[Delivery[EraseCaller]]) -> None:
        assert self.erasures is not None, "the composition root gives the erasure store"
        await services.erase_callers(uow, self.erasures(uow), [d.event for d in deliveries])
