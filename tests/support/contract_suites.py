"""Loading a store's contract suite from a service's unit tests, for its SQL run here.

Each suite is written once, beside the fake it keeps honest (``services/<svc>/tests/``,
not a package); the integration test subclasses the same class with a PostgreSQL store,
given by :func:`sql_store`. Loaded by file path so no test edits ``sys.path``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest
from db_helpers import service_session
from file_modules import module_at
from sqlalchemy.ext.asyncio import AsyncSession

Store = TypeVar("Store")

SERVICES = Path(__file__).resolve().parents[2] / "services"


def contract_suite(service: str, module: str) -> ModuleType:
    """``services/<service>/tests/<module>.py``, imported under a name of its own."""
    return module_at(f"contract_{service}_{module}", SERVICES / service / "tests" / f"{module}.py")


def sql_store(service: str, store: Callable[[AsyncSession], Store]) -> Any:
    """The suite's store fixture for its SQL run: ``store`` on a freshly migrated schema of
    ``service``, rolled back after the test. Assigned in the subclass under the name of the
    fixture that gives the fake in the unit suite."""

    @pytest.fixture
    async def fixture(self: object, database_url: str) -> AsyncIterator[Store]:
        async with service_session(database_url, service) as session:
            yield store(session)

    return fixture
