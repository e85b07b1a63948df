"""Each instance records the configuration it cleans under, once per scope."""

from __future__ import annotations

from distillery_cleaner.domain.config import CleanerConfig, NearDuplicates
from distillery_cleaner.domain.screen import Cleaner
from distillery_cleaner.services import register_configuration
from distillery_runtime.uow import FakeUnitOfWork


async def test_the_configuration_is_recorded_under_its_scope_and_committed(cleaner, repo):
    uow = FakeUnitOfWork()
    await register_configuration(uow, repo, cleaner)
    assert repo.scopes == {cleaner.scope_id: (cleaner.version, cleaner.config_hash, cleaner.config.canonical_json())}
    assert uow.commits == 1


async def test_a_second_instance_under_the_same_configuration_adds_no_scope(cleaner, repo):
    await register_configuration(FakeUnitOfWork(), repo, cleaner)
    await register_configuration(FakeUnitOfWork(), repo, Cleaner(CleanerConfig(), cleaner.version))
    stricter = Cleaner(CleanerConfig(near_duplicates=NearDuplicates(threshold=0.9)), cleaner.version)
    await register_configuration(FakeUnitOfWork(), repo, stricter)
    assert set(repo.scopes) == {cleaner.scope_id, stricter.scope_id}
