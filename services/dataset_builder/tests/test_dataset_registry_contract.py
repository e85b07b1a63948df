"""One contract for the dataset registry: here against the fake, in tests/integration against PostgreSQL.

``tests/integration/test_dataset_store_contracts.py`` runs :class:`DatasetRegistryContract`
with ``SqlDatasetRegistry`` (and ``SqlExampleStore`` beside it, on the same transaction).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from distillery_contracts.commands import BuildDataset
from distillery_contracts.envelope import Envelope
from distillery_runtime.fencing import LostLease
from distillery_dataset_builder.adapters.example_store import AbstractExampleStore
from distillery_dataset_builder.adapters.fakes import FakeDatasetRegistry
from distillery_dataset_builder.adapters.registry import AbstractDatasetRegistry, BuildRecord, BuildRequest
from distillery_dataset_builder.domain.records import records_of
from distillery_dataset_builder.samples import synthetic_calls
from distillery_runtime.tokens import tokenizer_for

TOKENIZER = tokenizer_for("gpt-4o-mini-2024-07-18")
T0 = datetime(2026, 10, 1, tzinfo=UTC)
QUARTERLY = "0 0 1 */3 *"

Stores = tuple[AbstractExampleStore, AbstractDatasetRegistry]


def command(**fields: object) -> tuple[BuildDataset, Envelope]:
    built = BuildDataset(requested_by="ops", **fields)
    return built, Envelope.new(event_type="BuildDataset", schema_version=1, producer="cli/0.1.0",
                               event_id=built.command_id)


def record(version: int, high_water: int = 10, request: BuildRequest | None = None) -> BuildRecord:
    return BuildRecord(
        dataset_id=f"ds-{version:04d}", version=version, cycle_id=f"cycle-{version:04d}",
        trigger="command" if request else "threshold", base_model="gpt-4o-mini-2024-07-18", epochs=3,
        parameters={"target_size": 100}, high_water_seq=high_water,
        command_id=request.command_id if request else None, cause=request.cause if request else None)


MANIFEST = {"files": {"train": {"examples": 2}, "validation": {"examples": 1}}}
FILES = {"train": {"uri": "file:///ds/train.jsonl", "sha256": "ab" * 32, "size_bytes": 10}}


class DatasetRegistryContract:
    """What every dataset registry does; a subclass provides ``stores`` (examples, registry)."""

    async def test_a_command_is_queued_once_and_taken_by_the_build_that_begins_with_it(self, stores: Stores):
        _, registry = stores
        first, second = command(target_size=500, cycle_id="cycle-0042"), command()
        await registry.add_requests([first, first])
        await registry.add_requests([second])
        request = await registry.next_request()
        assert request == BuildRequest(first[0].command_id, "ops", 500, None, "cycle-0042",
                                       first[1].model_dump(mode="json"))
        await registry.begin(record(1, request=request))
        following = await registry.next_request()
        assert following is not None and following.command_id == second[0].command_id

    async def test_the_build_in_progress_keeps_what_it_staged_until_the_attempt_is_retried(self, stores: Stores):
        _, registry = stores
        assert await registry.building() is None
        await registry.begin(record(1))
        assert await registry.building() == record(1)
        await registry.stage("ds-0001", {"train": ["ex-1", "ex-2"], "validation": ["ex-3"]}, MANIFEST, FILES)
        staged = await registry.building()
        assert staged is not None and (staged.manifest, staged.files, staged.attempts) == (MANIFEST, FILES, 1)
        await registry.retry("ds-0001")
        retried = await registry.building()
        assert retried is not None and (retried.manifest, retried.files, retried.attempts) == (None, None, 2)

    async def test_only_the_current_attempt_of_a_build_holds_it(self, stores: Stores):
        _, registry = stores
        await registry.begin(record(1))
        await registry.hold("ds-0001", 1)
        await registry.retry("ds-0001")
        await registry.hold("ds-0001", 2)
        with pytest.raises(LostLease):
            await registry.hold("ds-0001", 1)
        await registry.publish("ds-0001", T0)
        with pytest.raises(LostLease):
            await registry.hold("ds-0001", 2)  # published: no attempt holds it any more
        with pytest.raises(LostLease):
            await registry.hold("ds-0404", 1)

    async def test_versions_count_published_builds_and_a_failed_build_frees_its_version(self, stores: Stores):
        _, registry = stores
        assert (await registry.next_version(), await registry.last_high_water()) == (1, 0)
        await registry.begin(record(1, high_water=10))
        await registry.publish("ds-0001", T0)
        assert await registry.building() is None
        await registry.begin(record(2, high_water=25))
        await registry.fail(record(2, high_water=25), "too few examples")
        assert await registry.building() is None
        assert await registry.next_version() == 2
        assert await registry.last_high_water() == 25, "a failed build's examples do not count as new again"

    async def test_only_published_validation_splits_are_protected_from_training(self, stores: Stores):
        examples, registry = stores
        records = records_of(list(synthetic_calls(4, turns=1)), TOKENIZER)
        await examples.add(records)
        ids = [r.example_id for r in records]
        await registry.begin(record(1))
        await registry.stage("ds-0001", {"train": [ids[0]], "validation": ids[1:3]}, MANIFEST, FILES)
        await registry.publish("ds-0001", T0)
        await registry.begin(record(2))
        await registry.stage("ds-0002", {"train": ids[:1], "validation": ids[3:]}, MANIFEST, FILES)

        sessions, signatures = await registry.previous_validation()
        assert sessions == {records[1].session_key, records[2].session_key}
        assert sorted(signatures) == sorted([records[1].signature, records[2].signature])

    async def test_the_schedule_counts_from_its_first_sighting_and_again_after_a_change(self, stores: Stores):
        _, registry = stores
        assert await registry.schedule_anchor(QUARTERLY, T0) == T0
        assert await registry.schedule_anchor(QUARTERLY, T0 + timedelta(days=1)) == T0
        await registry.set_schedule_anchor(QUARTERLY, T0 + timedelta(days=92))
        assert await registry.schedule_anchor(QUARTERLY, T0 + timedelta(days=93)) == T0 + timedelta(days=92)
        assert await registry.schedule_anchor("0 0 * * *", T0 + timedelta(days=93)) == T0 + timedelta(days=93)


class TestFakeDatasetRegistry(DatasetRegistryContract):
    @pytest.fixture
    def stores(self) -> Stores:
        registry = FakeDatasetRegistry()
        return registry.examples, registry
