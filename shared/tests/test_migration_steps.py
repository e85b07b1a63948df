"""The runtime's schema steps are frozen: a deployed database ran them as they were."""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

import pytest

from distillery_runtime import migration_steps

REPO = Path(__file__).resolve().parents[2]
PINNED = {
    "RUNTIME_TABLES_V1": "b05d5c159e7bfb55",
    "OUTBOX_UNCOMPRESSED_V2": "f5004ea6207f4900",
    "OUTBOX_COMPRESSED_V2_DOWN": "4992bf218de2625e",
    "INBOX_BY_AGE_V3": "1e656a57028c8378",
    "INBOX_BY_AGE_V3_DOWN": "dcd723f0e2680c4a",
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_a_step_never_changes_once_written(name: str) -> None:
    text = getattr(migration_steps, name)
    assert hashlib.sha256(text.encode()).hexdigest()[:16] == PINNED[name], (
        f"{name} changed: databases already migrated ran the old text. Add a new step and a new revision instead.")


def revisions() -> list[Path]:
    return sorted([*REPO.glob("services/*/src/*/migrations/versions/*.py"),
                   *REPO.glob("tests/support/probe_migrations/versions/*.py")])


@pytest.mark.parametrize("revision", revisions(), ids=lambda p: f"{p.parts[-5] if 'services' in p.parts else 'probe'}/{p.name}")
def test_a_revision_imports_only_frozen_steps(revision: Path) -> None:
    """No revision may call code that can change later (table definitions, services, helpers)."""
    allowed = {"alembic", "sqlalchemy", "sqlalchemy.dialects.postgresql", "distillery_runtime.migration_steps"}
    imported = set()
    for node in ast.walk(ast.parse(revision.read_text())):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
        elif isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
    assert imported <= allowed, f"{revision.name} imports {sorted(imported - allowed)}"
